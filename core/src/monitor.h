/*
 * monitor.h — the figures a running context publishes (monitor.c): a
 * listener that copies what every event says into tables of its own, and
 * snapshots of them for readers on other threads (the HTTP server, http.c;
 * /metrics, metrics.c).
 *
 * Locks: sl__mon.lock guards everything in sl__mon below it. The listener
 * holds it only to copy an event's figures (a few stores; no allocation, no
 * formatting), readers only to copy a snapshot out: a slow reader never
 * slows a batch. Stream and output names point into the context, which
 * outlives the monitor.
 */
#ifndef SLUICE_MONITOR_H
#define SLUICE_MONITOR_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/sluice.h>

#define SL__MON_KEEP 1000      /* batches kept for /api/v1/batches and the page */
#define SL__MON_RATE_WINDOW 10 /* batches the rates and averages are over */
#define SL__MON_NBUCKETS 15    /* histogram buckets, +Inf not counted */
#define SL__MON_ERRLEN 256

/* The histogram buckets' upper bounds, in ms (Prometheus's le, in s). */
extern const int64_t sl__mon_bucket_ms[SL__MON_NBUCKETS];

/* A latency histogram: counts[i] of values <= sl__mon_bucket_ms[i] (not
 * cumulative), and the count and sum of all of them. */
typedef struct sl__mon_hist {
    int64_t counts[SL__MON_NBUCKETS];
    int64_t count;
    int64_t sum_ms;
} sl__mon_hist;

typedef enum sl__mon_recv {
    SL__RECV_NONE = 0, /* a direct source: no receiver */
    SL__RECV_STARTING,
    SL__RECV_RUNNING,
    SL__RECV_STOPPED,
    SL__RECV_ENDED, /* its input ended (SL_EOF) */
    SL__RECV_FAILED
} sl__mon_recv;

/* A source stream. */
typedef struct sl__mon_src {
    const char *stream;
    const char *component; /* "socket": known once instances exist, else NULL */
    int64_t records_total, bytes_total;
    int64_t errors_total;
    char last_error[SL__MON_ERRLEN];
    sl__mon_recv recv;
    /* read live when a snapshot is taken */
    bool receiver;
    int64_t buf_records, buf_bytes, buf_limit;
    int state; /* SL_SOURCE_* the source last reported; 0: none */
    char detail[SL__MON_ERRLEN];
} sl__mon_src;

/* An output operation. */
typedef struct sl__mon_out {
    const char *name, *stream, *sink;
    int64_t records_total, runs_total, failures_total;
    int64_t last_duration_us, duration_us_total;
} sl__mon_out;

/* A stream that keeps state across batches, as of the last batch. */
typedef struct sl__mon_state {
    const char *stream;
    int64_t keys, bytes; /* bytes: -1 when the stream does not say */
} sl__mon_state;

/* A batch, and its per-source and per-output figures (the arrays of a
 * snapshot hold nsrc and nout of them per batch, in batch order). */
typedef struct sl__mon_batch {
    int64_t batch_time, records, bytes;
    int64_t submission_time, processing_start, processing_end;
    int64_t scheduling_delay, processing_time, total_delay; /* ms */
    bool failed;
    char error[SL__MON_ERRLEN];
} sl__mon_batch;

typedef struct sl__mon_io {
    int64_t records, bytes; /* an output: records handed over; -1: it did not run */
    int64_t duration_us;
    bool failed;
} sl__mon_io;

typedef struct sl__mon_ckpt {
    int64_t written_total, failures_total;
    int64_t last_batch_time, last_written; /* 0 before the first */
    int64_t last_bytes, last_duration_us;
    char last_error[SL__MON_ERRLEN];
    sl__mon_hist duration; /* ms */
} sl__mon_ckpt;

/* The run as a whole. */
typedef enum sl__mon_run {
    SL__RUN_STARTING,
    SL__RUN_RUNNING,
    SL__RUN_STOPPING,
    SL__RUN_STOPPED,
    SL__RUN_FAILED
} sl__mon_run;

/* A copy of everything, for one reader (sl__mon_snapshot). */
typedef struct sl__mon_snap {
    int64_t now, start_time, interval;
    sl__mon_run run;
    char error[SL__MON_ERRLEN];
    int64_t completed, failed, waiting;
    int64_t in_progress; /* the batch time being processed, or -1 */
    sl__mon_hist sched, proc, total;
    size_t nsrc, nout, nstate;
    sl__mon_src *src;
    sl__mon_out *out;
    sl__mon_state *state;
    sl__mon_ckpt ckpt;
    const char *ckpt_dir; /* NULL: no checkpoints */
    /* the last nbatch batches, oldest first */
    size_t nbatch;
    sl__mon_batch *batch;
    sl__mon_io *bsrc; /* [nbatch * nsrc] */
    sl__mon_io *bout; /* [nbatch * nout] */
    /* the window the rates are over: its last (up to) SL__MON_RATE_WINDOW batches */
    double input_rate;                     /* records/s */
    double *src_rate;                      /* [nsrc], records/s */
    double avg_sched, avg_proc, avg_total; /* ms; -1 without batches */
} sl__mon_snap;

typedef struct sl__mon sl__mon;

/* A monitor of ctx, listening from now on: call it in sl_context_start once
 * the graph is planned, before any instance starts. NULL on OOM. */
sl__mon *sl__mon_new(sl_context *ctx);
/* Stop listening and free it (after the readers have stopped). */
void sl__mon_free(sl__mon *m);
/* The scheduler is about to free the receivers: from now on snapshots no
 * longer read their buffers. */
void sl__mon_receivers_gone(sl__mon *m);
/* Copy the figures and the last `nbatch` batches (at most SL__MON_KEEP)
 * into *out: 0 or SL_ENOMEM. Free it with sl__mon_snap_free. */
int sl__mon_snapshot(sl__mon *m, size_t nbatch, sl__mon_snap *out);
void sl__mon_snap_free(sl__mon_snap *s);
/* The names of the run's states and of a receiver's: "running", ... */
const char *sl__mon_run_name(sl__mon_run r);
/* A source's state as the API shows it: from what it reported (SL_SOURCE_*)
 * or else from its receiver's life. */
const char *sl__mon_src_state(const sl__mon_src *s);
/* Whether a source counts as ready: connected, assigned or (when it
 * reports nothing) started and not failed. */
bool sl__mon_src_ready(const sl__mon_src *s);

#endif /* SLUICE_MONITOR_H */

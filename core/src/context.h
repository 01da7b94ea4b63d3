/*
 * context.h — the streaming context (context.c; start/await/stop in scheduler.c).
 *
 * Locks: sl_context.lock guards state, done and result; join_lock makes one
 * thread join the scheduler; stop_requested and batches_done are atomic.
 * Settings are written before start only; everything else belongs to the
 * scheduler thread once it runs.
 */
#ifndef SLUICE_CONTEXT_H
#define SLUICE_CONTEXT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <sluice/sluice.h>

#include "arena.h"
#include "listener.h"
#include "stream.h"
#include "pool.h"
#include "receiver.h"
#include "registry.h"

typedef enum sl__ctx_state { SL__NEW, SL__RUNNING, SL__DONE } sl__ctx_state;

struct sl_context {
    int64_t interval;
    int64_t zero_time; /* one interval before the first batch time */
    /* checkpoints */
    char *ckpt_dir;
    int64_t ckpt_interval; /* 0: the default */
    int ckpt_keep;
    bool fresh;
    int ckpt_lock;       /* fd of the directory's lock, -1 */
    int64_t resume_from; /* batch time of the checkpoint resumed, 0 if none */
    int64_t last_ckpt;   /* batch time of the last checkpoint written */
    int64_t resume_zero; /* the resumed run's zero time (0 if none) */
    bool recv_wal;       /* receiver_wal */
    size_t wal_max;      /* receiver_wal_max */
    int64_t wal_sync;    /* receiver_wal_sync, ms */
    int workers;
    sl_clock_kind clock;
    int64_t start_time; /* the manual clock's start, ms; SL_START_NOW: now */
    int64_t max_batches;
    size_t recv_buffer;
    bool early_combine;
    sl__wake wake; /* receivers of early-combined sources signal sealed blocks */
    int status_mode;
    sl__registry reg;

    sl_stream **streams;
    size_t nstreams, streams_cap; /* doubling: a realloc per stream copied the
                                   * array each time under ASan, O(n^2) */
    /* every stream by name: open addressing on name_hash, linear probing,
     * NULL for empty, a power of two at most half full (graph.c). Naming a
     * stream checks it in O(1): the scan of every stream it replaces made a
     * 20,000-stream pipeline load in 1.5 s, 20 s under ASan. */
    sl_stream **by_name;
    size_t by_name_cap;
    sl__output *outputs;
    size_t noutputs;

    /* sticky error */
    int errcode;
    char errmsg[1024];
    char errparam[128];
    char errstream[128];   /* the stream or output sl_context_check or start blamed */
    const char *start_who; /* during start: the stream or output being created */

    /* runtime */
    sl__ctx_state state;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop_requested;
    pthread_mutex_t lock;
    pthread_mutex_t join_lock; /* one thread joins the scheduler */
    pthread_cond_t done_cond;
    bool done;
    int result;
    sl__pool *pool;
    sl__arena *warena;          /* one per worker, reset after every batch */
    sl__listeners listeners;    /* sl_context_add_listener's (listener.c) */
    sl_batch_listener listener; /* sl_context_set_batch_listener's, as listener listener_id */
    void *listener_ud;
    int listener_id;
    /* the batch in progress, as its events tell it: its input per source
     * (inputs[nsources], allocated at start) and its times */
    sl_batch_event bev;
    sl_source_input *inputs;
    size_t ninputs;
    int64_t batch_mono_us; /* monotonic time its processing started */
    sl_batch_info last;
    int64_t early_us;      /* the batch just run: time combining blocks before its tick */
    size_t early_blocks;   /* and how many blocks */
    size_t early_recycled; /* of which recycled right after */
    _Atomic int64_t batches_done;
    bool status;
    struct sl__status *status_line; /* status.c's listener while it runs (NULL: none) */
    /* HTTP (http.c): the address asked for, the monitor and the server */
    char *http_addr;
    struct sl__mon *mon;
    struct sl__http *http;
};

/* Record an error in the context (first one wins until cleared). */
void sl__ctx_fail(sl_context *ctx, int code, const char *param, const char *fmt, ...)
    SL_PRINTF(4, 5);
void sl__ctx_fail_err(sl_context *ctx, const sl_error *err, const char *param);

#endif /* SLUICE_CONTEXT_H */

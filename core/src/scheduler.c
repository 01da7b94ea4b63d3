/*
 * scheduler.c — the batch loop on its own thread.
 *
 * Batch times are multiples of the interval. With the system clock the loop
 * sleeps until each batch time (in short slices, so a stop request is seen
 * within ~20 ms); when a batch overruns, the next starts at once and its
 * scheduling delay shows it. With the manual clock the next batch starts as
 * soon as the previous one ends (Spark's ManualClock, advanced by the loop).
 * Batches run one at a time, in order.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "clock.h"
#include "context.h"
#include "exec.h"
#include "host.h"
#include "log.h"
#include "recovery.h"
#include "scheduler.h"
#include "ops/shuffle.h"

/* "12:00:05" (local time) of a batch time in ms. */
static void clock_text(int64_t t, char *buf, size_t cap) {
    time_t s = (time_t)(t / 1000);
    struct tm tm;
    localtime_r(&s, &tm);
    if (t % 1000)
        snprintf(buf, cap, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(t % 1000));
    else
        snprintf(buf, cap, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void human_bytes(int64_t b, char *buf, size_t cap) {
    if (b < 10 * 1024)
        snprintf(buf, cap, "%lld B", (long long)b);
    else if (b < 10 * 1024 * 1024)
        snprintf(buf, cap, "%.1f KiB", (double)b / 1024);
    else
        snprintf(buf, cap, "%.1f MiB", (double)b / (1024 * 1024));
}

static void report_batch(sl_context *ctx, const sl_batch_info *in) {
    char when[32], bytes[32];
    clock_text(in->batch_time, when, sizeof when);
    human_bytes(in->bytes, bytes, sizeof bytes);
    char early[96] = "";
    if (ctx->early_blocks)
        snprintf(early, sizeof early, " (and %lld ms before the tick, on %zu early blocks)",
                 (long long)((ctx->early_us + 500) / 1000), ctx->early_blocks);
    sl__log(SL_LOG_INFO,
            "batch %s: %lld records (%s) in; scheduling delay %lld ms, processing %lld ms%s, "
            "total delay %lld ms",
            when, (long long)in->records, bytes, (long long)in->scheduling_delay,
            (long long)in->processing_time, early, (long long)in->total_delay);
    if (ctx->status) {
        char line[256];
        snprintf(line, sizeof line,
                 "sluice | batch %s #%lld | %lld rec, %s | sched %lld ms, proc %lld ms, total "
                 "%lld ms",
                 when, (long long)atomic_load(&ctx->batches_done), (long long)in->records, bytes,
                 (long long)in->scheduling_delay, (long long)in->processing_time,
                 (long long)in->total_delay);
        sl__status_show(line);
    }
}

/* True once every source is a receiver whose run() has returned: no more
 * data can arrive, so the last batch need not wait for its time. */
static bool receivers_ended(sl_context *ctx) {
    bool any = false;
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (s->op != SL_OP_SOURCE)
            continue;
        if (!s->recv || !atomic_load(&s->recv->finished))
            return false;
        any = true;
    }
    return any;
}

/* Sleep until t or for at most max_ms, waking early when a receiver seals
 * a block after the alarm's sequence number `seen`. */
static void sleep_or_wake(sl_context *ctx, uint64_t seen, int64_t max_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)(max_ms * 1000000);
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&ctx->wake.lock);
    while (ctx->wake.seq == seen)
        if (pthread_cond_timedwait(&ctx->wake.cond, &ctx->wake.lock, &ts) != 0)
            break;
    pthread_mutex_unlock(&ctx->wake.lock);
}

/* Wait (system clock) until wall time reaches t; 0 when it has, 1 if
 * stopped first, or a negative code if combining early failed (err filled).
 * While waiting, the blocks that receivers seal for the batch at t are
 * combined early (sl__batch_early). When the input has ended for good, the
 * final batch runs at once: its content cannot change by waiting, and its
 * batch time stays t. */
static int wait_until(sl_context *ctx, int64_t t, sl_error *err) {
    for (;;) {
        if (atomic_load(&ctx->stop_requested))
            return 1;
        if (receivers_ended(ctx))
            return 0;
        int64_t left = t - sl__now_ms();
        if (left <= 0)
            return 0;
        pthread_mutex_lock(&ctx->wake.lock);
        uint64_t seen = ctx->wake.seq;
        pthread_mutex_unlock(&ctx->wake.lock);
        int n = sl__batch_early(ctx, t, err);
        if (n < 0)
            return n;
        if (n == 0)
            sleep_or_wake(ctx, seen, left < 20 ? left : 20);
    }
}

/* The first batch time: the first multiple of the interval after the start
 * (the manual clock's start time, or now), and after the checkpoint a run
 * resumes from (with the manual clock: the batch right after it). */
static int64_t first_batch_time(sl_context *ctx) {
    int64_t iv = ctx->interval;
    int64_t start =
        ctx->clock == SL_CLOCK_MANUAL && ctx->start_time ? ctx->start_time : sl__now_ms();
    if (ctx->resume_from && (ctx->clock == SL_CLOCK_MANUAL || start < ctx->resume_from))
        start = ctx->resume_from;
    return (start / iv) * iv + iv;
}

/* Stop the receivers: set the stop flag and wait for every run() to return.
 * What they stored stays buffered. */
static void stop_receivers(sl_context *ctx) {
    atomic_store(&ctx->stop_requested, true);
    for (size_t i = 0; i < ctx->nstreams; i++)
        if (ctx->streams[i]->recv)
            sl__receiver_join(ctx->streams[i]->recv);
}

/* Records the receivers hold that no batch has taken. */
static int64_t pending_records(sl_context *ctx, int64_t *bytes) {
    int64_t total = 0;
    *bytes = 0;
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (!s->recv)
            continue;
        int64_t n, b;
        sl__receiver_pending(s->recv, &n, &b);
        total += n;
        *bytes += b;
    }
    return total;
}

/* Free the receivers, saying how much they held that was never processed:
 * nothing is dropped silently. */
static void free_receivers(sl_context *ctx) {
    int64_t bytes, n = pending_records(ctx, &bytes);
    if (n)
        sl__log(SL_LOG_WARN,
                "stopping: %lld records (%lld bytes) received after the last batch were not "
                "processed",
                (long long)n, (long long)bytes);
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (s->recv)
            sl__receiver_free(s->recv);
        sl__handle_log_counters(s->fn.handle, SL_LOG_INFO); /* plugins' own counters */
    }
    for (size_t i = 0; i < ctx->noutputs; i++)
        sl__handle_log_counters(ctx->outputs[i].fn.handle, SL_LOG_INFO);
}

/* Run the batch at t and report it; 0 or the failure (err filled). */
static int run_batch(sl_context *ctx, int64_t t, bool *all_finished, sl_error *err) {
    int64_t start_wall = ctx->clock == SL_CLOCK_SYSTEM ? sl__now_ms() : t;
    int64_t m0 = sl__mono_us();
    sl_batch_info info;
    err->code = 0;
    err->msg[0] = 0;
    int rc = sl__batch_run(ctx, t, &info, all_finished, err);
    sl__batch_release(ctx);
    if (rc) {
        if (!err->msg[0])
            snprintf(err->msg, sizeof err->msg, "batch failed: %s", sl_strerror(rc));
        return rc;
    }
    int64_t proc = (sl__mono_us() - m0 + 500) / 1000;
    info.scheduling_delay = start_wall - t > 0 ? start_wall - t : 0;
    info.processing_time = proc;
    info.total_delay = info.scheduling_delay + proc;
    pthread_mutex_lock(&ctx->lock);
    ctx->last = info;
    pthread_mutex_unlock(&ctx->lock);
    atomic_fetch_add(&ctx->batches_done, 1);
    report_batch(ctx, &info);
    if (ctx->listener)
        ctx->listener(ctx->listener_ud, &info);
    return 0;
}

void *sl__scheduler_main(void *arg) {
    sl_context *ctx = arg;
    int64_t t = first_batch_time(ctx);
    /* windows (and checkpoints) slide from here; a resumed run keeps the
     * zero time of the run it resumes, so that they stay in phase */
    ctx->zero_time = ctx->resume_zero ? ctx->resume_zero : t - ctx->interval;
    int rc = 0;
    int64_t last = 0;     /* the last batch completed */
    bool stopped = false; /* a stop request ended the loop */
    sl_error err = {0, ""};
    for (;;) {
        int w = ctx->clock == SL_CLOCK_SYSTEM ? wait_until(ctx, t, &err) : 0;
        if (w < 0) {
            rc = w;
            break;
        }
        if (w > 0 || atomic_load(&ctx->stop_requested)) {
            stopped = true;
            break;
        }
        bool all_finished = false;
        if ((rc = run_batch(ctx, t, &all_finished, &err)) ||
            (rc = sl__checkpoint_maybe(ctx, t, false, &err)))
            break;
        last = t;
        int64_t done = atomic_load(&ctx->batches_done);
        if (ctx->max_batches && done >= ctx->max_batches)
            break;
        if (all_finished) {
            sl__log(SL_LOG_INFO, "every source has ended; stopping after %lld batches",
                    (long long)done);
            break;
        }
        t += ctx->interval;
    }
    if (ctx->status)
        sl__status_clear();
    stop_receivers(ctx);
    /* A graceful stop (signal, sl_context_stop, --timeout) also processes
     * what the receivers took in before it, in one last batch at once: as
     * Spark's stop(stopGracefully = true). */
    int64_t bytes;
    if (stopped && pending_records(ctx, &bytes) > 0) {
        bool all_finished;
        sl__log(SL_LOG_INFO, "stopping: a last batch for the %lld bytes already received",
                (long long)bytes);
        if (!(rc = run_batch(ctx, t, &all_finished, &err)))
            last = t;
    }
    /* a final checkpoint of the last completed batch (not after a failure:
     * the failed batch may have changed part of the state) */
    if (!rc && last)
        rc = sl__checkpoint_maybe(ctx, last, true, &err);
    free_receivers(ctx);
    pthread_mutex_lock(&ctx->lock);
    if (rc) {
        ctx->result = rc;
        if (!ctx->errcode) {
            ctx->errcode = rc;
            snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", err.msg);
        }
    }
    ctx->done = true;
    pthread_cond_broadcast(&ctx->done_cond);
    pthread_mutex_unlock(&ctx->lock);
    return NULL;
}

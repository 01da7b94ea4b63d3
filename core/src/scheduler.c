/*
 * scheduler.c — the batch loop on its own thread.
 *
 * Batch times are multiples of the interval. With the system clock the loop
 * sleeps until each batch time (in short slices, so a stop request is seen
 * within ~20 ms); when a batch overruns, the next starts at once and its
 * scheduling delay shows it. With the manual clock the next batch starts as
 * soon as the previous one ends (Spark's ManualClock, advanced by the loop).
 * Batches run one at a time, in order.
 *
 * The context's lifecycle lives here too: start (plan, create every
 * function, resume from a checkpoint, start receivers and the thread),
 * await, stop and free.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "clock.h"
#include "context.h"
#include "error.h"
#include "exec.h"
#include "handle.h"
#include "http.h"
#include "log.h"
#include "monitor.h"
#include "plan.h"
#include "recovery.h"
#include "scheduler.h"
#include "status.h"
#include "ops/op.h"
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
}

/* True once every source is a receiver whose run() has returned: no more
 * data can arrive, so the last batch need not wait for its time. */
static bool receivers_ended(sl_context *ctx) {
    bool any = false;
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (s->op != SL__OP_SOURCE)
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
 * combined early (sl__shuffle_early). When the input has ended for good, the
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
        int n = sl__shuffle_early(ctx, t, err);
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
    int64_t start = ctx->clock == SL_CLOCK_MANUAL && ctx->start_time != SL_START_NOW
                        ? ctx->start_time
                        : sl__now_ms();
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
    sl__mon_receivers_gone(ctx->mon); /* the HTTP server stops reading them */
    int64_t bytes, n = pending_records(ctx, &bytes);
    if (n)
        sl__log(SL_LOG_WARN,
                "stopping: %lld records (%lld bytes) received after the last batch were not "
                "processed%s",
                (long long)n, (long long)bytes,
                ctx->recv_wal ? " (they are in the receiver log: the next start replays them)"
                              : "");
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (s->recv)
            sl__receiver_free(s->recv);
        sl__handle_log_counters(s->fn.handle, SL_LOG_INFO); /* plugins' own counters */
    }
    for (size_t i = 0; i < ctx->noutputs; i++)
        sl__handle_log_counters(ctx->outputs[i].fn.handle, SL_LOG_INFO);
}

/* BATCH_COMPLETED of the batch just run (error: NULL if it succeeded). */
static void batch_completed(sl_context *ctx, const sl_batch_info *info, const char *error) {
    if (!sl__listening(&ctx->listeners, SL_EVENT_BATCH_COMPLETED))
        return;
    sl_event ev = {.kind = SL_EVENT_BATCH_COMPLETED};
    ev.u.batch = ctx->bev;
    ev.u.batch.processing_end = ctx->bev.processing_start + info->processing_time;
    ev.u.batch.processing_time = info->processing_time;
    ev.u.batch.total_delay = info->total_delay;
    ev.u.batch.error = error;
    sl__listeners_emit(&ctx->listeners, &ev);
}

/* Run the batch at t and report it; 0 or the failure (err filled). */
static int run_batch(sl_context *ctx, int64_t t, bool *all_finished, sl_error *err) {
    int64_t start_wall = ctx->clock == SL_CLOCK_SYSTEM ? sl__now_ms() : t;
    int64_t m0 = sl__mono_us();
    int64_t sched = start_wall - t > 0 ? start_wall - t : 0;
    ctx->batch_mono_us = m0;
    ctx->bev = (sl_batch_event){t, 0, 0, 0, NULL, start_wall, start_wall, -1, sched, -1, -1, NULL};
    sl_batch_info info;
    err->code = 0;
    err->msg[0] = 0;
    int rc = sl__batch_run(ctx, t, &info, all_finished, err);
    sl__batch_release(ctx);
    int64_t proc = (sl__mono_us() - m0 + 500) / 1000;
    info.scheduling_delay = sched;
    info.processing_time = proc;
    info.total_delay = info.scheduling_delay + proc;
    if (rc) {
        if (!err->msg[0])
            snprintf(err->msg, sizeof err->msg, "batch failed: %s", sl_strerror(rc));
        batch_completed(ctx, &info, err->msg);
        return rc;
    }
    pthread_mutex_lock(&ctx->lock);
    ctx->last = info;
    pthread_mutex_unlock(&ctx->lock);
    atomic_fetch_add(&ctx->batches_done, 1);
    report_batch(ctx, &info);
    batch_completed(ctx, &info, NULL);
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
            (rc = sl__ckpt_maybe(ctx, t, false, &err)))
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
        rc = sl__ckpt_maybe(ctx, last, true, &err);
    sl__status_stop(ctx);
    sl__status_check_sources(ctx); /* a source that never connected is an error */
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

/* ---- lifecycle: start, await, stop, free ------------------------------------------ */

/* Fail the start with err. Whatever the failing step left in err, the
 * start fails: the code is never 0 (sl__ctx_fail makes it SL_EINVAL). */
static int start_fail(sl_context *ctx, const sl_error *err) {
    sl__ctx_fail_err(ctx, err, NULL);
    sl__status_stop(ctx);
    if (ctx->errstream[0] == 0 && ctx->start_who)
        snprintf(ctx->errstream, sizeof ctx->errstream, "%s", ctx->start_who);
    atomic_store(&ctx->stop_requested, true);
    for (size_t i = 0; i < ctx->nstreams; i++)
        if (ctx->streams[i]->recv)
            sl__receiver_free(ctx->streams[i]->recv);
    ctx->state = SL__DONE;
    ctx->done = true;
    ctx->result = ctx->errcode;
    return ctx->errcode;
}

/* The per-source input figures of batch events: one slot per source. */
static int count_inputs(sl_context *ctx) {
    size_t n = 0;
    for (size_t i = 0; i < ctx->nstreams; i++)
        n += sl__stream_is(ctx->streams[i], SL__OPF_SOURCE);
    ctx->inputs = n ? calloc(n, sizeof *ctx->inputs) : NULL;
    ctx->ninputs = ctx->inputs ? n : 0;
    return n && !ctx->inputs ? SL_ENOMEM : 0;
}

/* receiver_wal: open the log of receiver source s in the checkpoint
 * directory; its replay starts where the resumed checkpoint left off. */
static int open_wal(sl_context *ctx, sl_stream *s, sl_error *err) {
    char dir[4096];
    if (sl__wal_dir_for(ctx->ckpt_dir, s->name, dir, sizeof dir))
        return sl__error_set(err, SL_ELIMIT, "%s: the receiver log's path is too long", s->name);
    sl__wal_opts o = {ctx->wal_max, 0, ctx->wal_sync, s->name};
    return sl__receiver_wal_open(s->recv, dir, &o, s->wal_from, ctx->resume_from != 0,
                                 ctx->ckpt_keep ? ctx->ckpt_keep : 3, err);
}

/* Create every instance; start direct sources, then receivers, then the
 * scheduler. */
int sl_context_start(sl_context *ctx) {
    if (!ctx)
        return SL_EINVAL;
    if (ctx->errcode)
        return ctx->errcode;
    if (ctx->state != SL__NEW) {
        sl__ctx_fail(ctx, SL_ESTATE, NULL, "the context was already started");
        return SL_ESTATE;
    }
    sl_error err = {0, ""};
    if (ctx->start_time != SL_START_NOW && ctx->clock != SL_CLOCK_MANUAL) {
        sl__ctx_fail(ctx, SL_ECONFIG, "start_time",
                     "start_time: only the manual clock has a start time (set clock: manual); "
                     "the system clock's batches follow the wall clock");
        return SL_ECONFIG;
    }
    if (ctx->recv_wal && !ctx->ckpt_dir) {
        sl__ctx_fail(ctx, SL_ECONFIG, "receiver_wal",
                     "receiver_wal: the receiver log lives in the checkpoint directory: set "
                     "checkpoint (sl_context_checkpoint) too");
        return SL_ECONFIG;
    }
    if (sl__plan(ctx, &err)) {
        sl__ctx_fail_err(ctx, &err, NULL);
        return err.code;
    }
    ctx->status = ctx->status_mode > 0 || (ctx->status_mode < 0 && isatty(STDERR_FILENO));
    if (sl__status_start(ctx) || count_inputs(ctx)) {
        sl__status_stop(ctx);
        sl__ctx_fail(ctx, SL_ENOMEM, NULL, "out of memory");
        return SL_ENOMEM;
    }
    /* the HTTP server's figures: listening before anything starts */
    if (ctx->http_addr && !(ctx->mon = sl__mon_new(ctx))) {
        sl__ctx_fail(ctx, SL_ENOMEM, NULL, "out of memory");
        return SL_ENOMEM;
    }
    ctx->state = SL__RUNNING;
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        ctx->start_who = s->name; /* named in the error if create fails */
        if (sl__func_create(&s->fn, &err) || sl__func_create(&s->filter, &err))
            return start_fail(ctx, &err);
    }
    for (size_t i = 0; i < ctx->noutputs; i++) {
        ctx->start_who = ctx->outputs[i].label;
        if (sl__func_create(&ctx->outputs[i].fn, &err))
            return start_fail(ctx, &err);
    }
    ctx->start_who = NULL;
    /* the workers, once every instance exists: create() runs before the
     * context has started any thread (docs/decisions.md), so a plugin that
     * forks there (text.grep times its regcomp in a child) forks a process
     * with no other thread in it. A sanitizer's allocator is not fork-safe:
     * a worker starting at the fork left a lock held, and the child waited
     * on it forever */
    int workers = ctx->workers ? ctx->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    ctx->pool = sl__pool_new(workers > 0 ? workers : 1);
    workers = ctx->pool ? sl__pool_workers(ctx->pool) : 0;
    ctx->warena = workers ? calloc((size_t)workers, sizeof *ctx->warena) : NULL;
    if (!ctx->pool || !ctx->warena) {
        sl__error_set(&err, SL_ENOMEM, "out of memory");
        return start_fail(ctx, &err);
    }
    for (int w = 0; w < workers; w++)
        sl__arena_init(&ctx->warena[w], 1 << 20);
    /* state and source positions from the newest checkpoint, before any
     * source starts */
    if (sl__ckpt_resume(ctx, &err))
        return start_fail(ctx, &err);
    sl__plan_early(ctx);
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (!sl__stream_is(s, SL__OPF_SOURCE))
            continue;
        int rc = s->fn.source.start ? s->fn.source.start(s->fn.inst, &err) : 0;
        if (rc < 0) { /* a code without a message still fails, named after the stream */
            err.code = rc;
            if (!err.msg[0])
                sl__func_fail(&s->fn, rc, &err);
            return start_fail(ctx, &err);
        }
        if (s->fn.source.mode == SL_SOURCE_RECEIVER) {
            s->recv = calloc(1, sizeof *s->recv);
            if (!s->recv) {
                sl__error_set(&err, SL_ENOMEM, "out of memory");
                return start_fail(ctx, &err);
            }
            sl__wake *wake = s->early_target ? &ctx->wake : NULL;
            s->recv->listeners = &ctx->listeners; /* its events */
            if ((ctx->recv_wal && open_wal(ctx, s, &err)) ||
                sl__receiver_start(s->recv, &s->fn, ctx->recv_buffer, wake, &err)) {
                sl__wal_close(s->recv->wal);
                free(s->recv->kept);
                free(s->recv);
                s->recv = NULL;
                return start_fail(ctx, &err);
            }
        }
    }
    /* the server, once every instance exists (it reads their handles) */
    if (ctx->http_addr && !(ctx->http = sl__http_start(ctx, ctx->mon, ctx->http_addr, &err)))
        return start_fail(ctx, &err);
    if (pthread_create(&ctx->thread, NULL, sl__scheduler_main, ctx) != 0) {
        sl__error_set(&err, SL_ENOMEM, "cannot start the scheduler thread");
        return start_fail(ctx, &err);
    }
    ctx->thread_started = true;
    return 0;
}

/* Join the scheduler once it is done; returns the run's result. */
static int finish(sl_context *ctx) {
    /* several threads may await (or stop) at once: one of them joins */
    pthread_mutex_lock(&ctx->join_lock);
    if (ctx->thread_started) {
        pthread_join(ctx->thread, NULL);
        ctx->thread_started = false;
    }
    ctx->state = SL__DONE;
    pthread_mutex_unlock(&ctx->join_lock);
    return ctx->result;
}

int sl_context_await_termination_or_timeout(sl_context *ctx, int64_t timeout_ms) {
    if (!ctx)
        return SL_EINVAL;
    if (ctx->state == SL__NEW) {
        sl__ctx_fail(ctx, SL_ESTATE, NULL, "await: the context was not started");
        return SL_ESTATE;
    }
    pthread_mutex_lock(&ctx->lock);
    if (timeout_ms < 0) {
        while (!ctx->done)
            pthread_cond_wait(&ctx->done_cond, &ctx->lock);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)(timeout_ms / 1000);
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!ctx->done)
            if (pthread_cond_timedwait(&ctx->done_cond, &ctx->lock, &ts) != 0)
                break;
    }
    bool done = ctx->done;
    pthread_mutex_unlock(&ctx->lock);
    if (!done)
        return 0;
    int rc = finish(ctx);
    return rc < 0 ? rc : 1;
}

int sl_context_await_termination(sl_context *ctx) {
    int rc = sl_context_await_termination_or_timeout(ctx, -1);
    return rc == 1 ? 0 : rc;
}

void sl_context_request_stop(sl_context *ctx) {
    if (ctx)
        atomic_store(&ctx->stop_requested, true);
}

int sl_context_stop(sl_context *ctx) {
    if (!ctx)
        return SL_EINVAL;
    if (ctx->state == SL__NEW)
        return 0;
    sl_context_request_stop(ctx);
    return sl_context_await_termination(ctx);
}

static void release_all(sl_context *ctx) {
    for (size_t i = 0; i < ctx->noutputs; i++) {
        sl__func_destroy(&ctx->outputs[i].fn);
        free(ctx->outputs[i].label);
    }
    free(ctx->outputs);
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        sl__func_destroy(&s->fn);
        sl__func_destroy(&s->filter);
        if (s->cls->free)
            s->cls->free(s);
        if (s->opstate_free)
            s->opstate_free(s->opstate);
        sl__state_free(s->store); /* stateful streams' and operators' keyed state */
        free(s->initial_state);
        sl__dataset_free(&s->data);
        sl__block_free(s->blocks);
        free(s->recv);
        free(s->name);
        free(s);
    }
    free(ctx->streams);
    free(ctx->by_name);
    int workers = ctx->pool ? sl__pool_workers(ctx->pool) : 0;
    for (int w = 0; w < workers; w++)
        sl__arena_free(&ctx->warena[w]);
    free(ctx->warena);
    sl__pool_free(ctx->pool);
    free(ctx->inputs);
}

void sl_context_free(sl_context *ctx) {
    if (!ctx)
        return;
    if (ctx->state == SL__RUNNING)
        sl_context_stop(ctx);
    sl__http_stop(ctx->http); /* before what it reads is freed */
    sl__mon_free(ctx->mon);
    free(ctx->http_addr);
    release_all(ctx);
    if (ctx->ckpt_lock >= 0)
        sl__ckpt_unlock(ctx->ckpt_lock);
    free(ctx->ckpt_dir);
    sl__registry_free(&ctx->reg); /* unloads plugins: after every destroy() */
    pthread_mutex_destroy(&ctx->lock);
    pthread_mutex_destroy(&ctx->join_lock);
    pthread_cond_destroy(&ctx->done_cond);
    pthread_mutex_destroy(&ctx->wake.lock);
    pthread_cond_destroy(&ctx->wake.cond);
    sl__listeners_free(&ctx->listeners);
    free(ctx);
}

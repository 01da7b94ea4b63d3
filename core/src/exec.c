/*
 * exec.c — the executor: runs one batch over the graph. It fills the
 * sources, computes what the outputs (and the windows) need, each stream by
 * its operation's class (ops/op.h), runs the outputs in order, and commits.
 *
 * A stream is *materialized* (its batch kept as a dataset of partitions)
 * when the planner (plan.c) says so; every other narrow stream is fused
 * into the chain of the stream that consumes it (ops/chain.c), so that the
 * executor computes only materialized streams: for a fused consumer (a
 * narrow or shuffle operation) it computes the roots of its chains, for any
 * other its inputs, then calls the class's run().
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "clock.h"
#include "context.h"
#include "error.h"
#include "exec.h"
#include "handle.h"
#include "log.h"
#include "ops/chain.h"
#include "ops/op.h"
#include "ops/shuffle.h"
#include "ops/source.h"

/* Compute stream s's batch at t, and first what it reads, once per batch. A
 * window sees every batch of its input, producing one or not; any other
 * stream that produces no batch at t has an empty one. */
static int compute(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    if (s->computed)
        return 0;
    if (!s->active && !sl__stream_is(s, SL__OPF_WINDOW)) {
        s->computed = true; /* no batch at this time: an empty dataset */
        return 0;
    }
    int rc = 0;
    bool fused = sl__stream_is(s, SL__OPF_NARROW | SL__OPF_SHUFFLE);
    for (int k = 0; k < s->nin && !rc; k++)
        rc = compute(ctx, fused ? sl__chain_root(s->in[k]) : s->in[k], t, err);
    /* a stateful stream's first batch starts from its initial stream's */
    if (!rc && s->initial_stream && !s->store)
        rc = compute(ctx, s->initial_stream, t, err);
    if (!rc)
        rc = s->cls->run(ctx, s, t, err);
    if (!rc)
        s->computed = true;
    return rc;
}

/* ---- outputs ------------------------------------------------------------------------ */

/* A sink returned SL_EOF: what it writes to is gone for good (pprint's stdout
 * closed by `| head`). Not a failure: say so once, skip the output from now
 * on, and stop the pipeline gracefully (the batch completes, a final
 * checkpoint is written, sources commit), as SIGTERM would. */
static int output_gone(sl_context *ctx, sl__output *o, sl_error *err) {
    sl__log_from(SL_LOG_WARN, o->from->name, o->fn.handle->ref, "%s; stopping",
                 err->msg[0] ? err->msg : "its output is gone");
    err->code = 0;
    err->msg[0] = 0;
    o->gone = true;
    sl_context_request_stop(ctx);
    return 0;
}

static int run_output(sl_context *ctx, sl__output *o, int64_t t, sl_error *err) {
    const sl__dataset *d = &o->from->data;
    sl__func *f = &o->fn;
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        err->code = 0;
        err->msg[0] = 0;
        rc = f->sink.begin ? f->sink.begin(f->inst, t, err) : 0;
        for (size_t p = 0; p < d->nparts && rc >= 0; p++) {
            for (size_t off = 0; off < d->parts[p].n && rc >= 0; off += SL__CHUNK) {
                size_t n = d->parts[p].n - off < SL__CHUNK ? d->parts[p].n - off : SL__CHUNK;
                sl_chunk c = {d->parts[p].v + off, n, t, (uint32_t)p, 0};
                rc = f->sink.write(f->inst, &c, err);
            }
        }
        if (rc >= 0 && f->sink.end)
            rc = f->sink.end(f->inst, t, err);
        if (rc != SL_RETRY || attempt >= 4 || atomic_load(&ctx->stop_requested))
            break;
        sl__log_from(SL_LOG_WARN, o->from->name, f->handle->ref,
                     "asked to retry the batch (attempt %d of 5)", attempt + 2);
        sl__sleep_ms(100LL << attempt);
    }
    if (rc == SL_EOF)
        return output_gone(ctx, o, err);
    if (rc < 0 && !err->msg[0])
        sl__error_set(err, rc, "%s (%s): write failed: %s", o->from->name, f->handle->ref,
                      sl_strerror(rc));
    return rc < 0 ? rc : 0;
}

/* Microseconds since the batch's processing started. */
static int64_t batch_elapsed_us(const sl_context *ctx) {
    return sl__mono_us() - ctx->batch_mono_us;
}

/* Run output i, between OUTPUT_STARTED and OUTPUT_COMPLETED events when
 * someone listens to either. Times are on the context's clock: the batch's
 * processing start plus the time elapsed since. */
static int output_reported(sl_context *ctx, size_t i, int64_t t, sl_error *err) {
    sl__output *o = &ctx->outputs[i];
    bool on = sl__listening(&ctx->listeners, SL_EVENT_OUTPUT_STARTED) ||
              sl__listening(&ctx->listeners, SL_EVENT_OUTPUT_COMPLETED);
    if (!on)
        return run_output(ctx, o, t, err);
    const sl__dataset *d = &o->from->data;
    int64_t records = 0;
    for (size_t p = 0; p < d->nparts; p++)
        records += (int64_t)d->parts[p].n;
    int64_t u0 = batch_elapsed_us(ctx);
    sl_event ev = {.kind = SL_EVENT_OUTPUT_STARTED};
    ev.u.output = (sl_output_event){t,
                                    (int)i,
                                    o->label,
                                    o->from->name,
                                    o->fn.handle->ref,
                                    records,
                                    ctx->bev.processing_start + u0 / 1000,
                                    -1,
                                    -1,
                                    NULL};
    if (sl__listening(&ctx->listeners, SL_EVENT_OUTPUT_STARTED))
        sl__listeners_emit(&ctx->listeners, &ev);
    int rc = run_output(ctx, o, t, err);
    int64_t u1 = batch_elapsed_us(ctx);
    ev.kind = SL_EVENT_OUTPUT_COMPLETED;
    ev.u.output.end_time = ctx->bev.processing_start + u1 / 1000;
    ev.u.output.duration_us = u1 - u0;
    ev.u.output.error = rc ? err->msg : NULL;
    if (sl__listening(&ctx->listeners, SL_EVENT_OUTPUT_COMPLETED))
        sl__listeners_emit(&ctx->listeners, &ev);
    return rc;
}

/* The batch's input is taken: BATCH_SUBMITTED, then BATCH_STARTED (no job
 * queue: its processing has started). */
static void batch_events(sl_context *ctx, const sl_batch_info *info) {
    sl_batch_event *b = &ctx->bev;
    b->records = info->records;
    b->bytes = info->bytes;
    b->nsources = ctx->ninputs;
    b->sources = ctx->inputs;
    sl_event ev = {.kind = SL_EVENT_BATCH_SUBMITTED};
    if (sl__listening(&ctx->listeners, SL_EVENT_BATCH_SUBMITTED)) {
        ev.u.batch = *b;
        ev.u.batch.processing_start = ev.u.batch.scheduling_delay = -1;
        sl__listeners_emit(&ctx->listeners, &ev);
    }
    if (sl__listening(&ctx->listeners, SL_EVENT_BATCH_STARTED)) {
        ev.kind = SL_EVENT_BATCH_STARTED;
        ev.u.batch = *b;
        sl__listeners_emit(&ctx->listeners, &ev);
    }
}

/* ---- the batch ------------------------------------------------------------------------ */

int sl__batch_run(sl_context *ctx, int64_t t, sl_batch_info *info, bool *all_finished,
                  sl_error *err) {
    int rc = 0;
    bool finished = true;
    memset(info, 0, sizeof *info);
    info->batch_time = t;
    size_t k = 0; /* the source's index in ctx->inputs */
    for (size_t i = 0; i < ctx->nstreams && !rc; i++) {
        sl_stream *s = ctx->streams[i];
        if (!sl__stream_is(s, SL__OPF_SOURCE))
            continue;
        int64_t r0 = info->records, b0 = info->bytes;
        rc = sl__source_pull(s, t, info, err);
        finished = finished && s->finished;
        if (k < ctx->ninputs)
            ctx->inputs[k++] = (sl_source_input){s->name, info->records - r0, info->bytes - b0};
    }
    *all_finished = finished;
    batch_events(ctx, info);
    ctx->early_us = 0;
    ctx->early_blocks = 0;
    ctx->early_recycled = 0;
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        s->active = (t - ctx->zero_time) % s->period == 0;
        sl__shuffle_early_figures(s, t, &ctx->early_us, &ctx->early_blocks, &ctx->early_recycled);
    }
    /* windows must see every batch of their parents, needed now or not
     * (those nothing reads are skipped) */
    for (size_t i = 0; i < ctx->nstreams && !rc; i++)
        if (sl__stream_is(ctx->streams[i], SL__OPF_WINDOW) && ctx->streams[i]->consumers > 0)
            rc = compute(ctx, ctx->streams[i], t, err);
    for (size_t i = 0; i < ctx->noutputs && !rc; i++)
        rc = compute(ctx, ctx->outputs[i].from, t, err);
    for (size_t i = 0; i < ctx->noutputs && !rc; i++)
        if (ctx->outputs[i].from->active && !ctx->outputs[i].gone)
            rc = output_reported(ctx, i, t, err);
    for (size_t i = 0; i < ctx->noutputs && !rc; i++) {
        sl__func *f = &ctx->outputs[i].fn;
        if (f->sink.commit && ctx->outputs[i].from->active && !ctx->outputs[i].gone)
            rc = f->sink.commit(f->inst, t, err);
    }
    /* with checkpoints, sources commit only once a checkpoint covers t
     * (sl__ckpt_maybe): Kafka offsets never run ahead of the state */
    if (!rc && !ctx->ckpt_dir)
        rc = sl__sources_commit(ctx, t, err);
    return rc;
}

int sl__sources_commit(sl_context *ctx, int64_t t, sl_error *err) {
    int rc = 0;
    for (size_t i = 0; i < ctx->nstreams && !rc; i++) {
        sl_stream *s = ctx->streams[i];
        if (sl__stream_is(s, SL__OPF_SOURCE) && s->fn.source.commit)
            rc = s->fn.source.commit(s->fn.inst, t, err);
    }
    return rc;
}

void sl__batch_release(sl_context *ctx) {
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        sl__dataset_free(&s->data);
        if (s->recv)
            sl__receiver_recycle(s->recv, s->blocks);
        else
            sl__block_free(s->blocks);
        s->blocks = NULL;
        s->computed = false;
    }
    int workers = ctx->pool ? sl__pool_workers(ctx->pool) : 0;
    for (int w = 0; w < workers; w++)
        sl__arena_reset(&ctx->warena[w]);
}
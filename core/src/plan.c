/*
 * plan.c — the planner: at start, which streams are materialized (their
 * batch kept whole) and which are fused into chains, how often each
 * produces a batch, and which receiver sources combine early.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "context.h"
#include "error.h"
#include "plan.h"
#include "ops/chain.h"
#include "ops/op.h"

/* How often each stream produces a batch (Spark's slideDuration): sources
 * every interval, a window every slide, anything else as its inputs, which
 * must agree. */
static int plan_periods(sl_context *ctx, sl_error *err) {
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (sl__stream_is(s, SL__OPF_SOURCE)) {
            s->period = ctx->interval;
        } else if (sl__stream_is(s, SL__OPF_WINDOW)) {
            int64_t p = s->in[0]->period;
            if (s->window % p || s->slide % p)
                return sl__error_set(err, SL_ECONFIG,
                                     "%s (%s): window %lld ms and slide %lld ms must be "
                                     "multiples of the batches of '%s' (every %lld ms)",
                                     s->name, sl__op_name(s->op), (long long)s->window,
                                     (long long)s->slide, s->in[0]->name, (long long)p);
            s->period = s->slide;
        } else {
            s->period = s->in[0]->period;
            if (s->nin == 2 && s->in[1]->period != s->period)
                return sl__error_set(
                    err, SL_ECONFIG,
                    "%s (%s): '%s' produces a batch every %lld ms but '%s' every %lld ms; both "
                    "inputs must slide alike (window them the same way)",
                    s->name, sl__op_name(s->op), s->in[0]->name, (long long)s->in[0]->period,
                    s->in[1]->name, (long long)s->in[1]->period);
        }
    }
    return 0;
}

int sl__plan(sl_context *ctx, sl_error *err) {
    for (size_t i = 0; i < ctx->nstreams; i++) {
        ctx->streams[i]->consumers = 0;
        ctx->streams[i]->materialize = false;
    }
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        for (int k = 0; k < s->nin; k++) {
            s->in[k]->consumers++;
            if (sl__stream_is(s, SL__OPF_WHOLE_INPUT))
                s->in[k]->materialize = true;
        }
    }
    for (size_t i = 0; i < ctx->noutputs; i++) {
        ctx->outputs[i].from->consumers++;
        ctx->outputs[i].from->materialize = true;
    }
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *init = ctx->streams[i]->initial_stream;
        if (init) {
            init->consumers++; /* read whole, at the stateful stream's first batch */
            init->materialize = true;
        }
    }
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (!sl__stream_is(s, SL__OPF_NARROW) || s->consumers > 1)
            s->materialize = true;
    }
    /* a fused chain holds at most SL__MAX_CHAIN functions: materialize one
     * stream every SL__MAX_CHAIN in longer chains (creation order is topological) */
    int *depth = calloc(ctx->nstreams ? ctx->nstreams : 1, sizeof *depth);
    if (!depth)
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (s->materialize)
            continue;
        depth[i] = depth[s->in[0]->id] + 1;
        if (depth[i] >= SL__MAX_CHAIN) {
            s->materialize = true;
            depth[i] = 0;
        }
    }
    free(depth);
    int rc = plan_periods(ctx, err);
    if (rc)
        return rc;
    if (ctx->noutputs == 0)
        return sl__error_set(err, SL_ECONFIG,
                             "the graph has no outputs: nothing would run (add pprint or another "
                             "sink)");
    return 0;
}

/* Mark s and everything it reads as computed at every batch. */
static void mark_needed(sl_stream *s, bool *needed) {
    if (needed[s->id])
        return;
    needed[s->id] = true;
    for (int k = 0; k < s->nin; k++)
        mark_needed(s->in[k], needed);
}

/* A receiver source can be combined early when its only reader is a fused
 * chain (possibly empty) that ends in a map-side combine that every batch
 * computes: the chain's work on a block is the same before or after the
 * tick, and its results wait in the shuffle tables for the batch. Anything
 * that needs the source's batch as a whole (a window, a second reader, an
 * output) rules it out, and so does a shuffle that no batch computes (read
 * by nothing that runs, or only as an initial state): its functions must
 * not run early when they would never run at all. */
void sl__plan_early(sl_context *ctx) {
    for (size_t i = 0; i < ctx->nstreams; i++)
        ctx->streams[i]->early_target = NULL;
    bool *needed = ctx->early_combine ? calloc(ctx->nstreams + 1, sizeof *needed) : NULL;
    if (!needed)
        return; /* off (or no memory: then nothing early, which is always correct) */
    /* what sl__batch_run computes: the outputs' streams and the windows that
     * something reads, with all they read (initial_stream is not an input) */
    for (size_t i = 0; i < ctx->noutputs; i++)
        mark_needed(ctx->outputs[i].from, needed);
    for (size_t i = 0; i < ctx->nstreams; i++)
        if (sl__stream_is(ctx->streams[i], SL__OPF_WINDOW) && ctx->streams[i]->consumers > 0)
            mark_needed(ctx->streams[i], needed);
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (!sl__stream_is(s, SL__OPF_SHUFFLE) || !needed[s->id])
            continue;
        sl_stream *root = s->in[0];
        while (!root->materialize)
            root = root->in[0];
        if (!sl__stream_is(root, SL__OPF_SOURCE) || root->consumers != 1 ||
            root->fn.source.mode != SL_SOURCE_RECEIVER || root->period != s->period)
            continue;
        root->early_target = s;
    }
    free(needed);
}

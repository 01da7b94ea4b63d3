/*
 * ops/op.h — the operation class: what one kind of stream does, behind one
 * interface, so that the executor, the planner and recovery never switch on
 * the kind of a stream.
 *
 * Every operation of sl__op has one class, defined in the file of its family
 * under ops/ (narrow.c, shuffle.c, batch.c, window.c, join.c, state.c,
 * operator.c, source.c) and listed in ops/table.c, which is checked against
 * the enum at compile time. Adding an operation: its class in a new file (or
 * beside its family), one row in ops/table.c, its builder in graph.c.
 *
 * Threads: every callback runs on the scheduler thread, one stream at a time;
 * run() may fan out to the worker pool (ctx->pool) and wait for it.
 */
#ifndef SLUICE_OPS_OP_H
#define SLUICE_OPS_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "checkpoint.h"
#include "stream.h"

enum {
    SL__OPF_SOURCE = 1u << 0,      /* filled at the batch's start (ops/source.c) */
    SL__OPF_NARROW = 1u << 1,      /* record by record: fused into chains (ops/chain.c) */
    SL__OPF_SHUFFLE = 1u << 2,     /* combines map-side, merges by key partition */
    SL__OPF_WINDOW = 1u << 3,      /* sees every batch of its input, active or not */
    SL__OPF_JOIN = 1u << 4,        /* groups its inputs by key */
    SL__OPF_STATEFUL = 1u << 5,    /* keeps state across batches, in checkpoints */
    SL__OPF_WHOLE_INPUT = 1u << 6, /* reads its inputs' batches whole (materialized) */
    SL__OPF_VALUES = 1u << 7,      /* NARROW: the function sees values; keys are kept */
    SL__OPF_BY_ELEMENT = 1u << 8,  /* SHUFFLE: keyed by the whole element, counted */
};

typedef struct sl__op_class {
    const char *name; /* as in YAML, logs and checkpoints: "reduce_by_key" */
    unsigned flags;   /* SL__OPF_* */
    /* Compute the stream's batch at t into s->data. Its inputs are computed;
     * for NARROW and SHUFFLE operations, the roots of their fused chains. */
    int (*run)(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
    /* Optional: write what the stream keeps across batches into checkpoint
     * sections of its own ("<kind>/<stream name>..."), after the batch at t;
     * add the bytes written to *bytes. */
    int (*snapshot)(sl_stream *s, int64_t t, sl__ckpt_writer *w, size_t *bytes, sl_error *err);
    /* Optional: take it back from checkpoint c, before the first batch of a
     * resumed run (after create, before start). */
    int (*restore)(sl_context *ctx, sl_stream *s, const sl__ckpt *c, sl_error *err);
    /* Optional: free what the operation keeps across batches (teardown). */
    void (*free)(sl_stream *s);
} sl__op_class;

/* The class of an operation (ops/table.c). */
const sl__op_class *sl__op_class_of(sl__op op);

/* The operation's name: "map", "reduce_by_key", ... */
static inline const char *sl__op_name(sl__op op) {
    return sl__op_class_of(op)->name;
}

/* Whether the stream's operation has any of `flags`. */
static inline bool sl__stream_is(const sl_stream *s, unsigned flags) {
    return (s->cls->flags & flags) != 0;
}

/* The stream's operation name, without the table (for the operations' own
 * messages). */
static inline const char *sl__stream_op(const sl_stream *s) {
    return s->cls->name;
}

#endif /* SLUICE_OPS_OP_H */

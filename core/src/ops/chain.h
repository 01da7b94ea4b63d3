/*
 * ops/chain.h — fused chains of narrow functions and the stage that runs
 * them over a root's partitions (ops/chain.c).
 *
 * Threads: the scheduler thread sets up and runs a stage; its tasks run on
 * the worker pool, each worker on its own partitions and its own tables
 * ([worker][partition]) and arena.
 */
#ifndef SLUICE_OPS_CHAIN_H
#define SLUICE_OPS_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "dataset.h"
#include "stream.h"
#include "table.h"

#define SL__MAX_CHAIN 64 /* functions in one fused chain, at most */

enum sl__sink_kind { SL__SINK_APPEND, SL__SINK_COMBINE };

/* One run of a fused chain: set up by the caller (ctx, t, sink, target and,
 * for SL__SINK_COMBINE, tabs and nparts), completed by sl__stage_chain. */
typedef struct sl__stage {
    sl_context *ctx;
    int64_t t;
    sl_stream *root;
    const sl__dataset *input; /* the root's partitions to run (its data, or early blocks) */
    size_t part_base;         /* partition numbers the functions see start here */
    sl_stream *chain[SL__MAX_CHAIN];
    int nchain;
    int sink;
    sl_stream *target;
    sl_record *bufs; /* [workers][nchain][SL__CHUNK] */
    /* combine */
    sl__table *tabs; /* [workers][nparts] */
    int nparts;
} sl__stage;

/* The chain of a stage: the narrow streams from `from` (a stream the target
 * consumes) back to the nearest materialized ancestor, which becomes the
 * root. With include_from, `from` itself (materialized) is the chain's last
 * function: a materialized narrow stream computing its own partitions. */
int sl__stage_chain(sl__stage *st, sl_stream *from, bool include_from, sl_error *err);
/* Run a stage's chain over every partition of `input`, in the pool. */
int sl__stage_exec(sl__stage *st, const sl__dataset *input, sl_error *err);
/* sl__stage_chain, then sl__stage_exec over the root's batch (computed). */
int sl__stage_run(sl__stage *st, sl_stream *from, bool include_from, sl_error *err);

/* The nearest materialized stream at or above s: the root of the fused chain
 * that ends in s. */
static inline sl_stream *sl__chain_root(sl_stream *s) {
    while (!s->materialize)
        s = s->in[0];
    return s;
}

#endif /* SLUICE_OPS_CHAIN_H */

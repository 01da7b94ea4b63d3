/*
 * stream.h — a stream of the DStream graph and an output: the data every
 * room of the engine shares (the builders are in graph.c, what each
 * operation does in ops/).
 *
 * Threads: streams are built before start and read-only afterwards, except
 * their per-batch fields (data, computed, active, blocks, early_*), which only
 * the scheduler thread and the workers of a stage it runs touch, each worker
 * its own partitions.
 */
#ifndef SLUICE_STREAM_H
#define SLUICE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/sluice.h>

#include "dataset.h"
#include "func.h"
#include "receiver.h"
#include "state.h"

typedef enum sl__op {
    SL__OP_SOURCE,
    SL__OP_MAP,
    SL__OP_FLAT_MAP,
    SL__OP_FILTER,
    SL__OP_MAP_VALUES,
    SL__OP_FLAT_MAP_VALUES,
    SL__OP_TRANSFORM,
    SL__OP_REDUCE_BY_KEY,
    SL__OP_REDUCE,
    SL__OP_COUNT,
    SL__OP_COUNT_BY_VALUE,
    SL__OP_UNION,
    SL__OP_REPARTITION,
    /* windows (ops/window.c) */
    SL__OP_WINDOW,
    SL__OP_COUNT_BY_WINDOW,
    SL__OP_REDUCE_BY_WINDOW,
    SL__OP_REDUCE_BY_KEY_AND_WINDOW,
    SL__OP_COUNT_BY_VALUE_AND_WINDOW,
    SL__OP_GROUP_BY_KEY_AND_WINDOW,
    /* grouping and joins (ops/join.c) */
    SL__OP_GROUP_BY_KEY,
    SL__OP_JOIN,
    SL__OP_LEFT_OUTER_JOIN,
    SL__OP_RIGHT_OUTER_JOIN,
    SL__OP_FULL_OUTER_JOIN,
    SL__OP_COGROUP,
    SL__OP_TRANSFORM_WITH,
    /* state (ops/state.c, ops/operator.c) */
    SL__OP_UPDATE_STATE_BY_KEY,
    SL__OP_MAP_WITH_STATE,
    SL__OP_STATE_SNAPSHOTS,
    SL__OP_OPERATOR,
    SL__OP_N /* the number of operations: the size of ops/table.c */
} sl__op;

struct sl_stream {
    sl_context *ctx;
    int id;
    sl__op op;
    const struct sl__op_class *cls; /* what the operation does (ops/op.h) */
    char *name;
    uint64_t name_hash; /* of name (sl__name_hash): its place in ctx->by_name */
    sl_stream *in[2];
    int nin;
    sl__func fn;
    int partitions; /* shuffle / repartition partitions; 0 = workers */
    /* windows */
    int64_t window;  /* ms */
    int64_t slide;   /* ms */
    bool inverse;    /* reduce_by_key_and_window: incremental, with the inverse */
    sl__func filter; /* reduce_by_key_and_window_inv: optional FILTER component */
    /* what an operation keeps across batches, its own type (a window's ring,
     * a shuffle's tables), freed by its class's free() or opstate_free */
    void *opstate;
    void (*opstate_free)(void *opstate);
    /* state */
    sl__state_store *store;
    size_t state_limit;               /* bytes; 0 = none */
    int64_t timeout;                  /* map_with_state: idle timeout in ms; 0 = none */
    char *initial_state;              /* JSON Lines path */
    struct sl_stream *initial_stream; /* or a stream's first batch */
    /* plan: the stream produces a batch at t when (t - zero_time) % period == 0 */
    int64_t period;
    bool active; /* per batch: produces a batch at this t */
    /* source runtime */
    sl__receiver *recv;
    bool finished;     /* source: no more data ever */
    uint64_t wal_from; /* receiver_wal: replay the log from this ordinal (restore) */
    /* plan */
    int consumers;
    bool materialize;
    /* per batch */
    sl__dataset data;
    bool computed;
    sl__block *blocks; /* source: the batch's blocks (own the bytes) */
    /* early combine (plan): a receiver source's blocks may run, before the
     * tick, through the fused chain into this shuffle stream's tables */
    struct sl_stream *early_target;
};

typedef struct sl__output {
    sl_stream *from;
    sl__func fn;
    char *label;
    bool gone; /* its sink returned SL_EOF (its reader went away): skipped from then on */
} sl__output;

#endif /* SLUICE_STREAM_H */

/*
 * graph.h — the DStream graph: streams, outputs and their builders (graph.c).
 *
 * Threads: streams are built before start and read-only afterwards, except
 * their per-batch fields, which only the scheduler thread (and the workers
 * of a stage it runs) touch.
 */
#ifndef SLUICE_GRAPH_H
#define SLUICE_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/sluice.h>

#include "dataset.h"
#include "func.h"
#include "receiver.h"
#include "state.h"
#include "table.h"

typedef enum sl__op {
    SL_OP_SOURCE,
    SL_OP_MAP,
    SL_OP_FLAT_MAP,
    SL_OP_FILTER,
    SL_OP_MAP_VALUES,
    SL_OP_FLAT_MAP_VALUES,
    SL_OP_TRANSFORM,
    SL_OP_REDUCE_BY_KEY,
    SL_OP_REDUCE,
    SL_OP_COUNT,
    SL_OP_COUNT_BY_VALUE,
    SL_OP_UNION,
    SL_OP_REPARTITION,
    /* windows (window.c) */
    SL_OP_WINDOW,
    SL_OP_COUNT_BY_WINDOW,
    SL_OP_REDUCE_BY_WINDOW,
    SL_OP_REDUCE_BY_KEY_AND_WINDOW,
    SL_OP_COUNT_BY_VALUE_AND_WINDOW,
    SL_OP_GROUP_BY_KEY_AND_WINDOW,
    /* grouping and joins (join.c) */
    SL_OP_GROUP_BY_KEY,
    SL_OP_JOIN,
    SL_OP_LEFT_OUTER_JOIN,
    SL_OP_RIGHT_OUTER_JOIN,
    SL_OP_FULL_OUTER_JOIN,
    SL_OP_COGROUP,
    SL_OP_TRANSFORM_WITH,
    /* state (stateful.c) */
    SL_OP_UPDATE_STATE_BY_KEY,
    SL_OP_MAP_WITH_STATE,
    SL_OP_STATE_SNAPSHOTS,
    SL_OP_OPERATOR
} sl__op;

bool sl__op_is_window(sl__op op);
bool sl__op_is_join(sl__op op); /* group_by_key, joins, cogroup, transform_with */

const char *sl__op_name(sl__op op);
/* graph.c's builders' parts, for builders in other files. */
struct sl_stream *sl__stream_new(sl_context *ctx, sl__op op, struct sl_stream *a,
                                 struct sl_stream *b);
void sl__stream_drop(sl_context *ctx, struct sl_stream *s);
bool sl__op_is_narrow(sl__op op);

struct sl_stream {
    sl_context *ctx;
    int id;
    sl__op op;
    char *name;
    sl_stream *in[2];
    int nin;
    sl__func fn;
    int partitions;  /* shuffle / repartition partitions; 0 = workers */
    sl__table *tabs; /* shuffle: [workers][partitions] tables, kept across batches */
    size_t ntabs;
    /* windows */
    int64_t window;  /* ms */
    int64_t slide;   /* ms */
    bool inverse;    /* reduce_by_key_and_window: incremental, with the inverse */
    sl__func filter; /* reduce_by_key_and_window_inv: optional FILTER component */
    /* state an operation keeps across batches (window rings, ...), freed
     * with opstate_free at context teardown */
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
    bool finished; /* source: no more data ever */
    /* plan */
    int consumers;
    bool materialize;
    /* per batch */
    sl_dataset data;
    bool computed;
    sl__block *blocks; /* source: the batch's blocks (own the bytes) */
    /* early combine (plan): a receiver source's blocks may run, before the
     * tick, through the fused chain into this shuffle stream's tables */
    struct sl_stream *early_target;
    /* early combine (per batch): the shuffle stream's tables hold the early
     * blocks of the batch at early_t (0: none) */
    int64_t early_t;
    size_t early_parts;    /* partitions combined early */
    size_t early_recycled; /* of which recycled at once (tables_keep_no_input) */
    int64_t early_us;      /* time spent on them */
};

typedef struct sl__output {
    sl_stream *from;
    sl__func fn;
    char *label;
} sl__output;

#endif /* SLUICE_GRAPH_H */

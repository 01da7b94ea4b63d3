/*
 * exec.h — running one batch over the graph (exec.c and the operations).
 *
 * Threads: the scheduler thread calls these; they run stages on the pool.
 */
#ifndef SLUICE_EXEC_H
#define SLUICE_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include <sluice/sluice.h>

#include "codec.h"
#include "context.h"
#include "graph.h"

#define SL__DIRECT_BLOCK_RECORDS 16384 /* a direct source's partition size */

/* Plan: mark which streams are materialized; called at start. */
int sl__plan(sl_context *ctx, sl_error *err);
/* Early combine (after the functions are created, before receivers start):
 * set early_target on every receiver source whose blocks can be combined
 * before the tick. */
void sl__plan_early(sl_context *ctx);
/* While waiting for the tick t: combine the blocks sealed so far of every
 * early source. Returns the number of blocks combined (0: none was ready) or
 * a negative code (err filled; the batch at t has failed). */
int sl__batch_early(sl_context *ctx, int64_t t, sl_error *err);
/* Run the batch at `t`: pull sources, compute streams, run outputs. */
int sl__batch_run(sl_context *ctx, int64_t t, sl_batch_info *info, bool *all_finished,
                  sl_error *err);
void sl__stream_free_tables(sl_stream *s);
/* Window operations (window.c): called at every batch time for a window
 * stream, active or not, after its parent is computed: record the parent's
 * batch, and when s->active, fill s->data. */
int sl__run_window(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
/* A window stream's ring for checkpoints (window.c): append it to b /
 * rebuild it from r (before the first batch of a resumed run). */
int sl__window_snapshot(sl_stream *s, sl__buf *b, sl_error *err);
int sl__window_restore(sl_context *ctx, sl_stream *s, sl__reader *r, sl_error *err);
/* Grouping and joins (join.c): inputs computed; fill s->data. */
int sl__run_join(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
/* Group the records of `parts` by key: (k, [values in order]) per key, in
 * order of first appearance, lists from `mem`, appended to `out`
 * (join.c; group_by_key and group_by_key_and_window). */
int sl__group_records(const sl_recvec *parts, size_t nparts, int64_t t, sl_mem *mem, sl_recvec *out,
                      sl_error *err);
/* update_state_by_key (stateful.c): input computed; update the state, fill s->data. */
int sl__run_state(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
/* map_with_state, state_snapshots and operators (stateful.c). */
int sl__run_map_with_state(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
int sl__run_state_snapshots(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
int sl__run_operator(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
/* The host's sl_state functions (map_with_state handles). */
const sl_value *sl__state_handle_get(sl_state *st);
int sl__state_handle_set(sl_state *st, const sl_value *v);
void sl__state_handle_remove(sl_state *st);
int sl__state_handle_timing_out(sl_state *st);
/* Streams whose state a checkpoint keeps in "state/<name>/<j>". */
bool sl__op_has_store(sl__op op);
/* The stream's state store, created on first use (or by a restore). */
int sl__state_store_of(sl_context *ctx, sl_stream *s, bool initial, sl_error *err);
/* Compute stream s's batch at t (and what it needs), if not done yet. */
int sl__compute(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
/* Free the per-batch data of every stream. */
void sl__batch_release(sl_context *ctx);

#endif /* SLUICE_EXEC_H */

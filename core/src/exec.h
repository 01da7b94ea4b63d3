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

/* Run the batch at `t`: pull sources, compute streams, run outputs. */
int sl__batch_run(sl_context *ctx, int64_t t, sl_batch_info *info, bool *all_finished,
                  sl_error *err);
/* Tell every source that batch t is safe (commit(t)): after its outputs, or
 * with a checkpoint directory only after a checkpoint covering t. */
int sl__sources_commit(sl_context *ctx, int64_t t, sl_error *err);
/* Free the per-batch data of every stream. */
void sl__batch_release(sl_context *ctx);

#endif /* SLUICE_EXEC_H */

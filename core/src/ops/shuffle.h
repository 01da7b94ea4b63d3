/*
 * ops/shuffle.h — early combine of the shuffles (ops/shuffle.c).
 *
 * Threads: the scheduler thread, while it waits for the tick.
 */
#ifndef SLUICE_OPS_SHUFFLE_H
#define SLUICE_OPS_SHUFFLE_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

/* While waiting for the tick t: combine the blocks sealed so far of every
 * early source. Returns the number of blocks combined (0: none was ready) or
 * a negative code (err filled; the batch at t has failed). */
int sl__shuffle_early(sl_context *ctx, int64_t t, sl_error *err);
/* Add what early combine did for shuffle stream s's batch at t (nothing for
 * another stream or batch) to the batch's figures: time, blocks, recycled. */
void sl__shuffle_early_figures(const sl_stream *s, int64_t t, int64_t *us, size_t *blocks,
                               size_t *recycled);

#endif /* SLUICE_OPS_SHUFFLE_H */

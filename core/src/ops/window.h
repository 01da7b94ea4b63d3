/*
 * ops/window.h — a window stream's ring in checkpoints (ops/window.c): the
 * byte form of the section "window/<stream>", reached directly by the tests
 * of damaged snapshots. The scheduler thread, between batches.
 */
#ifndef SLUICE_OPS_WINDOW_H
#define SLUICE_OPS_WINDOW_H

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "codec.h"

/* Append the ring to b / rebuild it from r (before the first batch of a
 * resumed run); SL_EINVAL, naming the stream, for a damaged one. */
int sl__window_snapshot(sl_stream *s, sl__buf *b, sl_error *err);
int sl__window_restore(sl_context *ctx, sl_stream *s, sl__reader *r, sl_error *err);

#endif /* SLUICE_OPS_WINDOW_H */

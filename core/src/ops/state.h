/*
 * ops/state.h — a stream's keyed state store in checkpoints (ops/state.c):
 * the sections "state/<stream>/<j>", shared by the stateful operations and
 * the operators' keyed state (ABI 1.3). The scheduler thread, between
 * batches.
 */
#ifndef SLUICE_OPS_STATE_H
#define SLUICE_OPS_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "checkpoint.h"

/* Write every partition of s->store (nothing without a store); add the
 * bytes written to *bytes. */
int sl__store_write(sl_stream *s, sl__ckpt_writer *w, size_t *bytes, sl_error *err);
/* Whether checkpoint c holds state for stream s. */
bool sl__store_in(const sl_stream *s, const sl__ckpt *c);
/* Read every "state/<stream>/<j>" of c into s->store (which exists). */
int sl__store_read(sl_stream *s, const sl__ckpt *c, sl_error *err);

/* Open a stream's initial_state file: a regular file only, never blocking
 * on a FIFO. Returns the descriptor or a negative SL_E* (in err). */
int sl__initial_state_open(const char *stream, const char *path, sl_error *err);

#endif /* SLUICE_OPS_STATE_H */

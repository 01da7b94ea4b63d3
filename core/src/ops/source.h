/*
 * ops/source.h — filling a source's batch (ops/source.c). The scheduler
 * thread, at the start of each batch.
 */
#ifndef SLUICE_OPS_SOURCE_H
#define SLUICE_OPS_SOURCE_H

#include <stdint.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

/* Fill source s's batch at t (s->data) and add its records and bytes to the
 * batch's figures. */
int sl__source_pull(sl_stream *s, int64_t t, sl_batch_info *info, sl_error *err);

#endif /* SLUICE_OPS_SOURCE_H */

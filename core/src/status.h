/*
 * status.h — the live status line and the sources' connection states at
 * the end of a run (status.c).
 *
 * Threads: sl__status_start and sl__status_stop on the thread that starts
 * the context and on the engine thread at the end of the run (never at the
 * same time); the status line itself is a listener, called on the engine
 * thread. The source checks read the handles' atomic states: any thread.
 */
#ifndef SLUICE_STATUS_H
#define SLUICE_STATUS_H

#include <sluice/sluice.h>

/* When ctx->status is set, add the status line to ctx: a listener that
 * draws one line on stderr after every batch. 0 or SL_ENOMEM. */
int sl__status_start(sl_context *ctx);
/* End the status line: a line left showing on a terminal is ended with a
 * newline, and the listener is removed and freed. A no-op without one. */
void sl__status_stop(sl_context *ctx);
/* Log an ERROR for every source that reports connection states and never
 * reached CONNECTED or ASSIGNED ("source 'lines' (socket) never connected to
 * <detail>"); returns how many. For the end of a run. */
int sl__status_check_sources(sl_context *ctx);
/* The status line's text for the batch `b` of ctx, at most `width`
 * columns, into buf[cap]; `recent` are the last `n` batches' records
 * (oldest first), for the input rate. Exposed for the unit test. */
void sl__status_format(sl_context *ctx, const sl_batch_event *b, int64_t batches_done,
                       const int64_t *recent, int n, int width, char *buf, size_t cap);

#endif /* SLUICE_STATUS_H */

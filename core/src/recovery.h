/*
 * recovery.h — checkpoints of a running pipeline, and resuming from them (recovery.c).
 *
 * Threads: the scheduler thread (resume: the starting thread, before the
 * scheduler runs).
 */
#ifndef SLUICE_RECOVERY_H
#define SLUICE_RECOVERY_H

#include <stdbool.h>
#include <stdint.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

/* Checkpoints (recovery.c): resume at start (after create, before start);
 * write after the batch at t when due (or always, at the end). */
int sl__ckpt_resume(sl_context *ctx, sl_error *err);
int sl__ckpt_maybe(sl_context *ctx, int64_t t, bool final, sl_error *err);

#endif /* SLUICE_RECOVERY_H */

/*
 * plan.h — the planner (plan.c), run once at start on the starting thread.
 */
#ifndef SLUICE_PLAN_H
#define SLUICE_PLAN_H

#include <sluice/plugin.h>
#include <sluice/sluice.h>

/* Mark which streams are materialized and how often each produces a batch;
 * refuse a graph that cannot run (no outputs, windows out of step). */
int sl__plan(sl_context *ctx, sl_error *err);
/* Early combine (after the functions are created, before receivers start):
 * set early_target on every receiver source whose blocks can be combined
 * before the tick. */
void sl__plan_early(sl_context *ctx);

#endif /* SLUICE_PLAN_H */

/*
 * graph.h — the DStream graph's builders (graph.c): the functions of
 * sluice.h that add streams and outputs, each checked when it is added.
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

#include "stream.h"

/* graph.c's builders' parts: a new stream appended to the context (NULL,
 * with the context's error set, on failure), and undoing the last one. */
struct sl_stream *sl__stream_new(sl_context *ctx, sl__op op, struct sl_stream *a,
                                 struct sl_stream *b);
void sl__stream_drop(sl_context *ctx, struct sl_stream *s);

/* The stream named `name`, or NULL: O(1), through ctx->by_name. */
struct sl_stream *sl__stream_find(const sl_context *ctx, const char *name);

/* Resolve a component-backed function: component, parameters, handle. On
 * error the context's error is set and a negative code returned. */
int sl__func_resolve(sl_context *ctx, sl__func *f, const char *ref, int kind,
                     const char *const *params, const char *label);

#endif /* SLUICE_GRAPH_H */

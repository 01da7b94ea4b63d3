/*
 * func.h — sl__func: one callable of the graph, a plugin component instance or
 * a C function pointer, and the adapters that call it (func.c).
 *
 * Threads: what may run concurrently is what the ABI says of each kind
 * (sdk/include/sluice/plugin.h): MAP process and REDUCE combine/merge run on
 * several workers at once; the rest on the scheduler thread.
 */
#ifndef SLUICE_FUNC_H
#define SLUICE_FUNC_H

#include <stdatomic.h>
#include <stdbool.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

typedef struct sl__func {
    const sl_component *comp; /* NULL for C functions: their pointer is the callback */
    sl_params *params;
    void *inst;
    sl_handle *handle;
    /* ops copied into full-size structs (zero past the plugin's size) */
    sl_source_ops source;
    sl_sink_ops sink;
    sl_map_ops map;
    sl_reduce_ops reduce;
    sl_update_ops update;
    sl_operator_ops oper;
    /* transform_with's C function (it has no component kind); inst is its ud */
    sl_transform2_func transform2_fn;
    int kind; /* sl_component_kind of what it holds; 0: no function */
    bool created;
} sl__func;

int sl__func_create(sl__func *f, sl_error *err);
void sl__func_destroy(sl__func *f);
/* Prefix a failed call's message with its stream and component ("stream
 * counts (agg.sum): cannot add bytes value"), or give it the code's text
 * when the function wrote none; returns rc. A message that starts with
 * "stream " already says it. */
int sl__func_fail(const sl__func *f, int rc, sl_error *err);
/* The adapters: the one way the engine calls a function of each kind. */
int sl__func_process(sl__func *f, const sl_chunk *in, sl_emitter *out, sl_error *err);
/* UPDATE: update_at (with the batch time t) when the function has it. */
int sl__func_update(sl__func *f, int64_t t, const sl_value *key, const sl_value *values, size_t n,
                    const sl_value *state, sl_value *out, sl_mem *mem, sl_error *err);
int sl__func_map_state(sl__func *f, const sl_value *key, const sl_value *value, sl_state *st,
                       sl_emitter *out, sl_error *err);

/* A C function given to the embedding API: the function becomes the ops'
 * callback (their signatures are the same), `ud` the instance, and it gets
 * a handle named after `label` (the stream). foreach_batch is an internal
 * SINK component. 0 or SL_ENOMEM. */
int sl__func_c_map(sl__func *f, sl_map_func fn, void *ud, const atomic_bool *stop,
                   const char *label);
int sl__func_c_reduce(sl__func *f, sl_reduce_func fn, void *ud, const atomic_bool *stop,
                      const char *label);
int sl__func_c_update(sl__func *f, sl_update_func fn, void *ud, const atomic_bool *stop,
                      const char *label);
int sl__func_c_update_at(sl__func *f, sl_update_time_func fn, void *ud, const atomic_bool *stop,
                         const char *label);
/* Whether f is a foreach_batch C function (the internal SINK component). */
bool sl__func_is_foreach(const sl__func *f);
/* foreach_batch (fn) or foreach (rec_fn, each record as it comes): one of the two. */
int sl__func_c_foreach(sl__func *f, sl_batch_func fn, sl_record_func rec_fn, void *ud,
                       const atomic_bool *stop, const char *label);

/* Reductions, as the shuffle, windows and state apply them. */
int sl__reduce_first(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err);
int sl__reduce_combine(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err);
int sl__reduce_merge(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err);

#endif /* SLUICE_FUNC_H */

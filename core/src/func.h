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

#include <stdbool.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

typedef struct sl__func {
    const sl_component *comp; /* NULL for C functions */
    sl_params *params;
    void *inst;
    sl_handle *handle;
    /* ops copied into full-size structs (zero past the plugin's size) */
    sl_source_ops source;
    sl_sink_ops sink;
    sl_map_ops map;
    sl_reduce_ops reduce;
    /* C function pointers */
    sl_map_func map_fn;
    sl_reduce_func reduce_fn;
    sl_batch_func batch_fn;
    sl_transform2_func transform2_fn;
    sl_update_func update_fn;
    sl_update_ops update;
    sl_operator_ops oper;
    void *ud;
    bool created;
} sl__func;

int sl__func_create(sl__func *f, sl_error *err);
void sl__func_destroy(sl__func *f);
int sl__func_process(sl__func *f, const sl_chunk *in, sl_emitter *out, sl_error *err);

/* Reductions (the C function or the component). */
int sl__reduce_first(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err);
int sl__reduce_combine(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err);
int sl__reduce_merge(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err);

#endif /* SLUICE_FUNC_H */

/*
 * func.c — sl__func: the graph's callables (a plugin component instance or
 * a C function pointer), created, destroyed and called through one set of
 * adapters, so that the executor and the operations never look at which
 * of the two they hold.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "func.h"
#include "handle.h"
#include "params.h"

/* Copy a plugin's ops struct into ours, reading at most its struct_size. */
static void copy_ops(void *dst, size_t dst_size, const void *src) {
    size_t n = *(const size_t *)src;
    memset(dst, 0, dst_size);
    memcpy(dst, src, n < dst_size ? n : dst_size);
}

/* Create the instance of a component-backed function. C functions have
 * nothing to create. */
int sl__func_create(sl__func *f, sl_error *err) {
    if (!f->comp || f->created)
        return 0;
    const sl_component *c = f->comp;
    switch (c->kind) {
    case SL_COMPONENT_SOURCE:
        copy_ops(&f->source, sizeof f->source, c->ops);
        break;
    case SL_COMPONENT_SINK:
        copy_ops(&f->sink, sizeof f->sink, c->ops);
        break;
    case SL_COMPONENT_MAP:
        copy_ops(&f->map, sizeof f->map, c->ops);
        break;
    case SL_COMPONENT_REDUCE:
        copy_ops(&f->reduce, sizeof f->reduce, c->ops);
        break;
    case SL_COMPONENT_UPDATE:
        copy_ops(&f->update, sizeof f->update, c->ops);
        break;
    case SL_COMPONENT_OPERATOR:
        copy_ops(&f->oper, sizeof f->oper, c->ops);
        break;
    default:
        break;
    }
    if (c->create) {
        err->code = 0;
        err->msg[0] = 0;
        int rc = c->create(f->handle, f->params, &f->inst, err);
        if (rc < 0) {
            if (!err->msg[0])
                snprintf(err->msg, sizeof err->msg, "%s: create failed: %s", f->handle->ref,
                         sl_strerror(rc));
            return rc;
        }
    }
    f->created = true;
    return 0;
}

void sl__func_destroy(sl__func *f) {
    if (f->created && f->comp && f->comp->destroy)
        f->comp->destroy(f->inst);
    f->created = false;
    f->inst = NULL;
    sl__params_free(f->params);
    f->params = NULL;
    sl__handle_free(f->handle);
    f->handle = NULL;
}

int sl__func_process(sl__func *f, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    if (f->map_fn)
        return f->map_fn(f->ud, in, out, err);
    return f->map.process(f->inst, in, out, err);
}

int sl__reduce_combine(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err) {
    if (f->reduce_fn)
        return f->reduce_fn(f->ud, acc, v, mem, err);
    return f->reduce.combine(f->inst, acc, v, mem, err);
}

int sl__reduce_merge(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err) {
    if (f->reduce_fn)
        return f->reduce_fn(f->ud, acc, v, mem, err);
    if (f->reduce.merge)
        return f->reduce.merge(f->inst, acc, v, mem, err);
    return f->reduce.combine(f->inst, acc, v, mem, err);
}

/* The first value of a key: zero (+) v when the reduction has a zero. */
int sl__reduce_first(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err) {
    if (!f->reduce_fn && f->reduce.zero) {
        int rc = f->reduce.zero(f->inst, acc, err);
        return rc ? rc : f->reduce.combine(f->inst, acc, v, mem, err);
    }
    *acc = *v;
    return 0;
}

/*
 * func.c — sl__func: the graph's callables (a plugin component instance or
 * a C function pointer), created, destroyed and called through one set of
 * adapters, so that the executor and the operations never look at which
 * of the two they hold.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "dataset.h"
#include "error.h"
#include "value.h"
#include "func.h"
#include "handle.h"
#include "params.h"

/* Copy a component's ops into ours (the loader made them full-size; this
 * still reads at most struct_size bytes, for components not loaded from a
 * file). */
static void copy_ops(void *dst, size_t dst_size, const void *src) {
    size_t n = *(const size_t *)src;
    memset(dst, 0, dst_size);
    memcpy(dst, src, n < dst_size ? n : dst_size);
}

/* Create the instance of a component-backed function. C functions (and
 * foreach_batch) are created when they are given. */
int sl__func_create(sl__func *f, sl_error *err) {
    if (!f->comp || f->created)
        return 0;
    const sl_component *c = f->comp;
    f->kind = c->kind;
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
        if (rc < 0) { /* a code without a message still fails, named after the stream */
            err->code = rc;
            if (!err->msg[0])
                snprintf(err->msg, sizeof err->msg, "stream %s (%s): create failed: %s",
                         f->handle ? f->handle->stream : "?", f->handle ? f->handle->ref : "?",
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

/* Say which stream and component failed: "stream counts (agg.sum): cannot
 * add bytes value". A message the function did not write becomes the code's
 * text. Only on the error path. */
int sl__func_fail(const sl__func *f, int rc, sl_error *err) {
    if (!err)
        return rc;
    char msg[sizeof err->msg];
    const char *stream = f->handle ? f->handle->stream : "?";
    const char *ref = f->handle ? f->handle->ref : "C function";
    err->code = rc;
    if (err->msg[0] && strncmp(err->msg, "stream ", 7) == 0)
        return rc; /* already said (a function calling another's adapter) */
    const char *what = err->msg[0] ? err->msg : sl_strerror(rc);
    int n = snprintf(msg, sizeof msg, "stream %.200s (%.200s): ", stream, ref);
    size_t used = n > 0 && (size_t)n < sizeof msg ? (size_t)n : 0;
    size_t len = strlen(what);
    if (len > sizeof msg - 1 - used)
        len = sizeof msg - 1 - used;
    memcpy(msg + used, what, len);
    msg[used + len] = 0;
    memcpy(err->msg, msg, sizeof msg);
    err->code = rc;
    return rc;
}

int sl__func_process(sl__func *f, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    return f->map.process(f->inst, in, out, err);
}

/* A function returned *v (rc 0): refuse it if a type tag in it is invalid. */
static int check_result(int rc, const sl_value *v, sl_error *err) {
    int bad = rc ? -1 : sl__value_bad_type(v);
    if (bad < 0)
        return rc;
    return sl__error_set(err, SL_ETYPE,
                         "returned a value with an invalid type tag %d (a value is null, int, "
                         "double, bytes, list, object or bool: tags 0..6)",
                         bad);
}

int sl__reduce_combine(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err) {
    int rc = f->reduce.combine(f->inst, acc, v, mem, err);
    return check_result(rc, acc, err);
}

int sl__reduce_merge(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err) {
    int rc = f->reduce.merge ? f->reduce.merge(f->inst, acc, v, mem, err)
                             : f->reduce.combine(f->inst, acc, v, mem, err);
    return check_result(rc, acc, err);
}

/* The first value of a key: zero (+) v when the reduction has a zero. */
int sl__reduce_first(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err) {
    if (!f->reduce.zero) {
        *acc = *v;
        return 0;
    }
    int rc = f->reduce.zero(f->inst, acc, err);
    if (!rc)
        rc = f->reduce.combine(f->inst, acc, v, mem, err);
    return check_result(rc, acc, err);
}

int sl__func_update(sl__func *f, int64_t t, const sl_value *key, const sl_value *values, size_t n,
                    const sl_value *state, sl_value *out, sl_mem *mem, sl_error *err) {
    int rc = f->update.update_at /* 1.3 (NULL for older plugins: the loader zero-filled it) */
                 ? f->update.update_at(f->inst, t, key, values, n, state, out, mem, err)
                 : f->update.update(f->inst, key, values, n, state, out, mem, err);
    return rc == 0 ? check_result(rc, out, err) : rc;
}

int sl__func_map_state(sl__func *f, const sl_value *key, const sl_value *value, sl_state *st,
                       sl_emitter *out, sl_error *err) {
    int rc = f->update.map(f->inst, key, value, st, out, err);
    return rc;
}

/* ---- C functions: the function is the callback, `ud` its instance -------------- */

/* A C function's handle: its stream's name, for messages and counters. */
static int c_func(sl__func *f, int kind, const atomic_bool *stop, const char *label, void *ud) {
    f->kind = kind;
    f->inst = ud;
    f->created = true; /* nothing to create */
    f->handle = sl__handle_new(stop, label, "C function");
    return f->handle ? 0 : SL_ENOMEM;
}

int sl__func_c_map(sl__func *f, sl_map_func fn, void *ud, const atomic_bool *stop,
                   const char *label) {
    f->map = (sl_map_ops){.struct_size = sizeof f->map, .shape = SL_MAP_MANY, .process = fn};
    return c_func(f, SL_COMPONENT_MAP, stop, label, ud);
}

int sl__func_c_reduce(sl__func *f, sl_reduce_func fn, void *ud, const atomic_bool *stop,
                      const char *label) {
    f->reduce = (sl_reduce_ops){.struct_size = sizeof f->reduce, .combine = fn};
    return c_func(f, SL_COMPONENT_REDUCE, stop, label, ud);
}

int sl__func_c_update(sl__func *f, sl_update_func fn, void *ud, const atomic_bool *stop,
                      const char *label) {
    f->update = (sl_update_ops){.struct_size = sizeof f->update, .update = fn};
    return c_func(f, SL_COMPONENT_UPDATE, stop, label, ud);
}

int sl__func_c_update_at(sl__func *f, sl_update_time_func fn, void *ud, const atomic_bool *stop,
                         const char *label) {
    f->update = (sl_update_ops){.struct_size = sizeof f->update, .update_at = fn};
    return c_func(f, SL_COMPONENT_UPDATE, stop, label, ud);
}

/* foreach_batch: an internal SINK component that gathers the batch and
 * hands it to the C function at end(). */
typedef struct foreach_sink {
    sl_batch_func fn;
    sl_record_func rec_fn; /* sl_foreach: each record as it comes, nothing gathered */
    void *ud;
    int64_t t; /* the batch's time, for rec_fn */
    sl__recvec all;
} foreach_sink;

static int foreach_begin(void *inst, int64_t t, sl_error *err) {
    ((foreach_sink *)inst)->all.n = 0;
    ((foreach_sink *)inst)->t = t;
    return 0;
}

static int foreach_write(void *inst, const sl_chunk *c, sl_error *err) {
    foreach_sink *fs = inst;
    for (size_t i = 0; fs->rec_fn && i < c->count; i++) {
        int rc = fs->rec_fn(fs->ud, fs->t, &c->records[i], err);
        if (rc < 0)
            return rc;
    }
    if (fs->rec_fn)
        return 0;
    return sl__recvec_append(&fs->all, c->records, c->count) ? SL_ENOMEM : 0;
}

static int foreach_end(void *inst, int64_t t, sl_error *err) {
    foreach_sink *fs = inst;
    if (fs->rec_fn)
        return 0;
    int rc = fs->fn(fs->ud, t, fs->all.v, fs->all.n, err);
    if (fs->all.cap > 65536) { /* keep a big batch's array for one batch only */
        sl__recvec_free(&fs->all);
    }
    return rc;
}

static void foreach_destroy(void *inst) {
    foreach_sink *fs = inst;
    sl__recvec_free(&fs->all);
    free(fs);
}

static const sl_sink_ops foreach_ops = {
    .struct_size = sizeof(sl_sink_ops),
    .begin = foreach_begin,
    .write = foreach_write,
    .end = foreach_end,
};

static const sl_component foreach_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SINK,
    .name = "foreach_batch",
    .doc = "a C function that gets every batch (sl_foreach_batch)",
    .destroy = foreach_destroy,
    .ops = &foreach_ops,
};

bool sl__func_is_foreach(const sl__func *f) {
    return f->comp == &foreach_component;
}

int sl__func_c_foreach(sl__func *f, sl_batch_func fn, sl_record_func rec_fn, void *ud,
                       const atomic_bool *stop, const char *label) {
    foreach_sink *fs = calloc(1, sizeof *fs);
    if (!fs)
        return SL_ENOMEM;
    fs->fn = fn;
    fs->rec_fn = rec_fn;
    fs->ud = ud;
    f->comp = &foreach_component;
    f->sink = foreach_ops;
    f->kind = SL_COMPONENT_SINK;
    f->inst = fs;
    f->created = true;
    f->handle = sl__handle_new(stop, label, "foreach_batch");
    return f->handle ? 0 : SL_ENOMEM;
}

/*
 * graph.c — the DStream graph: the builder functions of sluice.h.
 *
 * Every builder checks its inputs, resolves its function (a plugin
 * component, with its parameters validated against the schema, or a C
 * function pointer) and appends a stream to the context. Streams can only
 * refer to streams built before them, so creation order is a topological
 * order and the graph has no cycles by construction.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "context.h"
#include "graph.h"
#include "handle.h"
#include "params.h"
#include "ops/op.h"
#include "ops/state.h"

/* Resolve a component-backed function: component, parameters, handle. */
int sl__func_resolve(sl_context *ctx, sl__func *f, const char *ref, int kind,
                     const char *const *params, const char *label) {
    sl_error err = {0, ""};
    if (!ref || !*ref) {
        sl__ctx_fail(ctx, SL_EINVAL, NULL, "no %s given", sl__kind_name(kind));
        return SL_EINVAL;
    }
    const sl_component *c = sl__registry_component(&ctx->reg, ref, kind, &err);
    if (!c) {
        sl__ctx_fail_err(ctx, &err, NULL);
        return err.code;
    }
    const char *bad = NULL;
    int rc = sl__params_build(c->params, params, ref, &f->params, &err, &bad);
    if (rc) {
        sl__ctx_fail_err(ctx, &err, bad);
        return rc;
    }
    f->comp = c;
    f->kind = c->kind;
    f->handle = sl__handle_new(&ctx->stop_requested, label, ref);
    if (!f->handle) {
        sl__ctx_fail(ctx, SL_ENOMEM, NULL, "out of memory");
        return SL_ENOMEM;
    }
    f->handle->abi_minor = sl__registry_abi_minor(&ctx->reg, ref); /* the lag rule of < 1.6 */
    return 0;
}

/* FNV-1a of a stream's name: its slot in ctx->by_name. */
static uint64_t sl__name_hash(const char *name) {
    uint64_t h = 0xcbf29ce484222325u;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = (h ^ *c) * 0x100000001b3u;
    return h;
}

/* ---- the streams by name (ctx->by_name) ------------------------------------------- */

/* The slot of the first stream other than `except` named `name` (hash
 * `hash`) in its probe run, or of the empty slot that ends the run. The
 * table is never full. Two streams may share a name (an automatic name
 * such as "filter-5" is not checked): each has a slot of its own. */
static size_t name_slot(const sl_context *ctx, uint64_t hash, const char *name,
                        const sl_stream *except) {
    size_t mask = ctx->by_name_cap - 1, i = hash & mask;
    for (const sl_stream *o; (o = ctx->by_name[i]); i = (i + 1) & mask)
        if (o != except && o->name_hash == hash && strcmp(o->name, name) == 0)
            break;
    return i;
}

/* The empty slot where a stream of hash `hash` goes. */
static size_t name_free_slot(const sl_context *ctx, uint64_t hash) {
    size_t mask = ctx->by_name_cap - 1, i = hash & mask;
    while (ctx->by_name[i])
        i = (i + 1) & mask;
    return i;
}

/* A stream other than `except` named `name`, or NULL. */
static sl_stream *name_find(const sl_context *ctx, const char *name, const sl_stream *except) {
    return ctx->by_name_cap ? ctx->by_name[name_slot(ctx, sl__name_hash(name), name, except)]
                            : NULL;
}

/* Index s by its name (not in the index yet), growing the table to keep it
 * at most half full: 0, or -1 (out of memory, nothing changed). */
static int name_add(sl_context *ctx, sl_stream *s) {
    if (2 * (ctx->nstreams + 1) > ctx->by_name_cap) {
        size_t cap = ctx->by_name_cap ? 2 * ctx->by_name_cap : 64;
        sl_stream **t = calloc(cap, sizeof *t);
        if (!t)
            return -1;
        sl_stream **old = ctx->by_name;
        size_t oldcap = ctx->by_name_cap;
        ctx->by_name = t;
        ctx->by_name_cap = cap;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i])
                t[name_free_slot(ctx, old[i]->name_hash)] = old[i];
        free(old);
    }
    ctx->by_name[name_free_slot(ctx, s->name_hash)] = s;
    return 0;
}

/* Take s out of the index (before its name changes or it goes): the
 * entries after it in its probe run move back into the hole (linear
 * probing's deletion, no tombstones). */
static void name_remove(sl_context *ctx, const sl_stream *s) {
    if (!ctx->by_name_cap)
        return;
    size_t mask = ctx->by_name_cap - 1, i = s->name_hash & mask;
    while (ctx->by_name[i] && ctx->by_name[i] != s)
        i = (i + 1) & mask;
    if (!ctx->by_name[i])
        return;
    ctx->by_name[i] = NULL;
    for (size_t j = (i + 1) & mask; ctx->by_name[j]; j = (j + 1) & mask) {
        size_t home = ctx->by_name[j]->name_hash & mask;
        /* j may fill the hole at i unless its home lies cyclically in (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            ctx->by_name[i] = ctx->by_name[j];
            ctx->by_name[j] = NULL;
            i = j;
        }
    }
}

/* A new stream appended to the context, or NULL (error recorded). */
sl_stream *sl__stream_new(sl_context *ctx, sl__op op, sl_stream *a, sl_stream *b) {
    if (ctx->state != SL__NEW) {
        sl__ctx_fail(ctx, SL_ESTATE, NULL, "cannot add a %s stream: the context has started",
                     sl__op_name(op));
        return NULL;
    }
    sl_stream **v = ctx->streams;
    if (ctx->nstreams == ctx->streams_cap) {
        size_t cap = ctx->streams_cap ? 2 * ctx->streams_cap : 16;
        if ((v = realloc(ctx->streams, cap * sizeof *v))) {
            ctx->streams = v;
            ctx->streams_cap = cap;
        }
    }
    sl_stream *s = calloc(1, sizeof *s);
    char name[64];
    snprintf(name, sizeof name, "%s-%zu", sl__op_name(op), ctx->nstreams + 1);
    if (s && (s->name = strdup(name)))
        s->name_hash = sl__name_hash(name);
    if (!v || !s || !s->name || name_add(ctx, s) < 0) {
        if (s)
            free(s->name);
        free(s);
        sl__ctx_fail(ctx, SL_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    s->ctx = ctx;
    s->id = (int)ctx->nstreams;
    s->op = op;
    s->cls = sl__op_class_of(op);
    s->in[0] = a;
    s->in[1] = b;
    s->nin = b ? 2 : a ? 1 : 0;
    ctx->streams[ctx->nstreams++] = s;
    return s;
}

/* Undo the last stream_new (its function failed to resolve). */
void sl__stream_drop(sl_context *ctx, sl_stream *s) {
    if (ctx->nstreams && ctx->streams[ctx->nstreams - 1] == s)
        ctx->nstreams--;
    name_remove(ctx, s);
    sl__func_destroy(&s->fn);
    free(s->name);
    free(s);
}

/* The shape a plugin's MAP declares (the loader reads an unknown one as MANY). */
static unsigned map_shape(const sl_component *c) {
    return ((const sl_map_ops *)c->ops)->shape;
}

static const char *shape_name(unsigned shape) {
    return shape == SL_MAP_ONE      ? "a map function (one output per input)"
           : shape == SL_MAP_FILTER ? "a filter function (keeps some inputs)"
                                    : "a flat_map function (any number of outputs per input)";
}

/* Check that a MAP component's shape suits the operation. */
static int check_shape(sl_context *ctx, sl__op op, const char *ref, const sl_component *c) {
    unsigned shape = map_shape(c);
    if (!shape) {
        sl__ctx_fail(ctx, SL_EABI, NULL, "%s: its sl_map_ops is too small", ref);
        return SL_EABI;
    }
    bool ok = true;
    const char *use = "flat_map";
    if (op == SL__OP_MAP || op == SL__OP_MAP_VALUES)
        ok = shape == SL_MAP_ONE;
    else if (op == SL__OP_FILTER)
        ok = shape == SL_MAP_FILTER;
    if (shape == SL_MAP_ONE)
        use = op == SL__OP_FILTER ? "map" : use;
    if (shape == SL_MAP_FILTER)
        use = "filter";
    if (!ok) {
        sl__ctx_fail(ctx, SL_EINVAL, NULL, "%s is %s; use %s, not %s", ref, shape_name(shape), use,
                     sl__op_name(op));
        return SL_EINVAL;
    }
    return 0;
}

static sl_stream *map_like(sl_stream *in, sl__op op, const char *ref, const char *const *params) {
    if (!in)
        return NULL;
    sl_context *ctx = in->ctx;
    sl_stream *s = sl__stream_new(ctx, op, in, NULL);
    if (!s)
        return NULL;
    if (sl__func_resolve(ctx, &s->fn, ref, SL_COMPONENT_MAP, params, s->name) ||
        check_shape(ctx, op, ref, s->fn.comp)) {
        sl__stream_drop(ctx, s);
        return NULL;
    }
    return s;
}

static sl_stream *map_like_fn(sl_stream *in, sl__op op, sl_map_func fn, void *ud) {
    if (!in)
        return NULL;
    if (!fn) {
        sl__ctx_fail(in->ctx, SL_EINVAL, NULL, "%s: the function pointer is NULL", sl__op_name(op));
        return NULL;
    }
    sl_stream *s = sl__stream_new(in->ctx, op, in, NULL);
    if (s && sl__func_c_map(&s->fn, fn, ud, &in->ctx->stop_requested, s->name)) {
        sl__ctx_fail(in->ctx, SL_ENOMEM, NULL, "out of memory");
        sl__stream_drop(in->ctx, s);
        return NULL;
    }
    return s;
}

sl_stream *sl_map(sl_stream *s, const char *fn, const char *const *p) {
    return map_like(s, SL__OP_MAP, fn, p);
}
sl_stream *sl_flat_map(sl_stream *s, const char *fn, const char *const *p) {
    return map_like(s, SL__OP_FLAT_MAP, fn, p);
}
sl_stream *sl_filter(sl_stream *s, const char *fn, const char *const *p) {
    return map_like(s, SL__OP_FILTER, fn, p);
}
sl_stream *sl_map_values(sl_stream *s, const char *fn, const char *const *p) {
    return map_like(s, SL__OP_MAP_VALUES, fn, p);
}
sl_stream *sl_flat_map_values(sl_stream *s, const char *fn, const char *const *p) {
    return map_like(s, SL__OP_FLAT_MAP_VALUES, fn, p);
}
sl_stream *sl_transform(sl_stream *s, const char *fn, const char *const *p) {
    return map_like(s, SL__OP_TRANSFORM, fn, p);
}
sl_stream *sl_map_fn(sl_stream *s, sl_map_func fn, void *ud) {
    return map_like_fn(s, SL__OP_MAP, fn, ud);
}
sl_stream *sl_flat_map_fn(sl_stream *s, sl_map_func fn, void *ud) {
    return map_like_fn(s, SL__OP_FLAT_MAP, fn, ud);
}
sl_stream *sl_filter_fn(sl_stream *s, sl_map_func fn, void *ud) {
    return map_like_fn(s, SL__OP_FILTER, fn, ud);
}
sl_stream *sl_map_values_fn(sl_stream *s, sl_map_func fn, void *ud) {
    return map_like_fn(s, SL__OP_MAP_VALUES, fn, ud);
}
sl_stream *sl_flat_map_values_fn(sl_stream *s, sl_map_func fn, void *ud) {
    return map_like_fn(s, SL__OP_FLAT_MAP_VALUES, fn, ud);
}
sl_stream *sl_transform_fn(sl_stream *s, sl_map_func fn, void *ud) {
    return map_like_fn(s, SL__OP_TRANSFORM, fn, ud);
}

static sl_stream *reduce_like(sl_stream *in, sl__op op, const char *ref,
                              const char *const *params) {
    if (!in)
        return NULL;
    sl_stream *s = sl__stream_new(in->ctx, op, in, NULL);
    if (s && sl__func_resolve(in->ctx, &s->fn, ref, SL_COMPONENT_REDUCE, params, s->name)) {
        sl__stream_drop(in->ctx, s);
        return NULL;
    }
    return s;
}

static sl_stream *reduce_like_fn(sl_stream *in, sl__op op, sl_reduce_func fn, void *ud) {
    if (!in)
        return NULL;
    if (!fn) {
        sl__ctx_fail(in->ctx, SL_EINVAL, NULL, "%s: the function pointer is NULL", sl__op_name(op));
        return NULL;
    }
    sl_stream *s = sl__stream_new(in->ctx, op, in, NULL);
    if (s && sl__func_c_reduce(&s->fn, fn, ud, &in->ctx->stop_requested, s->name)) {
        sl__ctx_fail(in->ctx, SL_ENOMEM, NULL, "out of memory");
        sl__stream_drop(in->ctx, s);
        return NULL;
    }
    return s;
}

sl_stream *sl_reduce_by_key(sl_stream *s, const char *fn, const char *const *p) {
    return reduce_like(s, SL__OP_REDUCE_BY_KEY, fn, p);
}
sl_stream *sl_reduce_by_key_fn(sl_stream *s, sl_reduce_func fn, void *ud) {
    return reduce_like_fn(s, SL__OP_REDUCE_BY_KEY, fn, ud);
}
sl_stream *sl_reduce(sl_stream *s, const char *fn, const char *const *p) {
    return reduce_like(s, SL__OP_REDUCE, fn, p);
}
sl_stream *sl_reduce_fn(sl_stream *s, sl_reduce_func fn, void *ud) {
    return reduce_like_fn(s, SL__OP_REDUCE, fn, ud);
}

sl_stream *sl_count(sl_stream *s) {
    return s ? sl__stream_new(s->ctx, SL__OP_COUNT, s, NULL) : NULL;
}

sl_stream *sl_count_by_value(sl_stream *s) {
    return s ? sl__stream_new(s->ctx, SL__OP_COUNT_BY_VALUE, s, NULL) : NULL;
}

sl_stream *sl_union(sl_stream *a, sl_stream *b) {
    if (!a || !b)
        return NULL;
    if (a->ctx != b->ctx) {
        sl__ctx_fail(a->ctx, SL_EINVAL, NULL, "union: the streams belong to different contexts");
        return NULL;
    }
    return sl__stream_new(a->ctx, SL__OP_UNION, a, b);
}

sl_stream *sl_repartition(sl_stream *s, int n) {
    if (!s)
        return NULL;
    if (n < 1 || n > 65536) {
        sl__ctx_fail(s->ctx, SL_EINVAL, "partitions",
                     "repartition: the number of partitions must be 1..65536, got %d", n);
        return NULL;
    }
    sl_stream *r = sl__stream_new(s->ctx, SL__OP_REPARTITION, s, NULL);
    if (r)
        r->partitions = n;
    return r;
}

sl_stream *sl_stream_set_name(sl_stream *s, const char *name) {
    if (!s)
        return NULL;
    sl_context *ctx = s->ctx;
    if (!name || !*name || strlen(name) > 100) {
        sl__ctx_fail(ctx, SL_EINVAL, NULL, "a stream name must be 1 to 100 characters");
        return NULL;
    }
    for (const char *c = name; *c; c++) {
        if ((unsigned char)*c < 0x20) {
            sl__ctx_fail(ctx, SL_EINVAL, NULL, "stream name '%s' contains a control character",
                         name);
            return NULL;
        }
    }
    if (name_find(ctx, name, s)) {
        sl__ctx_fail(ctx, SL_EINVAL, NULL, "two streams are named '%s'", name);
        return NULL;
    }
    char *copy = strdup(name);
    if (!copy) {
        sl__ctx_fail(ctx, SL_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    name_remove(ctx, s); /* its slot follows its name; the table keeps its size */
    free(s->name);
    s->name = copy;
    s->name_hash = sl__name_hash(copy);
    ctx->by_name[name_free_slot(ctx, s->name_hash)] = s;
    if (s->fn.handle) {
        char *h = strdup(name);
        if (h) {
            free(s->fn.handle->stream);
            s->fn.handle->stream = h;
        }
    }
    return s;
}

const char *sl_stream_name(const sl_stream *s) {
    return s ? s->name : NULL;
}

sl_context *sl_stream_context(const sl_stream *s) {
    return s ? s->ctx : NULL;
}

sl_stream *sl_stream_set_partitions(sl_stream *s, int n) {
    if (!s)
        return NULL;
    if (s->op != SL__OP_REDUCE_BY_KEY && s->op != SL__OP_COUNT_BY_VALUE &&
        s->op != SL__OP_REPARTITION) {
        sl__ctx_fail(s->ctx, SL_EINVAL, "partitions",
                     "stream '%s' (%s) has no partitions setting: only reduce_by_key, "
                     "count_by_value and repartition do",
                     s->name, sl__op_name(s->op));
        return NULL;
    }
    if (n < 1 || n > 65536) {
        sl__ctx_fail(s->ctx, SL_EINVAL, "partitions", "partitions must be 1..65536, got %d", n);
        return NULL;
    }
    s->partitions = n;
    return s;
}

/* ---- windows ---------------------------------------------------------------------- */

/* A window stream over `in`, after checking the durations against the
 * batch interval (Spark: both must be multiples of the parent's slide). */
static sl_stream *window_new(sl_stream *in, sl__op op, int64_t window, int64_t slide) {
    if (!in)
        return NULL;
    sl_context *ctx = in->ctx;
    int64_t iv = ctx->interval;
    if (slide == 0)
        slide = iv;
    if (window <= 0 || window % iv != 0) {
        sl__ctx_fail(ctx, SL_EINVAL, "window",
                     "%s: the window (%lld ms) must be a positive multiple of the batch "
                     "interval (%lld ms)",
                     sl__op_name(op), (long long)window, (long long)iv);
        return NULL;
    }
    if (slide < 0 || slide % iv != 0) {
        sl__ctx_fail(ctx, SL_EINVAL, "slide",
                     "%s: the slide (%lld ms) must be a positive multiple of the batch interval "
                     "(%lld ms)",
                     sl__op_name(op), (long long)slide, (long long)iv);
        return NULL;
    }
    sl_stream *s = sl__stream_new(ctx, op, in, NULL);
    if (s) {
        s->window = window;
        s->slide = slide;
    }
    return s;
}

sl_stream *sl_window(sl_stream *s, int64_t window_ms, int64_t slide_ms) {
    return window_new(s, SL__OP_WINDOW, window_ms, slide_ms);
}

sl_stream *sl_count_by_window(sl_stream *s, int64_t window_ms, int64_t slide_ms) {
    return window_new(s, SL__OP_COUNT_BY_WINDOW, window_ms, slide_ms);
}

sl_stream *sl_count_by_value_and_window(sl_stream *s, int64_t window_ms, int64_t slide_ms) {
    return window_new(s, SL__OP_COUNT_BY_VALUE_AND_WINDOW, window_ms, slide_ms);
}

sl_stream *sl_group_by_key_and_window(sl_stream *s, int64_t window_ms, int64_t slide_ms) {
    return window_new(s, SL__OP_GROUP_BY_KEY_AND_WINDOW, window_ms, slide_ms);
}

/* A window stream with a REDUCE function. */
static sl_stream *window_reduce(sl_stream *in, sl__op op, const char *fn, const char *const *params,
                                int64_t window, int64_t slide) {
    sl_stream *s = window_new(in, op, window, slide);
    if (s && sl__func_resolve(s->ctx, &s->fn, fn, SL_COMPONENT_REDUCE, params, s->name)) {
        sl__stream_drop(s->ctx, s);
        return NULL;
    }
    return s;
}

sl_stream *sl_reduce_by_window(sl_stream *s, const char *fn, const char *const *params,
                               int64_t window_ms, int64_t slide_ms) {
    return window_reduce(s, SL__OP_REDUCE_BY_WINDOW, fn, params, window_ms, slide_ms);
}

sl_stream *sl_reduce_by_key_and_window(sl_stream *s, const char *fn, const char *const *params,
                                       int64_t window_ms, int64_t slide_ms) {
    return window_reduce(s, SL__OP_REDUCE_BY_KEY_AND_WINDOW, fn, params, window_ms, slide_ms);
}

sl_stream *sl_reduce_by_key_and_window_inv(sl_stream *in, const char *fn, const char *const *params,
                                           int64_t window_ms, int64_t slide_ms, const char *filter,
                                           const char *const *filter_params) {
    sl_stream *s =
        window_reduce(in, SL__OP_REDUCE_BY_KEY_AND_WINDOW, fn, params, window_ms, slide_ms);
    if (!s)
        return NULL;
    sl_context *ctx = s->ctx;
    const sl_reduce_ops *ops = s->fn.comp->ops;
    if (!ops->inverse) {
        sl__ctx_fail(ctx, SL_EINVAL, NULL,
                     "%s has no inverse: reduce_by_key_and_window can only recompute the window "
                     "with it (drop the inverse)",
                     fn);
        sl__stream_drop(ctx, s);
        return NULL;
    }
    s->inverse = true;
    if (filter &&
        (sl__func_resolve(ctx, &s->filter, filter, SL_COMPONENT_MAP, filter_params, s->name) ||
         check_shape(ctx, SL__OP_FILTER, filter, s->filter.comp))) {
        sl__func_destroy(&s->filter);
        sl__stream_drop(ctx, s);
        return NULL;
    }
    return s;
}

/* ---- grouping and joins -------------------------------------------------------------- */

static sl_stream *two_inputs(sl_stream *a, sl_stream *b, sl__op op) {
    if (!a || !b)
        return NULL;
    if (a->ctx != b->ctx) {
        sl__ctx_fail(a->ctx, SL_EINVAL, NULL, "%s: the streams belong to different contexts",
                     sl__op_name(op));
        return NULL;
    }
    return sl__stream_new(a->ctx, op, a, b);
}

sl_stream *sl_group_by_key(sl_stream *s) {
    return s ? sl__stream_new(s->ctx, SL__OP_GROUP_BY_KEY, s, NULL) : NULL;
}

sl_stream *sl_join(sl_stream *a, sl_stream *b) {
    return two_inputs(a, b, SL__OP_JOIN);
}

sl_stream *sl_left_outer_join(sl_stream *a, sl_stream *b) {
    return two_inputs(a, b, SL__OP_LEFT_OUTER_JOIN);
}

sl_stream *sl_right_outer_join(sl_stream *a, sl_stream *b) {
    return two_inputs(a, b, SL__OP_RIGHT_OUTER_JOIN);
}

sl_stream *sl_full_outer_join(sl_stream *a, sl_stream *b) {
    return two_inputs(a, b, SL__OP_FULL_OUTER_JOIN);
}

sl_stream *sl_cogroup(sl_stream *a, sl_stream *b) {
    return two_inputs(a, b, SL__OP_COGROUP);
}

sl_stream *sl_transform_with(sl_stream *a, sl_stream *b, sl_transform2_func fn, void *ud) {
    if (a && !fn) {
        sl__ctx_fail(a->ctx, SL_EINVAL, NULL, "transform_with: the function pointer is NULL");
        return NULL;
    }
    sl_stream *s = two_inputs(a, b, SL__OP_TRANSFORM_WITH);
    if (s) {
        s->fn.transform2_fn = fn;
        s->fn.inst = ud;
    }
    return s;
}

/* ---- sources ---------------------------------------------------------------------- */

sl_stream *sl_source(sl_context *ctx, const char *component, const char *const *params) {
    if (!ctx)
        return NULL;
    sl_stream *s = sl__stream_new(ctx, SL__OP_SOURCE, NULL, NULL);
    if (!s)
        return NULL;
    if (sl__func_resolve(ctx, &s->fn, component, SL_COMPONENT_SOURCE, params, s->name)) {
        sl__stream_drop(ctx, s);
        return NULL;
    }
    return s; /* mode, run() or poll(): checked at load */
}

sl_stream *sl_socket_text_stream(sl_context *ctx, const char *host, int port) {
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    const char *params[] = {"host", host ? host : "localhost", "port", p, NULL};
    return sl_source(ctx, "socket", params);
}

sl_stream *sl_queue_stream(sl_context *ctx, const char *path) {
    const char *params[] = {"path", path, NULL};
    return path ? sl_source(ctx, "queue", params) : sl_source(ctx, "queue", NULL);
}

/* params = {n1, v1, extra..., NULL} in `out` (room for `cap`); -1 if too many. */
static int params_join(const char **out, size_t cap, const char *n1, const char *v1, const char *n2,
                       const char *v2, const char *const *extra) {
    size_t n = 0;
    const char *first[] = {n1, v1, n2, v2};
    for (size_t i = 0; i < 4; i++)
        out[n++] = first[i] ? first[i] : "";
    for (size_t i = 0; extra && extra[i]; i++) {
        if (n + 1 >= cap)
            return -1;
        out[n++] = extra[i];
    }
    out[n] = NULL;
    return 0;
}

sl_stream *sl_kafka_direct_stream(sl_context *ctx, const char *brokers, const char *topics,
                                  const char *const *params) {
    const char *all[130];
    if (!ctx)
        return NULL;
    if (params_join(all, 130, "brokers", brokers, "topics", topics, params) < 0) {
        sl__ctx_fail(ctx, SL_EINVAL, NULL, "kafka: more than 125 parameter names and values");
        return NULL;
    }
    return sl_source(ctx, "kafka", all);
}

sl_stream *sl_zmq_stream(sl_context *ctx, const char *type, const char *connect,
                         const char *const *params) {
    const char *all[130];
    if (!ctx)
        return NULL;
    if (params_join(all, 130, "type", type ? type : "pull", "connect", connect, params) < 0) {
        sl__ctx_fail(ctx, SL_EINVAL, NULL, "zmq: more than 125 parameter names and values");
        return NULL;
    }
    return sl_source(ctx, "zmq", all);
}

/* ---- outputs ---------------------------------------------------------------------- */

/* Whether `name` can name an output: see sl_output_named in sluice.h. A
 * message in ctx otherwise. */
static bool output_name_ok(sl_context *ctx, const char *name) {
    size_t n = strlen(name);
    const char *why = NULL;
    if (n == 0 || n > 100)
        why = "must be 1 to 100 characters";
    for (const char *c = name; !why && *c; c++)
        if ((unsigned char)*c < 0x20)
            why = "contains a control character";
    if (!why && n > 7 && strncmp(name, "output-", 7) == 0 &&
        strspn(name + 7, "0123456789") == n - 7)
        why = "has the form output-N, which names the outputs without a name";
    if (!why && name_find(ctx, name, NULL))
        why = "is already the name of a stream";
    for (size_t i = 0; !why && i < ctx->noutputs; i++)
        if (strcmp(ctx->outputs[i].label, name) == 0)
            why = "is already the name of another output";
    if (why)
        sl__ctx_fail(ctx, SL_EINVAL, NULL, "output name '%s' %s", name, why);
    return !why;
}

/* A new output of `s` named `name` (NULL: "output-N"), not yet counted. */
static sl__output *output_new(sl_stream *s, const char *name) {
    sl_context *ctx = s->ctx;
    if (name && !output_name_ok(ctx, name))
        return NULL;
    if (ctx->state != SL__NEW) {
        sl__ctx_fail(ctx, SL_ESTATE, NULL, "cannot add an output: the context has started");
        return NULL;
    }
    sl__output *v = realloc(ctx->outputs, (ctx->noutputs + 1) * sizeof *v);
    if (!v) {
        sl__ctx_fail(ctx, SL_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    ctx->outputs = v;
    sl__output *o = &v[ctx->noutputs];
    memset(o, 0, sizeof *o);
    o->from = s;
    char label[160];
    snprintf(label, sizeof label, "output-%zu", ctx->noutputs + 1);
    o->label = strdup(name ? name : label);
    return o;
}

int sl_output(sl_stream *s, const char *sink, const char *const *params) {
    return sl_output_named(s, NULL, sink, params);
}

int sl_output_named(sl_stream *s, const char *name, const char *sink, const char *const *params) {
    if (!s)
        return SL_EINVAL;
    sl_context *ctx = s->ctx;
    sl__output *o = output_new(s, name);
    if (!o)
        return ctx->errcode;
    if (sl__func_resolve(ctx, &o->fn, sink, SL_COMPONENT_SINK, params, o->label)) {
        sl__func_destroy(&o->fn);
        free(o->label);
        return ctx->errcode;
    }
    ctx->noutputs++;
    return 0;
}

int sl_pprint(sl_stream *s, int num) {
    char n[16];
    snprintf(n, sizeof n, "%d", num);
    const char *params[] = {"num", n, NULL};
    return sl_output(s, "pprint", params);
}

int sl_kafka_output(sl_stream *s, const char *brokers, const char *topic,
                    const char *const *params) {
    const char *all[130];
    if (!s)
        return SL_EINVAL;
    if (params_join(all, 130, "brokers", brokers, "topic", topic, params) < 0) {
        sl__ctx_fail(s->ctx, SL_EINVAL, NULL, "kafka: more than 125 parameter names and values");
        return SL_EINVAL;
    }
    return sl_output(s, "kafka", all);
}

int sl_zmq_output(sl_stream *s, const char *type, const char *connect, const char *const *params) {
    const char *all[130];
    if (!s)
        return SL_EINVAL;
    if (params_join(all, 130, "type", type ? type : "push", "connect", connect, params) < 0) {
        sl__ctx_fail(s->ctx, SL_EINVAL, NULL, "zmq: more than 125 parameter names and values");
        return SL_EINVAL;
    }
    return sl_output(s, "zmq", all);
}

/* An output that calls fn (each batch) or rec_fn (each record). */
static int foreach_output(sl_stream *s, sl_batch_func fn, sl_record_func rec_fn, void *ud) {
    if (!s)
        return SL_EINVAL;
    if (!fn && !rec_fn) {
        sl__ctx_fail(s->ctx, SL_EINVAL, NULL, "foreach: the function pointer is NULL");
        return SL_EINVAL;
    }
    sl__output *o = output_new(s, NULL);
    if (!o)
        return s->ctx->errcode;
    if (sl__func_c_foreach(&o->fn, fn, rec_fn, ud, &s->ctx->stop_requested, o->label)) {
        sl__func_destroy(&o->fn);
        free(o->label);
        sl__ctx_fail(s->ctx, SL_ENOMEM, NULL, "out of memory");
        return SL_ENOMEM;
    }
    s->ctx->noutputs++;
    return 0;
}

int sl_foreach_batch(sl_stream *s, sl_batch_func fn, void *ud) {
    if (s && !fn) {
        sl__ctx_fail(s->ctx, SL_EINVAL, NULL, "foreach_batch: the function pointer is NULL");
        return SL_EINVAL;
    }
    return foreach_output(s, fn, NULL, ud);
}

int sl_foreach(sl_stream *s, sl_record_func fn, void *ud) {
    if (s && !fn) {
        sl__ctx_fail(s->ctx, SL_EINVAL, NULL, "foreach: the function pointer is NULL");
        return SL_EINVAL;
    }
    return foreach_output(s, NULL, fn, ud);
}

/* ---- state ----------------------------------------------------------------------------- */

static sl_stream *state_stream(sl_stream *in) {
    return in ? sl__stream_new(in->ctx, SL__OP_UPDATE_STATE_BY_KEY, in, NULL) : NULL;
}

sl_stream *sl_update_state_by_key(sl_stream *in, const char *fn, const char *const *params) {
    sl_stream *s = state_stream(in);
    if (!s)
        return NULL;
    sl_context *ctx = s->ctx;
    /* an UPDATE component with update(), or a REDUCE component */
    sl_error err = {0, ""};
    const sl_component *c = sl__registry_component(&ctx->reg, fn ? fn : "", 0, &err);
    int kind = c ? c->kind : 0;
    if (c && kind != SL_COMPONENT_UPDATE && kind != SL_COMPONENT_REDUCE) {
        sl__ctx_fail(ctx, SL_EINVAL, NULL,
                     "'%s' is %s %s: update_state_by_key takes an update function or a reduce "
                     "function",
                     fn, strchr("aeiou", sl__kind_name(kind)[0]) ? "an" : "a", sl__kind_name(kind));
        sl__stream_drop(ctx, s);
        return NULL;
    }
    if (!c || sl__func_resolve(ctx, &s->fn, fn, kind, params, s->name)) {
        if (!c)
            sl__ctx_fail_err(ctx, &err, NULL);
        sl__stream_drop(ctx, s);
        return NULL;
    }
    if (kind == SL_COMPONENT_UPDATE) {
        const sl_update_ops *ops = c->ops;
        /* the loader zero-filled what an older plugin's struct_size does not cover */
        if (!ops->update_at && !ops->update) {
            sl__ctx_fail(ctx, SL_EINVAL, NULL,
                         "%s has no update(): it is a map_with_state function, not an "
                         "update_state_by_key one",
                         fn);
            sl__stream_drop(ctx, s);
            return NULL;
        }
    }
    return s;
}

sl_stream *sl_update_state_by_key_fn(sl_stream *in, sl_update_func fn, void *ud) {
    if (in && !fn) {
        sl__ctx_fail(in->ctx, SL_EINVAL, NULL, "update_state_by_key: the function pointer is NULL");
        return NULL;
    }
    sl_stream *s = state_stream(in);
    if (s && sl__func_c_update(&s->fn, fn, ud, &in->ctx->stop_requested, s->name)) {
        sl__ctx_fail(in->ctx, SL_ENOMEM, NULL, "out of memory");
        sl__stream_drop(in->ctx, s);
        return NULL;
    }
    return s;
}

sl_stream *sl_update_state_by_key_time_fn(sl_stream *in, sl_update_time_func fn, void *ud) {
    if (in && !fn) {
        sl__ctx_fail(in->ctx, SL_EINVAL, NULL, "update_state_by_key: the function pointer is NULL");
        return NULL;
    }
    sl_stream *s = state_stream(in);
    if (s && sl__func_c_update_at(&s->fn, fn, ud, &in->ctx->stop_requested, s->name)) {
        sl__ctx_fail(in->ctx, SL_ENOMEM, NULL, "out of memory");
        sl__stream_drop(in->ctx, s);
        return NULL;
    }
    return s;
}

static bool is_stateful(const sl_stream *s) {
    return sl__stream_is(s, SL__OPF_STATEFUL);
}

sl_stream *sl_stream_set_state_limit(sl_stream *s, size_t bytes) {
    if (!s)
        return NULL;
    if (!is_stateful(s) && s->op != SL__OP_OPERATOR) { /* operators: their keyed state */
        sl__ctx_fail(s->ctx, SL_EINVAL, "memory_limit",
                     "stream '%s' (%s) keeps no state: only update_state_by_key, "
                     "map_with_state and operators have a memory limit",
                     s->name, sl__op_name(s->op));
        return NULL;
    }
    s->state_limit = bytes;
    return s;
}

sl_stream *sl_stream_set_initial_state(sl_stream *s, const char *path) {
    if (!s)
        return NULL;
    if (!is_stateful(s) || !path || !*path) {
        sl__ctx_fail(s->ctx, SL_EINVAL, "initial_state",
                     "stream '%s' (%s): an initial state needs a stateful stream and a file",
                     s->name, sl__op_name(s->op));
        return NULL;
    }
    sl_error oerr = {0, ""};
    int fd = sl__initial_state_open(s->name, path, &oerr);
    if (fd < 0) {
        sl__ctx_fail(s->ctx, fd, "initial_state", "%s", oerr.msg);
        return NULL;
    }
    close(fd);
    free(s->initial_state);
    s->initial_state = strdup(path);
    if (!s->initial_state) {
        sl__ctx_fail(s->ctx, SL_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    return s;
}

sl_stream *sl_stream_set_initial_state_stream(sl_stream *s, sl_stream *initial) {
    if (!s || !initial)
        return NULL;
    if (!is_stateful(s) || initial->ctx != s->ctx || initial == s) {
        sl__ctx_fail(s->ctx, SL_EINVAL, "initial_state",
                     "stream '%s' (%s): an initial state stream needs a stateful stream and "
                     "another stream of the same context",
                     s->name, sl__op_name(s->op));
        return NULL;
    }
    s->initial_stream = initial;
    return s;
}

sl_stream *sl_map_with_state(sl_stream *in, const char *fn, const char *const *params,
                             int64_t timeout_ms) {
    if (!in)
        return NULL;
    sl_context *ctx = in->ctx;
    if (timeout_ms < 0) {
        sl__ctx_fail(ctx, SL_EINVAL, "timeout", "map_with_state: a negative timeout");
        return NULL;
    }
    sl_stream *s = sl__stream_new(ctx, SL__OP_MAP_WITH_STATE, in, NULL);
    if (!s)
        return NULL;
    if (sl__func_resolve(ctx, &s->fn, fn, SL_COMPONENT_UPDATE, params, s->name)) {
        sl__stream_drop(ctx, s);
        return NULL;
    }
    const sl_update_ops *ops = s->fn.comp->ops;
    if (!ops->map) {
        sl__ctx_fail(ctx, SL_EINVAL, NULL,
                     "%s has no map(): it is an update_state_by_key function, not a "
                     "map_with_state one",
                     fn);
        sl__stream_drop(ctx, s);
        return NULL;
    }
    s->timeout = timeout_ms;
    return s;
}

sl_stream *sl_stream_set_timeout(sl_stream *s, int64_t timeout_ms) {
    if (!s)
        return NULL;
    if (s->op != SL__OP_MAP_WITH_STATE || timeout_ms < 0) {
        sl__ctx_fail(s->ctx, SL_EINVAL, "timeout",
                     "stream '%s' (%s): only map_with_state has a timeout (>= 0)", s->name,
                     sl__op_name(s->op));
        return NULL;
    }
    s->timeout = timeout_ms;
    return s;
}

sl_stream *sl_state_snapshots(sl_stream *mapped) {
    if (!mapped)
        return NULL;
    if (mapped->op != SL__OP_MAP_WITH_STATE) {
        sl__ctx_fail(mapped->ctx, SL_EINVAL, NULL,
                     "state_snapshots: '%s' is a %s stream, not map_with_state", mapped->name,
                     sl__op_name(mapped->op));
        return NULL;
    }
    return sl__stream_new(mapped->ctx, SL__OP_STATE_SNAPSHOTS, mapped, NULL);
}

sl_stream *sl_operator(sl_stream *in, const char *component, const char *const *params) {
    if (!in)
        return NULL;
    sl_context *ctx = in->ctx;
    sl_stream *s = sl__stream_new(ctx, SL__OP_OPERATOR, in, NULL);
    if (!s)
        return NULL;
    if (sl__func_resolve(ctx, &s->fn, component, SL_COMPONENT_OPERATOR, params, s->name)) {
        sl__stream_drop(ctx, s);
        return NULL;
    }
    s->fn.handle->owner = s; /* host->keyed_* find the stream's store through it */
    return s;
}

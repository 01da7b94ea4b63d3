/*
 * host.c — the sl_host function table that plugins call, instance handles,
 * and sl__func: one callable (a plugin component instance or a C function).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int sl__error_set(sl_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

/* ---- handles --------------------------------------------------------------------- */

sl_handle *sl__handle_new(sl_context *ctx, const char *stream, const char *ref) {
    sl_handle *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->ctx = ctx;
    h->stream = strdup(stream ? stream : "?");
    h->ref = strdup(ref ? ref : "?");
    pthread_mutex_init(&h->lock, NULL);
    if (!h->stream || !h->ref) {
        sl__handle_free(h);
        return NULL;
    }
    return h;
}

void sl__handle_free(sl_handle *h) {
    if (!h)
        return;
    struct sl_counter *c = h->counters;
    while (c) {
        struct sl_counter *next = c->next;
        free(c);
        c = next;
    }
    pthread_mutex_destroy(&h->lock);
    free(h->stream);
    free(h->ref);
    free(h);
}

/* Log every non-zero counter of the instance on one line. */
void sl__handle_log_counters(sl_handle *h, int level) {
    if (!h || !h->counters || level > sl__log_level)
        return;
    char line[1024];
    size_t used = 0;
    line[0] = 0;
    pthread_mutex_lock(&h->lock);
    for (struct sl_counter *c = h->counters; c; c = c->next) {
        long long v = (long long)atomic_load(&c->value);
        used += (size_t)snprintf(line + (used < sizeof line ? used : sizeof line),
                                 used < sizeof line ? sizeof line - used : 0, "%s%s=%lld",
                                 used ? " " : "", c->name, v);
    }
    pthread_mutex_unlock(&h->lock);
    sl__log(level, "%s (%s): %s", h->stream, h->ref, line);
}

static void host_log(sl_handle *h, int level, const char *fmt, ...) {
    if (level > sl__log_level)
        return;
    char prefix[256];
    if (h)
        snprintf(prefix, sizeof prefix, "%s (%s)", h->stream, h->ref);
    va_list ap;
    va_start(ap, fmt);
    sl__vlog(level, h ? prefix : NULL, fmt, ap);
    va_end(ap);
}

static int host_log_enabled(int level) {
    return level <= sl__log_level;
}

static sl_counter *host_counter(sl_handle *h, const char *name) {
    if (!h || !name)
        return NULL;
    pthread_mutex_lock(&h->lock);
    struct sl_counter *c = h->counters, *last = NULL;
    for (; c; last = c, c = c->next)
        if (strcmp(c->name, name) == 0)
            break;
    if (!c && (c = calloc(1, sizeof *c))) {
        snprintf(c->name, sizeof c->name, "%s", name);
        if (last)
            last->next = c;
        else
            h->counters = c;
    }
    pthread_mutex_unlock(&h->lock);
    return c;
}

static void host_counter_add(sl_counter *c, int64_t delta) {
    if (c)
        atomic_fetch_add_explicit(&c->value, delta, memory_order_relaxed);
}

static int host_store(sl_handle *h, const sl_record *recs, size_t n) {
    if (!h || !h->recv)
        return SL_ESTATE;
    return sl__receiver_store(h->recv, h, recs, n);
}

static int host_stopping(sl_handle *h) {
    return h && h->ctx ? atomic_load(&h->ctx->stop_requested) : 0;
}

static int host_sleep(sl_handle *h, int64_t ms) {
    int64_t end = sl__mono_ms() + ms;
    for (;;) {
        if (host_stopping(h))
            return SL_ESTOPPED;
        int64_t left = end - sl__mono_ms();
        if (left <= 0)
            return 0;
        sl__sleep_ms(left < 20 ? left : 20);
    }
}

static int host_value_compare(const sl_value *a, const sl_value *b) {
    return sl__value_compare(a, b);
}

/* ---- ABI 1.1 --------------------------------------------------------------------- */

static int host_buf_append(sl_buf *b, const void *p, size_t n) {
    return b ? sl__buf_put(&b->b, p, n) : SL_EINVAL;
}

static int host_value_encode(sl_buf *b, const sl_value *v) {
    return b && v ? sl__value_encode(&b->b, v) : SL_EINVAL;
}

static int host_value_decode(const void *data, size_t len, size_t *off, sl_value *out,
                             sl_mem *mem) {
    if (!data || !off || *off > len)
        return SL_EINVAL;
    sl__reader r = {data, len, *off};
    int rc = sl__value_decode(&r, out, mem);
    if (!rc)
        *off = r.off;
    return rc;
}

/* A plugin-owned arena: the sl_mem is the first member, so the pointer the
 * plugin holds is the arena's. */
typedef struct plugin_arena {
    sl_mem mem;
    sl_arena arena;
} plugin_arena;

static sl_mem *host_mem_new(void) {
    plugin_arena *pa = calloc(1, sizeof *pa);
    if (!pa)
        return NULL;
    sl__arena_init(&pa->arena, 64 * 1024);
    sl__arena_mem(&pa->arena, &pa->mem);
    return &pa->mem;
}

static void host_mem_reset(sl_mem *mem) {
    if (mem)
        sl__arena_reset(&((plugin_arena *)mem)->arena);
}

static void host_mem_free(sl_mem *mem) {
    if (!mem)
        return;
    plugin_arena *pa = (plugin_arena *)mem;
    sl__arena_free(&pa->arena);
    free(pa);
}

/* ---- ABI 1.3 --------------------------------------------------------------------- */

static const char *host_value_type_name(uint32_t type) {
    static const char *const names[] = {"null", "int", "double", "bytes", "list"};
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

static int host_value_copy(const sl_value *v, sl_value *out, sl_mem *mem) {
    if (!v || !out || !mem)
        return SL_EINVAL;
    int rc = sl__value_copy(v, out, mem);
    if (rc)
        *out = sl_null();
    return rc;
}

const sl_host sl__host = {
    .struct_size = sizeof(sl_host),
    .abi_major = SL_ABI_MAJOR,
    .abi_minor = SL_ABI_MINOR,
    .malloc = malloc,
    .calloc = calloc,
    .realloc = realloc,
    .free = free,
    .log = host_log,
    .log_enabled = host_log_enabled,
    .error_set = sl__error_set,
    .param_str = sl__param_str,
    .param_int = sl__param_int,
    .param_double = sl__param_double,
    .param_bool = sl__param_bool,
    .param_is_set = sl__param_is_set,
    .counter = host_counter,
    .counter_add = host_counter_add,
    .store = host_store,
    .stopping = host_stopping,
    .sleep = host_sleep,
    .value_format = sl__value_format,
    .record_format = sl__record_format,
    .json_parse = sl__json_parse,
    .value_compare = host_value_compare,
    .value_hash = sl__value_hash,
    .now_ms = sl__now_ms,
    .buf_append = host_buf_append,
    .value_encode = host_value_encode,
    .value_decode = host_value_decode,
    .state_get = sl__state_handle_get,
    .state_set = sl__state_handle_set,
    .state_remove = sl__state_handle_remove,
    .state_timing_out = sl__state_handle_timing_out,
    .mem_new = host_mem_new,
    .mem_reset = host_mem_reset,
    .mem_free = host_mem_free,
    .value_type_name = host_value_type_name,
    .value_copy = host_value_copy,
    .strerror = sl_strerror,
    .keyed_get = sl__opstate_get,
    .keyed_put = sl__opstate_put,
    .keyed_remove = sl__opstate_remove,
    .keyed_each = sl__opstate_each,
    .keyed_count = sl__opstate_count,
};

/* Strings the embedding API returns are malloc'd by this library: freeing
 * them here keeps the allocator the library's even when the program's
 * differs (another C runtime, a C++ operator new). */
void sl_free(void *p) {
    free(p);
}

/* ---- functions ------------------------------------------------------------------- */

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

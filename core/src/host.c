/*
 * host.c — the sl_host function table that plugins call: the engine's
 * services (memory, logs, parameters, counters, store, values, snapshots,
 * state, source states) for plugins, which never link against the engine.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "clock.h"
#include "codec.h"
#include "dataset.h"
#include "error.h"
#include "handle.h"
#include "host.h"
#include "listener.h"
#include "log.h"
#include "opstate.h"
#include "params.h"
#include "receiver.h"
#include "state_handle.h"
#include "value.h"

/* A receiver's warning or error, logged on its own thread, is an error it
 * reports without stopping: a RECEIVER_ERROR event for listeners. */
static void receiver_error(sl_handle *h, int level, const char *fmt, va_list ap) {
    sl__receiver *r = h ? h->recv : NULL;
    if (level > SL_LOG_WARN || !r || !r->listeners ||
        !sl__listening(r->listeners, SL_EVENT_RECEIVER_ERROR) || !sl__receiver_on_thread(r))
        return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    sl__receiver_event(r, SL_EVENT_RECEIVER_ERROR, msg, 0);
}

static void host_log(sl_handle *h, int level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    receiver_error(h, level, fmt, ap);
    va_end(ap);
    if (level > sl__log_level)
        return;
    va_start(ap, fmt);
    sl__vlog_from(level, h ? h->stream : NULL, h ? h->ref : NULL, fmt, ap);
    va_end(ap);
}

static int host_log_enabled(int level) {
    return level <= sl__log_level;
}

static sl_counter *host_counter(sl_handle *h, const char *name) {
    return sl__handle_metric(h, name, SL__METRIC_COUNTER);
}

static void host_counter_add(sl_counter *c, int64_t delta) {
    if (c)
        atomic_fetch_add_explicit(&c->value, delta, memory_order_relaxed);
}

static sl_gauge *host_gauge(sl_handle *h, const char *name) {
    return (sl_gauge *)sl__handle_metric(h, name, SL__METRIC_GAUGE);
}

static void host_gauge_set(sl_gauge *g, int64_t value) {
    if (g)
        atomic_store_explicit(&g->m.value, value, memory_order_relaxed);
}

static int host_store(sl_handle *h, const sl_record *recs, size_t n) {
    if (!h || !h->recv)
        return SL_ESTATE;
    return sl__receiver_store(h->recv, h, recs, n);
}

static int host_stopping(sl_handle *h) {
    return h && h->stop ? atomic_load(h->stop) : 0;
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
    sl__arena arena;
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
    static const char *const names[] = {"null", "int", "double", "bytes", "list", "object", "bool"};
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

/* ---- ABI 1.4 --------------------------------------------------------------------- */

/* A context's instances share its stop flag (graph.c gives every handle
 * &ctx->stop_requested): its address tells the contexts apart. */
static uint64_t host_context_id(sl_handle *h) {
    return h && h->stop ? (uint64_t)(uintptr_t)h->stop : 0;
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
    .context_id = host_context_id,
    .emit_partition = sl__emit_partition,
    .source_state = sl__handle_set_source_state,
    .gauge = host_gauge,
    .gauge_set = host_gauge_set,
};

/* Strings the embedding API returns are malloc'd by this library: freeing
 * them here keeps the allocator the library's even when the program's
 * differs (another C runtime, a C++ operator new). */
void sl_free(void *p) {
    free(p);
}

/*
 * abi15.c — a plugin built against the ABI 1.5 headers (tests/abi/v1.5),
 * the last before gauges: a host of ABI 1.6 loads and runs it, and keeps
 * the deprecated name rule for it (a counter named "*_lag" is shown as a
 * gauge; tests/integration/test_http.sh reads /metrics).
 *
 *   abi15.count  MAP, shape ONE: re-emits its input; counts it in the
 *                counter "rows", and keeps the level "queue_lag" (the
 *                records of the last chunk) with counter_add up and down
 */
#include <sluice/plugin.h>

#if SL_ABI_MAJOR != 1 || SL_ABI_MINOR != 5
#error "abi15.c must be built against the ABI 1.5 headers"
#endif

typedef struct count {
    sl_counter *rows, *lag;
    int64_t last; /* what "queue_lag" holds */
} count;

static int count_create(sl_handle *h, const sl_params *params, void **inst, sl_error *err) {
    (void)params;
    count *c = sl_api->calloc(1, sizeof *c);
    if (!c)
        return sl_api->error_set(err, SL_ENOMEM, "abi15.count: out of memory");
    c->rows = sl_api->counter(h, "rows");
    c->lag = sl_api->counter(h, "queue_lag");
    *inst = c;
    return 0;
}

static void count_destroy(void *inst) {
    sl_api->free(inst);
}

static int count_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)err;
    count *c = inst;
    for (size_t i = 0; i < in->count; i++) {
        int rc = sl_emit(out, &in->records[i]);
        if (rc < 0)
            return rc;
    }
    sl_api->counter_add(c->rows, (int64_t)in->count);
    sl_api->counter_add(c->lag, (int64_t)in->count - c->last);
    c->last = (int64_t)in->count;
    return 0;
}

static const sl_map_ops count_ops = {sizeof(sl_map_ops), SL_MAP_ONE, count_process};

static const sl_component count_component = {
    sizeof(sl_component),
    SL_COMPONENT_MAP,
    "count",
    "Re-emits its input; counts rows, and the last chunk's size as queue_lag.",
    NULL,
    count_create,
    count_destroy,
    &count_ops,
};

static const sl_component *const components[] = {&count_component, NULL};

static const sl_plugin descriptor = {SL_PLUGIN_HEADER,      "abi15", "1.5.0",
                                     "a plugin of ABI 1.5", "MIT",   components};

SL_PLUGIN_ENTRY(descriptor)

/*
 * gauged.c — a plugin of ABI 1.6 with a gauge (host->gauge, gauge_set), for
 * the metrics tests (tests/integration/test_http.sh: /metrics shows it as
 * `# TYPE sluice_plugin_level gauge`, promtool accepts it).
 *
 *   gauged.level  MAP, shape ONE: re-emits its input; the gauge "level" is
 *                 the size of the last chunk, the counter "rows" the sum; it
 *                 also asks for a counter "level", which the host refuses
 *                 (NULL, an error logged), and for a counter "lag", which a
 *                 1.6 plugin gets as a counter (sluice_plugin_lag_total)
 */
#include <sluice/plugin.h>

typedef struct level {
    sl_gauge *level;
    sl_counter *rows, *lag;
} level;

static int level_create(sl_handle *h, const sl_params *params, void **inst, sl_error *err) {
    (void)params;
    level *l = sl_api->calloc(1, sizeof *l);
    if (!l)
        return sl_api->error_set(err, SL_ENOMEM, "gauged.level: out of memory");
    l->level = sl_api->gauge(h, "level");
    l->rows = sl_api->counter(h, "rows");
    l->lag = sl_api->counter(h, "lag");
    if (!l->level || !l->rows || !l->lag || sl_api->counter(h, "level")) {
        sl_api->free(l);
        return sl_api->error_set(err, SL_ESTATE, "gauged.level: the host's gauges misbehave");
    }
    *inst = l;
    return 0;
}

static void level_destroy(void *inst) {
    sl_api->free(inst);
}

static int level_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)err;
    level *l = inst;
    for (size_t i = 0; i < in->count; i++) {
        int rc = sl_emit(out, &in->records[i]);
        if (rc < 0)
            return rc;
    }
    sl_api->gauge_set(l->level, (int64_t)in->count);
    sl_api->counter_add(l->rows, (int64_t)in->count);
    sl_api->counter_add(l->lag, (int64_t)in->count);
    return 0;
}

static const sl_map_ops level_ops = {sizeof(sl_map_ops), SL_MAP_ONE, level_process};

static const sl_component level_component = {
    sizeof(sl_component),
    SL_COMPONENT_MAP,
    "level",
    "Re-emits its input; the gauge level is the last chunk's size.",
    NULL,
    level_create,
    level_destroy,
    &level_ops,
};

static const sl_component *const components[] = {&level_component, NULL};

static const sl_plugin descriptor = {SL_PLUGIN_HEADER,       "gauged", "0.1.0",
                                     "test plugin: a gauge", "MIT",    components};

SL_PLUGIN_ENTRY(descriptor)

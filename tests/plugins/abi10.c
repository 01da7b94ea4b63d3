/*
 * abi10.c — a plugin built against the ABI 1.0 headers (tests/abi/v1.0), to
 * prove that this host still loads and runs plugins of the previous minor:
 * its sl_source_ops is the 1.0 size (no snapshot/restore), its descriptor
 * says 1.0, and the host must read no further than what the plugin declared.
 *
 *   abi10.numbers  a direct source: batch k holds the ints k*base .. k*base+count-1
 *                  (base 10, count 3 by default: a schema of 48-byte 1.0 specs)
 *   abi10.double   a map: v -> 2 * v
 */
#include <sluice/plugin.h>

#if SL_ABI_MAJOR != 1 || SL_ABI_MINOR != 0
#error "abi10.c must be built against the ABI 1.0 headers"
#endif

typedef struct numbers {
    int64_t next, base, count;
} numbers;

/* Three entries, so that a host reading them at another stride would miss. */
static const sl_param_spec numbers_params[] = {
    {"base", SL_PARAM_INT, "10", 0, "batch k starts at k*base", NULL},
    {"count", SL_PARAM_INT, "3", 0, "ints per batch", NULL},
    {"label", SL_PARAM_STRING, NULL, 0, "unused", NULL},
    {NULL, 0, NULL, 0, NULL, NULL}};

static int numbers_create(sl_handle *h, const sl_params *p, void **inst, sl_error *err) {
    (void)h;
    numbers *n = sl_api->calloc(1, sizeof *n);
    if (!n)
        return sl_api->error_set(err, SL_ENOMEM, "abi10: out of memory");
    n->base = sl_api->param_int(p, "base");
    n->count = sl_api->param_int(p, "count");
    *inst = n;
    return 0;
}

static void numbers_destroy(void *inst) {
    sl_api->free(inst);
}

static int numbers_poll(void *inst, int64_t t, sl_emitter *out, sl_error *err) {
    numbers *n = inst;
    (void)err;
    for (int64_t i = 0; i < n->count; i++) {
        int rc = sl_emit_kv(out, sl_null(), sl_int(n->next * n->base + i), t);
        if (rc < 0)
            return rc;
    }
    n->next++;
    return 0;
}

static const sl_source_ops numbers_ops = {
    sizeof(sl_source_ops), SL_SOURCE_DIRECT, NULL, NULL, numbers_poll, NULL};

static const sl_component numbers_component = {sizeof(sl_component),
                                               SL_COMPONENT_SOURCE,
                                               "numbers",
                                               "ints k*base .. k*base+count-1 per batch",
                                               numbers_params,
                                               numbers_create,
                                               numbers_destroy,
                                               &numbers_ops};

static int double_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)inst;
    (void)err;
    for (size_t i = 0; i < in->count; i++) {
        sl_record r = in->records[i];
        r.value = sl_int(2 * r.value.u.i);
        int rc = sl_emit(out, &r);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const sl_map_ops double_ops = {sizeof(sl_map_ops), SL_MAP_ONE, double_process};

static const sl_component double_component = {
    sizeof(sl_component), SL_COMPONENT_MAP, "double", "v -> 2v", NULL, NULL, NULL, &double_ops};

static const sl_component *const components[] = {&numbers_component, &double_component, NULL};

static const sl_plugin descriptor = {SL_PLUGIN_HEADER,      "abi10", "1.0.0",
                                     "a plugin of ABI 1.0", "MIT",   components};

SL_PLUGIN_ENTRY(descriptor)

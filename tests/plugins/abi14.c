/*
 * abi14.c — a plugin built against the ABI 1.4 headers (tests/abi/v1.4),
 * the last before connection states: a host of ABI 1.5 loads and runs its
 * receiver, which never reports a state and so counts as connected.
 *
 *   abi14.three  RECEIVER: stores the ints 1, 2, 3, then ends (SL_EOF)
 */
#include <sluice/plugin.h>

#if SL_ABI_MAJOR != 1 || SL_ABI_MINOR != 4
#error "abi14.c must be built against the ABI 1.4 headers"
#endif

typedef struct three {
    sl_handle *h;
} three;

static int three_create(sl_handle *h, const sl_params *params, void **inst, sl_error *err) {
    (void)params;
    three *t = sl_api->calloc(1, sizeof *t);
    if (!t)
        return sl_api->error_set(err, SL_ENOMEM, "abi14.three: out of memory");
    t->h = h;
    *inst = t;
    return 0;
}

static void three_destroy(void *inst) {
    sl_api->free(inst);
}

static int three_run(void *inst, sl_error *err) {
    three *t = inst;
    sl_record recs[3];
    for (int i = 0; i < 3; i++) {
        recs[i].key = sl_null();
        recs[i].value = sl_int(i + 1);
        recs[i].ts = 0;
    }
    int rc = sl_api->store(t->h, recs, 3);
    if (rc < 0 && rc != SL_ESTOPPED)
        return sl_api->error_set(err, rc, "abi14.three: store failed");
    return SL_EOF;
}

static const sl_source_ops three_ops = {
    .struct_size = sizeof(sl_source_ops),
    .mode = SL_SOURCE_RECEIVER,
    .run = three_run,
};

static const sl_component three_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SOURCE,
    .name = "three",
    .doc = "receiver: 1, 2, 3, then the end",
    .create = three_create,
    .destroy = three_destroy,
    .ops = &three_ops,
};

static const sl_component *const components[] = {&three_component, NULL};

static const sl_plugin descriptor = {SL_PLUGIN_HEADER,      "abi14", "1.4.0",
                                     "a plugin of ABI 1.4", "MIT",   components};

SL_PLUGIN_ENTRY(descriptor)

/* silent.so: components that fail with an error code and no message, where
 * `fail` says (create, start): the engine must still fail, naming the
 * stream and the component (issue 12, fault 3). */
#include <sluice/plugin.h>

typedef struct silent {
    int fail_start;
} silent;

static const sl_param_spec params[] = {
    {"fail", SL_PARAM_ENUM, "start", 0, "where to fail: create or start", "create|start", NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL},
};

static int silent_create(sl_handle *h, const sl_params *p, void **inst, sl_error *err) {
    (void)h, (void)err;
    const char *fail = sl_api->param_str(p, "fail");
    if (fail[0] == 'c')
        return SL_EIO; /* no message */
    silent *s = sl_api->calloc(1, sizeof *s);
    if (!s)
        return SL_ENOMEM;
    s->fail_start = 1;
    *inst = s;
    return 0;
}

static void silent_destroy(void *inst) {
    sl_api->free(inst);
}

static int silent_start(void *inst, sl_error *err) {
    (void)err;
    return ((silent *)inst)->fail_start ? SL_ENOTFOUND : 0; /* no message */
}

static int silent_poll(void *inst, int64_t t, sl_emitter *out, sl_error *err) {
    (void)inst, (void)t, (void)out, (void)err;
    return SL_EOF;
}

static const sl_source_ops src_ops = {.struct_size = sizeof(sl_source_ops),
                                      .mode = SL_SOURCE_DIRECT,
                                      .start = silent_start,
                                      .poll = silent_poll};
static const sl_component src = {.struct_size = sizeof(sl_component),
                                 .kind = SL_COMPONENT_SOURCE,
                                 .name = "src",
                                 .doc = "fails in create or start without a message",
                                 .params = params,
                                 .create = silent_create,
                                 .destroy = silent_destroy,
                                 .ops = &src_ops};
static const sl_component *const components[] = {&src, NULL};

static const sl_plugin descriptor = {
    SL_PLUGIN_HEADER, "silent", "0.1.0", "test plugin: errors without a message", "MIT", components,
};

SL_PLUGIN_ENTRY(descriptor)

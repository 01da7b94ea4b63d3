/*
 * abi12.c — a plugin built against the ABI 1.2 headers (tests/abi/v1.2), to
 * prove that a host of ABI 1.3 loads and runs plugins of the previous minor:
 * its sl_update_ops is the 1.2 size (no update_at), its descriptor says 1.2,
 * and the host must read no further than what the plugin declared.
 *
 *   abi12.total  an UPDATE function: state = state + the batch's values
 */
#include <sluice/plugin.h>

#if SL_ABI_MAJOR != 1 || SL_ABI_MINOR != 2
#error "abi12.c must be built against the ABI 1.2 headers"
#endif

static int total_update(void *inst, const sl_value *key, const sl_value *values, size_t n,
                        const sl_value *state, sl_value *out, sl_mem *mem, sl_error *err) {
    (void)inst;
    (void)key;
    (void)mem;
    (void)err;
    int64_t sum = state ? state->u.i : 0;
    for (size_t i = 0; i < n; i++)
        sum += values[i].u.i;
    *out = sl_int(sum);
    return 0;
}

static const sl_update_ops total_ops = {sizeof(sl_update_ops), total_update, NULL};

static const sl_component total_component = {sizeof(sl_component),
                                             SL_COMPONENT_UPDATE,
                                             "total",
                                             "state + values",
                                             NULL,
                                             NULL,
                                             NULL,
                                             &total_ops};

static const sl_component *const components[] = {&total_component, NULL};

static const sl_plugin descriptor = {SL_PLUGIN_HEADER,      "abi12", "1.2.0",
                                     "a plugin of ABI 1.2", "MIT",   components};

SL_PLUGIN_ENTRY(descriptor)

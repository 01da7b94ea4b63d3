/*
 * abi13.c — a plugin built against the ABI 1.3 headers (tests/abi/v1.3),
 * the last before the object type: a host of ABI 1.4 loads and runs it, and
 * when an object reaches it, the host's helpers name and copy it.
 *
 *   abi13.kind  MAP: each value -> the host's name of its type, and the
 *               value deep-copied (host->value_copy) as a [name, copy] list
 */
#include <sluice/plugin.h>

#if SL_ABI_MAJOR != 1 || SL_ABI_MINOR != 3
#error "abi13.c must be built against the ABI 1.3 headers"
#endif

static int kind_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)inst;
    for (size_t i = 0; i < in->count; i++) {
        sl_value *pair = (sl_value *)sl_alloc(out->mem, 2 * sizeof *pair);
        if (!pair)
            return sl_api->error_set(err, SL_ENOMEM, "abi13.kind: out of memory");
        pair[0] = sl_cstr(sl_api->value_type_name(in->records[i].value.type));
        if (sl_api->value_copy(&in->records[i].value, &pair[1], out->mem) < 0)
            return sl_api->error_set(err, SL_ENOMEM, "abi13.kind: out of memory");
        int rc = sl_emit_kv(out, sl_null(), sl_list(pair, 2), in->records[i].ts);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const sl_map_ops kind_ops = {sizeof(sl_map_ops), SL_MAP_ONE, kind_process};

static const sl_component kind_component = {sizeof(sl_component),
                                            SL_COMPONENT_MAP,
                                            "kind",
                                            "value -> [type name, copy]",
                                            NULL,
                                            NULL,
                                            NULL,
                                            &kind_ops};

static const sl_component *const components[] = {&kind_component, NULL};

static const sl_plugin descriptor = {SL_PLUGIN_HEADER,      "abi13", "1.3.0",
                                     "a plugin of ABI 1.3", "MIT",   components};

SL_PLUGIN_ENTRY(descriptor)

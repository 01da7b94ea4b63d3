/*
 * abi16.c — a plugin built against the ABI 1.6 headers (tests/abi/v1.6),
 * the last before the bool type: a host of ABI 1.7 loads and runs it, and
 * when a bool reaches it (type 6, which its headers do not name), the
 * host's helpers name, copy and format it.
 *
 *   abi16.kind  MAP: each value -> [the host's name of its type, the value
 *               deep-copied (host->value_copy), its JSON text
 *               (host->value_format)]
 */
#include <sluice/plugin.h>

#if SL_ABI_MAJOR != 1 || SL_ABI_MINOR != 6
#error "abi16.c must be built against the ABI 1.6 headers"
#endif

static int kind_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)inst;
    for (size_t i = 0; i < in->count; i++) {
        const sl_value *v = &in->records[i].value;
        sl_value *item = (sl_value *)sl_alloc(out->mem, 3 * sizeof *item);
        char *text = (char *)sl_alloc(out->mem, 64);
        if (!item || !text)
            return sl_api->error_set(err, SL_ENOMEM, "abi16.kind: out of memory");
        item[0] = sl_cstr(sl_api->value_type_name(v->type));
        if (sl_api->value_copy(v, &item[1], out->mem) < 0)
            return sl_api->error_set(err, SL_ENOMEM, "abi16.kind: out of memory");
        size_t n = sl_api->value_format(v, SL_FORMAT_JSON, text, 64);
        item[2] = sl_bytes(text, n < 64 ? n : 63);
        int rc = sl_emit_kv(out, sl_null(), sl_list(item, 3), in->records[i].ts);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const sl_map_ops kind_ops = {sizeof(sl_map_ops), SL_MAP_ONE, kind_process};

static const sl_component kind_component = {sizeof(sl_component),
                                            SL_COMPONENT_MAP,
                                            "kind",
                                            "value -> [type name, copy, JSON text]",
                                            NULL,
                                            NULL,
                                            NULL,
                                            &kind_ops};

static const sl_component *const components[] = {&kind_component, NULL};

static const sl_plugin descriptor = {SL_PLUGIN_HEADER,      "abi16", "1.6.0",
                                     "a plugin of ABI 1.6", "MIT",   components};

SL_PLUGIN_ENTRY(descriptor)

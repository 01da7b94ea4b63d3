/*
 * identity.h — a valid MAP component ("identity", shape ONE, re-emits its
 * input) shared by the test plugins, so that each bad plugin is wrong in
 * exactly the one way its name says and right in every other.
 */
#ifndef SLUICE_TEST_IDENTITY_H
#define SLUICE_TEST_IDENTITY_H

#include <sluice/plugin.h>

static int identity_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    (void)h;
    (void)params;
    (void)err;
    *instance = NULL;
    return 0;
}

/* Re-emit every input record unchanged (its bytes are not copied). */
static int identity_process(void *instance, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)instance;
    (void)err;
    for (size_t i = 0; i < in->count; i++) {
        int rc = sl_emit(out, &in->records[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const sl_map_ops identity_ops = {sizeof(sl_map_ops), SL_MAP_ONE, identity_process};

static const sl_component identity_component = {
    sizeof(sl_component),
    SL_COMPONENT_MAP,
    "identity",
    "Re-emits its input.",
    NULL,
    identity_create,
    NULL,
    &identity_ops,
};

static const sl_component *const identity_components[] = {&identity_component, NULL};

#endif /* SLUICE_TEST_IDENTITY_H */

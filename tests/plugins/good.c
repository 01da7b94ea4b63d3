/*
 * good.so: a valid plugin for the positive loader tests.
 *   good.identity  MAP, shape ONE: re-emits its input
 *   good.first     REDUCE: keeps the first value it sees
 *   good.firstnoref  the same, wrongly flagged SL_REDUCE_NO_INPUT_REFS: without a
 *                  zero, the engine's first value points into the input anyway
 */
#include "identity.h"

/* acc starts as the first value; later values are ignored. */
static int first_combine(void *instance, sl_value *acc, const sl_value *v, sl_mem *mem,
                         sl_error *err) {
    (void)instance;
    (void)acc;
    (void)v;
    (void)mem;
    (void)err;
    return 0;
}

static const sl_reduce_ops first_ops = {sizeof(sl_reduce_ops), NULL, first_combine, NULL, NULL, 0};

static const sl_component first_component = {
    sizeof(sl_component),
    SL_COMPONENT_REDUCE,
    "first",
    "Keeps the first value.",
    NULL,
    identity_create,
    NULL,
    &first_ops,
};

static const sl_reduce_ops firstnoref_ops = {
    .struct_size = sizeof(sl_reduce_ops),
    .combine = first_combine,
    .flags = SL_REDUCE_NO_INPUT_REFS,
};

static const sl_component firstnoref_component = {
    sizeof(sl_component),
    SL_COMPONENT_REDUCE,
    "firstnoref",
    "Keeps the first value; flagged SL_REDUCE_NO_INPUT_REFS without a zero.",
    NULL,
    identity_create,
    NULL,
    &firstnoref_ops,
};

static const sl_component *const components[] = {&identity_component, &first_component,
                                                 &firstnoref_component, NULL};

static const sl_plugin descriptor = {
    SL_PLUGIN_HEADER, "good", "0.1.0", "test plugin: valid", "MIT", components,
};

SL_PLUGIN_ENTRY(descriptor)

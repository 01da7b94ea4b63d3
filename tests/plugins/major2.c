/* major2.so: built against a future ABI major (SL_ABI_MAJOR + 1). */
#include "identity.h"

static const sl_plugin descriptor = {
    SL_PLUGIN_MAGIC,
    SL_ABI_MAJOR + 1,
    SL_ABI_MINOR,
    (uint32_t)sizeof(sl_plugin),
    "major2",
    "0.1.0",
    "test plugin: built against a future ABI major (SL_ABI_MAJOR + 1).",
    "MIT",
    identity_components,
};

SL_PLUGIN_ENTRY(descriptor)

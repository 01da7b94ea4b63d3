/* newminor.so: built against a newer ABI minor than the host (SL_ABI_MINOR + 1). */
#include "identity.h"

static const sl_plugin descriptor = {
    SL_PLUGIN_MAGIC,
    SL_ABI_MAJOR,
    SL_ABI_MINOR + 1,
    (uint32_t)sizeof(sl_plugin),
    "newminor",
    "0.1.0",
    "test plugin: built against a newer ABI minor than the host (SL_ABI_MINOR + 1).",
    "MIT",
    identity_components,
};

SL_PLUGIN_ENTRY(descriptor)

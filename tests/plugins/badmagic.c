/* badmagic.so: the descriptor does not start with SL_PLUGIN_MAGIC. */
#include "identity.h"

static const sl_plugin descriptor = {
    0xdeadbeefu,
    SL_ABI_MAJOR,
    SL_ABI_MINOR,
    (uint32_t)sizeof(sl_plugin),
    "badmagic",
    "0.1.0",
    "test plugin: the descriptor does not start with SL_PLUGIN_MAGIC.",
    "MIT",
    identity_components,
};

SL_PLUGIN_ENTRY(descriptor)

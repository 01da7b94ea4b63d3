/* badname.so: the descriptor is named "other", not "badname". */
#include "identity.h"

static const sl_plugin descriptor = {
    SL_PLUGIN_HEADER,
    "other",
    "0.1.0",
    "test plugin: the descriptor is named \"other\", not \"badname\".",
    "MIT",
    identity_components,
};

SL_PLUGIN_ENTRY(descriptor)

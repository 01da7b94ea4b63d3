/* tinystruct.so: struct_size is 8, too small to hold the fields the host needs. */
#include "identity.h"

static const sl_plugin descriptor = {
    SL_PLUGIN_MAGIC,
    SL_ABI_MAJOR,
    SL_ABI_MINOR,
    8u,
    "tinystruct",
    "0.1.0",
    "test plugin: struct_size is 8, too small to hold the fields the host needs.",
    "MIT",
    identity_components,
};

SL_PLUGIN_ENTRY(descriptor)

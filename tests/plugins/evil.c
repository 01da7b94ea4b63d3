/*
 * evil.so: a valid plugin that calls itself "good" (version "evil") and
 * whose constructor sets $SLUICE_TEST_EVIL_RAN. The loader's race test swaps
 * it in for good.so after the checks: if its constructor ever runs there,
 * the loader loaded a file it did not check.
 */
#include <stdlib.h>

#include "identity.h"

__attribute__((constructor)) static void evil_ran(void) {
    setenv("SLUICE_TEST_EVIL_RAN", "1", 1);
}

static const sl_plugin descriptor = {
    SL_PLUGIN_HEADER, "good", "evil", "test plugin: swapped in", "MIT", identity_components,
};

SL_PLUGIN_ENTRY(descriptor)

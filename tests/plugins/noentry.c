/* noentry.so: a shared object that exports no sluice_plugin_v1 (only an
 * unrelated function), as a stray library in the plugin path would. */
#include <sluice/plugin.h>

SL_EXPORT int sluice_plugin_v0(void);

int sluice_plugin_v0(void) {
    return 42;
}

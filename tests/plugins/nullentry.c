/* nullentry.so: the entry function exists but returns NULL. */
#include <sluice/plugin.h>

const sl_host *sl_api = NULL;

SL_EXPORT const sl_plugin *sluice_plugin_v1(const sl_host *host);

const sl_plugin *sluice_plugin_v1(const sl_host *host) {
    sl_api = host;
    return NULL;
}

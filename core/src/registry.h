/*
 * registry.h — finding, checking and loading plugins (registry.c).
 *
 * Locks: sl__registry.lock guards `loaded`, `dirs` and `resolved`.
 */
#ifndef SLUICE_REGISTRY_H
#define SLUICE_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <sluice/plugin.h>

typedef struct sl__plugin {
    struct sl__plugin *next;
    char *name;
    char *path;
    void *dl;
    sl_plugin desc;             /* a copy, zero-filled past the plugin's struct_size */
    const sl_component **comps; /* host-owned copies, checked at load (NULL-terminated) */
    void **ops;                 /* their ops, copied full-size (NULL-terminated) */
    size_t ncomps;
} sl__plugin;

typedef struct sl__registry {
    char **dirs;    /* search order, resolved at first use */
    bool *implicit; /* per dir: from the environment or built in (skipped if unsafe) */
    size_t ndirs;
    bool resolved; /* implicit directories appended */
    sl__plugin *loaded;
    pthread_mutex_t lock;
} sl__registry;

void sl__registry_init(sl__registry *r);
void sl__registry_free(sl__registry *r);
int sl__registry_add_dir(sl__registry *r, const char *dir);
/* The effective search path: added dirs, $SLUICE_PLUGIN_PATH, next to
 * libsluice, the install dir. Returned array is owned by the registry. */
char **sl__registry_path(sl__registry *r, size_t *n);
/* Load one file as a plugin named `name` (checks, dlopen, descriptor). */
int sl__plugin_load_file(const char *path, const char *name, sl__plugin **out, sl_error *err);
void sl__plugin_unload(sl__plugin *p);
/* Test only: called with the path after the checks, just before dlopen. */
extern void (*sl__plugin_checked_hook)(const char *path);
/* Find (loading it if needed) the plugin `name` on the search path. */
int sl__registry_plugin(sl__registry *r, const char *name, sl__plugin **out, sl_error *err);
/* Find a component by "plugin.component" (or "plugin"), loading as needed. */
const sl_component *sl__registry_component(sl__registry *r, const char *ref, int kind,
                                           sl_error *err);
/* The SL_ABI_MINOR the plugin of "plugin.component" was built against
 * (SL_ABI_MINOR if it cannot be found). */
int sl__registry_abi_minor(sl__registry *r, const char *ref);
const char *sl__kind_name(int kind);

#endif /* SLUICE_REGISTRY_H */

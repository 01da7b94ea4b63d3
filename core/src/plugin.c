/*
 * plugin.c — finding, checking and loading plugins.
 *
 * A plugin "text" is the file text.so in one of the plugin directories.
 * Before dlopen, the file is opened without following symlinks and checked:
 * a regular file, owned by the user or root, not group- or world-writable.
 * It is then loaded with RTLD_NOW | RTLD_LOCAL, and the path must still name
 * the inode that was checked. The descriptor is checked field by field and
 * never read past its declared struct_size (the host copies it into a
 * zero-filled struct of its own size).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MIN_DESC_SIZE (offsetof(sl_plugin, components) + sizeof(void *))
#define MIN_COMP_SIZE (offsetof(sl_component, ops) + sizeof(void *))

const char *sl__kind_name(int kind) {
    switch (kind) {
    case SL_COMPONENT_SOURCE:
        return "source";
    case SL_COMPONENT_SINK:
        return "sink";
    case SL_COMPONENT_MAP:
        return "map function";
    case SL_COMPONENT_REDUCE:
        return "reduce function";
    case SL_COMPONENT_UPDATE:
        return "update function";
    case SL_COMPONENT_OPERATOR:
        return "operator";
    default:
        return "unknown component";
    }
}

void sl__registry_init(sl__registry *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
}

void sl__registry_free(sl__registry *r) {
    sl__plugin *p = r->loaded;
    while (p) {
        sl__plugin *next = p->next;
        sl__plugin_unload(p);
        p = next;
    }
    for (size_t i = 0; i < r->ndirs; i++)
        free(r->dirs[i]);
    free(r->dirs);
    pthread_mutex_destroy(&r->lock);
    memset(r, 0, sizeof *r);
}

static int push_dir(sl__registry *r, const char *dir, size_t len) {
    if (len == 0)
        return 0;
    for (size_t i = 0; i < r->ndirs; i++)
        if (strlen(r->dirs[i]) == len && strncmp(r->dirs[i], dir, len) == 0)
            return 0;
    char **d = realloc(r->dirs, (r->ndirs + 1) * sizeof *d);
    if (!d)
        return SL_ENOMEM;
    r->dirs = d;
    if (!(d[r->ndirs] = strndup(dir, len)))
        return SL_ENOMEM;
    r->ndirs++;
    return 0;
}

int sl__registry_add_dir(sl__registry *r, const char *dir) {
    return push_dir(r, dir, strlen(dir));
}

/* The directory "<dir of libsluice>/sluice/plugins", found with dladdr, so
 * that both the build tree and an installed tree find their own plugins. */
static int push_lib_dir(sl__registry *r) {
    Dl_info info;
    if (!dladdr((void *)sl__registry_path, &info) || !info.dli_fname)
        return 0;
    char path[4096];
    const char *slash = strrchr(info.dli_fname, '/');
    if (!slash)
        return 0;
    int n = snprintf(path, sizeof path, "%.*s/sluice/plugins", (int)(slash - info.dli_fname),
                     info.dli_fname);
    if (n <= 0 || (size_t)n >= sizeof path)
        return 0;
    return push_dir(r, path, (size_t)n);
}

/* The effective search path. The implicit directories ($SLUICE_PLUGIN_PATH,
 * next to libsluice, the install dir) are appended once, at first use, after
 * the ones the context added. */
char **sl__registry_path(sl__registry *r, size_t *n) {
    if (!r->resolved) {
        const char *env = getenv("SLUICE_PLUGIN_PATH");
        while (env && *env) {
            const char *colon = strchr(env, ':');
            size_t len = colon ? (size_t)(colon - env) : strlen(env);
            push_dir(r, env, len);
            env = colon ? colon + 1 : NULL;
        }
        push_lib_dir(r);
        push_dir(r, SLUICE_PLUGIN_INSTALL_DIR, strlen(SLUICE_PLUGIN_INSTALL_DIR));
        r->resolved = true;
    }
    *n = r->ndirs;
    return r->dirs;
}

static bool valid_name(const char *name, size_t len) {
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Open and check the file; returns an fd or a negative code. */
static int open_checked(const char *path, sl_error *err) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            return sl__error_set(err, SL_EABI,
                                 "%s: refusing to load a plugin through a symbolic link", path);
        return sl__error_set(err, errno == ENOENT ? SL_ENOTFOUND : SL_EIO, "%s: %s", path,
                             strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sl__error_set(err, SL_EIO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sl__error_set(err, SL_EABI, "%s: not a regular file", path);
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        close(fd);
        return sl__error_set(err, SL_EABI,
                             "%s: refusing to load a group- or world-writable plugin (mode %04o); "
                             "fix with: chmod go-w %s",
                             path, (unsigned)(st.st_mode & 07777), path);
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        close(fd);
        return sl__error_set(err, SL_EABI,
                             "%s: refusing to load a plugin owned by uid %u (only your own files "
                             "or root's are loaded)",
                             path, (unsigned)st.st_uid);
    }
    return fd;
}

/* Check the descriptor's header and copy it; 0 or SL_EABI. */
static int check_descriptor(const char *path, const char *name, const sl_plugin *d, sl__plugin *p,
                            sl_error *err) {
    if (d->magic != SL_PLUGIN_MAGIC)
        return sl__error_set(err, SL_EABI,
                             "%s: bad magic 0x%08x in the plugin descriptor (expected 0x%08x): "
                             "not a sluice plugin, or a corrupt one",
                             path, d->magic, SL_PLUGIN_MAGIC);
    if (d->abi_major != SL_ABI_MAJOR)
        return sl__error_set(err, SL_EABI,
                             "%s: built for plugin ABI %u.%u, but this sluice speaks ABI %d.%d "
                             "(major versions must match): rebuild the plugin against the "
                             "sluice " SLUICE_VERSION " SDK",
                             path, d->abi_major, d->abi_minor, SL_ABI_MAJOR, SL_ABI_MINOR);
    if (d->abi_minor > SL_ABI_MINOR)
        return sl__error_set(err, SL_EABI,
                             "%s: built for plugin ABI %u.%u, newer than this sluice's ABI "
                             "%d.%d: upgrade sluice or rebuild the plugin against this SDK",
                             path, d->abi_major, d->abi_minor, SL_ABI_MAJOR, SL_ABI_MINOR);
    if (d->struct_size < MIN_DESC_SIZE)
        return sl__error_set(err, SL_EABI,
                             "%s: plugin descriptor is %u bytes, smaller than the %zu bytes of "
                             "ABI %d.0",
                             path, d->struct_size, (size_t)MIN_DESC_SIZE, SL_ABI_MAJOR);
    memset(&p->desc, 0, sizeof p->desc);
    memcpy(&p->desc, d, d->struct_size < sizeof p->desc ? d->struct_size : sizeof p->desc);
    if (!p->desc.name || strcmp(p->desc.name, name) != 0)
        return sl__error_set(err, SL_EABI,
                             "%s: the plugin calls itself '%s' but the file is named '%s.so'", path,
                             p->desc.name ? p->desc.name : "(null)", name);
    if (!p->desc.components)
        return sl__error_set(err, SL_EABI, "%s: the plugin declares no components", path);
    return 0;
}

/* Check every component: size, kind, name, ops. */
static int check_components(const char *path, sl__plugin *p, sl_error *err) {
    size_t n = 0;
    while (p->desc.components[n])
        n++;
    p->comps = calloc(n ? n : 1, sizeof *p->comps);
    if (!p->comps)
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const sl_component *c = p->desc.components[i];
        if (c->struct_size < MIN_COMP_SIZE)
            return sl__error_set(err, SL_EABI, "%s: component #%zu is %zu bytes, too small", path,
                                 i, c->struct_size);
        if (!c->name || !valid_name(c->name, strlen(c->name)))
            return sl__error_set(err, SL_EABI, "%s: component #%zu has an invalid name", path, i);
        if (c->kind < SL_COMPONENT_SOURCE || c->kind > SL_COMPONENT_OPERATOR)
            return sl__error_set(err, SL_EABI, "%s: component '%s' has unknown kind %d", path,
                                 c->name, c->kind);
        if (!c->ops)
            return sl__error_set(err, SL_EABI, "%s: component '%s' has no operations", path,
                                 c->name);
        p->comps[i] = c;
    }
    p->ncomps = n;
    return 0;
}

int sl__plugin_load_file(const char *path, const char *name, sl__plugin **out, sl_error *err) {
    int fd = open_checked(path, err);
    if (fd < 0)
        return fd;
    struct stat before, after;
    fstat(fd, &before);
    /* dlopen the checked path (glibc matches loaded objects by name, so a
     * reused /proc/self/fd/N name would alias another plugin), then make
     * sure the path still names the inode that was checked */
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    close(fd);
    if (!dl) {
        const char *why = dlerror();
        return sl__error_set(err, SL_EABI, "%s: cannot load: %s", path,
                             why ? why : "dlopen failed");
    }
    if (lstat(path, &after) != 0 || after.st_ino != before.st_ino ||
        after.st_dev != before.st_dev) {
        dlclose(dl);
        return sl__error_set(err, SL_EABI, "%s: the file changed while it was being loaded", path);
    }
    sl__plugin *p = calloc(1, sizeof *p);
    if (!p) {
        dlclose(dl);
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    }
    p->dl = dl;
    p->name = strdup(name);
    p->path = strdup(path);
    int rc = 0;
    sl_plugin_entry_fn entry;
    *(void **)&entry = dlsym(dl, SL_PLUGIN_ENTRY_NAME);
    const sl_plugin *d = NULL;
    if (!p->name || !p->path)
        rc = sl__error_set(err, SL_ENOMEM, "out of memory");
    else if (!entry)
        rc = sl__error_set(
            err, SL_EABI,
            "%s: not a sluice plugin: it exports no " SL_PLUGIN_ENTRY_NAME "() function", path);
    else if (!(d = entry(&sl__host)))
        rc = sl__error_set(err, SL_EABI, "%s: " SL_PLUGIN_ENTRY_NAME "() returned NULL", path);
    else if (!(rc = check_descriptor(path, name, d, p, err)))
        rc = check_components(path, p, err);
    if (rc) {
        sl__plugin_unload(p);
        return rc;
    }
    *out = p;
    return 0;
}

void sl__plugin_unload(sl__plugin *p) {
    if (!p)
        return;
#ifndef SLUICE_KEEP_PLUGINS_LOADED
    /* under LeakSanitizer, keep code mapped so that reports can symbolize */
    if (p->dl && !getenv("SLUICE_NO_DLCLOSE"))
        dlclose(p->dl);
#endif
    free(p->comps);
    free(p->name);
    free(p->path);
    free(p);
}

/* Find or load the plugin `name` (len bytes) from the search path. */
static int registry_plugin(sl__registry *r, const char *name, size_t len, sl__plugin **out,
                           sl_error *err) {
    char pname[80];
    if (!valid_name(name, len))
        return sl__error_set(err, SL_EINVAL,
                             "invalid plugin name '%.*s' (letters, digits, '_' and '-' only)",
                             (int)len, name);
    memcpy(pname, name, len);
    pname[len] = 0;
    for (sl__plugin *p = r->loaded; p; p = p->next) {
        if (strcmp(p->name, pname) == 0) {
            *out = p;
            return 0;
        }
    }
    size_t ndirs;
    char **dirs = sl__registry_path(r, &ndirs);
    char looked[1024];
    size_t used = 0;
    looked[0] = 0;
    for (size_t i = 0; i < ndirs; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.so", dirs[i], pname);
        if (access(path, F_OK) != 0) {
            used += (size_t)snprintf(looked + (used < sizeof looked ? used : sizeof looked),
                                     used < sizeof looked ? sizeof looked - used : 0, "%s%s",
                                     used ? ", " : "", dirs[i]);
            continue;
        }
        sl__plugin *p;
        int rc = sl__plugin_load_file(path, pname, &p, err);
        if (rc)
            return rc;
        p->next = r->loaded;
        r->loaded = p;
        *out = p;
        return 0;
    }
    return sl__error_set(err, SL_ENOTFOUND,
                         "unknown plugin '%s': no %s.so in the plugin path (looked in: %s); "
                         "see 'sluice plugins'",
                         pname, pname, looked);
}

int sl__registry_plugin(sl__registry *r, const char *name, sl__plugin **out, sl_error *err) {
    pthread_mutex_lock(&r->lock);
    int rc = registry_plugin(r, name, strlen(name), out, err);
    pthread_mutex_unlock(&r->lock);
    return rc;
}

const sl_component *sl__registry_component(sl__registry *r, const char *ref, int kind,
                                           sl_error *err) {
    const char *dot = strchr(ref, '.');
    size_t plen = dot ? (size_t)(dot - ref) : strlen(ref);
    const char *cname = dot ? dot + 1 : ref;
    size_t clen = dot ? strlen(dot + 1) : plen;
    sl__plugin *p;
    pthread_mutex_lock(&r->lock);
    int rc = registry_plugin(r, ref, plen, &p, err);
    pthread_mutex_unlock(&r->lock);
    if (rc)
        return NULL;
    const sl_component *match = NULL;
    /* a source and a sink may share a name (kafka.kafka): the kind decides */
    for (size_t i = 0; i < p->ncomps && !(match && (!kind || match->kind == kind)); i++)
        if (strlen(p->comps[i]->name) == clen && strncmp(p->comps[i]->name, cname, clen) == 0)
            match = p->comps[i];
    if (!match) {
        char names[512];
        size_t used = 0;
        names[0] = 0;
        for (size_t i = 0; i < p->ncomps; i++)
            used += (size_t)snprintf(names + (used < sizeof names ? used : sizeof names),
                                     used < sizeof names ? sizeof names - used : 0, "%s%s.%s",
                                     i ? ", " : "", p->name, p->comps[i]->name);
        sl__error_set(err, SL_ENOTFOUND, "plugin '%s' (%s) has no component '%.*s' (it has: %s)",
                      p->name, p->path, (int)clen, cname, names);
        return NULL;
    }
    if (kind && match->kind != kind) {
        sl__error_set(err, SL_EINVAL, "'%s' is a %s, not a %s", ref, sl__kind_name(match->kind),
                      sl__kind_name(kind));
        return NULL;
    }
    return match;
}

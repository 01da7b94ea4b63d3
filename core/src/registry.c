/*
 * registry.c — the plugin registry: finding, checking and loading plugins.
 *
 * A plugin "text" is the file text.so in one of the plugin directories. A
 * plugin directory is trusted only if it, and every directory above it, is
 * owned by the user or root and not writable by others (a sticky bit is
 * enough above the plugin directory, not for it); it is walked from "/" with
 * O_NOFOLLOW. The file is opened once, in that directory, without following
 * symlinks, and the descriptor is checked: a regular file, owned by the user
 * or root, not group- or world-writable, an ELF shared object whose segments
 * lie in the file. Then that descriptor is loaded, through /proc/self/fd/N,
 * with RTLD_NOW | RTLD_LOCAL: what is loaded is what was checked, whatever
 * the path names by then. The descriptor is checked field by field and never
 * read past its declared struct_size (the host copies it into a zero-filled
 * struct of its own size). docs/decisions.md (entries 1 and 16) has the rules.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "error.h"
#include "host.h"
#include "log.h"
#include "params.h"
#include "registry.h"

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
    free(r->implicit);
    pthread_mutex_destroy(&r->lock);
    memset(r, 0, sizeof *r);
}

/* Whether the search path's entry `known` is the directory dir[0..len):
 * the same text up to trailing slashes, or the same directory on disk
 * (another spelling, a symlink: "lib/../lib/x", "x/"), so that one directory
 * is searched and listed once. */
static bool same_dir(const char *known, const char *dir, size_t len) {
    size_t kn = strlen(known);
    while (kn > 1 && known[kn - 1] == '/')
        kn--;
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (kn == len && strncmp(known, dir, len) == 0)
        return true;
    char *copy = strndup(dir, len);
    struct stat a, b;
    bool same = copy && stat(known, &a) == 0 && stat(copy, &b) == 0 && S_ISDIR(a.st_mode) &&
                a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    free(copy);
    return same;
}

/* Append dir (len bytes) to the search path unless it is there already. An
 * explicit directory (added by the context) stays explicit; see
 * registry_plugin for what that changes. */
static int push_dir(sl__registry *r, const char *dir, size_t len, bool implicit) {
    if (len == 0)
        return 0;
    for (size_t i = 0; i < r->ndirs; i++)
        if (same_dir(r->dirs[i], dir, len)) {
            r->implicit[i] = r->implicit[i] && implicit;
            return 0;
        }
    char **d = realloc(r->dirs, (r->ndirs + 1) * sizeof *d);
    if (!d)
        return SL_ENOMEM;
    r->dirs = d;
    bool *imp = realloc(r->implicit, (r->ndirs + 1) * sizeof *imp);
    if (!imp)
        return SL_ENOMEM;
    r->implicit = imp;
    if (!(d[r->ndirs] = strndup(dir, len)))
        return SL_ENOMEM;
    imp[r->ndirs++] = implicit;
    return 0;
}

static int dir_open_checked(const char *dir, sl_error *err);

/* Append an implicit directory, unless it exists and fails the directory
 * checks: then it is left out of the search path with one warning, so that
 * a squatted directory never hides or blocks the plugins of the others. */
static int push_implicit(sl__registry *r, const char *dir, size_t len) {
    for (size_t i = 0; i < r->ndirs; i++)
        if (same_dir(r->dirs[i], dir, len))
            return 0; /* there already (explicit: checked when used) */
    char *copy = strndup(dir, len);
    if (!copy)
        return SL_ENOMEM;
    sl_error err = {0, ""};
    int fd = len ? dir_open_checked(copy, &err) : SL_ENOTFOUND;
    int rc = 0;
    if (fd >= 0)
        close(fd);
    if (fd >= 0 || fd == SL_ENOTFOUND)
        rc = push_dir(r, dir, len, true);
    else
        sl__log(SL_LOG_WARN, "%s; it is left out of the plugin search path", err.msg);
    free(copy);
    return rc;
}

int sl__registry_add_dir(sl__registry *r, const char *dir) {
    return push_dir(r, dir, strlen(dir), false);
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
    return push_implicit(r, path, (size_t)n);
}

/* The effective search path. The implicit directories ($SLUICE_PLUGIN_PATH,
 * next to libsluice, the install dir) are appended once, at first use, after
 * the ones the context added; those that fail the directory checks are left
 * out with a warning. */
char **sl__registry_path(sl__registry *r, size_t *n) {
    if (!r->resolved) {
        const char *env = getenv("SLUICE_PLUGIN_PATH");
        while (env && *env) {
            const char *colon = strchr(env, ':');
            size_t len = colon ? (size_t)(colon - env) : strlen(env);
            push_implicit(r, env, len);
            env = colon ? colon + 1 : NULL;
        }
        push_lib_dir(r);
        push_implicit(r, SLUICE_PLUGIN_INSTALL_DIR, strlen(SLUICE_PLUGIN_INSTALL_DIR));
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

/* Test only: when set, called with the plugin's path after the file has been
 * opened and checked and just before it is loaded, so that a test can swap
 * the file at the worst moment and show that what is loaded is what was
 * checked. NULL in production; not part of any public API. */
void (*sl__plugin_checked_hook)(const char *path);

/* Why a directory on the real path of a plugin directory cannot be trusted,
 * or NULL. `leaf` is the plugin directory itself: there, a sticky bit does
 * not help (others could still create files in it); above it, a sticky bit
 * does (others cannot rename or remove what they do not own). */
static const char *dir_unsafe(const struct stat *st, bool leaf) {
    if (!S_ISDIR(st->st_mode))
        return "is not a directory";
    if (st->st_uid != geteuid() && st->st_uid != 0)
        return "is owned by another user";
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) && (leaf || !(st->st_mode & S_ISVTX)))
        return leaf && (st->st_mode & S_ISVTX) ? "is group- or world-writable (even sticky, others "
                                                 "can create files in it)"
                                               : "is group- or world-writable";
    return NULL;
}

/* Refuse plugin directory `dir` because of component `at` (its real path up
 * to the component; `leaf`: the directory itself); SL_EABI. */
static int dir_refused(sl_error *err, const char *dir, const char *at, bool leaf,
                       const struct stat *st, const char *why) {
    bool owner = st->st_uid != geteuid() && st->st_uid != 0;
    return sl__error_set(err, SL_EABI,
                         "plugin directory %s: refusing to load plugins from it: %s%s %s "
                         "(mode %04o, uid %u), so %s could replace the plugins in it; fix "
                         "with: %s %s",
                         dir, leaf ? "" : "its parent ", at, why, (unsigned)(st->st_mode & 07777),
                         (unsigned)st->st_uid, owner ? "that user" : "others",
                         owner ? "chown root (or yourself)" : "chmod go-w", at);
}

/* Open plugin directory `dir` for openat(): resolve it once (realpath), then
 * walk the real path down from "/" with O_NOFOLLOW, checking each component
 * on the descriptor just opened, so that the directory returned is the one
 * checked and nobody but us or root can change what it holds. Returns an
 * O_PATH descriptor (the caller closes it), SL_ENOTFOUND when `dir` does not
 * exist, or SL_EABI / SL_EIO with the reason in err. */
static int dir_open_checked(const char *dir, sl_error *err) {
    char real[PATH_MAX], at[PATH_MAX];
    if (!realpath(dir, real))
        return sl__error_set(err, errno == ENOENT || errno == ENOTDIR ? SL_ENOTFOUND : SL_EIO,
                             "plugin directory %s: %s", dir, strerror(errno));
    int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    size_t used = 0;
    at[0] = '/';
    at[1] = 0;
    for (const char *p = real;;) {
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            return sl__error_set(err, SL_EIO, "plugin directory %s: %s: %s", dir, at, strerror(e));
        }
        while (*p == '/')
            p++;
        const char *why = dir_unsafe(&st, *p == 0);
        if (why) {
            close(fd);
            return dir_refused(err, dir, at, *p == 0, &st, why);
        }
        if (*p == 0)
            return fd;
        size_t len = strcspn(p, "/");
        used += (size_t)snprintf(at + used, sizeof at - used, "/%.*s", (int)len, p);
        char comp[NAME_MAX + 1];
        snprintf(comp, sizeof comp, "%.*s", (int)len, p);
        int next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = next;
        p += len;
    }
}

/* Open `name` in the checked directory dfd without following a symlink (and
 * without blocking on a FIFO), and check the descriptor: a regular file,
 * owned by us or root, not group- or world-writable. Returns the descriptor
 * with its stat in *st, SL_ENOTFOUND, or SL_EABI / SL_EIO with the reason. */
static int file_open_checked(int dfd, const char *name, const char *path, struct stat *st,
                             sl_error *err) {
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ELOOP)
            return sl__error_set(err, SL_EABI,
                                 "%s: refusing to load a plugin through a symbolic link", path);
        return sl__error_set(err, errno == ENOENT ? SL_ENOTFOUND : SL_EIO, "%s: %s", path,
                             strerror(errno));
    }
    const char *why = NULL, *fix = "";
    if (fstat(fd, st) != 0) {
        int e = errno;
        close(fd);
        return sl__error_set(err, SL_EIO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st->st_mode)) {
        why = "not a regular file";
    } else if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        why = "refusing to load a group- or world-writable plugin";
        fix = "; fix with: chmod go-w ";
    } else if (st->st_uid != geteuid() && st->st_uid != 0) {
        why = "refusing to load a plugin owned by another user (only your own files or root's "
              "are loaded)";
        fix = "; fix with: chown root (or yourself) ";
    }
    if (!why)
        return fd;
    close(fd);
    return sl__error_set(err, SL_EABI, "%s: %s (mode %04o, uid %u)%s%s", path, why,
                         (unsigned)(st->st_mode & 07777), (unsigned)st->st_uid, fix,
                         *fix ? path : "");
}

/* Read the ELF and program headers from fd and check that they describe a
 * shared object of our class whose loadable segments lie inside the file:
 * random bytes and truncated objects are refused here with a reason, where
 * dlopen would map past the end of the file and die of SIGBUS. 0 or SL_EABI. */
static int elf_check(int fd, const struct stat *st, const char *path, sl_error *err) {
    ElfW(Ehdr) eh;
    const char *why = NULL;
    uint64_t size = (uint64_t)st->st_size;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG))
        why = "not an ELF shared object";
    else if (eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32))
        why = "an ELF object of the wrong class (32/64-bit)";
    else if (eh.e_type != ET_DYN)
        why = "an ELF object that is not a shared object";
    else if (eh.e_phentsize != sizeof(ElfW(Phdr)) || eh.e_phnum == 0 || eh.e_phoff > size ||
             (uint64_t)eh.e_phnum * sizeof(ElfW(Phdr)) > size - eh.e_phoff)
        why = "truncated or corrupt: its program headers are not in the file";
    for (unsigned i = 0; !why && i < eh.e_phnum; i++) {
        ElfW(Phdr) ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph)
            why = "truncated: cannot read its program headers";
        else if ((ph.p_type == PT_LOAD || ph.p_type == PT_DYNAMIC) &&
                 (ph.p_offset > size || ph.p_filesz > size - ph.p_offset))
            why = "truncated or corrupt: a segment extends past the end of the file";
    }
    if (!why)
        return 0;
    return sl__error_set(err, SL_EABI, "%s: cannot load: %s (%llu bytes)", path, why,
                         (unsigned long long)size);
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
/* The full size of a kind's ops struct in this host. */
static size_t ops_size(int kind) {
    switch (kind) {
    case SL_COMPONENT_SOURCE:
        return sizeof(sl_source_ops);
    case SL_COMPONENT_SINK:
        return sizeof(sl_sink_ops);
    case SL_COMPONENT_MAP:
        return sizeof(sl_map_ops);
    case SL_COMPONENT_REDUCE:
        return sizeof(sl_reduce_ops);
    case SL_COMPONENT_UPDATE:
        return sizeof(sl_update_ops);
    default:
        return sizeof(sl_operator_ops);
    }
}

/* The callback a component of its kind cannot do without, or NULL. */
static const char *missing_callback(int kind, const void *ops) {
    switch (kind) {
    case SL_COMPONENT_SOURCE: {
        const sl_source_ops *o = ops;
        if (o->mode != SL_SOURCE_RECEIVER && o->mode != SL_SOURCE_DIRECT)
            return "a mode (SL_SOURCE_RECEIVER or SL_SOURCE_DIRECT)";
        return o->mode == SL_SOURCE_RECEIVER ? (o->run ? NULL : "run()")
                                             : (o->poll ? NULL : "poll()");
    }
    case SL_COMPONENT_SINK:
        return ((const sl_sink_ops *)ops)->write ? NULL : "write()";
    case SL_COMPONENT_MAP:
        return ((const sl_map_ops *)ops)->process ? NULL : "process()";
    case SL_COMPONENT_REDUCE:
        return ((const sl_reduce_ops *)ops)->combine ? NULL : "combine()";
    case SL_COMPONENT_UPDATE: {
        const sl_update_ops *o = ops;
        return o->update || o->update_at || o->map ? NULL : "update(), update_at() or map()";
    }
    default:
        return ((const sl_operator_ops *)ops)->process ? NULL : "process()";
    }
}

/* Check a component's ops once, at load: copy them into a full-size,
 * zero-filled struct of the kind (reading at most the plugin's
 * struct_size, which the copy keeps), so that everything after the loader
 * reads one layout and finds NULL where an older plugin's struct ends; require the callbacks
 * the kind needs; read an unknown MAP shape as MANY. The copy replaces the
 * ops of the host-owned component `c`; *owned is freed at unload. */
static int check_ops(const char *path, sl_component *c, void **owned, sl_error *err) {
    size_t have = *(const size_t *)c->ops, full = ops_size(c->kind);
    if (have < sizeof(size_t))
        return sl__error_set(err, SL_EABI, "%s: component '%s': its ops are %zu bytes, too small",
                             path, c->name, have);
    void *ops = calloc(1, full);
    if (!ops)
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    memcpy(ops, c->ops, have < full ? have : full); /* struct_size stays the plugin's */
    *owned = ops;
    c->ops = ops;
    if (c->kind == SL_COMPONENT_MAP) {
        sl_map_ops *m = ops;
        if (m->shape < SL_MAP_ONE || m->shape > SL_MAP_MANY)
            m->shape = SL_MAP_MANY;
    }
    const char *missing = missing_callback(c->kind, ops);
    if (missing)
        return sl__error_set(err, SL_EABI, "%s: component '%s' (%s) declares no %s", path, c->name,
                             sl__kind_name(c->kind), missing);
    return 0;
}

static int check_components(const char *path, sl__plugin *p, sl_error *err) {
    size_t n = 0;
    while (p->desc.components[n])
        n++;
    p->comps = calloc(n + 1, sizeof *p->comps); /* NULL-terminated for unload */
    p->ops = calloc(n + 1, sizeof *p->ops);
    if (!p->comps || !p->ops)
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
        int rc = sl__component_import(c, p->desc.abi_minor, &p->comps[i], err);
        if (!rc)
            rc = check_ops(path, (sl_component *)p->comps[i], &p->ops[i], err);
        if (rc)
            return rc;
    }
    p->ncomps = n;
    return 0;
}

/* The file each /proc/self/fd/N name (N < 1024) was last given to dlopen
 * for. glibc matches a dlopen name against the names of the objects already
 * loaded before it opens anything, and keeps every name an object was opened
 * under, so a reused fd number could return a resident object loaded under
 * that name from another file. A resident object pins its inode, so when the
 * name was last used for the file we are loading, it can only denote that
 * file. ino 0: the name may denote several objects (see dlopen_fd). */
static struct {
    dev_t dev;
    ino_t ino;
    bool used;
} fd_names[1024];
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

/* May "/proc/self/fd/<fd>" denote a resident object other than st's file? */
static bool fd_name_stale(int fd, const struct stat *st) {
    if (fd >= (int)(sizeof fd_names / sizeof *fd_names))
        return true;
    return fd_names[fd].used && (fd_names[fd].dev != st->st_dev || fd_names[fd].ino != st->st_ino);
}

/* dlopen the file open on fd — exactly that inode, whatever its path names
 * now — through /proc/self/fd/N. If the name was last used for another file,
 * RTLD_NOLOAD asks whether it still denotes a resident object (by name, or
 * by our inode); if so, another fd number is tried. Fails closed when /proc
 * is not mounted. Returns the handle, or NULL with err set. */
static void *dlopen_fd(int fd, const struct stat *st, const char *path, sl_error *err) {
    int cur = fd, dups[64], ndups = 0;
    void *dl = NULL;
    pthread_mutex_lock(&load_lock);
    for (;;) {
        char name[64];
        struct stat pst;
        snprintf(name, sizeof name, "/proc/self/fd/%d", cur);
        int e = stat(name, &pst) != 0 ? errno : 0;
        if (e || pst.st_ino != st->st_ino || pst.st_dev != st->st_dev) {
            sl__error_set(err, SL_EIO,
                          "%s: cannot load: %s does not name the checked file (%s); sluice loads "
                          "plugins only through /proc/self/fd: is /proc mounted?",
                          path, name, e ? strerror(e) : "it names another file");
            break;
        }
        void *old =
            fd_name_stale(cur, st) ? dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD) : NULL;
        if (old) { /* the name or our file is resident: try a name of our own */
            dlclose(old);
            /* a RTLD_NOLOAD that matched by inode added the name to that
             * object too: from now on the name means "ask again" */
            if (cur < (int)(sizeof fd_names / sizeof *fd_names))
                fd_names[cur].ino = 0, fd_names[cur].dev = 0;
            int next = ndups < 64 ? fcntl(fd, F_DUPFD_CLOEXEC, cur + 1) : -1;
            if (next < 0) {
                sl__error_set(err, SL_EIO, "%s: cannot load: no unused descriptor to load it by",
                              path);
                break;
            }
            cur = dups[ndups++] = next;
            continue;
        }
        dlerror();
        if (cur < (int)(sizeof fd_names / sizeof *fd_names)) {
            fd_names[cur].dev = st->st_dev;
            fd_names[cur].ino = st->st_ino;
            fd_names[cur].used = true;
        }
        if (!(dl = dlopen(name, RTLD_NOW | RTLD_LOCAL))) {
            const char *why = dlerror();
            sl__error_set(err, SL_EABI, "%s: cannot load: %s", path, why ? why : "dlopen failed");
        }
        break;
    }
    pthread_mutex_unlock(&load_lock);
    for (int i = 0; i < ndups; i++)
        close(dups[i]);
    return dl;
}

/* Load the checked file open on fd (which this closes) as plugin `name`:
 * ELF sanity, dlopen by descriptor, entry function, descriptor and
 * components. 0 with *out, or a negative code with err set. */
static int load_fd(int fd, const struct stat *st, const char *path, const char *name,
                   sl__plugin **out, sl_error *err) {
    if (elf_check(fd, st, path, err)) {
        close(fd);
        return SL_EABI;
    }
    if (sl__plugin_checked_hook)
        sl__plugin_checked_hook(path);
    void *dl = dlopen_fd(fd, st, path, err);
    close(fd);
    if (!dl)
        return err->code;
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

/* Load one file as plugin `name`: its directory must pass the directory
 * checks (any failure is an error here), the file the file checks. */
int sl__plugin_load_file(const char *path, const char *name, sl__plugin **out, sl_error *err) {
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash == path ? 1 : slash - path) : 1,
             slash ? path : ".");
    int dfd = dir_open_checked(dir, err);
    if (dfd < 0)
        return dfd;
    struct stat st;
    int fd = file_open_checked(dfd, slash ? slash + 1 : path, path, &st, err);
    close(dfd);
    if (fd < 0)
        return fd;
    return load_fd(fd, &st, path, name, out, err);
}

void sl__plugin_unload(sl__plugin *p) {
    if (!p)
        return;
#ifndef SLUICE_KEEP_PLUGINS_LOADED
    /* under LeakSanitizer, keep code mapped so that reports can symbolize */
    if (p->dl && !getenv("SLUICE_NO_DLCLOSE"))
        dlclose(p->dl);
#endif
    for (size_t i = 0; p->comps && p->comps[i]; i++)
        free((void *)p->comps[i]); /* sl__component_import's copies */
    free(p->comps);
    for (size_t i = 0; p->ops && p->ops[i]; i++)
        free(p->ops[i]); /* check_ops' full-size copies */
    free(p->ops);
    free(p->name);
    free(p->path);
    free(p);
}

/* Append dir to the "looked in" list of an unknown-plugin message. */
static void looked_add(char *looked, size_t cap, size_t *used, const char *dir) {
    size_t u = *used < cap ? *used : cap;
    *used += (size_t)snprintf(looked + u, cap - u, "%s%s", *used ? ", " : "", dir);
}

/* Try plugin directory i of the search path for `pname`.so: its directory
 * checks, then the file's. Returns the checked file's descriptor (stat in
 * *st), SL_ENOTFOUND when the directory or file is not there or an implicit
 * directory is unsafe (with a warning), or a refusal (SL_EABI / SL_EIO; of
 * an explicit directory when *dir_bad). */
static int try_dir(sl__registry *r, size_t i, const char *pname, char *path, size_t cap,
                   struct stat *st, bool *dir_bad, sl_error *err) {
    snprintf(path, cap, "%s/%s.so", r->dirs[i], pname);
    int dfd = dir_open_checked(r->dirs[i], err);
    if (dfd < 0 && dfd != SL_ENOTFOUND && r->implicit[i]) {
        sl__log(SL_LOG_WARN, "%s; it is skipped", err->msg);
        return SL_ENOTFOUND;
    }
    *dir_bad = dfd < 0 && dfd != SL_ENOTFOUND;
    if (dfd < 0)
        return dfd;
    char file[96];
    snprintf(file, sizeof file, "%s.so", pname);
    int fd = file_open_checked(dfd, file, path, st, err);
    close(dfd);
    return fd;
}

/* Find or load the plugin `name` (len bytes) from the search path: the first
 * file that passes the checks wins. A file refused by the checks is skipped
 * (with a warning, if a good one is found later; the refusal is the error if
 * none is); an unsafe explicit directory is an error; a file that passes
 * the checks but does not load is an error, not a reason to look further. */
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
    sl__registry_path(r, &ndirs);
    char looked[1024];
    size_t used = 0;
    looked[0] = 0;
    sl_error refused = {0, ""};
    for (size_t i = 0; i < ndirs; i++) {
        char path[4096];
        struct stat st;
        sl_error e = {0, ""};
        bool dir_bad = false;
        int fd = try_dir(r, i, pname, path, sizeof path, &st, &dir_bad, &e);
        if (fd == SL_ENOTFOUND) {
            looked_add(looked, sizeof looked, &used, r->dirs[i]);
            continue;
        }
        if (dir_bad) {
            *err = e;
            return fd;
        }
        if (fd < 0) {
            if (!refused.code)
                refused = e;
            continue;
        }
        sl__plugin *p;
        int rc = load_fd(fd, &st, path, pname, &p, err);
        if (rc)
            return rc;
        if (refused.code)
            sl__log(SL_LOG_WARN, "%s; loaded %s instead", refused.msg, path);
        p->next = r->loaded;
        r->loaded = p;
        *out = p;
        return 0;
    }
    if (refused.code) {
        *err = refused;
        return refused.code;
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

int sl__registry_abi_minor(sl__registry *r, const char *ref) {
    const char *dot = strchr(ref, '.');
    size_t plen = dot ? (size_t)(dot - ref) : strlen(ref);
    sl__plugin *p;
    sl_error err = {0, ""};
    pthread_mutex_lock(&r->lock);
    int rc = registry_plugin(r, ref, plen, &p, &err);
    pthread_mutex_unlock(&r->lock);
    return rc ? SL_ABI_MINOR : p->desc.abi_minor;
}

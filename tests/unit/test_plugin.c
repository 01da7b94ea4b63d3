/*
 * test_plugin.c — core/src/registry.c: the loader's checks, with the
 * purpose-built plugins of tests/plugins/ (each wrong in one way), and the
 * registry's search path and component lookup.
 */
#include <elf.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

/* "M.N" for an ABI version, in a static buffer per call site (the tests
 * compare with messages naming both versions, whatever the current ABI). */
#define ABI_STR(maj, min) abi_str((maj), (min), (char[16]){0})
static const char *abi_str(int major, int minor, char *buf) {
    snprintf(buf, 16, "%d.%d", major, minor);
    return buf;
}

/* $SLUICE_TEST_BADPLUGINS (set by ctest), or NULL with a failure. */
static const char *badplugins(void) {
    const char *d = getenv("SLUICE_TEST_BADPLUGINS");
    unit_check(d && *d, __FILE__, __LINE__, "SLUICE_TEST_BADPLUGINS is set (run through ctest)");
    return d && *d ? d : NULL;
}

/* The path of test plugin `name` in buf. */
static const char *bad_path(const char *name, char *buf, size_t cap) {
    const char *d = badplugins();
    snprintf(buf, cap, "%s/%s.so", d ? d : "(unset)", name);
    return buf;
}

/* Copy file `from` to `to` with mode `mode`; 0 or -1. */
static int copy_file(const char *from, const char *to, mode_t mode) {
    FILE *in = fopen(from, "rb");
    if (!in)
        return -1;
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return -1;
    }
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    fclose(in);
    if (fclose(out) != 0)
        rc = -1;
    return rc == 0 && chmod(to, mode) == 0 ? 0 : -1;
}

/* Load test plugin `name`, expecting refusal with `code`; the message must
 * name the file and contain every string of `want` (NULL-terminated). */
static void expect_refused(const char *name, int code, const char *const *want) {
    char path[4096];
    bad_path(name, path, sizeof path);
    sl__plugin *p = NULL;
    sl_error err = {0, ""};
    int rc = sl__plugin_load_file(path, name, &p, &err);
    unit_check(rc == code, __FILE__, __LINE__, "%s.so refused with %d (got %d: %s)", name, code, rc,
               err.msg);
    CU_ASSERT_PTR_NULL(p);
    if (rc == 0)
        sl__plugin_unload(p);
    ASSERT_INT_EQ(err.code, code);
    ASSERT_CONTAINS(err.msg, path);
    for (size_t i = 0; want && want[i]; i++)
        ASSERT_CONTAINS(err.msg, want[i]);
}

/* A shared object without the entry function is refused, naming it. */
static void test_noentry(void) {
    expect_refused("noentry", SL_EABI, (const char *[]){"sluice_plugin_v1", NULL});
}

/* An entry function returning NULL is refused. */
static void test_nullentry(void) {
    expect_refused("nullentry", SL_EABI, (const char *[]){"sluice_plugin_v1", "NULL", NULL});
}

/* A descriptor with the wrong magic is refused. */
static void test_badmagic(void) {
    expect_refused("badmagic", SL_EABI, (const char *[]){"magic", NULL});
}

/* A different ABI major is refused with both versions named. */
static void test_major2(void) {
    expect_refused("major2", SL_EABI,
                   (const char *[]){ABI_STR(SL_ABI_MAJOR + 1, SL_ABI_MINOR),
                                    ABI_STR(SL_ABI_MAJOR, SL_ABI_MINOR), NULL});
}

/* A newer ABI minor is refused with both versions named. */
static void test_newminor(void) {
    expect_refused("newminor", SL_EABI,
                   (const char *[]){ABI_STR(SL_ABI_MAJOR, SL_ABI_MINOR + 1),
                                    ABI_STR(SL_ABI_MAJOR, SL_ABI_MINOR), NULL});
}

/* A descriptor whose name differs from the file's is refused, naming both. */
static void test_badname(void) {
    expect_refused("badname", SL_EABI, (const char *[]){"'other'", "badname.so", NULL});
}

/* A descriptor smaller than the fields the host needs is refused. */
/* nowrite.so: a component is checked once, at load: a SINK without write()
 * is refused naming the component and the callback, not at first use. */
static void test_missing_callback(void) {
    expect_refused("nowrite", SL_EABI,
                   (const char *[]){"component 'out' (sink) declares no write()", NULL});
}

static void test_tinystruct(void) {
    expect_refused("tinystruct", SL_EABI, (const char *[]){"8 bytes", NULL});
}

/* A file that does not exist is SL_ENOTFOUND, naming the path. */
static void test_missing_file(void) {
    expect_refused("does-not-exist", SL_ENOTFOUND, NULL);
}

/* good.so loads: descriptor copied, both components found. */
static void test_good_loads(void) {
    char path[4096];
    bad_path("good", path, sizeof path);
    sl__plugin *p = NULL;
    sl_error err = {0, ""};
    int rc = sl__plugin_load_file(path, "good", &p, &err);
    unit_check(rc == 0, __FILE__, __LINE__, "good.so loads (got %d: %s)", rc, err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    ASSERT_STR_EQ(p->name, "good");
    ASSERT_STR_EQ(p->path, path);
    ASSERT_STR_EQ(p->desc.name, "good");
    ASSERT_INT_EQ(p->desc.magic, SL_PLUGIN_MAGIC);
    ASSERT_INT_EQ(p->desc.abi_major, SL_ABI_MAJOR);
    ASSERT_INT_EQ(p->ncomps, 5);
    if (p->ncomps == 5) {
        ASSERT_STR_EQ(p->comps[0]->name, "identity");
        ASSERT_INT_EQ(p->comps[0]->kind, SL_COMPONENT_MAP);
        ASSERT_STR_EQ(p->comps[1]->name, "first");
        ASSERT_INT_EQ(p->comps[1]->kind, SL_COMPONENT_REDUCE);
        ASSERT_STR_EQ(p->comps[2]->name, "firstnoref");
        ASSERT_INT_EQ(p->comps[2]->kind, SL_COMPONENT_REDUCE);
        ASSERT_STR_EQ(p->comps[4]->name, "threads");
        ASSERT_INT_EQ(p->comps[4]->kind, SL_COMPONENT_MAP);
    }
    sl__plugin_unload(p);
}

/* A group- or world-writable plugin is refused with the path and the reason;
 * the same file with mode 0644 loads. */
static void test_writable_refused(void) {
    char dir[256], copy[4096], good[4096];
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit_mkdtemp(dir, sizeof dir));
    bad_path("good", good, sizeof good);
    snprintf(copy, sizeof copy, "%s/good.so", dir);
    static const mode_t modes[] = {0664, 0646, 0666, 0620};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        unlink(copy);
        CU_ASSERT_EQUAL_FATAL(copy_file(good, copy, modes[i]), 0);
        sl__plugin *p = NULL;
        sl_error err = {0, ""};
        int rc = sl__plugin_load_file(copy, "good", &p, &err);
        unit_check(rc == SL_EABI, __FILE__, __LINE__, "mode %04o refused (got %d: %s)",
                   (unsigned)modes[i], rc, err.msg);
        if (rc == 0)
            sl__plugin_unload(p);
        ASSERT_CONTAINS(err.msg, "writable");
        ASSERT_CONTAINS(err.msg, copy);
    }
    CU_ASSERT_EQUAL(chmod(copy, 0644), 0);
    sl__plugin *p = NULL;
    sl_error err = {0, ""};
    ASSERT_INT_EQ(sl__plugin_load_file(copy, "good", &p, &err), 0);
    sl__plugin_unload(p);
    /* the registry refuses it too */
    CU_ASSERT_EQUAL(chmod(copy, 0666), 0);
    sl__registry r;
    sl__registry_init(&r);
    ASSERT_INT_EQ(sl__registry_add_dir(&r, dir), 0);
    CU_ASSERT_PTR_NULL(sl__registry_component(&r, "good.identity", SL_COMPONENT_MAP, &err));
    ASSERT_INT_EQ(err.code, SL_EABI);
    ASSERT_CONTAINS(err.msg, "writable");
    sl__registry_free(&r);
    unit_rmtree(dir);
}

/* A symbolic link to a good plugin is refused. */
static void test_symlink_refused(void) {
    char dir[256], link[4096], good[4096];
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit_mkdtemp(dir, sizeof dir));
    bad_path("good", good, sizeof good);
    snprintf(link, sizeof link, "%s/good.so", dir);
    CU_ASSERT_EQUAL_FATAL(symlink(good, link), 0);
    sl__plugin *p = NULL;
    sl_error err = {0, ""};
    int rc = sl__plugin_load_file(link, "good", &p, &err);
    ASSERT_INT_EQ(rc, SL_EABI);
    if (rc == 0)
        sl__plugin_unload(p);
    ASSERT_CONTAINS(err.msg, "symbolic link");
    ASSERT_CONTAINS(err.msg, link);
    unit_rmtree(dir);
}

/* A directory named like a plugin is not loaded. */
static void test_not_regular(void) {
    char dir[256], sub[4096];
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit_mkdtemp(dir, sizeof dir));
    snprintf(sub, sizeof sub, "%s/good.so", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0755), 0);
    sl__plugin *p = NULL;
    sl_error err = {0, ""};
    int rc = sl__plugin_load_file(sub, "good", &p, &err);
    CU_ASSERT(rc < 0);
    if (rc == 0)
        sl__plugin_unload(p);
    ASSERT_CONTAINS(err.msg, sub);
    ASSERT_CONTAINS(err.msg, "regular file");
    unit_rmtree(dir);
}

/* The registry finds good.so's components by reference and kind, and loads
 * the plugin once. */
static void test_registry_lookup(void) {
    const char *dir = badplugins();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    sl__registry r;
    sl__registry_init(&r);
    ASSERT_INT_EQ(sl__registry_add_dir(&r, dir), 0);
    sl_error err = {0, ""};
    const sl_component *c = sl__registry_component(&r, "good.identity", SL_COMPONENT_MAP, &err);
    unit_check(c != NULL, __FILE__, __LINE__, "good.identity found (%s)", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    ASSERT_STR_EQ(c->name, "identity");
    ASSERT_INT_EQ(c->kind, SL_COMPONENT_MAP);
    const sl_component *f = sl__registry_component(&r, "good.first", SL_COMPONENT_REDUCE, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    ASSERT_STR_EQ(f->name, "first");
    /* kind 0: any kind */
    CU_ASSERT(sl__registry_component(&r, "good.first", 0, &err) == f);
    /* loaded once */
    size_t n = 0;
    for (sl__plugin *p = r.loaded; p; p = p->next)
        n++;
    ASSERT_INT_EQ(n, 1);
    CU_ASSERT(sl__registry_component(&r, "good.identity", SL_COMPONENT_MAP, &err) == c);
    sl__registry_free(&r);
}

/* Asking for the wrong kind names what the component is. */
static void test_registry_wrong_kind(void) {
    const char *dir = badplugins();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    sl__registry r;
    sl__registry_init(&r);
    sl__registry_add_dir(&r, dir);
    sl_error err = {0, ""};
    CU_ASSERT_PTR_NULL(sl__registry_component(&r, "good.identity", SL_COMPONENT_SOURCE, &err));
    ASSERT_STR_EQ(err.msg, "'good.identity' is a map function, not a source");
    CU_ASSERT_PTR_NULL(sl__registry_component(&r, "good.first", SL_COMPONENT_MAP, &err));
    ASSERT_STR_EQ(err.msg, "'good.first' is a reduce function, not a map function");
    sl__registry_free(&r);
}

/* An unknown component lists the plugin's components; a bare plugin name
 * means <plugin>.<plugin>. */
static void test_registry_unknown_component(void) {
    const char *dir = badplugins();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    sl__registry r;
    sl__registry_init(&r);
    sl__registry_add_dir(&r, dir);
    sl_error err = {0, ""};
    CU_ASSERT_PTR_NULL(sl__registry_component(&r, "good.nope", SL_COMPONENT_MAP, &err));
    ASSERT_INT_EQ(err.code, SL_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "'nope'");
    ASSERT_CONTAINS(err.msg, "good.identity, good.first");
    CU_ASSERT_PTR_NULL(sl__registry_component(&r, "good", SL_COMPONENT_MAP, &err));
    ASSERT_CONTAINS(err.msg, "no component 'good'");
    sl__registry_free(&r);
}

/* An unknown plugin lists every directory that was searched. */
static void test_registry_unknown_plugin(void) {
    const char *dir = badplugins();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    sl__registry r;
    sl__registry_init(&r);
    sl__registry_add_dir(&r, dir);
    sl_error err = {0, ""};
    CU_ASSERT_PTR_NULL(sl__registry_component(&r, "nosuchplugin.x", SL_COMPONENT_MAP, &err));
    ASSERT_INT_EQ(err.code, SL_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "unknown plugin 'nosuchplugin'");
    ASSERT_CONTAINS(err.msg, dir);
    const char *env = getenv("SLUICE_PLUGIN_PATH");
    if (env && *env && !strchr(env, ':'))
        ASSERT_CONTAINS(err.msg, env);
    ASSERT_CONTAINS(err.msg, "looked in: ");
    sl__registry_free(&r);
}

/* Names that could escape the plugin directory are refused. */
static void test_registry_invalid_name(void) {
    sl__registry r;
    sl__registry_init(&r);
    sl_error err = {0, ""};
    static const char *const bad[] = {"../good.identity", "a/b.c", ".x", "", "x y.z"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CU_ASSERT_PTR_NULL(sl__registry_component(&r, bad[i], 0, &err));
        unit_check(err.code == SL_EINVAL, __FILE__, __LINE__,
                   "'%s' refused as invalid (got %d: %s)", bad[i], err.code, err.msg);
    }
    sl__registry_free(&r);
}

/* A bad plugin found through the registry reports the loader's error. */
static void test_registry_bad_plugin(void) {
    const char *dir = badplugins();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    sl__registry r;
    sl__registry_init(&r);
    sl__registry_add_dir(&r, dir);
    sl_error err = {0, ""};
    CU_ASSERT_PTR_NULL(sl__registry_component(&r, "major2.identity", SL_COMPONENT_MAP, &err));
    ASSERT_INT_EQ(err.code, SL_EABI);
    ASSERT_CONTAINS(err.msg, "major2.so");
    ASSERT_CONTAINS(err.msg, ABI_STR(SL_ABI_MAJOR + 1, SL_ABI_MINOR));
    sl__registry_free(&r);
}

/* Search order: added directories first, then $SLUICE_PLUGIN_PATH in its
 * order; the first good.so found wins. */
static void test_registry_search_order(void) {
    char a[256], b[256], c[256], good[4096], path[4096];
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit_mkdtemp(a, sizeof a));
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit_mkdtemp(b, sizeof b));
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit_mkdtemp(c, sizeof c));
    bad_path("good", good, sizeof good);
    snprintf(path, sizeof path, "%s/good.so", a);
    CU_ASSERT_EQUAL_FATAL(copy_file(good, path, 0644), 0);
    snprintf(path, sizeof path, "%s/good.so", b);
    CU_ASSERT_EQUAL_FATAL(copy_file(good, path, 0644), 0);
    snprintf(path, sizeof path, "%s/good.so", c);
    CU_ASSERT_EQUAL_FATAL(copy_file(good, path, 0644), 0);

    const char *saved = getenv("SLUICE_PLUGIN_PATH");
    char *saved_copy = saved ? strdup(saved) : NULL;
    char env[1024];
    snprintf(env, sizeof env, "%s::%s", b, c);
    setenv("SLUICE_PLUGIN_PATH", env, 1);

    /* an added directory comes before the environment */
    sl__registry r;
    sl__registry_init(&r);
    ASSERT_INT_EQ(sl__registry_add_dir(&r, a), 0);
    size_t n;
    char **dirs = sl__registry_path(&r, &n);
    CU_ASSERT_FATAL(n >= 3);
    ASSERT_STR_EQ(dirs[0], a);
    ASSERT_STR_EQ(dirs[1], b);
    ASSERT_STR_EQ(dirs[2], c);
    sl_error err = {0, ""};
    CU_ASSERT_PTR_NOT_NULL(sl__registry_component(&r, "good.identity", SL_COMPONENT_MAP, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.loaded);
    snprintf(path, sizeof path, "%s/good.so", a);
    ASSERT_STR_EQ(r.loaded->path, path);
    sl__registry_free(&r);

    /* without it, the environment's first directory */
    sl__registry_init(&r);
    CU_ASSERT_PTR_NOT_NULL(sl__registry_component(&r, "good.identity", SL_COMPONENT_MAP, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.loaded);
    snprintf(path, sizeof path, "%s/good.so", b);
    ASSERT_STR_EQ(r.loaded->path, path);
    sl__registry_free(&r);

    /* a directory listed twice is searched once */
    sl__registry_init(&r);
    sl__registry_add_dir(&r, c);
    sl__registry_add_dir(&r, c);
    dirs = sl__registry_path(&r, &n);
    size_t seen_c = 0;
    for (size_t i = 0; i < n; i++)
        seen_c += strcmp(dirs[i], c) == 0;
    ASSERT_INT_EQ(seen_c, 1);
    ASSERT_STR_EQ(dirs[0], c);
    ASSERT_STR_EQ(dirs[1], b);
    sl__registry_free(&r);

    if (saved_copy)
        setenv("SLUICE_PLUGIN_PATH", saved_copy, 1);
    else
        unsetenv("SLUICE_PLUGIN_PATH");
    free(saved_copy);
    unit_rmtree(a);
    unit_rmtree(b);
    unit_rmtree(c);
}

/* sl_context_describe_plugins(json) is valid JSON (our own strict parser
 * reads it back), lists the good plugin's components and the bad plugins
 * with their errors (paths and quotes escaped). */
static void test_describe_plugins_json(void) {
    const char *dir = badplugins();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    sl_context *ctx = sl_context_new(1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    ASSERT_INT_EQ(sl_context_add_plugin_dir(ctx, dir), 0);
    char *json = sl_context_describe_plugins(ctx, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    sl__arena a;
    sl_mem m;
    sl__arena_init(&a, 1 << 16);
    sl__arena_mem(&a, &m);
    sl_value v;
    sl_error err = {0, ""};
    int rc = sl__json_parse(json, strlen(json), &v, &m, &err);
    unit_check(rc == 0, __FILE__, __LINE__, "describe_plugins JSON parses (%s)", err.msg);
    ASSERT_CONTAINS(json, "\"good.identity\"");
    ASSERT_CONTAINS(json, "\"map function\"");
    ASSERT_CONTAINS(json, "\"name\": \"major2\", \"error\": ");
    ASSERT_CONTAINS(json, "\"name\": \"badname\", \"error\": ");
    sl__arena_free(&a);
    free(json);
    char *text = sl_context_describe_plugins(ctx, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    ASSERT_CONTAINS(text, "major2: NOT LOADABLE: ");
    ASSERT_CONTAINS(text, "good.identity");
    free(text);
    sl_context_free(ctx);
}

/* A fresh directory under a fresh 0755 parent, with a copy of good.so (mode
 * 0644) in it: parent and dir in the buffers. 0 or -1. */
static int good_tree(char *parent, size_t pcap, char *dir, size_t dcap) {
    char good[4096], copy[4096];
    if (!unit_mkdtemp(parent, pcap) || chmod(parent, 0755) != 0)
        return -1;
    snprintf(dir, dcap, "%s/plugins", parent);
    snprintf(copy, sizeof copy, "%s/good.so", dir);
    bad_path("good", good, sizeof good);
    return mkdir(dir, 0755) == 0 && copy_file(good, copy, 0644) == 0 ? 0 : -1;
}

/* Load dir/good.so directly: 0, or the code with the message in err. */
static int load_good_in(const char *dir, sl_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/good.so", dir);
    sl__plugin *p = NULL;
    int rc = sl__plugin_load_file(path, "good", &p, err);
    if (rc == 0)
        sl__plugin_unload(p);
    return rc;
}

/* Expect dir/good.so refused because of directory `culprit`, with `why`. */
static void expect_dir_refused(const char *dir, const char *culprit, const char *why,
                               unsigned line) {
    sl_error err = {0, ""};
    int rc = load_good_in(dir, &err);
    unit_check(rc == SL_EABI, __FILE__, line, "refused with SL_EABI (got %d: %s)", rc, err.msg);
    unit_check(strstr(err.msg, culprit) && strstr(err.msg, why), __FILE__, line,
               "message names %s and says '%s' (got: %s)", culprit, why, err.msg);
    /* an explicit directory that fails the checks is an error */
    sl__registry r;
    sl__registry_init(&r);
    sl__registry_add_dir(&r, dir);
    CU_ASSERT_PTR_NULL(sl__registry_component(&r, "good.identity", SL_COMPONENT_MAP, &err));
    unit_check(err.code == SL_EABI && strstr(err.msg, "plugin directory"), __FILE__, line,
               "registry: explicit unsafe directory is an error (got %d: %s)", err.code, err.msg);
    sl__registry_free(&r);
}

/* A plugin directory that others can write to (group, world, or world with
 * the sticky bit: others can still create files in it) is refused; 0755
 * loads. */
static void test_dir_writable_refused(void) {
    char parent[256], dir[512];
    CU_ASSERT_EQUAL_FATAL(good_tree(parent, sizeof parent, dir, sizeof dir), 0);
    static const mode_t modes[] = {0775, 0757, 0777, 01777, 0770};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        CU_ASSERT_EQUAL(chmod(dir, modes[i]), 0);
        expect_dir_refused(dir, dir, "group- or world-writable", __LINE__);
    }
    CU_ASSERT_EQUAL(chmod(dir, 0755), 0);
    sl_error err = {0, ""};
    ASSERT_INT_EQ(load_good_in(dir, &err), 0);
    unit_rmtree(parent);
}

/* A world- or group-writable parent is refused, naming it; a sticky one
 * (like /tmp) is accepted above the plugin directory. */
static void test_parent_writable_refused(void) {
    char parent[256], dir[512];
    CU_ASSERT_EQUAL_FATAL(good_tree(parent, sizeof parent, dir, sizeof dir), 0);
    CU_ASSERT_EQUAL(chmod(parent, 0777), 0);
    expect_dir_refused(dir, parent, "its parent", __LINE__);
    CU_ASSERT_EQUAL(chmod(parent, 0775), 0);
    expect_dir_refused(dir, parent, "group- or world-writable", __LINE__);
    CU_ASSERT_EQUAL(chmod(parent, 01777), 0);
    sl_error err = {0, ""};
    int rc = load_good_in(dir, &err);
    unit_check(rc == 0, __FILE__, __LINE__, "sticky parent accepted (got %d: %s)", rc, err.msg);
    /* through a symlink to the directory: the real path is checked */
    char link[600];
    snprintf(link, sizeof link, "%s/link", parent);
    CU_ASSERT_EQUAL(symlink(dir, link), 0);
    CU_ASSERT_EQUAL(chmod(parent, 0755), 0);
    CU_ASSERT_EQUAL(chmod(dir, 0777), 0);
    expect_dir_refused(link, dir, "group- or world-writable", __LINE__);
    unit_rmtree(parent);
}

/* The uid of "nobody", to own files as another user (the tests run as root
 * in CI; chown needs it). */
static uid_t nobody_uid(void) {
    struct passwd *pw = getpwnam("nobody");
    return pw ? pw->pw_uid : 65534;
}

/* A plugin directory, a parent, or a plugin owned by another user is refused. */
static void test_other_owner_refused(void) {
    char parent[256], dir[512], path[600];
    CU_ASSERT_EQUAL_FATAL(good_tree(parent, sizeof parent, dir, sizeof dir), 0);
    unit_check(geteuid() == 0, __FILE__, __LINE__, "runs as root, to chown to nobody");
    CU_ASSERT_EQUAL_FATAL(chown(dir, nobody_uid(), (gid_t)-1), 0);
    expect_dir_refused(dir, dir, "owned by another user", __LINE__);
    CU_ASSERT_EQUAL(chown(dir, 0, (gid_t)-1), 0);
    CU_ASSERT_EQUAL(chown(parent, nobody_uid(), (gid_t)-1), 0);
    expect_dir_refused(dir, parent, "owned by another user", __LINE__);
    CU_ASSERT_EQUAL(chown(parent, 0, (gid_t)-1), 0);
    snprintf(path, sizeof path, "%s/good.so", dir);
    CU_ASSERT_EQUAL(chown(path, nobody_uid(), (gid_t)-1), 0);
    sl_error err = {0, ""};
    ASSERT_INT_EQ(load_good_in(dir, &err), SL_EABI);
    ASSERT_CONTAINS(err.msg, "owned by another user");
    ASSERT_CONTAINS(err.msg, path);
    unit_rmtree(parent);
}

/* Set $SLUICE_PLUGIN_PATH to `value` (NULL: unset); returns the old value
 * (to free). */
static char *swap_env_path(const char *value) {
    const char *old = getenv("SLUICE_PLUGIN_PATH");
    char *saved = old ? strdup(old) : NULL;
    if (value)
        setenv("SLUICE_PLUGIN_PATH", value, 1);
    else
        unsetenv("SLUICE_PLUGIN_PATH");
    return saved;
}

/* The path good.identity is loaded from through the registry (explicit dir
 * `first` if not NULL, then the environment), in buf; "" when it fails. */
static const char *loaded_from(const char *first, char *buf, size_t cap, sl_error *err) {
    sl__registry r;
    sl__registry_init(&r);
    if (first)
        sl__registry_add_dir(&r, first);
    buf[0] = 0;
    if (sl__registry_component(&r, "good.identity", SL_COMPONENT_MAP, err) && r.loaded)
        snprintf(buf, cap, "%s", r.loaded->path);
    sl__registry_free(&r);
    return buf;
}

/* A squatted directory (world-writable, sticky, like /tmp) on the implicit
 * path, before or after the real plugin's directory, neither hides nor
 * blocks it, and is left out of the search path; a good.so refused by the
 * file checks earlier on the path does not block the good one after it. */
static void test_squatted_does_not_block(void) {
    char parent[256], dir[512], squat[256], want[600], got[4096], env[1024], bad[600];
    CU_ASSERT_EQUAL_FATAL(good_tree(parent, sizeof parent, dir, sizeof dir), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit_mkdtemp(squat, sizeof squat));
    char good[4096];
    bad_path("good", good, sizeof good);
    snprintf(bad, sizeof bad, "%s/good.so", squat);
    CU_ASSERT_EQUAL_FATAL(copy_file(good, bad, 0644), 0);
    CU_ASSERT_EQUAL(chmod(squat, 01777), 0);
    snprintf(want, sizeof want, "%s/good.so", dir);
    sl_error err = {0, ""};
    snprintf(env, sizeof env, "%s:%s", squat, dir);
    char *saved = swap_env_path(env);
    ASSERT_STR_EQ(loaded_from(NULL, got, sizeof got, &err), want);
    sl__registry r;
    sl__registry_init(&r);
    size_t n;
    char **dirs = sl__registry_path(&r, &n);
    for (size_t i = 0; i < n; i++)
        unit_check(strcmp(dirs[i], squat) != 0, __FILE__, __LINE__,
                   "squatted %s left out of the path", squat);
    sl__registry_free(&r);
    snprintf(env, sizeof env, "%s:%s", dir, squat);
    setenv("SLUICE_PLUGIN_PATH", env, 1);
    ASSERT_STR_EQ(loaded_from(NULL, got, sizeof got, &err), want);
    /* a refused file earlier (explicit, safe dir) is skipped; alone, it is the error */
    CU_ASSERT_EQUAL(chmod(squat, 0755), 0);
    CU_ASSERT_EQUAL(chmod(bad, 0666), 0);
    setenv("SLUICE_PLUGIN_PATH", dir, 1);
    ASSERT_STR_EQ(loaded_from(squat, got, sizeof got, &err), want);
    unsetenv("SLUICE_PLUGIN_PATH");
    ASSERT_STR_EQ(loaded_from(squat, got, sizeof got, &err), "");
    ASSERT_INT_EQ(err.code, SL_EABI);
    ASSERT_CONTAINS(err.msg, "writable");
    ASSERT_CONTAINS(err.msg, bad);
    /* a symlinked good.so earlier is skipped too */
    unlink(bad);
    CU_ASSERT_EQUAL(symlink(want, bad), 0);
    setenv("SLUICE_PLUGIN_PATH", dir, 1);
    ASSERT_STR_EQ(loaded_from(squat, got, sizeof got, &err), want);
    free(swap_env_path(saved));
    free(saved);
    unit_rmtree(parent);
    unit_rmtree(squat);
}

/* Where the loadable segments of the ELF file at `path` end: a file cut
 * before that is truncated for any loader, whatever the sections after. */
static long loadable_end(const char *path) {
    FILE *f = fopen(path, "rb");
    Elf64_Ehdr eh;
    long end = 0;
    if (f && fread(&eh, sizeof eh, 1, f) == 1) {
        for (int i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (fseek(f, (long)(eh.e_phoff + (uint64_t)i * eh.e_phentsize), SEEK_SET) != 0 ||
                fread(&ph, sizeof ph, 1, f) != 1)
                break;
            if (ph.p_type == PT_LOAD && (long)(ph.p_offset + ph.p_filesz) > end)
                end = (long)(ph.p_offset + ph.p_filesz);
        }
    }
    if (f)
        fclose(f);
    return end;
}

/* Random bytes, a truncated ELF and an ELF that is not a shared object are
 * refused with the file and a reason (a truncated one used to kill the
 * process with SIGBUS inside dlopen). */
static void test_garbage_refused(void) {
    char parent[256], dir[512], path[600], good[4096];
    CU_ASSERT_EQUAL_FATAL(good_tree(parent, sizeof parent, dir, sizeof dir), 0);
    bad_path("good", good, sizeof good);
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(good, &st), 0);
    static const struct {
        const char *name, *why;
        long size; /* < 0: random bytes */
    } cases[] = {{"random", "not an ELF", -1},
                 {"half", "truncated", 0}, /* cut inside its last segment */
                 {"headers", "truncated", 200},
                 {"tiny", "not an ELF", 10}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(path, sizeof path, "%s/%s.so", dir, cases[i].name);
        FILE *f = fopen(path, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        if (cases[i].size < 0) {
            for (int b = 0; b < 4096; b++)
                fputc((b * 7919 + 13) & 0xff, f);
        } else {
            FILE *in = fopen(good, "rb");
            long n = cases[i].size ? cases[i].size : loadable_end(good) - 1;
            for (long b = 0; in && b < n; b++)
                fputc(fgetc(in), f);
            if (in)
                fclose(in);
        }
        fclose(f);
        sl__plugin *p = NULL;
        sl_error err = {0, ""};
        int rc = sl__plugin_load_file(path, cases[i].name, &p, &err);
        unit_check(rc == SL_EABI, __FILE__, __LINE__, "%s.so refused (got %d: %s)", cases[i].name,
                   rc, err.msg);
        if (rc == 0)
            sl__plugin_unload(p);
        ASSERT_CONTAINS(err.msg, path);
        ASSERT_CONTAINS(err.msg, cases[i].why);
    }
    unit_rmtree(parent);
}

static char race_evil[4096];

/* The race: after the checks, rename evil.so over the checked good.so. */
static void swap_in_evil(const char *path) {
    unit_check(rename(race_evil, path) == 0, __FILE__, __LINE__, "swapped %s in for %s", race_evil,
               path);
}

/* What is loaded is the file that was checked: a file swapped in between
 * the checks and the load is not loaded (its constructor does not run). */
static void test_swap_after_check(void) {
    char parent[256], dir[512], path[600], evil[4096];
    CU_ASSERT_EQUAL_FATAL(good_tree(parent, sizeof parent, dir, sizeof dir), 0);
    bad_path("evil", evil, sizeof evil);
    snprintf(race_evil, sizeof race_evil, "%s/evil.tmp", dir);
    CU_ASSERT_EQUAL_FATAL(copy_file(evil, race_evil, 0644), 0);
    snprintf(path, sizeof path, "%s/good.so", dir);
    unsetenv("SLUICE_TEST_EVIL_RAN");
    sl__plugin_checked_hook = swap_in_evil;
    sl__plugin *p = NULL;
    sl_error err = {0, ""};
    int rc = sl__plugin_load_file(path, "good", &p, &err);
    sl__plugin_checked_hook = NULL;
    unit_check(rc == 0, __FILE__, __LINE__, "the checked good.so loads (got %d: %s)", rc, err.msg);
    unit_check(getenv("SLUICE_TEST_EVIL_RAN") == NULL, __FILE__, __LINE__,
               "the swapped-in file's constructor did not run");
    if (rc == 0) {
        ASSERT_STR_EQ(p->desc.version, "0.1.0");
        sl__plugin_unload(p);
    }
    /* the swap did happen: loading the path now loads evil.so */
    rc = sl__plugin_load_file(path, "good", &p, &err);
    ASSERT_INT_EQ(rc, 0);
    if (rc == 0) {
        ASSERT_STR_EQ(p->desc.version, "evil");
        sl__plugin_unload(p);
    }
    CU_ASSERT_PTR_NOT_NULL(getenv("SLUICE_TEST_EVIL_RAN"));
    unit_rmtree(parent);
}

/* Loading through /proc/self/fd/N: while good.so is loaded (under some
 * /proc/self/fd name), another plugin opened on the same fd number is still
 * itself, not good.so (glibc matches dlopen names before files). */
static void test_fd_name_reuse(void) {
    char good[4096], abi10[4096];
    bad_path("good", good, sizeof good);
    bad_path("abi10", abi10, sizeof abi10);
    sl__plugin *g = NULL, *a = NULL, *g2 = NULL;
    sl_error err = {0, ""};
    ASSERT_INT_EQ(sl__plugin_load_file(good, "good", &g, &err), 0);
    for (int i = 0; i < 3; i++) {
        int rc = sl__plugin_load_file(abi10, "abi10", &a, &err);
        unit_check(rc == 0, __FILE__, __LINE__, "abi10.so loads beside good.so (got %d: %s)", rc,
                   err.msg);
        if (rc == 0) {
            ASSERT_STR_EQ(a->desc.name, "abi10");
            sl__plugin_unload(a);
        }
        rc = sl__plugin_load_file(good, "good", &g2, &err);
        unit_check(rc == 0, __FILE__, __LINE__, "good.so again (got %d: %s)", rc, err.msg);
        if (rc == 0) {
            CU_ASSERT(g2->dl == g->dl); /* the same file: the same object */
            sl__plugin_unload(g2);
        }
    }
    sl__plugin_unload(g);
}

/* A RTLD_NOLOAD that finds our file resident by inode also gives it the
 * name asked for: abi10 loaded through fd N, unloaded; good loaded through
 * another fd, then again through fd N (now a name of good's object too);
 * abi10 through fd N once more must still be abi10. */
static void test_fd_name_added_by_inode(void) {
    char good[4096], abi10[4096];
    bad_path("good", good, sizeof good);
    bad_path("abi10", abi10, sizeof abi10);
    sl__plugin *a = NULL, *g = NULL, *g2 = NULL;
    sl_error err = {0, ""};
    ASSERT_INT_EQ(sl__plugin_load_file(abi10, "abi10", &a, &err), 0);
    sl__plugin_unload(a);
    int hold = open("/dev/null", O_RDONLY | O_CLOEXEC); /* takes fd N: good gets another */
    ASSERT_INT_EQ(sl__plugin_load_file(good, "good", &g, &err), 0);
    close(hold);
    ASSERT_INT_EQ(sl__plugin_load_file(good, "good", &g2, &err), 0); /* through fd N */
    sl__plugin_unload(g2);
    int rc = sl__plugin_load_file(abi10, "abi10", &a, &err);
    unit_check(rc == 0, __FILE__, __LINE__, "abi10.so is still abi10 (got %d: %s)", rc, err.msg);
    if (rc == 0)
        sl__plugin_unload(a);
    sl__plugin_unload(g);
}

/* Kind names, as used in messages. */
static void test_kind_names(void) {
    ASSERT_STR_EQ(sl__kind_name(SL_COMPONENT_SOURCE), "source");
    ASSERT_STR_EQ(sl__kind_name(SL_COMPONENT_SINK), "sink");
    ASSERT_STR_EQ(sl__kind_name(SL_COMPONENT_MAP), "map function");
    ASSERT_STR_EQ(sl__kind_name(SL_COMPONENT_REDUCE), "reduce function");
}

UNIT_MAIN("plugin", {"noentry.so refused", test_noentry}, {"nullentry.so refused", test_nullentry},
          {"badmagic.so refused", test_badmagic}, {"major2.so refused", test_major2},
          {"newminor.so refused", test_newminor}, {"badname.so refused", test_badname},
          {"tinystruct.so refused", test_tinystruct},
          {"a component without its required callback is refused at load", test_missing_callback},
          {"missing file", test_missing_file}, {"good.so loads", test_good_loads},
          {"group/world-writable copy refused", test_writable_refused},
          {"symbolic link refused", test_symlink_refused}, {"not a regular file", test_not_regular},
          {"registry finds components", test_registry_lookup},
          {"registry: wrong kind", test_registry_wrong_kind},
          {"registry: unknown component", test_registry_unknown_component},
          {"registry: unknown plugin lists directories", test_registry_unknown_plugin},
          {"registry: invalid names", test_registry_invalid_name},
          {"registry: bad plugin error", test_registry_bad_plugin},
          {"registry: search order", test_registry_search_order},
          {"describe plugins as JSON", test_describe_plugins_json},
          {"writable plugin directory refused", test_dir_writable_refused},
          {"writable parent directory refused", test_parent_writable_refused},
          {"directory or file of another user refused", test_other_owner_refused},
          {"squatted entries do not block the real plugin", test_squatted_does_not_block},
          {"garbage .so refused, not a crash", test_garbage_refused},
          {"the checked file is the one loaded", test_swap_after_check},
          {"a reused /proc/self/fd name", test_fd_name_reuse},
          {"a /proc/self/fd name added by inode", test_fd_name_added_by_inode},
          {"kind names", test_kind_names})

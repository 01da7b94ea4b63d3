/*
 * config.c — the YAML pipeline loader (docs/config.md).
 *
 * A client of sluice.h like any C program: it parses the file with libyaml
 * into a document (which keeps the position of every node), expands ${VAR}
 * in scalar values and builds the graph only through the public builders,
 * so that a YAML pipeline and a C program make the same graph through the
 * same code. Every error is "FILE:LINE:COL: what was expected" (1-based).
 *
 * Memory: every string the loader makes lives in a pool that is freed when
 * the load ends; the builders copy what they keep.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

/* ---- loader state ------------------------------------------------------------ */

/* A string or array the loader allocated; all are freed together. */
typedef union pool_item {
    union pool_item *next;
    max_align_t align;
} pool_item;

enum { DEF_NEW = 0, DEF_BUILDING = 1, DEF_BUILT = 2 };

/* A name and where it stands in its mapping (or list), for sorting. */
typedef struct named {
    const char *name;
    size_t index;
} named;

/* One entry under `streams:`. */
typedef struct stream_def {
    const char *name;         /* the key, as written */
    yaml_node_t *key;         /* the name's node */
    yaml_node_t *body;        /* the definition (a mapping) */
    yaml_node_t *opval;       /* the operation's value ("queue" in source: queue) */
    const struct op_info *op; /* its operation, once it is being built */
    size_t next;              /* the next of its references to visit (build_from) */
    int state;                /* DEF_* */
    sl_stream *stream;        /* once built */
} stream_def;

typedef struct loader {
    const char *name;    /* file name in errors */
    const char *basedir; /* relative plugin_path entries resolve here ("" = cwd) */
    yaml_document_t doc;
    char *err;
    size_t errcap;
    int failed;
    sl_context *ctx;
    pool_item *pool;
    stream_def *defs;
    size_t ndefs;
    struct named *byname; /* the definitions by name (def_find) */
    stream_def **stack;   /* streams being built, each above one that reads it */
    size_t depth;
    int noutputs;
    yaml_node_t **sinks;   /* each output's `sink:` value, for check errors */
    const char **outnames; /* each output's `name:` (NULL: output-N), for check errors */
    int check;             /* sl_config_check_file: also create every component */
} loader;

/* The parameters of one component, as the builders take them. */
typedef struct param_list {
    const char **kv;     /* key, value, ..., NULL */
    yaml_node_t **nodes; /* the value node of each parameter */
    size_t n;
} param_list;

/* ---- memory and errors ------------------------------------------------------- */

/* Allocate `n` bytes owned by the loader (freed by pool_free); NULL on OOM. */
static void *pool_alloc(loader *L, size_t n) {
    pool_item *it = malloc(sizeof *it + n);
    if (!it)
        return NULL;
    it->next = L->pool;
    L->pool = it;
    return it + 1;
}

static void pool_free(loader *L) {
    while (L->pool) {
        pool_item *next = L->pool->next;
        free(L->pool);
        L->pool = next;
    }
}

/* Record the first error as "NAME:LINE:COL: message" (line and col 1-based). */
static void fail_at(loader *L, size_t line, size_t col, const char *fmt, ...) SL_PRINTF(4, 5);
static void fail_at(loader *L, size_t line, size_t col, const char *fmt, ...) {
    if (L->failed)
        return;
    L->failed = 1;
    if (!L->err || L->errcap == 0)
        return;
    int n = snprintf(L->err, L->errcap, "%s:%zu:%zu: ", L->name, line, col);
    if (n < 0 || (size_t)n >= L->errcap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->err + n, L->errcap - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Record the first error at the start of `node`. */
#define fail(L, node, ...)                                                                         \
    fail_at((L), (node)->start_mark.line + 1, (node)->start_mark.column + 1, __VA_ARGS__)

/* Record an error without a position (a problem outside the file). */
static void fail_plain(loader *L, const char *fmt, ...) SL_PRINTF(2, 3);
static void fail_plain(loader *L, const char *fmt, ...) {
    if (L->failed)
        return;
    L->failed = 1;
    if (!L->err || L->errcap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->err, L->errcap, fmt, ap);
    va_end(ap);
}

static void fail_oom(loader *L) {
    fail_plain(L, "%s: out of memory", L->name);
}

/* The context's last error message, or the text of its code. */
static const char *ctx_message(const loader *L) {
    const char *msg = sl_context_errmsg(L->ctx);
    if (msg && *msg)
        return msg;
    return sl_strerror(sl_context_errcode(L->ctx));
}

/* ---- small parsers --------------------------------------------------------- */

/* Parse a whole string as a decimal integer in [min, max]. Returns 0 or -1. */
static int parse_int(const char *s, long min, long max, long *out) {
    char *end;
    if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* ---- nodes and scalars ------------------------------------------------------ */

static yaml_node_t *node_get(loader *L, int id) {
    return yaml_document_get_node(&L->doc, id);
}

static int is_scalar(const yaml_node_t *n) {
    return n->type == YAML_SCALAR_NODE;
}

/* The text of a scalar node as written (keys are never expanded). */
static const char *raw_text(const yaml_node_t *n) {
    return (const char *)n->data.scalar.value;
}

/* A readable name of a node's type, for "got a sequence" messages. */
static const char *node_kind(const yaml_node_t *n) {
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return "a scalar";
    }
}

/* Append `s` to the growing buffer *buf (length *len, capacity *cap).
 * Returns 0 or -1 on OOM. */
static int buf_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        while (ncap < *len + n + 1)
            ncap *= 2;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* Expand one "${...}" reference starting at p (which points at '$', with
 * p[1] == '{'); appends its value and returns the position after '}', or
 * NULL with an error. */
static const char *expand_ref(loader *L, const yaml_node_t *n, const char *p, char **buf,
                              size_t *len, size_t *cap) {
    const char *name = p + 2;
    const char *close = strchr(name, '}');
    if (!close) {
        fail(L, n, "unterminated '${' in '%s' (expected ${VAR} or ${VAR:-default})", raw_text(n));
        return NULL;
    }
    const char *q = name;
    if ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || *q == '_') {
        while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
               *q == '_')
            q++;
    }
    size_t nlen = (size_t)(q - name);
    const char *def = NULL;
    if (nlen > 0 && q[0] == ':' && q[1] == '-')
        def = q + 2;
    else if (nlen == 0 || q != close) {
        fail(L, n,
             "invalid reference '%.*s' (expected ${VAR} or ${VAR:-default}; write $$ for a '$')",
             (int)(close - p + 1), p);
        return NULL;
    }
    char var[256];
    if (nlen >= sizeof var) {
        fail(L, n, "environment variable name '%.*s...' is too long", 32, name);
        return NULL;
    }
    memcpy(var, name, nlen);
    var[nlen] = '\0';
    const char *val = getenv(var);
    int rc;
    if (def && (!val || !*val))
        rc = buf_add(buf, len, cap, def, (size_t)(close - def));
    else if (val)
        rc = buf_add(buf, len, cap, val, strlen(val));
    else {
        fail(L, n, "environment variable %s is not set (write ${%s:-default} for a default)", var,
             var);
        return NULL;
    }
    if (rc < 0) {
        fail_oom(L);
        return NULL;
    }
    return close + 1;
}

/* The value of a scalar node with ${VAR}, ${VAR:-default} and $$ expanded.
 * The result lives until the load ends. NULL with an error on failure. */
static const char *expand(loader *L, const yaml_node_t *n) {
    const char *s = raw_text(n);
    if (strlen(s) != n->data.scalar.length) {
        fail(L, n, "a NUL character is not allowed in a value");
        return NULL;
    }
    if (!strchr(s, '$'))
        return s; /* lives as long as the document, i.e. the load */
    char *buf = NULL;
    size_t len = 0, cap = 0;
    const char *p = s;
    while (*p) {
        const char *dollar = strchr(p, '$');
        size_t lit = dollar ? (size_t)(dollar - p) : strlen(p);
        if (buf_add(&buf, &len, &cap, p, lit) < 0)
            goto oom;
        if (!dollar)
            break;
        if (dollar[1] == '$') {
            if (buf_add(&buf, &len, &cap, "$", 1) < 0)
                goto oom;
            p = dollar + 2;
        } else if (dollar[1] == '{') {
            p = expand_ref(L, n, dollar, &buf, &len, &cap);
            if (!p) {
                free(buf);
                return NULL;
            }
        } else {
            if (buf_add(&buf, &len, &cap, "$", 1) < 0)
                goto oom;
            p = dollar + 1;
        }
    }
    char *out = pool_alloc(L, len + 1);
    if (!out)
        goto oom;
    memcpy(out, buf ? buf : "", len + 1);
    free(buf);
    return out;
oom:
    free(buf);
    fail_oom(L);
    return NULL;
}

/* The expanded value of `n`, which must be a scalar; `what` names it in the
 * error ("batch_interval", "from"). */
static const char *scalar_value(loader *L, const yaml_node_t *n, const char *what,
                                const char *expected) {
    if (!is_scalar(n)) {
        fail(L, n, "%s: expected %s, got %s", what, expected, node_kind(n));
        return NULL;
    }
    return expand(L, n);
}

/* By name, then by position. */
static int cmp_named(const void *a, const void *b) {
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Check a mapping's keys: every key a scalar, none repeated. `where` names
 * the mapping in errors ("the top level", "stream 'words'"). The repeat
 * reported is the first in file order (at the second occurrence, naming the
 * line of the first), found by sorting: comparing every pair took 45 s on
 * 1 MB of keys. */
static int check_keys(loader *L, yaml_node_t *map, const char *where) {
    yaml_node_pair_t *start = map->data.mapping.pairs.start;
    size_t n = (size_t)(map->data.mapping.pairs.top - start);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = node_get(L, start[i].key);
        if (!is_scalar(k)) {
            fail(L, k, "expected a plain key in %s, got %s", where, node_kind(k));
            return -1;
        }
    }
    if (n < 2)
        return 0;
    named *v = malloc(n * sizeof *v);
    if (!v) {
        fail_oom(L);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (named){raw_text(node_get(L, start[i].key)), i};
    qsort(v, n, sizeof *v, cmp_named);
    size_t dup = n, first = 0; /* the earliest second occurrence, and its first */
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && strcmp(v[j].name, v[i].name) == 0;)
            j++;
        if (j - i > 1 && v[i + 1].index < dup) {
            dup = v[i + 1].index;
            first = v[i].index;
        }
    }
    free(v);
    if (dup == n)
        return 0;
    yaml_node_t *k = node_get(L, start[dup].key), *prev = node_get(L, start[first].key);
    fail(L, k, "duplicate key '%s' in %s (first defined at line %zu)", raw_text(k), where,
         prev->start_mark.line + 1);
    return -1;
}

/* The value node of key `key` in mapping `map`, or NULL. */
static yaml_node_t *map_get(loader *L, yaml_node_t *map, const char *key) {
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
        if (strcmp(raw_text(node_get(L, p->key)), key) == 0)
            return node_get(L, p->value);
    return NULL;
}

/* Join names into buf as "a, b, c" (truncated with "..." if too long). */
static void join_names(char *buf, size_t cap, const char *const *names, size_t n) {
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= cap - len) {
            if (cap > 4)
                strcpy(buf + cap - 4, "...");
            return;
        }
        len += (size_t)w;
    }
}

/* ---- top level -------------------------------------------------------------- */

/* The top level is the engine's settings (sl_settings_schema(), validated
 * by sl_context_set like plugin parameters), then `streams` and `outputs`. */

/* Reject unknown top-level keys, listing the valid ones. */
static int check_top_keys(loader *L, yaml_node_t *root) {
    if (check_keys(L, root, "the top level") < 0)
        return -1;
    const sl_param_spec *settings = sl_settings_schema();
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_get(L, p->key);
        const char *key = raw_text(k);
        const sl_param_spec *s = settings;
        while (s->name && strcmp(key, s->name) != 0)
            s++;
        if (s->name || strcmp(key, "streams") == 0 || strcmp(key, "outputs") == 0 ||
            strcmp(key, "http") == 0)
            continue;
        const char *names[64];
        size_t n = 0;
        for (s = settings; s->name && n < 62; s++)
            names[n++] = s->name;
        names[n++] = "http";
        names[n++] = "streams";
        names[n++] = "outputs";
        char list[512];
        join_names(list, sizeof list, names, n);
        fail(L, k, "unknown top-level key '%s' (expected one of: %s)", key, list);
        return -1;
    }
    return 0;
}

/* Apply the settings the file gives, in the schema's order (batch_interval
 * first: checkpoint_interval is checked against it), each at its value's
 * position. plugin_path, which may be a list, is add_plugin_dirs' job. */
static int apply_settings(loader *L, yaml_node_t *root) {
    for (const sl_param_spec *s = sl_settings_schema(); s->name; s++) {
        yaml_node_t *n = map_get(L, root, s->name);
        if (!n || strcmp(s->name, "plugin_path") == 0)
            continue;
        const char *v = scalar_value(L, n, s->name, "a single value");
        if (!v)
            return -1;
        if (sl_context_set(L->ctx, s->name, v) < 0) {
            fail(L, n, "%s", ctx_message(L));
            return -1;
        }
    }
    /* the receiver log lives in the checkpoint directory */
    yaml_node_t *wal = map_get(L, root, "receiver_wal");
    int on = 0;
    if (wal && !map_get(L, root, "checkpoint") &&
        sl_parse_bool(scalar_value(L, wal, "receiver_wal", "a bool"), &on) == 0 && on) {
        fail(L, wal,
             "receiver_wal: the receiver log lives in the checkpoint directory: add "
             "'checkpoint: DIR' (see docs/receiver-wal.md)");
        return -1;
    }
    return 0;
}

/* http: {address: HOST:PORT}: the HTTP server (docs/operations.md). */
static int apply_http(loader *L, yaml_node_t *root) {
    yaml_node_t *h = map_get(L, root, "http");
    if (!h)
        return 0;
    if (h->type != YAML_MAPPING_NODE) {
        fail(L, h, "http: expected a mapping like {address: 127.0.0.1:4195}, got %s", node_kind(h));
        return -1;
    }
    if (check_keys(L, h, "http") < 0)
        return -1;
    for (yaml_node_pair_t *p = h->data.mapping.pairs.start; p < h->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_get(L, p->key);
        if (strcmp(raw_text(k), "address") != 0) {
            fail(L, k, "unknown key '%s' in http (expected: address)", raw_text(k));
            return -1;
        }
    }
    yaml_node_t *a = map_get(L, h, "address");
    if (!a) {
        fail(L, h, "http: missing 'address' (HOST:PORT, like 127.0.0.1:4195)");
        return -1;
    }
    const char *v = scalar_value(L, a, "http.address", "HOST:PORT");
    if (!v)
        return -1;
    if (sl_context_serve_http(L->ctx, v) < 0) {
        fail(L, a, "%s", ctx_message(L));
        return -1;
    }
    return 0;
}

/* Add one plugin_path entry, resolving a relative one against the file's
 * directory. */
static int add_plugin_path_entry(loader *L, yaml_node_t *n) {
    const char *v = scalar_value(L, n, "plugin_path", "a directory");
    if (!v)
        return -1;
    if (!*v) {
        fail(L, n, "plugin_path: expected a directory, got an empty string");
        return -1;
    }
    const char *dir = v;
    if (v[0] != '/' && L->basedir[0]) {
        size_t len = strlen(L->basedir) + 1 + strlen(v) + 1;
        char *joined = pool_alloc(L, len);
        if (!joined) {
            fail_oom(L);
            return -1;
        }
        snprintf(joined, len, "%s/%s", L->basedir, v);
        dir = joined;
    }
    if (sl_context_add_plugin_dir(L->ctx, dir) < 0) {
        fail(L, n, "plugin_path: '%s': %s", dir, ctx_message(L));
        return -1;
    }
    return 0;
}

/* Add the caller's plugin directories, then the file's plugin_path (a list
 * of directories, or one). */
static int add_plugin_dirs(loader *L, yaml_node_t *root, const char *const *dirs) {
    for (size_t i = 0; dirs && dirs[i]; i++) {
        if (sl_context_add_plugin_dir(L->ctx, dirs[i]) < 0) {
            fail_plain(L, "plugin directory '%s': %s", dirs[i], ctx_message(L));
            return -1;
        }
    }
    yaml_node_t *n = map_get(L, root, "plugin_path");
    if (!n)
        return 0;
    if (n->type == YAML_MAPPING_NODE) {
        fail(L, n, "plugin_path: expected a list of directories, got a mapping");
        return -1;
    }
    if (is_scalar(n))
        return add_plugin_path_entry(L, n);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
        if (add_plugin_path_entry(L, node_get(L, *it)) < 0)
            return -1;
    return 0;
}

/* ---- operations -------------------------------------------------------------- */

enum {
    KEY_FROM = 1 << 0,          /* `from: STREAM` */
    KEY_PARTITIONS = 1 << 1,    /* `partitions: N` */
    KEY_MEMORY_LIMIT = 1 << 2,  /* `memory_limit: SIZE` (state) */
    KEY_INITIAL_STATE = 1 << 3, /* `initial_state: FILE` (state) */
    KEY_WINDOW = 1 << 4,        /* `length: DURATION` (a window's) */
    KEY_SLIDE = 1 << 5,         /* `slide: DURATION` */
    KEY_INVERSE = 1 << 6,       /* `inverse: BOOL` (reduce_by_key_and_window) */
    KEY_FILTER = 1 << 7,        /* `filter_fn: COMPONENT` (reduce_by_key_and_window) */
    KEY_TIMEOUT = 1 << 8,       /* `timeout: DURATION` (map_with_state) */
    KEY_NAME = 1 << 9           /* `name: TEXT` (an output's) */
};

typedef enum op_shape {
    SHAPE_COMPONENT, /* op: COMPONENT (+ from, engine keys, parameters) */
    SHAPE_STREAM,    /* op: STREAM (+ engine keys) */
    SHAPE_UNION,     /* union: [A, B, ...] */
    SHAPE_PAIR       /* join: [A, B] */
} op_shape;

typedef enum op_id {
    OP_SOURCE,
    OP_MAP,
    OP_FLAT_MAP,
    OP_FILTER,
    OP_MAP_VALUES,
    OP_FLAT_MAP_VALUES,
    OP_TRANSFORM,
    OP_REDUCE_BY_KEY,
    OP_REDUCE,
    OP_COUNT,
    OP_COUNT_BY_VALUE,
    OP_UNION,
    OP_REPARTITION,
    OP_UPDATE_STATE_BY_KEY,
    OP_MAP_WITH_STATE,
    OP_STATE_SNAPSHOTS,
    OP_OPERATOR,
    OP_WINDOW,
    OP_COUNT_BY_WINDOW,
    OP_REDUCE_BY_WINDOW,
    OP_REDUCE_BY_KEY_AND_WINDOW,
    OP_COUNT_BY_VALUE_AND_WINDOW,
    OP_GROUP_BY_KEY_AND_WINDOW,
    OP_GROUP_BY_KEY,
    OP_JOIN,
    OP_LEFT_OUTER_JOIN,
    OP_RIGHT_OUTER_JOIN,
    OP_FULL_OUTER_JOIN,
    OP_COGROUP
} op_id;

typedef struct op_info {
    const char *name;
    op_id id;
    op_shape shape;
    int kind;          /* sl_component_kind of a SHAPE_COMPONENT op */
    unsigned keys;     /* KEY_* the op takes */
    unsigned required; /* KEY_* it requires */
} op_info;

static const op_info ops[] = {
    {"source", OP_SOURCE, SHAPE_COMPONENT, SL_COMPONENT_SOURCE, 0, 0},
    {"map", OP_MAP, SHAPE_COMPONENT, SL_COMPONENT_MAP, KEY_FROM, KEY_FROM},
    {"flat_map", OP_FLAT_MAP, SHAPE_COMPONENT, SL_COMPONENT_MAP, KEY_FROM, KEY_FROM},
    {"filter", OP_FILTER, SHAPE_COMPONENT, SL_COMPONENT_MAP, KEY_FROM, KEY_FROM},
    {"map_values", OP_MAP_VALUES, SHAPE_COMPONENT, SL_COMPONENT_MAP, KEY_FROM, KEY_FROM},
    {"flat_map_values", OP_FLAT_MAP_VALUES, SHAPE_COMPONENT, SL_COMPONENT_MAP, KEY_FROM, KEY_FROM},
    {"transform", OP_TRANSFORM, SHAPE_COMPONENT, SL_COMPONENT_MAP, KEY_FROM, KEY_FROM},
    {"reduce_by_key", OP_REDUCE_BY_KEY, SHAPE_COMPONENT, SL_COMPONENT_REDUCE,
     KEY_FROM | KEY_PARTITIONS, KEY_FROM},
    {"reduce", OP_REDUCE, SHAPE_COMPONENT, SL_COMPONENT_REDUCE, KEY_FROM, KEY_FROM},
    {"count", OP_COUNT, SHAPE_STREAM, 0, 0, 0},
    {"count_by_value", OP_COUNT_BY_VALUE, SHAPE_STREAM, 0, KEY_PARTITIONS, 0},
    {"union", OP_UNION, SHAPE_UNION, 0, 0, 0},
    {"repartition", OP_REPARTITION, SHAPE_STREAM, 0, KEY_PARTITIONS, KEY_PARTITIONS},
    /* an UPDATE or a REDUCE component: kind 0 accepts any, the builder checks */
    {"update_state_by_key", OP_UPDATE_STATE_BY_KEY, SHAPE_COMPONENT, 0,
     KEY_FROM | KEY_MEMORY_LIMIT | KEY_INITIAL_STATE, KEY_FROM},
    {"map_with_state", OP_MAP_WITH_STATE, SHAPE_COMPONENT, SL_COMPONENT_UPDATE,
     KEY_FROM | KEY_MEMORY_LIMIT | KEY_TIMEOUT | KEY_INITIAL_STATE, KEY_FROM},
    {"state_snapshots", OP_STATE_SNAPSHOTS, SHAPE_STREAM, 0, 0, 0},
    {"operator", OP_OPERATOR, SHAPE_COMPONENT, SL_COMPONENT_OPERATOR, KEY_FROM, KEY_FROM},
    {"window", OP_WINDOW, SHAPE_STREAM, 0, KEY_WINDOW | KEY_SLIDE, KEY_WINDOW},
    {"count_by_window", OP_COUNT_BY_WINDOW, SHAPE_STREAM, 0, KEY_WINDOW | KEY_SLIDE, KEY_WINDOW},
    {"reduce_by_window", OP_REDUCE_BY_WINDOW, SHAPE_COMPONENT, SL_COMPONENT_REDUCE,
     KEY_FROM | KEY_WINDOW | KEY_SLIDE, KEY_FROM | KEY_WINDOW},
    {"reduce_by_key_and_window", OP_REDUCE_BY_KEY_AND_WINDOW, SHAPE_COMPONENT, SL_COMPONENT_REDUCE,
     KEY_FROM | KEY_WINDOW | KEY_SLIDE | KEY_INVERSE | KEY_FILTER, KEY_FROM | KEY_WINDOW},
    {"count_by_value_and_window", OP_COUNT_BY_VALUE_AND_WINDOW, SHAPE_STREAM, 0,
     KEY_WINDOW | KEY_SLIDE, KEY_WINDOW},
    {"group_by_key_and_window", OP_GROUP_BY_KEY_AND_WINDOW, SHAPE_STREAM, 0, KEY_WINDOW | KEY_SLIDE,
     KEY_WINDOW},
    {"group_by_key", OP_GROUP_BY_KEY, SHAPE_STREAM, 0, 0, 0},
    {"join", OP_JOIN, SHAPE_PAIR, 0, 0, 0},
    {"left_outer_join", OP_LEFT_OUTER_JOIN, SHAPE_PAIR, 0, 0, 0},
    {"right_outer_join", OP_RIGHT_OUTER_JOIN, SHAPE_PAIR, 0, 0, 0},
    {"full_outer_join", OP_FULL_OUTER_JOIN, SHAPE_PAIR, 0, 0, 0},
    {"cogroup", OP_COGROUP, SHAPE_PAIR, 0, 0, 0},
};
#define N_OPS (sizeof ops / sizeof ops[0])

static const char op_list[] = "source, map, flat_map, filter, map_values, flat_map_values, "
                              "transform, reduce_by_key, reduce, count, count_by_value, union, "
                              "repartition, update_state_by_key, map_with_state, "
                              "state_snapshots, operator, window, count_by_window, "
                              "reduce_by_window, reduce_by_key_and_window, "
                              "count_by_value_and_window, group_by_key_and_window, group_by_key, "
                              "join, left_outer_join, right_outer_join, full_outer_join, cogroup";

static const op_info *op_find(const char *name) {
    for (size_t i = 0; i < N_OPS; i++)
        if (strcmp(ops[i].name, name) == 0)
            return &ops[i];
    return NULL;
}

/* Find the one operation key of a stream definition. */
static const op_info *find_op(loader *L, const stream_def *d, yaml_node_t **opval) {
    const op_info *found = NULL;
    yaml_node_t *found_key = NULL;
    yaml_node_t *body = d->body;
    for (yaml_node_pair_t *p = body->data.mapping.pairs.start; p < body->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_get(L, p->key);
        const op_info *op = op_find(raw_text(k));
        if (!op)
            continue;
        if (found) {
            fail(L, k,
                 "stream '%s' has two operations, '%s' (line %zu) and '%s' (expected exactly "
                 "one of: %s)",
                 d->name, found->name, found_key->start_mark.line + 1, op->name, op_list);
            return NULL;
        }
        found = op;
        found_key = k;
        *opval = node_get(L, p->value);
    }
    if (!found)
        fail(L, body, "stream '%s' has no operation (expected exactly one of: %s)", d->name,
             op_list);
    return found;
}

/* The keys a stream or output may have besides its operation key, for
 * "expected one of" lists: engine keys, then the component's parameters. */
/* The names of the engine keys, by bit (KEY_FROM is bit 0). */
/* (a window's length is `length`, and the incremental window's filter
 * `filter_fn`: `window` and `filter` are operations) */
static const char *const engine_key_names[] = {
    "from",  "partitions", "memory_limit", "initial_state", "length",
    "slide", "inverse",    "filter_fn",    "timeout",       "name"};
#define N_ENGINE_KEYS (sizeof engine_key_names / sizeof *engine_key_names)

/* The engine keys found in a stream or output definition, by bit. */
typedef struct engine_vals {
    yaml_node_t *v[N_ENGINE_KEYS];
} engine_vals;

static void expected_keys(char *buf, size_t cap, unsigned keys, const sl_component *c) {
    const char *names[64];
    size_t n = 0;
    for (size_t b = 0; b < N_ENGINE_KEYS; b++)
        if (keys & (1u << b))
            names[n++] = engine_key_names[b];
    for (const sl_param_spec *p = c ? c->params : NULL; p && p->name && n < 64; p++)
        names[n++] = p->name;
    join_names(buf, cap, names, n);
}

/* Is `key` a parameter of component `c`? */
static int is_param(const sl_component *c, const char *key) {
    for (const sl_param_spec *p = c ? c->params : NULL; p && p->name; p++)
        if (strcmp(p->name, key) == 0)
            return 1;
    return 0;
}

/* The engine key bit `key` names among `keys`, or -1. */
static int engine_key(unsigned keys, const char *key) {
    for (size_t b = 0; b < N_ENGINE_KEYS; b++)
        if ((keys & (1u << b)) && strcmp(key, engine_key_names[b]) == 0)
            return (int)b;
    return -1;
}

/* Append `piece` (n bytes) to the text being built in *buf (pool memory,
 * grown by reallocation into the pool: the pool frees the old copies). */
static int text_append(loader *L, char **buf, size_t *len, size_t *cap, const char *piece,
                       size_t n) {
    if (*len + n + 1 > *cap) {
        size_t ncap = (*len + n + 1) * 2;
        char *nb = pool_alloc(L, ncap);
        if (!nb)
            return -1;
        if (*len)
            memcpy(nb, *buf, *len);
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, piece, n);
    *len += n;
    (*buf)[*len] = 0;
    return 0;
}

/* The text a parameter receives from a list or a mapping of scalars: a
 * list's items joined by commas (`topics: [a, b]` is "a,b"), a mapping's
 * entries as name=value lines (Kafka's `properties`). Values are expanded
 * (${VAR}); an item with a comma, a name with '=' or a newline, or a
 * nested list or mapping is an error at its own line and column. */
static const char *param_text(loader *L, const char *key, yaml_node_t *v) {
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int map = v->type == YAML_MAPPING_NODE;
    size_t n = map ? (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start)
                   : (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0)
        return "";
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *name = map ? node_get(L, v->data.mapping.pairs.start[i].key) : NULL;
        yaml_node_t *item = node_get(L, map ? v->data.mapping.pairs.start[i].value
                                            : v->data.sequence.items.start[i]);
        yaml_node_t *bad = name && !is_scalar(name) ? name : !is_scalar(item) ? item : NULL;
        if (bad) {
            fail(L, bad, "parameter '%s': expected %s of scalars, got %s inside it", key,
                 map ? "a mapping" : "a list", node_kind(bad));
            return NULL;
        }
        const char *text = expand(L, item);
        if (!text)
            return NULL;
        if (map && strpbrk(raw_text(name), "=\n")) {
            fail(L, name, "parameter '%s': a name with '=' or a newline", key);
            return NULL;
        }
        if ((!map && strchr(text, ',')) || strchr(text, '\n')) {
            fail(L, item, "parameter '%s': an item with %s cannot be passed in a %s", key,
                 strchr(text, '\n') ? "a newline" : "a comma", map ? "mapping" : "list");
            return NULL;
        }
        if ((i && text_append(L, &buf, &len, &cap, map ? "\n" : ",", 1) < 0) ||
            (map && (text_append(L, &buf, &len, &cap, raw_text(name), strlen(raw_text(name))) < 0 ||
                     text_append(L, &buf, &len, &cap, "=", 1) < 0)) ||
            text_append(L, &buf, &len, &cap, text, strlen(text)) < 0) {
            fail_oom(L);
            return NULL;
        }
    }
    return buf;
}

/* Sort the keys of `body` (a stream or an output) except `opkey`: engine
 * keys in `keys` go to ev (by bit), parameters of `c` to `pl`. Anything
 * else is an error naming `where`. */
static int sort_keys(loader *L, yaml_node_t *body, const char *opkey, unsigned keys,
                     const sl_component *c, const char *where, engine_vals *ev, param_list *pl) {
    memset(ev, 0, sizeof *ev);
    size_t npairs = (size_t)(body->data.mapping.pairs.top - body->data.mapping.pairs.start);
    pl->n = 0;
    pl->kv = pool_alloc(L, (2 * npairs + 1) * sizeof *pl->kv);
    pl->nodes = pool_alloc(L, (npairs + 1) * sizeof *pl->nodes);
    if (!pl->kv || !pl->nodes) {
        fail_oom(L);
        return -1;
    }
    for (yaml_node_pair_t *p = body->data.mapping.pairs.start; p < body->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_get(L, p->key), *v = node_get(L, p->value);
        const char *key = raw_text(k);
        if (strcmp(key, opkey) == 0)
            continue;
        int eb = engine_key(keys, key);
        if (eb >= 0) {
            ev->v[eb] = v;
        } else if (c && is_param(c, key)) {
            const char *val = is_scalar(v) ? expand(L, v) : param_text(L, key, v);
            if (!val)
                return -1;
            pl->kv[2 * pl->n] = key;
            pl->kv[2 * pl->n + 1] = val;
            pl->nodes[pl->n++] = v;
        } else {
            char list[512];
            expected_keys(list, sizeof list, keys, c);
            if (list[0])
                fail(L, k, "unknown key '%s' in %s (expected one of: %s)", key, where, list);
            else
                fail(L, k, "unknown key '%s' in %s ('%s' takes no other keys)", key, where, opkey);
            return -1;
        }
    }
    pl->kv[2 * pl->n] = NULL;
    return 0;
}

/* Report a failed builder: at the value of the parameter the engine blames,
 * if it is one we passed, else at `fallback` (the operation's value). A
 * message about the component `ref` ("queue: parameter 'path' ...") names
 * the stream or output too: "stream 'lines' (queue): parameter ...". */
static void fail_builder(loader *L, const param_list *pl, yaml_node_t *fallback, const char *where,
                         const char *ref) {
    const char *bad = sl_context_errparam(L->ctx);
    const char *msg = ctx_message(L);
    yaml_node_t *at = fallback;
    for (size_t i = 0; bad && pl && i < pl->n; i++)
        if (strcmp(pl->kv[2 * i], bad) == 0)
            at = pl->nodes[i];
    size_t n = ref ? strlen(ref) : 0;
    if (n && strncmp(msg, ref, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        fail(L, at, "%s (%s): %s", where, ref, msg + n + 2);
    else
        fail(L, at, "%s", msg);
}

/* Read `partitions: N` (a positive integer). */
static int read_partitions(loader *L, yaml_node_t *n, int *out) {
    long v;
    const char *exp = "a positive number of partitions";
    const char *s = scalar_value(L, n, "partitions", exp);
    if (!s)
        return -1;
    if (parse_int(s, 1, INT_MAX, &v) < 0) {
        fail(L, n, "partitions: expected %s, got '%s'", exp, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* ---- streams ----------------------------------------------------------------- */

static sl_stream *build_from(loader *L, stream_def *root);

/* By name only (bsearch in L->byname). */
static int cmp_name(const void *key, const void *elem) {
    return strcmp(key, ((const named *)elem)->name);
}

/* The definition called `name`, or NULL: a binary search, because a long
 * pipeline looks up every stream it reads from. */
static stream_def *def_find(loader *L, const char *name) {
    const named *hit = bsearch(name, L->byname, L->ndefs, sizeof *L->byname, cmp_name);
    return hit ? &L->defs[hit->index] : NULL;
}

/* Report a reference to a stream that does not exist, listing those that do. */
static void fail_unknown_stream(loader *L, yaml_node_t *ref, const char *name) {
    char list[512];
    size_t len = 0;
    list[0] = '\0';
    for (size_t i = 0; i < L->ndefs && len < sizeof list; i++) {
        int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", L->defs[i].name);
        if (w < 0 || (size_t)w >= sizeof list - len) {
            strcpy(list + sizeof list - 4, "...");
            break;
        }
        len += (size_t)w;
    }
    fail(L, ref, "unknown stream '%s' (defined streams: %s)", name, list);
}

/* Report a cycle: the streams on the stack from `target` up, then `target`. */
static void fail_cycle(loader *L, yaml_node_t *ref, const stream_def *target) {
    char path[512];
    size_t len = 0, i = 0;
    while (i < L->depth && L->stack[i] != target)
        i++;
    path[0] = '\0';
    for (; i < L->depth && len < sizeof path; i++) {
        int w = snprintf(path + len, sizeof path - len, "%s -> ", L->stack[i]->name);
        if (w < 0 || (size_t)w >= sizeof path - len)
            break;
        len += (size_t)w;
    }
    if (len < sizeof path)
        snprintf(path + len, sizeof path - len, "%s", target->name);
    fail(L, ref, "cycle in stream references: %s (each name reads 'from' the next)", path);
}

/* The stream that node `ref` (a scalar naming a stream) refers to, built if
 * it was not yet. `what` names the key in errors ("from", "count"). */
static sl_stream *resolve(loader *L, yaml_node_t *ref, const char *what) {
    const char *name = scalar_value(L, ref, what, "the name of a stream");
    if (!name)
        return NULL;
    stream_def *t = def_find(L, name);
    if (!t) {
        fail_unknown_stream(L, ref, name);
        return NULL;
    }
    if (t->state == DEF_BUILDING) {
        fail_cycle(L, ref, t);
        return NULL;
    }
    return build_from(L, t); /* built already by build_from, unless def_ref missed it */
}

/* The window keys of a stream definition, read and checked. */
typedef struct win_args {
    int64_t window, slide; /* ms; slide 0 = the batch interval */
    bool inverse;
    const char *filter;
} win_args;

static int read_window_keys(loader *L, const engine_vals *ev, win_args *wa) {
    memset(wa, 0, sizeof *wa);
    const char *v;
    const char *exp = "a duration like 30s or 1m (a multiple of the batch interval)";
    for (int k = 4; k <= 5; k++) {
        yaml_node_t *n = ev->v[k];
        const char *key = engine_key_names[k];
        int64_t *out = k == 4 ? &wa->window : &wa->slide;
        if (!n)
            continue;
        if (!(v = scalar_value(L, n, key, exp)))
            return -1;
        if (sl_parse_duration(v, out) != 0 || *out <= 0) {
            fail(L, n, "%s: expected %s, got '%s'", key, exp, v);
            return -1;
        }
    }
    if (ev->v[6]) {
        int on;
        if (!(v = scalar_value(L, ev->v[6], "inverse", "true or false")))
            return -1;
        if (sl_parse_bool(v, &on) != 0) {
            fail(L, ev->v[6], "inverse: expected true or false, got '%s'", v);
            return -1;
        }
        wa->inverse = on != 0;
    }
    if (ev->v[7]) {
        if (!(wa->filter =
                  scalar_value(L, ev->v[7], "filter_fn", "a filter function like kv.nonzero")))
            return -1;
        if (!wa->inverse) {
            fail(L, ev->v[7], "filter_fn: only with inverse: true (Spark's filterFunc)");
            return -1;
        }
    }
    return 0;
}

/* The node to blame for a builder's error: the `length` or `slide` value
 * when the engine names one of them, else `fallback`. */
static yaml_node_t *window_blame(loader *L, const engine_vals *ev, yaml_node_t *fallback) {
    const char *bad = sl_context_errparam(L->ctx);
    if (bad && strcmp(bad, "window") == 0 && ev->v[4])
        return ev->v[4];
    if (bad && strcmp(bad, "slide") == 0 && ev->v[5])
        return ev->v[5];
    return fallback;
}

/* Call the builder of a component operation. */
static sl_stream *call_builder(loader *L, op_id id, sl_stream *in, const char *comp,
                               const char *const *kv, const win_args *wa) {
    switch (id) {
    case OP_REDUCE_BY_WINDOW:
        return sl_reduce_by_window(in, comp, kv, wa->window, wa->slide);
    case OP_REDUCE_BY_KEY_AND_WINDOW:
        return wa->inverse ? sl_reduce_by_key_and_window_inv(in, comp, kv, wa->window, wa->slide,
                                                             wa->filter, NULL)
                           : sl_reduce_by_key_and_window(in, comp, kv, wa->window, wa->slide);
    case OP_SOURCE:
        return sl_source(L->ctx, comp, kv);
    case OP_MAP:
        return sl_map(in, comp, kv);
    case OP_FLAT_MAP:
        return sl_flat_map(in, comp, kv);
    case OP_FILTER:
        return sl_filter(in, comp, kv);
    case OP_MAP_VALUES:
        return sl_map_values(in, comp, kv);
    case OP_FLAT_MAP_VALUES:
        return sl_flat_map_values(in, comp, kv);
    case OP_TRANSFORM:
        return sl_transform(in, comp, kv);
    case OP_REDUCE_BY_KEY:
        return sl_reduce_by_key(in, comp, kv);
    case OP_REDUCE:
        return sl_reduce(in, comp, kv);
    case OP_UPDATE_STATE_BY_KEY:
        return sl_update_state_by_key(in, comp, kv);
    case OP_MAP_WITH_STATE:
        return sl_map_with_state(in, comp, kv, 0); /* timeout: set by apply_state_keys */
    case OP_OPERATOR:
        return sl_operator(in, comp, kv);
    default:
        return NULL;
    }
}

/* memory_limit and initial_state of a stateful stream. */
static sl_stream *apply_state_keys(loader *L, sl_stream *s, const engine_vals *ev) {
    yaml_node_t *n;
    const char *v;
    if ((n = ev->v[2])) {
        uint64_t bytes;
        const char *exp = "a size like 512MiB or 2GiB";
        if (!(v = scalar_value(L, n, "memory_limit", exp)))
            return NULL;
        if (sl_parse_size(v, &bytes) != 0 || bytes == 0 || bytes > SIZE_MAX) {
            fail(L, n, "memory_limit: expected %s, got '%s'", exp, v);
            return NULL;
        }
        if (!sl_stream_set_state_limit(s, (size_t)bytes)) {
            fail(L, n, "memory_limit: %s", ctx_message(L));
            return NULL;
        }
    }
    if ((n = ev->v[8])) {
        int64_t ms;
        const char *exp = "a duration like 30s or 10m";
        if (!(v = scalar_value(L, n, "timeout", exp)))
            return NULL;
        if (sl_parse_duration(v, &ms) != 0 || ms <= 0 || !sl_stream_set_timeout(s, ms)) {
            fail(L, n, "timeout: expected %s, got '%s'", exp, v);
            return NULL;
        }
    }
    if ((n = ev->v[3])) {
        if (!(v = scalar_value(L, n, "initial_state", "a JSON Lines file")))
            return NULL;
        if (!sl_stream_set_initial_state(s, v)) {
            fail(L, n, "initial_state: %s", ctx_message(L));
            return NULL;
        }
    }
    return s;
}

/* Build `op: COMPONENT` with its `from`, engine keys and parameters. */
static sl_stream *build_component_op(loader *L, stream_def *d, const op_info *op,
                                     yaml_node_t *opval, const char *where) {
    const char *comp = scalar_value(L, opval, op->name, "a component name like text.split");
    if (!comp)
        return NULL;
    const sl_component *c = sl_context_component(L->ctx, comp, op->kind);
    if (!c) {
        fail(L, opval, "%s", ctx_message(L));
        return NULL;
    }
    yaml_node_t *from = NULL, *parts = NULL;
    param_list pl;
    engine_vals ev;
    if (sort_keys(L, d->body, op->name, op->keys, c, where, &ev, &pl) < 0)
        return NULL;
    from = ev.v[0];
    parts = ev.v[1];
    sl_stream *in = NULL;
    if (op->keys & KEY_FROM) {
        if (!from) {
            fail(L, d->body, "stream '%s': missing 'from: STREAM' (the input of %s)", d->name,
                 op->name);
            return NULL;
        }
        if (!(in = resolve(L, from, "from")))
            return NULL;
    }
    win_args wa;
    if (read_window_keys(L, &ev, &wa) < 0)
        return NULL;
    if ((op->required & KEY_WINDOW) && !ev.v[4]) {
        fail(L, d->body, "stream '%s': missing 'length: DURATION' (the window's, required by %s)",
             d->name, op->name);
        return NULL;
    }
    sl_stream *s = call_builder(L, op->id, in, comp, pl.kv, &wa);
    if (!s) {
        fail_builder(L, &pl, window_blame(L, &ev, opval), where, comp);
        return NULL;
    }
    int n;
    if (parts) {
        if (read_partitions(L, parts, &n) < 0)
            return NULL;
        if (!sl_stream_set_partitions(s, n)) {
            fail(L, parts, "partitions: %s", ctx_message(L));
            return NULL;
        }
    }
    return apply_state_keys(L, s, &ev);
}

/* Build count, count_by_value or repartition: `op: STREAM` (+ partitions). */
static sl_stream *build_stream_op(loader *L, stream_def *d, const op_info *op, yaml_node_t *opval,
                                  const char *where) {
    yaml_node_t *parts = NULL;
    param_list pl;
    engine_vals ev;
    if (sort_keys(L, d->body, op->name, op->keys, NULL, where, &ev, &pl) < 0)
        return NULL;
    parts = ev.v[1];
    if ((op->required & KEY_PARTITIONS) && !parts) {
        fail(L, d->body, "stream '%s': missing 'partitions: N' (required by %s)", d->name,
             op->name);
        return NULL;
    }
    int n = 0;
    if (parts && read_partitions(L, parts, &n) < 0)
        return NULL;
    sl_stream *in = resolve(L, opval, op->name);
    if (!in)
        return NULL;
    sl_stream *s;
    win_args wa;
    if (read_window_keys(L, &ev, &wa) < 0)
        return NULL;
    if ((op->required & KEY_WINDOW) && !ev.v[4]) {
        fail(L, d->body, "stream '%s': missing 'length: DURATION' (the window's, required by %s)",
             d->name, op->name);
        return NULL;
    }
    if (op->id == OP_WINDOW)
        s = sl_window(in, wa.window, wa.slide);
    else if (op->id == OP_COUNT_BY_WINDOW)
        s = sl_count_by_window(in, wa.window, wa.slide);
    else if (op->id == OP_COUNT_BY_VALUE_AND_WINDOW)
        s = sl_count_by_value_and_window(in, wa.window, wa.slide);
    else if (op->id == OP_GROUP_BY_KEY_AND_WINDOW)
        s = sl_group_by_key_and_window(in, wa.window, wa.slide);
    else if (op->id == OP_GROUP_BY_KEY)
        s = sl_group_by_key(in);
    else if (op->id == OP_STATE_SNAPSHOTS)
        s = sl_state_snapshots(in);
    else if (op->id == OP_COUNT)
        s = sl_count(in);
    else if (op->id == OP_COUNT_BY_VALUE)
        s = sl_count_by_value(in);
    else
        s = sl_repartition(in, n);
    if (!s) {
        fail(L, window_blame(L, &ev, op->id == OP_REPARTITION ? parts : opval), "%s",
             ctx_message(L));
        return NULL;
    }
    if (parts && op->id == OP_COUNT_BY_VALUE && !sl_stream_set_partitions(s, n)) {
        fail(L, parts, "partitions: %s", ctx_message(L));
        return NULL;
    }
    return s;
}

/* Build `union: [A, B, ...]` by folding sl_union over the list. */
static sl_stream *build_union(loader *L, stream_def *d, const op_info *op, yaml_node_t *opval,
                              const char *where) {
    param_list pl;
    engine_vals ev;
    if (sort_keys(L, d->body, op->name, op->keys, NULL, where, &ev, &pl) < 0)
        return NULL;
    yaml_node_item_t *items = NULL;
    size_t n = 0;
    if (opval->type == YAML_SEQUENCE_NODE) {
        items = opval->data.sequence.items.start;
        n = (size_t)(opval->data.sequence.items.top - items);
    }
    if (n < 2) {
        fail(L, opval, "union: expected a list of two or more streams like [a, b], got %s",
             opval->type == YAML_SEQUENCE_NODE ? "a shorter list" : node_kind(opval));
        return NULL;
    }
    sl_stream *acc = NULL;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *ref = node_get(L, items[i]);
        sl_stream *s = resolve(L, ref, "union");
        if (!s)
            return NULL;
        if (acc && !(acc = sl_union(acc, s))) {
            fail(L, ref, "%s", ctx_message(L));
            return NULL;
        }
        if (!acc)
            acc = s;
    }
    return acc;
}

/* Build `join: [A, B]` and the other two-stream operations. */
static sl_stream *build_pair(loader *L, stream_def *d, const op_info *op, yaml_node_t *opval,
                             const char *where) {
    param_list pl;
    engine_vals ev;
    if (sort_keys(L, d->body, op->name, op->keys, NULL, where, &ev, &pl) < 0)
        return NULL;
    yaml_node_item_t *items = NULL;
    if (opval->type == YAML_SEQUENCE_NODE &&
        opval->data.sequence.items.top - opval->data.sequence.items.start == 2)
        items = opval->data.sequence.items.start;
    if (!items) {
        fail(L, opval, "%s: expected a list of two streams like [a, b], got %s", op->name,
             opval->type == YAML_SEQUENCE_NODE ? "another number of streams" : node_kind(opval));
        return NULL;
    }
    sl_stream *a = resolve(L, node_get(L, items[0]), op->name);
    sl_stream *b = a ? resolve(L, node_get(L, items[1]), op->name) : NULL;
    if (!b)
        return NULL;
    sl_stream *s = op->id == OP_JOIN               ? sl_join(a, b)
                   : op->id == OP_LEFT_OUTER_JOIN  ? sl_left_outer_join(a, b)
                   : op->id == OP_RIGHT_OUTER_JOIN ? sl_right_outer_join(a, b)
                   : op->id == OP_FULL_OUTER_JOIN  ? sl_full_outer_join(a, b)
                                                   : sl_cogroup(a, b);
    if (!s)
        fail(L, opval, "%s", ctx_message(L));
    return s;
}

/* Build the stream of definition `d`, whose inputs are built, and name it. */
static sl_stream *build_stream(loader *L, stream_def *d) {
    const op_info *op = d->op;
    yaml_node_t *opval = d->opval;
    char where[256];
    snprintf(where, sizeof where, "stream '%s'", d->name);
    sl_stream *s;
    if (op->shape == SHAPE_COMPONENT)
        s = build_component_op(L, d, op, opval, where);
    else if (op->shape == SHAPE_STREAM)
        s = build_stream_op(L, d, op, opval, where);
    else if (op->shape == SHAPE_PAIR)
        s = build_pair(L, d, op, opval, where);
    else
        s = build_union(L, d, op, opval, where);
    if (!s)
        return NULL;
    if (!sl_stream_set_name(s, d->name)) {
        fail(L, d->key, "stream '%s': %s", d->name, ctx_message(L));
        return NULL;
    }
    d->state = DEF_BUILT;
    d->stream = s;
    return s;
}

/* The i-th stream reference of definition d (a node that should name a
 * stream), or NULL past the last: what its builder resolves, in that order. */
static yaml_node_t *def_ref(loader *L, const stream_def *d, size_t i) {
    const op_info *op = d->op;
    yaml_node_t *v = d->opval;
    if (op->shape == SHAPE_COMPONENT)
        return i == 0 && (op->keys & KEY_FROM) ? map_get(L, d->body, "from") : NULL;
    if (op->shape == SHAPE_STREAM)
        return i == 0 ? v : NULL;
    if (v->type != YAML_SEQUENCE_NODE)
        return NULL;
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n < 2 || (op->shape == SHAPE_PAIR && n != 2))
        return NULL; /* the builder refuses the list before it resolves any */
    return i < n ? node_get(L, v->data.sequence.items.start[i]) : NULL;
}

/* Put d on the build stack: it is being built from now on. */
static int enter(loader *L, stream_def *d) {
    d->state = DEF_BUILDING;
    d->next = 0;
    L->stack[L->depth++] = d;
    d->op = find_op(L, d, &d->opval);
    return d->op ? 0 : -1;
}

/* Build the stream of `root` after every stream it reads from, depth first
 * but without recursion (an explicit stack, L->stack): a chain of 20,000
 * streams written in reverse order overflowed the C stack. A reference back
 * to a stream on the stack is a cycle; a reference that names no stream is
 * left to the builder, which reports it where it is. Each definition is
 * entered once, so the stack never holds more than L->ndefs. */
static sl_stream *build_from(loader *L, stream_def *root) {
    if (root->state == DEF_BUILT)
        return root->stream;
    size_t base = L->depth;
    if (enter(L, root) < 0)
        return NULL;
    while (L->depth > base) {
        stream_def *d = L->stack[L->depth - 1];
        yaml_node_t *ref = def_ref(L, d, d->next++);
        if (!ref) {
            if (!build_stream(L, d))
                return NULL;
            L->depth--;
            continue;
        }
        if (!is_scalar(ref))
            continue;
        const char *name = expand(L, ref);
        if (!name)
            return NULL;
        stream_def *t = def_find(L, name);
        if (!t || t->state == DEF_BUILT)
            continue;
        if (t->state == DEF_BUILDING) {
            fail_cycle(L, ref, t);
            return NULL;
        }
        if (enter(L, t) < 0)
            return NULL;
    }
    return root->stream;
}

/* Index the `streams:` mapping, then build every stream in file order. */
static int build_streams(loader *L, yaml_node_t *root) {
    yaml_node_t *map = map_get(L, root, "streams");
    if (!map) {
        fail(L, root, "missing required key 'streams' (a mapping of stream names to definitions)");
        return -1;
    }
    if (map->type != YAML_MAPPING_NODE) {
        fail(L, map, "streams: expected a mapping of stream names to definitions, got %s",
             node_kind(map));
        return -1;
    }
    if (check_keys(L, map, "streams") < 0)
        return -1;
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (n == 0) {
        fail(L, map, "streams: expected at least one stream, like lines: {source: socket}");
        return -1;
    }
    L->defs = pool_alloc(L, n * sizeof *L->defs);
    L->stack = pool_alloc(L, n * sizeof *L->stack);
    if (!L->defs || !L->stack) {
        fail_oom(L);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *p = &map->data.mapping.pairs.start[i];
        stream_def *d = &L->defs[i];
        memset(d, 0, sizeof *d);
        d->key = node_get(L, p->key);
        d->body = node_get(L, p->value);
        d->name = raw_text(d->key);
        if (d->body->type != YAML_MAPPING_NODE) {
            fail(L, d->body,
                 "stream '%s': expected a mapping like {map: COMPONENT, from: STREAM}, got %s",
                 d->name, node_kind(d->body));
            return -1;
        }
        char where[256];
        snprintf(where, sizeof where, "stream '%s'", d->name);
        if (check_keys(L, d->body, where) < 0)
            return -1;
    }
    L->byname = pool_alloc(L, n * sizeof *L->byname);
    if (!L->byname) {
        fail_oom(L);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        L->byname[i] = (named){L->defs[i].name, i};
    qsort(L->byname, n, sizeof *L->byname, cmp_named);
    L->ndefs = n;
    for (size_t i = 0; i < n; i++)
        if (!build_from(L, &L->defs[i]))
            return -1;
    return 0;
}

/* ---- outputs ------------------------------------------------------------------ */

/* Build one output: `sink: COMPONENT`, `from: STREAM` and parameters. */
static int build_output(loader *L, yaml_node_t *body, int index) {
    char where[64];
    snprintf(where, sizeof where, "output %d", index);
    if (body->type != YAML_MAPPING_NODE) {
        fail(L, body, "%s: expected a mapping like {sink: pprint, from: STREAM}, got %s", where,
             node_kind(body));
        return -1;
    }
    if (check_keys(L, body, where) < 0)
        return -1;
    yaml_node_t *sinkval = map_get(L, body, "sink");
    if (!sinkval) {
        fail(L, body, "%s: missing 'sink: COMPONENT' (where the stream goes, e.g. pprint)", where);
        return -1;
    }
    const char *sink = scalar_value(L, sinkval, "sink", "a component name like pprint");
    if (!sink)
        return -1;
    L->sinks[index - 1] = sinkval;
    const sl_component *c = sl_context_component(L->ctx, sink, SL_COMPONENT_SINK);
    if (!c) {
        fail(L, sinkval, "%s", ctx_message(L));
        return -1;
    }
    yaml_node_t *from = NULL;
    param_list pl;
    engine_vals ev;
    if (sort_keys(L, body, "sink", KEY_FROM | KEY_NAME, c, where, &ev, &pl) < 0)
        return -1;
    from = ev.v[0];
    yaml_node_t *namev = ev.v[9];
    const char *name = namev ? scalar_value(L, namev, "name", "a name for the output") : NULL;
    if (namev && !name)
        return -1;
    if (!from) {
        fail(L, body, "%s: missing 'from: STREAM' (the stream to send to %s)", where, sink);
        return -1;
    }
    sl_stream *s = resolve(L, from, "from");
    if (!s)
        return -1;
    if (sl_output_named(s, name, sink, pl.kv) < 0) {
        bool bad_name = name && strncmp(ctx_message(L), "output name ", 12) == 0;
        fail_builder(L, &pl, bad_name ? namev : sinkval, where, sink);
        return -1;
    }
    L->outnames[index - 1] = name;
    return 0;
}

/* Build every entry of `outputs:` (a non-empty list), in order. */
static int build_outputs(loader *L, yaml_node_t *root) {
    yaml_node_t *list = map_get(L, root, "outputs");
    const char *exp = "a list of outputs like - {sink: pprint, from: STREAM}";
    if (!list) {
        fail(L, root, "missing required key 'outputs' (%s)", exp);
        return -1;
    }
    yaml_node_item_t *start = NULL, *top = NULL;
    if (list->type == YAML_SEQUENCE_NODE) {
        start = list->data.sequence.items.start;
        top = list->data.sequence.items.top;
    }
    if (start == top) {
        fail(L, list, "outputs: expected %s, got %s", exp,
             list->type == YAML_SEQUENCE_NODE ? "an empty list" : node_kind(list));
        return -1;
    }
    if (!(L->sinks = pool_alloc(L, (size_t)(top - start) * sizeof *L->sinks)) ||
        !(L->outnames = pool_alloc(L, (size_t)(top - start) * sizeof *L->outnames))) {
        fail_oom(L);
        return -1;
    }
    for (yaml_node_item_t *it = start; it < top; it++)
        if (build_output(L, node_get(L, *it), ++L->noutputs) < 0)
            return -1;
    return 0;
}

/* Create and destroy every component (sl_context_check) and report a
 * failure at the operation of the stream, or the sink of the output, that
 * the engine blames. */
static int check_components(loader *L) {
    if (sl_context_check(L->ctx) == 0)
        return 0;
    const char *who = sl_context_errstream(L->ctx);
    yaml_node_t *at = NULL;
    for (size_t i = 0; who && i < L->ndefs && !at; i++)
        if (strcmp(L->defs[i].name, who) == 0)
            at = L->defs[i].opval ? L->defs[i].opval : L->defs[i].key;
    int k = who && strncmp(who, "output-", 7) == 0 ? atoi(who + 7) : 0;
    for (int i = 0; who && !at && i < L->noutputs; i++)
        if (L->outnames[i] && strcmp(L->outnames[i], who) == 0)
            k = i + 1;
    if (!at && k >= 1 && k <= L->noutputs)
        at = L->sinks[k - 1];
    if (at)
        fail(L, at, "%s", ctx_message(L));
    else
        fail_plain(L, "%s: %s", L->name, ctx_message(L));
    return -1;
}

/* ---- parsing ------------------------------------------------------------------- */

/* Report a libyaml error at its problem position. */
static void fail_yaml(loader *L, const yaml_parser_t *p, const char *text, size_t len) {
    if (p->error == YAML_MEMORY_ERROR) {
        fail_oom(L);
        return;
    }
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset, not a mark: count lines. */
        size_t line = 1, col = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        fail_at(L, line, col, "invalid YAML: %s", problem);
        return;
    }
    size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
    if (p->context)
        fail_at(L, line, col, "invalid YAML: %s (%s at line %zu)", problem, p->context,
                p->context_mark.line + 1);
    else
        fail_at(L, line, col, "invalid YAML: %s", problem);
}

/* Parse the text into L->doc: exactly one document whose root is a mapping. */
static int parse(loader *L, const char *text, size_t len) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fail_oom(L);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc = -1;
    if (!yaml_parser_load(&parser, &L->doc)) {
        fail_yaml(L, &parser, text, len);
        memset(&L->doc, 0, sizeof L->doc);
        goto out;
    }
    yaml_node_t *root = yaml_document_get_root_node(&L->doc);
    if (!root) {
        fail_at(L, 1, 1,
                "the file is empty (expected a mapping with batch_interval, streams "
                "and outputs)");
        goto out;
    }
    if (root->type != YAML_MAPPING_NODE) {
        fail(L, root, "expected a mapping with batch_interval, streams and outputs, got %s",
             node_kind(root));
        goto out;
    }
    yaml_document_t extra;
    if (!yaml_parser_load(&parser, &extra)) {
        fail_yaml(L, &parser, text, len);
        goto out;
    }
    yaml_node_t *extra_root = yaml_document_get_root_node(&extra);
    if (extra_root)
        fail(L, extra_root, "expected a single YAML document, found a second one");
    else
        rc = 0;
    yaml_document_delete(&extra);
out:
    yaml_parser_delete(&parser);
    return rc;
}

/* The file is over SL_CONFIG_MAX_SIZE: a pipeline is a few kB, so this is
 * most likely the wrong file (or a device such as /dev/zero). */
static void fail_too_large(loader *L) {
    fail_plain(L,
               "%s: the file is larger than %u MiB, the limit for a pipeline file: is it the "
               "right file?",
               L->name, SL_CONFIG_MAX_SIZE >> 20);
}

/* Load a pipeline: parse, create the context, add plugin directories, then
 * build streams and outputs. Returns the context or NULL (error written). */
static sl_context *load(loader *L, const char *text, size_t len, const char *const *dirs) {
    if (len > SL_CONFIG_MAX_SIZE) {
        fail_too_large(L);
        return NULL;
    }
    int parsed = parse(L, text, len) == 0;
    yaml_node_t *root = parsed ? yaml_document_get_root_node(&L->doc) : NULL;
    if (root && check_top_keys(L, root) == 0 && !map_get(L, root, "batch_interval"))
        fail(L, root, "missing required key 'batch_interval' (a duration like 500ms, 5s or 1m)");
    else if (root && !L->failed) {
        L->ctx = sl_context_new(1000); /* the file's batch_interval is the first setting */
        if (!L->ctx)
            fail_oom(L);
        else if (apply_settings(L, root) == 0 && apply_http(L, root) == 0 &&
                 add_plugin_dirs(L, root, dirs) == 0 && build_streams(L, root) == 0 &&
                 build_outputs(L, root) == 0 && L->check)
            check_components(L);
    }
    if (L->failed) {
        sl_context_free(L->ctx);
        L->ctx = NULL;
    }
    yaml_document_delete(&L->doc);
    pool_free(L);
    return L->ctx;
}

/* Set up a loader for file `name` whose plugin_path resolves under `basedir`. */
static void loader_init(loader *L, const char *name, const char *basedir, char *err,
                        size_t errcap) {
    memset(L, 0, sizeof *L);
    L->name = name;
    L->basedir = basedir;
    L->err = err;
    L->errcap = errcap;
    if (err && errcap)
        err[0] = '\0';
}

/* The directory part of `path` in a malloc'd string ("" when it has none). */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (slash == path ? 1 : (size_t)(slash - path)) : 0;
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* Read a whole file into a malloc'd buffer; *len gets its size. Reads at
 * most SL_CONFIG_MAX_SIZE + 1 bytes, so that /dev/zero ends: a longer file
 * gives that length, which load() refuses. */
static char *read_file(const char *path, size_t *len, int *errnum) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        *errnum = errno;
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n > SL_CONFIG_MAX_SIZE)
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            char *nb = realloc(buf, cap);
            if (!nb) {
                *errnum = ENOMEM;
                goto fail;
            }
            buf = nb;
        }
        size_t want = cap - n, room = (size_t)SL_CONFIG_MAX_SIZE + 1 - n;
        size_t got = fread(buf + n, 1, want < room ? want : room, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                *errnum = errno ? errno : EIO;
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

/* ---- public API ---------------------------------------------------------------- */

/* Load from memory; relative plugin_path entries resolve against the
 * directory part of `name` (the current directory if it has none). */
static sl_context *load_string(const char *text, size_t len, const char *name,
                               const char *const *plugin_dirs, int check, char *err,
                               size_t errcap) {
    if (err && errcap)
        err[0] = '\0';
    if (!name)
        name = "<string>";
    if (!text) {
        if (err && errcap)
            snprintf(err, errcap, "%s: no configuration text given", name);
        return NULL;
    }
    char *dir = dir_of(name);
    if (!dir) {
        if (err && errcap)
            snprintf(err, errcap, "%s: out of memory", name);
        return NULL;
    }
    loader L;
    loader_init(&L, name, dir, err, errcap);
    L.check = check;
    sl_context *ctx = load(&L, text, len, plugin_dirs);
    free(dir);
    return ctx;
}

/* Load the file `path`, with sl_context_check too when `check` is set. */
static sl_context *load_file(const char *path, const char *const *plugin_dirs, int check, char *err,
                             size_t errcap) {
    if (err && errcap)
        err[0] = '\0';
    if (!path) {
        if (err && errcap)
            snprintf(err, errcap, "no configuration file given");
        return NULL;
    }
    size_t len = 0;
    int errnum = 0;
    char *text = read_file(path, &len, &errnum);
    if (!text) {
        if (err && errcap)
            snprintf(err, errcap, "%s: cannot read: %s", path, strerror(errnum));
        return NULL;
    }
    sl_context *ctx = load_string(text, len, path, plugin_dirs, check, err, errcap);
    free(text);
    return ctx;
}

SL_API sl_context *sl_config_load_file(const char *path, const char *const *plugin_dirs, char *err,
                                       size_t errcap) {
    return load_file(path, plugin_dirs, 0, err, errcap);
}

SL_API sl_context *sl_config_check_file(const char *path, const char *const *plugin_dirs, char *err,
                                        size_t errcap) {
    return load_file(path, plugin_dirs, 1, err, errcap);
}

SL_API sl_context *sl_config_load_string(const char *text, size_t len, const char *name,
                                         const char *const *plugin_dirs, char *err, size_t errcap) {
    return load_string(text, len, name, plugin_dirs, 0, err, errcap);
}

SL_API sl_context *sl_config_check_string(const char *text, size_t len, const char *name,
                                          const char *const *plugin_dirs, char *err,
                                          size_t errcap) {
    return load_string(text, len, name, plugin_dirs, 1, err, errcap);
}

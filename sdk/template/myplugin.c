/*
 * myplugin.c — a copy-me sluice plugin.
 *
 * Copy this folder, rename "myplugin" everywhere (file names, the descriptor's
 * name, component docs), build, and point sluice at the directory holding
 * myplugin.so. docs/plugin-guide.md walks through every part of this file.
 *
 * It offers two components, used from YAML as "<plugin>.<component>":
 *
 *   myplugin.prefix   MAP (shape ONE): puts the `prefix` parameter in front of
 *                     every bytes value; the key is kept.
 *                         out: {map: myplugin.prefix, from: lines, prefix: "> "}
 *   myplugin.longest  REDUCE: keeps the longest bytes value.
 *                         out: {reduce_by_key: myplugin.longest, from: pairs}
 *
 * The rules of the road, in short:
 *   - Export exactly one symbol, the entry function (SL_PLUGIN_ENTRY does it);
 *     build with -fvisibility=hidden so that nothing else leaks.
 *   - Call the engine only through `sl_api` (the host's function table): a
 *     plugin never links against libsluice.
 *   - Return 0 or a negative SL_E* code from every callback; on error fill
 *     `err` with sl_api->error_set(). Never exit(), abort() or longjmp().
 *   - Bytes you emit come from sl_alloc(out->mem, ...) (they live as long as
 *     the batch) or point into your input (zero copy) — never from malloc.
 */
#include <stdint.h>
#include <string.h>

/* The SDK: plugin.h (the ABI) includes record.h (values, records, emitters).
 * Found through `pkg-config --cflags sluice-sdk` or find_package(Sluice). */
#include <sluice/plugin.h>

/* ==== myplugin.prefix: a MAP component ======================================= */

/*
 * The parameter schema. The host checks the YAML (or the C params list)
 * against it before create() is called: unknown keys, missing required
 * parameters and values of the wrong type are configuration errors that name
 * file:line:col. Defaults are filled in by the host. The array ends with an
 * entry whose name is NULL.
 *
 * Fields: name, type, default (as written in YAML, or NULL), required, doc
 * (one line for `sluice plugins`), choices (SL_PARAM_ENUM only: "a|b|c").
 */
static const sl_param_spec prefix_params[] = {
    {"prefix", SL_PARAM_STRING, NULL, 1, "text put in front of every value", NULL, NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL},
};

/*
 * One instance per use in a pipeline. process() is called from several
 * worker threads at once on the same instance, so everything in here is
 * written in create() and only read afterwards.
 */
typedef struct prefix_inst {
    const char *prefix; /* points into the host's sl_params: valid until destroy */
    size_t len;
} prefix_inst;

/*
 * Create an instance from validated parameters. Memory that outlives a call
 * comes from the host's allocator (sl_api->malloc / calloc / free), so that
 * the engine can account for it. Store the instance in *instance; on failure
 * fill `err` and return a negative code (destroy is then not called).
 */
static int prefix_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    prefix_inst *pi = sl_api->calloc(1, sizeof *pi);
    if (!pi)
        return sl_api->error_set(err, SL_ENOMEM, "myplugin.prefix: out of memory");
    /* Required, so the host guarantees it is set. The string belongs to the
     * host and stays valid until destroy(): no need to copy it. */
    pi->prefix = sl_api->param_str(params, "prefix");
    pi->len = strlen(pi->prefix);
    /* Logging goes through the host, tagged with stream and component. */
    if (sl_api->log_enabled(SL_LOG_DEBUG))
        sl_api->log(h, SL_LOG_DEBUG, "prefix is \"%s\"", pi->prefix);
    *instance = pi;
    return 0;
}

/* Free what create() allocated. Called once, after the last process(). */
static void prefix_destroy(void *instance) {
    sl_api->free(instance);
}

/*
 * The work: one output record per input record (shape SL_MAP_ONE). The input
 * chunk and everything it points to belong to the engine and are valid for
 * this call. The output bytes are new, so they are allocated from the
 * emitter's memory (out->mem), which lives as long as the batch; the key is
 * passed through as it is — a slice of the input, no copy.
 */
static int prefix_process(void *instance, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    const prefix_inst *pi = instance;
    for (size_t i = 0; i < in->count; i++) {
        const sl_record *r = &in->records[i];
        if (r->value.type != SL_BYTES)
            return sl_api->error_set(err, SL_ETYPE,
                                     "myplugin.prefix: expected a bytes value, got %s",
                                     sl_api->value_type_name(r->value.type));
        size_t n = pi->len + r->value.len;
        if (n > UINT32_MAX)
            return sl_api->error_set(err, SL_ELIMIT,
                                     "myplugin.prefix: value of %zu bytes is too long", n);
        char *buf = sl_alloc(out->mem, n ? n : 1);
        if (!buf)
            return sl_api->error_set(err, SL_ENOMEM, "myplugin.prefix: out of batch memory");
        memcpy(buf, pi->prefix, pi->len);
        if (r->value.len)
            memcpy(buf + pi->len, r->value.u.s, r->value.len);
        /* sl_emit may run the rest of the pipeline when the emitter's buffer
         * is full; if that fails, hand its code back unchanged. */
        int rc = sl_emit_kv(out, r->key, sl_bytes(buf, n), r->ts);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The ops of a MAP. struct_size lets the host tell which fields exist, so
 * always set it with sizeof. */
static const sl_map_ops prefix_ops = {
    sizeof(sl_map_ops),
    SL_MAP_ONE, /* one output per input: usable as map or map_values */
    prefix_process,
};

static const sl_component prefix_component = {
    sizeof(sl_component),
    SL_COMPONENT_MAP,
    "prefix", /* referenced as "myplugin.prefix" */
    "Puts the `prefix` parameter in front of every bytes value; keeps the key.",
    prefix_params,
    prefix_create,
    prefix_destroy,
    &prefix_ops,
};

/* ==== myplugin.longest: a REDUCE component ================================== */

/*
 * A reduction as in Spark's reduceByKey: the engine starts the accumulator
 * with the first value (there is no zero() here) and folds every further
 * value in with combine(). Partial results from several workers are merged
 * with merge(), or with combine() when merge is NULL, as here. The order in
 * which values arrive is not defined, so the result must not depend on it:
 * ties are broken by comparing the bytes.
 *
 * The result may point into the bytes of `acc` or `v` (the engine keeps them
 * alive), so keeping the longest value is a plain struct copy.
 */
static int longest_combine(void *instance, sl_value *acc, const sl_value *v, sl_mem *mem,
                           sl_error *err) {
    (void)instance; /* no state */
    (void)mem;      /* nothing new is allocated: the result is one of the inputs */
    if (acc->type != SL_BYTES || v->type != SL_BYTES)
        return sl_api->error_set(
            err, SL_ETYPE, "myplugin.longest: expected bytes values, got %s",
            sl_api->value_type_name(acc->type != SL_BYTES ? acc->type : v->type));
    if (v->len > acc->len ||
        (v->len == acc->len && v->len > 0 && memcmp(v->u.s, acc->u.s, v->len) < 0))
        *acc = *v;
    return 0;
}

/* No parameters and no state: the instance is NULL. create() is still the
 * place to check anything about the configuration. */
static int longest_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    (void)h;
    (void)params;
    (void)err;
    *instance = NULL;
    return 0;
}

/* Designated initializers: later ABI minors append fields (zero here). */
static const sl_reduce_ops longest_ops = {
    .struct_size = sizeof(sl_reduce_ops),
    .zero = NULL,               /* none: the first value starts the accumulator */
    .combine = longest_combine, /* acc = the longer of acc and v (may point into v) */
    .merge = NULL,              /* same as combine */
    .inverse = NULL,            /* none, so no windows with an inverse function */
    .flags = 0,                 /* acc points into the values: not SL_REDUCE_NO_INPUT_REFS */
};

static const sl_component longest_component = {
    sizeof(sl_component),
    SL_COMPONENT_REDUCE,
    "longest",
    "Keeps the longest bytes value (ties: the smallest bytes).",
    NULL, /* no parameters */
    longest_create,
    NULL, /* nothing to destroy */
    &longest_ops,
};

/* ==== the plugin descriptor ================================================== */

/* The components, terminated by NULL. */
static const sl_component *const components[] = {
    &prefix_component,
    &longest_component,
    NULL,
};

/*
 * The descriptor: data the host checks before it uses anything else.
 * SL_PLUGIN_HEADER fills in the magic, the ABI version of the headers this
 * file was compiled with and sizeof(sl_plugin). The name must equal the file
 * name without ".so": the host refuses myplugin.so if it says otherwise.
 */
static const sl_plugin myplugin = {
    SL_PLUGIN_HEADER,
    "myplugin",
    "0.1.0",
    "A copy-me example: a prefixing map and a longest-value reduction.",
    "MIT",
    components,
};

/* The one exported symbol: sluice_plugin_v1(host), which keeps the host's
 * function table in `sl_api` and returns the descriptor. */
SL_PLUGIN_ENTRY(myplugin)

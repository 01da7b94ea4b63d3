/*
 * json — MAP functions for JSON events: parse, get, pair.
 *
 *   json.parse  bytes -> the value the JSON text stands for (objects are
 *               SL_OBJECT values, true/false SL_BOOL, docs/json.md); a pair
 *               keeps its key.
 *   json.get    an object -> the value at `field` (a name or a dotted path,
 *               "user.address.city", "items.0.sku"); null when absent.
 *   json.pair   an object -> (the value at `key`, the value at `value`, or
 *               the whole object without `value`): the step before
 *               reduce_by_key.
 *
 * All three are one-in, one-out (`map`). Paths are split once, at create;
 * a repeated name resolves to its last occurrence (sl_object_getn).
 * process() runs concurrently on one instance: instances are read-only
 * after create.
 */
#include <stdio.h>
#include <string.h>

#include <sluice/plugin.h>

#define JSON_MAX_SEGMENTS 32

/* A dotted path, split at create. A segment made only of digits also
 * indexes a list (`idx` >= 0); otherwise `idx` is -1. */
typedef struct json_seg {
    const char *name; /* into json_path.text */
    size_t len;
    long idx;
} json_seg;

typedef struct json_path {
    char *text; /* sl_api->malloc'd copy of the parameter */
    size_t n;
    json_seg seg[JSON_MAX_SEGMENTS];
} json_path;

/* Split `spec` at its dots into p; 0 or an SL_ECONFIG naming `comp`/`param`. */
static int json_path_init(json_path *p, const char *spec, const char *comp, const char *param,
                          sl_error *err) {
    size_t len = strlen(spec);
    p->n = 0;
    if (!(p->text = sl_api->malloc(len + 1)))
        return sl_api->error_set(err, SL_ENOMEM, "%s: out of memory", comp);
    memcpy(p->text, spec, len + 1);
    for (char *s = p->text;;) {
        char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (n == 0 || p->n == JSON_MAX_SEGMENTS)
            return sl_api->error_set(err, SL_ECONFIG,
                                     "%s: %s '%s' is not a path: use names separated by single "
                                     "dots (at most %d), e.g. user.address.city",
                                     comp, param, spec, JSON_MAX_SEGMENTS);
        json_seg *g = &p->seg[p->n++];
        g->name = s, g->len = n, g->idx = -1;
        if (n < 10 && strspn(s, "0123456789") >= n) {
            g->idx = 0;
            for (size_t k = 0; k < n; k++)
                g->idx = g->idx * 10 + (s[k] - '0');
        }
        if (!dot)
            return 0;
        s = dot + 1;
    }
}

/* The value at path p inside v, or NULL when a step is missing. */
static const sl_value *json_path_get(const json_path *p, const sl_value *v) {
    for (size_t i = 0; i < p->n && v; i++) {
        const json_seg *g = &p->seg[i];
        if (v->type == SL_LIST)
            v = g->idx >= 0 && (uint32_t)g->idx < v->len ? &v->u.items[g->idx] : NULL;
        else
            v = sl_object_getn(v, g->name, g->len);
    }
    return v;
}

/* ---- json.parse ------------------------------------------------------------------ */

typedef struct json_parse_inst {
    int on_error_null; /* on_error: null (else fail) */
    sl_counter *c_errors;
} json_parse_inst;

static const sl_param_spec json_parse_params[] = {
    {"on_error", SL_PARAM_ENUM, "fail", 0,
     "text that is not JSON: stop with an error naming it, or emit null and count it (counter "
     "`errors`)",
     "fail|null", NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

static int json_parse_create(sl_handle *h, const sl_params *params, void **instance,
                             sl_error *err) {
    json_parse_inst *p = sl_api->calloc(1, sizeof *p);
    if (!p)
        return sl_api->error_set(err, SL_ENOMEM, "json.parse: out of memory");
    p->on_error_null = strcmp(sl_api->param_str(params, "on_error"), "null") == 0;
    p->c_errors = sl_api->counter(h, "errors");
    *instance = p;
    return 0;
}

/* A bad text: an error quoting its start, or null and a count. */
static int json_parse_bad(const json_parse_inst *p, const sl_value *v, const sl_error *perr,
                          sl_value *out, sl_error *err) {
    if (p->on_error_null) {
        sl_api->counter_add(p->c_errors, 1);
        *out = sl_null();
        return 0;
    }
    int n = v->len > 60 ? 60 : (int)v->len;
    return sl_api->error_set(err, SL_EINVAL,
                             "json.parse: %s in '%.*s%s' (on_error: null emits null instead)",
                             perr->msg, n, v->u.s, v->len > 60 ? "..." : "");
}

/* bytes -> value; a value that is not bytes is an error (or null). */
static int json_parse_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    const json_parse_inst *p = inst;
    for (size_t i = 0; i < in->count; i++) {
        const sl_record *r = &in->records[i];
        int rc;
        sl_record *o = sl_emit_slot(out, &rc);
        if (!o)
            return rc;
        o->key = r->key;
        o->ts = r->ts;
        if (r->value.type != SL_BYTES) {
            if (p->on_error_null) {
                sl_api->counter_add(p->c_errors, 1);
                o->value = sl_null();
                continue;
            }
            return sl_api->error_set(err, SL_ETYPE, "json.parse: expected bytes (text), got %s",
                                     sl_api->value_type_name(r->value.type));
        }
        sl_error perr;
        perr.msg[0] = 0;
        rc = sl_api->json_parse(r->value.u.s, r->value.len, &o->value, out->mem, &perr);
        if (rc == SL_ENOMEM)
            return sl_api->error_set(err, SL_ENOMEM, "json.parse: out of memory");
        if (rc < 0 && (rc = json_parse_bad(p, &r->value, &perr, &o->value, err)) < 0)
            return rc;
    }
    return 0;
}

static void json_free(void *instance) {
    sl_api->free(instance);
}

/* ---- json.get and json.pair --------------------------------------------------------- */

typedef struct json_fields {
    const char *comp; /* "json.get" or "json.pair" */
    json_path key;    /* json.get: the field */
    json_path value;  /* json.pair: the value's field (n == 0: the whole object) */
} json_fields;

static const sl_param_spec json_get_params[] = {
    {"field", SL_PARAM_STRING, NULL, 1,
     "the field: a name, or a dotted path through objects and list indexes (user.address.city, "
     "items.0.sku)",
     NULL, NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

static const sl_param_spec json_pair_params[] = {
    {"key", SL_PARAM_STRING, NULL, 1, "the field (or dotted path) that becomes the pair's key",
     NULL, NULL},
    {"value", SL_PARAM_STRING, NULL, 0,
     "the field (or dotted path) that becomes the pair's value; without it, the whole object", NULL,
     NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

static void json_fields_destroy(void *instance) {
    json_fields *f = instance;
    if (!f)
        return;
    sl_api->free(f->key.text);
    sl_api->free(f->value.text);
    sl_api->free(f);
}

/* Split the path parameters `kname` (required) and `vname` (optional). */
static int json_fields_create(const char *comp, const sl_params *params, const char *kname,
                              const char *vname, void **instance, sl_error *err) {
    json_fields *f = sl_api->calloc(1, sizeof *f);
    if (!f)
        return sl_api->error_set(err, SL_ENOMEM, "%s: out of memory", comp);
    f->comp = comp;
    int rc = json_path_init(&f->key, sl_api->param_str(params, kname), comp, kname, err);
    if (!rc && vname && sl_api->param_is_set(params, vname))
        rc = json_path_init(&f->value, sl_api->param_str(params, vname), comp, vname, err);
    if (rc) {
        json_fields_destroy(f);
        return rc;
    }
    *instance = f;
    return 0;
}

static int json_get_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    (void)h;
    return json_fields_create("json.get", params, "field", NULL, instance, err);
}

static int json_pair_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    (void)h;
    return json_fields_create("json.pair", params, "key", "value", instance, err);
}

/* Fields are read from objects (and lists, by index); null passes as
 * "nothing there"; anything else was not parsed: say so. */
static int json_check_input(const json_fields *f, const sl_value *v, sl_error *err) {
    if (v->type == SL_OBJECT || v->type == SL_LIST || v->type == SL_NULL)
        return 0;
    return sl_api->error_set(err, SL_ETYPE, "%s: expected an object, got %s%s", f->comp,
                             sl_api->value_type_name(v->type),
                             v->type == SL_BYTES ? " (parse it first: map: json.parse)" : "");
}

/* object -> the field's value (null when absent); a pair keeps its key. */
static int json_get_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    const json_fields *f = inst;
    for (size_t i = 0; i < in->count; i++) {
        const sl_record *r = &in->records[i];
        int rc = json_check_input(f, &r->value, err);
        if (rc < 0)
            return rc;
        sl_record *o = sl_emit_slot(out, &rc);
        if (!o)
            return rc;
        const sl_value *v = json_path_get(&f->key, &r->value);
        o->key = r->key;
        o->value = v ? *v : sl_null();
        o->ts = r->ts;
    }
    return 0;
}

/* object -> (key field, value field or the object); absent fields are null
 * (a null key makes the pair (None, v)). */
static int json_pair_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    const json_fields *f = inst;
    for (size_t i = 0; i < in->count; i++) {
        const sl_record *r = &in->records[i];
        int rc = json_check_input(f, &r->value, err);
        if (rc < 0)
            return rc;
        sl_record *o = sl_emit_slot(out, &rc);
        if (!o)
            return rc;
        const sl_value *k = json_path_get(&f->key, &r->value);
        const sl_value *v = f->value.n ? json_path_get(&f->value, &r->value) : &r->value;
        o->key = k ? sl_key(*k) : sl_null_key();
        o->value = v ? *v : sl_null();
        o->ts = r->ts;
    }
    return 0;
}

/* ---- descriptor ------------------------------------------------------------------- */

static const sl_map_ops json_parse_ops = {sizeof(sl_map_ops), SL_MAP_ONE, json_parse_process};
static const sl_map_ops json_get_ops = {sizeof(sl_map_ops), SL_MAP_ONE, json_get_process};
static const sl_map_ops json_pair_ops = {sizeof(sl_map_ops), SL_MAP_ONE, json_pair_process};

static const sl_component json_parse_component = {
    sizeof(sl_component),
    SL_COMPONENT_MAP,
    "parse",
    "text -> the JSON value it holds (objects stay objects); a pair keeps its key",
    json_parse_params,
    json_parse_create,
    json_free,
    &json_parse_ops};

static const sl_component json_get_component = {
    sizeof(sl_component),
    SL_COMPONENT_MAP,
    "get",
    "object -> the value of one field or dotted path (null when absent)",
    json_get_params,
    json_get_create,
    json_fields_destroy,
    &json_get_ops};

static const sl_component json_pair_component = {
    sizeof(sl_component),
    SL_COMPONENT_MAP,
    "pair",
    "object -> (key field, value field): the step before reduce_by_key",
    json_pair_params,
    json_pair_create,
    json_fields_destroy,
    &json_pair_ops};

static const sl_component *const json_components[] = {&json_parse_component, &json_get_component,
                                                      &json_pair_component, NULL};

static const sl_plugin json_plugin = {
    SL_PLUGIN_HEADER, "json", "0.1.0", "JSON events: parse text, get fields, make pairs", "MIT",
    json_components};

SL_PLUGIN_ENTRY(json_plugin)

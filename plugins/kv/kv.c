/*
 * kv — MAP functions that build and take apart pairs: pair, swap, keys,
 * values, tuple, and sort (for transform).
 *
 * The record model: a pair (k, v) is a record whose key is set; a plain
 * element has key null. A pair whose key is null therefore reads as the
 * plain element v — the functions below treat it so.
 *
 * process() runs concurrently on one instance: instances are read-only
 * after create.
 */
#include <stdio.h>
#include <string.h>

#include <sluice/plugin.h>

/* ---- shared helpers ------------------------------------------------------------- */

/* create() for the components without parameters: no instance needed. */
static int kv_create_none(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    (void)h;
    (void)params;
    (void)err;
    *instance = NULL;
    return 0;
}

/* The element a record stands for, as one value: v for a plain element,
 * the 2-item list [k, v] (allocated from `mem`) for a pair. Returns 0 or
 * SL_ENOMEM. */
/* A key as a plain value (a null key loses its "pair" mark). */
static sl_value kv_plain(sl_value k) {
    return k.type == SL_NULL ? sl_null() : k;
}

static int kv_element(const sl_record *r, sl_mem *mem, sl_value *out) {
    if (!sl_record_is_pair(r)) {
        *out = r->value;
        return 0;
    }
    sl_value *items = sl_alloc(mem, 2 * sizeof *items);
    if (!items)
        return SL_ENOMEM;
    items[0] = kv_plain(r->key);
    items[1] = r->value;
    *out = sl_list(items, 2);
    return 0;
}

/* ---- pair ----------------------------------------------------------------------- */

/* A block of instance memory for the parsed `value` param. */
typedef struct kv_block {
    struct kv_block *next;
    void *pad; /* keeps the data after the header 16-byte aligned */
} kv_block;

typedef struct kv_pair {
    sl_mem mem;       /* allocator over kv_block's, for json_parse at create */
    kv_block *blocks; /* freed in destroy */
    sl_value value;   /* the parsed `value`; may point into blocks */
} kv_pair;

static const sl_param_spec kv_pair_params[] = {
    {"value", SL_PARAM_STRING, "1", 0,
     "the value of every pair, as JSON: 1, 2.5, \"x\", null, [1, 2]", NULL, NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

/* sl_mem allocator for instance-owned memory: one sl_api->malloc block per
 * allocation, chained for destroy. Only used at create. */
static void *kv_pair_alloc(sl_mem *mem, size_t size) {
    kv_pair *p = mem->host_data;
    kv_block *b = sl_api->malloc(sizeof *b + (size ? size : 1));
    if (!b)
        return NULL;
    b->next = p->blocks;
    p->blocks = b;
    return b + 1;
}

static void kv_pair_destroy(void *instance) {
    kv_pair *p = instance;
    if (!p)
        return;
    for (kv_block *b = p->blocks, *next; b; b = next) {
        next = b->next;
        sl_api->free(b);
    }
    sl_api->free(p);
}

/* Parse the `value` param once; its bytes live in the instance. */
static int kv_pair_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    (void)h;
    const char *text = sl_api->param_str(params, "value");
    kv_pair *p = sl_api->calloc(1, sizeof *p);
    if (!p)
        return sl_api->error_set(err, SL_ENOMEM, "kv.pair: out of memory");
    p->mem.alloc = kv_pair_alloc;
    p->mem.host_data = p;
    if (!text || strcmp(text, "1") == 0) {
        p->value = sl_int(1);
    } else {
        sl_error perr;
        memset(&perr, 0, sizeof perr);
        if (sl_api->json_parse(text, strlen(text), &p->value, &p->mem, &perr) < 0) {
            kv_pair_destroy(p);
            return sl_api->error_set(err, SL_ECONFIG,
                                     "kv.pair: value '%s' is not JSON (%s); quote strings, e.g. "
                                     "value: '\"x\"'",
                                     text, perr.msg);
        }
    }
    *instance = p;
    return 0;
}

/* element -> (element, value). The word count's hot loop: for plain
 * elements, each output is written in place (sl_emit_slot), no allocation:
 * the element is copied whole from the input, so that no field-by-field
 * temporary is read back at once. */
static int kv_pair_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    const kv_pair *p = inst;
    for (size_t i = 0; i < in->count; i++) {
        const sl_record *r = &in->records[i];
        int rc;
        sl_record *o = sl_emit_slot(out, &rc);
        if (!o)
            return rc;
        if (!sl_record_is_pair(r)) {
            o->key = r->value;
            if (o->key.type == SL_NULL)
                o->key = sl_null_key(); /* None -> the pair (None, value) */
        } else if (kv_element(r, out->mem, &o->key) < 0) {
            return sl_api->error_set(err, SL_ENOMEM, "kv.pair: out of memory");
        }
        o->value = p->value;
        o->ts = r->ts;
    }
    return 0;
}

/* ---- swap, keys, values, tuple ----------------------------------------------- */

/* (k, v) -> (v, k). */
static int kv_swap_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)inst;
    (void)err;
    for (size_t i = 0; i < in->count; i++) {
        const sl_record *r = &in->records[i];
        int rc = sl_emit_kv(out, sl_key(r->value), kv_plain(r->key), r->ts);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* (k, v) -> k, as a plain element. */
static int kv_keys_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)inst;
    (void)err;
    for (size_t i = 0; i < in->count; i++) {
        const sl_record *r = &in->records[i];
        int rc = sl_emit_kv(out, sl_null(), kv_plain(r->key), r->ts);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* (k, v) -> v, as a plain element. */
static int kv_values_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)inst;
    (void)err;
    for (size_t i = 0; i < in->count; i++) {
        const sl_record *r = &in->records[i];
        int rc = sl_emit_kv(out, sl_null(), r->value, r->ts);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* (k, v) -> the plain element [k, v] (a list in out->mem). */
static int kv_tuple_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)inst;
    for (size_t i = 0; i < in->count; i++) {
        const sl_record *r = &in->records[i];
        sl_value *items = sl_alloc(out->mem, 2 * sizeof *items);
        if (!items)
            return sl_api->error_set(err, SL_ENOMEM, "kv.tuple: out of memory");
        items[0] = kv_plain(r->key);
        items[1] = r->value;
        int rc = sl_emit_kv(out, sl_null(), sl_list(items, 2), r->ts);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- sort ----------------------------------------------------------------------- */

typedef struct kv_sort {
    int by_key;    /* by: key (else value) */
    int desc;      /* order: desc */
    int64_t limit; /* 0: all */
} kv_sort;

static const sl_param_spec kv_sort_params[] = {
    {"by", SL_PARAM_ENUM, "value", 0, "sort by the key or by the value", "key|value", NULL},
    {"order", SL_PARAM_ENUM, "desc", 0, "descending or ascending", "asc|desc", NULL},
    {"limit", SL_PARAM_INT, "0", 0, "emit only the first N records (0: all)", NULL, "0.."},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

static int kv_sort_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    (void)h;
    const char *by = sl_api->param_str(params, "by");
    const char *order = sl_api->param_str(params, "order");
    int64_t limit = sl_api->param_int(params, "limit");
    if (limit < 0)
        return sl_api->error_set(
            err, SL_ECONFIG, "kv.sort: limit must be 0 (all) or more, got %lld", (long long)limit);
    kv_sort *s = sl_api->calloc(1, sizeof *s);
    if (!s)
        return sl_api->error_set(err, SL_ENOMEM, "kv.sort: out of memory");
    s->by_key = by && strcmp(by, "key") == 0;
    s->desc = !order || strcmp(order, "asc") != 0;
    s->limit = limit;
    *instance = s;
    return 0;
}

static void kv_sort_destroy(void *instance) {
    sl_api->free(instance);
}

/* Nonzero if b must come before a (so equal records keep their order). */
static inline int kv_sort_before(const kv_sort *s, const sl_record *b, const sl_record *a) {
    const sl_value *va = s->by_key ? &a->key : &a->value;
    const sl_value *vb = s->by_key ? &b->key : &b->value;
    int c = sl_api->value_compare(vb, va);
    return s->desc ? c > 0 : c < 0;
}

/* Stable bottom-up merge sort of n record pointers; `tmp` has room for n.
 * Returns the array that holds the result (a or tmp). */
static const sl_record **kv_sort_merge(const kv_sort *s, const sl_record **a, const sl_record **tmp,
                                       size_t n) {
    const sl_record **src = a, **dst = tmp;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = kv_sort_before(s, src[j], src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        const sl_record **t = src;
        src = dst;
        dst = t;
    }
    return src;
}

/* Sort the chunk (the whole batch under transform) and emit the first
 * `limit` records. The pointer arrays live in out->mem. */
static int kv_sort_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    const kv_sort *s = inst;
    size_t n = in->count;
    if (n == 0)
        return 0;
    const sl_record **a = sl_alloc(out->mem, 2 * n * sizeof *a);
    if (!a)
        return sl_api->error_set(err, SL_ENOMEM, "kv.sort: out of memory sorting %zu records", n);
    for (size_t i = 0; i < n; i++)
        a[i] = &in->records[i];
    const sl_record **sorted = kv_sort_merge(s, a, a + n, n);
    size_t emit = s->limit > 0 && (uint64_t)s->limit < n ? (size_t)s->limit : n;
    for (size_t i = 0; i < emit; i++) {
        int rc = sl_emit(out, sorted[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- descriptor ----------------------------------------------------------------- */

static const sl_map_ops kv_pair_ops = {sizeof(sl_map_ops), SL_MAP_ONE, kv_pair_process};
static const sl_map_ops kv_swap_ops = {sizeof(sl_map_ops), SL_MAP_ONE, kv_swap_process};
static const sl_map_ops kv_keys_ops = {sizeof(sl_map_ops), SL_MAP_ONE, kv_keys_process};
static const sl_map_ops kv_values_ops = {sizeof(sl_map_ops), SL_MAP_ONE, kv_values_process};
static const sl_map_ops kv_tuple_ops = {sizeof(sl_map_ops), SL_MAP_ONE, kv_tuple_process};
static const sl_map_ops kv_sort_ops = {sizeof(sl_map_ops), SL_MAP_MANY, kv_sort_process};

static const sl_component kv_pair_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_MAP,
    .name = "pair",
    .doc = "map: element -> (element, value), value the JSON param `value` (default 1): the "
           "'word -> (word, 1)' step of a word count. The element of a pair (k, v) is the list "
           "[k, v].",
    .params = kv_pair_params,
    .create = kv_pair_create,
    .destroy = kv_pair_destroy,
    .ops = &kv_pair_ops,
};

static const sl_component kv_swap_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_MAP,
    .name = "swap",
    .doc = "map: (k, v) -> (v, k). A plain element v (key null) becomes (v, null).",
    .params = NULL,
    .create = kv_create_none,
    .destroy = NULL,
    .ops = &kv_swap_ops,
};

static const sl_component kv_keys_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_MAP,
    .name = "keys",
    .doc = "map: (k, v) -> k, a plain element (null for plain elements).",
    .params = NULL,
    .create = kv_create_none,
    .destroy = NULL,
    .ops = &kv_keys_ops,
};

static const sl_component kv_values_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_MAP,
    .name = "values",
    .doc = "map: (k, v) -> v, a plain element.",
    .params = NULL,
    .create = kv_create_none,
    .destroy = NULL,
    .ops = &kv_values_ops,
};

static const sl_component kv_tuple_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_MAP,
    .name = "tuple",
    .doc = "map: (k, v) -> the plain element [k, v] (a 2-item list; [null, v] for a plain "
           "element v). Handy before count_by_value or for output.",
    .params = NULL,
    .create = kv_create_none,
    .destroy = NULL,
    .ops = &kv_tuple_ops,
};

static const sl_component kv_sort_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_MAP,
    .name = "sort",
    .doc = "transform: sorts the batch by key or value (the engine's total order over values: "
           "null < numbers < bytes < lists < objects < bools), stable, descending by default, and "
           "keeps the first `limit` records (top-N). Use it with `transform`, which passes the "
           "whole batch; "
           "elsewhere it sorts each chunk on its own.",
    .params = kv_sort_params,
    .create = kv_sort_create,
    .destroy = kv_sort_destroy,
    .ops = &kv_sort_ops,
};

/* ---- nonzero ------------------------------------------------------------------- */

/* filter: keep records whose value is not 0, 0.0, false or null — with
 * reduce_by_key_and_window's inverse, drops the keys whose count fell to
 * zero (Spark's filterFunc). */
static int kv_nonzero_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)inst;
    (void)err;
    for (size_t i = 0; i < in->count; i++) {
        const sl_value *v = &in->records[i].value;
        if (v->type == SL_NULL || ((v->type == SL_INT || v->type == SL_BOOL) && v->u.i == 0) ||
            (v->type == SL_DOUBLE && v->u.d == 0.0))
            continue;
        int rc = sl_emit(out, &in->records[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const sl_map_ops kv_nonzero_ops = {sizeof(sl_map_ops), SL_MAP_FILTER, kv_nonzero_process};

static const sl_component kv_nonzero_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_MAP,
    .name = "nonzero",
    .doc = "filter: keeps records whose value is not 0, 0.0, false or null (e.g. the filter of "
           "reduce_by_key_and_window with inverse, to drop keys whose count fell to 0).",
    .params = NULL,
    .create = kv_create_none,
    .destroy = NULL,
    .ops = &kv_nonzero_ops,
};

static const sl_component *const kv_components[] = {
    &kv_nonzero_component, &kv_pair_component,  &kv_swap_component, &kv_keys_component,
    &kv_values_component,  &kv_tuple_component, &kv_sort_component, NULL,
};

static const sl_plugin kv_plugin = {
    SL_PLUGIN_HEADER,
    "kv", /* name: the file is kv.so */
    "0.1.0",
    "pair functions: pair, swap, keys, values, tuple, sort",
    "MIT",
    kv_components,
};

SL_PLUGIN_ENTRY(kv_plugin)

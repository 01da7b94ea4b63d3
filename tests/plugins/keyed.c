/*
 * keyed.c — the ABI 1.3 additions as a plugin uses them (unit.test_opstate):
 *
 *   keyed.count  an OPERATOR whose only state is the engine's keyed state
 *                (no snapshot/restore): per pair, the key's running count,
 *                emitted as (key, count); after each batch, keys whose count
 *                reached `drop_at` are removed with keyed_each
 *   keyed.stamp  an UPDATE function with update_at: state = the batch time
 *   keyed.misuse a MAP that tries keyed_put with its handle and emits the
 *                code it got (SL_ESTATE: keyed state is an operator's)
 */
#include <sluice/plugin.h>

typedef struct counter {
    sl_handle *h;
    int64_t drop_at;
} counter;

static const sl_param_spec count_params[] = {
    {"drop_at", SL_PARAM_INT, "1000", 0, "remove a key once its count reaches this", NULL, "1.."},
    {NULL, 0, NULL, 0, NULL, NULL, NULL},
};

static int count_create(sl_handle *h, const sl_params *p, void **inst, sl_error *err) {
    counter *c = sl_api->calloc(1, sizeof *c);
    if (!c)
        return sl_api->error_set(err, SL_ENOMEM, "keyed: out of memory");
    c->h = h;
    c->drop_at = sl_api->param_int(p, "drop_at");
    *inst = c;
    return 0;
}

static void count_destroy(void *inst) {
    sl_api->free(inst);
}

static int drop_full(void *ud, sl_keyed_item *it) {
    const counter *c = ud;
    it->remove = it->value.u.i >= c->drop_at;
    return 0;
}

static int count_process(void *inst, const sl_chunk *batch, sl_emitter *out, sl_error *err) {
    counter *c = inst;
    for (size_t i = 0; i < batch->count; i++) {
        const sl_record *r = &batch->records[i];
        int64_t time = -1;
        const sl_value *old = sl_api->keyed_get(c->h, &r->key, &time);
        /* the time put with the value comes back, across a restore too */
        if (old && (time <= 0 || time > batch->batch_time))
            return sl_api->error_set(err, SL_EINVAL, "keyed: key time %lld, batch %lld",
                                     (long long)time, (long long)batch->batch_time);
        sl_value n = sl_int(old ? old->u.i + 1 : 1);
        int rc = sl_api->keyed_put(c->h, &r->key, &n, batch->batch_time, err);
        if (rc < 0)
            return rc;
        if ((rc = sl_emit_kv(out, r->key, n, r->ts)) < 0)
            return rc;
    }
    return sl_api->keyed_each(c->h, drop_full, c, err);
}

static const sl_operator_ops count_ops = {sizeof(sl_operator_ops), count_process, NULL, NULL};

static const sl_component count_component = {sizeof(sl_component),
                                             SL_COMPONENT_OPERATOR,
                                             "count",
                                             "running count per key (keyed state)",
                                             count_params,
                                             count_create,
                                             count_destroy,
                                             &count_ops};

static int stamp_update_at(void *inst, int64_t batch_time, const sl_value *key,
                           const sl_value *values, size_t n, const sl_value *state, sl_value *out,
                           sl_mem *mem, sl_error *err) {
    (void)inst;
    (void)key;
    (void)values;
    (void)n;
    (void)state;
    (void)mem;
    (void)err;
    *out = sl_int(batch_time);
    return 0;
}

static const sl_update_ops stamp_ops = {.struct_size = sizeof(sl_update_ops),
                                        .update_at = stamp_update_at};

static const sl_component stamp_component = {sizeof(sl_component),
                                             SL_COMPONENT_UPDATE,
                                             "stamp",
                                             "state = the batch time",
                                             NULL,
                                             NULL,
                                             NULL,
                                             &stamp_ops};

typedef struct misuse {
    sl_handle *h;
} misuse;

static int misuse_create(sl_handle *h, const sl_params *p, void **inst, sl_error *err) {
    (void)p;
    misuse *m = sl_api->calloc(1, sizeof *m);
    if (!m)
        return sl_api->error_set(err, SL_ENOMEM, "keyed: out of memory");
    m->h = h;
    *inst = m;
    return 0;
}

static int misuse_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    const misuse *m = inst;
    (void)err;
    for (size_t i = 0; i < in->count; i++) {
        sl_error e = {0, ""};
        sl_value one = sl_int(1);
        int code = sl_api->keyed_put(m->h, &in->records[i].value, &one, 0, &e);
        int rc = sl_emit_kv(out, sl_null(), sl_int(code), 0);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const sl_map_ops misuse_ops = {sizeof(sl_map_ops), SL_MAP_ONE, misuse_process};

static const sl_component misuse_component = {
    sizeof(sl_component), SL_COMPONENT_MAP, "misuse",   "keyed_put from a MAP", NULL,
    misuse_create,        count_destroy,    &misuse_ops};

static const sl_component *const components[] = {&count_component, &stamp_component,
                                                 &misuse_component, NULL};

static const sl_plugin descriptor = {SL_PLUGIN_HEADER,      "keyed", "1.3.0",
                                     "ABI 1.3 keyed state", "MIT",   components};

SL_PLUGIN_ENTRY(descriptor)

/*
 * agg — REDUCE functions for reduce_by_key, reduce and the windowed
 * reductions: sum, count, min, max (Spark's combineByKey model, see
 * sl_reduce_ops in plugin.h); UPDATE functions for the stateful streams:
 * running (a running sum) and expiring (a running sum that removes keys).
 *
 * Typing: numbers are int64 or double. int (+) int stays int and an int64
 * overflow is an error (SL_ELIMIT), never a silent wrap or a switch to
 * double; any double makes the result a double. Null values are skipped;
 * anything else (bytes, lists, objects, bools: a bool is not a number,
 * docs/decisions.md §29) is a type error naming the function.
 *
 * Only expiring keeps an instance (its parameters, read-only after
 * create): all are pure functions of their arguments, safe to call from
 * any number of threads.
 */
#include <stdio.h>
#include <string.h>

#include <sluice/plugin.h>

/* ---- shared helpers ------------------------------------------------------------- */

/* create() for all components: no parameters, no instance. */
static int agg_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    (void)h;
    (void)params;
    (void)err;
    *instance = NULL;
    return 0;
}

/* The identity of sum and count: int 0. */
static int agg_zero_int(void *inst, sl_value *out, sl_error *err) {
    (void)inst;
    (void)err;
    *out = sl_int(0);
    return 0;
}

static inline int agg_is_number(const sl_value *v) {
    return v->type == SL_INT || v->type == SL_DOUBLE;
}

static inline double agg_as_double(const sl_value *v) {
    return v->type == SL_INT ? (double)v->u.i : v->u.d;
}

/* acc = acc + sign * v under the typing rules above; `fn` names the
 * function in errors. A null acc counts as 0, a null v is skipped. */
static int agg_add(const char *fn, sl_value *acc, const sl_value *v, int sign, sl_error *err) {
    if (acc->type == SL_NULL)
        *acc = sl_int(0);
    if (!agg_is_number(acc))
        return sl_api->error_set(err, SL_ETYPE, "%s: cannot add to %s value", fn,
                                 sl_api->value_type_name(acc->type));
    if (v->type == SL_NULL)
        return 0;
    if (!agg_is_number(v))
        return sl_api->error_set(err, SL_ETYPE, "%s: cannot %s %s value", fn,
                                 sign > 0 ? "add" : "subtract", sl_api->value_type_name(v->type));
    if (acc->type == SL_INT && v->type == SL_INT) {
        int64_t r;
        int over = sign > 0 ? __builtin_add_overflow(acc->u.i, v->u.i, &r)
                            : __builtin_sub_overflow(acc->u.i, v->u.i, &r);
        if (over)
            return sl_api->error_set(err, SL_ELIMIT, "%s: int64 overflow (%lld %c %lld)", fn,
                                     (long long)acc->u.i, sign > 0 ? '+' : '-', (long long)v->u.i);
        acc->u.i = r;
        return 0;
    }
    double d = agg_as_double(acc);
    *acc = sl_double(sign > 0 ? d + agg_as_double(v) : d - agg_as_double(v));
    return 0;
}

/* ---- sum ------------------------------------------------------------------------ */

static int agg_sum_combine(void *inst, sl_value *acc, const sl_value *v, sl_mem *mem,
                           sl_error *err) {
    (void)inst;
    (void)mem;
    return agg_add("agg.sum", acc, v, 1, err);
}

static int agg_sum_inverse(void *inst, sl_value *acc, const sl_value *other, sl_mem *mem,
                           sl_error *err) {
    (void)inst;
    (void)mem;
    return agg_add("agg.sum", acc, other, -1, err);
}

/* ---- count ---------------------------------------------------------------------- */

/* acc += 1, whatever v is. */
static int agg_count_combine(void *inst, sl_value *acc, const sl_value *v, sl_mem *mem,
                             sl_error *err) {
    (void)inst;
    (void)v;
    (void)mem;
    static const sl_value one = {SL_INT, 0, {.i = 1}};
    return agg_add("agg.count", acc, &one, 1, err);
}

/* acc += other: both are partial counts (ints). */
static int agg_count_merge(void *inst, sl_value *acc, const sl_value *other, sl_mem *mem,
                           sl_error *err) {
    (void)inst;
    (void)mem;
    if (other->type != SL_INT && other->type != SL_NULL)
        return sl_api->error_set(err, SL_ETYPE, "agg.count: a partial count must be int, got %s",
                                 sl_api->value_type_name(other->type));
    return agg_add("agg.count", acc, other, 1, err);
}

static int agg_count_inverse(void *inst, sl_value *acc, const sl_value *other, sl_mem *mem,
                             sl_error *err) {
    (void)inst;
    (void)mem;
    if (other->type != SL_INT && other->type != SL_NULL)
        return sl_api->error_set(err, SL_ETYPE, "agg.count: a partial count must be int, got %s",
                                 sl_api->value_type_name(other->type));
    return agg_add("agg.count", acc, other, -1, err);
}

/* ---- min / max ------------------------------------------------------------------ */

/* Keep v in acc when it sorts before (sign < 0) or after (sign > 0) it.
 * Nulls are skipped; acc may end up pointing into v's bytes or items. */
static inline void agg_keep(sl_value *acc, const sl_value *v, int sign) {
    if (v->type == SL_NULL)
        return;
    if (acc->type == SL_NULL) {
        *acc = *v;
        return;
    }
    int c = sl_api->value_compare(v, acc);
    if (sign < 0 ? c < 0 : c > 0)
        *acc = *v;
}

static int agg_min_combine(void *inst, sl_value *acc, const sl_value *v, sl_mem *mem,
                           sl_error *err) {
    (void)inst;
    (void)mem;
    (void)err;
    agg_keep(acc, v, -1);
    return 0;
}

static int agg_max_combine(void *inst, sl_value *acc, const sl_value *v, sl_mem *mem,
                           sl_error *err) {
    (void)inst;
    (void)mem;
    (void)err;
    agg_keep(acc, v, 1);
    return 0;
}

/* ---- descriptor ----------------------------------------------------------------- */

static const sl_reduce_ops agg_sum_ops = {
    .struct_size = sizeof(sl_reduce_ops),
    .zero = agg_zero_int,
    .combine = agg_sum_combine,
    .merge = agg_sum_combine,
    .inverse = agg_sum_inverse,
    .flags = SL_REDUCE_NO_INPUT_REFS, /* numbers only */
};

static const sl_reduce_ops agg_count_ops = {
    .struct_size = sizeof(sl_reduce_ops),
    .zero = agg_zero_int,
    .combine = agg_count_combine,
    .merge = agg_count_merge,
    .inverse = agg_count_inverse,
    .flags = SL_REDUCE_NO_INPUT_REFS, /* numbers only */
};

static const sl_reduce_ops agg_min_ops = {
    .struct_size = sizeof(sl_reduce_ops),
    .zero = NULL,
    .combine = agg_min_combine,
    .merge = agg_min_combine,
    .inverse = NULL,
};

static const sl_reduce_ops agg_max_ops = {
    .struct_size = sizeof(sl_reduce_ops),
    .zero = NULL,
    .combine = agg_max_combine,
    .merge = agg_max_combine,
    .inverse = NULL,
};

static const sl_component agg_sum_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_REDUCE,
    .name = "sum",
    .doc = "The sum of the values. int + int stays int (int64 overflow is an error); any double "
           "makes a double; null values are skipped; bytes or lists are an error. Has an inverse "
           "(subtraction) for reduce_by_key_and_window.",
    .params = NULL,
    .create = agg_create,
    .destroy = NULL,
    .ops = &agg_sum_ops,
};

static const sl_component agg_count_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_REDUCE,
    .name = "count",
    .doc = "The number of values (of any type, null included), as an int. Has an inverse for "
           "reduce_by_key_and_window.",
    .params = NULL,
    .create = agg_create,
    .destroy = NULL,
    .ops = &agg_count_ops,
};

static const sl_component agg_min_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_REDUCE,
    .name = "min",
    .doc = "The smallest value in the engine's total order (numbers by value, int and double "
           "compared as numbers, < bytes, compared bytewise, < lists, element-wise). Null values "
           "are skipped (null only if all are null). No inverse.",
    .params = NULL,
    .create = agg_create,
    .destroy = NULL,
    .ops = &agg_min_ops,
};

static const sl_component agg_max_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_REDUCE,
    .name = "max",
    .doc = "The largest value in the engine's total order (numbers by value < bytes, compared "
           "bytewise, < lists, element-wise). Null values are skipped (null only if all are "
           "null). No inverse.",
    .params = NULL,
    .create = agg_create,
    .destroy = NULL,
    .ops = &agg_max_ops,
};

/* ---- running: a per-key running sum (UPDATE) ---------------------------------- */

/* update_state_by_key: state + sum(values), as agg.sum would do. */
static int agg_running_update(void *inst, const sl_value *key, const sl_value *values, size_t n,
                              const sl_value *state, sl_value *out, sl_mem *mem, sl_error *err) {
    (void)inst;
    (void)key;
    (void)mem;
    *out = state ? *state : sl_int(0);
    for (size_t i = 0; i < n; i++) {
        int rc = agg_add("agg.running", out, &values[i], 1, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* map_with_state: add the value to the key's total and emit (key, total);
 * a key that times out emits nothing (its state is then dropped). */
static int agg_running_map(void *inst, const sl_value *key, const sl_value *value, sl_state *st,
                           sl_emitter *out, sl_error *err) {
    (void)inst;
    if (!value)
        return 0;
    const sl_value *old = sl_api->state_get(st);
    sl_value total = old ? *old : sl_int(0);
    int rc = agg_add("agg.running", &total, value, 1, err);
    if (rc < 0)
        return rc;
    if ((rc = sl_api->state_set(st, &total)) < 0)
        return rc;
    return sl_emit_kv(out, sl_key(*key), total, 0);
}

static const sl_update_ops agg_running_ops = {
    .struct_size = sizeof(sl_update_ops),
    .update = agg_running_update,
    .map = agg_running_map,
};

static const sl_component agg_running_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_UPDATE,
    .name = "running",
    .doc = "A running sum per key. In update_state_by_key: state + sum(new values) (as agg.sum). "
           "In map_with_state: adds each value to the key's total and emits (key, total); a key "
           "that times out emits nothing. Typing as agg.sum.",
    .params = NULL,
    .create = agg_create,
    .destroy = NULL,
    .ops = &agg_running_ops,
};

/* ---- expiring: a running sum that removes keys (UPDATE) ------------------------ */

static const sl_param_spec agg_expiring_params[] = {
    {"max", SL_PARAM_INT, NULL, 0,
     "remove a key whose running sum goes over this (unset: never); it starts again from 0 "
     "with its next values",
     NULL, NULL},
    {"drop_idle", SL_PARAM_BOOL, "false", 0, "remove a key that got no values in the batch", NULL,
     NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL},
};

typedef struct agg_expiring {
    int has_max;
    int64_t max;
    int drop_idle;
} agg_expiring;

static void agg_expiring_destroy(void *instance) {
    sl_api->free(instance);
}

/* Read max and drop_idle into an instance the engine frees with
 * agg_expiring_destroy. */
static int agg_expiring_create(sl_handle *h, const sl_params *params, void **instance,
                               sl_error *err) {
    (void)h;
    agg_expiring *e = sl_api->calloc(1, sizeof *e);
    if (!e)
        return sl_api->error_set(err, SL_ENOMEM, "agg.expiring: out of memory");
    e->has_max = sl_api->param_is_set(params, "max");
    e->max = e->has_max ? sl_api->param_int(params, "max") : 0;
    e->drop_idle = sl_api->param_bool(params, "drop_idle");
    *instance = e;
    return 0;
}

/* update_state_by_key: state + sum(values) as agg.running, or SL_REMOVE
 * (Spark's None) when the key got no values and drop_idle is set, or when
 * the sum is over max (a new key over max is not kept at all). */
static int agg_expiring_update(void *inst, const sl_value *key, const sl_value *values, size_t n,
                               const sl_value *state, sl_value *out, sl_mem *mem, sl_error *err) {
    const agg_expiring *e = inst;
    (void)key;
    (void)mem;
    if (n == 0 && e->drop_idle)
        return SL_REMOVE;
    *out = state ? *state : sl_int(0);
    for (size_t i = 0; i < n; i++) {
        int rc = agg_add("agg.expiring", out, &values[i], 1, err);
        if (rc < 0)
            return rc;
    }
    if (e->has_max &&
        (out->type == SL_INT ? out->u.i > e->max : agg_as_double(out) > (double)e->max))
        return SL_REMOVE;
    return 0;
}

static const sl_update_ops agg_expiring_ops = {
    .struct_size = sizeof(sl_update_ops),
    .update = agg_expiring_update,
    .map = NULL, /* map_with_state removes keys with its timeout */
};

static const sl_component agg_expiring_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_UPDATE,
    .name = "expiring",
    .doc = "For update_state_by_key: a running sum per key (as agg.running) that removes keys, "
           "as a Spark updateFunc returning None: a key whose sum goes over max, and with "
           "drop_idle a key that got no values in the batch. Typing as agg.sum.",
    .params = agg_expiring_params,
    .create = agg_expiring_create,
    .destroy = agg_expiring_destroy,
    .ops = &agg_expiring_ops,
};

static const sl_component *const agg_components[] = {
    &agg_sum_component,
    &agg_count_component,
    &agg_min_component,
    &agg_max_component,
    &agg_running_component,
    &agg_expiring_component,
    NULL,
};

static const sl_plugin agg_plugin = {
    SL_PLUGIN_HEADER,
    "agg", /* name: the file is agg.so */
    "0.1.0",
    "reductions: sum, count, min, max; running and expiring (update functions)",
    "MIT",
    agg_components,
};

SL_PLUGIN_ENTRY(agg_plugin)

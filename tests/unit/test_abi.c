/*
 * test_abi.c — compatibility across ABI minors: plugins built against the
 * ABI 1.0, 1.2, 1.3, 1.4, 1.5 and 1.6 headers (tests/plugins/abi10.c,
 * abi12.c, abi13.c, abi14.c, abi15.c, abi16.c) load and run in this host.
 */
#define UNIT_ENGINE
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "internal.h"

static int64_t got[16];
static size_t ngot;

static int collect_ints(void *ud, int64_t t, const sl_record *recs, size_t n, sl_error *err) {
    (void)ud;
    (void)t;
    (void)err;
    for (size_t i = 0; i < n && ngot < 16; i++)
        got[ngot++] = recs[i].value.u.i;
    return 0;
}

/* The 1.0 plugin's descriptor is accepted and its components found. */
static void test_loads(void) {
    sl_context *ctx = sl_context_new(1000);
    CU_ASSERT_FATAL(ctx != NULL);
    CU_ASSERT_EQUAL(sl_context_add_plugin_dir(ctx, getenv("SLUICE_TEST_BADPLUGINS")), 0);
    const sl_component *c = sl_context_component(ctx, "abi10.numbers", SL_COMPONENT_SOURCE);
    unit_check(c != NULL, __FILE__, __LINE__, "abi10.numbers found (%s)", sl_context_errmsg(ctx));
    if (c)
        ASSERT_INT_EQ(((const sl_source_ops *)c->ops)->struct_size, 48); /* the 1.0 size */
    sl_context_free(ctx);
}

/* A pipeline of its source and map runs: batches 0 and 1 doubled. */
static void test_runs(void) {
    sl_context *ctx = sl_context_new(1000);
    CU_ASSERT_FATAL(ctx != NULL);
    sl_context_add_plugin_dir(ctx, getenv("SLUICE_TEST_BADPLUGINS"));
    sl_context_set_clock(ctx, SL_CLOCK_MANUAL);
    sl_context_set_max_batches(ctx, 2);
    sl_stream *s = sl_map(sl_source(ctx, "abi10.numbers", NULL), "abi10.double", NULL);
    sl_foreach_batch(s, collect_ints, NULL);
    ngot = 0;
    int rc = sl_context_start(ctx);
    unit_check(rc == 0, __FILE__, __LINE__, "start (%s)", sl_context_errmsg(ctx));
    if (rc == 0)
        ASSERT_INT_EQ(sl_context_await_termination(ctx), 0);
    static const int64_t want[] = {0, 2, 4, 20, 22, 24};
    ASSERT_INT_EQ(ngot, 6);
    for (size_t i = 0; i < 6 && i < ngot; i++)
        ASSERT_INT_EQ(got[i], want[i]);
    sl_context_free(ctx);
}

/* The 1.0 plugin's schema (48-byte specs) is read at its own stride: every
 * name is found, values validate, and the source sees them. */
static void test_params_10(void) {
    sl_context *ctx = sl_context_new(1000);
    CU_ASSERT_FATAL(ctx != NULL);
    sl_context_add_plugin_dir(ctx, getenv("SLUICE_TEST_BADPLUGINS"));
    sl_stream *bad = sl_source(ctx, "abi10.numbers", (const char *[]){"colour", "red", NULL});
    CU_ASSERT_PTR_NULL(bad);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "expected one of: base, count, label");
    sl_context_clear_error(ctx);
    sl_context_set_clock(ctx, SL_CLOCK_MANUAL);
    sl_context_set_max_batches(ctx, 2);
    sl_stream *s = sl_source(ctx, "abi10.numbers",
                             (const char *[]){"count", "2", "base", "100", "label", "x", NULL});
    unit_check(s != NULL, __FILE__, __LINE__, "source (%s)", sl_context_errmsg(ctx));
    sl_foreach_batch(s, collect_ints, NULL);
    ngot = 0;
    int rc = sl_context_start(ctx);
    unit_check(rc == 0, __FILE__, __LINE__, "start (%s)", sl_context_errmsg(ctx));
    if (rc == 0)
        ASSERT_INT_EQ(sl_context_await_termination(ctx), 0);
    static const int64_t want[] = {0, 1, 100, 101};
    ASSERT_INT_EQ(ngot, 4);
    for (size_t i = 0; i < 4 && i < ngot; i++)
        ASSERT_INT_EQ(got[i], want[i]);
    sl_context_free(ctx);
}

/* v -> ("k", v): every value under one key. */
static int one_key(void *ud, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)ud;
    (void)err;
    for (size_t i = 0; i < in->count; i++) {
        int rc = sl_emit_kv(out, sl_cstr("k"), in->records[i].value, 0);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The 1.2 plugin's UPDATE function (sl_update_ops without 1.3's update_at)
 * runs update_state_by_key: 0 1 2 | 10 11 12 summed under one key. */
static void test_runs_12(void) {
    sl_context *ctx = sl_context_new(1000);
    CU_ASSERT_FATAL(ctx != NULL);
    sl_context_add_plugin_dir(ctx, getenv("SLUICE_TEST_BADPLUGINS"));
    sl_context_set_clock(ctx, SL_CLOCK_MANUAL);
    sl_context_set_max_batches(ctx, 2);
    const sl_component *c = sl_context_component(ctx, "abi12.total", SL_COMPONENT_UPDATE);
    unit_check(c != NULL, __FILE__, __LINE__, "abi12.total found (%s)", sl_context_errmsg(ctx));
    if (c)
        ASSERT_INT_EQ(((const sl_update_ops *)c->ops)->struct_size, 24); /* the 1.2 size */
    sl_stream *s = sl_map_fn(sl_source(ctx, "abi10.numbers", NULL), one_key, NULL);
    sl_foreach_batch(sl_update_state_by_key(s, "abi12.total", NULL), collect_ints, NULL);
    ngot = 0;
    int rc = sl_context_start(ctx);
    unit_check(rc == 0, __FILE__, __LINE__, "start (%s)", sl_context_errmsg(ctx));
    if (rc == 0)
        ASSERT_INT_EQ(sl_context_await_termination(ctx), 0);
    ASSERT_INT_EQ(ngot, 2);
    ASSERT_INT_EQ(got[0], 3);  /* 0 + 1 + 2 */
    ASSERT_INT_EQ(got[1], 36); /* 3 + 10 + 11 + 12 */
    sl_context_free(ctx);
}

/* A 1.3 plugin (built before SL_OBJECT) loads in this 1.4 host; an object
 * that reaches it is named "object" and deep-copied by the host for it. */
static void test_runs_13(void) {
    sl_context *ctx = ctx_new(1);
    sl_context_add_plugin_dir(ctx, getenv("SLUICE_TEST_BADPLUGINS"));
    unit_collect c = {0};
    collect(sl_map(queue(ctx, "[{\"a\": [1, {\"b\": \"x\"}]}, 2, \"s\"]\n"), "abi13.kind", NULL),
            &c);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH(&c, 0), "('object', {'a': (1, {'b': 'x'})}), ('int', 2), ('bytes', 's')");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* A 1.4 receiver (built before source_state) runs in this 1.5 host: its
 * records arrive, and having reported no state it counts as connected. */
static void test_runs_14(void) {
    sl_context *ctx = ctx_new(1);
    sl_context_add_plugin_dir(ctx, getenv("SLUICE_TEST_BADPLUGINS"));
    unit_collect c = {0};
    collect(sl_source(ctx, "abi14.three", NULL), &c);
    RUN(ctx, 0); /* until the receiver's input ends */
    int seen = 0;
    for (size_t i = 0; i < c.nb; i++)
        seen += strcmp(BATCH(&c, i), "1, 2, 3") == 0;
    unit_check(seen == 1, __FILE__, __LINE__, "one batch of 1, 2, 3 in %zu batches", c.nb);
    ASSERT_INT_EQ(sl_context_sources_never_connected(ctx), 0);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* A 1.5 plugin (built before gauges) runs in this 1.6 host: its records
 * pass, its counters count, and its counter "queue_lag" is shown as a gauge
 * (the name rule kept for plugins of ABI < 1.6). */
static void test_runs_15(void) {
    sl_context *ctx = ctx_new(1);
    sl_context_add_plugin_dir(ctx, getenv("SLUICE_TEST_BADPLUGINS"));
    unit_collect c = {0};
    sl_stream *s = sl_map(queue(ctx, "[1, 2, 3]\n[4]\n"), "abi15.count", NULL);
    collect(s, &c);
    RUN(ctx, 2);
    ASSERT_STR_EQ(BATCH(&c, 0), "1, 2, 3");
    ASSERT_STR_EQ(BATCH(&c, 1), "4");
    sl_handle *h = s->fn.handle;
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    ASSERT_INT_EQ(h->abi_minor, 5);
    int seen = 0;
    for (struct sl_counter *m = h->counters; m; m = m->next) {
        if (strcmp(m->name, "rows") == 0) {
            ASSERT_INT_EQ(atomic_load(&m->value), 4);
            CU_ASSERT(!sl__handle_metric_is_gauge(h, m));
            seen++;
        } else if (strcmp(m->name, "queue_lag") == 0) {
            ASSERT_INT_EQ(atomic_load(&m->value), 1); /* went 3, then down to 1 */
            CU_ASSERT(sl__handle_metric_is_gauge(h, m));
            seen++;
        }
    }
    ASSERT_INT_EQ(seen, 2);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* A 1.6 plugin (built before SL_BOOL) runs in this 1.7 host; a bool that
 * reaches it, alone or inside an object, is named "bool", deep-copied and
 * written as JSON true/false by the host for it. */
static void test_runs_16(void) {
    sl_context *ctx = ctx_new(1);
    sl_context_add_plugin_dir(ctx, getenv("SLUICE_TEST_BADPLUGINS"));
    unit_collect c = {0};
    sl_stream *s = sl_map(queue(ctx, "[true, {\"ok\": false}, 1]\n"), "abi16.kind", NULL);
    collect(s, &c);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH(&c, 0), "('bool', True, 'true'), ('object', {'ok': False}, "
                                "'{\"ok\":false}'), ('int', 1, '1')");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->fn.handle);
    ASSERT_INT_EQ(s->fn.handle->abi_minor, 6);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

UNIT_MAIN("abi", {"a 1.6 plugin meets bools", test_runs_16},
          {"a 1.5 plugin's counters, *_lag a gauge", test_runs_15},
          {"a 1.4 receiver without states runs", test_runs_14},
          {"a 1.3 plugin meets objects", test_runs_13}, {"a 1.0 plugin loads", test_loads},
          {"a 1.0 plugin runs", test_runs}, {"a 1.0 plugin's parameters validate", test_params_10},
          {"a 1.2 UPDATE plugin runs", test_runs_12})

/*
 * test_opstate.c — ABI 1.3 through real pipelines (manual clock, queue
 * source): keyed operator state (core/src/opstate.c) saved and restored by
 * checkpoints without plugin snapshot code, the batch time given to update
 * functions (a C function and a plugin's update_at), and keyed state refused
 * to a non-operator. The plugin is tests/plugins/keyed.c.
 */
#define UNIT_ENGINE
#include "unit.h"

#include <stdlib.h>

#define WORDS "[\"a b a\"]\n[\"b c\"]\n[]\n[\"a\"]\n[\"c c\"]\n"

static sl_stream *pairs(sl_context *ctx, const char *lines) {
    return sl_map(sl_flat_map(queue(ctx, lines), "text.split", NULL), "kv.pair", NULL);
}

static sl_context *keyed_ctx(void) {
    sl_context *ctx = ctx_new(2);
    CU_ASSERT_EQUAL(sl_context_add_plugin_dir(ctx, getenv("SLUICE_TEST_BADPLUGINS")), 0);
    return ctx;
}

/* keyed.count's running counts, in one run and across a restart:
 *   batches: [a b a] [b c] [] [a] [c c]
 *   counts:  a1 b1 a2 | b2 c1 | - | a3 | c2 c3
 * With drop_at 3, a key reaching 3 is removed after its batch: a comes back
 * at 1 in no batch here, c is dropped after batch 4. */
static void test_keyed_resume(void) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s.ckpt", unit_queue_file(""));
    unit_collect full = {0}, first = {0}, rest = {0};
    sl_context *ctx = keyed_ctx();
    collect(sl_operator(pairs(ctx, WORDS), "keyed.count", NULL), &full);
    RUN(ctx, 5);
    sl_context_free(ctx);
    ASSERT_STR_EQ(BATCH(&full, 0), "('a', 1), ('b', 1), ('a', 2)");
    ASSERT_STR_EQ(BATCH(&full, 3), "('a', 3)");
    ASSERT_STR_EQ(BATCH(&full, 4), "('c', 2), ('c', 3)");
    for (int part = 0; part < 2; part++) {
        ctx = keyed_ctx();
        sl_context_checkpoint(ctx, dir);
        sl_context_set_checkpoint_interval(ctx, IV);
        sl_stream *k = sl_operator(pairs(ctx, WORDS), "keyed.count", NULL);
        collect(sl_stream_set_name(k, "kc"), part ? &rest : &first);
        RUN(ctx, part ? 3 : 2); /* batches 0-1, then 2-4 after the restart */
        sl_context_free(ctx);
    }
    ASSERT_INT_EQ(rest.nb, 3);
    ASSERT_STR_EQ(BATCH(&rest, 1), "('a', 3)");           /* a's count came back */
    ASSERT_STR_EQ(BATCH(&rest, 2), "('c', 2), ('c', 3)"); /* and c's, with its time */
    unit_collect_free(&full);
    unit_collect_free(&first);
    unit_collect_free(&rest);
    unit_rmtree(dir);
}

/* keyed_each removes: with drop_at 2, a reaches 2 in batch 0 and is gone
 * after it, so batch 3 starts it over at 1. */
static void test_keyed_each_removes(void) {
    unit_collect c = {0};
    sl_context *ctx = keyed_ctx();
    collect(sl_operator(pairs(ctx, WORDS), "keyed.count", P("drop_at", "2")), &c);
    RUN(ctx, 4);
    ASSERT_STR_EQ(BATCH(&c, 0), "('a', 1), ('b', 1), ('a', 2)");
    ASSERT_STR_EQ(BATCH(&c, 1), "('b', 2), ('c', 1)");
    ASSERT_STR_EQ(BATCH(&c, 3), "('a', 1)");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* A MAP's handle has no keyed state: keyed_put answers SL_ESTATE. */
static void test_keyed_misuse(void) {
    unit_collect c = {0};
    sl_context *ctx = keyed_ctx();
    collect(sl_map(queue(ctx, "[\"x\"]\n"), "keyed.misuse", NULL), &c);
    RUN(ctx, 1);
    char want[32];
    snprintf(want, sizeof want, "%d", SL_ESTATE);
    ASSERT_STR_EQ(BATCH(&c, 0), want);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* dedupe.by_key on the keyed state evicts the least recently seen key,
 * across batches, with max_keys 2:
 *   [a b]: a, b pass
 *   [c a]: c evicts a (oldest), passes; a evicts b, passes again
 *   [b]:   b evicts c, passes again
 * and with room for all keys only first sightings pass: a b | c | -. */
static void test_dedupe_evicts_oldest(void) {
    const char *lines = "[\"a b\"]\n[\"c a\"]\n[\"b\"]\n";
    for (int small = 1; small >= 0; small--) {
        unit_collect c = {0};
        sl_context *ctx = ctx_new(1);
        sl_stream *s = sl_flat_map(queue(ctx, lines), "text.split", NULL);
        collect(
            sl_operator(s, "dedupe.by_key", P("within", "1h", "max_keys", small ? "2" : "1000")),
            &c);
        RUN(ctx, 3);
        ASSERT_STR_EQ(BATCH(&c, 0), "'a', 'b'");
        ASSERT_STR_EQ(BATCH(&c, 1), small ? "'c', 'a'" : "'c'");
        ASSERT_STR_EQ(BATCH(&c, 2), small ? "'b'" : "");
        unit_collect_free(&c);
        sl_context_free(ctx);
    }
}

/* A C update function with the batch time: state = [time, count]. */
static int stamp_count(void *ud, int64_t batch_time, const sl_value *key, const sl_value *values,
                       size_t n, const sl_value *state, sl_value *out, sl_mem *mem, sl_error *err) {
    (void)ud;
    (void)key;
    (void)values;
    (void)err;
    sl_value *items = sl_alloc(mem, 2 * sizeof *items);
    if (!items)
        return SL_ENOMEM;
    items[0] = sl_int((batch_time - FIRST) / IV); /* the batch's number */
    items[1] = sl_int((state ? state->u.items[1].u.i : 0) + (int64_t)n);
    *out = sl_list(items, 2);
    return 0;
}

/* Every key gets the batch time, every batch, from the C function. */
static void test_update_time_fn(void) {
    unit_collect c = {0};
    sl_context *ctx = ctx_new(2);
    collect(sl_update_state_by_key_time_fn(pairs(ctx, WORDS), stamp_count, NULL), &c);
    RUN(ctx, 3);
    ASSERT_STR_EQ(BATCH_SORTED(&c, 0), "('a', (0, 2)), ('b', (0, 1))");
    ASSERT_STR_EQ(BATCH_SORTED(&c, 2), "('a', (2, 2)), ('b', (2, 2)), ('c', (2, 1))");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* The same from a plugin's update_at: state = the batch time. */
static void test_update_at_plugin(void) {
    unit_collect c = {0};
    sl_context *ctx = keyed_ctx();
    collect(sl_update_state_by_key(pairs(ctx, WORDS), "keyed.stamp", NULL), &c);
    RUN(ctx, 2);
    char want[128];
    snprintf(want, sizeof want, "('a', %lld), ('b', %lld), ('c', %lld)", (long long)FIRST + IV,
             (long long)FIRST + IV, (long long)FIRST + IV);
    ASSERT_STR_EQ(BATCH_SORTED(&c, 1), want);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* A NULL function pointer is refused with a message. */
static void test_update_time_fn_null(void) {
    sl_context *ctx = ctx_new(1);
    CU_ASSERT_PTR_NULL(sl_update_state_by_key_time_fn(pairs(ctx, WORDS), NULL, NULL));
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "NULL");
    sl_context_free(ctx);
}

UNIT_MAIN("opstate", {"keyed operator state across a restart", test_keyed_resume},
          {"keyed_each removes keys", test_keyed_each_removes},
          {"keyed state is refused to a MAP", test_keyed_misuse},
          {"dedupe evicts the least recently seen", test_dedupe_evicts_oldest},
          {"a C update function gets the batch time", test_update_time_fn},
          {"a plugin's update_at gets the batch time", test_update_at_plugin},
          {"a NULL time function", test_update_time_fn_null})

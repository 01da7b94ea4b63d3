/*
 * test_json_plugin.c — plugins/json/json.c through the engine: queue lines
 * of JSON text -> json.parse -> json.get / json.pair -> reduce_by_key, with
 * the outputs compared as Python reprs.
 */
#define UNIT_ENGINE
#include "unit.h"

/* A queue whose elements are the JSON strings of `texts` (one batch). */
static sl_stream *texts(sl_context *ctx, const char *line) {
    return queue(ctx, line);
}

/* json.parse turns text into values, objects included; a pair keeps its
 * key; json.get finds fields and dotted paths, null when absent; the last
 * of two equal names wins. */
static void test_parse_get(void) {
    const char *line =
        "[\"{\\\"user\\\": \\\"ann\\\", \\\"n\\\": {\\\"a\\\": [1, {\\\"b\\\": 2}]}}\", "
        "\"[1, 2]\", \"{\\\"user\\\": 1, \\\"user\\\": 2}\", \"{}\", "
        "{\"key\": \"k\", \"value\": \"{\\\"user\\\": true}\"}]\n";
    sl_context *ctx = ctx_new(1);
    unit_collect parsed = {0}, user = {0}, deep = {0};
    sl_stream *p = sl_map(texts(ctx, line), "json.parse", NULL);
    collect(p, &parsed);
    collect(sl_map(p, "json.get", P("field", "user")), &user);
    collect(sl_map(p, "json.get", P("field", "n.a.1.b")), &deep);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH(&parsed, 0), "{'user': 'ann', 'n': {'a': (1, {'b': 2})}}, (1, 2), "
                                     "{'user': 1, 'user': 2}, {}, ('k', {'user': True})");
    ASSERT_STR_EQ(BATCH(&user, 0), "'ann', None, 2, None, ('k', True)");
    ASSERT_STR_EQ(BATCH(&deep, 0), "2, None, None, None, ('k', None)");
    unit_collect_free(&parsed);
    unit_collect_free(&user);
    unit_collect_free(&deep);
    sl_context_free(ctx);
}

/* The pipeline: parse -> pair(key: user, value: amount) -> sum,
 * across workers; a missing key is the key None; without `value` the
 * whole object is the value. */
static void test_pair_sum(void) {
    const char *b1 = "[\"{\\\"user\\\":\\\"ann\\\",\\\"amount\\\":3}\", "
                     "\"{\\\"user\\\":\\\"bob\\\",\\\"amount\\\":1}\", "
                     "\"{\\\"amount\\\":7,\\\"user\\\":\\\"ann\\\"}\", \"{\\\"amount\\\":5}\"]\n"
                     "[\"{\\\"user\\\":\\\"bob\\\",\\\"amount\\\":2.5}\"]\n";
    sl_context *ctx = ctx_new(3);
    unit_collect sums = {0}, whole = {0};
    sl_stream *ev = sl_map(texts(ctx, b1), "json.parse", NULL);
    collect(sl_reduce_by_key(sl_map(ev, "json.pair", P("key", "user", "value", "amount")),
                             "agg.sum", NULL),
            &sums);
    collect(sl_map(ev, "json.pair", P("key", "user")), &whole);
    RUN(ctx, 2);
    ASSERT_STR_EQ(BATCH_SORTED(&sums, 0), "('ann', 10), ('bob', 1), (None, 5)");
    ASSERT_STR_EQ(BATCH_SORTED(&sums, 1), "('bob', 2.5)");
    ASSERT_STR_EQ(BATCH(&whole, 1), "('bob', {'user': 'bob', 'amount': 2.5})");
    unit_collect_free(&sums);
    unit_collect_free(&whole);
    sl_context_free(ctx);
}

/* Bad text fails the run naming what it saw, or becomes null (counted) with
 * on_error: null; json.get on unparsed text says to parse it first; a bad
 * path is a configuration error. */
static void test_errors(void) {
    sl_context *ctx = ctx_new(1);
    unit_collect c = {0};
    collect(sl_map(texts(ctx, "[\"{\\\"a\\\": 1}\", \"{oops\"]\n"), "json.parse", NULL), &c);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination(ctx), SL_EINVAL);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "json.parse: invalid JSON at byte 1");
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "'{oops'");
    unit_collect_free(&c);
    sl_context_free(ctx);

    ctx = ctx_new(1);
    collect(sl_map(texts(ctx, "[\"{oops\", \"1\"]\n"), "json.parse", P("on_error", "null")), &c);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH(&c, 0), "None, 1");
    unit_collect_free(&c);
    sl_context_free(ctx);

    ctx = ctx_new(1);
    collect(sl_map(texts(ctx, "[\"{}\"]\n"), "json.get", P("field", "a")), &c);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination(ctx), SL_ETYPE);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "json.get: expected an object, got bytes (parse it "
                                            "first: map: json.parse)");
    unit_collect_free(&c);
    sl_context_free(ctx);

    ctx = ctx_new(1);
    collect(sl_map(texts(ctx, "[]\n"), "json.get", P("field", "a..b")), &c);
    CU_ASSERT(sl_context_start(ctx) != 0);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "json.get: field 'a..b' is not a path");
    sl_context_free(ctx);
}

UNIT_MAIN("json_plugin", {"parse and get", test_parse_get}, {"pair and sum", test_pair_sum},
          {"errors", test_errors})

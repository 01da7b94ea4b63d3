/*
 * test_join.c — core/src/join.c: group_by_key, the joins, cogroup and
 * transform_with, end to end through the public API.
 *
 * Pipelines read batches from the `queue` source (one JSON array per line,
 * {"key": K, "value": V} for a pair) on the manual clock, 1 s batches from
 * Z + 1 s (Z = 1000000000), and collect with sl_foreach_batch. Expected
 * outputs are worked out by hand (PySpark semantics) and compared as repr
 * text; lists print as tuples: (k, [v, w]) is "('k', (v, w))".
 */
#define UNIT_ENGINE /* ctx_new, queue, RUN, collect ... (unit.h) */
#include "unit.h"

#define Z 1000000000
#define AT(k) ((int64_t)Z + (int64_t)(k)*IV)

/* ---- group_by_key -------------------------------------------------------------------- */

/* group_by_key: (k, [values in arrival order]) per key; a plain element is
 * keyed by None, with the (None, v) pairs; the int 1 and the double 1.0
 * are one key; an empty batch gives an empty batch.
 *   batch 1: (a,1) (b,2) (a,3) 'p' (None,4) (1,'x') (1.0,'y')
 *   -> (a,[1,3]) (b,[2]) (None,['p',4]) (1,['x','y']) */
static void test_group_by_key(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    sl_stream *in = queue(ctx, "[{\"key\": \"a\", \"value\": 1}, {\"key\": \"b\", \"value\": 2}, "
                               "{\"key\": \"a\", \"value\": 3}, \"p\", {\"key\": null, \"value\": "
                               "4}, {\"key\": 1, \"value\": \"x\"}, {\"key\": 1.0, \"value\": "
                               "\"y\"}]\n[]\n");
    collect(sl_group_by_key(in), &c);
    RUN(ctx, 2);
    ASSERT_INT_EQ(c.nb, 2);
    ASSERT_STR_EQ(BATCH_SORTED(&c, 0),
                  "('a', (1, 3)), ('b', (2,)), (1, ('x', 'y')), (None, ('p', 4))");
    ASSERT_STR_EQ(BATCH(&c, 1), "");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* Values keep arrival order across partitions: partition by partition,
 * record by record (repartition 3 deals 0..8 round-robin: partitions
 * [0 3 6] [1 4 7] [2 5 8]). */
static void test_group_by_key_order(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    /* (v, 'k') swapped: ('k', v) */
    sl_stream *pairs =
        sl_map(sl_map(queue(ctx, "[0, 1, 2, 3, 4, 5, 6, 7, 8]\n"), "kv.pair", P("value", "\"k\"")),
               "kv.swap", NULL);
    collect(sl_group_by_key(sl_repartition(pairs, 3)), &c);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH(&c, 0), "('k', (0, 3, 6, 1, 4, 7, 2, 5, 8))");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* ---- joins ------------------------------------------------------------------------- */

static const char *const A = "[{\"key\": \"k\", \"value\": 1}, {\"key\": \"k\", \"value\": 2}, "
                             "{\"key\": \"j\", \"value\": 3}, {\"key\": \"x\", \"value\": 9}]\n"
                             "[]\n"
                             "[{\"key\": \"k\", \"value\": 5}]\n";
static const char *const B = "[{\"key\": \"k\", \"value\": \"a\"}, {\"key\": \"k\", \"value\": "
                             "\"b\"}, {\"key\": \"j\", \"value\": \"c\"}, {\"key\": \"y\", "
                             "\"value\": \"z\"}]\n"
                             "[{\"key\": \"k\", \"value\": \"q\"}]\n"
                             "[]\n";

/* The joins, batch by batch:
 *   batch 1  a: (k,1) (k,2) (j,3) (x,9)   b: (k,a) (k,b) (j,c) (y,z)
 *     join: the cross product per key: (k,(1,a)) (k,(1,b)) (k,(2,a)) (k,(2,b)) (j,(3,c))
 *     left: + (x,(9,None))   right: + (y,(None,z))   full: both
 *   batch 2  a: empty   b: (k,q)
 *     join, left: nothing   right, full: (k,(None,q))
 *   batch 3  a: (k,5)   b: empty
 *     join, right: nothing   left, full: (k,(5,None)) */
static void test_joins(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect j = {0}, l = {0}, r = {0}, f = {0};
    sl_stream *a = queue(ctx, A), *b = queue(ctx, B);
    collect(sl_join(a, b), &j);
    collect(sl_left_outer_join(a, b), &l);
    collect(sl_right_outer_join(a, b), &r);
    collect(sl_full_outer_join(a, b), &f);
    RUN(ctx, 3);
    const char *inner = "('j', (3, 'c')), ('k', (1, 'a')), ('k', (1, 'b')), ('k', (2, 'a')), "
                        "('k', (2, 'b'))";
    char want[512];
    ASSERT_STR_EQ(BATCH_SORTED(&j, 0), inner);
    snprintf(want, sizeof want, "%s, ('x', (9, None))", inner);
    ASSERT_STR_EQ(BATCH_SORTED(&l, 0), want);
    snprintf(want, sizeof want, "%s, ('y', (None, 'z'))", inner);
    ASSERT_STR_EQ(BATCH_SORTED(&r, 0), want);
    snprintf(want, sizeof want, "%s, ('x', (9, None)), ('y', (None, 'z'))", inner);
    ASSERT_STR_EQ(BATCH_SORTED(&f, 0), want);

    ASSERT_STR_EQ(BATCH(&j, 1), "");
    ASSERT_STR_EQ(BATCH(&l, 1), "");
    ASSERT_STR_EQ(BATCH(&r, 1), "('k', (None, 'q'))");
    ASSERT_STR_EQ(BATCH(&f, 1), "('k', (None, 'q'))");

    ASSERT_STR_EQ(BATCH(&j, 2), "");
    ASSERT_STR_EQ(BATCH(&l, 2), "('k', (5, None))");
    ASSERT_STR_EQ(BATCH(&r, 2), "");
    ASSERT_STR_EQ(BATCH(&f, 2), "('k', (5, None))");
    unit_collect_free(&j);
    unit_collect_free(&l);
    unit_collect_free(&r);
    unit_collect_free(&f);
    sl_context_free(ctx);
}

/* cogroup: (k, ([a's values], [b's values])) for every key of either side,
 * an empty tuple where a side lacks the key.
 *   batch 1: (j,((3,),(c,))) (k,((1,2),(a,b))) (x,((9,),())) (y,((),(z,)))
 *   batch 2: (k,((),(q,)))    batch 3: (k,((5,),())) */
static void test_cogroup(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    collect(sl_cogroup(queue(ctx, A), queue(ctx, B)), &c);
    RUN(ctx, 3);
    ASSERT_STR_EQ(BATCH_SORTED(&c, 0), "('j', ((3,), ('c',))), ('k', ((1, 2), ('a', 'b'))), "
                                       "('x', ((9,), ())), ('y', ((), ('z',)))");
    ASSERT_STR_EQ(BATCH(&c, 1), "('k', ((), ('q',)))");
    ASSERT_STR_EQ(BATCH(&c, 2), "('k', ((5,), ()))");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* None keys join with None keys, plain elements are keyed by None, and the
 * int 1 joins the double 1.0; the output keys stay pairs.
 *   a: (None,1) 'plain' (1,'one')   b: (None,'n') (1.0,'uno')
 *   join: (None,(1,n)) (None,(plain,n)) (1,(one,uno))
 *   b full outer join an empty stream: (None,(n,None)) (1.0,(uno,None)) */
static void test_join_none_keys(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect j = {0}, f = {0};
    sl_stream *a = queue(ctx, "[{\"key\": null, \"value\": 1}, \"plain\", "
                              "{\"key\": 1, \"value\": \"one\"}]\n");
    sl_stream *b = queue(ctx, "[{\"key\": null, \"value\": \"n\"}, "
                              "{\"key\": 1.0, \"value\": \"uno\"}]\n");
    collect(sl_join(a, b), &j);
    collect(sl_full_outer_join(b, queue(ctx, "[]\n")), &f);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH_SORTED(&j, 0),
                  "(1, ('one', 'uno')), (None, ('plain', 'n')), (None, (1, 'n'))");
    ASSERT_STR_EQ(BATCH_SORTED(&f, 0), "(1.0, ('uno', None)), (None, ('n', None))");
    unit_collect_free(&j);
    unit_collect_free(&f);
    sl_context_free(ctx);
}

/* Joins spread over partitions and workers, with a big cross product:
 * a has 50 values for each of 100 keys, b 4: 100 * 50 * 4 = 20000 pairs
 * (two output partitions), counted downstream. */
static void test_join_big(void) {
    size_t cap = 1 << 20, len = 0;
    char *ta = malloc(cap), *tb = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ta);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tb);
    len = (size_t)snprintf(ta, cap, "[");
    for (int i = 0; i < 5000; i++)
        len += (size_t)snprintf(ta + len, cap - len, "%s{\"key\": %d, \"value\": %d}",
                                i ? ", " : "", i % 100, i);
    snprintf(ta + len, cap - len, "]\n");
    len = (size_t)snprintf(tb, cap, "[");
    for (int i = 0; i < 400; i++)
        len += (size_t)snprintf(tb + len, cap - len, "%s{\"key\": %d, \"value\": \"b%d\"}",
                                i ? ", " : "", i % 100, i);
    snprintf(tb + len, cap - len, "]\n");
    sl_context *ctx = ctx_new(2);
    unit_collect n = {0}, g = {0};
    sl_stream *a = sl_repartition(queue(ctx, ta), 3);
    sl_stream *b = sl_repartition(queue(ctx, tb), 2);
    free(ta);
    free(tb);
    collect(sl_count(sl_map(sl_join(a, b), "kv.keys", NULL)), &n);
    collect(sl_count(sl_group_by_key(a)), &g);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH(&n, 0), "20000");
    ASSERT_STR_EQ(BATCH(&g, 0), "100");
    unit_collect_free(&n);
    unit_collect_free(&g);
    sl_context_free(ctx);
}

/* ---- transform_with ------------------------------------------------------------------ */

typedef struct seen2 {
    int calls;
    int whole; /* both chunks flagged SL_CHUNK_WHOLE_BATCH on every call */
} seen2;

/* Emits ('sizes', [len(a), len(b)]) and every element of b that a lacks
 * (by value), as Spark's a.transformWith(b, lambda x, y: y.subtract(x)). */
static int subtract_fn(void *ud, const sl_chunk *a, const sl_chunk *b, sl_emitter *out,
                       sl_error *err) {
    seen2 *s = ud;
    (void)err;
    s->calls++;
    s->whole &= (a->flags & SL_CHUNK_WHOLE_BATCH) && (b->flags & SL_CHUNK_WHOLE_BATCH);
    sl_value *sizes = sl_alloc(out->mem, 2 * sizeof *sizes);
    if (!sizes)
        return SL_ENOMEM;
    sizes[0] = sl_int((int64_t)a->count);
    sizes[1] = sl_int((int64_t)b->count);
    int rc = sl_emit_kv(out, sl_cstr("sizes"), sl_list(sizes, 2), b->batch_time);
    for (size_t i = 0; i < b->count && rc >= 0; i++) {
        bool found = false;
        for (size_t k = 0; k < a->count && !found; k++)
            found = sl__value_equal(&a->records[k].value, &b->records[i].value);
        if (!found)
            rc = sl_emit(out, &b->records[i]);
    }
    return rc;
}

/* transform_with sees both whole batches at once, every batch.
 *   a: [1 2] [ ]     b: [2 3 4] [5]
 *   t1: ('sizes',(2,3)) 3 4     t2: ('sizes',(0,1)) 5 */
static void test_transform_with(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    seen2 s = {0, 1};
    sl_stream *a = sl_repartition(queue(ctx, "[1, 2]\n[]\n"), 2);
    sl_stream *b = queue(ctx, "[2, 3, 4]\n[5]\n");
    collect(sl_transform_with(a, b, subtract_fn, &s), &c);
    RUN(ctx, 2);
    ASSERT_STR_EQ(BATCH(&c, 0), "('sizes', (2, 3)), 3, 4");
    ASSERT_STR_EQ(BATCH(&c, 1), "('sizes', (0, 1)), 5");
    ASSERT_INT_EQ(s.calls, 2);
    ASSERT_INT_EQ(s.whole, 1);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* ---- joins of windowed streams --------------------------------------------------------- */

/* Joining two windows of 2 s sliding 1 s joins everything both windows
 * hold; with a slide of 2 s on both, the join runs at t = 2, 4 only.
 *   a: 1:(k,1)  2:(k,2)  3:[]  4:[]     b: 1:(k,x)  2:(j,y)  3:[]  4:(k,z)
 *   slide 1: t1 (k,(1,x))  t2 (k,(1,x)) (k,(2,x))  t3 nothing (b's window: (j,y))
 *            t4 (b: (k,z); a's window is empty) nothing
 *   slide 2 (window 2): t2 (k,(1,x)) (k,(2,x))   t4 nothing
 *   left outer, slide 1: t3 (k,(2,None)) */
static void test_join_windows(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect j1 = {0}, j2 = {0}, l1 = {0};
    sl_stream *a = queue(ctx, "[{\"key\": \"k\", \"value\": 1}]\n[{\"key\": \"k\", \"value\": 2}]\n"
                              "[]\n[]\n");
    sl_stream *b =
        queue(ctx, "[{\"key\": \"k\", \"value\": \"x\"}]\n[{\"key\": \"j\", \"value\": \"y\"}]\n"
                   "[]\n[{\"key\": \"k\", \"value\": \"z\"}]\n");
    sl_stream *wa = sl_window(a, 2000, 1000), *wb = sl_window(b, 2000, 1000);
    collect(sl_join(wa, wb), &j1);
    collect(sl_join(sl_window(a, 2000, 2000), sl_window(b, 2000, 2000)), &j2);
    collect(sl_left_outer_join(wa, wb), &l1);
    RUN(ctx, 4);
    ASSERT_INT_EQ(j1.nb, 4);
    ASSERT_STR_EQ(BATCH_SORTED(&j1, 0), "('k', (1, 'x'))");
    ASSERT_STR_EQ(BATCH_SORTED(&j1, 1), "('k', (1, 'x')), ('k', (2, 'x'))");
    ASSERT_STR_EQ(BATCH(&j1, 2), "");
    ASSERT_STR_EQ(BATCH(&j1, 3), "");
    ASSERT_INT_EQ(j2.nb, 2);
    ASSERT_STR_EQ(BATCH_SORTED(&j2, 0), "('k', (1, 'x')), ('k', (2, 'x'))");
    ASSERT_INT_EQ(j2.nb == 2 ? j2.b[0].t : 0, AT(2));
    ASSERT_STR_EQ(BATCH(&j2, 1), "");
    ASSERT_STR_EQ(BATCH(&l1, 2), "('k', (2, None))");
    unit_collect_free(&j1);
    unit_collect_free(&j2);
    unit_collect_free(&l1);
    sl_context_free(ctx);
}

/* ---- errors ------------------------------------------------------------------------ */

/* Joining streams that slide differently is refused at start, naming both
 * streams and their periods. */
static void test_error_different_slides(void) {
    sl_context *ctx = ctx_new(1);
    unit_collect c = {0};
    sl_stream *a = sl_stream_set_name(sl_window(queue(ctx, "[1]\n"), 2000, 2000), "a2");
    sl_stream *b = sl_stream_set_name(sl_window(queue(ctx, "[1]\n"), 2000, 1000), "b1");
    collect(sl_join(a, b), &c);
    ASSERT_INT_EQ(sl_context_start(ctx), SL_ECONFIG);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "'a2' produces a batch every 2000 ms but 'b1' every "
                                            "1000 ms");
    unit_collect_free(&c);
    sl_context_free(ctx);

    /* a window joined with its own unwindowed parent: the same rule */
    ctx = ctx_new(1);
    sl_stream *in = queue(ctx, "[1]\n");
    collect(sl_cogroup(in, sl_window(in, 3000, 3000)), &c);
    ASSERT_INT_EQ(sl_context_start(ctx), SL_ECONFIG);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "every 3000 ms");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* A failing transform_with stops the run with a message naming the stream. */
static int failing_fn(void *ud, const sl_chunk *a, const sl_chunk *b, sl_emitter *out,
                      sl_error *err) {
    (void)ud;
    (void)a;
    (void)b;
    (void)out;
    return sl__error_set(err, SL_EINVAL, "nothing to compare");
}

static void test_error_transform_with(void) {
    sl_context *ctx = ctx_new(1);
    unit_collect c = {0};
    sl_stream *a = queue(ctx, "[1]\n");
    collect(sl_stream_set_name(sl_transform_with(a, a, failing_fn, NULL), "cmp"), &c);
    int rc = run_n(ctx, 1, __FILE__, __LINE__);
    ASSERT_INT_EQ(rc, SL_EINVAL);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "cmp (transform_with): nothing to compare");
    unit_collect_free(&c);
    sl_context_free(ctx);

    ctx = ctx_new(1);
    CU_ASSERT_PTR_NULL(sl_transform_with(queue(ctx, "[1]\n"), queue(ctx, "[2]\n"), NULL, NULL));
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "the function pointer is NULL");
    sl_context_free(ctx);
}

UNIT_MAIN("join", {"group_by_key", test_group_by_key},
          {"group_by_key keeps arrival order", test_group_by_key_order},
          {"join, left/right/full outer join", test_joins}, {"cogroup", test_cogroup},
          {"None keys and 1 == 1.0 in joins", test_join_none_keys},
          {"big join over partitions", test_join_big}, {"transform_with", test_transform_with},
          {"joins of windowed streams", test_join_windows},
          {"error: different slides", test_error_different_slides},
          {"error: transform_with", test_error_transform_with})

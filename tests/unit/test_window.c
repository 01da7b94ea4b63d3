/*
 * test_window.c — core/src/window.c: Spark's window operations end to end
 * through the public API.
 *
 * Every pipeline reads batches from the `queue` source (one JSON array per
 * line), runs on the manual clock and collects its outputs with
 * sl_foreach_batch. The interval is 1 s and the zero time Z = 1000000000:
 * batch k (k = 1, 2, ...) is at Z + k s, and a stream sliding every S s
 * produces a batch at the times Z + m*S. A window of W s at time t covers
 * the parent's batches with times in (t - W, t]. Expected outputs are
 * worked out by hand in the comments (Spark / Python semantics).
 */
#define UNIT_ENGINE /* ctx_new, queue, RUN, collect ... (unit.h) */
#include "unit.h"

#define Z 1000000000 /* the zero time: one interval before the first batch */
#define AT(k) ((int64_t)Z + (int64_t)(k)*IV)

/* ---- helpers (the engine-test scaffolding is in unit.h) ----------------------- */

/* The batch time of collected batch i (-1 if there is none). */
static int64_t time_of(const unit_collect *c, size_t i) {
    return i < c->nb ? c->b[i].t : -1;
}

/* A C filter for the incremental reduce_by_key_and_window: keeps the
 * pairs whose value is a number > 0 (Spark's `lambda kv: kv[1] > 0`). */
static int positive(void *ud, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)ud;
    (void)err;
    for (size_t i = 0; i < in->count; i++) {
        const sl_value *v = &in->records[i].value;
        bool keep = (v->type == SL_INT && v->u.i > 0) || (v->type == SL_DOUBLE && v->u.d > 0);
        int rc = keep ? sl_emit(out, &in->records[i]) : 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Give an incremental reduce_by_key_and_window a C filter: the public API
 * takes FILTER components only, and no built-in plugin filters numbers. */
static void set_c_filter(sl_stream *s, sl_map_func fn) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(sl__func_c_map(&s->filter, fn, NULL, &s->ctx->stop_requested, s->name),
                          0);
}

/* ---- window ------------------------------------------------------------------------- */

/* window(3 s, 1 s): every batch, the last three batches in batch order; an
 * element enters with its batch and leaves three batches later.
 *   batches  1:[a]  2:[b, c]  3:[]  4:[d]  5:[]  6:[]
 *   t=1: a          t=2: a b c     t=3: a b c (a's last window)
 *   t=4: b c d      t=5: d         t=6: d (its last window) */
static void test_window_sliding(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    sl_stream *in = queue(ctx, "[\"a\"]\n[\"b\", \"c\"]\n[]\n[\"d\"]\n[]\n[]\n");
    collect(sl_window(in, 3000, 1000), &c);
    RUN(ctx, 7);
    ASSERT_INT_EQ(c.nb, 7);
    ASSERT_STR_EQ(BATCH(&c, 0), "'a'");
    ASSERT_STR_EQ(BATCH(&c, 1), "'a', 'b', 'c'");
    ASSERT_STR_EQ(BATCH(&c, 2), "'a', 'b', 'c'");
    ASSERT_STR_EQ(BATCH(&c, 3), "'b', 'c', 'd'");
    ASSERT_STR_EQ(BATCH(&c, 4), "'d'");
    ASSERT_STR_EQ(BATCH(&c, 5), "'d'");
    ASSERT_STR_EQ(BATCH(&c, 6), "");
    for (size_t i = 0; i < c.nb; i++)
        ASSERT_INT_EQ(time_of(&c, i), AT(i + 1));
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* The example of docs/semantics.md: window 3 s sliding 2 s, and 2 s
 * sliding 3 s, over [a] [b] [c] [d] [] [e].
 *   3 s / 2 s:  Z+2: a b    Z+4: b c d    Z+6: d e
 *   2 s / 3 s:  Z+3: b c    Z+6: e        (a and d fall in the gaps) */
static void test_window_doc_example(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect w32 = {0}, w23 = {0};
    sl_stream *in = queue(ctx, "[\"a\"]\n[\"b\"]\n[\"c\"]\n[\"d\"]\n[]\n[\"e\"]\n");
    collect(sl_window(in, 3000, 2000), &w32);
    collect(sl_window(in, 2000, 3000), &w23);
    RUN(ctx, 6);
    ASSERT_INT_EQ(w32.nb, 3);
    ASSERT_STR_EQ(BATCH(&w32, 0), "'a', 'b'");
    ASSERT_STR_EQ(BATCH(&w32, 1), "'b', 'c', 'd'");
    ASSERT_STR_EQ(BATCH(&w32, 2), "'d', 'e'");
    ASSERT_INT_EQ(w23.nb, 2);
    ASSERT_STR_EQ(BATCH(&w23, 0), "'b', 'c'");
    ASSERT_STR_EQ(BATCH(&w23, 1), "'e'");
    ASSERT_INT_EQ(time_of(&w23, 1), AT(6));
    unit_collect_free(&w32);
    unit_collect_free(&w23);
    sl_context_free(ctx);
}

/* Tumbling windows (window == slide == 2 s): batches at t = 2, 4, 6 only,
 * each holding the two batches since the last; no element is seen twice.
 * A stream derived from the window (map kv.pair) runs at those times too. */
static void test_window_tumbling(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect w = {0}, pairs = {0}, raw = {0};
    sl_stream *in = queue(ctx, "[1]\n[2]\n[3]\n[4]\n[5]\n[6]\n[7]\n");
    sl_stream *win = sl_window(in, 2000, 2000);
    collect(win, &w);
    collect(sl_map(win, "kv.pair", NULL), &pairs);
    collect(in, &raw);
    RUN(ctx, 7);
    ASSERT_INT_EQ(raw.nb, 7);
    ASSERT_INT_EQ(w.nb, 3);
    ASSERT_STR_EQ(BATCH(&w, 0), "1, 2");
    ASSERT_STR_EQ(BATCH(&w, 1), "3, 4");
    ASSERT_STR_EQ(BATCH(&w, 2), "5, 6");
    ASSERT_INT_EQ(pairs.nb, 3);
    ASSERT_STR_EQ(BATCH(&pairs, 1), "(3, 1), (4, 1)");
    for (size_t i = 0; i < w.nb; i++) {
        ASSERT_INT_EQ(time_of(&w, i), AT(2 * (i + 1)));
        ASSERT_INT_EQ((time_of(&w, i) - Z) % 2000, 0);
        ASSERT_INT_EQ(time_of(&pairs, i), time_of(&w, i));
    }
    unit_collect_free(&w);
    unit_collect_free(&pairs);
    unit_collect_free(&raw);
    sl_context_free(ctx);
}

/* A window shorter than its slide (2 s every 3 s; Spark allows it): the
 * batches in the gaps (1, 4, 7) are never seen.
 *   t=3: (1, 3] = batches 2, 3    t=6: batches 5, 6    t=9: batches 8, 9 */
static void test_window_gaps(void) {
    sl_context *ctx = ctx_new(1);
    unit_collect w = {0}, n = {0};
    sl_stream *in = queue(ctx, "[1]\n[2]\n[3]\n[4]\n[5]\n[6]\n[7]\n[8]\n[9]\n");
    collect(sl_window(in, 2000, 3000), &w);
    collect(sl_count_by_window(in, 2000, 3000), &n);
    RUN(ctx, 10);
    ASSERT_INT_EQ(w.nb, 3);
    ASSERT_STR_EQ(BATCH(&w, 0), "2, 3");
    ASSERT_STR_EQ(BATCH(&w, 1), "5, 6");
    ASSERT_STR_EQ(BATCH(&w, 2), "8, 9");
    ASSERT_INT_EQ(time_of(&w, 0), AT(3));
    ASSERT_INT_EQ(time_of(&w, 2), AT(9));
    ASSERT_INT_EQ((time_of(&w, 2) - Z) % 3000, 0);
    ASSERT_STR_EQ(BATCH(&n, 0), "2");
    ASSERT_STR_EQ(BATCH(&n, 2), "2");
    unit_collect_free(&w);
    unit_collect_free(&n);
    sl_context_free(ctx);
}

/* Non-overlapping windows of 3 s over keyed data: each slide's result
 * covers exactly its own three batches.
 *   batches 1:(a,1) 2:(a,2),(b,1) 3:(b,5) | 4:(a,10) 5:[] 6:[]
 *   t=3: (a, 3), (b, 6)     t=6: (a, 10) */
static void test_window_non_overlapping(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect sums = {0}, counts = {0};
    sl_stream *in = queue(ctx, "[{\"key\": \"a\", \"value\": 1}]\n"
                               "[{\"key\": \"a\", \"value\": 2}, {\"key\": \"b\", \"value\": 1}]\n"
                               "[{\"key\": \"b\", \"value\": 5}]\n"
                               "[{\"key\": \"a\", \"value\": 10}]\n[]\n[]\n");
    collect(sl_reduce_by_key_and_window(in, "agg.sum", NULL, 3000, 3000), &sums);
    collect(sl_count_by_window(in, 3000, 3000), &counts);
    RUN(ctx, 6);
    ASSERT_INT_EQ(sums.nb, 2);
    ASSERT_STR_EQ(BATCH_SORTED(&sums, 0), "('a', 3), ('b', 6)");
    ASSERT_STR_EQ(BATCH_SORTED(&sums, 1), "('a', 10)");
    ASSERT_STR_EQ(BATCH(&counts, 0), "4");
    ASSERT_STR_EQ(BATCH(&counts, 1), "1");
    unit_collect_free(&sums);
    unit_collect_free(&counts);
    sl_context_free(ctx);
}

/* ---- count_by_window, reduce_by_window ------------------------------------------------ */

/* count_by_window(2 s, 1 s) emits one element every slide, 0 for an empty
 * window — also before any data arrived.
 *   batches 1:[]  2:[x, y]  3:[]  4:[]  5:[z]
 *   counts  0     2         2     0     1 */
static void test_count_by_window(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0}, none = {0};
    sl_stream *in = queue(ctx, "[]\n[\"x\", \"y\"]\n[]\n[]\n[\"z\"]\n");
    sl_stream *empty = queue(ctx, "[]\n");
    collect(sl_count_by_window(in, 2000, 1000), &c);
    collect(sl_count_by_window(empty, 3000, 1000), &none);
    RUN(ctx, 5);
    ASSERT_INT_EQ(c.nb, 5);
    ASSERT_STR_EQ(BATCH(&c, 0), "0");
    ASSERT_STR_EQ(BATCH(&c, 1), "2");
    ASSERT_STR_EQ(BATCH(&c, 2), "2");
    ASSERT_STR_EQ(BATCH(&c, 3), "0");
    ASSERT_STR_EQ(BATCH(&c, 4), "1");
    ASSERT_INT_EQ(none.nb, 5);
    for (size_t i = 0; i < none.nb; i++)
        ASSERT_STR_EQ(BATCH(&none, i), "0");
    unit_collect_free(&c);
    unit_collect_free(&none);
    sl_context_free(ctx);
}

/* reduce_by_window(3 s, 1 s): the reduction of the window's values, none
 * when the window holds none.
 *   batches 1:[1, 2]  2:[]  3:[3]  4:[]  5:[]  6:[]
 *   sum:    3  3  6  3  3  (none)      max: 2  2  3  3  3  (none) */
static void test_reduce_by_window(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect sum = {0}, max = {0};
    sl_stream *in = queue(ctx, "[1, 2]\n[]\n[3]\n[]\n[]\n[]\n");
    collect(sl_reduce_by_window(in, "agg.sum", NULL, 3000, 1000), &sum);
    collect(sl_reduce_by_window(in, "agg.max", NULL, 3000, 1000), &max);
    RUN(ctx, 6);
    ASSERT_INT_EQ(sum.nb, 6);
    ASSERT_STR_EQ(BATCH(&sum, 0), "3");
    ASSERT_STR_EQ(BATCH(&sum, 1), "3");
    ASSERT_STR_EQ(BATCH(&sum, 2), "6");
    ASSERT_STR_EQ(BATCH(&sum, 3), "3");
    ASSERT_STR_EQ(BATCH(&sum, 4), "3");
    ASSERT_INT_EQ(sum.nb == 6 ? sum.b[5].n : 99, 0);
    ASSERT_STR_EQ(BATCH(&max, 0), "2");
    ASSERT_STR_EQ(BATCH(&max, 2), "3");
    ASSERT_STR_EQ(BATCH(&max, 4), "3");
    ASSERT_INT_EQ(max.nb == 6 ? max.b[5].n : 99, 0);
    unit_collect_free(&sum);
    unit_collect_free(&max);
    sl_context_free(ctx);
}

/* reduce_by_window keeps values whose bytes died with their batch: the
 * window's strings were copied into the ring.
 *   batches 1:[pear, apple]  2:[fig]  3:[]   min over 2 s: apple apple fig */
static void test_reduce_by_window_bytes(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect min = {0};
    sl_stream *in = queue(ctx, "[\"pear\", \"apple\"]\n[\"fig\"]\n[]\n");
    collect(sl_reduce_by_window(in, "agg.min", NULL, 2000, 1000), &min);
    RUN(ctx, 3);
    ASSERT_STR_EQ(BATCH(&min, 0), "'apple'");
    ASSERT_STR_EQ(BATCH(&min, 1), "'apple'");
    ASSERT_STR_EQ(BATCH(&min, 2), "'fig'");
    unit_collect_free(&min);
    sl_context_free(ctx);
}

/* ---- reduce_by_key_and_window ------------------------------------------------------- */

static const char *const KEYED =
    "[{\"key\": \"a\", \"value\": 1}, {\"key\": \"b\", \"value\": 2}]\n"
    "[{\"key\": \"a\", \"value\": 3}]\n"
    "[{\"key\": \"c\", \"value\": 5}]\n"
    "[]\n"
    "[]\n"
    "[{\"key\": \"b\", \"value\": 7}]\n";

/* A key enters with its batch and leaves two batches later, window 2 s:
 *   batches 1:(a,1),(b,2)  2:(a,3)  3:(c,5)  4:[]  5:[]  6:(b,7)
 * recomputed:        t1 a1 b2 | t2 a4 b2 | t3 a3 c5 | t4 c5 | t5 - | t6 b7
 * inverse, no filter: the keys whose sum fell to 0 stay with 0 (Spark):
 *   t3: prev {a4 b2} - batch 1 {a1 b2} + batch 3 {c5} = a3 b0 c5
 *   t4: - batch 2 {a3} = a0 b0 c5;  t5: - batch 3 {c5} = a0 b0 c0
 *   t6: + batch 6 {b7} = a0 b7 c0
 * inverse, filter v > 0: the zeros disappear (and leave the state):
 *   t3 a3 c5 | t4 c5 | t5 (nothing) | t6 b7 */
static void test_reduce_by_key_and_window(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect rec = {0}, inv = {0}, flt = {0};
    sl_stream *in = queue(ctx, KEYED);
    collect(sl_reduce_by_key_and_window(in, "agg.sum", NULL, 2000, 1000), &rec);
    collect(sl_reduce_by_key_and_window_inv(in, "agg.sum", NULL, 2000, 1000, NULL, NULL), &inv);
    sl_stream *f = sl_reduce_by_key_and_window_inv(in, "agg.sum", NULL, 2000, 1000, NULL, NULL);
    set_c_filter(f, positive);
    collect(f, &flt);
    RUN(ctx, 6);
    ASSERT_INT_EQ(rec.nb, 6);
    ASSERT_STR_EQ(BATCH_SORTED(&rec, 0), "('a', 1), ('b', 2)");
    ASSERT_STR_EQ(BATCH_SORTED(&rec, 1), "('a', 4), ('b', 2)");
    ASSERT_STR_EQ(BATCH_SORTED(&rec, 2), "('a', 3), ('c', 5)");
    ASSERT_STR_EQ(BATCH_SORTED(&rec, 3), "('c', 5)");
    ASSERT_STR_EQ(BATCH_SORTED(&rec, 4), "");
    ASSERT_STR_EQ(BATCH_SORTED(&rec, 5), "('b', 7)");

    ASSERT_STR_EQ(BATCH_SORTED(&inv, 0), "('a', 1), ('b', 2)");
    ASSERT_STR_EQ(BATCH_SORTED(&inv, 1), "('a', 4), ('b', 2)");
    ASSERT_STR_EQ(BATCH_SORTED(&inv, 2), "('a', 3), ('b', 0), ('c', 5)");
    ASSERT_STR_EQ(BATCH_SORTED(&inv, 3), "('a', 0), ('b', 0), ('c', 5)");
    ASSERT_STR_EQ(BATCH_SORTED(&inv, 4), "('a', 0), ('b', 0), ('c', 0)");
    ASSERT_STR_EQ(BATCH_SORTED(&inv, 5), "('a', 0), ('b', 7), ('c', 0)");

    ASSERT_STR_EQ(BATCH_SORTED(&flt, 0), "('a', 1), ('b', 2)");
    ASSERT_STR_EQ(BATCH_SORTED(&flt, 1), "('a', 4), ('b', 2)");
    ASSERT_STR_EQ(BATCH_SORTED(&flt, 2), "('a', 3), ('c', 5)");
    ASSERT_STR_EQ(BATCH_SORTED(&flt, 3), "('c', 5)");
    ASSERT_STR_EQ(BATCH_SORTED(&flt, 4), "");
    ASSERT_STR_EQ(BATCH_SORTED(&flt, 5), "('b', 7)");
    unit_collect_free(&rec);
    unit_collect_free(&inv);
    unit_collect_free(&flt);
    sl_context_free(ctx);
}

/* The incremental form with agg.count, window 3 s sliding every 2 s: each
 * slide subtracts the two batches that left and adds the two that entered.
 *   batches 1:[a]  2:[a, b]  3:[b]  4:[]  5:[]  6:[]
 *   t=2: (0, 2] = 1, 2      -> a2 b1
 *   t=4: (1, 4] = 2, 3, 4   -> a2 b1 - batch 1 {a1} + 3, 4 {b1} = a1 b2
 *   t=6: (3, 6] = 4, 5, 6   -> - batches 2, 3 {a1 b2} = a0 b0 */
static void test_inverse_count_slide2(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect inv = {0}, rec = {0};
    sl_stream *in =
        sl_map(queue(ctx, "[\"a\"]\n[\"a\", \"b\"]\n[\"b\"]\n[]\n[]\n[]\n"), "kv.pair", NULL);
    collect(sl_reduce_by_key_and_window_inv(in, "agg.count", NULL, 3000, 2000, NULL, NULL), &inv);
    collect(sl_reduce_by_key_and_window(in, "agg.count", NULL, 3000, 2000), &rec);
    RUN(ctx, 6);
    ASSERT_INT_EQ(inv.nb, 3);
    ASSERT_STR_EQ(BATCH_SORTED(&inv, 0), "('a', 2), ('b', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&inv, 1), "('a', 1), ('b', 2)");
    ASSERT_STR_EQ(BATCH_SORTED(&inv, 2), "('a', 0), ('b', 0)");
    ASSERT_STR_EQ(BATCH_SORTED(&rec, 1), "('a', 1), ('b', 2)");
    ASSERT_STR_EQ(BATCH_SORTED(&rec, 2), "");
    unit_collect_free(&inv);
    unit_collect_free(&rec);
    sl_context_free(ctx);
}

/* A tiny deterministic PRNG (xorshift64*), so that the test is repeatable. */
static uint64_t rnd(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

enum { RB = 20, RKEYS = 6 };

/* The expected window sums of key k at batch j (1-based) for a window of
 * `w` batches, from the per-batch sums. */
static int64_t window_sum(int64_t sums[RB + 1][RKEYS], int j, int w, int k) {
    int64_t s = 0;
    for (int b = j - w + 1; b <= j; b++)
        if (b >= 1)
            s += sums[b][k];
    return s;
}

/* Incremental and recomputed reduce_by_key_and_window agree over 20
 * batches of random data (as multisets, zeros of the incremental form
 * aside), and both agree with sums computed here from the raw batches.
 * Window 4 s sliding every 2 s, and 3 s every 1 s; the input is spread over
 * 3 partitions and 2 workers. */
static void test_inverse_vs_recompute_random(void) {
    int64_t sums[RB + 1][RKEYS];
    memset(sums, 0, sizeof sums);
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int b = 1; b <= RB; b++) {
        int n = (int)(rnd(&seed) % 12); /* 0..11 records; some batches are empty */
        len += (size_t)snprintf(text + len, cap - len, "[");
        for (int i = 0; i < n; i++) {
            int k = (int)(rnd(&seed) % RKEYS), v = 1 + (int)(rnd(&seed) % 9);
            sums[b][k] += v;
            len += (size_t)snprintf(text + len, cap - len, "%s{\"key\": \"k%d\", \"value\": %d}",
                                    i ? ", " : "", k, v);
        }
        len += (size_t)snprintf(text + len, cap - len, "]\n");
    }
    static const int shapes[2][2] = {{4, 2}, {3, 1}}; /* window, slide in batches */
    for (int sh = 0; sh < 2; sh++) {
        int w = shapes[sh][0], sl = shapes[sh][1];
        sl_context *ctx = ctx_new(2);
        unit_collect rec = {0}, inv = {0}, flt = {0};
        sl_stream *in = sl_repartition(queue(ctx, text), 3);
        collect(sl_reduce_by_key_and_window(in, "agg.sum", NULL, w * IV, sl * IV), &rec);
        collect(sl_reduce_by_key_and_window_inv(in, "agg.sum", NULL, w * IV, sl * IV, NULL, NULL),
                &inv);
        sl_stream *f =
            sl_reduce_by_key_and_window_inv(in, "agg.sum", NULL, w * IV, sl * IV, NULL, NULL);
        set_c_filter(f, positive);
        collect(f, &flt);
        RUN(ctx, RB);
        ASSERT_INT_EQ(rec.nb, RB / sl);
        ASSERT_INT_EQ(inv.nb, RB / sl);
        ASSERT_INT_EQ(flt.nb, RB / sl);
        for (size_t i = 0; i < rec.nb; i++) {
            int j = (int)(i + 1) * sl; /* the batch this window ends with */
            char want[1024] = "", nonzero[1024] = "";
            size_t wl = 0;
            for (int k = 0; k < RKEYS; k++) {
                int64_t s = window_sum(sums, j, w, k);
                if (s)
                    wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s('k%d', %lld)",
                                           wl ? ", " : "", k, (long long)s);
            }
            ASSERT_STR_EQ(BATCH_SORTED(&rec, i), want);
            ASSERT_STR_EQ(BATCH_SORTED(&flt, i), want);
            /* the unfiltered incremental result, without its zeros */
            unit_batch *b = &inv.b[i];
            size_t nl = 0;
            char **v = malloc((b->n ? b->n : 1) * sizeof *v);
            size_t m = 0;
            for (size_t r = 0; v && r < b->n; r++)
                if (!strstr(b->recs[r], ", 0)"))
                    v[m++] = b->recs[r];
            for (size_t a = 0; v && a < m; a++) /* insertion sort: m is small */
                for (size_t c = a; c > 0 && strcmp(v[c - 1], v[c]) > 0; c--) {
                    char *tmp = v[c];
                    v[c] = v[c - 1];
                    v[c - 1] = tmp;
                }
            for (size_t a = 0; v && a < m; a++)
                nl += (size_t)snprintf(nonzero + nl, sizeof nonzero - nl, "%s%s", a ? ", " : "",
                                       v[a]);
            free(v);
            ASSERT_STR_EQ(nonzero, want);
        }
        unit_collect_free(&rec);
        unit_collect_free(&inv);
        unit_collect_free(&flt);
        sl_context_free(ctx);
    }
    free(text);
}

/* ---- count_by_value_and_window, group_by_key_and_window ------------------------------- */

/* count_by_value_and_window(2 s, 1 s): (element, n) over the window; the
 * element of a pair is the tuple (k, v).
 *   batches 1:[a, b, a]  2:[a, (k, 1)]  3:[]
 *   t1: (a,2) (b,1)   t2: (a,3) (b,1) ((k,1),1)   t3: (a,1) ((k,1),1) */
static void test_count_by_value_and_window(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    sl_stream *in =
        queue(ctx, "[\"a\", \"b\", \"a\"]\n[\"a\", {\"key\": \"k\", \"value\": 1}]\n[]\n");
    collect(sl_count_by_value_and_window(in, 2000, 1000), &c);
    RUN(ctx, 3);
    ASSERT_STR_EQ(BATCH_SORTED(&c, 0), "('a', 2), ('b', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&c, 1), "('a', 3), ('b', 1), (('k', 1), 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&c, 2), "('a', 1), (('k', 1), 1)");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* group_by_key_and_window(2 s, 1 s): values in batch order, then arrival
 * order; a plain element is keyed by None.
 *   batches 1:(k,1),(j,2),(k,3)  2:(k,4),'p'  3:[]
 *   t1: (j,[2]) (k,[1,3])   t2: (j,[2]) (k,[1,3,4]) (None,['p'])
 *   t3: (k,[4]) (None,['p']) */
static void test_group_by_key_and_window(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    sl_stream *in = queue(ctx, "[{\"key\": \"k\", \"value\": 1}, {\"key\": \"j\", \"value\": 2}, "
                               "{\"key\": \"k\", \"value\": 3}]\n"
                               "[{\"key\": \"k\", \"value\": 4}, \"p\"]\n[]\n");
    collect(sl_group_by_key_and_window(in, 2000, 1000), &c);
    RUN(ctx, 3);
    ASSERT_STR_EQ(BATCH_SORTED(&c, 0), "('j', (2,)), ('k', (1, 3))");
    ASSERT_STR_EQ(BATCH_SORTED(&c, 1), "('j', (2,)), ('k', (1, 3, 4)), (None, ('p',))");
    ASSERT_STR_EQ(BATCH_SORTED(&c, 2), "('k', (4,)), (None, ('p',))");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* None keys in the keyed windows: (None, v) pairs and plain elements are
 * one key, None, and it stays a pair.
 *   batches 1:(None,2),(a,1)  2:(None,3),[plain 10]
 *   sum over 2 s: t1 (None,2) (a,1)   t2 (None,15) (a,1) */
static void test_window_none_keys(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect rec = {0}, inv = {0};
    sl_stream *in = queue(ctx, "[{\"key\": null, \"value\": 2}, {\"key\": \"a\", \"value\": 1}]\n"
                               "[{\"key\": null, \"value\": 3}, 10]\n");
    collect(sl_reduce_by_key_and_window(in, "agg.sum", NULL, 2000, 1000), &rec);
    collect(sl_reduce_by_key_and_window_inv(in, "agg.sum", NULL, 2000, 1000, NULL, NULL), &inv);
    RUN(ctx, 2);
    ASSERT_STR_EQ(BATCH_SORTED(&rec, 0), "('a', 1), (None, 2)");
    ASSERT_STR_EQ(BATCH_SORTED(&rec, 1), "('a', 1), (None, 15)");
    ASSERT_STR_EQ(BATCH_SORTED(&inv, 1), "('a', 1), (None, 15)");
    unit_collect_free(&rec);
    unit_collect_free(&inv);
    sl_context_free(ctx);
}

/* ---- windows of windows, windows of unions ------------------------------------------ */

/* A window of a window: w1 = window(2 s, 2 s) produces a batch at t = 2, 4,
 * 6; w2 = window(w1, 4 s, 2 s) covers w1's batches in (t - 4, t].
 *   w1: t2 [1 2]  t4 [3 4]  t6 [5 6]
 *   w2: t2 [1 2]  t4 [1 2 3 4]  t6 [3 4 5 6]
 *   count_by_window(w1, 4 s, 4 s): t4 4, t8 4 (w1 at 6 and 8: 5 6 7 8) */
static void test_window_of_window(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c1 = {0}, c2 = {0}, n = {0};
    sl_stream *in = queue(ctx, "[1]\n[2]\n[3]\n[4]\n[5]\n[6]\n[7]\n[8]\n");
    sl_stream *w1 = sl_window(in, 2000, 2000);
    collect(w1, &c1);
    collect(sl_window(w1, 4000, 2000), &c2);
    collect(sl_count_by_window(w1, 4000, 4000), &n);
    RUN(ctx, 8);
    ASSERT_INT_EQ(c1.nb, 4);
    ASSERT_INT_EQ(c2.nb, 4);
    ASSERT_STR_EQ(BATCH(&c2, 0), "1, 2");
    ASSERT_STR_EQ(BATCH(&c2, 1), "1, 2, 3, 4");
    ASSERT_STR_EQ(BATCH(&c2, 2), "3, 4, 5, 6");
    ASSERT_STR_EQ(BATCH(&c2, 3), "5, 6, 7, 8");
    ASSERT_INT_EQ(time_of(&c2, 1), AT(4));
    ASSERT_INT_EQ(n.nb, 2);
    ASSERT_STR_EQ(BATCH(&n, 0), "4");
    ASSERT_STR_EQ(BATCH(&n, 1), "4");
    ASSERT_INT_EQ(time_of(&n, 1), AT(8));
    unit_collect_free(&c1);
    unit_collect_free(&c2);
    unit_collect_free(&n);
    sl_context_free(ctx);
}

/* A window over a union: every batch of both streams, a's part first.
 *   a: [1] [2] [3]   b: [10] [20] [30]   window 2 s:
 *   t1: 1 10   t2: 1 10 2 20   t3: 2 20 3 30 */
static void test_window_of_union(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    sl_stream *a = queue(ctx, "[1]\n[2]\n[3]\n");
    sl_stream *b = queue(ctx, "[10]\n[20]\n[30]\n");
    collect(sl_window(sl_union(a, b), 2000, 1000), &c);
    RUN(ctx, 3);
    ASSERT_STR_EQ(BATCH(&c, 0), "1, 10");
    ASSERT_STR_EQ(BATCH(&c, 1), "1, 10, 2, 20");
    ASSERT_STR_EQ(BATCH(&c, 2), "2, 20, 3, 30");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* A big window: 3 batches of 20000 records (several output partitions),
 * counted by a stream derived from the window. */
static void test_window_big(void) {
    enum { N = 20000 };
    size_t cap = (size_t)N * 8 * 3 + 64, len = 0;
    char *text = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    for (int b = 0; b < 3; b++) {
        len += (size_t)snprintf(text + len, cap - len, "[");
        for (int i = 0; i < N; i++)
            len += (size_t)snprintf(text + len, cap - len, "%s\"w%d\"", i ? "," : "", i % 10);
        len += (size_t)snprintf(text + len, cap - len, "]\n");
    }
    sl_context *ctx = ctx_new(2);
    unit_collect n = {0}, cv = {0};
    sl_stream *w = sl_window(queue(ctx, text), 3000, 1000);
    free(text);
    collect(sl_count(sl_map(w, "kv.pair", NULL)), &n);
    collect(sl_count_by_value_and_window(sl_repartition(w, 4), 1000, 1000), &cv);
    RUN(ctx, 3);
    ASSERT_STR_EQ(BATCH(&n, 0), "20000");
    ASSERT_STR_EQ(BATCH(&n, 2), "60000");
    ASSERT_STR_EQ(BATCH_SORTED(&cv, 2),
                  "('w0', 6000), ('w1', 6000), ('w2', 6000), ('w3', 6000), ('w4', 6000), "
                  "('w5', 6000), ('w6', 6000), ('w7', 6000), ('w8', 6000), ('w9', 6000)");
    unit_collect_free(&n);
    unit_collect_free(&cv);
    sl_context_free(ctx);
}

/* ---- errors ------------------------------------------------------------------------ */

/* Durations that are not multiples of the interval are refused by the
 * builder, with both numbers in the message. */
static void test_error_not_multiple(void) {
    sl_context *ctx = ctx_new(1);
    sl_stream *in = queue(ctx, "[1]\n");
    CU_ASSERT_PTR_NULL(sl_window(in, 2500, 1000));
    ASSERT_INT_EQ(sl_context_errcode(ctx), SL_EINVAL);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "window (2500 ms)");
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "batch interval (1000 ms)");
    sl_context_clear_error(ctx);
    CU_ASSERT_PTR_NULL(sl_count_by_window(in, 2000, 1500));
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "slide (1500 ms)");
    sl_context_clear_error(ctx);
    CU_ASSERT_PTR_NULL(sl_reduce_by_key_and_window(in, "agg.sum", NULL, 0, 1000));
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "positive multiple");
    sl_context_free(ctx);
}

/* A window of a window must use multiples of the inner window's slide:
 * sl_context_start says which streams and numbers. */
static void test_error_window_of_window_slide(void) {
    sl_context *ctx = ctx_new(1);
    unit_collect c = {0};
    sl_stream *w1 = sl_stream_set_name(sl_window(queue(ctx, "[1]\n"), 2000, 2000), "pairs2s");
    collect(sl_window(w1, 3000, 1000), &c);
    ASSERT_INT_EQ(sl_context_start(ctx), SL_ECONFIG);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "window 3000 ms and slide 1000 ms must be multiples");
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "'pairs2s' (every 2000 ms)");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* The incremental form needs a reduction with an inverse (agg.min has
 * none), and its filter must be a filter function. */
static void test_error_inverse(void) {
    sl_context *ctx = ctx_new(1);
    sl_stream *in = queue(ctx, "[1]\n");
    CU_ASSERT_PTR_NULL(
        sl_reduce_by_key_and_window_inv(in, "agg.min", NULL, 2000, 1000, NULL, NULL));
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "agg.min has no inverse");
    sl_context_clear_error(ctx);
    CU_ASSERT_PTR_NULL(
        sl_reduce_by_key_and_window_inv(in, "agg.sum", NULL, 2000, 1000, "text.lower", NULL));
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "use map, not filter");
    ASSERT_INT_EQ(sl_context_stream_count(ctx), 1);
    sl_context_free(ctx);
}

/* A reduction or a filter failing in a window stops the run with a
 * message naming the stream (and the function's own words). */
static void test_error_runtime(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    sl_stream *in =
        queue(ctx, "[{\"key\": \"a\", \"value\": \"x\"}, {\"key\": \"a\", \"value\": 1}]\n");
    collect(
        sl_stream_set_name(sl_reduce_by_key_and_window(in, "agg.sum", NULL, 2000, 1000), "sums"),
        &c);
    int rc = run_n(ctx, 2, __FILE__, __LINE__);
    ASSERT_INT_EQ(rc, SL_ETYPE);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "sums (reduce_by_key_and_window): agg.sum");
    ASSERT_INT_EQ(c.nb, 0);
    unit_collect_free(&c);
    sl_context_free(ctx);

    /* text.contains is a filter of bytes: the window's int sums are a type
     * error, reported with the stream and the filter */
    ctx = ctx_new(1);
    in = queue(ctx, "[{\"key\": \"a\", \"value\": 1}]\n");
    collect(sl_stream_set_name(sl_reduce_by_key_and_window_inv(in, "agg.sum", NULL, 2000, 1000,
                                                               "text.contains", P("pattern", "x")),
                               "inc"),
            &c);
    rc = run_n(ctx, 2, __FILE__, __LINE__);
    ASSERT_INT_EQ(rc, SL_ETYPE);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "inc (reduce_by_key_and_window): the filter "
                                            "text.contains failed");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* ---- checkpoints: resuming windows ------------------------------------------------------ */

/* Keyed batches for the resume tests: 8 batches, two of them empty; one
 * key is None. */
static const char *const KEYED8 =
    "[{\"key\": \"a\", \"value\": 1}, {\"key\": \"b\", \"value\": 2}]\n"
    "[{\"key\": \"a\", \"value\": 3}]\n"
    "[{\"key\": \"c\", \"value\": 5}, {\"key\": \"b\", \"value\": 1}]\n"
    "[]\n"
    "[{\"key\": \"a\", \"value\": 2}, {\"key\": \"c\", \"value\": 4}]\n"
    "[{\"key\": \"b\", \"value\": 7}, {\"key\": null, \"value\": 9}]\n"
    "[]\n"
    "[{\"key\": \"a\", \"value\": 1}, {\"key\": \"a\", \"value\": 1}]\n";

/* Numbers for reduce_by_window. */
static const char *const INTS8 = "[1, 2]\n[3]\n[]\n[4, 5, 6]\n[]\n[7]\n[8]\n[9, 10]\n";

/* Words (bytes that must survive the checkpoint) for the resume tests. */
static const char *const WORDS8 =
    "[\"pear\", \"fig\", \"pear\"]\n[\"apple\"]\n[]\n[\"fig\", \"kiwi\"]\n"
    "[\"pear\"]\n[]\n[\"apple\", \"fig\"]\n[\"date\"]\n";

/* A window stream built over a queue stream; named "w". */
typedef sl_stream *(*wbuild_fn)(sl_stream *in);

/* One resume case: the window, its input, how many batches in all and
 * after which one the first run stops. */
typedef struct wcase {
    const char *name;
    wbuild_fn build;
    const char *lines;
    int batches;
    int stop;
    bool ordered; /* compare batches in arrival order (else sorted) */
} wcase;

/* Name the window stream "w". */
static sl_stream *named_w(sl_stream *s) {
    return sl_stream_set_name(s, "w");
}

/* window(3 s, 1 s) */
static sl_stream *b_window(sl_stream *in) {
    return named_w(sl_window(in, 3 * IV, IV));
}

/* window(4 s, 1 s): b_window with a longer window */
static sl_stream *b_window_longer(sl_stream *in) {
    return named_w(sl_window(in, 4 * IV, IV));
}

/* window(3 s, 3 s): b_window with a longer slide */
static sl_stream *b_window_slower(sl_stream *in) {
    return named_w(sl_window(in, 3 * IV, 3 * IV));
}

/* window(3 s, 2 s) */
static sl_stream *b_window_slide2(sl_stream *in) {
    return named_w(sl_window(in, 3 * IV, 2 * IV));
}

/* count_by_window(3 s, 1 s) */
static sl_stream *b_count(sl_stream *in) {
    return named_w(sl_count_by_window(in, 3 * IV, IV));
}

/* reduce_by_window(agg.sum, 3 s, 1 s) */
static sl_stream *b_sum(sl_stream *in) {
    return named_w(sl_reduce_by_window(in, "agg.sum", NULL, 3 * IV, IV));
}

/* reduce_by_window(agg.min, 3 s, 1 s) of words */
static sl_stream *b_min(sl_stream *in) {
    return named_w(sl_reduce_by_window(in, "agg.min", NULL, 3 * IV, IV));
}

/* reduce_by_key_and_window(agg.sum, 3 s, 1 s), recomputed */
static sl_stream *b_rbkw(sl_stream *in) {
    return named_w(sl_reduce_by_key_and_window(in, "agg.sum", NULL, 3 * IV, IV));
}

/* reduce_by_key_and_window(agg.sum, 4 s, 2 s), recomputed */
static sl_stream *b_rbkw_slide2(sl_stream *in) {
    return named_w(sl_reduce_by_key_and_window(in, "agg.sum", NULL, 4 * IV, 2 * IV));
}

/* reduce_by_key_and_window(agg.sum, 3 s, 1 s), incremental */
static sl_stream *b_inv(sl_stream *in) {
    return named_w(sl_reduce_by_key_and_window_inv(in, "agg.sum", NULL, 3 * IV, IV, NULL, NULL));
}

/* reduce_by_key_and_window(agg.sum, 3 s, 1 s), incremental, keeping v > 0 */
static sl_stream *b_inv_filter(sl_stream *in) {
    sl_stream *s = b_inv(in);
    set_c_filter(s, positive);
    return s;
}

/* reduce_by_key_and_window(agg.count, 3 s, 2 s), incremental */
static sl_stream *b_inv_slide2(sl_stream *in) {
    return named_w(
        sl_reduce_by_key_and_window_inv(in, "agg.count", NULL, 3 * IV, 2 * IV, NULL, NULL));
}

/* count_by_value_and_window(3 s, 1 s) */
static sl_stream *b_cbv(sl_stream *in) {
    return named_w(sl_count_by_value_and_window(in, 3 * IV, IV));
}

/* group_by_key_and_window(3 s, 1 s) */
static sl_stream *b_group(sl_stream *in) {
    return named_w(sl_group_by_key_and_window(in, 3 * IV, IV));
}

/* window(window(2 s, 2 s), 4 s, 2 s): two rings in the checkpoint */
static sl_stream *b_nested(sl_stream *in) {
    return named_w(
        sl_window(sl_stream_set_name(sl_window(in, 2 * IV, 2 * IV), "w1"), 4 * IV, 2 * IV));
}

/* Every window operation, stopped in the middle of a sliding window (or
 * earlier), resumed for the rest. */
static const wcase WCASES[] = {
    {"window 3/1", b_window, KEYED8, 9, 4, true},
    {"window 3/1, stop at 1", b_window, KEYED8, 9, 1, true},
    {"window 3/2", b_window_slide2, KEYED8, 10, 6, true},
    /* stopped between two slides: the resumed run keeps the zero time */
    {"window 3/2, stop at 5", b_window_slide2, KEYED8, 10, 5, true},
    {"reduce_by_key_and_window inverse 3/2, stop at 5", b_inv_slide2, WORDS8, 9, 5, false},
    {"count_by_window", b_count, KEYED8, 9, 5, true},
    {"reduce_by_window sum", b_sum, INTS8, 9, 4, true},
    {"reduce_by_window min", b_min, WORDS8, 9, 3, true},
    {"reduce_by_key_and_window", b_rbkw, KEYED8, 9, 4, false},
    {"reduce_by_key_and_window 4/2", b_rbkw_slide2, KEYED8, 9, 4, false},
    {"reduce_by_key_and_window inverse", b_inv, KEYED8, 9, 5, false},
    {"reduce_by_key_and_window inverse + filter", b_inv_filter, KEYED8, 9, 5, false},
    {"reduce_by_key_and_window inverse 3/2", b_inv_slide2, WORDS8, 9, 4, false},
    {"count_by_value_and_window", b_cbv, WORDS8, 9, 4, false},
    {"group_by_key_and_window", b_group, KEYED8, 9, 4, true},
    {"window of a window", b_nested, KEYED8, 9, 4, true},
};

/* A context with `workers` workers running case `wc`'s window over its
 * queue lines (as pairs for the word inputs that need keys), collected into
 * c; checkpointing every batch into dir when dir is set. The window stream
 * goes to *w when w is set. */
static sl_context *wck_ctx(const wcase *wc, int workers, const char *dir, unit_collect *c,
                           sl_stream **w) {
    sl_context *ctx = ctx_new(workers);
    if (dir) {
        ASSERT_INT_EQ(sl_context_checkpoint(ctx, dir), 0);
        ASSERT_INT_EQ(sl_context_set_checkpoint_interval(ctx, IV), 0);
    }
    sl_stream *in = queue(ctx, wc->lines);
    if (wc->lines == WORDS8 && wc->build != b_min && wc->build != b_cbv)
        in = sl_map(in, "kv.pair", NULL);
    sl_stream *s = wc->build(in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    collect(s, c);
    if (w)
        *w = s;
    return ctx;
}

/* Run case `wc` uninterrupted; then run case `first` (the same, or another
 * form of the operation), stop it after batch `stop` and resume as `wc` in
 * a new context (with another number of workers) from the checkpoint: the
 * outputs must be the same, batch by batch. */
static void check_resume_as(const wcase *first, const wcase *wc) {
    unit_collect full = {0}, before = {0}, after = {0};
    sl_context *ctx = wck_ctx(wc, 2, NULL, &full, NULL);
    RUN(ctx, wc->batches);
    sl_context_free(ctx);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s.ckpt", unit_queue_file(""));
    ctx = wck_ctx(first, 2, dir, &before, NULL);
    RUN(ctx, wc->stop);
    sl_context_free(ctx);
    ctx = wck_ctx(wc, 3, dir, &after, NULL);
    RUN(ctx, wc->batches - wc->stop);
    sl_context_free(ctx);

    size_t nb = 0; /* the uninterrupted run's batches up to the stop */
    while (nb < full.nb && full.b[nb].t <= AT(wc->stop))
        nb++;
    unit_check(full.nb > nb + 1, __FILE__, __LINE__, "%s: %zu batches after the stop", wc->name,
               full.nb - nb);
    unit_check(before.nb == nb && after.nb == full.nb - nb, __FILE__, __LINE__,
               "%s: %zu + %zu batches == %zu + %zu", wc->name, before.nb, after.nb, nb,
               full.nb - nb);
    for (size_t i = 0; i < full.nb && before.nb == nb && after.nb == full.nb - nb; i++) {
        unit_collect *part = i < nb ? &before : &after;
        size_t j = i < nb ? i : i - nb;
        char *want = strdup(unit_batch_text(&full, i, !wc->ordered));
        const char *got = unit_batch_text(part, j, !wc->ordered);
        unit_check(want && strcmp(got, want) == 0 && part->b[j].t == full.b[i].t, __FILE__,
                   __LINE__, "%s, batch at Z+%lld s (%s run): \"%s\" at Z+%lld s, want \"%s\"",
                   wc->name, (long long)(full.b[i].t - Z) / IV, i < nb ? "first" : "resumed", got,
                   (long long)(part->b[j].t - Z) / IV, want ? want : "<oom>");
        free(want);
    }
    unit_collect_free(&full);
    unit_collect_free(&before);
    unit_collect_free(&after);
    unit_rmtree(dir);
}

/* check_resume_as with the same case before and after the stop. */
static void check_resume(const wcase *wc) {
    check_resume_as(wc, wc);
}

/* Resuming every window operation from a checkpoint gives what an
 * uninterrupted run gives: the ring (records, counts, partials; the
 * incremental form's last result and which batches it holds) comes back. */
static void test_resume_all_ops(void) {
    for (size_t i = 0; i < sizeof WCASES / sizeof WCASES[0]; i++)
        check_resume(&WCASES[i]);
}

/* reduce_by_key_and_window may switch forms across a restart: the
 * recomputed form drops the incremental one's last result, the incremental
 * one recomputes its first window (so, with a filter that drops the zeros,
 * it gives what it always gives). */
static void test_resume_switch_forms(void) {
    static const wcase rec = {"recomputed", b_rbkw, KEYED8, 9, 4, false};
    static const wcase inv = {"inverse", b_inv, KEYED8, 9, 4, false};
    static const wcase flt = {"inverse + filter", b_inv_filter, KEYED8, 9, 4, false};
    check_resume_as(&inv, &rec);
    check_resume_as(&rec, &flt);
}

/* A window whose length or slide changed since the checkpoint is refused
 * at start, naming the stream and both lengths, with the way out. */
static void test_resume_window_changed(void) {
    static const wcase first = {"window 3/1", b_window, KEYED8, 9, 3, true};
    static const wcase longer = {"window 4/1", b_window_longer, KEYED8, 9, 3, true};
    static const wcase slower = {"window 3/3", b_window_slower, KEYED8, 9, 3, true};
    char dir[4096];
    snprintf(dir, sizeof dir, "%s.ckpt", unit_queue_file(""));
    unit_collect c = {0};
    sl_context *ctx = wck_ctx(&first, 2, dir, &c, NULL);
    RUN(ctx, first.stop);
    sl_context_free(ctx);

    ctx = wck_ctx(&longer, 2, dir, &c, NULL);
    ASSERT_INT_EQ(sl_context_start(ctx), SL_ECONFIG);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "stream 'w'");
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "the window changed (3000 ms -> 4000 ms)");
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "--fresh");
    sl_context_free(ctx);

    ctx = wck_ctx(&slower, 2, dir, &c, NULL);
    ASSERT_INT_EQ(sl_context_start(ctx), SL_ECONFIG);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "stream 'w': the slide changed (1000 ms -> 3000 ms)");
    sl_context_free(ctx);

    /* the checkpoint is still good for the unchanged pipeline */
    unit_collect_free(&c);
    ctx = wck_ctx(&first, 2, dir, &c, NULL);
    RUN(ctx, 1); /* batch 4: batches 2, 3, 4 */
    ASSERT_STR_EQ(BATCH(&c, 0), "('a', 3), ('c', 5), ('b', 1)");
    sl_context_free(ctx);
    unit_collect_free(&c);
    unit_rmtree(dir);
}

/* Is rc one a restore of damaged bytes may return? */
static bool restore_rc_ok(int rc) {
    return rc == 0 || rc == SL_EINVAL || rc == SL_ECONFIG;
}

/* sl__window_restore on damaged snapshots of every window operation: each
 * proper prefix of a real snapshot is SL_EINVAL naming the stream, each
 * flipped byte is refused or read, never a crash or an out-of-bounds read
 * (ASan); the whole snapshot restores and snapshots again to the same
 * bytes; a window that never ran writes an empty snapshot that restores. */
static void test_restore_damaged(void) {
    for (size_t k = 0; k < sizeof WCASES / sizeof WCASES[0]; k++) {
        const wcase *wc = &WCASES[k];
        unit_collect c = {0}, c0 = {0};
        sl_stream *w, *w0;
        sl_context *ctx = wck_ctx(wc, 2, NULL, &c, &w);
        RUN(ctx, 5);
        sl__buf snap = {0}, again = {0}, empty = {0};
        sl_error err = {0, ""};
        ASSERT_INT_EQ(sl__window_snapshot(w, &snap, &err), 0);
        unit_check(snap.len > 20, __FILE__, __LINE__, "%s: a snapshot of %zu bytes", wc->name,
                   snap.len);
        for (size_t len = 0; len < snap.len; len++) {
            sl__reader r = {snap.data, len, 0};
            err = (sl_error){0, ""};
            int rc = sl__window_restore(ctx, w, &r, &err);
            if (rc != SL_EINVAL || !strstr(err.msg, "'w'")) {
                unit_check(false, __FILE__, __LINE__,
                           "%s: prefix of %zu of %zu bytes: rc %d (%s), want SL_EINVAL", wc->name,
                           len, snap.len, rc, err.msg);
                break;
            }
        }
        uint8_t *bad = malloc(snap.len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
        static const uint8_t flips[][2] = {{0xff, 0}, {0, 0x80}, {0, 0x7f}, {0x01, 0}};
        for (size_t pos = 0; pos < snap.len; pos++) {
            for (size_t f = 0; f < sizeof flips / sizeof flips[0]; f++) {
                memcpy(bad, snap.data, snap.len);
                bad[pos] = flips[f][0] ? bad[pos] ^ flips[f][0] : flips[f][1];
                sl__reader r = {bad, snap.len, 0};
                int rc = sl__window_restore(ctx, w, &r, &err);
                if (!restore_rc_ok(rc))
                    unit_check(false, __FILE__, __LINE__, "%s: byte %zu changed: rc %d (%s)",
                               wc->name, pos, rc, err.msg);
            }
        }
        free(bad);
        sl__reader r = {snap.data, snap.len, 0};
        ASSERT_INT_EQ(sl__window_restore(ctx, w, &r, &err), 0);
        ASSERT_INT_EQ(sl__window_snapshot(w, &again, &err), 0);
        /* the incremental form's result table may list its keys in another order */
        unit_check(
            again.len == snap.len && (w->inverse || memcmp(again.data, snap.data, snap.len) == 0),
            __FILE__, __LINE__, "%s: the restored window snapshots the same bytes", wc->name);

        /* a window that never ran */
        sl_context *ctx0 = wck_ctx(wc, 1, NULL, &c0, &w0);
        ASSERT_INT_EQ(sl__window_snapshot(w0, &empty, &err), 0);
        sl_context_free(ctx0);
        r = (sl__reader){empty.data, empty.len, 0};
        ASSERT_INT_EQ(sl__window_restore(ctx, w, &r, &err), 0);
        sl__buf_reset(&again);
        ASSERT_INT_EQ(sl__window_snapshot(w, &again, &err), 0);
        unit_check(again.len == empty.len && memcmp(again.data, empty.data, empty.len) == 0,
                   __FILE__, __LINE__, "%s: an empty window round-trips", wc->name);

        sl__buf_free(&snap);
        sl__buf_free(&again);
        sl__buf_free(&empty);
        sl_context_free(ctx);
        unit_collect_free(&c);
        unit_collect_free(&c0);
    }
}

/* Hand-made sections: a huge declared count is refused before anything is
 * allocated, bytes after the end and an unknown version are damage. */
static void test_restore_handmade(void) {
    unit_collect c = {0};
    sl_stream *w;
    sl_context *ctx = wck_ctx(&WCASES[0], 1, NULL, &c, &w);
    RUN(ctx, 1);
    sl_error err = {0, ""};
    sl__buf b = {0};
    /* header of window(3 s, 1 s), then 2^60 slots */
    CU_ASSERT_FALSE(sl__buf_put_u8(&b, 1) || sl__buf_put_bytes(&b, "window", 6) ||
                    sl__buf_put_svarint(&b, 3 * IV) || sl__buf_put_svarint(&b, IV) ||
                    sl__buf_put_u8(&b, 0));
    size_t header = b.len;
    CU_ASSERT_FALSE(sl__buf_put_varint(&b, (uint64_t)1 << 60));
    sl__reader r = {b.data, b.len, 0};
    ASSERT_INT_EQ(sl__window_restore(ctx, w, &r, &err), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "stream 'w' (window): the window checkpoint is damaged");
    /* one slot holding 2^40 records */
    b.len = header;
    CU_ASSERT_FALSE(sl__buf_put_varint(&b, 1) || sl__buf_put_svarint(&b, AT(1)) ||
                    sl__buf_put_u8(&b, 0) || sl__buf_put_varint(&b, (uint64_t)1 << 40));
    r = (sl__reader){b.data, b.len, 0};
    ASSERT_INT_EQ(sl__window_restore(ctx, w, &r, &err), SL_EINVAL);
    /* an empty ring, then a stray byte */
    b.len = header;
    CU_ASSERT_FALSE(sl__buf_put_varint(&b, 0));
    r = (sl__reader){b.data, b.len, 0};
    ASSERT_INT_EQ(sl__window_restore(ctx, w, &r, &err), 0);
    CU_ASSERT_FALSE(sl__buf_put_u8(&b, 0));
    r = (sl__reader){b.data, b.len, 0};
    ASSERT_INT_EQ(sl__window_restore(ctx, w, &r, &err), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "bytes after the end");
    /* two slots with the same time */
    b.len = header;
    CU_ASSERT_FALSE(sl__buf_put_varint(&b, 2) || sl__buf_put_svarint(&b, AT(1)) ||
                    sl__buf_put_u8(&b, 0) || sl__buf_put_varint(&b, 0) ||
                    sl__buf_put_svarint(&b, AT(1)) || sl__buf_put_u8(&b, 0) ||
                    sl__buf_put_varint(&b, 0));
    r = (sl__reader){b.data, b.len, 0};
    ASSERT_INT_EQ(sl__window_restore(ctx, w, &r, &err), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "out of order");
    /* another format version */
    b.data[0] = 2;
    r = (sl__reader){b.data, b.len, 0};
    ASSERT_INT_EQ(sl__window_restore(ctx, w, &r, &err), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "stream 'w'");
    ASSERT_CONTAINS(err.msg, "version 2");
    sl__buf_free(&b);
    sl_context_free(ctx);
    unit_collect_free(&c);
}

static int unused_calls;

/* A map that counts its calls. */
static int count_calls(void *ud, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)ud;
    (void)err;
    unused_calls++;
    for (size_t i = 0; i < in->count; i++) {
        int rc = sl_emit(out, &in->records[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A window nothing reads is not computed (nor is what only it reads). */
static void test_unused_window(void) {
    sl_context *ctx = ctx_new(1);
    unit_collect c = {0};
    sl_stream *src = queue(ctx, "[1]\n[2]\n[3]\n");
    sl_window(sl_map_fn(src, count_calls, NULL), 2 * IV, IV); /* no consumer */
    collect(src, &c);
    unused_calls = 0;
    RUN(ctx, 3);
    ASSERT_INT_EQ(c.nb, 3);
    ASSERT_INT_EQ(unused_calls, 0);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

UNIT_MAIN("window", {"window 3 s sliding 1 s", test_window_sliding},
          {"the example of docs/semantics.md", test_window_doc_example},
          {"tumbling window, output at slide times", test_window_tumbling},
          {"window shorter than its slide (gaps)", test_window_gaps},
          {"non-overlapping windows", test_window_non_overlapping},
          {"count_by_window of empty windows is 0", test_count_by_window},
          {"reduce_by_window", test_reduce_by_window},
          {"reduce_by_window keeps bytes", test_reduce_by_window_bytes},
          {"reduce_by_key_and_window: recompute, inverse, filter", test_reduce_by_key_and_window},
          {"inverse count sliding 2 s", test_inverse_count_slide2},
          {"inverse vs recompute, random data", test_inverse_vs_recompute_random},
          {"count_by_value_and_window", test_count_by_value_and_window},
          {"group_by_key_and_window", test_group_by_key_and_window},
          {"None keys in windows", test_window_none_keys},
          {"window of a window", test_window_of_window},
          {"window of a union", test_window_of_union}, {"big window", test_window_big},
          {"error: not a multiple", test_error_not_multiple},
          {"error: window of a window's slide", test_error_window_of_window_slide},
          {"error: inverse", test_error_inverse}, {"error: runtime", test_error_runtime},
          {"resume every window operation from a checkpoint", test_resume_all_ops},
          {"resume switching reduce_by_key_and_window's form", test_resume_switch_forms},
          {"resume with a changed window is refused", test_resume_window_changed},
          {"restore damaged window snapshots", test_restore_damaged},
          {"restore hand-made window sections", test_restore_handmade},
          {"an unused window is not computed", test_unused_window})

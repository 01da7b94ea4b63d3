/*
 * test_stateful.c — core/src/stateful.c and recovery.c: update_state_by_key,
 * map_with_state, state_snapshots, state limits, initial state, and resuming
 * from checkpoints through the public API (manual clock, queue source).
 * Expected outputs are worked out by hand in the comments.
 */
#define UNIT_ENGINE
#include "unit.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Batches of words, as a queue file's lines. */
#define WORDS "[\"a b a\"]\n[\"b c\"]\n[]\n[\"a\"]\n"

/* words -> (word, 1) */
static sl_stream *pairs(sl_context *ctx, const char *lines) {
    return sl_map(sl_flat_map(queue(ctx, lines), "text.split", NULL), "kv.pair", NULL);
}

/* update_state_by_key with agg.sum: counts accumulate; every key is in
 * every batch's output, also in the empty batch 2.
 *   batch 0: a a b        -> a 2, b 1
 *   batch 1: b c          -> a 2, b 2, c 1
 *   batch 2: (nothing)    -> a 2, b 2, c 1
 *   batch 3: a            -> a 3, b 2, c 1 */
static void test_update_reduce(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    collect(sl_update_state_by_key(pairs(ctx, WORDS), "agg.sum", NULL), &c);
    RUN(ctx, 4);
    ASSERT_INT_EQ(c.nb, 4);
    ASSERT_STR_EQ(BATCH_SORTED(&c, 0), "('a', 2), ('b', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&c, 1), "('a', 2), ('b', 2), ('c', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&c, 2), "('a', 2), ('b', 2), ('c', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&c, 3), "('a', 3), ('b', 2), ('c', 1)");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

static int calls_without_values;

/* A C update function: the sum of the values plus the state; a key whose
 * total reaches 3 is removed; it counts the calls that get no values (keys
 * that are only in the state), which Spark's updateStateByKey makes. */
static int sum_until_3(void *ud, const sl_value *key, const sl_value *values, size_t n,
                       const sl_value *state, sl_value *out, sl_mem *mem, sl_error *err) {
    (void)ud;
    (void)key;
    (void)mem;
    (void)err;
    if (n == 0)
        calls_without_values++;
    int64_t total = state ? state->u.i : 0;
    for (size_t i = 0; i < n; i++)
        total += values[i].u.i;
    if (total >= 3)
        return SL_REMOVE;
    *out = sl_int(total);
    return 0;
}

/* Removal and "every key every batch":
 *   batch 0: a a b  -> a 2, b 1
 *   batch 1: b c    -> a 2 (called with no values), b 2, c 1
 *   batch 2: -      -> a 2, b 2, c 1 (three calls with no values)
 *   batch 3: a      -> a reaches 3: removed; b 2, c 1 */
static void test_update_fn_remove(void) {
    sl_context *ctx = ctx_new(1);
    unit_collect c = {0};
    calls_without_values = 0;
    collect(sl_update_state_by_key_fn(pairs(ctx, WORDS), sum_until_3, NULL), &c);
    RUN(ctx, 4);
    ASSERT_STR_EQ(BATCH_SORTED(&c, 1), "('a', 2), ('b', 2), ('c', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&c, 3), "('b', 2), ('c', 1)");
    /* batch 1: a; batch 2: a, b, c; batch 3: b, c */
    ASSERT_INT_EQ(calls_without_values, 6);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* agg.expiring removes keys as a Spark updateFunc returning None.
 * max 2:           a 2, b 1 | a 2, b 2, c 1 | same | a 3 > 2: removed; b 2, c 1
 *                  | a a a: a new key over 2, not kept: b 2, c 1
 * drop_idle:       a 2, b 1 | a idle: removed; b 2, c 1 | all idle: nothing | a 1 | a 4
 * max 2, drop_idle: batch 3 a 1 again (b and c idle), batch 4 a 4 > 2: nothing */
static void test_update_expiring(void) {
    const char *const *params[] = {P("max", "2"), P("drop_idle", "true"),
                                   P("max", "2", "drop_idle", "yes")};
    unit_collect c[3] = {{0}};
    for (int i = 0; i < 3; i++) {
        sl_context *ctx = ctx_new(2);
        collect(
            sl_update_state_by_key(pairs(ctx, WORDS "[\"a a a\"]\n"), "agg.expiring", params[i]),
            &c[i]);
        RUN(ctx, 5);
        ASSERT_INT_EQ(c[i].nb, 5);
        ASSERT_STR_EQ(BATCH_SORTED(&c[i], 0), "('a', 2), ('b', 1)");
        sl_context_free(ctx);
    }
    ASSERT_STR_EQ(BATCH_SORTED(&c[0], 1), "('a', 2), ('b', 2), ('c', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&c[0], 2), "('a', 2), ('b', 2), ('c', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&c[0], 3), "('b', 2), ('c', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&c[0], 4), "('b', 2), ('c', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&c[1], 1), "('b', 2), ('c', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&c[1], 2), "");
    ASSERT_STR_EQ(BATCH_SORTED(&c[1], 3), "('a', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&c[1], 4), "('a', 4)");
    ASSERT_STR_EQ(BATCH_SORTED(&c[2], 3), "('a', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&c[2], 4), "");
    for (int i = 0; i < 3; i++)
        unit_collect_free(&c[i]);
}

/* agg.expiring: a wrong max is refused naming it; it has no map(). */
static void test_update_expiring_errors(void) {
    sl_context *ctx = ctx_new(1);
    sl_stream *p = pairs(ctx, WORDS);
    CU_ASSERT_PTR_NULL(sl_update_state_by_key(p, "agg.expiring", P("max", "lots")));
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "max");
    sl_context_clear_error(ctx);
    CU_ASSERT_PTR_NULL(sl_map_with_state(p, "agg.expiring", NULL, 0));
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "agg.expiring");
    sl_context_free(ctx);
}

/* An initial state from a JSON Lines file: b starts at 10. */
static void test_initial_state(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s",
             unit_queue_file("{\"key\": \"b\", \"value\": 10}\n[\"z\", 5]\n"));
    sl_stream *s = sl_update_state_by_key(pairs(ctx, WORDS), "agg.sum", NULL);
    CU_ASSERT_PTR_NOT_NULL(sl_stream_set_initial_state(s, path));
    collect(s, &c);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH_SORTED(&c, 0), "('a', 2), ('b', 11), ('z', 5)");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* A directory or a FIFO as initial_state is refused by the builder with a
 * message naming the stream and the path (issue 12, fault 5: a directory
 * used to run with empty state, a FIFO hung the start). alarm() bounds the
 * test: a FIFO without a writer blocks a plain open() forever. */
static void test_initial_state_not_regular(void) {
    char dir[4096], fifo[4200];
    snprintf(dir, sizeof dir, "%s", unit_queue_file(""));
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    snprintf(fifo, sizeof fifo, "%s/state.fifo", dir);
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
    const char *paths[] = {dir, fifo};
    const char *kinds[] = {"a directory", "a FIFO"};
    for (int i = 0; i < 2; i++) {
        sl_context *ctx = ctx_new(1);
        sl_stream *s = sl_update_state_by_key(pairs(ctx, WORDS), "agg.sum", NULL);
        alarm(10);
        CU_ASSERT_PTR_NULL(sl_stream_set_initial_state(s, paths[i]));
        alarm(0);
        const char *msg = sl_context_errmsg(ctx);
        ASSERT_CONTAINS(msg, sl_stream_name(s));
        ASSERT_CONTAINS(msg, paths[i]);
        ASSERT_CONTAINS(msg, kinds[i]);
        CU_ASSERT_NOT_EQUAL(sl_context_start(ctx), 0);
        sl_context_free(ctx);
    }
    unlink(fifo);
}

/* A file that was regular when set but is a FIFO at start: the start (the
 * first batch) fails with the stream and path named, and does not hang. */
static void test_initial_state_replaced_by_fifo(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s", unit_queue_file("[\"z\", 5]\n"));
    sl_context *ctx = ctx_new(1);
    sl_stream *s = sl_update_state_by_key(pairs(ctx, WORDS), "agg.sum", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sl_stream_set_initial_state(s, path));
    unit_collect c = {0};
    collect(s, &c);
    CU_ASSERT_EQUAL_FATAL(unlink(path), 0);
    CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
    alarm(10);
    sl_context_set_max_batches(ctx, 1);
    int rc = sl_context_start(ctx);
    if (rc == 0)
        rc = sl_context_await_termination(ctx);
    alarm(0);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), path);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "not a regular file");
    ASSERT_INT_EQ(c.nb, 0);
    unit_collect_free(&c);
    sl_context_free(ctx);
    unlink(path);
}

/* An initial state from a stream (Spark's initialRDD): the pairs of its
 * first batch; its later batches do not matter. b starts at 10, z at 5. */
static void test_initial_state_stream(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    sl_stream *init =
        queue(ctx, "[{\"key\": \"b\", \"value\": 10}, {\"key\": \"z\", \"value\": 5}]\n"
                   "[{\"key\": \"b\", \"value\": 1000}]\n");
    sl_stream *s = sl_update_state_by_key(pairs(ctx, WORDS), "agg.sum", NULL);
    CU_ASSERT_PTR_NOT_NULL(sl_stream_set_initial_state_stream(s, init));
    collect(s, &c);
    RUN(ctx, 2);
    ASSERT_STR_EQ(BATCH_SORTED(&c, 0), "('a', 2), ('b', 11), ('z', 5)");
    ASSERT_STR_EQ(BATCH_SORTED(&c, 1), "('a', 2), ('b', 12), ('c', 1), ('z', 5)");
    /* a stateless stream has no initial state */
    CU_ASSERT_PTR_NULL(sl_stream_set_initial_state_stream(init, s));
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* A state memory limit: a clear error naming the stream, not a crash. */
static void test_state_limit(void) {
    sl_context *ctx = ctx_new(1);
    unit_collect c = {0};
    /* 2000 distinct keys in one batch against a 16 KiB limit */
    size_t cap = 64 * 1024, len = 0;
    char *line = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    len += (size_t)snprintf(line + len, cap - len, "[\"");
    for (int i = 0; i < 2000; i++)
        len += (size_t)snprintf(line + len, cap - len, "%sword%d", i ? " " : "", i);
    snprintf(line + len, cap - len, "\"]\n");
    sl_stream *s = sl_update_state_by_key(pairs(ctx, line), "agg.sum", NULL);
    s = sl_stream_set_name(sl_stream_set_state_limit(s, 16 * 1024), "counts");
    collect(s, &c);
    sl_context_set_max_batches(ctx, 1);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    int rc = sl_context_await_termination(ctx);
    ASSERT_INT_EQ(rc, SL_ELIMIT);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "counts");
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "limit");
    free(line);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* map_with_state (agg.running) with a 2-batch timeout, and its snapshots.
 *   batch 0: a a b -> emits (a,1) (a,2) (b,1); state a 2, b 1
 *   batch 1: b c   -> (b,2) (c,1);              a 2, b 2, c 1
 *   batch 2: -     -> a idle 2 batches: times out -> state b 2, c 1
 *   batch 3: a     -> (a,1) (a starts over);      b, c idle 2: out -> a 1 */
static void test_map_with_state(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect m = {0}, snap = {0};
    sl_stream *mapped = sl_map_with_state(pairs(ctx, WORDS), "agg.running", NULL, 2 * IV);
    collect(mapped, &m);
    collect(sl_state_snapshots(mapped), &snap);
    RUN(ctx, 4);
    ASSERT_STR_EQ(BATCH(&m, 0), "('a', 1), ('a', 2), ('b', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&m, 1), "('b', 2), ('c', 1)");
    ASSERT_STR_EQ(BATCH(&m, 2), "");
    ASSERT_STR_EQ(BATCH(&m, 3), "('a', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&snap, 1), "('a', 2), ('b', 2), ('c', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&snap, 2), "('b', 2), ('c', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&snap, 3), "('a', 1)");
    unit_collect_free(&m);
    unit_collect_free(&snap);
    sl_context_free(ctx);
}

/* Wrong functions are refused at build time with the reason. */
static void test_wrong_functions(void) {
    sl_context *ctx = ctx_new(1);
    sl_stream *p = pairs(ctx, WORDS);
    CU_ASSERT_PTR_NULL(sl_update_state_by_key(p, "text.split", NULL));
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "update_state_by_key takes");
    sl_context_clear_error(ctx);
    CU_ASSERT_PTR_NULL(sl_map_with_state(p, "agg.sum", NULL, 0));
    sl_context_clear_error(ctx);
    CU_ASSERT_PTR_NULL(sl_state_snapshots(p));
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "not map_with_state");
    sl_context_free(ctx);
}

/* A stateful pipeline over `lines`, checkpointing into `dir` every batch;
 * `extra` adds an unrelated output; `op` picks the stateful operation. */
static sl_context *ckpt_ctx(const char *dir, const char *lines, bool extra, bool reduce,
                            unit_collect *c) {
    sl_context *ctx = ctx_new(2);
    sl_context_checkpoint(ctx, dir);
    sl_context_set_checkpoint_interval(ctx, IV);
    sl_stream *p = pairs(ctx, lines);
    sl_stream *s =
        reduce ? sl_reduce_by_key(p, "agg.sum", NULL) : sl_update_state_by_key(p, "agg.sum", NULL);
    collect(sl_stream_set_name(s, "counts"), c);
    if (extra)
        collect(sl_count(p), c);
    return ctx;
}

/* Resume: state and the queue's position come back; an added output does
 * not matter; a changed stateful stream is refused with advice. */
static void test_resume(void) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s.ckpt", unit_queue_file(""));
    const char *lines = WORDS "[\"c c\"]\n"; /* each run writes its own copy */
    unit_collect c1 = {0}, c2 = {0}, c3 = {0};
    sl_context *ctx = ckpt_ctx(dir, lines, false, false, &c1);
    RUN(ctx, 2); /* batches 0 and 1: a 2, b 2, c 1 */
    sl_context_free(ctx);
    ctx = ckpt_ctx(dir, lines, true, false, &c2);                        /* + an unrelated output */
    RUN(ctx, 3);                                                         /* batches 2, 3, 4 */
    ASSERT_STR_EQ(BATCH_SORTED(&c2, 0), "('a', 2), ('b', 2), ('c', 1)"); /* batch 2: [] */
    /* outputs alternate counts / count per batch: batch 4 = c c */
    ASSERT_STR_EQ(BATCH_SORTED(&c2, 4), "('a', 3), ('b', 2), ('c', 3)");
    sl_context_free(ctx);
    /* the same name now a reduce_by_key: refused, naming the stream */
    ctx = ckpt_ctx(dir, lines, false, true, &c3);
    ASSERT_INT_EQ(sl_context_start(ctx), SL_ECONFIG);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "'counts'");
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "--fresh");
    sl_context_free(ctx);
    /* --fresh: starts over */
    unit_collect_free(&c3);
    ctx = ckpt_ctx(dir, lines, false, true, &c3);
    sl_context_set_fresh(ctx, 1);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH_SORTED(&c3, 0), "('a', 2), ('b', 1)");
    sl_context_free(ctx);
    unit_collect_free(&c1);
    unit_collect_free(&c2);
    unit_collect_free(&c3);
    unit_rmtree(dir);
}

/* An operator's state survives a restart: dedupe.by_key (within 10
 * batches) keeps dropping keys seen before the checkpoint.
 *   batches: [a b a] [b c] [] [a] [d c]
 *   dedupe:  a b | c | - | - | d       (a, b, c were seen) */
static void test_operator_resume(void) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s.ckpt", unit_queue_file(""));
    const char *lines = WORDS "[\"d c\"]\n";
    unit_collect full = {0}, first = {0}, rest = {0};
    sl_context *ctx = ctx_new(1);
    collect(sl_operator(pairs(ctx, lines), "dedupe.by_key", P("within", "10s")), &full);
    RUN(ctx, 5);
    sl_context_free(ctx);
    ASSERT_STR_EQ(BATCH(&full, 0), "('a', 1), ('b', 1)");
    ASSERT_STR_EQ(BATCH(&full, 4), "('d', 1)");
    for (int part = 0; part < 2; part++) {
        ctx = ctx_new(1);
        sl_context_checkpoint(ctx, dir);
        sl_context_set_checkpoint_interval(ctx, IV);
        sl_stream *d = sl_operator(pairs(ctx, lines), "dedupe.by_key", P("within", "10s"));
        collect(sl_stream_set_name(d, "dd"), part ? &rest : &first);
        RUN(ctx, part ? 3 : 2); /* batches 0-1, then 2-4 after the restart */
        sl_context_free(ctx);
    }
    ASSERT_INT_EQ(rest.nb, 3);
    ASSERT_STR_EQ(BATCH(&rest, 1), "");         /* batch 3: a was seen before the stop */
    ASSERT_STR_EQ(BATCH(&rest, 2), "('d', 1)"); /* batch 4: c too */
    unit_collect_free(&full);
    unit_collect_free(&first);
    unit_collect_free(&rest);
    unit_rmtree(dir);
}

UNIT_MAIN("stateful", {"update_state_by_key with agg.sum", test_update_reduce},
          {"a C update function removes keys", test_update_fn_remove},
          {"agg.expiring removes keys", test_update_expiring},
          {"agg.expiring: bad max, no map()", test_update_expiring_errors},
          {"initial state from a file", test_initial_state},
          {"initial state from a stream", test_initial_state_stream},
          {"initial state: a directory or a FIFO is refused", test_initial_state_not_regular},
          {"initial state: a FIFO at start fails the run", test_initial_state_replaced_by_fifo},
          {"state memory limit", test_state_limit}, {"map_with_state", test_map_with_state},
          {"wrong functions", test_wrong_functions}, {"resume from a checkpoint", test_resume},
          {"an operator's state across a restart", test_operator_resume})

/*
 * test_config.c — core/src/config.c, the YAML pipeline loader, against the
 * promises of docs/config.md: valid files build the graph they describe,
 * and every error is "FILE:LINE:COL: message" at the right node (line and
 * column worked out by hand for each case, 1-based, at the start of the node
 * concerned).
 */
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "unit.h"

/* Every operation of the YAML format, in the order the loader lists them. */
#define ALL_OPS                                                                                    \
    "source, map, flat_map, filter, map_values, flat_map_values, transform, reduce_by_key, "       \
    "reduce, count, count_by_value, union, repartition, update_state_by_key, map_with_state, "     \
    "state_snapshots, operator, window, count_by_window, reduce_by_window, "                       \
    "reduce_by_key_and_window, count_by_value_and_window, group_by_key_and_window, group_by_key, " \
    "join, left_outer_join, right_outer_join, full_outer_join, cogroup"

#define NAME "wc.yaml"

static char errbuf[2048];

/* Load `yaml` as wc.yaml; the error (if any) is in errbuf. */
static sl_context *load(const char *yaml) {
    errbuf[0] = 0;
    return sl_config_load_string(yaml, strlen(yaml), NAME, NULL, errbuf, sizeof errbuf);
}

/* `yaml` is refused with exactly the error `want`. */
#define ASSERT_LOAD_ERROR(yaml, want)                                                              \
    do {                                                                                           \
        sl_context *ctx_ = load(yaml);                                                             \
        CU_ASSERT_PTR_NULL(ctx_);                                                                  \
        sl_context_free(ctx_);                                                                     \
        ASSERT_STR_EQ(errbuf, want);                                                               \
    } while (0)

/* `yaml` is refused with an error that starts with `prefix` ("wc.yaml:L:C: ...").*/
#define ASSERT_LOAD_ERROR_PREFIX(yaml, prefix)                                                     \
    do {                                                                                           \
        sl_context *ctx_ = load(yaml);                                                             \
        CU_ASSERT_PTR_NULL(ctx_);                                                                  \
        sl_context_free(ctx_);                                                                     \
        unit_check(strncmp(errbuf, prefix, strlen(prefix)) == 0, __FILE__, __LINE__,               \
                   "error starts with \"%s\" (got \"%s\")", prefix, errbuf);                       \
    } while (0)

/* The stream called `name` in a loaded context (engine internals). */
static sl_stream *stream_named(sl_context *ctx, const char *name) {
    for (size_t i = 0; ctx && i < ctx->nstreams; i++)
        if (strcmp(ctx->streams[i]->name, name) == 0)
            return ctx->streams[i];
    return NULL;
}

/* Attach a collector to stream `name`, run `batches` batches on the manual
 * clock, and return await's result. */
static int run_collect(sl_context *ctx, const char *name, unit_collect *c, int64_t batches) {
    sl_stream *s = stream_named(ctx, name);
    unit_check(s != NULL, __FILE__, __LINE__, "stream '%s' exists", name);
    if (!s)
        return SL_ENOTFOUND;
    CU_ASSERT_EQUAL(sl_foreach_batch(s, unit_collect_cb, c), 0);
    sl_context_set_clock(ctx, SL_CLOCK_MANUAL);
    if (batches)
        sl_context_set_max_batches(ctx, batches);
    int rc = sl_context_start(ctx);
    unit_check(rc == 0, __FILE__, __LINE__, "start (%s)", sl_context_errmsg(ctx));
    return rc ? rc : sl_context_await_termination(ctx);
}

/* ---- valid pipelines ---------------------------------------------------------------- */

/* The operations of issue 3 from YAML: windows (length, slide, inverse,
 * filter_fn), a join, update_state_by_key (memory_limit), map_with_state
 * (timeout), state_snapshots and an operator, all in one pipeline.
 *   batches: [a b a] [b c] [] [a]
 *   counts (update_state_by_key agg.sum): a2 b1 | a2 b2 c1 | same | a3 b2 c1
 *   win (reduce_by_key_and_window agg.sum, length 2s, slide 1s, inverse,
 *        filter_fn kv.nonzero), batch 3 = batches 2 and 3: a 1
 *   cbw (count_by_window, length 2s, slide 2s): batches 1 and 3: 5 and 1
 *   both (join counts with win) at batch 3: (a, (3, 1))
 *   run (map_with_state agg.running, timeout 1s) batch 1: (b, 2), (c, 1)
 *   snap at batch 3: a 1 (a timed out at batch 2, came back at 3)
 *   dd (operator dedupe.by_key within 10s) batch 1: (c, 1) (b was seen) */
static void test_stateful_ops(void) {
    const char *q = unit_queue_file("[\"a b a\"]\n[\"b c\"]\n[]\n[\"a\"]\n");
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "batch_interval: 1s\n"
             "streams:\n"
             "  lines: {source: queue, path: '%s'}\n"
             "  words: {flat_map: text.split, from: lines}\n"
             "  pairs: {map: kv.pair, from: words}\n"
             "  counts: {update_state_by_key: agg.sum, from: pairs, memory_limit: 1MiB}\n"
             "  win: {reduce_by_key_and_window: agg.sum, from: pairs, length: 2s, slide: 1s,\n"
             "        inverse: true, filter_fn: kv.nonzero}\n"
             "  cbw: {count_by_window: words, length: 2s, slide: 2s}\n"
             "  both: {join: [counts, win]}\n"
             "  run: {map_with_state: agg.running, from: pairs, timeout: 1s}\n"
             "  snap: {state_snapshots: run}\n"
             "  dd: {operator: dedupe.by_key, from: pairs, within: 10s}\n"
             "outputs:\n"
             "  - {sink: pprint, from: both}\n"
             "  - {sink: pprint, from: cbw}\n"
             "  - {sink: pprint, from: snap}\n"
             "  - {sink: pprint, from: dd}\n",
             q);
    sl_context *ctx = load(yaml);
    unit_check(ctx != NULL, __FILE__, __LINE__, "loads (%s)", errbuf);
    if (!ctx)
        return;
    unit_collect counts = {0}, win = {0}, cbw = {0}, both = {0}, run = {0}, snap = {0}, dd = {0};
    CU_ASSERT_EQUAL(sl_foreach_batch(stream_named(ctx, "counts"), unit_collect_cb, &counts), 0);
    CU_ASSERT_EQUAL(sl_foreach_batch(stream_named(ctx, "win"), unit_collect_cb, &win), 0);
    CU_ASSERT_EQUAL(sl_foreach_batch(stream_named(ctx, "cbw"), unit_collect_cb, &cbw), 0);
    CU_ASSERT_EQUAL(sl_foreach_batch(stream_named(ctx, "both"), unit_collect_cb, &both), 0);
    CU_ASSERT_EQUAL(sl_foreach_batch(stream_named(ctx, "snap"), unit_collect_cb, &snap), 0);
    CU_ASSERT_EQUAL(sl_foreach_batch(stream_named(ctx, "dd"), unit_collect_cb, &dd), 0);
    ASSERT_INT_EQ(run_collect(ctx, "run", &run, 4), 0);
    ASSERT_STR_EQ(BATCH_SORTED(&counts, 3), "('a', 3), ('b', 2), ('c', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&win, 3), "('a', 1)");
    ASSERT_INT_EQ(cbw.nb, 2);
    ASSERT_STR_EQ(BATCH(&cbw, 0), "5");
    ASSERT_STR_EQ(BATCH(&cbw, 1), "1");
    ASSERT_STR_EQ(BATCH_SORTED(&both, 3), "('a', (3, 1))");
    ASSERT_STR_EQ(BATCH_SORTED(&run, 1), "('b', 2), ('c', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&snap, 3), "('a', 1)");
    ASSERT_STR_EQ(BATCH_SORTED(&dd, 1), "('c', 1)");
    unit_collect *all[] = {&counts, &win, &cbw, &both, &run, &snap, &dd};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        unit_collect_free(all[i]);
    sl_context_free(ctx);
    /* the window keys' errors point at them */
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: 1s\n"
                             "streams:\n"
                             "  a: {source: queue, path: x}\n"
                             "  w: {window: a, length: 1500ms}\n",
                             NAME ":4:26: window: the window (1500 ms) must be a positive "
                                  "multiple of the batch interval (1000 ms)");
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: 1s\n"
                             "streams:\n"
                             "  a: {source: queue, path: x}\n"
                             "  w: {count_by_window: a}\n",
                             NAME ":4:6: stream 'w': missing 'length: DURATION'");
}

/* The word count of docs/config.md, in block and flow style, builds and runs
 * with the streams named by their keys. */
static void test_valid_pipeline(void) {
    const char *q = unit_queue_file("[\"a b\", \"b\"]\n[\"c\"]\n");
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "batch_interval: 2s   # a comment\n"
             "workers: 2\n"
             "early_combine: false\n"
             "streams:\n"
             "  lines:\n"
             "    source: queue\n"
             "    path: \"%s\"\n"
             "  words: {flat_map: text.split, from: lines, sep: \" \"}\n"
             "  pairs: {map: kv.pair, from: words}\n"
             "  counts:\n"
             "    reduce_by_key: agg.sum\n"
             "    from: pairs\n"
             "    partitions: 3\n"
             "outputs:\n"
             "  - {sink: pprint, from: counts, num: 5}\n",
             q);
    sl_context *ctx = load(yaml);
    unit_check(ctx != NULL, __FILE__, __LINE__, "valid pipeline loads (%s)", errbuf);
    if (!ctx)
        return;
    ASSERT_STR_EQ(errbuf, "");
    ASSERT_INT_EQ(ctx->interval, 2000);
    ASSERT_INT_EQ(ctx->workers, 2);
    ASSERT_INT_EQ(ctx->early_combine, false);
    ASSERT_INT_EQ(ctx->noutputs, 1);
    sl_stream *counts = stream_named(ctx, "counts");
    CU_ASSERT_PTR_NOT_NULL_FATAL(counts);
    ASSERT_INT_EQ(counts->partitions, 3);
    CU_ASSERT_PTR_NOT_NULL(stream_named(ctx, "lines"));
    CU_ASSERT_PTR_NOT_NULL(stream_named(ctx, "words"));
    unit_collect c = {0};
    ASSERT_INT_EQ(run_collect(ctx, "counts", &c, 2), 0);
    ASSERT_INT_EQ(c.nb, 2);
    ASSERT_STR_EQ(BATCH_SORTED(&c, 0), "('a', 1), ('b', 2)");
    ASSERT_STR_EQ(BATCH_SORTED(&c, 1), "('c', 1)");
    ASSERT_INT_EQ(c.nb ? c.b[1].t - c.b[0].t : 0, 2000);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* A `from` may name a stream defined further down; union folds a list;
 * count, count_by_value and repartition take a stream; each stream is built
 * once however many read it. */
static void test_forward_refs_and_stream_ops(void) {
    const char *q = unit_queue_file("[\"x\", \"y\", \"x\"]\n");
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "batch_interval: 1s\n"
             "streams:\n"
             "  n: {count: both}\n"
             "  both: {union: [lines, upper, lines]}\n"
             "  upper: {map: text.upper, from: lines}\n"
             "  freq: {count_by_value: lines, partitions: 2}\n"
             "  spread: {repartition: lines, partitions: 4}\n"
             "  lines: {source: queue, path: '%s'}\n"
             "outputs:\n"
             "  - {sink: pprint, from: n}\n"
             "  - {sink: pprint, from: freq}\n"
             "  - {sink: pprint, from: spread}\n",
             q);
    sl_context *ctx = load(yaml);
    unit_check(ctx != NULL, __FILE__, __LINE__, "loads (%s)", errbuf);
    if (!ctx)
        return;
    /* 6 named streams + 1 intermediate union (folded left) */
    ASSERT_INT_EQ(ctx->nstreams, 7);
    ASSERT_INT_EQ(stream_named(ctx, "spread") ? stream_named(ctx, "spread")->partitions : 0, 4);
    unit_collect c = {0};
    ASSERT_INT_EQ(run_collect(ctx, "n", &c, 1), 0);
    ASSERT_STR_EQ(BATCH(&c, 0), "9");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* plugin_path: a relative entry resolves against the file's directory. */
static void test_plugin_path_relative(void) {
    const char *bad = getenv("SLUICE_TEST_BADPLUGINS");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
    const char *q = unit_queue_file("[1, 2]\n");
    char name[4096], yaml[4096];
    snprintf(name, sizeof name, "%s/pipeline.yaml", bad);
    snprintf(yaml, sizeof yaml,
             "batch_interval: 1s\n"
             "plugin_path: .\n"
             "streams:\n"
             "  in: {source: queue, path: %s}\n"
             "  same: {map: good.identity, from: in}\n"
             "outputs:\n"
             "  - {sink: pprint, from: same}\n",
             q);
    errbuf[0] = 0;
    sl_context *ctx = sl_config_load_string(yaml, strlen(yaml), name, NULL, errbuf, sizeof errbuf);
    unit_check(ctx != NULL, __FILE__, __LINE__, "loads with plugin_path: . (%s)", errbuf);
    unit_collect c = {0};
    if (ctx) {
        ASSERT_INT_EQ(run_collect(ctx, "same", &c, 1), 0);
        ASSERT_STR_EQ(BATCH(&c, 0), "1, 2");
    }
    unit_collect_free(&c);
    sl_context_free(ctx);
    /* without it, good.identity is not found */
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: 1s\n"
                             "streams:\n"
                             "  in: {source: queue, path: /x}\n"
                             "  same: {map: good.identity, from: in}\n"
                             "outputs:\n"
                             "  - {sink: pprint, from: same}\n",
                             NAME ":4:15: unknown plugin 'good'");
}

/* Copy file `from` to `to` (mode 0644); 0 or -1. */
static int copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc == 0 ? chmod(to, 0644) : -1;
}

/* The caller's plugin_dirs come before the file's plugin_path; a directory
 * the engine refuses is reported without a position. */
static void test_plugin_dirs_argument(void) {
    const char *bad = getenv("SLUICE_TEST_BADPLUGINS");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
    char a[256], b[256], good[4096], path[4096];
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit_mkdtemp(a, sizeof a));
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit_mkdtemp(b, sizeof b));
    snprintf(good, sizeof good, "%s/good.so", bad);
    snprintf(path, sizeof path, "%s/good.so", a);
    CU_ASSERT_EQUAL_FATAL(copy_file(good, path), 0);
    snprintf(path, sizeof path, "%s/good.so", b);
    CU_ASSERT_EQUAL_FATAL(copy_file(good, path), 0);
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "batch_interval: 1s\n"
             "plugin_path: [%s]\n"
             "streams:\n"
             "  in: {source: queue, path: /x}\n"
             "  same: {map: good.identity, from: in}\n"
             "outputs:\n"
             "  - {sink: pprint, from: same}\n",
             b);
    const char *dirs[] = {a, NULL};
    errbuf[0] = 0;
    sl_context *ctx = sl_config_load_string(yaml, strlen(yaml), NAME, dirs, errbuf, sizeof errbuf);
    unit_check(ctx != NULL, __FILE__, __LINE__, "loads (%s)", errbuf);
    if (ctx) {
        sl__plugin *p = ctx->reg.loaded;
        while (p && strcmp(p->name, "good") != 0)
            p = p->next;
        CU_ASSERT_PTR_NOT_NULL(p);
        snprintf(path, sizeof path, "%s/good.so", a);
        if (p)
            ASSERT_STR_EQ(p->path, path);
        sl_context_free(ctx);
    }
    const char *empty[] = {"", NULL};
    errbuf[0] = 0;
    ctx = sl_config_load_string(yaml, strlen(yaml), NAME, empty, errbuf, sizeof errbuf);
    CU_ASSERT_PTR_NULL(ctx);
    sl_context_free(ctx);
    ASSERT_CONTAINS(errbuf, "plugin directory ''");
    CU_ASSERT(strncmp(errbuf, NAME ":", strlen(NAME ":")) != 0);
    unit_rmtree(a);
    unit_rmtree(b);
}

/* ---- errors: syntax and top level ---------------------------------------------------- */

/* A YAML syntax error is reported at libyaml's position, with its words. */
static void test_yaml_syntax_error(void) {
    /* line 3: the ']' at column 33 closes nothing: a flow mapping started at
     * column 10 of the same line */
    ASSERT_LOAD_ERROR("batch_interval: 1s\n"
                      "streams:\n"
                      "  lines: {source: queue, path: x]\n"
                      "outputs: []\n",
                      NAME ":3:33: invalid YAML: did not find expected ',' or '}' (while parsing "
                           "a flow mapping at line 3)");
    /* a key indented wrongly on line 3, column 3 */
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: 1s\n"
                             "streams: x\n"
                             "  lines: {}\n",
                             NAME ":3:");
}

/* Empty files, non-mapping roots and several documents are refused. */
static void test_document_shape(void) {
    ASSERT_LOAD_ERROR("", NAME ":1:1: the file is empty (expected a mapping with batch_interval, "
                               "streams and outputs)");
    ASSERT_LOAD_ERROR("# only a comment\n",
                      NAME ":1:1: the file is empty (expected a mapping with batch_interval, "
                           "streams and outputs)");
    ASSERT_LOAD_ERROR("\n- a\n- b\n", NAME ":2:1: expected a mapping with batch_interval, streams "
                                           "and outputs, got a list");
    ASSERT_LOAD_ERROR("batch_interval: 1s\n---\nbatch_interval: 2s\n",
                      NAME ":3:1: expected a single YAML document, found a second one");
}

/* An unknown top-level key is refused at the key, listing the valid ones. */
static void test_unknown_top_key(void) {
    ASSERT_LOAD_ERROR("batch_interval: 1s\n"
                      "batch_intervall: 2s\n"
                      "streams: {}\n",
                      NAME
                      ":2:1: unknown top-level key 'batch_intervall' (expected one of: "
                      "batch_interval, workers, clock, start_time, receiver_buffer, "
                      "early_combine, "
                      "plugin_path, checkpoint, checkpoint_interval, checkpoint_keep, "
                      "receiver_wal, receiver_wal_max, receiver_wal_sync, http, streams, outputs)");
}

/* A missing batch_interval is reported at the top-level mapping. */
static void test_missing_interval(void) {
    ASSERT_LOAD_ERROR("# no interval\n"
                      "streams:\n"
                      "  lines: {source: queue, path: /x}\n"
                      "outputs:\n"
                      "  - {sink: pprint, from: lines}\n",
                      NAME ":2:1: missing required key 'batch_interval' (a duration like 500ms, "
                           "5s or 1m)");
}

/* A bad duration is reported at the value. */
static void test_bad_duration(void) {
    ASSERT_LOAD_ERROR("batch_interval: fast\n",
                      NAME ":1:17: batch_interval: expected a duration like 500ms, 5s or 1m, "
                           "got 'fast'");
    ASSERT_LOAD_ERROR("streams: {}\nbatch_interval:   0s\n",
                      NAME ":2:19: batch_interval: must be at least 1ms, got '0s'");
    /* no spaces, signs or exponents (docs/config.md) */
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: \"5 s\"\n", NAME ":1:17: batch_interval: expected");
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: +5s\n", NAME ":1:17: batch_interval: expected");
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: 1e3ms\n", NAME ":1:17: batch_interval: expected");
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: [1s]\n", NAME ":1:17: batch_interval: expected");
}

/* Settings are checked at their values. */
static void test_bad_settings(void) {
    /* a value out of the setting's range names the range (sl_settings_schema) */
    ASSERT_LOAD_ERROR("batch_interval: 1s\nworkers: -1\n",
                      NAME ":2:10: workers: must be between 0 and 1024, got '-1'");
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: 1s\nclock: fast\n",
                             NAME ":2:8: clock: expected system or manual, got 'fast'");
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: 1s\nreceiver_buffer: 1.5\n",
                             NAME ":2:18: receiver_buffer: expected");
    ASSERT_LOAD_ERROR("batch_interval: 1s\nreceiver_buffer: 0\n",
                      NAME ":2:18: receiver_buffer: must be at least 4KiB, got '0'");
    /* one boolean syntax: yes is true here as in a plugin's parameters */
    ASSERT_LOAD_ERROR("batch_interval: 1s\nearly_combine: maybe\n",
                      NAME ":2:16: early_combine: expected true or false, got 'maybe'");
    /* the receiver log lives in the checkpoint directory: refused at its key */
    ASSERT_LOAD_ERROR("batch_interval: 1s\nreceiver_wal: yes\nstreams: {}\n",
                      NAME ":2:15: receiver_wal: the receiver log lives in the checkpoint "
                           "directory: add 'checkpoint: DIR' (see docs/receiver-wal.md)");
    ASSERT_LOAD_ERROR("batch_interval: 1s\nreceiver_wal_max: 1KiB\n",
                      NAME ":2:19: receiver_wal_max: must be at least 1MiB, got '1KiB'");
    ASSERT_LOAD_ERROR(
        "batch_interval: 1s\nreceiver_wal_sync: -1s\n",
        NAME ":2:20: receiver_wal_sync: expected a duration like 500ms, 5s or 1m, got '-1s'");
    /* start_time: ms since the epoch or an ISO-8601 UTC time (or now) */
    static const char *const bad_times[] = {"-1",
                                            "soon",
                                            "1.5",
                                            "2026-01-01",
                                            "2026-01-01T00:00:00",
                                            "2026-01-01T00:00:00+01:00",
                                            "2026-02-29T00:00:00Z",
                                            "2026-13-01T00:00:00Z",
                                            "2026-01-01T24:00:00Z",
                                            "1969-12-31T23:59:59Z",
                                            "2026-01-01T00:00:00.Z",
                                            "99999999999999999999",
                                            "\"\""};
    for (size_t i = 0; i < sizeof bad_times / sizeof *bad_times; i++) {
        char yaml[256], want[512];
        snprintf(yaml, sizeof yaml, "batch_interval: 1s\nstart_time: %s\n", bad_times[i]);
        snprintf(want, sizeof want,
                 NAME ":2:13: start_time: expected ms since the epoch (0 or more), an ISO-8601 "
                      "UTC time like 2026-01-01T00:00:00Z or now, got '%s'",
                 strcmp(bad_times[i], "\"\"") ? bad_times[i] : "");
        ASSERT_LOAD_ERROR(yaml, want);
    }
    ASSERT_LOAD_ERROR("batch_interval: 1s\ncheckpoint_keep: 0\n",
                      NAME ":2:18: checkpoint_keep: must be between 1 and 1000, got '0'");
    ASSERT_LOAD_ERROR("batch_interval: 1s\ncheckpoint_interval: 1500ms\n",
                      NAME ":2:22: checkpoint_interval: the checkpoint interval (1500 ms) must be "
                           "a positive multiple of the batch interval (1000 ms)");
}

/* ---- errors: streams ------------------------------------------------------------------ */

#define HEAD "batch_interval: 1s\nstreams:\n  lines: {source: queue, path: /x}\n"

/* An unknown key in a stream is refused at the key, listing the keys the
 * definition may have (engine keys, then the component's parameters). */
static void test_unknown_stream_key(void) {
    ASSERT_LOAD_ERROR(HEAD "  words:\n"
                           "    flat_map: text.split\n"
                           "    fromm: lines\n"
                           "outputs:\n"
                           "  - {sink: pprint, from: words}\n",
                      NAME ":6:5: unknown key 'fromm' in stream 'words' (expected one of: from, "
                           "sep)");
    ASSERT_LOAD_ERROR(HEAD "  n: {count: lines, from: lines}\n",
                      NAME ":4:21: unknown key 'from' in stream 'n' ('count' takes no other "
                           "keys)");
}

/* An unknown plugin or component is refused at the operation's value. */
static void test_unknown_component(void) {
    ASSERT_LOAD_ERROR_PREFIX(HEAD "  words: {flat_map: nope.split, from: lines}\n",
                             NAME ":4:21: unknown plugin 'nope'");
    ASSERT_LOAD_ERROR_PREFIX(HEAD "  words: {flat_map: text.splt, from: lines}\n",
                             NAME ":4:21: plugin 'text' (");
    sl_context_free(load(HEAD "  words: {flat_map: text.splt, from: lines}\n"));
    ASSERT_CONTAINS(errbuf, "has no component 'splt'");
    ASSERT_LOAD_ERROR_PREFIX(HEAD "  words:\n    map: text.split\n    from: lines\n",
                             NAME ":5:10: text.split is a flat_map function");
    ASSERT_LOAD_ERROR(HEAD "  total: {reduce: text.split, from: lines}\n",
                      NAME ":4:19: 'text.split' is a map function, not a reduce function");
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: 1s\n"
                             "streams:\n"
                             "  lines: {source: nosource}\n",
                             NAME ":3:19: unknown plugin 'nosource'");
}

/* A parameter of the wrong type is refused at the parameter's value. */
static void test_wrong_param_type(void) {
    ASSERT_LOAD_ERROR(
        "batch_interval: 1s\n"
        "streams:\n"
        "  lines: {source: queue, path: /x, on_end: sometimes}\n",
        NAME ":3:44: stream 'lines' (queue): parameter 'on_end' expects one of idle|stop, got "
             "'sometimes'");
    ASSERT_LOAD_ERROR(HEAD "  errs:\n"
                           "    filter: text.contains\n"
                           "    from: lines\n"
                           "    pattern: ERROR\n"
                           "    invert: perhaps\n",
                      NAME
                      ":8:13: stream 'errs' (text.contains): parameter 'invert' expects true or "
                      "false, got "
                      "'perhaps'");
    ASSERT_LOAD_ERROR(HEAD "  top: {transform: kv.sort, from: lines, limit: many}\n", NAME
                      ":4:49: stream 'top' (kv.sort): parameter 'limit' expects an integer, got "
                      "'many'");
    /* a missing required parameter names no value: the operation's value */
    ASSERT_LOAD_ERROR_PREFIX(HEAD "  errs: {filter: text.contains, from: lines}\n",
                             NAME ":4:18: stream 'errs' (text.contains): missing required "
                                  "parameter 'pattern'");
    /* a parameter is a scalar, or a list or mapping of scalars */
    ASSERT_LOAD_ERROR(HEAD "  words: {flat_map: text.split, from: lines, sep: [[a]]}\n",
                      NAME ":4:52: parameter 'sep': expected a list of scalars, got a list "
                           "inside it");
    ASSERT_LOAD_ERROR(HEAD "  words: {flat_map: text.split, from: lines, sep: {a: {b: c}}}\n",
                      NAME ":4:55: parameter 'sep': expected a mapping of scalars, got a mapping "
                           "inside it");
    ASSERT_LOAD_ERROR(HEAD "  words: {flat_map: text.split, from: lines, sep: ['a,b']}\n",
                      NAME ":4:52: parameter 'sep': an item with a comma cannot be passed in a "
                           "list");
}

/* A `from` naming no stream is refused at the reference. */
static void test_unknown_from(void) {
    ASSERT_LOAD_ERROR(HEAD "  words: {flat_map: text.split, from: lnes}\n",
                      NAME ":4:39: unknown stream 'lnes' (defined streams: lines, words)");
    ASSERT_LOAD_ERROR(HEAD "  n: {count: nothere}\n",
                      NAME ":4:14: unknown stream 'nothere' (defined streams: lines, n)");
    ASSERT_LOAD_ERROR(HEAD "  words: {flat_map: text.split}\n",
                      NAME ":4:10: stream 'words': missing 'from: STREAM' (the input of "
                           "flat_map)");
}

/* A cycle is refused at the reference that closes it, with the path. */
static void test_cycle(void) {
    ASSERT_LOAD_ERROR("batch_interval: 1s\n"
                      "streams:\n"
                      "  a: {map: kv.pair, from: b}\n"
                      "  b: {map: kv.swap, from: a}\n"
                      "outputs:\n"
                      "  - {sink: pprint, from: a}\n",
                      NAME ":4:27: cycle in stream references: a -> b -> a (each name reads "
                           "'from' the next)");
    ASSERT_LOAD_ERROR("batch_interval: 1s\n"
                      "streams:\n"
                      "  a: {count: a}\n",
                      NAME ":3:14: cycle in stream references: a -> a (each name reads 'from' "
                           "the next)");
}

/* Exactly one operation key per stream. */
static void test_operation_keys(void) {
    ASSERT_LOAD_ERROR(HEAD "  a: {map: kv.pair, filter: text.contains, from: lines}\n",
                      NAME ":4:21: stream 'a' has two operations, 'map' (line 4) and 'filter' "
                           "(expected exactly one of: " ALL_OPS ")");
    ASSERT_LOAD_ERROR(HEAD "  a: {from: lines}\n", NAME
                      ":4:6: stream 'a' has no operation (expected exactly one of: " ALL_OPS ")");
    ASSERT_LOAD_ERROR(HEAD "  r: {repartition: lines}\n",
                      NAME ":4:6: stream 'r': missing 'partitions: N' (required by repartition)");
}

/* Duplicate keys are errors at the second one. */
static void test_duplicate_keys(void) {
    ASSERT_LOAD_ERROR(HEAD "  lines: {source: queue, path: /y}\n",
                      NAME ":4:3: duplicate key 'lines' in streams (first defined at line 3)");
    ASSERT_LOAD_ERROR(HEAD "  w: {map: kv.pair, from: lines, from: lines}\n",
                      NAME ":4:34: duplicate key 'from' in stream 'w' (first defined at line 4)");
}

/* Outputs: unknown keys, sinks and streams are reported where they are. */
static void test_output_errors(void) {
    ASSERT_LOAD_ERROR(HEAD "outputs:\n  - {sink: pprint, from: lines, nmu: 3}\n", NAME
                      ":5:33: unknown key 'nmu' in output 1 (expected one of: from, name, num)");
    ASSERT_LOAD_ERROR_PREFIX(HEAD "outputs:\n  - {sink: nosink, from: lines}\n",
                             NAME ":5:12: unknown plugin 'nosink'");
    ASSERT_LOAD_ERROR(HEAD "outputs:\n  - {sink: pprint, from: lines}\n  - {sink: pprint, "
                           "from: nope}\n",
                      NAME ":6:26: unknown stream 'nope' (defined streams: lines)");
    ASSERT_LOAD_ERROR(HEAD "outputs: []\n",
                      NAME ":4:10: outputs: expected a list of outputs like - {sink: pprint, "
                           "from: STREAM}, got an empty list");
    ASSERT_LOAD_ERROR(HEAD, NAME ":1:1: missing required key 'outputs' (a list of outputs like - "
                                 "{sink: pprint, from: STREAM})");
}

/* Anchors and aliases work; merge keys (<<) do not, and say so at the key. */
static void test_anchors_and_merge_keys(void) {
    const char *q = unit_queue_file("[\"an ERROR\", \"fine\"]\n");
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "batch_interval: 1s\n"
             "streams:\n"
             "  lines: {source: queue, path: '%s'}\n"
             "  bad: {filter: text.contains, from: lines, pattern: &p ERROR}\n"
             "  good: {filter: text.contains, from: lines, pattern: *p, invert: true}\n"
             "outputs:\n"
             "  - {sink: pprint, from: bad}\n"
             "  - {sink: pprint, from: good}\n",
             q);
    sl_context *ctx = load(yaml);
    unit_check(ctx != NULL, __FILE__, __LINE__, "loads (%s)", errbuf);
    if (ctx) {
        unit_collect bad = {0}, good = {0};
        sl_foreach_batch(stream_named(ctx, "good"), unit_collect_cb, &good);
        ASSERT_INT_EQ(run_collect(ctx, "bad", &bad, 1), 0);
        ASSERT_STR_EQ(BATCH(&bad, 0), "'an ERROR'");
        ASSERT_STR_EQ(BATCH(&good, 0), "'fine'");
        unit_collect_free(&bad);
        unit_collect_free(&good);
        sl_context_free(ctx);
    }
    ASSERT_LOAD_ERROR(HEAD "  a: &a {map: text.lower, from: lines}\n"
                           "  b: {<<: *a, map: text.upper}\n",
                      NAME ":5:7: unknown key '<<' in stream 'b' (expected one of: from)");
}

/* union takes a list of two or more streams. */
static void test_union_errors(void) {
    ASSERT_LOAD_ERROR(HEAD "  u: {union: [lines]}\n",
                      NAME ":4:14: union: expected a list of two or more streams like [a, b], got "
                           "a shorter list");
    ASSERT_LOAD_ERROR(HEAD "  u: {union: lines}\n",
                      NAME ":4:14: union: expected a list of two or more streams like [a, b], got "
                           "a scalar");
    ASSERT_LOAD_ERROR(HEAD "  u: {union: [lines, nope]}\n",
                      NAME ":4:22: unknown stream 'nope' (defined streams: lines, u)");
}

/* ---- environment variables --------------------------------------------------------- */

/* ${VAR}, ${VAR:-default} (unset or empty), $$ and a lone $ in values. */
static void test_env_expansion(void) {
    setenv("SLUICE_T_PAT", "a$b", 1);
    setenv("SLUICE_T_EMPTY", "", 1);
    setenv("SLUICE_T_FROM", "lines", 1);
    unsetenv("SLUICE_T_UNSET");
    const char *q = unit_queue_file("[\"a$b\", \"ab\", \"$HOME\", \"x$$y\", \"x$y\", \"d-$$\"]\n");
    char yaml[4096];
    snprintf(
        yaml, sizeof yaml,
        "batch_interval: ${SLUICE_T_UNSET:-3s}\n"
        "workers: ${SLUICE_T_EMPTY:-1}\n"
        "streams:\n"
        "  lines: {source: queue, path: \"%s\"}\n"
        "  env: {filter: text.contains, from: lines, pattern: \"${SLUICE_T_PAT}\"}\n"
        "  dollars: {filter: text.contains, from: \"${SLUICE_T_FROM}\", pattern: x$$y}\n"
        "  home: {filter: text.contains, from: lines, pattern: $HOME}\n"
        "  literal: {filter: text.contains, from: lines, pattern: \"${SLUICE_T_UNSET:-d-$$}\"}\n"
        "  empty: {filter: text.contains, from: lines, pattern: \"${SLUICE_T_EMPTY}\"}\n"
        "outputs:\n"
        "  - {sink: pprint, from: env, num: \"${SLUICE_T_UNSET:-2}\"}\n"
        "  - {sink: pprint, from: dollars}\n"
        "  - {sink: pprint, from: home}\n"
        "  - {sink: pprint, from: literal}\n"
        "  - {sink: pprint, from: empty}\n",
        q);
    sl_context *ctx = load(yaml);
    unit_check(ctx != NULL, __FILE__, __LINE__, "loads (%s)", errbuf);
    if (!ctx)
        return;
    ASSERT_INT_EQ(ctx->interval, 3000);
    ASSERT_INT_EQ(ctx->workers, 1);
    unit_collect env = {0}, dollars = {0}, home = {0}, literal = {0}, empty = {0};
    sl_foreach_batch(stream_named(ctx, "dollars"), unit_collect_cb, &dollars);
    sl_foreach_batch(stream_named(ctx, "home"), unit_collect_cb, &home);
    sl_foreach_batch(stream_named(ctx, "literal"), unit_collect_cb, &literal);
    sl_foreach_batch(stream_named(ctx, "empty"), unit_collect_cb, &empty);
    ASSERT_INT_EQ(run_collect(ctx, "env", &env, 1), 0);
    ASSERT_STR_EQ(BATCH(&env, 0), "'a$b'");
    ASSERT_STR_EQ(BATCH(&dollars, 0), "'x$y'");  /* $$ is one $ */
    ASSERT_STR_EQ(BATCH(&home, 0), "'$HOME'");   /* $HOME is not expanded */
    ASSERT_STR_EQ(BATCH(&literal, 0), "'d-$$'"); /* a default is taken literally */
    ASSERT_STR_EQ(BATCH(&empty, 0), "'a$b', 'ab', '$HOME', 'x$$y', 'x$y', 'd-$$'");
    unit_collect_free(&env);
    unit_collect_free(&dollars);
    unit_collect_free(&home);
    unit_collect_free(&literal);
    unit_collect_free(&empty);
    sl_context_free(ctx);
    unsetenv("SLUICE_T_PAT");
    unsetenv("SLUICE_T_EMPTY");
    unsetenv("SLUICE_T_FROM");
}

/* An unset ${VAR} is an error at the value naming VAR; so are malformed
 * references. Keys are never expanded. */
static void test_env_errors(void) {
    unsetenv("SLUICE_T_UNSET");
    ASSERT_LOAD_ERROR("batch_interval: ${SLUICE_T_UNSET}\n",
                      NAME ":1:17: environment variable SLUICE_T_UNSET is not set (write "
                           "${SLUICE_T_UNSET:-default} for a default)");
    ASSERT_LOAD_ERROR(HEAD
                      "  w: {flat_map: text.split, from: lines, sep: \"x${SLUICE_T_UNSET}\"}\n",
                      NAME ":4:47: environment variable SLUICE_T_UNSET is not set (write "
                           "${SLUICE_T_UNSET:-default} for a default)");
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: ${SLUICE_T_UNSET-1s}\n",
                             NAME ":1:17: invalid reference '${SLUICE_T_UNSET-1s}'");
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: ${SLUICE_T_UNSET:?no}\n",
                             NAME ":1:17: invalid reference");
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: ${}\n", NAME ":1:17: invalid reference");
    ASSERT_LOAD_ERROR_PREFIX("batch_interval: \"${SLUICE_T_UNSET\"\n",
                             NAME ":1:17: unterminated '${'");
    /* a key is used as written */
    setenv("SLUICE_T_KEY", "expanded", 1);
    sl_context *ctx = load(HEAD "  ${SLUICE_T_KEY}: {count: lines}\n"
                                "outputs:\n  - {sink: pprint, from: \"$${SLUICE_T_KEY}\"}\n");
    unit_check(ctx != NULL, __FILE__, __LINE__, "loads (%s)", errbuf);
    CU_ASSERT_PTR_NOT_NULL(stream_named(ctx, "${SLUICE_T_KEY}"));
    CU_ASSERT_PTR_NULL(stream_named(ctx, "expanded"));
    sl_context_free(ctx);
    unsetenv("SLUICE_T_KEY");
}

/* The error buffer: always NUL-terminated, truncated to its capacity. */
static void test_error_buffer(void) {
    char small[12];
    memset(small, 'x', sizeof small);
    const char *yaml = "batch_interval: fast\n";
    CU_ASSERT_PTR_NULL(sl_config_load_string(yaml, strlen(yaml), NAME, NULL, small, sizeof small));
    ASSERT_INT_EQ(strlen(small), sizeof small - 1);
    ASSERT_STR_EQ(small, "wc.yaml:1:1");
    /* a file that does not exist has no position */
    char err[512];
    CU_ASSERT_PTR_NULL(sl_config_load_file("/nonexistent/wc.yaml", NULL, err, sizeof err));
    ASSERT_STR_EQ(err, "/nonexistent/wc.yaml: cannot read: No such file or directory");
}

/* ---- settings: one schema (issue 7, point 4) ------------------------------------------- */

/* The schema's defaults are those of a new context, and its names are the
 * top-level keys in the order docs/config.md gives them. */
static void test_settings_schema(void) {
    const sl_param_spec *s = sl_settings_schema();
    static const char *const names[] = {"batch_interval",
                                        "workers",
                                        "clock",
                                        "start_time",
                                        "receiver_buffer",
                                        "early_combine",
                                        "plugin_path",
                                        "checkpoint",
                                        "checkpoint_interval",
                                        "checkpoint_keep",
                                        "receiver_wal",
                                        "receiver_wal_max",
                                        "receiver_wal_sync",
                                        NULL};
    for (int i = 0; names[i]; i++)
        ASSERT_STR_EQ(s[i].name, names[i]);
    CU_ASSERT_PTR_NULL(s[13].name);
    sl_context *ctx = sl_context_new(1000);
    CU_ASSERT_FATAL(ctx != NULL);
    uint64_t bytes = 0;
    int on = -1;
    ASSERT_STR_EQ(s[1].default_value, "0");
    ASSERT_INT_EQ(ctx->workers, 0);
    ASSERT_STR_EQ(s[2].default_value, "system");
    ASSERT_INT_EQ(ctx->clock, SL_CLOCK_SYSTEM);
    ASSERT_INT_EQ(sl_parse_size(s[4].default_value, &bytes), 0);
    ASSERT_INT_EQ(bytes, ctx->recv_buffer);
    ASSERT_INT_EQ(sl_parse_bool(s[5].default_value, &on), 0);
    ASSERT_INT_EQ(on, ctx->early_combine);
    ASSERT_STR_EQ(s[9].default_value, "3"); /* recovery.c: ckpt_keep 0 means 3 */
    ASSERT_INT_EQ(ctx->ckpt_keep, 0);
    ASSERT_INT_EQ(sl_parse_bool(s[10].default_value, &on), 0);
    ASSERT_INT_EQ(on, ctx->recv_wal);
    ASSERT_INT_EQ(sl_parse_size(s[11].default_value, &bytes), 0);
    ASSERT_INT_EQ(bytes, ctx->wal_max);
    int64_t ms = -1;
    ASSERT_INT_EQ(sl_parse_duration(s[12].default_value, &ms), 0);
    ASSERT_INT_EQ(ms, ctx->wal_sync);
    ASSERT_INT_EQ(s[0].required, 1);
    ASSERT_STR_EQ(s[0].range, "1ms..");
    CU_ASSERT_PTR_NULL(s[3].default_value); /* documented as now: SL_START_NOW */
    ASSERT_INT_EQ(ctx->start_time, SL_START_NOW);
    sl_context_free(ctx);
}

/* One boolean syntax: yes/no/on/off/1/0 in settings and in stream keys, as
 * in a plugin's bool parameters. */
static void test_settings_booleans(void) {
    static const char *const spellings[][2] = {{"yes", "1"}, {"no", "0"},   {"On", "1"},
                                               {"off", "0"}, {"true", "1"}, {"0", "0"}};
    for (size_t i = 0; i < sizeof spellings / sizeof *spellings; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml,
                 "batch_interval: 1s\nearly_combine: %s\nstreams:\n"
                 "  lines: {source: queue, path: \"%s\"}\n"
                 "  w: {window: lines, length: 2s}\n"
                 "  s: {reduce_by_key_and_window: agg.sum, from: lines, length: 2s, "
                 "inverse: %s}\n"
                 "outputs:\n  - {sink: pprint, from: s}\n",
                 spellings[i][0], unit_queue_file("[]\n"), spellings[i][0]);
        sl_context *ctx = load(yaml);
        unit_check(ctx != NULL, __FILE__, __LINE__, "early_combine: %s loads (%s)", spellings[i][0],
                   errbuf);
        if (ctx)
            ASSERT_INT_EQ(ctx->early_combine, spellings[i][1][0] == '1');
        sl_context_free(ctx);
    }
    ASSERT_LOAD_ERROR(HEAD "  s: {reduce_by_key_and_window: agg.sum, from: lines, length: 2s, "
                           "inverse: perhaps}\n",
                      NAME ":4:76: inverse: expected true or false, got 'perhaps'");
}

/* start_time in YAML: ms since the epoch (0 is the epoch, not now), an
 * ISO-8601 UTC time, or now; the manual clock's batches follow from it. */
static void test_start_time(void) {
    static const struct {
        const char *text;
        int64_t ms;
    } cases[] = {
        {"0", 0},
        {"1767225600000", 1767225600000},
        {"2026-01-01T00:00:00Z", 1767225600000},
        {"1970-01-01T00:00:00Z", 0},
        {"2024-02-29T12:34:56.7Z", 1709210096700},
        {"2000-03-01T00:00:00.123Z", 951868800123},
        {"now", SL_START_NOW},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml,
                 "batch_interval: 1s\nclock: manual\nstart_time: %s\nstreams:\n"
                 "  lines: {source: queue, path: \"%s\"}\noutputs:\n  - {sink: pprint, from: "
                 "lines}\n",
                 cases[i].text, unit_queue_file("[]\n"));
        sl_context *ctx = load(yaml);
        unit_check(ctx != NULL, __FILE__, __LINE__, "start_time: %s loads (%s)", cases[i].text,
                   errbuf);
        if (ctx)
            unit_check(ctx->start_time == cases[i].ms, __FILE__, __LINE__,
                       "start_time: %s is %lld (got %lld)", cases[i].text, (long long)cases[i].ms,
                       (long long)ctx->start_time);
        sl_context_free(ctx);
    }
}

/* sl_context_set: a C program sets what the YAML sets, through the same
 * schema; the typed setters keep working beside it. */
static void test_context_set(void) {
    sl_context *ctx = sl_context_new(1000);
    CU_ASSERT_FATAL(ctx != NULL);
    ASSERT_INT_EQ(sl_context_set(ctx, "early_combine", "off"), 0);
    ASSERT_INT_EQ(ctx->early_combine, false);
    ASSERT_INT_EQ(sl_context_set(ctx, "batch_interval", "250ms"), 0);
    ASSERT_INT_EQ(ctx->interval, 250);
    ASSERT_INT_EQ(sl_context_set(ctx, "receiver_buffer", "1MiB"), 0);
    ASSERT_INT_EQ(ctx->recv_buffer, 1 << 20);
    ASSERT_INT_EQ(sl_context_set(ctx, "clock", "manual"), 0);
    ASSERT_INT_EQ(ctx->clock, SL_CLOCK_MANUAL);
    ASSERT_INT_EQ(sl_context_set_workers(ctx, 3), 0);
    ASSERT_INT_EQ(ctx->workers, 3);
    ASSERT_INT_EQ(sl_context_set(ctx, "workers", "2000"), SL_EINVAL);
    ASSERT_STR_EQ(sl_context_errmsg(ctx), "workers: must be between 0 and 1024, got '2000'");
    ASSERT_STR_EQ(sl_context_errparam(ctx), "workers");
    ASSERT_INT_EQ(ctx->workers, 3);
    sl_context_clear_error(ctx);
    ASSERT_INT_EQ(sl_context_set(ctx, "checkpoint_interval", "300ms"), SL_EINVAL);
    ASSERT_STR_EQ(sl_context_errmsg(ctx), "checkpoint_interval: the checkpoint interval (300 ms) "
                                          "must be a positive multiple of the batch interval "
                                          "(250 ms)");
    sl_context_clear_error(ctx);
    ASSERT_INT_EQ(sl_context_set(ctx, "wokers", "2"), SL_EINVAL);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "unknown setting 'wokers' (expected one of: "
                                            "batch_interval, workers,");
    sl_context_clear_error(ctx);
    CU_ASSERT_PTR_NOT_NULL(sl_queue_stream(ctx, unit_queue_file("[]\n")));
    ASSERT_INT_EQ(sl_context_set(ctx, "batch_interval", "2s"), SL_ESTATE);
    ASSERT_INT_EQ(ctx->interval, 250);
    sl_context_free(ctx);
}

/* ---- validate: create and destroy every component (issue 7, point 5) ------------------- */

static char checkpath[4096];

/* sl_config_check_file on `yaml` written to a file; the error in errbuf. */
static sl_context *check_yaml(const char *yaml) {
    const char *q = unit_queue_file(yaml); /* any file in the test's directory */
    snprintf(checkpath, sizeof checkpath, "%s", q);
    errbuf[0] = 0;
    return sl_config_check_file(checkpath, NULL, errbuf, sizeof errbuf);
}

/* `yaml` passes sl_config_load but fails sl_config_check_file with `want`
 * after "PATH:" (the file's path). */
#define ASSERT_CHECK_ERROR(yaml, want)                                                             \
    do {                                                                                           \
        sl_context *ctx_ = load(yaml);                                                             \
        unit_check(ctx_ != NULL, __FILE__, __LINE__, "loads without the check (%s)", errbuf);      \
        sl_context_free(ctx_);                                                                     \
        ctx_ = check_yaml(yaml);                                                                   \
        CU_ASSERT_PTR_NULL(ctx_);                                                                  \
        sl_context_free(ctx_);                                                                     \
        char want_[8192];                                                                          \
        snprintf(want_, sizeof want_, "%s:%s", checkpath, want);                                   \
        ASSERT_STR_EQ(errbuf, want_);                                                              \
    } while (0)

/* What only create() knows fails the check at the stream's operation (or
 * the output's sink), with the stream's name. */
static void test_check_create_errors(void) {
    ASSERT_CHECK_ERROR("batch_interval: 1s\n"
                       "streams:\n"
                       "  events:\n"
                       "    source: queue\n"
                       "    path: /nonexistent/e.jsonl\n"
                       "outputs:\n"
                       "  - {sink: pprint, from: events}\n",
                       "4:13: stream 'events' (queue): cannot open '/nonexistent/e.jsonl' (No "
                       "such file or directory)");
    ASSERT_CHECK_ERROR("batch_interval: 1s\n"
                       "streams:\n"
                       "  lines: {source: socket, port: 9}\n"
                       "  words: {flat_map: text.split, from: lines, sep: \"\"}\n"
                       "outputs:\n"
                       "  - {sink: pprint, from: words}\n",
                       "4:21: stream 'words' (text.split): sep must not be empty (omit it to "
                       "split on whitespace)");
    ASSERT_CHECK_ERROR("batch_interval: 1s\n"
                       "streams:\n"
                       "  lines: {source: socket, port: 9}\n"
                       "outputs:\n"
                       "  - {sink: pprint, from: lines}\n"
                       "  - {sink: jsonl, from: lines, path: /nonexistent/x/out.jsonl}\n",
                       "6:12: output 2 (jsonl): cannot open '/nonexistent/x/out.jsonl' for "
                       "writing (No such file or directory)");
}

/* Ranges fail at load already (so at run too), at the value, naming the
 * stream or the output. */
static void test_check_ranges(void) {
    ASSERT_LOAD_ERROR("batch_interval: 1s\n"
                      "streams:\n"
                      "  lines: {source: socket, port: 99999}\n",
                      NAME ":3:33: stream 'lines' (socket): parameter 'port' must be between 1 "
                           "and 65535, got '99999'");
    ASSERT_LOAD_ERROR(HEAD "  top: {transform: kv.sort, from: lines, limit: -1}\n"
                           "outputs:\n  - {sink: pprint, from: top}\n",
                      NAME ":4:49: stream 'top' (kv.sort): parameter 'limit' must be at least 0, "
                           "got '-1'");
    ASSERT_LOAD_ERROR(HEAD "outputs:\n  - {sink: pprint, from: lines, num: -1}\n",
                      NAME ":5:38: output 1 (pprint): parameter 'num' must be at least 0, got "
                           "'-1'");
}

/* A file that passes the check can still run, with the same results. */
static void test_check_then_run(void) {
    const char *q = unit_queue_file("[\"a b\", \"b\"]\n");
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "batch_interval: 1s\nstreams:\n  lines: {source: queue, path: \"%s\"}\n"
             "  words: {flat_map: text.split, from: lines, sep: \" \"}\n"
             "  counts: {count_by_value: words}\n"
             "outputs:\n  - {sink: pprint, from: counts}\n",
             q);
    sl_context *ctx = check_yaml(yaml);
    unit_check(ctx != NULL, __FILE__, __LINE__, "checks (%s)", errbuf);
    if (!ctx)
        return;
    ASSERT_INT_EQ(sl_context_check(ctx), 0); /* twice is fine */
    unit_collect c = {0};
    ASSERT_INT_EQ(run_collect(ctx, "counts", &c, 1), 0);
    ASSERT_INT_EQ(c.nb, 1);
    ASSERT_STR_EQ(BATCH_SORTED(&c, 0), "('a', 1), ('b', 2)");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* ---- size and shape limits (issue 12, fault 8) ----------------------------------- */

/* `got` starts with `prefix`. */
#define ASSERT_STR_PREFIX(got, prefix)                                                             \
    unit_check(strncmp((got), (prefix), strlen(prefix)) == 0, __FILE__, __LINE__,                  \
               "\"%.200s\" starts with \"%s\"", (got), (prefix))

/* Seconds since an arbitrary point (for the time bounds below). */
/* The process's CPU time, not the wall clock: the bounds below are about
 * the loader's complexity (45 s was quadratic work), and a loaded CI machine
 * (other tests, ASan beside them) stretched wall times past them. */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A malloc'd buffer the generators below append to (aborts the test on OOM). */
typedef struct gen_buf {
    char *p;
    size_t len, cap;
} gen_buf;

static void gen_add(gen_buf *b, const char *fmt, ...) SL_PRINTF(2, 3);
static void gen_add(gen_buf *b, const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1 << 16;
        b->p = realloc(b->p, b->cap);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b->p);
    }
    memcpy(b->p + b->len, line, (size_t)n + 1);
    b->len += (size_t)n;
}

/* A chain of 20,000 streams written in reverse order (each reads 'from' the
 * one defined after it) loads, in bounded time. Building the graph by
 * recursion overflowed the stack (SIGSEGV) on this file. */
static void test_long_reverse_chain(void) {
    enum { N = 20000 };
    gen_buf b = {0};
    gen_add(&b, "batch_interval: 1s\nstreams:\n");
    for (int i = N - 1; i > 0; i--)
        gen_add(&b, "  s%d: {filter: text.contains, from: s%d, pattern: a}\n", i, i - 1);
    gen_add(&b, "  s0: {source: queue, path: /x}\noutputs:\n  - {sink: pprint, from: s%d}\n",
            N - 1);
    double t0 = now_s();
    errbuf[0] = 0;
    sl_context *ctx = sl_config_load_string(b.p, b.len, NAME, NULL, errbuf, sizeof errbuf);
    double took = now_s() - t0;
    unit_check(ctx != NULL, __FILE__, __LINE__, "the chain loads (%s)", errbuf);
    CU_ASSERT(ctx && ctx->nstreams >= N);
    CU_ASSERT_PTR_NOT_NULL(stream_named(ctx, "s0"));
    unit_check(took < 20, __FILE__, __LINE__, "loaded in %.2f s of CPU (< 20 s)", took);
    sl_context_free(ctx);
    /* a cycle at the end of a long chain is still found and named */
    b.len = 0;
    gen_add(&b, "batch_interval: 1s\nstreams:\n");
    for (int i = N - 1; i > 0; i--)
        gen_add(&b, "  s%d: {count: s%d}\n", i, i - 1);
    gen_add(&b, "  s0: {count: s%d}\n", N - 1);
    ctx = sl_config_load_string(b.p, b.len, NAME, NULL, errbuf, sizeof errbuf);
    CU_ASSERT_PTR_NULL(ctx);
    sl_context_free(ctx);
    unit_check(strstr(errbuf, ": cycle in stream references: s19999 -> s19998 -> ") != NULL,
               __FILE__, __LINE__, "the cycle is reported (got \"%.200s\")", errbuf);
    free(b.p);
}

/* 1 MB of keys is refused at once: an unknown top-level key at the first,
 * a duplicate at the last (which needs every key compared). Checking for
 * duplicates pair by pair took 45 s on the first file. */
static void test_many_keys(void) {
    gen_buf b = {0};
    int n = 0;
    while (b.len < (1u << 20))
        gen_add(&b, "key%d: 1\n", n++);
    gen_add(&b, "key%d: 1\n", n / 2);
    double t0 = now_s();
    sl_context *ctx = sl_config_load_string(b.p, b.len, NAME, NULL, errbuf, sizeof errbuf);
    double took = now_s() - t0;
    CU_ASSERT_PTR_NULL(ctx);
    sl_context_free(ctx);
    char want[128];
    snprintf(want, sizeof want, NAME ":%d:1: duplicate key 'key%d' in the top level", n + 1, n / 2);
    unit_check(strncmp(errbuf, want, strlen(want)) == 0, __FILE__, __LINE__,
               "error starts with \"%s\" (got \"%.200s\")", want, errbuf);
    unit_check(took < 10, __FILE__, __LINE__, "refused in %.2f s of CPU (< 10 s)", took);
    /* the same keys in one stream: an unknown key, at the first */
    b.len = 0;
    gen_add(&b, "batch_interval: 1s\nstreams:\n  lines:\n    source: queue\n");
    for (int i = 0; b.len < (1u << 20); i++)
        gen_add(&b, "    key%d: 1\n", i);
    t0 = now_s();
    ctx = sl_config_load_string(b.p, b.len, NAME, NULL, errbuf, sizeof errbuf);
    took = now_s() - t0;
    CU_ASSERT_PTR_NULL(ctx);
    sl_context_free(ctx);
    ASSERT_STR_PREFIX(errbuf, NAME ":5:5: unknown key 'key0' in stream 'lines'");
    unit_check(took < 10, __FILE__, __LINE__, "refused in %.2f s of CPU (< 10 s)", took);
    free(b.p);
}

/* A file larger than SL_CONFIG_MAX_SIZE is refused before it is parsed. */
static void test_size_cap(void) {
    size_t n = SL_CONFIG_MAX_SIZE + 1;
    char *text = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    memset(text, '#', n);
    sl_context *ctx = sl_config_load_string(text, n, NAME, NULL, errbuf, sizeof errbuf);
    CU_ASSERT_PTR_NULL(ctx);
    sl_context_free(ctx);
    ASSERT_STR_PREFIX(errbuf, NAME ": the file is larger than 16 MiB");
    free(text);
}

UNIT_MAIN("config", {"a valid pipeline builds and runs", test_valid_pipeline},
          {"start_time: ms, ISO-8601 UTC or now", test_start_time},
          {"forward references and stream operations", test_forward_refs_and_stream_ops},
          {"plugin_path relative to the file", test_plugin_path_relative},
          {"plugin_dirs come first", test_plugin_dirs_argument},
          {"YAML syntax error", test_yaml_syntax_error}, {"document shape", test_document_shape},
          {"unknown top-level key", test_unknown_top_key},
          {"missing batch_interval", test_missing_interval}, {"bad duration", test_bad_duration},
          {"bad settings", test_bad_settings}, {"unknown key in a stream", test_unknown_stream_key},
          {"unknown plugin or component", test_unknown_component},
          {"wrong parameter type", test_wrong_param_type},
          {"unknown from stream", test_unknown_from}, {"cycle", test_cycle},
          {"operation keys", test_operation_keys}, {"duplicate keys", test_duplicate_keys},
          {"output errors", test_output_errors},
          {"anchors work, merge keys do not", test_anchors_and_merge_keys},
          {"union errors", test_union_errors}, {"environment expansion", test_env_expansion},
          {"environment errors", test_env_errors}, {"error buffer", test_error_buffer},
          {"state, windows, joins and operators", test_stateful_ops},
          {"settings: one schema with the context's defaults", test_settings_schema},
          {"settings: one boolean syntax", test_settings_booleans},
          {"settings: sl_context_set", test_context_set},
          {"check: create errors at the stream, named", test_check_create_errors},
          {"check: ranges at the value, named", test_check_ranges},
          {"check: a checked file still runs", test_check_then_run},
          {"a 20,000-stream reverse chain", test_long_reverse_chain},
          {"1 MB of keys", test_many_keys}, {"size cap", test_size_cap})

/*
 * test_host.c — the ABI 1.3 to 1.6 helpers of the host table
 * (core/src/host.c: value_type_name, value_copy, strerror, context_id,
 * source_state, gauge and gauge_set next to counter) and, for embedders, the log callback
 * (core/src/log.c), sl_free and sl_context_sources_never_connected, through real pipelines where a
 * thread other than the test's logs.
 */
#define UNIT_ENGINE
#include "unit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Every type has its name; anything else is "unknown". */
static void test_type_name(void) {
    ASSERT_STR_EQ(sl__host.value_type_name(SL_NULL), "null");
    ASSERT_STR_EQ(sl__host.value_type_name(SL_INT), "int");
    ASSERT_STR_EQ(sl__host.value_type_name(SL_DOUBLE), "double");
    ASSERT_STR_EQ(sl__host.value_type_name(SL_BYTES), "bytes");
    ASSERT_STR_EQ(sl__host.value_type_name(SL_LIST), "list");
    ASSERT_STR_EQ(sl__host.value_type_name(SL_OBJECT), "object");
    ASSERT_STR_EQ(sl__host.value_type_name(SL_BOOL), "bool");
    ASSERT_STR_EQ(sl__host.value_type_name(SL_BOOL + 1), "unknown");
    ASSERT_STR_EQ(sl__host.value_type_name(99), "unknown");
    ASSERT_STR_EQ(sl__host.strerror(SL_ESTATE), "called in the wrong state");
    ASSERT_INT_EQ(sl__host.struct_size, sizeof(sl_host));
    ASSERT_INT_EQ(sl__host.abi_minor, 7);
}

/* A deep copy: after the source's bytes are overwritten, the copy (in a
 * plugin arena from mem_new) still holds the old ones, at every depth. */
static void test_value_copy(void) {
    char word[] = "hello";
    sl_value inner[2] = {sl_bytes(word, 5), sl_int(7)};
    sl_value outer[2] = {sl_list(inner, 2), sl_double(2.5)};
    sl_value v = sl_list(outer, 2), copy;
    sl_mem *mem = sl__host.mem_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
    ASSERT_INT_EQ(sl__host.value_copy(&v, &copy, mem), 0);
    ASSERT_INT_EQ(sl__host.value_compare(&v, &copy), 0);
    CU_ASSERT(copy.u.items != outer);
    CU_ASSERT(copy.u.items[0].u.items != inner);
    memcpy(word, "HELLO", 5);
    char text[64];
    sl__host.value_format(&copy, SL_FORMAT_JSON, text, sizeof text);
    ASSERT_STR_EQ(text, "[[\"hello\",7],2.5]");
    ASSERT_INT_EQ(sl__host.value_copy(&v, NULL, mem), SL_EINVAL);
    sl__host.mem_free(mem);
}

/* What the log callback got: the lines of one level. */
typedef struct got_lines {
    int n;
    int level;
    char first[512];
} got_lines;

static void on_log(void *ud, int level, const char *line) {
    got_lines *g = ud;
    if (g->n++ == 0) {
        g->level = level;
        snprintf(g->first, sizeof g->first, "%s", line);
    }
}

/* dedupe.by_key with max_keys 1 evicts and warns once, on the engine
 * thread: the callback gets the line (no time stamp, no newline) instead of
 * stderr; after sl_set_log_callback(NULL) it gets nothing more. */
static void test_log_callback(void) {
    got_lines g = {0, -1, ""};
    sl_set_log_callback(on_log, &g);
    sl_context *ctx = ctx_new(1);
    unit_collect c = {0};
    sl_stream *s = sl_flat_map(queue(ctx, "[\"a b a\"]\n"), "text.split", NULL);
    collect(sl_operator(s, "dedupe.by_key", P("within", "10s", "max_keys", "1")), &c);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH(&c, 0), "'a', 'b', 'a'"); /* a was evicted by b */
    ASSERT_INT_EQ(g.n, 1);
    ASSERT_INT_EQ(g.level, SL_LOG_WARN);
    ASSERT_CONTAINS(g.first, "(dedupe.by_key): more than max_keys=1 keys");
    CU_ASSERT(strchr(g.first, '\n') == NULL);
    sl_context_free(ctx);
    unit_collect_free(&c);
    sl_set_log_callback(NULL, NULL);
    sl__log(SL_LOG_ERROR, "to stderr, not to the callback");
    ASSERT_INT_EQ(g.n, 1);
}

/* sl_free releases what sl_context_graph returns (ASan checks the pairing). */
static void test_sl_free(void) {
    sl_context *ctx = ctx_new(1);
    sl_pprint(queue(ctx, "[]\n"), 10);
    char *text = sl_context_graph(ctx, SL_GRAPH_TEXT);
    CU_ASSERT_PTR_NOT_NULL(text);
    if (text)
        ASSERT_CONTAINS(text, "queue");
    sl_free(text);
    sl_free(NULL);
    sl_context_free(ctx);
}

/* context_id (ABI 1.4): the instances of one context share it; two live
 * contexts differ; a handle outside a context has 0. */
static void test_context_id(void) {
    sl_context *a = ctx_new(1), *b = ctx_new(1);
    sl_stream *a1 = queue(a, "[]\n"), *a2 = queue(a, "[]\n"), *b1 = queue(b, "[]\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b1);
    uint64_t ia = sl__host.context_id(a1->fn.handle);
    CU_ASSERT(ia != 0);
    CU_ASSERT_EQUAL(sl__host.context_id(a2->fn.handle), ia);
    CU_ASSERT(sl__host.context_id(b1->fn.handle) != ia);
    CU_ASSERT(sl__host.context_id(b1->fn.handle) != 0);
    sl_handle *loose = sl__handle_new(NULL, "loose", "test");
    CU_ASSERT_PTR_NOT_NULL_FATAL(loose);
    CU_ASSERT_EQUAL(sl__host.context_id(loose), 0);
    CU_ASSERT_EQUAL(sl__host.context_id(NULL), 0);
    sl__handle_free(loose);
    sl_context_free(a);
    sl_context_free(b);
}

/* emit_partition (ABI 1.4) on an emitter that is not a direct source's
 * (here a plain one whose flush counts): ignored, and it returns 0. */
static int count_flushes(sl_emitter *em) {
    (*(int *)em->host_data)++;
    em->count = 0;
    return 0;
}

static void test_emit_partition_elsewhere(void) {
    sl_record buf[4];
    int flushes = 0;
    sl_emitter em = {buf, 1, 4, count_flushes, NULL, &flushes};
    ASSERT_INT_EQ(sl__host.emit_partition(&em, 3), 0);
    ASSERT_INT_EQ(flushes, 0);
    ASSERT_INT_EQ(em.count, 1); /* untouched */
    ASSERT_INT_EQ(sl__host.emit_partition(NULL, 0), 0);
}

/* source_state (ABI 1.5) on a handle: the last state and a copy of its
 * detail (cut to 255 bytes), ready once CONNECTED or ASSIGNED and staying
 * so; a state outside sl_source_state is ignored. */
static void test_source_state_handle(void) {
    sl_handle *h = sl__handle_new(NULL, "lines", "socket");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    char detail[512] = "x";
    ASSERT_INT_EQ(sl__handle_source_state(h, detail, sizeof detail), 0);
    ASSERT_STR_EQ(detail, "");
    CU_ASSERT(sl__handle_source_ready(h)); /* never reported: ready once started */
    char peer[] = "127.0.0.1:9999";
    sl__host.source_state(h, SL_SOURCE_CONNECTING, peer);
    memcpy(peer, "XXXXXXXXX", 9); /* the host kept a copy */
    ASSERT_INT_EQ(sl__handle_source_state(h, detail, sizeof detail), SL_SOURCE_CONNECTING);
    ASSERT_STR_EQ(detail, "127.0.0.1:9999");
    CU_ASSERT(!sl__handle_source_ready(h));
    sl__host.source_state(h, 9, "not a state");
    sl__host.source_state(h, 0, "nor this");
    ASSERT_INT_EQ(sl__handle_source_state(h, detail, sizeof detail), SL_SOURCE_CONNECTING);
    ASSERT_STR_EQ(detail, "127.0.0.1:9999");
    sl__host.source_state(h, SL_SOURCE_ASSIGNED, NULL);
    ASSERT_INT_EQ(sl__handle_source_state(h, detail, sizeof detail), SL_SOURCE_ASSIGNED);
    ASSERT_STR_EQ(detail, "");
    char longer[400];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    sl__host.source_state(h, SL_SOURCE_DISCONNECTED, longer);
    ASSERT_INT_EQ(sl__handle_source_state(h, detail, sizeof detail), SL_SOURCE_DISCONNECTED);
    ASSERT_INT_EQ(strlen(detail), 255);
    CU_ASSERT(sl__handle_source_ready(h)); /* it was assigned once */
    char small[4];
    ASSERT_INT_EQ(sl__handle_source_state(h, small, sizeof small), SL_SOURCE_DISCONNECTED);
    ASSERT_STR_EQ(small, "aaa");
    ASSERT_INT_EQ(sl__handle_source_state(h, NULL, 0), SL_SOURCE_DISCONNECTED);
    ASSERT_STR_EQ(sl__source_state_name(SL_SOURCE_CONNECTED), "connected");
    ASSERT_STR_EQ(sl__source_state_name(0), "starting");
    sl__host.source_state(NULL, SL_SOURCE_CONNECTED, "no handle: ignored");
    sl__handle_free(h);
}

/* Receivers of sl_receiver_stream that report states the way a socket does:
 * `refused` never connects, `flaky` connects once and drops. */
static int rx_refused(void *ud, sl_handle *h, sl_error *err) {
    (void)ud;
    (void)err;
    const sl_host *api = sl_host_api();
    api->source_state(h, SL_SOURCE_CONNECTING, "10.0.0.1:1");
    api->source_state(h, SL_SOURCE_DISCONNECTED, "10.0.0.1:1: connection refused (3 attempts)");
    return SL_EOF;
}

static int rx_flaky(void *ud, sl_handle *h, sl_error *err) {
    (void)ud;
    (void)err;
    const sl_host *api = sl_host_api();
    api->source_state(h, SL_SOURCE_CONNECTING, "10.0.0.2:2");
    api->source_state(h, SL_SOURCE_CONNECTED, "10.0.0.2:2");
    api->source_state(h, SL_SOURCE_DISCONNECTED, "10.0.0.2:2: closed the connection");
    return SL_EOF;
}

/* What the log callback got at ERROR. */
typedef struct got_errors {
    int n;
    char text[1024];
} got_errors;

static void on_error_line(void *ud, int level, const char *line) {
    got_errors *g = ud;
    if (level != SL_LOG_ERROR)
        return;
    g->n++;
    snprintf(g->text + strlen(g->text), sizeof g->text - strlen(g->text), "%s\n", line);
}

/* At the end of a run, the source that reported states and never
 * connected is logged as an ERROR naming it and its last detail, and
 * counted by sl_context_sources_never_connected; the one that connected
 * once is not. The run ends when both receivers have ended (SL_EOF), so
 * their states are set by then. The C API's run still succeeds:
 * what that means is the program's (sluice run exits 1). */
static void test_never_connected(void) {
    got_errors g = {0, ""};
    sl_context *ctx = ctx_new(1);
    sl_stream *a = sl_receiver_stream(ctx, "refused", rx_refused, NULL);
    sl_stream *b = sl_receiver_stream(ctx, "flaky", rx_flaky, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    sl_pprint(sl_union(a, b), 1);
    ASSERT_INT_EQ(sl_context_sources_never_connected(ctx), 0); /* not started */
    sl_set_log_callback(on_error_line, &g);
    RUN(ctx, 0);
    sl_set_log_callback(NULL, NULL);
    ASSERT_INT_EQ(sl_context_sources_never_connected(ctx), 1);
    ASSERT_INT_EQ(g.n, 1);
    ASSERT_CONTAINS(g.text, "source 'refused' (receiver_stream) never connected to 10.0.0.1:1: "
                            "connection refused (3 attempts)");
    char detail[256];
    ASSERT_INT_EQ(sl__handle_source_state(b->fn.handle, detail, sizeof detail),
                  SL_SOURCE_DISCONNECTED);
    ASSERT_STR_EQ(detail, "10.0.0.2:2: closed the connection");
    sl_context_free(ctx);
}

/* gauge (ABI 1.6): one gauge per name, set down as well as up; a name
 * registered as the other kind is refused both ways, with an error logged
 * that names both kinds; NULL is harmless. */
static void test_gauge_handle(void) {
    got_lines g = {0, -1, ""};
    sl_set_log_callback(on_log, &g);
    sl_handle *h = sl__handle_new(NULL, "words", "kafka");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    sl_gauge *lag = sl__host.gauge(h, "lag");
    CU_ASSERT_PTR_NOT_NULL_FATAL(lag);
    CU_ASSERT(sl__host.gauge(h, "lag") == lag);
    sl__host.gauge_set(lag, 40);
    sl__host.gauge_set(lag, 7);
    ASSERT_INT_EQ(atomic_load(&lag->m.value), 7);
    sl__host.gauge_set(lag, -3);
    ASSERT_INT_EQ(atomic_load(&lag->m.value), -3);
    CU_ASSERT(sl__handle_metric_is_gauge(h, &lag->m));
    sl_counter *rec = sl__host.counter(h, "records");
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
    CU_ASSERT(!sl__handle_metric_is_gauge(h, rec));
    ASSERT_INT_EQ(g.n, 0);

    CU_ASSERT_PTR_NULL(sl__host.counter(h, "lag")); /* a gauge's name */
    ASSERT_INT_EQ(g.n, 1);
    ASSERT_INT_EQ(g.level, SL_LOG_ERROR);
    ASSERT_CONTAINS(g.first, "counter 'lag' refused: this instance registered 'lag' as a gauge");
    CU_ASSERT_PTR_NULL(sl__host.gauge(h, "records")); /* a counter's name */
    ASSERT_INT_EQ(g.n, 2);
    sl_set_log_callback(NULL, NULL);
    sl__host.gauge_set(NULL, 5);
    CU_ASSERT_PTR_NULL(sl__host.gauge(NULL, "x"));
    CU_ASSERT_PTR_NULL(sl__host.gauge(h, NULL));
    ASSERT_INT_EQ(atomic_load(&lag->m.value), -3); /* the refusals changed nothing */

    /* the deprecated name rule: a counter "lag"/"*_lag" of a plugin built
     * against ABI < 1.6 is shown as a gauge, of 1.6 as a counter */
    sl_handle *old = sl__handle_new(NULL, "words", "kafka");
    CU_ASSERT_PTR_NOT_NULL_FATAL(old);
    sl_counter *c_lag = sl__host.counter(old, "lag"), *c_plag = sl__host.counter(old, "p_lag"),
               *c_flag = sl__host.counter(old, "flag");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c_lag);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c_plag);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c_flag);
    CU_ASSERT(!sl__handle_metric_is_gauge(old, c_lag)); /* a handle starts at SL_ABI_MINOR */
    old->abi_minor = 5;
    CU_ASSERT(sl__handle_metric_is_gauge(old, c_lag));
    CU_ASSERT(sl__handle_metric_is_gauge(old, c_plag));
    CU_ASSERT(!sl__handle_metric_is_gauge(old, c_flag));
    sl__handle_free(old);
    sl__handle_free(h);
}

enum { GAUGE_THREADS = 4, GAUGE_SETS = 100000 };

typedef struct gauge_writer {
    sl_gauge *g;
    sl_counter *c;
    int64_t base; /* this thread writes base + 0 .. base + GAUGE_SETS - 1 */
} gauge_writer;

static void *gauge_write(void *arg) {
    gauge_writer *w = arg;
    for (int64_t k = 0; k < GAUGE_SETS; k++) {
        sl__host.gauge_set(w->g, w->base + k);
        sl__host.counter_add(w->c, 1);
    }
    return NULL;
}

static void count_lines(void *ud, int level, const char *line) {
    (void)level;
    got_lines *g = ud;
    if (strstr(line, "depth=") && g->n++ == 0)
        snprintf(g->first, sizeof g->first, "%s", line);
}

/* gauge_set from 4 threads while this one reads: every value read is one a
 * writer set (never torn or summed), the last is one thread's last value, a
 * counter added to alongside still sums exactly, and the exit log line lists
 * both. */
static void test_gauge_threads(void) {
    sl_handle *h = sl__handle_new(NULL, "s", "plug.src");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    sl_gauge *g = sl__host.gauge(h, "depth");
    sl_counter *c = sl__host.counter(h, "sets");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    gauge_writer w[GAUGE_THREADS];
    pthread_t th[GAUGE_THREADS];
    for (int i = 0; i < GAUGE_THREADS; i++) {
        w[i] = (gauge_writer){g, c, (int64_t)(i + 1) << 32};
        ASSERT_INT_EQ(pthread_create(&th[i], NULL, gauge_write, &w[i]), 0);
    }
    int bad = 0, reads = 0;
    for (; reads < 200000; reads++) {
        int64_t v = atomic_load(&g->m.value);
        int64_t hi = v >> 32, lo = v & 0xffffffff;
        if (v != 0 && (hi < 1 || hi > GAUGE_THREADS || lo >= GAUGE_SETS))
            bad++;
    }
    for (int i = 0; i < GAUGE_THREADS; i++)
        pthread_join(th[i], NULL);
    ASSERT_INT_EQ(bad, 0);
    int64_t last = atomic_load(&g->m.value);
    ASSERT_INT_EQ(last & 0xffffffff, GAUGE_SETS - 1);
    CU_ASSERT((last >> 32) >= 1 && (last >> 32) <= GAUGE_THREADS);
    ASSERT_INT_EQ(atomic_load(&c->value), (int64_t)GAUGE_THREADS * GAUGE_SETS);

    got_lines got = {0, -1, ""};
    sl_set_log_callback(count_lines, &got);
    sl__handle_log_counters(h, SL_LOG_ERROR);
    sl_set_log_callback(NULL, NULL);
    ASSERT_INT_EQ(got.n, 1);
    char want[96];
    snprintf(want, sizeof want, "depth=%lld sets=%lld", (long long)last,
             (long long)GAUGE_THREADS * GAUGE_SETS);
    ASSERT_CONTAINS(got.first, want);
    sl__handle_free(h);
}

UNIT_MAIN("host", {"gauge and gauge_set on a handle", test_gauge_handle},
          {"gauge_set from 4 threads", test_gauge_threads},
          {"source_state on a handle", test_source_state_handle},
          {"a source that never connected", test_never_connected},
          {"emit_partition on another emitter", test_emit_partition_elsewhere},
          {"context_id", test_context_id}, {"value_type_name and strerror", test_type_name},
          {"value_copy is deep", test_value_copy}, {"the log callback", test_log_callback},
          {"sl_free", test_sl_free})

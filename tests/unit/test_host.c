/*
 * test_host.c — the ABI 1.3 and 1.4 helpers of the host table (core/src/host.c:
 * value_type_name, value_copy, strerror, context_id) and, for embedders, the log
 * callback (core/src/log.c) and sl_free, through real pipelines where a
 * thread other than the test's logs.
 */
#define UNIT_ENGINE
#include "unit.h"

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
    ASSERT_STR_EQ(sl__host.value_type_name(99), "unknown");
    ASSERT_STR_EQ(sl__host.strerror(SL_ESTATE), "called in the wrong state");
    ASSERT_INT_EQ(sl__host.struct_size, sizeof(sl_host));
    ASSERT_INT_EQ(sl__host.abi_minor, 4);
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

UNIT_MAIN("host", {"emit_partition on another emitter", test_emit_partition_elsewhere},
          {"context_id", test_context_id}, {"value_type_name and strerror", test_type_name},
          {"value_copy is deep", test_value_copy}, {"the log callback", test_log_callback},
          {"sl_free", test_sl_free})

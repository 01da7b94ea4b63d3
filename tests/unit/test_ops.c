/*
 * test_ops.c — the table of operations (core/src/ops/table.c), the function
 * adapters (core/src/func.c): C functions given to the embedding API run as
 * their component's callback, and a failing function's message names its
 * stream and component.
 */
#define UNIT_ENGINE
#include "unit.h"

/* Every operation has a class with a distinct name and a run(); the flags
 * the executor and the planner rely on are where they belong. */
static void test_table(void) {
    for (int op = 0; op < SL__OP_N; op++) {
        const sl__op_class *c = sl__op_class_of((sl__op)op);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_PTR_NOT_NULL(c->name);
        CU_ASSERT_PTR_NOT_NULL(c->run);
        for (int o = 0; o < op; o++)
            if (strcmp(sl__op_class_of((sl__op)o)->name, c->name) == 0)
                unit_check(false, __FILE__, __LINE__, "operations %d and %d are both '%s'", o, op,
                           c->name);
    }
    ASSERT_STR_EQ(sl__op_name(SL__OP_REDUCE_BY_KEY), "reduce_by_key");
    ASSERT_STR_EQ(sl__op_name(SL__OP_GROUP_BY_KEY_AND_WINDOW), "group_by_key_and_window");
    CU_ASSERT(sl__op_class_of(SL__OP_MAP_VALUES)->flags & SL__OPF_VALUES);
    CU_ASSERT(sl__op_class_of(SL__OP_MAP)->flags & SL__OPF_NARROW);
    CU_ASSERT(sl__op_class_of(SL__OP_COUNT_BY_VALUE)->flags & SL__OPF_BY_ELEMENT);
    CU_ASSERT(sl__op_class_of(SL__OP_REDUCE_BY_KEY)->flags & SL__OPF_SHUFFLE);
    CU_ASSERT(sl__op_class_of(SL__OP_WINDOW)->flags & SL__OPF_WINDOW);
    CU_ASSERT(sl__op_class_of(SL__OP_UPDATE_STATE_BY_KEY)->flags & SL__OPF_STATEFUL);
    CU_ASSERT(!(sl__op_class_of(SL__OP_OPERATOR)->flags & SL__OPF_STATEFUL));
    CU_ASSERT_PTR_NOT_NULL(sl__op_class_of(SL__OP_SOURCE)->snapshot);
    CU_ASSERT_PTR_NOT_NULL(sl__op_class_of(SL__OP_WINDOW)->restore);
    CU_ASSERT_PTR_NULL(sl__op_class_of(SL__OP_MAP)->snapshot);
    /* out of range: the source's class, never a wild read */
    CU_ASSERT_PTR_EQUAL(sl__op_class_of((sl__op)SL__OP_N), sl__op_class_of(SL__OP_SOURCE));
}

/* A failing reduction in a shuffle, in a whole-batch reduce and in a fused
 * map: the message says "stream <name> (<component>): " and keeps the
 * plugin's own words. */
static void test_runtime_error_names_stream(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    sl_stream *in = queue(ctx, "[{\"key\": \"a\", \"value\": \"x\"}, "
                               "{\"key\": \"a\", \"value\": \"y\"}]\n");
    collect(sl_stream_set_name(sl_reduce_by_key(in, "agg.sum", NULL), "counts"), &c);
    ASSERT_INT_EQ(run_n(ctx, 1, __FILE__, __LINE__), SL_ETYPE);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "stream counts (agg.sum): ");
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "bytes");
    unit_collect_free(&c);
    sl_context_free(ctx);

    ctx = ctx_new(1);
    in = queue(ctx, "[1, \"x\"]\n");
    collect(sl_stream_set_name(sl_reduce(in, "agg.sum", NULL), "total"), &c);
    ASSERT_INT_EQ(run_n(ctx, 1, __FILE__, __LINE__), SL_ETYPE);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "stream total (agg.sum): ");
    unit_collect_free(&c);
    sl_context_free(ctx);

    /* a fused chain: the failing function is the middle one */
    ctx = ctx_new(2);
    in = queue(ctx, "[\"a b\", 5]\n");
    sl_stream *words = sl_stream_set_name(sl_flat_map(in, "text.split", NULL), "words");
    collect(sl_map(words, "kv.pair", NULL), &c);
    ASSERT_INT_EQ(run_n(ctx, 1, __FILE__, __LINE__), SL_ETYPE);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "stream words (text.split): ");
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "text.split: expected bytes, got int");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* Bools in the built-in reductions (docs/decisions.md §29): agg.sum
 * refuses them by name; count_by_value keeps true, 1 and 1.0 apart where
 * 1 and 1.0 are one key; agg.max puts them after numbers; kv.nonzero drops
 * false as it drops 0. */
static void test_bools_in_reductions(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    sl_stream *in = queue(ctx, "[{\"key\": \"a\", \"value\": true}, "
                               "{\"key\": \"a\", \"value\": false}]\n");
    collect(sl_stream_set_name(sl_reduce_by_key(in, "agg.sum", NULL), "flags"), &c);
    ASSERT_INT_EQ(run_n(ctx, 1, __FILE__, __LINE__), SL_ETYPE);
    ASSERT_CONTAINS(sl_context_errmsg(ctx),
                    "stream flags (agg.sum): agg.sum: cannot add bool value");
    unit_collect_free(&c);
    sl_context_free(ctx);

    ctx = ctx_new(1);
    collect(sl_count_by_value(queue(ctx, "[true, 1, true, false, 1.0, 0]\n")), &c);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH_SORTED(&c, 0), "(0, 1), (1, 2), (False, 1), (True, 2)");
    unit_collect_free(&c);
    sl_context_free(ctx);

    ctx = ctx_new(1);
    collect(sl_reduce(queue(ctx, "[5, true, \"z\", false]\n"), "agg.max", NULL), &c);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH(&c, 0), "True");
    unit_collect_free(&c);
    sl_context_free(ctx);

    ctx = ctx_new(1);
    collect(sl_filter(queue(ctx, "[true, false, 0, 1, null, 0.0, \"\"]\n"), "kv.nonzero", NULL),
            &c);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH(&c, 0), "True, 1, ''");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* C functions: the sum, an odd-only filter, and a failing one whose code
 * (with no message) is named after its stream. */
static int c_sum(void *ud, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err) {
    (void)mem, (void)err;
    (*(int *)ud)++;
    acc->u.i += v->u.i;
    return 0;
}

static int c_odd(void *ud, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)ud, (void)err;
    for (size_t i = 0; i < in->count; i++)
        if (in->records[i].value.u.i % 2) {
            int rc = sl_emit(out, &in->records[i]);
            if (rc)
                return rc;
        }
    return 0;
}

static int c_fail(void *ud, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)ud, (void)in, (void)out, (void)err;
    return SL_EIO;
}

static void test_c_functions(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    int calls = 0;
    sl_stream *in = queue(ctx, "[1, 2, 3, 4, 5]\n[7]\n");
    collect(sl_reduce_fn(sl_filter_fn(in, c_odd, NULL), c_sum, &calls), &c);
    ASSERT_INT_EQ(run_n(ctx, 2, __FILE__, __LINE__), 0);
    ASSERT_INT_EQ(c.nb, 2);
    ASSERT_STR_EQ(BATCH(&c, 0), "9");
    ASSERT_STR_EQ(BATCH(&c, 1), "7");
    ASSERT_INT_EQ(calls, 2); /* 1 + 3 + 5: two combines; 7 alone: none */
    unit_collect_free(&c);
    sl_context_free(ctx);

    ctx = ctx_new(1);
    in = queue(ctx, "[1]\n");
    collect(sl_stream_set_name(sl_map_fn(in, c_fail, NULL), "broken"), &c);
    ASSERT_INT_EQ(run_n(ctx, 1, __FILE__, __LINE__), SL_EIO);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "stream broken (C function): I/O error");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* A create() or start() that returns an error code without a message fails
 * the start all the same, with a message naming the stream and component,
 * and the run ends with that code (issue 12, fault 3: it used to start
 * nothing and return 0). */
static void test_error_without_message(void) {
    static const char *const where[] = {"create", "start"};
    static const int want[] = {SL_EIO, SL_ENOTFOUND};
    for (int k = 0; k < 2; k++) {
        sl_context *ctx = ctx_new(1);
        sl_context_add_plugin_dir(ctx, getenv("SLUICE_TEST_BADPLUGINS"));
        sl_stream *s = sl_source(ctx, "silent.src", (const char *[]){"fail", where[k], NULL});
        unit_check(s != NULL, __FILE__, __LINE__, "silent.src (%s)", sl_context_errmsg(ctx));
        sl_stream_set_name(s, "quiet");
        CU_ASSERT_EQUAL(sl_pprint(s, 10), 0);
        int rc = sl_context_start(ctx);
        unit_check(rc == want[k], __FILE__, __LINE__, "%s: start returned %d, want %d (%s)",
                   where[k], rc, want[k], sl_context_errmsg(ctx));
        ASSERT_CONTAINS(sl_context_errmsg(ctx), "stream quiet (silent.src)");
        ASSERT_INT_EQ(sl_context_errcode(ctx), want[k]);
        ASSERT_INT_EQ(sl_context_await_termination(ctx), want[k]);
        sl_context_free(ctx);
    }
}

UNIT_MAIN("ops", {"the table of operations", test_table},
          {"runtime errors name the stream", test_runtime_error_names_stream},
          {"bools in the built-in reductions", test_bools_in_reductions},
          {"C functions are their component's callback", test_c_functions},
          {"an error code without a message still fails the start", test_error_without_message})

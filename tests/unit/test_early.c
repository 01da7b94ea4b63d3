/*
 * test_early.c — early combine: the blocks a receiver seals before the tick
 * run through the fused chain into reduce_by_key's tables while the
 * scheduler waits (docs/decisions.md, "Early combine").
 *
 * Each test runs the network word count against a real TCP server on
 * loopback (tests/integration/peer.c) with the system clock: it waits for a
 * first batch, so that the next tick is a whole interval away, sends several
 * MiB of known lines (several 1 MiB blocks), and checks the counts word by
 * word, the batch's input figures, and how many blocks were combined early
 * (the engine's own figure, read in the batch listener).
 */
#include <pthread.h>

#include "peer.h"
#include "unit.h"

#define EARLY_INTERVAL_MS 1000
#define EARLY_WAIT_MS 20000
#define EARLY_VOCAB 1000
#define EARLY_LINES 120000 /* ~5.6 MiB */
#define EARLY_WORDS_PER_LINE 8

/* What the listener and the collector saw (engine thread; read after stop). */
typedef struct early_run {
    pthread_mutex_t lock;
    sl_context *ctx;
    long long counts[EARLY_VOCAB];
    long long words;       /* sum of the counts collected */
    long long bad;         /* records that are not ("w<N>", int) */
    long long records;     /* input records, from the listener */
    long long batches;     /* batches seen by the listener */
    size_t early_blocks;   /* blocks combined early, all batches */
    size_t early_recycled; /* of which recycled right after */
    size_t max_early;      /* in the one batch with the most */
} early_run;

static int early_collect(void *ud, int64_t t, const sl_record *recs, size_t n, sl_error *err) {
    (void)t;
    (void)err;
    early_run *er = ud;
    pthread_mutex_lock(&er->lock);
    for (size_t i = 0; i < n; i++) {
        const sl_record *r = &recs[i];
        int w = -1;
        /* ("w<N>", count), or ("w<N>", "w<N>") from the self-pair case */
        bool self = r->value.type == SL_BYTES && sl_bytes_eq(&r->key, &r->value);
        if (r->key.type == SL_BYTES && r->key.len > 1 && r->key.len < 8 && r->key.u.s[0] == 'w' &&
            (r->value.type == SL_INT || self)) {
            char buf[8];
            memcpy(buf, r->key.u.s + 1, r->key.len - 1);
            buf[r->key.len - 1] = 0;
            w = atoi(buf);
        }
        if (w < 0 || w >= EARLY_VOCAB) {
            er->bad++;
            continue;
        }
        int64_t c = self ? 1 : r->value.u.i;
        er->counts[w] += c;
        er->words += c;
    }
    pthread_mutex_unlock(&er->lock);
    return 0;
}

static void early_listen(void *ud, const sl_batch_info *info) {
    early_run *er = ud;
    pthread_mutex_lock(&er->lock);
    er->records += info->records;
    er->batches++;
    er->early_blocks += er->ctx->early_blocks; /* set by the batch just run */
    er->early_recycled += er->ctx->early_recycled;
    if (er->ctx->early_blocks > er->max_early)
        er->max_early = er->ctx->early_blocks;
    pthread_mutex_unlock(&er->lock);
}

static long long early_get(early_run *er, const long long *field) {
    pthread_mutex_lock(&er->lock);
    long long v = *field;
    pthread_mutex_unlock(&er->lock);
    return v;
}

/* Line i: the words w<(i * 7 + j * 13) % VOCAB>, j < WORDS_PER_LINE. */
static size_t early_line(char *buf, size_t cap, int i, long long *expect) {
    size_t n = 0;
    for (int j = 0; j < EARLY_WORDS_PER_LINE; j++) {
        int w = (i * 7 + j * 13) % EARLY_VOCAB;
        if (expect)
            expect[w]++;
        n += (size_t)snprintf(buf + n, cap - n, j ? " w%d" : "w%d", w);
    }
    buf[n++] = '\n';
    return n;
}

/* All EARLY_LINES lines in one buffer; expect[] gets the counts. */
static char *early_text(size_t *len, long long *expect) {
    size_t cap = (size_t)EARLY_LINES * EARLY_WORDS_PER_LINE * 6 + 64;
    char *text = malloc(cap);
    size_t n = 0;
    for (int i = 0; text && i < EARLY_LINES; i++)
        n += early_line(text + n, cap - n, i, expect);
    *len = n;
    return text;
}

enum early_end { END_EOF, END_STOP };

typedef struct early_case {
    bool early; /* sl_context_set_early_combine */
    int workers;
    int partitions;         /* of reduce_by_key; 0: the default */
    bool count_lines_too;   /* a second reader of the source: early ruled out */
    const char *pair_value; /* kv.pair's value (JSON); NULL: 1 */
    enum early_end end;
    size_t min_early; /* blocks taken early before the input ends */
    bool c_reduce;    /* reduce with a C function: its accumulators may point anywhere */
    bool self_pairs;  /* (w, w) and good.firstnoref: flagged, no zero */
} early_case;

/* w -> (w, w): both slices of the received line. */
static int early_self_pair(void *ud, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)ud;
    (void)err;
    for (size_t i = 0; i < in->count; i++) {
        int rc = sl_emit_kv(out, in->records[i].value, in->records[i].value, in->records[i].ts);
        if (rc)
            return rc;
    }
    return 0;
}

/* acc + v, as a C function: the engine cannot know what it keeps. */
static int early_sum(void *ud, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err) {
    (void)ud;
    (void)mem;
    (void)err;
    acc->u.i += v->u.i;
    return 0;
}

/* Wait until the receiver has stored every line and at least min_early
 * blocks were taken early: then the test ends the input. (Ended at once,
 * the input's last batch would run at once, early or not; and a stop drops
 * what is not yet received, which is not the batch's to lose.) */
static bool early_wait(sl_stream *src, size_t min_early, int timeout_ms) {
    int64_t deadline = peer_now_ms() + timeout_ms;
    while (peer_now_ms() < deadline) {
        pthread_mutex_lock(&src->recv->lock);
        bool done =
            src->recv->ntaken_early >= min_early && src->recv->stored_records == EARLY_LINES;
        pthread_mutex_unlock(&src->recv->lock);
        if (done)
            return true;
        peer_sleep_ms(2);
    }
    return false;
}

/* Run the word count for one case; returns sl_context_stop's result and
 * leaves the context's error message in errmsg. */
static int early_run_case(const early_case *c, early_run *er, long long *expect, char *errmsg,
                          size_t errcap) {
    memset(er, 0, sizeof *er);
    pthread_mutex_init(&er->lock, NULL);
    int port = 0;
    peer *p = peer_listen(&port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);

    sl_context *ctx = sl_context_new(EARLY_INTERVAL_MS);
    er->ctx = ctx;
    if (c->self_pairs)
        sl_context_add_plugin_dir(ctx, getenv("SLUICE_TEST_BADPLUGINS"));
    sl_context_set_status_line(ctx, 0);
    sl_context_set_workers(ctx, c->workers);
    sl_context_set_early_combine(ctx, c->early);
    sl_context_set_batch_listener(ctx, early_listen, er);
    sl_stream *lines =
        sl_source(ctx, "socket",
                  (const char *[]){"host", "127.0.0.1", "port", portbuf, "on_eof", "stop", NULL});
    sl_stream *words = sl_flat_map(lines, "text.split", NULL);
    const char *pv[] = {"value", c->pair_value, NULL};
    sl_stream *pairs = c->self_pairs ? sl_map_fn(words, early_self_pair, NULL)
                                     : sl_map(words, "kv.pair", c->pair_value ? pv : NULL);
    sl_stream *counts = c->c_reduce     ? sl_reduce_by_key_fn(pairs, early_sum, NULL)
                        : c->self_pairs ? sl_reduce_by_key(pairs, "good.firstnoref", NULL)
                                        : sl_reduce_by_key(pairs, "agg.sum", NULL);
    if (c->partitions)
        sl_stream_set_partitions(counts, c->partitions);
    ASSERT_INT_EQ(sl_foreach_batch(counts, early_collect, er), 0);
    if (c->count_lines_too)
        ASSERT_INT_EQ(sl_output(sl_count(lines), "pprint", NULL), 0);
    int rc = sl_context_start(ctx);
    if (rc)
        fprintf(stderr, "start: %s\n", sl_context_errmsg(ctx));
    ASSERT_INT_EQ(rc, 0);

    size_t len = 0;
    char *text = early_text(&len, expect);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_FATAL(peer_accept(p, EARLY_WAIT_MS) == 0);
    /* right after a batch, the next tick is a whole interval away */
    int64_t deadline = peer_now_ms() + EARLY_WAIT_MS;
    while (early_get(er, &er->batches) == 0 && peer_now_ms() < deadline)
        peer_sleep_ms(2);
    CU_ASSERT(early_get(er, &er->batches) > 0);
    if (c->pair_value)
        peer_send(p, text, len); /* the run fails meanwhile and closes the socket */
    else
        ASSERT_INT_EQ(peer_send(p, text, len), 0);
    free(text);
    if (!c->pair_value) /* else the run fails on the first early block */
        CU_ASSERT(early_wait(lines, c->min_early, EARLY_WAIT_MS));
    if (c->end == END_STOP) {
        rc = sl_context_stop(ctx); /* while early blocks wait for their batch */
    } else {
        peer_close_conn(p); /* on_eof: stop ends the run after the last batch */
        rc = sl_context_await_termination(ctx);
    }
    snprintf(errmsg, errcap, "%s", sl_context_errmsg(ctx));
    sl_context_free(ctx);
    peer_stop(p);
    pthread_mutex_destroy(&er->lock);
    return rc;
}

/* Every count as expected, the input figures exact. */
static void early_check_counts(const early_run *er, const long long *expect) {
    ASSERT_INT_EQ(er->bad, 0);
    ASSERT_INT_EQ(er->records, EARLY_LINES);
    ASSERT_INT_EQ(er->words, (long long)EARLY_LINES * EARLY_WORDS_PER_LINE);
    int wrong = 0;
    for (int w = 0; w < EARLY_VOCAB; w++)
        wrong += er->counts[w] != expect[w];
    ASSERT_INT_EQ(wrong, 0);
}

/* Run a case that must succeed, and check its counts. */
static void early_run_ok(const early_case *c, early_run *er) {
    long long expect[EARLY_VOCAB] = {0};
    char msg[512];
    ASSERT_INT_EQ(early_run_case(c, er, expect, msg, sizeof msg), 0);
    early_check_counts(er, expect);
}

/* With early combine, several MiB sent well before the tick are combined
 * before it: the batch has early blocks, and the same counts. With agg.sum
 * (SL_REDUCE_NO_INPUT_REFS) every early block is recycled at once; with a C
 * function, none is (they wait for the batch's end). */
static void test_early_counts(void) {
    static const early_case cases[] = {
        {true, 1, 0, false, NULL, END_EOF, 4, false, false},
        {true, 2, 0, false, NULL, END_EOF, 4, false, false},
        {true, 2, 3, false, NULL, END_EOF, 4, false, false},
        {true, 2, 0, false, NULL, END_EOF, 4, true, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        early_run er;
        early_run_ok(&cases[i], &er);
        /* ~5.3 MiB of lines in 1 MiB blocks: the sealed ones ran early. On
         * a loaded machine the send can outlast the interval, and the blocks
         * then fall into two batches: the total counts, not one batch's. */
        CU_ASSERT(er.early_blocks >= 4);
        if (er.early_blocks < 4)
            fprintf(stderr, "case %zu: %zu early blocks (at most %zu in a batch)\n", i,
                    er.early_blocks, er.max_early);
        ASSERT_INT_EQ(er.early_recycled, cases[i].c_reduce ? 0 : er.early_blocks);
    }
}

/* A reduction flagged SL_REDUCE_NO_INPUT_REFS without a zero: the engine
 * starts each accumulator as the first value, a slice of the block, so the
 * blocks must not be recycled. Every value must still equal its key (a
 * recycled block would have been overwritten by later lines). */
static void test_early_flag_without_zero(void) {
    early_case c = {true, 2, 0, false, NULL, END_EOF, 4, false, true};
    early_run er;
    long long expect[EARLY_VOCAB] = {0};
    char msg[512];
    ASSERT_INT_EQ(early_run_case(&c, &er, expect, msg, sizeof msg), 0);
    ASSERT_INT_EQ(er.bad, 0);
    CU_ASSERT(er.words >= EARLY_VOCAB); /* every word, once per batch it is in */
    CU_ASSERT(er.early_blocks >= 4);
    ASSERT_INT_EQ(er.early_recycled, 0);
}

/* Turned off, or ruled out by a second reader of the source, nothing runs
 * before the tick; the counts are the same. */
static void test_early_off(void) {
    static const early_case cases[] = {
        {false, 2, 0, false, NULL, END_EOF, 0, false, false},
        {true, 2, 0, true, NULL, END_EOF, 0, false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        early_run er;
        early_run_ok(&cases[i], &er);
        ASSERT_INT_EQ(er.early_blocks, 0);
    }
}

/* Which sources combine early (sl__plan_early): only a receiver read by one
 * chain into a shuffle that every batch computes. A shuffle read by nothing
 * that runs (an unused map, a window nothing reads) never runs, so it must
 * not run early either. */
static void test_early_plan(void) {
    sl_context *ctx = sl_context_new(EARLY_INTERVAL_MS);
    sl_context_set_status_line(ctx, 0);
    char port[16];
    snprintf(port, sizeof port, "%d", peer_free_port()); /* nothing listens: it retries */
    const char *sock[] = {"host", "127.0.0.1", "port", port, NULL};
    sl_stream *src[4], *counts[4];
    for (int i = 0; i < 4; i++) {
        src[i] = sl_source(ctx, "socket", sock);
        counts[i] = sl_reduce_by_key(sl_map(src[i], "kv.pair", NULL), "agg.sum", NULL);
    }
    ASSERT_INT_EQ(sl_output(counts[0], "pprint", NULL), 0);         /* used */
    sl_map(counts[1], "kv.swap", NULL);                             /* read by nothing */
    sl_window(counts[2], 2 * EARLY_INTERVAL_MS, EARLY_INTERVAL_MS); /* a window nothing reads */
    ASSERT_INT_EQ(sl_output(sl_count(src[3]), "pprint", NULL), 0);  /* a second reader */
    ASSERT_INT_EQ(sl_output(counts[3], "pprint", NULL), 0);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    CU_ASSERT_PTR_EQUAL(src[0]->early_target, counts[0]);
    CU_ASSERT_PTR_NULL(src[1]->early_target);
    CU_ASSERT_PTR_NULL(src[2]->early_target);
    CU_ASSERT_PTR_NULL(src[3]->early_target);
    ASSERT_INT_EQ(sl_context_stop(ctx), 0);
    sl_context_free(ctx);
}

/* A graceful stop while blocks combined early wait for the tick: the last
 * batch includes them, nothing is lost. */
static void test_early_graceful_stop(void) {
    early_case c = {true, 2, 0, false, NULL, END_STOP, 1, false, false};
    early_run er;
    early_run_ok(&c, &er);
    CU_ASSERT(er.early_blocks > 0);
}

/* A function that fails on an early block fails the run with its own
 * message, as it would in the batch. */
static void test_early_failure(void) {
    early_case c = {true, 2, 0, false, "\"x\"", END_EOF, 0, false, false};
    early_run er;
    long long expect[EARLY_VOCAB] = {0};
    char msg[512];
    int rc = early_run_case(&c, &er, expect, msg, sizeof msg);
    ASSERT_INT_EQ(rc, SL_ETYPE);
    ASSERT_CONTAINS(msg, "agg.sum");
    ASSERT_INT_EQ(er.words, 0);
}

UNIT_MAIN("early", {"exact counts, blocks combined before the tick", test_early_counts},
          {"off, or ruled out: nothing before the tick", test_early_off},
          {"a flagged reduction without a zero keeps its blocks", test_early_flag_without_zero},
          {"which sources combine early", test_early_plan},
          {"graceful stop with early blocks pending", test_early_graceful_stop},
          {"a failure on an early block fails the run", test_early_failure})

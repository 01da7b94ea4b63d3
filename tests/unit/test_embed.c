/*
 * test_embed.c — data in and out of a C program (core/src/embed.c, func.c):
 * sl_queue_stream_new pushed from another thread while the engine runs and
 * closed to end the run, its default batch and one_at_a_time; custom
 * receivers (sl_receiver_stream) that store until told to stop, that fail
 * and are restarted, that fail for good; sl_foreach failing its batch; and
 * the host table the program's callbacks get (sl_host_api).
 */
#define UNIT_ENGINE
#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>

/* ---- queue stream ------------------------------------------------------------------ */

/* sl_record_func: count records and sum int values; note non-empty batches. */
typedef struct tally {
    int64_t records, sum, batches_with_data, last_t, ints_wrong;
} tally;

static int tally_rec(void *ud, int64_t t, const sl_record *r, sl_error *err) {
    (void)err;
    tally *ty = ud;
    if (t != ty->last_t)
        ty->batches_with_data++;
    ty->last_t = t;
    ty->records++;
    if (r->value.type == SL_INT)
        ty->sum += r->value.u.i;
    else
        ty->ints_wrong++;
    return 0;
}

typedef struct pusher {
    sl_queue *q;
    int batches;
    int rc;
} pusher;

/* Push batches {i, i+1} with a few ms between them, then close the queue. */
static void *push_main(void *arg) {
    pusher *p = arg;
    for (int i = 0; i < p->batches && !p->rc; i++) {
        int64_t v[2] = {i, i + 1};
        p->rc = sl_queue_push_ints(p->q, v, 2);
        usleep(2000);
    }
    sl_queue_close(p->q);
    return NULL;
}

/* Another thread pushes while the engine runs on the system clock; one
 * batch per interval; closing ends the run with every record seen once. */
static void test_queue_push_from_thread(void) {
    sl_context *ctx = sl_context_new(20);
    sl_queue *q = NULL;
    sl_stream *s = sl_queue_stream_new(ctx, 1, &q);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    tally ty = {0};
    ASSERT_INT_EQ(sl_foreach(s, tally_rec, &ty), 0);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    pusher p = {q, 40, 0};
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, push_main, &p), 0);
    int rc = sl_context_await_termination_or_timeout(ctx, 30000);
    pthread_join(th, NULL);
    ASSERT_INT_EQ(rc, 1); /* terminated by the close, not the timeout */
    ASSERT_INT_EQ(p.rc, 0);
    ASSERT_INT_EQ(ty.records, 80);
    ASSERT_INT_EQ(ty.sum, 40 * 39 + 40);     /* sum of i and i+1 over 0..39 */
    ASSERT_INT_EQ(ty.batches_with_data, 40); /* one_at_a_time: one pushed batch each */
    ASSERT_INT_EQ(ty.ints_wrong, 0);
    ASSERT_INT_EQ(sl_queue_pending(q), 0);
    ASSERT_INT_EQ(sl_queue_push_ints(q, (int64_t[]){1}, 1), SL_ESTATE);
    sl_context_free(ctx);
}

/* Not one at a time: everything pushed so far is one batch; records keep
 * their key and timestamp; a closed queue ends the run after that batch. */
static void test_queue_all_at_once_close(void) {
    sl_context *ctx = ctx_new(1);
    sl_queue *q = NULL;
    sl_stream *s = sl_queue_stream_new(ctx, 0, &q);
    unit_collect c = {0};
    ASSERT_INT_EQ(sl_foreach_batch(s, unit_collect_cb, &c), 0);
    const char *words[] = {"a", "b"};
    ASSERT_INT_EQ(sl_queue_push_strings(q, words, 2), 0);
    char kbuf[] = "k";
    sl_record kv = {sl_cstr(kbuf), sl_int(7), 42};
    ASSERT_INT_EQ(sl_queue_push(q, &kv, 1), 0);
    kbuf[0] = 'x'; /* pushed records were copied */
    ASSERT_INT_EQ(sl_queue_pending(q), 2);
    sl_queue_close(q);
    RUN(ctx, 10);
    ASSERT_INT_EQ(sl_context_batches_done(ctx), 1);
    ASSERT_STR_EQ(BATCH(&c, 0), "'a', 'b', ('k', 7)");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* An empty queue emits the default batch (Spark's defaultRDD); one pushed
 * batch takes its place for one interval. */
static void test_queue_default(void) {
    sl_context *ctx = ctx_new(1);
    sl_queue *q = NULL;
    sl_stream *s = sl_queue_stream_new(ctx, 1, &q);
    unit_collect c = {0};
    ASSERT_INT_EQ(sl_foreach_batch(s, unit_collect_cb, &c), 0);
    sl_record d = {sl_null(), sl_cstr("idle"), 0};
    ASSERT_INT_EQ(sl_queue_set_default(q, &d, 1), 0);
    ASSERT_INT_EQ(sl_queue_push_ints(q, (int64_t[]){1, 2}, 2), 0);
    RUN(ctx, 3);
    ASSERT_STR_EQ(BATCH(&c, 0), "1, 2");
    ASSERT_STR_EQ(BATCH(&c, 1), "'idle'");
    ASSERT_STR_EQ(BATCH(&c, 2), "'idle'");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* ---- receiver stream --------------------------------------------------------------- */

typedef struct recv_state {
    atomic_int attempts;
    atomic_long stored;
    atomic_bool returned;
    int fail_times; /* SL_RETRY this many times before storing */
    int then_rc;    /* what the attempt that stores returns (0: store until stopped) */
    int store_n;    /* records to store before returning then_rc */
} recv_state;

/* The custom receiver: fail fail_times times (asking for a restart), then
 * store ints 1.. until stopped (or store_n of them, then return then_rc). */
static int recv_fn(void *ud, sl_handle *h, sl_error *err) {
    recv_state *st = ud;
    const sl_host *host = sl_host_api();
    int attempt = atomic_fetch_add(&st->attempts, 1);
    if (attempt < st->fail_times)
        return host->error_set(err, SL_RETRY, "peer went away (attempt %d)", attempt + 1);
    for (long i = 1; !host->stopping(h); i++) {
        sl_record r = {sl_null(), sl_int(i), 0};
        int rc = host->store(h, &r, 1);
        atomic_fetch_add(&st->stored, 1);
        if (rc == SL_ESTOPPED)
            break;
        if (st->store_n && i == st->store_n) {
            atomic_store(&st->returned, true);
            return st->then_rc < 0 ? host->error_set(err, st->then_rc, "device unplugged")
                                   : st->then_rc;
        }
        if (i % 100 == 0)
            host->sleep(h, 1);
    }
    atomic_store(&st->returned, true);
    return 0;
}

/* Stops the context once `target` records were seen. */
typedef struct seen {
    sl_context *ctx;
    int64_t n, target;
} seen;

static int seen_rec(void *ud, int64_t t, const sl_record *r, sl_error *err) {
    (void)t, (void)r, (void)err;
    seen *s = ud;
    if (++s->n == s->target)
        sl_context_request_stop(s->ctx);
    return 0;
}

/* A receiver that stores until told to stop: the stop reaches it, and what
 * it stored is all processed (graceful stop). */
static void test_receiver_stop(void) {
    sl_context *ctx = sl_context_new(20);
    recv_state st = {0};
    sl_stream *s = sl_receiver_stream(ctx, "mine", recv_fn, &st);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    ASSERT_STR_EQ(sl_stream_name(s), "mine");
    seen sn = {ctx, 0, 1000};
    ASSERT_INT_EQ(sl_foreach(s, seen_rec, &sn), 0);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination_or_timeout(ctx, 30000), 1);
    CU_ASSERT(atomic_load(&st.returned));
    ASSERT_INT_EQ(atomic_load(&st.attempts), 1);
    CU_ASSERT(sn.n >= 1000);
    ASSERT_INT_EQ(sn.n, atomic_load(&st.stored));
    sl_context_free(ctx);
}

static char logbuf[8192];
static pthread_mutex_t loglock = PTHREAD_MUTEX_INITIALIZER;

static void log_cb(void *ud, int level, const char *line) {
    (void)ud;
    if (level != SL_LOG_WARN)
        return;
    pthread_mutex_lock(&loglock);
    size_t len = strlen(logbuf);
    snprintf(logbuf + len, sizeof logbuf - len, "%s\n", line);
    pthread_mutex_unlock(&loglock);
}

/* A receiver that fails twice and asks for a restart: it is started again
 * after a delay, with a warning naming it and its message, then stores five
 * records and says its input ended: the run ends after them. */
static void test_receiver_restart(void) {
    logbuf[0] = 0;
    sl_set_log_callback(log_cb, NULL);
    sl_context *ctx = sl_context_new(20);
    recv_state st = {.fail_times = 2, .store_n = 5, .then_rc = SL_EOF};
    sl_stream *s = sl_receiver_stream(ctx, "flaky", recv_fn, &st);
    tally ty = {0};
    ASSERT_INT_EQ(sl_foreach(s, tally_rec, &ty), 0);
    int64_t t0 = sl__mono_ms();
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination_or_timeout(ctx, 30000), 1);
    int64_t took = sl__mono_ms() - t0;
    sl_set_log_callback(NULL, NULL);
    ASSERT_INT_EQ(atomic_load(&st.attempts), 3);
    ASSERT_INT_EQ(ty.records, 5);
    ASSERT_INT_EQ(ty.sum, 15);
    CU_ASSERT(took >= 300); /* backoff: 100 ms, then 200 ms */
    ASSERT_CONTAINS(logbuf, "flaky (receiver_stream): receiver restarting in 100 ms: peer went "
                            "away (attempt 1)");
    ASSERT_CONTAINS(logbuf, "restarting in 200 ms: peer went away (attempt 2)");
    sl_context_free(ctx);
}

/* A receiver that fails for good fails the run with its message. */
static void test_receiver_fails(void) {
    sl_context *ctx = sl_context_new(20);
    recv_state st = {.store_n = 3, .then_rc = SL_EIO};
    sl_stream *s = sl_receiver_stream(ctx, "dev", recv_fn, &st);
    tally ty = {0};
    ASSERT_INT_EQ(sl_foreach(s, tally_rec, &ty), 0);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination_or_timeout(ctx, 30000), SL_EIO);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "device unplugged");
    sl_context_free(ctx);
}

/* NULL functions and names are refused with a message, not a crash. */
static void test_embed_bad_args(void) {
    sl_context *ctx = ctx_new(1);
    CU_ASSERT_PTR_NULL(sl_receiver_stream(ctx, "r", NULL, NULL));
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "start function is NULL");
    sl_context_clear_error(ctx);
    CU_ASSERT_PTR_NULL(sl_queue_stream_new(ctx, 1, NULL));
    sl_context_clear_error(ctx);
    sl_queue *q;
    sl_stream *s = sl_queue_stream_new(ctx, 1, &q);
    ASSERT_INT_EQ(sl_foreach(s, NULL, NULL), SL_EINVAL);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "foreach: the function pointer is NULL");
    ASSERT_INT_EQ(sl_queue_push(q, NULL, 3), SL_EINVAL);
    sl_context_free(ctx);
}

/* ---- foreach ------------------------------------------------------------------------ */

/* Fails at the record whose value is 3; counts the records it got. */
static int fail_at_3(void *ud, int64_t t, const sl_record *r, sl_error *err) {
    (void)t;
    int *n = ud;
    ++*n;
    if (r->value.type == SL_INT && r->value.u.i == 3)
        return sl_host_api()->error_set(err, SL_EINVAL, "cannot store %lld",
                                        (long long)r->value.u.i);
    return 0;
}

/* A foreach callback that fails fails its batch and the run with its
 * message, named after the output; the later records are not given. */
static void test_foreach_fails_batch(void) {
    sl_context *ctx = ctx_new(1);
    sl_queue *q;
    sl_stream *s = sl_queue_stream_new(ctx, 1, &q);
    int n = 0;
    ASSERT_INT_EQ(sl_foreach(s, fail_at_3, &n), 0);
    ASSERT_INT_EQ(sl_queue_push_ints(q, (int64_t[]){1, 2}, 2), 0);
    ASSERT_INT_EQ(sl_queue_push_ints(q, (int64_t[]){3, 4, 5}, 3), 0);
    sl_context_set_max_batches(ctx, 5);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination(ctx), SL_EINVAL);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "cannot store 3");
    ASSERT_INT_EQ(n, 3);
    ASSERT_INT_EQ(sl_context_batches_done(ctx), 1);
    sl_context_free(ctx);
}

/* The host table: the same one plugins get, usable without a plugin. */
static void test_host_api(void) {
    const sl_host *h = sl_host_api();
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    ASSERT_INT_EQ(h->struct_size, sizeof(sl_host));
    ASSERT_INT_EQ(h->abi_major, SL_ABI_MAJOR);
    sl_error err = {0, ""};
    ASSERT_INT_EQ(h->error_set(&err, SL_EIO, "disk %d", 2), SL_EIO);
    ASSERT_STR_EQ(err.msg, "disk 2");
    sl_value items[2] = {sl_cstr("a"), sl_int(1)};
    sl_value v = sl_list(items, 2);
    char buf[64];
    h->value_format(&v, SL_FORMAT_REPR, buf, sizeof buf);
    ASSERT_STR_EQ(buf, "('a', 1)"); /* a list is a tuple in repr */
}

UNIT_MAIN("embed", {"queue: push from another thread", test_queue_push_from_thread},
          {"queue: all at once, close ends the run", test_queue_all_at_once_close},
          {"queue: default batch", test_queue_default},
          {"receiver: stops when told", test_receiver_stop},
          {"receiver: fails and restarts", test_receiver_restart},
          {"receiver: fails for good", test_receiver_fails},
          {"embed: bad arguments", test_embed_bad_args},
          {"foreach: a failing callback fails the batch", test_foreach_fails_batch},
          {"host table", test_host_api})

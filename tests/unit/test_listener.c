/*
 * test_listener.c — listeners (core/src/listener.c and the places that
 * raise events): the exact sequence of batch, output and checkpoint events
 * of a real pipeline on the manual clock, with two listeners of different
 * masks, and their figures (record counts per source, times, bytes); a
 * failing output; removing a listener; the calls a callback may not make;
 * receiver events of the socket source against a real TCP server on
 * loopback, and of a custom receiver that restarts and then fails.
 */
#define UNIT_ENGINE
#include "unit.h"

#include <pthread.h>
#include <sys/stat.h>

#include "peer.h"

/* ---- a recording listener ------------------------------------------------------- */

/* Every event as one line of text, and every figure that broke a rule. */
typedef struct rec {
    pthread_mutex_t lock;
    char log[1 << 15];
    char bad[4096]; /* broken invariants, one per line */
    int64_t first;  /* batch times are written as (t - first) / IV */
    sl_context *ctx;
    int inner_add, inner_remove;  /* what add/remove returned inside a callback */
    pthread_t batch_thread;       /* the thread batch events came on */
    int batch_threads_differ;     /* batch events came on more than one thread */
    int receiver_on_batch_thread; /* a receiver event came on the batch thread */
    int64_t ckpt_bytes_min;
    int64_t records_total;
} rec;

static void rec_init(rec *r, int64_t first) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    r->first = first;
    r->ckpt_bytes_min = -1;
}

static void rec_add(rec *r, const char *fmt, ...) SL_PRINTF(2, 3);
static void rec_add(rec *r, const char *fmt, ...) {
    size_t len = strlen(r->log);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->log + len, sizeof r->log - len, fmt, ap);
    va_end(ap);
    len = strlen(r->log);
    if (len + 1 < sizeof r->log)
        strcat(r->log, "\n");
}

static void rec_bad(rec *r, const char *what, int64_t got) {
    size_t len = strlen(r->bad);
    snprintf(r->bad + len, sizeof r->bad - len, "%s (got %lld)\n", what, (long long)got);
}

/* A batch event's figures against BatchInfo's rules (manual clock: the
 * batch starts at its own time). */
static void check_batch(rec *r, const sl_event *ev) {
    const sl_batch_event *b = &ev->u.batch;
    int64_t sum = 0;
    for (size_t i = 0; i < b->nsources; i++)
        sum += b->sources[i].records;
    if (sum != b->records)
        rec_bad(r, "per-source records add up to the batch's", sum);
    if (b->submission_time != b->batch_time)
        rec_bad(r, "submitted at the batch time", b->submission_time - b->batch_time);
    if (ev->kind == SL_EVENT_BATCH_SUBMITTED && b->processing_start != -1)
        rec_bad(r, "no processing start at SUBMITTED", b->processing_start);
    if (ev->kind != SL_EVENT_BATCH_SUBMITTED &&
        (b->processing_start != b->batch_time || b->scheduling_delay != 0))
        rec_bad(r, "started at the batch time, no scheduling delay", b->scheduling_delay);
    if (ev->kind != SL_EVENT_BATCH_COMPLETED && (b->processing_end != -1 || b->total_delay != -1))
        rec_bad(r, "no end before COMPLETED", b->processing_end);
    if (ev->kind == SL_EVENT_BATCH_COMPLETED &&
        (b->processing_end != b->processing_start + b->processing_time ||
         b->total_delay != b->processing_time || b->processing_time < 0))
        rec_bad(r, "end = start + processing time, total = scheduling + processing",
                b->processing_end - b->processing_start);
}

static void thread_note(rec *r, bool receiver) {
    if (receiver) {
        if (r->batch_thread && pthread_equal(r->batch_thread, pthread_self()))
            r->receiver_on_batch_thread++;
        return;
    }
    if (!r->batch_thread)
        r->batch_thread = pthread_self();
    else if (!pthread_equal(r->batch_thread, pthread_self()))
        r->batch_threads_differ++;
}

static void on_batch(rec *r, const sl_event *ev) {
    const sl_batch_event *b = &ev->u.batch;
    long long k = (long long)((b->batch_time - r->first) / IV);
    check_batch(r, ev);
    if (ev->kind == SL_EVENT_BATCH_SUBMITTED) {
        char src[256] = "";
        for (size_t i = 0; i < b->nsources; i++)
            snprintf(src + strlen(src), sizeof src - strlen(src), " %s=%lld", b->sources[i].stream,
                     (long long)b->sources[i].records);
        rec_add(r, "submitted %lld records=%lld%s", k, (long long)b->records, src);
    } else if (ev->kind == SL_EVENT_BATCH_STARTED) {
        rec_add(r, "started %lld", k);
    } else {
        r->records_total += b->records;
        rec_add(r, "completed %lld %s", k, b->error ? b->error : "ok");
    }
}

static void on_output(rec *r, const sl_event *ev) {
    const sl_output_event *o = &ev->u.output;
    long long k = (long long)((o->batch_time - r->first) / IV);
    if (o->start_time < o->batch_time)
        rec_bad(r, "an output starts after its batch started", o->start_time - o->batch_time);
    if (ev->kind == SL_EVENT_OUTPUT_STARTED) {
        rec_add(r, "output-started %lld #%d %s %s %s records=%lld", k, o->index, o->name, o->stream,
                o->sink, (long long)o->records);
        return;
    }
    if (o->duration_us < 0 || o->end_time < o->start_time)
        rec_bad(r, "an output ends after it starts", o->duration_us);
    rec_add(r, "output-completed %lld #%d %s %s", k, o->index, o->name, o->error ? o->error : "ok");
}

static void on_checkpoint(rec *r, const sl_event *ev) {
    const sl_checkpoint_event *c = &ev->u.checkpoint;
    struct stat st;
    if (!c->error && (stat(c->path, &st) != 0 || st.st_size != c->bytes))
        rec_bad(r, "the checkpoint file exists with the size said", c->bytes);
    if (r->ckpt_bytes_min < 0 || c->bytes < r->ckpt_bytes_min)
        r->ckpt_bytes_min = c->bytes;
    rec_add(r, "checkpoint %lld %s", (long long)((c->batch_time - r->first) / IV),
            c->error ? c->error : "ok");
}

static void on_receiver(rec *r, const sl_event *ev) {
    const sl_receiver_event *e = &ev->u.receiver;
    if (ev->kind == SL_EVENT_RECEIVER_STARTED)
        rec_add(r, "receiver-started %s %s", e->stream, e->source);
    else if (ev->kind == SL_EVENT_RECEIVER_ERROR)
        rec_add(r, "receiver-error %s: %s", e->stream, e->error);
    else
        rec_add(r, "receiver-stopped %s %d %s", e->stream, e->code, e->error ? e->error : "-");
}

/* sl_listener_func: record the event; also try what a callback may not do. */
static void listen_cb(void *user, const sl_event *ev) {
    rec *r = user;
    pthread_mutex_lock(&r->lock);
    if (ev->size != sizeof(sl_event) || ev->ctx != r->ctx)
        rec_bad(r, "size and ctx are set", (int64_t)ev->size);
    bool receiver = ev->kind >= SL_EVENT_RECEIVER_STARTED && ev->kind <= SL_EVENT_RECEIVER_STOPPED;
    thread_note(r, receiver);
    r->inner_add = sl_context_add_listener(ev->ctx, SL_EVENT_ALL, listen_cb, r);
    r->inner_remove = sl_context_remove_listener(ev->ctx, 1);
    switch (ev->kind) {
    case SL_EVENT_BATCH_SUBMITTED:
    case SL_EVENT_BATCH_STARTED:
    case SL_EVENT_BATCH_COMPLETED:
        on_batch(r, ev);
        break;
    case SL_EVENT_OUTPUT_STARTED:
    case SL_EVENT_OUTPUT_COMPLETED:
        on_output(r, ev);
        break;
    case SL_EVENT_CHECKPOINT_WRITTEN:
        on_checkpoint(r, ev);
        break;
    default:
        on_receiver(r, ev);
    }
    pthread_mutex_unlock(&r->lock);
}

/* ---- a pipeline on the manual clock ---------------------------------------------- */

/* foreach_batch that fails the batch whose index (from 0) is fail_at, and
 * at batch remove_at removes listener remove_id (outside any callback). */
typedef struct sink_ctl {
    sl_context *ctx;
    int64_t n, fail_at, remove_at;
    int remove_id, remove_rc;
} sink_ctl;

static int sink_cb(void *ud, int64_t t, const sl_record *recs, size_t n, sl_error *err) {
    (void)t, (void)recs, (void)n;
    sink_ctl *s = ud;
    int64_t k = s->n++;
    if (k == s->remove_at)
        s->remove_rc = sl_context_remove_listener(s->ctx, s->remove_id);
    if (k == s->fail_at)
        return sl__error_set(err, SL_EIO, "disk full at batch %lld", (long long)k);
    return 0;
}

/* Two queue sources ("nums": 3, 1, 0, 2 records; "more": 1 each), their
 * union to a jsonl file (the output "files") and to a foreach_batch
 * (output-2), a checkpoint after every batch. */
static sl_context *pipeline(const char *dir, sink_ctl *ctl) {
    sl_context *ctx = ctx_new(1);
    sl_stream *a = sl_stream_set_name(queue(ctx, "[1, 2, 3]\n[4]\n[]\n[5, 6]\n"), "nums");
    sl_stream *b = sl_stream_set_name(queue(ctx, "[7]\n[8]\n[9]\n[10]\n"), "more");
    sl_stream *u = sl_stream_set_name(sl_union(a, b), "all");
    char out[4200];
    snprintf(out, sizeof out, "%s/out.jsonl", dir);
    ASSERT_INT_EQ(sl_output_named(u, "files", "jsonl", P("path", out)), 0);
    ctl->ctx = ctx;
    ASSERT_INT_EQ(sl_foreach_batch(u, sink_cb, ctl), 0);
    char ck[4200];
    snprintf(ck, sizeof ck, "%s/ckpt", dir);
    ASSERT_INT_EQ(sl_context_checkpoint(ctx, ck), 0);
    ASSERT_INT_EQ(sl_context_set_checkpoint_interval(ctx, IV), 0);
    return ctx;
}

static const char batch_seq[] = "submitted %d records=%d nums=%d more=1\n"
                                "started %d\n"
                                "output-started %d #0 files all jsonl records=%d\n"
                                "output-completed %d #0 files ok\n"
                                "output-started %d #1 output-2 all foreach_batch records=%d\n"
                                "output-completed %d #1 output-2 ok\n"
                                "completed %d ok\n"
                                "checkpoint %d ok\n";

/* The lines every listener of SL_EVENT_ALL sees for batch k with n "nums". */
static void expect_batch(char *buf, size_t cap, int k, int n) {
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, batch_seq, k, n + 1, n, k, k, n + 1, k, k, n + 1, k, k, k);
}

/* Four batches, two listeners: one of every kind, one of completed batches
 * and checkpoints only. Each sees exactly its events, in order, with the
 * figures of the input. */
static void test_sequence(void) {
    char dir[256];
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit_mkdtemp(dir, sizeof dir));
    sink_ctl ctl = {.fail_at = -1, .remove_at = -1};
    sl_context *ctx = pipeline(dir, &ctl);
    static rec all, some;
    rec_init(&all, FIRST);
    rec_init(&some, FIRST);
    all.ctx = some.ctx = ctx;
    ASSERT_INT_EQ(sl_context_add_listener(ctx, SL_EVENT_ALL, listen_cb, &all), 1);
    uint32_t m =
        SL_EVENT_MASK(SL_EVENT_BATCH_COMPLETED) | SL_EVENT_MASK(SL_EVENT_CHECKPOINT_WRITTEN);
    ASSERT_INT_EQ(sl_context_add_listener(ctx, m, listen_cb, &some), 2);
    RUN(ctx, 4);
    char want[8192] = "";
    int nums[4] = {3, 1, 0, 2};
    for (int k = 0; k < 4; k++)
        expect_batch(want, sizeof want, k, nums[k]);
    ASSERT_STR_EQ(all.log, want);
    ASSERT_STR_EQ(some.log, "completed 0 ok\ncheckpoint 0 ok\ncompleted 1 ok\ncheckpoint 1 ok\n"
                            "completed 2 ok\ncheckpoint 2 ok\ncompleted 3 ok\ncheckpoint 3 ok\n");
    ASSERT_STR_EQ(all.bad, "");
    ASSERT_STR_EQ(some.bad, "");
    ASSERT_INT_EQ(all.records_total, 10);
    CU_ASSERT(all.ckpt_bytes_min > 0);
    ASSERT_INT_EQ(all.inner_add, SL_ESTATE); /* a callback may not add or remove */
    ASSERT_INT_EQ(all.inner_remove, SL_ESTATE);
    ASSERT_INT_EQ(all.batch_threads_differ, 0);
    sl_context_free(ctx);
    unit_rmtree(dir);
}

/* A failing output: its OUTPUT_COMPLETED and the batch's COMPLETED carry
 * the error, no checkpoint is written for it, and the run fails. */
static void test_failure(void) {
    char dir[256];
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit_mkdtemp(dir, sizeof dir));
    sink_ctl ctl = {.fail_at = 1, .remove_at = -1};
    sl_context *ctx = pipeline(dir, &ctl);
    static rec r;
    rec_init(&r, FIRST);
    r.ctx = ctx;
    ASSERT_INT_EQ(sl_context_add_listener(ctx, SL_EVENT_ALL, listen_cb, &r), 1);
    ASSERT_INT_EQ(sl_context_set_max_batches(ctx, 4), 0);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination(ctx), SL_EIO);
    char want[8192] = "";
    expect_batch(want, sizeof want, 0, 3);
    strcat(want, "submitted 1 records=2 nums=1 more=1\nstarted 1\n"
                 "output-started 1 #0 files all jsonl records=2\n"
                 "output-completed 1 #0 files ok\n"
                 "output-started 1 #1 output-2 all foreach_batch records=2\n"
                 "output-completed 1 #1 output-2 disk full at batch 1\n"
                 "completed 1 disk full at batch 1\n");
    ASSERT_STR_EQ(r.log, want);
    ASSERT_STR_EQ(r.bad, "");
    sl_context_free(ctx);
    unit_rmtree(dir);
}

/* A listener removed while the context runs (from an output, between
 * events) hears nothing more; the other still hears everything. Bad
 * arguments are refused. */
static void test_remove(void) {
    char dir[256];
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit_mkdtemp(dir, sizeof dir));
    sink_ctl ctl = {.fail_at = -1, .remove_at = 1, .remove_id = 2};
    sl_context *ctx = pipeline(dir, &ctl);
    static rec a, b;
    rec_init(&a, FIRST);
    rec_init(&b, FIRST);
    a.ctx = b.ctx = ctx;
    uint32_t m = SL_EVENT_MASK(SL_EVENT_BATCH_COMPLETED);
    ASSERT_INT_EQ(sl_context_add_listener(ctx, m, listen_cb, &a), 1);
    ASSERT_INT_EQ(sl_context_add_listener(ctx, m, listen_cb, &b), 2);
    ASSERT_INT_EQ(sl_context_add_listener(ctx, 0, listen_cb, &b), SL_EINVAL);
    ASSERT_INT_EQ(sl_context_add_listener(ctx, SL_EVENT_ALL, NULL, &b), SL_EINVAL);
    ASSERT_INT_EQ(sl_context_remove_listener(ctx, 42), SL_ENOTFOUND);
    RUN(ctx, 4);
    ASSERT_INT_EQ(ctl.remove_rc, 0);
    ASSERT_STR_EQ(a.log, "completed 0 ok\ncompleted 1 ok\ncompleted 2 ok\ncompleted 3 ok\n");
    ASSERT_STR_EQ(b.log, "completed 0 ok\n");
    ASSERT_INT_EQ(sl_context_remove_listener(ctx, 2), SL_ENOTFOUND); /* already gone */
    ASSERT_INT_EQ(sl_context_remove_listener(ctx, 1), 0);
    sl_context_free(ctx);
    unit_rmtree(dir);
}

/* ---- receivers ---------------------------------------------------------------------- */

/* Wait (at most 10 s) until the batches completed so far hold `n` records. */
static bool wait_records(rec *r, int64_t n) {
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&r->lock);
        int64_t got = r->records_total;
        pthread_mutex_unlock(&r->lock);
        if (got >= n)
            return got == n;
        usleep(10000);
    }
    return false;
}

/* Only the receiver lines of a log, in order. */
static void receiver_lines(const char *log, char *out, size_t cap) {
    out[0] = 0;
    for (const char *p = log; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (strncmp(p, "receiver-", 9) == 0 && strlen(out) + len < cap)
            strncat(out, p, len);
        p += len;
    }
}

/* The socket source against a real TCP server on loopback: started on its
 * own thread, an error when the server closes the connection (it then
 * reconnects), stopped without error at the end; batches carry what was
 * sent. */
static void test_socket_receiver(void) {
    int port = 0;
    peer *p = peer_listen(&port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    sl_context *ctx = sl_context_new(50);
    sl_stream *lines = sl_stream_set_name(sl_socket_text_stream(ctx, "127.0.0.1", port), "lines");
    ASSERT_INT_EQ(sl_pprint(sl_count(lines), 1) == 0, 1);
    static rec r;
    rec_init(&r, 0);
    r.ctx = ctx;
    ASSERT_INT_EQ(sl_context_add_listener(ctx, SL_EVENT_ALL, listen_cb, &r), 1);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(peer_accept(p, 5000), 0);
    ASSERT_INT_EQ(peer_send_str(p, "a\nb\nc\n"), 0);
    CU_ASSERT(wait_records(&r, 3));
    peer_close_conn(p);
    ASSERT_INT_EQ(peer_accept(p, 5000), 0); /* it reconnected */
    ASSERT_INT_EQ(peer_send_str(p, "d\ne\n"), 0);
    CU_ASSERT(wait_records(&r, 5));
    ASSERT_INT_EQ(sl_context_stop(ctx), 0);
    peer_stop(p);
    char got[4096], want[1024];
    receiver_lines(r.log, got, sizeof got);
    snprintf(want, sizeof want,
             "receiver-started lines socket\n"
             "receiver-error lines: 127.0.0.1:%d closed the connection; reconnecting\n"
             "receiver-stopped lines 0 -\n",
             port);
    ASSERT_STR_EQ(got, want);
    ASSERT_INT_EQ(r.receiver_on_batch_thread, 0); /* on the receiver's own thread */
    ASSERT_INT_EQ(r.batch_threads_differ, 0);
    ASSERT_INT_EQ(r.records_total, 5);
    sl_context_free(ctx);
}

/* A custom receiver that asks for a restart once, then fails for good. */
static int flaky(void *ud, sl_handle *h, sl_error *err) {
    int *calls = ud;
    if ((*calls)++ == 0)
        return sl_host_api()->error_set(err, SL_RETRY, "peer went away");
    (void)h;
    return sl_host_api()->error_set(err, SL_EIO, "device unplugged");
}

/* The restart is a receiver error; the failure stops it with its reason
 * and fails the next batch, which says so. */
static void test_receiver_fails(void) {
    sl_context *ctx = sl_context_new(20);
    int calls = 0;
    sl_stream *s = sl_receiver_stream(ctx, "dev", flaky, &calls);
    ASSERT_INT_EQ(sl_pprint(s, 1), 0);
    static rec r;
    rec_init(&r, 0);
    r.ctx = ctx;
    uint32_t m = SL_EVENT_MASK(SL_EVENT_RECEIVER_STARTED) | SL_EVENT_MASK(SL_EVENT_RECEIVER_ERROR) |
                 SL_EVENT_MASK(SL_EVENT_RECEIVER_STOPPED);
    ASSERT_INT_EQ(sl_context_add_listener(ctx, m, listen_cb, &r), 1);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination_or_timeout(ctx, 30000), SL_EIO);
    char want[512];
    snprintf(want, sizeof want,
             "receiver-started dev receiver_stream\n"
             "receiver-error dev: receiver restarting in 100 ms: peer went away\n"
             "receiver-stopped dev %d device unplugged\n",
             SL_EIO);
    ASSERT_STR_EQ(r.log, want);
    sl_context_free(ctx);
}

UNIT_MAIN("listener", {"batch, output and checkpoint events in order", test_sequence},
          {"a failing output", test_failure}, {"removing a listener", test_remove},
          {"socket receiver on loopback", test_socket_receiver},
          {"a receiver that restarts, then fails", test_receiver_fails})

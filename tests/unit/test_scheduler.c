/*
 * test_scheduler.c — core/src/scheduler.c and the lifecycle in context.c:
 * batch times on the manual and the system clock, batch limits, stopping,
 * awaiting, and what may be done in which state.
 */
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>

#include "unit.h"

/* ---- scaffolding -------------------------------------------------------------- */

/* A context with a queue source feeding a collector. */
static sl_context *pipeline(int64_t interval, sl_clock_kind clock, unit_collect *c) {
    sl_context *ctx = sl_context_new(interval);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    CU_ASSERT_EQUAL(sl_context_set_clock(ctx, clock), 0);
    CU_ASSERT_EQUAL(sl_context_set_workers(ctx, 2), 0);
    sl_stream *s = sl_queue_stream(ctx, unit_queue_file("[1]\n[2, 3]\n"));
    unit_check(s != NULL, __FILE__, __LINE__, "queue stream (%s)", sl_context_errmsg(ctx));
    CU_ASSERT_EQUAL(sl_foreach_batch(s, unit_collect_cb, c), 0);
    return ctx;
}

static int64_t mono_ms(void) {
    return sl__mono_ms();
}

/* ---- the manual clock ----------------------------------------------------------- */

/* The first batch time is the next multiple of the interval after the start
 * time; each batch is exactly one interval later. */
static void test_manual_start_time(void) {
    static const struct {
        int64_t interval, start, first;
    } cases[] = {
        {1000, 1000000500, 1000001000},
        {1000, 1000000000, 1000001000},
        {1000, 1000000999, 1000001000},
        {250, 1001, 1250},
        {7, 100, 105},
        {1000, 0, 1000}, /* 0 is the epoch (Spark's ManualClock), not "now" */
        {500, 1, 500},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        unit_collect c = {0};
        sl_context *ctx = pipeline(cases[i].interval, SL_CLOCK_MANUAL, &c);
        ASSERT_INT_EQ(sl_context_set_start_time(ctx, cases[i].start), 0);
        ASSERT_INT_EQ(sl_context_set_max_batches(ctx, 4), 0);
        ASSERT_INT_EQ(sl_context_start(ctx), 0);
        ASSERT_INT_EQ(sl_context_await_termination(ctx), 0);
        ASSERT_INT_EQ(c.nb, 4);
        for (size_t k = 0; k < c.nb; k++) {
            int64_t want = cases[i].first + (int64_t)k * cases[i].interval;
            unit_check(c.b[k].t == want, __FILE__, __LINE__,
                       "interval %lld, start %lld: batch %zu at %lld (got %lld)",
                       (long long)cases[i].interval, (long long)cases[i].start, k, (long long)want,
                       (long long)c.b[k].t);
        }
        unit_collect_free(&c);
        sl_context_free(ctx);
    }
}

/* Without a start time the manual clock starts near now, on a multiple of
 * the interval. */
static void test_manual_default_start(void) {
    unit_collect c = {0};
    sl_context *ctx = pipeline(1000, SL_CLOCK_MANUAL, &c);
    sl_context_set_max_batches(ctx, 2);
    int64_t now = sl__now_ms();
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination(ctx), 0);
    ASSERT_INT_EQ(c.nb, 2);
    if (c.nb == 2) {
        ASSERT_INT_EQ(c.b[0].t % 1000, 0);
        CU_ASSERT(c.b[0].t > now - 1000 && c.b[0].t <= now + 2000);
        ASSERT_INT_EQ(c.b[1].t - c.b[0].t, 1000);
    }
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* SL_START_NOW says "now" explicitly (also after another start time);
 * other negative start times are refused; the system clock refuses a start
 * time when it starts, since its batches follow the wall clock. */
static void test_start_time_now_and_refusals(void) {
    unit_collect c = {0};
    sl_context *ctx = pipeline(1000, SL_CLOCK_MANUAL, &c);
    ASSERT_INT_EQ(sl_context_set_start_time(ctx, 5000), 0);
    ASSERT_INT_EQ(sl_context_set_start_time(ctx, -2), SL_EINVAL);
    ASSERT_STR_EQ(sl_context_errmsg(ctx), "start_time: expected ms since the epoch (0 or more) "
                                          "or SL_START_NOW, got -2");
    sl_context_clear_error(ctx);
    ASSERT_INT_EQ(sl_context_set_start_time(ctx, SL_START_NOW), 0);
    sl_context_set_max_batches(ctx, 1);
    int64_t now = sl__now_ms();
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination(ctx), 0);
    ASSERT_INT_EQ(c.nb, 1);
    if (c.nb == 1)
        CU_ASSERT(c.b[0].t > now - 1000 && c.b[0].t <= now + 2000);
    unit_collect_free(&c);
    sl_context_free(ctx);

    c = (unit_collect){0};
    ctx = pipeline(1000, SL_CLOCK_SYSTEM, &c);
    ASSERT_INT_EQ(sl_context_set_start_time(ctx, 0), 0);
    ASSERT_INT_EQ(sl_context_start(ctx), SL_ECONFIG);
    ASSERT_STR_EQ(sl_context_errmsg(ctx),
                  "start_time: only the manual clock has a start time (set clock: manual); the "
                  "system clock's batches follow the wall clock");
    ASSERT_INT_EQ(c.nb, 0);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* max_batches runs exactly that many batches (with a source that never
 * ends) and the manual clock runs them without waiting. */
static void test_max_batches(void) {
    unit_collect c = {0};
    sl_context *ctx = pipeline(60000, SL_CLOCK_MANUAL, &c);
    ASSERT_INT_EQ(sl_context_set_max_batches(ctx, 25), 0);
    int64_t t0 = mono_ms();
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination(ctx), 0);
    CU_ASSERT(mono_ms() - t0 < 5000);
    ASSERT_INT_EQ(c.nb, 25);
    ASSERT_INT_EQ(sl_context_batches_done(ctx), 25);
    sl_batch_info info;
    ASSERT_INT_EQ(sl_context_last_batch(ctx, &info), 0);
    ASSERT_INT_EQ(info.batch_time, c.nb ? c.b[c.nb - 1].t : -1);
    ASSERT_INT_EQ(info.scheduling_delay, 0);
    ASSERT_INT_EQ(info.total_delay, info.scheduling_delay + info.processing_time);
    unit_collect_free(&c);
    sl_context_free(ctx);
    /* a negative limit is refused */
    ctx = sl_context_new(1000);
    ASSERT_INT_EQ(sl_context_set_max_batches(ctx, -1), SL_EINVAL);
    ASSERT_STR_EQ(sl_context_errparam(ctx), "batches");
    sl_context_free(ctx);
}

/* ---- the system clock ------------------------------------------------------------- */

typedef struct timed {
    unit_collect c;
    int64_t ran_at[16];
} timed;

static int timed_cb(void *ud, int64_t t, const sl_record *recs, size_t n, sl_error *err) {
    timed *tm = ud;
    if (tm->c.nb < 16)
        tm->ran_at[tm->c.nb] = sl__now_ms();
    return unit_collect_cb(&tm->c, t, recs, n, err);
}

/* With a 100 ms interval: batch times are increasing multiples of 100, no
 * batch runs before its time, and 3 batches take roughly 300 ms. */
static void test_system_clock(void) {
    timed tm;
    memset(&tm, 0, sizeof tm);
    sl_context *ctx = sl_context_new(100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    sl_stream *s = sl_queue_stream(ctx, unit_queue_file("[1]\n[2]\n"));
    CU_ASSERT_EQUAL(sl_foreach_batch(s, timed_cb, &tm), 0);
    ASSERT_INT_EQ(sl_context_set_max_batches(ctx, 3), 0);
    int64_t t0 = mono_ms();
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination(ctx), 0);
    int64_t took = mono_ms() - t0;
    ASSERT_INT_EQ(tm.c.nb, 3);
    for (size_t k = 0; k < tm.c.nb; k++) {
        ASSERT_INT_EQ(tm.c.b[k].t % 100, 0);
        if (k)
            ASSERT_INT_EQ(tm.c.b[k].t - tm.c.b[k - 1].t, 100);
        unit_check(tm.ran_at[k] >= tm.c.b[k].t, __FILE__, __LINE__,
                   "batch %zu (%lld) ran at %lld, not before its time", k, (long long)tm.c.b[k].t,
                   (long long)tm.ran_at[k]);
    }
    unit_check(took >= 180 && took < 2000, __FILE__, __LINE__,
               "3 batches of 100 ms took %lld ms (expected ~300)", (long long)took);
    unit_collect_free(&tm.c);
    sl_context_free(ctx);
}

typedef struct slow {
    unit_collect c;
    int64_t sched_delay[16];
    int n;
} slow;

static int slow_cb(void *ud, int64_t t, const sl_record *recs, size_t n, sl_error *err) {
    sl__sleep_ms(180);
    return unit_collect_cb(&((slow *)ud)->c, t, recs, n, err);
}

static void slow_listener(void *ud, const sl_batch_info *info) {
    slow *s = ud;
    if (s->n < 16)
        s->sched_delay[s->n] = info->scheduling_delay;
    s->n++;
}

/* When batches take longer than the interval, none is skipped: batch times
 * stay consecutive multiples of the interval and the scheduling delay shows
 * the backlog (Spark queues late batches). */
static void test_system_clock_overrun(void) {
    slow sl;
    memset(&sl, 0, sizeof sl);
    sl_context *ctx = sl_context_new(100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    sl_stream *s = sl_queue_stream(ctx, unit_queue_file("[1]\n"));
    CU_ASSERT_EQUAL(sl_foreach_batch(s, slow_cb, &sl), 0);
    ASSERT_INT_EQ(sl_context_set_batch_listener(ctx, slow_listener, &sl), 0);
    ASSERT_INT_EQ(sl_context_set_max_batches(ctx, 4), 0);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination(ctx), 0);
    ASSERT_INT_EQ(sl.c.nb, 4);
    for (size_t k = 1; k < sl.c.nb; k++)
        ASSERT_INT_EQ(sl.c.b[k].t - sl.c.b[k - 1].t, 100);
    ASSERT_INT_EQ(sl.n, 4);
    /* batch 4 was due 300 ms after batch 1 but starts after three 180 ms batches */
    unit_check(sl.n == 4 && sl.sched_delay[3] >= 150, __FILE__, __LINE__,
               "the fourth batch's scheduling delay shows the backlog (got %lld ms)",
               (long long)(sl.n == 4 ? sl.sched_delay[3] : -1));
    unit_collect_free(&sl.c);
    sl_context_free(ctx);
}

typedef struct stopper {
    sl_context *ctx;
    int64_t delay_ms;
    int rc;
    int64_t took_ms;
} stopper;

static void *stop_later(void *arg) {
    stopper *st = arg;
    sl__sleep_ms(st->delay_ms);
    int64_t t0 = mono_ms();
    st->rc = sl_context_stop(st->ctx);
    st->took_ms = mono_ms() - t0;
    return NULL;
}

/* sl_context_stop from another thread returns promptly, even when the next
 * batch is far away. */
static void test_stop_from_thread(void) {
    unit_collect c = {0};
    sl_context *ctx = pipeline(10000, SL_CLOCK_SYSTEM, &c);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    stopper st = {ctx, 100, 99, -1};
    pthread_t th;
    ASSERT_INT_EQ(pthread_create(&th, NULL, stop_later, &st), 0);
    pthread_join(th, NULL);
    ASSERT_INT_EQ(st.rc, 0);
    unit_check(st.took_ms >= 0 && st.took_ms < 1000, __FILE__, __LINE__, "stop took %lld ms",
               (long long)st.took_ms);
    ASSERT_INT_EQ(sl_context_await_termination_or_timeout(ctx, 0), 1);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* The stop-while-awaiting scenario, 50 times, the stop coming 0 to 20 ms
 * after the await began; returns the number of rounds that went wrong.
 * Runs in a child process (see below). */
static int stop_while_awaiting_rounds(void) {
    int bad = 0;
    for (int round = 0; round < 50; round++) {
        unit_collect c = {0};
        sl_context *ctx = pipeline(10000, SL_CLOCK_SYSTEM, &c);
        if (sl_context_start(ctx) != 0) {
            bad++;
            sl_context_free(ctx);
            continue;
        }
        stopper st = {ctx, (round % 3) * 10, 99, -1};
        pthread_t th;
        if (pthread_create(&th, NULL, stop_later, &st) != 0)
            return bad + 1;
        int64_t t0 = mono_ms();
        int rc = sl_context_await_termination(ctx);
        int64_t took = mono_ms() - t0;
        pthread_join(th, NULL);
        bad += rc != 0 || st.rc != 0 || took >= 2000;
        unit_collect_free(&c);
        sl_context_free(ctx);
    }
    return bad;
}

/* A thread blocked in sl_context_await_termination wakes up when another
 * thread calls sl_context_stop (the usual embedding: main awaits, a control
 * thread stops; sluice.h: "sl_context_stop() may be called from any
 * thread"); both return 0 and neither hangs. Run in a child process with a
 * deadline, so that a hang fails the test instead of the whole suite. */
static void test_stop_while_awaiting(void) {
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        _exit(stop_while_awaiting_rounds() == 0 ? 0 : 1);
    int status = 0;
    int64_t deadline = mono_ms() + 10000;
    pid_t got = 0;
    while ((got = waitpid(pid, &status, WNOHANG)) == 0 && mono_ms() < deadline)
        sl__sleep_ms(20);
    if (got == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        CU_FAIL("await + stop from another thread hung (killed after 10 s)");
        return;
    }
    unit_check(WIFEXITED(status) && WEXITSTATUS(status) == 0, __FILE__, __LINE__,
               "await + stop from another thread: child status %d", status);
}

/* request_stop (safe in a signal handler) ends the run; await then returns 1. */
static void test_request_stop(void) {
    unit_collect c = {0};
    sl_context *ctx = pipeline(10000, SL_CLOCK_SYSTEM, &c);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    sl_context_request_stop(ctx);
    int64_t t0 = mono_ms();
    ASSERT_INT_EQ(sl_context_await_termination_or_timeout(ctx, 5000), 1);
    CU_ASSERT(mono_ms() - t0 < 1000);
    ASSERT_INT_EQ(c.nb, 0);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* await_termination_or_timeout returns 0 on timeout (the context keeps
 * running) and 1 once it is done. */
static void test_await_timeout(void) {
    unit_collect c = {0};
    sl_context *ctx = pipeline(10000, SL_CLOCK_SYSTEM, &c);
    ASSERT_INT_EQ(sl_context_await_termination_or_timeout(ctx, 10), SL_ESTATE);
    sl_context_clear_error(ctx);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    int64_t t0 = mono_ms();
    ASSERT_INT_EQ(sl_context_await_termination_or_timeout(ctx, 60), 0);
    int64_t took = mono_ms() - t0;
    unit_check(took >= 50 && took < 1000, __FILE__, __LINE__, "a 60 ms timeout took %lld ms",
               (long long)took);
    ASSERT_INT_EQ(sl_context_await_termination_or_timeout(ctx, 0), 0);
    ASSERT_INT_EQ(sl_context_stop(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination_or_timeout(ctx, 0), 1);
    ASSERT_INT_EQ(sl_context_await_termination(ctx), 0);
    unit_collect_free(&c);
    sl_context_free(ctx);

    /* a run that ends by itself: 1 */
    ctx = pipeline(1000, SL_CLOCK_MANUAL, &c);
    sl_context_set_max_batches(ctx, 2);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination_or_timeout(ctx, 10000), 1);
    ASSERT_INT_EQ(c.nb, 2);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* Freeing a running context stops it first, without waiting for the next
 * batch time. */
static void test_free_running(void) {
    unit_collect c = {0};
    sl_context *ctx = pipeline(10000, SL_CLOCK_SYSTEM, &c);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    int64_t t0 = mono_ms();
    sl_context_free(ctx);
    CU_ASSERT(mono_ms() - t0 < 1000);
    unit_collect_free(&c);
    /* stop and free before start are no-ops */
    ctx = sl_context_new(1000);
    ASSERT_INT_EQ(sl_context_stop(ctx), 0);
    sl_context_free(ctx);
    sl_context_free(NULL);
}

/* ---- states ----------------------------------------------------------------------- */

/* Starting twice is an error. */
static void test_start_twice(void) {
    unit_collect c = {0};
    sl_context *ctx = pipeline(1000, SL_CLOCK_MANUAL, &c);
    sl_context_set_max_batches(ctx, 1);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_start(ctx), SL_ESTATE);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "already started");
    ASSERT_INT_EQ(sl_context_await_termination(ctx), 0);
    ASSERT_INT_EQ(sl_context_start(ctx), SL_ESTATE);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* After start, no stream, output or setting can be added or changed. */
static void test_build_after_start(void) {
    unit_collect c = {0};
    sl_context *ctx = sl_context_new(10000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    sl_stream *s = sl_queue_stream(ctx, unit_queue_file("[1]\n"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(sl_foreach_batch(s, unit_collect_cb, &c), 0);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    CU_ASSERT_PTR_NULL(sl_map(s, "kv.pair", NULL));
    ASSERT_INT_EQ(sl_context_errcode(ctx), SL_ESTATE);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "started");
    sl_context_clear_error(ctx);
    CU_ASSERT_PTR_NULL(sl_count(s));
    ASSERT_INT_EQ(sl_context_errcode(ctx), SL_ESTATE);
    sl_context_clear_error(ctx);
    CU_ASSERT_PTR_NULL(sl_queue_stream(ctx, unit_queue_file("[2]\n")));
    ASSERT_INT_EQ(sl_context_errcode(ctx), SL_ESTATE);
    sl_context_clear_error(ctx);
    CU_ASSERT(sl_foreach_batch(s, unit_collect_cb, &c) < 0);
    ASSERT_INT_EQ(sl_context_errcode(ctx), SL_ESTATE);
    sl_context_clear_error(ctx);
    ASSERT_INT_EQ(sl_context_set_workers(ctx, 1), SL_ESTATE);
    ASSERT_INT_EQ(sl_context_set_max_batches(ctx, 1), SL_ESTATE);
    ASSERT_INT_EQ(sl_context_set_clock(ctx, SL_CLOCK_MANUAL), SL_ESTATE);
    ASSERT_INT_EQ(sl_context_stop(ctx), 0);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* A graph without outputs fails at start with a clear message. */
static void test_no_outputs(void) {
    sl_context *ctx = sl_context_new(1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    CU_ASSERT_PTR_NOT_NULL(sl_map(sl_queue_stream(ctx, unit_queue_file("[1]\n")), "kv.pair", NULL));
    ASSERT_INT_EQ(sl_context_start(ctx), SL_ECONFIG);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "no outputs");
    sl_context_free(ctx);
    /* an empty graph too */
    ctx = sl_context_new(1000);
    ASSERT_INT_EQ(sl_context_start(ctx), SL_ECONFIG);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "no outputs");
    sl_context_free(ctx);
}

/* The threads of this process: the entries of /proc/self/task. */
static int64_t count_threads(void) {
    DIR *d = opendir("/proc/self/task");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    int64_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Every create() runs before the context starts a thread of its own (the
 * workers, receivers, the scheduler): a plugin that forks there forks a
 * process with no other thread of sluice's in it (text.grep does; under
 * ASan, a worker that was starting at the fork left the child blocked on an
 * allocator lock). good.threads keys each value with the threads the
 * process had when it was created. */
static void test_create_before_threads(void) {
    sl_context *ctx = sl_context_new(1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    CU_ASSERT_EQUAL(sl_context_add_plugin_dir(ctx, getenv("SLUICE_TEST_BADPLUGINS")), 0);
    CU_ASSERT_EQUAL(sl_context_set_clock(ctx, SL_CLOCK_MANUAL), 0);
    CU_ASSERT_EQUAL(sl_context_set_workers(ctx, 4), 0);
    sl_context_set_max_batches(ctx, 1);
    unit_collect c = {0};
    sl_stream *s = sl_map(sl_queue_stream(ctx, unit_queue_file("[\"x\"]\n")), "good.threads", NULL);
    unit_check(s != NULL, __FILE__, __LINE__, "good.threads (%s)", sl_context_errmsg(ctx));
    CU_ASSERT_EQUAL(sl_foreach_batch(s, unit_collect_cb, &c), 0);
    char want[64];
    snprintf(want, sizeof want, "(%lld, 'x')", (long long)count_threads());
    CU_ASSERT_EQUAL(sl_context_start(ctx), 0);
    CU_ASSERT_EQUAL(sl_context_await_termination(ctx), 0);
    ASSERT_STR_EQ(unit_batch_text(&c, 0, false), want);
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* Settings are validated: interval, workers, clock, receiver buffer. */
static void test_settings(void) {
    CU_ASSERT_PTR_NULL(sl_context_new(0));
    CU_ASSERT_PTR_NULL(sl_context_new(-5));
    sl_context *ctx = sl_context_new(1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    ASSERT_INT_EQ(sl_context_set_workers(ctx, -1), SL_EINVAL);
    ASSERT_STR_EQ(sl_context_errparam(ctx), "workers");
    sl_context_clear_error(ctx);
    ASSERT_INT_EQ(sl_context_set_workers(ctx, 0), 0);
    ASSERT_INT_EQ(sl_context_set_clock(ctx, (sl_clock_kind)7), SL_EINVAL);
    sl_context_clear_error(ctx);
    ASSERT_INT_EQ(sl_context_set_receiver_buffer(ctx, 100), SL_EINVAL);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "4096");
    sl_context_clear_error(ctx);
    ASSERT_INT_EQ(sl_context_set_receiver_buffer(ctx, 1 << 20), 0);
    ASSERT_INT_EQ(sl_context_errcode(ctx), 0);
    ASSERT_STR_EQ(sl_context_errmsg(ctx), "no error");
    CU_ASSERT_PTR_NULL(sl_context_errparam(ctx));
    sl_context_free(ctx);
}

UNIT_MAIN("scheduler", {"manual clock: first batch after the start time", test_manual_start_time},
          {"manual clock: default start", test_manual_default_start},
          {"start: every create() before the context's threads", test_create_before_threads},
          {"start time: SL_START_NOW, negatives and the system clock refused",
           test_start_time_now_and_refusals},
          {"max_batches", test_max_batches}, {"system clock: 100 ms batches", test_system_clock},
          {"system clock: late batches are not skipped", test_system_clock_overrun},
          {"stop from another thread is prompt", test_stop_from_thread},
          {"stop from a thread while another awaits", test_stop_while_awaiting},
          {"request_stop", test_request_stop}, {"await with timeout: 0 then 1", test_await_timeout},
          {"free a running context", test_free_running},
          {"starting twice is an error", test_start_twice},
          {"building after start is an error", test_build_after_start},
          {"a graph without outputs fails at start", test_no_outputs},
          {"settings are validated", test_settings})

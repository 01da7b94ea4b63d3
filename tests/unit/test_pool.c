/*
 * test_pool.c — core/src/pool.c: the worker pool's "parallel for".
 */
#include "unit.h"

typedef struct job {
    size_t n;
    _Atomic int *runs;    /* per task: how many times it ran */
    _Atomic int *workers; /* per task: the worker id that ran it */
    int nworkers;
    atomic_int bad_worker;
    atomic_int seen[64]; /* tasks run per worker id */
    size_t fail_at;      /* task that fails (SIZE_MAX: none) */
    atomic_size_t ran_after_fail;
    int spin;
} job;

static int count_task(void *arg, size_t task, int worker, sl_error *err) {
    job *j = arg;
    if (worker < 0 || worker >= j->nworkers)
        atomic_fetch_add(&j->bad_worker, 1);
    else if (worker < 64)
        atomic_fetch_add(&j->seen[worker], 1);
    atomic_fetch_add(&j->runs[task], 1);
    atomic_store(&j->workers[task], worker);
    for (volatile int k = 0; k < j->spin; k++) {
    }
    if (task == j->fail_at)
        return sl__error_set(err, SL_EIO, "task %zu failed on purpose", task);
    return 0;
}

static void job_init(job *j, size_t n, int nworkers) {
    memset(j, 0, sizeof *j);
    j->n = n;
    j->nworkers = nworkers;
    j->runs = calloc(n ? n : 1, sizeof *j->runs);
    j->workers = calloc(n ? n : 1, sizeof *j->workers);
    j->fail_at = SIZE_MAX;
}

static void job_free(job *j) {
    free(j->runs);
    free(j->workers);
}

/* Run n tasks on a pool of w workers and check that each ran exactly once on
 * a valid worker. */
static void run_all_once(int w, size_t n, int spin) {
    sl__pool *p = sl__pool_new(w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    ASSERT_INT_EQ(sl__pool_workers(p), w);
    job j;
    job_init(&j, n, w);
    j.spin = spin;
    sl_error err = {0, ""};
    ASSERT_INT_EQ(sl__pool_run(p, n, count_task, &j, &err), 0);
    size_t wrong = 0;
    for (size_t t = 0; t < n; t++)
        wrong += atomic_load(&j.runs[t]) != 1;
    ASSERT_INT_EQ(wrong, 0);
    ASSERT_INT_EQ(atomic_load(&j.bad_worker), 0);
    job_free(&j);
    sl__pool_free(p);
}

/* 1, 2 and 4 workers run every task exactly once, with worker ids in range. */
static void test_every_task_once(void) {
    static const int ws[] = {1, 2, 4};
    static const size_t ns[] = {1, 2, 3, 7, 64, 1000};
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < sizeof ns / sizeof *ns; k++)
            run_all_once(ws[i], ns[k], 100);
}

/* With slow tasks, more than one worker takes part (the pool is parallel). */
static void test_workers_share(void) {
    sl__pool *p = sl__pool_new(4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    job j;
    job_init(&j, 64, 4);
    j.spin = 2000000;
    sl_error err = {0, ""};
    ASSERT_INT_EQ(sl__pool_run(p, 64, count_task, &j, &err), 0);
    int used = 0;
    for (int w = 0; w < 4; w++)
        used += atomic_load(&j.seen[w]) > 0;
    CU_ASSERT(used >= 2);
    /* the caller is worker 0 and takes tasks too */
    CU_ASSERT(atomic_load(&j.seen[0]) > 0);
    job_free(&j);
    sl__pool_free(p);
}

/* A single task runs inline on the caller (worker 0). */
static void test_single_task_inline(void) {
    sl__pool *p = sl__pool_new(4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    job j;
    job_init(&j, 1, 4);
    sl_error err = {0, ""};
    ASSERT_INT_EQ(sl__pool_run(p, 1, count_task, &j, &err), 0);
    ASSERT_INT_EQ(atomic_load(&j.runs[0]), 1);
    ASSERT_INT_EQ(atomic_load(&j.workers[0]), 0);
    job_free(&j);
    sl__pool_free(p);
}

/* n = 0 runs nothing and succeeds. */
static void test_zero_tasks(void) {
    sl__pool *p = sl__pool_new(2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    job j;
    job_init(&j, 0, 2);
    sl_error err = {0, ""};
    ASSERT_INT_EQ(sl__pool_run(p, 0, count_task, &j, &err), 0);
    ASSERT_INT_EQ(atomic_load(&j.seen[0]) + atomic_load(&j.seen[1]), 0);
    job_free(&j);
    sl__pool_free(p);
}

/* The first error stops the hand-out and is returned with its message. */
static void test_first_error(void) {
    /* one worker: tasks run in order, none after the failing one */
    sl__pool *p = sl__pool_new(1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    job j;
    job_init(&j, 100, 1);
    j.fail_at = 10;
    sl_error err = {0, ""};
    ASSERT_INT_EQ(sl__pool_run(p, 100, count_task, &j, &err), SL_EIO);
    ASSERT_STR_EQ(err.msg, "task 10 failed on purpose");
    ASSERT_INT_EQ(err.code, SL_EIO);
    size_t ran = 0;
    for (size_t t = 0; t < 100; t++)
        ran += atomic_load(&j.runs[t]);
    ASSERT_INT_EQ(ran, 11);
    job_free(&j);
    /* the pool works again after a failure */
    job_init(&j, 50, 1);
    memset(&err, 0, sizeof err);
    ASSERT_INT_EQ(sl__pool_run(p, 50, count_task, &j, &err), 0);
    job_free(&j);
    sl__pool_free(p);

    /* four workers: the error comes back; most tasks after it never run */
    p = sl__pool_new(4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    job_init(&j, 10000, 4);
    j.fail_at = 0;
    j.spin = 1000;
    memset(&err, 0, sizeof err);
    ASSERT_INT_EQ(sl__pool_run(p, 10000, count_task, &j, &err), SL_EIO);
    ASSERT_STR_EQ(err.msg, "task 0 failed on purpose");
    ran = 0;
    size_t twice = 0;
    for (size_t t = 0; t < 10000; t++) {
        ran += atomic_load(&j.runs[t]);
        twice += atomic_load(&j.runs[t]) > 1;
    }
    CU_ASSERT(ran < 10000);
    ASSERT_INT_EQ(twice, 0);
    job_free(&j);
    job_init(&j, 100, 4);
    memset(&err, 0, sizeof err);
    ASSERT_INT_EQ(sl__pool_run(p, 100, count_task, &j, &err), 0);
    ASSERT_STR_EQ(err.msg, "");
    job_free(&j);
    sl__pool_free(p);
}

static int silent_fail(void *arg, size_t task, int worker, sl_error *err) {
    (void)arg;
    (void)task;
    (void)worker;
    (void)err;
    return SL_ENOMEM;
}

/* A task that fails without a message gets the code's text. */
static void test_error_without_message(void) {
    sl__pool *p = sl__pool_new(2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    sl_error err = {0, ""};
    ASSERT_INT_EQ(sl__pool_run(p, 5, silent_fail, NULL, &err), SL_ENOMEM);
    ASSERT_STR_EQ(err.msg, sl_strerror(SL_ENOMEM));
    sl__pool_free(p);
}

/* One pool reused for 1000 jobs of varying size runs each task once. */
static void test_reuse(void) {
    sl__pool *p = sl__pool_new(4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    size_t bad_jobs = 0;
    for (int i = 0; i < 1000; i++) {
        size_t n = (size_t)(i % 9);
        job j;
        job_init(&j, n, 4);
        sl_error err = {0, ""};
        int rc = sl__pool_run(p, n, count_task, &j, &err);
        size_t wrong = 0;
        for (size_t t = 0; t < n; t++)
            wrong += atomic_load(&j.runs[t]) != 1;
        bad_jobs += rc != 0 || wrong != 0 || atomic_load(&j.bad_worker) != 0;
        job_free(&j);
    }
    ASSERT_INT_EQ(bad_jobs, 0);
    sl__pool_free(p);
}

/* Creating and freeing many pools (threads start and stop) works, and every
 * worker knows its own id from the start. */
static void test_many_pools(void) {
    size_t bad = 0;
    for (int i = 0; i < 200; i++) {
        sl__pool *p = sl__pool_new(4);
        if (!p) {
            bad++;
            continue;
        }
        job j;
        job_init(&j, 16, 4);
        sl_error err = {0, ""};
        bad += sl__pool_run(p, 16, count_task, &j, &err) != 0;
        bad += atomic_load(&j.bad_worker) != 0;
        for (size_t t = 0; t < 16; t++)
            bad += atomic_load(&j.runs[t]) != 1;
        job_free(&j);
        sl__pool_free(p);
    }
    ASSERT_INT_EQ(bad, 0);
    /* a pool asked for no workers still has the caller */
    sl__pool *p = sl__pool_new(0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    ASSERT_INT_EQ(sl__pool_workers(p), 1);
    sl__pool_free(p);
}

UNIT_MAIN("pool", {"every task exactly once (1, 2, 4 workers)", test_every_task_once},
          {"workers share the tasks", test_workers_share},
          {"a single task runs inline", test_single_task_inline},
          {"zero tasks is a no-op", test_zero_tasks},
          {"the first error stops and is returned", test_first_error},
          {"an error without a message", test_error_without_message},
          {"reuse for 1000 jobs", test_reuse}, {"many pools", test_many_pools})

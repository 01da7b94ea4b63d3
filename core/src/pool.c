/*
 * pool.c — a fixed pool of worker threads that run "parallel for" jobs.
 *
 * The caller of sl__pool_run is worker 0 and takes tasks too, so a pool of
 * N workers has N-1 threads. Tasks are handed out with an atomic counter;
 * the first error stops the hand-out and is returned.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "pool.h"

struct sl__pool {
    int workers;
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t start, finished;
    uint64_t generation; /* bumped per job */
    bool shutdown;
    /* the current job */
    sl__task_fn fn;
    void *arg;
    size_t ntasks;
    atomic_size_t next;
    atomic_bool failed;
    int active; /* threads still inside the job */
    int rc;
    sl_error err;
};

typedef struct worker_arg {
    sl__pool *pool;
    int id;
} worker_arg;

/* Take tasks until none are left or one has failed. */
static void run_tasks(sl__pool *p, int worker) {
    sl_error err;
    for (;;) {
        if (atomic_load(&p->failed))
            return;
        size_t t = atomic_fetch_add(&p->next, 1);
        if (t >= p->ntasks)
            return;
        err.code = 0;
        err.msg[0] = 0;
        int rc = p->fn(p->arg, t, worker, &err);
        if (rc < 0) {
            pthread_mutex_lock(&p->lock);
            if (!p->rc) {
                p->rc = rc;
                p->err = err;
                if (!p->err.msg[0])
                    snprintf(p->err.msg, sizeof p->err.msg, "%s", sl_strerror(rc));
            }
            pthread_mutex_unlock(&p->lock);
            atomic_store(&p->failed, true);
            return;
        }
    }
}

static void *worker_main(void *argp) {
    worker_arg *wa = argp;
    sl__pool *p = wa->pool;
    int id = wa->id;
    free(wa);
    uint64_t seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->shutdown && p->generation == seen)
            pthread_cond_wait(&p->start, &p->lock);
        if (p->shutdown)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);
        run_tasks(p, id);
        pthread_mutex_lock(&p->lock);
        if (--p->active == 0)
            pthread_cond_signal(&p->finished);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

sl__pool *sl__pool_new(int workers) {
    if (workers < 1)
        workers = 1;
    sl__pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->workers = workers;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->finished, NULL);
    p->threads = calloc((size_t)workers, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return NULL;
    }
    for (int i = 1; i < workers; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa) {
            wa->pool = p;
            wa->id = i;
        }
        if (!wa || pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            p->workers = i; /* run with the threads we have */
            break;
        }
    }
    return p;
}

void sl__pool_free(sl__pool *p) {
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->shutdown = true;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i < p->workers; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->finished);
    free(p->threads);
    free(p);
}

int sl__pool_workers(const sl__pool *p) {
    return p->workers;
}

int sl__pool_run(sl__pool *p, size_t n, sl__task_fn fn, void *arg, sl_error *err) {
    if (n == 0)
        return 0;
    p->fn = fn;
    p->arg = arg;
    p->ntasks = n;
    p->rc = 0;
    atomic_store(&p->next, 0);
    atomic_store(&p->failed, false);
    int helpers = p->workers - 1;
    if ((size_t)helpers > n - 1)
        helpers = (int)(n - 1); /* a single task runs inline */
    if (helpers > 0) {
        pthread_mutex_lock(&p->lock);
        p->active = p->workers - 1;
        p->generation++;
        pthread_cond_broadcast(&p->start);
        pthread_mutex_unlock(&p->lock);
    }
    run_tasks(p, 0);
    if (helpers > 0) {
        pthread_mutex_lock(&p->lock);
        while (p->active > 0)
            pthread_cond_wait(&p->finished, &p->lock);
        pthread_mutex_unlock(&p->lock);
    }
    if (p->rc && err)
        *err = p->err;
    return p->rc;
}

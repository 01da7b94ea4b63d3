/*
 * pool.h — a fixed worker pool running "parallel for" jobs (pool.c).
 *
 * Threads: sl__pool_run is called by one thread (the scheduler) at a time.
 */
#ifndef SLUICE_POOL_H
#define SLUICE_POOL_H

#include <stddef.h>

#include <sluice/plugin.h>

typedef struct sl__pool sl__pool;
/* fn(arg, task, worker): worker is in [0, workers); the caller is worker 0. */
typedef int (*sl__task_fn)(void *arg, size_t task, int worker, sl_error *err);

sl__pool *sl__pool_new(int workers);
void sl__pool_free(sl__pool *p);
int sl__pool_workers(const sl__pool *p);
/* Run tasks 0..n-1 on all workers; returns the first error (err filled). */
int sl__pool_run(sl__pool *p, size_t n, sl__task_fn fn, void *arg, sl_error *err);

#endif /* SLUICE_POOL_H */

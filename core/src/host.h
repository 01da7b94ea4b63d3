/*
 * host.h — the sl_host table that plugins call, and instance handles (host.c).
 *
 * Locks: sl_handle.lock guards `counters` (the list; each counter's value is atomic).
 */
#ifndef SLUICE_HOST_H
#define SLUICE_HOST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

struct sl_counter {
    struct sl_counter *next;
    char name[64];
    _Atomic int64_t value;
};

struct sl__receiver;

struct sl_handle {
    sl_context *ctx;
    char *stream; /* stream name (or output label) */
    char *ref;    /* component reference "text.split" */
    struct sl__receiver *recv;
    pthread_mutex_t lock;
    struct sl_counter *counters;
};

extern const sl_host sl__host;
sl_handle *sl__handle_new(sl_context *ctx, const char *stream, const char *ref);
void sl__handle_free(sl_handle *h);
void sl__handle_log_counters(sl_handle *h, int level);

#endif /* SLUICE_HOST_H */

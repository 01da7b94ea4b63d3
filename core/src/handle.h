/*
 * handle.h — the host's handle on one component instance (handle.c): what
 * sl_handle is behind the ABI.
 *
 * Locks: sl_handle.lock guards `counters` (the list; each counter's value is
 * atomic). stream, ref and stop are set at creation and read-only after;
 * recv is set before the receiver's thread starts.
 */
#ifndef SLUICE_HANDLE_H
#define SLUICE_HANDLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <sluice/plugin.h>

struct sl_counter {
    struct sl_counter *next;
    char name[64];
    _Atomic int64_t value;
};

struct sl__receiver;

struct sl_handle {
    const atomic_bool *stop; /* the engine's stop flag (NULL: never stops) */
    char *stream;            /* stream name (or output label) */
    char *ref;               /* component reference "text.split" */
    struct sl__receiver *recv;
    pthread_mutex_t lock;
    struct sl_counter *counters;
    struct sl_stream *owner; /* an OPERATOR's stream: its keyed state (opstate.c) */
};

/* A handle for the instance of `ref` in stream `stream` (copied), which
 * stops when *stop is set; NULL on OOM. */
sl_handle *sl__handle_new(const atomic_bool *stop, const char *stream, const char *ref);
void sl__handle_free(sl_handle *h);
/* Log every non-zero counter of the instance on one line. */
void sl__handle_log_counters(sl_handle *h, int level);

#endif /* SLUICE_HANDLE_H */

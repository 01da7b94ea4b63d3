/*
 * listener.c — listeners (Spark's StreamingListener): the list a context
 * keeps, adding and removing, and delivering events.
 *
 * Delivery holds the list's lock for the whole call, so that callbacks of
 * one context never overlap (the scheduler's and receivers' threads take
 * turns) and sl_context_remove_listener, which takes the same lock, returns
 * only once the callback it removes can no longer run. A callback that
 * called add or remove would deadlock on that lock: a thread-local marker
 * turns that into SL_ESTATE.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/sluice.h>

#include "listener.h"

/* The context whose events this thread is delivering (NULL: none). */
static _Thread_local const sl__listeners *delivering;

void sl__listeners_init(sl__listeners *b, sl_context *ctx) {
    memset(b, 0, sizeof *b);
    atomic_init(&b->mask, 0);
    pthread_mutex_init(&b->lock, NULL);
    b->ctx = ctx;
}

void sl__listeners_free(sl__listeners *b) {
    free(b->v);
    b->v = NULL;
    b->n = b->cap = 0;
    pthread_mutex_destroy(&b->lock);
}

/* Recompute the union of the masks after a change. With the lock. */
static void update_mask(sl__listeners *b) {
    uint32_t m = 0;
    for (size_t i = 0; i < b->n; i++)
        m |= b->v[i].mask;
    atomic_store_explicit(&b->mask, m, memory_order_relaxed);
}

/* Only kinds that exist: a mask of none of them is a mistake (SL_EINVAL). */
#define KNOWN_KINDS                                                                                \
    (SL_EVENT_MASK(SL_EVENT_BATCH_SUBMITTED) | SL_EVENT_MASK(SL_EVENT_BATCH_STARTED) |             \
     SL_EVENT_MASK(SL_EVENT_BATCH_COMPLETED) | SL_EVENT_MASK(SL_EVENT_OUTPUT_STARTED) |            \
     SL_EVENT_MASK(SL_EVENT_OUTPUT_COMPLETED) | SL_EVENT_MASK(SL_EVENT_RECEIVER_STARTED) |         \
     SL_EVENT_MASK(SL_EVENT_RECEIVER_ERROR) | SL_EVENT_MASK(SL_EVENT_RECEIVER_STOPPED) |           \
     SL_EVENT_MASK(SL_EVENT_CHECKPOINT_WRITTEN))

int sl__listeners_add(sl__listeners *b, uint32_t mask, sl_listener_func fn, void *user) {
    if (!fn || !(mask & KNOWN_KINDS))
        return SL_EINVAL;
    if (delivering == b)
        return SL_ESTATE;
    pthread_mutex_lock(&b->lock);
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4;
        sl__listener *v = realloc(b->v, cap * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&b->lock);
            return SL_ENOMEM;
        }
        b->v = v;
        b->cap = cap;
    }
    int id = ++b->next_id;
    b->v[b->n++] = (sl__listener){id, mask & KNOWN_KINDS, fn, user};
    update_mask(b);
    pthread_mutex_unlock(&b->lock);
    return id;
}

int sl__listeners_remove(sl__listeners *b, int id) {
    if (delivering == b)
        return SL_ESTATE;
    pthread_mutex_lock(&b->lock);
    size_t i = 0;
    while (i < b->n && b->v[i].id != id)
        i++;
    int rc = SL_ENOTFOUND;
    if (i < b->n) {
        memmove(&b->v[i], &b->v[i + 1], (b->n - i - 1) * sizeof *b->v);
        b->n--;
        update_mask(b);
        rc = 0;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

void sl__listeners_emit(sl__listeners *b, sl_event *ev) {
    ev->size = sizeof *ev;
    ev->ctx = b->ctx;
    uint32_t bit = SL_EVENT_MASK(ev->kind);
    pthread_mutex_lock(&b->lock);
    const sl__listeners *outer = delivering; /* another context's callback may run this one */
    delivering = b;
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].mask & bit)
            b->v[i].fn(b->v[i].user, ev);
    delivering = outer;
    pthread_mutex_unlock(&b->lock);
}

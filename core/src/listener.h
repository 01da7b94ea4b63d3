/*
 * listener.h — a context's listeners and the delivery of events to them
 * (listener.c); the public side is sluice.h's "listeners" section.
 *
 * Locks: sl__listeners.lock guards the list and is held while an event is
 * delivered, so deliveries never overlap and a removed listener is never
 * called after sl_context_remove_listener returns. `mask` (the union of
 * the listeners' masks) is atomic: a place that would raise an event nobody
 * asked for reads it once and moves on.
 */
#ifndef SLUICE_LISTENER_H
#define SLUICE_LISTENER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/sluice.h>

typedef struct sl__listener {
    int id;
    uint32_t mask;
    sl_listener_func fn;
    void *user;
} sl__listener;

typedef struct sl__listeners {
    _Atomic uint32_t mask; /* every listener's kinds: 0 when there is none */
    pthread_mutex_t lock;
    sl__listener *v;
    size_t n, cap;
    int next_id;
    sl_context *ctx; /* passed in every event */
} sl__listeners;

void sl__listeners_init(sl__listeners *b, sl_context *ctx);
void sl__listeners_free(sl__listeners *b);
/* sl_context_add_listener and sl_context_remove_listener (sluice.h) on the
 * context's list: an id > 0 or SL_E*; 0 or SL_E*. */
int sl__listeners_add(sl__listeners *b, uint32_t mask, sl_listener_func fn, void *user);
int sl__listeners_remove(sl__listeners *b, int id);

/* True when some listener asks for events of `kind`: test it before
 * building an event, so that events cost nothing nobody listens to. */
static inline bool sl__listening(sl__listeners *b, sl_event_kind kind) {
    return (atomic_load_explicit(&b->mask, memory_order_relaxed) & SL_EVENT_MASK(kind)) != 0;
}

/* Deliver ev (kind and payload set; size and ctx are filled here) to every
 * listener that asks for its kind, in the order they were added, on the
 * calling thread, one event at a time per context. */
void sl__listeners_emit(sl__listeners *b, sl_event *ev);

#endif /* SLUICE_LISTENER_H */

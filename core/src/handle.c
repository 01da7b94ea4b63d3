/*
 * handle.c — the host's handle on one component instance: its stream and
 * component names (for logs), its counters, its receiver, and the engine's
 * stop flag.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>

#include "handle.h"
#include "log.h"

sl_handle *sl__handle_new(const atomic_bool *stop, const char *stream, const char *ref) {
    sl_handle *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->stop = stop;
    h->stream = strdup(stream ? stream : "?");
    h->ref = strdup(ref ? ref : "?");
    pthread_mutex_init(&h->lock, NULL);
    if (!h->stream || !h->ref) {
        sl__handle_free(h);
        return NULL;
    }
    return h;
}

void sl__handle_free(sl_handle *h) {
    if (!h)
        return;
    struct sl_counter *c = h->counters;
    while (c) {
        struct sl_counter *next = c->next;
        free(c);
        c = next;
    }
    pthread_mutex_destroy(&h->lock);
    free(h->stream);
    free(h->ref);
    free(h);
}

/* Log every non-zero counter of the instance on one line. */
void sl__handle_log_counters(sl_handle *h, int level) {
    if (!h || !h->counters || level > sl__log_level)
        return;
    char line[1024];
    size_t used = 0;
    line[0] = 0;
    pthread_mutex_lock(&h->lock);
    for (struct sl_counter *c = h->counters; c; c = c->next) {
        long long v = (long long)atomic_load(&c->value);
        used += (size_t)snprintf(line + (used < sizeof line ? used : sizeof line),
                                 used < sizeof line ? sizeof line - used : 0, "%s%s=%lld",
                                 used ? " " : "", c->name, v);
    }
    pthread_mutex_unlock(&h->lock);
    sl__log(level, "%s (%s): %s", h->stream, h->ref, line);
}

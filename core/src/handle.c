/*
 * handle.c — the host's handle on one component instance: its stream and
 * component names (for logs), its counters, its receiver, the engine's
 * stop flag, and a source's connection state (ABI 1.5).
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

#include "handle.h"
#include "log.h"

sl_handle *sl__handle_new(const atomic_bool *stop, const char *stream, const char *ref) {
    sl_handle *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->stop = stop;
    h->abi_minor = SL_ABI_MINOR;
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

static const char *metric_kind_name(int kind) {
    return kind == SL__METRIC_GAUGE ? "gauge" : "counter";
}

struct sl_counter *sl__handle_metric(sl_handle *h, const char *name, int kind) {
    if (!h || !name)
        return NULL;
    pthread_mutex_lock(&h->lock);
    struct sl_counter *c = h->counters, *last = NULL;
    for (; c; last = c, c = c->next)
        if (strcmp(c->name, name) == 0)
            break;
    int clash = c && c->kind != kind;
    if (!c && (c = calloc(1, sizeof *c))) {
        snprintf(c->name, sizeof c->name, "%s", name);
        c->kind = kind;
        if (last)
            last->next = c;
        else
            h->counters = c;
    }
    pthread_mutex_unlock(&h->lock);
    if (clash) {
        sl__log_from(
            SL_LOG_ERROR, h->stream, h->ref,
            "%s '%s' refused: this instance registered '%s' as a %s", metric_kind_name(kind), name,
            name,
            metric_kind_name(kind == SL__METRIC_GAUGE ? SL__METRIC_COUNTER : SL__METRIC_GAUGE));
        return NULL;
    }
    return c;
}

int sl__handle_metric_is_gauge(const sl_handle *h, const struct sl_counter *m) {
    if (m->kind == SL__METRIC_GAUGE)
        return 1;
    if (!h || h->abi_minor >= 6)
        return 0;
    size_t k = strlen(m->name);
    return strcmp(m->name, "lag") == 0 || (k > 4 && strcmp(m->name + k - 4, "_lag") == 0);
}

/* Log every counter and gauge of the instance on one line. */
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
    sl__log_from(level, h->stream, h->ref, "%s", line);
}

void sl__handle_set_source_state(sl_handle *h, int state, const char *detail) {
    if (!h || state < SL_SOURCE_CONNECTING || state > SL_SOURCE_ASSIGNED)
        return;
    pthread_mutex_lock(&h->lock);
    snprintf(h->source_detail, sizeof h->source_detail, "%s", detail ? detail : "");
    atomic_store(&h->source_state, state);
    if (state == SL_SOURCE_CONNECTED || state == SL_SOURCE_ASSIGNED)
        atomic_store(&h->source_ready, true);
    pthread_mutex_unlock(&h->lock);
    if (sl__log_level >= SL_LOG_DEBUG)
        sl__log_from(SL_LOG_DEBUG, h->stream, h->ref, "source state: %s%s%s",
                     sl__source_state_name(state), detail && *detail ? ": " : "",
                     detail ? detail : "");
}

int sl__handle_source_state(sl_handle *h, char *detail, size_t cap) {
    if (!h) {
        if (detail && cap)
            detail[0] = 0;
        return 0;
    }
    pthread_mutex_lock(&h->lock);
    int state = atomic_load(&h->source_state);
    if (detail && cap)
        snprintf(detail, cap, "%s", h->source_detail);
    pthread_mutex_unlock(&h->lock);
    return state;
}

int sl__handle_source_ready(sl_handle *h) {
    return !h || atomic_load(&h->source_state) == 0 || atomic_load(&h->source_ready);
}

/* "connecting", "connected", "disconnected", "assigned"; "starting" for 0. */
const char *sl__source_state_name(int state) {
    static const char *const names[] = {"starting", "connecting", "connected", "disconnected",
                                        "assigned"};
    return state >= 0 && state <= SL_SOURCE_ASSIGNED ? names[state] : "unknown";
}

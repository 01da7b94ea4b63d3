/*
 * handle.h — the host's handle on one component instance (handle.c): what
 * sl_handle is behind the ABI.
 *
 * Locks: sl_handle.lock guards `counters` (the list of counters and gauges;
 * each one's value is atomic) and `source_detail`; source_state and source_ready are atomic.
 * stream, ref and stop are set at creation and read-only after; recv is set
 * before the receiver's thread starts.
 */
#ifndef SLUICE_HANDLE_H
#define SLUICE_HANDLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>

/* A plugin's metric: a counter (counter_add) or, from ABI 1.6, a gauge
 * (gauge_set). Both kinds share one list per handle, so a name is one
 * metric of one kind; sl_gauge is this struct with kind SL__METRIC_GAUGE. */
enum { SL__METRIC_COUNTER = 0, SL__METRIC_GAUGE = 1 };

struct sl_counter {
    struct sl_counter *next;
    char name[64];
    int kind; /* SL__METRIC_*, set at registration */
    _Atomic int64_t value;
};

struct sl_gauge {
    struct sl_counter m;
};

struct sl__receiver;

struct sl_handle {
    const atomic_bool *stop; /* the engine's stop flag (NULL: never stops) */
    char *stream;            /* stream name (or output label) */
    char *ref;               /* component reference "text.split" */
    struct sl__receiver *recv;
    pthread_mutex_t lock;
    struct sl_counter *counters;
    int abi_minor;            /* the plugin's SL_ABI_MINOR (SL_ABI_MINOR if not a plugin) */
    struct sl_stream *owner;  /* an OPERATOR's stream: its keyed state (opstate.c) */
    _Atomic int source_state; /* a source's last SL_SOURCE_* (0: never reported) */
    atomic_bool source_ready; /* it reached CONNECTED or ASSIGNED at least once */
    char source_detail[256];  /* what came with source_state (under lock) */
};

/* A handle for the instance of `ref` in stream `stream` (copied), which
 * stops when *stop is set; NULL on OOM. */
sl_handle *sl__handle_new(const atomic_bool *stop, const char *stream, const char *ref);
void sl__handle_free(sl_handle *h);
/* Log every counter and gauge of the instance on one line. */
void sl__handle_log_counters(sl_handle *h, int level);
/* Register (or find) the metric `name` of `kind` (host->counter and
 * host->gauge); NULL, with an error logged, if the instance registered the
 * name as the other kind; NULL on OOM. */
struct sl_counter *sl__handle_metric(sl_handle *h, const char *name, int kind);
/* Whether metric m is shown as a gauge: a gauge, or a counter named "lag" or
 * "*_lag" of a plugin built against ABI < 1.6 (deprecated stand-in). */
int sl__handle_metric_is_gauge(const sl_handle *h, const struct sl_counter *m);
/* host->source_state (ABI 1.5): keep a source's state and a copy of
 * `detail` (NULL: none; cut to 255 bytes). A state outside sl_source_state
 * is ignored. Any thread. */
void sl__handle_set_source_state(sl_handle *h, int state, const char *detail);
/* The last SL_SOURCE_* a source reported (0 if it never reported one), its
 * detail copied into detail[cap] (NUL-terminated, "" if none) when detail
 * is not NULL. Any thread. */
int sl__handle_source_state(sl_handle *h, char *detail, size_t cap);
/* Nonzero once the source has been CONNECTED or ASSIGNED, or if it never
 * reported a state (such a source counts as ready once started). */
int sl__handle_source_ready(sl_handle *h);
/* A state's name for people and JSON: "connecting", "connected",
 * "disconnected", "assigned"; "starting" for 0 (none reported yet). Static. */
const char *sl__source_state_name(int state);

#endif /* SLUICE_HANDLE_H */

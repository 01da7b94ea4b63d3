/*
 * http.h — the HTTP server of a running context (http.c): /metrics
 * (metrics.c), /health, /ready, the JSON API and the page, on libmicrohttpd's
 * own thread, from monitor snapshots (monitor.h). docs/operations.md is the
 * reference of what it serves.
 *
 * Threads: sl__http_start and sl__http_stop run on the thread that starts
 * and frees the context; requests are answered on the server's thread,
 * which touches nothing of the engine but the monitor's snapshots and the
 * read-only graph.
 */
#ifndef SLUICE_HTTP_H
#define SLUICE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/sluice.h>

#include "codec.h"
#include "monitor.h"

typedef struct sl__http sl__http;

/* Check an address ("127.0.0.1:4195", "[::1]:4195", "localhost:0"):
 * 0, or SL_EINVAL with a message in err. */
int sl__http_check_address(const char *address, sl_error *err);
/* Serve ctx's figures from monitor m on `address`: the server, or NULL
 * with err filled (the address is taken, cannot be resolved, ...). */
sl__http *sl__http_start(sl_context *ctx, sl__mon *m, const char *address, sl_error *err);
/* The port it listens on (useful when the address asked for port 0). */
int sl__http_port(const sl__http *h);
/* Stop answering (requests in flight finish) and free it. */
void sl__http_stop(sl__http *h);

/* The Prometheus text exposition of ctx's figures (metrics.c): 0 or SL_ENOMEM. */
int sl__metrics_render(sl_context *ctx, const sl__mon_snap *s, sl__buf *out);

/* One plugin counter or gauge (ABI 1.6; a pre-1.6 "lag"/"*_lag" counter
 * reads as a gauge), as /metrics and /api/v1/status show it. */
typedef struct sl__plugin_metric {
    char name[64];   /* as the plugin registered it (cut to 63 bytes) */
    char metric[96]; /* sluice_plugin_<name>_total, or sluice_plugin_<name> for a gauge */
    bool gauge;
    const char *stream, *plugin; /* the handle's stream and component reference ("" if none) */
    int64_t value;
} sl__plugin_metric;

/* Every plugin metric of ctx's streams, filters and outputs, read now (the
 * values are atomics), sorted by metric name then stream (/metrics' order),
 * or with by_stream by stream, plugin and name (the JSON API's): 0 with
 * *rows (free it) and *n, or SL_ENOMEM. */
int sl__plugin_metrics(sl_context *ctx, bool by_stream, sl__plugin_metric **rows, size_t *n);

/* The process's resident memory, CPU time (user + system) and start time
 * (ms since the epoch), from /proc and getrusage; 0 where unknown. */
void sl__proc_figures(int64_t *rss_bytes, double *cpu_seconds, int64_t *start_ms);

/* JSON text helpers shared by http.c and metrics.c: a string, escaped and
 * quoted (NULL: null). */
int sl__json_put_string(sl__buf *b, const char *s);

#endif /* SLUICE_HTTP_H */

/*
 * http.c — the HTTP server (http.h): routes, /health, /ready and the JSON
 * API, on libmicrohttpd with its own polling thread.
 *
 * Every request takes a monitor snapshot (a copy made under the monitor's
 * lock) and formats it outside any engine lock: a slow or hostile client
 * costs the server's thread, never a batch. Only GET and HEAD are served;
 * connections are limited and time out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "context.h"
#include "dtoa.h"
#include "error.h"
#include "handle.h"
#include "http.h"
#include "log.h"
#include "monitor.h"
#include "ops/op.h"
#include "web/web.h"

#define HTTP_CONNECTIONS 64      /* at once; more wait in the kernel's backlog */
#define HTTP_TIMEOUT_S 10        /* an idle connection is closed after this */
#define HTTP_DEFAULT_BATCHES 100 /* /api/v1/batches without n */

struct sl__http {
    struct MHD_Daemon *d;
    sl_context *ctx;
    sl__mon *mon;
    int port;
    char addr[300];    /* as asked */
    char lasterr[256]; /* libmicrohttpd's last message, for a failed start */
};

/* ---- addresses ----------------------------------------------------------------- */

/* Split "host:port" or "[v6]:port" into host and port (both copied). */
static int split_address(const char *a, char *host, size_t hcap, char *port, size_t pcap,
                         sl_error *err) {
    const char *colon, *h = a, *hend;
    if (a[0] == '[') {
        hend = strchr(a, ']');
        if (!hend || hend[1] != ':')
            return sl__error_set(err, SL_EINVAL, "http: expected [IPv6]:PORT, got '%s'", a);
        h = a + 1;
        colon = hend + 1;
    } else {
        colon = strrchr(a, ':');
        if (!colon || colon == a || strchr(a, ':') != colon)
            return sl__error_set(err, SL_EINVAL,
                                 "http: expected HOST:PORT like 127.0.0.1:4195, got '%s'", a);
        hend = colon;
    }
    const char *p = colon + 1;
    char *end;
    errno = 0;
    long n = strtol(p, &end, 10);
    if (!*p || *end || errno || n < 0 || n > 65535)
        return sl__error_set(err, SL_EINVAL, "http: the port must be 0..65535, got '%s' in '%s'", p,
                             a);
    if ((size_t)(hend - h) >= hcap)
        return sl__error_set(err, SL_EINVAL, "http: the host is too long in '%s'", a);
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = 0;
    snprintf(port, pcap, "%ld", n);
    return 0;
}

/* Resolve the address into *ss (the first result). */
static int resolve(const char *a, struct sockaddr_storage *ss, socklen_t *len, sl_error *err) {
    char host[256], port[8];
    int rc = split_address(a, host, sizeof host, port, sizeof port, err);
    if (rc)
        return rc;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g || !res)
        return sl__error_set(err, SL_EINVAL, "http: cannot resolve '%s': %s", host,
                             g ? gai_strerror(g) : "no address");
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int sl__http_check_address(const char *address, sl_error *err) {
    char host[256], port[8];
    if (!address || !*address)
        return sl__error_set(err, SL_EINVAL, "http: expected HOST:PORT like 127.0.0.1:4195");
    return split_address(address, host, sizeof host, port, sizeof port, err);
}

static bool is_loopback(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return false;
}

/* ---- JSON ---------------------------------------------------------------------- */

int sl__json_put_string(sl__buf *b, const char *s) {
    if (!s)
        return sl__buf_put(b, "null", 4);
    int rc = sl__buf_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
        if (*p == '"' || *p == '\\')
            rc = sl__buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            rc = sl__buf_put(b, "\\n", 2);
        else if (*p < 0x20 || *p == 0x7f)
            rc = sl__buf_printf(b, "\\u%04x", *p);
        else
            rc = sl__buf_put(b, p, 1);
    }
    return rc ? rc : sl__buf_put(b, "\"", 1);
}

/* A field name and separator: "name": */
static void key(sl__buf *b, bool *first, const char *name) {
    if (!*first)
        sl__buf_put(b, ",", 1);
    *first = false;
    sl__buf_printf(b, "\"%s\":", name);
}

static void kint(sl__buf *b, bool *first, const char *name, int64_t v) {
    key(b, first, name);
    sl__buf_printf(b, "%lld", (long long)v);
}

/* An integer that may be unknown (< 0: null). */
static void kint_or_null(sl__buf *b, bool *first, const char *name, int64_t v) {
    key(b, first, name);
    if (v < 0)
        sl__buf_put(b, "null", 4);
    else
        sl__buf_printf(b, "%lld", (long long)v);
}

static void knum(sl__buf *b, bool *first, const char *name, double v) {
    key(b, first, name);
    if (v < 0)
        sl__buf_put(b, "null", 4);
    else {
        char t[48];
        int n = sl__snprintf_c(t, sizeof t, "%.3f", v); /* JSON: "0.5" in any locale */
        sl__buf_put(b, t, n > 0 && (size_t)n < sizeof t ? (size_t)n : 0);
    }
}

static void kstr(sl__buf *b, bool *first, const char *name, const char *v) {
    key(b, first, name);
    sl__json_put_string(b, v);
}

static void kbool(sl__buf *b, bool *first, const char *name, bool v) {
    key(b, first, name);
    sl__buf_printf(b, "%s", v ? "true" : "false");
}

static void batch_json(sl__buf *b, const sl__mon_snap *s, size_t i) {
    const sl__mon_batch *r = &s->batch[i];
    bool f = true;
    sl__buf_put(b, "{", 1);
    kint(b, &f, "batch_time", r->batch_time);
    kstr(b, &f, "status", r->failed ? "failed" : "completed");
    kint(b, &f, "records", r->records);
    kint(b, &f, "bytes", r->bytes);
    kint(b, &f, "submission_time", r->submission_time);
    kint(b, &f, "processing_start", r->processing_start);
    kint_or_null(b, &f, "processing_end", r->processing_end);
    kint(b, &f, "scheduling_delay_ms", r->scheduling_delay);
    kint_or_null(b, &f, "processing_time_ms", r->processing_time);
    kint_or_null(b, &f, "total_delay_ms", r->total_delay);
    kstr(b, &f, "error", r->failed ? r->error : NULL);
    key(b, &f, "sources");
    sl__buf_put(b, "[", 1);
    for (size_t j = 0; j < s->nsrc; j++) {
        const sl__mon_io *io = &s->bsrc[i * s->nsrc + j];
        bool g = true;
        sl__buf_printf(b, "%s{", j ? "," : "");
        kstr(b, &g, "stream", s->src[j].stream);
        kint(b, &g, "records", io->records);
        kint(b, &g, "bytes", io->bytes);
        sl__buf_put(b, "}", 1);
    }
    sl__buf_put(b, "],", 2);
    f = true;
    key(b, &f, "outputs");
    sl__buf_put(b, "[", 1);
    for (size_t j = 0; j < s->nout; j++) {
        const sl__mon_io *io = &s->bout[i * s->nout + j];
        bool g = true;
        sl__buf_printf(b, "%s{", j ? "," : "");
        kstr(b, &g, "name", s->out[j].name);
        kstr(b, &g, "stream", s->out[j].stream);
        kint_or_null(b, &g, "records", io->records);
        kint_or_null(b, &g, "duration_us", io->duration_us);
        kstr(b, &g, "error", io->failed ? "failed" : NULL);
        sl__buf_put(b, "}", 1);
    }
    sl__buf_put(b, "]}", 2);
}

/* The plugins' counters and gauges, read now: a list of {stream, plugin,
 * name, type, metric, value} by stream, plugin and name. 0, or SL_ENOMEM. */
static int plugin_metrics_json(sl__buf *b, sl_context *ctx) {
    sl__plugin_metric *rows;
    size_t n;
    if (sl__plugin_metrics(ctx, true, &rows, &n) < 0)
        return SL_ENOMEM;
    sl__buf_put(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        bool g = true;
        sl__buf_printf(b, "%s{", i ? "," : "");
        kstr(b, &g, "stream", rows[i].stream);
        kstr(b, &g, "plugin", rows[i].plugin);
        kstr(b, &g, "name", rows[i].name);
        kstr(b, &g, "type", rows[i].gauge ? "gauge" : "counter");
        kstr(b, &g, "metric", rows[i].metric);
        kint(b, &g, "value", rows[i].value);
        sl__buf_put(b, "}", 1);
    }
    sl__buf_put(b, "]", 1);
    free(rows);
    return 0;
}

static int status_json(sl__buf *b, const sl__mon_snap *s, sl_context *ctx) {
    bool f = true;
    int64_t rss = 0, start_ms = 0;
    double cpu = 0;
    sl__proc_figures(&rss, &cpu, &start_ms);
    sl__buf_put(b, "{", 1);
    kstr(b, &f, "version", SLUICE_VERSION);
    kint(b, &f, "pid", (int64_t)getpid());
    kint(b, &f, "start_time", s->start_time);
    kint(b, &f, "now", s->now);
    kstr(b, &f, "state", sl__mon_run_name(s->run));
    kstr(b, &f, "error", s->run == SL__RUN_FAILED ? s->error : NULL);
    kint(b, &f, "batch_interval_ms", s->interval);
    kint(b, &f, "batches_completed", s->completed);
    kint(b, &f, "batches_failed", s->failed);
    kint(b, &f, "batches_waiting", s->waiting);
    knum(b, &f, "input_rate", s->input_rate);
    knum(b, &f, "avg_scheduling_delay_ms", s->avg_sched);
    knum(b, &f, "avg_processing_time_ms", s->avg_proc);
    knum(b, &f, "avg_total_delay_ms", s->avg_total);
    key(b, &f, "last_batch");
    if (s->nbatch)
        batch_json(b, s, s->nbatch - 1);
    else
        sl__buf_put(b, "null", 4);
    key(b, &f, "sources");
    sl__buf_put(b, "[", 1);
    for (size_t j = 0; j < s->nsrc; j++) {
        const sl__mon_src *src = &s->src[j];
        bool g = true;
        sl__buf_printf(b, "%s{", j ? "," : "");
        kstr(b, &g, "stream", src->stream);
        kstr(b, &g, "source", src->component);
        kbool(b, &g, "receiver", src->receiver);
        kstr(b, &g, "state", sl__mon_src_state(src));
        kstr(b, &g, "detail", src->detail[0] ? src->detail : NULL);
        kint(b, &g, "records_total", src->records_total);
        kint(b, &g, "bytes_total", src->bytes_total);
        knum(b, &g, "rate", s->src_rate[j]);
        kint_or_null(b, &g, "buffer_records", src->receiver ? src->buf_records : -1);
        kint_or_null(b, &g, "buffer_bytes", src->receiver ? src->buf_bytes : -1);
        kint_or_null(b, &g, "buffer_limit_bytes", src->receiver ? src->buf_limit : -1);
        kint(b, &g, "errors_total", src->errors_total);
        kstr(b, &g, "last_error", src->last_error[0] ? src->last_error : NULL);
        sl__buf_put(b, "}", 1);
    }
    sl__buf_put(b, "]", 1);
    key(b, &f, "outputs");
    sl__buf_put(b, "[", 1);
    for (size_t j = 0; j < s->nout; j++) {
        const sl__mon_out *o = &s->out[j];
        bool g = true;
        sl__buf_printf(b, "%s{", j ? "," : "");
        kstr(b, &g, "name", o->name);
        kstr(b, &g, "stream", o->stream);
        kstr(b, &g, "sink", o->sink);
        kint(b, &g, "records_total", o->records_total);
        kint(b, &g, "runs_total", o->runs_total);
        kint_or_null(b, &g, "last_duration_us", o->runs_total ? o->last_duration_us : -1);
        kint(b, &g, "failures_total", o->failures_total);
        sl__buf_put(b, "}", 1);
    }
    sl__buf_put(b, "]", 1);
    key(b, &f, "stateful");
    sl__buf_put(b, "[", 1);
    for (size_t j = 0; j < s->nstate; j++) {
        bool g = true;
        sl__buf_printf(b, "%s{", j ? "," : "");
        kstr(b, &g, "stream", s->state[j].stream);
        kint(b, &g, "keys", s->state[j].keys);
        kint_or_null(b, &g, "bytes", s->state[j].bytes);
        sl__buf_put(b, "}", 1);
    }
    sl__buf_put(b, "]", 1);
    key(b, &f, "checkpoint");
    const sl__mon_ckpt *k = &s->ckpt;
    bool g = true;
    sl__buf_put(b, "{", 1);
    kbool(b, &g, "enabled", s->ckpt_dir != NULL);
    kstr(b, &g, "dir", s->ckpt_dir);
    kint(b, &g, "written_total", k->written_total);
    kint(b, &g, "failures_total", k->failures_total);
    kint_or_null(b, &g, "last_batch_time", k->written_total ? k->last_batch_time : -1);
    kint_or_null(b, &g, "last_written", k->written_total ? k->last_written : -1);
    kint_or_null(b, &g, "last_bytes", k->written_total ? k->last_bytes : -1);
    kint_or_null(b, &g, "last_duration_us", k->written_total ? k->last_duration_us : -1);
    kstr(b, &g, "last_error", k->last_error[0] ? k->last_error : NULL);
    sl__buf_put(b, "}", 1);
    key(b, &f, "process");
    g = true;
    sl__buf_put(b, "{", 1);
    kint(b, &g, "rss_bytes", rss);
    knum(b, &g, "cpu_seconds", cpu);
    kint(b, &g, "start_time", start_ms);
    sl__buf_put(b, "}", 1);
    key(b, &f, "plugin_metrics");
    if (plugin_metrics_json(b, ctx) < 0)
        return SL_ENOMEM;
    sl__buf_put(b, "}", 1);
    return 0;
}

static void graph_json(sl__buf *b, sl_context *ctx) {
    sl__buf_put(b, "{\"streams\":[", 12);
    for (size_t i = 0; i < ctx->nstreams; i++) {
        const sl_stream *st = ctx->streams[i];
        bool f = true;
        sl__buf_printf(b, "%s{", i ? "," : "");
        kint(b, &f, "id", st->id);
        kstr(b, &f, "name", st->name);
        kstr(b, &f, "op", st->cls->name);
        kstr(b, &f, "component", st->fn.handle ? st->fn.handle->ref : NULL);
        key(b, &f, "inputs");
        sl__buf_put(b, "[", 1);
        for (int k = 0; k < st->nin; k++)
            sl__buf_printf(b, "%s%d", k ? "," : "", st->in[k]->id);
        sl__buf_put(b, "]", 1);
        kbool(b, &f, "stateful", sl__stream_is(st, SL__OPF_STATEFUL));
        kint_or_null(b, &f, "window_ms", st->window > 0 ? st->window : -1);
        kint_or_null(b, &f, "slide_ms", st->window > 0 ? st->slide : -1);
        sl__buf_put(b, "}", 1);
    }
    sl__buf_put(b, "],\"outputs\":[", 13);
    for (size_t i = 0; i < ctx->noutputs; i++) {
        const sl__output *o = &ctx->outputs[i];
        bool f = true;
        sl__buf_printf(b, "%s{", i ? "," : "");
        kstr(b, &f, "name", o->label);
        kstr(b, &f, "stream", o->from->name);
        kstr(b, &f, "sink", o->fn.handle ? o->fn.handle->ref : NULL);
        sl__buf_put(b, "}", 1);
    }
    sl__buf_put(b, "]}", 2);
}

/* /ready's reasons: every source that is not connected, a failed last
 * batch, a run that is not running. */
static bool ready_json(sl__buf *b, const sl__mon_snap *s) {
    sl__buf reasons = {0};
    size_t n = 0;
    if (s->run != SL__RUN_RUNNING) {
        sl__buf_printf(&reasons, "%s", n++ ? "," : "");
        char why[SL__MON_ERRLEN + 32];
        snprintf(why, sizeof why, "the run is %s%s%s", sl__mon_run_name(s->run),
                 s->error[0] ? ": " : "", s->error);
        sl__json_put_string(&reasons, why);
    }
    for (size_t j = 0; j < s->nsrc; j++) {
        const sl__mon_src *src = &s->src[j];
        if (sl__mon_src_ready(src))
            continue;
        char why[3 * SL__MON_ERRLEN];
        const char *detail = src->detail[0] ? src->detail : src->last_error;
        snprintf(why, sizeof why, "source '%s' (%s): %s%s%s", src->stream,
                 src->component ? src->component : "?", sl__mon_src_state(src),
                 detail[0] ? ": " : "", detail);
        sl__buf_printf(&reasons, "%s", n++ ? "," : "");
        sl__json_put_string(&reasons, why);
    }
    if (s->nbatch && s->batch[s->nbatch - 1].failed) {
        char why[SL__MON_ERRLEN + 32];
        snprintf(why, sizeof why, "the last batch failed: %s", s->batch[s->nbatch - 1].error);
        sl__buf_printf(&reasons, "%s", n++ ? "," : "");
        sl__json_put_string(&reasons, why);
    }
    if (!n)
        sl__buf_printf(b, "{\"ready\":true}");
    else {
        sl__buf_printf(b, "{\"ready\":false,\"reasons\":[");
        sl__buf_put(b, reasons.data, reasons.len);
        sl__buf_put(b, "]}", 2);
    }
    sl__buf_free(&reasons);
    return n == 0;
}

/* ---- requests ------------------------------------------------------------------ */

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned code, const char *type,
                                sl__buf *body) {
    if (sl__buf_put(body, "\n", 1)) { /* out of memory: say so, without allocating */
        sl__buf_free(body);
        static const char oom[] = "{\"error\":\"out of memory\"}\n";
        struct MHD_Response *r =
            MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, r);
        MHD_destroy_response(r);
        return ok;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(body->len, body->data, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        sl__buf_free(body);
        return MHD_NO;
    }
    body->data = NULL; /* the response owns it */
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ok = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ok;
}

static const char JSON[] = "application/json";

/* n= of /api/v1/batches: 1..SL__MON_KEEP, default HTTP_DEFAULT_BATCHES;
 * 0 for a bad value. */
static size_t batches_arg(struct MHD_Connection *c) {
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "n");
    if (!v)
        return HTTP_DEFAULT_BATCHES;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < 1)
        return 0;
    return n > SL__MON_KEEP ? SL__MON_KEEP : (size_t)n;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req) {
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)req;
    sl__http *h = cls;
    sl__buf b = {0};
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        sl__buf_printf(&b, "{\"error\":\"method %s not allowed: GET or HEAD\"}", method);
        return send_buf(c, MHD_HTTP_METHOD_NOT_ALLOWED, JSON, &b);
    }
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) {
        struct MHD_Response *r = MHD_create_response_from_buffer(
            sl__web_index_html_len, (void *)sl__web_index_html, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
        enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ok;
    }
    size_t nbatch = 1;
    bool batches = strcmp(url, "/api/v1/batches") == 0;
    bool status = strcmp(url, "/api/v1/status") == 0;
    if (batches && !(nbatch = batches_arg(c))) {
        sl__buf_printf(&b, "{\"error\":\"n: expected a count of batches, 1..%d\"}", SL__MON_KEEP);
        return send_buf(c, MHD_HTTP_BAD_REQUEST, JSON, &b);
    }
    if (strcmp(url, "/api/v1/graph") == 0) {
        graph_json(&b, h->ctx);
        return send_buf(c, MHD_HTTP_OK, JSON, &b);
    }
    bool metrics = strcmp(url, "/metrics") == 0;
    bool health = strcmp(url, "/health") == 0, ready = strcmp(url, "/ready") == 0;
    if (!metrics && !health && !ready && !batches && !status) {
        sl__buf_printf(&b, "{\"error\":\"not found\",\"endpoints\":[\"/\",\"/metrics\","
                           "\"/health\",\"/ready\",\"/api/v1/status\",\"/api/v1/batches?n=N\","
                           "\"/api/v1/graph\"]}");
        return send_buf(c, MHD_HTTP_NOT_FOUND, JSON, &b);
    }
    sl__mon_snap s;
    if (sl__mon_snapshot(h->mon, status ? 1 : nbatch, &s)) {
        sl__buf_printf(&b, "{\"error\":\"out of memory\"}");
        return send_buf(c, MHD_HTTP_SERVICE_UNAVAILABLE, JSON, &b);
    }
    unsigned code = MHD_HTTP_OK;
    const char *type = JSON;
    if (metrics) {
        type = "text/plain; version=0.0.4; charset=utf-8";
        if (sl__metrics_render(h->ctx, &s, &b) < 0) { /* not half an exposition */
            b.len = 0;
            sl__buf_printf(&b, "{\"error\":\"out of memory\"}");
            code = MHD_HTTP_SERVICE_UNAVAILABLE;
            type = JSON;
        }
    } else if (health) {
        bool alive = s.run == SL__RUN_RUNNING || s.run == SL__RUN_STOPPING;
        bool f = true;
        sl__buf_put(&b, "{", 1);
        kstr(&b, &f, "status", alive ? "ok" : sl__mon_run_name(s.run));
        if (s.run == SL__RUN_FAILED)
            kstr(&b, &f, "error", s.error);
        sl__buf_put(&b, "}", 1);
        code = alive ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
    } else if (ready) {
        code = ready_json(&b, &s) ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
    } else if (batches) {
        sl__buf_put(&b, "{\"batches\":[", 12);
        for (size_t i = 0; i < s.nbatch; i++) {
            if (i)
                sl__buf_put(&b, ",", 1);
            batch_json(&b, &s, i);
        }
        sl__buf_put(&b, "]}", 2);
    } else if (status_json(&b, &s, h->ctx) < 0) {
        b.len = 0;
        sl__buf_printf(&b, "{\"error\":\"out of memory\"}");
        code = MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    sl__mon_snap_free(&s);
    return send_buf(c, code, type, &b);
}

/* ---- the public calls (sluice.h) -------------------------------------------------- */

int sl_context_serve_http(sl_context *ctx, const char *address) {
    if (!ctx)
        return SL_EINVAL;
    if (ctx->state != SL__NEW) {
        sl__ctx_fail(ctx, SL_ESTATE, "http", "http: set it before the context starts");
        return SL_ESTATE;
    }
    sl_error err = {0, ""};
    if (sl__http_check_address(address, &err)) {
        sl__ctx_fail(ctx, err.code, "http", "%s", err.msg);
        return err.code;
    }
    char *copy = strdup(address);
    if (!copy) {
        sl__ctx_fail(ctx, SL_ENOMEM, NULL, "out of memory");
        return SL_ENOMEM;
    }
    free(ctx->http_addr);
    ctx->http_addr = copy;
    return 0;
}

const char *sl_context_http_address(const sl_context *ctx) {
    return ctx ? ctx->http_addr : NULL;
}

int sl_context_http_port(const sl_context *ctx) {
    return ctx ? sl__http_port(ctx->http) : 0;
}

/* ---- the server ------------------------------------------------------------------ */

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    sl__http *h = cls;
    vsnprintf(h->lasterr, sizeof h->lasterr, fmt, ap);
    size_t n = strlen(h->lasterr);
    while (n && (h->lasterr[n - 1] == '\n' || h->lasterr[n - 1] == '.'))
        h->lasterr[--n] = 0;
    if (h->d) /* after the start: worth a line; a failed start is reported whole */
        sl__log(SL_LOG_WARN, "http: %s", h->lasterr);
}

sl__http *sl__http_start(sl_context *ctx, sl__mon *m, const char *address, sl_error *err) {
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (resolve(address, &ss, &len, err))
        return NULL;
    sl__http *h = calloc(1, sizeof *h);
    if (!h) {
        sl__error_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    h->ctx = ctx;
    h->mon = m;
    snprintf(h->addr, sizeof h->addr, "%s", address);
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, answer, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)HTTP_TIMEOUT_S, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_END);
    if (!h->d) {
        sl__error_set(err, SL_EIO, "http: cannot listen on %s: %s", address,
                      h->lasterr[0] ? h->lasterr : strerror(errno ? errno : EADDRINUSE));
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? (int)info->port : 0;
    if (!is_loopback(&ss))
        sl__log(SL_LOG_WARN,
                "http: listening on %s, reachable beyond this machine: the API and the page "
                "have no authentication (prefer 127.0.0.1 behind a proxy)",
                address);
    sl__log(SL_LOG_INFO, "http: serving /metrics, /health, /ready, /api/v1 and the page on %s",
            address);
    return h;
}

int sl__http_port(const sl__http *h) {
    return h ? h->port : 0;
}

void sl__http_stop(sl__http *h) {
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}

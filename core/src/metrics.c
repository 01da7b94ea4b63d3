/*
 * metrics.c — /metrics: a monitor snapshot in the Prometheus text format
 * (version 0.0.4), and the process's own figures (http.h).
 *
 * Names follow Prometheus's conventions: the sluice_ prefix, base units in
 * the name (seconds, bytes), _total on counters, one HELP and TYPE per
 * family, label values escaped. Latencies are histograms with the buckets
 * of monitor.c. docs/operations.md lists every family.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "context.h"
#include "dtoa.h"
#include "handle.h"
#include "http.h"
#include "monitor.h"

void sl__proc_figures(int64_t *rss_bytes, double *cpu_seconds, int64_t *start_ms) {
    *rss_bytes = 0;
    *cpu_seconds = 0;
    *start_ms = 0;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        *cpu_seconds = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    long page = sysconf(_SC_PAGESIZE), ticks = sysconf(_SC_CLK_TCK);
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        long size, resident;
        if (fscanf(f, "%ld %ld", &size, &resident) == 2 && page > 0)
            *rss_bytes = (int64_t)resident * page;
        fclose(f);
    }
    /* start: field 22 of /proc/self/stat (ticks after boot) + btime */
    unsigned long long start_ticks = 0, btime = 0;
    f = fopen("/proc/self/stat", "r");
    if (f) {
        char buf[1024];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        char *p = strrchr(buf, ')'); /* the command may hold spaces */
        for (int field = 2; p && field < 22; field++)
            p = strchr(p + 1, ' ');
        if (p)
            start_ticks = strtoull(p + 1, NULL, 10);
        fclose(f);
    }
    f = fopen("/proc/stat", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "btime %llu", &btime) == 1)
                break;
        fclose(f);
    }
    if (btime && start_ticks && ticks > 0)
        *start_ms = (int64_t)(btime * 1000 + start_ticks * 1000 / (unsigned long long)ticks);
}

/* ---- text format ------------------------------------------------------------------ */

static void family(sl__buf *b, const char *name, const char *type, const char *help) {
    sl__buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the format wants (\\, \", \n). */
static void label_value(sl__buf *b, const char *v) {
    sl__buf_put(b, "\"", 1);
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            sl__buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            sl__buf_put(b, "\\n", 2);
        else
            sl__buf_put(b, p, 1);
    }
    sl__buf_put(b, "\"", 1);
}

/* name{k1="v1",k2="v2"} value: labels as a NULL-terminated list of pairs. */
static void sample(sl__buf *b, const char *name, const char *const *labels, const char *value) {
    sl__buf_printf(b, "%s", name);
    for (size_t i = 0; labels && labels[i]; i += 2) {
        sl__buf_printf(b, "%s%s=", i ? "," : "{", labels[i]);
        label_value(b, labels[i + 1]);
    }
    sl__buf_printf(b, "%s %s\n", labels && labels[0] ? "}" : "", value);
}

static void sample_i(sl__buf *b, const char *name, const char *const *labels, int64_t v) {
    char t[32];
    snprintf(t, sizeof t, "%" PRId64, v);
    sample(b, name, labels, t);
}

static void sample_d(sl__buf *b, const char *name, const char *const *labels, double v) {
    char t[48];
    sl__snprintf_c(t, sizeof t, "%.15g", v); /* "0.5", whatever the locale */
    sample(b, name, labels, t);
}

static void one(sl__buf *b, const char *name, const char *type, const char *help, int64_t v) {
    family(b, name, type, help);
    sample_i(b, name, NULL, v);
}

static void histogram(sl__buf *b, const char *name, const char *help, const sl__mon_hist *h) {
    family(b, name, "histogram", help);
    char bucket[128], le[32];
    snprintf(bucket, sizeof bucket, "%s_bucket", name);
    int64_t cum = 0;
    for (int i = 0; i < SL__MON_NBUCKETS; i++) {
        cum += h->counts[i];
        sl__snprintf_c(le, sizeof le, "%g", (double)sl__mon_bucket_ms[i] / 1000.0);
        const char *labels[] = {"le", le, NULL};
        sample_i(b, bucket, labels, cum);
    }
    const char *inf[] = {"le", "+Inf", NULL};
    sample_i(b, bucket, inf, h->count);
    char sum[48];
    sl__snprintf_c(sum, sizeof sum, "%.15g", (double)h->sum_ms / 1000.0);
    sl__buf_printf(b, "%s_sum %s\n%s_count %" PRId64 "\n", name, sum, name, h->count);
}

/* ---- plugin counters ------------------------------------------------------------- */

static int row_cmp(const void *a, const void *b) {
    const sl__plugin_metric *x = a, *y = b;
    int c = strcmp(x->metric, y->metric);
    return c ? c : strcmp(x->stream, y->stream);
}

static int row_cmp_stream(const void *a, const void *b) {
    const sl__plugin_metric *x = a, *y = b;
    int c = strcmp(x->stream, y->stream);
    if (!c)
        c = strcmp(x->plugin, y->plugin);
    return c ? c : strcmp(x->name, y->name);
}

/* The counters of handle h, appended to *rows: 0, or SL_ENOMEM. */
static int handle_counters(sl_handle *h, sl__plugin_metric **rows, size_t *n, size_t *cap) {
    if (!h)
        return 0;
    int rc = 0;
    pthread_mutex_lock(&h->lock);
    for (struct sl_counter *c = h->counters; c; c = c->next) {
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 16;
            sl__plugin_metric *r = realloc(*rows, nc * sizeof *r);
            if (!r) {
                rc = SL_ENOMEM;
                break;
            }
            *rows = r;
            *cap = nc;
        }
        sl__plugin_metric *r = &(*rows)[(*n)++];
        snprintf(r->name, sizeof r->name, "%s", c->name);
        /* a metric name: [a-zA-Z0-9_], _total once at the end */
        char name[64];
        size_t k = 0;
        for (const char *p = c->name; *p && k < sizeof name - 1; p++)
            name[k++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                                       (*p >= '0' && *p <= '9') || *p == '_'
                                   ? *p
                                   : '_');
        name[k] = 0;
        if (k >= 6 && strcmp(name + k - 6, "_total") == 0)
            name[k - 6] = 0;
        /* a gauge (ABI 1.6), or a pre-1.6 plugin's "lag"/"*_lag" counter */
        r->gauge = sl__handle_metric_is_gauge(h, c);
        snprintf(r->metric, sizeof r->metric, "sluice_plugin_%s%s", name, r->gauge ? "" : "_total");
        r->stream = h->stream ? h->stream : "";
        r->plugin = h->ref ? h->ref : "";
        r->value = atomic_load(&c->value);
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

int sl__plugin_metrics(sl_context *ctx, bool by_stream, sl__plugin_metric **rows, size_t *n) {
    size_t cap = 0;
    int rc = 0;
    *rows = NULL;
    *n = 0;
    for (size_t i = 0; !rc && i < ctx->nstreams; i++) {
        rc = handle_counters(ctx->streams[i]->fn.handle, rows, n, &cap);
        if (!rc)
            rc = handle_counters(ctx->streams[i]->filter.handle, rows, n, &cap);
    }
    for (size_t i = 0; !rc && i < ctx->noutputs; i++)
        rc = handle_counters(ctx->outputs[i].fn.handle, rows, n, &cap);
    if (rc) {
        free(*rows);
        *rows = NULL;
        *n = 0;
        return rc;
    }
    if (*n)
        qsort(*rows, *n, sizeof **rows, by_stream ? row_cmp_stream : row_cmp);
    return 0;
}

static int plugin_counters(sl_context *ctx, sl__buf *b) {
    sl__plugin_metric *rows;
    size_t n;
    if (sl__plugin_metrics(ctx, false, &rows, &n) < 0)
        return SL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(rows[i].metric, rows[i - 1].metric) != 0) {
            char help[160];
            size_t len = strlen(rows[i].metric) - 14 - (rows[i].gauge ? 0 : 6);
            snprintf(help, sizeof help, "the plugins' %s %.*s, by stream and plugin",
                     rows[i].gauge ? "gauge" : "counter", (int)len, rows[i].metric + 14);
            family(b, rows[i].metric, rows[i].gauge ? "gauge" : "counter", help);
        }
        const char *labels[] = {"stream", rows[i].stream, "plugin", rows[i].plugin, NULL};
        sample_i(b, rows[i].metric, labels, rows[i].value);
    }
    free(rows);
    return 0;
}

/* ---- everything ------------------------------------------------------------------ */

int sl__metrics_render(sl_context *ctx, const sl__mon_snap *s, sl__buf *b) {
    int64_t rss, start_ms;
    double cpu;
    sl__proc_figures(&rss, &cpu, &start_ms);
    char abi[16];
    snprintf(abi, sizeof abi, "%d.%d", SL_ABI_MAJOR, SL_ABI_MINOR);
    family(b, "sluice_build_info", "gauge", "sluice's version and plugin ABI (always 1)");
    const char *build[] = {"version", SLUICE_VERSION, "abi", abi, NULL};
    sample_i(b, "sluice_build_info", build, 1);
    family(b, "sluice_process_start_time_seconds", "gauge",
           "when the process started, in seconds since the epoch");
    sample_d(b, "sluice_process_start_time_seconds", NULL, (double)start_ms / 1000.0);
    one(b, "sluice_process_resident_memory_bytes", "gauge", "resident memory (RSS)", rss);
    family(b, "sluice_process_cpu_seconds_total", "counter", "CPU time, user and system");
    sample_d(b, "sluice_process_cpu_seconds_total", NULL, cpu);

    bool running = s->run == SL__RUN_RUNNING || s->run == SL__RUN_STOPPING;
    one(b, "sluice_running", "gauge", "1 while the scheduler runs (what /health says)", running);
    bool ready = s->run == SL__RUN_RUNNING && !(s->nbatch && s->batch[s->nbatch - 1].failed);
    for (size_t j = 0; j < s->nsrc; j++)
        ready = ready && sl__mon_src_ready(&s->src[j]);
    one(b, "sluice_ready", "gauge", "1 when /ready answers 200", ready);
    family(b, "sluice_batch_interval_seconds", "gauge", "the batch interval");
    sample_d(b, "sluice_batch_interval_seconds", NULL, (double)s->interval / 1000.0);
    one(b, "sluice_batches_completed_total", "counter", "batches that completed", s->completed);
    one(b, "sluice_batches_failed_total", "counter", "batches that failed (the run stops)",
        s->failed);
    one(b, "sluice_batches_waiting", "gauge",
        "batch times due that have not started (a backlog: processing is slower than the "
        "interval)",
        s->waiting);
    if (s->nbatch) {
        family(b, "sluice_last_batch_time_seconds", "gauge",
               "the batch time of the last batch, in seconds since the epoch");
        sample_d(b, "sluice_last_batch_time_seconds", NULL,
                 (double)s->batch[s->nbatch - 1].batch_time / 1000.0);
    }
    histogram(b, "sluice_scheduling_delay_seconds",
              "batch time to processing start, per completed batch", &s->sched);
    histogram(b, "sluice_processing_time_seconds",
              "processing start to end, outputs included, per completed batch", &s->proc);
    histogram(b, "sluice_total_delay_seconds", "batch time to the end of processing", &s->total);

    static const char *const src_fam[][3] = {
        {"sluice_source_records_total", "counter", "records a source put in completed batches"},
        {"sluice_source_bytes_total", "counter",
         "bytes (keys and values) a source put in completed batches"},
        {"sluice_source_connected", "gauge",
         "1 when the source is connected or assigned (or, when it reports no state, started)"},
        {"sluice_receiver_errors_total", "counter",
         "errors a receiver reported without stopping (cannot connect, retrying, ...)"},
        {"sluice_receiver_buffer_records", "gauge", "records a receiver holds for the next batch"},
        {"sluice_receiver_buffer_bytes", "gauge", "bytes a receiver holds for the next batch"},
        {"sluice_receiver_buffer_limit_bytes", "gauge",
         "receiver_buffer: the bytes at which a receiver stops reading (backpressure)"}};
    for (size_t f = 0; f < sizeof src_fam / sizeof *src_fam; f++) {
        bool recv_only = f >= 3;
        bool any = false;
        for (size_t j = 0; j < s->nsrc; j++) {
            const sl__mon_src *src = &s->src[j];
            if (recv_only && !src->receiver)
                continue;
            if (!any)
                family(b, src_fam[f][0], src_fam[f][1], src_fam[f][2]);
            any = true;
            const char *labels[] = {"stream", src->stream, "source",
                                    src->component ? src->component : "", NULL};
            int64_t v = f == 0   ? src->records_total
                        : f == 1 ? src->bytes_total
                        : f == 2 ? sl__mon_src_ready(src)
                        : f == 3 ? src->errors_total
                        : f == 4 ? src->buf_records
                        : f == 5 ? src->buf_bytes
                                 : src->buf_limit;
            sample_i(b, src_fam[f][0], labels, v);
        }
    }

    static const char *const out_fam[][3] = {
        {"sluice_output_records_total", "counter", "records an output handed to its sink"},
        {"sluice_output_runs_total", "counter", "times an output ran"},
        {"sluice_output_failures_total", "counter", "times an output failed"},
        {"sluice_output_duration_seconds_total", "counter", "time spent in an output's sink"}};
    for (size_t f = 0; f < sizeof out_fam / sizeof *out_fam && s->nout; f++) {
        family(b, out_fam[f][0], out_fam[f][1], out_fam[f][2]);
        for (size_t j = 0; j < s->nout; j++) {
            const sl__mon_out *o = &s->out[j];
            const char *labels[] = {
                "output", o->name, "stream", o->stream, "sink", o->sink ? o->sink : "", NULL};
            if (f == 3)
                sample_d(b, out_fam[f][0], labels, (double)o->duration_us_total / 1e6);
            else
                sample_i(b, out_fam[f][0], labels,
                         f == 0   ? o->records_total
                         : f == 1 ? o->runs_total
                                  : o->failures_total);
        }
    }

    if (s->nstate) {
        family(b, "sluice_state_keys", "gauge",
               "keys a stateful stream holds, after the last batch");
        for (size_t j = 0; j < s->nstate; j++) {
            const char *labels[] = {"stream", s->state[j].stream, NULL};
            sample_i(b, "sluice_state_keys", labels, s->state[j].keys);
        }
        family(b, "sluice_state_bytes", "gauge",
               "memory a stateful stream's keys and values take, after the last batch");
        for (size_t j = 0; j < s->nstate; j++) {
            const char *labels[] = {"stream", s->state[j].stream, NULL};
            sample_i(b, "sluice_state_bytes", labels, s->state[j].bytes);
        }
    }

    if (s->ckpt_dir) {
        const sl__mon_ckpt *k = &s->ckpt;
        one(b, "sluice_checkpoints_written_total", "counter", "checkpoints written",
            k->written_total);
        one(b, "sluice_checkpoint_failures_total", "counter",
            "checkpoints that could not be written (the run then fails)", k->failures_total);
        histogram(b, "sluice_checkpoint_duration_seconds",
                  "time to write a checkpoint, fsyncs included", &k->duration);
        if (k->written_total) {
            one(b, "sluice_checkpoint_last_size_bytes", "gauge", "size of the last checkpoint",
                k->last_bytes);
            family(b, "sluice_checkpoint_last_written_timestamp_seconds", "gauge",
                   "when the last checkpoint was written, in seconds since the epoch");
            sample_d(b, "sluice_checkpoint_last_written_timestamp_seconds", NULL,
                     (double)k->last_written / 1000.0);
            family(b, "sluice_checkpoint_age_seconds", "gauge",
                   "time since the last checkpoint was written");
            sample_d(b, "sluice_checkpoint_age_seconds", NULL,
                     (double)(s->now - k->last_written) / 1000.0);
        }
    }
    return plugin_counters(ctx, b);
}

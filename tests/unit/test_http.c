/*
 * test_http.c — the HTTP server from the C API (sl_context_serve_http,
 * core/src/http.c, monitor.c, metrics.c): a program's own batches through
 * sl_queue_stream_new, served on a free port, read back with plain HTTP/1.0
 * requests over a loopback socket; a run that fails (an output's error:
 * /ready's "the last batch failed", the failure counters; a checkpoint
 * directory that became a file: the checkpoint counters and last size),
 * read after the run ended and before the context is freed, as the CLI
 * cannot (it exits at once); the calls' errors; and a client that
 * asks for the largest answers as fast as it can while batches run back to
 * back (under ASan in CI: no race between the monitor and the scheduler).
 */
#define UNIT_ENGINE
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* GET path on 127.0.0.1:port into body (NUL-terminated); the status code,
 * or -1 when no answer came. */
static int http_get(int port, const char *path, char *body, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 || write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    static __thread char buf[1 << 20];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    buf[len] = 0;
    int code = -1;
    if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1)
        return -1;
    const char *b = strstr(buf, "\r\n\r\n");
    snprintf(body, cap, "%s", b ? b + 4 : "");
    return code;
}

static int batches_seen;
static void on_batch(void *ud, const sl_batch_info *info) {
    (void)ud;
    (void)info;
    __atomic_add_fetch(&batches_seen, 1, __ATOMIC_SEQ_CST);
}

static int foreach_none(void *ud, int64_t t, const sl_record *recs, size_t n, sl_error *err) {
    (void)ud, (void)t, (void)recs, (void)n, (void)err;
    return 0;
}

/* Three batches of 3, 1 and 2 strings: the status, the batches, /metrics
 * and /ready say so. */
static void test_figures(void) {
    sl_context *ctx = sl_context_new(50);
    sl_queue *q = NULL;
    sl_stream *in = sl_stream_set_name(sl_queue_stream_new(ctx, 1, &q), "events");
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    ASSERT_INT_EQ(sl_foreach_batch(sl_count(in), foreach_none, NULL), 0);
    ASSERT_INT_EQ(sl_context_set_batch_listener(ctx, on_batch, NULL), 0);
    ASSERT_INT_EQ(sl_context_http_port(ctx), 0); /* not serving yet */
    ASSERT_INT_EQ(sl_context_serve_http(ctx, "127.0.0.1:0"), 0);
    ASSERT_STR_EQ(sl_context_http_address(ctx), "127.0.0.1:0");
    const char *a[] = {"x", "y", "z"}, *b[] = {"w"}, *c[] = {"u", "v"};
    ASSERT_INT_EQ(sl_queue_push_strings(q, a, 3), 0);
    ASSERT_INT_EQ(sl_queue_push_strings(q, b, 1), 0);
    ASSERT_INT_EQ(sl_queue_push_strings(q, c, 2), 0);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    int port = sl_context_http_port(ctx);
    CU_ASSERT_FATAL(port > 0);
    ASSERT_INT_EQ(sl_context_serve_http(ctx, "127.0.0.1:0"), SL_ESTATE); /* after start */
    for (int i = 0; i < 200 && __atomic_load_n(&batches_seen, __ATOMIC_SEQ_CST) < 4; i++)
        usleep(20000);
    static char body[1 << 20];
    ASSERT_INT_EQ(http_get(port, "/api/v1/status", body, sizeof body), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"stream\":\"events\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"records_total\":6,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"state\":\"running\""));
    ASSERT_INT_EQ(http_get(port, "/api/v1/batches?n=1000", body, sizeof body), 200);
    /* the first three batches hold 3, 1, 2 records, in order */
    const char *p3 = strstr(body, "\"records\":3,"), *p1 = p3 ? strstr(p3, "\"records\":1,") : NULL;
    CU_ASSERT_PTR_NOT_NULL(p3);
    CU_ASSERT_PTR_NOT_NULL(p1);
    CU_ASSERT_PTR_NOT_NULL(p1 ? strstr(p1, "\"records\":2,") : NULL);
    ASSERT_INT_EQ(http_get(port, "/metrics", body, sizeof body), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "sluice_source_records_total{stream=\"events\","));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"} 6\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "sluice_batch_interval_seconds 0.05\n"));
    ASSERT_INT_EQ(http_get(port, "/ready", body, sizeof body), 200);
    ASSERT_INT_EQ(http_get(port, "/health", body, sizeof body), 200);
    ASSERT_INT_EQ(sl_context_stop(ctx), 0);
    /* stopped, not yet freed: the server answers that the run is over */
    ASSERT_INT_EQ(http_get(port, "/health", body, sizeof body), 503);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"status\":\"stopped\""));
    ASSERT_INT_EQ(http_get(port, "/ready", body, sizeof body), 503);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "the run is stopped"));
    sl_context_free(ctx);
    ASSERT_INT_EQ(http_get(port, "/health", body, sizeof body), -1); /* gone */
}

/* The value of the unlabelled sample `name` in a /metrics body, or -1. */
static double metric_of(const char *body, const char *name) {
    char want[160];
    snprintf(want, sizeof want, "\n%s ", name);
    const char *p = strstr(body, want);
    return p ? strtod(p + strlen(want), NULL) : -1;
}

/* foreach_batch that fails the batch whose index (from 0) is fail_at, and
 * at batch move_at moves the checkpoint directory ck aside (to moved) and
 * puts a file in its place, so that no checkpoint can be written there. */
typedef struct out_ctl {
    int64_t n, fail_at, move_at;
    const char *ck, *moved;
} out_ctl;

static int foreach_ctl(void *ud, int64_t t, const sl_record *recs, size_t n, sl_error *err) {
    (void)t, (void)recs;
    out_ctl *c = ud;
    int64_t k = c->n++;
    if (k == c->move_at) {
        FILE *f = NULL;
        if (rename(c->ck, c->moved) != 0 || !(f = fopen(c->ck, "w")))
            return sl__error_set(err, SL_EIO, "test: cannot move %s aside", c->ck);
        fclose(f);
    }
    if (k == c->fail_at)
        return sl__error_set(err, SL_EIO, "disk full at batch %lld (%zu records)", (long long)k, n);
    return 0;
}

/* A context on the manual clock (batches at 50, 100, 150 ms ...) whose
 * queue stream "events" gets 3, 1 and 2 one-byte strings, then nothing,
 * into foreach_ctl(ctl); served on a free port. */
static sl_context *ctl_pipeline(out_ctl *ctl) {
    sl_context *ctx = sl_context_new(50);
    ASSERT_INT_EQ(sl_context_set_clock(ctx, SL_CLOCK_MANUAL), 0);
    ASSERT_INT_EQ(sl_context_set_start_time(ctx, 0), 0);
    ASSERT_INT_EQ(sl_context_set_max_batches(ctx, 6), 0);
    sl_queue *q = NULL;
    sl_stream *in = sl_stream_set_name(sl_queue_stream_new(ctx, 1, &q), "events");
    const char *a[] = {"x", "y", "z"}, *b[] = {"w"}, *c[] = {"u", "v"};
    ASSERT_INT_EQ(sl_queue_push_strings(q, a, 3), 0);
    ASSERT_INT_EQ(sl_queue_push_strings(q, b, 1), 0);
    ASSERT_INT_EQ(sl_queue_push_strings(q, c, 2), 0);
    ASSERT_INT_EQ(sl_foreach_batch(in, foreach_ctl, ctl), 0);
    ASSERT_INT_EQ(sl_context_serve_http(ctx, "127.0.0.1:0"), 0);
    return ctx;
}

/* An output that fails the third batch (2 records): the run fails, and
 * until the context is freed /ready says 503 with "the last batch failed:"
 * and the output's error, and /metrics counts the failed batch in
 * sluice_batches_failed_total and sluice_output_failures_total only: the
 * other counters and the histograms hold the 2 completed batches. */
static void test_failed_batch(void) {
    out_ctl ctl = {.fail_at = 2, .move_at = -1};
    sl_context *ctx = ctl_pipeline(&ctl);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    int port = sl_context_http_port(ctx);
    CU_ASSERT_FATAL(port > 0);
    ASSERT_INT_EQ(sl_context_await_termination(ctx), SL_EIO);
    static char body[1 << 20];
    ASSERT_INT_EQ(http_get(port, "/ready", body, sizeof body), 503);
    ASSERT_CONTAINS(body, "\"ready\":false");
    ASSERT_CONTAINS(body, "\"the last batch failed: disk full at batch 2 (2 records)\"");
    ASSERT_CONTAINS(body, "\"the run is failed: ");
    ASSERT_INT_EQ(http_get(port, "/health", body, sizeof body), 503);
    ASSERT_CONTAINS(body, "\"status\":\"failed\"");
    ASSERT_INT_EQ(http_get(port, "/api/v1/batches", body, sizeof body), 200);
    ASSERT_CONTAINS(body, "\"batch_time\":150,\"status\":\"failed\",\"records\":2,");
    ASSERT_INT_EQ(http_get(port, "/metrics", body, sizeof body), 200);
    CU_ASSERT_EQUAL(metric_of(body, "sluice_batches_failed_total"), 1);
    CU_ASSERT_EQUAL(metric_of(body, "sluice_batches_completed_total"), 2);
    CU_ASSERT_EQUAL(metric_of(body, "sluice_ready"), 0);
    CU_ASSERT_EQUAL(metric_of(body, "sluice_running"), 0);
    CU_ASSERT_EQUAL(metric_of(body, "sluice_last_batch_time_seconds"), 0.15);
    static const char *const samples[] = {
        "sluice_source_records_total{stream=\"events\",source=\"queue_stream\"} 4\n",
        "sluice_source_bytes_total{stream=\"events\",source=\"queue_stream\"} 4\n",
        "sluice_output_records_total{output=\"output-1\",stream=\"events\",sink=\"foreach_batch\"} "
        "4\n",
        "sluice_output_runs_total{output=\"output-1\",stream=\"events\",sink=\"foreach_batch\"} "
        "3\n",
        "sluice_output_failures_total{output=\"output-1\",stream=\"events\",sink=\"foreach_batch\"}"
        " 1\n",
        "\nsluice_scheduling_delay_seconds_bucket{le=\"+Inf\"} 2\n",
        "\nsluice_scheduling_delay_seconds_count 2\n",
        "\nsluice_processing_time_seconds_count 2\n",
        "\nsluice_total_delay_seconds_bucket{le=\"+Inf\"} 2\n",
        "\nsluice_total_delay_seconds_count 2\n"};
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++)
        ASSERT_CONTAINS(body, samples[i]);
    sl_context_free(ctx);
}

/* A checkpoint directory that became a file after two checkpoints: the
 * third cannot be written and the run fails. /metrics counts 2 written
 * (their durations too), 1 failure, the last size is the size of the
 * newest file, and /ready names the run's failure, not a failed batch
 * (the batch completed). */
static void test_checkpoint_failure(void) {
    char dir[256], ck[320], moved[320], newest[400];
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit_mkdtemp(dir, sizeof dir));
    snprintf(ck, sizeof ck, "%s/ck", dir);
    snprintf(moved, sizeof moved, "%s/ck.moved", dir);
    out_ctl ctl = {.fail_at = -1, .move_at = 2, .ck = ck, .moved = moved};
    sl_context *ctx = ctl_pipeline(&ctl);
    ASSERT_INT_EQ(sl_context_checkpoint(ctx, ck), 0);
    ASSERT_INT_EQ(sl_context_set_checkpoint_interval(ctx, 50), 0);
    int64_t t0 = sl__now_ms();
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    int port = sl_context_http_port(ctx);
    CU_ASSERT_FATAL(port > 0);
    CU_ASSERT(sl_context_await_termination(ctx) < 0);
    int64_t t1 = sl__now_ms();
    static char body[1 << 20];
    ASSERT_INT_EQ(http_get(port, "/ready", body, sizeof body), 503);
    ASSERT_CONTAINS(body, "\"the run is failed: checkpoint: ");
    ASSERT_CONTAINS(body, "exists and is not a directory");
    CU_ASSERT_PTR_NULL(strstr(body, "the last batch failed"));
    ASSERT_INT_EQ(http_get(port, "/metrics", body, sizeof body), 200);
    CU_ASSERT_EQUAL(metric_of(body, "sluice_batches_completed_total"), 3);
    CU_ASSERT_EQUAL(metric_of(body, "sluice_batches_failed_total"), 0);
    CU_ASSERT_EQUAL(metric_of(body, "sluice_checkpoints_written_total"), 2);
    CU_ASSERT_EQUAL(metric_of(body, "sluice_checkpoint_failures_total"), 1);
    CU_ASSERT_EQUAL(metric_of(body, "sluice_checkpoint_duration_seconds_count"), 2);
    ASSERT_CONTAINS(body, "\nsluice_checkpoint_duration_seconds_bucket{le=\"+Inf\"} 2\n");
    struct stat st;
    snprintf(newest, sizeof newest, "%s/checkpoint-000000000000100.slck", moved);
    ASSERT_INT_EQ(stat(newest, &st), 0);
    CU_ASSERT(st.st_size > 0);
    CU_ASSERT_EQUAL(metric_of(body, "sluice_checkpoint_last_size_bytes"), (double)st.st_size);
    double written = metric_of(body, "sluice_checkpoint_last_written_timestamp_seconds");
    CU_ASSERT(written >= (double)t0 / 1000 - 0.001 && written <= (double)t1 / 1000 + 0.001);
    CU_ASSERT(metric_of(body, "sluice_checkpoint_age_seconds") >= 0);
    sl_context_free(ctx);
    unit_rmtree(dir);
}

static void test_errors(void) {
    sl_context *ctx = sl_context_new(50);
    ASSERT_INT_EQ(sl_context_serve_http(ctx, "4195"), SL_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(sl_context_errmsg(ctx), "expected HOST:PORT"));
    sl_context_clear_error(ctx);
    ASSERT_INT_EQ(sl_context_serve_http(ctx, "[::1:4195"), SL_EINVAL);
    sl_context_clear_error(ctx);
    ASSERT_INT_EQ(sl_context_serve_http(ctx, "127.0.0.1:70000"), SL_EINVAL);
    sl_context_clear_error(ctx);
    ASSERT_INT_EQ(sl_context_serve_http(ctx, NULL), SL_EINVAL);
    sl_context_clear_error(ctx);
    ASSERT_INT_EQ(sl_context_serve_http(NULL, "127.0.0.1:0"), SL_EINVAL);
    ASSERT_INT_EQ(sl_context_http_port(NULL), 0);
    CU_ASSERT_PTR_NULL(sl_context_http_address(ctx));
    sl_context_free(ctx);
}

/* A client asking for the largest answers in a loop while 400 batches run
 * back to back on the manual clock. */
typedef struct hammer {
    int port;
    volatile int stop;
    int ok, bad;
} hammer;

static void *hammer_run(void *arg) {
    hammer *h = arg;
    static const char *paths[] = {"/api/v1/batches?n=1000", "/metrics", "/api/v1/status", "/ready",
                                  "/api/v1/graph"};
    char *body = malloc(1 << 20);
    for (int i = 0; !h->stop && body; i++) {
        int code = http_get(h->port, paths[i % 5], body, 1 << 20);
        if (code == 200)
            h->ok++;
        else if (code != -1 && code != 503)
            h->bad++;
    }
    free(body);
    return NULL;
}

static void test_hammered(void) {
    sl_context *ctx = sl_context_new(10);
    ASSERT_INT_EQ(sl_context_set_clock(ctx, SL_CLOCK_MANUAL), 0);
    ASSERT_INT_EQ(sl_context_set_max_batches(ctx, 400), 0);
    sl_queue *q = NULL;
    sl_stream *in = sl_queue_stream_new(ctx, 1, &q);
    const char *s[] = {"a", "b", "a", "c"};
    ASSERT_INT_EQ(sl_queue_set_default(q, NULL, 0), 0);
    for (int i = 0; i < 400; i++)
        ASSERT_INT_EQ(sl_queue_push_strings(q, s, 4), 0);
    ASSERT_INT_EQ(sl_foreach_batch(sl_count_by_value(in), foreach_none, NULL), 0);
    ASSERT_INT_EQ(sl_context_serve_http(ctx, "127.0.0.1:0"), 0);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    hammer h = {sl_context_http_port(ctx), 0, 0, 0};
    pthread_t t;
    ASSERT_INT_EQ(pthread_create(&t, NULL, hammer_run, &h), 0);
    ASSERT_INT_EQ(sl_context_await_termination(ctx), 0);
    usleep(50000);
    h.stop = 1;
    pthread_join(t, NULL);
    ASSERT_INT_EQ(sl_context_batches_done(ctx), 400);
    CU_ASSERT(h.ok > 0);
    ASSERT_INT_EQ(h.bad, 0);
    static char body[1 << 20];
    ASSERT_INT_EQ(http_get(h.port, "/api/v1/status", body, sizeof body), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"records_total\":1600,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"batches_completed\":400,"));
    sl_context_free(ctx);
}

/* An embedding program under a comma-decimal locale (setlocale(LC_NUMERIC,
 * "de_DE.UTF-8")): /metrics still has "0.05" where Prometheus reads a
 * float, and the JSON API still parses as JSON ("input_rate":0,000 did
 * not). */
static void test_comma_locale(void) {
    char dir[256];
    if (!unit_comma_locale(dir, sizeof dir)) {
        unit_rmtree(dir);
        return;
    }
    char probe[16];
    snprintf(probe, sizeof probe, "%.2f", 0.05);
    ASSERT_STR_EQ(probe, "0,05"); /* the locale really is in effect */
    sl_context *ctx = sl_context_new(50);
    ASSERT_INT_EQ(sl_context_set_clock(ctx, SL_CLOCK_MANUAL), 0);
    ASSERT_INT_EQ(sl_context_set_max_batches(ctx, 5), 0);
    sl_queue *q = NULL;
    sl_stream *in = sl_queue_stream_new(ctx, 1, &q);
    const char *s[] = {"a", "b", "a"};
    for (int i = 0; i < 5; i++)
        ASSERT_INT_EQ(sl_queue_push_strings(q, s, 3), 0);
    ASSERT_INT_EQ(sl_foreach_batch(sl_count_by_value(in), foreach_none, NULL), 0);
    ASSERT_INT_EQ(sl_context_serve_http(ctx, "127.0.0.1:0"), 0);
    ASSERT_INT_EQ(sl_context_start(ctx), 0);
    ASSERT_INT_EQ(sl_context_await_termination(ctx), 0);
    int port = sl_context_http_port(ctx);
    static char body[1 << 20];
    ASSERT_INT_EQ(http_get(port, "/metrics", body, sizeof body), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "sluice_batch_interval_seconds 0.05\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "le=\"0.005\"}"));
    /* no sample's value has a comma: a value is what follows the last space */
    int commas = 0;
    for (char *line = strtok(body, "\n"); line; line = strtok(NULL, "\n"))
        if (line[0] != '#' && strchr(strrchr(line, ' ') ? strrchr(line, ' ') : line, ','))
            commas++, fprintf(stderr, "  a value with a comma: %s\n", line);
    ASSERT_INT_EQ(commas, 0);
    const char *paths[] = {"/api/v1/status", "/api/v1/batches?n=10", "/api/v1/graph"};
    for (int i = 0; i < 3; i++) {
        ASSERT_INT_EQ(http_get(port, paths[i], body, sizeof body), 200);
        sl__arena arena;
        sl_mem mem;
        sl__arena_init(&arena, 4096);
        sl__arena_mem(&arena, &mem);
        sl_value v;
        int rc = sl__json_parse(body, strlen(body), &v, &mem, NULL);
        unit_check(rc == 0, __FILE__, __LINE__, "%s is JSON (got %.200s)", paths[i], body);
        sl__arena_free(&arena);
    }
    sl_context_free(ctx);
    setlocale(LC_NUMERIC, "C");
    unsetenv("LOCPATH");
    unit_rmtree(dir);
}

UNIT_MAIN("http", {"figures of a program's own batches", test_figures},
          {"a failed batch: /ready and the failure counters", test_failed_batch},
          {"a checkpoint that cannot be written: its counters", test_checkpoint_failure},
          {"malformed addresses and misuse", test_errors},
          {"a client hammering while batches run", test_hammered},
          {"numbers in a comma-decimal locale", test_comma_locale})

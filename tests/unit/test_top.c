/*
 * test_top.c — the parts of `sluice top` that need no terminal and no
 * server (core/src/cli/httpclient.c, core/src/cli/top_view.c): URLs, HTTP
 * response framing (Content-Length, chunked, EOF) and its refusals, and the
 * frame drawn from a spec-shaped status: its figures, the cut to the width
 * and the height, and what is done to control bytes from the server. The
 * terminal and the real server are integration.test_cli_top's.
 */
#include "unit.h"

#include "httpclient.h"
#include "top.h"

/* ---- URLs ------------------------------------------------------------------------------- */

static void test_url(void) {
    sl__http_url u;
    char err[256];
    ASSERT_INT_EQ(sl__http_url_parse("http://127.0.0.1:4195", &u, err, sizeof err), 0);
    ASSERT_STR_EQ(u.host, "127.0.0.1");
    ASSERT_STR_EQ(u.port, "4195");
    ASSERT_STR_EQ(u.prefix, "");
    ASSERT_STR_EQ(u.text, "http://127.0.0.1:4195");
    ASSERT_INT_EQ(sl__http_url_parse("localhost:9", &u, err, sizeof err), 0); /* no scheme */
    ASSERT_STR_EQ(u.text, "http://localhost:9");
    ASSERT_INT_EQ(sl__http_url_parse("HTTP://[::1]:4195/sluice/", &u, err, sizeof err), 0);
    ASSERT_STR_EQ(u.host, "::1");
    ASSERT_STR_EQ(u.prefix, "/sluice");
    ASSERT_STR_EQ(u.text, "http://[::1]:4195/sluice");
    ASSERT_INT_EQ(sl__http_url_parse("http://example.org", &u, err, sizeof err), 0);
    ASSERT_STR_EQ(u.port, "80");

    static const struct {
        const char *url, *msg;
    } bad[] = {{"https://127.0.0.1:4195", "only http:// URLs"},
               {"http://:4195", "no host"},
               {"http://127.0.0.1:0", "from 1 to 65535"},
               {"http://127.0.0.1:65536", "from 1 to 65535"},
               {"http://127.0.0.1:41x", "from 1 to 65535"},
               {"http://127.0.0.1:", "from 1 to 65535"},
               {"http://[::1", "[::1]:4195"},
               {"http://127.0.0.1:4195/api?x=1", "no spaces, queries"},
               {"http://a b", "no spaces, queries"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        ASSERT_INT_EQ(sl__http_url_parse(bad[i].url, &u, err, sizeof err), -1);
        ASSERT_CONTAINS(err, bad[i].msg);
    }
}

/* ---- responses ---------------------------------------------------------------------------- */

/* Parse the response text; its body (or "") in body, the return code. */
static int parse(const char *text, sl__http_response *r, char *err, size_t cap) {
    static char buf[4096];
    size_t n = strlen(text);
    memcpy(buf, text, n + 1);
    memset(r, 0, sizeof *r);
    err[0] = 0;
    return sl__http_response_parse(buf, n, r, err, cap);
}

static void test_response_framing(void) {
    sl__http_response r;
    char err[256];
    ASSERT_INT_EQ(
        parse("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}trailing", &r, err, sizeof err),
        0);
    ASSERT_INT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "{\"a\":1}"); /* cut at Content-Length */
    ASSERT_INT_EQ(r.body_len, 7);
    /* chunked, with an extension, upper-case hex, and a trailer */
    ASSERT_INT_EQ(parse("HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n"
                        "3;ext=1\r\n{\"a\r\nB\r\n\":12345678}\r\n0\r\nX-T: 1\r\n\r\n",
                        &r, err, sizeof err),
                  0);
    ASSERT_STR_EQ(r.body, "{\"a\":12345678}");
    /* to EOF, bare \n line ends, a status without a reason */
    ASSERT_INT_EQ(parse("HTTP/1.0 503\nServer: x\n\n{\"status\":\"stopped\"}", &r, err, sizeof err),
                  0);
    ASSERT_INT_EQ(r.status, 503);
    ASSERT_STR_EQ(r.body, "{\"status\":\"stopped\"}");
}

static void test_response_refused(void) {
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"", "not an HTTP/1.x response (0 bytes)"},
        {"SSH-2.0-OpenSSH_9.2\r\n", "not an HTTP/1.x response"},
        {"HTTP/2 200\r\n\r\n", "not an HTTP/1.x response"},
        {"HTTP/1.1 2000 OK\r\n\r\n", "not an HTTP/1.x response"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", "headers have no end"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{}", "cut short: 2 of 50 bytes"},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}", "bad Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "bad Content-Length"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "no chunk size"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", "cut short"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX", "no line end"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", "cut short"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
         "too large"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sl__http_response r;
        char err[256];
        ASSERT_INT_EQ(parse(bad[i].text, &r, err, sizeof err), SL__HTTP_EPROTOCOL);
        ASSERT_CONTAINS(err, bad[i].msg);
    }
}

/* ---- frames ------------------------------------------------------------------------------- */

static const char status_json[] =
    "{\"version\":\"0.9.0\",\"pid\":1234,\"start_time\":1733400000000,\"now\":1733403723000,"
    "\"state\":\"running\",\"error\":null,\"batch_interval_ms\":1000,"
    "\"batches_completed\":5,\"batches_failed\":1,\"batches_waiting\":0,\"input_rate\":120.5,"
    "\"avg_scheduling_delay_ms\":0.4,\"avg_processing_time_ms\":2.1,\"avg_total_delay_ms\":2.5,"
    "\"last_batch\":null,"
    "\"sources\":[{\"stream\":\"lines\",\"source\":\"socket\",\"receiver\":true,"
    "\"state\":\"connected\",\"detail\":\"127.0.0.1:9999\",\"records_total\":600,"
    "\"bytes_total\":4200,\"rate\":120.0,\"buffer_bytes\":16777216,"
    "\"buffer_limit_bytes\":67108864,\"errors_total\":0,\"last_error\":null},"
    "{\"stream\":\"ev\\u001b[2Jil\\u0085\\udce9\",\"source\":\"kafka\",\"receiver\":false,"
    "\"state\":\"assigned\",\"detail\":null,\"records_total\":12,\"rate\":null,"
    "\"buffer_bytes\":null,\"buffer_limit_bytes\":null,\"errors_total\":2,"
    "\"last_error\":\"broker down\"}],"
    "\"outputs\":[{\"name\":\"output-1\",\"stream\":\"counts\",\"sink\":\"pprint\","
    "\"records_total\":40,\"last_duration_us\":1500,\"failures_total\":0}],"
    "\"stateful\":[{\"stream\":\"totals\",\"keys\":12,\"bytes\":3456}],"
    "\"checkpoint\":{\"enabled\":true,\"dir\":\"/tmp/ck\",\"written_total\":5,"
    "\"failures_total\":0,\"last_batch_time\":1733400004000,\"last_written\":1733400004010,"
    "\"last_bytes\":812,\"last_duration_us\":950,\"last_error\":null},"
    "\"process\":{\"rss_bytes\":5242880,\"cpu_seconds\":0.12},"
    "\"plugin_metrics\":[{\"stream\":\"ev\",\"plugin\":\"kafka\",\"name\":\"lag\","
    "\"type\":\"gauge\",\"metric\":\"sluice_plugin_lag\",\"value\":2700},"
    "{\"stream\":\"lines\",\"plugin\":\"socket\",\"name\":\"lines_too_long\","
    "\"type\":\"counter\",\"metric\":\"sluice_plugin_lines_too_long_total\",\"value\":3}]}";

static const char batches_json[] =
    "{\"batches\":[{\"status\":\"completed\",\"processing_time_ms\":0},"
    "{\"status\":\"completed\",\"processing_time_ms\":7},"
    "{\"status\":\"failed\",\"processing_time_ms\":3},"
    "{\"status\":\"completed\",\"processing_time_ms\":14}]}";

static const char graph_json[] =
    "{\"streams\":[{\"id\":0,\"name\":\"totals\",\"op\":\"reduce_by_key_and_window\","
    "\"window_ms\":30000,\"slide_ms\":10000}],\"outputs\":[]}";

/* Parse JSON into mem; fatal if it does not parse. */
static sl_value json(const char *text, sl_mem *mem) {
    sl_value v;
    sl_error e = {0, ""};
    int rc = sl_host_api()->json_parse(text, strlen(text), &v, mem, &e);
    CU_ASSERT_FATAL(rc == 0);
    return v;
}

/* Render status/batches/graph at width x height (ASCII sparkline). */
static char *frame(int width, int height, const char *problem) {
    sl_mem *mem = sl_host_api()->mem_new();
    sl_value st = json(status_json, mem), bt = json(batches_json, mem), gr = json(graph_json, mem);
    sl__top_view v = {.url = "http://127.0.0.1:4195",
                      .interval_ms = 500,
                      .width = width,
                      .height = height,
                      .problem = problem,
                      .age_ms = 65000};
    sl__top_data d = {&st, &bt, &gr};
    char *text = sl__top_render(&v, &d);
    sl_host_api()->mem_free(mem);
    return text;
}

static void test_frame_figures(void) {
    char *t = frame(0, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    ASSERT_CONTAINS(t, "sluice top  http://127.0.0.1:4195  (sluice 0.9.0, pid 1234)\n");
    ASSERT_CONTAINS(t, "\nstate running\n");
    ASSERT_CONTAINS(t, "uptime 1h02m03s   batch interval 1s   refresh 500ms   rss 5.0 MiB"
                       "   cpu 0.12 s\n");
    ASSERT_CONTAINS(t, "batches 5 completed, 1 failed, 0 waiting   input 120.5 records/s\n");
    ASSERT_CONTAINS(t, "scheduling delay 0.4 ms, processing 2.1 ms, total delay 2.5 ms\n");
    /* 0, 7, 14 of a max 14 on 8 levels: _, =, #; the failed one is ! */
    ASSERT_CONTAINS(t, "processing time, last 4 batches (max 14.0 ms): _=!#\n");
    ASSERT_CONTAINS(t, "\nSTREAM      COMPONENT  STATE      RECORDS  RATE/S             BUFFER"
                       "  ERRORS  DETAIL\n");
    ASSERT_CONTAINS(t, "\nlines       socket     connected      600   120.0  25.0% of 64.0 MiB"
                       "       0  127.0.0.1:9999\n");
    /* control characters (ESC, C1 NEL) and a byte that is not UTF-8 became '?' */
    ASSERT_CONTAINS(t, "\nev?[2Jil??  kafka      assigned        12       -                  -"
                       "       2  broker down\n");
    ASSERT_CONTAINS(t, "output-1  counts  pprint       40         1.5 ms         0\n");
    ASSERT_CONTAINS(t, "totals  reduce_by_key_and_window 30s/10s    12  3.4 KiB\n");
    ASSERT_CONTAINS(t, "checkpoint  5 written to /tmp/ck, 0 failed; last at ");
    ASSERT_CONTAINS(t, ", 812 B in 950 us)\n");
    /* the plugins' own figures, last */
    ASSERT_CONTAINS(t, ")\n\nPLUGIN METRICS\n"
                       "STREAM  PLUGIN  NAME            TYPE     VALUE\n"
                       "ev      kafka   lag             gauge     2700\n"
                       "lines   socket  lines_too_long  counter      3\n");
    CU_ASSERT_PTR_NULL(strchr(t, '\x1b'));
    free(t);
}

static void test_frame_cut(void) {
    char *t = frame(30, 6, "cannot reach http://127.0.0.1:4195: connection refused; retrying");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    int lines = 0;
    for (char *p = t, *nl; (nl = strchr(p, '\n')); p = nl + 1, lines++) {
        *nl = 0;
        CU_ASSERT(sl__top_text_width(p) <= 30);
        if (lines == 1)
            ASSERT_STR_EQ(p, "cannot reach http://127.0.0.1:"); /* the problem, cut */
        *nl = '\n';
    }
    ASSERT_INT_EQ(lines, 6);
    free(t);
    t = frame(0, 0, "cannot reach x: connection refused; retrying");
    ASSERT_CONTAINS(t, "\ncannot reach x: connection refused; retrying (the figures below are "
                       "1m05s old)\n");
    free(t);
    /* wide characters count two columns */
    ASSERT_INT_EQ(sl__top_text_width("\xe4\xb8\xad\xe6\x96\x87x"), 5);
}

static void test_frame_without_status(void) {
    sl__top_view v = {.url = "http://h:1", .interval_ms = 1000, .interactive = 1};
    sl__top_data d = {NULL, NULL, NULL};
    char *t = sl__top_render(&v, &d);
    ASSERT_STR_EQ(t, "sluice top  http://h:1   q: quit\nwaiting for the first answer\n");
    free(t);
    /* any JSON shape: fields of the wrong type show as '-' */
    sl_mem *mem = sl_host_api()->mem_new();
    sl_value st = json("{\"state\":5,\"sources\":{\"stream\":1},\"outputs\":[7,null],"
                       "\"checkpoint\":[],\"batches_completed\":\"x\"}",
                       mem);
    d.status = &st;
    v.interactive = 0;
    t = sl__top_render(&v, &d);
    ASSERT_CONTAINS(t, "\nstate -\n");
    ASSERT_CONTAINS(t, "batches - completed, - failed, - waiting\n");
    ASSERT_CONTAINS(t, "\n-     -       -           -              -         -\n");
    ASSERT_CONTAINS(t, "checkpoint  -\n");
    CU_ASSERT_PTR_NULL(strstr(t, "PLUGIN METRICS")); /* an older server: no section */
    free(t);
    /* numbers no running sluice sends: beyond long long and time_t, or negative, are '?'
     * (fuzz_top: converting 1e101 to long long is undefined; UBSan stopped on it) */
    st = json("{\"batch_interval_ms\":1e101,\"checkpoint\":{\"enabled\":true,"
              "\"last_written\":1e300,\"last_batch_time\":-1}}",
              mem);
    t = sl__top_render(&v, &d);
    ASSERT_CONTAINS(t, "batch interval ?   refresh 1s\n");
    ASSERT_CONTAINS(t, "; last at ? (batch ?");
    free(t);
    st = json("{\"batch_interval_ms\":-2000}", mem);
    t = sl__top_render(&v, &d);
    ASSERT_CONTAINS(t, "batch interval ?   refresh 1s\n");
    free(t);
    sl_host_api()->mem_free(mem);
}

UNIT_MAIN("top", {"URLs", test_url}, {"response framing", test_response_framing},
          {"refused responses", test_response_refused}, {"the frame's figures", test_frame_figures},
          {"cut to width and height", test_frame_cut},
          {"no status, or any shape", test_frame_without_status})

/*
 * test_status.c — the status line's text (core/src/status.c,
 * sl__status_format): the input rate over the batches given, processing
 * time against the interval, the batches waiting (system clock only), the
 * sources' states, and the cut to a width that never splits a character.
 */
#define UNIT_ENGINE
#include "unit.h"

#include <string.h>

#include "internal.h"

static int rx_idle(void *ud, sl_handle *h, sl_error *err) {
    (void)ud;
    (void)h;
    (void)err;
    return SL_EOF;
}

/* A batch event at `t` that ended `end_after` ms after its batch time. */
static sl_batch_event batch_at(int64_t t, int64_t proc, int64_t end_after) {
    sl_batch_event b = {0};
    b.batch_time = t;
    b.processing_time = proc;
    b.processing_end = t + end_after;
    return b;
}

/* Rate: 300 + 100 records over two 1 s batches is 200.0 rec/s; a batch
 * that ended 3.5 intervals after its time leaves 3 ticks waiting (t + 1 s,
 * 2 s, 3 s) with the system clock and none with the manual clock; no source reports a state:
 * no sources segment. */
static void test_figures(void) {
    sl_context *ctx = sl_context_new(1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sl_receiver_stream(ctx, "lines", rx_idle, NULL));
    int64_t recent[2] = {300, 100};
    sl_batch_event b = batch_at(1000000000000, 2500, 3500);
    char line[256];
    sl__status_format(ctx, &b, 7, recent, 2, 200, line, sizeof line);
    ASSERT_CONTAINS(line, "#7 ");
    ASSERT_CONTAINS(line, "| 200.0 rec/s | proc 2500/1000 ms | 3 waiting");
    CU_ASSERT(strstr(line, "lines") == NULL);
    b = batch_at(1000000000000, 12, 12);
    sl__status_format(ctx, &b, 8, recent, 1, 200, line, sizeof line);
    ASSERT_CONTAINS(line, "| 300.0 rec/s | proc 12/1000 ms | 0 waiting");
    sl_context_set_clock(ctx, SL_CLOCK_MANUAL);
    b = batch_at(1000000000000, 2500, 3500);
    sl__status_format(ctx, &b, 9, recent, 2, 200, line, sizeof line);
    ASSERT_CONTAINS(line, "| 0 waiting");
    sl_context_free(ctx);
}

/* One source that reports: its name and state, with the detail while not
 * connected; several: how many are connected; a cut at `width` columns
 * counts a UTF-8 character as one column and never splits it. */
static void test_sources_and_width(void) {
    sl_context *ctx = sl_context_new(1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    sl_stream *a = sl_receiver_stream(ctx, "lines", rx_idle, NULL);
    sl_stream *b = sl_receiver_stream(ctx, "événements", rx_idle, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    sl_batch_event ev = batch_at(1000000000000, 1, 1);
    int64_t recent[1] = {0};
    char line[512];
    sl__host.source_state(a->fn.handle, SL_SOURCE_DISCONNECTED,
                          "127.0.0.1:1: refused (3 attempts)");
    sl__status_format(ctx, &ev, 1, recent, 1, 300, line, sizeof line);
    ASSERT_CONTAINS(line, "| lines: disconnected (127.0.0.1:1: refused (3 ...)"); /* 24 columns */
    sl__host.source_state(a->fn.handle, SL_SOURCE_CONNECTED, "127.0.0.1:1");
    sl__status_format(ctx, &ev, 1, recent, 1, 300, line, sizeof line);
    CU_ASSERT_FATAL(strlen(line) > 18);
    ASSERT_STR_EQ(line + strlen(line) - 18, "| lines: connected");
    sl__host.source_state(b->fn.handle, SL_SOURCE_CONNECTING, "x");
    sl__status_format(ctx, &ev, 1, recent, 1, 300, line, sizeof line);
    ASSERT_CONTAINS(line, "| 1/2 sources connected");
    /* one source reporting, with a name of 2-byte characters, cut mid-name */
    sl__host.source_state(a->fn.handle, 0, NULL); /* ignored: a stays connected */
    sl_context *c2 = sl_context_new(1000);
    sl_stream *e = sl_receiver_stream(c2, "éééééééééé", rx_idle, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    sl__host.source_state(e->fn.handle, SL_SOURCE_CONNECTED, NULL);
    sl__status_format(c2, &ev, 1, recent, 1, 1000, line, sizeof line);
    const char *name = strstr(line, "| é");
    CU_ASSERT_PTR_NOT_NULL_FATAL(name);
    int width = (int)(name - line) + 2 + 3; /* up to "| " and three é */
    sl__status_format(c2, &ev, 1, recent, 1, width, line, sizeof line);
    ASSERT_STR_EQ(strstr(line, "| é"), "| ééé");
    sl_context_free(c2);
    sl_context_free(ctx);
}

UNIT_MAIN("status", {"rate, proc, waiting", test_figures},
          {"sources and the width", test_sources_and_width})

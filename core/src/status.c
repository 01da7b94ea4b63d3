/*
 * status.c — the live status line on stderr, and what the sources' states
 * say at the end of a run.
 *
 * The status line is a listener: after every batch it shows
 *   #12 14:09:28 | 120.5 rec/s | proc 12/1000 ms | 0 waiting | lines: connected
 * the batch's number and time, the input rate over the last 10 batches,
 * the batch's processing time against the interval, the batches due but not
 * started (the backlog a slow pipeline builds), and the sources that report
 * a connection state: one by name and state, several as "2/3 sources
 * connected". On a terminal it is redrawn in place, cut to the terminal's
 * width (TIOCGWINSZ; the last column stays free so that the cursor does not
 * wrap), cleared before an output writes (pprint's lines must not mix with
 * it) and ended with a newline when the run ends; elsewhere (--status into a
 * file or a pipe) each status is a line of its own, at most 80 columns.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "context.h"
#include "handle.h"
#include "log.h"
#include "ops/op.h"
#include "status.h"

#define STATUS_WINDOW 10     /* batches in the input rate */
#define STATUS_WIDTH 80      /* columns when stderr is not a terminal */
#define STATUS_DETAIL_MAX 24 /* columns of a lone source's detail */

struct sl__status {
    int id;        /* the listener's */
    bool terminal; /* stderr is a terminal: redraw in place */
    int64_t recent[STATUS_WINDOW];
    int nrecent, next;
};

/* Append printf-style text to buf[*n..cap). */
static void put(char *buf, size_t cap, size_t *n, const char *fmt, ...) SL_PRINTF(4, 5);
static void put(char *buf, size_t cap, size_t *n, const char *fmt, ...) {
    if (*n >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (w > 0)
        *n += (size_t)w;
    if (*n >= cap)
        *n = cap - 1;
}

/* Cut buf to at most `width` columns (a column per UTF-8 character), never
 * inside a character. */
static void cut_to_width(char *buf, int width) {
    int cols = 0;
    for (size_t i = 0; buf[i]; i++) {
        if (((unsigned char)buf[i] & 0xc0) == 0x80)
            continue; /* a continuation byte: same column */
        if (cols++ == width) {
            buf[i] = 0;
            return;
        }
    }
}

/* The sources segment: "lines: connected", or "lines: disconnected
 * (127.0.0.1:9999: Connection refused (3 attempts))" cut to
 * STATUS_DETAIL_MAX columns, for one source that reports states; "2/3
 * sources connected" for several; nothing when none reports any. */
static void put_sources(sl_context *ctx, char *buf, size_t cap, size_t *n) {
    int reporting = 0, ready = 0, state = 0;
    const sl_stream *one = NULL;
    char detail[256] = "";
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (!sl__stream_is(s, SL__OPF_SOURCE))
            continue;
        int st = sl__handle_source_state(s->fn.handle, reporting ? NULL : detail, sizeof detail);
        if (!st)
            continue;
        if (!reporting++) {
            one = s;
            state = st;
        }
        ready += st == SL_SOURCE_CONNECTED || st == SL_SOURCE_ASSIGNED;
    }
    if (reporting == 1) {
        put(buf, cap, n, " | %s: %s", one->name, sl__source_state_name(state));
        bool up = state == SL_SOURCE_CONNECTED || state == SL_SOURCE_ASSIGNED;
        if (detail[0] && !up) { /* why it is not connected; once it is, the name says enough */
            char d[STATUS_DETAIL_MAX * 4 + 1];
            size_t len = strlen(detail) < sizeof d - 1 ? strlen(detail) : sizeof d - 1;
            memcpy(d, detail, len);
            d[len] = 0;
            cut_to_width(d, STATUS_DETAIL_MAX);
            put(buf, cap, n, " (%s%s)", d, strlen(d) < strlen(detail) ? "..." : "");
        }
    } else if (reporting > 1) {
        put(buf, cap, n, " | %d/%d sources connected", ready, reporting);
    }
}

void sl__status_format(sl_context *ctx, const sl_batch_event *b, int64_t batches_done,
                       const int64_t *recent, int nrecent, int width, char *buf, size_t cap) {
    size_t n = 0;
    time_t sec = (time_t)(b->batch_time / 1000);
    struct tm tm;
    localtime_r(&sec, &tm);
    int64_t sum = 0;
    for (int i = 0; i < nrecent; i++)
        sum += recent[i];
    double rate = nrecent ? (double)sum * 1000.0 / ((double)nrecent * (double)ctx->interval) : 0;
    /* ticks that came while this batch ran and have not started yet */
    int64_t next = b->batch_time + ctx->interval, waiting = 0;
    if (ctx->clock == SL_CLOCK_SYSTEM && b->processing_end >= next)
        waiting = (b->processing_end - next) / ctx->interval + 1;
    put(buf, cap, &n, "#%lld %02d:%02d:%02d | %.1f rec/s | proc %lld/%lld ms | %lld waiting",
        (long long)batches_done, tm.tm_hour, tm.tm_min, tm.tm_sec, rate,
        (long long)b->processing_time, (long long)ctx->interval, (long long)waiting);
    put_sources(ctx, buf, cap, &n);
    cut_to_width(buf, width);
}

/* The terminal's width in columns, or 0 when stderr is not a terminal. */
static int terminal_width(void) {
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return STATUS_WIDTH;
}

/* The listener: a status after every batch that succeeded; cleared before
 * an output writes. */
static void status_listener(void *user, const sl_event *ev) {
    struct sl__status *st = user;
    if (ev->kind == SL_EVENT_OUTPUT_STARTED) {
        if (st->terminal)
            sl__status_clear();
        return;
    }
    const sl_batch_event *b = &ev->u.batch;
    if (ev->kind != SL_EVENT_BATCH_COMPLETED || b->error)
        return;
    st->recent[st->next] = b->records;
    st->next = (st->next + 1) % STATUS_WINDOW;
    if (st->nrecent < STATUS_WINDOW)
        st->nrecent++;
    int width = st->terminal ? terminal_width() - 1 : STATUS_WIDTH;
    char line[1024];
    sl__status_format(ev->ctx, b, sl_context_batches_done(ev->ctx), st->recent, st->nrecent,
                      width > 0 ? width : 1, line, sizeof line);
    sl__status_show(line, st->terminal);
}

int sl__status_start(sl_context *ctx) {
    if (!ctx->status || ctx->status_line)
        return 0;
    struct sl__status *st = calloc(1, sizeof *st);
    if (!st)
        return SL_ENOMEM;
    st->terminal = isatty(STDERR_FILENO);
    st->id = sl_context_add_listener(
        ctx, SL_EVENT_MASK(SL_EVENT_BATCH_COMPLETED) | SL_EVENT_MASK(SL_EVENT_OUTPUT_STARTED),
        status_listener, st);
    if (st->id < 0) {
        int rc = st->id;
        free(st);
        return rc;
    }
    ctx->status_line = st;
    return 0;
}

void sl__status_stop(sl_context *ctx) {
    struct sl__status *st = ctx->status_line;
    if (!st)
        return;
    sl_context_remove_listener(ctx, st->id);
    sl__status_end();
    ctx->status_line = NULL;
    free(st);
}

/* A source that reports states and was never ready, or NULL if s is not. */
static bool never_connected(const sl_stream *s) {
    return sl__stream_is(s, SL__OPF_SOURCE) && !sl__handle_source_ready(s->fn.handle);
}

int sl__status_check_sources(sl_context *ctx) {
    int n = 0;
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (!never_connected(s))
            continue;
        char detail[256];
        sl__handle_source_state(s->fn.handle, detail, sizeof detail);
        sl__log(SL_LOG_ERROR, "source '%s' (%s) never connected%s%s", s->name, s->fn.handle->ref,
                detail[0] ? " to " : "", detail);
        n++;
    }
    return n;
}

int sl_context_sources_never_connected(const sl_context *ctx) {
    if (!ctx || ctx->state == SL__NEW)
        return 0;
    int n = 0;
    for (size_t i = 0; i < ctx->nstreams; i++)
        n += never_connected(ctx->streams[i]);
    return n;
}

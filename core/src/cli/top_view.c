/*
 * cli/top_view.c — one frame of `sluice top`, drawn from the parsed JSON of
 * the HTTP API (/work's OBS spec: /api/v1/status, /batches, /graph).
 *
 * Pure: values in, text out, no terminal and no socket, so the same code
 * draws the live view, the plain --once frame and the fuzz target's frames.
 * Everything that comes from the server is untrusted text: it is cleaned
 * (control bytes and bytes that are not UTF-8 become '?') before it is
 * measured, padded and cut to the width, so that a stream named
 * "\x1b[2J" cannot move the cursor and a long error cannot wrap a line.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "top.h"
#include "../utf8.h"

/* ---- text --------------------------------------------------------------------------------- */

/* Columns of a code point: 2 for the East Asian wide ranges, else 1 (a
 * combining mark counts 1 too: a line may end a column short, never long). */
static int cp_width(uint32_t c) {
    return (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf && c != 0x303f) ||
                   (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
                   (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
                   (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
                   (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd)
               ? 2
               : 1;
}

int sl__top_text_width(const char *s) {
    int w = 0;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int l = (int)sl__utf8_decode((const unsigned char *)s + i, n - i, &cp);
        w += l ? cp_width(cp) : 1;
        i += l ? (size_t)l : 1;
    }
    return w;
}

/* Copy s[0..n) into dst (cap > 0 bytes, NUL-terminated), cleaned: a
 * control character (C0, DEL, C1) or a byte that is not UTF-8 becomes '?'.
 * Cut at a whole character when it does not fit. */
static void clean(const char *s, size_t n, char *dst, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int l = (int)sl__utf8_decode((const unsigned char *)s + i, n - i, &cp);
        int bad = !l || cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
        size_t out = bad ? 1 : (size_t)l;
        if (o + out >= cap)
            break;
        if (bad)
            dst[o] = '?';
        else
            memcpy(dst + o, s + i, out);
        o += out;
        i += l ? (size_t)l : 1;
    }
    dst[o] = '\0';
}

/* ---- fields ------------------------------------------------------------------------------- */

/* The field `name` of object o (NULL when o is NULL, not an object, or has
 * no such field). */
static const sl_value *get(const sl_value *o, const char *name) {
    return o ? sl_object_get(o, name) : NULL;
}

/* A number field as a double: 1 if o.name is a number, else 0. */
static int get_num(const sl_value *o, const char *name, double *out) {
    const sl_value *v = get(o, name);
    if (v && v->type == SL_INT)
        *out = (double)v->u.i;
    else if (v && v->type == SL_DOUBLE && isfinite(v->u.d))
        *out = v->u.d;
    else
        return 0;
    return 1;
}

/* A string field, cleaned into buf: buf, or NULL if it is not a string. */
static const char *get_text(const sl_value *o, const char *name, char *buf, size_t cap) {
    const sl_value *v = get(o, name);
    if (!v || v->type != SL_BYTES)
        return NULL;
    clean(v->u.s, v->len, buf, cap);
    return buf;
}

/* A string field cleaned into buf, or "-" when it is not a string. */
static const char *text_or_dash(const sl_value *o, const char *name, char *buf, size_t cap) {
    const char *t = get_text(o, name, buf, cap);
    return t ? t : "-";
}

/* A list field's items and count (0 when it is not a list). */
static size_t get_list(const sl_value *o, const char *name, const sl_value **items) {
    const sl_value *v = get(o, name);
    if (!v || v->type != SL_LIST)
        return 0;
    *items = v->u.items;
    return v->len;
}

/* ---- numbers ------------------------------------------------------------------------------ */

/* A count: "1234", or "-" when absent. Numbers past 1e15 in %g form. */
static const char *fmt_count(const sl_value *o, const char *name, char *buf, size_t cap) {
    double d;
    if (!get_num(o, name, &d))
        return "-";
    snprintf(buf, cap, fabs(d) < 1e15 ? "%.0f" : "%.3g", d);
    return buf;
}

/* Bytes with a binary unit: "812 B", "3.4 KiB", "64.0 MiB". */
static const char *fmt_bytes(double b, char *buf, size_t cap) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (fabs(b) >= 1024 && u < 5)
        b /= 1024, u++;
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", b, units[u]);
    return buf;
}

/* A field of bytes, or "-". */
static const char *fmt_bytes_field(const sl_value *o, const char *name, char *buf, size_t cap) {
    double d;
    return get_num(o, name, &d) ? fmt_bytes(d, buf, cap) : "-";
}

/* Milliseconds: "0.4 ms", "2.10 s". */
static const char *fmt_ms(double ms, char *buf, size_t cap) {
    if (fabs(ms) < 1000)
        snprintf(buf, cap, "%.1f ms", ms);
    else
        snprintf(buf, cap, "%.2f s", ms / 1000);
    return buf;
}

/* Microseconds: "120 us", "1.2 ms", "3.40 s". */
static const char *fmt_us(double us, char *buf, size_t cap) {
    if (fabs(us) < 1000)
        snprintf(buf, cap, "%.0f us", us);
    else
        fmt_ms(us / 1000, buf, cap);
    return buf;
}

/* A time of day (local): "14:02:07", from ms since the epoch. */
static const char *fmt_clock(double ms, char *buf, size_t cap) {
    struct tm tm;
    /* The range is checked before the conversion: a double outside time_t's range (1e300,
     * NaN from a server) must not be converted at all. */
    time_t t = ms >= 0 && ms <= 1e15 ? (time_t)(ms / 1000) : -1;
    if (t < 0 || !localtime_r(&t, &tm) || !strftime(buf, cap, "%H:%M:%S", &tm))
        snprintf(buf, cap, "?");
    return buf;
}

/* A span: "45s", "5m03s", "2h05m03s", "3d02h05m". */
static const char *fmt_span(double ms, char *buf, size_t cap) {
    long long s = ms > 0 && ms < 1e15 ? (long long)(ms / 1000) : 0;
    if (s < 60)
        snprintf(buf, cap, "%llds", s);
    else if (s < 3600)
        snprintf(buf, cap, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, cap, "%lldh%02lldm%02llds", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, cap, "%lldd%02lldh%02lldm", s / 86400, s / 3600 % 24, s / 60 % 60);
    return buf;
}

/* An interval as written in a pipeline: "1s", "500ms", "2m"; "?" for what no interval is
 * (negative, NaN, infinite or beyond 1e15 ms: a server's number is checked before it is
 * converted, as one outside long long's range cannot be). */
static const char *fmt_interval(double ms, char *buf, size_t cap) {
    if (!(ms >= 0 && ms <= 1e15)) {
        snprintf(buf, cap, "?");
        return buf;
    }
    long long m = (long long)ms;
    if (ms != (double)m || m <= 0 || m % 1000)
        snprintf(buf, cap, "%.0fms", ms);
    else if (m % 60000 == 0)
        snprintf(buf, cap, "%lldm", m / 60000);
    else
        snprintf(buf, cap, "%llds", m / 1000);
    return buf;
}

/* ---- the frame ---------------------------------------------------------------------------- */

#define LINE_CAP 8192 /* bytes of one line before it is cut to the width */

typedef struct frame {
    const sl__top_view *v;
    char *buf; /* the lines so far, each ending in '\n' */
    size_t len, cap;
    int lines;
    int oom;
    char line[LINE_CAP]; /* the line being built (clean text only) */
    size_t llen;
} frame;

/* Append clean text to the current line, whole characters only. */
static void add(frame *f, const char *s) {
    size_t n = strlen(s);
    if (f->llen + n >= LINE_CAP) {
        n = LINE_CAP - 1 - f->llen;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* not into the middle of a character */
    }
    memcpy(f->line + f->llen, s, n);
    f->llen += n;
    f->line[f->llen] = '\0';
}

/* printf onto the current line; every %s argument must be clean text. */
__attribute__((format(printf, 2, 3))) static void addf(frame *f, const char *fmt, ...) {
    char tmp[LINE_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    add(f, tmp);
}

/* Append s, then spaces up to `cols` columns (s cut to them if longer). */
static void add_padded(frame *f, const char *s, int cols, int right) {
    int w = sl__top_text_width(s);
    if (right)
        for (int i = w; i < cols; i++)
            add(f, " ");
    if (w <= cols) {
        add(f, s);
    } else { /* cut: whole characters within cols - 1, then '~' */
        size_t n = strlen(s), i = 0;
        int used = 0;
        while (i < n) {
            uint32_t cp;
            int l = (int)sl__utf8_decode((const unsigned char *)s + i, n - i, &cp);
            int cw = l ? cp_width(cp) : 1;
            if (used + cw > cols - 1)
                break;
            used += cw;
            i += l ? (size_t)l : 1;
        }
        char tmp[LINE_CAP];
        snprintf(tmp, sizeof tmp, "%.*s~", (int)i, s);
        add(f, tmp);
        w = used + 1;
    }
    if (!right)
        for (int i = w; i < cols; i++)
            add(f, " ");
}

/* Grow the frame's buffer to hold n more bytes: 0, or -1 (oom set). */
static int reserve(frame *f, size_t n) {
    if (f->len + n + 1 <= f->cap)
        return 0;
    size_t cap = f->cap ? f->cap : 4096;
    while (cap < f->len + n + 1)
        cap *= 2;
    char *nb = realloc(f->buf, cap);
    if (!nb) {
        f->oom = 1;
        return -1;
    }
    f->buf = nb, f->cap = cap;
    return 0;
}

/* End the current line: cut it to the width (trailing blanks dropped) and
 * add it to the frame, unless the frame already has height lines. */
static void endl(frame *f) {
    size_t n = f->llen, i = 0;
    int used = 0, width = f->v->width;
    while (i < n && width > 0) {
        uint32_t cp;
        int l = (int)sl__utf8_decode((const unsigned char *)f->line + i, n - i, &cp);
        int cw = l ? cp_width(cp) : 1;
        if (used + cw > width)
            break;
        used += cw;
        i += l ? (size_t)l : 1;
    }
    if (width > 0)
        n = i;
    while (n > 0 && f->line[n - 1] == ' ')
        n--;
    f->llen = 0;
    if ((f->v->height > 0 && f->lines >= f->v->height) || reserve(f, n + 1) < 0)
        return;
    memcpy(f->buf + f->len, f->line, n);
    f->len += n;
    f->buf[f->len++] = '\n';
    f->buf[f->len] = '\0';
    f->lines++;
}

/* ---- tables ------------------------------------------------------------------------------- */

#define MAX_COLS 10
#define CELL_CAP 512
#define COL_MAX 40 /* a column is at most this wide, but the last one */

/* A table of clean cells, drawn with a header line and columns as wide as
 * their widest cell. */
typedef struct table {
    int ncols;
    const char *head[MAX_COLS];
    int right[MAX_COLS]; /* numbers are right-aligned */
    char (*cells)[CELL_CAP];
    size_t nrows;
} table;

/* Set row r, column c of t to the clean text s. */
static void cell(table *t, size_t r, int c, const char *s) {
    snprintf(t->cells[r * (size_t)t->ncols + (size_t)c], CELL_CAP, "%s", s);
}

static void table_draw(frame *f, const table *t) {
    int w[MAX_COLS];
    for (int c = 0; c < t->ncols; c++) {
        w[c] = sl__top_text_width(t->head[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            int cw = sl__top_text_width(t->cells[r * (size_t)t->ncols + (size_t)c]);
            w[c] = cw > w[c] ? cw : w[c];
        }
        if (c < t->ncols - 1 && w[c] > COL_MAX)
            w[c] = COL_MAX;
    }
    for (size_t r = 0; r <= t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *s = r == 0 ? t->head[c] : t->cells[(r - 1) * (size_t)t->ncols + (size_t)c];
            if (c)
                add(f, "  ");
            add_padded(f, s, c == t->ncols - 1 && !t->right[c] ? sl__top_text_width(s) : w[c],
                       t->right[c]);
        }
        endl(f);
    }
}

/* Allocate the cells of a table of n rows: 0, or -1 (oom set). */
static int table_alloc(frame *f, table *t, size_t n) {
    t->nrows = n;
    t->cells = calloc(n ? n * (size_t)t->ncols : 1, CELL_CAP);
    if (!t->cells)
        f->oom = 1;
    return t->cells ? 0 : -1;
}

/* ---- sections ----------------------------------------------------------------------------- */

/* The title, and the problem line when the data is not fresh. */
static void draw_title(frame *f, const sl_value *st) {
    const sl__top_view *v = f->v;
    char ver[64], url[1024];
    clean(v->url, strlen(v->url), url, sizeof url);
    addf(f, "sluice top  %s", url);
    double pid;
    if (get_text(st, "version", ver, sizeof ver))
        addf(f, "  (sluice %s", ver);
    if (get_num(st, "pid", &pid))
        addf(f, "%spid %.0f", get(st, "version") ? ", " : "  (", pid);
    if (get(st, "version") || get_num(st, "pid", &pid))
        add(f, ")");
    if (v->interactive)
        add(f, "   q: quit");
    endl(f);
    if (v->problem) {
        char p[1024], age[32];
        clean(v->problem, strlen(v->problem), p, sizeof p);
        add(f, p);
        if (st)
            addf(f, " (the figures below are %s old)",
                 fmt_span((double)v->age_ms, age, sizeof age));
        endl(f);
    }
}

/* state, uptime, interval; batches; delays; process. */
static void draw_summary(frame *f, const sl_value *st) {
    char a[64], b[64], c[64], state[64], err[1024];
    double start, now, x;
    addf(f, "state %s", text_or_dash(st, "state", state, sizeof state));
    if (get_text(st, "error", err, sizeof err))
        addf(f, ": %s", err);
    endl(f);
    if (get_num(st, "start_time", &start) && get_num(st, "now", &now))
        addf(f, "uptime %s   ", fmt_span(now - start, a, sizeof a));
    if (get_num(st, "batch_interval_ms", &x))
        addf(f, "batch interval %s   ", fmt_interval(x, a, sizeof a));
    addf(f, "refresh %s", fmt_interval((double)f->v->interval_ms, a, sizeof a));
    if (get_num(get(st, "process"), "rss_bytes", &x))
        addf(f, "   rss %s", fmt_bytes(x, a, sizeof a));
    if (get_num(get(st, "process"), "cpu_seconds", &x))
        addf(f, "   cpu %.2f s", x);
    endl(f);
    addf(f, "batches %s completed, %s failed, %s waiting",
         fmt_count(st, "batches_completed", a, sizeof a),
         fmt_count(st, "batches_failed", b, sizeof b),
         fmt_count(st, "batches_waiting", c, sizeof c));
    if (get_num(st, "input_rate", &x))
        addf(f, "   input %.1f records/s", x);
    endl(f);
    add(f, "average of the last 10 batches: scheduling delay ");
    add(f, get_num(st, "avg_scheduling_delay_ms", &x) ? fmt_ms(x, a, sizeof a) : "-");
    add(f, ", processing ");
    add(f, get_num(st, "avg_processing_time_ms", &x) ? fmt_ms(x, a, sizeof a) : "-");
    add(f, ", total delay ");
    add(f, get_num(st, "avg_total_delay_ms", &x) ? fmt_ms(x, a, sizeof a) : "-");
    endl(f);
}

/* The last batch, and a sparkline of the processing time of the batches
 * of /api/v1/batches (oldest first): a failed one is '!'. */
static void draw_batches(frame *f, const sl_value *st, const sl_value *bat) {
    static const char *const blocks[] = {"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83",
                                         "\xe2\x96\x84", "\xe2\x96\x85", "\xe2\x96\x86",
                                         "\xe2\x96\x87", "\xe2\x96\x88"};
    static const char ascii[] = "_.-:=+*#";
    const sl_value *last = get(st, "last_batch"), *items = NULL;
    char a[64], b[64], s[32], err[1024];
    double t, x;
    if (last && last->type == SL_OBJECT) {
        addf(f, "last batch %s: %s records, %s",
             get_num(last, "batch_time", &t) ? fmt_clock(t, a, sizeof a) : "-",
             fmt_count(last, "records", b, sizeof b), text_or_dash(last, "status", s, sizeof s));
        if (get_num(last, "processing_time_ms", &x))
            addf(f, " in %s", fmt_ms(x, a, sizeof a));
        if (get_text(last, "error", err, sizeof err))
            addf(f, ": %s", err);
        endl(f);
    }
    size_t n = get_list(bat, "batches", &items), first = 0;
    if (!n) {
        add(f, bat ? "processing time: no batches yet" : "processing time: -");
        endl(f);
        return;
    }
    char label[128];
    int room = f->v->width > 0 ? f->v->width : 120;
    snprintf(label, sizeof label, "processing time, last %zu batches (max ", n);
    room -= sl__top_text_width(label) + 16;
    if (room < 8)
        room = 8;
    if (n > (size_t)room)
        first = n - (size_t)room;
    double max = 0;
    for (size_t i = first; i < n; i++)
        if (get_num(&items[i], "processing_time_ms", &x) && x > max)
            max = x;
    snprintf(label, sizeof label, "processing time, last %zu batches (max %s): ", n - first,
             fmt_ms(max, a, sizeof a));
    add(f, label);
    for (size_t i = first; i < n; i++) {
        char st_text[16];
        int failed = get_text(&items[i], "status", st_text, sizeof st_text) &&
                     strcmp(st_text, "failed") == 0;
        int level = get_num(&items[i], "processing_time_ms", &x) && max > 0 && x > 0
                        ? (int)lround(x / max * 7)
                        : 0;
        level = level < 0 ? 0 : level > 7 ? 7 : level;
        char one[2] = {ascii[level], 0};
        add(f, failed ? "!" : f->v->utf8 ? blocks[level] : one);
    }
    endl(f);
}

/* The buffer column of a receiver: "0.0% of 64.0 MiB", or "-". */
static const char *fmt_buffer(const sl_value *src, char *buf, size_t cap) {
    double used, limit;
    char l[32];
    if (!get_num(src, "buffer_bytes", &used))
        return "-";
    if (!get_num(src, "buffer_limit_bytes", &limit) || limit <= 0)
        return fmt_bytes(used, buf, cap);
    snprintf(buf, cap, "%.1f%% of %s", used / limit * 100, fmt_bytes(limit, l, sizeof l));
    return buf;
}

static void draw_sources(frame *f, const sl_value *st) {
    const sl_value *src = NULL;
    size_t n = get_list(st, "sources", &src);
    table t = {
        .ncols = 8,
        .head = {"STREAM", "COMPONENT", "STATE", "RECORDS", "RATE/S", "BUFFER", "ERRORS", "DETAIL"},
        .right = {0, 0, 0, 1, 1, 1, 1, 0}};
    char a[CELL_CAP];
    double x;
    add(f, "SOURCES");
    endl(f);
    if (table_alloc(f, &t, n) < 0)
        return;
    for (size_t r = 0; r < n; r++) {
        const sl_value *s = &src[r];
        cell(&t, r, 0, text_or_dash(s, "stream", a, sizeof a));
        cell(&t, r, 1, text_or_dash(s, "source", a, sizeof a));
        cell(&t, r, 2, text_or_dash(s, "state", a, sizeof a));
        cell(&t, r, 3, fmt_count(s, "records_total", a, sizeof a));
        if (get_num(s, "rate", &x))
            snprintf(a, sizeof a, "%.1f", x);
        cell(&t, r, 4, get_num(s, "rate", &x) ? a : "-");
        cell(&t, r, 5, fmt_buffer(s, a, sizeof a));
        cell(&t, r, 6, fmt_count(s, "errors_total", a, sizeof a));
        /* the last error says more than the address, when there is one */
        const char *d = get_text(s, "last_error", a, sizeof a);
        cell(&t, r, 7, d ? d : text_or_dash(s, "detail", a, sizeof a));
    }
    table_draw(f, &t);
    free(t.cells);
}

static void draw_outputs(frame *f, const sl_value *st) {
    const sl_value *out = NULL;
    size_t n = get_list(st, "outputs", &out);
    table t = {.ncols = 6,
               .head = {"NAME", "STREAM", "SINK", "RECORDS", "LAST DURATION", "FAILURES"},
               .right = {0, 0, 0, 1, 1, 1}};
    char a[CELL_CAP];
    double x;
    add(f, "OUTPUTS");
    endl(f);
    if (table_alloc(f, &t, n) < 0)
        return;
    for (size_t r = 0; r < n; r++) {
        const sl_value *o = &out[r];
        cell(&t, r, 0, text_or_dash(o, "name", a, sizeof a));
        cell(&t, r, 1, text_or_dash(o, "stream", a, sizeof a));
        cell(&t, r, 2, text_or_dash(o, "sink", a, sizeof a));
        cell(&t, r, 3, fmt_count(o, "records_total", a, sizeof a));
        cell(&t, r, 4, get_num(o, "last_duration_us", &x) ? fmt_us(x, a, sizeof a) : "-");
        cell(&t, r, 5, fmt_count(o, "failures_total", a, sizeof a));
    }
    table_draw(f, &t);
    free(t.cells);
}

/* The graph's stream named name[0..n), or NULL. */
static const sl_value *graph_stream(const sl_value *graph, const sl_value *name) {
    const sl_value *items = NULL;
    size_t n = get_list(graph, "streams", &items);
    for (size_t i = 0; i < n; i++) {
        const sl_value *g = get(&items[i], "name");
        if (g && name && g->type == SL_BYTES && name->type == SL_BYTES && g->len == name->len &&
            memcmp(g->u.s, name->u.s, g->len) == 0)
            return &items[i];
    }
    return NULL;
}

/* Stateful streams, with their operation (and window) from the graph. */
static void draw_stateful(frame *f, const sl_value *st, const sl_value *graph) {
    const sl_value *items = NULL;
    size_t n = get_list(st, "stateful", &items);
    table t = {.ncols = 4, .head = {"STREAM", "OPERATION", "KEYS", "BYTES"}, .right = {0, 0, 1, 1}};
    char a[CELL_CAP], w[64], s[64];
    double win, slide;
    add(f, n ? "STATEFUL STREAMS" : "STATEFUL STREAMS  none");
    endl(f);
    if (!n || table_alloc(f, &t, n) < 0)
        return;
    for (size_t r = 0; r < n; r++) {
        const sl_value *g = graph_stream(graph, get(&items[r], "stream"));
        cell(&t, r, 0, text_or_dash(&items[r], "stream", a, sizeof a));
        if (!get_text(g, "op", a, sizeof a))
            strcpy(a, "-");
        if (get_num(g, "window_ms", &win)) {
            size_t l = strlen(a);
            snprintf(a + l, sizeof a - l, " %s", fmt_interval(win, w, sizeof w));
            if (get_num(g, "slide_ms", &slide)) {
                l = strlen(a);
                snprintf(a + l, sizeof a - l, "/%s", fmt_interval(slide, s, sizeof s));
            }
        }
        cell(&t, r, 1, a);
        cell(&t, r, 2, fmt_count(&items[r], "keys", a, sizeof a));
        cell(&t, r, 3, fmt_bytes_field(&items[r], "bytes", a, sizeof a));
    }
    table_draw(f, &t);
    free(t.cells);
}

static void draw_checkpoint(frame *f, const sl_value *st) {
    const sl_value *ck = get(st, "checkpoint"), *on = get(ck, "enabled");
    char dir[1024], a[64], b[64], c[64], d[64], err[1024];
    double t;
    if (!ck || ck->type != SL_OBJECT || !on || on->type != SL_BOOL || !on->u.i) {
        add(f, ck && ck->type == SL_OBJECT ? "checkpoint  off" : "checkpoint  -");
        endl(f);
        return;
    }
    addf(f, "checkpoint  %s written to %s, %s failed", fmt_count(ck, "written_total", a, sizeof a),
         text_or_dash(ck, "dir", dir, sizeof dir), fmt_count(ck, "failures_total", b, sizeof b));
    if (get_num(ck, "last_written", &t)) {
        addf(f, "; last at %s", fmt_clock(t, a, sizeof a));
        if (get_num(ck, "last_batch_time", &t))
            addf(f, " (batch %s", fmt_clock(t, b, sizeof b));
        addf(f, "%s%s", get_num(ck, "last_batch_time", &t) ? ", " : " (",
             fmt_bytes_field(ck, "last_bytes", c, sizeof c));
        if (get_num(ck, "last_duration_us", &t))
            addf(f, " in %s", fmt_us(t, d, sizeof d));
        add(f, ")");
    }
    if (get_text(ck, "last_error", err, sizeof err))
        addf(f, "; last error: %s", err);
    endl(f);
}

/* The plugins' own counters and gauges (drops, poison, lag, ...), last:
 * the section the terminal's height cuts first. */
static void draw_plugin_metrics(frame *f, const sl_value *st) {
    const sl_value *items = NULL;
    size_t n = get_list(st, "plugin_metrics", &items);
    table t = {.ncols = 5,
               .head = {"STREAM", "PLUGIN", "NAME", "TYPE", "VALUE"},
               .right = {0, 0, 0, 0, 1}};
    char a[CELL_CAP];
    add(f, n ? "PLUGIN METRICS" : "PLUGIN METRICS  none");
    endl(f);
    if (!n || table_alloc(f, &t, n) < 0)
        return;
    for (size_t r = 0; r < n; r++) {
        cell(&t, r, 0, text_or_dash(&items[r], "stream", a, sizeof a));
        cell(&t, r, 1, text_or_dash(&items[r], "plugin", a, sizeof a));
        cell(&t, r, 2, text_or_dash(&items[r], "name", a, sizeof a));
        cell(&t, r, 3, text_or_dash(&items[r], "type", a, sizeof a));
        cell(&t, r, 4, fmt_count(&items[r], "value", a, sizeof a));
    }
    table_draw(f, &t);
    free(t.cells);
}

char *sl__top_render(const sl__top_view *v, const sl__top_data *d) {
    frame *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->v = v;
    const sl_value *st = d->status && d->status->type == SL_OBJECT ? d->status : NULL;
    draw_title(f, st);
    if (st) {
        draw_summary(f, st);
        draw_batches(f, st, d->batches);
        endl(f);
        draw_sources(f, st);
        endl(f);
        draw_outputs(f, st);
        endl(f);
        draw_stateful(f, st, d->graph);
        endl(f);
        draw_checkpoint(f, st);
        if (get(st, "plugin_metrics")) { /* a server older than 2026-12-06 has none */
            endl(f);
            draw_plugin_metrics(f, st);
        }
    } else if (!v->problem) {
        add(f, "waiting for the first answer");
        endl(f);
    }
    char *out = f->oom ? NULL : f->buf;
    if (!out)
        free(f->buf);
    else if (!f->buf && !(out = calloc(1, 1)))
        out = NULL;
    free(f);
    return out;
}

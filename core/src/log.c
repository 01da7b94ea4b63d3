/*
 * log.c — process-wide logging to stderr and the live status line.
 *
 * Text lines look like
 *   2026-12-05T14:09:28.123Z WARN  lines (socket): cannot connect ...
 * (ISO-8601, UTC, milliseconds); with sl_log_set_format(SL_LOG_FORMAT_JSON)
 * each line is one JSON object instead:
 *   {"ts":"2026-12-05T14:09:28.123Z","level":"warn","stream":"lines",
 *    "component":"socket","msg":"cannot connect ..."}
 * ("stream" and "component" only when a component's handle logged it).
 * When a status line is showing on a terminal, a log line first clears it,
 * so the two never interleave. An embedding program may take the lines
 * instead (sl_set_log_callback): it then gets the level and the message
 * without the time stamp, one call at a time.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "log.h"
#include "value.h"

int sl__log_level = SL_LOG_WARN;
static int log_format = SL_LOG_FORMAT_TEXT;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static bool status_visible; /* a terminal's status line is showing (no newline yet) */
static sl_log_func log_fn;  /* guarded by log_lock */
static void *log_ud;

void sl_set_log_callback(sl_log_func fn, void *ud) {
    pthread_mutex_lock(&log_lock);
    log_fn = fn;
    log_ud = fn ? ud : NULL;
    pthread_mutex_unlock(&log_lock);
}

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
static const char *const level_json[] = {"error", "warn", "info", "debug"};

void sl_log_set_level(int level) {
    if (level < SL_LOG_ERROR)
        level = SL_LOG_ERROR;
    if (level > SL_LOG_DEBUG)
        level = SL_LOG_DEBUG;
    sl__log_level = level;
}

int sl_log_level_parse(const char *name) {
    if (!name)
        return -1;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    if (strcasecmp(name, "warning") == 0)
        return SL_LOG_WARN;
    return -1;
}

int sl_log_set_format(int format) {
    if (format != SL_LOG_FORMAT_TEXT && format != SL_LOG_FORMAT_JSON)
        return SL_EINVAL;
    log_format = format;
    return 0;
}

int sl_log_format_parse(const char *name) {
    if (name && strcasecmp(name, "text") == 0)
        return SL_LOG_FORMAT_TEXT;
    if (name && strcasecmp(name, "json") == 0)
        return SL_LOG_FORMAT_JSON;
    return -1;
}

/* "2026-12-05T14:09:28.123Z": now, in UTC, into buf (at least 25 bytes). */
static void iso_now(char *buf, size_t cap) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03dZ", (int)(tv.tv_usec / 1000) % 1000);
}

/* Append `s` to line[*n..cap) as a JSON string (bytes that are not UTF-8
 * as \udcXY, as everywhere in sluice). */
static void put_json_string(char *line, size_t cap, size_t *n, const char *s) {
    sl_value v = sl_bytes(s, strlen(s));
    if (*n < cap)
        *n += sl__value_format(&v, SL_FORMAT_JSON, line + *n, cap - *n);
}

/* Append printf-style text to line[*n..cap). */
static void put(char *line, size_t cap, size_t *n, const char *fmt, ...) SL_PRINTF(4, 5);
static void put(char *line, size_t cap, size_t *n, const char *fmt, ...) {
    if (*n >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(line + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (w > 0)
        *n += (size_t)w;
}

/* One JSON object for the line (without its newline) into line[cap]. */
static size_t format_json(char *line, size_t cap, const char *ts, int level, const char *stream,
                          const char *component, const char *msg) {
    size_t n = 0;
    put(line, cap, &n, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level_json[level]);
    if (stream) {
        put(line, cap, &n, ",\"stream\":");
        put_json_string(line, cap, &n, stream);
    }
    if (component) {
        put(line, cap, &n, ",\"component\":");
        put_json_string(line, cap, &n, component);
    }
    put(line, cap, &n, ",\"msg\":");
    put_json_string(line, cap, &n, msg);
    put(line, cap, &n, "}");
    if (n >= cap) { /* cut: still one valid object, the message shortened */
        char cut[512];
        snprintf(cut, sizeof cut, "%.400s ... (cut)", msg);
        return format_json(line, cap, ts, level, stream, component, cut);
    }
    return n;
}

/* Write one finished line (with its '\n') to stderr, erasing a terminal's
 * status line first. Under log_lock. */
static void write_line(const char *line, size_t n) {
    if (status_visible) {
        fputs("\r\033[K", stderr);
        status_visible = false;
    }
    fwrite(line, 1, n, stderr);
    fflush(stderr);
}

void sl__vlog_from(int level, const char *stream, const char *component, const char *fmt,
                   va_list ap) {
    if (level > sl__log_level || level < SL_LOG_ERROR)
        return;
    char msg[2048], ts[32];
    size_t n = 0;
    if (stream || component)
        put(msg, sizeof msg, &n, "%s%s%s%s%s: ", stream ? stream : "",
            stream && component ? " " : "", component ? "(" : "", component ? component : "",
            component ? ")" : "");
    size_t body = n < sizeof msg ? n : sizeof msg - 1; /* the message without the prefix */
    if (n < sizeof msg)
        vsnprintf(msg + n, sizeof msg - n, fmt, ap);
    iso_now(ts, sizeof ts);
    pthread_mutex_lock(&log_lock);
    if (log_fn) {
        log_fn(log_ud, level, msg);
        pthread_mutex_unlock(&log_lock);
        return;
    }
    char line[4096 + 512];
    size_t len;
    if (log_format == SL_LOG_FORMAT_JSON) {
        len = format_json(line, sizeof line - 1, ts, level, stream, component, msg + body);
    } else {
        len = 0;
        put(line, sizeof line - 1, &len, "%s %-5s %s", ts, level_names[level], msg);
        if (len > sizeof line - 2)
            len = sizeof line - 2;
    }
    line[len++] = '\n';
    write_line(line, len);
    pthread_mutex_unlock(&log_lock);
}

void sl__log_from(int level, const char *stream, const char *component, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sl__vlog_from(level, stream, component, fmt, ap);
    va_end(ap);
}

void sl__log(int level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sl__vlog_from(level, NULL, NULL, fmt, ap);
    va_end(ap);
}

void sl__status_show(const char *text, int terminal) {
    pthread_mutex_lock(&log_lock);
    if (terminal) {
        fprintf(stderr, "\r\033[K%s", text);
        status_visible = true;
    } else {
        fprintf(stderr, "%s\n", text);
    }
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}

void sl__status_clear(void) {
    pthread_mutex_lock(&log_lock);
    if (status_visible) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        status_visible = false;
    }
    pthread_mutex_unlock(&log_lock);
}

void sl__status_end(void) {
    pthread_mutex_lock(&log_lock);
    if (status_visible) {
        fputc('\n', stderr);
        fflush(stderr);
        status_visible = false;
    }
    pthread_mutex_unlock(&log_lock);
}

/*
 * log.c — process-wide logging to stderr and the live status line.
 *
 * Lines look like "12:00:05.123 WARN  lines (socket): cannot connect ...".
 * When a status line is showing, a log line first clears it, so the two
 * never interleave on a terminal. An embedding program may take the lines
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

int sl__log_level = SL_LOG_WARN;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static bool status_visible;
static sl_log_func log_fn; /* guarded by log_lock */
static void *log_ud;

void sl_set_log_callback(sl_log_func fn, void *ud) {
    pthread_mutex_lock(&log_lock);
    log_fn = fn;
    log_ud = fn ? ud : NULL;
    pthread_mutex_unlock(&log_lock);
}

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

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

/* Format one line with a wall-clock prefix and write it in one call. */
void sl__vlog(int level, const char *prefix, const char *fmt, va_list ap) {
    if (level > sl__log_level)
        return;
    char line[2048];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %-5s ", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (long)(tv.tv_usec / 1000), level_names[level]);
    int msg = n; /* where the message starts: what a log callback gets */
    if (prefix && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s: ", prefix);
    if (n < (int)sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    if (n >= (int)sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    pthread_mutex_lock(&log_lock);
    if (log_fn) {
        line[n - 1] = 0;
        log_fn(log_ud, level, line + msg);
        pthread_mutex_unlock(&log_lock);
        return;
    }
    if (status_visible) {
        fputs("\r\033[K", stderr);
        status_visible = false;
    }
    fwrite(line, 1, (size_t)n, stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}

void sl__log(int level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sl__vlog(level, NULL, fmt, ap);
    va_end(ap);
}

void sl__status_show(const char *text) {
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "\r\033[K%s", text);
    fflush(stderr);
    status_visible = true;
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

/*
 * log.h — the engine's log and the terminal's status line (log.c).
 *
 * Threads: sl__log may be called from any thread; lines are written whole.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdarg.h>

#include <sluice/plugin.h>

extern int sl__log_level;
void sl__log(int level, const char *fmt, ...) SL_PRINTF(2, 3);
/* A line from a component instance: `stream` and `component` (either may
 * be NULL) prefix the text as "stream (component): " and are the "stream"
 * and "component" fields of the JSON format. */
void sl__log_from(int level, const char *stream, const char *component, const char *fmt, ...)
    SL_PRINTF(4, 5);
void sl__vlog_from(int level, const char *stream, const char *component, const char *fmt,
                   va_list ap);
/* The status line on stderr (status.c draws it). On a terminal it is
 * redrawn in place ("\r", erase line) and a log line first erases it, so the
 * two never interleave; elsewhere (a file, a pipe) each status is a line of
 * its own. sl__status_end ends a status line left showing with a newline,
 * so that nothing is left half-written when the process exits. */
void sl__status_show(const char *text, int terminal);
void sl__status_clear(void);
void sl__status_end(void);

#endif /* SLUICE_LOG_H */

/*
 * log.h — the engine's log and status line (log.c).
 *
 * Threads: sl__log may be called from any thread; lines are written whole.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdarg.h>

#include <sluice/plugin.h>

extern int sl__log_level;
void sl__log(int level, const char *fmt, ...) SL_PRINTF(2, 3);
void sl__vlog(int level, const char *prefix, const char *fmt, va_list ap);
/* Status line on stderr (a terminal): show, or clear before other output. */
void sl__status_show(const char *text);
void sl__status_clear(void);

#endif /* SLUICE_LOG_H */

/*
 * error.h — errors: filling an sl_error (error.c). The bottom layer: it
 * calls nothing of the engine. Safe from any thread.
 */
#ifndef SLUICE_ERROR_H
#define SLUICE_ERROR_H

#include <sluice/plugin.h>

/* Fill err (message formatted like printf) and return code; err may be NULL. */
int sl__error_set(sl_error *err, int code, const char *fmt, ...) SL_PRINTF(3, 4);

#endif /* SLUICE_ERROR_H */

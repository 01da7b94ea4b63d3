/*
 * error.c — errors: filling an sl_error, and the text of each SL_E* code.
 * The bottom layer of the engine: it calls nothing else.
 */
#include <stdarg.h>
#include <stdio.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "error.h"

int sl__error_set(sl_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

const char *sl_strerror(int code) {
    switch (code) {
    case SL_OK:
        return "success";
    case SL_EINVAL:
        return "invalid argument";
    case SL_ENOMEM:
        return "out of memory";
    case SL_EIO:
        return "I/O error";
    case SL_ENOTFOUND:
        return "not found";
    case SL_EABI:
        return "incompatible plugin";
    case SL_ECONFIG:
        return "configuration error";
    case SL_ESTOPPED:
        return "stopped";
    case SL_EOF:
        return "end of input";
    case SL_RETRY:
        return "retry requested";
    case SL_ETYPE:
        return "wrong value type";
    case SL_ELIMIT:
        return "limit reached";
    case SL_EPLUGIN:
        return "plugin broke the ABI contract";
    case SL_ESTATE:
        return "called in the wrong state";
    default:
        return "unknown error";
    }
}

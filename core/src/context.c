/*
 * context.c — the streaming context: creation, settings and errors. Its
 * lifecycle (start, await, stop, free) is the scheduler's (scheduler.c);
 * describing it, describe.c's.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "context.h"
#include "http.h"

sl_context *sl_context_new(int64_t batch_interval_ms) {
    if (batch_interval_ms <= 0)
        return NULL;
    sl_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->interval = batch_interval_ms;
    ctx->clock = SL_CLOCK_SYSTEM;
    ctx->start_time = SL_START_NOW;
    ctx->recv_buffer = 64u << 20;
    ctx->early_combine = true;
    ctx->status_mode = -1;
    ctx->ckpt_lock = -1;
    ctx->wal_max = (size_t)1 << 30;
    sl__registry_init(&ctx->reg);
    sl__listeners_init(&ctx->listeners, ctx);
    pthread_mutex_init(&ctx->lock, NULL);
    pthread_mutex_init(&ctx->join_lock, NULL);
    pthread_cond_init(&ctx->done_cond, NULL);
    pthread_mutex_init(&ctx->wake.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ctx->wake.cond, &ca);
    pthread_condattr_destroy(&ca);
    return ctx;
}

/* ---- errors --------------------------------------------------------------------- */

void sl__ctx_fail(sl_context *ctx, int code, const char *param, const char *fmt, ...) {
    if (ctx->errcode)
        return; /* the first error is the one to fix */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
    va_end(ap);
    ctx->errcode = code ? code : SL_EINVAL;
    snprintf(ctx->errparam, sizeof ctx->errparam, "%s", param ? param : "");
}

void sl__ctx_fail_err(sl_context *ctx, const sl_error *err, const char *param) {
    sl__ctx_fail(ctx, err->code, param, "%s", err->msg);
}

const char *sl_context_errmsg(const sl_context *ctx) {
    return !ctx ? "no context" : ctx->errcode ? ctx->errmsg : "no error";
}

int sl_context_errcode(const sl_context *ctx) {
    return ctx ? ctx->errcode : SL_EINVAL;
}

const char *sl_context_errparam(const sl_context *ctx) {
    return ctx && ctx->errcode && ctx->errparam[0] ? ctx->errparam : NULL;
}

void sl_context_clear_error(sl_context *ctx) {
    if (ctx) {
        ctx->errcode = 0;
        ctx->errmsg[0] = 0;
        ctx->errparam[0] = 0;
        ctx->errstream[0] = 0;
    }
}

/* ---- settings ------------------------------------------------------------------- */

static int settable(sl_context *ctx) {
    if (!ctx)
        return SL_EINVAL;
    if (ctx->state != SL__NEW) {
        sl__ctx_fail(ctx, SL_ESTATE, NULL, "settings cannot change after the context started");
        return SL_ESTATE;
    }
    return 0;
}

int sl_context_set_workers(sl_context *ctx, int n) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (n < 0 || n > 1024) {
        sl__ctx_fail(ctx, SL_EINVAL, "workers", "workers must be 0 (one per core) to 1024, got %d",
                     n);
        return SL_EINVAL;
    }
    ctx->workers = n;
    return 0;
}

int sl_context_set_clock(sl_context *ctx, sl_clock_kind clock) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (clock != SL_CLOCK_SYSTEM && clock != SL_CLOCK_MANUAL) {
        sl__ctx_fail(ctx, SL_EINVAL, "clock", "unknown clock %d", (int)clock);
        return SL_EINVAL;
    }
    ctx->clock = clock;
    return 0;
}

int sl_context_set_start_time(sl_context *ctx, int64_t ms) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (ms < 0 && ms != SL_START_NOW) {
        sl__ctx_fail(ctx, SL_EINVAL, "start_time",
                     "start_time: expected ms since the epoch (0 or more) or SL_START_NOW, got "
                     "%lld",
                     (long long)ms);
        return SL_EINVAL;
    }
    ctx->start_time = ms;
    return 0;
}

int sl_context_set_max_batches(sl_context *ctx, int64_t n) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (n < 0) {
        sl__ctx_fail(ctx, SL_EINVAL, "batches", "the batch limit cannot be negative");
        return SL_EINVAL;
    }
    ctx->max_batches = n;
    return 0;
}

int sl_context_set_receiver_buffer(sl_context *ctx, size_t bytes) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (bytes < 4096) {
        sl__ctx_fail(ctx, SL_EINVAL, "receiver_buffer",
                     "the receiver buffer must be at least 4096 bytes, got %zu", bytes);
        return SL_EINVAL;
    }
    ctx->recv_buffer = bytes;
    return 0;
}

int sl_context_set_early_combine(sl_context *ctx, int on) {
    int rc = settable(ctx);
    if (!rc)
        ctx->early_combine = on != 0;
    return rc;
}

int sl_context_add_plugin_dir(sl_context *ctx, const char *dir) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (!dir || !*dir) {
        sl__ctx_fail(ctx, SL_EINVAL, NULL, "an empty plugin directory");
        return SL_EINVAL;
    }
    if (ctx->reg.resolved) {
        sl__ctx_fail(ctx, SL_ESTATE, NULL,
                     "plugin directories must be added before the first stream is built");
        return SL_ESTATE;
    }
    if (sl__registry_add_dir(&ctx->reg, dir)) {
        sl__ctx_fail(ctx, SL_ENOMEM, NULL, "out of memory");
        return SL_ENOMEM;
    }
    return 0;
}

int sl_context_set_status_line(sl_context *ctx, int mode) {
    int rc = settable(ctx);
    if (!rc)
        ctx->status_mode = mode;
    return rc;
}

int sl_context_serve_http(sl_context *ctx, const char *address) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    sl_error err = {0, ""};
    if (sl__http_check_address(address, &err)) {
        sl__ctx_fail(ctx, err.code, "http", "%s", err.msg);
        return err.code;
    }
    char *copy = strdup(address);
    if (!copy) {
        sl__ctx_fail(ctx, SL_ENOMEM, NULL, "out of memory");
        return SL_ENOMEM;
    }
    free(ctx->http_addr);
    ctx->http_addr = copy;
    return 0;
}

const char *sl_context_http_address(const sl_context *ctx) {
    return ctx ? ctx->http_addr : NULL;
}

int sl_context_http_port(const sl_context *ctx) {
    return ctx ? sl__http_port(ctx->http) : 0;
}

int sl_context_add_listener(sl_context *ctx, uint32_t mask, sl_listener_func fn, void *user) {
    return ctx ? sl__listeners_add(&ctx->listeners, mask, fn, user) : SL_EINVAL;
}

int sl_context_remove_listener(sl_context *ctx, int id) {
    return ctx ? sl__listeners_remove(&ctx->listeners, id) : SL_EINVAL;
}

/* sl_context_set_batch_listener's listener: batches that succeeded, as an
 * sl_batch_info. */
static void batch_listener_adapter(void *user, const sl_event *ev) {
    sl_context *ctx = user;
    const sl_batch_event *e = &ev->u.batch;
    if (e->error)
        return;
    sl_batch_info info = {e->batch_time,       e->records,         e->bytes,
                          e->scheduling_delay, e->processing_time, e->total_delay};
    ctx->listener(ctx->listener_ud, &info);
}

/* Before start only, as before listeners came: one listener in the list,
 * replaced by the next call. */
int sl_context_set_batch_listener(sl_context *ctx, sl_batch_listener fn, void *ud) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (ctx->listener_id > 0)
        sl_context_remove_listener(ctx, ctx->listener_id);
    ctx->listener_id = 0;
    ctx->listener = fn;
    ctx->listener_ud = ud;
    if (!fn)
        return 0;
    int id = sl_context_add_listener(ctx, SL_EVENT_MASK(SL_EVENT_BATCH_COMPLETED),
                                     batch_listener_adapter, ctx);
    if (id < 0)
        return id;
    ctx->listener_id = id;
    return 0;
}

int sl_context_last_batch(const sl_context *ctx, sl_batch_info *out) {
    if (!ctx || !out)
        return SL_EINVAL;
    if (atomic_load(&((sl_context *)ctx)->batches_done) == 0)
        return SL_ENOTFOUND;
    pthread_mutex_lock((pthread_mutex_t *)&ctx->lock);
    *out = ctx->last;
    pthread_mutex_unlock((pthread_mutex_t *)&ctx->lock);
    return 0;
}

size_t sl_context_stream_count(const sl_context *ctx) {
    return ctx ? ctx->nstreams : 0;
}

size_t sl_context_output_count(const sl_context *ctx) {
    return ctx ? ctx->noutputs : 0;
}

int64_t sl_context_batches_done(const sl_context *ctx) {
    return ctx ? atomic_load(&((sl_context *)ctx)->batches_done) : 0;
}

/*
 * settings.c — the engine's settings as one parameter schema.
 *
 * The top level of a YAML pipeline (docs/config.md) is declared here once,
 * as an sl_param_spec array like a plugin's: type, default, range and doc in
 * one place. sl_context_set() validates a value with the same code as plugin
 * parameters (params.c: one boolean syntax, one duration and size syntax,
 * ranges) and applies it through the public setters, so that the YAML loader
 * and a C program set the same things the same way; `sluice plugins` lists
 * the schema.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "context.h"
#include "params.h"

/* In the order of the YAML reference. The defaults are those of
 * sl_context_new (unit.test_config checks that they agree). */
static const sl_param_spec settings[] = {
    {"batch_interval", SL_PARAM_DURATION, NULL, 1,
     "time between batches (Spark's batchDuration): a duration like 500ms, 5s or 1m", NULL,
     "1ms.."},
    {"workers", SL_PARAM_INT, "0", 0,
     "worker threads that run a batch's partitions (0: one per core)", NULL, "0..1024"},
    {"clock", SL_PARAM_ENUM, "system", 0,
     "system: a batch every interval of wall-clock time; manual: the next batch starts as soon "
     "as the previous one ends (tests, replays)",
     "system|manual", NULL},
    {"start_time", SL_PARAM_STRING, NULL, 0,
     "the manual clock's start: ms since the epoch (0: 1970-01-01, the first batch one interval "
     "later, as Spark's ManualClock), an ISO-8601 UTC time like 2026-01-01T00:00:00Z, or now "
     "(the default); only with clock: manual",
     NULL, NULL},
    {"receiver_buffer", SL_PARAM_SIZE, "64MiB", 0,
     "bytes a receiver may hold before it stops reading from its peer (backpressure)", NULL,
     "4KiB.."},
    {"early_combine", SL_PARAM_BOOL, "true", 0,
     "combine receiver blocks map-side while waiting for the tick (results are the same)", NULL,
     NULL},
    {"plugin_path", SL_PARAM_STRING, NULL, 0,
     "a directory, or a list of them, searched for plugins first (relative to the file)", NULL,
     NULL},
    {"checkpoint", SL_PARAM_STRING, NULL, 0,
     "checkpoint directory (created if missing); a restart resumes from it", NULL, NULL},
    {"checkpoint_interval", SL_PARAM_DURATION, NULL, 0,
     "time between checkpoints (default: the smallest multiple of batch_interval of at least "
     "10s)",
     NULL, "1ms.."},
    {"checkpoint_keep", SL_PARAM_INT, "3", 0,
     "checkpoints kept: a damaged newest one falls back to the next", NULL, "1..1000"},
    {"receiver_wal", SL_PARAM_BOOL, "false", 0,
     "log what receivers (socket) take in the checkpoint directory before it counts as received, "
     "and replay it after a crash (Spark's receiver.writeAheadLog.enable; needs checkpoint)",
     NULL, NULL},
    {"receiver_wal_max", SL_PARAM_SIZE, "1GiB", 0,
     "bytes each receiver's log may hold; at the bound the receiver stops reading until a "
     "checkpoint covers its oldest segment (backpressure, nothing dropped)",
     NULL, "1MiB.."},
    {"receiver_wal_sync", SL_PARAM_DURATION, "0ms", 0,
     "0: fsync the log before each store() returns (survives a power loss); a duration: fsync at "
     "most that late, and at every batch",
     NULL, "0ms..1h"},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

const sl_param_spec *sl_settings_schema(void) {
    return settings;
}

/* batch_interval through the API: only while no stream exists, since the
 * builders check windows against the interval. */
static int set_interval(sl_context *ctx, int64_t ms) {
    if (ctx->state != SL__NEW || ctx->nstreams || ctx->noutputs) {
        sl__ctx_fail(ctx, SL_ESTATE, "batch_interval",
                     "batch_interval: set it before the first stream is built");
        return SL_ESTATE;
    }
    ctx->interval = ms;
    return 0;
}

/* start_time: a time as sl_parse_time reads it. */
static int set_start_time(sl_context *ctx, const char *text) {
    int64_t ms;
    if (sl_parse_time(text, &ms)) {
        sl__ctx_fail(ctx, SL_EINVAL, "start_time",
                     "start_time: expected ms since the epoch (0 or more), an ISO-8601 UTC time "
                     "like 2026-01-01T00:00:00Z or now, got '%s'",
                     text);
        return SL_EINVAL;
    }
    return sl_context_set_start_time(ctx, ms);
}

/* Apply the validated setting `name` of `p` through its public setter. */
static int apply(sl_context *ctx, const sl_params *p, const char *name) {
    int64_t i = sl__param_int(p, name);
    const char *s = sl__param_str(p, name);
    if (strcmp(name, "batch_interval") == 0)
        return set_interval(ctx, i);
    if (strcmp(name, "workers") == 0)
        return sl_context_set_workers(ctx, (int)i);
    if (strcmp(name, "clock") == 0)
        return sl_context_set_clock(ctx,
                                    strcmp(s, "manual") == 0 ? SL_CLOCK_MANUAL : SL_CLOCK_SYSTEM);
    if (strcmp(name, "start_time") == 0)
        return set_start_time(ctx, s);
    if (strcmp(name, "receiver_buffer") == 0)
        return sl_context_set_receiver_buffer(ctx, (size_t)i);
    if (strcmp(name, "early_combine") == 0)
        return sl_context_set_early_combine(ctx, sl__param_bool(p, name));
    if (strcmp(name, "plugin_path") == 0)
        return sl_context_add_plugin_dir(ctx, s);
    if (strcmp(name, "checkpoint_interval") == 0)
        return sl_context_set_checkpoint_interval(ctx, i);
    if (strcmp(name, "checkpoint_keep") == 0)
        return sl_context_set_checkpoint_keep(ctx, (int)i);
    if (strcmp(name, "receiver_wal") == 0)
        return sl_context_set_receiver_wal(ctx, sl__param_bool(p, name));
    if (strcmp(name, "receiver_wal_max") == 0)
        return sl_context_set_receiver_wal_max(ctx, (size_t)i);
    if (strcmp(name, "receiver_wal_sync") == 0)
        return sl_context_set_receiver_wal_sync(ctx, i);
    if (!*s) {
        sl__ctx_fail(ctx, SL_EINVAL, name, "checkpoint: expected a directory, got ''");
        return SL_EINVAL;
    }
    return sl_context_checkpoint(ctx, s);
}

/* Make the context's error start with "name: " (a setter's own message
 * does not say which setting it is about). */
static void prefix_error(sl_context *ctx, const char *name) {
    size_t n = strlen(name);
    if (strncmp(ctx->errmsg, name, n) == 0 && ctx->errmsg[n] == ':')
        return;
    char msg[sizeof ctx->errmsg];
    snprintf(msg, sizeof msg, "%s", ctx->errmsg);
    int code = ctx->errcode;
    sl_context_clear_error(ctx);
    sl__ctx_fail(ctx, code, name, "%s: %s", name, msg);
}

/* The names of all settings, for "expected one of" messages. */
static void setting_names(char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = 0;
    for (const sl_param_spec *s = settings; s->name && len < cap; s++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", s->name);
}

int sl_context_set(sl_context *ctx, const char *name, const char *value) {
    if (!ctx)
        return SL_EINVAL;
    const sl_param_spec *s = settings;
    while (s->name && (!name || strcmp(s->name, name) != 0))
        s++;
    if (!s->name || !value) {
        char names[512];
        setting_names(names, sizeof names);
        if (!s->name)
            sl__ctx_fail(ctx, SL_EINVAL, NULL, "unknown setting '%s' (expected one of: %s)",
                         name ? name : "(null)", names);
        else
            sl__ctx_fail(ctx, SL_EINVAL, name, "%s: no value given", name);
        return SL_EINVAL;
    }
    sl_param_spec one[2] = {*s, {NULL, 0, NULL, 0, NULL, NULL, NULL}};
    const char *kv[] = {name, value, NULL};
    sl_params *p = NULL;
    sl_error err = {0, ""};
    int rc = sl__params_build(one, kv, NULL, &p, &err, NULL);
    if (rc) {
        sl__ctx_fail_err(ctx, &err, name);
        return rc;
    }
    int had_error = ctx->errcode != 0;
    rc = apply(ctx, p, name);
    sl__params_free(p);
    if (rc && !had_error)
        prefix_error(ctx, name);
    return rc;
}

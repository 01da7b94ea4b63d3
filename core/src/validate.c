/*
 * validate.c — sl_context_check: what `sluice validate` does beyond parsing.
 *
 * Parameters are validated against their schemas (types, ranges) when a
 * stream is built; what only a component knows (a queue file that does not
 * exist, an empty separator, a regular expression that does not compile) it
 * finds in create(). So the check creates every instance and destroys it
 * again, without starting anything: a source's create() opens files but
 * never connects or blocks (docs/plugin-guide.md), and a sink's leaves no
 * trace of itself. The parameters and handles stay, so the context can
 * still be started afterwards.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "context.h"
#include "handle.h"
#include "ops/state.h"
#include "plan.h"

/* Create, then destroy, the instance of one component-backed function. */
static int try_func(sl__func *f, sl_error *err) {
    if (!f->comp || f->created)
        return 0;
    int rc = sl__func_create(f, err);
    if (rc)
        return rc;
    if (f->comp->destroy)
        f->comp->destroy(f->inst);
    f->inst = NULL;
    f->created = false;
    return 0;
}

/* The plugin's message without a leading "<ref>: " or "<plugin>: ", which
 * the stream's prefix already says. */
static const char *strip_ref(const char *msg, const char *ref) {
    size_t n = strlen(ref);
    if (strncmp(msg, ref, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        return msg + n + 2;
    const char *dot = strchr(ref, '.');
    n = dot ? (size_t)(dot - ref) : 0;
    if (n && strncmp(msg, ref, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        return msg + n + 2;
    return msg;
}

/* Record a failed check of `f` in `what`: "stream 'lines' (queue): ..." or
 * "output 2 (jsonl): ...". */
static int check_failed(sl_context *ctx, const char *kind, const char *what, const sl__func *f,
                        const sl_error *err) {
    const char *ref = f->handle && f->handle->ref ? f->handle->ref : "?";
    bool stream = strcmp(kind, "stream") == 0;
    sl__ctx_fail(ctx, err->code ? err->code : SL_EINVAL, NULL, "%s %s%s%s (%s): %s", kind,
                 stream ? "'" : "", what, stream ? "'" : "", ref, strip_ref(err->msg, ref));
    snprintf(ctx->errstream, sizeof ctx->errstream, "%s", what);
    return ctx->errcode;
}

/* A stream's components, and its initial_state file. */
static int check_stream(sl_context *ctx, sl_stream *s) {
    sl_error err = {0, ""};
    if (try_func(&s->fn, &err))
        return check_failed(ctx, "stream", s->name, &s->fn, &err);
    if (try_func(&s->filter, &err))
        return check_failed(ctx, "stream", s->name, &s->filter, &err);
    if (s->initial_state) {
        int fd = sl__initial_state_open(s->name, s->initial_state, &err);
        if (fd < 0) {
            sl__ctx_fail(ctx, fd, NULL, "%s", err.msg);
            snprintf(ctx->errstream, sizeof ctx->errstream, "%s", s->name);
            return ctx->errcode;
        }
        close(fd);
    }
    return 0;
}

int sl_context_check(sl_context *ctx) {
    if (!ctx)
        return SL_EINVAL;
    if (ctx->errcode)
        return ctx->errcode;
    if (ctx->state != SL__NEW) {
        sl__ctx_fail(ctx, SL_ESTATE, NULL, "check the context before starting it");
        return SL_ESTATE;
    }
    if (ctx->recv_wal && !ctx->ckpt_dir) {
        sl__ctx_fail(ctx, SL_ECONFIG, "receiver_wal",
                     "receiver_wal: the receiver log lives in the checkpoint directory: set "
                     "checkpoint (sl_context_checkpoint) too");
        return SL_ECONFIG;
    }
    sl_error err = {0, ""};
    if (sl__plan(ctx, &err)) {
        sl__ctx_fail_err(ctx, &err, NULL);
        return err.code;
    }
    for (size_t i = 0; i < ctx->nstreams; i++)
        if (check_stream(ctx, ctx->streams[i]))
            return ctx->errcode;
    for (size_t i = 0; i < ctx->noutputs; i++) {
        sl__output *o = &ctx->outputs[i];
        if (try_func(&o->fn, &err)) {
            char what[32];
            snprintf(what, sizeof what, "%zu", i + 1);
            check_failed(ctx, "output", what, &o->fn, &err);
            snprintf(ctx->errstream, sizeof ctx->errstream, "%s", o->label);
            return ctx->errcode;
        }
    }
    return 0;
}

const char *sl_context_errstream(const sl_context *ctx) {
    return ctx && ctx->errcode && ctx->errstream[0] ? ctx->errstream : NULL;
}

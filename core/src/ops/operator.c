/*
 * ops/operator.c — a whole custom transformation from a plugin (OPERATOR):
 * it sees each batch of its input as one chunk, on the scheduler thread,
 * and saves its own state into checkpoints ("operator/<stream>").
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "codec.h"
#include "context.h"
#include "error.h"
#include "handle.h"
#include "opstate.h"
#include "ops/op.h"
#include "ops/state.h"

/* The whole batch through the operator, on the engine thread. */
static int run_operator(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    const sl__dataset *d = &s->in[0]->data;
    sl__recvec all = {0};
    for (size_t p = 0; p < d->nparts; p++)
        if (sl__recvec_append(&all, d->parts[p].v, d->parts[p].n))
            return sl__error_set(err, SL_ENOMEM, "out of memory");
    sl_mem mem;
    sl__arena_mem(&ctx->warena[0], &mem);
    sl_record buf[256];
    int rc = sl__dataset_init(&s->data, 1) ? SL_ENOMEM : 0;
    sl_emitter em = {buf, 0, 256, sl__recvec_flush, &mem, rc ? NULL : &s->data.parts[0]};
    sl_chunk c = {all.v, all.n, t, 0, SL_CHUNK_WHOLE_BATCH};
    if (!rc)
        rc = s->fn.oper.process(s->fn.inst, &c, &em, err);
    if (!rc)
        rc = sl__recvec_flush(&em);
    if (rc < 0 && !err->msg[0])
        sl__error_set(err, rc, "%s (operator %s): %s", s->name, s->fn.handle->ref, sl_strerror(rc));
    sl__recvec_free(&all);
    return rc;
}

/* "operator/<stream>" (the plugin's own snapshot), then its keyed state. */
static int snapshot_operator(sl_stream *s, int64_t t, sl__ckpt_writer *w, size_t *bytes,
                             sl_error *err) {
    char name[300];
    sl_buf ob = {{0}};
    int rc = s->fn.oper.snapshot ? s->fn.oper.snapshot(s->fn.inst, t, &ob, err) : 0;
    if (!s->fn.oper.snapshot) {
        sl__buf_free(&ob.b);
        return sl__store_write(s, w, bytes, err);
    }
    snprintf(name, sizeof name, "operator/%s", s->name);
    if (!rc)
        rc = sl__ckpt_section(w, name, ob.b.data, ob.b.len, err);
    *bytes += ob.b.len;
    sl__buf_free(&ob.b);
    return rc ? rc : sl__store_write(s, w, bytes, err); /* its keyed state (opstate.c) */
}

/* The keyed state first, then the plugin's own snapshot (a plugin may read
 * an older snapshot format into its keyed state: plugins/dedupe). */
static int restore_operator(sl_context *ctx, sl_stream *s, const sl__ckpt *c, sl_error *err) {
    if (sl__store_in(s, c)) {
        int rc = sl__opstate_open(s, err);
        if (!rc)
            rc = sl__store_read(s, c, err);
        if (rc)
            return rc;
    }
    char sec[300];
    size_t len;
    snprintf(sec, sizeof sec, "operator/%s", s->name);
    const uint8_t *p = sl__ckpt_find(c, sec, &len);
    return p && s->fn.oper.restore ? s->fn.oper.restore(s->fn.inst, p, len, err) : 0;
}

const sl__op_class sl__op_operator = {
    .name = "operator",
    .flags = SL__OPF_WHOLE_INPUT,
    .run = run_operator,
    .snapshot = snapshot_operator,
    .restore = restore_operator,
};

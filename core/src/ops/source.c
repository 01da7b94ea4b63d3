/*
 * ops/source.c — sources: at each batch time a receiver's blocks become the
 * batch's partitions (those combined early only count in its figures), or a
 * direct source is polled for the batch; a replayable source's position
 * goes into checkpoints.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "clock.h"
#include "checkpoint.h"
#include "codec.h"
#include "context.h"
#include "error.h"
#include "handle.h"
#include "log.h"
#include "value.h"
#include "ops/op.h"
#include "ops/source.h"

/* Poll a direct source for the batch at t into s->data. */
static int pull_direct(sl_stream *s, int64_t t, sl_error *err) {
    sl__block *b = calloc(1, sizeof *b);
    sl_record *buf = malloc(SL__CHUNK * sizeof *buf);
    if (!b || !buf) {
        free(b);
        free(buf);
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    }
    sl__arena_init(&b->arena, 256 * 1024);
    s->blocks = b;
    sl_mem mem;
    sl__arena_mem(&b->arena, &mem);
    sl__direct_sink ds = {&s->data, 0, false};
    sl_emitter em = {buf, 0, SL__CHUNK, sl__direct_flush, &mem, &ds};
    err->code = 0;
    err->msg[0] = 0;
    int rc = s->fn.source.poll(s->fn.inst, t, &em, err);
    int frc = sl__direct_flush(&em);
    free(buf);
    if (rc == SL_EOF) {
        s->finished = true;
        rc = 0;
    }
    if (!rc && frc == SL_ETYPE)
        rc = sl__error_set(err, SL_ETYPE,
                           "%s (%s): emitted a record with an invalid type tag (a value is null, "
                           "int, double, bytes, list, object or bool)",
                           s->name, s->fn.handle->ref);
    else if (!rc && frc)
        rc = sl__error_set(err, SL_ENOMEM, "out of memory");
    if (rc < 0 && !err->msg[0])
        sl__error_set(err, rc, "%s (%s): poll failed: %s", s->name, s->fn.handle->ref,
                      sl_strerror(rc));
    return rc;
}

/* Say so when a receiver had to stop reading during the last interval: its
 * input is faster than the pipeline, or more than one interval's buffer. */
static void warn_if_held_back(sl_stream *s) {
    sl__receiver *r = s->recv;
    pthread_mutex_lock(&r->lock);
    int64_t blocked = r->blocked_ms - r->blocked_reported;
    r->blocked_reported = r->blocked_ms;
    pthread_mutex_unlock(&r->lock);
    int64_t now = sl__mono_ms();
    if (blocked < 10 || (r->last_warning && now - r->last_warning < 30000))
        return;
    r->last_warning = now;
    char size[32];
    if (r->limit % (1u << 20) == 0)
        snprintf(size, sizeof size, "%zu MiB", r->limit >> 20);
    else if (r->limit % 1024 == 0)
        snprintf(size, sizeof size, "%zu KiB", r->limit >> 10);
    else
        snprintf(size, sizeof size, "%zu bytes", r->limit);
    sl__log(SL_LOG_WARN,
            "%s (%s): the receiver stopped reading for %lld ms: its buffer (receiver_buffer, %s) "
            "was full. The input is faster than the pipeline or than one batch interval's "
            "buffer: raise receiver_buffer or shorten batch_interval (this warning repeats at "
            "most every 30 s)",
            s->name, s->fn.handle->ref, (long long)blocked, size);
}

/* Take a receiver's blocks: each block becomes one partition, except those
 * combined early, which only count in the batch's input figures. */
static int pull_receiver(sl_stream *s, sl_batch_info *info, sl_error *err) {
    sl__receiver *r = s->recv;
    if (atomic_load(&r->finished)) {
        if (r->result < 0 && r->result != SL_EOF)
            return sl__error_set(err, r->result, "%s", r->err.msg);
        s->finished = true;
    }
    sl__take_info ti;
    sl__block *blocks = sl__receiver_take(r, &ti);
    size_t nearly = ti.nearly;
    warn_if_held_back(s);
    info->records += ti.recycled_records;
    info->bytes += ti.recycled_bytes;
    size_t n = 0;
    for (sl__block *b = blocks; b; b = b->next) {
        info->records += (int64_t)b->recs.n;
        info->bytes += (int64_t)b->bytes;
        n++;
    }
    s->blocks = blocks;
    if (sl__dataset_init(&s->data, n - nearly))
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    size_t i = 0;
    for (sl__block *b = blocks; b; b = b->next, i++) {
        if (i < nearly)
            continue;
        s->data.parts[i - nearly] = b->recs; /* moved: the dataset frees the array */
        memset(&b->recs, 0, sizeof b->recs);
    }
    return 0;
}

static void add_input_metrics(const sl__dataset *d, sl_batch_info *info) {
    for (size_t p = 0; p < d->nparts; p++) {
        info->records += (int64_t)d->parts[p].n;
        for (size_t i = 0; i < d->parts[p].n; i++)
            info->bytes += (int64_t)(sl__value_bytes(&d->parts[p].v[i].key) +
                                     sl__value_bytes(&d->parts[p].v[i].value));
    }
}

/* Fill a source's batch at t: a receiver's blocks, or a direct source's
 * poll; add what it holds to the batch's input figures. */
int sl__source_pull(sl_stream *s, int64_t t, sl_batch_info *info, sl_error *err) {
    int rc;
    if (s->recv)
        rc = pull_receiver(s, info, err);
    else if (!s->finished)
        rc = pull_direct(s, t, err);
    else
        rc = sl__dataset_init(&s->data, 0);
    if (!rc && !s->recv)
        add_input_metrics(&s->data, info);
    return rc;
}

/* Nothing to compute: sl__source_pull filled the batch before anything ran. */
static int run_source(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    return 0;
}

/* A receiver's log position (receiver_wal) as "receiver_wal/<stream>":
 * format byte 1, then the varint ordinal of the first record the batches up
 * to the checkpoint did not take (a restart replays from there). */
static int snapshot_wal(sl_stream *s, sl__ckpt_writer *w, size_t *bytes, sl_error *err) {
    char name[300];
    sl__buf b = {0};
    snprintf(name, sizeof name, "receiver_wal/%s", s->name);
    int rc = sl__buf_put_u8(&b, 1);
    rc = rc ? rc : sl__buf_put_varint(&b, sl__receiver_wal_position(s->recv));
    if (rc)
        rc = sl__error_set(err, rc, "checkpoint: out of memory");
    else
        rc = sl__ckpt_section(w, name, b.data, b.len, err);
    *bytes += b.len;
    sl__buf_free(&b);
    return rc;
}

/* A replayable source's position after t ("source/<stream>"), or a
 * receiver's log position. */
static int snapshot_source(sl_stream *s, int64_t t, sl__ckpt_writer *w, size_t *bytes,
                           sl_error *err) {
    if (s->recv && s->recv->wal)
        return snapshot_wal(s, w, bytes, err);
    if (!s->fn.source.snapshot)
        return 0;
    char name[300];
    sl_buf sb = {{0}};
    int rc = s->fn.source.snapshot(s->fn.inst, &sb, err);
    snprintf(name, sizeof name, "source/%s", s->name);
    if (!rc)
        rc = sl__ckpt_section(w, name, sb.b.data, sb.b.len, err);
    *bytes += sb.b.len;
    sl__buf_free(&sb.b);
    return rc;
}

/* receiver_wal: where the log's replay starts (s->wal_from). */
static int restore_wal(const sl__ckpt *c, sl_stream *s, sl_error *err) {
    char sec[300];
    size_t len;
    snprintf(sec, sizeof sec, "receiver_wal/%s", s->name);
    const uint8_t *p = sl__ckpt_find(c, sec, &len);
    s->wal_from = 0;
    if (!p) {
        sl__log(SL_LOG_WARN,
                "%s: the checkpoint %s has no receiver log position for this stream "
                "(receiver_wal was off): its log, if any, is replayed whole",
                s->name, c->path);
        return 0;
    }
    sl__reader r = {p, len, 0};
    uint8_t format;
    if (sl__read_u8(&r, &format) || format != 1 || sl__read_varint(&r, &s->wal_from) ||
        sl__reader_left(&r))
        return sl__error_set(err, SL_EINVAL, "%s: a damaged section '%s'", c->path, sec);
    return 0;
}

/* Go back to the checkpoint's position, or say what a restart loses. */
static int restore_source(sl_context *ctx, sl_stream *s, const sl__ckpt *c, sl_error *err) {
    char sec[300];
    size_t len;
    if (ctx->recv_wal && s->fn.source.mode == SL_SOURCE_RECEIVER)
        return restore_wal(c, s, err);
    snprintf(sec, sizeof sec, "source/%s", s->name);
    const uint8_t *p = sl__ckpt_find(c, sec, &len);
    if (p && s->fn.source.restore)
        return s->fn.source.restore(s->fn.inst, p, len, err);
    if (s->fn.source.snapshot)
        sl__log(SL_LOG_WARN,
                "%s: the checkpoint has no position for this source: it starts from its "
                "beginning",
                s->name);
    else
        sl__log(SL_LOG_WARN,
                "%s (%s) cannot replay: what it had received before the restart is lost "
                "(at-most-once; receiver_wal: true keeps it)",
                s->name, s->fn.handle->ref);
    return 0;
}

const sl__op_class sl__op_source = {
    .name = "source",
    .flags = SL__OPF_SOURCE,
    .run = run_source,
    .snapshot = snapshot_source,
    .restore = restore_source,
};

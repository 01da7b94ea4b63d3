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
#include "codec.h"
#include "error.h"
#include "handle.h"
#include "log.h"
#include "value.h"
#include "ops/op.h"
#include "ops/source.h"

#define DIRECT_PART_RECORDS 16384 /* a direct source's partition size */

typedef struct direct_sink {
    sl__dataset *data;
    size_t cur;
} direct_sink;

static int direct_flush(sl_emitter *em) {
    direct_sink *ds = em->host_data;
    sl__dataset *d = ds->data;
    if (em->count == 0)
        return 0;
    if (sl__records_bad_type(em->buf, em->count) >= 0) {
        em->count = 0;
        return SL_ETYPE; /* an invalid type tag from the source: refused where it enters */
    }
    if (d->nparts == 0 || d->parts[ds->cur].n >= DIRECT_PART_RECORDS) {
        sl__recvec *parts = realloc(d->parts, (d->nparts + 1) * sizeof *parts);
        if (!parts)
            return SL_ENOMEM;
        memset(&parts[d->nparts], 0, sizeof *parts);
        d->parts = parts;
        ds->cur = d->nparts++;
    }
    int rc = sl__recvec_append(&d->parts[ds->cur], em->buf, em->count);
    em->count = 0;
    return rc;
}

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
    direct_sink ds = {&s->data, 0};
    sl_emitter em = {buf, 0, SL__CHUNK, direct_flush, &mem, &ds};
    err->code = 0;
    err->msg[0] = 0;
    int rc = s->fn.source.poll(s->fn.inst, t, &em, err);
    int frc = direct_flush(&em);
    free(buf);
    if (rc == SL_EOF) {
        s->finished = true;
        rc = 0;
    }
    if (!rc && frc)
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

/* A replayable source's position after t ("source/<stream>"). */
static int snapshot_source(sl_stream *s, int64_t t, sl__ckpt_writer *w, size_t *bytes,
                           sl_error *err) {
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

/* Go back to the checkpoint's position, or say what a restart loses. */
static int restore_source(sl_context *ctx, sl_stream *s, const sl__ckpt *c, sl_error *err) {
    char sec[300];
    size_t len;
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
                "(at-most-once)",
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

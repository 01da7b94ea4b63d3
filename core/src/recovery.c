/*
 * recovery.c — checkpoints of a running pipeline, and resuming from them:
 * one loop over the operations' snapshot() and restore() (ops/op.h).
 *
 * A checkpoint (checkpoint.c's file format) after the batch at t holds:
 *   "meta"              the graph's fingerprint: every stream's name and
 *                       operation, and the batch interval;
 *   "source/<stream>"   each replayable source's position after t
 *                       (sl_source_ops.snapshot: the queue's line);
 *   "state/<stream>/<j>" partition j of each stateful stream's state.
 * State is keyed by stream name, not by position in the graph: adding an
 * output or changing a stateless stream keeps a checkpoint usable; a
 * stateful stream that disappeared or changed its operation is an error
 * that names it and says how to start fresh.
 *
 * With a replayable source, state is exactly-once across crashes: a restart
 * resumes the state and the source's position of the same batch. Outputs are
 * at-least-once (the batches after the checkpoint run again). A receiver
 * (socket) cannot replay: what it had taken in is lost with the process,
 * unless receiver_wal logs it ("receiver_wal/<stream>" holds the log
 * position the checkpoint covers; docs/receiver-wal.md).
 */
#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "clock.h"
#include "codec.h"
#include "context.h"
#include "error.h"
#include "exec.h"
#include "graph.h"
#include "log.h"
#include "recovery.h"
#include "wal.h"
#include "ops/op.h"

/* ---- settings -------------------------------------------------------------------- */

static int settable(sl_context *ctx) {
    if (!ctx)
        return SL_EINVAL;
    if (ctx->state != SL__NEW) {
        sl__ctx_fail(ctx, SL_ESTATE, NULL, "checkpoint settings cannot change after start");
        return SL_ESTATE;
    }
    return 0;
}

int sl_context_checkpoint(sl_context *ctx, const char *dir) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (!dir || !*dir) {
        sl__ctx_fail(ctx, SL_EINVAL, "checkpoint", "checkpoint: an empty directory name");
        return SL_EINVAL;
    }
    char *copy = strdup(dir);
    if (!copy) {
        sl__ctx_fail(ctx, SL_ENOMEM, NULL, "out of memory");
        return SL_ENOMEM;
    }
    free(ctx->ckpt_dir);
    ctx->ckpt_dir = copy;
    return 0;
}

int sl_context_set_checkpoint_interval(sl_context *ctx, int64_t ms) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (ms <= 0 || ms % ctx->interval != 0) {
        sl__ctx_fail(ctx, SL_EINVAL, "checkpoint_interval",
                     "the checkpoint interval (%lld ms) must be a positive multiple of the batch "
                     "interval (%lld ms)",
                     (long long)ms, (long long)ctx->interval);
        return SL_EINVAL;
    }
    ctx->ckpt_interval = ms;
    return 0;
}

int sl_context_set_checkpoint_keep(sl_context *ctx, int keep) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (keep < 1) {
        sl__ctx_fail(ctx, SL_EINVAL, "checkpoint_keep", "keep at least 1 checkpoint, got %d", keep);
        return SL_EINVAL;
    }
    ctx->ckpt_keep = keep;
    return 0;
}

int sl_context_set_fresh(sl_context *ctx, int fresh) {
    int rc = settable(ctx);
    if (!rc)
        ctx->fresh = fresh != 0;
    return rc;
}

int sl_context_set_receiver_wal(sl_context *ctx, int on) {
    int rc = settable(ctx);
    if (!rc)
        ctx->recv_wal = on != 0;
    return rc;
}

int sl_context_set_receiver_wal_max(sl_context *ctx, size_t bytes) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (bytes < ((size_t)1 << 20)) {
        sl__ctx_fail(ctx, SL_EINVAL, "receiver_wal_max",
                     "the receiver log bound must be at least 1 MiB, got %zu bytes", bytes);
        return SL_EINVAL;
    }
    ctx->wal_max = bytes;
    return 0;
}

int sl_context_set_receiver_wal_sync(sl_context *ctx, int64_t ms) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (ms < 0) {
        sl__ctx_fail(ctx, SL_EINVAL, "receiver_wal_sync",
                     "the receiver log sync delay cannot be negative, got %lld ms", (long long)ms);
        return SL_EINVAL;
    }
    ctx->wal_sync = ms;
    return 0;
}

/* The checkpoint interval: as set, or Spark's default for stateful
 * streams, the smallest multiple of the batch interval of at least 10 s. */
static int64_t ckpt_every(const sl_context *ctx) {
    if (ctx->ckpt_interval)
        return ctx->ckpt_interval;
    int64_t iv = ctx->interval;
    return ((10000 + iv - 1) / iv) * iv;
}

/* ---- writing -------------------------------------------------------------------- */

static int meta_section(sl_context *ctx, sl__buf *b) {
    int rc = sl__buf_put_i64(b, ctx->interval);
    rc = rc ? rc : sl__buf_put_varint(b, ctx->nstreams);
    for (size_t i = 0; i < ctx->nstreams && !rc; i++) {
        const sl_stream *s = ctx->streams[i];
        const char *op = sl__op_name(s->op);
        rc = sl__buf_put_bytes(b, s->name, strlen(s->name));
        rc = rc ? rc : sl__buf_put_bytes(b, op, strlen(op));
    }
    /* windows and the checkpoint interval slide from the zero time: a
     * resumed run keeps it, so that they stay in phase */
    return rc ? rc : sl__buf_put_i64(b, ctx->zero_time);
}

/* Write one checkpoint after the batch at t. */
static int write_checkpoint(sl_context *ctx, int64_t t, sl_error *err) {
    int64_t t0 = sl__mono_us();
    sl__ckpt_writer *w;
    int rc = sl__ckpt_begin(ctx->ckpt_dir, t, &w, err);
    if (rc)
        return rc;
    sl__buf b = {0};
    if ((rc = meta_section(ctx, &b)))
        sl__error_set(err, rc, "checkpoint: out of memory");
    else
        rc = sl__ckpt_section(w, "meta", b.data, b.len, err);
    size_t bytes = b.len;
    for (size_t i = 0; i < ctx->nstreams && !rc; i++) {
        sl_stream *s = ctx->streams[i];
        if (s->cls->snapshot)
            rc = s->cls->snapshot(s, t, w, &bytes, err);
    }
    sl__buf_free(&b);
    if (rc) {
        sl__ckpt_abort(w);
        return rc;
    }
    rc = sl__ckpt_commit(w, ctx->ckpt_keep ? ctx->ckpt_keep : 3, err);
    if (!rc)
        sl__log(SL_LOG_INFO, "checkpoint of batch %lld written to %s (%zu bytes, %lld ms)",
                (long long)t, ctx->ckpt_dir, bytes, (long long)((sl__mono_us() - t0) / 1000));
    return rc;
}

/* CHECKPOINT_WRITTEN for the checkpoint of t, written (rc 0) or not. */
static void ckpt_event(sl_context *ctx, int64_t t, int64_t t0, int rc, const sl_error *err) {
    char name[64], path[4200];
    sl__ckpt_file_name(t, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", ctx->ckpt_dir, name);
    struct stat st;
    int64_t size = !rc && stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
    sl_event ev = {.kind = SL_EVENT_CHECKPOINT_WRITTEN};
    ev.u.checkpoint = (sl_checkpoint_event){t, path, size, sl__mono_us() - t0,
                                            rc ? (err->msg[0] ? err->msg : sl_strerror(rc)) : NULL};
    sl__listeners_emit(&ctx->listeners, &ev);
}

int sl__ckpt_maybe(sl_context *ctx, int64_t t, bool final, sl_error *err) {
    if (!ctx->ckpt_dir)
        return 0;
    if (!final && (t - ctx->zero_time) % ckpt_every(ctx) != 0)
        return 0;
    if (t == ctx->last_ckpt)
        return 0; /* the final one at stop: this batch is already written */
    int64_t t0 = sl__mono_us();
    int rc = write_checkpoint(ctx, t, err);
    if (sl__listening(&ctx->listeners, SL_EVENT_CHECKPOINT_WRITTEN))
        ckpt_event(ctx, t, t0, rc, err);
    if (!rc)
        ctx->last_ckpt = t;
    /* receiver logs: what every kept checkpoint covers may go */
    for (size_t i = 0; i < ctx->nstreams && !rc; i++)
        if (ctx->streams[i]->recv)
            sl__receiver_wal_covered(ctx->streams[i]->recv);
    /* the batches up to t are safe now: sources may commit (Kafka offsets) */
    return rc ? rc : sl__sources_commit(ctx, t, err);
}

/* ---- resuming ------------------------------------------------------------------- */

/* Check the checkpoint's graph against ours: every stateful stream it
 * holds state for must still exist with the same operation. */
static int check_meta(sl_context *ctx, const sl__ckpt *c, sl_error *err) {
    size_t len;
    const uint8_t *p = sl__ckpt_find(c, "meta", &len);
    if (!p)
        return sl__error_set(err, SL_EINVAL, "%s: no graph fingerprint in the checkpoint", c->path);
    sl__reader r = {p, len, 0};
    int64_t interval;
    uint64_t n;
    if (sl__read_i64(&r, &interval) || sl__read_varint(&r, &n))
        return sl__error_set(err, SL_EINVAL, "%s: a damaged graph fingerprint", c->path);
    if (interval != ctx->interval)
        sl__log(SL_LOG_WARN,
                "%s was written with a batch interval of %lld ms, this pipeline has %lld ms: "
                "resuming anyway (windows and rates change meaning)",
                c->path, (long long)interval, (long long)ctx->interval);
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *nm, *op;
        size_t nl, ol;
        if (sl__read_bytes(&r, &nm, &nl) || sl__read_bytes(&r, &op, &ol))
            return sl__error_set(err, SL_EINVAL, "%s: a damaged graph fingerprint", c->path);
        char name[256], opname[64];
        snprintf(name, sizeof name, "%.*s", (int)nl, (const char *)nm);
        snprintf(opname, sizeof opname, "%.*s", (int)ol, (const char *)op);
        char sec[300], osec[300], wsec[300];
        snprintf(sec, sizeof sec, "state/%s/0", name);
        snprintf(osec, sizeof osec, "operator/%s", name);
        snprintf(wsec, sizeof wsec, "window/%s", name);
        if (!sl__ckpt_find(c, sec, &len) && !sl__ckpt_find(c, osec, &len) &&
            !sl__ckpt_find(c, wsec, &len))
            continue; /* a stateless stream: changes to it do not matter */
        sl_stream *s = NULL;
        for (size_t k = 0; k < ctx->nstreams; k++)
            if (strcmp(ctx->streams[k]->name, name) == 0)
                s = ctx->streams[k];
        if (!s)
            return sl__error_set(err, SL_ECONFIG,
                                 "the checkpoint %s holds the state of stream '%s' (%s), which "
                                 "this pipeline no longer defines: put it back, or start fresh "
                                 "(sluice run --fresh, or delete %s)",
                                 c->path, name, opname, ctx->ckpt_dir);
        if (strcmp(sl__op_name(s->op), opname) != 0)
            return sl__error_set(err, SL_ECONFIG,
                                 "stream '%s' was %s in the checkpoint %s and is %s now: its "
                                 "state does not carry over; start fresh (sluice run --fresh, "
                                 "or delete %s)",
                                 name, opname, c->path, sl__op_name(s->op), ctx->ckpt_dir);
    }
    int64_t zero;
    if (sl__read_i64(&r, &zero))
        return sl__error_set(err, SL_EINVAL, "%s: a damaged graph fingerprint (zero time)",
                             c->path);
    /* with another batch interval the old phase may not fit: slide anew */
    ctx->resume_zero = zero % ctx->interval == 0 ? zero : 0;
    return 0;
}

/* Give every stream back what it kept across batches: the state of the
 * stateful ones, the rings of windows, the positions of sources. */
static int restore_from(sl_context *ctx, const sl__ckpt *c, sl_error *err) {
    int rc = 0;
    for (size_t i = 0; i < ctx->nstreams && !rc; i++) {
        sl_stream *s = ctx->streams[i];
        if (s->cls->restore)
            rc = s->cls->restore(ctx, s, c, err);
    }
    return rc;
}

/* --fresh: remove the directory's checkpoints. */
static int remove_all(sl_context *ctx, sl_error *err) {
    int64_t *times = NULL;
    size_t n = 0;
    int rc = sl__ckpt_list(ctx->ckpt_dir, &times, &n, err);
    if (rc == SL_ENOTFOUND)
        return 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char name[64], path[4096];
        sl__ckpt_file_name(times[i], name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", ctx->ckpt_dir, name);
        if (unlink(path) != 0)
            rc = sl__error_set(err, SL_EIO, "--fresh: cannot remove %s", path);
    }
    if (n && !rc)
        sl__log(SL_LOG_WARN, "starting fresh: removed %zu checkpoints from %s", n, ctx->ckpt_dir);
    free(times);
    int segs = rc ? 0 : sl__wal_remove_all(ctx->ckpt_dir, err);
    if (segs > 0)
        sl__log(SL_LOG_WARN, "starting fresh: removed %d receiver log segments from %s/%s", segs,
                ctx->ckpt_dir, SL__WAL_SUBDIR);
    return rc ? rc : segs < 0 ? segs : 0;
}

int sl__ckpt_resume(sl_context *ctx, sl_error *err) {
    ctx->ckpt_lock = -1;
    if (!ctx->ckpt_dir)
        return 0;
    int rc = sl__ckpt_lock(ctx->ckpt_dir, &ctx->ckpt_lock, err);
    if (rc)
        return rc;
    if (ctx->fresh)
        return remove_all(ctx, err);
    sl__ckpt c;
    rc = sl__ckpt_load_latest(ctx->ckpt_dir, &c, err);
    if (rc == SL_ENOTFOUND) {
        /* checkpoints there, none intact: starting empty would silently
         * throw the state away */
        int64_t *times = NULL;
        size_t n = 0;
        sl_error lerr = {0, ""};
        if (sl__ckpt_list(ctx->ckpt_dir, &times, &n, &lerr) == 0 && n > 0) {
            free(times);
            return sl__error_set(err, SL_EIO,
                                 "%s holds %zu checkpoints and none is intact (see the warnings "
                                 "above): move them away to keep them, or start fresh (sluice run "
                                 "--fresh)",
                                 ctx->ckpt_dir, n);
        }
        free(times);
        sl__log(SL_LOG_INFO, "no checkpoint in %s: starting fresh", ctx->ckpt_dir);
        return 0;
    }
    if (rc)
        return rc;
    rc = check_meta(ctx, &c, err);
    if (!rc)
        rc = restore_from(ctx, &c, err);
    if (!rc) {
        ctx->resume_from = c.batch_time;
        /* the normal case: INFO; a damaged checkpoint skipped on the way was a WARN */
        sl__log(SL_LOG_INFO, "resuming from %s (batch %lld)", c.path, (long long)c.batch_time);
    }
    sl__ckpt_free(&c);
    return rc;
}

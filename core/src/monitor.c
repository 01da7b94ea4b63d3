/*
 * monitor.c — a running context's figures, kept by a listener (monitor.h).
 *
 * Every event is copied into the monitor's own tables under its lock:
 * batches into a ring of the last SL__MON_KEEP, with their per-source input
 * and per-output figures; totals, latency histograms, receivers' lives and
 * checkpoints. What no event carries is read when a snapshot is taken:
 * receivers' buffers, sources' reported states, the run's state. Stateful
 * streams' sizes are read on the scheduler thread at BATCH_COMPLETED, the
 * only thread that may look at the stores.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "context.h"
#include "handle.h"
#include "listener.h"
#include "monitor.h"
#include "ops/op.h"
#include "state.h"

const int64_t sl__mon_bucket_ms[SL__MON_NBUCKETS] = {
    1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000};

struct sl__mon {
    sl_context *ctx;
    int listener;
    size_t nsrc, nout, nstate;
    sl_stream **src_stream;   /* [nsrc] */
    sl_stream **state_stream; /* [nstate] */

    pthread_mutex_t lock;
    int64_t start_time;
    bool recv_gone;
    sl__mon_src *src;
    sl__mon_out *out;
    sl__mon_state *state;
    sl__mon_ckpt ckpt;
    int64_t completed, failed;
    int64_t in_progress, last_time;
    sl__mon_hist sched, proc, total;
    /* the batch in progress */
    sl__mon_io *cur_src, *cur_out;
    /* the ring */
    size_t head, count; /* next slot, batches held */
    sl__mon_batch *batch;
    sl__mon_io *bsrc, *bout;
};

static void hist_add(sl__mon_hist *h, int64_t ms) {
    int i = 0;
    while (i < SL__MON_NBUCKETS && ms > sl__mon_bucket_ms[i])
        i++;
    if (i < SL__MON_NBUCKETS)
        h->counts[i]++;
    h->count++;
    h->sum_ms += ms;
}

static void copy_text(char *dst, const char *src) {
    snprintf(dst, SL__MON_ERRLEN, "%.*s", SL__MON_ERRLEN - 1, src ? src : "");
}

static sl__mon_src *src_named(sl__mon *m, const char *stream) {
    for (size_t i = 0; stream && i < m->nsrc; i++)
        if (strcmp(m->src[i].stream, stream) == 0)
            return &m->src[i];
    return NULL;
}

static void on_batch(sl__mon *m, const sl_event *ev) {
    const sl_batch_event *b = &ev->u.batch;
    if (ev->kind == SL_EVENT_BATCH_STARTED) {
        m->in_progress = b->batch_time;
        for (size_t j = 0; j < m->nsrc; j++) {
            bool have = j < b->nsources;
            m->cur_src[j] = (sl__mon_io){have ? b->sources[j].records : 0,
                                         have ? b->sources[j].bytes : 0, 0, false};
        }
        for (size_t j = 0; j < m->nout; j++)
            m->cur_out[j] = (sl__mon_io){-1, -1, -1, false};
        return;
    }
    /* COMPLETED */
    size_t slot = m->head;
    sl__mon_batch *r = &m->batch[slot];
    *r = (sl__mon_batch){b->batch_time,
                         b->records,
                         b->bytes,
                         b->submission_time,
                         b->processing_start,
                         b->processing_end,
                         b->scheduling_delay,
                         b->processing_time,
                         b->total_delay,
                         b->error != NULL,
                         ""};
    copy_text(r->error, b->error);
    memcpy(m->bsrc + slot * m->nsrc, m->cur_src, m->nsrc * sizeof *m->cur_src);
    memcpy(m->bout + slot * m->nout, m->cur_out, m->nout * sizeof *m->cur_out);
    m->head = (m->head + 1) % SL__MON_KEEP;
    if (m->count < SL__MON_KEEP)
        m->count++;
    m->in_progress = -1;
    m->last_time = b->batch_time;
    if (b->error) {
        m->failed++;
        return;
    }
    m->completed++;
    for (size_t j = 0; j < m->nsrc; j++) {
        m->src[j].records_total += m->cur_src[j].records;
        m->src[j].bytes_total += m->cur_src[j].bytes;
    }
    hist_add(&m->sched, b->scheduling_delay);
    hist_add(&m->proc, b->processing_time);
    hist_add(&m->total, b->total_delay);
}

static void on_output(sl__mon *m, const sl_output_event *o) {
    if (o->index < 0 || (size_t)o->index >= m->nout)
        return;
    sl__mon_out *t = &m->out[o->index];
    sl__mon_io *c = &m->cur_out[o->index];
    c->records = o->records;
    c->duration_us = o->duration_us;
    c->failed = o->error != NULL;
    t->runs_total++;
    t->failures_total += o->error != NULL;
    t->records_total += o->error ? 0 : o->records;
    t->last_duration_us = o->duration_us;
    t->duration_us_total += o->duration_us;
}

static void on_receiver(sl__mon *m, const sl_event *ev) {
    const sl_receiver_event *r = &ev->u.receiver;
    sl__mon_src *s = src_named(m, r->stream);
    if (!s)
        return;
    if (ev->kind == SL_EVENT_RECEIVER_STARTED) {
        s->recv = SL__RECV_RUNNING;
    } else if (ev->kind == SL_EVENT_RECEIVER_ERROR) {
        s->errors_total++;
        copy_text(s->last_error, r->error);
    } else {
        s->recv = r->code == SL_EOF ? SL__RECV_ENDED : r->code ? SL__RECV_FAILED : SL__RECV_STOPPED;
        if (r->error)
            copy_text(s->last_error, r->error);
    }
}

static void on_checkpoint(sl__mon *m, const sl_checkpoint_event *c) {
    sl__mon_ckpt *k = &m->ckpt;
    if (c->error) {
        k->failures_total++;
        copy_text(k->last_error, c->error);
        return;
    }
    k->written_total++;
    k->last_batch_time = c->batch_time;
    k->last_written = sl__now_ms();
    k->last_bytes = c->bytes;
    k->last_duration_us = c->duration_us;
    hist_add(&k->duration, (c->duration_us + 500) / 1000);
}

static void listener(void *user, const sl_event *ev) {
    sl__mon *m = user;
    /* the stores' sizes, read here on the scheduler thread, outside the lock */
    int64_t keys[64], bytes[64];
    size_t nstate = 0;
    if (ev->kind == SL_EVENT_BATCH_COMPLETED) {
        nstate = m->nstate < 64 ? m->nstate : 64;
        for (size_t i = 0; i < nstate; i++) {
            sl__state_store *st = m->state_stream[i]->store;
            keys[i] = st ? (int64_t)sl__state_count(st) : 0;
            bytes[i] = st ? (int64_t)sl__state_memory(st) : 0;
        }
    }
    pthread_mutex_lock(&m->lock);
    switch (ev->kind) {
    case SL_EVENT_BATCH_STARTED:
    case SL_EVENT_BATCH_COMPLETED:
        on_batch(m, ev);
        for (size_t i = 0; i < nstate; i++) {
            m->state[i].keys = keys[i];
            m->state[i].bytes = bytes[i];
        }
        break;
    case SL_EVENT_OUTPUT_COMPLETED:
        on_output(m, &ev->u.output);
        break;
    case SL_EVENT_RECEIVER_STARTED:
    case SL_EVENT_RECEIVER_ERROR:
    case SL_EVENT_RECEIVER_STOPPED:
        on_receiver(m, ev);
        break;
    case SL_EVENT_CHECKPOINT_WRITTEN:
        on_checkpoint(m, &ev->u.checkpoint);
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&m->lock);
}

void sl__mon_free(sl__mon *m) {
    if (!m)
        return;
    if (m->listener > 0)
        sl__listeners_remove(&m->ctx->listeners, m->listener);
    pthread_mutex_destroy(&m->lock);
    free(m->src_stream);
    free(m->state_stream);
    free(m->src);
    free(m->out);
    free(m->state);
    free(m->cur_src);
    free(m->cur_out);
    free(m->batch);
    free(m->bsrc);
    free(m->bout);
    free(m);
}

sl__mon *sl__mon_new(sl_context *ctx) {
    sl__mon *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->ctx = ctx;
    pthread_mutex_init(&m->lock, NULL);
    m->start_time = sl__now_ms();
    m->in_progress = -1;
    for (size_t i = 0; i < ctx->nstreams; i++) {
        m->nsrc += sl__stream_is(ctx->streams[i], SL__OPF_SOURCE);
        m->nstate += sl__stream_is(ctx->streams[i], SL__OPF_STATEFUL);
    }
    if (m->nstate > 64)
        m->nstate = 64; /* the figures of the first 64 (listener's stack arrays) */
    m->nout = ctx->noutputs;
    size_t ns = m->nsrc ? m->nsrc : 1, no = m->nout ? m->nout : 1;
    m->src_stream = calloc(ns, sizeof *m->src_stream);
    m->state_stream = calloc(m->nstate ? m->nstate : 1, sizeof *m->state_stream);
    m->src = calloc(ns, sizeof *m->src);
    m->out = calloc(no, sizeof *m->out);
    m->state = calloc(m->nstate ? m->nstate : 1, sizeof *m->state);
    m->cur_src = calloc(ns, sizeof *m->cur_src);
    m->cur_out = calloc(no, sizeof *m->cur_out);
    m->batch = calloc(SL__MON_KEEP, sizeof *m->batch);
    m->bsrc = calloc(SL__MON_KEEP * ns, sizeof *m->bsrc);
    m->bout = calloc(SL__MON_KEEP * no, sizeof *m->bout);
    if (!m->src_stream || !m->state_stream || !m->src || !m->out || !m->state || !m->cur_src ||
        !m->cur_out || !m->batch || !m->bsrc || !m->bout) {
        sl__mon_free(m);
        return NULL;
    }
    size_t a = 0, b = 0;
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (sl__stream_is(s, SL__OPF_SOURCE)) {
            m->src_stream[a] = s;
            m->src[a].stream = s->name;
            m->src[a].recv = SL__RECV_NONE;
            a++;
        }
        if (sl__stream_is(s, SL__OPF_STATEFUL) && b < m->nstate) {
            m->state_stream[b] = s;
            m->state[b].stream = s->name;
            b++;
        }
    }
    for (size_t i = 0; i < m->nout; i++) {
        m->out[i].name = ctx->outputs[i].label;
        m->out[i].stream = ctx->outputs[i].from->name;
    }
    uint32_t mask =
        SL_EVENT_MASK(SL_EVENT_BATCH_STARTED) | SL_EVENT_MASK(SL_EVENT_BATCH_COMPLETED) |
        SL_EVENT_MASK(SL_EVENT_OUTPUT_COMPLETED) | SL_EVENT_MASK(SL_EVENT_RECEIVER_STARTED) |
        SL_EVENT_MASK(SL_EVENT_RECEIVER_ERROR) | SL_EVENT_MASK(SL_EVENT_RECEIVER_STOPPED) |
        SL_EVENT_MASK(SL_EVENT_CHECKPOINT_WRITTEN);
    m->listener = sl__listeners_add(&ctx->listeners, mask, listener, m);
    if (m->listener <= 0) {
        sl__mon_free(m);
        return NULL;
    }
    return m;
}

void sl__mon_receivers_gone(sl__mon *m) {
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->recv_gone = true;
    pthread_mutex_unlock(&m->lock);
}

void sl__mon_snap_free(sl__mon_snap *s) {
    free(s->src);
    free(s->out);
    free(s->state);
    free(s->batch);
    free(s->bsrc);
    free(s->bout);
    free(s->src_rate);
    memset(s, 0, sizeof *s);
}

/* The run's state, from the context (its own lock). */
static sl__mon_run run_state(sl_context *ctx, char *error) {
    pthread_mutex_lock(&ctx->lock);
    bool done = ctx->done;
    int result = ctx->result;
    if (done && result)
        copy_text(error, ctx->errmsg);
    pthread_mutex_unlock(&ctx->lock);
    if (done)
        return result ? SL__RUN_FAILED : SL__RUN_STOPPED;
    return atomic_load(&ctx->stop_requested) ? SL__RUN_STOPPING : SL__RUN_RUNNING;
}

/* The rates and averages over the snapshot's last batches. */
static void rates(sl__mon_snap *s) {
    size_t n = s->nbatch < SL__MON_RATE_WINDOW ? s->nbatch : SL__MON_RATE_WINDOW;
    s->avg_sched = s->avg_proc = s->avg_total = -1;
    s->input_rate = 0;
    if (!n || s->interval <= 0)
        return;
    double secs = (double)n * (double)s->interval / 1000.0;
    int64_t rec = 0, sched = 0, proc = 0, total = 0;
    for (size_t i = s->nbatch - n; i < s->nbatch; i++) {
        rec += s->batch[i].records;
        sched += s->batch[i].scheduling_delay;
        proc += s->batch[i].processing_time;
        total += s->batch[i].total_delay;
        for (size_t j = 0; j < s->nsrc; j++)
            s->src_rate[j] += (double)s->bsrc[i * s->nsrc + j].records;
    }
    s->input_rate = (double)rec / secs;
    for (size_t j = 0; j < s->nsrc; j++)
        s->src_rate[j] /= secs;
    s->avg_sched = (double)sched / (double)n;
    s->avg_proc = (double)proc / (double)n;
    s->avg_total = (double)total / (double)n;
}

int sl__mon_snapshot(sl__mon *m, size_t nbatch, sl__mon_snap *out) {
    sl_context *ctx = m->ctx;
    memset(out, 0, sizeof *out);
    /* at least the rates' window, so that they do not depend on n */
    size_t want = nbatch < SL__MON_RATE_WINDOW ? SL__MON_RATE_WINDOW : nbatch;
    if (want > SL__MON_KEEP)
        want = SL__MON_KEEP;
    size_t ns = m->nsrc ? m->nsrc : 1, no = m->nout ? m->nout : 1;
    out->src = calloc(ns, sizeof *out->src);
    out->out = calloc(no, sizeof *out->out);
    out->state = calloc(m->nstate ? m->nstate : 1, sizeof *out->state);
    out->src_rate = calloc(ns, sizeof *out->src_rate);
    out->batch = calloc(want ? want : 1, sizeof *out->batch);
    out->bsrc = calloc((want ? want : 1) * ns, sizeof *out->bsrc);
    out->bout = calloc((want ? want : 1) * no, sizeof *out->bout);
    if (!out->src || !out->out || !out->state || !out->src_rate || !out->batch || !out->bsrc ||
        !out->bout) {
        sl__mon_snap_free(out);
        return SL_ENOMEM;
    }
    out->run = run_state(ctx, out->error);
    out->now = sl__now_ms();
    out->interval = ctx->interval;
    out->ckpt_dir = ctx->ckpt_dir;
    out->nsrc = m->nsrc;
    out->nout = m->nout;
    out->nstate = m->nstate;

    pthread_mutex_lock(&m->lock);
    out->start_time = m->start_time;
    out->completed = m->completed;
    out->failed = m->failed;
    out->in_progress = m->in_progress;
    out->sched = m->sched;
    out->proc = m->proc;
    out->total = m->total;
    out->ckpt = m->ckpt;
    memcpy(out->src, m->src, m->nsrc * sizeof *m->src);
    memcpy(out->out, m->out, m->nout * sizeof *m->out);
    memcpy(out->state, m->state, m->nstate * sizeof *m->state);
    size_t n = m->count < want ? m->count : want;
    for (size_t i = 0; i < n; i++) {
        size_t slot = (m->head + SL__MON_KEEP - n + i) % SL__MON_KEEP;
        out->batch[i] = m->batch[slot];
        memcpy(out->bsrc + i * m->nsrc, m->bsrc + slot * m->nsrc, m->nsrc * sizeof *m->bsrc);
        memcpy(out->bout + i * m->nout, m->bout + slot * m->nout, m->nout * sizeof *m->bout);
    }
    out->nbatch = n;
    int64_t last = m->in_progress >= 0 ? m->in_progress : m->last_time;
    /* what no event carries, read live; the receivers only while they exist */
    for (size_t j = 0; j < m->nsrc; j++) {
        sl_stream *s = m->src_stream[j];
        sl__mon_src *d = &out->src[j];
        d->component = s->fn.handle ? s->fn.handle->ref : NULL;
        d->receiver = s->recv != NULL;
        if (s->recv && !m->recv_gone) {
            sl__receiver_pending(s->recv, &d->buf_records, &d->buf_bytes);
            d->buf_limit = (int64_t)ctx->recv_buffer;
        }
        if (s->recv && d->recv == SL__RECV_NONE)
            d->recv = SL__RECV_STARTING;
        d->state =
            s->fn.handle ? sl__handle_source_state(s->fn.handle, d->detail, sizeof d->detail) : 0;
    }
    pthread_mutex_unlock(&m->lock);

    for (size_t i = 0; i < m->nout; i++)
        out->out[i].sink = ctx->outputs[i].fn.handle ? ctx->outputs[i].fn.handle->ref : NULL;
    /* ticks due that have not started: after the batch in progress, or after
     * the last one (the system clock only: the manual one has no ticks) */
    if (out->run == SL__RUN_RUNNING && ctx->clock == SL_CLOCK_SYSTEM && last > 0 &&
        out->now > last && ctx->interval > 0)
        out->waiting = (out->now - last) / ctx->interval;
    /* rates over the last batches; then keep only the nbatch asked for */
    rates(out);
    if (out->nbatch > nbatch) {
        size_t drop = out->nbatch - nbatch;
        memmove(out->batch, out->batch + drop, nbatch * sizeof *out->batch);
        memmove(out->bsrc, out->bsrc + drop * m->nsrc, nbatch * m->nsrc * sizeof *out->bsrc);
        memmove(out->bout, out->bout + drop * m->nout, nbatch * m->nout * sizeof *out->bout);
        out->nbatch = nbatch;
    }
    return 0;
}

const char *sl__mon_run_name(sl__mon_run r) {
    switch (r) {
    case SL__RUN_STARTING:
        return "starting";
    case SL__RUN_RUNNING:
        return "running";
    case SL__RUN_STOPPING:
        return "stopping";
    case SL__RUN_STOPPED:
        return "stopped";
    default:
        return "failed";
    }
}

const char *sl__mon_src_state(const sl__mon_src *s) {
    switch (s->state) {
    case SL_SOURCE_CONNECTING:
        return "connecting";
    case SL_SOURCE_CONNECTED:
        return "connected";
    case SL_SOURCE_DISCONNECTED:
        return "disconnected";
    case SL_SOURCE_ASSIGNED:
        return "assigned";
    default:
        break;
    }
    switch (s->recv) {
    case SL__RECV_STARTING:
        return "starting";
    case SL__RECV_STOPPED:
    case SL__RECV_ENDED:
        return "stopped";
    case SL__RECV_FAILED:
        return "failed";
    default:
        return "running";
    }
}

bool sl__mon_src_ready(const sl__mon_src *s) {
    if (s->recv == SL__RECV_FAILED || s->recv == SL__RECV_STARTING)
        return false;
    if (s->state)
        return s->state == SL_SOURCE_CONNECTED || s->state == SL_SOURCE_ASSIGNED;
    return true;
}

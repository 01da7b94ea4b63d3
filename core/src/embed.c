/*
 * embed.c — data in and out of a C program without a plugin: Spark's
 * queueStream over the program's own batches (sl_queue), receiverStream
 * from a C function, and the host table for the program's callbacks.
 *
 * Both sources are internal SOURCE components, as foreach_batch is an
 * internal SINK (func.c): the engine runs them through the same adapters
 * as a plugin's, so the queue is a DIRECT source polled at each batch time
 * and the receiver a RECEIVER on its own thread, storing through
 * host->store with the receiver buffer's backpressure (receiver.c).
 *
 * Locks: sl_queue.lock guards the batch list, the default batch and
 * `closed`; the program pushes from any thread, the engine thread polls.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "arena.h"
#include "clock.h"
#include "context.h"
#include "graph.h"
#include "handle.h"
#include "host.h"
#include "value.h"

const sl_host *sl_host_api(void) {
    return &sl__host;
}

/* ---- queueStream ------------------------------------------------------------------ */

/* One pushed batch: its records and everything they point to, in its arena. */
typedef struct qbatch {
    struct qbatch *next;
    sl__arena arena;
    sl_record *recs;
    size_t n;
} qbatch;

struct sl_queue {
    pthread_mutex_t lock;
    qbatch *head, *tail;
    size_t count;
    qbatch *dflt; /* the default batch, or NULL */
    bool closed;
    bool one_at_a_time;
};

static void qbatch_free(qbatch *b) {
    if (!b)
        return;
    sl__arena_free(&b->arena);
    free(b);
}

/* A deep copy of recs[0..n) in a batch of its own; NULL on OOM. */
static qbatch *qbatch_copy(const sl_record *recs, size_t n) {
    qbatch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    sl__arena_init(&b->arena, 64 * 1024);
    sl_mem mem;
    sl__arena_mem(&b->arena, &mem);
    b->n = n;
    b->recs = n ? sl__arena_alloc(&b->arena, n * sizeof *b->recs) : NULL;
    if (n && !b->recs) {
        qbatch_free(b);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        b->recs[i].ts = recs[i].ts;
        b->recs[i].key = recs[i].key; /* a null key keeps its pair mark (len) */
        if (sl__value_copy(&recs[i].key, &b->recs[i].key, &mem) ||
            sl__value_copy(&recs[i].value, &b->recs[i].value, &mem)) {
            qbatch_free(b);
            return NULL;
        }
    }
    return b;
}

/* Emit batch b's records at t, copied into the batch's memory (the queue
 * frees b afterwards). */
static int qbatch_emit(const qbatch *b, int64_t t, sl_emitter *out) {
    for (size_t i = 0; i < b->n; i++) {
        sl_record r = {.ts = b->recs[i].ts ? b->recs[i].ts : t};
        r.key = b->recs[i].key;
        if (sl__value_copy(&b->recs[i].key, &r.key, out->mem) ||
            sl__value_copy(&b->recs[i].value, &r.value, out->mem))
            return SL_ENOMEM;
        int rc = sl_emit(out, &r);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* DIRECT poll: the oldest batch (one_at_a_time) or all of them, else the
 * default batch; SL_EOF with the last batch once the queue is closed. */
static int queue_poll(void *inst, int64_t t, sl_emitter *out, sl_error *err) {
    sl_queue *q = inst;
    pthread_mutex_lock(&q->lock);
    qbatch *taken = q->head;
    if (taken && q->one_at_a_time) {
        q->head = taken->next;
        taken->next = NULL;
        q->count--;
    } else if (taken) {
        q->head = NULL;
        q->count = 0;
    }
    if (!q->head)
        q->tail = NULL;
    bool ended = q->closed && !q->head;
    int rc = 0;
    if (!taken && q->dflt && !q->closed)
        rc = qbatch_emit(q->dflt, t, out);
    pthread_mutex_unlock(&q->lock);
    for (qbatch *b = taken; b; b = b->next)
        if (!rc)
            rc = qbatch_emit(b, t, out);
    while (taken) {
        qbatch *next = taken->next;
        qbatch_free(taken);
        taken = next;
    }
    if (rc < 0)
        return sl__host.error_set(err, rc, "queue_stream: cannot emit the batch: %s",
                                  sl_strerror(rc));
    return ended ? SL_EOF : 0;
}

static void queue_destroy(void *inst) {
    sl_queue *q = inst;
    while (q->head) {
        qbatch *next = q->head->next;
        qbatch_free(q->head);
        q->head = next;
    }
    qbatch_free(q->dflt);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

static const sl_source_ops queue_ops = {
    .struct_size = sizeof(sl_source_ops),
    .mode = SL_SOURCE_DIRECT,
    .poll = queue_poll,
};

static const sl_component queue_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SOURCE,
    .name = "queue_stream",
    .doc = "the program's own batches (sl_queue_stream_new)",
    .destroy = queue_destroy,
    .ops = &queue_ops,
};

/* Make f the internal source `comp` with instance inst, named after stream s. */
static int c_source(sl_stream *s, const sl_component *comp, const sl_source_ops *ops, void *inst,
                    const char *ref) {
    sl__func *f = &s->fn;
    f->comp = comp;
    f->source = *ops;
    f->kind = SL_COMPONENT_SOURCE;
    f->inst = inst;
    f->created = true;
    f->handle = sl__handle_new(&s->ctx->stop_requested, s->name, ref);
    return f->handle ? 0 : SL_ENOMEM;
}

sl_stream *sl_queue_stream_new(sl_context *ctx, int one_at_a_time, sl_queue **queue) {
    if (!ctx)
        return NULL;
    if (!queue) {
        sl__ctx_fail(ctx, SL_EINVAL, NULL, "queue_stream: the queue pointer is NULL");
        return NULL;
    }
    *queue = NULL;
    sl_stream *s = sl__stream_new(ctx, SL__OP_SOURCE, NULL, NULL);
    if (!s)
        return NULL;
    sl_queue *q = calloc(1, sizeof *q);
    if (!q || c_source(s, &queue_component, &queue_ops, q, "queue_stream")) {
        free(q);
        s->fn.comp = NULL;
        s->fn.inst = NULL;
        sl__stream_drop(ctx, s);
        sl__ctx_fail(ctx, SL_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&q->lock, NULL);
    q->one_at_a_time = one_at_a_time != 0;
    *queue = q;
    return s;
}

int sl_queue_push(sl_queue *q, const sl_record *recs, size_t n) {
    if (!q || (n && !recs))
        return SL_EINVAL;
    qbatch *b = qbatch_copy(recs, n);
    if (!b)
        return SL_ENOMEM;
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        qbatch_free(b);
        return SL_ESTATE;
    }
    if (q->tail)
        q->tail->next = b;
    else
        q->head = b;
    q->tail = b;
    q->count++;
    pthread_mutex_unlock(&q->lock);
    return 0;
}

/* Push n records built by make(i) from a scratch array (copied by push). */
static int push_made(sl_queue *q, size_t n, const void *src,
                     sl_value (*make)(const void *, size_t)) {
    sl_record *recs = n ? calloc(n, sizeof *recs) : NULL;
    if (n && !recs)
        return SL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        recs[i].value = make(src, i);
    int rc = sl_queue_push(q, recs, n);
    free(recs);
    return rc;
}

static sl_value make_str(const void *src, size_t i) {
    const char *s = ((const char *const *)src)[i];
    return s ? sl_cstr(s) : sl_null();
}

static sl_value make_int(const void *src, size_t i) {
    return sl_int(((const int64_t *)src)[i]);
}

int sl_queue_push_strings(sl_queue *q, const char *const *strs, size_t n) {
    if (n && !strs)
        return SL_EINVAL;
    return push_made(q, n, strs, make_str);
}

int sl_queue_push_ints(sl_queue *q, const int64_t *ints, size_t n) {
    if (n && !ints)
        return SL_EINVAL;
    return push_made(q, n, ints, make_int);
}

int sl_queue_set_default(sl_queue *q, const sl_record *recs, size_t n) {
    if (!q || (n && !recs))
        return SL_EINVAL;
    qbatch *b = n ? qbatch_copy(recs, n) : NULL;
    if (n && !b)
        return SL_ENOMEM;
    pthread_mutex_lock(&q->lock);
    qbatch *old = q->dflt;
    q->dflt = b;
    pthread_mutex_unlock(&q->lock);
    qbatch_free(old);
    return 0;
}

void sl_queue_close(sl_queue *q) {
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_mutex_unlock(&q->lock);
}

size_t sl_queue_pending(sl_queue *q) {
    if (!q)
        return 0;
    pthread_mutex_lock(&q->lock);
    size_t n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

/* ---- receiverStream --------------------------------------------------------------- */

#define RESTART_FIRST_MS 100
#define RESTART_MAX_MS 10000
#define RESTART_RESET_MS 60000 /* a run this long was healthy: start the backoff over */

typedef struct c_receiver {
    sl_receiver_func fn;
    void *ud;
    sl_handle *h; /* the stream's handle (its fn.handle) */
} c_receiver;

/* RECEIVER run(): call the program's start function until it stops, ends
 * or fails; SL_RETRY restarts it after a growing delay (Spark's restart). */
static int receiver_run(void *inst, sl_error *err) {
    c_receiver *r = inst;
    int64_t delay = RESTART_FIRST_MS;
    sl_counter *restarts = sl__host.counter(r->h, "restarts");
    for (;;) {
        int64_t began = sl__mono_ms();
        err->code = 0;
        err->msg[0] = 0;
        int rc = r->fn(r->ud, r->h, err);
        if (rc != SL_RETRY)
            return rc;
        if (sl__host.stopping(r->h))
            return 0;
        if (sl__mono_ms() - began >= RESTART_RESET_MS)
            delay = RESTART_FIRST_MS;
        sl__host.log(r->h, SL_LOG_WARN, "receiver restarting in %lld ms: %s", (long long)delay,
                     err->msg[0] ? err->msg : "restart requested");
        if (restarts)
            sl__host.counter_add(restarts, 1);
        if (sl__host.sleep(r->h, delay) == SL_ESTOPPED)
            return 0;
        delay = delay * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : delay * 2;
    }
}

static void receiver_destroy(void *inst) {
    free(inst);
}

static const sl_source_ops receiver_ops = {
    .struct_size = sizeof(sl_source_ops),
    .mode = SL_SOURCE_RECEIVER,
    .run = receiver_run,
};

static const sl_component receiver_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SOURCE,
    .name = "receiver_stream",
    .doc = "a C function that receives on its own thread (sl_receiver_stream)",
    .destroy = receiver_destroy,
    .ops = &receiver_ops,
};

sl_stream *sl_receiver_stream(sl_context *ctx, const char *name, sl_receiver_func start, void *ud) {
    if (!ctx)
        return NULL;
    if (!start) {
        sl__ctx_fail(ctx, SL_EINVAL, NULL, "receiver_stream: the start function is NULL");
        return NULL;
    }
    sl_stream *s = sl__stream_new(ctx, SL__OP_SOURCE, NULL, NULL);
    if (!s)
        return NULL;
    if (name && !sl_stream_set_name(s, name)) {
        sl__stream_drop(ctx, s);
        return NULL;
    }
    c_receiver *r = calloc(1, sizeof *r);
    if (!r || c_source(s, &receiver_component, &receiver_ops, r, "receiver_stream")) {
        free(r);
        s->fn.comp = NULL;
        s->fn.inst = NULL;
        sl__stream_drop(ctx, s);
        sl__ctx_fail(ctx, SL_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    r->fn = start;
    r->ud = ud;
    r->h = s->fn.handle;
    return s;
}

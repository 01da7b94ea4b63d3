/*
 * receiver.c — a receiver's thread and its bounded buffer of blocks.
 *
 * The plugin's run() loops on its own thread and hands records to
 * sl__receiver_store, which copies them (bytes included) into the open
 * block: a run of adjacent lines (the socket source's) in one memcpy,
 * anything else record by record. A block is sealed when what it holds
 * (bytes, the gaps between lines and the records themselves) reaches
 * SL__BLOCK_BYTES; at every batch tick the scheduler takes all blocks
 * (sl__receiver_take), which become the batch's partitions. Between ticks it
 * may take sealed blocks early, to combine them map-side before the tick
 * (docs/decisions.md, "Early combine"), and may recycle them once combined;
 * either way they belong to the next batch and count against the limit
 * until it starts. When the buffered memory reaches the limit, store()
 * blocks until the next tick: the receiver stops reading, and for TCP the
 * kernel pushes back on the sender. Nothing is dropped.
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
#include "error.h"
#include "handle.h"
#include "receiver.h"
#include "value.h"

void sl__block_free(sl__block *b) {
    while (b) {
        sl__block *next = b->next;
        sl__arena_free(&b->arena);
        sl__recvec_free(&b->recs);
        free(b);
        b = next;
    }
}

/* A block for the receiver: a recycled one if any (called with the lock). */
static sl__block *block_new(sl__receiver *r) {
    sl__block *b = r->spare;
    if (b) {
        r->spare = b->next;
        r->spare_count--;
        b->next = NULL;
        return b;
    }
    b = calloc(1, sizeof *b);
    if (b)
        sl__arena_init(&b->arena, 256 * 1024);
    return b;
}

/* Keep block b for the next blocks (its memory is already paged in), or
 * free it when the spare list holds the buffer's worth. With the lock. */
static void give_back(sl__receiver *r, sl__block *b) {
    if ((size_t)r->spare_count * SL__BLOCK_BYTES >= r->limit) {
        b->next = NULL;
        sl__block_free(b);
        return;
    }
    sl__arena_reset(&b->arena);
    b->recs.n = 0;
    b->bytes = b->mem = 0;
    b->next = r->spare;
    r->spare = b;
    r->spare_count++;
}

/* Blocks of a completed batch come back here, for the next blocks. */
void sl__receiver_recycle(sl__receiver *r, sl__block *blocks) {
    pthread_mutex_lock(&r->lock);
    while (blocks) {
        sl__block *b = blocks;
        blocks = b->next;
        give_back(r, b);
    }
    pthread_mutex_unlock(&r->lock);
}

/* Seal the open block (if it has records). Called with the lock held. */
static void seal(sl__receiver *r) {
    if (!r->cur || r->cur->recs.n == 0)
        return;
    if (r->sealed_tail)
        r->sealed_tail->next = r->cur;
    else
        r->sealed = r->cur;
    r->sealed_tail = r->cur;
    r->cur = NULL;
}

/* Copy one record into block b; *bytes gets its payload, *taken what it
 * takes in the block. */
static int copy_record(sl__block *b, const sl_record *in, size_t *bytes, size_t *taken) {
    sl_mem mem;
    sl__arena_mem(&b->arena, &mem);
    sl_record rec = *in;
    if (sl__value_copy(&in->key, &rec.key, &mem) || sl__value_copy(&in->value, &rec.value, &mem))
        return SL_ENOMEM;
    if (sl__recvec_push(&b->recs, &rec))
        return SL_ENOMEM;
    size_t n = sl__value_bytes(&in->key) + sl__value_bytes(&in->value);
    b->bytes += n;
    *bytes += n;
    b->mem += n + sizeof(sl_record);
    *taken += n + sizeof(sl_record);
    return 0;
}

#define RUN_GAP 2            /* bytes between two records of a run ("\r\n") */
#define RUN_MAX (256u << 10) /* bytes a run spans, at most */

static inline bool plain_bytes(const sl_record *r) {
    return r->key.type == SL_NULL && r->key.len == 0 && r->value.type == SL_BYTES;
}

/* How many records from recs[0] form a run: plain elements with bytes
 * values that lie in order in one buffer, at most RUN_GAP bytes apart (a
 * socket's lines and their line ends), spanning at most RUN_MAX bytes. A
 * run is copied in one memcpy (copy_run). Sets *span to its bytes. */
static size_t run_length(const sl_record *recs, size_t n, size_t *span) {
    if (!plain_bytes(&recs[0]) || !recs[0].value.u.s)
        return 0;
    uintptr_t start = (uintptr_t)recs[0].value.u.s, end = start + recs[0].value.len;
    size_t k = 1;
    for (; k < n && plain_bytes(&recs[k]); k++) {
        uintptr_t b = (uintptr_t)recs[k].value.u.s, e = b + recs[k].value.len;
        if (b < end || b - end > RUN_GAP || e - start > RUN_MAX)
            break;
        end = e;
    }
    *span = (size_t)(end - start);
    return k;
}

/* Copy a run of k records into block b: their bytes in one piece, the
 * records pointing into it. *bytes gets their payload, *taken what they take
 * in the block. */
static int copy_run(sl__block *b, const sl_record *recs, size_t k, size_t span, size_t *bytes,
                    size_t *taken) {
    char *dst = sl__arena_alloc(&b->arena, span ? span : 1);
    size_t first = b->recs.n;
    if (!dst || sl__recvec_append(&b->recs, recs, k))
        return SL_ENOMEM;
    uintptr_t src = (uintptr_t)recs[0].value.u.s;
    memcpy(dst, recs[0].value.u.s, span);
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        sl_value *v = &b->recs.v[first + i].value;
        v->u.s = dst + ((uintptr_t)v->u.s - src);
        n += v->len;
    }
    b->bytes += n;
    *bytes = n;
    b->mem += span + k * sizeof(sl_record);
    *taken = span + k * sizeof(sl_record);
    return 0;
}

/* Tell the scheduler that a block was sealed. */
static void wake(sl__receiver *r) {
    pthread_mutex_lock(&r->wake->lock);
    r->wake->seq++;
    pthread_cond_signal(&r->wake->cond);
    pthread_mutex_unlock(&r->wake->lock);
}

int sl__receiver_store(sl__receiver *r, sl_handle *h, const sl_record *recs, size_t n) {
    const atomic_bool *stop = h->stop;
    pthread_mutex_lock(&r->lock);
    if (r->buffered >= r->limit) {
        int64_t t0 = sl__mono_ms();
        while (r->buffered >= r->limit && !(stop && atomic_load(stop))) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 50 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&r->cond, &r->lock, &ts);
        }
        r->blocked_ms += sl__mono_ms() - t0;
    }
    /* Stopping: the records are stored all the same, over the limit if need
     * be (one call's worth): they were taken from the peer, and a graceful
     * stop processes them in a last batch. SL_ESTOPPED below tells the
     * receiver to hand over what it already read and return. */
    bool stopping = stop && atomic_load(stop);
    int rc = 0;
    bool sealed = false;
    for (size_t i = 0, k; i < n && !rc; i += k) {
        if (!r->cur && !(r->cur = block_new(r))) {
            rc = SL_ENOMEM;
            break;
        }
        size_t bytes = 0, taken = 0, span;
        k = run_length(&recs[i], n - i, &span);
        if (k > 1) {
            rc = copy_run(r->cur, &recs[i], k, span, &bytes, &taken);
        } else {
            k = 1;
            rc = copy_record(r->cur, &recs[i], &bytes, &taken);
        }
        if (rc)
            break;
        r->buffered += taken;
        r->stored_bytes += (int64_t)bytes;
        r->stored_records += (int64_t)k;
        if (r->cur->mem >= SL__BLOCK_BYTES) {
            seal(r);
            sealed = true;
        }
    }
    pthread_mutex_unlock(&r->lock);
    if (sealed && r->wake)
        wake(r);
    return rc ? rc : stopping ? SL_ESTOPPED : 0;
}

sl__block *sl__receiver_take(sl__receiver *r, sl__take_info *info) {
    pthread_mutex_lock(&r->lock);
    seal(r);
    sl__block *b = r->sealed;
    if (r->early) {
        r->early_tail->next = r->sealed;
        b = r->early;
    }
    info->nearly = r->nearly;
    info->recycled_records = r->early_done_records;
    info->recycled_bytes = r->early_done_bytes;
    r->sealed = r->sealed_tail = r->early = r->early_tail = NULL;
    r->nearly = r->ntaken_early = 0;
    r->early_done_records = r->early_done_bytes = 0;
    r->buffered = r->cur ? r->cur->mem : 0;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return b;
}

size_t sl__receiver_take_early(sl__receiver *r, sl__block **out, size_t max) {
    size_t n = 0;
    pthread_mutex_lock(&r->lock);
    while (n < max && r->sealed) {
        sl__block *b = r->sealed;
        r->sealed = b->next;
        if (!r->sealed)
            r->sealed_tail = NULL;
        b->next = NULL;
        if (r->early_tail)
            r->early_tail->next = b;
        else
            r->early = b;
        r->early_tail = b;
        out[n++] = b;
    }
    r->nearly += n;
    r->ntaken_early += n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

void sl__receiver_release_early(sl__receiver *r, sl__block *const *blk, size_t n) {
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < n; i++) {
        sl__block *prev = NULL, *b = r->early;
        while (b && b != blk[i])
            prev = b, b = b->next;
        if (!b)
            continue; /* not an early block: nothing to do */
        if (prev)
            prev->next = b->next;
        else
            r->early = b->next;
        if (r->early_tail == b)
            r->early_tail = prev;
        r->nearly--;
        r->early_done_records += (int64_t)b->recs.n;
        r->early_done_bytes += (int64_t)b->bytes;
        give_back(r, b); /* its mem still counts in buffered until the take */
    }
    pthread_mutex_unlock(&r->lock);
}

static void *receiver_main(void *arg) {
    sl__receiver *r = arg;
    sl__func *f = r->fn;
    r->err.code = 0;
    r->err.msg[0] = 0;
    int rc = f->source.run(f->inst, &r->err);
    if (rc < 0 && rc != SL_EOF && rc != SL_ESTOPPED && !r->err.msg[0])
        snprintf(r->err.msg, sizeof r->err.msg, "%s (%s): receiver failed: %s", f->handle->stream,
                 f->handle->ref, sl_strerror(rc));
    r->result = rc == SL_ESTOPPED ? 0 : rc;
    atomic_store(&r->finished, true);
    return NULL;
}

int sl__receiver_start(sl__receiver *r, sl__func *fn, size_t limit, sl__wake *wake, sl_error *err) {
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->fn = fn;
    r->wake = wake;
    r->limit = limit ? limit : 64u << 20;
    atomic_store(&r->finished, false);
    fn->handle->recv = r;
    if (pthread_create(&r->thread, NULL, receiver_main, r) != 0)
        return sl__error_set(err, SL_ENOMEM, "%s: cannot start the receiver thread",
                             fn->handle->stream);
    r->thread_started = true;
    return 0;
}

/* Wait for run() to return (the engine has set its stop flag). The blocks it
 * stored stay for a final batch or for sl__receiver_free. */
void sl__receiver_join(sl__receiver *r) {
    if (!r->thread_started)
        return;
    pthread_mutex_lock(&r->lock);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    r->thread_started = false;
}

/* Records and bytes stored but not yet taken into a batch. */
void sl__receiver_pending(sl__receiver *r, int64_t *records, int64_t *bytes) {
    *records = *bytes = 0;
    pthread_mutex_lock(&r->lock);
    *records = r->early_done_records;
    *bytes = r->early_done_bytes;
    for (sl__block *b = r->early; b; b = b->next)
        *records += (int64_t)b->recs.n, *bytes += (int64_t)b->bytes;
    for (sl__block *b = r->sealed; b; b = b->next)
        *records += (int64_t)b->recs.n, *bytes += (int64_t)b->bytes;
    if (r->cur)
        *records += (int64_t)r->cur->recs.n, *bytes += (int64_t)r->cur->bytes;
    pthread_mutex_unlock(&r->lock);
}

/* Join if needed, then free every block. */
void sl__receiver_free(sl__receiver *r) {
    sl__receiver_join(r);
    sl__block_free(r->early);
    sl__block_free(r->sealed);
    sl__block_free(r->cur);
    sl__block_free(r->spare);
    r->sealed = r->sealed_tail = r->early = r->early_tail = r->cur = r->spare = NULL;
    r->nearly = 0;
    r->early_done_records = r->early_done_bytes = 0;
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
}

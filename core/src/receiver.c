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
 *
 * With receiver_wal, store() first appends the records to the receiver's
 * write-ahead log (wal.c) and only then copies them into blocks; every
 * record has an ordinal, and a take notes the ordinal it took up to, which
 * the next checkpoint saves. Before run(), the receiver's thread replays
 * the log from the resumed checkpoint's ordinal through the same path.
 * docs/receiver-wal.md.
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
#include "log.h"
#include "listener.h"
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

/* Wait until the buffer has room, or the engine stops. With the lock. */
static void wait_buffer(sl__receiver *r, const atomic_bool *stop) {
    if (r->buffered < r->limit)
        return;
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

/* Copy recs[0..n) into blocks, sealing each full one (*sealed says if
 * any). With the lock. Returns 0 or SL_ENOMEM. */
static int copy_in(sl__receiver *r, const sl_record *recs, size_t n, bool *sealed) {
    int rc = 0;
    for (size_t i = 0, k; i < n && !rc; i += k) {
        if (!r->cur && !(r->cur = block_new(r)))
            return SL_ENOMEM;
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
            *sealed = true;
        }
    }
    return rc;
}

/* Store records that are already in the log as ordinals [pos - n, pos):
 * wait for room, copy, and move wal_pos to pos. */
static int store_at(sl__receiver *r, const atomic_bool *stop, const sl_record *recs, size_t n,
                    uint64_t pos, bool wait) {
    bool sealed = false;
    pthread_mutex_lock(&r->lock);
    if (wait)
        wait_buffer(r, stop);
    int rc = copy_in(r, recs, n, &sealed);
    r->wal_pos = pos; /* even after a failure: those records stay in the log */
    pthread_mutex_unlock(&r->lock);
    if (sealed && r->wake)
        wake(r);
    return rc;
}

/* store() with the log: wait for room in the buffer, append to the log
 * (which may wait for room of its own), then store into blocks. The
 * records count as received only once they are in the log. */
static int store_logged(sl__receiver *r, const atomic_bool *stop, const sl_record *recs, size_t n) {
    pthread_mutex_lock(&r->store_lock);
    pthread_mutex_lock(&r->lock);
    wait_buffer(r, stop);
    pthread_mutex_unlock(&r->lock);
    uint64_t first = 0;
    sl_error e = {0, ""};
    int rc = sl__wal_append(r->wal, recs, n, stop, &first, &e);
    if (rc) {
        if (!r->store_err.code) {
            r->store_err = e;
            sl__log(SL_LOG_ERROR, "%s", e.msg);
        }
    } else {
        sl__log_from(SL_LOG_DEBUG, r->fn->handle->stream, r->fn->handle->ref,
                     "receiver log: records %llu..%llu logged (%zu records)",
                     (unsigned long long)first, (unsigned long long)(first + n - 1), n);
        rc = store_at(r, stop, recs, n, first + n, false);
    }
    pthread_mutex_unlock(&r->store_lock);
    return rc;
}

int sl__receiver_store(sl__receiver *r, sl_handle *h, const sl_record *recs, size_t n) {
    const atomic_bool *stop = h->stop;
    int rc;
    if (r->wal) {
        rc = store_logged(r, stop, recs, n);
    } else {
        bool sealed = false;
        pthread_mutex_lock(&r->lock);
        wait_buffer(r, stop);
        rc = copy_in(r, recs, n, &sealed);
        pthread_mutex_unlock(&r->lock);
        if (sealed && r->wake)
            wake(r);
    }
    /* Stopping: the records are stored all the same, over the limit if need
     * be (one call's worth): they were taken from the peer, and a graceful
     * stop processes them in a last batch. SL_ESTOPPED below tells the
     * receiver to hand over what it already read and return. */
    bool stopping = stop && atomic_load(stop);
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
    r->taken_pos = r->wal_pos; /* cur was sealed: every record logged so far is taken */
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    if (r->wal)
        sl__wal_sync_due(r->wal); /* receiver_wal_sync > 0: at least once a batch */
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

/* The log's visitor at recovery: records not covered by the resumed
 * checkpoint go into blocks as if just received, under backpressure. */
static int replay_visit(void *ud, uint64_t first, const sl_record *recs, size_t n, sl_error *err) {
    sl__receiver *r = ud;
    const atomic_bool *stop = r->fn->handle->stop;
    int rc = store_at(r, stop, recs, n, first + n, true);
    if (rc)
        return sl__error_set(err, rc, "%s: out of memory replaying the receiver log",
                             r->fn->handle->stream);
    return stop && atomic_load(stop) ? SL_ESTOPPED : 0;
}

int sl__receiver_wal_replay(sl__receiver *r) {
    int64_t t0 = sl__mono_ms();
    int rc = sl__wal_recover(r->wal, r->wal_from, replay_visit, r, &r->err);
    if (rc)
        return rc;
    sl__wal_stats st;
    sl__wal_stats_get(r->wal, &st);
    pthread_mutex_lock(&r->lock);
    r->wal_floor = r->fresh ? UINT64_MAX : st.first; /* no earlier checkpoint needs any */
    pthread_mutex_unlock(&r->lock);
    if (st.replayed_records)
        sl__log(SL_LOG_WARN,
                "%s: replayed %lld records from the receiver log (ordinals %llu..%llu, %lld ms): "
                "received before the restart, not covered by the checkpoint",
                r->fn->handle->stream, (long long)st.replayed_records,
                (unsigned long long)r->wal_from, (unsigned long long)st.next - 1,
                (long long)(sl__mono_ms() - t0));
    return 0;
}

/* The receiver whose thread this is (NULL on any other thread). */
static _Thread_local const sl__receiver *on_thread;

bool sl__receiver_on_thread(const sl__receiver *r) {
    return on_thread == r;
}

void sl__receiver_event(sl__receiver *r, sl_event_kind kind, const char *error, int code) {
    if (!r->listeners || !sl__listening(r->listeners, kind))
        return;
    sl_event ev = {.kind = kind};
    ev.u.receiver = (sl_receiver_event){r->fn->handle->stream, r->fn->handle->ref, error, code};
    sl__listeners_emit(r->listeners, &ev);
}

static void *receiver_main(void *arg) {
    sl__receiver *r = arg;
    sl__func *f = r->fn;
    r->err.code = 0;
    r->err.msg[0] = 0;
    on_thread = r;
    sl__receiver_event(r, SL_EVENT_RECEIVER_STARTED, NULL, 0);
    int rc = r->wal ? sl__receiver_wal_replay(r) : 0;
    if (!rc)
        rc = f->source.run(f->inst, &r->err);
    if (r->store_err.code && rc < 0 && rc != SL_ESTOPPED)
        r->err = r->store_err; /* the log's reason, not the plugin's echo of the code */
    if (rc < 0 && rc != SL_EOF && rc != SL_ESTOPPED && !r->err.msg[0])
        snprintf(r->err.msg, sizeof r->err.msg, "%s (%s): receiver failed: %s", f->handle->stream,
                 f->handle->ref, sl_strerror(rc));
    r->result = rc == SL_ESTOPPED ? 0 : rc;
    bool failed = r->result < 0 && r->result != SL_EOF;
    sl__receiver_event(r, SL_EVENT_RECEIVER_STOPPED, failed ? r->err.msg : NULL, r->result);
    atomic_store(&r->finished, true);
    return NULL;
}

int sl__receiver_start(sl__receiver *r, sl__func *fn, size_t limit, sl__wake *wake, sl_error *err) {
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    pthread_mutex_init(&r->store_lock, NULL);
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

int sl__receiver_wal_open(sl__receiver *r, const char *dir, const sl__wal_opts *o, uint64_t from,
                          bool resumed, int keep, sl_error *err) {
    int rc = sl__wal_open(dir, o, &r->wal, err);
    if (rc)
        return rc;
    r->keep = keep > 0 ? keep : 1;
    r->kept = calloc((size_t)r->keep, sizeof *r->kept);
    if (!r->kept) {
        sl__wal_close(r->wal);
        r->wal = NULL;
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    }
    r->wal_from = r->wal_pos = r->taken_pos = r->ckpt_pos = from;
    r->wal_floor = 0; /* until the replay has read the log: delete nothing */
    r->fresh = !resumed;
    return 0;
}

uint64_t sl__receiver_wal_position(sl__receiver *r) {
    pthread_mutex_lock(&r->lock);
    uint64_t p = r->ckpt_pos = r->taken_pos;
    pthread_mutex_unlock(&r->lock);
    return p;
}

/* The oldest ordinal a kept checkpoint may still need: the smallest of
 * the last `keep` checkpoints' positions, and, until this run has written
 * `keep` of them, the log's oldest ordinal at the start (checkpoints of
 * earlier runs may need it). With the lock. */
static uint64_t delete_below(const sl__receiver *r) {
    uint64_t floor = r->nkept < r->keep ? r->wal_floor : UINT64_MAX;
    for (int i = 0; i < r->nkept; i++)
        if (r->kept[i] < floor)
            floor = r->kept[i];
    return floor;
}

void sl__receiver_wal_covered(sl__receiver *r) {
    if (!r->wal)
        return;
    pthread_mutex_lock(&r->lock);
    if (r->nkept == r->keep) {
        memmove(r->kept, r->kept + 1, (size_t)(r->keep - 1) * sizeof *r->kept);
        r->nkept--;
    }
    r->kept[r->nkept++] = r->ckpt_pos;
    uint64_t floor = delete_below(r);
    pthread_mutex_unlock(&r->lock);
    int deleted = sl__wal_trim(r->wal, floor);
    sl__wal_stats st;
    sl__wal_stats_get(r->wal, &st);
    sl__log(SL_LOG_INFO,
            "%s: receiver log: %zu segments, %llu bytes, holds records %llu to %llu; the "
            "checkpoint covers those before %llu; %d segments deleted (%lld in all); %lld ms "
            "waiting for room",
            r->fn->handle->stream, st.segments, (unsigned long long)st.bytes,
            (unsigned long long)st.first, (unsigned long long)st.next,
            (unsigned long long)r->ckpt_pos, deleted, (long long)st.deleted_segments,
            (long long)st.blocked_ms);
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
    sl__wal_close(r->wal);
    r->wal = NULL;
    free(r->kept);
    r->kept = NULL;
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->store_lock);
}

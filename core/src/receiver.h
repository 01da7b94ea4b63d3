/*
 * receiver.h — a receiver thread and its bounded block buffer (receiver.c).
 *
 * Locks: sl__receiver.lock guards cur, sealed, early, spare, buffered,
 * the counters and blocked_*; `finished` is atomic; fn, limit and wake are
 * set before the thread starts and read-only after. sl__wake.lock guards seq.
 */
#ifndef SLUICE_RECEIVER_H
#define SLUICE_RECEIVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "arena.h"
#include "dataset.h"
#include "func.h"
#include "wal.h"

#define SL__BLOCK_BYTES (1u << 20) /* a receiver block is cut at this size */

typedef struct sl__block {
    struct sl__block *next;
    sl__arena arena;
    sl__recvec recs;
    size_t bytes; /* payload: the records' key and value bytes (input metrics) */
    size_t mem;   /* what the records take: payload, bytes between lines, records */
} sl__block;

void sl__block_free(sl__block *b);

typedef struct sl__receiver {
    pthread_t thread;
    bool thread_started;
    sl__func *fn;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    sl__block *cur;                  /* open block */
    sl__block *sealed, *sealed_tail; /* blocks waiting for the next batch */
    sl__block *early, *early_tail;   /* sealed blocks the engine took before the tick */
    size_t nearly;
    /* early blocks already combined and recycled: what they held, for the
     * batch's input figures and for sl__receiver_pending */
    int64_t early_done_records, early_done_bytes;
    size_t ntaken_early;   /* blocks taken early since the last take */
    struct sl__wake *wake; /* told of every sealed block (early combine) */
    sl__block *spare;      /* recycled blocks */
    int spare_count;
    int64_t blocked_reported; /* blocked_ms already reported */
    int64_t last_warning;     /* mono ms of the last buffer warning */
    size_t buffered;          /* mem of cur + sealed + early (recycled ones too) */
    size_t limit;             /* max buffered bytes before store blocks */
    atomic_bool finished;     /* run() returned */
    int result;               /* run()'s return */
    sl_error err;
    int64_t stored_records, stored_bytes, blocked_ms;
    /* the write-ahead log (receiver_wal; NULL without): `wal_pos` is the
     * ordinal after the last record stored in a block, `taken_pos` what it
     * was at the last take (what that batch covers), `ckpt_pos` what the
     * last checkpoint saved; `kept` the positions of the last `nkept`
     * checkpoints (the oldest kept one bounds what the log may delete) */
    sl__wal *wal;
    uint64_t wal_from; /* replay from this ordinal (the resumed checkpoint's) */
    uint64_t wal_pos, taken_pos, ckpt_pos;
    uint64_t wal_floor; /* the log's oldest ordinal at the start */
    bool fresh;         /* no checkpoint was resumed */
    uint64_t *kept;
    int nkept, keep;
    pthread_mutex_t store_lock;      /* one store() at a time: log order = block order */
    sl_error store_err;              /* why the log failed a store() */
    struct sl__listeners *listeners; /* the context's: receiver events (NULL: none) */
} sl__receiver;

/* A receiver event of r to the context's listeners, on the calling thread
 * (the receiver's): error is ERROR's message or STOPPED's reason. */
void sl__receiver_event(sl__receiver *r, sl_event_kind kind, const char *error, int code);
/* True on r's own thread (receiver events come only from there). */
bool sl__receiver_on_thread(const sl__receiver *r);

/* The scheduler's alarm: receivers bump seq and signal when they seal a block. */
typedef struct sl__wake {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    uint64_t seq;
} sl__wake;

int sl__receiver_start(sl__receiver *r, sl__func *fn, size_t limit, sl__wake *wake, sl_error *err);
/* Before sl__receiver_start: log every store() in the write-ahead log in
 * `dir` (opened now: errors fail the start), and on the receiver's thread,
 * before run(), replay the records from ordinal `from` (the resumed
 * checkpoint's position) into blocks, under the usual backpressure. `keep`
 * is checkpoint_keep: segments are deleted once the oldest checkpoint kept
 * covers them (`resumed`: checkpoints of earlier runs may be among those). */
int sl__receiver_wal_open(sl__receiver *r, const char *dir, const sl__wal_opts *o, uint64_t from,
                          bool resumed, int keep, sl_error *err);
/* The position a checkpoint of the batch just taken covers (saved as
 * ckpt_pos); then, once that checkpoint is committed, sl__receiver_wal_covered
 * deletes the segments every kept checkpoint covers and logs the log's size. */
uint64_t sl__receiver_wal_position(sl__receiver *r);
/* The receiver's thread, before run(): replay the log from wal_from into
 * blocks. Returns 0, SL_ESTOPPED (stopped while replaying: the rest stays
 * in the log), or an error (r->err filled). */
int sl__receiver_wal_replay(sl__receiver *r);
void sl__receiver_wal_covered(sl__receiver *r);
/* What sl__receiver_take says besides the blocks. */
typedef struct sl__take_info {
    size_t nearly;            /* the first blocks, taken early and combined */
    int64_t recycled_records; /* in early blocks combined and already recycled */
    int64_t recycled_bytes;
} sl__take_info;

/* Take every block stored so far (sealing the open one); caller frees. */
sl__block *sl__receiver_take(sl__receiver *r, sl__take_info *info);
/* Before the tick: move up to `max` sealed blocks to the early list and store
 * them in out[]; returns how many. They stay counted against the limit, and
 * in sl__receiver_pending, until sl__receiver_take returns them. */
size_t sl__receiver_take_early(sl__receiver *r, sl__block **out, size_t max);
/* The early blocks blk[0..n) have been combined into tables that keep no
 * reference to them: recycle them now. Their records and bytes still count
 * for the next take (its input figures), in sl__receiver_pending and against
 * the limit: the limit bounds a batch's input, combined early or not. */
void sl__receiver_release_early(sl__receiver *r, sl__block *const *blk, size_t n);
/* Give a completed batch's blocks back for reuse. */
void sl__receiver_recycle(sl__receiver *r, sl__block *blocks);
void sl__receiver_join(sl__receiver *r); /* after the stop flag is set */
void sl__receiver_pending(sl__receiver *r, int64_t *records, int64_t *bytes);
void sl__receiver_free(sl__receiver *r);
int sl__receiver_store(sl__receiver *r, sl_handle *h, const sl_record *recs, size_t n);

#endif /* SLUICE_RECEIVER_H */

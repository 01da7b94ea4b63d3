/*
 * ops/chain.c — fused chains: a chain of narrow functions (map, flat_map,
 * filter, map_values, flat_map_values) runs chunk by chunk from a
 * materialized root into the stage's sink, so that no intermediate batch is
 * ever built. Two sinks: append to a materialized stream's partition, or
 * combine map-side into a shuffle's per-worker hash tables. Each partition
 * of the root is one task of the worker pool.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

/* The shuffle hashes every record: inline XXH3 for bytes keys (the same
 * function sl__value_hash applies to them). */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "context.h"
#include "error.h"
#include "value.h"
#include "ops/chain.h"
#include "ops/op.h"

static inline uint64_t key_hash(const sl_value *k) {
    return k->type == SL_BYTES ? XXH3_64bits(k->u.s, k->len) : sl__value_hash(k);
}

typedef sl__stage stage;

typedef struct level {
    sl_emitter em;
    struct task *task;
    int index;
} level;

typedef struct task {
    stage *st;
    int worker;
    uint32_t partition;  /* index into the input dataset */
    uint32_t chunk_part; /* partition number the functions see */
    sl_mem mem;
    sl_error *err;
    level lv[SL__MAX_CHAIN];
} task;

static int run_sink(task *tk, const sl_record *recs, size_t n);
static int run_op(task *tk, int i, const sl_chunk *in, sl_emitter *out);

/* The emitter of level i is full (or the partition is done): push its
 * records into level i+1, or into the stage's sink after the last level. */
static int level_flush(sl_emitter *em) {
    level *lv = em->host_data;
    task *tk = lv->task;
    stage *st = tk->st;
    int rc;
    if (em->count == 0)
        return 0;
    int bad = sl__records_bad_type(em->buf, em->count);
    if (bad >= 0) {
        em->count = 0;
        return sl__error_set(tk->err, SL_ETYPE,
                             "emitted a record with an invalid type tag %d (a value is null, "
                             "int, double, bytes, list, object or bool: tags 0..6)",
                             bad);
    }
    if (lv->index + 1 < st->nchain) {
        sl_chunk c = {em->buf, em->count, st->t, tk->chunk_part, 0};
        rc = run_op(tk, lv->index + 1, &c, &tk->lv[lv->index + 1].em);
    } else {
        rc = run_sink(tk, em->buf, em->count);
    }
    em->count = 0;
    return rc;
}

/* map_values / flat_map_values: the function sees the value as a keyless
 * record; every output gets the input's key back. One input at a time, so
 * that outputs map to their input. */
typedef struct kv_wrap {
    sl_emitter em;
    sl_emitter *out;
    sl_value key;
} kv_wrap;

static int kv_wrap_flush(sl_emitter *em) {
    kv_wrap *w = em->host_data;
    for (uint32_t i = 0; i < em->count; i++) {
        sl_record r = em->buf[i];
        r.key = w->key;
        int rc = sl_emit(w->out, &r);
        if (rc)
            return rc;
    }
    em->count = 0;
    return 0;
}

static int run_values(sl__func *f, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    sl_record buf[64];
    kv_wrap w = {{buf, 0, 64, kv_wrap_flush, out->mem, NULL}, out, sl_null()};
    w.em.host_data = &w;
    for (size_t i = 0; i < in->count; i++) {
        sl_record r = in->records[i];
        w.key = r.key;
        r.key = sl_null();
        sl_chunk one = {&r, 1, in->batch_time, in->partition, 0};
        int rc = sl__func_process(f, &one, &w.em, err);
        if (!rc)
            rc = kv_wrap_flush(&w.em);
        if (rc)
            return rc;
    }
    return 0;
}

static int run_op(task *tk, int i, const sl_chunk *in, sl_emitter *out) {
    sl_stream *s = tk->st->chain[i];
    int rc;
    if (sl__stream_is(s, SL__OPF_VALUES))
        rc = run_values(&s->fn, in, out, tk->err);
    else
        rc = sl__func_process(&s->fn, in, out, tk->err);
    return rc < 0 ? sl__func_fail(&s->fn, rc, tk->err) : rc;
}

/* ---- sinks of a stage ------------------------------------------------------------ */

/* The shuffle key of a record: its key, or for count_by_value the element
 * (the value of a plain record, the tuple (key, value) of a pair). */
static int shuffle_key(task *tk, const sl_record *r, bool by_value, sl_value *key) {
    *key = r->key;
    if (!by_value)
        return 0;
    if (!sl_record_is_pair(r)) {
        *key = r->value;
        return 0;
    }
    sl_value *pair = sl_alloc(&tk->mem, 2 * sizeof *pair);
    if (!pair)
        return sl__error_set(tk->err, SL_ENOMEM, "out of memory");
    pair[0] = r->key;
    pair[1] = r->value;
    *key = sl_list(pair, 2);
    return 0;
}

#define PREFETCH_AHEAD 16

/* The table of hash h's partition: the high 32 bits of h scaled to
 * [0, np) by a multiply (no division in the inner loop); slots within a
 * table come from the low bits. */
static inline sl__table *table_of(sl__table *tabs, uint32_t np, uint64_t h) {
    return &tabs[((h >> 32) * np) >> 32];
}

/* Map-side combine of a run of records into this worker's tables. Hashes
 * are computed first and each record's slot is prefetched a few records
 * ahead: the table is larger than the cache, and its misses dominate. */
static int combine_records(task *tk, const sl_record *recs, size_t n) {
    stage *st = tk->st;
    sl_stream *t = st->target;
    sl__table *tabs = st->tabs + (size_t)tk->worker * (size_t)st->nparts;
    bool by_value = sl__stream_is(t, SL__OPF_BY_ELEMENT);
    uint32_t np = (uint32_t)st->nparts;
    sl_value keys[SL__CHUNK];
    uint64_t hashes[SL__CHUNK];
    for (size_t base = 0; base < n; base += SL__CHUNK) {
        size_t m = n - base < SL__CHUNK ? n - base : SL__CHUNK;
        for (size_t i = 0; i < m; i++) {
            int rc = shuffle_key(tk, &recs[base + i], by_value, &keys[i]);
            if (rc)
                return rc;
            hashes[i] = key_hash(&keys[i]);
        }
        for (size_t i = 0; i < m; i++) {
            if (i + PREFETCH_AHEAD < m) {
                uint64_t ph = hashes[i + PREFETCH_AHEAD];
                const sl__table *pt = table_of(tabs, np, ph);
                __builtin_prefetch(&pt->slots[(ph ? ph : 1) & pt->mask]);
            }
            const sl_record *r = &recs[base + i];
            bool fresh;
            /* keys are copied into the worker's arena when new: compact keys
             * keep the table's comparisons in cache */
            sl__entry *e = sl__table_upsert(table_of(tabs, np, hashes[i]), hashes[i], &keys[i],
                                            &tk->mem, &fresh);
            if (!e)
                return sl__error_set(tk->err, SL_ENOMEM, "%s: out of memory in the hash table",
                                     t->name);
            int rc = 0;
            if (by_value)
                e->acc = fresh ? sl_int(1) : sl_int(e->acc.u.i + 1);
            else if (fresh)
                rc = sl__reduce_first(&t->fn, &e->acc, &r->value, &tk->mem, tk->err);
            else
                rc = sl__reduce_combine(&t->fn, &e->acc, &r->value, &tk->mem, tk->err);
            if (rc < 0)
                return sl__func_fail(&t->fn, rc, tk->err);
        }
    }
    return 0;
}

static int run_sink(task *tk, const sl_record *recs, size_t n) {
    stage *st = tk->st;
    if (st->sink == SL__SINK_APPEND) {
        if (sl__recvec_append(&st->target->data.parts[tk->partition], recs, n))
            return sl__error_set(tk->err, SL_ENOMEM, "out of memory");
        return 0;
    }
    return combine_records(tk, recs, n);
}

/* One partition of the root through the chain into the sink. */
static int stage_task(void *arg, size_t p, int worker, sl_error *err) {
    stage *st = arg;
    sl_context *ctx = st->ctx;
    task tk;
    tk.st = st;
    tk.worker = worker;
    tk.partition = (uint32_t)p;
    tk.chunk_part = (uint32_t)(st->part_base + p);
    tk.err = err;
    sl__arena_mem(&ctx->warena[worker], &tk.mem);
    sl_record *bufs = st->bufs + (size_t)worker * (size_t)st->nchain * SL__CHUNK;
    for (int i = 0; i < st->nchain; i++) {
        level *lv = &tk.lv[i];
        lv->task = &tk;
        lv->index = i;
        lv->em.buf = bufs + (size_t)i * SL__CHUNK;
        lv->em.count = 0;
        lv->em.capacity = SL__CHUNK;
        lv->em.flush = level_flush;
        lv->em.mem = &tk.mem;
        lv->em.host_data = lv;
    }
    const sl__recvec *in = &st->input->parts[p];
    for (size_t off = 0; off < in->n; off += SL__CHUNK) {
        size_t n = in->n - off < SL__CHUNK ? in->n - off : SL__CHUNK;
        int rc;
        if (st->nchain == 0) {
            rc = run_sink(&tk, in->v + off, n);
        } else {
            sl_chunk c = {in->v + off, n, st->t, tk.chunk_part, 0};
            rc = run_op(&tk, 0, &c, &tk.lv[0].em);
        }
        if (rc < 0)
            return rc;
    }
    for (int i = 0; i < st->nchain; i++) {
        int rc = level_flush(&tk.lv[i].em);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The chain of a stage: the narrow streams from `from` (a stream the target
 * consumes) back to the nearest materialized ancestor, which becomes the
 * root. With include_from, `from` itself (materialized) is the chain's last
 * function: a materialized narrow stream computing its own partitions. */
int sl__stage_chain(stage *st, sl_stream *from, bool include_from, sl_error *err) {
    sl_stream *path[SL__MAX_CHAIN];
    int n = 0;
    sl_stream *s = from;
    if (include_from) { /* a materialized narrow stream: its own function ends the chain */
        path[n++] = s;
        s = s->in[0];
    }
    while (!s->materialize) {
        if (n == SL__MAX_CHAIN)
            return sl__error_set(err, SL_ELIMIT, "a chain of more than %d narrow operations",
                                 SL__MAX_CHAIN);
        path[n++] = s;
        s = s->in[0];
    }
    st->root = s;
    st->nchain = n;
    for (int i = 0; i < n; i++)
        st->chain[i] = path[n - 1 - i];
    return 0;
}

/* Run a stage's chain over every partition of `input`, in the pool. */
int sl__stage_exec(stage *st, const sl__dataset *input, sl_error *err) {
    int workers = sl__pool_workers(st->ctx->pool);
    if (st->nchain) {
        st->bufs = malloc((size_t)workers * (size_t)st->nchain * SL__CHUNK * sizeof(sl_record));
        if (!st->bufs)
            return sl__error_set(err, SL_ENOMEM, "out of memory");
    }
    st->input = input;
    int rc = sl__pool_run(st->ctx->pool, input->nparts, stage_task, st, err);
    free(st->bufs);
    st->bufs = NULL;
    return rc;
}

/* sl__stage_chain, then sl__stage_exec over the root's batch (computed). */
int sl__stage_run(stage *st, sl_stream *from, bool include_from, sl_error *err) {
    int rc = sl__stage_chain(st, from, include_from, err);
    return rc ? rc : sl__stage_exec(st, &st->root->data, err);
}

/*
 * window.c — Spark's window operations: window, count_by_window,
 * reduce_by_window, reduce_by_key_and_window (recomputed, or incremental
 * with the reduction's inverse), count_by_value_and_window and
 * group_by_key_and_window.
 *
 * A window stream keeps a ring of its parent's batches (s->opstate). Every
 * batch the parent produces is recorded when it arrives: the records are
 * deep-copied into the slot's own arena (the parent's memory dies with the
 * batch), or — for the reductions and counts — the batch is reduced once,
 * in parallel over its partitions, and only its per-key partial results
 * are kept (Spark reduces each batch once, too). At the stream's slide
 * times the slots with times in (t - window, t] make the window's batch.
 *
 * The incremental reduce_by_key_and_window keeps the previous window's
 * result as its state and computes, as Spark's ReducedWindowedDStream,
 *     new(k) = prev(k) (-) merge(leaving partials of k) (+) merge(entering partials of k)
 * so a slot stays in the ring until it has been subtracted. Keys whose value
 * falls to the zero stay unless the filter drops them; what the filter keeps
 * is the next state.
 *
 * Output records point into the ring and the state, which change only at the
 * next call (the next batch), and into worker 0's arena (reset after the
 * batch).
 *
 * Checkpoints: sl__window_snapshot writes the ring (and the incremental
 * form's last result) after a batch, sl__window_restore rebuilds it before
 * the first batch of a resumed run; the layout is described above them.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "context.h"
#include "error.h"
#include "handle.h"
#include "log.h"
#include "table.h"
#include "ops/join.h"
#include "ops/op.h"
#include "ops/window.h"

#define SLOT_BLOCK (16 * 1024) /* a slot arena's block: most batches are small */
#define OUT_PART_RECORDS 16384 /* records per output partition */

/* One batch of the parent, as the window keeps it. */
typedef struct slot {
    int64_t t;       /* the parent's batch time */
    sl__arena arena; /* owns every byte the slot's values point to */
    /* window, group_by_key_and_window: the batch's records;
     * reduce_by_key_and_window: (k, partial) per key of the batch;
     * count_by_value_and_window: (element, n) per element */
    sl__recvec recs;
    uint64_t *hashes; /* keyed slots: the hash of recs[i].key (in arena) */
    int64_t count;    /* count_by_window: records in the batch */
    sl_value partial; /* reduce_by_window: the batch's reduction, if have_partial */
    bool have_partial;
    bool in_state; /* incremental: added to the state, not subtracted yet */
} slot;

/* The ring and scratch space of a window stream (s->opstate). */
typedef struct wstate {
    slot *v; /* v[0..n): recorded batches, oldest first; v[n..cap): spare */
    size_t n, cap;
    int workers;
    sl__table *wtab; /* per worker: a batch's reduction by key */
    sl_value *wacc;  /* per worker: reduce_by_window's partial */
    bool *whave;
    sl__table enter, leave; /* scratch: merged partials */
    /* incremental reduce_by_key_and_window: the last window's result, in
     * state[cur] with its bytes in sarena[cur] (the other pair is rebuilt) */
    sl__table state[2];
    sl__arena sarena[2];
    int cur;
} wstate;

/* s->opstate_free: release the ring, the scratch tables and the state. */
static void wstate_free(void *p) {
    wstate *ws = p;
    if (!ws)
        return;
    for (size_t i = 0; i < ws->cap; i++) {
        sl__arena_free(&ws->v[i].arena);
        sl__recvec_free(&ws->v[i].recs);
    }
    free(ws->v);
    for (int w = 0; w < ws->workers; w++)
        sl__table_free(&ws->wtab[w]);
    free(ws->wtab);
    free(ws->wacc);
    free(ws->whave);
    sl__table_free(&ws->enter);
    sl__table_free(&ws->leave);
    for (int i = 0; i < 2; i++) {
        sl__table_free(&ws->state[i]);
        sl__arena_free(&ws->sarena[i]);
    }
    free(ws);
}

/* A new, empty window state with scratch space for the context's workers.
 * NULL on OOM. */
static wstate *wstate_new(sl_context *ctx) {
    wstate *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    int workers = sl__pool_workers(ctx->pool);
    bool ok = (ws->wtab = calloc((size_t)workers, sizeof *ws->wtab)) &&
              (ws->wacc = calloc((size_t)workers, sizeof *ws->wacc)) &&
              (ws->whave = calloc((size_t)workers, sizeof *ws->whave));
    for (; ok && ws->workers < workers; ws->workers++)
        ok = !sl__table_init(&ws->wtab[ws->workers], 64);
    for (int i = 0; i < 2; i++)
        sl__arena_init(&ws->sarena[i], 64 * 1024);
    ok = ok && !sl__table_init(&ws->enter, 64) && !sl__table_init(&ws->leave, 64) &&
         !sl__table_init(&ws->state[0], 64) && !sl__table_init(&ws->state[1], 64);
    if (!ok) {
        wstate_free(ws);
        return NULL;
    }
    return ws;
}

/* The stream's window state, made at the first call (or by a restore).
 * NULL on OOM. */
static wstate *wstate_get(sl_context *ctx, sl_stream *s) {
    if (s->opstate)
        return s->opstate;
    wstate *ws = wstate_new(ctx);
    if (!ws)
        return NULL;
    s->opstate = ws;
    s->opstate_free = wstate_free;
    return ws;
}

/* ---- the ring ----------------------------------------------------------------------- */

/* A fresh slot for the parent's batch at t, appended as the newest. */
static slot *slot_push(wstate *ws, int64_t t) {
    if (ws->n == ws->cap) {
        size_t cap = ws->cap ? ws->cap * 2 : 8;
        slot *v = realloc(ws->v, cap * sizeof *v);
        if (!v)
            return NULL;
        memset(v + ws->cap, 0, (cap - ws->cap) * sizeof *v);
        for (size_t i = ws->cap; i < cap; i++)
            sl__arena_init(&v[i].arena, SLOT_BLOCK);
        ws->v = v;
        ws->cap = cap;
    }
    slot *sl = &ws->v[ws->n++];
    sl->t = t;
    return sl;
}

/* Forget slot i: its arena keeps its blocks for the next batch, and the
 * slot moves to the spare end so that recorded slots stay in time order. */
static void slot_drop(wstate *ws, size_t i) {
    slot sl = ws->v[i];
    sl__arena_reset(&sl.arena);
    sl.recs.n = 0;
    sl.hashes = NULL;
    sl.count = 0;
    sl.partial = sl_null();
    sl.have_partial = false;
    sl.in_state = false;
    memmove(&ws->v[i], &ws->v[i + 1], (ws->n - i - 1) * sizeof *ws->v);
    ws->v[--ws->n] = sl;
}

/* Drop the slots no window from now on covers: times <= t - window, unless
 * still part of the incremental state (subtracted at the next slide). */
static void drop_expired(wstate *ws, int64_t oldest_out) {
    for (size_t i = 0; i < ws->n;) {
        if (ws->v[i].t <= oldest_out && !ws->v[i].in_state)
            slot_drop(ws, i);
        else
            i++;
    }
}

/* ---- errors ------------------------------------------------------------------------- */

/* Name the stream in an error a function reported (or in a bare code). */
static int fail(const sl_stream *s, int rc, sl_error *err) {
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg[0] ? err->msg : sl_strerror(rc));
    return sl__error_set(err, rc, "%s (%s): %s", s->name, sl__stream_op(s), msg);
}

/* An out-of-memory error naming the stream. */
static int oom(const sl_stream *s, sl_error *err) {
    return sl__error_set(err, SL_ENOMEM, "%s (%s): out of memory", s->name, sl__stream_op(s));
}

/* ---- recording a batch of the parent ------------------------------------------------ */

/* A batch's reduction, one task per partition of the parent's batch. */
typedef struct reduce_job {
    sl_context *ctx;
    sl_stream *s;
    wstate *ws;
    const sl__dataset *in;
} reduce_job;

/* The element count_by_value_and_window counts: the value of a plain
 * record, the tuple (k, v) of a pair (as count_by_value). */
static int element_of(const sl_record *r, sl_mem *mem, sl_value *out) {
    if (!sl_record_is_pair(r)) {
        *out = r->value;
        return 0;
    }
    sl_value *items = sl_alloc(mem, 2 * sizeof *items);
    if (!items)
        return SL_ENOMEM;
    items[0] = r->key;
    items[1] = r->value;
    *out = sl_list(items, 2);
    return 0;
}

/* Reduce partition p of the parent's batch into this worker's table (by key
 * or by element) or partial: the map side of the batch's reduction. Keys
 * are referenced, not copied: the parent's batch outlives the job. */
static int reduce_task(void *arg, size_t p, int worker, sl_error *err) {
    reduce_job *j = arg;
    sl__func *f = &j->s->fn;
    sl__op op = j->s->op;
    sl_mem mem;
    sl__arena_mem(&j->ctx->warena[worker], &mem);
    const sl__recvec *part = &j->in->parts[p];
    sl__table *tab = &j->ws->wtab[worker];
    for (size_t i = 0; i < part->n; i++) {
        const sl_record *r = &part->v[i];
        int rc = 0;
        if (op == SL__OP_REDUCE_BY_WINDOW) {
            sl_value *acc = &j->ws->wacc[worker];
            rc = j->ws->whave[worker] ? sl__reduce_combine(f, acc, &r->value, &mem, err)
                                      : sl__reduce_first(f, acc, &r->value, &mem, err);
            j->ws->whave[worker] = true;
        } else {
            sl_value key = r->key;
            if (op == SL__OP_COUNT_BY_VALUE_AND_WINDOW && element_of(r, &mem, &key))
                return SL_ENOMEM;
            bool fresh;
            sl__entry *e = sl__table_upsert(tab, sl__value_hash(&key), &key, NULL, &fresh);
            if (!e)
                return SL_ENOMEM;
            if (op == SL__OP_COUNT_BY_VALUE_AND_WINDOW)
                e->acc = sl_int(fresh ? 1 : e->acc.u.i + 1);
            else if (fresh)
                rc = sl__reduce_first(f, &e->acc, &r->value, &mem, err);
            else
                rc = sl__reduce_combine(f, &e->acc, &r->value, &mem, err);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* acc (+) other for partial results: counts add, reductions merge. */
static int merge_partial(sl_stream *s, sl_value *acc, const sl_value *other, sl_mem *mem,
                         sl_error *err) {
    if (s->op == SL__OP_COUNT_BY_VALUE_AND_WINDOW) {
        acc->u.i += other->u.i;
        return 0;
    }
    return sl__reduce_merge(&s->fn, acc, other, mem, err);
}

/* Merge every worker's table into worker 0's (the reduce side). */
static int merge_workers(sl_context *ctx, sl_stream *s, wstate *ws, sl_error *err) {
    sl_mem mem;
    sl__arena_mem(&ctx->warena[0], &mem);
    for (int w = 1; w < ws->workers; w++) {
        size_t pos = 0;
        for (sl__entry *o; (o = sl__table_next(&ws->wtab[w], &pos));) {
            bool fresh;
            sl__entry *e = sl__table_upsert(&ws->wtab[0], o->hash, &o->key, NULL, &fresh);
            if (!e)
                return SL_ENOMEM;
            int rc = fresh ? (e->acc = o->acc, 0) : merge_partial(s, &e->acc, &o->acc, &mem, err);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Keep (k, partial) per key of worker 0's table in the slot: keys and
 * partials are deep-copied into the slot's arena, with their hashes. */
static int keep_table(const sl__table *tab, slot *sl) {
    sl_mem mem;
    sl__arena_mem(&sl->arena, &mem);
    sl->hashes = tab->n ? sl_alloc(&mem, tab->n * sizeof *sl->hashes) : NULL;
    if (tab->n && !sl->hashes)
        return SL_ENOMEM;
    size_t pos = 0, i = 0;
    for (sl__entry *e; (e = sl__table_next(tab, &pos)); i++) {
        sl_record r = {sl_null(), sl_null(), sl->t};
        if (sl__value_copy(&e->key, &r.key, &mem) || sl__value_copy(&e->acc, &r.value, &mem))
            return SL_ENOMEM;
        r.key = sl_key(r.key);
        sl->hashes[i] = e->hash;
        if (sl__recvec_push(&sl->recs, &r))
            return SL_ENOMEM;
    }
    return 0;
}

/* Reduce the parent's batch once (in parallel over its partitions) and keep
 * the result in the slot. */
static int record_reduced(sl_context *ctx, sl_stream *s, wstate *ws, slot *sl, sl_error *err) {
    for (int w = 0; w < ws->workers; w++) {
        sl__table_clear(&ws->wtab[w]);
        ws->wacc[w] = sl_null();
        ws->whave[w] = false;
    }
    reduce_job job = {ctx, s, ws, &s->in[0]->data};
    int rc = sl__pool_run(ctx->pool, job.in->nparts, reduce_task, &job, err);
    if (rc < 0)
        return fail(s, rc, err);
    sl_mem mem;
    sl__arena_mem(&ctx->warena[0], &mem);
    if (s->op == SL__OP_REDUCE_BY_WINDOW) {
        for (int w = 0; w < ws->workers; w++) {
            if (!ws->whave[w])
                continue;
            rc = sl->have_partial ? sl__reduce_merge(&s->fn, &sl->partial, &ws->wacc[w], &mem, err)
                                  : (sl->partial = ws->wacc[w], 0);
            if (rc < 0)
                return fail(s, rc, err);
            sl->have_partial = true;
        }
        sl_mem smem;
        sl__arena_mem(&sl->arena, &smem);
        if (sl->have_partial && sl__value_copy(&sl->partial, &sl->partial, &smem))
            return oom(s, err);
        return 0;
    }
    if ((rc = merge_workers(ctx, s, ws, err)) < 0)
        return fail(s, rc, err);
    return keep_table(&ws->wtab[0], sl) ? oom(s, err) : 0;
}

/* Keep a deep copy of the parent's records in the slot, in batch order. */
static int record_copy(const sl__dataset *in, slot *sl) {
    sl_mem mem;
    sl__arena_mem(&sl->arena, &mem);
    for (size_t p = 0; p < in->nparts; p++) {
        size_t base = sl->recs.n;
        if (sl__recvec_append(&sl->recs, in->parts[p].v, in->parts[p].n))
            return SL_ENOMEM;
        for (size_t i = base; i < sl->recs.n; i++) {
            sl_record *r = &sl->recs.v[i];
            if (sl__value_copy(&r->key, &r->key, &mem) ||
                sl__value_copy(&r->value, &r->value, &mem))
                return SL_ENOMEM;
        }
    }
    return 0;
}

/* Record the parent's batch at t in the ring, as the operation needs it. */
static int record_batch(sl_context *ctx, sl_stream *s, wstate *ws, int64_t t, sl_error *err) {
    slot *sl = slot_push(ws, t);
    if (!sl)
        return oom(s, err);
    const sl__dataset *in = &s->in[0]->data;
    switch (s->op) {
    case SL__OP_COUNT_BY_WINDOW:
        sl->count = (int64_t)sl__dataset_count(in);
        return 0;
    case SL__OP_WINDOW:
    case SL__OP_GROUP_BY_KEY_AND_WINDOW:
        return record_copy(in, sl) ? oom(s, err) : 0;
    default:
        return record_reduced(ctx, s, ws, sl, err);
    }
}

/* ---- the window's batch --------------------------------------------------------------- */

/* Whether slot `sl` is in the window ending at t. */
static inline bool in_window(const sl_stream *s, const slot *sl, int64_t t) {
    return sl->t > t - s->window && sl->t <= t;
}

/* window: the records of every batch in the window, one partition per
 * batch, in batch order. */
static int emit_window(sl_stream *s, wstate *ws, int64_t t, sl_error *err) {
    size_t nparts = 0;
    for (size_t i = 0; i < ws->n; i++)
        nparts += in_window(s, &ws->v[i], t);
    if (sl__dataset_init(&s->data, nparts ? nparts : 1))
        return oom(s, err);
    size_t p = 0;
    for (size_t i = 0; i < ws->n; i++) {
        const slot *sl = &ws->v[i];
        if (in_window(s, sl, t) && sl__recvec_append(&s->data.parts[p++], sl->recs.v, sl->recs.n))
            return oom(s, err);
    }
    return 0;
}

/* count_by_window: one element, the number of records in the window (0
 * when it is empty). */
static int emit_count(sl_stream *s, wstate *ws, int64_t t, sl_error *err) {
    int64_t n = 0;
    for (size_t i = 0; i < ws->n; i++)
        if (in_window(s, &ws->v[i], t))
            n += ws->v[i].count;
    sl_record r = {sl_null(), sl_int(n), t};
    if (sl__dataset_init(&s->data, 1) || sl__recvec_push(&s->data.parts[0], &r))
        return oom(s, err);
    return 0;
}

/* reduce_by_window: one element, the merge of the batches' partials (none
 * when no batch of the window had a value). */
static int emit_reduce(sl_context *ctx, sl_stream *s, wstate *ws, int64_t t, sl_error *err) {
    sl_mem mem;
    sl__arena_mem(&ctx->warena[0], &mem);
    sl_value acc = sl_null();
    bool have = false;
    for (size_t i = 0; i < ws->n; i++) {
        const slot *sl = &ws->v[i];
        if (!in_window(s, sl, t) || !sl->have_partial)
            continue;
        int rc =
            have ? sl__reduce_merge(&s->fn, &acc, &sl->partial, &mem, err) : (acc = sl->partial, 0);
        if (rc < 0)
            return fail(s, rc, err);
        have = true;
    }
    if (sl__dataset_init(&s->data, 1))
        return oom(s, err);
    sl_record r = {sl_null(), acc, t};
    if (have && sl__recvec_push(&s->data.parts[0], &r))
        return oom(s, err);
    return 0;
}

/* Merge the keyed partials of slot `sl` into `tab`. Keys are referenced
 * (they live in the slot); fresh entries take the slot's partial as is. */
static int merge_slot(sl_context *ctx, sl_stream *s, sl__table *tab, const slot *sl,
                      sl_error *err) {
    sl_mem mem;
    sl__arena_mem(&ctx->warena[0], &mem);
    for (size_t i = 0; i < sl->recs.n; i++) {
        const sl_record *r = &sl->recs.v[i];
        bool fresh;
        sl__entry *e = sl__table_upsert(tab, sl->hashes[i], &r->key, NULL, &fresh);
        if (!e)
            return oom(s, err);
        int rc = fresh ? (e->acc = r->value, 0) : merge_partial(s, &e->acc, &r->value, &mem, err);
        if (rc < 0)
            return fail(s, rc, err);
    }
    return 0;
}

/* Append (k, acc) of every entry of `tab` to `out`. */
static int table_records(const sl__table *tab, int64_t t, sl__recvec *out) {
    size_t pos = 0;
    for (sl__entry *e; (e = sl__table_next(tab, &pos));) {
        sl_record r = {sl_key(e->key), e->acc, t};
        if (sl__recvec_push(out, &r))
            return SL_ENOMEM;
    }
    return 0;
}

/* reduce_by_key_and_window without an inverse and count_by_value_and_window:
 * merge the per-batch partials of the whole window. */
static int emit_recomputed(sl_context *ctx, sl_stream *s, wstate *ws, int64_t t, sl_error *err) {
    sl__table_clear(&ws->enter);
    for (size_t i = 0; i < ws->n; i++) {
        if (!in_window(s, &ws->v[i], t))
            continue;
        int rc = merge_slot(ctx, s, &ws->enter, &ws->v[i], err);
        if (rc)
            return rc;
    }
    sl__recvec all = {NULL, 0, 0};
    int rc =
        table_records(&ws->enter, t, &all) || sl__dataset_take(&s->data, &all, OUT_PART_RECORDS)
            ? oom(s, err)
            : 0;
    sl__recvec_free(&all);
    return rc;
}

/* group_by_key_and_window: (k, [values]) over the window's batches, values
 * in batch order, then arrival order. */
static int emit_grouped(sl_context *ctx, sl_stream *s, wstate *ws, int64_t t, sl_error *err) {
    sl__recvec *spans = malloc((ws->n ? ws->n : 1) * sizeof *spans);
    if (!spans)
        return oom(s, err);
    size_t n = 0;
    for (size_t i = 0; i < ws->n; i++)
        if (in_window(s, &ws->v[i], t))
            spans[n++] = ws->v[i].recs;
    sl_mem mem;
    sl__arena_mem(&ctx->warena[0], &mem);
    sl__recvec all = {NULL, 0, 0};
    int rc = sl__join_group(spans, n, t, &mem, &all, err);
    free(spans);
    if (rc < 0)
        rc = fail(s, rc, err);
    else if (sl__dataset_take(&s->data, &all, OUT_PART_RECORDS))
        rc = oom(s, err);
    sl__recvec_free(&all);
    return rc;
}

/* ---- the incremental reduce_by_key_and_window ------------------------------------------ */

/* Run the filter over the candidate pairs, chunk by chunk: what it emits
 * is kept. */
static int run_filter(sl_context *ctx, sl_stream *s, const sl__recvec *cand, int64_t t,
                      sl__recvec *kept, sl_error *err) {
    sl_record *buf = malloc(SL__CHUNK * sizeof *buf);
    if (!buf)
        return oom(s, err);
    sl_mem mem;
    sl__arena_mem(&ctx->warena[0], &mem);
    sl_emitter em = {buf, 0, SL__CHUNK, sl__recvec_flush, &mem, kept};
    int rc = 0;
    for (size_t off = 0; off < cand->n && rc >= 0; off += SL__CHUNK) {
        size_t n = cand->n - off < SL__CHUNK ? cand->n - off : SL__CHUNK;
        sl_chunk c = {cand->v + off, n, t, 0, 0};
        err->code = 0;
        err->msg[0] = 0;
        rc = sl__func_process(&s->filter, &c, &em, err);
    }
    if (rc >= 0 && sl__recvec_flush(&em))
        rc = SL_ENOMEM;
    free(buf);
    if (rc < 0) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg[0] ? err->msg : sl_strerror(rc));
        return sl__error_set(err, rc, "%s (%s): the filter %s failed: %s", s->name,
                             sl__stream_op(s), s->filter.handle ? s->filter.handle->ref : "", msg);
    }
    return 0;
}

/* The candidates of the new window: every key of the last window's state,
 * minus its leaving partials, plus its entering ones; then every entering
 * key the state lacked, as Spark: its entering partials alone. (A key only
 * in leaving batches was dropped by the filter earlier: it stays out.) */
static int candidates(sl_context *ctx, sl_stream *s, wstate *ws, int64_t t, sl__recvec *cand,
                      sl_error *err) {
    sl_mem mem;
    sl__arena_mem(&ctx->warena[0], &mem);
    const sl__table *prev = &ws->state[ws->cur];
    size_t pos = 0;
    for (sl__entry *e; (e = sl__table_next(prev, &pos));) {
        sl_value v = e->acc;
        const sl__entry *o = sl__table_find(&ws->leave, e->hash, &e->key);
        const sl__entry *n = sl__table_find(&ws->enter, e->hash, &e->key);
        int rc = 0;
        if (o)
            rc = s->fn.reduce.inverse(s->fn.inst, &v, &o->acc, &mem, err);
        if (n && rc >= 0)
            rc = sl__reduce_merge(&s->fn, &v, &n->acc, &mem, err);
        if (rc < 0)
            return fail(s, rc, err);
        sl_record r = {e->key, v, t};
        if (sl__recvec_push(cand, &r))
            return oom(s, err);
    }
    pos = 0;
    for (sl__entry *n; (n = sl__table_next(&ws->enter, &pos));) {
        if (sl__table_find(prev, n->hash, &n->key))
            continue;
        sl_record r = {sl_key(n->key), n->acc, t};
        if (sl__recvec_push(cand, &r))
            return oom(s, err);
    }
    return 0;
}

/* Make the kept pairs the new state: deep copies into the other state
 * arena, which the output then points into. */
static int save_state(sl_stream *s, wstate *ws, sl__recvec *kept, sl_error *err) {
    int next = 1 - ws->cur;
    sl__table *st = &ws->state[next];
    sl__table_clear(st);
    sl__arena_reset(&ws->sarena[next]);
    sl_mem mem;
    sl__arena_mem(&ws->sarena[next], &mem);
    for (size_t i = 0; i < kept->n; i++) {
        sl_record *r = &kept->v[i];
        r->key = sl_key(r->key);
        bool fresh;
        sl__entry *e = sl__table_upsert(st, sl__value_hash(&r->key), &r->key, &mem, &fresh);
        if (!e || sl__value_copy(&r->value, &e->acc, &mem))
            return oom(s, err);
        r->key = e->key;
        r->value = e->acc;
    }
    ws->cur = next;
    return 0;
}

/* reduce_by_key_and_window with an inverse: the last window's result, minus
 * the batches that left, plus the batches that entered; then the filter. */
static int emit_incremental(sl_context *ctx, sl_stream *s, wstate *ws, int64_t t, sl_error *err) {
    if (!s->fn.reduce.inverse)
        return sl__error_set(err, SL_ESTATE, "%s (%s): the reduction has no inverse", s->name,
                             sl__stream_op(s));
    sl__table_clear(&ws->enter);
    sl__table_clear(&ws->leave);
    for (size_t i = 0; i < ws->n; i++) {
        slot *sl = &ws->v[i];
        int rc = 0;
        if (sl->in_state && !in_window(s, sl, t))
            rc = merge_slot(ctx, s, &ws->leave, sl, err);
        else if (!sl->in_state && in_window(s, sl, t))
            rc = merge_slot(ctx, s, &ws->enter, sl, err);
        if (rc)
            return rc;
    }
    sl__recvec cand = {NULL, 0, 0}, kept = {NULL, 0, 0};
    int rc = candidates(ctx, s, ws, t, &cand, err);
    if (!rc && s->filter.kind) {
        rc = run_filter(ctx, s, &cand, t, &kept, err);
    } else if (!rc) {
        kept = cand;
        memset(&cand, 0, sizeof cand);
    }
    if (!rc)
        rc = save_state(s, ws, &kept, err);
    if (!rc && sl__dataset_take(&s->data, &kept, OUT_PART_RECORDS))
        rc = oom(s, err);
    sl__recvec_free(&cand);
    sl__recvec_free(&kept);
    if (rc)
        return rc;
    for (size_t i = 0; i < ws->n; i++)
        ws->v[i].in_state = in_window(s, &ws->v[i], t);
    return 0;
}

/* ---- entry point ---------------------------------------------------------------------- */

static int run_window(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    err->code = 0;
    err->msg[0] = 0;
    wstate *ws = wstate_get(ctx, s);
    if (!ws)
        return oom(s, err);
    drop_expired(ws, t - s->window);
    int rc = 0;
    if (s->in[0]->active && (rc = record_batch(ctx, s, ws, t, err)))
        return rc;
    if (!s->active)
        return 0;
    switch (s->op) {
    case SL__OP_WINDOW:
        rc = emit_window(s, ws, t, err);
        break;
    case SL__OP_COUNT_BY_WINDOW:
        rc = emit_count(s, ws, t, err);
        break;
    case SL__OP_REDUCE_BY_WINDOW:
        rc = emit_reduce(ctx, s, ws, t, err);
        break;
    case SL__OP_REDUCE_BY_KEY_AND_WINDOW:
        rc =
            s->inverse ? emit_incremental(ctx, s, ws, t, err) : emit_recomputed(ctx, s, ws, t, err);
        break;
    case SL__OP_COUNT_BY_VALUE_AND_WINDOW:
        rc = emit_recomputed(ctx, s, ws, t, err);
        break;
    case SL__OP_GROUP_BY_KEY_AND_WINDOW:
        rc = emit_grouped(ctx, s, ws, t, err);
        break;
    default:
        return sl__error_set(err, SL_ESTATE, "%s: %s is not a window operation", s->name,
                             sl__stream_op(s));
    }
    if (!rc)
        drop_expired(ws, t - s->window); /* slots the incremental state let go */
    return rc;
}

/* ---- checkpoints ------------------------------------------------------------------------ */

/*
 * The section "window/<stream>" of a checkpoint: everything the ring (and the
 * incremental form's last result) holds after a batch. Integers are varints
 * (v), zigzag varints (z) or single bytes (u8); values use checkpoint.h's
 * codec (into the slot's own memory on restore).
 *
 *   u8 version (1) | bytes op name | z window ms | z slide ms
 *   u8 flags: WCK_INVERSE = the incremental form, its last result follows
 *   v nslots, then each slot, oldest first (times strictly increasing):
 *     z t | u8 flags: WCK_PARTIAL (reduce_by_window has a partial),
 *                     WCK_IN_STATE (incremental: added, not subtracted yet)
 *     window, group_by_key_and_window:  v n, n x (key, value, z ts)
 *     count_by_window:                  z count (>= 0)
 *     reduce_by_window:                 the partial, when WCK_PARTIAL
 *     reduce_by_key_and_window,
 *     count_by_value_and_window:        v n, n x (key, partial), distinct keys
 *   with WCK_INVERSE: v n, n x (key, acc), distinct keys: the last result
 */
#define WCK_VERSION 1
#define WCK_INVERSE 1  /* header flag */
#define WCK_PARTIAL 1  /* slot flag */
#define WCK_IN_STATE 2 /* slot flag */

/* Whether the op's slots hold the parent's records (with their ts). */
static bool keeps_records(sl__op op) {
    return op == SL__OP_WINDOW || op == SL__OP_GROUP_BY_KEY_AND_WINDOW;
}

/* Whether the op's slots hold (key, partial) per key of the batch. */
static bool keeps_keyed(sl__op op) {
    return op == SL__OP_REDUCE_BY_KEY_AND_WINDOW || op == SL__OP_COUNT_BY_VALUE_AND_WINDOW;
}

/* Append slot `sl` to b: 0, SL_ENOMEM, or the value codec's SL_ETYPE / SL_ELIMIT. */
static int snapshot_slot(const sl_stream *s, const slot *sl, sl__buf *b) {
    uint8_t flags =
        (uint8_t)((sl->have_partial ? WCK_PARTIAL : 0) | (sl->in_state ? WCK_IN_STATE : 0));
    int rc = sl__buf_put_svarint(b, sl->t);
    rc = rc ? rc : sl__buf_put_u8(b, flags);
    if (keeps_records(s->op) || keeps_keyed(s->op)) {
        rc = rc ? rc : sl__buf_put_varint(b, sl->recs.n);
        for (size_t i = 0; i < sl->recs.n && !rc; i++) {
            const sl_record *r = &sl->recs.v[i];
            rc = sl__value_encode(b, &r->key);
            rc = rc ? rc : sl__value_encode(b, &r->value);
            if (!rc && keeps_records(s->op))
                rc = sl__buf_put_svarint(b, r->ts);
        }
    } else if (s->op == SL__OP_COUNT_BY_WINDOW) {
        rc = rc ? rc : sl__buf_put_svarint(b, sl->count);
    } else if (sl->have_partial) {
        rc = rc ? rc : sl__value_encode(b, &sl->partial);
    }
    return rc;
}

/* Append the incremental form's last result (state[cur]) to b. */
static int snapshot_state(const wstate *ws, sl__buf *b) {
    const sl__table *st = ws ? &ws->state[ws->cur] : NULL;
    int rc = sl__buf_put_varint(b, st ? st->n : 0);
    size_t pos = 0;
    for (sl__entry *e; st && !rc && (e = sl__table_next(st, &pos));) {
        rc = sl__value_encode(b, &e->key);
        rc = rc ? rc : sl__value_encode(b, &e->acc);
    }
    return rc;
}

/* Append the window stream's ring (and the incremental form's last result)
 * to b, in the layout above. A stream that never ran writes an empty ring. */
int sl__window_snapshot(sl_stream *s, sl__buf *b, sl_error *err) {
    const wstate *ws = s->opstate;
    const char *op = sl__stream_op(s);
    int rc = sl__buf_put_u8(b, WCK_VERSION);
    rc = rc ? rc : sl__buf_put_bytes(b, op, strlen(op));
    rc = rc ? rc : sl__buf_put_svarint(b, s->window);
    rc = rc ? rc : sl__buf_put_svarint(b, s->slide);
    rc = rc ? rc : sl__buf_put_u8(b, s->inverse ? WCK_INVERSE : 0);
    rc = rc ? rc : sl__buf_put_varint(b, ws ? ws->n : 0);
    for (size_t i = 0; ws && i < ws->n && !rc; i++)
        rc = snapshot_slot(s, &ws->v[i], b);
    if (!rc && s->inverse)
        rc = snapshot_state(ws, b);
    if (!rc)
        return 0;
    if (rc == SL_ENOMEM)
        return oom(s, err);
    return sl__error_set(err, rc, "stream '%s' (%s): cannot checkpoint the window: %s", s->name, op,
                         rc == SL_ELIMIT ? "a value is nested too deeply"
                                         : "a value has an unknown type");
}

/* A damaged window section: SL_EINVAL naming the stream and what is wrong. */
static int damaged(const sl_stream *s, const char *what, sl_error *err) {
    return sl__error_set(err, SL_EINVAL, "stream '%s' (%s): the window checkpoint is damaged: %s",
                         s->name, sl__stream_op(s), what);
}

/* Decode one value into mem: 0, or the error set (damaged, or OOM). */
static int read_value(const sl_stream *s, sl__reader *r, sl_value *v, sl_mem *mem, const char *what,
                      sl_error *err) {
    int rc = sl__value_decode(r, v, mem);
    if (rc == SL_ENOMEM)
        return oom(s, err);
    return rc ? damaged(s, what, err) : 0;
}

/* Read a count of items that take at least `min` bytes each: a count the
 * bytes left cannot hold is damage (and never sizes an allocation). */
static int read_count(const sl_stream *s, sl__reader *r, size_t min, size_t *n, const char *what,
                      sl_error *err) {
    uint64_t v;
    if (sl__read_varint(r, &v) || v > sl__reader_left(r) / min)
        return damaged(s, what, err);
    *n = (size_t)v;
    return 0;
}

/* Read the keyed partials of slot `sl`: distinct keys (checked with the
 * scratch table `seen`), counts positive ints; keys and hashes as
 * keep_table makes them, in the slot's arena. */
static int restore_keyed(const sl_stream *s, sl__reader *r, slot *sl, sl__table *seen,
                         sl_error *err) {
    size_t n = 0;
    int rc = read_count(s, r, 2, &n, "a slot's key count", err);
    if (rc)
        return rc;
    sl_mem mem;
    sl__arena_mem(&sl->arena, &mem);
    if (n && !(sl->hashes = sl_alloc(&mem, n * sizeof *sl->hashes)))
        return oom(s, err);
    sl__table_clear(seen);
    for (size_t i = 0; i < n; i++) {
        sl_record rec = {sl_null(), sl_null(), sl->t};
        if ((rc = read_value(s, r, &rec.key, &mem, "a slot's key", err)) ||
            (rc = read_value(s, r, &rec.value, &mem, "a slot's partial", err)))
            return rc;
        rec.key = sl_key(rec.key);
        if (s->op == SL__OP_COUNT_BY_VALUE_AND_WINDOW &&
            (rec.value.type != SL_INT || rec.value.u.i < 1))
            return damaged(s, "a count that is not a positive integer", err);
        bool fresh;
        uint64_t h = sl__value_hash(&rec.key);
        if (!sl__table_upsert(seen, h, &rec.key, NULL, &fresh))
            return oom(s, err);
        if (!fresh)
            return damaged(s, "a key twice in one slot", err);
        sl->hashes[i] = h;
        if (sl__recvec_push(&sl->recs, &rec))
            return oom(s, err);
    }
    sl__table_clear(seen);
    return 0;
}

/* Read one slot and append it to the ring of ws. `inverse`: the snapshot is
 * of the incremental form (slots may be in its state). */
static int restore_slot(const sl_stream *s, wstate *ws, sl__reader *r, bool inverse,
                        sl_error *err) {
    int64_t t;
    uint8_t flags;
    if (sl__read_svarint(r, &t) || sl__read_u8(r, &flags))
        return damaged(s, "a truncated slot", err);
    if (ws->n && t <= ws->v[ws->n - 1].t)
        return damaged(s, "slot times out of order", err);
    unsigned allowed =
        (s->op == SL__OP_REDUCE_BY_WINDOW ? WCK_PARTIAL : 0u) | (inverse ? WCK_IN_STATE : 0u);
    if (flags & ~allowed)
        return damaged(s, "unknown slot flags", err);
    slot *sl = slot_push(ws, t);
    if (!sl)
        return oom(s, err);
    sl->in_state = (flags & WCK_IN_STATE) && s->inverse;
    sl_mem mem;
    sl__arena_mem(&sl->arena, &mem);
    if (keeps_keyed(s->op))
        return restore_keyed(s, r, sl, &ws->enter, err);
    if (s->op == SL__OP_COUNT_BY_WINDOW) {
        if (sl__read_svarint(r, &sl->count) || sl->count < 0)
            return damaged(s, "a slot's count", err);
        return 0;
    }
    if (s->op == SL__OP_REDUCE_BY_WINDOW) {
        sl->have_partial = flags & WCK_PARTIAL;
        return sl->have_partial ? read_value(s, r, &sl->partial, &mem, "a slot's partial", err) : 0;
    }
    size_t n = 0;
    int rc = read_count(s, r, 3, &n, "a slot's record count", err);
    for (size_t i = 0; i < n && !rc; i++) {
        sl_record rec = {sl_null(), sl_null(), 0};
        if (!(rc = read_value(s, r, &rec.key, &mem, "a record's key", err)) &&
            !(rc = read_value(s, r, &rec.value, &mem, "a record's value", err))) {
            if (sl__read_svarint(r, &rec.ts))
                rc = damaged(s, "a record's time", err);
            else if (sl__recvec_push(&sl->recs, &rec))
                rc = oom(s, err);
        }
    }
    return rc;
}

/* Read the incremental form's last result into state[0] (its bytes in
 * sarena[0]); when this stream is no longer incremental it is read (and
 * checked) but dropped: the recomputed form needs only the ring. */
static int restore_state(const sl_stream *s, wstate *ws, sl__reader *r, sl_error *err) {
    size_t n = 0;
    int rc = read_count(s, r, 2, &n, "the last window's key count", err);
    if (rc)
        return rc;
    sl__table *st = &ws->state[0];
    sl_mem mem;
    sl__arena_mem(&ws->sarena[0], &mem);
    for (size_t i = 0; i < n; i++) {
        sl_value key, acc;
        if ((rc = read_value(s, r, &key, &mem, "a key of the last window", err)) ||
            (rc = read_value(s, r, &acc, &mem, "a value of the last window", err)))
            return rc;
        key = sl_key(key);
        bool fresh;
        sl__entry *e = sl__table_upsert(st, sl__value_hash(&key), &key, NULL, &fresh);
        if (!e)
            return oom(s, err);
        if (!fresh)
            return damaged(s, "a key twice in the last window", err);
        e->acc = acc;
    }
    ws->cur = 0;
    if (!s->inverse) {
        sl__table_clear(st);
        sl__arena_reset(&ws->sarena[0]);
    }
    return 0;
}

/* Check the section's header against the stream: the format version, the
 * operation, the window and the slide. *inverse: the snapshot is of the
 * incremental form. */
static int restore_header(sl_context *ctx, const sl_stream *s, sl__reader *r, bool *inverse,
                          sl_error *err) {
    uint8_t version, flags;
    const uint8_t *op;
    size_t oplen;
    int64_t window, slide;
    if (sl__read_u8(r, &version))
        return damaged(s, "no header", err);
    if (version != WCK_VERSION)
        return sl__error_set(err, SL_EINVAL,
                             "stream '%s': the window checkpoint has format version %u, this "
                             "engine reads version %d",
                             s->name, version, WCK_VERSION);
    if (sl__read_bytes(r, &op, &oplen) || sl__read_svarint(r, &window) ||
        sl__read_svarint(r, &slide) || sl__read_u8(r, &flags))
        return damaged(s, "a truncated header", err);
    const char *name = sl__stream_op(s);
    const char *dir = ctx->ckpt_dir ? ctx->ckpt_dir : "the checkpoint directory";
    if (oplen != strlen(name) || memcmp(op, name, oplen) != 0)
        return sl__error_set(err, SL_ECONFIG,
                             "stream '%s' was %.*s in the checkpoint and is %s now: its window "
                             "does not carry over; start fresh (sluice run --fresh, or delete %s)",
                             s->name, (int)(oplen < 64 ? oplen : 64), (const char *)op, name, dir);
    if ((flags & ~WCK_INVERSE) ||
        ((flags & WCK_INVERSE) && s->op != SL__OP_REDUCE_BY_KEY_AND_WINDOW))
        return damaged(s, "unknown header flags", err);
    const char *what = window != s->window ? "window" : slide != s->slide ? "slide" : NULL;
    if (what)
        return sl__error_set(err, SL_ECONFIG,
                             "stream '%s': the %s changed (%lld ms -> %lld ms) since the "
                             "checkpoint; start fresh (sluice run --fresh, or delete %s)",
                             s->name, what, (long long)(window != s->window ? window : slide),
                             (long long)(window != s->window ? s->window : s->slide), dir);
    *inverse = flags & WCK_INVERSE;
    return 0;
}

/* Rebuild the window stream's ring (and the incremental form's last result)
 * from a snapshot, before the first batch of a resumed run. Everything is
 * checked and copied into the ring's own memory; on failure the stream is
 * left as it was. A change between the two reduce_by_key_and_window forms
 * carries over: the recomputed form drops the last result, the incremental
 * one starts from none (its first window is then recomputed). */
int sl__window_restore(sl_context *ctx, sl_stream *s, sl__reader *r, sl_error *err) {
    bool inverse = false;
    int rc = restore_header(ctx, s, r, &inverse, err);
    if (rc)
        return rc;
    size_t n = 0;
    if ((rc = read_count(s, r, 2, &n, "the slot count", err)))
        return rc;
    wstate *ws = wstate_new(ctx);
    if (!ws)
        return oom(s, err);
    for (size_t i = 0; i < n && !rc; i++)
        rc = restore_slot(s, ws, r, inverse, err);
    if (!rc && inverse)
        rc = restore_state(s, ws, r, err);
    if (!rc && sl__reader_left(r))
        rc = damaged(s, "bytes after the end", err);
    if (rc) {
        wstate_free(ws);
        return rc;
    }
    if (s->opstate_free)
        s->opstate_free(s->opstate);
    s->opstate = ws;
    s->opstate_free = wstate_free;
    sl__log(SL_LOG_INFO, "%s: a window of %zu batches restored", s->name, ws->n);
    return 0;
}

/* "window/<stream>": the ring, after the batch at t. */
static int snapshot_window(sl_stream *s, int64_t t, sl__ckpt_writer *w, size_t *bytes,
                           sl_error *err) {
    sl__buf b = {0};
    char name[300];
    int rc = sl__window_snapshot(s, &b, err);
    snprintf(name, sizeof name, "window/%s", s->name);
    if (!rc)
        rc = sl__ckpt_section(w, name, b.data, b.len, err);
    *bytes += b.len;
    sl__buf_free(&b);
    return rc;
}

static int restore_window(sl_context *ctx, sl_stream *s, const sl__ckpt *c, sl_error *err) {
    char sec[300];
    size_t len;
    snprintf(sec, sizeof sec, "window/%s", s->name);
    const uint8_t *p = sl__ckpt_find(c, sec, &len);
    if (!p)
        return 0;
    sl__reader r = {p, len, 0};
    return sl__window_restore(ctx, s, &r, err);
}

#define WINDOW(op_name)                                                                            \
    const sl__op_class sl__op_##op_name = {                                                        \
        .name = #op_name,                                                                          \
        .flags = SL__OPF_WINDOW | SL__OPF_WHOLE_INPUT,                                             \
        .run = run_window,                                                                         \
        .snapshot = snapshot_window,                                                               \
        .restore = restore_window,                                                                 \
    }

WINDOW(window);
WINDOW(count_by_window);
WINDOW(reduce_by_window);
WINDOW(reduce_by_key_and_window);
WINDOW(count_by_value_and_window);
WINDOW(group_by_key_and_window);

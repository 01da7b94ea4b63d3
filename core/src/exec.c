/*
 * exec.c — running one batch over the graph.
 *
 * A stream is *materialized* (its batch kept as a dataset of partitions)
 * when it is a source, a wide operation, feeds an output, has several
 * consumers, or feeds an operation that needs its whole input. Every other
 * narrow stream is *fused*: a chain of narrow functions runs chunk by chunk
 * from the nearest materialized ancestor into the consumer — either
 * appending to a materialized stream's partition, or combining map-side
 * into the per-worker hash tables of a reduce_by_key / count_by_value.
 * The shuffle then merges the tables partition by partition, in parallel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The shuffle hashes every record: inline XXH3 for bytes keys (the same
 * function sl__value_hash applies to them). */
#define XXH_INLINE_ALL
#include <xxhash.h>

static inline uint64_t key_hash(const sl_value *k) {
    return k->type == SL_BYTES ? XXH3_64bits(k->u.s, k->len) : sl__value_hash(k);
}

#define MAX_CHAIN 64

static bool needs_whole_input(sl__op op) {
    return op == SL_OP_TRANSFORM || op == SL_OP_REDUCE || op == SL_OP_COUNT || op == SL_OP_UNION ||
           op == SL_OP_REPARTITION || sl__op_is_window(op) || sl__op_is_join(op) ||
           op == SL_OP_UPDATE_STATE_BY_KEY || op == SL_OP_MAP_WITH_STATE ||
           op == SL_OP_STATE_SNAPSHOTS || op == SL_OP_OPERATOR;
}

/* How often each stream produces a batch (Spark's slideDuration): sources
 * every interval, a window every slide, anything else as its inputs, which
 * must agree. */
static int plan_periods(sl_context *ctx, sl_error *err) {
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (s->op == SL_OP_SOURCE) {
            s->period = ctx->interval;
        } else if (sl__op_is_window(s->op)) {
            int64_t p = s->in[0]->period;
            if (s->window % p || s->slide % p)
                return sl__error_set(err, SL_ECONFIG,
                                     "%s (%s): window %lld ms and slide %lld ms must be "
                                     "multiples of the batches of '%s' (every %lld ms)",
                                     s->name, sl__op_name(s->op), (long long)s->window,
                                     (long long)s->slide, s->in[0]->name, (long long)p);
            s->period = s->slide;
        } else {
            s->period = s->in[0]->period;
            if (s->nin == 2 && s->in[1]->period != s->period)
                return sl__error_set(
                    err, SL_ECONFIG,
                    "%s (%s): '%s' produces a batch every %lld ms but '%s' every %lld ms; both "
                    "inputs must slide alike (window them the same way)",
                    s->name, sl__op_name(s->op), s->in[0]->name, (long long)s->in[0]->period,
                    s->in[1]->name, (long long)s->in[1]->period);
        }
    }
    return 0;
}

int sl__plan(sl_context *ctx, sl_error *err) {
    for (size_t i = 0; i < ctx->nstreams; i++) {
        ctx->streams[i]->consumers = 0;
        ctx->streams[i]->materialize = false;
    }
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        for (int k = 0; k < s->nin; k++) {
            s->in[k]->consumers++;
            if (needs_whole_input(s->op))
                s->in[k]->materialize = true;
        }
    }
    for (size_t i = 0; i < ctx->noutputs; i++) {
        ctx->outputs[i].from->consumers++;
        ctx->outputs[i].from->materialize = true;
    }
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *init = ctx->streams[i]->initial_stream;
        if (init) {
            init->consumers++; /* read whole, at the stateful stream's first batch */
            init->materialize = true;
        }
    }
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (!sl__op_is_narrow(s->op) || s->consumers > 1)
            s->materialize = true;
    }
    /* a fused chain holds at most MAX_CHAIN functions: materialize one
     * stream every MAX_CHAIN in longer chains (creation order is topological) */
    int *depth = calloc(ctx->nstreams ? ctx->nstreams : 1, sizeof *depth);
    if (!depth)
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (s->materialize)
            continue;
        depth[i] = depth[s->in[0]->id] + 1;
        if (depth[i] >= MAX_CHAIN) {
            s->materialize = true;
            depth[i] = 0;
        }
    }
    free(depth);
    int rc = plan_periods(ctx, err);
    if (rc)
        return rc;
    if (ctx->noutputs == 0)
        return sl__error_set(err, SL_ECONFIG,
                             "the graph has no outputs: nothing would run (add pprint or another "
                             "sink)");
    return 0;
}

/* ---- fused chains ----------------------------------------------------------------- */

typedef struct stage stage;

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
    level lv[MAX_CHAIN];
} task;

enum sink_kind { SINK_APPEND, SINK_COMBINE };

struct stage {
    sl_context *ctx;
    int64_t t;
    sl_stream *root;
    const sl_dataset *input; /* the root's partitions to run (its data, or early blocks) */
    size_t part_base;        /* partition numbers the functions see start here */
    sl_stream *chain[MAX_CHAIN];
    int nchain;
    int sink;
    sl_stream *target;
    sl_record *bufs; /* [workers][nchain][SL__CHUNK] */
    /* combine */
    sl__table *tabs; /* [workers][nparts] */
    int nparts;
};

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
    if (s->op == SL_OP_MAP_VALUES || s->op == SL_OP_FLAT_MAP_VALUES)
        rc = run_values(&s->fn, in, out, tk->err);
    else
        rc = sl__func_process(&s->fn, in, out, tk->err);
    if (rc < 0 && !tk->err->msg[0])
        sl__error_set(tk->err, rc, "%s (%s): %s", s->name, sl__op_name(s->op), sl_strerror(rc));
    return rc;
}

/* ---- sinks of a stage ------------------------------------------------------------ */

int sl__reduce_combine(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err) {
    if (f->reduce_fn)
        return f->reduce_fn(f->ud, acc, v, mem, err);
    return f->reduce.combine(f->inst, acc, v, mem, err);
}

int sl__reduce_merge(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err) {
    if (f->reduce_fn)
        return f->reduce_fn(f->ud, acc, v, mem, err);
    if (f->reduce.merge)
        return f->reduce.merge(f->inst, acc, v, mem, err);
    return f->reduce.combine(f->inst, acc, v, mem, err);
}

/* The first value of a key: zero (+) v when the reduction has a zero. */
int sl__reduce_first(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err) {
    if (!f->reduce_fn && f->reduce.zero) {
        int rc = f->reduce.zero(f->inst, acc, err);
        return rc ? rc : f->reduce.combine(f->inst, acc, v, mem, err);
    }
    *acc = *v;
    return 0;
}

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
    bool by_value = t->op == SL_OP_COUNT_BY_VALUE;
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
            if (rc < 0) {
                if (!tk->err->msg[0])
                    sl__error_set(tk->err, rc, "%s (reduce_by_key): %s", t->name, sl_strerror(rc));
                return rc;
            }
        }
    }
    return 0;
}

static int run_sink(task *tk, const sl_record *recs, size_t n) {
    stage *st = tk->st;
    if (st->sink == SINK_APPEND) {
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
    const sl_recvec *in = &st->input->parts[p];
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

static int compute(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);

/* The chain of a stage: the narrow streams from `from` (a stream the target
 * consumes) back to the nearest materialized ancestor, which becomes the
 * root. With include_from, `from` itself (materialized) is the chain's last
 * function: a materialized narrow stream computing its own partitions. */
static int stage_chain(stage *st, sl_stream *from, bool include_from, sl_error *err) {
    sl_stream *path[MAX_CHAIN];
    int n = 0;
    sl_stream *s = from;
    if (include_from) { /* a materialized narrow stream: its own function ends the chain */
        path[n++] = s;
        s = s->in[0];
    }
    while (!s->materialize) {
        if (n == MAX_CHAIN)
            return sl__error_set(err, SL_ELIMIT, "a chain of more than %d narrow operations",
                                 MAX_CHAIN);
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
static int stage_exec(stage *st, const sl_dataset *input, sl_error *err) {
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

/* Set up a stage (stage_chain), compute its root, and run the stage over the
 * root's partitions. */
static int run_stage(sl_context *ctx, stage *st, sl_stream *from, bool include_from,
                     sl_error *err) {
    int rc = stage_chain(st, from, include_from, err);
    if (!rc)
        rc = compute(ctx, st->root, st->t, err);
    return rc ? rc : stage_exec(st, &st->root->data, err);
}

/* ---- shuffles ----------------------------------------------------------------------- */

typedef struct merge_job {
    stage *st;
    int workers;
} merge_job;

/* Merge partition j of every worker's tables into worker 0's, then emit. */
static int merge_task(void *arg, size_t j, int worker, sl_error *err) {
    merge_job *mj = arg;
    stage *st = mj->st;
    sl_stream *t = st->target;
    sl__table *base = &st->tabs[j];
    sl_mem mem;
    sl__arena_mem(&st->ctx->warena[worker], &mem);
    for (int w = 1; w < mj->workers; w++) {
        sl__table *o = &st->tabs[(size_t)w * (size_t)st->nparts + j];
        size_t pos = 0;
        sl__entry *oe;
        while ((oe = sl__table_next(o, &pos))) {
            bool fresh;
            sl__entry *e = sl__table_upsert(base, oe->hash, &oe->key, NULL, &fresh);
            if (!e)
                return sl__error_set(err, SL_ENOMEM, "%s: out of memory in the hash table",
                                     t->name);
            int rc = 0;
            if (fresh)
                e->acc = oe->acc;
            else if (t->op == SL_OP_COUNT_BY_VALUE)
                e->acc.u.i += oe->acc.u.i;
            else
                rc = sl__reduce_merge(&t->fn, &e->acc, &oe->acc, &mem, err);
            if (rc < 0)
                return rc;
        }
    }
    sl_recvec *out = &t->data.parts[j];
    size_t pos = 0;
    for (sl__entry *e; (e = sl__table_next(base, &pos));) {
        sl_record r = {sl_key(e->key), e->acc, st->t};
        if (sl__recvec_push(out, &r))
            return sl__error_set(err, SL_ENOMEM, "out of memory");
    }
    return 0;
}

/* The stream's shuffle tables for the batch at t, [workers][partitions]:
 * allocated at the first batch and emptied (not freed) for each next one, so
 * that a batch starts with tables already sized and paged in for the
 * previous batch's keys. Tables that already hold the early blocks of t are
 * kept as they are. */
static int shuffle_tables(sl_stream *s, size_t ntabs, int64_t t) {
    if (s->tabs) {
        if (s->early_t != t)
            for (size_t i = 0; i < ntabs; i++)
                sl__table_clear(&s->tabs[i]);
        return 0;
    }
    s->tabs = calloc(ntabs, sizeof *s->tabs);
    if (!s->tabs)
        return SL_ENOMEM;
    s->ntabs = ntabs;
    for (size_t i = 0; i < ntabs; i++)
        if (sl__table_init(&s->tabs[i], 1024))
            return SL_ENOMEM;
    return 0;
}

/* Set up st to combine map-side into target's shuffle tables for the batch
 * at t (the tables made ready: shuffle_tables). 0 or SL_ENOMEM. */
static int combine_stage(sl_context *ctx, sl_stream *target, int64_t t, stage *st) {
    int workers = sl__pool_workers(ctx->pool);
    memset(st, 0, sizeof *st);
    st->ctx = ctx;
    st->t = t;
    st->sink = SINK_COMBINE;
    st->target = target;
    st->nparts = target->partitions ? target->partitions : workers;
    if (shuffle_tables(target, (size_t)workers * (size_t)st->nparts, t))
        return SL_ENOMEM;
    st->tabs = target->tabs;
    return 0;
}

static int run_shuffle(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    int workers = sl__pool_workers(ctx->pool);
    stage st;
    if (combine_stage(ctx, s, t, &st) || sl__dataset_init(&s->data, (size_t)st.nparts))
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    st.part_base = s->early_t == t ? s->early_parts : 0;
    int rc = run_stage(ctx, &st, s->in[0], false, err);
    merge_job mj = {&st, workers};
    if (!rc)
        rc = sl__pool_run(ctx->pool, (size_t)st.nparts, merge_task, &mj, err);
    return rc;
}

/* ---- early combine ----------------------------------------------------------------- */

/* Mark s and everything it reads as computed at every batch. */
static void mark_needed(sl_stream *s, bool *needed) {
    if (needed[s->id])
        return;
    needed[s->id] = true;
    for (int k = 0; k < s->nin; k++)
        mark_needed(s->in[k], needed);
}

/* A receiver source can be combined early when its only reader is a fused
 * chain (possibly empty) that ends in a map-side combine that every batch
 * computes: the chain's work on a block is the same before or after the
 * tick, and its results wait in the shuffle tables for the batch. Anything
 * that needs the source's batch as a whole (a window, a second reader, an
 * output) rules it out, and so does a shuffle that no batch computes (read
 * by nothing that runs, or only as an initial state): its functions must
 * not run early when they would never run at all. */
void sl__plan_early(sl_context *ctx) {
    for (size_t i = 0; i < ctx->nstreams; i++)
        ctx->streams[i]->early_target = NULL;
    bool *needed = ctx->early_combine ? calloc(ctx->nstreams + 1, sizeof *needed) : NULL;
    if (!needed)
        return; /* off (or no memory: then nothing early, which is always correct) */
    /* what sl__batch_run computes: the outputs' streams and the windows that
     * something reads, with all they read (initial_stream is not an input) */
    for (size_t i = 0; i < ctx->noutputs; i++)
        mark_needed(ctx->outputs[i].from, needed);
    for (size_t i = 0; i < ctx->nstreams; i++)
        if (sl__op_is_window(ctx->streams[i]->op) && ctx->streams[i]->consumers > 0)
            mark_needed(ctx->streams[i], needed);
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if ((s->op != SL_OP_REDUCE_BY_KEY && s->op != SL_OP_COUNT_BY_VALUE) || !needed[s->id])
            continue;
        sl_stream *root = s->in[0];
        while (!root->materialize)
            root = root->in[0];
        if (root->op != SL_OP_SOURCE || root->consumers != 1 ||
            root->fn.source.mode != SL_SOURCE_RECEIVER || root->period != s->period)
            continue;
        root->early_target = s;
    }
    free(needed);
}

/* True when nothing in a shuffle's tables points into its input once
 * combined: keys are copied into the worker arenas when new, and the
 * accumulators are counts, or come from a reduction that says it keeps no
 * reference (SL_REDUCE_NO_INPUT_REFS) and has a zero. Without a zero the
 * engine itself starts an accumulator as the first value, which points into
 * the block. Early blocks can then be recycled right after their pass. */
static bool tables_keep_no_input(const sl_stream *target) {
    if (target->op == SL_OP_COUNT_BY_VALUE)
        return true;
    const sl__func *f = &target->fn;
    return f->comp && !f->reduce_fn && f->reduce.zero &&
           (f->reduce.flags & SL_REDUCE_NO_INPUT_REFS);
}

#define EARLY_MAX 64 /* blocks per early pass, at most */

/* Combine up to 2 blocks per worker of source s into its target's tables. */
static int early_pass(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    int workers = sl__pool_workers(ctx->pool);
    size_t max = (size_t)workers * 2 < EARLY_MAX ? (size_t)workers * 2 : EARLY_MAX;
    sl__block *blk[EARLY_MAX];
    size_t n = sl__receiver_take_early(s->recv, blk, max);
    if (n == 0)
        return 0;
    int64_t t0 = sl__mono_us();
    sl_stream *target = s->early_target;
    stage st;
    if (combine_stage(ctx, target, t, &st))
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    if (target->early_t != t) {
        target->early_t = t;
        target->early_parts = 0;
        target->early_recycled = 0;
        target->early_us = 0;
    }
    sl_recvec parts[EARLY_MAX];
    for (size_t i = 0; i < n; i++)
        parts[i] = blk[i]->recs;
    sl_dataset view = {parts, n};
    st.part_base = target->early_parts;
    int rc = stage_chain(&st, target->in[0], false, err);
    if (!rc)
        rc = stage_exec(&st, &view, err);
    target->early_parts += n;
    if (!rc && tables_keep_no_input(target)) {
        sl__receiver_release_early(s->recv, blk, n);
        target->early_recycled += n;
    }
    target->early_us += sl__mono_us() - t0;
    return rc ? rc : (int)n;
}

int sl__batch_early(sl_context *ctx, int64_t t, sl_error *err) {
    int total = 0;
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (!s->early_target || !s->recv)
            continue;
        int rc = early_pass(ctx, s, t, err);
        if (rc < 0)
            return rc;
        total += rc;
    }
    return total;
}

/* Release a stream's shuffle tables (context teardown). */
void sl__stream_free_tables(sl_stream *s) {
    for (size_t i = 0; i < s->ntabs; i++)
        sl__table_free(&s->tabs[i]);
    free(s->tabs);
    s->tabs = NULL;
    s->ntabs = 0;
}

/* ---- whole-input operations -------------------------------------------------------- */

static int run_transform(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    sl_recvec all;
    bool owned;
    if (sl__dataset_init(&s->data, 1) || sl__dataset_gather(&s->in[0]->data, &all, &owned))
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    sl_record *buf = malloc(SL__CHUNK * sizeof *buf);
    sl_mem mem;
    sl__arena_mem(&ctx->warena[0], &mem);
    sl_emitter em = {buf, 0, SL__CHUNK, sl__recvec_flush, &mem, &s->data.parts[0]};
    sl_chunk c = {all.v, all.n, t, 0, SL_CHUNK_WHOLE_BATCH};
    int rc = buf ? sl__func_process(&s->fn, &c, &em, err) : SL_ENOMEM;
    if (!rc)
        rc = sl__recvec_flush(&em);
    if (rc < 0 && !err->msg[0])
        sl__error_set(err, rc, "%s (transform): %s", s->name, sl_strerror(rc));
    free(buf);
    if (owned)
        sl__recvec_free(&all);
    return rc;
}

static int run_reduce(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    if (sl__dataset_init(&s->data, 1))
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    const sl_dataset *in = &s->in[0]->data;
    sl_mem mem;
    sl__arena_mem(&ctx->warena[0], &mem);
    sl_value acc = sl_null();
    bool have = false;
    for (size_t p = 0; p < in->nparts; p++) {
        for (size_t i = 0; i < in->parts[p].n; i++) {
            const sl_value *v = &in->parts[p].v[i].value;
            int rc = have ? sl__reduce_combine(&s->fn, &acc, v, &mem, err)
                          : sl__reduce_first(&s->fn, &acc, v, &mem, err);
            if (rc < 0) {
                if (!err->msg[0])
                    sl__error_set(err, rc, "%s (reduce): %s", s->name, sl_strerror(rc));
                return rc;
            }
            have = true;
        }
    }
    if (have) {
        sl_record r = {sl_null(), acc, t};
        if (sl__recvec_push(&s->data.parts[0], &r))
            return sl__error_set(err, SL_ENOMEM, "out of memory");
    }
    return 0;
}

static int run_count(sl_stream *s, int64_t t, sl_error *err) {
    sl_record r = {sl_null(), sl_int((int64_t)sl__dataset_count(&s->in[0]->data)), t};
    if (sl__dataset_init(&s->data, 1) || sl__recvec_push(&s->data.parts[0], &r))
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    return 0;
}

static int run_union(sl_stream *s, sl_error *err) {
    const sl_dataset *a = &s->in[0]->data, *b = &s->in[1]->data;
    if (sl__dataset_init(&s->data, a->nparts + b->nparts))
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < a->nparts + b->nparts; i++) {
        const sl_recvec *src = i < a->nparts ? &a->parts[i] : &b->parts[i - a->nparts];
        if (sl__recvec_append(&s->data.parts[i], src->v, src->n))
            return sl__error_set(err, SL_ENOMEM, "out of memory");
    }
    return 0;
}

static int run_repartition(sl_stream *s, sl_error *err) {
    const sl_dataset *in = &s->in[0]->data;
    size_t n = (size_t)s->partitions, k = 0;
    if (sl__dataset_init(&s->data, n))
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    for (size_t p = 0; p < in->nparts; p++)
        for (size_t i = 0; i < in->parts[p].n; i++, k++)
            if (sl__recvec_push(&s->data.parts[k % n], &in->parts[p].v[i]))
                return sl__error_set(err, SL_ENOMEM, "out of memory");
    return 0;
}

/* ---- computing a stream's batch ---------------------------------------------------- */

int sl__compute(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    return compute(ctx, s, t, err);
}

static int compute(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    if (s->computed)
        return 0;
    int rc = 0;
    if (s->op == SL_OP_SOURCE) {
        s->computed = true; /* filled by pull_sources before anything runs */
        return 0;
    }
    if (sl__op_is_window(s->op)) {
        /* a window observes every batch of its parent, active or not */
        if (!(rc = compute(ctx, s->in[0], t, err)))
            rc = sl__run_window(ctx, s, t, err);
        if (!rc)
            s->computed = true;
        return rc;
    }
    if (!s->active) {
        s->computed = true; /* no batch at this time: an empty dataset */
        return 0;
    }
    if (sl__op_is_join(s->op)) {
        for (int k = 0; k < s->nin && !rc; k++)
            rc = compute(ctx, s->in[k], t, err);
        if (!rc)
            rc = sl__run_join(ctx, s, t, err);
        if (!rc)
            s->computed = true;
        return rc;
    }
    if (sl__op_is_narrow(s->op)) {
        /* a materialized narrow stream: its own chain appends to its parts */
        stage st;
        memset(&st, 0, sizeof st);
        st.ctx = ctx;
        st.t = t;
        st.sink = SINK_APPEND;
        st.target = s;
        sl_stream *root = s->in[0];
        while (!root->materialize)
            root = root->in[0];
        if ((rc = compute(ctx, root, t, err)))
            return rc;
        if (sl__dataset_init(&s->data, root->data.nparts))
            return sl__error_set(err, SL_ENOMEM, "out of memory");
        rc = run_stage(ctx, &st, s, true, err);
    } else if (s->op == SL_OP_REDUCE_BY_KEY || s->op == SL_OP_COUNT_BY_VALUE) {
        rc = run_shuffle(ctx, s, t, err);
    } else {
        for (int k = 0; k < s->nin && !rc; k++)
            rc = compute(ctx, s->in[k], t, err);
        if (rc)
            return rc;
        switch (s->op) {
        case SL_OP_TRANSFORM:
            rc = run_transform(ctx, s, t, err);
            break;
        case SL_OP_REDUCE:
            rc = run_reduce(ctx, s, t, err);
            break;
        case SL_OP_COUNT:
            rc = run_count(s, t, err);
            break;
        case SL_OP_UNION:
            rc = run_union(s, err);
            break;
        case SL_OP_REPARTITION:
            rc = run_repartition(s, err);
            break;
        case SL_OP_UPDATE_STATE_BY_KEY:
            rc = sl__run_state(ctx, s, t, err);
            break;
        case SL_OP_MAP_WITH_STATE:
            rc = sl__run_map_with_state(ctx, s, t, err);
            break;
        case SL_OP_STATE_SNAPSHOTS:
            rc = sl__run_state_snapshots(ctx, s, t, err);
            break;
        case SL_OP_OPERATOR:
            rc = sl__run_operator(ctx, s, t, err);
            break;
        default:
            rc = sl__error_set(err, SL_ESTATE, "%s: cannot compute a %s", s->name,
                               sl__op_name(s->op));
        }
    }
    if (!rc)
        s->computed = true;
    return rc;
}

/* ---- sources ------------------------------------------------------------------------ */

typedef struct direct_sink {
    sl_dataset *data;
    size_t cur;
} direct_sink;

static int direct_flush(sl_emitter *em) {
    direct_sink *ds = em->host_data;
    sl_dataset *d = ds->data;
    if (em->count == 0)
        return 0;
    if (d->nparts == 0 || d->parts[ds->cur].n >= SL__DIRECT_BLOCK_RECORDS) {
        sl_recvec *parts = realloc(d->parts, (d->nparts + 1) * sizeof *parts);
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

static void add_input_metrics(const sl_dataset *d, sl_batch_info *info) {
    for (size_t p = 0; p < d->nparts; p++) {
        info->records += (int64_t)d->parts[p].n;
        for (size_t i = 0; i < d->parts[p].n; i++)
            info->bytes += (int64_t)(sl__value_bytes(&d->parts[p].v[i].key) +
                                     sl__value_bytes(&d->parts[p].v[i].value));
    }
}

/* ---- outputs ------------------------------------------------------------------------ */

static int run_output(sl_context *ctx, sl__output *o, int64_t t, sl_error *err) {
    const sl_dataset *d = &o->from->data;
    sl__func *f = &o->fn;
    if (f->batch_fn) {
        sl_recvec all;
        bool owned;
        if (sl__dataset_gather(d, &all, &owned))
            return sl__error_set(err, SL_ENOMEM, "out of memory");
        int rc = f->batch_fn(f->ud, t, all.v, all.n, err);
        if (owned)
            sl__recvec_free(&all);
        if (rc < 0 && !err->msg[0])
            sl__error_set(err, rc, "%s: foreach_batch callback failed: %s", o->label,
                          sl_strerror(rc));
        return rc < 0 ? rc : 0;
    }
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        err->code = 0;
        err->msg[0] = 0;
        rc = f->sink.begin ? f->sink.begin(f->inst, t, err) : 0;
        for (size_t p = 0; p < d->nparts && rc >= 0; p++) {
            for (size_t off = 0; off < d->parts[p].n && rc >= 0; off += SL__CHUNK) {
                size_t n = d->parts[p].n - off < SL__CHUNK ? d->parts[p].n - off : SL__CHUNK;
                sl_chunk c = {d->parts[p].v + off, n, t, (uint32_t)p, 0};
                rc = f->sink.write(f->inst, &c, err);
            }
        }
        if (rc >= 0 && f->sink.end)
            rc = f->sink.end(f->inst, t, err);
        if (rc != SL_RETRY || attempt >= 4 || atomic_load(&ctx->stop_requested))
            break;
        sl__log(SL_LOG_WARN, "%s (%s): asked to retry the batch (attempt %d of 5)", o->from->name,
                f->handle->ref, attempt + 2);
        sl__sleep_ms(100LL << attempt);
    }
    if (rc < 0 && !err->msg[0])
        sl__error_set(err, rc, "%s (%s): write failed: %s", o->from->name, f->handle->ref,
                      sl_strerror(rc));
    return rc < 0 ? rc : 0;
}

/* ---- the batch ------------------------------------------------------------------------ */

int sl__batch_run(sl_context *ctx, int64_t t, sl_batch_info *info, bool *all_finished,
                  sl_error *err) {
    int rc = 0;
    bool finished = true;
    memset(info, 0, sizeof *info);
    info->batch_time = t;
    for (size_t i = 0; i < ctx->nstreams && !rc; i++) {
        sl_stream *s = ctx->streams[i];
        if (s->op != SL_OP_SOURCE)
            continue;
        if (s->recv)
            rc = pull_receiver(s, info, err);
        else if (!s->finished)
            rc = pull_direct(s, t, err);
        else
            rc = sl__dataset_init(&s->data, 0);
        if (!rc && !s->recv)
            add_input_metrics(&s->data, info);
        finished = finished && s->finished;
    }
    *all_finished = finished;
    ctx->early_us = 0;
    ctx->early_blocks = 0;
    ctx->early_recycled = 0;
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        s->active = (t - ctx->zero_time) % s->period == 0;
        if (s->early_t == t) {
            ctx->early_us += s->early_us;
            ctx->early_blocks += s->early_parts;
            ctx->early_recycled += s->early_recycled;
        }
    }
    /* windows must see every batch of their parents, needed now or not
     * (those nothing reads are skipped) */
    for (size_t i = 0; i < ctx->nstreams && !rc; i++)
        if (sl__op_is_window(ctx->streams[i]->op) && ctx->streams[i]->consumers > 0)
            rc = compute(ctx, ctx->streams[i], t, err);
    for (size_t i = 0; i < ctx->noutputs && !rc; i++)
        rc = compute(ctx, ctx->outputs[i].from, t, err);
    if (ctx->status)
        sl__status_clear();
    for (size_t i = 0; i < ctx->noutputs && !rc; i++)
        if (ctx->outputs[i].from->active)
            rc = run_output(ctx, &ctx->outputs[i], t, err);
    for (size_t i = 0; i < ctx->noutputs && !rc; i++) {
        sl__func *f = &ctx->outputs[i].fn;
        if (f->comp && f->sink.commit && ctx->outputs[i].from->active)
            rc = f->sink.commit(f->inst, t, err);
    }
    /* with checkpoints, sources commit only once a checkpoint covers t
     * (sl__checkpoint_maybe): Kafka offsets never run ahead of the state */
    if (!rc && !ctx->ckpt_dir)
        rc = sl__sources_commit(ctx, t, err);
    return rc;
}

int sl__sources_commit(sl_context *ctx, int64_t t, sl_error *err) {
    int rc = 0;
    for (size_t i = 0; i < ctx->nstreams && !rc; i++) {
        sl_stream *s = ctx->streams[i];
        if (s->op == SL_OP_SOURCE && s->fn.source.commit)
            rc = s->fn.source.commit(s->fn.inst, t, err);
    }
    return rc;
}

void sl__batch_release(sl_context *ctx) {
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        sl__dataset_free(&s->data);
        if (s->recv)
            sl__receiver_recycle(s->recv, s->blocks);
        else
            sl__block_free(s->blocks);
        s->blocks = NULL;
        s->computed = false;
        s->early_t = 0; /* tables still holding early blocks are emptied at next use */
        s->early_parts = 0;
        s->early_recycled = 0;
        s->early_us = 0;
    }
    int workers = ctx->pool ? sl__pool_workers(ctx->pool) : 0;
    for (int w = 0; w < workers; w++)
        sl__arena_reset(&ctx->warena[w]);
}

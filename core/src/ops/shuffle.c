/*
 * ops/shuffle.c — reduce_by_key and count_by_value: each worker combines its
 * partitions map-side into its own hash tables (one per key partition), then
 * the tables of one key partition merge, partitions in parallel. The tables
 * stay allocated across batches. Early combine runs the same map-side pass
 * over a receiver's sealed blocks before the tick.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "clock.h"
#include "context.h"
#include "error.h"
#include "ops/chain.h"
#include "ops/op.h"
#include "ops/shuffle.h"

typedef sl__stage stage;

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
            else if (sl__stream_is(t, SL__OPF_BY_ELEMENT))
                e->acc.u.i += oe->acc.u.i;
            else
                rc = sl__reduce_merge(&t->fn, &e->acc, &oe->acc, &mem, err);
            if (rc < 0)
                return sl__func_fail(&t->fn, rc, err);
        }
    }
    sl__recvec *out = &t->data.parts[j];
    size_t pos = 0;
    for (sl__entry *e; (e = sl__table_next(base, &pos));) {
        sl_record r = {sl_key(e->key), e->acc, st->t};
        if (sl__recvec_push(out, &r))
            return sl__error_set(err, SL_ENOMEM, "out of memory");
    }
    return 0;
}

/* What a shuffle keeps across batches (s->opstate): its tables and, for the
 * batch at early_t, what early combine already put in them. */
typedef struct shuffle_state {
    sl__table *tabs; /* [workers][partitions], kept across batches */
    size_t ntabs;
    int64_t early_t;       /* the tables hold early blocks of this batch (0: none) */
    size_t early_parts;    /* partitions combined early */
    size_t early_recycled; /* of which recycled at once (tables_keep_no_input) */
    int64_t early_us;      /* time spent on them */
} shuffle_state;

/* The shuffle's state, made at first use; NULL on OOM. */
static shuffle_state *state_of(sl_stream *s) {
    if (!s->opstate)
        s->opstate = calloc(1, sizeof(shuffle_state));
    return s->opstate;
}

/* The stream's shuffle tables for the batch at t, [workers][partitions]:
 * allocated at the first batch and emptied (not freed) for each next one, so
 * that a batch starts with tables already sized and paged in for the
 * previous batch's keys. Tables that already hold the early blocks of t are
 * kept as they are. */
static int shuffle_tables(shuffle_state *sh, size_t ntabs, int64_t t) {
    if (sh->tabs) {
        if (sh->early_t != t)
            for (size_t i = 0; i < ntabs; i++)
                sl__table_clear(&sh->tabs[i]);
        return 0;
    }
    sh->tabs = calloc(ntabs, sizeof *sh->tabs);
    if (!sh->tabs)
        return SL_ENOMEM;
    sh->ntabs = ntabs;
    for (size_t i = 0; i < ntabs; i++)
        if (sl__table_init(&sh->tabs[i], 1024))
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
    st->sink = SL__SINK_COMBINE;
    st->target = target;
    st->nparts = target->partitions ? target->partitions : workers;
    shuffle_state *sh = state_of(target);
    if (!sh || shuffle_tables(sh, (size_t)workers * (size_t)st->nparts, t))
        return SL_ENOMEM;
    st->tabs = sh->tabs;
    return 0;
}

static int run_shuffle(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    int workers = sl__pool_workers(ctx->pool);
    stage st;
    if (combine_stage(ctx, s, t, &st) || sl__dataset_init(&s->data, (size_t)st.nparts))
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    shuffle_state *sh = s->opstate;
    st.part_base = sh->early_t == t ? sh->early_parts : 0;
    int rc = sl__stage_run(&st, s->in[0], false, err);
    merge_job mj = {&st, workers};
    if (!rc)
        rc = sl__pool_run(ctx->pool, (size_t)st.nparts, merge_task, &mj, err);
    return rc;
}

/* True when nothing in a shuffle's tables points into its input once
 * combined: keys are copied into the worker arenas when new, and the
 * accumulators are counts, or come from a reduction that says it keeps no
 * reference (SL_REDUCE_NO_INPUT_REFS) and has a zero. Without a zero the
 * engine itself starts an accumulator as the first value, which points into
 * the block. Early blocks can then be recycled right after their pass. */
static bool tables_keep_no_input(const sl_stream *target) {
    if (sl__stream_is(target, SL__OPF_BY_ELEMENT))
        return true;
    const sl__func *f = &target->fn;
    return f->reduce.zero && (f->reduce.flags & SL_REDUCE_NO_INPUT_REFS);
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
    shuffle_state *sh = target->opstate;
    if (sh->early_t != t) {
        sh->early_t = t;
        sh->early_parts = 0;
        sh->early_recycled = 0;
        sh->early_us = 0;
    }
    sl__recvec parts[EARLY_MAX];
    for (size_t i = 0; i < n; i++)
        parts[i] = blk[i]->recs;
    sl__dataset view = {parts, n};
    st.part_base = sh->early_parts;
    int rc = sl__stage_chain(&st, target->in[0], false, err);
    if (!rc)
        rc = sl__stage_exec(&st, &view, err);
    sh->early_parts += n;
    if (!rc && tables_keep_no_input(target)) {
        sl__receiver_release_early(s->recv, blk, n);
        sh->early_recycled += n;
    }
    sh->early_us += sl__mono_us() - t0;
    return rc ? rc : (int)n;
}

int sl__shuffle_early(sl_context *ctx, int64_t t, sl_error *err) {
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

/* What early combine did for the batch at t, added to the batch's figures. */
void sl__shuffle_early_figures(const sl_stream *s, int64_t t, int64_t *us, size_t *blocks,
                               size_t *recycled) {
    const shuffle_state *sh = sl__stream_is(s, SL__OPF_SHUFFLE) ? s->opstate : NULL;
    if (!sh || sh->early_t != t)
        return;
    *us += sh->early_us;
    *blocks += sh->early_parts;
    *recycled += sh->early_recycled;
}

/* Release a stream's shuffle tables (context teardown). */
static void free_tables(sl_stream *s) {
    shuffle_state *sh = s->opstate;
    if (!sh)
        return;
    for (size_t i = 0; i < sh->ntabs; i++)
        sl__table_free(&sh->tabs[i]);
    free(sh->tabs);
    free(sh);
    s->opstate = NULL;
}

#define SHUFFLE(op_name, extra)                                                                    \
    const sl__op_class sl__op_##op_name = {                                                        \
        .name = #op_name,                                                                          \
        .flags = SL__OPF_SHUFFLE | (extra),                                                        \
        .run = run_shuffle,                                                                        \
        .free = free_tables,                                                                       \
    }

SHUFFLE(reduce_by_key, 0);
SHUFFLE(count_by_value, SL__OPF_BY_ELEMENT);

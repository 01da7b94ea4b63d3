/*
 * join.c — grouping and joins of one batch: group_by_key, join, the outer
 * joins, cogroup and transform_with (Spark's PairDStreamFunctions).
 *
 * Everything is built on one cogroup: a hash table maps each distinct key
 * (sl__value_hash / sl__value_equal: the int 1 and the double 1.0 are one
 * key) to a group holding the key's values from each side, in arrival order
 * (partition by partition, record by record). A plain record (no key) is
 * keyed by None, as reduce_by_key keys it. Groups come out in the order of
 * their keys' first appearance, side a before side b.
 *
 * Memory: keys and values are not copied — they point into the inputs'
 * batches (or a window's ring), which outlive this batch's outputs. The new
 * lists ([v, w], [[...], [...]]) come from worker 0's arena, reset after the
 * batch. The output dataset belongs to the stream (freed by the engine).
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
#include "table.h"
#include "ops/join.h"
#include "ops/op.h"

/* Records per output partition: big results are split so that the
 * narrow operations downstream run on several workers. */
#define OUT_PART_RECORDS 16384

/* One side of the cogroup: its records, as a list of record vectors. */
typedef struct side {
    const sl__recvec *parts;
    size_t nparts;
} side;

/* A distinct key and its values from each side (arrays in `mem`). */
typedef struct group {
    sl_value key;
    sl_value *vals[2];
    size_t n[2];
} group;

typedef struct cogroup {
    sl__table tab; /* key -> acc.u.i: index into g */
    group *g;
    size_t ng, cap;
    int nsides;
} cogroup;

/* Release the table and the groups (the value arrays live in batch memory). */
static void cogroup_free(cogroup *cg) {
    sl__table_free(&cg->tab);
    free(cg->g);
    memset(cg, 0, sizeof *cg);
}

/* The index of the group of `key`, made if new; -1 when out of memory. */
static ptrdiff_t group_of(cogroup *cg, const sl_value *key) {
    bool fresh;
    sl__entry *e = sl__table_upsert(&cg->tab, sl__value_hash(key), key, NULL, &fresh);
    if (!e)
        return -1;
    if (!fresh)
        return (ptrdiff_t)e->acc.u.i;
    if (cg->ng == cg->cap) {
        size_t cap = cg->cap ? cg->cap * 2 : 64;
        group *g = realloc(cg->g, cap * sizeof *g);
        if (!g)
            return -1;
        cg->g = g;
        cg->cap = cap;
    }
    memset(&cg->g[cg->ng], 0, sizeof *cg->g);
    cg->g[cg->ng].key = *key;
    e->acc = sl_int((int64_t)cg->ng);
    return (ptrdiff_t)cg->ng++;
}

/* Put every record of `sd` into its group's values for side `k`: a first
 * pass counts each group's values and remembers each record's group, a
 * second fills arrays of exactly that size, so values keep arrival order. */
static int cogroup_add(cogroup *cg, int k, const side *sd, sl_mem *mem, sl_error *err) {
    size_t total = 0;
    for (size_t p = 0; p < sd->nparts; p++)
        total += sd->parts[p].n;
    size_t *idx = malloc((total ? total : 1) * sizeof *idx);
    if (!idx)
        return sl__error_set(err, SL_ENOMEM, "out of memory grouping by key");
    size_t i = 0;
    for (size_t p = 0; p < sd->nparts; p++) {
        for (size_t r = 0; r < sd->parts[p].n; r++, i++) {
            ptrdiff_t g = group_of(cg, &sd->parts[p].v[r].key);
            if (g < 0) {
                free(idx);
                return sl__error_set(err, SL_ENOMEM, "out of memory grouping by key");
            }
            idx[i] = (size_t)g;
            if (++cg->g[g].n[k] > UINT32_MAX) {
                free(idx);
                return sl__error_set(err, SL_ELIMIT, "a key has more than %u values", UINT32_MAX);
            }
        }
    }
    sl_value *all = total ? sl_alloc(mem, total * sizeof *all) : NULL;
    if (total && !all) {
        free(idx);
        return sl__error_set(err, SL_ENOMEM, "out of memory grouping by key");
    }
    /* carve one array per group out of `all`; n[k] restarts as a fill count */
    size_t off = 0;
    for (size_t g = 0; g < cg->ng; g++) {
        cg->g[g].vals[k] = all + off;
        off += cg->g[g].n[k];
        cg->g[g].n[k] = 0;
    }
    i = 0;
    for (size_t p = 0; p < sd->nparts; p++)
        for (size_t r = 0; r < sd->parts[p].n; r++, i++) {
            group *g = &cg->g[idx[i]];
            g->vals[k][g->n[k]++] = sd->parts[p].v[r].value;
        }
    free(idx);
    return 0;
}

/* Group one or two sides by key into `cg` (freed by the caller). */
static int cogroup_build(cogroup *cg, const side *sides, int nsides, sl_mem *mem, sl_error *err) {
    memset(cg, 0, sizeof *cg);
    cg->nsides = nsides;
    size_t hint = 0;
    for (int k = 0; k < nsides; k++)
        for (size_t p = 0; p < sides[k].nparts; p++)
            hint += sides[k].parts[p].n;
    if (sl__table_init(&cg->tab, hint < 1024 ? hint : 1024))
        return sl__error_set(err, SL_ENOMEM, "out of memory grouping by key");
    for (int k = 0; k < nsides; k++) {
        int rc = cogroup_add(cg, k, &sides[k], mem, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- emitting ------------------------------------------------------------------------ */

/* Append (key, value) at batch time t. */
static int put(sl__recvec *out, sl_value key, sl_value value, int64_t t) {
    sl_record r = {sl_key(key), value, t};
    return sl__recvec_push(out, &r);
}

/* The tuple [a, b] in batch memory; SL_NULL value when out of memory. */
static sl_value pair_of(sl_mem *mem, sl_value a, sl_value b) {
    sl_value *items = sl_alloc(mem, 2 * sizeof *items);
    if (!items)
        return sl_null();
    items[0] = a;
    items[1] = b;
    return sl_list(items, 2);
}

/* The joined pairs of one key, as the op asks: the cross product of both
 * sides' values, and with a side missing the other side's values paired
 * with None (outer joins). */
static int emit_join(sl__op op, const group *g, sl_mem *mem, int64_t t, sl__recvec *out) {
    bool left = op == SL__OP_LEFT_OUTER_JOIN || op == SL__OP_FULL_OUTER_JOIN;
    bool right = op == SL__OP_RIGHT_OUTER_JOIN || op == SL__OP_FULL_OUTER_JOIN;
    size_t na = g->n[0], nb = g->n[1];
    if (na && !nb && left) {
        for (size_t i = 0; i < na; i++) {
            sl_value v = pair_of(mem, g->vals[0][i], sl_null());
            if (v.type != SL_LIST || put(out, g->key, v, t))
                return SL_ENOMEM;
        }
    } else if (nb && !na && right) {
        for (size_t j = 0; j < nb; j++) {
            sl_value v = pair_of(mem, sl_null(), g->vals[1][j]);
            if (v.type != SL_LIST || put(out, g->key, v, t))
                return SL_ENOMEM;
        }
    }
    for (size_t i = 0; i < na; i++) {
        for (size_t j = 0; j < nb; j++) {
            sl_value v = pair_of(mem, g->vals[0][i], g->vals[1][j]);
            if (v.type != SL_LIST || put(out, g->key, v, t))
                return SL_ENOMEM;
        }
    }
    return 0;
}

/* One output record per group (group_by_key, cogroup), or the joined
 * pairs of every group (the joins). */
static int emit_groups(sl__op op, const cogroup *cg, sl_mem *mem, int64_t t, sl__recvec *out) {
    for (size_t i = 0; i < cg->ng; i++) {
        const group *g = &cg->g[i];
        int rc = 0;
        if (op == SL__OP_GROUP_BY_KEY) {
            rc = put(out, g->key, sl_list(g->vals[0], g->n[0]), t);
        } else if (op == SL__OP_COGROUP) {
            sl_value v = pair_of(mem, sl_list(g->vals[0], g->n[0]), sl_list(g->vals[1], g->n[1]));
            rc = v.type != SL_LIST ? SL_ENOMEM : put(out, g->key, v, t);
        } else {
            rc = emit_join(op, g, mem, t, out);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int sl__join_group(const sl__recvec *parts, size_t nparts, int64_t t, sl_mem *mem, sl__recvec *out,
                   sl_error *err) {
    side sd = {parts, nparts};
    cogroup cg;
    int rc = cogroup_build(&cg, &sd, 1, mem, err);
    if (!rc && emit_groups(SL__OP_GROUP_BY_KEY, &cg, mem, t, out))
        rc = sl__error_set(err, SL_ENOMEM, "out of memory");
    cogroup_free(&cg);
    return rc;
}

/* ---- the stream's dataset ------------------------------------------------------------- */

/* Name the stream in an error a function (or the cogroup) reported. */
static int stream_error(const sl_stream *s, int rc, sl_error *err) {
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg[0] ? err->msg : sl_strerror(rc));
    return sl__error_set(err, rc, "%s (%s): %s", s->name, sl__stream_op(s), msg);
}

/* group_by_key and the two-input joins: cogroup the inputs, then emit. */
static int run_cogroup(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    sl_mem mem;
    sl__arena_mem(&ctx->warena[0], &mem);
    side sides[2];
    for (int k = 0; k < s->nin; k++) {
        sides[k].parts = s->in[k]->data.parts;
        sides[k].nparts = s->in[k]->data.nparts;
    }
    cogroup cg;
    sl__recvec all = {NULL, 0, 0};
    int rc = cogroup_build(&cg, sides, s->nin, &mem, err);
    if (!rc && emit_groups(s->op, &cg, &mem, t, &all))
        rc = sl__error_set(err, SL_ENOMEM, "out of memory");
    cogroup_free(&cg);
    if (!rc && sl__dataset_take(&s->data, &all, OUT_PART_RECORDS))
        rc = sl__error_set(err, SL_ENOMEM, "out of memory");
    sl__recvec_free(&all);
    return rc ? stream_error(s, rc, err) : 0;
}

/* ---- transform_with ---------------------------------------------------------------- */

/* Spark's transformWith: the function sees both whole batches at once and
 * emits into one partition, as transform does. */
static int run_transform_with(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    sl__recvec a = {NULL, 0, 0}, b = {NULL, 0, 0};
    bool own_a = false, own_b = false;
    sl_record *buf = malloc(SL__CHUNK * sizeof *buf);
    int rc = 0;
    if (!buf || sl__dataset_init(&s->data, 1) || sl__dataset_gather(&s->in[0]->data, &a, &own_a) ||
        sl__dataset_gather(&s->in[1]->data, &b, &own_b))
        rc = sl__error_set(err, SL_ENOMEM, "out of memory");
    if (!rc) {
        sl_mem mem;
        sl__arena_mem(&ctx->warena[0], &mem);
        sl_emitter em = {buf, 0, SL__CHUNK, sl__recvec_flush, &mem, &s->data.parts[0]};
        sl_chunk ca = {a.v, a.n, t, 0, SL_CHUNK_WHOLE_BATCH};
        sl_chunk cb = {b.v, b.n, t, 0, SL_CHUNK_WHOLE_BATCH};
        err->code = 0;
        err->msg[0] = 0;
        rc = s->fn.transform2_fn(s->fn.inst, &ca, &cb, &em, err);
        if (rc >= 0 && sl__recvec_flush(&em))
            rc = sl__error_set(err, SL_ENOMEM, "out of memory");
    }
    free(buf);
    if (own_a)
        sl__recvec_free(&a);
    if (own_b)
        sl__recvec_free(&b);
    return rc < 0 ? stream_error(s, rc, err) : 0;
}

static int run_join(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    err->code = 0;
    err->msg[0] = 0;
    switch (s->op) {
    case SL__OP_GROUP_BY_KEY:
    case SL__OP_JOIN:
    case SL__OP_LEFT_OUTER_JOIN:
    case SL__OP_RIGHT_OUTER_JOIN:
    case SL__OP_FULL_OUTER_JOIN:
    case SL__OP_COGROUP:
        return run_cogroup(ctx, s, t, err);
    case SL__OP_TRANSFORM_WITH:
        return run_transform_with(ctx, s, t, err);
    default:
        return sl__error_set(err, SL_ESTATE, "%s: %s is not a grouping or a join", s->name,
                             sl__stream_op(s));
    }
}

#define JOIN(op_name)                                                                              \
    const sl__op_class sl__op_##op_name = {                                                        \
        .name = #op_name,                                                                          \
        .flags = SL__OPF_JOIN | SL__OPF_WHOLE_INPUT,                                               \
        .run = run_join,                                                                           \
    }

JOIN(group_by_key);
JOIN(join);
JOIN(left_outer_join);
JOIN(right_outer_join);
JOIN(full_outer_join);
JOIN(cogroup);
JOIN(transform_with);

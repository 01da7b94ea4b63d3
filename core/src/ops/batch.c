/*
 * ops/batch.c — operations over a whole batch of their input: transform (the
 * function sees the batch as one chunk), reduce, count, union and
 * repartition. They run on the scheduler thread (union and repartition only
 * move records between partitions).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "context.h"
#include "error.h"
#include "ops/op.h"

static int run_transform(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    sl__recvec all;
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
    const sl__dataset *in = &s->in[0]->data;
    sl_mem mem;
    sl__arena_mem(&ctx->warena[0], &mem);
    sl_value acc = sl_null();
    bool have = false;
    for (size_t p = 0; p < in->nparts; p++) {
        for (size_t i = 0; i < in->parts[p].n; i++) {
            const sl_value *v = &in->parts[p].v[i].value;
            int rc = have ? sl__reduce_combine(&s->fn, &acc, v, &mem, err)
                          : sl__reduce_first(&s->fn, &acc, v, &mem, err);
            if (rc < 0)
                return sl__func_fail(&s->fn, rc, err);
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

static int run_count(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    sl_record r = {sl_null(), sl_int((int64_t)sl__dataset_count(&s->in[0]->data)), t};
    if (sl__dataset_init(&s->data, 1) || sl__recvec_push(&s->data.parts[0], &r))
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    return 0;
}

static int run_union(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    const sl__dataset *a = &s->in[0]->data, *b = &s->in[1]->data;
    if (sl__dataset_init(&s->data, a->nparts + b->nparts))
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < a->nparts + b->nparts; i++) {
        const sl__recvec *src = i < a->nparts ? &a->parts[i] : &b->parts[i - a->nparts];
        if (sl__recvec_append(&s->data.parts[i], src->v, src->n))
            return sl__error_set(err, SL_ENOMEM, "out of memory");
    }
    return 0;
}

static int run_repartition(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    const sl__dataset *in = &s->in[0]->data;
    size_t n = (size_t)s->partitions, k = 0;
    if (sl__dataset_init(&s->data, n))
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    for (size_t p = 0; p < in->nparts; p++)
        for (size_t i = 0; i < in->parts[p].n; i++, k++)
            if (sl__recvec_push(&s->data.parts[k % n], &in->parts[p].v[i]))
                return sl__error_set(err, SL_ENOMEM, "out of memory");
    return 0;
}

#define WHOLE(op_name, fn)                                                                         \
    const sl__op_class sl__op_##op_name = {                                                        \
        .name = #op_name,                                                                          \
        .flags = SL__OPF_WHOLE_INPUT,                                                              \
        .run = fn,                                                                                 \
    }

WHOLE(transform, run_transform);
WHOLE(reduce, run_reduce);
WHOLE(count, run_count);
WHOLE(union, run_union);
WHOLE(repartition, run_repartition);

/*
 * dataset.c — record vectors and datasets: one batch of one stream, as
 * partitions of records (whose bytes live in arenas the batch owns).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>

#include "dataset.h"
#include "value.h"

static int recvec_reserve(sl__recvec *rv, size_t need) {
    if (need <= rv->cap)
        return 0;
    size_t cap = rv->cap ? rv->cap * 2 : 256;
    while (cap < need)
        cap *= 2;
    sl_record *v = realloc(rv->v, cap * sizeof *v);
    if (!v)
        return SL_ENOMEM;
    rv->v = v;
    rv->cap = cap;
    return 0;
}

int sl__recvec_push(sl__recvec *rv, const sl_record *r) {
    if (rv->n == rv->cap && recvec_reserve(rv, rv->n + 1))
        return SL_ENOMEM;
    rv->v[rv->n++] = *r;
    return 0;
}

int sl__recvec_append(sl__recvec *rv, const sl_record *r, size_t n) {
    if (recvec_reserve(rv, rv->n + n))
        return SL_ENOMEM;
    if (n)
        memcpy(rv->v + rv->n, r, n * sizeof *r);
    rv->n += n;
    return 0;
}

void sl__recvec_free(sl__recvec *rv) {
    free(rv->v);
    rv->v = NULL;
    rv->n = rv->cap = 0;
}

int sl__dataset_init(sl__dataset *d, size_t nparts) {
    d->parts = nparts ? calloc(nparts, sizeof *d->parts) : NULL;
    d->nparts = d->parts ? nparts : 0;
    return (nparts && !d->parts) ? SL_ENOMEM : 0;
}

void sl__dataset_free(sl__dataset *d) {
    for (size_t i = 0; i < d->nparts; i++)
        sl__recvec_free(&d->parts[i]);
    free(d->parts);
    d->parts = NULL;
    d->nparts = 0;
}

size_t sl__dataset_count(const sl__dataset *d) {
    size_t n = 0;
    for (size_t i = 0; i < d->nparts; i++)
        n += d->parts[i].n;
    return n;
}

/* All records of a dataset in one array: the dataset's own when it has one
 * partition (*owned false), else a new array the caller frees. */
int sl__dataset_gather(const sl__dataset *d, sl__recvec *out, bool *owned) {
    if (d->nparts == 1) {
        *out = d->parts[0];
        *owned = false;
        return 0;
    }
    memset(out, 0, sizeof *out);
    *owned = true;
    for (size_t i = 0; i < d->nparts; i++)
        if (sl__recvec_append(out, d->parts[i].v, d->parts[i].n))
            return SL_ENOMEM;
    return 0;
}

/* Move `all` into `d`: one partition, or several of at most `max` records,
 * so that narrow operations downstream run on several workers. */
int sl__dataset_take(sl__dataset *d, sl__recvec *all, size_t max) {
    size_t nparts = all->n <= max ? 1 : (all->n + max - 1) / max;
    if (sl__dataset_init(d, nparts))
        return SL_ENOMEM;
    if (nparts == 1) {
        d->parts[0] = *all;
        memset(all, 0, sizeof *all);
        return 0;
    }
    for (size_t p = 0; p < nparts; p++) {
        size_t off = p * max;
        size_t n = all->n - off < max ? all->n - off : max;
        if (sl__recvec_append(&d->parts[p], all->v + off, n))
            return SL_ENOMEM;
    }
    sl__recvec_free(all);
    return 0;
}

/* An emitter's flush that appends to the sl__recvec in em->host_data. */
int sl__recvec_flush(sl_emitter *em) {
    if (sl__records_bad_type(em->buf, em->count) >= 0) {
        em->count = 0;
        return SL_ETYPE; /* an invalid type tag from a plugin: refused where it enters */
    }
    int rc = sl__recvec_append(em->host_data, em->buf, em->count);
    em->count = 0;
    return rc;
}

#define DIRECT_PART_RECORDS 16384 /* a direct source's partition size */

/* Make d hold at least n partitions (the new ones empty). */
static int direct_grow(sl__dataset *d, size_t n) {
    if (d->nparts >= n)
        return 0;
    sl__recvec *parts = realloc(d->parts, n * sizeof *parts);
    if (!parts)
        return SL_ENOMEM;
    memset(&parts[d->nparts], 0, (n - d->nparts) * sizeof *parts);
    d->parts = parts;
    d->nparts = n;
    return 0;
}

/* A direct source emitter's flush: the records go to the partition the
 * source chose, or into partitions of DIRECT_PART_RECORDS. */
int sl__direct_flush(sl_emitter *em) {
    sl__direct_sink *ds = em->host_data;
    sl__dataset *d = ds->data;
    if (em->count == 0)
        return 0;
    if (sl__records_bad_type(em->buf, em->count) >= 0) {
        em->count = 0;
        return SL_ETYPE; /* an invalid type tag from the source: refused where it enters */
    }
    if (ds->chosen) {
        int rc = direct_grow(d, ds->cur + 1);
        if (!rc)
            rc = sl__recvec_append(&d->parts[ds->cur], em->buf, em->count);
        em->count = 0;
        return rc;
    }
    if (d->nparts == 0 || d->parts[ds->cur].n >= DIRECT_PART_RECORDS) {
        sl__recvec *parts = realloc(d->parts, (d->nparts + 1) * sizeof *parts);
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

int sl__emit_partition(sl_emitter *em, uint32_t index) {
    if (!em || em->flush != sl__direct_flush)
        return 0; /* not a direct source's emitter: nothing to choose */
    if (index >= SL__MAX_SOURCE_PARTITIONS)
        return SL_EINVAL;
    int rc = sl__direct_flush(em);
    if (rc)
        return rc;
    sl__direct_sink *ds = em->host_data;
    ds->chosen = true;
    ds->cur = index;
    return 0;
}

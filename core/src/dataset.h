/*
 * dataset.h — record vectors and datasets: one batch of one stream, as partitions.
 *
 * Threads: a record vector is filled by one thread at a time; the executor
 * gives each worker its own partitions.
 */
#ifndef SLUICE_DATASET_H
#define SLUICE_DATASET_H

#include <stdbool.h>
#include <stddef.h>

#include <sluice/record.h>

#define SL__CHUNK 4096 /* records per chunk */

typedef struct sl__recvec {
    sl_record *v;
    size_t n, cap;
} sl__recvec;

int sl__recvec_push(sl__recvec *rv, const sl_record *r);
int sl__recvec_append(sl__recvec *rv, const sl_record *r, size_t n);
void sl__recvec_free(sl__recvec *rv);

typedef struct sl__dataset {
    sl__recvec *parts;
    size_t nparts;
} sl__dataset;

int sl__dataset_init(sl__dataset *d, size_t nparts);
void sl__dataset_free(sl__dataset *d);
size_t sl__dataset_count(const sl__dataset *d);
int sl__dataset_gather(const sl__dataset *d, sl__recvec *out, bool *owned);
int sl__dataset_take(sl__dataset *d, sl__recvec *all, size_t max);
int sl__recvec_flush(sl_emitter *em); /* appends to the sl__recvec in host_data */

/* A direct source's emitter (host_data): what its poll emits goes into the
 * partitions of `data`, cut by size, or the one the source chose. */
typedef struct sl__direct_sink {
    sl__dataset *data;
    size_t cur;
    bool chosen; /* the source chose the partition (host->emit_partition) */
} sl__direct_sink;
int sl__direct_flush(sl_emitter *em);

/* host->emit_partition (ABI 1.4): a direct source's records from now on go
 * to partition `index` of its batch; ignored (0) on any other emitter. */
#define SL__MAX_SOURCE_PARTITIONS 65536
int sl__emit_partition(sl_emitter *em, uint32_t index);

#endif /* SLUICE_DATASET_H */

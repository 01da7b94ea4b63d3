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

typedef struct sl_recvec {
    sl_record *v;
    size_t n, cap;
} sl_recvec;

int sl__recvec_push(sl_recvec *rv, const sl_record *r);
int sl__recvec_append(sl_recvec *rv, const sl_record *r, size_t n);
void sl__recvec_free(sl_recvec *rv);

typedef struct sl_dataset {
    sl_recvec *parts;
    size_t nparts;
} sl_dataset;

int sl__dataset_init(sl_dataset *d, size_t nparts);
void sl__dataset_free(sl_dataset *d);
size_t sl__dataset_count(const sl_dataset *d);
int sl__dataset_gather(const sl_dataset *d, sl_recvec *out, bool *owned);
int sl__dataset_take(sl_dataset *d, sl_recvec *all, size_t max);
int sl__recvec_flush(sl_emitter *em); /* appends to the sl_recvec in host_data */

#endif /* SLUICE_DATASET_H */

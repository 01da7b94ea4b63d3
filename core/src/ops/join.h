/*
 * ops/join.h — grouping records by key (ops/join.c), shared with the
 * windows that group (group_by_key_and_window).
 */
#ifndef SLUICE_OPS_JOIN_H
#define SLUICE_OPS_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>

#include "dataset.h"

/* Group the records of `parts` by key: (k, [values in order]) per key, in
 * order of first appearance, lists from `mem`, appended to `out`. */
int sl__join_group(const sl__recvec *parts, size_t nparts, int64_t t, sl_mem *mem, sl__recvec *out,
                   sl_error *err);

#endif /* SLUICE_OPS_JOIN_H */

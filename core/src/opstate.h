/*
 * opstate.h — keyed state of OPERATOR instances (opstate.c), behind the
 * host's keyed_get/put/remove/each/count (ABI 1.3). An operator runs on the
 * scheduler thread, one batch at a time: so do these.
 */
#ifndef SLUICE_OPSTATE_H
#define SLUICE_OPSTATE_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>

const sl_value *sl__opstate_get(sl_handle *h, const sl_value *key, int64_t *time);
int sl__opstate_put(sl_handle *h, const sl_value *key, const sl_value *value, int64_t time,
                    sl_error *err);
int sl__opstate_remove(sl_handle *h, const sl_value *key);
int sl__opstate_each(sl_handle *h, sl_keyed_fn fn, void *ud, sl_error *err);
size_t sl__opstate_count(sl_handle *h);
/* The operator stream's store, created empty if it has none (a checkpoint
 * restore fills it before the first batch). 0, or the store's errors. */
int sl__opstate_open(struct sl_stream *s, sl_error *err);

#endif /* SLUICE_OPSTATE_H */

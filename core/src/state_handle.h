/*
 * state_handle.h — map_with_state's handle on one key's state
 * (state_handle.c). A handle is made by ops/state.c for one map() call and
 * used by that call only, on the worker that runs the key's partition.
 */
#ifndef SLUICE_STATE_HANDLE_H
#define SLUICE_STATE_HANDLE_H

#include <stdbool.h>
#include <stdint.h>

#include <sluice/plugin.h>

#include "state.h"

/* The handle a map() call gets on its key's state. */
struct sl_state {
    sl__state_store *store;
    uint64_t hash;
    const sl_value *key;
    int64_t now;
    bool timing_out;
    sl__state_item *item; /* while timing out: the store's entry */
    sl_error *err;
    int rc; /* the first failure of set (reported after the call) */
};

const sl_value *sl__state_handle_get(sl_state *st);
int sl__state_handle_set(sl_state *st, const sl_value *v);
void sl__state_handle_remove(sl_state *st);
int sl__state_handle_timing_out(sl_state *st);

#endif /* SLUICE_STATE_HANDLE_H */

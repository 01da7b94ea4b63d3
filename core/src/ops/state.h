/*
 * ops/state.h — map_with_state's handles on one key's state (ops/state.c),
 * behind the host's state_get/state_set/state_remove/state_timing_out. Called
 * by an UPDATE map function, on the worker running the key's partition.
 */
#ifndef SLUICE_OPS_STATE_H
#define SLUICE_OPS_STATE_H

#include <sluice/plugin.h>

const sl_value *sl__state_handle_get(sl_state *st);
int sl__state_handle_set(sl_state *st, const sl_value *v);
void sl__state_handle_remove(sl_state *st);
int sl__state_handle_timing_out(sl_state *st);

#endif /* SLUICE_OPS_STATE_H */

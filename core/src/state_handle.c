/*
 * state_handle.c — map_with_state's handle on one key's state, behind the
 * host's state_get, state_set, state_remove and state_timing_out.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>

#include "error.h"
#include "state_handle.h"

const sl_value *sl__state_handle_get(sl_state *st) {
    if (!st)
        return NULL;
    if (st->item)
        return st->item->exists ? &st->item->value : NULL;
    return sl__state_get(st->store, st->hash, st->key, NULL);
}

int sl__state_handle_set(sl_state *st, const sl_value *v) {
    if (!st || !v)
        return SL_EINVAL;
    if (st->timing_out)
        return sl__error_set(st->err, SL_ESTATE,
                             "map_with_state: a timing-out key's state cannot be updated (it is "
                             "removed after this call)");
    int rc = sl__state_put(st->store, st->hash, st->key, v, st->now, st->err);
    if (rc && !st->rc)
        st->rc = rc;
    return rc;
}

void sl__state_handle_remove(sl_state *st) {
    if (st && !st->timing_out)
        sl__state_remove(st->store, st->hash, st->key);
}

int sl__state_handle_timing_out(sl_state *st) {
    return st && st->timing_out;
}

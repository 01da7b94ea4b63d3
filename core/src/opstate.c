/*
 * opstate.c — keyed state of OPERATOR instances (host->keyed_*, ABI 1.3).
 *
 * An operator stream gets the same state store as update_state_by_key
 * (state.c), with one partition (an operator runs on the engine thread, one
 * batch at a time) and a time per key. The store hangs off the stream
 * (s->store), so the operator's class (ops/operator.c) writes it into every
 * checkpoint as "state/<stream>/0" and restores it before the first batch,
 * as update_state_by_key's does: the plugin writes no snapshot code.
 *
 * The store is made on the first keyed_put (or by a restore), so an
 * operator that keeps no keyed state adds nothing to a checkpoint.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "error.h"
#include "handle.h"
#include "opstate.h"
#include "stream.h"
#include "value.h"

/* The operator stream behind a handle, or NULL (not an operator's handle). */
static sl_stream *owner_of(sl_handle *h) {
    return h && h->owner && h->owner->op == SL__OP_OPERATOR ? h->owner : NULL;
}

int sl__opstate_open(sl_stream *s, sl_error *err) {
    if (s->store)
        return 0;
    return sl__state_new(s->name, 1, s->state_limit, true, &s->store, err);
}

const sl_value *sl__opstate_get(sl_handle *h, const sl_value *key, int64_t *time) {
    sl_stream *s = owner_of(h);
    if (time)
        *time = 0;
    if (!s || !s->store || !key)
        return NULL;
    return sl__state_get(s->store, sl__value_hash(key), key, time);
}

int sl__opstate_put(sl_handle *h, const sl_value *key, const sl_value *value, int64_t time,
                    sl_error *err) {
    sl_stream *s = owner_of(h);
    if (!s)
        return sl__error_set(err, SL_ESTATE,
                             "keyed_put: %s is not an operator: keyed state belongs to OPERATOR "
                             "components",
                             h && h->ref ? h->ref : "this handle");
    if (!key || !value)
        return sl__error_set(err, SL_EINVAL, "%s (%s): keyed_put without a key or a value", s->name,
                             h->ref);
    int rc = sl__opstate_open(s, err);
    return rc ? rc : sl__state_put(s->store, sl__value_hash(key), key, value, time, err);
}

int sl__opstate_remove(sl_handle *h, const sl_value *key) {
    sl_stream *s = owner_of(h);
    if (!s || !s->store || !key)
        return s ? SL_ENOTFOUND : SL_ESTATE;
    return sl__state_remove(s->store, sl__value_hash(key), key);
}

/* keyed_each's callback and its argument, seen through the store's own
 * item type. */
typedef struct each_ctx {
    sl_keyed_fn fn;
    void *ud;
} each_ctx;

static int each_one(void *ud, sl__state_item *it) {
    each_ctx *ec = ud;
    sl_keyed_item ki = {it->key, it->value, it->last_update, 0};
    int rc = ec->fn(ec->ud, &ki);
    if (rc < 0)
        return rc;
    it->value = ki.value;
    it->last_update = ki.time;
    it->remove = ki.remove != 0;
    return 0;
}

int sl__opstate_each(sl_handle *h, sl_keyed_fn fn, void *ud, sl_error *err) {
    sl_stream *s = owner_of(h);
    if (!s)
        return sl__error_set(err, SL_ESTATE, "keyed_each: not an operator's handle");
    if (!fn)
        return sl__error_set(err, SL_EINVAL, "%s: keyed_each without a function", s->name);
    if (!s->store)
        return 0;
    each_ctx ec = {fn, ud};
    return sl__state_update_each(s->store, 0, each_one, &ec, err);
}

size_t sl__opstate_count(sl_handle *h) {
    sl_stream *s = owner_of(h);
    return s && s->store ? sl__state_count(s->store) : 0;
}

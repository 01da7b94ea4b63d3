/*
 * table.c — the hash table behind reduce_by_key and count_by_value.
 *
 * Open addressing with linear probing; entries (hash, key, accumulator) sit
 * in the slot array itself, so a probe costs one cache miss for the entry
 * and one for the key's bytes. Keys are copied once, when new, into the
 * caller's memory: compact keys keep the comparisons in cache. Iteration
 * (sl__table_next) is in slot order, i.e. by hash. A stored hash is never 0:
 * 0 marks an empty slot.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int sl__table_init(sl__table *t, size_t hint) {
    size_t slots = 64;
    while (slots < hint * 2)
        slots *= 2;
    memset(t, 0, sizeof *t);
    t->slots = calloc(slots, sizeof *t->slots);
    if (!t->slots)
        return SL_ENOMEM;
    t->mask = slots - 1;
    return 0;
}

void sl__table_clear(sl__table *t) {
    if (t->n)
        memset(t->slots, 0, (t->mask + 1) * sizeof *t->slots);
    t->n = 0;
}

void sl__table_free(sl__table *t) {
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static inline bool key_eq(const sl__entry *e, const sl_value *key) {
    if (key->type == SL_BYTES && e->key.type == SL_BYTES)
        return e->key.len == key->len && sl__bytes_eq(e->key.u.s, key->u.s, key->len);
    return sl__value_equal(&e->key, key);
}

/* Double the slot array and move every entry. */
static int grow(sl__table *t) {
    size_t slots = (t->mask + 1) * 2;
    sl__entry *s = calloc(slots, sizeof *s);
    if (!s)
        return SL_ENOMEM;
    size_t mask = slots - 1;
    for (size_t i = 0; i <= t->mask; i++) {
        const sl__entry *e = &t->slots[i];
        if (!e->hash)
            continue;
        size_t j = (size_t)e->hash & mask;
        while (s[j].hash)
            j = (j + 1) & mask;
        s[j] = *e;
    }
    free(t->slots);
    t->slots = s;
    t->mask = mask;
    return 0;
}

sl__entry *sl__table_find(const sl__table *t, uint64_t h, const sl_value *key) {
    if (!h)
        h = 1;
    size_t j = (size_t)h & t->mask;
    for (;;) {
        sl__entry *e = &t->slots[j];
        if (!e->hash)
            return NULL;
        if (e->hash == h && key_eq(e, key))
            return e;
        j = (j + 1) & t->mask;
    }
}

sl__entry *sl__table_upsert(sl__table *t, uint64_t h, const sl_value *key, sl_mem *mem,
                            bool *fresh) {
    if (!h)
        h = 1;
    /* grow before inserting, so that the returned entry stays put */
    if ((t->n + 1) * 2 > t->mask + 1 && grow(t))
        return NULL;
    size_t j = (size_t)h & t->mask;
    for (;;) {
        sl__entry *e = &t->slots[j];
        if (!e->hash)
            break;
        if (e->hash == h && key_eq(e, key)) {
            *fresh = false;
            return e;
        }
        j = (j + 1) & t->mask;
    }
    sl__entry *e = &t->slots[j];
    if (!mem)
        e->key = *key; /* the caller guarantees the key outlives the table */
    else if (sl__value_copy(key, &e->key, mem))
        return NULL;
    e->hash = h;
    e->acc = sl_null();
    t->n++;
    *fresh = true;
    return e;
}

sl__entry *sl__table_next(const sl__table *t, size_t *pos) {
    for (size_t i = *pos; i <= t->mask; i++) {
        if (t->slots[i].hash) {
            *pos = i + 1;
            return &t->slots[i];
        }
    }
    *pos = t->mask + 1;
    return NULL;
}

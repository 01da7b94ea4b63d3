/*
 * table.c — the hash table behind reduce_by_key and count_by_value.
 *
 * Open addressing with linear probing over a slot array of 32-bit indices
 * into a dense entry array (hash stored beside the key), so probing touches
 * 4-byte slots, growth moves no entries, and iteration is in insertion
 * order. Keys are copied into the caller's memory once, when new.
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

void sl__table_free(sl__table *t) {
    free(t->slots);
    free(t->entries);
    memset(t, 0, sizeof *t);
}

static bool key_eq(const sl__entry *e, uint64_t h, const sl_value *key) {
    if (e->hash != h)
        return false;
    if (key->type == SL_BYTES && e->key.type == SL_BYTES)
        return sl_bytes_eq(&e->key, key);
    return sl__value_equal(&e->key, key);
}

/* Double the slot array and re-insert every entry index. */
static int grow_slots(sl__table *t) {
    size_t slots = (t->mask + 1) * 2;
    uint32_t *s = calloc(slots, sizeof *s);
    if (!s)
        return SL_ENOMEM;
    size_t mask = slots - 1;
    for (size_t i = 0; i < t->n; i++) {
        size_t j = (size_t)t->entries[i].hash & mask;
        while (s[j])
            j = (j + 1) & mask;
        s[j] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = s;
    t->mask = mask;
    return 0;
}

sl__entry *sl__table_find(const sl__table *t, uint64_t h, const sl_value *key) {
    size_t j = (size_t)h & t->mask;
    for (;;) {
        uint32_t idx = t->slots[j];
        if (!idx)
            return NULL;
        sl__entry *e = &t->entries[idx - 1];
        if (key_eq(e, h, key))
            return e;
        j = (j + 1) & t->mask;
    }
}

sl__entry *sl__table_upsert(sl__table *t, uint64_t h, const sl_value *key, sl_mem *mem,
                            bool *fresh) {
    size_t j = (size_t)h & t->mask;
    for (;;) {
        uint32_t idx = t->slots[j];
        if (!idx)
            break;
        sl__entry *e = &t->entries[idx - 1];
        if (key_eq(e, h, key)) {
            *fresh = false;
            return e;
        }
        j = (j + 1) & t->mask;
    }
    if (t->n >= UINT32_MAX - 1)
        return NULL;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        sl__entry *en = realloc(t->entries, cap * sizeof *en);
        if (!en)
            return NULL;
        t->entries = en;
        t->cap = cap;
    }
    sl__entry *e = &t->entries[t->n];
    e->hash = h;
    if (!mem)
        e->key = *key; /* the caller guarantees the key outlives the table */
    else if (sl__value_copy(key, &e->key, mem))
        return NULL;
    e->acc = sl_null();
    t->slots[j] = (uint32_t)(++t->n);
    *fresh = true;
    /* keep the load factor under 1/2 */
    if (t->n * 2 > t->mask + 1 && grow_slots(t))
        return NULL;
    return e;
}

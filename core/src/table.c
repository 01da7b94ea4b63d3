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
#include <sys/mman.h>

#include "internal.h"

#define HUGE_PAGE (2u << 20)

/* A zeroed slot array. Arrays of 2 MiB or more are aligned to 2 MiB and
 * offered to the kernel as transparent huge pages: a probe lands anywhere in
 * the array, and with 4 KiB pages every probe of a large table also misses
 * the TLB (measured: bench/RESULTS.md, word count). */
static sl__entry *slots_alloc(size_t n) {
    size_t bytes = n * sizeof(sl__entry);
    if (bytes < HUGE_PAGE)
        return calloc(n, sizeof(sl__entry));
    bytes = (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    void *p = aligned_alloc(HUGE_PAGE, bytes);
    if (!p)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE); /* advice only: without it, 4 KiB pages */
#endif
    memset(p, 0, bytes);
    return p;
}

int sl__table_init(sl__table *t, size_t hint) {
    size_t slots = 64;
    while (slots < hint * 2)
        slots *= 2;
    memset(t, 0, sizeof *t);
    t->slots = slots_alloc(slots);
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

/* A bytes key's tag: 8 bytes that hold all of a key of 8 bytes or fewer
 * (given its length), and the first 8 of a longer one. Entries keep it
 * beside the hash, so that comparing a short key never reads the stored
 * key's bytes: that read is a cache miss of its own (measured: bench/
 * RESULTS.md, word count). Not a hash: equal tags and lengths mean equal
 * keys up to 8 bytes. */
static inline uint64_t key_tag(const sl_value *key) {
    if (key->type != SL_BYTES)
        return 0;
    const unsigned char *s = (const unsigned char *)key->u.s;
    size_t n = key->len;
    uint64_t x = 0;
    if (n >= 8) {
        memcpy(&x, s, 8);
    } else if (n >= 4) { /* bytes 0-3 and n-4..n-1 cover the key */
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        x = a | (uint64_t)b << 32;
    } else if (n) { /* bytes 0, n/2 and n-1 cover the key */
        x = s[0] | (uint64_t)s[n / 2] << 8 | (uint64_t)s[n - 1] << 16;
    }
    return x;
}

static inline bool key_eq(const sl__entry *e, const sl_value *key, uint64_t tag) {
    if (key->type == SL_BYTES && e->key.type == SL_BYTES)
        return e->key.len == key->len && e->tag == tag &&
               (key->len <= 8 || sl__bytes_eq(e->key.u.s + 8, key->u.s + 8, key->len - 8));
    return sl__value_equal(&e->key, key);
}

/* Double the slot array and move every entry. */
static int grow(sl__table *t) {
    size_t slots = (t->mask + 1) * 2;
    sl__entry *s = slots_alloc(slots);
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
    uint64_t tag = key_tag(key);
    size_t j = (size_t)h & t->mask;
    for (;;) {
        sl__entry *e = &t->slots[j];
        if (!e->hash)
            return NULL;
        if (e->hash == h && key_eq(e, key, tag))
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
    uint64_t tag = key_tag(key);
    size_t j = (size_t)h & t->mask;
    for (;;) {
        sl__entry *e = &t->slots[j];
        if (!e->hash)
            break;
        if (e->hash == h && key_eq(e, key, tag)) {
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
    e->tag = tag;
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

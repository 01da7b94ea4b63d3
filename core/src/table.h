/*
 * table.h — the shuffle's open-addressing hash table of key -> accumulator
 * (table.c; lookups inline).
 *
 * Threads: a table is used by one worker at a time.
 */
#ifndef SLUICE_TABLE_H
#define SLUICE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sluice/record.h>

#include "value.h"

/* A bytes key's bytes, when 16 or fewer, else its first 16 (sl__key_tag). */
typedef struct sl__tag {
    uint64_t a, b;
} sl__tag;

typedef struct sl__entry {
    uint64_t hash;
    sl__tag tag;
    sl_value key;
    sl_value acc;
} sl__entry;

typedef struct sl__table {
    sl__entry *slots; /* entries in place; hash 0 = empty */
    size_t mask;      /* slots - 1 */
    size_t n;         /* entries */
} sl__table;

int sl__table_init(sl__table *t, size_t hint);
void sl__table_free(sl__table *t);
/* Double the slot array (the slow half of sl__table_upsert). */
int sl__table_grow(sl__table *t);
/* Fill free slot j with a new entry (the slow half of sl__table_upsert). */
sl__entry *sl__table_insert(sl__table *t, size_t j, uint64_t h, sl__tag tag, const sl_value *key,
                            sl_mem *mem);

/* A bytes key's tag: 16 bytes that hold all of a key of 16 bytes or fewer
 * (given its length), and the first 16 of a longer one. Entries keep it
 * beside the hash, so that comparing a key of up to 16 bytes never reads
 * the stored key's bytes: that read is a cache miss of its own (measured:
 * bench/RESULTS.md, word count). Not a hash: equal tags and lengths mean
 * equal keys up to 16 bytes. */
static inline sl__tag sl__key_tag(const sl_value *key) {
    sl__tag t = {0, 0};
    if (key->type != SL_BYTES)
        return t;
    const unsigned char *s = (const unsigned char *)key->u.s;
    size_t n = key->len;
    if (n >= 16) {
        memcpy(&t.a, s, 8);
        memcpy(&t.b, s + 8, 8);
    } else if (n >= 8) { /* bytes 0-7 and n-8..n-1 cover the key */
        memcpy(&t.a, s, 8);
        memcpy(&t.b, s + n - 8, 8);
    } else if (n >= 4) { /* bytes 0-3 and n-4..n-1 */
        uint32_t x, y;
        memcpy(&x, s, 4);
        memcpy(&y, s + n - 4, 4);
        t.a = x | (uint64_t)y << 32;
    } else if (n) { /* bytes 0, n/2 and n-1 */
        t.a = s[0] | (uint64_t)s[n / 2] << 8 | (uint64_t)s[n - 1] << 16;
    }
    return t;
}

static inline bool sl__key_eq(const sl__entry *e, const sl_value *key, sl__tag tag) {
    if (key->type == SL_BYTES && e->key.type == SL_BYTES)
        return e->key.len == key->len && e->tag.a == tag.a && e->tag.b == tag.b &&
               (key->len <= 16 || sl__bytes_eq(e->key.u.s + 16, key->u.s + 16, key->len - 16));
    return sl__value_equal(&e->key, key);
}

/* Find the entry of `key` (hash `h`), inserting one (key copied into mem,
 * or referenced as is when mem is NULL; acc SL_NULL) if absent; *fresh
 * tells which. NULL on OOM. Entry pointers are invalidated by the next
 * upsert. A hash of 0 is stored as 1. */
static inline sl__entry *sl__table_upsert(sl__table *t, uint64_t h, const sl_value *key,
                                          sl_mem *mem, bool *fresh) {
    if (!h)
        h = 1;
    /* grow before inserting, so that the returned entry stays put */
    if ((t->n + 1) * 2 > t->mask + 1 && sl__table_grow(t))
        return NULL;
    sl__tag tag = sl__key_tag(key);
    size_t j = (size_t)h & t->mask;
    for (;;) {
        sl__entry *e = &t->slots[j];
        if (!e->hash)
            break;
        if (e->hash == h && sl__key_eq(e, key, tag)) {
            *fresh = false;
            return e;
        }
        j = (j + 1) & t->mask;
    }
    *fresh = true;
    return sl__table_insert(t, j, h, tag, key, mem);
}

static inline sl__entry *sl__table_find(const sl__table *t, uint64_t h, const sl_value *key) {
    if (!h)
        h = 1;
    sl__tag tag = sl__key_tag(key);
    size_t j = (size_t)h & t->mask;
    for (;;) {
        sl__entry *e = &t->slots[j];
        if (!e->hash)
            return NULL;
        if (e->hash == h && sl__key_eq(e, key, tag))
            return e;
        j = (j + 1) & t->mask;
    }
}

/* Empty the table, keeping its slots (and their pages) for reuse. */
void sl__table_clear(sl__table *t);
/* The next entry at or after *pos (start at 0), or NULL at the end. */
sl__entry *sl__table_next(const sl__table *t, size_t *pos);

#endif /* SLUICE_TABLE_H */

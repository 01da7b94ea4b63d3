/*
 * table.c — the hash table behind reduce_by_key and count_by_value.
 *
 * Open addressing with linear probing; entries (hash, tag, key,
 * accumulator) sit in the slot array itself, so a probe costs one cache miss
 * for the entry, and for a key longer than 16 bytes one more for its bytes.
 * Keys are copied once, when new, into the caller's memory: compact keys
 * keep the comparisons in cache. Iteration (sl__table_next) is in slot
 * order, i.e. by hash. A stored hash is never 0: 0 marks an empty slot. The
 * lookups are inline (internal.h): they are the word count's inner loop.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <sluice/plugin.h>

#include "table.h"

#define HUGE_PAGE (2u << 20)

static size_t huge_round(size_t bytes) {
    return (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
}

/* A zeroed slot array. Arrays of 2 MiB or more are mapped on their own,
 * aligned to 2 MiB and offered to the kernel as transparent huge pages: a
 * probe lands anywhere in the array, and with 4 KiB pages every probe of a
 * large table also misses the TLB (measured: bench/RESULTS.md, word count).
 * Fresh mappings are zero already: the kernel clears each page once, when
 * it is first touched, instead of a memset over it. */
static sl__entry *slots_alloc(size_t n) {
    size_t bytes = n * sizeof(sl__entry);
    if (bytes < HUGE_PAGE)
        return calloc(n, sizeof(sl__entry));
    size_t want = huge_round(bytes), len = want + HUGE_PAGE;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    char *a = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (a > p) /* trim to the aligned range */
        munmap(p, (size_t)(a - p));
    if (p + len > a + want)
        munmap(a + want, (size_t)(p + len - (a + want)));
#ifdef MADV_HUGEPAGE
    madvise(a, want, MADV_HUGEPAGE); /* advice only: without it, 4 KiB pages */
#endif
    return (sl__entry *)a;
}

/* Free an array of n slots from slots_alloc. */
static void slots_free(sl__entry *s, size_t n) {
    size_t bytes = n * sizeof(sl__entry);
    if (!s)
        return;
    if (bytes < HUGE_PAGE)
        free(s);
    else
        munmap(s, huge_round(bytes));
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
    slots_free(t->slots, t->mask + 1); /* NULL: nothing */
    memset(t, 0, sizeof *t);
}

/* Double the slot array and move every entry. */
int sl__table_grow(sl__table *t) {
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
    slots_free(t->slots, t->mask + 1);
    t->slots = s;
    t->mask = mask;
    return 0;
}

sl__entry *sl__table_insert(sl__table *t, size_t j, uint64_t h, sl__tag tag, const sl_value *key,
                            sl_mem *mem) {
    sl__entry *e = &t->slots[j];
    if (!mem)
        e->key = *key; /* the caller guarantees the key outlives the table */
    else if (sl__value_copy(key, &e->key, mem))
        return NULL;
    e->hash = h;
    e->tag = tag;
    e->acc = sl_null();
    t->n++;
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

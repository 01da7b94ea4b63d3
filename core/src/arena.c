/*
 * arena.c — bump allocation for batch-lifetime memory.
 *
 * Everything a batch allocates (emitted bytes, copied keys, receiver blocks)
 * comes from arenas that are reset when the batch completes, so the hot path
 * never calls free() per record.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>

#include "arena.h"

#define ALIGN 16u

void sl__arena_init(sl__arena *a, size_t block_size) {
    a->head = a->spare = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->total = a->spare_bytes = 0;
}

/* Allocate a new block of at least `n` usable bytes and make it the head. */
static sl__arena_block *arena_grow(sl__arena *a, size_t n) {
    size_t cap = a->block_size;
    if (cap < n)
        cap = n;
    sl__arena_block *b = malloc(sizeof *b + cap);
    if (!b)
        return NULL;
    b->cap = cap;
    b->used = 0;
    b->next = a->head;
    a->head = b;
    a->total += cap;
    return b;
}

void *sl__arena_alloc(sl__arena *a, size_t n) {
    sl__arena_block *b = a->head;
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need < n)
        return NULL; /* overflow */
    if (!b || b->cap - b->used < need) {
        /* reuse a block kept by the last reset when it is big enough */
        sl__arena_block *f = a->spare;
        if (f && f->cap >= need) {
            a->spare = f->next;
            a->spare_bytes -= f->cap;
            f->used = 0;
            f->next = a->head;
            a->head = f;
            b = f;
        } else if (!(b = arena_grow(a, need))) {
            return NULL;
        }
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

/* Keep up to SPARE_MAX bytes of blocks for the next batch: fresh pages cost
 * a page fault each, and a batch's memory is much like the previous one's. */
#define SPARE_MAX (64u << 20)

void sl__arena_reset(sl__arena *a) {
    sl__arena_block *b = a->head;
    while (b) {
        sl__arena_block *next = b->next;
        if (a->spare_bytes + b->cap <= SPARE_MAX) {
            b->next = a->spare;
            a->spare = b;
            a->spare_bytes += b->cap;
        } else {
            a->total -= b->cap;
            free(b);
        }
        b = next;
    }
    a->head = NULL;
}

static void free_list(sl__arena_block *b) {
    while (b) {
        sl__arena_block *next = b->next;
        free(b);
        b = next;
    }
}

void sl__arena_free(sl__arena *a) {
    free_list(a->head);
    free_list(a->spare);
    a->head = a->spare = NULL;
    a->total = a->spare_bytes = 0;
}

static void *arena_mem_alloc(sl_mem *m, size_t size) {
    return sl__arena_alloc((sl__arena *)m->host_data, size);
}

void sl__arena_mem(sl__arena *a, sl_mem *m) {
    m->alloc = arena_mem_alloc;
    m->host_data = a;
}

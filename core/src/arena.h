/*
 * arena.h — bump allocation, freed all at once (engine-internal).
 *
 * Threads: an arena is used by one thread at a time (each worker has its own).
 */
#ifndef SLUICE_ARENA_H
#define SLUICE_ARENA_H

#include <stddef.h>

#include <sluice/record.h>

typedef struct sl__arena_block {
    struct sl__arena_block *next;
    size_t cap;
    size_t used;
    _Alignas(16) char data[]; /* 16-byte aligned, as sl_mem promises */
} sl__arena_block;

typedef struct sl__arena {
    sl__arena_block *head;
    sl__arena_block *spare; /* blocks kept by reset, reused before malloc */
    size_t block_size;      /* default size of a new block */
    size_t total;           /* bytes held in blocks, spare ones included */
    size_t spare_bytes;
} sl__arena;

void sl__arena_init(sl__arena *a, size_t block_size);
void *sl__arena_alloc(sl__arena *a, size_t n); /* 16-byte aligned; NULL on OOM */
void sl__arena_reset(sl__arena *a);            /* everything is free again; keeps some blocks */
void sl__arena_free(sl__arena *a);
/* An sl_mem that allocates from `a`. */
void sl__arena_mem(sl__arena *a, sl_mem *m);

#endif /* SLUICE_ARENA_H */

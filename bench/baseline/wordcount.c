/*
 * wordcount — the hand-written, single-threaded C word count that sluice is measured against.
 *
 *     wordcount IN OUT
 *
 * Reads IN in 1 MiB blocks with read(2), splits on ASCII whitespace (space, \t, \n, \v, \f,
 * \r), counts words in an open-addressing hash table (linear probing, XXH3 64-bit hashes
 * stored beside each key, keys copied once into an arena when first seen), and writes
 * "word<TAB>count" lines, in table order, to OUT. One loop over the bytes, no threads, no
 * mmap, no SIMD: what a good C programmer writes in an afternoon.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define BLOCK (1u << 20)
#define ARENA_CHUNK (1u << 20)

typedef struct slot {
    uint64_t hash;
    const char *key; /* NULL: empty; else points into the arena */
    uint32_t len;
    uint64_t count;
} slot;

typedef struct table {
    slot *slots;
    size_t cap; /* power of two */
    size_t used;
    char *arena; /* current arena chunk; earlier chunks are never freed (the process exits) */
    size_t arena_left;
} table;

static void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "wordcount: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static void table_init(table *t, size_t cap) {
    t->slots = xmalloc(cap * sizeof *t->slots);
    memset(t->slots, 0, cap * sizeof *t->slots);
    t->cap = cap;
    t->used = 0;
    t->arena = NULL;
    t->arena_left = 0;
}

/* Copy a new key into the arena; returns the copy. */
static const char *arena_copy(table *t, const char *s, size_t n) {
    if (n > t->arena_left) {
        size_t sz = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        t->arena = xmalloc(sz);
        t->arena_left = sz;
    }
    char *p = t->arena;
    memcpy(p, s, n);
    t->arena += n;
    t->arena_left -= n;
    return p;
}

/* Double the table, re-placing every key by its stored hash (keys are not rehashed). */
static void table_grow(table *t) {
    size_t ncap = t->cap * 2, mask = ncap - 1;
    slot *ns = xmalloc(ncap * sizeof *ns);
    memset(ns, 0, ncap * sizeof *ns);
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].key)
            continue;
        size_t j = (size_t)t->slots[i].hash & mask;
        while (ns[j].key)
            j = (j + 1) & mask;
        ns[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
}

/* Count one occurrence of word w[0..n). The table stays at most half full. */
static void table_add(table *t, const char *w, size_t n) {
    uint64_t h = XXH3_64bits(w, n);
    size_t mask = t->cap - 1, i = (size_t)h & mask;
    for (;;) {
        slot *s = &t->slots[i];
        if (!s->key)
            break;
        if (s->hash == h && s->len == n && memcmp(s->key, w, n) == 0) {
            s->count++;
            return;
        }
        i = (i + 1) & mask;
    }
    slot *s = &t->slots[i];
    s->hash = h;
    s->key = arena_copy(t, w, n);
    s->len = (uint32_t)n;
    s->count = 1;
    if (++t->used * 2 > t->cap)
        table_grow(t);
}

static unsigned char is_space[256];

/* Count every word of the file `fd`. A word cut by a block boundary is carried to the
 * front of the buffer and completed by the next read. */
static int count_fd(table *t, int fd) {
    char *buf = xmalloc(2 * BLOCK);
    size_t carry = 0;
    for (;;) {
        if (carry > BLOCK) { /* one word longer than a block: grow the buffer */
            fprintf(stderr, "wordcount: a word longer than %u bytes\n", BLOCK);
            return -1;
        }
        ssize_t r = read(fd, buf + carry, BLOCK);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            perror("wordcount: read");
            return -1;
        }
        size_t end = carry + (size_t)r;
        const char *p = buf, *e = buf + end;
        for (;;) {
            while (p < e && is_space[(unsigned char)*p])
                p++;
            const char *w = p;
            while (p < e && !is_space[(unsigned char)*p])
                p++;
            if (p == e) { /* the word may continue in the next block */
                carry = (size_t)(e - w);
                if (r == 0 && carry)
                    table_add(t, w, carry);
                else
                    memmove(buf, w, carry);
                break;
            }
            table_add(t, w, (size_t)(p - w));
        }
        if (r == 0)
            break;
    }
    free(buf);
    return 0;
}

/* Write "word<TAB>count\n" for every key. */
static int table_write(const table *t, FILE *f) {
    for (size_t i = 0; i < t->cap; i++) {
        const slot *s = &t->slots[i];
        if (!s->key)
            continue;
        fwrite(s->key, 1, s->len, f);
        fprintf(f, "\t%llu\n", (unsigned long long)s->count);
    }
    return ferror(f) ? -1 : 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: wordcount IN OUT\n");
        return 2;
    }
    for (const char *c = " \t\n\v\f\r"; *c; c++)
        is_space[(unsigned char)*c] = 1;
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "wordcount: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    table t;
    table_init(&t, 1u << 16);
    if (count_fd(&t, fd) < 0)
        return 1;
    close(fd);
    FILE *f = fopen(argv[2], "w");
    if (!f) {
        fprintf(stderr, "wordcount: %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    static char obuf[1u << 20];
    setvbuf(f, obuf, _IOFBF, sizeof obuf);
    if (table_write(&t, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "wordcount: write %s failed\n", argv[2]);
        return 1;
    }
    return 0;
}

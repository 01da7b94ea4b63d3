/*
 * state.c — the keyed state store (state.h): per partition, a dense entry
 * array, a compact hash index over it, and an arena for key and value bytes.
 *
 * Layout of one partition, and why:
 *
 * - Entries {key, value} (32 bytes) live in a dense array cut into chunks of
 *   64K entries (2 MiB), so growing never copies entries and never leaves
 *   realloc slack beyond one chunk; only chunk 0 grows by doubling (64 to 64K
 *   entries) so that small partitions stay small. A removal moves the last
 *   entry into the gap: entries [0, n) are always all live, so a full pass
 *   is one sequential sweep with no holes to skip, however many keys timed
 *   out. Last-update times, when asked for, follow the entries in the same
 *   chunk allocation (8 bytes a key, only for streams that need them).
 * - The index is open addressing with linear probing over 8-byte slots:
 *   (low 32 bits of the hash) << 32 | (entry index + 1); 0 is empty. The
 *   home slot is hash & mask, i.e. the tag's own low bits, so growing the
 *   index never rehashes a key nor touches an entry, and a probe rejects
 *   almost every non-matching slot on the tag without touching the entry.
 *   (The partition is chosen by hash bits 40 and up, the slot by the low
 *   bits: independent.) Deletion shifts the following slots back (no
 *   tombstones, so insert/remove cycles never degrade or grow the index).
 *   Maximum load 0.8: 10 to 20 bytes of index a key. (Mapping the index and
 *   chunks on huge pages was measured: lookups at 10M keys 7% faster,
 *   inserts 10% slower; not worth the code.)
 * - Key bytes and bytes/list values are copied into a per-partition bump
 *   arena: bytes unpadded (a 6-byte word takes 6 bytes), sl_value arrays of
 *   lists 8-byte aligned. A replaced or removed payload becomes garbage; the
 *   arena tracks live and used bytes, and when garbage exceeds live bytes the
 *   partition is compacted: every live payload is copied into one fresh block
 *   and the old blocks are freed (amortized O(1) per garbage byte).
 *
 * Every allocation goes through reserve(), which charges the store's atomic
 * memory counter and refuses what would exceed the limit before anything is
 * changed. Each operation allocates first and commits after, so an error
 * leaves the store as it was.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>

#include "arena.h"
#include "codec.h"
#include "error.h"
#include "state.h"
#include "value.h"

#define CHUNK_SHIFT 16
#define CHUNK ((size_t)1 << CHUNK_SHIFT)   /* entries per full chunk */
#define CHUNK0_MIN 64                      /* entries of the first chunk at first */
#define INDEX_MIN 16                       /* slots of a new index */
#define INDEX_MAX ((size_t)1 << 32)        /* the home slot comes from a 32-bit tag */
#define BLOCK_MIN 4096                     /* smallest arena block */
#define BLOCK_MAX (((size_t)1 << 20) - 64) /* largest: 1 MiB with malloc's header */
#define COMPACT_MIN ((size_t)64 << 10)     /* garbage below this is left alone */

typedef struct entry {
    sl_value key;
    sl_value value;
} entry;

typedef struct ablock {
    struct ablock *next;
    size_t cap;
    size_t used;
    char data[]; /* offset 24: 8-byte aligned, enough for sl_value arrays */
} ablock;

/* One partition; aligned so that threads working on neighbours do not share
 * a cache line. */
typedef struct part {
    _Alignas(64) uint64_t *slots;
    size_t mask;          /* slots - 1; no index while slots is NULL */
    struct chunk *chunks; /* [nchunks] */
    size_t nchunks;       /* chunks allocated */
    size_t chunk_ptrs;    /* room in chunks[] */
    size_t cap;           /* entries the chunks hold */
    size_t n;             /* entries in use: [0, n) */
    ablock *arena;        /* current block first */
    size_t arena_used;    /* payload bytes handed out, garbage included */
    size_t arena_live;    /* payload bytes of the entries in [0, n) */
} part;

struct sl__state_store {
    char *name;
    int nparts;
    bool timestamps;
    size_t limit;
    _Atomic size_t mem; /* bytes allocated, all partitions */
    part *parts;
};

static const char empty_bytes[1] = "";

/* ---- accounting --------------------------------------------------------------- */

/* A byte count for people: "512 B", "3.5 KiB", "64.0 MiB". */
static const char *fmt_size(size_t n, char *buf, size_t cap) {
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    if (u == 0)
        snprintf(buf, cap, "%zu B", n);
    else
        snprintf(buf, cap, "%.1f %s", v, units[u]);
    return buf;
}

/* Charge `bytes` to the store, for `what` in partition `pi`. 0, or
 * SL_ELIMIT (nothing charged; err, when given, says what and which limit). */
static int reserve(sl__state_store *s, size_t bytes, int pi, const char *what, sl_error *err) {
    size_t before = atomic_fetch_add_explicit(&s->mem, bytes, memory_order_relaxed);
    if (!s->limit || before + bytes <= s->limit)
        return 0;
    atomic_fetch_sub_explicit(&s->mem, bytes, memory_order_relaxed);
    char lim[32], used[32], need[32];
    return sl__error_set(err, SL_ELIMIT,
                         "state of stream '%s': memory limit of %s reached (%s in use; partition "
                         "%d, holding %zu keys, needs %s more for %s); raise the stream's "
                         "state memory limit, or let the update function remove keys",
                         s->name, fmt_size(s->limit, lim, sizeof lim),
                         fmt_size(before, used, sizeof used), pi, s->parts[pi].n,
                         fmt_size(bytes, need, sizeof need), what);
}

static void unreserve(sl__state_store *s, size_t bytes) {
    atomic_fetch_sub_explicit(&s->mem, bytes, memory_order_relaxed);
}

/* malloc (zeroed when `zero`) charged to the store; NULL with err filled
 * (callers read err->code: the API functions never pass NULL on). */
static void *tmalloc(sl__state_store *s, size_t bytes, bool zero, int pi, const char *what,
                     sl_error *err) {
    if (reserve(s, bytes, pi, what, err))
        return NULL;
    void *p = zero ? calloc(1, bytes) : malloc(bytes);
    if (!p) {
        unreserve(s, bytes);
        sl__error_set(err, SL_ENOMEM, "state of stream '%s': out of memory (%s)", s->name, what);
    }
    return p;
}

/* realloc from `old` to `bytes` charged to the store; NULL (p intact) on error. */
static void *trealloc(sl__state_store *s, void *p, size_t old, size_t bytes, int pi,
                      const char *what, sl_error *err) {
    if (bytes > old && reserve(s, bytes - old, pi, what, err))
        return NULL;
    void *q = realloc(p, bytes);
    if (!q) {
        if (bytes > old)
            unreserve(s, bytes - old);
        sl__error_set(err, SL_ENOMEM, "state of stream '%s': out of memory (%s)", s->name, what);
        return NULL;
    }
    if (bytes < old)
        unreserve(s, old - bytes);
    return q;
}

static void tfree(sl__state_store *s, void *p, size_t bytes) {
    if (p) {
        free(p);
        unreserve(s, bytes);
    }
}

/* ---- values in the arena ---------------------------------------------------------- */

/* Whether v points at memory a copy must take along (bytes, list and object
 * items). */
static inline bool has_payload(const sl_value *v) {
    return v->type == SL_BYTES || v->type == SL_LIST || v->type == SL_OBJECT;
}

/* Payload bytes of v outside its sl_value (bytes, list items), unpadded. */
static size_t payload_size(const sl_value *v) {
    if (v->type == SL_BYTES)
        return v->len;
    size_t items = sl_value_items(v); /* lists and objects */
    size_t n = items * sizeof(sl_value);
    for (size_t i = 0; i < items; i++)
        n += payload_size(&v->u.items[i]);
    return n;
}

/* Arena bytes a copy of v may take: its payload plus alignment of arrays. */
static size_t payload_bound(const sl_value *v) {
    if (v->type == SL_BYTES)
        return v->len;
    size_t items = sl_value_items(v);
    if (items == 0)
        return 0;
    size_t n = 7 + items * sizeof(sl_value);
    for (size_t i = 0; i < items; i++)
        n += payload_bound(&v->u.items[i]);
    return n;
}

/* Make room for `need` contiguous bytes in partition pi's current block,
 * starting a new block when it is short. 0, SL_ELIMIT or SL_ENOMEM. */
static int arena_reserve(sl__state_store *s, int pi, size_t need, sl_error *err) {
    part *p = &s->parts[pi];
    if (!need || (p->arena && p->arena->cap - p->arena->used >= need))
        return 0;
    /* blocks grow with the arena (a quarter of its live bytes), so slack
     * stays small both for a few keys and for millions */
    size_t cap = p->arena_live / 4;
    cap = cap < BLOCK_MIN ? BLOCK_MIN : cap > BLOCK_MAX ? BLOCK_MAX : cap;
    if (cap < need)
        cap = need;
    ablock *b = tmalloc(s, sizeof *b + cap, false, pi, "its key and value bytes", err);
    if (!b)
        return err ? err->code : SL_ENOMEM;
    b->cap = cap;
    b->used = 0;
    b->next = p->arena;
    p->arena = b;
    return 0;
}

/* Copy v's payload into block b (room reserved by the caller) and write
 * the copy to *out; out may alias v. */
static void copy_payload(ablock *b, const sl_value *v, sl_value *out) {
    sl_value c = *v;
    if (c.type == SL_BYTES) {
        if (c.len) {
            char *dst = b->data + b->used;
            memcpy(dst, c.u.s, c.len);
            b->used += c.len;
            c.u.s = dst;
        } else {
            c.u.s = empty_bytes;
        }
    } else if (c.type == SL_LIST || c.type == SL_OBJECT) {
        size_t n = sl_value_items(&c);
        if (n) {
            b->used = (b->used + 7) & ~(size_t)7;
            sl_value *items = (sl_value *)(void *)(b->data + b->used);
            b->used += n * sizeof *items;
            for (size_t i = 0; i < n; i++)
                copy_payload(b, &c.u.items[i], &items[i]);
            c.u.items = items;
        } else {
            c.u.items = NULL;
        }
    }
    *out = c;
}

/* Copy v into partition p's current block (reserved), counting the bytes. */
static void arena_copy(part *p, const sl_value *v, sl_value *out) {
    if (!has_payload(v)) {
        *out = *v;
        return;
    }
    size_t before = p->arena ? p->arena->used : 0;
    copy_payload(p->arena, v, out);
    p->arena_used += p->arena ? p->arena->used - before : 0;
    p->arena_live += payload_size(out);
}

static void free_blocks(sl__state_store *s, ablock *b) {
    while (b) {
        ablock *next = b->next;
        tfree(s, b, sizeof *b + b->cap);
        b = next;
    }
}

/* ---- entries ------------------------------------------------------------------------ */

/* A chunk of entries; with timestamps, the times follow the entries in the
 * same allocation (one allocation: growing it fails or succeeds as a whole). */
typedef struct chunk {
    entry *e;
    int64_t *t;
} chunk;

static inline entry *ent(const part *p, size_t i) {
    return &p->chunks[i >> CHUNK_SHIFT].e[i & (CHUNK - 1)];
}

static inline int64_t *tim(const part *p, size_t i) {
    return &p->chunks[i >> CHUNK_SHIFT].t[i & (CHUNK - 1)];
}

/* Bytes of a chunk of `cap` entries. */
static size_t chunk_bytes(const sl__state_store *s, size_t cap) {
    return cap * (sizeof(entry) + (s->timestamps ? sizeof(int64_t) : 0));
}

/* Entries every chunk of p holds (chunk 0 is full once there are more). */
static size_t chunk_cap(const part *p) {
    return p->nchunks == 1 ? p->cap : CHUNK;
}

/* Double chunk 0 (the only chunk) of partition pi. */
static int grow_chunk0(sl__state_store *s, int pi, sl_error *err) {
    part *p = &s->parts[pi];
    size_t cap = p->cap * 2;
    char *m = trealloc(s, p->chunks[0].e, chunk_bytes(s, p->cap), chunk_bytes(s, cap), pi,
                       "its entries", err);
    if (!m)
        return err ? err->code : SL_ENOMEM;
    p->chunks[0].e = (entry *)(void *)m;
    if (s->timestamps) {
        /* the times move up behind the larger entry array */
        int64_t *t = (int64_t *)(void *)(m + cap * sizeof(entry));
        memmove(t, m + p->cap * sizeof(entry), p->cap * sizeof *t);
        p->chunks[0].t = t;
    }
    p->cap = cap;
    return 0;
}

/* Make room for entry n: double chunk 0 up to a full chunk, then add full
 * chunks. 0, SL_ELIMIT or SL_ENOMEM (nothing changed). */
static int ensure_entry(sl__state_store *s, int pi, sl_error *err) {
    part *p = &s->parts[pi];
    if (p->n < p->cap)
        return 0;
    if (p->nchunks == 1 && p->cap < CHUNK)
        return grow_chunk0(s, pi, err);
    if (p->nchunks == p->chunk_ptrs) {
        size_t n = p->chunk_ptrs ? p->chunk_ptrs * 2 : 4;
        chunk *c = trealloc(s, p->chunks, p->chunk_ptrs * sizeof *c, n * sizeof *c, pi,
                            "its entry table", err);
        if (!c)
            return err ? err->code : SL_ENOMEM;
        p->chunks = c;
        p->chunk_ptrs = n;
    }
    size_t cap = p->nchunks ? CHUNK : CHUNK0_MIN;
    char *m = tmalloc(s, chunk_bytes(s, cap), false, pi, "its entries", err);
    if (!m)
        return err ? err->code : SL_ENOMEM;
    chunk *c = &p->chunks[p->nchunks++];
    c->e = (entry *)(void *)m;
    c->t = s->timestamps ? (int64_t *)(void *)(m + cap * sizeof(entry)) : NULL;
    p->cap += cap;
    return 0;
}

/* ---- the index ------------------------------------------------------------------------ */

#define SLOT(tag, idx) ((uint64_t)(tag) << 32 | (uint64_t)((idx) + 1))
#define SLOT_TAG(v) ((uint32_t)((v) >> 32))
#define SLOT_IDX(v) ((size_t)(uint32_t)(v)-1)

static inline bool key_eq(const sl_value *stored, const sl_value *key) {
    if (key->type == SL_BYTES && stored->type == SL_BYTES)
        return stored->len == key->len && sl__bytes_eq(stored->u.s, key->u.s, key->len);
    if (key->type == SL_INT && stored->type == SL_INT)
        return stored->u.i == key->u.i;
    return sl__value_equal(stored, key);
}

/* Find key (hash h): returns its slot and sets *idx to its entry, or returns
 * the empty slot that ends its probe and sets *idx to SIZE_MAX. The index
 * must exist. */
static size_t probe(const part *p, uint64_t h, const sl_value *key, size_t *idx) {
    uint32_t tag = (uint32_t)h;
    size_t j = tag & p->mask;
    for (;;) {
        uint64_t v = p->slots[j];
        if (!v) {
            *idx = SIZE_MAX;
            return j;
        }
        if (SLOT_TAG(v) == tag && key_eq(&ent(p, SLOT_IDX(v))->key, key)) {
            *idx = SLOT_IDX(v);
            return j;
        }
        j = (j + 1) & p->mask;
    }
}

/* Put every nonzero slot of `from` into the zeroed `to` (mask `mask`). */
static void reinsert(const uint64_t *from, size_t nfrom, uint64_t *to, size_t mask) {
    for (size_t i = 0; i < nfrom; i++) {
        uint64_t v = from[i];
        if (!v)
            continue;
        size_t j = SLOT_TAG(v) & mask;
        while (to[j])
            j = (j + 1) & mask;
        to[j] = v;
    }
}

/* Rebuild partition pi's index with `slots` slots (a power of two). */
static int resize_index(sl__state_store *s, int pi, size_t slots, sl_error *err) {
    part *p = &s->parts[pi];
    uint64_t *t = tmalloc(s, slots * sizeof *t, true, pi, "its index", err);
    if (!t)
        return err ? err->code : SL_ENOMEM;
    if (p->slots) {
        reinsert(p->slots, p->mask + 1, t, slots - 1);
        tfree(s, p->slots, (p->mask + 1) * sizeof *p->slots);
    }
    p->slots = t;
    p->mask = slots - 1;
    return 0;
}

/* Make the index ready for one more key (load <= 0.8). */
static int ensure_index(sl__state_store *s, int pi, sl_error *err) {
    part *p = &s->parts[pi];
    if (!p->slots)
        return resize_index(s, pi, INDEX_MIN, err);
    size_t slots = p->mask + 1;
    if ((p->n + 1) * 5 <= slots * 4)
        return 0;
    if (slots >= INDEX_MAX)
        return sl__error_set(err, SL_ELIMIT,
                             "state of stream '%s': partition %d holds the most keys one "
                             "partition can (%zu); use more partitions",
                             s->name, pi, p->n);
    return resize_index(s, pi, slots * 2, err);
}

/* Empty slot j, shifting later slots of its cluster back so that every
 * key stays reachable from its home slot (no tombstones). */
static void delete_slot(part *p, size_t j) {
    size_t i = j;
    for (;;) {
        j = (j + 1) & p->mask;
        uint64_t v = p->slots[j];
        if (!v)
            break;
        size_t home = SLOT_TAG(v) & p->mask;
        /* the key at j may move to i unless its home lies in (i, j] */
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        p->slots[i] = v;
        i = j;
    }
    p->slots[i] = 0;
}

/* The slot that points at entry idx. The store recomputes the key's hash;
 * should the caller have hashed differently, a full scan still finds it. */
static size_t slot_of(const part *p, size_t idx) {
    uint32_t tag = (uint32_t)sl__value_hash(&ent(p, idx)->key);
    size_t j = tag & p->mask;
    for (size_t k = 0; k <= p->mask; k++, j = (j + 1) & p->mask) {
        if (!p->slots[j])
            break;
        if ((uint32_t)p->slots[j] == (uint32_t)(idx + 1))
            return j;
    }
    for (j = 0; (uint32_t)p->slots[j] != (uint32_t)(idx + 1); j++)
        ;
    return j;
}

/* ---- compaction and trimming ------------------------------------------------------------ */

/* Copy every live payload of partition pi into one fresh block and free the
 * old blocks. Best effort: without memory for the copy, nothing happens. */
static void compact(sl__state_store *s, int pi) {
    part *p = &s->parts[pi];
    size_t bound = 0;
    for (size_t i = 0; i < p->n; i++) {
        const entry *e = ent(p, i);
        bound += payload_bound(&e->key) + payload_bound(&e->value);
    }
    ablock *b = NULL;
    if (bound) {
        b = tmalloc(s, sizeof *b + bound, false, pi, "compaction", NULL);
        if (!b)
            return;
        b->cap = bound;
        b->used = 0;
        b->next = NULL;
    }
    for (size_t i = 0; i < p->n; i++) {
        entry *e = ent(p, i);
        copy_payload(b, &e->key, &e->key);
        copy_payload(b, &e->value, &e->value);
    }
    free_blocks(s, p->arena);
    p->arena = b;
    p->arena_used = b ? b->used : 0;
}

/* Compact partition pi when its garbage outgrows its live bytes (and is
 * worth a pass over its entries: at least 8 bytes an entry, so that a few
 * replaced values among millions of int keys do not trigger a pass each).
 * Only call once no pointer into the old arena is needed any more. */
static void maybe_compact(sl__state_store *s, int pi) {
    part *p = &s->parts[pi];
    size_t garbage = p->arena_used - p->arena_live;
    if (garbage >= COMPACT_MIN && garbage > p->arena_live && garbage > p->n * 8)
        compact(s, pi);
}

/* After removals: free the last chunk while two chunks are unused (one is
 * kept for inserts to come), and shrink an index that is under 10% full to
 * at most 40% full. */
static void trim(sl__state_store *s, int pi) {
    part *p = &s->parts[pi];
    while (p->nchunks >= 3 && p->n <= (p->nchunks - 2) * CHUNK) {
        size_t last = --p->nchunks;
        tfree(s, p->chunks[last].e, chunk_bytes(s, CHUNK));
        p->cap -= CHUNK;
    }
    size_t slots = p->mask + 1;
    if (p->slots && slots > INDEX_MIN && p->n * 10 < slots) {
        size_t want = INDEX_MIN;
        while (want * 2 < p->n * 5)
            want *= 2;
        resize_index(s, pi, want, NULL); /* best effort */
    }
    maybe_compact(s, pi);
}

/* ---- operations on one partition ----------------------------------------------------------- */

/* Add (key, value, t) as a new entry; the key is known to be absent and
 * `miss` is the empty slot its probe ended on (SIZE_MAX: not probed). */
static int insert(sl__state_store *s, int pi, uint64_t h, const sl_value *key,
                  const sl_value *value, int64_t t, size_t miss, sl_error *err) {
    part *p = &s->parts[pi];
    /* the caller's values may point into our entries, which may move */
    sl_value k = *key, v = *value;
    if (p->n >= (size_t)UINT32_MAX - 1)
        return sl__error_set(err, SL_ELIMIT, "state of stream '%s': partition %d is full", s->name,
                             pi);
    const uint64_t *slots = p->slots;
    int rc = ensure_index(s, pi, err);
    if (!rc)
        rc = ensure_entry(s, pi, err);
    if (!rc)
        rc = arena_reserve(s, pi, payload_bound(&k) + payload_bound(&v), err);
    if (rc)
        return rc;
    size_t idx = p->n, j;
    if (miss == SIZE_MAX || p->slots != slots)
        miss = probe(p, h, &k, &j);
    entry *e = ent(p, idx);
    arena_copy(p, &k, &e->key);
    arena_copy(p, &v, &e->value);
    if (s->timestamps)
        *tim(p, idx) = t;
    p->slots[miss] = SLOT((uint32_t)h, idx);
    p->n++;
    return 0;
}

/* Replace entry idx's value with a copy of *v (old payload becomes garbage). */
static int replace(sl__state_store *s, int pi, size_t idx, const sl_value *v, sl_error *err) {
    part *p = &s->parts[pi];
    entry *e = ent(p, idx);
    if (!has_payload(&e->value) && !has_payload(v)) {
        e->value = *v;
        return 0;
    }
    sl_value nv = *v;
    int rc = arena_reserve(s, pi, payload_bound(&nv), err);
    if (rc)
        return rc;
    size_t old = payload_size(&e->value);
    arena_copy(p, &nv, &e->value);
    p->arena_live -= old;
    return 0;
}

/* Remove entry idx, whose index slot is j: the last entry moves into its
 * place. */
static void remove_at(part *p, size_t j, size_t idx, bool timestamps) {
    entry *e = ent(p, idx);
    delete_slot(p, j);
    p->arena_live -= payload_size(&e->key) + payload_size(&e->value);
    size_t last = p->n - 1;
    if (idx != last) {
        size_t k = slot_of(p, last);
        p->slots[k] = SLOT(SLOT_TAG(p->slots[k]), idx);
        *e = *ent(p, last);
        if (timestamps)
            *tim(p, idx) = *tim(p, last);
    }
    p->n--;
}

/* ---- the API ------------------------------------------------------------------------------ */

int sl__state_new(const char *name, int partitions, size_t memory_limit, bool timestamps,
                  sl__state_store **out, sl_error *err) {
    *out = NULL;
    if (!name)
        name = "?";
    if (partitions < 1 || partitions > 65536)
        return sl__error_set(err, SL_EINVAL,
                             "state of stream '%s': partitions must be 1 to 65536 (got %d)", name,
                             partitions);
    size_t base = sizeof(sl__state_store) + strlen(name) + 1 + (size_t)partitions * sizeof(part);
    if (memory_limit && memory_limit < base) {
        char lim[32], need[32];
        return sl__error_set(err, SL_ELIMIT,
                             "state of stream '%s': a memory limit of %s cannot hold even "
                             "the empty store (%s with %d partitions)",
                             name, fmt_size(memory_limit, lim, sizeof lim),
                             fmt_size(base, need, sizeof need), partitions);
    }
    sl__state_store *s = calloc(1, sizeof *s);
    char *copy = s ? strdup(name) : NULL;
    part *parts = copy ? aligned_alloc(_Alignof(part), (size_t)partitions * sizeof(part)) : NULL;
    if (!parts) {
        free(copy);
        free(s);
        return sl__error_set(err, SL_ENOMEM, "state of stream '%s': out of memory", name);
    }
    memset(parts, 0, (size_t)partitions * sizeof(part));
    s->name = copy;
    s->nparts = partitions;
    s->timestamps = timestamps;
    s->limit = memory_limit;
    s->parts = parts;
    atomic_init(&s->mem, base);
    *out = s;
    return 0;
}

/* Free everything partition pi holds and make it empty. */
static void part_clear(sl__state_store *s, int pi) {
    part *p = &s->parts[pi];
    for (size_t c = 0; c < p->nchunks; c++)
        tfree(s, p->chunks[c].e, chunk_bytes(s, chunk_cap(p)));
    tfree(s, p->chunks, p->chunk_ptrs * sizeof *p->chunks);
    if (p->slots)
        tfree(s, p->slots, (p->mask + 1) * sizeof *p->slots);
    free_blocks(s, p->arena);
    memset(p, 0, sizeof *p);
}

void sl__state_clear(sl__state_store *s) {
    for (int i = 0; i < s->nparts; i++)
        part_clear(s, i);
}

void sl__state_free(sl__state_store *s) {
    if (!s)
        return;
    sl__state_clear(s);
    free(s->parts);
    free(s->name);
    free(s);
}

int sl__state_partitions(const sl__state_store *s) {
    return s->nparts;
}

int sl__state_partition_of(const sl__state_store *s, uint64_t hash) {
    return s->nparts == 1 ? 0 : (int)((uint32_t)(hash >> 40) % (uint32_t)s->nparts);
}

const sl_value *sl__state_get(sl__state_store *s, uint64_t hash, const sl_value *key,
                              int64_t *last_update) {
    const part *p = &s->parts[sl__state_partition_of(s, hash)];
    size_t idx = SIZE_MAX;
    if (p->n)
        probe(p, hash, key, &idx);
    if (idx == SIZE_MAX)
        return NULL;
    if (last_update)
        *last_update = s->timestamps ? *tim(p, idx) : 0;
    return &ent(p, idx)->value;
}

int sl__state_put(sl__state_store *s, uint64_t hash, const sl_value *key, const sl_value *value,
                  int64_t now, sl_error *err) {
    sl_error own;
    if (!err)
        err = &own; /* internal failures read err->code */
    int pi = sl__state_partition_of(s, hash);
    part *p = &s->parts[pi];
    size_t idx = SIZE_MAX, j = SIZE_MAX;
    if (p->n)
        j = probe(p, hash, key, &idx);
    int rc;
    if (idx == SIZE_MAX) {
        rc = insert(s, pi, hash, key, value, now, j, err);
    } else {
        rc = replace(s, pi, idx, value, err);
        if (!rc && s->timestamps)
            *tim(p, idx) = now;
    }
    if (!rc)
        maybe_compact(s, pi);
    return rc;
}

int sl__state_remove(sl__state_store *s, uint64_t hash, const sl_value *key) {
    int pi = sl__state_partition_of(s, hash);
    part *p = &s->parts[pi];
    size_t idx = SIZE_MAX, j = 0;
    if (p->n)
        j = probe(p, hash, key, &idx);
    if (idx == SIZE_MAX)
        return SL_ENOTFOUND;
    remove_at(p, j, idx, s->timestamps);
    trim(s, pi);
    return 0;
}

/* Bit-for-bit equality of two values (unchanged by a callback). */
static inline bool same_bits(const sl_value *a, const sl_value *b) {
    uint64_t x[2], y[2];
    memcpy(x, a, sizeof x);
    memcpy(y, b, sizeof y);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

/* Apply what a callback asked of entry i (at e; its index slot j, or
 * SIZE_MAX when not known). */
static int apply(sl__state_store *s, int pi, size_t j, size_t i, entry *e, const sl__state_item *it,
                 sl_error *err) {
    part *p = &s->parts[pi];
    if (it->remove) {
        remove_at(p, j == SIZE_MAX ? slot_of(p, i) : j, i, s->timestamps);
        return 0;
    }
    if (!same_bits(&it->value, &e->value)) {
        if (!has_payload(&it->value) && !has_payload(&e->value)) {
            e->value = it->value; /* the common case: a number replaced in place */
        } else {
            int rc = replace(s, pi, i, &it->value, err);
            if (rc)
                return rc;
            maybe_compact(s, pi);
        }
    }
    if (s->timestamps)
        *tim(p, i) = it->last_update;
    return 0;
}

int sl__state_upsert(sl__state_store *s, uint64_t hash, const sl_value *key, sl__state_update_fn fn,
                     void *ud, sl_error *err) {
    sl_error own;
    if (!err)
        err = &own; /* internal failures read err->code */
    int pi = sl__state_partition_of(s, hash);
    part *p = &s->parts[pi];
    size_t idx = SIZE_MAX, j = SIZE_MAX;
    if (p->n)
        j = probe(p, hash, key, &idx);
    sl__state_item it;
    memset(&it, 0, sizeof it);
    it.exists = idx != SIZE_MAX;
    it.key = it.exists ? &ent(p, idx)->key : key;
    it.value = it.exists ? ent(p, idx)->value : sl_null();
    it.last_update = it.exists && s->timestamps ? *tim(p, idx) : 0;
    int rc = fn(ud, &it);
    if (rc)
        return rc;
    if (it.exists)
        rc = apply(s, pi, j, idx, ent(p, idx), &it, err);
    else if (!it.remove)
        rc = insert(s, pi, hash, key, &it.value, it.last_update, j, err);
    if (!rc)
        trim(s, pi);
    return rc;
}

int sl__state_update_each(sl__state_store *s, int part_no, sl__state_update_fn fn, void *ud,
                          sl_error *err) {
    sl_error own;
    if (!err)
        err = &own; /* internal failures read err->code */
    if (part_no < 0 || part_no >= s->nparts)
        return sl__error_set(err, SL_EINVAL, "state of stream '%s': no partition %d", s->name,
                             part_no);
    part *p = &s->parts[part_no];
    int rc = 0;
    /* Downwards, chunk by chunk: a removal moves the last entry, already
     * visited, into the gap, so every entry is seen exactly once. Chunks are
     * not freed before the pass ends. */
    for (size_t c = p->nchunks; c-- > 0 && !rc;) {
        size_t lo = c << CHUNK_SHIFT;
        if (lo >= p->n)
            continue;
        entry *base = p->chunks[c].e;
        const int64_t *times = p->chunks[c].t;
        for (size_t k = p->n - lo < CHUNK ? p->n - lo : CHUNK; k-- > 0;) {
            entry *e = &base[k];
            sl__state_item it;
            it.key = &e->key;
            it.value = e->value;
            it.last_update = times ? times[k] : 0;
            it.exists = true;
            it.remove = false;
            if ((rc = fn(ud, &it)) != 0)
                break;
            if (!it.remove && same_bits(&it.value, &e->value) &&
                (!times || it.last_update == times[k]))
                continue;
            if ((rc = apply(s, part_no, SIZE_MAX, lo + k, e, &it, err)) != 0)
                break;
        }
    }
    trim(s, part_no);
    return rc;
}

int sl__state_foreach(sl__state_store *s, int part_no, sl__state_visit_fn fn, void *ud) {
    if (part_no < 0 || part_no >= s->nparts)
        return SL_EINVAL;
    const part *p = &s->parts[part_no];
    for (size_t c = 0, i = 0; i < p->n; c++) {
        const entry *e = p->chunks[c].e;
        const int64_t *t = p->chunks[c].t;
        size_t end = p->n - i < CHUNK ? p->n - i : CHUNK;
        for (size_t k = 0; k < end; k++) {
            int rc = fn(ud, &e[k].key, &e[k].value, t ? t[k] : 0);
            if (rc)
                return rc;
        }
        i += end;
    }
    return 0;
}

/* ---- snapshots ---------------------------------------------------------------------- */

#define SNAP_FORMAT 1
#define SNAP_TIMES 0x1u

int sl__state_snapshot(sl__state_store *s, int part_no, sl__buf *b, sl_error *err) {
    if (part_no < 0 || part_no >= s->nparts)
        return sl__error_set(err, SL_EINVAL, "state of stream '%s': no partition %d", s->name,
                             part_no);
    const part *p = &s->parts[part_no];
    int rc = sl__buf_put_u8(b, SNAP_FORMAT);
    if (!rc)
        rc = sl__buf_put_u8(b, s->timestamps ? SNAP_TIMES : 0);
    if (!rc)
        rc = sl__buf_put_varint(b, p->n);
    for (size_t i = 0; i < p->n && !rc; i++) {
        const entry *e = ent(p, i);
        rc = sl__value_encode(b, &e->key);
        if (!rc)
            rc = sl__value_encode(b, &e->value);
        if (!rc && s->timestamps)
            rc = sl__buf_put_svarint(b, *tim(p, i));
    }
    if (rc)
        return sl__error_set(err, rc, "state of stream '%s': cannot snapshot partition %d (%s)",
                             s->name, part_no,
                             rc == SL_ENOMEM ? "out of memory" : "a value cannot be encoded");
    return 0;
}

/* Decode one (key, value, time) of a snapshot into scratch memory. */
static int restore_one(sl__reader *r, bool times, sl_mem *mem, sl_value *k, sl_value *v,
                       int64_t *t) {
    int rc = sl__value_decode(r, k, mem);
    if (!rc)
        rc = sl__value_decode(r, v, mem);
    if (!rc && times)
        rc = sl__read_svarint(r, t);
    return rc;
}

int sl__state_restore(sl__state_store *s, sl__reader *r, int64_t now, sl_error *err) {
    sl_error own;
    if (!err)
        err = &own; /* internal failures read err->code */
    uint8_t format = 0, flags = 0;
    uint64_t n = 0;
    size_t start = r->off;
    if (sl__read_u8(r, &format) || sl__read_u8(r, &flags) || sl__read_varint(r, &n))
        return sl__error_set(err, SL_EINVAL, "state of stream '%s': snapshot truncated at byte %zu",
                             s->name, r->off);
    if (format != SNAP_FORMAT || (flags & ~SNAP_TIMES))
        return sl__error_set(err, SL_EINVAL,
                             "state of stream '%s': snapshot at byte %zu has format %u flags "
                             "%#x; this engine reads format %d",
                             s->name, start, format, flags, SNAP_FORMAT);
    sl__arena scratch;
    sl_mem mem;
    sl__arena_init(&scratch, 64 * 1024);
    sl__arena_mem(&scratch, &mem);
    int rc = 0;
    for (uint64_t i = 0; i < n && !rc; i++) {
        sl_value k, v;
        int64_t t = now;
        size_t at = r->off;
        if ((rc = restore_one(r, flags & SNAP_TIMES, &mem, &k, &v, &t)) != 0) {
            rc = sl__error_set(err, rc,
                               rc == SL_ENOMEM ? "state of stream '%s': out of memory restoring "
                                                 "entry %llu (byte %zu)"
                                               : "state of stream '%s': snapshot damaged at "
                                                 "entry %llu (byte %zu)",
                               s->name, (unsigned long long)i, at);
            break;
        }
        rc = sl__state_put(s, sl__value_hash(&k), &k, &v, t, err);
        if ((i & 4095) == 4095)
            sl__arena_reset(&scratch);
    }
    sl__arena_free(&scratch);
    return rc;
}

/* ---- sizes -------------------------------------------------------------------------- */

size_t sl__state_count(const sl__state_store *s) {
    size_t n = 0;
    for (int i = 0; i < s->nparts; i++)
        n += s->parts[i].n;
    return n;
}

size_t sl__state_partition_count(const sl__state_store *s, int part_no) {
    return part_no >= 0 && part_no < s->nparts ? s->parts[part_no].n : 0;
}

size_t sl__state_memory(const sl__state_store *s) {
    return atomic_load_explicit(&((sl__state_store *)s)->mem, memory_order_relaxed);
}

size_t sl__state_garbage(const sl__state_store *s) {
    size_t g = 0;
    for (int i = 0; i < s->nparts; i++)
        g += s->parts[i].arena_used - s->parts[i].arena_live;
    return g;
}

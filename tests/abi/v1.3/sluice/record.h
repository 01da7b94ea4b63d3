/*
 * sluice/record.h — values, records, chunks and emitters.
 *
 * This header is part of the stable plugin ABI (see plugin.h). Every struct
 * here has its layout checked with static_assert; a change to any of them is
 * a new ABI major.
 *
 * Ownership in one paragraph: bytes are *slices* (pointer + length) into
 * memory that somebody else owns — a receiver block, an arena of the batch,
 * a hash table's arena. A function that receives a record may read it for the
 * duration of the call and may emit records that point into the same bytes
 * (zero copy): the engine keeps every arena of a batch alive until the batch
 * is complete. Bytes a function creates must come from sl_alloc() on the
 * emitter's sl_mem, never from malloc, so they live exactly as long as the
 * records that point at them.
 */
#ifndef SLUICE_RECORD_H
#define SLUICE_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The JSON-shaped value model. Tuples are lists: a join yields [v, w]. */
typedef enum sl_type {
    SL_NULL = 0,
    SL_INT = 1,    /* int64 */
    SL_DOUBLE = 2, /* IEEE double */
    SL_BYTES = 3,  /* a string: any bytes, not NUL-terminated */
    SL_LIST = 4    /* a tuple / list of values */
} sl_type;

/* A value: 16 bytes. `len` is the byte length of SL_BYTES and the item count
 * of SL_LIST; it is 0 for the other types. */
typedef struct sl_value {
    uint32_t type; /* sl_type */
    uint32_t len;
    union {
        int64_t i;
        double d;
        const char *s;
        const struct sl_value *items;
    } u;
} sl_value;

/* A record: an element of a DStream. `key` is SL_NULL for plain elements and
 * set for pairs (k, v). A pair whose key is null (Python's (None, v)) has
 * key.type == SL_NULL and key.len == 1: use sl_record_is_pair() and
 * sl_null_key() rather than testing the type. `ts` is the time the record
 * entered the engine, in milliseconds since the epoch (0 when unknown). */
typedef struct sl_record {
    sl_value key;
    sl_value value;
    int64_t ts;
} sl_record;

/* Flags of a chunk. */
#define SL_CHUNK_WHOLE_BATCH 0x1u /* the chunk is the whole batch (transform) */

/* A run of records handed to a function or a sink. At most ~4096 records,
 * except for `transform`, which sees the whole batch at once. The records and
 * everything they point to are owned by the engine and valid for the call. */
typedef struct sl_chunk {
    const sl_record *records;
    size_t count;
    int64_t batch_time; /* ms since the epoch; a multiple of the interval */
    uint32_t partition; /* partition index within the batch */
    uint32_t flags;     /* SL_CHUNK_* */
} sl_chunk;

/* An allocator whose memory lives as long as the batch (or, for a state
 * store, as long as the entry): use it for bytes you emit. Never free it. */
typedef struct sl_mem {
    void *(*alloc)(struct sl_mem *mem, size_t size); /* 16-byte aligned; NULL on OOM */
    void *host_data;
} sl_mem;

/* Where a function writes its output. The host owns it. `buf` has room for
 * `capacity` records; when it is full, sl_emit() calls `flush`, which hands
 * the records downstream (possibly running the rest of the pipeline on them)
 * and resets `count`. */
typedef struct sl_emitter {
    sl_record *buf;
    uint32_t count;
    uint32_t capacity;
    int (*flush)(struct sl_emitter *em); /* 0 or a negative SL_E* code */
    sl_mem *mem;                         /* memory for emitted bytes */
    void *host_data;
} sl_emitter;

/* ---- constructors ---------------------------------------------------------- */

static inline sl_value sl_null(void) {
    sl_value v;
    memset(&v, 0, sizeof v);
    return v;
}

static inline sl_value sl_int(int64_t i) {
    sl_value v = sl_null();
    v.type = SL_INT;
    v.u.i = i;
    return v;
}

static inline sl_value sl_double(double d) {
    sl_value v = sl_null();
    v.type = SL_DOUBLE;
    v.u.d = d;
    return v;
}

/* The key of a pair whose key is null: (None, v). */
static inline sl_value sl_null_key(void) {
    sl_value v = sl_null();
    v.len = 1;
    return v;
}

/* A key that makes a record a pair: `k` itself, or sl_null_key() for null. */
static inline sl_value sl_key(sl_value k) {
    return k.type == SL_NULL ? sl_null_key() : k;
}

/* A bytes value pointing at `len` bytes at `p` (not copied). */
static inline sl_value sl_bytes(const void *p, size_t len) {
    sl_value v = sl_null();
    v.type = SL_BYTES;
    v.len = (uint32_t)len;
    v.u.s = (const char *)p;
    return v;
}

/* A bytes value for a NUL-terminated string (not copied). */
static inline sl_value sl_cstr(const char *s) {
    return sl_bytes(s, strlen(s));
}

/* A list value over `n` items at `items` (not copied). */
static inline sl_value sl_list(const sl_value *items, size_t n) {
    sl_value v = sl_null();
    v.type = SL_LIST;
    v.len = (uint32_t)n;
    v.u.items = items;
    return v;
}

/* Allocate `size` bytes that live as long as the batch. */
static inline void *sl_alloc(sl_mem *mem, size_t size) {
    return mem->alloc(mem, size);
}

/* Copy `len` bytes into batch memory; return a value pointing at the copy, or
 * an SL_NULL value if memory is exhausted. */
static inline sl_value sl_bytes_copy(sl_mem *mem, const void *p, size_t len) {
    char *dst = (char *)mem->alloc(mem, len ? len : 1);
    if (!dst)
        return sl_null();
    if (len)
        memcpy(dst, p, len);
    return sl_bytes(dst, len);
}

/* ---- emitting ---------------------------------------------------------------- */

/* Emit one record (copied into the emitter's buffer; the bytes it points to
 * are not copied). Returns 0 or a negative SL_E* code, which the caller must
 * return from its callback. */
static inline int sl_emit(sl_emitter *em, const sl_record *rec) {
    if (em->count == em->capacity) {
        int rc = em->flush(em);
        if (rc < 0)
            return rc;
    }
    em->buf[em->count++] = *rec;
    return 0;
}

/* The emitter's next record slot, to be filled in place: the same as
 * sl_emit() without building the record elsewhere first (in a hot loop, a
 * record assembled field by field and then copied whole can stall the copy).
 * Flushes first when the buffer is full; NULL if that failed, with the code
 * in *rc (return it from the callback). The slot counts as emitted: fill
 * every field. */
static inline sl_record *sl_emit_slot(sl_emitter *em, int *rc) {
    *rc = 0;
    if (em->count == em->capacity && (*rc = em->flush(em)) < 0)
        return NULL;
    return &em->buf[em->count++];
}

/* Emit (key, value) with the given timestamp. */
static inline int sl_emit_kv(sl_emitter *em, sl_value key, sl_value value, int64_t ts) {
    sl_record r;
    r.key = key;
    r.value = value;
    r.ts = ts;
    return sl_emit(em, &r);
}

/* Nonzero if the record is a pair (k, v), zero if it is a plain element. */
static inline int sl_record_is_pair(const sl_record *r) {
    return r->key.type != SL_NULL || r->key.len != 0;
}

/* ---- comparisons ---------------------------------------------------------- */

/* Byte-wise equality of two bytes slices. */
static inline int sl_bytes_eq(const sl_value *a, const sl_value *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->u.s, b->u.s, a->len) == 0);
}

#ifdef __cplusplus
}
#endif

#endif /* SLUICE_RECORD_H */

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

/* The JSON-shaped value model. Tuples are lists: a join yields [v, w].
 * Append only: a type's number never changes (SL_OBJECT is ABI 1.4; a plugin
 * built against an older SDK sees it as a type it does not know). */
typedef enum sl_type {
    SL_NULL = 0,
    SL_INT = 1,    /* int64 */
    SL_DOUBLE = 2, /* IEEE double */
    SL_BYTES = 3,  /* a string: any bytes, not NUL-terminated */
    SL_LIST = 4,   /* a tuple / list of values */
    SL_OBJECT = 5  /* 1.4: named values in document order (a JSON object) */
} sl_type;

/* A value: 16 bytes. `len` is the byte length of SL_BYTES, the item count of
 * SL_LIST and the field count of SL_OBJECT; it is 0 for the other types.
 * An object's `items` holds 2 * len values: name (SL_BYTES), value, name,
 * value ... in document order. Names may repeat (JSON allows it): all are
 * kept, in order, and sl_object_get() finds the last, as JavaScript's and
 * Python's JSON parsers do (docs/json.md). */
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

/* An object value over `n` fields at `fields`, which holds 2 * n values:
 * name (SL_BYTES), value, name, value ... (not copied). */
static inline sl_value sl_object(const sl_value *fields, size_t n) {
    sl_value v = sl_null();
    v.type = SL_OBJECT;
    v.len = (uint32_t)n;
    v.u.items = fields;
    return v;
}

/* The number of values `items` points at: len for a list, 2 * len for an
 * object, 0 for every other type. Code that walks nested values (copies,
 * hashes, encoders) walks this many. */
static inline size_t sl_value_items(const sl_value *v) {
    if (v->type == SL_LIST)
        return v->len;
    if (v->type == SL_OBJECT)
        return (size_t)v->len * 2;
    return 0;
}

/* The value of the field `name` (`nlen` bytes) of object `obj`, or NULL if
 * `obj` is not an object or has no such field. With duplicate names, the
 * last one wins. Points into `obj`: valid as long as it is. */
static inline const sl_value *sl_object_getn(const sl_value *obj, const char *name, size_t nlen) {
    if (obj->type != SL_OBJECT)
        return NULL;
    for (uint32_t i = obj->len; i-- > 0;) {
        const sl_value *n = &obj->u.items[2 * (size_t)i];
        if (n->type == SL_BYTES && n->len == nlen && (nlen == 0 || memcmp(n->u.s, name, nlen) == 0))
            return n + 1;
    }
    return NULL;
}

/* sl_object_getn() for a NUL-terminated name. */
static inline const sl_value *sl_object_get(const sl_value *obj, const char *name) {
    return sl_object_getn(obj, name, strlen(name));
}

/* Follow a dotted path ("user.address.city") through nested objects; a
 * segment made of digits indexes a list ("items.0.sku"). NULL when any step
 * is missing. Names that contain a dot are reached with sl_object_getn(). */
static inline const sl_value *sl_object_path(const sl_value *v, const char *path) {
    while (v) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (v->type == SL_LIST && n > 0 && n < 10 && strspn(path, "0123456789") >= n) {
            size_t idx = 0;
            for (size_t k = 0; k < n; k++)
                idx = idx * 10 + (size_t)(path[k] - '0');
            v = idx < v->len ? &v->u.items[idx] : NULL;
        } else {
            v = sl_object_getn(v, path, n);
        }
        if (!dot)
            return v;
        path = dot + 1;
    }
    return NULL;
}

/* Build an object field by field: sl_object_builder b; sl_object_begin(&b,
 * mem, capacity); sl_object_add(&b, "user", sl_cstr("ann")) ...; then
 * sl_object_end(&b) is the object. Fields (and the names' bytes, which are
 * not copied) must outlive it; the fields array comes from `mem`. Adding
 * beyond `capacity` or after a failed allocation sets b.failed, and
 * sl_object_end() then returns SL_NULL. */
typedef struct sl_object_builder {
    sl_value *fields;
    uint32_t count;
    uint32_t capacity;
    int failed;
} sl_object_builder;

static inline void sl_object_begin(sl_object_builder *b, sl_mem *mem, size_t capacity) {
    b->count = 0;
    b->capacity = (uint32_t)capacity;
    b->fields = capacity ? (sl_value *)mem->alloc(mem, 2 * capacity * sizeof(sl_value)) : NULL;
    b->failed = capacity && !b->fields;
}

static inline void sl_object_addn(sl_object_builder *b, const char *name, size_t nlen,
                                  sl_value value) {
    if (b->failed || b->count == b->capacity) {
        b->failed = 1;
        return;
    }
    b->fields[2 * (size_t)b->count] = sl_bytes(name, nlen);
    b->fields[2 * (size_t)b->count + 1] = value;
    b->count++;
}

static inline void sl_object_add(sl_object_builder *b, const char *name, sl_value value) {
    sl_object_addn(b, name, strlen(name), value);
}

static inline sl_value sl_object_end(const sl_object_builder *b) {
    return b->failed ? sl_null() : sl_object(b->fields, b->count);
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

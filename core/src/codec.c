/*
 * codec.c — the byte layer under checkpoints and snapshots: growable
 * buffers, bounds-checked readers (little-endian integers, LEB128 and zigzag
 * varints, length-prefixed bytes) and the binary value codec:
 *
 *     0 null | 5 null key (SL_NULL with len 1) | 1 int: zigzag varint |
 *     2 double: 8 bytes (IEEE bits) | 3 bytes: varint length, bytes |
 *     4 list: varint count, items (nested at most 256 deep) |
 *     6 object: varint field count, name, value, ... | 7 false | 8 true
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>

#include "codec.h"

/* ============================================================================
 * Buffers and readers
 * ========================================================================== */

/* Make room for n more bytes (doubling), leaving b unchanged on failure. */
int sl__buf_reserve(sl__buf *b, size_t n) {
    if (b->cap - b->len >= n)
        return 0;
    if (n > SIZE_MAX - b->len)
        return SL_ENOMEM;
    size_t need = b->len + n, cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d)
        return SL_ENOMEM;
    b->data = d;
    b->cap = cap;
    return 0;
}

int sl__buf_put(sl__buf *b, const void *p, size_t n) {
    if (n == 0)
        return 0;
    if (sl__buf_reserve(b, n))
        return SL_ENOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int sl__buf_put_u8(sl__buf *b, uint8_t v) {
    return sl__buf_put(b, &v, 1);
}

int sl__buf_put_u32(sl__buf *b, uint32_t v) {
    uint8_t t[4];
    sl__put_le(t, v, 4);
    return sl__buf_put(b, t, 4);
}

int sl__buf_put_u64(sl__buf *b, uint64_t v) {
    uint8_t t[8];
    sl__put_le(t, v, 8);
    return sl__buf_put(b, t, 8);
}

int sl__buf_put_i64(sl__buf *b, int64_t v) {
    return sl__buf_put_u64(b, (uint64_t)v);
}

/* Encode v as LEB128 into t (10 bytes); returns the length. */
size_t sl__varint_encode(uint8_t t[10], uint64_t v) {
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        t[n++] = (uint8_t)(byte | (v ? 0x80 : 0));
    } while (v);
    return n;
}

int sl__buf_put_varint(sl__buf *b, uint64_t v) {
    uint8_t t[10];
    return sl__buf_put(b, t, sl__varint_encode(t, v));
}

int sl__buf_put_svarint(sl__buf *b, int64_t v) {
    uint64_t u = (uint64_t)v;
    return sl__buf_put_varint(b, (u << 1) ^ (v < 0 ? UINT64_MAX : 0));
}

int sl__buf_put_bytes(sl__buf *b, const void *p, size_t n) {
    uint8_t t[10];
    size_t k = sl__varint_encode(t, n);
    if (n > SIZE_MAX - k || sl__buf_reserve(b, k + n))
        return SL_ENOMEM;
    sl__buf_put(b, t, k);
    sl__buf_put(b, p, n);
    return 0;
}

void sl__buf_reset(sl__buf *b) {
    b->len = 0;
}

int sl__buf_printf(sl__buf *b, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SL_EINVAL;
    if ((size_t)n < sizeof small)
        return sl__buf_put(b, small, (size_t)n);
    if (sl__buf_reserve(b, (size_t)n + 1))
        return SL_ENOMEM;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void sl__buf_free(sl__buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int sl__read_raw(sl__reader *r, size_t n, const uint8_t **p) {
    if (r->off > r->len || n > r->len - r->off)
        return SL_EINVAL;
    *p = r->p + r->off;
    r->off += n;
    return 0;
}

int sl__read_u8(sl__reader *r, uint8_t *v) {
    const uint8_t *p;
    if (sl__read_raw(r, 1, &p))
        return SL_EINVAL;
    *v = p[0];
    return 0;
}

int sl__read_u32(sl__reader *r, uint32_t *v) {
    const uint8_t *p;
    if (sl__read_raw(r, 4, &p))
        return SL_EINVAL;
    *v = sl__le32(p);
    return 0;
}

int sl__read_u64(sl__reader *r, uint64_t *v) {
    const uint8_t *p;
    if (sl__read_raw(r, 8, &p))
        return SL_EINVAL;
    *v = (uint64_t)sl__le32(p) | (uint64_t)sl__le32(p + 4) << 32;
    return 0;
}

int sl__read_i64(sl__reader *r, int64_t *v) {
    uint64_t u;
    if (sl__read_u64(r, &u))
        return SL_EINVAL;
    *v = (int64_t)u;
    return 0;
}

int sl__read_varint(sl__reader *r, uint64_t *v) {
    uint64_t x = 0;
    for (size_t i = 0; i < 10; i++) {
        if (r->off > r->len || i >= r->len - r->off)
            return SL_EINVAL; /* truncated */
        uint8_t byte = r->p[r->off + i];
        if (i == 9 && byte > 1)
            return SL_EINVAL; /* above UINT64_MAX, or longer than 10 bytes */
        x |= (uint64_t)(byte & 0x7f) << (7 * i);
        if (!(byte & 0x80)) {
            r->off += i + 1;
            *v = x;
            return 0;
        }
    }
    return SL_EINVAL;
}

int sl__read_svarint(sl__reader *r, int64_t *v) {
    uint64_t u;
    if (sl__read_varint(r, &u))
        return SL_EINVAL;
    *v = (int64_t)((u >> 1) ^ (0 - (u & 1)));
    return 0;
}

int sl__read_bytes(sl__reader *r, const uint8_t **p, size_t *n) {
    size_t off = r->off;
    uint64_t len;
    if (sl__read_varint(r, &len))
        return SL_EINVAL;
    if (len > sl__reader_left(r) || sl__read_raw(r, (size_t)len, p)) {
        r->off = off;
        return SL_EINVAL;
    }
    *n = (size_t)len;
    return 0;
}

/* ============================================================================
 * The value codec
 * ========================================================================== */

/* Append only: checkpoints written before a tag existed must stay readable
 * (TAG_OBJECT came with ABI 1.4, TAG_FALSE/TAG_TRUE with 1.7; older files
 * simply never contain them). A bool is its tag alone: one byte. */
enum {
    TAG_NULL = 0,
    TAG_INT = 1,
    TAG_DOUBLE = 2,
    TAG_BYTES = 3,
    TAG_LIST = 4,
    TAG_NULL_KEY = 5,
    TAG_OBJECT = 6, /* field count, then name, value, name, value ... */
    TAG_FALSE = 7,
    TAG_TRUE = 8
};

/* Encode v, whose lists sit `depth` levels deep. */
static int value_encode(sl__buf *b, const sl_value *v, int depth) {
    switch (v->type) {
    case SL_NULL:
        return sl__buf_put_u8(b, v->len ? TAG_NULL_KEY : TAG_NULL);
    case SL_INT:
        if (sl__buf_put_u8(b, TAG_INT))
            return SL_ENOMEM;
        return sl__buf_put_svarint(b, v->u.i);
    case SL_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->u.d, 8);
        if (sl__buf_put_u8(b, TAG_DOUBLE))
            return SL_ENOMEM;
        return sl__buf_put_u64(b, bits);
    }
    case SL_BYTES:
        if (sl__buf_put_u8(b, TAG_BYTES))
            return SL_ENOMEM;
        return sl__buf_put_bytes(b, v->u.s, v->len);
    case SL_BOOL:
        return sl__buf_put_u8(b, v->u.i ? TAG_TRUE : TAG_FALSE);
    case SL_LIST:
    case SL_OBJECT:
        if (depth >= SL__CODEC_MAX_DEPTH)
            return SL_ELIMIT;
        if (sl__buf_put_u8(b, v->type == SL_LIST ? TAG_LIST : TAG_OBJECT) ||
            sl__buf_put_varint(b, v->len))
            return SL_ENOMEM;
        for (size_t i = 0; i < sl_value_items(v); i++) {
            int rc = value_encode(b, &v->u.items[i], depth + 1);
            if (rc)
                return rc;
        }
        return 0;
    default:
        return SL_ETYPE;
    }
}

int sl__value_encode(sl__buf *b, const sl_value *v) {
    return value_encode(b, v, 0);
}

/* Decode one value whose lists sit `depth` levels deep. *budget is what
 * the whole value may still claim: one unit per list item or object field
 * value and per byte of a bytes payload. A valid encoding spends at most
 * one input byte per unit (every item has a tag), so the top call starts it
 * at the input's length, and a corrupt one that declares more (nested lists
 * each claiming what is left) is refused before it allocates: whatever the
 * input, the decoder allocates at most 16 bytes per input byte. */
static int value_decode(sl__reader *r, sl_value *out, sl_mem *mem, int depth, uint64_t *budget) {
    uint8_t tag;
    if (sl__read_u8(r, &tag))
        return SL_EINVAL;
    switch (tag) {
    case TAG_NULL:
        *out = sl_null();
        return 0;
    case TAG_NULL_KEY:
        *out = sl_null_key();
        return 0;
    case TAG_INT: {
        int64_t i;
        if (sl__read_svarint(r, &i))
            return SL_EINVAL;
        *out = sl_int(i);
        return 0;
    }
    case TAG_DOUBLE: {
        uint64_t bits;
        double d;
        if (sl__read_u64(r, &bits))
            return SL_EINVAL;
        memcpy(&d, &bits, 8);
        *out = sl_double(d);
        return 0;
    }
    case TAG_FALSE:
    case TAG_TRUE:
        *out = sl_bool(tag == TAG_TRUE);
        return 0;
    case TAG_BYTES: {
        const uint8_t *p;
        size_t n;
        if (sl__read_bytes(r, &p, &n) || n > UINT32_MAX)
            return SL_EINVAL;
        if (n == 0) {
            *out = sl_bytes("", 0);
            return 0;
        }
        if (n > *budget)
            return SL_EINVAL;
        *budget -= n;
        char *dst = sl_alloc(mem, n);
        if (!dst)
            return SL_ENOMEM;
        memcpy(dst, p, n);
        *out = sl_bytes(dst, n);
        return 0;
    }
    case TAG_LIST:
    case TAG_OBJECT: {
        uint64_t n;
        if (depth >= SL__CODEC_MAX_DEPTH || sl__read_varint(r, &n))
            return SL_EINVAL;
        /* every item takes at least one byte: a count beyond what is left is
         * corrupt, and checking it first bounds the allocation */
        if (n > sl__reader_left(r) || n > UINT32_MAX)
            return SL_EINVAL;
        uint64_t nitems = tag == TAG_OBJECT ? 2 * n : n;
        if (nitems > sl__reader_left(r) || nitems > *budget)
            return SL_EINVAL;
        *budget -= nitems;
        sl_value *items = NULL;
        if (nitems && !(items = sl_alloc(mem, (size_t)nitems * sizeof *items)))
            return SL_ENOMEM;
        for (size_t i = 0; i < nitems; i++) {
            int rc = value_decode(r, &items[i], mem, depth + 1, budget);
            if (rc)
                return rc;
        }
        *out = tag == TAG_OBJECT ? sl_object(items, (size_t)n) : sl_list(items, (size_t)n);
        return 0;
    }
    default:
        return SL_EINVAL;
    }
}

int sl__value_decode(sl__reader *r, sl_value *out, sl_mem *mem) {
    size_t off = r->off;
    uint64_t budget = sl__reader_left(r);
    int rc = value_decode(r, out, mem, 0, &budget);
    if (rc)
        r->off = off;
    return rc;
}

/*
 * codec.h — byte buffers, bounds-checked readers and the value codec
 * (engine-internal; the layer under checkpoint.h and plugin snapshots).
 *
 * Threads: safe from any thread on distinct objects; one buffer or reader
 * is used by one thread at a time.
 */
#ifndef SLUICE_CODEC_H
#define SLUICE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>
#include <sluice/record.h>

/* Little-endian 32-bit load from any alignment. */
static inline uint32_t sl__le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Store v little-endian in n bytes at p. */
static inline void sl__put_le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

#define SL__CODEC_MAX_DEPTH 256 /* deepest list nesting the value codec accepts */

/* ---- growable byte buffer ------------------------------------------------------ */

/* A growable byte buffer. Zero-initialise it ({0}); the buffer owns `data`
 * (malloc'd) until sl__buf_free. Every put returns 0 or SL_ENOMEM and leaves
 * the buffer unchanged on failure. */
typedef struct sl__buf {
    uint8_t *data;
    size_t len, cap;
} sl__buf;

/* Make room for n more bytes (doubling): 0, or SL_ENOMEM with b unchanged. */
int sl__buf_reserve(sl__buf *b, size_t n);
/* Write v as unsigned LEB128 into t; returns the length (1..10). */
size_t sl__varint_encode(uint8_t t[10], uint64_t v);
int sl__buf_put(sl__buf *b, const void *p, size_t n);
int sl__buf_put_u8(sl__buf *b, uint8_t v);
int sl__buf_put_u32(sl__buf *b, uint32_t v);    /* 4 bytes, little-endian */
int sl__buf_put_u64(sl__buf *b, uint64_t v);    /* 8 bytes, little-endian */
int sl__buf_put_i64(sl__buf *b, int64_t v);     /* 8 bytes, little-endian two's complement */
int sl__buf_put_varint(sl__buf *b, uint64_t v); /* unsigned LEB128, 1..10 bytes */
int sl__buf_put_svarint(sl__buf *b, int64_t v); /* zigzag, then LEB128 */
int sl__buf_put_bytes(sl__buf *b, const void *p, size_t n); /* varint n, then n bytes */
/* Append text formatted like printf (no NUL is appended): 0 or SL_ENOMEM. */
int sl__buf_printf(sl__buf *b, const char *fmt, ...) SL_PRINTF(2, 3);
/* Forget the contents, keep the memory. */
void sl__buf_reset(sl__buf *b);
/* Free the memory; the buffer is empty (and reusable) afterwards. */
void sl__buf_free(sl__buf *b);

/* ---- bounds-checked reader ------------------------------------------------------ */

/* A cursor over bytes it does not own: {p, len, 0}. Every read checks the
 * remaining length, returns 0 or SL_EINVAL (truncated or malformed), and
 * leaves `off` unchanged on failure. */
typedef struct sl__reader {
    const uint8_t *p;
    size_t len, off;
} sl__reader;

static inline size_t sl__reader_left(const sl__reader *r) {
    return r->len - r->off;
}

int sl__read_u8(sl__reader *r, uint8_t *v);
int sl__read_u32(sl__reader *r, uint32_t *v);
int sl__read_u64(sl__reader *r, uint64_t *v);
int sl__read_i64(sl__reader *r, int64_t *v);
/* LEB128; SL_EINVAL for more than 10 bytes or a value above UINT64_MAX. */
int sl__read_varint(sl__reader *r, uint64_t *v);
int sl__read_svarint(sl__reader *r, int64_t *v);
/* n raw bytes: *p points into the reader's memory (not copied). */
int sl__read_raw(sl__reader *r, size_t n, const uint8_t **p);
/* A varint length, then that many bytes (checked against what is left
 * before anything is touched): *p points into the reader's memory. */
int sl__read_bytes(sl__reader *r, const uint8_t **p, size_t *n);

/* ---- the value codec ---------------------------------------------------------------- */

/* Append the encoding of *v (and everything it points to) to b. One tag
 * byte, then: nothing (null, null key, false, true: a tag each), a zigzag
 * varint (int), 8 raw little-endian bytes (double, bit-exact: NaN payloads
 * and -0.0 survive), a varint length and the bytes (bytes), a varint count
 * and the items (list; for an object, the field count and 2 items a field).
 * Returns 0, SL_ENOMEM, SL_ETYPE (unknown type) or SL_ELIMIT (nested deeper
 * than SL__CODEC_MAX_DEPTH, which decode would refuse). On failure b may hold
 * a partial encoding past its old length: the caller discards the buffer. */
int sl__value_encode(sl__buf *b, const sl_value *v);
/* Decode one value at the reader's position into *out; bytes and list items
 * are copied into memory from `mem` (so *out does not point into the
 * reader's bytes). Returns 0, SL_EINVAL (malformed, truncated, or nested
 * deeper than SL__CODEC_MAX_DEPTH) or SL_ENOMEM; on failure r->off is
 * unchanged and whatever was allocated from mem stays there. Declared lengths
 * are checked against the bytes left before anything is allocated. */
int sl__value_decode(sl__reader *r, sl_value *out, sl_mem *mem);

/* The host's snapshot buffer (sl_buf in the ABI) is an sl__buf. */
struct sl_buf {
    sl__buf b;
};

#endif /* SLUICE_CODEC_H */

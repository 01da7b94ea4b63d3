/*
 * value.c — formatting, ordering, hashing and copying of sl_value.
 *
 * Two text forms: JSON (for the jsonl sink and tests) and Python repr (for
 * pprint, so that output matches PySpark's character for character: 'a',
 * 1, 2.5, None, ('a', 1)). Lists print as tuples in repr: in the DStream
 * model a list is a tuple (a join yields [v, w]); objects print as JSON
 * objects and as Python dicts ({'user': 'ann', 'amount': 3}), fields in
 * document order, duplicate names as they are; bools as true/false in JSON
 * and True/False in repr (Python's repr and str alike).
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>

#define XXH_INLINE_ALL /* short keys: inlined XXH3 is several times faster than a call */
#include <xxhash.h>

#include "printable_table.h"
#include "dtoa.h"
#include "utf8.h"
#include "value.h"

/* A bounded writer that still counts what it could not write (snprintf
 * semantics for the whole formatting call). */
typedef struct outbuf {
    char *buf;
    size_t cap;
    size_t len;
} outbuf;

static void put(outbuf *o, const char *s, size_t n) {
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void putc1(outbuf *o, char c) {
    put(o, &c, 1);
}

static void puts0(outbuf *o, const char *s) {
    put(o, s, strlen(s));
}

static size_t utf8_seq(const unsigned char *s, size_t n) {
    uint32_t cp;
    return sl__utf8_decode(s, n, &cp);
}

/* Whether Python's str.isprintable() rejects cp (so that repr() escapes
 * it): a binary search in the generated table of non-printable ranges
 * (printable_table.c: control, format, surrogate, private-use and unassigned
 * code points, separators other than the space), Python 3.11's Unicode 14. */
static bool unicode_nonprintable(unsigned cp) {
    size_t lo = 0, hi = sl__nonprintable_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < sl__nonprintable[mid].first)
            hi = mid;
        else if (cp > sl__nonprintable[mid].last)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/* A double as Python's repr() writes it (core/src/dtoa.c: shortest round
 * trip, no locale). JSON has no NaN or infinity: they are written as null,
 * so that a jsonl line stays valid JSON. */
static void put_double(outbuf *o, double d, int style) {
    if (style == SL_FORMAT_JSON && !isfinite(d)) {
        puts0(o, "null");
        return;
    }
    char buf[SL__DTOA_MAX];
    put(o, buf, sl__dtoa_repr(d, buf));
}

/* Bytes as a JSON string: valid UTF-8 passes through; a byte 0xXY that is
 * not part of valid UTF-8 is written \udcXY, the lone surrogate Python's
 * "surrogateescape" decodes it to, which json.c (and Python's
 * .encode("utf-8", "surrogateescape")) reads back as the byte itself. */
static void put_json_string(outbuf *o, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    putc1(o, '"');
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' && u[run] != '\\')
            run++;
        put(o, s + i, run - i);
        i = run;
        if (i >= n)
            break;
        unsigned c = u[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(o, esc, 2);
            i++;
        } else if (c == '\n') {
            puts0(o, "\\n"), i++;
        } else if (c == '\t') {
            puts0(o, "\\t"), i++;
        } else if (c == '\r') {
            puts0(o, "\\r"), i++;
        } else if (c == '\b') {
            puts0(o, "\\b"), i++;
        } else if (c == '\f') {
            puts0(o, "\\f"), i++;
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            puts0(o, esc);
            i++;
        } else {
            size_t len = utf8_seq(u + i, n - i);
            if (len) {
                put(o, s + i, len);
                i += len;
            } else {
                snprintf(esc, sizeof esc, "\\udc%02x", c);
                puts0(o, esc);
                i++;
            }
        }
    }
    putc1(o, '"');
}

/* Bytes as Python's repr of a str: single quotes unless the text contains
 * ' and no ", escapes for \\, the quote, \n \r \t and other control bytes;
 * printable UTF-8 passes through; every code point that Python's
 * str.isprintable() rejects is escaped as Python does (\xNN below 0x100,
 * \uNNNN below 0x10000, \UNNNNNNNN beyond). A byte 0xXY that is not part
 * of valid UTF-8 is written \udcXY: Python's repr of the str that
 * "surrogateescape" decodes the bytes to, the same escape as in JSON. */
static void put_repr_string(outbuf *o, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    char q = '\'';
    if (memchr(s, '\'', n) && !memchr(s, '"', n))
        q = '"';
    putc1(o, q);
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        char esc[8];
        if (c == (unsigned char)q || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(o, esc, 2);
            i++;
        } else if (c == '\n') {
            puts0(o, "\\n"), i++;
        } else if (c == '\t') {
            puts0(o, "\\t"), i++;
        } else if (c == '\r') {
            puts0(o, "\\r"), i++;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", c);
            puts0(o, esc);
            i++;
        } else if (c < 0x80) {
            putc1(o, (char)c);
            i++;
        } else {
            uint32_t cp;
            size_t len = sl__utf8_decode(u + i, n - i, &cp);
            if (len && unicode_nonprintable(cp)) {
                char uesc[16];
                snprintf(uesc, sizeof uesc,
                         cp <= 0xff     ? "\\x%02x"
                         : cp <= 0xffff ? "\\u%04x"
                                        : "\\U%08x",
                         cp);
                puts0(o, uesc);
                i += len;
            } else if (len) {
                put(o, s + i, len);
                i += len;
            } else {
                snprintf(esc, sizeof esc, "\\udc%02x", c);
                puts0(o, esc);
                i++;
            }
        }
    }
    putc1(o, q);
}

/* The decimal digits of i (what "%lld" prints, without printf's cost: the
 * sinks format every count this way). */
static void put_int(outbuf *o, int64_t i) {
    char d[24];
    size_t k = sizeof d;
    uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
    do {
        d[--k] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (i < 0)
        d[--k] = '-';
    put(o, d + k, sizeof d - k);
}

static void put_value(outbuf *o, const sl_value *v, int style, int depth);

/* An object as JSON ({"a":1}, compact, so that compact input round-trips)
 * or as Python's dict repr ({'a': 1}). A name that is not bytes (only a
 * plugin can build one) is formatted as the value it is. */
static void put_object(outbuf *o, const sl_value *v, int style, int depth) {
    bool json = style == SL_FORMAT_JSON;
    putc1(o, '{');
    for (uint32_t i = 0; i < v->len; i++) {
        if (i)
            puts0(o, json ? "," : ", ");
        const sl_value *name = &v->u.items[2 * (size_t)i];
        if (json && name->type != SL_BYTES)
            put_json_string(o, "", 0);
        else
            put_value(o, name, style, depth + 1);
        puts0(o, json ? ":" : ": ");
        put_value(o, name + 1, style, depth + 1);
    }
    putc1(o, '}');
}

static void put_value(outbuf *o, const sl_value *v, int style, int depth) {
    if (depth > 64) {
        puts0(o, style == SL_FORMAT_JSON ? "null" : "...");
        return;
    }
    switch (v->type) {
    case SL_INT:
        put_int(o, v->u.i);
        break;
    case SL_DOUBLE:
        put_double(o, v->u.d, style);
        break;
    case SL_BYTES:
        if (style == SL_FORMAT_JSON)
            put_json_string(o, v->u.s, v->len);
        else
            put_repr_string(o, v->u.s, v->len);
        break;
    case SL_LIST:
        putc1(o, style == SL_FORMAT_JSON ? '[' : '(');
        for (uint32_t i = 0; i < v->len; i++) {
            if (i)
                puts0(o, style == SL_FORMAT_JSON ? "," : ", ");
            put_value(o, &v->u.items[i], style, depth + 1);
        }
        if (style != SL_FORMAT_JSON && v->len == 1)
            putc1(o, ',');
        putc1(o, style == SL_FORMAT_JSON ? ']' : ')');
        break;
    case SL_OBJECT:
        put_object(o, v, style, depth);
        break;
    case SL_BOOL:
        if (style == SL_FORMAT_JSON)
            puts0(o, v->u.i ? "true" : "false");
        else
            puts0(o, v->u.i ? "True" : "False");
        break;
    default:
        puts0(o, style == SL_FORMAT_JSON ? "null" : "None");
        break;
    }
}

static size_t finish(outbuf *o) {
    if (o->cap)
        o->buf[o->len < o->cap ? o->len : o->cap - 1] = 0;
    return o->len;
}

size_t sl__value_format(const sl_value *v, int style, char *buf, size_t cap) {
    outbuf o = {buf, cap, 0};
    put_value(&o, v, style, 0);
    return finish(&o);
}

size_t sl__record_format(const sl_record *r, int style, char *buf, size_t cap) {
    outbuf o = {buf, cap, 0};
    if (!sl_record_is_pair(r)) {
        put_value(&o, &r->value, style, 0);
    } else {
        sl_value pair[2] = {r->key, r->value};
        sl_value list = sl_list(pair, 2);
        put_value(&o, &list, style, 0);
    }
    return finish(&o);
}

/* ---- ordering and hashing ------------------------------------------------------- */

/* The total order across types: null < numbers (int and double together)
 * < bytes < lists < objects < bools. A bool is not a number (Spark's
 * Boolean never equals an Integer): true != 1, and they hash apart. */
static int type_rank(uint32_t t) {
    switch (t) {
    case SL_NULL:
        return 0;
    case SL_INT:
    case SL_DOUBLE:
        return 1;
    case SL_BYTES:
        return 2;
    case SL_OBJECT:
        return 4;
    case SL_BOOL:
        return 5; /* after every older type, as its tag: their order is unchanged */
    default:
        return 3;
    }
}

static int cmp_num(const sl_value *a, const sl_value *b) {
    if (a->type == SL_INT && b->type == SL_INT)
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    long double x = a->type == SL_INT ? (long double)a->u.i : (long double)a->u.d;
    long double y = b->type == SL_INT ? (long double)b->u.i : (long double)b->u.d;
    bool xn = isnan(x), yn = isnan(y);
    if (xn || yn)
        return xn - yn; /* NaN sorts after every number */
    return (x > y) - (x < y);
}

int sl__value_compare(const sl_value *a, const sl_value *b) {
    int ra = type_rank(a->type), rb = type_rank(b->type);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    switch (ra) {
    case 0:
        return 0;
    case 1:
        return cmp_num(a, b);
    case 5:
        return (a->u.i != 0) - (b->u.i != 0); /* false < true */
    case 2: {
        size_t n = a->len < b->len ? a->len : b->len;
        int c = n ? memcmp(a->u.s, b->u.s, n) : 0;
        if (c)
            return c < 0 ? -1 : 1;
        return (a->len > b->len) - (a->len < b->len);
    }
    default: {
        /* lists item by item; objects name, value, name ... in document order */
        size_t na = sl_value_items(a), nb = sl_value_items(b);
        for (size_t i = 0; i < na && i < nb; i++) {
            int c = sl__value_compare(&a->u.items[i], &b->u.items[i]);
            if (c)
                return c;
        }
        return (na > nb) - (na < nb);
    }
    }
}

bool sl__value_equal(const sl_value *a, const sl_value *b) {
    if (a->type == SL_BYTES && b->type == SL_BYTES)
        return sl_bytes_eq(a, b);
    return sl__value_compare(a, b) == 0;
}

uint64_t sl__value_hash(const sl_value *v) {
    switch (v->type) {
    case SL_BYTES:
        return XXH3_64bits(v->u.s, v->len);
    case SL_INT:
        return XXH3_64bits_withSeed(&v->u.i, sizeof v->u.i, 1);
    case SL_DOUBLE: {
        double d = v->u.d;
        /* an integral double equals the int, so it must hash as the int */
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == (double)(int64_t)d) {
            int64_t i = (int64_t)d;
            return XXH3_64bits_withSeed(&i, sizeof i, 1);
        }
        if (isnan(d))
            d = NAN;
        return XXH3_64bits_withSeed(&d, sizeof d, 2);
    }
    case SL_BOOL: {
        /* a seed of its own: true is not 1, so it must not hash as the int */
        int64_t b = v->u.i != 0;
        return XXH3_64bits_withSeed(&b, sizeof b, 5);
    }
    case SL_LIST:
    case SL_OBJECT: {
        uint64_t h = XXH3_64bits_withSeed(&v->len, sizeof v->len, v->type == SL_LIST ? 3 : 4);
        for (size_t i = 0; i < sl_value_items(v); i++) {
            uint64_t pair[2] = {h, sl__value_hash(&v->u.items[i])};
            h = XXH3_64bits(pair, sizeof pair);
        }
        return h;
    }
    default:
        return 0x9e3779b97f4a7c15ull;
    }
}

int sl__value_copy(const sl_value *v, sl_value *out, sl_mem *mem) {
    if (v->type == SL_BYTES) {
        sl_value c = sl_bytes_copy(mem, v->u.s, v->len);
        if (c.type != SL_BYTES)
            return SL_ENOMEM;
        *out = c;
        return 0;
    }
    if (v->type == SL_LIST || v->type == SL_OBJECT) {
        size_t n = sl_value_items(v);
        sl_value c = *v;
        const sl_value *src = v->u.items;
        sl_value *items = n ? sl_alloc(mem, n * sizeof *items) : NULL;
        if (n && !items)
            return SL_ENOMEM;
        for (size_t i = 0; i < n; i++)
            if (sl__value_copy(&src[i], &items[i], mem))
                return SL_ENOMEM;
        c.u.items = items;
        *out = c;
        return 0;
    }
    *out = *v;
    return 0;
}

size_t sl__value_bytes(const sl_value *v) {
    switch (v->type) {
    case SL_BYTES:
        return v->len;
    case SL_LIST:
    case SL_OBJECT: {
        size_t n = 0;
        for (size_t i = 0; i < sl_value_items(v); i++)
            n += sl__value_bytes(&v->u.items[i]);
        return n;
    }
    case SL_NULL:
        return 0;
    default:
        return 8;
    }
}

/* The first invalid type tag in v (for a list or an object, in its items
 * too, down to 64 levels: deeper ones and cycles are not followed), or -1
 * when every tag is one of sl_type. */
static int bad_type(const sl_value *v, int depth) {
    if ((unsigned)v->type > SL_BOOL)
        return (int)v->type;
    size_t n = sl_value_items(v);
    if (n == 0 || depth >= 64)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int t = bad_type(&v->u.items[i], depth + 1);
        if (t >= 0)
            return t;
    }
    return -1;
}

int sl__value_bad_type(const sl_value *v) {
    return bad_type(v, 0);
}

int sl__records_bad_type(const sl_record *r, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int t = bad_type(&r[i].key, 0);
        if (t < 0)
            t = bad_type(&r[i].value, 0);
        if (t >= 0)
            return t;
    }
    return -1;
}

/*
 * json.c — a strict JSON parser (RFC 8259) into sl_value.
 *
 * Used by the host API (json_parse) for the queue source and plugin
 * parameters. true/false become SL_BOOL values (ABI 1.7; before, the ints
 * 1/0), which value.c writes back as true/false; objects become SL_OBJECT
 * values, in document order, duplicate names kept (docs/json.md).
 * Nesting is limited to 256 levels, so hostile input cannot exhaust the stack.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>

#include "dtoa.h"
#include "error.h"

#define MAX_DEPTH 256

typedef struct parser {
    const char *s;
    size_t n, i;
    sl_mem *mem;
    sl_error *err;
} parser;

static int fail(parser *p, const char *what) {
    return sl__error_set(p->err, SL_EINVAL, "invalid JSON at byte %zu: %s", p->i, what);
}

static void skip_ws(parser *p) {
    while (p->i < p->n) {
        char c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->i++;
    }
}

static int hex4(parser *p, unsigned *out) {
    if (p->n - p->i < 4)
        return fail(p, "truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p->s[p->i++];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return fail(p, "bad hex digit in \\u escape");
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *d, unsigned cp) {
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xc0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xe0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        d[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (char)(0xf0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    d[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string starting after its opening quote. Decoded text is never longer
 * than the source, so one allocation of the source length suffices.
 * A lone low surrogate \udc80..\udcff is the raw byte 0x80..0xff, as
 * Python's "surrogateescape" reads it: sluice writes a byte that is not
 * part of valid UTF-8 that way (value.c), so such bytes read back as
 * themselves (docs/json.md). Any other lone surrogate is an error. */
static int parse_string(parser *p, sl_value *out) {
    size_t start = p->i;
    size_t end = start;
    bool escapes = false;
    while (end < p->n && p->s[end] != '"') {
        if ((unsigned char)p->s[end] < 0x20) {
            p->i = end;
            return fail(p, "control character in string");
        }
        if (p->s[end] == '\\') {
            escapes = true;
            end++;
        }
        end++;
    }
    if (end >= p->n) {
        p->i = end;
        return fail(p, "unterminated string");
    }
    if (!escapes) {
        *out = sl_bytes_copy(p->mem, p->s + start, end - start);
        p->i = end + 1;
        return out->type == SL_BYTES ? 0 : SL_ENOMEM;
    }
    char *d = sl_alloc(p->mem, end - start + 1);
    if (!d)
        return SL_ENOMEM;
    size_t k = 0;
    while (p->i < end) {
        char c = p->s[p->i++];
        if (c != '\\') {
            d[k++] = c;
            continue;
        }
        char e = p->s[p->i++];
        switch (e) {
        case '"':
        case '\\':
        case '/':
            d[k++] = e;
            break;
        case 'b':
            d[k++] = '\b';
            break;
        case 'f':
            d[k++] = '\f';
            break;
        case 'n':
            d[k++] = '\n';
            break;
        case 'r':
            d[k++] = '\r';
            break;
        case 't':
            d[k++] = '\t';
            break;
        case 'u': {
            unsigned cp;
            int rc = hex4(p, &cp);
            if (rc)
                return rc;
            if (cp >= 0xd800 && cp <= 0xdbff && p->i + 6 <= end && p->s[p->i] == '\\' &&
                p->s[p->i + 1] == 'u') {
                unsigned lo;
                p->i += 2;
                if ((rc = hex4(p, &lo)))
                    return rc;
                if (lo >= 0xdc00 && lo <= 0xdfff)
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                else
                    return fail(p, "invalid surrogate pair");
            } else if (cp >= 0xdc80 && cp <= 0xdcff) {
                d[k++] = (char)(cp - 0xdc00); /* an escaped invalid byte (see above) */
                break;
            } else if (cp >= 0xd800 && cp <= 0xdfff) {
                return fail(p, "lone surrogate in \\u escape");
            }
            k += put_utf8(d + k, cp);
            break;
        }
        default:
            p->i--;
            return fail(p, "invalid escape in string");
        }
    }
    p->i = end + 1;
    *out = sl_bytes(d, k);
    return 0;
}

static int parse_number(parser *p, sl_value *out) {
    size_t start = p->i;
    bool is_int = true;
    if (p->s[p->i] == '-')
        p->i++;
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
        return fail(p, "expected a digit");
    if (p->s[p->i] == '0')
        p->i++;
    else
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
            p->i++;
    if (p->i < p->n && p->s[p->i] == '.') {
        is_int = false;
        p->i++;
        if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
            return fail(p, "expected a digit after '.'");
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
            p->i++;
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        is_int = false;
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
            p->i++;
        if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
            return fail(p, "expected a digit in exponent");
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
            p->i++;
    }
    char buf[64];
    size_t len = p->i - start;
    char *text = len < sizeof buf ? buf : malloc(len + 1);
    if (!text)
        return SL_ENOMEM;
    memcpy(text, p->s + start, len);
    text[len] = 0;
    if (is_int) {
        errno = 0;
        long long v = strtoll(text, NULL, 10);
        if (errno == 0) {
            *out = sl_int(v);
            if (text != buf)
                free(text);
            return 0;
        }
        /* out of int64 range: keep it as a double, as Python's json would not */
    }
    double d = sl__strtod(text, NULL);
    if (text != buf)
        free(text);
    /* a number past a double's range (1e400) would be infinity, which JSON
     * cannot write back (it would print as null): refused, as Go's and
     * serde's parsers do, rather than changed silently */
    if (isinf(d)) {
        p->i = start;
        return fail(p, "number out of the range of a double");
    }
    *out = sl_double(d);
    return 0;
}

static int parse_value(parser *p, sl_value *out, int depth);

/* A growable array of values that starts on the caller's stack, so that
 * the small lists and objects of typical events never touch malloc. */
typedef struct vec {
    sl_value *v;
    size_t n, cap;
    bool heap;
} vec;

static int vec_push(vec *a, sl_value x) {
    if (a->n == a->cap) {
        size_t cap = a->cap * 2;
        sl_value *g = a->heap ? realloc(a->v, cap * sizeof *g) : malloc(cap * sizeof *g);
        if (!g)
            return SL_ENOMEM;
        if (!a->heap)
            memcpy(g, a->v, a->n * sizeof *g);
        a->v = g, a->cap = cap, a->heap = true;
    }
    a->v[a->n++] = x;
    return 0;
}

/* One member of an object: "name": value, pushed as two items. */
static int parse_member(parser *p, vec *a, int depth) {
    sl_value name, value;
    int rc;
    if (p->i >= p->n || p->s[p->i] != '"')
        return fail(p, "expected a string key");
    p->i++;
    if ((rc = parse_string(p, &name)))
        return rc;
    skip_ws(p);
    if (p->i >= p->n || p->s[p->i] != ':')
        return fail(p, "expected ':'");
    p->i++;
    if ((rc = parse_value(p, &value, depth + 1)))
        return rc;
    if (vec_push(a, name) || vec_push(a, value))
        return SL_ENOMEM;
    return 0;
}

/* A list or an object after its opening bracket. Items (for an object:
 * name, value, name, value ...) are collected in a temporary array, then
 * copied to mem in one allocation. Duplicate names are all kept. */
static int parse_list(parser *p, sl_value *out, int depth, bool object) {
    if (depth + 1 > MAX_DEPTH)
        return fail(p, "nesting too deep (more than 256 levels)");
    sl_value stack[16];
    vec a = {stack, 0, 16, false};
    int rc = 0;
    char close = object ? '}' : ']';
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        *out = object ? sl_object(NULL, 0) : sl_list(NULL, 0);
        return 0;
    }
    for (;;) {
        sl_value item;
        skip_ws(p);
        if (object)
            rc = parse_member(p, &a, depth);
        else if (!(rc = parse_value(p, &item, depth + 1)))
            rc = vec_push(&a, item);
        if (rc)
            break;
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
            break;
        }
        rc = fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
        break;
    }
    if (rc == 0) {
        sl_value *items = sl_alloc(p->mem, a.n * sizeof *items);
        if (!items) {
            rc = SL_ENOMEM;
        } else {
            memcpy(items, a.v, a.n * sizeof *items);
            *out = object ? sl_object(items, a.n / 2) : sl_list(items, a.n);
        }
    }
    if (a.heap)
        free(a.v);
    return rc;
}

static bool literal(parser *p, const char *word) {
    size_t len = strlen(word);
    if (p->n - p->i >= len && memcmp(p->s + p->i, word, len) == 0) {
        p->i += len;
        return true;
    }
    return false;
}

static int parse_value(parser *p, sl_value *out, int depth) {
    skip_ws(p);
    if (p->i >= p->n)
        return fail(p, "unexpected end of input");
    char c = p->s[p->i];
    switch (c) {
    case '"':
        p->i++;
        return parse_string(p, out);
    case '[':
        p->i++;
        return parse_list(p, out, depth, false);
    case '{':
        p->i++;
        return parse_list(p, out, depth, true);
    case 't':
        if (literal(p, "true")) {
            *out = sl_bool(1);
            return 0;
        }
        break;
    case 'f':
        if (literal(p, "false")) {
            *out = sl_bool(0);
            return 0;
        }
        break;
    case 'n':
        if (literal(p, "null")) {
            *out = sl_null();
            return 0;
        }
        break;
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return parse_number(p, out);
    }
    return fail(p, "unexpected character");
}

int sl__json_parse(const char *text, size_t len, sl_value *out, sl_mem *mem, sl_error *err) {
    sl_error scratch;
    parser p = {text, len, 0, mem, err ? err : &scratch};
    int rc = parse_value(&p, out, 0);
    if (rc == SL_ENOMEM)
        return sl__error_set(p.err, SL_ENOMEM, "out of memory while parsing JSON");
    if (rc)
        return rc;
    skip_ws(&p);
    if (p.i != len)
        return fail(&p, "trailing characters after the value");
    return 0;
}

/*
 * text — MAP functions over bytes values: split, lower, upper, strip,
 * contains, grep.
 *
 * Every function expects SL_BYTES values (anything else is an SL_ETYPE error
 * naming the type), keeps the record's key and timestamp (so each works
 * under map_values / flat_map_values too), and emits zero-copy slices of its
 * input where it can. Case mapping and whitespace are ASCII only: bytes
 * >= 0x80 are never changed or treated as whitespace.
 *
 * process() runs concurrently on one instance: instances are read-only
 * after create.
 */
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sluice/plugin.h>

/* The whitespace split uses SSE2 when the target has it (all of x86-64), portable
 * SWAR code elsewhere; -DTEXT_SPLIT_PORTABLE picks the latter on x86-64 too. */
#if defined(__SSE2__) && !defined(TEXT_SPLIT_PORTABLE)
#define TEXT_SPLIT_SSE2 1
#include <emmintrin.h>
#endif

/* ASCII whitespace as Python's bytes.split(): space, \t, \n, \v, \f, \r. */
static const unsigned char text_ws[256] = {
    [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1,
};

#define TEXT_GREP_STACK 1024       /* values up to this size are matched from a stack copy */
#define TEXT_GREP_MAX_COST 30000.0 /* copies of the pattern's atoms regcomp may make */
#define TEXT_GREP_COMPILE_MS 2000  /* the CPU time regcomp may take (text_grep_slow) */
#define TEXT_GREP_WALL_MS 30000    /* ... and the longest wait for it */
#define TEXT_GREP_BLOCKED_MS 1000  /* a compiling child asleep this long is blocked */
#define TEXT_GREP_TRIES 3          /* forks to try when a child is blocked */
#define TEXT_GREP_MAX_EMPTY 256.0  /* of them matching nothing (text_re_alt) */

/* ---- shared helpers ------------------------------------------------------------- */

/* The error for a value that is not bytes; `fn` is "text.<component>". */
static int text_type_error(sl_error *err, const char *fn, const sl_value *v) {
    return sl_api->error_set(err, SL_ETYPE, "%s: expected bytes, got %s", fn,
                             sl_api->value_type_name(v->type));
}

static inline unsigned char text_lower_c(unsigned char c) {
    return (unsigned char)((unsigned)c - 'A' < 26u ? c + 32 : c);
}

static inline unsigned char text_upper_c(unsigned char c) {
    return (unsigned char)((unsigned)c - 'a' < 26u ? c - 32 : c);
}

/* Emit `rec` with a new value, keeping key and timestamp. */
static inline int text_emit_value(sl_emitter *out, const sl_record *rec, sl_value v) {
    return sl_emit_kv(out, rec->key, v, rec->ts);
}

/* create() for the components without parameters: no instance needed. */
static int text_create_none(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    (void)h;
    (void)params;
    (void)err;
    *instance = NULL;
    return 0;
}

/* destroy() for instances that are one sl_api->calloc block. */
static void text_destroy_plain(void *instance) {
    sl_api->free(instance);
}

/* ---- split ---------------------------------------------------------------------- */

typedef struct text_split {
    const char *sep; /* params-owned; NULL: split on whitespace runs */
    size_t seplen;
} text_split;

static const sl_param_spec text_split_params[] = {
    {"sep", SL_PARAM_STRING, NULL, 0,
     "split on every occurrence of this string, keeping empty pieces (Python str.split(sep)); "
     "omitted: split on runs of whitespace, dropping empty pieces (str.split())",
     NULL, NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

static int text_split_create(sl_handle *h, const sl_params *params, void **instance,
                             sl_error *err) {
    (void)h;
    text_split *sp = sl_api->calloc(1, sizeof *sp);
    if (!sp)
        return sl_api->error_set(err, SL_ENOMEM, "text.split: out of memory");
    if (sl_api->param_is_set(params, "sep")) {
        sp->sep = sl_api->param_str(params, "sep");
        sp->seplen = sp->sep ? strlen(sp->sep) : 0;
        if (sp->seplen == 0) {
            sl_api->free(sp);
            return sl_api->error_set(err, SL_ECONFIG,
                                     "text.split: sep must not be empty (omit it to split on "
                                     "whitespace)");
        }
    }
    *instance = sp;
    return 0;
}

/* ---- split on whitespace: 64 bytes at a time ----------------------------------
 *
 * The whitespace split works on bitmasks instead of on bytes. For each block
 * of 64 bytes, text_ws_mask64() returns a 64-bit mask with bit i set when
 * byte i is whitespace (the 6 bytes of text_ws, nothing else). Its
 * complement `word` marks the bytes that belong to words, and
 *
 *     edges = word ^ (word << 1 | in_word)
 *
 * has a bit set wherever a byte differs from the one before it: at the
 * first byte of each word and at the first whitespace byte after it. The
 * bits therefore alternate start, end, start, end...; `in_word` (the last
 * byte of the previous block was in a word) carries a word across blocks,
 * so that its end comes first in the next block. The loop in
 * text_words_block visits the set bits with count-trailing-zeros, one step
 * per word boundary rather than one per byte, and without a branch that
 * depends on the bytes themselves.
 *
 * The mask comes from SSE2 on x86-64 (4 x 16 bytes: two compares, a
 * movemask) and from 8 x 8 bytes of portable SWAR arithmetic elsewhere.
 * Nothing outside the value is read: the last partial block is a 64-byte
 * load that ends at the value's end, shifted to drop the bytes already
 * seen; a value shorter than 64 bytes is copied into a space-padded buffer.
 */

#define TEXT_BLOCK 64

#ifdef TEXT_SPLIT_SSE2

/* Bit i set when byte i of c is whitespace. */
static inline uint32_t text_ws_mask16(__m128i c) {
    /* c + 0x77 maps \t..\r (0x09..0x0d) to 0x80..0x84, the 5 smallest signed
     * bytes, and every other byte above them: one signed compare. */
    const __m128i ctl = _mm_cmplt_epi8(_mm_add_epi8(c, _mm_set1_epi8(0x80 - '\t')),
                                       _mm_set1_epi8(-128 + ('\r' - '\t' + 1)));
    const __m128i space = _mm_cmpeq_epi8(c, _mm_set1_epi8(' '));
    return (uint32_t)_mm_movemask_epi8(_mm_or_si128(ctl, space));
}

/* The whitespace mask of the 64 bytes at p (any alignment). */
static inline uint64_t text_ws_mask64(const unsigned char *p) {
    uint64_t m = 0;
    for (int k = 0; k < TEXT_BLOCK / 16; k++)
        m |= (uint64_t)text_ws_mask16(_mm_loadu_si128((const __m128i *)(p + 16 * k))) << (16 * k);
    return m;
}

/* *v = sl_bytes(p, n), written as one 16-byte store. sl_emit copies the
 * record with 16-byte loads; had the value just been written as three
 * smaller stores (type, len, pointer), the load could not be forwarded from
 * them and would wait for them to reach the cache: a stall per word that
 * cost a third of the split's time. Relies on sl_value's ABI layout
 * (type, len, then the pointer) and on x86 being little endian. */
static inline void text_value_bytes(sl_value *v, const void *p, size_t n) {
    uint64_t head = (uint64_t)n << 32 | SL_BYTES;
    _mm_storeu_si128((__m128i *)v, _mm_set_epi64x((long long)(uintptr_t)p, (long long)head));
}

#else

/* Bit i set when p[i] is whitespace, for the 8 bytes at p (SWAR: every
 * step keeps to its own byte, no carry or borrow crosses into the next). */
static inline uint64_t text_ws_mask8(const unsigned char *p) {
    const uint64_t ones = 0x0101010101010101u, high = ones * 0x80, low7 = ones * 0x7f;
    uint64_t c;
    memcpy(&c, p, sizeof c);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    /* byte i in bits 8i..8i+7, as on little endian */
    c = __builtin_bswap64(c);
#endif
    uint64_t x = c ^ (ones * ' '); /* zero where c is a space */
    uint64_t space = ~(((x & low7) + low7) | x) & high;
    uint64_t c80 = c | high; /* subtracting up to 0x0e from >= 0x80 never borrows */
    uint64_t ge_tab = c80 - ones * '\t', ge_cr1 = c80 - ones * ('\r' + 1);
    uint64_t ctl = ge_tab & ~ge_cr1 & ~c & high; /* c < 0x80 and '\t' <= c <= '\r' */
    /* Gather the 8 high bits into one byte: bit 8i+7 -> bit i. */
    return (((space | ctl) >> 7) * 0x0102040810204080u) >> 56;
}

/* The whitespace mask of the 64 bytes at p (any alignment). */
static inline uint64_t text_ws_mask64(const unsigned char *p) {
    uint64_t m = 0;
    for (int k = 0; k < TEXT_BLOCK / 8; k++)
        m |= text_ws_mask8(p + 8 * k) << (8 * k);
    return m;
}

/* *v = sl_bytes(p, n) (see the SSE2 version for why it is a function). */
static inline void text_value_bytes(sl_value *v, const void *p, size_t n) {
    *v = sl_bytes(p, n);
}

#endif

/* A whitespace split in progress over one value. */
typedef struct text_words {
    const unsigned char *s; /* the value's bytes (the input record's) */
    size_t start;           /* offset of the word being read, when in_word */
    uint64_t in_word;       /* 1 if the byte before the next block is in a word */
    const sl_record *in;    /* the input record: its key and ts go to every word */
    sl_emitter *out;
} text_words;

/* Emit bytes [b, e) of the value as a word: a zero-copy slice of it. */
static inline int text_words_emit(const text_words *w, size_t b, size_t e) {
    sl_record o;
    o.key = w->in->key;
    text_value_bytes(&o.value, w->s + b, e - b);
    o.ts = w->in->ts;
    return sl_emit(w->out, &o);
}

/* Emit every word that ends in the block at offset `base` whose whitespace
 * mask is `ws`, and remember where a word still open at its end starts.
 * 0 or a negative SL_E* from sl_emit. */
static inline int text_words_block(text_words *w, uint64_t ws, size_t base) {
    uint64_t word = ~ws;
    uint64_t edges = word ^ (word << 1 | w->in_word);
    int rc = 0;
    if (w->in_word && edges) { /* the end of the word from the previous block */
        rc = text_words_emit(w, w->start, base + (size_t)__builtin_ctzll(edges));
        edges &= edges - 1;
    }
    while (edges && rc >= 0) {
        size_t b = base + (size_t)__builtin_ctzll(edges);
        edges &= edges - 1;
        if (!edges) { /* the word goes on into the next block */
            w->start = b;
            break;
        }
        rc = text_words_emit(w, b, base + (size_t)__builtin_ctzll(edges));
        edges &= edges - 1;
    }
    w->in_word = word >> 63;
    return rc;
}

/* Emit the runs of non-whitespace of r's value (Python's str.split()) as
 * slices of it; see the comment above for the method. The benchmark's hot
 * loop. 0 or a negative SL_E* from sl_emit. */
static int text_split_ws(const sl_record *r, sl_emitter *out) {
    size_t len = r->value.len;
    if (len == 0)
        return 0;
    text_words w = {.s = (const unsigned char *)r->value.u.s, .in = r, .out = out};
    int rc = 0;
    if (len < TEXT_BLOCK) {
        unsigned char pad[TEXT_BLOCK]; /* spaces after the value end its last word */
        memset(pad, ' ', sizeof pad);
        memcpy(pad, w.s, len);
        return text_words_block(&w, text_ws_mask64(pad), 0);
    }
    size_t i = 0;
    for (; i + TEXT_BLOCK <= len && rc >= 0; i += TEXT_BLOCK)
        rc = text_words_block(&w, text_ws_mask64(w.s + i), i);
    if (i < len && rc >= 0) {
        /* The last len - i bytes: load the block that ends at the value's
         * end, drop the bytes already seen, treat the rest as whitespace. */
        size_t tail = len - i;
        uint64_t ws = text_ws_mask64(w.s + len - TEXT_BLOCK) >> (TEXT_BLOCK - tail);
        rc = text_words_block(&w, ws | ~0ull << tail, i);
    }
    if (w.in_word && rc >= 0) /* a word that ends at a block's end */
        rc = text_words_emit(&w, w.start, len);
    return rc;
}

/* Emit the pieces of r's value between occurrences of sep, empty ones
 * included (Python's str.split(sep)): n separators give n + 1 pieces. */
static int text_split_sep(const text_split *sp, const sl_record *r, sl_emitter *out) {
    const char *p = r->value.u.s;
    sl_record o;
    o.key = r->key;
    o.ts = r->ts;
    if (r->value.len == 0) {
        o.value = sl_bytes(p, 0);
        return sl_emit(out, &o);
    }
    const char *e = p + r->value.len;
    for (;;) {
        size_t left = (size_t)(e - p);
        const char *hit = sp->seplen == 1 ? memchr(p, (unsigned char)sp->sep[0], left)
                                          : memmem(p, left, sp->sep, sp->seplen);
        o.value = sl_bytes(p, hit ? (size_t)(hit - p) : left);
        int rc = sl_emit(out, &o);
        if (rc < 0 || !hit)
            return rc;
        p = hit + sp->seplen;
    }
}

static int text_split_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    const text_split *sp = inst;
    for (size_t i = 0; i < in->count; i++) {
        const sl_record *r = &in->records[i];
        if (r->value.type != SL_BYTES)
            return text_type_error(err, "text.split", &r->value);
        int rc = sp->seplen ? text_split_sep(sp, r, out) : text_split_ws(r, out);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- lower / upper -------------------------------------------------------------- */

/* Map the case of every value (ASCII). A value with nothing to change is
 * emitted as is; otherwise the result is a copy in out->mem. */
static int text_case_process(const sl_chunk *in, sl_emitter *out, sl_error *err, int upper) {
    const char *fn = upper ? "text.upper" : "text.lower";
    for (size_t i = 0; i < in->count; i++) {
        const sl_record *r = &in->records[i];
        if (r->value.type != SL_BYTES)
            return text_type_error(err, fn, &r->value);
        const unsigned char *s = (const unsigned char *)r->value.u.s;
        size_t len = r->value.len, k = 0;
        if (upper)
            while (k < len && (unsigned)s[k] - 'a' >= 26u)
                k++;
        else
            while (k < len && (unsigned)s[k] - 'A' >= 26u)
                k++;
        sl_value v = r->value;
        if (k < len) {
            unsigned char *d = sl_alloc(out->mem, len);
            if (!d)
                return sl_api->error_set(err, SL_ENOMEM, "%s: out of memory", fn);
            memcpy(d, s, k);
            if (upper)
                for (; k < len; k++)
                    d[k] = text_upper_c(s[k]);
            else
                for (; k < len; k++)
                    d[k] = text_lower_c(s[k]);
            v = sl_bytes(d, len);
        }
        int rc = text_emit_value(out, r, v);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int text_lower_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)inst;
    return text_case_process(in, out, err, 0);
}

static int text_upper_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)inst;
    return text_case_process(in, out, err, 1);
}

/* ---- strip ---------------------------------------------------------------------- */

/* Emit each value without leading and trailing ASCII whitespace (a slice). */
static int text_strip_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)inst;
    for (size_t i = 0; i < in->count; i++) {
        const sl_record *r = &in->records[i];
        if (r->value.type != SL_BYTES)
            return text_type_error(err, "text.strip", &r->value);
        const unsigned char *p = (const unsigned char *)r->value.u.s;
        size_t a = 0, b = r->value.len;
        while (a < b && text_ws[p[a]])
            a++;
        while (b > a && text_ws[p[b - 1]])
            b--;
        int rc = text_emit_value(out, r, sl_bytes(b > a ? p + a : p, b - a));
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- contains ------------------------------------------------------------------- */

typedef struct text_contains {
    const char *pattern; /* as given (params-owned), or lowered copy in `lowered` */
    size_t len;
    int invert;
    int ignore_case;
    char lowered[]; /* ignore_case: the pattern in lower case */
} text_contains;

static const sl_param_spec text_contains_params[] = {
    {"pattern", SL_PARAM_STRING, NULL, 1, "substring to look for (the empty string matches all)",
     NULL, NULL},
    {"invert", SL_PARAM_BOOL, "false", 0, "keep the records that do NOT contain it", NULL, NULL},
    {"ignore_case", SL_PARAM_BOOL, "false", 0, "compare ASCII letters case-insensitively", NULL,
     NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

static int text_contains_create(sl_handle *h, const sl_params *params, void **instance,
                                sl_error *err) {
    (void)h;
    const char *pattern = sl_api->param_str(params, "pattern");
    if (!pattern)
        return sl_api->error_set(err, SL_ECONFIG, "text.contains: pattern is required");
    size_t len = strlen(pattern);
    text_contains *c = sl_api->calloc(1, sizeof *c + len + 1);
    if (!c)
        return sl_api->error_set(err, SL_ENOMEM, "text.contains: out of memory");
    c->len = len;
    c->invert = sl_api->param_bool(params, "invert");
    c->ignore_case = sl_api->param_bool(params, "ignore_case");
    for (size_t i = 0; i < len; i++)
        c->lowered[i] = (char)text_lower_c((unsigned char)pattern[i]);
    c->pattern = c->ignore_case ? c->lowered : pattern;
    *instance = c;
    return 0;
}

/* Nonzero if `s` contains the lower-case needle `n`, ignoring ASCII case. */
static int text_find_icase(const unsigned char *s, size_t slen, const unsigned char *n,
                           size_t nlen) {
    if (nlen > slen)
        return 0;
    for (size_t i = 0; i + nlen <= slen; i++) {
        if (text_lower_c(s[i]) != n[0])
            continue;
        size_t k = 1;
        while (k < nlen && text_lower_c(s[i + k]) == n[k])
            k++;
        if (k == nlen)
            return 1;
    }
    return 0;
}

static int text_contains_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    const text_contains *c = inst;
    for (size_t i = 0; i < in->count; i++) {
        const sl_record *r = &in->records[i];
        if (r->value.type != SL_BYTES)
            return text_type_error(err, "text.contains", &r->value);
        int hit;
        if (c->len == 0)
            hit = 1;
        else if (c->ignore_case)
            hit = text_find_icase((const unsigned char *)r->value.u.s, r->value.len,
                                  (const unsigned char *)c->pattern, c->len);
        else
            hit = r->value.len >= c->len &&
                  memmem(r->value.u.s, r->value.len, c->pattern, c->len) != NULL;
        if (hit != c->invert) {
            int rc = sl_emit(out, r);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* ---- grep ----------------------------------------------------------------------- */

typedef struct text_grep {
    regex_t re; /* compiled at create; regexec on a shared regex_t is thread-safe */
    int invert;
} text_grep;

static const sl_param_spec text_grep_params[] = {
    {"pattern", SL_PARAM_STRING, NULL, 1, "POSIX extended regular expression", NULL, NULL},
    {"invert", SL_PARAM_BOOL, "false", 0, "keep the records that do NOT match", NULL, NULL},
    {"ignore_case", SL_PARAM_BOOL, "false", 0, "match case-insensitively", NULL, NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

/* How much work glibc's regcomp does on a pattern. It expands X{n,m} into m
 * copies of X, X{n,} into n + 1, X+ into X X* (about three times the work
 * of X, measured), so nested or stacked repetitions multiply:
 * "a++++++++++++++++++++" or "((a{100}){100}){100}" take minutes and
 * gigabytes to compile. And it computes closures over the parts that match
 * nothing (empty branches, X?, X*), in time that grows with about the fourth
 * power of how many there are once copied (measured: 160 of them, 0.05 s;
 * 320, 1 to 2 s): "(((((((||...||((a+)+)+)+)+)+)))+)+" with 50 empty
 * branches never finishes (fuzz_grep: a timeout). A rough parse of the
 * ERE, enough to estimate both: what it does not understand costs 1 and
 * regcomp judges it. *p advances past what was read; a branch ends at '|',
 * ')' or the end. *empty counts the parts that match nothing, copies
 * included. */
static double text_re_alt(const char **p, int depth, double *empty);

/* The cost of one atom: a group, a bracket expression, an escape or a
 * character. */
static double text_re_atom(const char **p, int depth, double *empty) {
    const char *s = *p;
    *empty = 0;
    if (*s == '(') {
        *p = s + 1;
        double c = depth < 64 ? text_re_alt(p, depth + 1, empty) : 1;
        if (**p == ')')
            (*p)++;
        return c > 1 ? c : 1;
    }
    if (*s == '[') { /* up to the closing ']': a leading ']' and [:x:] [.x.] [=x=] are inside */
        s++;
        s += *s == '^';
        s += *s == ']';
        while (*s && *s != ']') {
            if (*s == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) {
                const char *end = strchr(s + 2, s[1]);
                s = end && end[1] == ']' ? end + 2 : s + 1;
            } else {
                s++;
            }
        }
        *p = *s ? s + 1 : s;
        return 1;
    }
    *p = s + (*s == '\\' && s[1] ? 2 : 1);
    return 1;
}

/* The factor of one repetition operator at *p (advancing past it), or 0 if
 * there is none; *optional is set when it lets its atom match nothing,
 * *copies to the copies of its atom regcomp makes. */
static double text_re_repeat(const char **p, bool *optional, double *copies) {
    const char *s = *p;
    *optional = *s == '*' || *s == '?';
    *copies = 1;
    if (*s == '*' || *s == '?') {
        *p = s + 1;
        return 1;
    }
    if (*s == '+') {
        *p = s + 1;
        *copies = 2;
        return 3;
    }
    if (*s != '{' || s[1] < '0' || s[1] > '9')
        return 0;
    char *end;
    /* strtol, not strtod: under a comma-decimal locale strtod reads "1,3" as 1.3 */
    double n = (double)strtol(s + 1, &end, 10), m = n;
    if (*end == ',')
        m = end[1] >= '0' && end[1] <= '9' ? (double)strtol(end + 1, &end, 10) : n + 1;
    if (*end != '}')
        return 0;
    *p = end + 1;
    *optional = n == 0;
    *copies = m > 1 ? m : 1;
    return *copies;
}

/* An atom with its repetition operators: the cost, and the parts that
 * match nothing (*empty), copies included. */
static double text_re_piece(const char **p, int depth, double *empty) {
    double c = text_re_atom(p, depth, empty), f, copies;
    bool optional;
    while ((f = text_re_repeat(p, &optional, &copies)) > 0) {
        c *= f;
        *empty = *empty * copies + optional;
    }
    return c;
}

static double text_re_alt(const char **p, int depth, double *empty) {
    double total = 0;
    bool branch_empty = true; /* no piece yet: the branch is empty */
    *empty = 0;
    for (;;) {
        if (!**p || **p == ')' || **p == '|') {
            *empty += branch_empty;
            if (**p != '|')
                return total;
            (*p)++;
            branch_empty = true;
            continue;
        }
        double e;
        total += text_re_piece(p, depth, &e);
        *empty += e;
        branch_empty = false;
    }
}

/* The CPU time a process has used so far, in ms; -1 if it cannot be read. */
static int64_t text_cpu_ms(clockid_t clock) {
    struct timespec t;
    if (clock_gettime(clock, &t) != 0)
        return -1;
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The state letter of process pid in /proc/PID/stat ('R' running or
 * waiting for a core, 'S' asleep, 'T' stopped, ...); 0 if it cannot be read. */
static char text_proc_state(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the name in (...) may hold anything */
    return p && p[1] == ' ' ? p[2] : 0;
}

typedef enum { TEXT_COMPILED, TEXT_SLOW, TEXT_BLOCKED, TEXT_NO_CHILD } text_try;

/* One try of text_grep_slow: compile the pattern in a child and watch it.
 * TEXT_BLOCKED: the child slept TEXT_GREP_BLOCKED_MS without using any CPU.
 * regcomp never sleeps: a child that does waits on a lock that another
 * thread held when the process forked, and nobody will release it (a
 * sanitizer's allocator is not fork-safe; glibc's malloc is). */
static text_try text_grep_try(const char *pattern, int flags) {
    pid_t pid = fork();
    if (pid < 0)
        return TEXT_NO_CHILD;
    if (pid == 0) {
        regex_t re;
        _exit(regcomp(&re, pattern, flags) == 0 ? 0 : 1);
    }
    clockid_t clock;
    bool cpu = clock_getcpuclockid(pid, &clock) == 0;
    int status;
    int64_t used = -1, used_at = 0; /* the child's CPU time, and when it last grew */
    text_try result = TEXT_SLOW;
    for (int waited = 0; waited < (cpu ? TEXT_GREP_WALL_MS : TEXT_GREP_COMPILE_MS); waited += 5) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return TEXT_COMPILED;
        int64_t now = cpu ? text_cpu_ms(clock) : -1;
        if (now >= TEXT_GREP_COMPILE_MS)
            break;
        if (now != used) {
            used = now;
            used_at = waited;
        } else if (cpu && waited - used_at >= TEXT_GREP_BLOCKED_MS && text_proc_state(pid) == 'S') {
            result = TEXT_BLOCKED;
            break;
        }
        struct timespec five_ms = {0, 5 * 1000 * 1000};
        nanosleep(&five_ms, NULL);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return result;
}

/* Whether regcomp spends more than TEXT_GREP_COMPILE_MS on the pattern,
 * tried in a child process that is killed then: glibc's regcomp has
 * patterns it spends minutes on that no estimate here foresees (nested
 * optional groups between anchors, "^((((((a?)+)+)+)+)+)+b$"), and it cannot
 * be interrupted in the process. The limit counts the child's CPU time
 * (clock_getcpuclockid), not the wall clock: on a busy machine, or at a low
 * priority, a pattern regcomp compiles in 0.07 s may wait seconds for a
 * core (fuzz_grep at niceness 19 beside CI's build saw it refused once and
 * accepted once). TEXT_GREP_WALL_MS bounds the wait for a child that gets
 * no CPU at all; without a CPU clock, the wall clock is the limit. A child
 * blocked on a lock it inherited is tried again, TEXT_GREP_TRIES times in
 * all (docs/decisions.md §31: under ASan, a worker starting at the fork
 * blocked 3 children in 60; tests/unit/test_grep_fork.c blocks them for
 * certain).
 * Once per text.grep at start; false when no child could time the compile
 * (it then runs here, as before). */
static bool text_grep_slow(const char *pattern, int flags) {
    for (int i = 0; i < TEXT_GREP_TRIES; i++) {
        text_try t = text_grep_try(pattern, flags);
        if (t != TEXT_BLOCKED)
            return t == TEXT_SLOW;
    }
    return false;
}

static int text_grep_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    (void)h;
    const char *pattern = sl_api->param_str(params, "pattern");
    if (!pattern)
        return sl_api->error_set(err, SL_ECONFIG, "text.grep: pattern is required");
    const char *scan = pattern;
    double cost = 0;
    double empty = 0, e;
    while (*scan) { /* a stray ')' ends a branch: go on after it */
        cost += text_re_alt(&scan, 0, &e) + (*scan == ')' ? (scan++, 1) : 0);
        empty += e;
    }
    if (empty > TEXT_GREP_MAX_EMPTY)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "text.grep: pattern '%s' is too complex: about %.0f of its "
                                 "parts match nothing once its repetitions are expanded (at "
                                 "most %.0f); use fewer empty branches, ? or * inside +",
                                 pattern, empty, TEXT_GREP_MAX_EMPTY);
    if (cost > TEXT_GREP_MAX_COST)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "text.grep: pattern '%s' is too complex: its repetitions "
                                 "expand to about %.0f copies of its parts (at most %.0f); "
                                 "nest or stack fewer of them",
                                 pattern, cost, TEXT_GREP_MAX_COST);
    text_grep *g = sl_api->calloc(1, sizeof *g);
    if (!g)
        return sl_api->error_set(err, SL_ENOMEM, "text.grep: out of memory");
    int flags = REG_EXTENDED | REG_NOSUB;
    if (sl_api->param_bool(params, "ignore_case"))
        flags |= REG_ICASE;
    if (text_grep_slow(pattern, flags)) {
        sl_api->free(g);
        return sl_api->error_set(err, SL_ECONFIG,
                                 "text.grep: pattern '%s' is too complex: the regex library "
                                 "did not compile it within %d ms; simplify its nested "
                                 "repetitions",
                                 pattern, TEXT_GREP_COMPILE_MS);
    }
    int rc = regcomp(&g->re, pattern, flags);
    if (rc != 0) {
        char msg[256];
        regerror(rc, &g->re, msg, sizeof msg);
        sl_api->free(g);
        return sl_api->error_set(err, SL_ECONFIG, "text.grep: bad pattern '%s': %s", pattern, msg);
    }
    g->invert = sl_api->param_bool(params, "invert");
    *instance = g;
    return 0;
}

static void text_grep_destroy(void *instance) {
    text_grep *g = instance;
    if (!g)
        return;
    regfree(&g->re);
    sl_api->free(g);
}

/* Match one value. regexec wants a NUL-terminated string, so the value is
 * copied (onto the stack when small). With REG_STARTEND (glibc, BSDs) the
 * whole value is matched, NUL bytes included; elsewhere the part before the
 * first NUL. Matching in place with REG_STARTEND would save the copy, but
 * sanitizer interceptors strlen() the string and would read past the value.
 * Returns 1, 0, or a negative code with `err` filled. */
static int text_grep_match(const text_grep *g, const sl_value *v, sl_error *err) {
    size_t len = v->len;
    char stack[TEXT_GREP_STACK];
    char *s = len < sizeof stack ? stack : sl_api->malloc(len + 1);
    if (!s)
        return sl_api->error_set(err, SL_ENOMEM,
                                 "text.grep: out of memory copying a %zu-byte value", len);
    if (len)
        memcpy(s, v->u.s, len);
    s[len] = '\0';
#ifdef REG_STARTEND
    regmatch_t m[1];
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)len;
    int rc = regexec(&g->re, s, 1, m, REG_STARTEND);
#else
    int rc = regexec(&g->re, s, 0, NULL, 0);
#endif
    if (s != stack)
        sl_api->free(s);
    if (rc == 0)
        return 1;
    if (rc == REG_NOMATCH)
        return 0;
    char msg[256];
    regerror(rc, &g->re, msg, sizeof msg);
    return sl_api->error_set(err, SL_ELIMIT, "text.grep: cannot match a %zu-byte value: %s", len,
                             msg);
}

static int text_grep_process(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    const text_grep *g = inst;
    for (size_t i = 0; i < in->count; i++) {
        const sl_record *r = &in->records[i];
        if (r->value.type != SL_BYTES)
            return text_type_error(err, "text.grep", &r->value);
        int hit = text_grep_match(g, &r->value, err);
        if (hit < 0)
            return hit;
        if (hit != g->invert) {
            int rc = sl_emit(out, r);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* ---- descriptor ----------------------------------------------------------------- */

static const sl_map_ops text_split_ops = {sizeof(sl_map_ops), SL_MAP_MANY, text_split_process};
static const sl_map_ops text_lower_ops = {sizeof(sl_map_ops), SL_MAP_ONE, text_lower_process};
static const sl_map_ops text_upper_ops = {sizeof(sl_map_ops), SL_MAP_ONE, text_upper_process};
static const sl_map_ops text_strip_ops = {sizeof(sl_map_ops), SL_MAP_ONE, text_strip_process};
static const sl_map_ops text_contains_ops = {sizeof(sl_map_ops), SL_MAP_FILTER,
                                             text_contains_process};
static const sl_map_ops text_grep_ops = {sizeof(sl_map_ops), SL_MAP_FILTER, text_grep_process};

static const sl_component text_split_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_MAP,
    .name = "split",
    .doc = "flat_map: splits a bytes value into words. Without sep: on runs of ASCII "
           "whitespace, no empty words (Python str.split()). With sep: on every occurrence of "
           "sep, empty pieces kept (str.split(sep)). Emits slices of the input (no copy); keeps "
           "key and timestamp, so it also serves flat_map_values.",
    .params = text_split_params,
    .create = text_split_create,
    .destroy = text_destroy_plain,
    .ops = &text_split_ops,
};

static const sl_component text_lower_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_MAP,
    .name = "lower",
    .doc = "map: ASCII lower case of a bytes value (bytes >= 0x80 unchanged); keeps the key.",
    .params = NULL,
    .create = text_create_none,
    .destroy = NULL,
    .ops = &text_lower_ops,
};

static const sl_component text_upper_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_MAP,
    .name = "upper",
    .doc = "map: ASCII upper case of a bytes value (bytes >= 0x80 unchanged); keeps the key.",
    .params = NULL,
    .create = text_create_none,
    .destroy = NULL,
    .ops = &text_upper_ops,
};

static const sl_component text_strip_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_MAP,
    .name = "strip",
    .doc = "map: a bytes value without leading and trailing ASCII whitespace (no copy); keeps "
           "the key.",
    .params = NULL,
    .create = text_create_none,
    .destroy = NULL,
    .ops = &text_strip_ops,
};

static const sl_component text_contains_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_MAP,
    .name = "contains",
    .doc = "filter: keeps the records whose bytes value contains `pattern` (a plain "
           "substring; ignore_case: ASCII only); invert: true keeps the others.",
    .params = text_contains_params,
    .create = text_contains_create,
    .destroy = text_destroy_plain,
    .ops = &text_contains_ops,
};

static const sl_component text_grep_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_MAP,
    .name = "grep",
    .doc = "filter: keeps the records whose bytes value matches the POSIX extended regular "
           "expression `pattern` (anywhere in the value; anchor with ^ and $); invert: true keeps "
           "the others. On glibc the whole value is searched (a NUL byte is part of it, though "
           "'.' does not match it); elsewhere only the part before the first NUL byte.",
    .params = text_grep_params,
    .create = text_grep_create,
    .destroy = text_grep_destroy,
    .ops = &text_grep_ops,
};

static const sl_component *const text_components[] = {
    &text_split_component,
    &text_lower_component,
    &text_upper_component,
    &text_strip_component,
    &text_contains_component,
    &text_grep_component,
    NULL,
};

static const sl_plugin text_plugin = {
    SL_PLUGIN_HEADER,
    "text", /* name: the file is text.so */
    "0.1.0",
    "text functions: split, lower, upper, strip, contains, grep",
    "MIT",
    text_components,
};

SL_PLUGIN_ENTRY(text_plugin)

/*
 * test_text.c — plugins/text/text.c: text.split on whitespace, through the
 * engine, against a reference implementation of Python's bytes.split().
 *
 * The split finds word boundaries 64 bytes at a time (SSE2 or SWAR), so the
 * cases aim at the block edges: words of 15..65 bytes, words that cross 16-
 * and 64-byte boundaries, values of every length around 64, values at odd
 * addresses, bytes next to the whitespace ones (0x08, 0x0e, 0x1f, 0x21) and
 * bytes that are whitespace only with the high bit stripped (0x89, 0xa0).
 *
 * The values are binary, so they do not come from JSON: the queue carries
 * case numbers, a C map turns number i into the pair (i, case i's bytes) —
 * pointing into a malloc block that ends exactly where the value ends, so
 * that ASan sees any read past it — and flat_map_values text.split keeps i
 * as the key of every word. The collector checks each word against the
 * reference, and that it is a slice of case i's bytes (zero copy).
 */
#define UNIT_ENGINE
#include "unit.h"

/* ---- the cases ------------------------------------------------------------------ */

typedef struct text_case {
    unsigned char *block; /* malloc'd: `off` bytes of 'x', then the value */
    size_t off, len;
} text_case;

typedef struct text_cases {
    text_case *c;
    size_t n, cap;
} text_cases;

/* Add a copy of the `len` bytes at p as a value that starts `off` bytes
 * into its block (the bytes before it are 'x', not whitespace: a split
 * that looked before the value would glue them to its first word). */
static void cases_add_at(text_cases *cs, const void *p, size_t len, size_t off) {
    if (cs->n == cs->cap) {
        cs->cap = cs->cap ? cs->cap * 2 : 256;
        cs->c = realloc(cs->c, cs->cap * sizeof *cs->c);
        CU_ASSERT_PTR_NOT_NULL_FATAL(cs->c);
    }
    unsigned char *block = malloc(off + len ? off + len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(block);
    memset(block, 'x', off);
    if (len)
        memcpy(block + off, p, len);
    cs->c[cs->n++] = (text_case){block, off, len};
}

static void cases_add(text_cases *cs, const void *p, size_t len) {
    cases_add_at(cs, p, len, 0);
}

/* A NUL-terminated case (for the ones without NUL bytes). */
static void cases_add_str(text_cases *cs, const char *s) {
    cases_add(cs, s, strlen(s));
}

static void cases_free(text_cases *cs) {
    for (size_t i = 0; i < cs->n; i++)
        free(cs->c[i].block);
    free(cs->c);
    memset(cs, 0, sizeof *cs);
}

static const unsigned char *case_value(const text_case *c) {
    return c->block + c->off;
}

/* ---- the reference: Python's bytes.split() -------------------------------------- */

typedef struct ref_word {
    size_t at, len; /* offset in the value */
} ref_word;

static bool ref_is_ws(unsigned char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* The words of s[0..n) into w (room for n / 2 + 1); returns their count. */
static size_t ref_split(const unsigned char *s, size_t n, ref_word *w) {
    size_t count = 0, i = 0;
    while (i < n) {
        while (i < n && ref_is_ws(s[i]))
            i++;
        if (i == n)
            break;
        size_t start = i;
        while (i < n && !ref_is_ws(s[i]))
            i++;
        w[count++] = (ref_word){start, i - start};
    }
    return count;
}

/* ---- running text.split over the cases ------------------------------------------ */

/* sl_map_func: case number i -> (i, case i's bytes), zero copy. */
static int inject_fn(void *ud, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    const text_cases *cs = ud;
    for (size_t k = 0; k < in->count; k++) {
        const sl_record *r = &in->records[k];
        if (r->value.type != SL_INT || r->value.u.i < 0 || (size_t)r->value.u.i >= cs->n)
            return sl__error_set(err, SL_ETYPE, "inject: not a case number");
        const text_case *c = &cs->c[r->value.u.i];
        int rc = sl_emit_kv(out, r->value, sl_bytes(case_value(c), c->len), r->ts);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* One emitted word: its case number and where it points. */
typedef struct got_word {
    int64_t key;
    size_t seq; /* arrival order */
    const unsigned char *p;
    size_t len;
} got_word;

typedef struct got_words {
    got_word *w;
    size_t n, cap;
    size_t bad; /* records that are not (int, bytes) pairs */
} got_words;

/* sl_batch_func: keep every (i, word) in arrival order. The words point
 * into the cases' blocks, which outlive the run. */
static int got_cb(void *ud, int64_t t, const sl_record *recs, size_t n, sl_error *err) {
    (void)t;
    got_words *g = ud;
    for (size_t k = 0; k < n; k++) {
        if (recs[k].key.type != SL_INT || recs[k].value.type != SL_BYTES) {
            g->bad++;
            continue;
        }
        if (g->n == g->cap) {
            size_t cap = g->cap ? g->cap * 2 : 1024;
            got_word *w = realloc(g->w, cap * sizeof *w);
            if (!w)
                return sl__error_set(err, SL_ENOMEM, "collector: out of memory");
            g->w = w;
            g->cap = cap;
        }
        g->w[g->n] = (got_word){recs[k].key.u.i, g->n, (const unsigned char *)recs[k].value.u.s,
                                recs[k].value.len};
        g->n++;
    }
    return 0;
}

static int got_cmp(const void *a, const void *b) {
    const got_word *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A queue file of the case numbers 0..n-1, `per_batch` to a line. */
static const char *case_queue(size_t n, size_t per_batch) {
    size_t cap = n * 12 + 64, len = 0;
    char *text = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    for (size_t i = 0; i < n; i += per_batch) {
        len += (size_t)snprintf(text + len, cap - len, "[");
        for (size_t k = i; k < n && k < i + per_batch; k++)
            len += (size_t)snprintf(text + len, cap - len, "%s%zu", k > i ? "," : "", k);
        len += (size_t)snprintf(text + len, cap - len, "]\n");
    }
    const char *path = unit_queue_file(text);
    free(text);
    return path;
}

/* Print up to 40 bytes of s, escaped, into buf. */
static const char *show(const unsigned char *s, size_t n, char *buf, size_t cap) {
    size_t k = 0;
    for (size_t i = 0; i < n && i < 40 && k + 5 < cap; i++)
        k +=
            (size_t)snprintf(buf + k, cap - k, s[i] > 0x20 && s[i] < 0x7f ? "%c" : "\\x%02x", s[i]);
    snprintf(buf + k, cap - k, "%s", n > 40 ? "..." : "");
    return buf;
}

/* Compare the words of case i (g->w[*pos...], sorted by key) with the
 * reference; advances *pos past them. Returns true if they agree. */
static bool check_case(const text_cases *cs, size_t i, const got_words *g, size_t *pos,
                       ref_word *ref) {
    const text_case *c = &cs->c[i];
    const unsigned char *v = case_value(c);
    size_t want = ref_split(v, c->len, ref), got = 0;
    char a[256], b[256], d[256];
    bool ok = true;
    for (; *pos < g->n && g->w[*pos].key == (int64_t)i; (*pos)++, got++) {
        const got_word *w = &g->w[*pos];
        if (!ok || got >= want)
            continue;
        /* the same slice of the value, not just the same bytes: zero copy */
        if (w->p != v + ref[got].at || w->len != ref[got].len) {
            bool same_bytes = w->len == ref[got].len && memcmp(w->p, v + ref[got].at, w->len) == 0;
            unit_check(false, __FILE__, __LINE__,
                       "case %zu (len %zu, off %zu) word %zu: got \"%s\" (%zu bytes%s), want "
                       "\"%s\" (%zu bytes at %zu); value \"%s\"",
                       i, c->len, c->off, got, show(w->p, w->len, a, sizeof a), w->len,
                       same_bytes ? ", a copy" : "",
                       show(v + ref[got].at, ref[got].len, b, sizeof b), ref[got].len, ref[got].at,
                       show(v, c->len, d, sizeof d));
            ok = false;
        }
    }
    if (ok && got != want) {
        unit_check(false, __FILE__, __LINE__,
                   "case %zu (len %zu, off %zu): %zu words, want %zu; "
                   "value \"%s\"",
                   i, c->len, c->off, got, want, show(v, c->len, a, sizeof a));
        ok = false;
    }
    return ok;
}

/* Run every case through flat_map_values text.split (`workers` workers,
 * `per_batch` cases a batch) and check every word of every case; at most 20
 * failing cases are reported. */
static void run_cases(const text_cases *cs, int workers, size_t per_batch) {
    sl_context *ctx = ctx_new(workers);
    got_words g = {0};
    sl_stream *in = sl_queue_stream(ctx, case_queue(cs->n, per_batch));
    sl_stream *words = sl_flat_map_values(sl_map_fn(in, inject_fn, (void *)cs), "text.split", NULL);
    CU_ASSERT_EQUAL(sl_foreach_batch(words, got_cb, &g), 0);
    RUN(ctx, (int64_t)((cs->n + per_batch - 1) / per_batch));
    ASSERT_INT_EQ(g.bad, 0);
    qsort(g.w, g.n, sizeof *g.w, got_cmp);
    size_t maxlen = 0, pos = 0, failed = 0, want_total = 0;
    for (size_t i = 0; i < cs->n; i++)
        maxlen = cs->c[i].len > maxlen ? cs->c[i].len : maxlen;
    ref_word *ref = malloc((maxlen / 2 + 1) * sizeof *ref);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
    for (size_t i = 0; i < cs->n; i++) {
        want_total += ref_split(case_value(&cs->c[i]), cs->c[i].len, ref);
        if (failed < 20 && !check_case(cs, i, &g, &pos, ref))
            failed++;
        while (pos < g.n && g.w[pos].key == (int64_t)i) /* skip the rest after 20 failures */
            pos++;
    }
    ASSERT_INT_EQ(failed, 0);
    ASSERT_INT_EQ(pos, g.n); /* no word with a key that is not a case number */
    ASSERT_INT_EQ(g.n, want_total);
    free(ref);
    free(g.w);
    sl_context_free(ctx);
}

/* ---- tests ---------------------------------------------------------------------- */

static const char ws6[] = " \t\n\v\f\r"; /* Python's bytes.split() whitespace */

/* A word of n bytes: letters, a NUL and high bytes. */
static void fill_word(unsigned char *d, size_t n, unsigned seed) {
    static const unsigned char alpha[] = "abcdefghij\0\x80\xff\x21\x08\x0e\x1f\x89\xa0";
    for (size_t i = 0; i < n; i++)
        d[i] = alpha[(i * 7 + seed) % (sizeof alpha - 1)];
}

/* The hand-written edge cases. */
static void add_edge_cases(text_cases *cs) {
    static const char *const strs[] = {
        "",
        " ",
        "      ",
        " \t\n\v\f\r",
        "\r\f\v\n\t ",
        "a",
        "a ",
        " a",
        " a ",
        "ab cd",
        "  leading",
        "trailing  ",
        "  both  ",
        "a  b\t\tc\n\nd",
        "one\r\ntwo\r\n",
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        cases_add_str(cs, strs[i]);
    /* each whitespace byte alone, and as the separator of words */
    for (size_t k = 0; k < 6; k++) {
        char s[32];
        cases_add(cs, &ws6[k], 1);
        snprintf(s, sizeof s, "a%cb", ws6[k]);
        cases_add_str(cs, s);
        snprintf(s, sizeof s, "%cab%c%ccd%c", ws6[k], ws6[k], ws6[k], ws6[k]);
        cases_add_str(cs, s);
    }
    /* not whitespace: NUL, high bytes, the neighbours of the whitespace
     * bytes, and the C1 / Latin-1 spaces that str (not bytes) splits on */
    static const unsigned char notws[] = {0x00, 0x80, 0xff, 0x08, 0x0e, 0x1f, 0x21, 0x1c,
                                          0x1d, 0x1e, 0x85, 0xa0, 0x89, 0x8a, 0x7f, 0x01};
    for (size_t k = 0; k < sizeof notws; k++) {
        unsigned char s[] = {'a', notws[k], 'b', ' ', notws[k], ' ', notws[k]};
        cases_add(cs, s, sizeof s);
        cases_add(cs, &notws[k], 1);
    }
    static const unsigned char nul[] = "\0a\0 \0\0 b\0c \x80\xff \xc3\xa9t\xc3\xa9";
    cases_add(cs, nul, sizeof nul - 1);
    /* words of the block-edge lengths, alone, padded, and as the value */
    static const size_t lens[] = {1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129};
    unsigned char buf[512];
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t n = lens[k];
        fill_word(buf, n, (unsigned)k);
        cases_add(cs, buf, n);
        buf[0] = ' ';
        fill_word(buf + 1, n, (unsigned)k);
        buf[n + 1] = '\n';
        cases_add(cs, buf, n + 2);
        memset(buf, ' ', n); /* all whitespace, n bytes */
        cases_add(cs, buf, n);
        for (size_t i = 0; i < n; i++) /* one-byte words: the most edges */
            buf[i] = i % 2 ? (unsigned char)ws6[i % 6] : 'w';
        cases_add(cs, buf, n);
        for (size_t i = 0; i < n; i++)
            buf[i] = i % 2 ? 'w' : (unsigned char)ws6[i % 6];
        cases_add(cs, buf, n);
    }
    /* a word of each length m at each offset k: crosses the 16- and
     * 64-byte boundaries at every position */
    static const size_t ms[] = {1, 2, 15, 16, 17, 63, 64, 65};
    for (size_t k = 0; k <= 130; k++)
        for (size_t j = 0; j < sizeof ms / sizeof ms[0]; j++) {
            size_t m = ms[j];
            memset(buf, ' ', k);
            fill_word(buf + k, m, (unsigned)(k + j));
            buf[k + m] = '\t';
            buf[k + m + 1] = 'z';
            cases_add(cs, buf, k + m + 2);
            cases_add(cs, buf, k + m); /* the word ends the value */
        }
    /* one word of 10,000 bytes, the same with whitespace around it, and
     * 6,000 one-byte words (more than an emitter holds: it flushes) */
    static unsigned char big[12002];
    fill_word(big, 10000, 3);
    cases_add(cs, big, 10000);
    memmove(big + 1, big, 10000);
    big[0] = '\v';
    big[10001] = '\f';
    cases_add(cs, big, 10002);
    for (size_t i = 0; i < 12000; i++)
        big[i] = i % 2 ? (unsigned char)ws6[i % 6] : (unsigned char)('a' + i % 26);
    cases_add(cs, big, 12000);
}

/* A small deterministic PRNG (xorshift64*), so that the cases are the same
 * on every platform. */
static uint64_t rng_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Du;
}

/* `count` random values of 0..300 bytes over an alphabet heavy in
 * whitespace and in the bytes next to it; each value draws its own share of
 * whitespace, so that some have long words and some long runs of spaces. */
static void add_random_cases(text_cases *cs, size_t count, uint64_t seed) {
    static const unsigned char other[] = {0x00, 0x80, 0xff, 0x08, 0x0e, 0x1f, 0x21, 0x89,
                                          0xa0, 0x8d, 0x7f, 'a',  'b',  'c',  'Z',  '0'};
    unsigned char buf[300];
    uint64_t s = seed;
    for (size_t i = 0; i < count; i++) {
        size_t len = rng_next(&s) % 301;
        unsigned ws_pct = (unsigned)(rng_next(&s) % 4) * 30 + 5; /* 5, 35, 65 or 95 % */
        for (size_t k = 0; k < len; k++) {
            uint64_t r = rng_next(&s);
            buf[k] = r % 100 < ws_pct ? (unsigned char)ws6[(r >> 8) % 6]
                                      : other[(r >> 8) % sizeof other];
        }
        cases_add(cs, buf, len);
    }
}

/* The hand-written cases, one batch of 500 cases after another. */
static void test_split_edges(void) {
    text_cases cs = {0};
    add_edge_cases(&cs);
    run_cases(&cs, 2, 500);
    cases_free(&cs);
}

/* 4,000 random values (fixed seed). */
static void test_split_random(void) {
    text_cases cs = {0};
    add_random_cases(&cs, 4000, 42);
    run_cases(&cs, 2, 500);
    cases_free(&cs);
}

/* The same values at every offset 1..63 from malloc's 16-byte alignment:
 * the split loads 16 bytes at a time from any address. */
static void test_split_unaligned(void) {
    text_cases edge = {0}, rnd = {0}, cs = {0};
    add_edge_cases(&edge);
    add_random_cases(&rnd, 500, 7);
    for (size_t i = 0; i < edge.n; i++)
        cases_add_at(&cs, case_value(&edge.c[i]), edge.c[i].len, 1 + i % 63);
    for (size_t i = 0; i < rnd.n; i++)
        cases_add_at(&cs, case_value(&rnd.c[i]), rnd.c[i].len, 1 + i % 63);
    /* a slice that starts in the middle of a word of its block: the word's
     * first half before the value must not join it */
    cases_add_at(&cs, "bc de", 5, 1);
    cases_add_at(&cs, "b", 1, 17);
    run_cases(&cs, 1, 1000);
    cases_free(&edge);
    cases_free(&rnd);
    cases_free(&cs);
}

/* Plain flat_map over JSON strings from the queue, as a pipeline reads
 * them: \u escapes for the control bytes, UTF-8 for the rest. */
static void test_split_queue_strings(void) {
    sl_context *ctx = ctx_new(2);
    unit_collect c = {0};
    sl_stream *in =
        queue(ctx, "[\"\", \" \\t\\n\\u000b\\f\\r \", \"a\\u000bb\\fc\\rd\", "
                   "\"x\\u0000y \\u001c\\u0085z\", \" caf\\u00e9  na\\u00efve \", "
                   "\"0123456789abcdefg 0123456789abcdef0123456789abcdef0123456789abcdef"
                   "0123456789abcdef_\"]\n");
    collect(sl_flat_map(in, "text.split", NULL), &c);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH(&c, 0), "'a', 'b', 'c', 'd', 'x\\x00y', '\\x1c\\x85z', 'caf\xc3\xa9', "
                                "'na\xc3\xafve', '0123456789abcdefg', "
                                "'0123456789abcdef0123456789abcdef0123456789abcdef"
                                "0123456789abcdef_'");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

UNIT_MAIN("text", {"split: edge cases", test_split_edges},
          {"split: random values", test_split_random},
          {"split: unaligned values", test_split_unaligned},
          {"split: JSON strings from the queue", test_split_queue_strings})

/*
 * test_queue.c — the queue source's string elements, byte for byte.
 *
 * A string element without escapes is copied as it is (a scan eight bytes
 * at a time for '"', '\' and control characters); any other goes to the
 * host's JSON parser. These tests put every kind of character at every
 * position of the first 24 bytes of a string (so on both sides of each
 * 8-byte step) and compare the values the engine receives with the decoded
 * strings, byte for byte; raw control characters must still be refused,
 * naming the file and line.
 */
#define UNIT_ENGINE
#include "unit.h"

#define QMAX 32   /* prefix lengths 0..QMAX-1 */
#define QKINDS 7  /* what follows the prefix, below */
#define QVAL 1200 /* longest expected value */

/* Values as received: bytes of each element, in order. */
typedef struct qvals {
    size_t n;
    char *v[QMAX * QKINDS + 8];
    size_t len[QMAX * QKINDS + 8];
    int bad; /* elements that were not bytes */
} qvals;

static int qcollect(void *ud, int64_t t, const sl_record *recs, size_t n, sl_error *err) {
    (void)t;
    (void)err;
    qvals *q = ud;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].value.type != SL_BYTES || q->n == sizeof q->v / sizeof q->v[0]) {
            q->bad++;
            continue;
        }
        q->v[q->n] = malloc(recs[i].value.len + 1);
        memcpy(q->v[q->n], recs[i].value.u.s, recs[i].value.len);
        q->len[q->n++] = recs[i].value.len;
    }
    return 0;
}

/* Element k of prefix length p: its JSON text and the bytes it decodes to. */
static void qelement(int p, int kind, char *json, char *want, size_t *wlen) {
    size_t j = 0, w = 0;
    json[j++] = '"';
    for (int i = 0; i < p; i++)
        json[j++] = want[w++] = (char)('a' + i % 26);
    switch (kind) {
    case 0: /* plain: the string ends here */
        break;
    case 1: /* an escaped quote */
        memcpy(json + j, "\\\"q", 3), j += 3;
        memcpy(want + w, "\"q", 2), w += 2;
        break;
    case 2: /* an escaped backslash */
        memcpy(json + j, "\\\\b", 3), j += 3;
        memcpy(want + w, "\\b", 2), w += 2;
        break;
    case 3: /* a \u escape */
        memcpy(json + j, "\\u00e9z", 7), j += 7;
        memcpy(want + w, "\xc3\xa9z", 3), w += 3;
        break;
    case 4: /* raw UTF-8 and DEL: not special in JSON */
        memcpy(json + j, "\xc3\xa9\x7f\xff-", 5), j += 5;
        memcpy(want + w, "\xc3\xa9\x7f\xff-", 5), w += 5;
        break;
    case 5: /* '/' and characters around the special ones */
        memcpy(json + j, "/!#[]{}:,", 9), j += 9;
        memcpy(want + w, "/!#[]{}:,", 9), w += 9;
        break;
    default: /* a long plain tail */
        for (int i = 0; i < 1000; i++)
            json[j++] = want[w++] = (char)('A' + i % 26);
        break;
    }
    json[j++] = '"';
    json[j] = 0;
    *wlen = w;
}

/* Every element kind at every prefix length, in one batch, arrives as its
 * decoded bytes. */
static void test_strings(void) {
    static char line[QMAX * QKINDS * 1100 + 64];
    static char want[QMAX * QKINDS][QVAL];
    size_t wlen[QMAX * QKINDS];
    size_t off = 0, n = 0;
    line[off++] = '[';
    for (int p = 0; p < QMAX; p++) {
        for (int k = 0; k < QKINDS; k++, n++) {
            char json[QVAL + 16];
            qelement(p, k, json, want[n], &wlen[n]);
            off += (size_t)snprintf(line + off, sizeof line - off, "%s%s", n ? ", " : "", json);
        }
    }
    line[off++] = ']';
    line[off++] = '\n';
    line[off] = 0;
    sl_context *ctx = ctx_new(1);
    qvals q = {0};
    ASSERT_INT_EQ(sl_foreach_batch(queue(ctx, line), qcollect, &q), 0);
    RUN(ctx, 1);
    ASSERT_INT_EQ(q.bad, 0);
    ASSERT_INT_EQ(q.n, n);
    int wrong = 0;
    for (size_t i = 0; i < q.n && i < n; i++) {
        if (q.len[i] != wlen[i] || memcmp(q.v[i], want[i], wlen[i]) != 0) {
            if (wrong++ < 5)
                fprintf(stderr, "element %zu: got %zu bytes '%.*s', want %zu bytes '%.*s'\n", i,
                        q.len[i], (int)q.len[i], q.v[i], wlen[i], (int)wlen[i], want[i]);
        }
    }
    ASSERT_INT_EQ(wrong, 0);
    for (size_t i = 0; i < q.n; i++)
        free(q.v[i]);
    sl_context_free(ctx);
}

/* A raw control character (here \x01 and a tab) anywhere in a string is
 * invalid JSON: the run fails naming the file's line, plain prefix or not. */
static void test_control_characters(void) {
    for (int p = 0; p < 20; p++) {
        for (int c = 0; c < 2; c++) {
            char line[64];
            int n = snprintf(line, sizeof line, "[\"ok\"]\n[\"%.*s%cz\"]\n", p,
                             "abcdefghijklmnopqrstuvwxyz", c ? '\t' : '\x01');
            CU_ASSERT_FATAL(n > 0 && n < (int)sizeof line);
            sl_context *ctx = ctx_new(1);
            qvals q = {0};
            ASSERT_INT_EQ(sl_foreach_batch(queue(ctx, line), qcollect, &q), 0);
            ASSERT_INT_EQ(sl_context_start(ctx), 0);
            ASSERT_INT_EQ(sl_context_await_termination(ctx), SL_EINVAL);
            ASSERT_CONTAINS(sl_context_errmsg(ctx), ":2: element 1");
            ASSERT_CONTAINS(sl_context_errmsg(ctx), "control character");
            ASSERT_INT_EQ(q.n, 1); /* the first batch only */
            for (size_t i = 0; i < q.n; i++)
                free(q.v[i]);
            sl_context_free(ctx);
        }
    }
}

/* Objects are elements (ABI 1.4): order and duplicate names kept, nested
 * anywhere; only an object of exactly "key" and "value" is a pair. */
static void test_objects(void) {
    sl_context *ctx = ctx_new(1);
    unit_collect c = {0};
    collect(queue(ctx,
                  "[{\"user\": \"ann\", \"amount\": 3}, {\"key\": \"k\", \"value\": "
                  "{\"a\": [1, {}]}}, {\"value\": 1, \"key\": null}, {\"key\": 1, \"value\": 2, "
                  "\"x\": 3}, {\"a\": 1, \"a\": 2}, {}]\n"),
            &c);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH(&c, 0), "{'user': 'ann', 'amount': 3}, ('k', {'a': (1, {})}), (None, 1), "
                                "{'key': 1, 'value': 2, 'x': 3}, {'a': 1, 'a': 2}, {}");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

/* Objects as keys: equal objects meet in one key across workers (hash and
 * comparison); another field order is another key. */
static void test_object_keys(void) {
    sl_context *ctx = ctx_new(3);
    unit_collect c = {0};
    const char *line = "[{\"key\": {\"u\": \"a\", \"n\": 1}, \"value\": 1}, "
                       "{\"key\": {\"u\": \"b\"}, \"value\": 5}, "
                       "{\"key\": {\"u\": \"a\", \"n\": 1}, \"value\": 2}, "
                       "{\"key\": {\"n\": 1, \"u\": \"a\"}, \"value\": 7}]\n";
    collect(sl_reduce_by_key(queue(ctx, line), "agg.sum", NULL), &c);
    RUN(ctx, 1);
    ASSERT_STR_EQ(BATCH_SORTED(&c, 0),
                  "({'n': 1, 'u': 'a'}, 7), ({'u': 'a', 'n': 1}, 3), ({'u': 'b'}, 5)");
    unit_collect_free(&c);
    sl_context_free(ctx);
}

UNIT_MAIN("queue", {"objects", test_objects}, {"objects as keys", test_object_keys},
          {"string elements, byte for byte", test_strings},
          {"raw control characters refused", test_control_characters})

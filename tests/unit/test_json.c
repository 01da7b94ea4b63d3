/*
 * test_json.c — core/src/json.c: the strict JSON parser behind
 * host->json_parse (queue source, kv.pair's value).
 *
 * Every input is parsed from an exact-size heap copy without a terminating
 * NUL, so that AddressSanitizer catches any read past the end.
 */
#include <math.h>

#include "unit.h"

static sl__arena arena;
static sl_mem mem;
static sl_error err;
static sl_value out;

/* Parse text[0..len) from an exact-size copy; returns the parser's code. */
static int parse_n(const char *text, size_t len) {
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return SL_ENOMEM;
    if (len)
        memcpy(copy, text, len);
    memset(&err, 0, sizeof err);
    out = sl_null();
    int rc = sl__json_parse(copy, len, &out, &mem, &err);
    free(copy);
    return rc;
}

static int parse(const char *text) {
    return parse_n(text, strlen(text));
}

/* The parsed value as repr, in a static buffer. */
static const char *parsed_repr(void) {
    static char buf[1024];
    sl__value_format(&out, SL_FORMAT_REPR, buf, sizeof buf);
    return buf;
}

/* `text` parses and its value reads back as `want` (repr). */
#define ASSERT_PARSES(text, want)                                                                  \
    do {                                                                                           \
        int rc_ = parse(text);                                                                     \
        unit_check(rc_ == 0, __FILE__, __LINE__, "parse(%s) == 0 (got %d: %s)", #text, rc_,        \
                   err.msg);                                                                       \
        if (rc_ == 0)                                                                              \
            ASSERT_STR_EQ(parsed_repr(), want);                                                    \
    } while (0)

/* `text` is refused with SL_EINVAL and a message containing `what`. */
#define ASSERT_REFUSED(text, what)                                                                 \
    do {                                                                                           \
        int rc_ = parse(text);                                                                     \
        unit_check(rc_ == SL_EINVAL, __FILE__, __LINE__, "parse(%s) == SL_EINVAL (got %d, %s)",    \
                   #text, rc_, rc_ == 0 ? parsed_repr() : "");                                     \
        ASSERT_CONTAINS(err.msg, what);                                                            \
    } while (0)

static void setup(void) {
    sl__arena_init(&arena, 4096);
    sl__arena_mem(&arena, &mem);
}

static void teardown(void) {
    sl__arena_free(&arena);
}

/* Numbers: ints stay int64, anything with a fraction or exponent is double. */
static void test_numbers(void) {
    setup();
    ASSERT_PARSES("42", "42");
    ASSERT_INT_EQ(out.type, SL_INT);
    ASSERT_PARSES("0", "0");
    ASSERT_PARSES("-0", "0");
    ASSERT_PARSES("-17", "-17");
    ASSERT_PARSES("2.5", "2.5");
    ASSERT_INT_EQ(out.type, SL_DOUBLE);
    ASSERT_PARSES("1e3", "1000.0");
    ASSERT_INT_EQ(out.type, SL_DOUBLE);
    ASSERT_PARSES("-1.5E-2", "-0.015");
    ASSERT_PARSES("1E+2", "100.0");
    ASSERT_PARSES("0.1", "0.1");
    teardown();
}

/* int64 edges: the extremes are ints, one past them becomes a double. */
static void test_int64_edges(void) {
    setup();
    ASSERT_PARSES("9223372036854775807", "9223372036854775807");
    ASSERT_INT_EQ(out.type, SL_INT);
    CU_ASSERT(out.u.i == INT64_MAX);
    ASSERT_PARSES("-9223372036854775808", "-9223372036854775808");
    ASSERT_INT_EQ(out.type, SL_INT);
    CU_ASSERT(out.u.i == INT64_MIN);
    ASSERT_PARSES("9223372036854775808", "9.223372036854776e+18");
    ASSERT_INT_EQ(out.type, SL_DOUBLE);
    CU_ASSERT(out.u.d == 9223372036854775808.0);
    ASSERT_PARSES("-9223372036854775809", "-9.223372036854776e+18");
    ASSERT_INT_EQ(out.type, SL_DOUBLE);
    ASSERT_PARSES("123456789012345678901234567890", "1.2345678901234568e+29");
    teardown();
}

/* Past a double's range: refused at the number (infinity would print back
 * as null); the largest double and an underflow to zero are numbers. Found
 * by fuzz_json's round trip ([1e400] came back as [null]). */
static void test_double_range(void) {
    setup();
    ASSERT_PARSES("1.7976931348623157e308", "1.7976931348623157e+308");
    ASSERT_PARSES("1e-400", "0.0");
    ASSERT_REFUSED("[1,1e400]", "byte 3");
    ASSERT_CONTAINS(err.msg, "number out of the range of a double");
    ASSERT_REFUSED("-1e309", "out of the range");
    ASSERT_REFUSED("1797693134862315807937289714053034150799341327710963552310001e250",
                   "out of the range");
    ASSERT_REFUSED("{\"a\":1e323372036854775807}", "byte 5");
    teardown();
}

/* Strings: every escape of RFC 8259 decodes to its byte. */
static void test_string_escapes(void) {
    setup();
    ASSERT_PARSES("\"abc\"", "'abc'");
    ASSERT_INT_EQ(out.type, SL_BYTES);
    ASSERT_PARSES("\"\"", "''");
    ASSERT_INT_EQ(out.len, 0);
    CU_ASSERT_EQUAL(parse("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\""), 0);
    const char want[] = "\" \\ / \b \f \n \r \t";
    ASSERT_INT_EQ(out.len, sizeof want - 1);
    CU_ASSERT(out.type == SL_BYTES && memcmp(out.u.s, want, sizeof want - 1) == 0);
    ASSERT_PARSES("\"\\u0041\\u0062\"", "'Ab'");
    CU_ASSERT_EQUAL(parse("\"a\\u0000b\""), 0);
    ASSERT_INT_EQ(out.len, 3);
    CU_ASSERT(out.type == SL_BYTES && memcmp(out.u.s, "a\0b", 3) == 0);
    /* raw UTF-8 passes through */
    ASSERT_PARSES("\"caf\xc3\xa9\"", "'caf\xc3\xa9'");
    teardown();
}

/* \u escapes become UTF-8: one, two, three and four bytes (surrogate pairs). */
static void test_unicode_escapes(void) {
    setup();
    ASSERT_PARSES("\"\\u00e9\"", "'\xc3\xa9'");
    ASSERT_INT_EQ(out.len, 2);
    ASSERT_PARSES("\"\\u00E9\"", "'\xc3\xa9'");
    ASSERT_PARSES("\"\\u20ac\"", "'\xe2\x82\xac'");
    ASSERT_INT_EQ(out.len, 3);
    ASSERT_PARSES("\"\\ud83d\\ude00\"", "'\xf0\x9f\x98\x80'");
    ASSERT_INT_EQ(out.len, 4);
    ASSERT_PARSES("\"x\\uD83D\\uDE00y\"", "'x\xf0\x9f\x98\x80y'");
    teardown();
}

/* A surrogate that is not part of a pair is an error, not mojibake, except
 * \udc80..\udcff: the raw byte 0x80..0xff (Python's surrogateescape). */
static void test_lone_surrogates(void) {
    setup();
    ASSERT_REFUSED("\"\\ud83d\"", "surrogate");
    ASSERT_REFUSED("\"\\ude00\"", "surrogate");
    ASSERT_REFUSED("\"\\udc7f\"", "surrogate");
    ASSERT_REFUSED("\"\\udd00\"", "surrogate");
    ASSERT_REFUSED("\"\\udbff\"", "surrogate");
    ASSERT_REFUSED("\"\\ud83dx\"", "surrogate");
    ASSERT_REFUSED("\"\\ud83d\\u0041\"", "surrogate");
    ASSERT_REFUSED("\"\\ud83d\\ud83d\"", "surrogate");
    ASSERT_REFUSED("\"\\ud83dx\\udcff\"", "surrogate");
    ASSERT_PARSES("\"\\udcff\"", "'\\udcff'");
    ASSERT_INT_EQ(out.len, 1);
    CU_ASSERT_EQUAL((unsigned char)out.u.s[0], 0xff);
    ASSERT_PARSES("\"a\\udc80\\uDCC3b\"", "'a\\udc80\\udcc3b'");
    CU_ASSERT(out.len == 4 && memcmp(out.u.s,
                                     "a\x80\xc3"
                                     "b",
                                     4) == 0);
    /* a high surrogate before one is still a pair: U+10000 */
    ASSERT_PARSES("\"\\ud800\\udc80\"", "'\xf0\x90\x82\x80'");
    teardown();
}

/* Every byte string of one and two bytes (all 65,792) written as JSON and
 * parsed again is the same bytes: invalid UTF-8 goes out as \udcXY and
 * comes back as the byte. */
static void test_bytes_round_trip(void) {
    setup();
    char text[64];
    for (unsigned n = 0; n < 256 + 65536; n++) {
        unsigned char b[2] = {(unsigned char)(n < 256 ? n : (n - 256) >> 8), (unsigned char)n};
        size_t len = n < 256 ? 1 : 2;
        sl_value v = sl_bytes(n < 256 ? b + 1 : b, len);
        size_t tl = sl__value_format(&v, SL_FORMAT_JSON, text, sizeof text);
        int rc = parse_n(text, tl);
        if (rc != 0 || out.type != SL_BYTES || out.len != len ||
            memcmp(out.u.s, n < 256 ? b + 1 : b, len) != 0) {
            unit_check(0, __FILE__, __LINE__, "bytes %u (%.*s) read back the same (rc %d)", n,
                       (int)tl, text, rc);
            break;
        }
    }
    teardown();
}

/* true/false are bools (ABI 1.7; before, the ints 1/0), null is null;
 * a literal must be whole and lower-case. */
static void test_literals(void) {
    setup();
    ASSERT_PARSES("true", "True");
    ASSERT_INT_EQ(out.type, SL_BOOL);
    ASSERT_INT_EQ(out.u.i, 1);
    ASSERT_INT_EQ(out.len, 0);
    ASSERT_PARSES("false", "False");
    ASSERT_INT_EQ(out.type, SL_BOOL);
    ASSERT_INT_EQ(out.u.i, 0);
    ASSERT_PARSES("null", "None");
    ASSERT_INT_EQ(out.type, SL_NULL);
    ASSERT_PARSES("[true,false,null]", "(True, False, None)");
    ASSERT_PARSES(" true ", "True");
    ASSERT_REFUSED("True", "unexpected character");
    ASSERT_REFUSED("tru", "unexpected character");
    ASSERT_REFUSED("truex", "trailing characters");
    ASSERT_REFUSED("[falsey]", "expected ',' or ']'");
    teardown();
}

/* Arrays nest; objects are SL_OBJECT values in document order. */
static void test_arrays_objects(void) {
    setup();
    ASSERT_PARSES("[]", "()");
    ASSERT_INT_EQ(out.type, SL_LIST);
    ASSERT_PARSES("[1]", "(1,)");
    ASSERT_PARSES("[1, \"a\", [2, []], null, 2.5]", "(1, 'a', (2, ()), None, 2.5)");
    ASSERT_PARSES("{}", "{}");
    ASSERT_INT_EQ(out.type, SL_OBJECT);
    ASSERT_PARSES("{\"a\": 1}", "{'a': 1}");
    ASSERT_PARSES("{\"z\": 1, \"a\": [true, {\"b\": null}]}", "{'z': 1, 'a': (True, {'b': None})}");
    ASSERT_PARSES("[{\"key\": \"k\", \"value\": 2}]", "({'key': 'k', 'value': 2},)");
    /* many items (the temporary array grows) */
    char big[8192];
    size_t len = 0;
    big[len++] = '[';
    for (int i = 0; i < 1000; i++)
        len += (size_t)snprintf(big + len, sizeof big - len, "%s%d", i ? "," : "", i);
    big[len++] = ']';
    CU_ASSERT_EQUAL(parse_n(big, len), 0);
    ASSERT_INT_EQ(out.type, SL_LIST);
    ASSERT_INT_EQ(out.len, 1000);
    CU_ASSERT(out.len == 1000 && out.u.items[999].u.i == 999);
    teardown();
}

/* JSON whitespace (space, tab, CR, LF) is allowed around every token. */
static void test_whitespace(void) {
    setup();
    ASSERT_PARSES(" \t\r\n[ 1 ,\n2\t] \n", "(1, 2)");
    ASSERT_PARSES("{ \"a\" :\t1 , \"b\" : [ ] }", "{'a': 1, 'b': ()}");
    ASSERT_PARSES("  7  ", "7");
    teardown();
}

/* Errors name the byte offset where the problem was found and what it is. */
static void test_error_offsets(void) {
    setup();
    ASSERT_REFUSED("1 x", "byte 2");
    ASSERT_CONTAINS(err.msg, "trailing characters");
    ASSERT_REFUSED("[1] []", "byte 4");
    ASSERT_REFUSED("\"abc", "byte 4");
    ASSERT_CONTAINS(err.msg, "unterminated string");
    ASSERT_REFUSED("\"a\x01z\"", "byte 2");
    ASSERT_CONTAINS(err.msg, "control character");
    ASSERT_REFUSED("\"a\nb\"", "control character");
    ASSERT_REFUSED("01", "byte 1");
    ASSERT_CONTAINS(err.msg, "trailing characters");
    ASSERT_REFUSED("", "byte 0");
    ASSERT_REFUSED("   ", "byte 3");
    ASSERT_REFUSED("[1,]", "byte 3");
    teardown();
}

/* A bad escape is refused, at the escape. */
static void test_bad_escape(void) {
    setup();
    int rc = parse("\"a\\qb\"");
    ASSERT_INT_EQ(rc, SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "escape");
    unit_check(strstr(err.msg, "byte 2") || strstr(err.msg, "byte 3"), __FILE__, __LINE__,
               "bad escape message names byte 2 or 3 (got \"%s\")", err.msg);
    ASSERT_REFUSED("\"\\x41\"", "escape");
    ASSERT_REFUSED("\"\\u12\"", "\\u");
    ASSERT_REFUSED("\"\\u12G4\"", "\\u");
    ASSERT_REFUSED("\"\\U0041\"", "escape");
    teardown();
}

/* Everything else that is not JSON is refused. */
static void test_not_json(void) {
    static const char *const bad[] = {
        "[1 2]",     "[",    "]",      "{\"a\" 1}", "{1: 2}",      "{\"a\": 1,}",
        "{\"a\"}",   "tru",  "nul",    "t",         "-",           "1.",
        ".5",        "+1",   "1e",     "1e+",       "NaN",         "Infinity",
        "-Infinity", "'a'",  "[1,,2]", "{,}",       "\"a\" \"b\"", "[1]]",
        "x",         "0x10", "1 2",    "--1",       "[-]",         "{\"a\":}"};
    setup();
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = parse(bad[i]);
        unit_check(rc == SL_EINVAL, __FILE__, __LINE__, "parse('%s') == SL_EINVAL (got %d)", bad[i],
                   rc);
        unit_check(strstr(err.msg, "byte ") != NULL, __FILE__, __LINE__,
                   "error for '%s' names a byte offset (got \"%s\")", bad[i], err.msg);
    }
    teardown();
}

/* A document of `depth` nested arrays around `inner` ("" or a scalar). */
static char *nested(size_t depth, const char *inner, size_t *len) {
    size_t il = strlen(inner);
    char *s = malloc(2 * depth + il);
    if (!s)
        return NULL;
    memset(s, '[', depth);
    memcpy(s + depth, inner, il);
    memset(s + depth + il, ']', depth);
    *len = 2 * depth + il;
    return s;
}

/* Nesting up to 256 levels parses; deeper is an error, never a crash. */
static void test_nesting_limit(void) {
    size_t len;
    setup();
    char *ok = nested(256, "1", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ok);
    ASSERT_INT_EQ(parse_n(ok, len), 0);
    free(ok);
    char *deep = nested(257, "1", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(deep);
    ASSERT_INT_EQ(parse_n(deep, len), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "nesting");
    free(deep);
    char *huge = nested(100000, "", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
    ASSERT_INT_EQ(parse_n(huge, len), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "nesting");
    free(huge);
    /* objects count as levels too */
    char obj[4096];
    size_t n = 0;
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(obj + n, sizeof obj - n, "{\"a\":");
    n += (size_t)snprintf(obj + n, sizeof obj - n, "1");
    for (int i = 0; i < 300; i++)
        obj[n++] = '}';
    ASSERT_INT_EQ(parse_n(obj, n), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "nesting");
    teardown();
}

/* 257 levels of empty arrays exceed the 256-level limit as much as 257
 * levels around a scalar do. */
static void test_nesting_limit_empty(void) {
    size_t len;
    setup();
    char *deep = nested(257, "", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(deep);
    ASSERT_INT_EQ(parse_n(deep, len), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "nesting");
    free(deep);
    teardown();
}

/* Every proper prefix of a valid document is an error (never a crash or an
 * over-read), and the whole document parses. */
static void test_truncated_prefixes(void) {
    static const char doc[] = "{\"a\": [1, -2.5e3, \"x\\u00e9\\n\\ud83d\\ude00\", true, false, "
                              "null], \"b\": {\"c\": [], \"d\": {}}, \"e\": \"\xc3\xa9\"}";
    size_t len = sizeof doc - 1;
    setup();
    size_t accepted = 0;
    for (size_t n = 0; n < len; n++) {
        int rc = parse_n(doc, n);
        if (rc == 0) {
            accepted++;
            fprintf(stderr, "prefix of %zu bytes accepted: %.*s\n", n, (int)n, doc);
        } else if (rc != SL_EINVAL || !strstr(err.msg, "byte ")) {
            accepted++;
            fprintf(stderr, "prefix of %zu bytes: code %d, message '%s'\n", n, rc, err.msg);
        }
    }
    ASSERT_INT_EQ(accepted, 0);
    ASSERT_INT_EQ(parse_n(doc, len), 0);
    ASSERT_STR_EQ(parsed_repr(),
                  "{'a': (1, -2500.0, 'x\xc3\xa9\\n\xf0\x9f\x98\x80', True, False, None), "
                  "'b': {'c': (), 'd': {}}, 'e': '\xc3\xa9'}");
    teardown();
}

/* The value formatted as JSON, in a static buffer. */
static const char *parsed_json(void) {
    static char buf[4096];
    sl__value_format(&out, SL_FORMAT_JSON, buf, sizeof buf);
    return buf;
}

/* Compact JSON (Python's json.dumps(v, separators=(",", ":"),
 * ensure_ascii=False)) reads back byte for byte: order, duplicate names,
 * nesting, escapes and numbers. */
static void test_object_round_trip(void) {
    static const char *const same[] = {
        "{}",
        "{\"user\":\"ann\",\"amount\":3}",
        "{\"z\":1,\"a\":2,\"m\":{\"k\":[1,2.5,null,\"x\"],\"e\":{}}}",
        "{\"a\":1,\"a\":2}",
        "{\"\":\"\",\"q\\\"\":\"\\\\\\n\\t\\u0001\\b\\f\"}",
        "{\"caf\xc3\xa9\":\"\xf0\x9f\x98\x80\",\"n\":-12,\"d\":1e-07,\"big\":1e+22}",
        "[{\"a\":[]},{}]",
    };
    setup();
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        CU_ASSERT_EQUAL(parse(same[i]), 0);
        ASSERT_STR_EQ(parsed_json(), same[i]);
    }
    /* what is normalised: whitespace, escapes of plain characters, numbers */
    CU_ASSERT_EQUAL(parse("{ \"a\" : 1.50, \"\\u0041\" : 1E2 }"), 0);
    ASSERT_STR_EQ(parsed_json(), "{\"a\":1.5,\"A\":100.0}");
    teardown();
}

/* Duplicate names are kept in order; lookup finds the last (as JSON.parse
 * and Python's json.loads); dotted paths walk objects and lists. */
static void test_object_lookup(void) {
    setup();
    CU_ASSERT_EQUAL(parse("{\"a\":1,\"b\":{\"c\":[10,{\"d\":\"x\"}]},\"a\":2}"), 0);
    ASSERT_INT_EQ(out.len, 3);
    const sl_value *a = sl_object_get(&out, "a");
    CU_ASSERT(a && a->type == SL_INT && a->u.i == 2);
    CU_ASSERT_PTR_NULL(sl_object_get(&out, "nope"));
    const sl_value *d = sl_object_path(&out, "b.c.1.d");
    CU_ASSERT(d && d->type == SL_BYTES && sl_bytes_eq(d, &(sl_value){SL_BYTES, 1, {.s = "x"}}));
    const sl_value *c0 = sl_object_path(&out, "b.c.0");
    CU_ASSERT(c0 && c0->u.i == 10);
    CU_ASSERT_PTR_NULL(sl_object_path(&out, "b.c.2"));
    CU_ASSERT_PTR_NULL(sl_object_path(&out, "a.b"));
    CU_ASSERT_PTR_NULL(sl_object_path(&out, "b.c.x"));
    sl_value l = sl_int(1);
    CU_ASSERT_PTR_NULL(sl_object_get(&l, "a"));
    teardown();
}

/* The builder makes the same object the parser does; too many fields is a
 * failure, not an overflow. */
static void test_object_builder(void) {
    setup();
    sl_object_builder b;
    sl_object_begin(&b, &mem, 2);
    sl_object_add(&b, "user", sl_cstr("ann"));
    sl_object_add(&b, "amount", sl_int(3));
    sl_value built = sl_object_end(&b);
    CU_ASSERT_EQUAL(parse("{\"user\":\"ann\",\"amount\":3}"), 0);
    CU_ASSERT_EQUAL(sl__value_compare(&built, &out), 0);
    CU_ASSERT_EQUAL(sl__value_hash(&built), sl__value_hash(&out));
    char buf[64];
    sl__value_format(&built, SL_FORMAT_REPR, buf, sizeof buf);
    ASSERT_STR_EQ(buf, "{'user': 'ann', 'amount': 3}");
    sl_object_add(&b, "third", sl_null());
    CU_ASSERT_EQUAL(sl_object_end(&b).type, SL_NULL);
    sl_object_begin(&b, &mem, 0);
    CU_ASSERT_EQUAL(sl_object_end(&b).type, SL_OBJECT);
    teardown();
}

/* Objects order after lists, field by field; the same fields in another
 * order are another key; equal objects hash alike and deep copies match. */
static void test_object_compare(void) {
    setup();
    sl_value v[4];
    const char *texts[] = {"[1]", "{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}", "{\"a\":1}"};
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(parse(texts[i]), 0);
        v[i] = out;
    }
    CU_ASSERT(sl__value_compare(&v[0], &v[1]) < 0);
    CU_ASSERT(sl__value_compare(&v[1], &v[2]) < 0);
    CU_ASSERT(sl__value_compare(&v[3], &v[1]) < 0);
    CU_ASSERT(!sl__value_equal(&v[1], &v[2]));
    CU_ASSERT(sl__value_hash(&v[1]) != sl__value_hash(&v[2]));
    sl_value copy;
    CU_ASSERT_EQUAL(sl__value_copy(&v[1], &copy, &mem), 0);
    CU_ASSERT(copy.type == SL_OBJECT && copy.u.items != v[1].u.items);
    CU_ASSERT(sl__value_equal(&copy, &v[1]));
    CU_ASSERT_EQUAL(sl__value_hash(&copy), sl__value_hash(&v[1]));
    ASSERT_INT_EQ(sl__value_bytes(&v[1]), 2 + 16);
    teardown();
}

/* Texts with true and false at the top, in lists and in objects, at
 * several depths, each compact as Python's json.dumps writes it. */
static const char *const bool_texts[] = {
    "true",
    "false",
    "[true,false]",
    "[true]",
    "{\"ok\":true}",
    "{\"ok\":true,\"no\":false,\"n\":null,\"one\":1,\"zero\":0,\"s\":\"true\"}",
    "[{\"a\":[true,{\"b\":false}]},[[false]],true,1,0.0]",
    "{\"d\":{\"e\":{\"f\":[1,true,\"false\",false,0,{\"g\":[[true]]}]}}}",
};

/* true and false round-trip byte for byte as true and false, wherever they
 * sit, and every one of them parses as an SL_BOOL (never as an int). */
static void test_bool_round_trip(void) {
    setup();
    for (size_t i = 0; i < sizeof bool_texts / sizeof *bool_texts; i++) {
        CU_ASSERT_EQUAL(parse(bool_texts[i]), 0);
        ASSERT_STR_EQ(parsed_json(), bool_texts[i]);
    }
    CU_ASSERT_EQUAL(parse("[true,false]"), 0);
    CU_ASSERT(out.len == 2 && out.u.items[0].type == SL_BOOL && out.u.items[0].u.i == 1 &&
              out.u.items[1].type == SL_BOOL && out.u.items[1].u.i == 0);
    CU_ASSERT_EQUAL(parse("{\"ok\":true,\"one\":1}"), 0);
    const sl_value *ok = sl_object_get(&out, "ok"), *one = sl_object_get(&out, "one");
    CU_ASSERT(ok && ok->type == SL_BOOL && ok->u.i == 1);
    CU_ASSERT(one && one->type == SL_INT && one->u.i == 1);
    /* every depth the formatter writes, lists and objects alternating:
     * [true,{"k":[true,{"k":...{"a":false,"t":true}...,"f":false}],"f":false}] */
    static char text[4096], tmp[4096];
    snprintf(text, sizeof text, "{\"a\":false,\"t\":true}");
    for (int depth = 0; depth <= 60; depth++) {
        unit_check(parse(text) == 0, __FILE__, __LINE__, "depth %d parses (%s)", depth, err.msg);
        ASSERT_STR_EQ(parsed_json(), text);
        const sl_value *v = &out;
        for (int d = depth - 1; d >= 0 && v; d--)
            v = d % 2 == 0 ? (v->type == SL_LIST && v->len == 2 ? &v->u.items[1] : NULL)
                           : sl_object_get(v, "k");
        const sl_value *a = v ? sl_object_get(v, "a") : NULL, *t = v ? sl_object_get(v, "t") : NULL;
        unit_check(a && a->type == SL_BOOL && a->u.i == 0 && t && t->type == SL_BOOL && t->u.i == 1,
                   __FILE__, __LINE__, "depth %d: a is false and t is true", depth);
        snprintf(tmp, sizeof tmp, depth % 2 == 0 ? "[true,%s]" : "{\"k\":%s,\"f\":false}", text);
        memcpy(text, tmp, sizeof text);
    }
    teardown();
}

/* The repr of each bool text is Python's repr of json.loads(text) (lists
 * as tuples, as sluice writes them), and its JSON is Python's compact
 * json.dumps: python3 itself is asked. */
static void test_bool_against_python(void) {
    static const char py[] =
        "import json, sys\n"
        "def t(v):\n"
        "    if isinstance(v, list): return tuple(t(x) for x in v)\n"
        "    if isinstance(v, dict): return {k: t(x) for k, x in v.items()}\n"
        "    return v\n"
        "for line in open(sys.argv[1], encoding='utf-8'):\n"
        "    v = json.loads(line)\n"
        "    print(repr(t(v)))\n"
        "    print(json.dumps(v, separators=(',', ':'), ensure_ascii=False))\n";
    char dir[256], data[300], script[300], cmd[700], line[1024];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    snprintf(data, sizeof data, "%s/texts.jsonl", dir);
    snprintf(script, sizeof script, "%s/check.py", dir);
    FILE *f = fopen(data, "w"), *s = fopen(script, "w");
    CU_ASSERT_FATAL(f && s);
    fputs(py, s);
    fclose(s);
    size_t n = sizeof bool_texts / sizeof *bool_texts;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", bool_texts[i]);
    fclose(f);
    snprintf(cmd, sizeof cmd, "python3 %s %s", script, data);
    FILE *p = popen(cmd, "r");
    CU_ASSERT_FATAL(p != NULL);
    setup();
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(parse(bool_texts[i]), 0);
        if (!fgets(line, sizeof line, p))
            break;
        line[strcspn(line, "\n")] = 0;
        ASSERT_STR_EQ(parsed_repr(), line);
        if (!fgets(line, sizeof line, p))
            break;
        line[strcspn(line, "\n")] = 0;
        ASSERT_STR_EQ(parsed_json(), line);
        checked++;
    }
    teardown();
    ASSERT_INT_EQ(pclose(p), 0);
    ASSERT_INT_EQ(checked, n);
    unit_rmtree(dir);
}

/* A NULL error pointer is allowed: the parser still fails cleanly. */
static void test_null_err(void) {
    setup();
    sl_value v;
    CU_ASSERT_EQUAL(sl__json_parse("[1", 2, &v, &mem, NULL), SL_EINVAL);
    CU_ASSERT_EQUAL(sl__json_parse("[1]", 3, &v, &mem, NULL), 0);
    teardown();
}

UNIT_MAIN("json", {"numbers", test_numbers}, {"int64 edges", test_int64_edges},
          {"numbers past a double's range are refused", test_double_range},
          {"string escapes", test_string_escapes}, {"unicode escapes", test_unicode_escapes},
          {"lone surrogates are errors", test_lone_surrogates},
          {"every 1- and 2-byte string round-trips", test_bytes_round_trip},
          {"true, false, null", test_literals}, {"arrays and objects", test_arrays_objects},
          {"whitespace", test_whitespace}, {"error messages name the offset", test_error_offsets},
          {"bad escapes", test_bad_escape}, {"not JSON", test_not_json},
          {"nesting limit", test_nesting_limit},
          {"nesting limit counts empty arrays", test_nesting_limit_empty},
          {"every truncated prefix is an error", test_truncated_prefixes},
          {"NULL error pointer", test_null_err},
          {"objects round-trip byte for byte", test_object_round_trip},
          {"object lookup, duplicates, paths", test_object_lookup},
          {"object builder", test_object_builder},
          {"objects as keys: order, hash, copy", test_object_compare},
          {"bools round-trip at every depth", test_bool_round_trip},
          {"bools: repr and JSON as python3's", test_bool_against_python})

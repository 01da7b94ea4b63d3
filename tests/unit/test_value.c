/*
 * test_value.c — core/src/value.c: repr and JSON formatting, the total order,
 * hashing and deep copies of sl_value.
 */
#include <math.h>

#include "unit.h"

/* `v` formatted in `style` into a static buffer (checking that the returned
 * length is the length written). */
static const char *fmt(sl_value v, int style) {
    static char buf[4096];
    size_t n = sl__value_format(&v, style, buf, sizeof buf);
    CU_ASSERT(n < sizeof buf);
    ASSERT_INT_EQ(n, strlen(buf));
    return buf;
}

static const char *repr(sl_value v) {
    return fmt(v, SL_FORMAT_REPR);
}

static const char *json(sl_value v) {
    return fmt(v, SL_FORMAT_JSON);
}

/* A bytes value over the first `n` bytes of a literal (which may hold NULs). */
#define BYTES(lit) sl_bytes((lit), sizeof(lit) - 1)

/* ---- repr --------------------------------------------------------------------- */

/* Strings pick their quotes as Python's repr does. */
static void test_repr_quotes(void) {
    ASSERT_STR_EQ(repr(sl_cstr("a")), "'a'");
    ASSERT_STR_EQ(repr(sl_cstr("")), "''");
    ASSERT_STR_EQ(repr(sl_cstr("it's")), "\"it's\"");
    ASSERT_STR_EQ(repr(sl_cstr("say \"hi\"")), "'say \"hi\"'");
    ASSERT_STR_EQ(repr(sl_cstr("a'b\"c")), "'a\\'b\"c'");
}

/* Control characters, backslash and DEL are escaped as Python escapes them. */
static void test_repr_escapes(void) {
    ASSERT_STR_EQ(repr(sl_cstr("\n")), "'\\n'");
    ASSERT_STR_EQ(repr(sl_cstr("\t")), "'\\t'");
    ASSERT_STR_EQ(repr(sl_cstr("\r")), "'\\r'");
    ASSERT_STR_EQ(repr(sl_cstr("\\")), "'\\\\'");
    ASSERT_STR_EQ(repr(BYTES("\0")), "'\\x00'");
    ASSERT_STR_EQ(repr(BYTES("a\0b")), "'a\\x00b'");
    ASSERT_STR_EQ(repr(sl_cstr("\x01\x1f")), "'\\x01\\x1f'");
    ASSERT_STR_EQ(repr(sl_cstr("\x7f")), "'\\x7f'");
}

/* Valid UTF-8 passes through; a byte 0xXY of invalid UTF-8 is written
 * \udcXY, Python's repr of the str "surrogateescape" decodes it to. */
static void test_repr_utf8(void) {
    ASSERT_STR_EQ(repr(sl_cstr("\xc3\xa9")), "'\xc3\xa9'");
    ASSERT_STR_EQ(repr(sl_cstr("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")),
                  "'caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80'");
    ASSERT_STR_EQ(repr(sl_cstr("\xff")), "'\\udcff'");
    ASSERT_STR_EQ(repr(sl_cstr("a\xc3")), "'a\\udcc3'");          /* truncated sequence */
    ASSERT_STR_EQ(repr(sl_cstr("\xc0\xaf")), "'\\udcc0\\udcaf'"); /* overlong '/' */
    ASSERT_STR_EQ(repr(sl_cstr("\xed\xa0\x80")), "'\\udced\\udca0\\udc80'"); /* a surrogate */
    ASSERT_STR_EQ(repr(sl_cstr("\x85")), "'\\udc85'"); /* not U+0085's '\\x85' */
    /* U+0080..U+00A0 are not printable in Python */
    ASSERT_STR_EQ(repr(sl_cstr("\xc2\x85")), "'\\x85'");
    ASSERT_STR_EQ(repr(sl_cstr("\xc2\xa0")), "'\\xa0'");
}

/* Characters Python's str.isprintable() rejects beyond Latin-1's C1 range are
 * escaped too: U+00AD SOFT HYPHEN (Cf) is '\xad', U+2028 LINE SEPARATOR (Zl)
 * is '\u2028', U+200B ZERO WIDTH SPACE (Cf) is '\u200b'; other format,
 * separator, private-use and unassigned characters likewise, astral ones as
 * \U; printable CJK and emoji pass through. (Expected strings are Python
 * 3.11's repr; unit.repr_codepoints compares every code point.) */
static void test_repr_nonprintable_unicode(void) {
    ASSERT_STR_EQ(repr(sl_cstr("\xc2\xad")), "'\\xad'");
    ASSERT_STR_EQ(repr(sl_cstr("\xe2\x80\xa8")), "'\\u2028'");
    ASSERT_STR_EQ(repr(sl_cstr("\xe2\x80\x8b")), "'\\u200b'");
    ASSERT_STR_EQ(repr(sl_cstr("\xe2\x80\xa9")), "'\\u2029'");         /* Zp */
    ASSERT_STR_EQ(repr(sl_cstr("\xe3\x80\x80")), "'\\u3000'");         /* Zs */
    ASSERT_STR_EQ(repr(sl_cstr("\xee\x80\x80")), "'\\ue000'");         /* Co */
    ASSERT_STR_EQ(repr(sl_cstr("\xef\xbb\xbf")), "'\\ufeff'");         /* BOM, Cf */
    ASSERT_STR_EQ(repr(sl_cstr("\xf3\xa0\x80\x81")), "'\\U000e0001'"); /* Cf */
    ASSERT_STR_EQ(repr(sl_cstr("a\xe2\x81\xa0"
                               "b")),
                  "'a\\u2060b'"); /* WORD JOINER */
    ASSERT_STR_EQ(repr(sl_cstr("\xe4\xb8\xad\xf0\x9f\x98\x80")), "'\xe4\xb8\xad\xf0\x9f\x98\x80'");
    /* unassigned (Cn): escaped as Python 3.11 (Unicode 14) does */
    ASSERT_STR_EQ(repr(sl_cstr("\xcd\xb8")), "'\\u0378'");
    ASSERT_STR_EQ(repr(sl_cstr("\xef\xb7\x90")), "'\\ufdd0'");              /* noncharacter */
    ASSERT_STR_EQ(repr(sl_cstr("\xf0\xb1\x8d\x90")), "'\\U00031350'");      /* after CJK ext. G */
    ASSERT_STR_EQ(repr(sl_cstr("\xf0\xb1\x8d\x8a")), "'\xf0\xb1\x8d\x8a'"); /* its last, U+3134A */
    /* an invalid byte beside an escaped code point */
    ASSERT_STR_EQ(repr(sl_cstr("\xcd\xb8\xff")), "'\\u0378\\udcff'");
}

/* Integers as %lld, None for null. */
static void test_repr_ints_none(void) {
    ASSERT_STR_EQ(repr(sl_int(0)), "0");
    ASSERT_STR_EQ(repr(sl_int(42)), "42");
    ASSERT_STR_EQ(repr(sl_int(-7)), "-7");
    ASSERT_STR_EQ(repr(sl_int(INT64_MAX)), "9223372036854775807");
    ASSERT_STR_EQ(repr(sl_int(INT64_MIN)), "-9223372036854775808");
    ASSERT_STR_EQ(repr(sl_null()), "None");
}

/* Bools as Python writes them: True/False in repr (and str), at the top,
 * in tuples and in dicts; true/false in JSON. Any nonzero u.i is true. */
static void test_repr_bools(void) {
    ASSERT_STR_EQ(repr(sl_bool(1)), "True");
    ASSERT_STR_EQ(repr(sl_bool(0)), "False");
    ASSERT_STR_EQ(repr(sl_bool(42)), "True");
    ASSERT_STR_EQ(json(sl_bool(1)), "true");
    ASSERT_STR_EQ(json(sl_bool(0)), "false");
    sl_value odd = {SL_BOOL, 0, {.i = 2}}; /* built by hand, not by sl_bool */
    ASSERT_STR_EQ(repr(odd), "True");
    ASSERT_STR_EQ(json(odd), "true");
    sl_value one[1] = {sl_bool(1)};
    ASSERT_STR_EQ(repr(sl_list(one, 1)), "(True,)");
    sl_value f[4] = {sl_cstr("ok"), sl_bool(1), sl_cstr("no"), sl_bool(0)};
    ASSERT_STR_EQ(repr(sl_object(f, 2)), "{'ok': True, 'no': False}");
    ASSERT_STR_EQ(json(sl_object(f, 2)), "{\"ok\":true,\"no\":false}");
    char buf[64];
    sl_record pair = {sl_bool(0), sl_bool(1), 0};
    sl__record_format(&pair, SL_FORMAT_REPR, buf, sizeof buf);
    ASSERT_STR_EQ(buf, "(False, True)");
    sl__record_format(&pair, SL_FORMAT_JSON, buf, sizeof buf);
    ASSERT_STR_EQ(buf, "[false,true]");
}

/* Doubles exactly as Python's repr(float). */
static void test_repr_doubles(void) {
    ASSERT_STR_EQ(repr(sl_double(1.0)), "1.0");
    ASSERT_STR_EQ(repr(sl_double(0.1)), "0.1");
    ASSERT_STR_EQ(repr(sl_double(2.5)), "2.5");
    ASSERT_STR_EQ(repr(sl_double(-2.5)), "-2.5");
    ASSERT_STR_EQ(repr(sl_double(0.1 + 0.2)), "0.30000000000000004");
    ASSERT_STR_EQ(repr(sl_double(1e16)), "1e+16");
    ASSERT_STR_EQ(repr(sl_double(1e15)), "1000000000000000.0");
    ASSERT_STR_EQ(repr(sl_double(1e-05)), "1e-05");
    ASSERT_STR_EQ(repr(sl_double(0.0001)), "0.0001");
    ASSERT_STR_EQ(repr(sl_double(123456789.0)), "123456789.0");
    ASSERT_STR_EQ(repr(sl_double(1.2345678901234567e+19)), "1.2345678901234567e+19");
    ASSERT_STR_EQ(repr(sl_double(1e22)), "1e+22");
    ASSERT_STR_EQ(repr(sl_double(1.5e300)), "1.5e+300");
    ASSERT_STR_EQ(repr(sl_double(5e-324)), "5e-324");
    ASSERT_STR_EQ(repr(sl_double(123.456)), "123.456");
    ASSERT_STR_EQ(repr(sl_double(0.0)), "0.0");
    ASSERT_STR_EQ(repr(sl_double(-0.0)), "-0.0");
    ASSERT_STR_EQ(repr(sl_double(INFINITY)), "inf");
    ASSERT_STR_EQ(repr(sl_double(-INFINITY)), "-inf");
    ASSERT_STR_EQ(repr(sl_double(NAN)), "nan");
}

/* Lists print as Python tuples: (1, 'a'), (1,), (), nested. */
static void test_repr_lists(void) {
    sl_value two[2] = {sl_int(1), sl_cstr("a")};
    ASSERT_STR_EQ(repr(sl_list(two, 2)), "(1, 'a')");
    sl_value one[1] = {sl_int(1)};
    ASSERT_STR_EQ(repr(sl_list(one, 1)), "(1,)");
    ASSERT_STR_EQ(repr(sl_list(NULL, 0)), "()");
    sl_value x[1] = {sl_cstr("x")};
    sl_value nested[4] = {sl_list(two, 2), sl_list(x, 1), sl_list(NULL, 0), sl_null()};
    ASSERT_STR_EQ(repr(sl_list(nested, 4)), "((1, 'a'), ('x',), (), None)");
    sl_value mixed[3] = {sl_double(2.5), sl_cstr("it's"), sl_int(-1)};
    ASSERT_STR_EQ(repr(sl_list(mixed, 3)), "(2.5, \"it's\", -1)");
}

/* Very deep nesting is cut off instead of overflowing the stack, and the
 * returned length stays consistent. */
static void test_repr_deep_nesting(void) {
    enum { DEPTH = 10000 };
    sl_value *levels = calloc(DEPTH, sizeof *levels);
    CU_ASSERT_PTR_NOT_NULL_FATAL(levels);
    levels[0] = sl_int(1);
    for (size_t i = 1; i < DEPTH; i++)
        levels[i] = sl_list(&levels[i - 1], 1);
    size_t n = sl__value_format(&levels[DEPTH - 1], SL_FORMAT_REPR, NULL, 0);
    char *buf = malloc(n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    ASSERT_INT_EQ(sl__value_format(&levels[DEPTH - 1], SL_FORMAT_REPR, buf, n + 1), n);
    ASSERT_INT_EQ(strlen(buf), n);
    CU_ASSERT(n < 1000);
    free(buf);
    free(levels);
}

/* ---- JSON --------------------------------------------------------------------- */

/* Strings are escaped for JSON; a byte 0xXY of invalid UTF-8 becomes \udcXY
 * (Python's surrogateescape), which the parser reads back as the byte. */
static void test_json_strings(void) {
    ASSERT_STR_EQ(json(sl_cstr("a")), "\"a\"");
    ASSERT_STR_EQ(json(sl_cstr("")), "\"\"");
    ASSERT_STR_EQ(json(sl_cstr("say \"hi\" \\ it's")), "\"say \\\"hi\\\" \\\\ it's\"");
    ASSERT_STR_EQ(json(sl_cstr("a\nb\tc\rd")), "\"a\\nb\\tc\\rd\"");
    ASSERT_STR_EQ(json(sl_cstr("\x01")), "\"\\u0001\"");
    ASSERT_STR_EQ(json(BYTES("\0")), "\"\\u0000\"");
    ASSERT_STR_EQ(json(sl_cstr("\x1f")), "\"\\u001f\"");
    ASSERT_STR_EQ(json(sl_cstr("\xc3\xa9")), "\"\xc3\xa9\"");
    ASSERT_STR_EQ(json(sl_cstr("\xff")), "\"\\udcff\"");
    ASSERT_STR_EQ(json(sl_cstr("a\xc3")), "\"a\\udcc3\"");
    ASSERT_STR_EQ(json(sl_cstr("\xed\xa0\x80\xc3\xa9")), "\"\\udced\\udca0\\udc80\xc3\xa9\"");
}

/* Numbers, null and lists in JSON; NaN and infinities (not JSON) are null. */
static void test_json_values(void) {
    ASSERT_STR_EQ(json(sl_int(-12)), "-12");
    ASSERT_STR_EQ(json(sl_double(2.5)), "2.5");
    ASSERT_STR_EQ(json(sl_double(1.0)), "1.0");
    ASSERT_STR_EQ(json(sl_double(1e-05)), "1e-05");
    ASSERT_STR_EQ(json(sl_double(NAN)), "null");
    ASSERT_STR_EQ(json(sl_double(INFINITY)), "null");
    ASSERT_STR_EQ(json(sl_double(-INFINITY)), "null");
    ASSERT_STR_EQ(json(sl_null()), "null");
    sl_value two[2] = {sl_int(1), sl_cstr("a")};
    ASSERT_STR_EQ(json(sl_list(two, 2)), "[1,\"a\"]");
    sl_value one[1] = {sl_int(1)};
    ASSERT_STR_EQ(json(sl_list(one, 1)), "[1]");
    ASSERT_STR_EQ(json(sl_list(NULL, 0)), "[]");
    sl_value nested[3] = {sl_list(two, 2), sl_list(NULL, 0), sl_null()};
    ASSERT_STR_EQ(json(sl_list(nested, 3)), "[[1,\"a\"],[],null]");
}

/* A record prints as pprint prints it: (key, value) or the bare value. */
static void test_record_format(void) {
    char buf[128];
    sl_record keyed = {sl_cstr("hello"), sl_int(2), 0};
    ASSERT_INT_EQ(sl__record_format(&keyed, SL_FORMAT_REPR, buf, sizeof buf), 12);
    ASSERT_STR_EQ(buf, "('hello', 2)");
    sl_record plain = {sl_null(), sl_cstr("word"), 0};
    ASSERT_INT_EQ(sl__record_format(&plain, SL_FORMAT_REPR, buf, sizeof buf), 6);
    ASSERT_STR_EQ(buf, "'word'");
    sl__record_format(&keyed, SL_FORMAT_JSON, buf, sizeof buf);
    ASSERT_STR_EQ(buf, "[\"hello\",2]");
    sl__record_format(&plain, SL_FORMAT_JSON, buf, sizeof buf);
    ASSERT_STR_EQ(buf, "\"word\"");
    /* a pair whose key is None is still a pair: (None, 5) */
    sl_record nullkey = {sl_null_key(), sl_int(5), 0};
    CU_ASSERT(sl_record_is_pair(&nullkey));
    CU_ASSERT(!sl_record_is_pair(&plain));
    sl__record_format(&nullkey, SL_FORMAT_REPR, buf, sizeof buf);
    ASSERT_STR_EQ(buf, "(None, 5)");
    sl__record_format(&nullkey, SL_FORMAT_JSON, buf, sizeof buf);
    ASSERT_STR_EQ(buf, "[null,5]");
    sl_record nullval = {sl_cstr("k"), sl_null(), 0};
    sl__record_format(&nullval, SL_FORMAT_REPR, buf, sizeof buf);
    ASSERT_STR_EQ(buf, "('k', None)");
    sl_value kv[2] = {sl_cstr("k"), sl_int(1)};
    sl_record nested = {sl_list(kv, 2), sl_int(3), 0};
    sl__record_format(&nested, SL_FORMAT_REPR, buf, sizeof buf);
    ASSERT_STR_EQ(buf, "(('k', 1), 3)");
}

/* snprintf semantics: a small buffer gets a NUL-terminated prefix, the return
 * value is the full length, and nothing is written past `cap`. */
static void test_format_truncation(void) {
    sl_value v = sl_cstr("hello");
    char buf[16];
    memset(buf, '#', sizeof buf);
    ASSERT_INT_EQ(sl__value_format(&v, SL_FORMAT_REPR, buf, 4), 7);
    ASSERT_STR_EQ(buf, "'he");
    CU_ASSERT(buf[4] == '#');
    memset(buf, '#', sizeof buf);
    ASSERT_INT_EQ(sl__value_format(&v, SL_FORMAT_REPR, buf, 1), 7);
    CU_ASSERT(buf[0] == 0 && buf[1] == '#');
    ASSERT_INT_EQ(sl__value_format(&v, SL_FORMAT_REPR, NULL, 0), 7);
    memset(buf, '#', sizeof buf);
    ASSERT_INT_EQ(sl__value_format(&v, SL_FORMAT_REPR, buf, 7), 7);
    ASSERT_STR_EQ(buf, "'hello");
    ASSERT_INT_EQ(sl__value_format(&v, SL_FORMAT_REPR, buf, 8), 7);
    ASSERT_STR_EQ(buf, "'hello'");
    /* truncation inside an escape or a list */
    sl_value items[2] = {sl_cstr("a\nb"), sl_double(0.5)};
    sl_value list = sl_list(items, 2);
    memset(buf, '#', sizeof buf);
    ASSERT_INT_EQ(sl__value_format(&list, SL_FORMAT_REPR, buf, 5), 13); /* ('a\nb', 0.5) */
    ASSERT_STR_EQ(buf, "('a\\");
    CU_ASSERT(buf[5] == '#');
    sl_record r = {sl_cstr("key"), sl_int(12345), 0};
    memset(buf, '#', sizeof buf);
    ASSERT_INT_EQ(sl__record_format(&r, SL_FORMAT_REPR, buf, 3), 14); /* ('key', 12345) */
    ASSERT_STR_EQ(buf, "('");
    CU_ASSERT(buf[3] == '#');
}

/* ---- ordering ------------------------------------------------------------------- */

static int sign(int c) {
    return (c > 0) - (c < 0);
}

/* null < numbers < bytes < lists < objects < bools, whatever the values. */
static void test_compare_type_rank(void) {
    sl_value one[1] = {sl_int(0)}, field[2] = {sl_cstr("z"), sl_int(INT64_MAX)};
    sl_value ranked[] = {sl_null(),           sl_int(INT64_MAX), sl_cstr(""),
                         sl_list(NULL, 0),    sl_list(one, 1),   sl_object(NULL, 0),
                         sl_object(field, 1), sl_bool(0),        sl_bool(1)};
    for (size_t i = 0; i + 1 < sizeof ranked / sizeof *ranked; i++) {
        ASSERT_INT_EQ(sign(sl__value_compare(&ranked[i], &ranked[i + 1])), -1);
        ASSERT_INT_EQ(sign(sl__value_compare(&ranked[i + 1], &ranked[i])), 1);
    }
    sl_value big = sl_double(1e300), bytes = sl_cstr("\x00");
    CU_ASSERT(sl__value_compare(&big, &bytes) < 0);
    sl_value null = sl_null(), neg = sl_double(-INFINITY);
    CU_ASSERT(sl__value_compare(&null, &neg) < 0);
    CU_ASSERT(sl__value_compare(&null, &null) == 0);
}

/* Numbers compare by value across int and double. */
static void test_compare_numbers(void) {
    sl_value i1 = sl_int(1), d1 = sl_double(1.0), d15 = sl_double(1.5), im1 = sl_int(-1),
             dm25 = sl_double(-2.5), z = sl_int(0), nz = sl_double(-0.0);
    ASSERT_INT_EQ(sl__value_compare(&i1, &d1), 0);
    ASSERT_INT_EQ(sl__value_compare(&d1, &i1), 0);
    CU_ASSERT(sl__value_equal(&i1, &d1));
    CU_ASSERT(sl__value_compare(&i1, &d15) < 0);
    CU_ASSERT(sl__value_compare(&d15, &i1) > 0);
    CU_ASSERT(sl__value_compare(&im1, &dm25) > 0);
    ASSERT_INT_EQ(sl__value_compare(&z, &nz), 0);
    sl_value a = sl_int(INT64_MIN), b = sl_int(INT64_MAX);
    CU_ASSERT(sl__value_compare(&a, &b) < 0);
    CU_ASSERT(sl__value_compare(&b, &a) > 0);
    /* 2^53 + 1 is not equal to the double 2^53 */
    sl_value exact = sl_int(9007199254740993LL), rounded = sl_double(9007199254740992.0);
    CU_ASSERT(sl__value_compare(&exact, &rounded) > 0);
    /* NaN: equal to itself, after every other number */
    sl_value nan1 = sl_double(NAN), inf = sl_double(INFINITY);
    ASSERT_INT_EQ(sl__value_compare(&nan1, &nan1), 0);
    CU_ASSERT(sl__value_compare(&inf, &nan1) < 0);
    CU_ASSERT(sl__value_compare(&nan1, &b) > 0);
}

/* A bool is not a number: true != 1, false != 0, false < true, and any
 * nonzero u.i is the same true. */
static void test_compare_bools(void) {
    sl_value t = sl_bool(1), f = sl_bool(0), t2 = {SL_BOOL, 0, {.i = -7}}, i1 = sl_int(1),
             i0 = sl_int(0), d1 = sl_double(1.0), big = sl_double(INFINITY);
    CU_ASSERT(sl__value_compare(&f, &t) < 0);
    CU_ASSERT(sl__value_compare(&t, &f) > 0);
    ASSERT_INT_EQ(sl__value_compare(&t, &t2), 0);
    CU_ASSERT(sl__value_equal(&t, &t2));
    CU_ASSERT(!sl__value_equal(&t, &i1));
    CU_ASSERT(!sl__value_equal(&f, &i0));
    CU_ASSERT(!sl__value_equal(&t, &d1));
    CU_ASSERT(sl__value_compare(&i1, &t) < 0); /* by type: numbers before bools */
    CU_ASSERT(sl__value_compare(&big, &f) < 0);
    sl_value l1[1] = {sl_int(1)}, lt[1] = {sl_bool(1)};
    sl_value L1 = sl_list(l1, 1), Lt = sl_list(lt, 1);
    CU_ASSERT(!sl__value_equal(&L1, &Lt));
}

/* Bytes compare as unsigned bytes, a prefix before the longer string. */
static void test_compare_bytes(void) {
    sl_value ab = sl_cstr("ab"), abc = sl_cstr("abc"), abd = sl_cstr("abd"), empty = sl_cstr(""),
             lo = sl_cstr("\x7f"), hi = sl_cstr("\x80"), b = sl_cstr("b");
    CU_ASSERT(sl__value_compare(&ab, &abc) < 0);
    CU_ASSERT(sl__value_compare(&abc, &ab) > 0);
    CU_ASSERT(sl__value_compare(&abc, &abd) < 0);
    CU_ASSERT(sl__value_compare(&empty, &ab) < 0);
    CU_ASSERT(sl__value_compare(&lo, &hi) < 0);
    CU_ASSERT(sl__value_compare(&abd, &b) < 0);
    char buf[3] = {'a', 'b', 'c'};
    sl_value other = sl_bytes(buf, 3);
    ASSERT_INT_EQ(sl__value_compare(&abc, &other), 0);
    CU_ASSERT(sl__value_equal(&abc, &other));
    sl_value nul1 = BYTES("a\0b"), nul2 = BYTES("a\0c");
    CU_ASSERT(sl__value_compare(&nul1, &nul2) < 0);
}

/* Lists compare element-wise, a prefix first. */
static void test_compare_lists(void) {
    sl_value a12[2] = {sl_int(1), sl_int(2)}, a13[2] = {sl_int(1), sl_int(3)}, a1[1] = {sl_int(1)},
             a10[2] = {sl_int(1), sl_int(0)}, d12[2] = {sl_double(1.0), sl_double(2.0)};
    sl_value l12 = sl_list(a12, 2), l13 = sl_list(a13, 2), l1 = sl_list(a1, 1),
             l10 = sl_list(a10, 2), e = sl_list(NULL, 0), ld12 = sl_list(d12, 2);
    CU_ASSERT(sl__value_compare(&l12, &l13) < 0);
    CU_ASSERT(sl__value_compare(&l1, &l10) < 0);
    CU_ASSERT(sl__value_compare(&e, &l1) < 0);
    ASSERT_INT_EQ(sl__value_compare(&l12, &ld12), 0);
    CU_ASSERT(sl__value_equal(&l12, &ld12));
}

/* The order is total: antisymmetric and transitive over a mixed set. */
static void test_compare_total_order(void) {
    sl_value a12[2] = {sl_int(1), sl_int(2)}, ax[1] = {sl_cstr("x")};
    sl_value vals[] = {sl_null(),       sl_int(-5),        sl_double(-0.5),   sl_int(0),
                       sl_double(0.0),  sl_double(1e-300), sl_int(3),         sl_double(3.5),
                       sl_double(NAN),  sl_cstr(""),       sl_cstr("a"),      sl_cstr("ab"),
                       sl_cstr("\xff"), sl_list(NULL, 0),  sl_list(a12, 2),   sl_list(ax, 1),
                       sl_bool(0),      sl_bool(1),        sl_object(NULL, 0)};
    size_t n = sizeof vals / sizeof *vals;
    size_t bad_anti = 0, bad_trans = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int ij = sign(sl__value_compare(&vals[i], &vals[j]));
            int ji = sign(sl__value_compare(&vals[j], &vals[i]));
            bad_anti += ij != -ji;
            for (size_t k = 0; k < n; k++) {
                int jk = sign(sl__value_compare(&vals[j], &vals[k]));
                int ik = sign(sl__value_compare(&vals[i], &vals[k]));
                if (ij <= 0 && jk <= 0 && ik > 0)
                    bad_trans++;
            }
        }
    ASSERT_INT_EQ(bad_anti, 0);
    ASSERT_INT_EQ(bad_trans, 0);
}

/* ---- hashing ---------------------------------------------------------------------- */

/* Values that compare equal hash alike. */
static void test_hash_equal_values(void) {
    sl_value i1 = sl_int(1), d1 = sl_double(1.0);
    CU_ASSERT(sl__value_hash(&i1) == sl__value_hash(&d1));
    sl_value z = sl_int(0), dz = sl_double(0.0), nz = sl_double(-0.0);
    CU_ASSERT(sl__value_hash(&z) == sl__value_hash(&dz));
    CU_ASSERT(sl__value_hash(&z) == sl__value_hash(&nz));
    sl_value big = sl_int(-4611686018427387904LL), dbig = sl_double(-4611686018427387904.0);
    CU_ASSERT(sl__value_hash(&big) == sl__value_hash(&dbig));
    char b1[] = "hello world", b2[] = "xxhello worldxx";
    sl_value s1 = sl_bytes(b1, 11), s2 = sl_bytes(b2 + 2, 11);
    CU_ASSERT(sl__value_hash(&s1) == sl__value_hash(&s2));
    sl_value l1[2] = {sl_int(1), sl_bytes(b1, 5)}, l2[2] = {sl_double(1.0), sl_bytes(b2 + 2, 5)};
    sl_value L1 = sl_list(l1, 2), L2 = sl_list(l2, 2);
    ASSERT_INT_EQ(sl__value_compare(&L1, &L2), 0);
    CU_ASSERT(sl__value_hash(&L1) == sl__value_hash(&L2));
    sl_value n1 = sl_double(NAN), n2 = sl_double(-NAN);
    ASSERT_INT_EQ(sl__value_compare(&n1, &n2), 0);
    CU_ASSERT(sl__value_hash(&n1) == sl__value_hash(&n2));
    sl_value null1 = sl_null(), null2 = sl_null();
    CU_ASSERT(sl__value_hash(&null1) == sl__value_hash(&null2));
    sl_value t1 = sl_bool(1), t2 = {SL_BOOL, 0, {.i = 5}}, f1 = sl_bool(0), f2 = sl_bool(0);
    CU_ASSERT(sl__value_hash(&t1) == sl__value_hash(&t2));
    CU_ASSERT(sl__value_hash(&f1) == sl__value_hash(&f2));
}

/* A bool hashes apart from the int and the double it is not equal to, and
 * from the other bool and null. */
static void test_hash_bools(void) {
    sl_value t = sl_bool(1), f = sl_bool(0), i1 = sl_int(1), i0 = sl_int(0), d1 = sl_double(1.0),
             n = sl_null();
    uint64_t ht = sl__value_hash(&t), hf = sl__value_hash(&f);
    CU_ASSERT(ht != hf);
    CU_ASSERT(ht != sl__value_hash(&i1));
    CU_ASSERT(ht != sl__value_hash(&d1));
    CU_ASSERT(hf != sl__value_hash(&i0));
    CU_ASSERT(hf != sl__value_hash(&n));
    sl_value l1[1] = {sl_int(1)}, lt[1] = {sl_bool(1)};
    sl_value L1 = sl_list(l1, 1), Lt = sl_list(lt, 1);
    CU_ASSERT(sl__value_hash(&L1) != sl__value_hash(&Lt));
}

static int u64_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Different values hash differently (no collisions among a few thousand). */
static void test_hash_spread(void) {
    enum { N = 4000 };
    uint64_t *h = malloc(N * sizeof *h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    char words[N / 4][16];
    sl_value pair[N / 4][2];
    for (size_t i = 0; i < N / 4; i++) {
        sl_value vi = sl_int((int64_t)i), vd = sl_double((double)i + 0.5);
        snprintf(words[i], sizeof words[i], "w%zu", i);
        sl_value vs = sl_cstr(words[i]);
        pair[i][0] = sl_cstr(words[i]);
        pair[i][1] = sl_int(-(int64_t)i - 1);
        sl_value vl = sl_list(pair[i], 2);
        h[4 * i] = sl__value_hash(&vi);
        h[4 * i + 1] = sl__value_hash(&vd);
        h[4 * i + 2] = sl__value_hash(&vs);
        h[4 * i + 3] = sl__value_hash(&vl);
    }
    qsort(h, N, sizeof *h, u64_cmp);
    size_t dups = 0;
    for (size_t i = 1; i < N; i++)
        dups += h[i] == h[i - 1];
    ASSERT_INT_EQ(dups, 0);
    sl_value ab = sl_cstr("ab"), ba = sl_cstr("ba");
    CU_ASSERT(sl__value_hash(&ab) != sl__value_hash(&ba));
    sl_value x1[2] = {sl_int(1), sl_int(2)}, x2[2] = {sl_int(2), sl_int(1)};
    sl_value X1 = sl_list(x1, 2), X2 = sl_list(x2, 2);
    CU_ASSERT(sl__value_hash(&X1) != sl__value_hash(&X2));
    free(h);
}

/* ---- copying ------------------------------------------------------------------------ */

/* A deep copy owns its bytes and items: changing the source afterwards does
 * not change the copy. */
static void test_copy_deep(void) {
    sl__arena a;
    sl_mem m;
    sl__arena_init(&a, 1024);
    sl__arena_mem(&a, &m);
    char word[] = "hello";
    char inner_word[] = "xyz";
    sl_value inner[2] = {sl_bytes(inner_word, 3), sl_double(2.5)};
    sl_value items[3] = {sl_bytes(word, 5), sl_int(7), sl_list(inner, 2)};
    sl_value src = sl_list(items, 3);
    sl_value copy;
    ASSERT_INT_EQ(sl__value_copy(&src, &copy, &m), 0);
    ASSERT_STR_EQ(repr(copy), "('hello', 7, ('xyz', 2.5))");
    memcpy(word, "HELLO", 5);
    memcpy(inner_word, "XYZ", 3);
    items[1] = sl_int(8);
    inner[1] = sl_double(9.0);
    ASSERT_STR_EQ(repr(src), "('HELLO', 8, ('XYZ', 9.0))");
    ASSERT_STR_EQ(repr(copy), "('hello', 7, ('xyz', 2.5))");
    CU_ASSERT(copy.u.items != items);

    char b[] = "abc";
    sl_value bv = sl_bytes(b, 3), bc;
    ASSERT_INT_EQ(sl__value_copy(&bv, &bc, &m), 0);
    b[0] = 'z';
    ASSERT_STR_EQ(repr(bc), "'abc'");
    /* copying in place (out aliases v) */
    sl_value inplace = sl_bytes(b, 3);
    ASSERT_INT_EQ(sl__value_copy(&inplace, &inplace, &m), 0);
    b[0] = 'q';
    ASSERT_STR_EQ(repr(inplace), "'zbc'");
    /* scalars and empty values copy as they are */
    sl_value e = sl_bytes(b, 0), ec, n = sl_null(), nc, el = sl_list(NULL, 0), elc;
    ASSERT_INT_EQ(sl__value_copy(&e, &ec, &m), 0);
    ASSERT_INT_EQ(ec.type, SL_BYTES);
    ASSERT_INT_EQ(ec.len, 0);
    ASSERT_INT_EQ(sl__value_copy(&n, &nc, &m), 0);
    ASSERT_INT_EQ(nc.type, SL_NULL);
    ASSERT_INT_EQ(sl__value_copy(&el, &elc, &m), 0);
    ASSERT_STR_EQ(repr(elc), "()");
    sl__arena_free(&a);
}

/* value_bytes counts the payload: bytes by length, numbers as 8, lists summed. */
static void test_value_bytes(void) {
    sl_value items[3] = {sl_cstr("abc"), sl_int(1), sl_null()};
    sl_value l = sl_list(items, 3), s = sl_cstr("hello"), i = sl_int(5), n = sl_null();
    ASSERT_INT_EQ(sl__value_bytes(&s), 5);
    ASSERT_INT_EQ(sl__value_bytes(&i), 8);
    ASSERT_INT_EQ(sl__value_bytes(&n), 0);
    ASSERT_INT_EQ(sl__value_bytes(&l), 3 + 8);
}

UNIT_MAIN("value", {"repr: quotes", test_repr_quotes}, {"repr: escapes", test_repr_escapes},
          {"repr: UTF-8 and invalid bytes", test_repr_utf8},
          {"repr: non-printable Unicode escaped as Python does", test_repr_nonprintable_unicode},
          {"repr: ints and None", test_repr_ints_none}, {"repr: bools", test_repr_bools},
          {"repr: doubles", test_repr_doubles}, {"repr: lists as tuples", test_repr_lists},
          {"repr: deep nesting is bounded", test_repr_deep_nesting},
          {"json: strings", test_json_strings}, {"json: numbers, null, lists", test_json_values},
          {"record_format", test_record_format},
          {"format: snprintf truncation semantics", test_format_truncation},
          {"compare: type rank", test_compare_type_rank},
          {"compare: numbers", test_compare_numbers}, {"compare: bools", test_compare_bools},
          {"compare: bytes", test_compare_bytes}, {"compare: lists", test_compare_lists},
          {"compare: total order", test_compare_total_order},
          {"hash: equal values hash alike", test_hash_equal_values},
          {"hash: different values differ", test_hash_spread},
          {"hash: bools apart from ints", test_hash_bools},
          {"copy: deep copy is independent", test_copy_deep}, {"value_bytes", test_value_bytes})

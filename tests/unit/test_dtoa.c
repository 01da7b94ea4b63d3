/*
 * test_dtoa.c — core/src/dtoa.c: doubles written exactly as Python's repr()
 * writes them (checked against python3 itself for 200,000 random bit
 * patterns and the edge cases), reading back to the same bits, and
 * formatting and number parsing unchanged under a comma-decimal locale.
 */
#include <float.h>
#include <locale.h>
#include <math.h>

#include "dtoa.h"
#include "unit.h"

#define N_RANDOM 200000

/* Python's side: reads "HEXBITS REPR" lines, compares with
 * repr(struct.unpack('<d', bits)) and prints the mismatches and a total. */
static const char py_check[] =
    "import struct, sys\n"
    "n, bad = 0, []\n"
    "for line in open(sys.argv[1]):\n"
    "    h, got = line.split()\n"
    "    want = repr(struct.unpack('<d', struct.pack('<Q', int(h, 16)))[0])\n"
    "    n += 1\n"
    "    if got != want:\n"
    "        bad.append((h, got, want))\n"
    "for h, got, want in bad[:20]:\n"
    "    print('MISMATCH', h, 'C:', got, 'python:', want)\n"
    "print('checked', n, 'mismatches', len(bad))\n";

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next_random(void) { /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1du;
}

static double from_bits(uint64_t b) {
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t to_bits(double d) {
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* The doubles checked: edge cases, every power of two and of ten, integers
 * around 2^53, short decimals (where ties and "closest" matter), then
 * random 64-bit patterns (NaNs and infinities included). Returns the count. */
static size_t make_cases(uint64_t *out) {
    size_t n = 0;
    const double fixed[] = {0.0,
                            -0.0,
                            DBL_MAX,
                            DBL_MIN,
                            DBL_TRUE_MIN,
                            5e-324,
                            0.1,
                            0.1 + 0.2,
                            1.0 / 3,
                            2.0 / 3,
                            1e16,
                            1e15,
                            1e22,
                            1e23,
                            1e-5,
                            1e-4,
                            0.0001234,
                            123456.789,
                            9007199254740993.0,
                            1e308,
                            2.5e-308,
                            4.9406564584124654e-324,
                            INFINITY,
                            -INFINITY,
                            NAN,
                            -NAN,
                            100.0,
                            1.5};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        out[n++] = to_bits(fixed[i]);
        out[n++] = to_bits(-fixed[i]);
    }
    out[n++] = 0x000fffffffffffffu; /* largest subnormal */
    out[n++] = 0x0000000000000002u;
    for (int e = -1074; e <= 1023; e++)
        out[n++] = to_bits(ldexp(1.0, e));
    char buf[64];
    for (int e = -325; e <= 309; e++) {
        snprintf(buf, sizeof buf, "1e%d", e);
        out[n++] = to_bits(strtod(buf, NULL));
    }
    for (int64_t i = -50; i <= 50; i++) {
        out[n++] = to_bits((double)((INT64_C(1) << 53) + i));
        out[n++] = to_bits((double)((INT64_C(1) << 54) + i * 3));
    }
    for (int i = 0; i < 20000; i++) { /* short decimals: "1234e-67" */
        uint64_t r = next_random();
        snprintf(buf, sizeof buf, "%" PRIu64 "e%d", r % 10000000, (int)(r >> 40) % 640 - 330);
        out[n++] = to_bits(strtod(buf, NULL));
    }
    for (int i = 0; i < N_RANDOM; i++)
        out[n++] = next_random();
    return n;
}

/* Every case's repr matches python3's, and reads back to the same bits. */
static void test_against_python(void) {
    uint64_t *cases = malloc((N_RANDOM + 30000) * sizeof *cases);
    CU_ASSERT_FATAL(cases != NULL);
    size_t n = make_cases(cases);
    char dir[256], data[300], script[300], cmd[700], buf[SL__DTOA_MAX];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    snprintf(data, sizeof data, "%s/cases.txt", dir);
    snprintf(script, sizeof script, "%s/check.py", dir);
    FILE *f = fopen(data, "w"), *s = fopen(script, "w");
    CU_ASSERT_FATAL(f && s);
    fputs(py_check, s);
    fclose(s);
    size_t roundtrip_bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = from_bits(cases[i]);
        size_t len = sl__dtoa_repr(d, buf);
        CU_ASSERT(len == strlen(buf) && len < SL__DTOA_MAX);
        fprintf(f, "%016" PRIx64 " %s\n", cases[i], buf);
        if (!isnan(d) && to_bits(sl__strtod(buf, NULL)) != cases[i] && roundtrip_bad++ < 10)
            unit_check(false, __FILE__, __LINE__, "%016" PRIx64 " -> %s does not read back",
                       cases[i], buf);
    }
    fclose(f);
    ASSERT_INT_EQ(roundtrip_bad, 0);
    snprintf(cmd, sizeof cmd, "python3 %s %s", script, data);
    FILE *py = popen(cmd, "r");
    CU_ASSERT_FATAL(py != NULL);
    char line[512], last[512] = "";
    while (fgets(line, sizeof line, py)) {
        if (strncmp(line, "MISMATCH", 8) == 0)
            fputs(line, stderr);
        snprintf(last, sizeof last, "%s", line);
    }
    ASSERT_INT_EQ(pclose(py), 0);
    char want[64];
    snprintf(want, sizeof want, "checked %zu mismatches 0\n", n);
    ASSERT_STR_EQ(last, want);
    CU_ASSERT(n >= N_RANDOM + 20000);
    unit_rmtree(dir);
    free(cases);
}

/* The layout rules, spelled out (what Python prints for each). */
static void test_layout(void) {
    static const struct {
        double d;
        const char *want;
    } t[] = {{1.0, "1.0"},
             {0.1, "0.1"},
             {100.0, "100.0"},
             {-0.0, "-0.0"},
             {1e-5, "1e-05"},
             {1e-4, "0.0001"},
             {1e16, "1e+16"},
             {1e15, "1000000000000000.0"},
             {1.2345678901234568e+17, "1.2345678901234568e+17"},
             {0.1 + 0.2, "0.30000000000000004"},
             {5e-324, "5e-324"},
             {DBL_MAX, "1.7976931348623157e+308"},
             {DBL_MIN, "2.2250738585072014e-308"},
             {INFINITY, "inf"},
             {-INFINITY, "-inf"},
             {NAN, "nan"},
             {123.456, "123.456"},
             {1e100, "1e+100"},
             {-2.5e-7, "-2.5e-07"}};
    char buf[SL__DTOA_MAX];
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        sl__dtoa_repr(t[i].d, buf);
        ASSERT_STR_EQ(buf, t[i].want);
    }
}

/* Under a comma-decimal LC_NUMERIC (an embedding program's setlocale),
 * repr, JSON output, JSON parsing and config numbers are unchanged. */
static void test_comma_locale(void) {
    char dir[256], buf[64];
    if (!unit_comma_locale(dir, sizeof dir)) {
        unit_rmtree(dir);
        return;
    }
    snprintf(buf, sizeof buf, "%.1f", 1.5);
    ASSERT_STR_EQ(buf, "1,5"); /* the locale really is in effect */
    sl_value v = sl_double(1.5);
    sl__value_format(&v, SL_FORMAT_REPR, buf, sizeof buf);
    ASSERT_STR_EQ(buf, "1.5");
    v = sl_double(-2.5e-7);
    sl__value_format(&v, SL_FORMAT_JSON, buf, sizeof buf);
    ASSERT_STR_EQ(buf, "-2.5e-07");
    sl__arena arena;
    sl_mem mem;
    sl__arena_init(&arena, 4096);
    sl__arena_mem(&arena, &mem);
    const char *text = "[1.5, 2e-3, 0.30000000000000004]";
    CU_ASSERT_EQUAL_FATAL(sl__json_parse(text, strlen(text), &v, &mem, NULL), 0);
    CU_ASSERT(v.type == SL_LIST && v.len == 3);
    CU_ASSERT(v.u.items[0].u.d == 1.5 && v.u.items[1].u.d == 0.002);
    CU_ASSERT(v.u.items[2].u.d == 0.1 + 0.2);
    sl__arena_free(&arena);
    int64_t ms = 0;
    CU_ASSERT_EQUAL(sl_parse_duration("1.5s", &ms), 0);
    ASSERT_INT_EQ(ms, 1500);
    CU_ASSERT(sl__strtod("2,5", NULL) == 2.0);
    setlocale(LC_NUMERIC, "C");
    unsetenv("LOCPATH");
    unit_rmtree(dir);
}

UNIT_MAIN("dtoa", {"repr against python3", test_against_python}, {"layout", test_layout},
          {"comma-decimal locale", test_comma_locale})

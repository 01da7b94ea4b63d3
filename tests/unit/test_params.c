/*
 * test_params.c — core/src/params.c: validating component parameters against
 * a schema, the typed readers, and the duration and size syntax.
 */
#include "unit.h"

/* A schema with every parameter type. */
static const sl_param_spec schema[] = {
    {"name", SL_PARAM_STRING, NULL, 1, "who to greet", NULL, NULL},
    {"count", SL_PARAM_INT, "3", 0, "how many", NULL, NULL},
    {"ratio", SL_PARAM_DOUBLE, "0.5", 0, "a fraction", NULL, NULL},
    {"verbose", SL_PARAM_BOOL, "false", 0, "talk more", NULL, NULL},
    {"timeout", SL_PARAM_DURATION, "5s", 0, "how long", NULL, NULL},
    {"buffer", SL_PARAM_SIZE, "64KiB", 0, "how big", NULL, NULL},
    {"mode", SL_PARAM_ENUM, "fast", 0, "how", "fast|slow|auto", NULL},
    {"label", SL_PARAM_STRING, NULL, 0, "optional, no default", NULL, NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

static sl_params *params;
static sl_error err;
static const char *bad;

/* sl__params_build against `schema` with component name "demo.thing". */
static int build(const char *const *kv) {
    memset(&err, 0, sizeof err);
    params = NULL;
    bad = "untouched";
    return sl__params_build(schema, kv, "demo.thing", &params, &err, &bad);
}

/* Defaults fill every parameter that is not given; absent optional ones
 * without a default read as NULL / 0 and are not "set". */
static void test_defaults(void) {
    const char *kv[] = {"name", "world", NULL};
    ASSERT_INT_EQ(build(kv), 0);
    CU_ASSERT_PTR_NULL(bad);
    CU_ASSERT_PTR_NOT_NULL_FATAL(params);
    ASSERT_STR_EQ(sl__param_str(params, "name"), "world");
    ASSERT_INT_EQ(sl__param_int(params, "count"), 3);
    CU_ASSERT_DOUBLE_EQUAL(sl__param_double(params, "ratio"), 0.5, 1e-12);
    ASSERT_INT_EQ(sl__param_bool(params, "verbose"), 0);
    ASSERT_INT_EQ(sl__param_int(params, "timeout"), 5000);
    ASSERT_INT_EQ(sl__param_int(params, "buffer"), 65536);
    ASSERT_STR_EQ(sl__param_str(params, "mode"), "fast");
    ASSERT_STR_EQ(sl__param_str(params, "count"), "3");
    CU_ASSERT_PTR_NULL(sl__param_str(params, "label"));
    ASSERT_INT_EQ(sl__param_int(params, "label"), 0);
    CU_ASSERT_DOUBLE_EQUAL(sl__param_double(params, "label"), 0.0, 0.0);
    ASSERT_INT_EQ(sl__param_is_set(params, "name"), 1);
    ASSERT_INT_EQ(sl__param_is_set(params, "count"), 0);
    ASSERT_INT_EQ(sl__param_is_set(params, "label"), 0);
    /* names outside the schema read as absent */
    CU_ASSERT_PTR_NULL(sl__param_str(params, "nope"));
    ASSERT_INT_EQ(sl__param_int(params, "nope"), 0);
    ASSERT_INT_EQ(sl__param_is_set(params, "nope"), 0);
    sl__params_free(params);
}

/* Given values of every type are converted; they are "set". */
static void test_given_values(void) {
    const char *kv[] = {"name",    "x",    "count",   "-12",      "ratio",  "2.25",
                        "verbose", "yes",  "timeout", "250ms",    "buffer", "1MiB",
                        "mode",    "slow", "label",   "hi there", NULL};
    ASSERT_INT_EQ(build(kv), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(params);
    ASSERT_INT_EQ(sl__param_int(params, "count"), -12);
    CU_ASSERT_DOUBLE_EQUAL(sl__param_double(params, "count"), -12.0, 0.0);
    CU_ASSERT_DOUBLE_EQUAL(sl__param_double(params, "ratio"), 2.25, 0.0);
    ASSERT_INT_EQ(sl__param_bool(params, "verbose"), 1);
    ASSERT_INT_EQ(sl__param_int(params, "timeout"), 250);
    ASSERT_INT_EQ(sl__param_int(params, "buffer"), 1048576);
    ASSERT_STR_EQ(sl__param_str(params, "mode"), "slow");
    ASSERT_STR_EQ(sl__param_str(params, "label"), "hi there");
    ASSERT_STR_EQ(sl__param_str(params, "timeout"), "250ms");
    ASSERT_INT_EQ(sl__param_is_set(params, "count"), 1);
    ASSERT_INT_EQ(sl__param_is_set(params, "label"), 1);
    sl__params_free(params);
}

/* A double out of int64's range reads through param_int saturated, and a
 * refused one is refused without undefined behaviour (fuzz_params found
 * "777...7771GiB": the cast to int64 came before the check; UBSan fails
 * this test on that code). */
static void test_double_out_of_range(void) {
    const char *big[] = {"name", "x", "ratio", "1e300", NULL};
    ASSERT_INT_EQ(build(big), 0);
    ASSERT_INT_EQ(sl__param_int(params, "ratio"), INT64_MAX);
    CU_ASSERT_DOUBLE_EQUAL(sl__param_double(params, "ratio"), 1e300, 1e288);
    sl__params_free(params);
    const char *neg[] = {"name", "x", "ratio", "-1e300", NULL};
    ASSERT_INT_EQ(build(neg), 0);
    ASSERT_INT_EQ(sl__param_int(params, "ratio"), INT64_MIN);
    sl__params_free(params);
    const char *junk[] = {"name", "x", "ratio", "777777777777777777777777777777777777771GiB", NULL};
    ASSERT_INT_EQ(build(junk), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "expects a number");
}

/* Booleans accept true/false, yes/no, on/off, 1/0 in any case. */
static void test_bools(void) {
    static const char *const yes[] = {"true", "TRUE", "Yes", "on", "1"};
    static const char *const no[] = {"false", "False", "NO", "off", "0"};
    for (size_t i = 0; i < 5; i++) {
        const char *kv[] = {"name", "x", "verbose", yes[i], NULL};
        ASSERT_INT_EQ(build(kv), 0);
        ASSERT_INT_EQ(sl__param_bool(params, "verbose"), 1);
        sl__params_free(params);
        const char *kv2[] = {"name", "x", "verbose", no[i], NULL};
        ASSERT_INT_EQ(build(kv2), 0);
        ASSERT_INT_EQ(sl__param_bool(params, "verbose"), 0);
        sl__params_free(params);
    }
}

/* Enums accept their choices in any case and hand the component the
 * choice's own spelling (it compares with strcmp). */
static void test_enum_case(void) {
    static const char *const given[] = {"SLOW", "Slow", "slow", "sLoW"};
    for (size_t i = 0; i < 4; i++) {
        const char *kv[] = {"name", "x", "mode", given[i], NULL};
        ASSERT_INT_EQ(build(kv), 0);
        ASSERT_STR_EQ(sl__param_str(params, "mode"), "slow");
        sl__params_free(params);
    }
    const char *kv[] = {"name", "x", "mode", "slower", NULL};
    ASSERT_INT_EQ(build(kv), SL_EINVAL);
}

/* A missing required parameter is an error that names it (no bad key). */
static void test_required_missing(void) {
    const char *kv[] = {"count", "1", NULL};
    ASSERT_INT_EQ(build(kv), SL_EINVAL);
    CU_ASSERT_PTR_NULL(params);
    CU_ASSERT_PTR_NULL(bad);
    ASSERT_CONTAINS(err.msg, "demo.thing");
    ASSERT_CONTAINS(err.msg, "missing required parameter 'name'");
    ASSERT_INT_EQ(err.code, SL_EINVAL);
    ASSERT_INT_EQ(build(NULL), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "'name'");
}

/* An unknown key is an error listing the expected names; bad_key points at
 * the key inside kv. */
static void test_unknown_key(void) {
    const char *kv[] = {"name", "x", "colour", "red", NULL};
    ASSERT_INT_EQ(build(kv), SL_EINVAL);
    CU_ASSERT_PTR_NULL(params);
    CU_ASSERT(bad == kv[2]);
    ASSERT_CONTAINS(err.msg, "demo.thing");
    ASSERT_CONTAINS(err.msg, "unknown parameter 'colour'");
    ASSERT_CONTAINS(err.msg, "name, count, ratio, verbose, timeout, buffer, mode, label");
    /* a component without parameters says so */
    sl_params *p = NULL;
    const char *kv2[] = {"x", "1", NULL};
    ASSERT_INT_EQ(sl__params_build(NULL, kv2, "demo.none", &p, &err, &bad), SL_EINVAL);
    CU_ASSERT(bad == kv2[0]);
    ASSERT_CONTAINS(err.msg, "unknown parameter 'x'");
    ASSERT_CONTAINS(err.msg, "takes no parameters");
    /* and with no parameters given, an empty schema builds */
    ASSERT_INT_EQ(sl__params_build(NULL, NULL, "demo.none", &p, &err, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(p);
    sl__params_free(p);
}

/* A value of the wrong type is an error naming the parameter and the value;
 * bad_key points at the key. */
static void test_wrong_type(void) {
    static const struct {
        const char *key, *val, *what;
    } cases[] = {
        {"count", "abc", "integer"},
        {"count", "12abc", "integer"},
        {"count", "", "integer"},
        {"count", "99999999999999999999", "integer"},
        {"count", "1.5", "integer"},
        {"ratio", "x1", "number"},
        {"ratio", "", "number"},
        {"verbose", "maybe", "true or false"},
        {"timeout", "soon", "duration"},
        {"timeout", "-1s", "duration"},
        {"buffer", "big", "size"},
        {"buffer", "-5", "size"},
        {"mode", "medium", "fast|slow|auto"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *kv[] = {"name", "x", cases[i].key, cases[i].val, NULL};
        int rc = build(kv);
        unit_check(rc == SL_EINVAL, __FILE__, __LINE__, "%s=%s refused (got %d)", cases[i].key,
                   cases[i].val, rc);
        CU_ASSERT_PTR_NULL(params);
        if (rc == 0)
            sl__params_free(params);
        CU_ASSERT(bad == kv[2]);
        char quoted[128];
        snprintf(quoted, sizeof quoted, "'%s'", cases[i].key);
        ASSERT_CONTAINS(err.msg, quoted);
        snprintf(quoted, sizeof quoted, "'%s'", cases[i].val);
        ASSERT_CONTAINS(err.msg, quoted);
        ASSERT_CONTAINS(err.msg, cases[i].what);
    }
}

/* The same key twice is an error, not "last one wins". */
static void test_duplicate_key(void) {
    const char *kv[] = {"name", "x", "count", "1", "count", "2", NULL};
    ASSERT_INT_EQ(build(kv), SL_EINVAL);
    CU_ASSERT_PTR_NULL(params);
    CU_ASSERT(bad == kv[4]);
    ASSERT_CONTAINS(err.msg, "'count'");
    ASSERT_CONTAINS(err.msg, "twice");
}

/* A key without a value is an error. */
static void test_key_without_value(void) {
    const char *kv[] = {"name", NULL};
    ASSERT_INT_EQ(build(kv), SL_EINVAL);
    CU_ASSERT(bad == kv[0]);
    ASSERT_CONTAINS(err.msg, "'name'");
    ASSERT_CONTAINS(err.msg, "no value");
}

/* A plugin whose own default does not parse is blamed as the plugin's fault. */
static void test_bad_default(void) {
    static const sl_param_spec broken[] = {{"n", SL_PARAM_INT, "lots", 0, NULL, NULL, NULL},
                                           {NULL, 0, NULL, 0, NULL, NULL, NULL}};
    sl_params *p = NULL;
    ASSERT_INT_EQ(sl__params_build(broken, NULL, "demo.broken", &p, &err, NULL), SL_EPLUGIN);
    CU_ASSERT_PTR_NULL(p);
    ASSERT_CONTAINS(err.msg, "default");
    ASSERT_CONTAINS(err.msg, "'n'");
}

/* Type names, for messages and `sluice plugins`. */
static void test_type_names(void) {
    ASSERT_STR_EQ(sl__param_type_name(SL_PARAM_STRING), "string");
    ASSERT_STR_EQ(sl__param_type_name(SL_PARAM_INT), "int");
    ASSERT_STR_EQ(sl__param_type_name(SL_PARAM_DOUBLE), "double");
    ASSERT_STR_EQ(sl__param_type_name(SL_PARAM_BOOL), "bool");
    ASSERT_STR_EQ(sl__param_type_name(SL_PARAM_DURATION), "duration");
    ASSERT_STR_EQ(sl__param_type_name(SL_PARAM_SIZE), "size");
    ASSERT_STR_EQ(sl__param_type_name(SL_PARAM_ENUM), "enum");
}

/* ---- durations and sizes --------------------------------------------------------- */

static int64_t dur(const char *s, int *rc) {
    int64_t ms = -12345;
    *rc = sl_parse_duration(s, &ms);
    return ms;
}

#define ASSERT_DURATION(text, want)                                                                \
    do {                                                                                           \
        int rc_;                                                                                   \
        int64_t ms_ = dur(text, &rc_);                                                             \
        unit_check(rc_ == 0 && ms_ == (want), __FILE__, __LINE__,                                  \
                   "sl_parse_duration(\"%s\") == %lld (got rc %d, %lld)", text, (long long)(want), \
                   rc_, (long long)ms_);                                                           \
    } while (0)

#define ASSERT_NOT_DURATION(text)                                                                  \
    do {                                                                                           \
        int rc_;                                                                                   \
        int64_t ms_ = dur(text, &rc_);                                                             \
        unit_check(rc_ == SL_EINVAL, __FILE__, __LINE__,                                           \
                   "sl_parse_duration(\"%s\") refused (got rc %d, %lld ms)", text, rc_,            \
                   (long long)ms_);                                                                \
    } while (0)

/* Durations: ms, s, m, h, a bare number of seconds, fractions rounded. */
static void test_durations(void) {
    ASSERT_DURATION("250ms", 250);
    ASSERT_DURATION("5s", 5000);
    ASSERT_DURATION("2m", 120000);
    ASSERT_DURATION("1h", 3600000);
    ASSERT_DURATION("0.5", 500);
    ASSERT_DURATION("5", 5000);
    ASSERT_DURATION("0", 0);
    ASSERT_DURATION("1.5s", 1500);
    ASSERT_DURATION(" 5s ", 5000);
    ASSERT_DURATION("0ms", 0);
    ASSERT_DURATION("1.5ms", 2);
    ASSERT_NOT_DURATION("");
    ASSERT_NOT_DURATION("5x");
    ASSERT_NOT_DURATION("-1s");
    ASSERT_NOT_DURATION("s");
    ASSERT_NOT_DURATION("ms");
    ASSERT_NOT_DURATION("5s5");
    ASSERT_NOT_DURATION("5 5s");
    ASSERT_NOT_DURATION("inf");
    ASSERT_NOT_DURATION("nan");
    int64_t ms;
    ASSERT_INT_EQ(sl_parse_duration(NULL, &ms), SL_EINVAL);
}

/* docs/config.md promises the same duration syntax for SL_PARAM_DURATION
 * parameters as for the file: "No spaces, signs or exponents". */
static void test_durations_strict_syntax(void) {
    ASSERT_NOT_DURATION("+5s");
    ASSERT_NOT_DURATION("1e3");
    ASSERT_NOT_DURATION("1e3ms");
    ASSERT_NOT_DURATION("0x10s");
    ASSERT_NOT_DURATION("5 s");
}

static uint64_t size(const char *s, int *rc) {
    uint64_t b = 12345;
    *rc = sl_parse_size(s, &b);
    return b;
}

#define ASSERT_SIZE(text, want)                                                                    \
    do {                                                                                           \
        int rc_;                                                                                   \
        uint64_t b_ = size(text, &rc_);                                                            \
        unit_check(rc_ == 0 && b_ == (uint64_t)(want), __FILE__, __LINE__,                         \
                   "sl_parse_size(\"%s\") == %llu (got rc %d, %llu)", text,                        \
                   (unsigned long long)(want), rc_, (unsigned long long)b_);                       \
    } while (0)

#define ASSERT_NOT_SIZE(text)                                                                      \
    do {                                                                                           \
        int rc_;                                                                                   \
        uint64_t b_ = size(text, &rc_);                                                            \
        unit_check(rc_ == SL_EINVAL, __FILE__, __LINE__,                                           \
                   "sl_parse_size(\"%s\") refused (got rc %d, %llu bytes)", text, rc_,             \
                   (unsigned long long)b_);                                                        \
    } while (0)

/* Sizes: bytes, KiB/MiB/GiB (1024), KB/MB/GB (1000), k/m/g (1024). */
static void test_sizes(void) {
    ASSERT_SIZE("512", 512);
    ASSERT_SIZE("0", 0);
    ASSERT_SIZE("512B", 512);
    ASSERT_SIZE("64KiB", 65536);
    ASSERT_SIZE("1MiB", 1048576);
    ASSERT_SIZE("2GiB", 2147483648ull);
    ASSERT_SIZE("10KB", 10000);
    ASSERT_SIZE("1MB", 1000000);
    ASSERT_SIZE("1GB", 1000000000);
    ASSERT_SIZE("1k", 1024);
    ASSERT_SIZE("1m", 1048576);
    ASSERT_SIZE("1g", 1073741824);
    ASSERT_SIZE("16GiB", 17179869184ull);
    ASSERT_NOT_SIZE("1XB");
    ASSERT_NOT_SIZE("-5");
    ASSERT_NOT_SIZE("");
    ASSERT_NOT_SIZE("KiB");
    ASSERT_NOT_SIZE("5 KiBs");
    uint64_t b;
    ASSERT_INT_EQ(sl_parse_size(NULL, &b), SL_EINVAL);
}

/* A size too large for the result is refused or exact, never a wrapped value
 * (1e19 bytes fits in uint64_t). */
static void test_size_overflow(void) {
    int rc;
    uint64_t b = size("10000000000GB", &rc);
    unit_check(rc == SL_EINVAL || (rc == 0 && b == 10000000000000000000ull), __FILE__, __LINE__,
               "10000000000GB: refused or exactly 10^19 (got rc %d, %llu)", rc,
               (unsigned long long)b);
    b = size("9999999999GiB", &rc);
    unit_check(rc == SL_EINVAL || (rc == 0 && b == 9999999999ull * 1073741824ull), __FILE__,
               __LINE__, "9999999999GiB: refused or exact (got rc %d, %llu)", rc,
               (unsigned long long)b);
    ASSERT_NOT_SIZE("100000000000GB");
}

/* A size is a whole number of bytes (docs/config.md): half a byte is not one. */
static void test_size_whole_bytes(void) {
    ASSERT_NOT_SIZE("0.5");
    ASSERT_NOT_SIZE("1.5");
    ASSERT_NOT_SIZE("1.5B");
}

/* ---- ranges (ABI 1.3) ---------------------------------------------------------------- */

static const sl_param_spec ranged[] = {{"port", SL_PARAM_INT, NULL, 0, NULL, NULL, "1..65535"},
                                       {"count", SL_PARAM_INT, "0", 0, NULL, NULL, "0.."},
                                       {"pct", SL_PARAM_DOUBLE, NULL, 0, NULL, NULL, "..100"},
                                       {"every", SL_PARAM_DURATION, NULL, 0, NULL, NULL, "1s..1h"},
                                       {"buf", SL_PARAM_SIZE, NULL, 0, NULL, NULL, "1KiB..1MiB"},
                                       {NULL, 0, NULL, 0, NULL, NULL, NULL}};

/* Build `ranged` with one key/value; returns the code, err filled. */
static int build_ranged(const char *key, const char *val) {
    const char *kv[] = {key, val, NULL};
    sl_params *p = NULL;
    memset(&err, 0, sizeof err);
    bad = NULL;
    int rc = sl__params_build(ranged, kv, "demo.ranged", &p, &err, &bad);
    sl__params_free(p);
    return rc;
}

/* Values inside a range pass, both ends included, in the parameter's units. */
static void test_range_inside(void) {
    ASSERT_INT_EQ(build_ranged("port", "1"), 0);
    ASSERT_INT_EQ(build_ranged("port", "65535"), 0);
    ASSERT_INT_EQ(build_ranged("count", "123456789"), 0);
    ASSERT_INT_EQ(build_ranged("pct", "-5.5"), 0);
    ASSERT_INT_EQ(build_ranged("pct", "100"), 0);
    ASSERT_INT_EQ(build_ranged("every", "1s"), 0);
    ASSERT_INT_EQ(build_ranged("every", "60m"), 0);
    ASSERT_INT_EQ(build_ranged("buf", "1024"), 0);
    ASSERT_INT_EQ(build_ranged("buf", "1MiB"), 0);
}

/* Values outside are refused with a message that names the parameter, the
 * bound and the value, and blames the key. */
static void test_range_outside(void) {
    ASSERT_INT_EQ(build_ranged("port", "99999"), SL_EINVAL);
    ASSERT_STR_EQ(err.msg, "demo.ranged: parameter 'port' must be between 1 and 65535, got "
                           "'99999'");
    ASSERT_STR_EQ(bad, "port");
    ASSERT_INT_EQ(build_ranged("port", "0"), SL_EINVAL);
    ASSERT_INT_EQ(build_ranged("count", "-1"), SL_EINVAL);
    ASSERT_STR_EQ(err.msg, "demo.ranged: parameter 'count' must be at least 0, got '-1'");
    ASSERT_INT_EQ(build_ranged("pct", "100.5"), SL_EINVAL);
    ASSERT_STR_EQ(err.msg, "demo.ranged: parameter 'pct' must be at most 100, got '100.5'");
    ASSERT_INT_EQ(build_ranged("every", "999ms"), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "between 1s and 1h, got '999ms'");
    ASSERT_INT_EQ(build_ranged("every", "61m"), SL_EINVAL);
    ASSERT_INT_EQ(build_ranged("buf", "1023"), SL_EINVAL);
    ASSERT_INT_EQ(build_ranged("buf", "2MiB"), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "between 1KiB and 1MiB");
}

/* A range the plugin wrote wrong is the plugin's fault, named as such. */
static void test_range_broken(void) {
    static const sl_param_spec broken[] = {{"a", SL_PARAM_INT, NULL, 0, NULL, NULL, "1-10"},
                                           {"b", SL_PARAM_STRING, NULL, 0, NULL, NULL, "1..2"},
                                           {"c", SL_PARAM_INT, NULL, 0, NULL, NULL, ".."},
                                           {NULL, 0, NULL, 0, NULL, NULL, NULL}};
    const char *names[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        const char *kv[] = {names[i], "1", NULL};
        sl_params *p = NULL;
        ASSERT_INT_EQ(sl__params_build(broken, kv, "demo.broken", &p, &err, NULL), SL_EPLUGIN);
        CU_ASSERT_PTR_NULL(p);
        ASSERT_CONTAINS(err.msg, "the plugin's range");
    }
}

/* A component of a 1.2 plugin (48-byte specs) is copied with full-size
 * specs whose range is NULL; a 1.3 one keeps its ranges. */
static void test_import_stride(void) {
    /* three 1.2 specs laid out at 48 bytes each, then the terminator */
    static sl_param_spec wide[4];
    unsigned char old[4 * 48];
    memset(old, 0, sizeof old);
    const char *names[] = {"x", "y", "z"};
    for (int i = 0; i < 3; i++) {
        sl_param_spec s = {names[i], SL_PARAM_INT, "1", 0, "doc", NULL, NULL};
        memcpy(old + i * 48, &s, 48);
    }
    sl_component c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.kind = SL_COMPONENT_MAP;
    c.name = "m";
    c.params = (const sl_param_spec *)(void *)old;
    const sl_component *copy = NULL;
    ASSERT_INT_EQ(sl__component_import(&c, 2, &copy, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    ASSERT_STR_EQ(copy->name, "m");
    for (int i = 0; i < 3; i++) {
        ASSERT_STR_EQ(copy->params[i].name, names[i]);
        ASSERT_STR_EQ(copy->params[i].default_value, "1");
        CU_ASSERT_PTR_NULL(copy->params[i].range);
    }
    CU_ASSERT_PTR_NULL(copy->params[3].name);
    free((void *)copy);
    wide[0] = (sl_param_spec){"p", SL_PARAM_INT, NULL, 0, NULL, NULL, "1..9"};
    c.params = wide;
    ASSERT_INT_EQ(sl__component_import(&c, 3, &copy, &err), 0);
    ASSERT_STR_EQ(copy->params[0].range, "1..9");
    CU_ASSERT_PTR_NULL(copy->params[1].name);
    free((void *)copy);
}

UNIT_MAIN("params", {"enums ignore case", test_enum_case}, {"defaults", test_defaults},
          {"given values", test_given_values},
          {"a double out of int64's range", test_double_out_of_range}, {"bools", test_bools},
          {"required missing", test_required_missing}, {"unknown key", test_unknown_key},
          {"wrong type", test_wrong_type}, {"duplicate key", test_duplicate_key},
          {"key without value", test_key_without_value}, {"bad plugin default", test_bad_default},
          {"type names", test_type_names}, {"durations", test_durations},
          {"durations: no signs, exponents or inner spaces", test_durations_strict_syntax},
          {"sizes", test_sizes}, {"sizes: no overflow", test_size_overflow},
          {"sizes: whole bytes only", test_size_whole_bytes}, {"ranges: inside", test_range_inside},
          {"ranges: outside", test_range_outside},
          {"ranges: a broken range is the plugin's fault", test_range_broken},
          {"import: a 1.2 schema is read at 48 bytes a spec", test_import_stride})

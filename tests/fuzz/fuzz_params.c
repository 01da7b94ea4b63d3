/*
 * fuzz_params.c — the parsers of parameter values (core/src/params.c,
 * settings.c): durations, sizes, every parameter type against a schema
 * with ranges, and the engine settings by name (sl_context_set). A value
 * is accepted or refused with a message; an accepted duration or size
 * reads back the same after printing in its smallest unit.
 *
 * Input: a selector byte, then NUL-separated strings: 0 a duration, 1 a
 * size, 2 a setting's name and value, 3 name/value pairs for the schema.
 */
#include <inttypes.h>

#include "driver.h"
#include "internal.h"

static const sl_param_spec schema[] = {
    {"s", SL_PARAM_STRING, NULL, 0, "a string", NULL, NULL},
    {"i", SL_PARAM_INT, "3", 0, "an int", NULL, "-5..100"},
    {"d", SL_PARAM_DOUBLE, NULL, 0, "a double", NULL, "0.5.."},
    {"b", SL_PARAM_BOOL, "false", 0, "a bool", NULL, NULL},
    {"t", SL_PARAM_DURATION, "1s", 0, "a duration", NULL, "1ms..1h"},
    {"z", SL_PARAM_SIZE, NULL, 0, "a size", NULL, "..1GiB"},
    {"e", SL_PARAM_ENUM, "a", 0, "an enum", "a|bb|c-c", NULL},
    {"r", SL_PARAM_STRING, NULL, 1, "required", NULL, NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

static void fail(const char *what, const char *text) {
    fprintf(stderr, "fuzz: %s: '%s'\n", what, text);
    abort();
}

/* A duration or size read back after printing it in ms or bytes. */
static void round_trip(int size_kind, const char *text) {
    char again[64];
    if (size_kind) {
        uint64_t v, w;
        if (sl_parse_size(text, &v) != 0)
            return;
        snprintf(again, sizeof again, "%" PRIu64 "b", v);
        if (sl_parse_size(again, &w) != 0 || w != v)
            fail("a size does not read back", text);
    } else {
        int64_t v, w;
        if (sl_parse_duration(text, &v) != 0)
            return;
        snprintf(again, sizeof again, "%" PRId64 "ms", v);
        if (v < 0 || sl_parse_duration(again, &w) != 0 || w != v)
            fail("a duration does not read back (or is negative)", text);
    }
}

/* Build the schema's parameters from the pairs in kv. */
static void build(const char *const *kv) {
    sl_params *p = NULL;
    sl_error err = {0, ""};
    const char *bad = NULL;
    if (sl__params_build(schema, kv, "fuzz", &p, &err, &bad) != 0) {
        if (!err.msg[0])
            fail("refused without a message", kv[0] ? kv[0] : "");
        return;
    }
    (void)sl__param_int(p, "i"), (void)sl__param_int(p, "t"), (void)sl__param_int(p, "z");
    (void)sl__param_double(p, "d"), (void)sl__param_bool(p, "b"), (void)sl__param_str(p, "e");
    sl__params_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4096)
        return 0;
    char *text = malloc(size + 1); /* the strings, each NUL-terminated */
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    const char *kv[17];
    size_t n = 0;
    for (char *s = text; s < text + size && n < 16; s += strlen(s) + 1)
        kv[n++] = s;
    kv[n & ~(size_t)1] = NULL; /* pairs only */
    switch (data[0] % 4) {
    case 0:
        round_trip(0, text);
        break;
    case 1:
        round_trip(1, text);
        break;
    case 2: {
        sl_context *ctx = sl_context_new(1000);
        if (n >= 2 && sl_context_set(ctx, kv[0], kv[1]) != 0 && !sl_context_errmsg(ctx)[0])
            fail("a setting refused without a message", kv[0]);
        sl_context_free(ctx);
        break;
    }
    default:
        build(kv);
    }
    free(text);
    return 0;
}

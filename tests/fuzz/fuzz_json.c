/*
 * fuzz_json.c — the JSON parser (queue files, plugin parameters) on
 * arbitrary bytes: it must return 0 or an error with a message, never
 * crash, hang or leak; what it accepts (objects included) must format and
 * re-parse to the same value.
 */
#define FUZZ_ITERATIONS 50000 /* cheap: well under a second */
#include "driver.h"
#include "internal.h"

/* Format v as JSON and parse it back into *out; false if that fails. */
static bool round_trip(const sl_value *v, sl_value *out, sl_mem *mem) {
    sl_error err = {0, ""};
    size_t n = sl__value_format(v, SL_FORMAT_JSON, NULL, 0);
    char *text = malloc(n + 1);
    if (!text)
        return false;
    sl__value_format(v, SL_FORMAT_JSON, text, n + 1);
    bool ok = sl__json_parse(text, n, out, mem, &err) == 0;
    free(text);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sl__arena a;
    sl__arena_init(&a, 4096);
    sl_mem mem;
    sl__arena_mem(&a, &mem);
    sl_value v;
    sl_error err = {0, ""};
    int rc = sl__json_parse((const char *)data, size, &v, &mem, &err);
    if (rc == 0) {
        /* accepted: formatting is lossless for what the parser produces, so
         * format -> parse gives the same value (bytes that are not UTF-8
         * included: written \udcXY, read back as the byte; doubles, which
         * are finite: a number past their range is refused) and is stable */
        sl_value back, again;
        if (!round_trip(&v, &back, &mem) || !round_trip(&back, &again, &mem) ||
            sl__value_compare(&v, &back) != 0 || sl__value_compare(&back, &again) != 0) {
            fprintf(stderr, "round trip failed\n");
            abort();
        }
    } else if (!err.msg[0]) {
        fprintf(stderr, "an error without a message\n");
        abort();
    }
    sl__arena_free(&a);
    return 0;
}

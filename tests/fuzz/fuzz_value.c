/*
 * fuzz_value.c — the value decoder of checkpoints and plugin snapshots
 * (core/src/codec.c: sl__value_decode, behind host->value_decode) on
 * arbitrary bytes: it decodes values one after another until the bytes end
 * or one is refused; never a crash, a hang, a leak or an allocation larger
 * than the input allows. What it accepts re-encodes to bytes that decode to
 * the same encoding (a varint may be non-minimal on the way in, so the
 * comparison is between encodings, bit for bit: NaN and -0.0 included).
 */
#include "driver.h"
#include "internal.h"

/* Encode v into b (reset first); abort if the engine cannot encode what
 * its own decoder produced. */
static void encode(sl__buf *b, const sl_value *v) {
    sl__buf_reset(b);
    if (sl__value_encode(b, v) != 0) {
        fprintf(stderr, "fuzz: a decoded value does not encode\n");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sl__arena a;
    sl__arena_init(&a, 4096);
    sl_mem mem;
    sl__arena_mem(&a, &mem);
    sl__reader r = {data, size, 0};
    sl__buf once = {0}, twice = {0};
    while (sl__reader_left(&r) > 0) {
        size_t before = r.off;
        sl_value v, back;
        if (sl__value_decode(&r, &v, &mem) != 0) {
            if (r.off != before) {
                fprintf(stderr, "fuzz: a refused value moved the reader\n");
                abort();
            }
            break;
        }
        encode(&once, &v);
        sl__reader r2 = {once.data, once.len, 0};
        if (sl__value_decode(&r2, &back, &mem) != 0 || r2.off != once.len) {
            fprintf(stderr, "fuzz: an encoded value does not decode whole\n");
            abort();
        }
        encode(&twice, &back);
        if (once.len != twice.len || memcmp(once.data, twice.data, once.len) != 0) {
            fprintf(stderr, "fuzz: encode(decode(encode(v))) differs from encode(v)\n");
            abort();
        }
    }
    sl__buf_free(&once);
    sl__buf_free(&twice);
    sl__arena_free(&a);
    return 0;
}

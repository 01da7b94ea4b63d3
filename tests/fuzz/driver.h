/*
 * driver.h — a deterministic stand-in for libFuzzer, so that every fuzz
 * target also runs as a plain ctest test (gcc, no instrumentation): it feeds
 * the target its seeds, then N mutations of them (bit flips, byte
 * replacements, truncations, splices, inserted junk) from a fixed PRNG.
 * Built with -fsanitize=fuzzer instead (clang), the same file is a real
 * libFuzzer target and this main() is left out.
 */
#ifndef SLUICE_FUZZ_DRIVER_H
#define SLUICE_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef SLUICE_LIBFUZZER

static uint64_t fuzz_rng = 0x9e3779b97f4a7c15ull;

static uint64_t fuzz_next(void) {
    uint64_t z = (fuzz_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* One mutation of `in` into `out` (capacity cap); returns the new size. */
static size_t fuzz_mutate(const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    static const char *const junk[] = {"\0",   "\xff\xfe", "${", "}",   "[",       "]",
                                       "{",    ":",        "\"", "\\u", "- ",      "\n",
                                       "    ", "#",        "&a", "*a",  "!!binary"};
    size_t len = n < cap ? n : cap;
    memcpy(out, in, len);
    int rounds = 1 + (int)(fuzz_next() % 4);
    for (int k = 0; k < rounds; k++) {
        uint64_t r = fuzz_next();
        size_t pos = len ? (size_t)(fuzz_next() % len) : 0;
        switch (r % 5) {
        case 0: /* flip a bit */
            if (len)
                out[pos] ^= (uint8_t)(1u << (fuzz_next() % 8));
            break;
        case 1: /* replace a byte */
            if (len)
                out[pos] = (uint8_t)fuzz_next();
            break;
        case 2: /* truncate */
            len = pos;
            break;
        case 3: { /* insert junk */
            const char *j = junk[fuzz_next() % (sizeof junk / sizeof *junk)];
            size_t jl = strlen(j) ? strlen(j) : 1;
            if (len + jl <= cap) {
                memmove(out + pos + jl, out + pos, len - pos);
                memcpy(out + pos, j, jl);
                len += jl;
            }
            break;
        }
        default: { /* duplicate a slice */
            size_t sl = len ? (size_t)(fuzz_next() % (len - pos + 1)) : 0;
            if (len + sl <= cap) {
                memmove(out + pos + sl, out + pos, len - pos);
                memcpy(out + pos + sl, out + pos, sl < len - pos ? sl : len - pos);
                len += sl;
            }
        }
        }
    }
    return len;
}

/* Seeds come from the target; FUZZ_ITERATIONS mutations in all. */
static int fuzz_main(const char *const *seeds, size_t nseeds, int iterations) {
    size_t cap = 1 << 16;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return 1;
    for (size_t i = 0; i < nseeds; i++)
        LLVMFuzzerTestOneInput((const uint8_t *)seeds[i], strlen(seeds[i]));
    for (int it = 0; it < iterations; it++) {
        const char *seed = seeds[fuzz_next() % nseeds];
        size_t n = fuzz_mutate((const uint8_t *)seed, strlen(seed), buf, cap);
        LLVMFuzzerTestOneInput(buf, n);
    }
    free(buf);
    printf("fuzz: %d mutated inputs and %zu seeds, no crash\n", iterations, nseeds);
    printf("%d passed, 0 failed\n", iterations + (int)nseeds);
    return 0;
}

#endif
#endif

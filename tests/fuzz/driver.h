/*
 * driver.h — a deterministic stand-in for libFuzzer, so that every fuzz
 * target also runs as a plain ctest test (gcc, no instrumentation):
 *
 *     fuzz_TARGET CORPUS_DIR...
 *
 * replays every file of the corpus directories (tests/fuzz/corpus/TARGET/,
 * in name order), then FUZZ_ITERATIONS mutations of them (bit flips, byte
 * replacements, truncations, splices, inserted junk) from a fixed PRNG, a
 * fifth of that under ASan. The environment variable SLUICE_FUZZ_ITERATIONS
 * overrides the count (0: replay only). A target may define LLVMFuzzerInitialize, as for libFuzzer.
 *
 * Built with -DSLUICE_LIBFUZZER (clang, -fsanitize=fuzzer), the same file is
 * a real libFuzzer target and this main() is left out (docs/fuzzing.md).
 */
#ifndef SLUICE_FUZZ_DRIVER_H
#define SLUICE_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#ifndef SLUICE_LIBFUZZER

#include <dirent.h>

#ifndef FUZZ_ITERATIONS
#define FUZZ_ITERATIONS 2000
#endif
#define FUZZ_CAP (1 << 16) /* largest input the driver makes or reads */
/* Under ASan an input costs several times as much: a fifth of the
 * mutations keeps the ASan pass of scripts/test.sh as short as the plain one. */
#ifdef __SANITIZE_ADDRESS__
#define FUZZ_DIVISOR 5
#else
#define FUZZ_DIVISOR 1
#endif

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

/* The inputs of the corpus: each file's bytes (malloc'd). */
typedef struct fuzz_input {
    uint8_t *data;
    size_t len;
    char name[256];
} fuzz_input;

static int fuzz_name_cmp(const void *a, const void *b) {
    return strcmp(((const fuzz_input *)a)->name, ((const fuzz_input *)b)->name);
}

/* Read every regular file of dir (at most FUZZ_CAP bytes each) into *in,
 * growing it; returns -1 if dir cannot be read. */
static int fuzz_read_dir(const char *dir, fuzz_input **in, size_t *n) {
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *fp = e->d_name[0] == '.' ? NULL : fopen(path, "rb");
        if (!fp)
            continue;
        fuzz_input *grown = realloc(*in, (*n + 1) * sizeof **in);
        uint8_t *buf = malloc(FUZZ_CAP);
        if (!grown || !buf) {
            free(buf);
            fclose(fp);
            *in = grown ? grown : *in;
            closedir(d);
            return -1;
        }
        *in = grown;
        fuzz_input *f = &(*in)[(*n)++];
        f->data = buf;
        f->len = fread(buf, 1, FUZZ_CAP, fp);
        snprintf(f->name, sizeof f->name, "%s", e->d_name);
        fclose(fp);
    }
    closedir(d);
    return 0;
}

/* Replay the corpus directories given as arguments, then mutate them. */
int main(int argc, char **argv) {
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    fuzz_input *in = NULL;
    size_t n = 0;
    for (int i = 1; i < argc; i++)
        if (fuzz_read_dir(argv[i], &in, &n) < 0) {
            fprintf(stderr, "fuzz: cannot read the corpus directory '%s'\n", argv[i]);
            return 1;
        }
    if (n == 0) {
        fprintf(stderr, "usage: %s CORPUS_DIR... (no input found)\n", argv[0]);
        return 1;
    }
    qsort(in, n, sizeof *in, fuzz_name_cmp);
    const char *env = getenv("SLUICE_FUZZ_ITERATIONS");
    long iterations = env ? strtol(env, NULL, 10) : FUZZ_ITERATIONS / FUZZ_DIVISOR;
    uint8_t *buf = malloc(FUZZ_CAP);
    if (!buf)
        return 1;
    for (size_t i = 0; i < n; i++) { /* copied: a target sees exactly len bytes */
        memcpy(buf, in[i].data, in[i].len);
        LLVMFuzzerTestOneInput(buf, in[i].len);
    }
    for (long it = 0; it < iterations; it++) {
        const fuzz_input *seed = &in[fuzz_next() % n];
        size_t len = fuzz_mutate(seed->data, seed->len, buf, FUZZ_CAP);
        LLVMFuzzerTestOneInput(buf, len);
    }
    for (size_t i = 0; i < n; i++)
        free(in[i].data);
    free(in);
    free(buf);
    printf("fuzz: %zu corpus files and %ld mutations of them, no crash\n", n, iterations);
    return 0;
}

#endif
#endif

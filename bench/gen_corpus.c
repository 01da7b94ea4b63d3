/*
 * gen_corpus — a deterministic Zipf-distributed text corpus for the word count benchmark.
 *
 *     gen_corpus [-v VOCAB] [-z S] OUT [SIZE [SEED]]
 *
 * Builds a vocabulary of VOCAB (default 100000) distinct pseudo-words of lowercase ASCII
 * letters, 2 to 12 letters long (frequent words are short, as in real text), then writes
 * lines of 5 to 15 words separated by single spaces, each word drawn from a Zipf
 * distribution of exponent S (default 1.0) over the vocabulary ranks, until the next line
 * would pass SIZE bytes (default 200000000). The same arguments give the same bytes: the
 * PRNG is our own (splitmix64 seeding xoshiro256**), never libc's rand. The file is written
 * to OUT.tmp and renamed, so a reader never sees a partial corpus.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define MIN_LEN 2
#define MAX_LEN 12
#define OUT_BUF (4u << 20)

typedef struct rng {
    uint64_t s[4];
} rng;

/* splitmix64: expands the seed into xoshiro's state (the authors' recommendation). */
static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: the next 64 random bits. */
static uint64_t rng_next(rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

static void rng_seed(rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

/* A number in [0, n) (Lemire's multiply-shift; the bias, < n / 2^32, does not matter here). */
static uint32_t rng_below(rng *r, uint32_t n) {
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* A double in [0, 1) with 53 random bits. */
static double rng_unit(rng *r) {
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "gen_corpus: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

typedef struct vocab {
    char *bytes;   /* all words back to back */
    uint32_t *off; /* word i is bytes[off[i] .. off[i] + len[i]) */
    uint8_t *len;
    uint32_t n;
} vocab;

/* Length of the word of rank `rank`: grows with log2(rank) as in real text, plus 0-2. */
static int word_len(rng *r, uint32_t rank) {
    int lg = 63 - __builtin_clzll((uint64_t)rank + 1);
    int len = MIN_LEN + lg / 2 + (int)rng_below(r, 3);
    return len > MAX_LEN ? MAX_LEN : len;
}

/* Build `n` distinct random words, rank 0 first. A word already taken is drawn again;
 * a set of hashes (open addressing, 2x oversized) finds duplicates, and a hash hit is
 * confirmed with memcmp so that the vocabulary is exactly `n` distinct words. */
static void vocab_build(vocab *v, rng *r, uint32_t n) {
    size_t cap = 1;
    while (cap < (size_t)n * 2)
        cap <<= 1;
    uint32_t *slots = xmalloc(cap * sizeof *slots); /* word index + 1; 0 = empty */
    memset(slots, 0, cap * sizeof *slots);
    v->bytes = xmalloc((size_t)n * MAX_LEN);
    v->off = xmalloc((size_t)n * sizeof *v->off);
    v->len = xmalloc(n);
    v->n = n;
    uint32_t used = 0;
    for (uint32_t i = 0; i < n; i++) {
        char *w = v->bytes + used;
        for (;;) {
            int len = word_len(r, i);
            for (int k = 0; k < len; k++)
                w[k] = (char)('a' + rng_below(r, 26));
            size_t h = (size_t)XXH3_64bits(w, (size_t)len) & (cap - 1);
            int dup = 0;
            while (slots[h]) {
                uint32_t j = slots[h] - 1;
                if (v->len[j] == len && memcmp(v->bytes + v->off[j], w, (size_t)len) == 0) {
                    dup = 1;
                    break;
                }
                h = (h + 1) & (cap - 1);
            }
            if (dup)
                continue;
            slots[h] = i + 1;
            v->off[i] = used;
            v->len[i] = (uint8_t)len;
            used += (uint32_t)len;
            break;
        }
    }
    free(slots);
}

typedef struct alias {
    double *prob; /* accept column i with probability prob[i], else take alias[i] */
    uint32_t *alias;
    uint32_t n;
} alias;

/* Vose's alias method over Zipf weights 1 / (rank + 1)^s: O(1) per draw. */
static void alias_build(alias *a, uint32_t n, double s) {
    double *p = xmalloc((size_t)n * sizeof *p);
    double sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        p[i] = s == 1.0 ? 1.0 / (double)(i + 1) : pow((double)(i + 1), -s);
        sum += p[i];
    }
    uint32_t *small = xmalloc((size_t)n * sizeof *small);
    uint32_t *large = xmalloc((size_t)n * sizeof *large);
    uint32_t ns = 0, nl = 0;
    for (uint32_t i = 0; i < n; i++) {
        p[i] = p[i] * n / sum;
        if (p[i] < 1.0)
            small[ns++] = i;
        else
            large[nl++] = i;
    }
    a->prob = xmalloc((size_t)n * sizeof *a->prob);
    a->alias = xmalloc((size_t)n * sizeof *a->alias);
    a->n = n;
    while (ns && nl) {
        uint32_t l = small[--ns], g = large[--nl];
        a->prob[l] = p[l];
        a->alias[l] = g;
        p[g] = (p[g] + p[l]) - 1.0;
        if (p[g] < 1.0)
            small[ns++] = g;
        else
            large[nl++] = g;
    }
    while (nl) {
        uint32_t g = large[--nl];
        a->prob[g] = 1.0;
        a->alias[g] = g;
    }
    while (ns) { /* only rounding leaves anything here */
        uint32_t l = small[--ns];
        a->prob[l] = 1.0;
        a->alias[l] = l;
    }
    free(p);
    free(small);
    free(large);
}

/* One Zipf-distributed rank. */
static uint32_t alias_draw(const alias *a, rng *r) {
    uint32_t i = rng_below(r, a->n);
    return rng_unit(r) < a->prob[i] ? i : a->alias[i];
}

/* write(2) all of buf, retrying on short writes. Returns 0 or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t n) {
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static void usage(void) {
    fprintf(stderr, "usage: gen_corpus [-v VOCAB] [-z ZIPF_S] OUT [SIZE_BYTES [SEED]]\n");
    exit(2);
}

int main(int argc, char **argv) {
    uint32_t nvocab = 100000;
    double zipf_s = 1.0;
    int opt;
    while ((opt = getopt(argc, argv, "v:z:")) != -1) {
        if (opt == 'v')
            nvocab = (uint32_t)strtoul(optarg, NULL, 10);
        else if (opt == 'z')
            zipf_s = strtod(optarg, NULL);
        else
            usage();
    }
    if (optind >= argc || argc - optind > 3 || nvocab < 1 || !(zipf_s > 0))
        usage();
    const char *out = argv[optind];
    uint64_t target = argc - optind > 1 ? strtoull(argv[optind + 1], NULL, 10) : 200000000ull;
    uint64_t seed = argc - optind > 2 ? strtoull(argv[optind + 2], NULL, 10) : 42;

    rng r;
    rng_seed(&r, seed);
    vocab v;
    vocab_build(&v, &r, nvocab);
    alias a;
    alias_build(&a, nvocab, zipf_s);

    size_t tmplen = strlen(out) + 5;
    char *tmp = xmalloc(tmplen);
    snprintf(tmp, tmplen, "%s.tmp", out);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "gen_corpus: %s: %s\n", tmp, strerror(errno));
        return 1;
    }

    char *buf = xmalloc(OUT_BUF);
    size_t fill = 0;
    uint64_t total = 0, words = 0, lines = 0;
    uint8_t *seen = xmalloc(nvocab);
    memset(seen, 0, nvocab);
    char line[16 * (MAX_LEN + 1)];
    uint32_t ranks[16];
    for (;;) {
        int nw = 5 + (int)rng_below(&r, 11);
        size_t ll = 0;
        for (int i = 0; i < nw; i++) {
            uint32_t k = ranks[i] = alias_draw(&a, &r);
            memcpy(line + ll, v.bytes + v.off[k], v.len[k]);
            ll += v.len[k];
            line[ll++] = i + 1 < nw ? ' ' : '\n';
        }
        if (total + ll > target)
            break;
        if (fill + ll > OUT_BUF) {
            if (write_all(fd, buf, fill) < 0)
                goto fail;
            fill = 0;
        }
        memcpy(buf + fill, line, ll);
        fill += ll;
        total += ll;
        words += (uint64_t)nw;
        lines++;
        for (int i = 0; i < nw; i++)
            seen[ranks[i]] = 1;
    }
    if (write_all(fd, buf, fill) < 0 || close(fd) < 0)
        goto fail;
    if (rename(tmp, out) < 0) {
        fprintf(stderr, "gen_corpus: rename %s: %s\n", out, strerror(errno));
        return 1;
    }
    uint32_t distinct = 0;
    for (uint32_t i = 0; i < nvocab; i++)
        distinct += seen[i];
    fprintf(stderr,
            "gen_corpus: %s: %llu bytes, %llu lines, %llu words, %u of %u distinct words "
            "(zipf s=%g, seed %llu)\n",
            out, (unsigned long long)total, (unsigned long long)lines, (unsigned long long)words,
            distinct, nvocab, zipf_s, (unsigned long long)seed);
    return 0;
fail:
    fprintf(stderr, "gen_corpus: write %s: %s\n", tmp, strerror(errno));
    unlink(tmp);
    return 1;
}

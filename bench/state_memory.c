/*
 * state_memory.c — memory and speed of the keyed state store (core/src/state.c)
 * against a naive C hash table, on word-like keys with int64 values (the word
 * count's state).
 *
 *     state_memory [--keys N[,N...]] [--partitions P] [--no-timestamps]
 *
 * For every N (default 1,000,000 and 10,000,000) and every case, a child
 * process inserts N distinct keys of 6 to 12 lowercase letters, looks every
 * key up, and runs 5 full update passes (every value incremented; the
 * fastest is reported), checking the results. Cases:
 *
 *   sluice        sl__state_store, P partitions (default: online CPUs), no timestamps
 *   sluice+ts     the same with per-key last-update times (map_with_state)
 *   naive         open addressing (linear probing, max load 0.75, doubling) of
 *                 {char *key (malloc'd), uint32_t len, int64_t value}: what a
 *                 C programmer writes first
 *
 * Reported per case: bytes a key beyond its own bytes, as the structure
 * accounts them (sluice: sl__state_memory(); naive: slot array plus each
 * key's malloc chunk, malloc_usable_size + 8 bytes of chunk header) and as
 * the process's peak RSS shows them (peak RSS of the child minus that of an
 * idle child, minus the key bytes, per key: includes the transient old + new
 * index while growing); then insert, lookup and update-pass times per key.
 * The ratio is naive / sluice. Exit status 0 when every check passed.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "internal.h"
#include "state.h"

#define PREFIX_SPACE 11881376ull /* 26^5 distinct 5-letter prefixes */
#define PASSES 5                 /* update passes; the fastest is reported */

/* ---- keys ---------------------------------------------------------------------- */

static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Key i (i < 26^5) into buf: 5 letters from a bijection of i (so keys are
 * distinct), then 1 to 7 letters from a hash of i. Returns the length. */
static size_t make_key(uint64_t i, char *buf) {
    uint64_t p = (i * 7919 + 12345) % PREFIX_SPACE; /* 7919 is prime to 26 */
    for (int k = 0; k < 5; k++, p /= 26)
        buf[k] = (char)('a' + p % 26);
    uint64_t m = mix(i);
    size_t len = 6 + (size_t)(m % 7);
    m >>= 3;
    for (size_t k = 5; k < len; k++, m >>= 5)
        buf[k] = (char)('a' + m % 26);
    return len;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What a child reports to the parent. */
typedef struct result {
    int ok;           /* every check passed */
    double bytes;     /* structure bytes (see the header comment) */
    double key_bytes; /* sum of key lengths */
    double insert_ns; /* per key */
    double lookup_ns; /* per key */
    double update_ns; /* per key, the full pass */
    long maxrss_kib;  /* filled by the parent */
    char detail[512]; /* room for an sl_error message */
} result;

/* ---- the naive baseline ---------------------------------------------------------- */

typedef struct nslot {
    char *key; /* malloc'd; NULL = empty */
    uint32_t len;
    int64_t value;
} nslot;

typedef struct naive {
    nslot *t;
    size_t mask, n;
} naive;

static nslot *naive_find(naive *h, const char *k, size_t len, uint64_t hv) {
    size_t j = hv & h->mask;
    while (h->t[j].key && !(h->t[j].len == len && memcmp(h->t[j].key, k, len) == 0))
        j = (j + 1) & h->mask;
    return &h->t[j];
}

static int naive_grow(naive *h) {
    size_t slots = h->t ? (h->mask + 1) * 2 : 1024;
    nslot *t = calloc(slots, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; h->t && i <= h->mask; i++) {
        nslot *s = &h->t[i];
        if (!s->key)
            continue;
        size_t j = XXH3_64bits(s->key, s->len) & (slots - 1);
        while (t[j].key)
            j = (j + 1) & (slots - 1);
        t[j] = *s;
    }
    free(h->t);
    h->t = t;
    h->mask = slots - 1;
    return 0;
}

/* Add 1 to key's count (inserting it at 0). */
static int naive_add(naive *h, const char *k, size_t len, int64_t v) {
    if (!h->t || (h->n + 1) * 4 > (h->mask + 1) * 3)
        if (naive_grow(h))
            return -1;
    nslot *s = naive_find(h, k, len, XXH3_64bits(k, len));
    if (!s->key) {
        if (!(s->key = malloc(len)))
            return -1;
        memcpy(s->key, k, len);
        s->len = (uint32_t)len;
        s->value = 0;
        h->n++;
    }
    s->value += v;
    return 0;
}

static void run_naive(uint64_t n, result *r) {
    naive h = {NULL, 0, 0};
    char buf[16];
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        size_t len = make_key(i, buf);
        r->key_bytes += (double)len;
        if (naive_add(&h, buf, len, (int64_t)i)) {
            snprintf(r->detail, sizeof r->detail, "naive: out of memory at key %" PRIu64, i);
            return;
        }
    }
    double t1 = now_s();
    size_t heap = (h.mask + 1) * sizeof(nslot);
    for (size_t i = 0; i <= h.mask; i++)
        if (h.t[i].key)
            heap += malloc_usable_size(h.t[i].key) + 8;
    r->bytes = (double)heap;
    size_t wrong = 0;
    double t2 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        size_t len = make_key(i, buf);
        nslot *s = naive_find(&h, buf, len, XXH3_64bits(buf, len));
        wrong += !s->key || s->value != (int64_t)i;
    }
    double t3 = now_s(), best = 1e9;
    for (int pass = 0; pass < PASSES; pass++) {
        double a = now_s();
        for (size_t i = 0; i <= h.mask; i++)
            if (h.t[i].key)
                h.t[i].value++;
        double b = now_s();
        best = b - a < best ? b - a : best;
    }
    int64_t sum = 0;
    for (size_t i = 0; i <= h.mask; i++)
        if (h.t[i].key)
            sum += h.t[i].value;
    int64_t want = (int64_t)(n * (n - 1) / 2 + n * PASSES);
    r->ok = h.n == n && wrong == 0 && sum == want;
    if (!r->ok)
        snprintf(r->detail, sizeof r->detail, "naive: %zu keys, %zu wrong, sum %" PRId64, h.n,
                 wrong, sum);
    r->insert_ns = (t1 - t0) * 1e9 / (double)n;
    r->lookup_ns = (t3 - t2) * 1e9 / (double)n;
    r->update_ns = best * 1e9 / (double)n;
    for (size_t i = 0; i <= h.mask; i++)
        free(h.t[i].key);
    free(h.t);
}

/* ---- the state store ------------------------------------------------------------------ */

/* The update pass: every count + 1. */
static int incr(void *ud, sl__state_item *it) {
    (void)ud;
    it->value.u.i++;
    return 0;
}

static int sum_values(void *ud, const sl_value *k, const sl_value *v, int64_t t) {
    (void)k;
    (void)t;
    *(int64_t *)ud += v->u.i;
    return 0;
}

static void run_sluice(uint64_t n, int parts, bool timestamps, result *r) {
    sl__state_store *s = NULL;
    sl_error err = {0, ""};
    if (sl__state_new("bench", parts, 0, timestamps, &s, &err)) {
        snprintf(r->detail, sizeof r->detail, "%s", err.msg);
        return;
    }
    char buf[16];
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        size_t len = make_key(i, buf);
        r->key_bytes += (double)len;
        sl_value k = sl_bytes(buf, len), v = sl_int((int64_t)i);
        if (sl__state_put(s, sl__value_hash(&k), &k, &v, 1, &err)) {
            snprintf(r->detail, sizeof r->detail, "%s", err.msg);
            sl__state_free(s);
            return;
        }
    }
    double t1 = now_s();
    r->bytes = (double)sl__state_memory(s);
    size_t wrong = 0;
    double t2 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        size_t len = make_key(i, buf);
        sl_value k = sl_bytes(buf, len);
        const sl_value *v = sl__state_get(s, sl__value_hash(&k), &k, NULL);
        wrong += !v || v->u.i != (int64_t)i;
    }
    double t3 = now_s(), best = 1e9;
    for (int pass = 0; pass < PASSES; pass++) {
        double a = now_s();
        for (int p = 0; p < parts; p++)
            sl__state_update_each(s, p, incr, NULL, &err);
        double b = now_s();
        best = b - a < best ? b - a : best;
    }
    int64_t sum = 0;
    for (int p = 0; p < parts; p++)
        sl__state_foreach(s, p, sum_values, &sum);
    int64_t want = (int64_t)(n * (n - 1) / 2 + n * PASSES);
    r->ok = sl__state_count(s) == n && wrong == 0 && sum == want;
    if (!r->ok)
        snprintf(r->detail, sizeof r->detail, "sluice: %zu keys, %zu wrong, sum %" PRId64,
                 sl__state_count(s), wrong, sum);
    r->insert_ns = (t1 - t0) * 1e9 / (double)n;
    r->lookup_ns = (t3 - t2) * 1e9 / (double)n;
    r->update_ns = best * 1e9 / (double)n;
    sl__state_free(s);
}

/* ---- driver ----------------------------------------------------------------------------- */

enum { CASE_IDLE, CASE_SLUICE, CASE_SLUICE_TS, CASE_NAIVE };
static const char *case_name[] = {"idle", "sluice", "sluice+ts", "naive"};

/* Run one case in a child; its result and its peak RSS go to *r. */
static int run_case(int which, uint64_t n, int parts, result *r) {
    int fd[2];
    memset(r, 0, sizeof *r);
    if (pipe(fd))
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fd[0]);
        result mine;
        memset(&mine, 0, sizeof mine);
        if (which == CASE_SLUICE || which == CASE_SLUICE_TS)
            run_sluice(n, parts, which == CASE_SLUICE_TS, &mine);
        else if (which == CASE_NAIVE)
            run_naive(n, &mine);
        else
            mine.ok = 1;
        ssize_t w = write(fd[1], &mine, sizeof mine);
        _exit(w == (ssize_t)sizeof mine ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = read(fd[0], r, sizeof *r);
    close(fd[0]);
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return -1;
    r->maxrss_kib = ru.ru_maxrss;
    if (got != (ssize_t)sizeof *r || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        memset(r, 0, sizeof *r);
        snprintf(r->detail, sizeof r->detail, "%s: child failed", case_name[which]);
        return -1;
    }
    return 0;
}

static int parse_keys(const char *s, uint64_t *out, int max) {
    int n = 0;
    while (*s && n < max) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || v == 0 || v > PREFIX_SPACE)
            return -1;
        out[n++] = v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return n;
}

static void usage(void) {
    fprintf(stderr,
            "usage: state_memory [--keys N[,N...]] [--partitions P] "
            "[--no-timestamps]\n  N <= %llu\n",
            PREFIX_SPACE);
}

int main(int argc, char **argv) {
    uint64_t keys[8] = {1000000, 10000000};
    int nkeys = 2;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int parts = cpus > 0 ? (int)cpus : 1;
    bool with_ts = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--keys") && i + 1 < argc) {
            if ((nkeys = parse_keys(argv[++i], keys, 8)) <= 0) {
                usage();
                return 2;
            }
        } else if (!strcmp(argv[i], "--partitions") && i + 1 < argc) {
            parts = atoi(argv[++i]);
            if (parts < 1 || parts > 65536) {
                usage();
                return 2;
            }
        } else if (!strcmp(argv[i], "--no-timestamps")) {
            with_ts = false;
        } else {
            usage();
            return 2;
        }
    }
    result idle;
    if (run_case(CASE_IDLE, 0, parts, &idle)) {
        fprintf(stderr, "state_memory: cannot run a child process\n");
        return 1;
    }
    printf("state store vs naive table: %d partition%s; keys 6-12 lowercase letters, int64 "
           "values; idle child RSS %.1f MiB\n\n",
           parts, parts == 1 ? "" : "s", (double)idle.maxrss_kib / 1024);
    printf("%10s  %-10s %9s %9s %9s %10s %10s %10s\n", "keys", "case", "B/key", "RSS B/key",
           "peak MiB", "insert ns", "lookup ns", "update ns");
    bool all_ok = true;
    double per_key[8][4] = {{0}};
    double update[8][4] = {{0}};
    for (int k = 0; k < nkeys; k++) {
        for (int c = CASE_SLUICE; c <= CASE_NAIVE; c++) {
            if (c == CASE_SLUICE_TS && !with_ts)
                continue;
            result r;
            if (run_case(c, keys[k], parts, &r) || !r.ok) {
                printf("%10" PRIu64 "  %-10s FAILED: %s\n", keys[k], case_name[c], r.detail);
                all_ok = false;
                continue;
            }
            double n = (double)keys[k];
            double bpk = (r.bytes - r.key_bytes) / n;
            double rss = ((double)(r.maxrss_kib - idle.maxrss_kib) * 1024 - r.key_bytes) / n;
            per_key[k][c] = bpk;
            update[k][c] = r.update_ns;
            printf("%10" PRIu64 "  %-10s %9.1f %9.1f %9.1f %10.1f %10.1f %10.2f\n", keys[k],
                   case_name[c], bpk, rss, (double)r.maxrss_kib / 1024, r.insert_ns, r.lookup_ns,
                   r.update_ns);
            if (c == CASE_SLUICE)
                printf("%10s  %-10s mean key %.2f bytes\n", "", "", r.key_bytes / n);
        }
    }
    printf("\nratios (naive / sluice; above 1: sluice is smaller or faster):\n");
    for (int k = 0; k < nkeys; k++) {
        if (!per_key[k][CASE_SLUICE] || !per_key[k][CASE_NAIVE])
            continue;
        printf("  %10" PRIu64 " keys: memory %.2fx, update pass %.2fx\n", keys[k],
               per_key[k][CASE_NAIVE] / per_key[k][CASE_SLUICE],
               update[k][CASE_NAIVE] / update[k][CASE_SLUICE]);
    }
    printf("target (issue): sluice <= 64 bytes a key beyond the key's bytes:");
    for (int k = 0; k < nkeys; k++)
        printf(" %" PRIu64 " keys %.1f (%s)%s", keys[k], per_key[k][CASE_SLUICE],
               per_key[k][CASE_SLUICE] > 0 && per_key[k][CASE_SLUICE] <= 64 ? "met" : "NOT met",
               k + 1 < nkeys ? "," : "\n");
    return all_ok ? 0 : 1;
}

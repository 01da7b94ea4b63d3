/*
 * checkpoint.c — time to write a checkpoint of a stateful stream's state and
 * to recover from it, against the raw floor: the same keys and counts
 * written with one fwrite and one fsync, and read back with one fread.
 *
 *     checkpoint [--keys N] [--dir DIR]
 *
 * The state (N word-like keys of 6-12 letters, int64 counts, in a state
 * store of 2 partitions: the word count's state) is written as the engine
 * writes it (core/src/recovery.c): a snapshot of every partition into a
 * checkpoint file (temp file, CRCs, fsync, rename, directory fsync), then
 * loaded back with its integrity checks and restored into an empty store.
 * The recovered store is compared with the original, key by key.
 * Target (issue #3): each under 0.5 s at 1M keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The i-th key: 6-12 letters from a fixed mixing function. */
static size_t make_key(uint64_t i, char *out) {
    uint64_t x = i * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
    size_t len = 6 + (size_t)(x % 7);
    for (size_t k = 0; k < len; k++) {
        x ^= x >> 29;
        x *= 0xbf58476d1ce4e5b9ull;
        out[k] = (char)('a' + (x >> 59) % 26);
    }
    /* append the index's digits to keep the keys distinct */
    return len + (size_t)sprintf(out + len, "%llu", (unsigned long long)i);
}

/* Write the snapshot of every partition of `st` as one checkpoint. */
static int write_ckpt(sl__state_store *st, const char *dir, sl_error *err) {
    sl__ckpt_writer *w;
    int rc = sl__ckpt_begin(dir, 1000, &w, err);
    sl__buf b = {0};
    for (int j = 0; !rc && j < sl__state_partitions(st); j++) {
        char name[64];
        sl__buf_reset(&b);
        snprintf(name, sizeof name, "state/counts/%d", j);
        rc = sl__state_snapshot(st, j, &b, err);
        if (!rc)
            rc = sl__ckpt_section(w, name, b.data, b.len, err);
    }
    sl__buf_free(&b);
    if (rc) {
        sl__ckpt_abort(w);
        return rc;
    }
    return sl__ckpt_commit(w, 1, err);
}

/* Load the newest checkpoint of dir into a new store. */
static int read_ckpt(const char *dir, sl__state_store **out, sl_error *err) {
    sl__ckpt c;
    int rc = sl__ckpt_load_latest(dir, &c, err);
    if (rc)
        return rc;
    rc = sl__state_new("counts", 2, 0, false, out, err);
    for (int j = 0; !rc; j++) {
        char name[64];
        size_t len;
        snprintf(name, sizeof name, "state/counts/%d", j);
        const uint8_t *p = sl__ckpt_find(&c, name, &len);
        if (!p)
            break;
        sl__reader r = {p, len, 0};
        rc = sl__state_restore(*out, &r, 0, err);
    }
    sl__ckpt_free(&c);
    return rc;
}

/* The raw floor: {len, bytes, count} records, one fwrite, fsync; one fread. */
static double raw_write(const char *path, char *keys, const size_t *lens, size_t n,
                        double *read_s) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += 1 + lens[i] + 8;
    char *buf = malloc(total), *p = buf;
    double t0 = now_s();
    const char *k = keys;
    for (size_t i = 0; i < n; i++) {
        *p++ = (char)lens[i];
        memcpy(p, k, lens[i]);
        p += lens[i];
        k += lens[i];
        int64_t v = (int64_t)i;
        memcpy(p, &v, 8);
        p += 8;
    }
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, total, f);
    fflush(f);
    fsync(fileno(f));
    fclose(f);
    double w = now_s() - t0;
    t0 = now_s();
    f = fopen(path, "rb");
    size_t got = fread(buf, 1, total, f);
    fclose(f);
    *read_s = now_s() - t0;
    free(buf);
    return got == total ? w : -1;
}

int main(int argc, char **argv) {
    size_t n = 1000000;
    char dir[4096] = "";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--keys") && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            snprintf(dir, sizeof dir, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--keys N] [--dir DIR]\n", argv[0]);
            return 2;
        }
    }
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/sluice-bench-ckpt-XXXXXX");
        if (!mkdtemp(dir))
            return 1;
    }
    sl_error err = {0, ""};
    sl__state_store *st;
    if (sl__state_new("counts", 2, 0, false, &st, &err))
        return fprintf(stderr, "%s\n", err.msg), 1;
    char *keys = malloc(n * 32), *kp = keys;
    size_t *lens = malloc(n * sizeof *lens);
    for (size_t i = 0; i < n; i++) {
        lens[i] = make_key(i, kp);
        sl_value k = sl_bytes(kp, lens[i]), v = sl_int((int64_t)i);
        if (sl__state_put(st, sl__value_hash(&k), &k, &v, 0, &err))
            return fprintf(stderr, "%s\n", err.msg), 1;
        kp += lens[i];
    }
    double t0 = now_s();
    if (write_ckpt(st, dir, &err))
        return fprintf(stderr, "write: %s\n", err.msg), 1;
    double wr = now_s() - t0;
    t0 = now_s();
    sl__state_store *back;
    if (read_ckpt(dir, &back, &err))
        return fprintf(stderr, "recover: %s\n", err.msg), 1;
    double rd = now_s() - t0;
    /* every key back with its count */
    size_t bad = sl__state_count(back) != n;
    kp = keys;
    for (size_t i = 0; i < n && !bad; i++) {
        sl_value k = sl_bytes(kp, lens[i]);
        const sl_value *v = sl__state_get(back, sl__value_hash(&k), &k, NULL);
        bad += !v || v->u.i != (int64_t)i;
        kp += lens[i];
    }
    char raw[4200];
    snprintf(raw, sizeof raw, "%s/raw.bin", dir);
    double raw_rd, raw_wr = raw_write(raw, keys, lens, n, &raw_rd);
    int64_t *times;
    size_t nt;
    sl__ckpt_list(dir, &times, &nt, &err);
    char name[64], path[4300];
    sl__ckpt_file_name(times[0], name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    printf("checkpoint of %zu keys (%.1f MB file), state store of 2 partitions\n", n, size / 1e6);
    printf("%-34s %10s %10s\n", "", "write s", "recover s");
    printf("%-34s %10.3f %10.3f\n", "sluice checkpoint (CRC, fsync)", wr, rd);
    printf("%-34s %10.3f %10.3f\n", "raw dump (one fwrite+fsync/fread)", raw_wr, raw_rd);
    printf("%-34s %9.1fx %9.1fx\n", "ratio sluice / raw", wr / raw_wr, rd / raw_rd);
    printf("targets: write < 0.5 s: %s; recover < 0.5 s: %s; recovered state %s\n",
           wr < 0.5 ? "met" : "NOT met", rd < 0.5 ? "met" : "NOT met",
           bad ? "DIFFERS" : "identical");
    unlink(raw);
    unlink(path);
    char lock[4200];
    snprintf(lock, sizeof lock, "%s/.lock", dir);
    unlink(lock);
    rmdir(dir);
    free(times);
    sl__state_free(st);
    sl__state_free(back);
    free(keys);
    free(lens);
    return bad ? 1 : 0;
}

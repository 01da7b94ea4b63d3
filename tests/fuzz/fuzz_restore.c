/*
 * fuzz_restore.c — the restore paths (core/src/recovery.c, state.c,
 * opstate.c, ops/window.c, the queue source's and dedupe's restore) on
 * arbitrary section payloads: the harness writes the input's sections into
 * a well-formed checkpoint (right CRCs: the checksums are fuzz_checkpoint's
 * business) and starts a pipeline that resumes from it and runs two
 * batches. The start fails with a message, or the pipeline runs; never a
 * crash, a hang or a leak — also in the batches after a restore that let
 * garbage in.
 *
 * Input: sections, each a NUL-terminated name, a 16-bit little-endian
 * length and that many payload bytes (cut at the end of the input). The
 * pipeline's streams are q (queue), s (update_state_by_key), m
 * (map_with_state), w (reduce_by_key_and_window with an inverse), c
 * (count_by_window) and d (dedupe.by_key): their sections are "meta",
 * "source/q", "state/s/0", "state/m/0", "window/w", "window/c",
 * "operator/d", "state/d/0". FUZZ_RESTORE_SEED=FILE writes a seed in this
 * format from a real run's checkpoint (tests/fuzz/corpus/restore/).
 */
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_ITERATIONS 300 /* a pipeline run each: keep the CI time small */
#include "driver.h"
#include "internal.h"
#include "memfile.h"

#define IV 1000
#define T_CKPT 3000 /* the batch time of the checkpoint written from the input */

static char dir[256];  /* the checkpoint directory */
static char qpath[64]; /* the queue's file (a memfd) */

static int drop_batch(void *ud, int64_t t, const sl_record *recs, size_t n, sl_error *err) {
    (void)ud, (void)t, (void)recs, (void)n, (void)err;
    return 0;
}

/* The pipeline, checkpointing into dir every batch. */
static sl_context *pipeline(void) {
    sl_context *ctx = sl_context_new(IV);
    sl_context_set_clock(ctx, SL_CLOCK_MANUAL);
    sl_context_set_start_time(ctx, 0);
    sl_context_set_workers(ctx, 1);
    sl_context_set_status_line(ctx, 0);
    sl_context_checkpoint(ctx, dir);
    sl_context_set_checkpoint_interval(ctx, IV);
    sl_stream *q = sl_stream_set_name(sl_queue_stream(ctx, qpath), "q");
    sl_stream *p = sl_map(sl_flat_map(q, "text.split", NULL), "kv.pair", NULL);
    sl_stream *out[] = {
        sl_stream_set_name(sl_update_state_by_key(p, "agg.sum", NULL), "s"),
        sl_stream_set_name(sl_map_with_state(p, "agg.running", NULL, 2 * IV), "m"),
        sl_stream_set_name(
            sl_reduce_by_key_and_window_inv(p, "agg.sum", NULL, 3 * IV, IV, NULL, NULL), "w"),
        sl_stream_set_name(sl_count_by_window(q, 2 * IV, IV), "c"),
        sl_stream_set_name(
            sl_operator(p, "dedupe.by_key", (const char *const[]){"within", "10s", NULL}), "d"),
    };
    for (size_t i = 0; i < sizeof out / sizeof *out; i++)
        sl_foreach_batch(out[i], drop_batch, NULL);
    return ctx;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag;
    if (ftw->level > 0)
        remove(path);
    return 0;
}

/* Empty the checkpoint directory (the runs write checkpoints of their own). */
static void clear_dir(void) {
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Whether name is one of the first n section names at off[] in data. */
static int seen(const uint8_t *data, const size_t *off, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp((const char *)data + off[i], name) == 0)
            return 1;
    return 0;
}

/* Write a checkpoint at T_CKPT holding the input's sections (an empty,
 * overlong or repeated name is left out: the writer refuses those). */
static void write_sections(const uint8_t *data, size_t size) {
    sl__ckpt_writer *w;
    sl_error err = {0, ""};
    if (sl__ckpt_begin(dir, T_CKPT, &w, &err) != 0) {
        fprintf(stderr, "fuzz: %s\n", err.msg);
        abort();
    }
    size_t off = 0, names[64], n = 0;
    while (off < size && n < 64) {
        const uint8_t *nul = memchr(data + off, 0, size - off);
        if (!nul || (size_t)(nul - data) + 3 > size)
            break;
        const char *name = (const char *)data + off;
        size_t at = (size_t)(nul - data) + 1;
        size_t len = (size_t)data[at] | (size_t)data[at + 1] << 8;
        at += 2;
        len = len < size - at ? len : size - at;
        if (*name && strlen(name) <= SL__CKPT_MAX_NAME && !seen(data, names, n, name)) {
            names[n++] = off;
            if (sl__ckpt_section(w, name, data + at, len, &err) != 0) {
                fprintf(stderr, "fuzz: %s\n", err.msg);
                abort();
            }
        }
        off = at + len;
    }
    if (sl__ckpt_commit(w, 1, &err) != 0) {
        fprintf(stderr, "fuzz: %s\n", err.msg);
        abort();
    }
}

/* FUZZ_RESTORE_SEED=FILE: run the pipeline 4 batches and write its last
 * checkpoint's sections to FILE in the input format. */
static void make_seed(const char *file) {
    sl_context *ctx = pipeline();
    sl_context_set_max_batches(ctx, 4);
    if (sl_context_start(ctx) != 0 || sl_context_await_termination(ctx) != 0) {
        fprintf(stderr, "fuzz: the seed run failed: %s\n", sl_context_errmsg(ctx));
        exit(1);
    }
    sl_context_free(ctx);
    sl__ckpt c;
    sl_error err = {0, ""};
    FILE *fp = fopen(file, "wb");
    if (!fp || sl__ckpt_load_latest(dir, &c, &err) != 0) {
        fprintf(stderr, "fuzz: no seed: %s\n", err.msg);
        exit(1);
    }
    for (size_t i = 0; i < c.n; i++) {
        uint8_t len[2] = {(uint8_t)c.sec[i].len, (uint8_t)(c.sec[i].len >> 8)};
        fwrite(c.sec[i].name, 1, strlen(c.sec[i].name) + 1, fp);
        fwrite(len, 1, 2, fp);
        fwrite(c.sec[i].data, 1, c.sec[i].len, fp);
    }
    fclose(fp);
    sl__ckpt_free(&c);
    clear_dir();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    static const char lines[] = "[\"a b a\"]\n[\"b c\"]\n[]\n[\"a\"]\n[\"d c\"]\n[\"a a\"]\n"
                                "[\"e\"]\n[\"b\"]\n";
    fuzz_memfile((const uint8_t *)lines, sizeof lines - 1, qpath, sizeof qpath);
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/sluice-fuzz-restore.XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    sl_log_set_level(getenv("FUZZ_VERBOSE") ? SL_LOG_DEBUG : SL_LOG_ERROR); /* logs: a flood */
    const char *seed = getenv("FUZZ_RESTORE_SEED");
    if (seed)
        make_seed(seed);
    return 0;
}

static void cleanup(void) __attribute__((destructor));
static void cleanup(void) {
    if (dir[0]) {
        clear_dir();
        rmdir(dir);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    write_sections(data, size);
    sl_context *ctx = pipeline();
    sl_context_set_max_batches(ctx, 2);
    int rc = sl_context_start(ctx);
    if (rc == 0)
        rc = sl_context_await_termination(ctx);
    if (rc < 0 && !sl_context_errmsg(ctx)[0]) {
        fprintf(stderr, "fuzz: the run failed (%d) without a message\n", rc);
        abort();
    }
    sl_context_free(ctx);
    clear_dir();
    return 0;
}

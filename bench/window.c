/*
 * window.c — sliding reduce_by_key_and_window: the incremental form (with
 * agg.sum's inverse: add the entering batch, subtract the leaving one)
 * against the recomputing form (merge every batch of the window at every
 * slide), in the same run, through the public API.
 *
 *     window [--batches N] [--records R] [--keys K]
 *
 * Each batch holds R pairs (key, 1) over K keys (a fixed PRNG; the same data
 * for both forms, from a queue file). Windows of 2, 10 and 50 intervals
 * slide by one interval; the manual clock runs the batches back to back.
 * Reported: seconds per form, records per second, and recompute / inverse.
 * The outputs of both forms are compared batch by batch (they must be
 * equal: the incremental form keeps zero counts, which the comparison
 * ignores, as Spark would without a filter).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sluice/sluice.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Per batch: the sum of the non-zero counts and their number, a checksum of
 * the window's result that both forms must agree on. */
typedef struct digest {
    int64_t sum[4096];
    int64_t keys[4096];
    size_t n;
} digest;

static int summarize(void *ud, int64_t t, const sl_record *recs, size_t n, sl_error *err) {
    digest *d = ud;
    (void)t;
    (void)err;
    int64_t s = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        if (recs[i].value.u.i != 0) {
            s += recs[i].value.u.i;
            k++;
        }
    if (d->n < 4096) {
        d->sum[d->n] = s;
        d->keys[d->n] = k;
        d->n++;
    }
    return 0;
}

/* One run: the window over the queue file; returns seconds. */
static double run(const char *queue, int batches, int64_t window_batches, int inverse, digest *d) {
    sl_context *ctx = sl_context_new(1000);
    sl_context_set_clock(ctx, SL_CLOCK_MANUAL);
    sl_context_set_max_batches(ctx, batches);
    sl_stream *q = sl_queue_stream(ctx, queue);
    sl_stream *w =
        inverse ? sl_reduce_by_key_and_window_inv(q, "agg.sum", NULL, window_batches * 1000, 1000,
                                                  NULL, NULL)
                : sl_reduce_by_key_and_window(q, "agg.sum", NULL, window_batches * 1000, 1000);
    sl_foreach_batch(w, summarize, d);
    double t0 = now_s();
    if (sl_context_start(ctx) != 0 || sl_context_await_termination(ctx) != 0) {
        fprintf(stderr, "window: %s\n", sl_context_errmsg(ctx));
        exit(1);
    }
    double s = now_s() - t0;
    sl_context_free(ctx);
    return s;
}

int main(int argc, char **argv) {
    int batches = 120, records = 50000, keys = 20000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--batches"))
            batches = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--records"))
            records = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--keys"))
            keys = atoi(argv[i + 1]);
    }
    char queue[] = "/tmp/sluice-bench-window-XXXXXX";
    int fd = mkstemp(queue);
    FILE *f = fdopen(fd, "w");
    uint64_t x = 42;
    for (int b = 0; b < batches; b++) {
        fputc('[', f);
        for (int r = 0; r < records; r++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            fprintf(f, "%s{\"key\":\"k%d\",\"value\":1}", r ? "," : "",
                    (int)((x >> 33) % (uint64_t)keys));
        }
        fputs("]\n", f);
    }
    fclose(f);
    printf("reduce_by_key_and_window(agg.sum), slide 1 interval: %d batches of %d pairs over %d "
           "keys\n",
           batches, records, keys);
    printf("%8s %14s %14s %12s %s\n", "window", "recompute s", "inverse s", "ratio", "results");
    static const int64_t windows[] = {2, 10, 50};
    int failed = 0;
    for (size_t i = 0; i < sizeof windows / sizeof *windows; i++) {
        static digest a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        double rec = run(queue, batches, windows[i], 0, &a);
        double inv = run(queue, batches, windows[i], 1, &b);
        int same = a.n == b.n && !memcmp(a.sum, b.sum, a.n * sizeof *a.sum) &&
                   !memcmp(a.keys, b.keys, a.n * sizeof *a.keys);
        failed |= !same;
        printf("%8lld %14.3f %14.3f %11.2fx %s\n", (long long)windows[i], rec, inv, rec / inv,
               same ? "identical" : "DIFFER");
    }
    unlink(queue);
    return failed;
}

/*
 * fuzz_initial_state.c — an update_state_by_key stream's initial_state file
 * (core/src/ops/state.c: JSON Lines of {"key": K, "value": V} objects or
 * [K, V] pairs) on arbitrary contents: the run starts with that state, or
 * fails with a message naming the stream; never a crash, a hang or a leak.
 */
#define FUZZ_ITERATIONS 300 /* a pipeline run each: keep the CI time small */
#include "driver.h"
#include "internal.h"
#include "memfile.h"

static char qpath[64]; /* the queue's file (a memfd) */

static int drop_batch(void *ud, int64_t t, const sl_record *recs, size_t n, sl_error *err) {
    (void)ud, (void)t, (void)recs, (void)n, (void)err;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    static const char lines[] = "[\"a b a\"]\n[\"b c\"]\n";
    fuzz_memfile((const uint8_t *)lines, sizeof lines - 1, qpath, sizeof qpath);
    sl_log_set_level(getenv("FUZZ_VERBOSE") ? SL_LOG_DEBUG : SL_LOG_ERROR); /* logs: a flood */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    int fd = fuzz_memfile(data, size, path, sizeof path);
    sl_context *ctx = sl_context_new(1000);
    sl_context_set_clock(ctx, SL_CLOCK_MANUAL);
    sl_context_set_workers(ctx, 1);
    sl_context_set_status_line(ctx, 0);
    sl_context_set_max_batches(ctx, 2);
    sl_stream *p =
        sl_map(sl_flat_map(sl_queue_stream(ctx, qpath), "text.split", NULL), "kv.pair", NULL);
    sl_stream *s = sl_update_state_by_key(p, "agg.sum", NULL);
    int rc = sl_stream_set_initial_state(s, path) ? 0 : SL_EINVAL;
    if (rc == 0) {
        sl_foreach_batch(s, drop_batch, NULL);
        rc = sl_context_start(ctx);
        if (rc == 0)
            rc = sl_context_await_termination(ctx);
    }
    if (rc < 0 && getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "refused: %s\n", sl_context_errmsg(ctx));
    if (rc < 0 && !sl_context_errmsg(ctx)[0]) {
        fprintf(stderr, "fuzz: the run failed (%d) without a message\n", rc);
        abort();
    }
    sl_context_free(ctx);
    close(fd);
    return 0;
}

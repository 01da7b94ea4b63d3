/*
 * fuzz_queue.c — the queue source's line scanner (connectors/queue) on
 * arbitrary file contents: every batch line is emitted, or the poll fails
 * with a message naming the file; never a crash, a hang or a leak. The
 * first byte picks on_end (idle or stop) and how many batches to poll.
 */
#include "component.h"
#include "driver.h"
#include "memfile.h"

#define MAX_POLLS 64

/* Poll until the end (SL_EOF), an error, or MAX_POLLS batches. */
static void poll_all(fuzz_comp *c, int polls, const char *path) {
    sl__arena a;
    sl__arena_init(&a, 4096);
    sl_mem mem;
    sl__arena_mem(&a, &mem);
    sl__recvec out = {0};
    sl_record buf[64];
    for (int i = 0; i < polls; i++) {
        sl_emitter em;
        fuzz_emitter(&em, buf, 64, &out, &mem);
        sl_error err = {0, ""};
        int rc = c->fn.source.poll(c->fn.inst, 1000 * (int64_t)i, &em, &err);
        if (rc == 0 || rc == SL_EOF)
            rc = em.count ? em.flush(&em) : 0;
        fuzz_check_error(rc < 0 && rc != SL_EOF ? rc : 0, &err, "queue poll");
        if (rc < 0 && rc != SL_EOF && !strstr(err.msg, path)) {
            fprintf(stderr, "fuzz: the queue's error does not name the file: %s\n", err.msg);
            abort();
        }
        if (rc < 0)
            break;
        out.n = 0;
        sl__arena_reset(&a);
    }
    sl__recvec_free(&out);
    sl__arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    char path[64];
    int fd = fuzz_memfile(data + 1, size - 1, path, sizeof path);
    fuzz_comp c;
    const char *const kv[] = {"path", path, "on_end", data[0] & 1 ? "stop" : "idle", NULL};
    int rc = fuzz_comp_open(&c, "queue.queue", SL_COMPONENT_SOURCE, kv);
    fuzz_check_error(rc, &c.err, "queue create");
    if (rc == 0)
        poll_all(&c, 1 + (data[0] >> 1) % MAX_POLLS, path);
    fuzz_comp_close(&c);
    close(fd);
    return 0;
}

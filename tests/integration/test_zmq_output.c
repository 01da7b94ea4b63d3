/*
 * test_zmq_output.c — sl_zmq_output, the zmq sink through the C API,
 * against an independent ZeroMQ peer: a pyzmq PULL socket
 * (tests/integration/zmq_peer.py, as the zmq shell tests use it) started
 * as a child process, which prints every message it receives as a JSON
 * list of its frames, one per line.
 *
 *   - a word count over two queued batches ends in
 *     sl_zmq_output(counts, "push", "tcp://...", NULL) and the peer, bound,
 *     receives exactly the 8 [word, count] messages of the two batches;
 *   - sl_zmq_output(lines, NULL, NULL, {"bind", ...}): the default type
 *     (push) on a socket that only binds, read by a peer that connects:
 *     every plain element arrives as one frame, once;
 *   - a type the sink does not have fails the start with a message that
 *     names it, and a NULL stream is SL_EINVAL.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <sluice/sluice.h>

#include "peer.h"

#define ZO_INTERVAL_MS 200
#define ZO_WAIT_MS 20000 /* generous for ASan builds */
#define ZO_MAX_LINES 256

/* ms on the monotonic clock. */
static int64_t zo_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A pyzmq PULL peer in a child process: `mode` is "--bind" or "--connect"
 * on `endpoint`; it reads up to `count` messages (stopping after 2 s
 * without one), writes them to `out` and creates `ready` once its socket is
 * set up. Uses python3, or Debian's when the first python3 lacks zmq (as
 * zmq_lib.sh). Returns the child's pid, or -1. */
static pid_t zo_peer_start(const char *mode, const char *endpoint, int count, const char *ready,
                           const char *out) {
    const char *src = getenv("SLUICE_SOURCE_DIR");
    char script[1024], n[16];
    snprintf(script, sizeof script, "%s/tests/integration/zmq_peer.py", src ? src : ".");
    snprintf(n, sizeof n, "%d", count);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    execl("/bin/sh", "sh", "-c",
          "PY=python3; \"$PY\" -c 'import zmq' 2>/dev/null || PY=/usr/bin/python3; "
          "exec \"$PY\" \"$0\" recv --type pull \"$1\" \"$2\" --count \"$3\" --timeout 2 "
          "--ready \"$4\" >\"$5\"",
          script, mode, endpoint, n, ready, out, (char *)NULL);
    _exit(127);
}

/* Wait up to ms for `path` to exist. 0 or -1. */
static int zo_wait_file(const char *path, int ms) {
    struct stat st;
    for (int64_t until = zo_now_ms() + ms; zo_now_ms() < until; usleep(20 * 1000))
        if (stat(path, &st) == 0)
            return 0;
    return -1;
}

/* Wait up to ms for the peer to exit; kill it if it does not. */
static void zo_peer_reap(pid_t pid, int ms) {
    for (int64_t until = zo_now_ms() + ms; zo_now_ms() < until; usleep(20 * 1000))
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static int zo_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of `path`, newline removed, sorted, into lines[] (malloc'd,
 * the caller frees them). Returns how many. */
static int zo_read_sorted(const char *path, char **lines, int cap) {
    FILE *f = fopen(path, "r");
    int n = 0;
    char buf[512];
    while (f && n < cap && fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = 0;
        lines[n++] = strdup(buf);
    }
    if (f)
        fclose(f);
    qsort(lines, (size_t)n, sizeof *lines, zo_cmp);
    return n;
}

/* A private directory with the peer's files: ready, out. */
typedef struct zo_dir {
    char dir[64], ready[96], out[96];
} zo_dir;

static int zo_dir_make(zo_dir *d) {
    snprintf(d->dir, sizeof d->dir, "/tmp/sluice_zmq_output_XXXXXX");
    if (!mkdtemp(d->dir))
        return -1;
    snprintf(d->ready, sizeof d->ready, "%s/ready", d->dir);
    snprintf(d->out, sizeof d->out, "%s/out", d->dir);
    return 0;
}

static void zo_dir_remove(zo_dir *d) {
    unlink(d->ready);
    unlink(d->out);
    rmdir(d->dir);
}

/* Run a context until its queue stream has ended (or ZO_WAIT_MS), then
 * free it (the sink's queued messages go out within its linger). */
static void zo_run(sl_context *ssc) {
    int rc = sl_context_start(ssc);
    if (rc != 0)
        fprintf(stderr, "start: %s\n", sl_context_errmsg(ssc));
    CU_ASSERT_EQUAL(rc, 0);
    if (rc == 0) {
        rc = sl_context_await_termination_or_timeout(ssc, ZO_WAIT_MS);
        if (rc < 0)
            fprintf(stderr, "run: %s\n", sl_context_errmsg(ssc));
        CU_ASSERT_EQUAL(rc, 1); /* ended by itself: the queue is out */
    }
    sl_context_free(ssc);
}

/* Compare the peer's messages (sorted) with `want` (sorted too). */
static void zo_check_lines(const char *out, const char *const *want, int nwant) {
    char *got[ZO_MAX_LINES];
    int n = zo_read_sorted(out, got, ZO_MAX_LINES);
    CU_ASSERT_EQUAL(n, nwant);
    for (int i = 0; i < n && i < nwant; i++) {
        if (strcmp(got[i], want[i]) != 0)
            fprintf(stderr, "message %d: got %s, want %s\n", i, got[i], want[i]);
        CU_ASSERT_STRING_EQUAL(got[i], want[i]);
    }
    for (int i = 0; i < n; i++)
        free(got[i]);
}

/* counts = lines.flatMap(split).map(pair).reduceByKey(sum), sent to a
 * PULL peer that binds: one [word, count] message per word and batch. */
static void test_wordcount_push(void) {
    zo_dir d;
    CU_ASSERT_EQUAL_FATAL(zo_dir_make(&d), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", peer_free_port());
    pid_t pid = zo_peer_start("--bind", ep, 9, d.ready, d.out); /* 9: an extra one would show */
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_EQUAL(zo_wait_file(d.ready, 10000), 0);

    sl_context *ssc = sl_context_new(ZO_INTERVAL_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ssc);
    sl_context_set_status_line(ssc, 0);
    sl_queue *q = NULL;
    sl_stream *lines = sl_queue_stream_new(ssc, 1, &q);
    sl_stream *words = sl_flat_map(lines, "text.split", (const char *[]){"sep", " ", NULL});
    sl_stream *pairs = sl_map(words, "kv.pair", NULL);
    sl_stream *counts = sl_reduce_by_key(pairs, "agg.sum", NULL);
    CU_ASSERT_EQUAL(sl_zmq_output(counts, "push", ep, NULL), 0);
    CU_ASSERT_EQUAL(
        sl_queue_push_strings(q, (const char *[]){"to be or not to be", "to do is to be"}, 2), 0);
    CU_ASSERT_EQUAL(sl_queue_push_strings(q, (const char *[]){"be quick"}, 1), 0);
    sl_queue_close(q);
    zo_run(ssc);
    zo_peer_reap(pid, 10000);

    static const char *const want[] = {
        /* sorted: batch 1 (to 4, be 3, or, not, do, is), batch 2 (be 1, quick 1) */
        "[\"be\", \"1\"]",  "[\"be\", \"3\"]", "[\"do\", \"1\"]",    "[\"is\", \"1\"]",
        "[\"not\", \"1\"]", "[\"or\", \"1\"]", "[\"quick\", \"1\"]", "[\"to\", \"4\"]",
    };
    zo_check_lines(d.out, want, 8);
    zo_dir_remove(&d);
}

/* The default type (NULL: push) and no connect (NULL): the sink only binds,
 * and the peer connects to it. Plain elements: one frame each. */
static void test_bind_default_type(void) {
    zo_dir d;
    CU_ASSERT_EQUAL_FATAL(zo_dir_make(&d), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", peer_free_port());
    pid_t pid = zo_peer_start("--connect", ep, 101, d.ready, d.out);
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_EQUAL(zo_wait_file(d.ready, 10000), 0);

    sl_context *ssc = sl_context_new(ZO_INTERVAL_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ssc);
    sl_context_set_status_line(ssc, 0);
    sl_queue *q = NULL;
    sl_stream *lines = sl_queue_stream_new(ssc, 1, &q);
    CU_ASSERT_EQUAL(sl_zmq_output(lines, NULL, NULL, (const char *[]){"bind", ep, NULL}), 0);
    char text[100][8];
    const char *strs[100];
    for (int i = 0; i < 100; i++) {
        snprintf(text[i], sizeof text[i], "s%02d", i);
        strs[i] = text[i];
    }
    CU_ASSERT_EQUAL(sl_queue_push_strings(q, strs, 100), 0);
    sl_queue_close(q);
    zo_run(ssc);
    zo_peer_reap(pid, 10000);

    char want_text[100][16];
    const char *want[100];
    for (int i = 0; i < 100; i++) {
        snprintf(want_text[i], sizeof want_text[i], "[\"s%02d\"]", i);
        want[i] = want_text[i];
    }
    zo_check_lines(d.out, want, 100);
    zo_dir_remove(&d);
}

/* A socket type the sink does not have: the start fails and says which. */
static void test_bad_type(void) {
    CU_ASSERT_EQUAL(sl_zmq_output(NULL, "push", "tcp://127.0.0.1:1", NULL), SL_EINVAL);
    sl_context *ssc = sl_context_new(ZO_INTERVAL_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ssc);
    sl_queue *q = NULL;
    sl_stream *lines = sl_queue_stream_new(ssc, 1, &q);
    sl_zmq_output(lines, "dealer", "tcp://127.0.0.1:1", NULL);
    CU_ASSERT_NOT_EQUAL(sl_context_start(ssc), 0);
    const char *msg = sl_context_errmsg(ssc);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "dealer"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "push|pub"));
    if (!strstr(msg, "dealer") || !strstr(msg, "push|pub"))
        fprintf(stderr, "the error: %s\n", msg);
    sl_context_free(ssc);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    CU_pSuite s = CU_add_suite("zmq_output", NULL, NULL);
    CU_add_test(s, "word count to a pyzmq PULL that binds", test_wordcount_push);
    CU_add_test(s, "default type, bind only, a PULL that connects", test_bind_default_type);
    CU_add_test(s, "a socket type the sink does not have", test_bad_type);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}

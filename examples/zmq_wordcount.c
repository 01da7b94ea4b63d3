/*
 * zmq_wordcount.c — examples/zmq_wordcount.yaml as a C program: a ZeroMQ
 * PULL socket connects to a PUSH peer, one line per message, and the word
 * counts of every batch are printed.
 *
 *     ENDPOINT=tcp://127.0.0.1:5555 ./zmq_wordcount [SECONDS]
 *
 * Environment (as the YAML): ENDPOINT (tcp://127.0.0.1:5555), BATCH_INTERVAL
 * in ms here (5000).
 */
#include <stdio.h>
#include <stdlib.h>

#include <sluice/sluice.h>

/* The value of an environment variable, or `def` when unset or empty. */
static const char *env_or(const char *name, const char *def) {
    const char *v = getenv(name);
    return v && *v ? v : def;
}

int main(int argc, char **argv) {
    int seconds = argc > 1 ? atoi(argv[1]) : 60;
    long interval = atol(env_or("BATCH_INTERVAL", "5000"));
    if (seconds <= 0 || interval <= 0) {
        fprintf(stderr, "usage: %s [SECONDS]   (default 60; BATCH_INTERVAL in ms)\n", argv[0]);
        return 2;
    }
    sl_context *ssc = sl_context_new(interval);
    if (!ssc) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    /* lines = a PULL socket connected to the PUSH peer */
    sl_stream *lines = sl_zmq_stream(ssc, "pull", env_or("ENDPOINT", "tcp://127.0.0.1:5555"), NULL);
    sl_stream *words = sl_flat_map(lines, "text.split", (const char *[]){"sep", " ", NULL});
    sl_stream *pairs = sl_map(words, "kv.pair", NULL);
    sl_stream *counts = sl_reduce_by_key(pairs, "agg.sum", NULL);
    sl_pprint(counts, 10);

    if (sl_context_start(ssc) != 0) {
        fprintf(stderr, "zmq_wordcount: %s\n", sl_context_errmsg(ssc));
        sl_context_free(ssc);
        return 1;
    }
    int rc = sl_context_await_termination_or_timeout(ssc, (int64_t)seconds * 1000);
    if (rc < 0)
        fprintf(stderr, "zmq_wordcount: %s\n", sl_context_errmsg(ssc));
    sl_context_free(ssc); /* stops gracefully */
    return rc < 0 ? 1 : 0;
}

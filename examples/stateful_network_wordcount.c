/*
 * stateful_network_wordcount.c — Spark Streaming's network word count with
 * state, through sluice.h: counts accumulate across batches, and resume from
 * the checkpoint directory after a restart.
 *
 *     nc -lk 9999                                        # terminal 1
 *     ./stateful_network_wordcount [PORT] [CHECKPOINT]   # terminal 2
 *
 * Build it against an installed sluice:
 *
 *     cc stateful_network_wordcount.c $(pkg-config --cflags --libs sluice)
 */
#include <stdio.h>
#include <stdlib.h>

#include <sluice/sluice.h>

/* def updateFunc(new_values, last_sum):
 *     return sum(new_values) + (last_sum or 0) */
static int update_func(void *ud, const sl_value *key, const sl_value *new_values, size_t n,
                       const sl_value *last_sum, sl_value *out, sl_mem *mem, sl_error *err) {
    (void)ud;
    (void)key;
    (void)mem;
    (void)err;
    int64_t sum = last_sum ? last_sum->u.i : 0;
    for (size_t i = 0; i < n; i++)
        sum += new_values[i].u.i;
    *out = sl_int(sum);
    return 0;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 9999;
    const char *cpdir = argc > 2 ? argv[2] : "/tmp/cpdir";
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "usage: %s [PORT] [CHECKPOINT_DIR]   (defaults: 9999 /tmp/cpdir)\n",
                argv[0]);
        return 2;
    }

    /* ssc = StreamingContext(sc, 5) */
    sl_context *ssc = sl_context_new(5000);
    if (!ssc) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    /* lines = ssc.socketTextStream("localhost", 9999) */
    sl_stream *lines = sl_socket_text_stream(ssc, "localhost", port);

    /* ssc.checkpoint("/tmp/cpdir") */
    sl_context_checkpoint(ssc, cpdir);

    /* counts = lines.flatMap(lambda line: line.split(" "))
     *               .map(lambda word: (word, 1))
     *               .updateStateByKey(updateFunc) */
    sl_stream *words = sl_flat_map(lines, "text.split", (const char *[]){"sep", " ", NULL});
    sl_stream *pairs = sl_map(words, "kv.pair", NULL);
    sl_stream *counts = sl_update_state_by_key_fn(pairs, update_func, NULL);

    /* counts.pprint() */
    sl_pprint(counts, 10);

    /* ssc.start() */
    if (sl_context_start(ssc) != 0) {
        fprintf(stderr, "stateful_network_wordcount: %s\n", sl_context_errmsg(ssc));
        sl_context_free(ssc);
        return 1;
    }

    /* ssc.awaitTerminationOrTimeout(60) */
    int rc = sl_context_await_termination_or_timeout(ssc, 60000);
    if (rc < 0)
        fprintf(stderr, "stateful_network_wordcount: %s\n", sl_context_errmsg(ssc));
    sl_context_free(ssc); /* stops gracefully; the last checkpoint is written */
    return rc < 0 ? 1 : 0;
}

/*
 * network_wordcount.c — Spark Streaming's network word count, through sluice.h.
 *
 * The same pipeline as network_wordcount.yaml, line for line with the
 * PySpark it answers. Start a server for it to read, then run it:
 *
 *     nc -lk 9999                       # terminal 1: type lines here
 *     ./network_wordcount [PORT]        # terminal 2: counts every 5 s, for 60 s
 *
 * Build it against an installed sluice:
 *
 *     cc network_wordcount.c $(pkg-config --cflags --libs sluice) -o network_wordcount
 */
#include <stdio.h>
#include <stdlib.h>

#include <sluice/sluice.h>

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 9999;
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "usage: %s [PORT]   (a TCP port, default 9999)\n", argv[0]);
        return 2;
    }

    /* sc.setLogLevel("WARN") */
    sl_log_set_level(SL_LOG_WARN);

    /* ssc = StreamingContext(sc, 5) */
    sl_context *ssc = sl_context_new(5000);
    if (!ssc) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    /* lines = ssc.socketTextStream("localhost", 9999) */
    sl_stream *lines = sl_socket_text_stream(ssc, "localhost", port);

    /* counts = lines.flatMap(lambda line: line.split(" "))
     *               .map(lambda word: (word, 1))
     *               .reduceByKey(add) */
    sl_stream *words = sl_flat_map(lines, "text.split", (const char *[]){"sep", " ", NULL});
    sl_stream *pairs = sl_map(words, "kv.pair", NULL);
    sl_stream *counts = sl_reduce_by_key(pairs, "agg.sum", NULL);

    /* counts.pprint() */
    sl_pprint(counts, 10);

    /* ssc.start(): a builder that failed above is reported here */
    if (sl_context_start(ssc) != 0) {
        fprintf(stderr, "network_wordcount: %s\n", sl_context_errmsg(ssc));
        sl_context_free(ssc);
        return 1;
    }

    /* ssc.awaitTerminationOrTimeout(60) */
    int rc = sl_context_await_termination_or_timeout(ssc, 60000);
    if (rc < 0)
        fprintf(stderr, "network_wordcount: %s\n", sl_context_errmsg(ssc));

    sl_context_free(ssc); /* stops gracefully if still running */
    return rc < 0 ? 1 : 0;
}

/*
 * kafka_wordcount.c — the stateful word count over a Kafka topic, through
 * sluice.h: examples/kafka_wordcount.yaml as a C program. Lines from TOPIC,
 * running counts of their words (exactly-once across restarts through the
 * checkpoint), printed and written to OUT_TOPIC with the word as key and the
 * count as a JSON number.
 *
 *     eval "$(scripts/kafka.sh start)"   # a test broker: BROKERS=...
 *     printf 'to be or\nnot to be\n' | kcat -P -b $BROKERS -t lines
 *     BROKERS=$BROKERS ./kafka_wordcount [SECONDS]
 *
 * Environment (as the YAML): TOPIC (lines), BROKERS (127.0.0.1:9092),
 * CHECKPOINT_DIR (/tmp/kafka-cp), OUT_TOPIC (counts).
 */
#include <stdio.h>
#include <stdlib.h>

#include <sluice/sluice.h>

/* The value of an environment variable, or `def` when unset or empty. */
static const char *env_or(const char *name, const char *def) {
    const char *v = getenv(name);
    return v && *v ? v : def;
}

/* updateFunc(new_values, last_sum) = sum(new_values) + (last_sum or 0) */
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
    int seconds = argc > 1 ? atoi(argv[1]) : 60;
    const char *brokers = env_or("BROKERS", "127.0.0.1:9092");
    if (seconds <= 0) {
        fprintf(stderr, "usage: %s [SECONDS]   (default 60)\n", argv[0]);
        return 2;
    }
    sl_context *ssc = sl_context_new(2000);
    if (!ssc) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    sl_context_checkpoint(ssc, env_or("CHECKPOINT_DIR", "/tmp/kafka-cp"));

    /* KafkaUtils.createDirectStream(ssc, [topic], {...}).map(lambda kv: kv[1]) */
    sl_stream *lines = sl_kafka_direct_stream(
        ssc, brokers, env_or("TOPIC", "lines"),
        (const char *[]){"group", env_or("GROUP", "sluice-wordcount"), "start", "earliest", NULL});
    sl_stream *words = sl_flat_map(lines, "text.split", (const char *[]){"sep", " ", NULL});
    sl_stream *pairs = sl_map(words, "kv.pair", NULL);
    sl_stream *counts = sl_update_state_by_key_fn(pairs, update_func, NULL);

    sl_pprint(counts, 10);
    sl_kafka_output(counts, brokers, env_or("OUT_TOPIC", "counts"), NULL);

    if (sl_context_start(ssc) != 0) {
        fprintf(stderr, "kafka_wordcount: %s\n", sl_context_errmsg(ssc));
        sl_context_free(ssc);
        return 1;
    }
    int rc = sl_context_await_termination_or_timeout(ssc, (int64_t)seconds * 1000);
    if (rc < 0)
        fprintf(stderr, "kafka_wordcount: %s\n", sl_context_errmsg(ssc));
    sl_context_free(ssc); /* stops gracefully; the last checkpoint is written */
    return rc < 0 ? 1 : 0;
}

/*
 * queue_stream.c — Spark's QueueStream example, through sluice.h: the
 * program's own batches in (sl_queue_stream_new), a C function in the
 * middle, and a C callback out (sl_foreach_batch).
 *
 * A thread pushes three batches of the numbers 1..1000, one per interval;
 * the stream maps each number to (number % 10, 1) and counts them by key:
 * every batch prints ten keys with 100 each. Closing the queue ends the run.
 *
 *     ./queue_stream
 *
 * Build it against an installed sluice:
 *
 *     cc queue_stream.c $(pkg-config --cflags --libs sluice) -o queue_stream
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep in -std=c11 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include <sluice/sluice.h>

#define BATCHES 3

/* rdd.map(x => (x % 10, 1)): a C map function over a chunk of records. */
static int mod10(void *ud, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)ud;
    for (size_t i = 0; i < in->count; i++) {
        const sl_value *v = &in->records[i].value;
        if (v->type != SL_INT)
            return sl_host_api()->error_set(err, SL_ETYPE, "expected an int, got %s",
                                            sl_host_api()->value_type_name(v->type));
        int rc = sl_emit_kv(out, sl_int(v->u.i % 10), sl_int(1), in->records[i].ts);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* foreachRDD: print the batch's (key, count) pairs, formatted by the host. */
static int show(void *ud, int64_t batch_time, const sl_record *recs, size_t n, sl_error *err) {
    (void)ud, (void)err;
    char buf[128];
    printf("batch %lld:", (long long)batch_time);
    for (size_t i = 0; i < n; i++) {
        sl_host_api()->record_format(&recs[i], SL_FORMAT_REPR, buf, sizeof buf);
        printf(" %s", buf);
    }
    printf("\n");
    fflush(stdout);
    return 0;
}

/* rddQueue += ssc.sparkContext.makeRDD(1 to 1000, 10), every interval. */
static void *producer(void *arg) {
    sl_queue *q = arg;
    static int64_t nums[1000];
    for (int i = 0; i < 1000; i++)
        nums[i] = i + 1;
    for (int b = 0; b < BATCHES; b++) {
        if (sl_queue_push_ints(q, nums, 1000) != 0)
            break;
        nanosleep(&(struct timespec){0, 300 * 1000 * 1000}, NULL);
    }
    sl_queue_close(q); /* the run ends once the queue is empty */
    return NULL;
}

int main(void) {
    sl_log_set_level(SL_LOG_WARN);
    sl_context *ssc = sl_context_new(500);
    if (!ssc) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    /* val inputStream = ssc.queueStream(rddQueue)  (oneAtATime = true) */
    sl_queue *queue = NULL;
    sl_stream *input = sl_queue_stream_new(ssc, 1, &queue);
    sl_stream *mapped = sl_map_fn(input, mod10, NULL);
    sl_stream *reduced = sl_reduce_by_key(mapped, "agg.sum", NULL);
    sl_foreach_batch(reduced, show, NULL);

    if (sl_context_start(ssc) != 0) {
        fprintf(stderr, "queue_stream: %s\n", sl_context_errmsg(ssc));
        sl_context_free(ssc);
        return 1;
    }
    pthread_t th;
    if (pthread_create(&th, NULL, producer, queue) != 0) {
        fprintf(stderr, "queue_stream: cannot start the producer thread\n");
        sl_context_free(ssc);
        return 1;
    }
    int rc = sl_context_await_termination(ssc);
    pthread_join(th, NULL);
    if (rc < 0)
        fprintf(stderr, "queue_stream: %s\n", sl_context_errmsg(ssc));
    sl_context_free(ssc);
    return rc < 0 ? 1 : 0;
}

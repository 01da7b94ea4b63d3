/*
 * test_kafka_mock.c — the Kafka source under injected faults, on librdkafka's
 * mock cluster (rdkafka_mock.h: three brokers on loopback sockets, in this
 * process). The real broker is for everything else (test_kafka*.sh): the mock
 * cluster does not do transactions for real and drops data past ~5 MiB a
 * partition, so this test keeps to a few thousand small messages.
 *
 * Each case produces N messages "m<i>" to a topic of 3 partitions, runs the
 * pipeline  source kafka -> foreach_batch  through the C API with small
 * batches (max_records_per_partition), injects its fault from the collector
 * at a given batch, and checks that every message arrived exactly once:
 *   - request errors: Fetch and ListOffsets fail (not leader, transport);
 *   - a leader change: every partition moves to another broker mid-run;
 *   - a broker down, then up again: its partitions wait, then resume.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <sluice/sluice.h>

#define N 3000
#define PARTS 3
#define API_FETCH 1 /* Kafka protocol ApiKeys */
#define API_LIST_OFFSETS 2

enum fault { FAULT_REQUESTS, FAULT_LEADER, FAULT_BROKER };

/* What the collector saw, and the fault it injects at batch `at`. */
typedef struct run {
    rd_kafka_mock_cluster_t *mc;
    enum fault fault;
    int batches, at, injected, restored;
    int seen[N];
    int bad; /* records that are not "m<i>" */
    long total;
} run;

static void inject(run *r) {
    switch (r->fault) {
    case FAULT_REQUESTS:
        rd_kafka_mock_push_request_errors(
            r->mc, API_FETCH, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR__TRANSPORT);
        rd_kafka_mock_push_request_errors(r->mc, API_LIST_OFFSETS, 2,
                                          RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                          RD_KAFKA_RESP_ERR__TRANSPORT);
        break;
    case FAULT_LEADER:
        for (int p = 0; p < PARTS; p++)
            rd_kafka_mock_partition_set_leader(r->mc, "t", p, (p + 1) % 3 + 1);
        break;
    case FAULT_BROKER:
        rd_kafka_mock_broker_set_down(r->mc, 1);
        break;
    }
}

/* foreach_batch: count every message; inject the fault at batch `at` (and
 * for FAULT_BROKER bring the broker back three batches later). */
static int collect(void *ud, int64_t t, const sl_record *recs, size_t n, sl_error *err) {
    (void)t, (void)err;
    run *r = ud;
    for (size_t i = 0; i < n; i++) {
        const sl_value *v = &recs[i].value;
        char buf[32];
        if (v->type != SL_BYTES || v->len < 2 || v->len >= sizeof buf) {
            r->bad++;
            continue;
        }
        memcpy(buf, v->u.s, v->len);
        buf[v->len] = 0;
        int k = buf[0] == 'm' ? atoi(buf + 1) : -1;
        if (k < 0 || k >= N)
            r->bad++;
        else
            r->seen[k]++;
        r->total++;
    }
    r->batches++;
    if (r->batches == r->at && !r->injected) {
        inject(r);
        r->injected = 1;
    }
    if (r->fault == FAULT_BROKER && r->injected && !r->restored && r->batches == r->at + 3) {
        rd_kafka_mock_broker_set_up(r->mc, 1);
        r->restored = 1;
    }
    return 0;
}

/* Produce N messages m0..m{N-1}, round robin over the partitions. */
static int produce(const char *bootstraps) {
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, errstr, sizeof errstr);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!p)
        return -1;
    for (int i = 0; i < N; i++) {
        char v[16];
        int len = snprintf(v, sizeof v, "m%d", i);
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_PARTITION(i % PARTS),
                          RD_KAFKA_V_VALUE(v, (size_t)len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        rd_kafka_poll(p, 0);
    }
    int left = rd_kafka_flush(p, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
    rd_kafka_destroy(p);
    return left;
}

static void run_case(enum fault fault, const char *name) {
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    rd_kafka_t *owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(owner);
    run *r = calloc(1, sizeof *r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    r->mc = rd_kafka_mock_cluster_new(owner, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r->mc);
    CU_ASSERT_EQUAL(rd_kafka_mock_topic_create(r->mc, "t", PARTS, 3), 0);
    const char *boot = rd_kafka_mock_cluster_bootstraps(r->mc);
    CU_ASSERT_EQUAL_FATAL(produce(boot), 0);
    r->fault = fault;
    r->at = 2;

    sl_context *ctx = sl_context_new(100);
    sl_context_set_status_line(ctx, 0);
    /* 3000 messages at 100 a partition a batch: ten batches of data */
    sl_stream *s =
        sl_kafka_direct_stream(ctx, boot, "t",
                               (const char *[]){"start", "earliest", "max_records_per_partition",
                                                "100", "fetch_timeout", "2s", NULL});
    CU_ASSERT_EQUAL(sl_foreach_batch(s, collect, r), 0);
    int rc = sl_context_start(ctx);
    if (rc != 0)
        fprintf(stderr, "%s: start: %s\n", name, sl_context_errmsg(ctx));
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    /* until every message arrived, at most 60 s (ASan, broker down) */
    for (int waited = 0; waited < 600; waited++) {
        if (r->total >= N && r->batches > r->at + 4)
            break;
        usleep(100 * 1000);
    }
    sl_context_stop(ctx);
    int dups = 0, missing = 0;
    for (int i = 0; i < N; i++) {
        dups += r->seen[i] > 1;
        missing += r->seen[i] == 0;
    }
    fprintf(stderr, "%s: %ld records in %d batches, %d missing, %d twice, fault at batch %d\n",
            name, r->total, r->batches, missing, dups, r->at);
    CU_ASSERT_EQUAL(r->injected, 1);
    CU_ASSERT_EQUAL(r->bad, 0);
    CU_ASSERT_EQUAL(missing, 0);
    CU_ASSERT_EQUAL(dups, 0);
    CU_ASSERT_EQUAL(r->total, N);
    sl_context_free(ctx);
    rd_kafka_mock_cluster_destroy(r->mc);
    rd_kafka_destroy(owner);
    free(r);
}

static void test_request_errors(void) {
    run_case(FAULT_REQUESTS, "request errors");
}

static void test_leader_change(void) {
    run_case(FAULT_LEADER, "leader change");
}

static void test_broker_down(void) {
    run_case(FAULT_BROKER, "broker down and up");
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    CU_pSuite s = CU_add_suite("kafka_mock", NULL, NULL);
    CU_add_test(s, "Fetch and ListOffsets errors: every message once", test_request_errors);
    CU_add_test(s, "every partition changes leader mid-run: every message once",
                test_leader_change);
    CU_add_test(s, "a broker down then up: every message once", test_broker_down);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}

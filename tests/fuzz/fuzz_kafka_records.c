/*
 * fuzz_kafka_records.c — the Kafka source's decoding of messages
 * (connectors/kafka: the value as bytes or JSON, the key, the headers, the
 * three record shapes) on messages with arbitrary keys, values and headers,
 * produced to librdkafka's mock cluster (rdkafka_mock.h, in this process)
 * and read back by three kafka sources started once: record value with
 * value_format json and on_error skip, record pair with bytes, record full
 * with json and skip. Every message comes out of each source once, as a
 * record of its shape, or is counted as poison (JSON only); never a crash or
 * a leak.
 *
 * Input: up to 8 messages, each: key length (1 byte, 255: no key), key,
 * value length (2 bytes little-endian, 65535: no value, a tombstone),
 * value, header count (1 byte, at most 4), each header: name length (1
 * byte), name, value length (1 byte, 255: null), value.
 *
 * librdkafka's threads run with every signal blocked (see
 * LLVMFuzzerInitialize). Slower than the others (about 40 inputs a second
 * under libFuzzer: each waits for the consumers' fetches; 3 a second until
 * the source stopped waiting out a burst's timeout), but the only target
 * that reaches the code between librdkafka and a record.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "component.h"
#define FUZZ_ITERATIONS 60 /* about 25 ms each: the consumer's fetch round trips */
#include "driver.h"

#define NSRC 3
#define MAX_MSGS 8

static rd_kafka_t *owner, *producer;
static rd_kafka_mock_cluster_t *mc;
static fuzz_comp src[NSRC];
static long produced, taken[NSRC]; /* messages so far, and per source: records + poison */
static int64_t batch_time;

/* A source's counter, by name (0 if it has none yet). */
static long counter(const fuzz_comp *c, const char *name) {
    for (const struct sl_counter *k = c->fn.handle->counters; k; k = k->next)
        if (strcmp(k->name, name) == 0)
            return (long)atomic_load(&k->value);
    return 0;
}

static void die(const char *what, const char *why) {
    fprintf(stderr, "fuzz: %s: %s\n", what, why);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    sl_log_set_level(getenv("FUZZ_VERBOSE") ? SL_LOG_DEBUG : SL_LOG_ERROR);
    /* librdkafka's threads, all started below, inherit this mask: no signal
     * of libFuzzer's (SIGALRM every 13 s with -timeout) lands in one of them.
     * In librdkafka 2.0.2 a poll() interrupted by a signal ends the mock
     * cluster's thread ("Mock cluster failed to poll", rdkafka_mock.c), its
     * listener closes, and every later connection is refused: scripts/fuzz.sh
     * stopped after 50 s with "the mock cluster did not take the messages". */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    mc = owner ? rd_kafka_mock_cluster_new(owner, 1) : NULL;
    if (!mc || rd_kafka_mock_topic_create(mc, "t", 1, 1) != 0)
        die("mock cluster", errstr);
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", boot, errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "linger.ms", "0", errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    if (!(producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr)))
        die("producer", errstr);
    static const char *const shape[NSRC][3] = {
        {"value", "json", "skip"}, {"pair", "bytes", "fail"}, {"full", "json", "skip"}};
    for (int i = 0; i < NSRC; i++) {
        const char *kv[] = {"brokers",
                            boot,
                            "topics",
                            "t",
                            "start",
                            "earliest",
                            "record",
                            shape[i][0],
                            "value_format",
                            shape[i][1],
                            "on_error",
                            shape[i][2],
                            "fetch_timeout",
                            "2s",
                            "properties",
                            "fetch.wait.max.ms=1\nfetch.error.backoff.ms=1\n",
                            NULL};
        sl_error err = {0, ""};
        if (fuzz_comp_open(&src[i], "kafka", SL_COMPONENT_SOURCE, kv) != 0 ||
            src[i].fn.source.start(src[i].fn.inst, &err) != 0)
            die("kafka source", src[i].err.msg[0] ? src[i].err.msg : err.msg);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}

/* At exit: the sources, the producer, the cluster, in that order (a
 * consumer's last requests go to the cluster). */
static void cleanup(void) __attribute__((destructor));
static void cleanup(void) {
    for (int i = 0; i < NSRC; i++)
        if (src[i].fn.handle)
            fuzz_comp_close(&src[i]);
    if (producer)
        rd_kafka_destroy(producer);
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (owner)
        rd_kafka_destroy(owner);
}

/* Check one record of source i's shape. */
static void check_record(int i, const sl_record *r) {
    const sl_value *v = &r->value;
    if (i == 1 && v->type != SL_BYTES && v->type != SL_NULL)
        die("record pair", "the value is neither bytes nor null");
    if (i == 2) {
        if (v->type != SL_LIST || v->len != 6 || v->u.items[5].type != SL_LIST)
            die("record full", "not [value, topic, partition, offset, timestamp, headers]");
        const sl_value *h = &v->u.items[5];
        for (uint32_t k = 0; k < h->len; k++)
            if (h->u.items[k].type != SL_LIST || h->u.items[k].len != 2 ||
                h->u.items[k].u.items[0].type != SL_BYTES)
                die("record full", "a header is not [name, value]");
    }
}

/* One poll of source i: check its records, count them. */
static void poll_once(int i, sl_mem *mem) {
    sl__recvec out = {0};
    sl_record buf[16];
    sl_emitter em;
    fuzz_emitter(&em, buf, 16, &out, mem);
    sl_error err = {0, ""};
    long poison = counter(&src[i], "poison_skipped");
    int rc = src[i].fn.source.poll(src[i].fn.inst, batch_time += 1000, &em, &err);
    if (rc == 0 && em.count)
        rc = em.flush(&em);
    if (rc < 0)
        die("kafka poll", err.msg[0] ? err.msg : "an error without a message");
    for (size_t k = 0; k < out.n; k++)
        check_record(i, &out.v[k]);
    taken[i] += (long)out.n + counter(&src[i], "poison_skipped") - poison;
    if (taken[i] > produced)
        die("kafka source", "more records than messages");
    sl__recvec_free(&out);
}

/* Poll the sources until each has taken every message produced so far (or
 * for about a second: the rest comes with the next input). */
static void drain(void) {
    sl__arena a;
    sl__arena_init(&a, 4096);
    sl_mem mem;
    sl__arena_mem(&a, &mem);
    for (int tries = 0; tries < 1000; tries++) {
        int left = 0;
        for (int i = 0; i < NSRC; i++)
            if (taken[i] < produced) {
                poll_once(i, &mem);
                left += taken[i] < produced;
            }
        sl__arena_reset(&a);
        if (!left)
            break;
        usleep(1000); /* the watermarks come with the next fetch response */
    }
    sl__arena_free(&a);
}

/* Produce the input's messages; returns how many. */
static int produce(const uint8_t *p, const uint8_t *e) {
    int n = 0;
    while (n < MAX_MSGS && e - p >= 4) {
        size_t klen = *p++;
        const uint8_t *key = klen == 255 ? NULL : p;
        p += key ? (klen < (size_t)(e - p) ? klen : (size_t)(e - p)) : 0;
        if (e - p < 3)
            break;
        size_t vlen = (size_t)p[0] | (size_t)p[1] << 8;
        p += 2;
        const uint8_t *val = vlen == 65535 ? NULL : p;
        vlen = val ? (vlen < (size_t)(e - p) ? vlen : (size_t)(e - p)) : 0;
        p += vlen;
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(4);
        for (int h = p < e ? *p++ % 5 : 0; h > 0 && e - p >= 2; h--) {
            char name[256];
            size_t nlen = *p++;
            nlen = nlen < (size_t)(e - p) ? nlen : (size_t)(e - p);
            memcpy(name, p, nlen);
            name[nlen] = 0; /* names are C strings */
            p += nlen;
            size_t hl = p < e ? *p++ : 255;
            const uint8_t *hv = hl == 255 ? NULL : p;
            hl = hv ? (hl < (size_t)(e - p) ? hl : (size_t)(e - p)) : 0;
            p += hl;
            rd_kafka_header_add(hdrs, name, -1, hv, hv ? (ssize_t)hl : 0);
        }
        rd_kafka_resp_err_t err = rd_kafka_producev(
            producer, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_PARTITION(0),
            RD_KAFKA_V_KEY(key, key ? klen : 0), RD_KAFKA_V_VALUE((void *)val, vlen),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err) {
            rd_kafka_headers_destroy(hdrs); /* kept by producev only on success */
            die("produce", rd_kafka_err2str(err));
        }
        n++;
    }
    if (n && rd_kafka_flush(producer, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        die("produce", "the mock cluster did not take the messages");
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    produced += produce(data, data + size);
    drain();
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz: %ld messages; taken %ld, %ld, %ld\n", produced, taken[0], taken[1],
                taken[2]);
    return 0;
}

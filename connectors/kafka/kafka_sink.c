/*
 * kafka_sink.c — `sink: kafka`: every record of a batch becomes one message
 * of a fixed topic; the batch completes only when the broker acknowledged
 * every message.
 *
 *   key    the record's key: bytes as they are, null (or a plain element)
 *          no key, anything else its JSON text;
 *   value  bytes as they are, null a tombstone (no payload), anything else
 *          its JSON text (numbers, lists).
 *
 * write() hands messages to librdkafka (copied; when its queue is full it
 * serves delivery reports until there is room: backpressure on the batch).
 * end() flushes and waits for every delivery report: a message that failed
 * fails the batch with the first error, so no batch ever completes with a
 * message lost. The producer is idempotent by default (no duplicates or
 * reordering from librdkafka's own retries); across a crash the sink is
 * at-least-once (the batches after the last checkpoint run again).
 *
 * The producer is created at the first batch, not at create, so that
 * loading a pipeline (sluice validate) connects to nothing.
 */
#include <stdio.h>
#include <string.h>

#include "kafka.h"

typedef struct kafka_sink {
    kafka_peer peer; /* first: librdkafka's callbacks see it */
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    const char *topic; /* params-owned */
    int64_t delivery_timeout;
    int64_t batch_time;
    int64_t sent; /* this batch: handed to librdkafka */
    int64_t acked;
    int64_t failed;
    char first_error[256];
    char *kbuf, *vbuf; /* JSON text of keys and values (sl_api->malloc) */
    size_t kcap, vcap;
    sl_counter *c_messages, *c_bytes, *c_failures;
} kafka_sink;

static const sl_param_spec kafka_sink_params[] = {
    {"brokers", SL_PARAM_STRING, NULL, 1, "bootstrap brokers: host:port[,host:port...]", NULL,
     NULL},
    {"topic", SL_PARAM_STRING, NULL, 1, "the topic every record is written to", NULL, NULL},
    {"idempotent", SL_PARAM_BOOL, "true", 0,
     "idempotent producer: no duplicates or reordering from retries", NULL, NULL},
    {"delivery_timeout", SL_PARAM_DURATION, "30s", 0,
     "how long a message may take to be acknowledged before the batch fails", NULL, "1ms.."},
    {"properties", SL_PARAM_STRING, NULL, 0,
     "librdkafka properties, one name=value per line (some are refused: docs/kafka.md)", NULL,
     NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

/* A delivery report (served by rd_kafka_poll/flush on the engine thread). */
static void kafka_sink_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    kafka_sink *k = opaque;
    if (!m->err) {
        k->acked++;
        return;
    }
    if (!k->failed++)
        snprintf(k->first_error, sizeof k->first_error, "%s", rd_kafka_err2str(m->err));
}

/* Set what the sink decides unless the user's properties did. */
static int kafka_sink_defaults(kafka_sink *k, const sl_params *params, sl_error *err) {
    char ms[32];
    snprintf(ms, sizeof ms, "%lld", (long long)k->delivery_timeout);
    int rc = kafka_conf_set(k->conf, "kafka sink", "enable.idempotence",
                            sl_api->param_bool(params, "idempotent") ? "true" : "false", err);
    if (!rc && !kafka_conf_user_set(params, "message.timeout.ms") &&
        !kafka_conf_user_set(params, "delivery.timeout.ms"))
        rc = kafka_conf_set(k->conf, "kafka sink", "message.timeout.ms", ms, err);
    if (!rc && !kafka_conf_user_set(params, "linger.ms"))
        rc = kafka_conf_set(k->conf, "kafka sink", "linger.ms", "5", err);
    return rc;
}

static int kafka_sink_create(sl_handle *h, const sl_params *params, void **instance,
                             sl_error *err) {
    const char *topic = sl_api->param_str(params, "topic");
    if (!topic || !*topic)
        return sl_api->error_set(err, SL_ECONFIG, "kafka sink: topic must not be empty");
    kafka_sink *k = sl_api->calloc(1, sizeof *k);
    if (!k)
        return sl_api->error_set(err, SL_ENOMEM, "kafka sink: out of memory");
    pthread_mutex_init(&k->peer.box.lock, NULL);
    k->peer.h = h;
    k->topic = topic;
    k->delivery_timeout = sl_api->param_int(params, "delivery_timeout");
    int rc = kafka_conf_build(params, "kafka sink", &k->conf, err);
    if (!rc)
        rc = kafka_sink_defaults(k, params, err);
    if (rc) {
        if (k->conf)
            rd_kafka_conf_destroy(k->conf);
        pthread_mutex_destroy(&k->peer.box.lock);
        sl_api->free(k);
        return rc;
    }
    kafka_conf_callbacks(k->conf, &k->peer);
    rd_kafka_conf_set_dr_msg_cb(k->conf, kafka_sink_dr);
    k->c_messages = sl_api->counter(h, "messages");
    k->c_bytes = sl_api->counter(h, "bytes");
    k->c_failures = sl_api->counter(h, "delivery_failures");
    *instance = k;
    return 0;
}

static void kafka_sink_destroy(void *instance) {
    kafka_sink *k = instance;
    if (!k)
        return;
    if (k->rk) {
        rd_kafka_flush(k->rk, 5000);
        if (k->rkt)
            rd_kafka_topic_destroy(k->rkt);
        rd_kafka_destroy(k->rk);
    } else if (k->conf) {
        rd_kafka_conf_destroy(k->conf);
    }
    pthread_mutex_destroy(&k->peer.box.lock);
    sl_api->free(k->kbuf);
    sl_api->free(k->vbuf);
    sl_api->free(k);
}

/* The producer, at the first batch (the conf moves into it). */
static int kafka_sink_connect(kafka_sink *k, sl_error *err) {
    char errstr[512];
    rd_kafka_conf_set_opaque(k->conf, k);
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, k->conf, errstr, sizeof errstr);
    if (!k->rk)
        return sl_api->error_set(err, SL_ECONFIG, "kafka sink: cannot create a producer: %s",
                                 errstr);
    k->conf = NULL;
    k->rkt = rd_kafka_topic_new(k->rk, k->topic, NULL);
    if (!k->rkt)
        return sl_api->error_set(err, SL_EINVAL, "kafka sink: topic '%s': %s", k->topic,
                                 rd_kafka_err2str(rd_kafka_last_error()));
    return 0;
}

static int kafka_sink_begin(void *instance, int64_t batch_time, sl_error *err) {
    kafka_sink *k = instance;
    if (!k->rk && kafka_sink_connect(k, err) < 0)
        return err->code;
    k->batch_time = batch_time;
    k->sent = k->acked = k->failed = 0;
    k->first_error[0] = 0;
    return 0;
}

/* The bytes a value is sent as: bytes as they are, null none (NULL),
 * anything else its JSON text in *buf (grown as needed). */
static int kafka_sink_bytes(const sl_value *v, char **buf, size_t *cap, const void **p,
                            size_t *len) {
    if (v->type == SL_BYTES) {
        *p = v->u.s;
        *len = v->len;
        return 0;
    }
    if (v->type == SL_NULL) {
        *p = NULL;
        *len = 0;
        return 0;
    }
    size_t n = sl_api->value_format(v, SL_FORMAT_JSON, *buf, *cap);
    if (n >= *cap) {
        char *nb = sl_api->realloc(*buf, n + 1);
        if (!nb)
            return SL_ENOMEM;
        *buf = nb;
        *cap = n + 1;
        sl_api->value_format(v, SL_FORMAT_JSON, *buf, *cap);
    }
    *p = *buf;
    *len = n;
    return 0;
}

/* Hand one message to librdkafka, serving delivery reports while its queue
 * is full. */
static int kafka_sink_produce(kafka_sink *k, const void *key, size_t klen, const void *val,
                              size_t vlen, sl_error *err) {
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            k->rk, RD_KAFKA_V_RKT(k->rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY((void *)key, klen), RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_END);
        if (!e)
            break;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            char why[256];
            kafka_peer_error(&k->peer, why, sizeof why);
            return sl_api->error_set(err, SL_EIO,
                                     "kafka sink: topic '%s': cannot produce a message of %zu "
                                     "bytes: %s%s%s",
                                     k->topic, vlen, rd_kafka_err2str(e), why[0] ? "; " : "", why);
        }
        rd_kafka_poll(k->rk, 100);
    }
    k->sent++;
    sl_api->counter_add(k->c_messages, 1);
    sl_api->counter_add(k->c_bytes, (int64_t)(klen + vlen));
    return 0;
}

static int kafka_sink_write(void *instance, const sl_chunk *chunk, sl_error *err) {
    kafka_sink *k = instance;
    for (size_t i = 0; i < chunk->count; i++) {
        const sl_record *r = &chunk->records[i];
        const void *key = NULL, *val = NULL;
        size_t klen = 0, vlen = 0;
        if ((sl_record_is_pair(r) &&
             kafka_sink_bytes(&r->key, &k->kbuf, &k->kcap, &key, &klen) < 0) ||
            kafka_sink_bytes(&r->value, &k->vbuf, &k->vcap, &val, &vlen) < 0)
            return sl_api->error_set(err, SL_ENOMEM, "kafka sink: out of memory");
        int rc = kafka_sink_produce(k, key, klen, val, vlen, err);
        if (rc < 0)
            return rc;
    }
    rd_kafka_poll(k->rk, 0); /* serve the delivery reports that are in */
    return 0;
}

/* Wait until every message of the batch is acknowledged or failed. */
static int kafka_sink_end(void *instance, int64_t batch_time, sl_error *err) {
    kafka_sink *k = instance;
    (void)batch_time;
    rd_kafka_resp_err_t e = rd_kafka_flush(k->rk, (int)(k->delivery_timeout + 5000));
    char why[256];
    int fatal = kafka_peer_error(&k->peer, why, sizeof why);
    if (e == RD_KAFKA_RESP_ERR__TIMED_OUT)
        return sl_api->error_set(err, SL_EIO,
                                 "kafka sink: topic '%s': %lld of %lld messages of the batch were "
                                 "not acknowledged within %lld ms%s%s",
                                 k->topic, (long long)(k->sent - k->acked), (long long)k->sent,
                                 (long long)k->delivery_timeout + 5000, why[0] ? ": " : "", why);
    if (k->failed) {
        sl_api->counter_add(k->c_failures, k->failed);
        return sl_api->error_set(err, SL_EIO,
                                 "kafka sink: topic '%s': %lld of %lld messages of the batch were "
                                 "not delivered: %s%s%s",
                                 k->topic, (long long)k->failed, (long long)k->sent, k->first_error,
                                 why[0] && strcmp(why, k->first_error) ? "; " : "",
                                 why[0] && strcmp(why, k->first_error) ? why : "");
    }
    if (fatal)
        return sl_api->error_set(err, SL_EIO, "kafka sink: topic '%s': fatal producer error: %s",
                                 k->topic, why);
    return 0;
}

static const sl_sink_ops kafka_sink_ops = {
    .struct_size = sizeof(sl_sink_ops),
    .begin = kafka_sink_begin,
    .write = kafka_sink_write,
    .end = kafka_sink_end,
    .commit = NULL,
};

const sl_component kafka_sink_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SINK,
    .name = "kafka",
    .doc = "Writes every record to a Kafka topic: key from the record's key, value as is for "
           "bytes, JSON otherwise, null a tombstone. A batch completes only when the broker has "
           "acknowledged every message (idempotent producer by default); a failed delivery "
           "fails the batch. Counters: messages, bytes, delivery_failures.",
    .params = kafka_sink_params,
    .create = kafka_sink_create,
    .destroy = kafka_sink_destroy,
    .ops = &kafka_sink_ops,
};

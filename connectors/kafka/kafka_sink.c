/*
 * kafka_sink.c — `sink: kafka`: every record of a batch becomes one message
 * of a fixed topic; the batch completes only when the broker acknowledged
 * every message.
 *
 *   key    the record's key: bytes as they are, null (or a plain element)
 *          no key, anything else its JSON text;
 *   value  bytes as they are, null a tombstone (no payload), anything else
 *          its JSON text (numbers, lists);
 *   headers the fixed `headers` of the parameters, after (record: full)
 *          the record's own.
 *
 * With `record: full` a record has the kafka source's full shape, (key,
 * [value, topic, partition, offset, timestamp, headers]): the message's
 * value is the list's first item and its headers the list's last, so that
 * source -> operators -> sink keeps a message's headers. A record of
 * another shape fails the batch, or with on_error: skip is dropped and
 * counted (malformed_skipped).
 *
 * write() hands messages to librdkafka (copied; when its queue is full it
 * serves delivery reports until there is room: backpressure on the batch).
 * end() flushes and waits for every delivery report: a message that failed
 * fails the batch with the first error, so no batch ever completes with a
 * message lost. The producer is idempotent by default (no duplicates or
 * reordering from librdkafka's own retries); across a crash the sink is
 * at-least-once (the batches after the last checkpoint run again).
 *
 * With `transactional: true` each batch's output is one Kafka transaction
 * that also commits, to their groups, the offsets that end the batch in
 * every Kafka source of the pipeline (Kafka Streams' exactly-once): the
 * transaction is the batch's commit point for its output. After a restart
 * from an older checkpoint, the sources replay the records between the
 * checkpoint's offsets and the committed ones into state with no output
 * (kafka_source.c, kafka_plan_replay), and the sink writes nothing for
 * those batches: a read_committed consumer sees each output once.
 *
 * The producer is created at the first batch, not at create, so that
 * loading a pipeline (sluice validate) connects to nothing.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kafka.h"

typedef struct kafka_sink {
    kafka_peer peer; /* first: librdkafka's callbacks see it */
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    const char *topic; /* params-owned */
    int64_t delivery_timeout;
    int64_t batch_time;
    uint64_t ctx;       /* the pipeline (host->context_id) */
    int txn;            /* transactional: true */
    int in_txn;         /* a transaction is open */
    int skip;           /* this batch replays output already committed: write nothing */
    const char *txn_id; /* params-owned; NULL: derived at the first batch */
    int64_t txn_timeout;
    int64_t sent; /* this batch: handed to librdkafka */
    int64_t acked;
    int64_t failed;
    char first_error[256];
    /* Refused while the brokers did not know the topic (a broker starting
     * up answers so for a moment; librdkafka fails the message at once):
     * kept to be sent again until delivery_timeout (not with
     * transactional: true, where the error aborts the transaction). */
    struct kafka_again {
        void *key, *val; /* sl_api->malloc, NULL for none */
        size_t klen, vlen;
        rd_kafka_headers_t *hdrs; /* owned, NULL for none */
    } * again;
    size_t nagain, again_cap;
    char again_error[128];
    int64_t batch_start;      /* sl_api->now_ms() at begin */
    char *kbuf, *vbuf, *hbuf; /* JSON text of keys, values, header values (sl_api->malloc) */
    size_t kcap, vcap, hcap;
    rd_kafka_headers_t *fixed; /* `headers`, copied into every message; NULL for none */
    int full;                  /* record: full */
    int skip_malformed;        /* on_error: skip */
    int64_t seen;              /* this batch: records written so far (for errors) */
    int64_t malformed;         /* this batch: records skipped as malformed */
    sl_counter *c_messages, *c_bytes, *c_failures, *c_txns, *c_aborts, *c_skipped, *c_again,
        *c_malformed;
} kafka_sink;

static const sl_param_spec kafka_sink_params[] = {
    {"brokers", SL_PARAM_STRING, NULL, 1, "bootstrap brokers: host:port[,host:port...]", NULL,
     NULL},
    {"topic", SL_PARAM_STRING, NULL, 1, "the topic every record is written to", NULL, NULL},
    {"record", SL_PARAM_ENUM, "pair", 0,
     "what a record is: (key, value), or the kafka source's (key, [value, topic, partition, "
     "offset, timestamp, headers]), whose value and headers are written",
     "pair|full", NULL},
    {"headers", SL_PARAM_STRING, NULL, 0,
     "headers added to every message: a mapping, or name=value lines (taken byte for byte)", NULL,
     NULL},
    {"on_error", SL_PARAM_ENUM, "fail", 0,
     "a record that is not of the full shape (record: full): fail the batch, or skip and count "
     "it",
     "fail|skip", NULL},
    {"idempotent", SL_PARAM_BOOL, "true", 0,
     "idempotent producer: no duplicates or reordering from retries", NULL, NULL},
    {"delivery_timeout", SL_PARAM_DURATION, "30s", 0,
     "how long a message may take to be acknowledged before the batch fails", NULL, "1ms.."},
    {"transactional", SL_PARAM_BOOL, "false", 0,
     "each batch's output is one transaction that also commits the offsets of the pipeline's "
     "Kafka sources: exactly once for read_committed consumers (docs/kafka.md)",
     NULL, NULL},
    {"transactional_id", SL_PARAM_STRING, NULL, 0,
     "the producer's transactional.id, stable across restarts (default: "
     "sluice-<source group>-<topic>); one per running process",
     NULL, NULL},
    {"transaction_timeout", SL_PARAM_DURATION, "60s", 0,
     "how long the broker keeps a transaction of a process that died open (it is aborted "
     "after that, or when the process comes back)",
     NULL, "1s..15m"},
    {"properties", SL_PARAM_STRING, NULL, 0,
     "librdkafka properties: a mapping, or name=value lines (some are refused: docs/kafka.md)",
     NULL, NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

/* An error that says the brokers do not know the topic, for now. The sink
 * never picks a partition, so a message fails with "Local: Unknown
 * partition" only when the topic's metadata stopped listing the partition
 * it was queued for: librdkafka drops a partition's queue with that error
 * when a metadata answer says the topic does not exist. */
static int kafka_sink_topic_unknown(rd_kafka_resp_err_t e) {
    return e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
           e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
}

/* Keep a message to send again: 0 (the kept message owns `hdrs`), or -1
 * (out of memory; the caller still owns `hdrs`). */
static int kafka_sink_keep(kafka_sink *k, const void *key, size_t klen, const void *val,
                           size_t vlen, rd_kafka_headers_t *hdrs, rd_kafka_resp_err_t why) {
    if (k->nagain == k->again_cap) {
        size_t cap = k->again_cap ? k->again_cap * 2 : 64;
        struct kafka_again *a = sl_api->realloc(k->again, cap * sizeof *a);
        if (!a)
            return -1;
        k->again = a;
        k->again_cap = cap;
    }
    struct kafka_again *a = &k->again[k->nagain];
    a->key = key ? sl_api->malloc(klen ? klen : 1) : NULL;
    a->val = val ? sl_api->malloc(vlen ? vlen : 1) : NULL;
    if ((key && !a->key) || (val && !a->val)) {
        sl_api->free(a->key);
        sl_api->free(a->val);
        return -1;
    }
    if (key)
        memcpy(a->key, key, klen);
    if (val)
        memcpy(a->val, val, vlen);
    a->klen = klen;
    a->vlen = vlen;
    a->hdrs = hdrs;
    k->nagain++;
    snprintf(k->again_error, sizeof k->again_error, "%s", rd_kafka_err2str(why));
    return 0;
}

/* A message of the batch failed for good. */
static void kafka_sink_failed(kafka_sink *k, const char *why) {
    if (!k->failed++)
        snprintf(k->first_error, sizeof k->first_error, "%s", why);
}

/* Keep the message of a delivery report to send again, with a copy of its
 * headers: 0, or -1 (out of memory). */
static int kafka_sink_keep_report(kafka_sink *k, const rd_kafka_message_t *m) {
    rd_kafka_headers_t *h = NULL, *copy = NULL;
    if (!rd_kafka_message_headers(m, &h) && h && !(copy = rd_kafka_headers_copy(h)))
        return -1;
    if (kafka_sink_keep(k, m->key, m->key_len, m->payload, m->len, copy, m->err) == 0)
        return 0;
    if (copy)
        rd_kafka_headers_destroy(copy);
    return -1;
}

/* A delivery report (served by rd_kafka_poll/flush on the engine thread). */
static void kafka_sink_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    kafka_sink *k = opaque;
    if (!m->err) {
        k->acked++;
        return;
    }
    /* sent again only if no broker can have written it: else a copy could land twice */
    if (!k->txn && kafka_sink_topic_unknown(m->err) &&
        rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_NOT_PERSISTED &&
        kafka_sink_keep_report(k, m) == 0)
        return;
    kafka_sink_failed(k, rd_kafka_err2str(m->err));
}

/* Free what was kept to send again. */
static void kafka_sink_drop_again(kafka_sink *k) {
    for (size_t i = 0; i < k->nagain; i++) {
        sl_api->free(k->again[i].key);
        sl_api->free(k->again[i].val);
        if (k->again[i].hdrs)
            rd_kafka_headers_destroy(k->again[i].hdrs);
    }
    k->nagain = 0;
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

/* The fixed `headers`: name=value lines (a YAML mapping arrives so), each
 * taken byte for byte (a value may hold '=' and be empty); blank lines are
 * skipped. *out is NULL when there are none, else a list the sink owns. */
static int kafka_sink_fixed_headers(const char *text, rd_kafka_headers_t **out, sl_error *err) {
    *out = NULL;
    int lineno = 0;
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        const char *eq = memchr(line, '=', len);
        lineno++;
        if (len && (!eq || eq == line)) {
            if (*out)
                rd_kafka_headers_destroy(*out);
            *out = NULL;
            return sl_api->error_set(err, SL_ECONFIG, "kafka sink: headers, line %d: %s", lineno,
                                     eq ? "a header name is empty"
                                        : "expected name=value (a mapping, or one per line)");
        }
        if (len) {
            if (!*out)
                *out = rd_kafka_headers_new(8);
            rd_kafka_header_add(*out, line, eq - line, eq + 1,
                                (ssize_t)(len - (size_t)(eq - line) - 1));
        }
        line = nl ? nl + 1 : NULL;
    }
    return 0;
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
    k->txn = sl_api->param_bool(params, "transactional");
    k->txn_id = sl_api->param_str(params, "transactional_id");
    k->txn_timeout = sl_api->param_int(params, "transaction_timeout");
    k->ctx = sl_api->context_id(h);
    k->full = strcmp(sl_api->param_str(params, "record"), "full") == 0;
    k->skip_malformed = strcmp(sl_api->param_str(params, "on_error"), "skip") == 0;
    const char *fixed = sl_api->param_str(params, "headers");
    int rc = fixed ? kafka_sink_fixed_headers(fixed, &k->fixed, err) : 0;
    if (!rc)
        rc = kafka_conf_build(params, "kafka sink", &k->conf, err);
    if (!rc)
        rc = kafka_sink_defaults(k, params, err);
    if (!rc && k->txn && !sl_api->param_bool(params, "idempotent"))
        rc = sl_api->error_set(err, SL_ECONFIG,
                               "kafka sink: transactional: true needs the idempotent producer "
                               "(idempotent: true)");
    if (!rc && k->txn && kafka_reg_has_txn_sink(k->ctx))
        rc = sl_api->error_set(err, SL_ECONFIG,
                               "kafka sink: topic '%s': a pipeline may have one transactional "
                               "kafka sink (its transactions and the sources' offsets commit "
                               "together; two sinks could not both be exactly-once)",
                               topic);
    if (!rc && k->txn && kafka_reg_add(k->ctx, KAFKA_REG_TXN_SINK, k) < 0)
        rc = sl_api->error_set(err, SL_ENOMEM, "kafka sink: out of memory");
    if (rc) {
        if (k->conf)
            rd_kafka_conf_destroy(k->conf);
        if (k->fixed)
            rd_kafka_headers_destroy(k->fixed);
        pthread_mutex_destroy(&k->peer.box.lock);
        sl_api->free(k);
        return rc;
    }
    kafka_conf_callbacks(k->conf, &k->peer);
    rd_kafka_conf_set_dr_msg_cb(k->conf, kafka_sink_dr);
    k->c_messages = sl_api->counter(h, "messages");
    k->c_bytes = sl_api->counter(h, "bytes");
    k->c_failures = sl_api->counter(h, "delivery_failures");
    if (k->full)
        k->c_malformed = sl_api->counter(h, "malformed_skipped");
    if (!k->txn)
        k->c_again = sl_api->counter(h, "sent_again");
    if (k->txn) {
        k->c_txns = sl_api->counter(h, "transactions");
        k->c_aborts = sl_api->counter(h, "transactions_aborted");
        k->c_skipped = sl_api->counter(h, "replayed_batches_skipped");
    }
    *instance = k;
    return 0;
}

static void kafka_sink_destroy(void *instance) {
    kafka_sink *k = instance;
    if (!k)
        return;
    kafka_reg_remove(k);
    if (k->rk && k->in_txn) { /* a failed batch: its messages are never seen */
        rd_kafka_error_t *e = rd_kafka_abort_transaction(k->rk, 5000);
        if (e)
            rd_kafka_error_destroy(e);
    }
    if (k->rk) {
        rd_kafka_flush(k->rk, 5000);
        if (k->rkt)
            rd_kafka_topic_destroy(k->rkt);
        rd_kafka_destroy(k->rk);
    } else if (k->conf) {
        rd_kafka_conf_destroy(k->conf);
    }
    pthread_mutex_destroy(&k->peer.box.lock);
    kafka_sink_drop_again(k);
    sl_api->free(k->again);
    sl_api->free(k->kbuf);
    sl_api->free(k->vbuf);
    sl_api->free(k->hbuf);
    if (k->fixed)
        rd_kafka_headers_destroy(k->fixed);
    sl_api->free(k);
}

/* ---- transactions ------------------------------------------------------------------ */

static int kafka_first_group(void *src, void *ud) {
    const char **group = ud;
    *group = kafka_source_group(src);
    return *group != NULL;
}

/* transactional.id and the transaction timeout, before the producer exists.
 * The id must stay the same across restarts (the broker fences the
 * previous incarnation's producer by it and aborts its open transaction):
 * by default it is derived from the sources' group and the topic. */
static int kafka_sink_txn_conf(kafka_sink *k, sl_error *err) {
    const char *group = NULL;
    kafka_reg_each_source(k->ctx, kafka_first_group, &group);
    if (!group)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "kafka sink: topic '%s': transactional: true needs a kafka "
                                 "source with a `group` in the same pipeline (each transaction "
                                 "commits its offsets with the batch's output)",
                                 k->topic);
    char id[512], ms[32];
    if (k->txn_id)
        snprintf(id, sizeof id, "%s", k->txn_id);
    else
        snprintf(id, sizeof id, "sluice-%s-%s", group, k->topic);
    snprintf(ms, sizeof ms, "%lld", (long long)k->txn_timeout);
    int rc = kafka_conf_set(k->conf, "kafka sink", "transactional.id", id, err);
    if (!rc)
        rc = kafka_conf_set(k->conf, "kafka sink", "transaction.timeout.ms", ms, err);
    if (!rc)
        sl_api->log(k->peer.h, SL_LOG_INFO, "kafka sink: topic '%s': transactional.id '%s'",
                    k->topic, id);
    return rc;
}

/* Turn a transaction error into the batch's error; abort the transaction
 * when librdkafka says it must be (its messages are then never visible to
 * read_committed consumers, and the batch runs again after a restart). */
static int kafka_sink_txn_fail(kafka_sink *k, rd_kafka_error_t *e, const char *what,
                               sl_error *err) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s", rd_kafka_error_string(e));
    int fatal = rd_kafka_error_is_fatal(e);
    int abort = rd_kafka_error_txn_requires_abort(e);
    rd_kafka_error_destroy(e);
    if (abort && k->in_txn) {
        rd_kafka_error_t *ae = rd_kafka_abort_transaction(k->rk, (int)k->delivery_timeout + 5000);
        if (ae)
            rd_kafka_error_destroy(ae);
        else
            k->in_txn = 0;
        sl_api->counter_add(k->c_aborts, 1);
    }
    return sl_api->error_set(
        err, SL_EIO, "kafka sink: topic '%s': %s: %s%s", k->topic, what, msg,
        fatal   ? " (fatal: this producer is fenced or broken; the pipeline must restart)"
        : abort ? "; the transaction was aborted: no read_committed consumer sees its messages"
                : "");
}

/* One source's offsets for batch t, collected under the registry's lock
 * and sent to the transaction after it. */
typedef struct kafka_txn_offsets {
    int64_t t;
    size_t n;
    rd_kafka_topic_partition_list_t *offsets[8];
    rd_kafka_consumer_group_metadata_t *cgmd[8];
    int rc;
    sl_error *err;
} kafka_txn_offsets;

static int kafka_collect_offsets(void *src, void *ud) {
    kafka_txn_offsets *o = ud;
    if (o->n == sizeof o->offsets / sizeof o->offsets[0]) {
        o->rc = sl_api->error_set(o->err, SL_ELIMIT,
                                  "kafka sink: a transactional sink supports at most %zu kafka "
                                  "sources in its pipeline",
                                  o->n);
        return 1;
    }
    o->rc = kafka_source_txn_offsets(src, o->t, &o->offsets[o->n], &o->cgmd[o->n], o->err);
    if (o->rc)
        return 1;
    o->n += o->offsets[o->n] != NULL;
    return 0;
}

/* Put the offsets that end batch t in every source of the pipeline into
 * the transaction, then commit it (flushing every message first). */
static int kafka_sink_txn_commit(kafka_sink *k, int64_t t, sl_error *err) {
    kafka_txn_offsets o = {.t = t, .err = err};
    kafka_reg_each_source(k->ctx, kafka_collect_offsets, &o);
    int rc = o.rc;
    int timeout = (int)k->delivery_timeout + 5000;
    for (size_t i = 0; i < o.n; i++) {
        if (!rc && o.offsets[i]->cnt) {
            rd_kafka_error_t *e =
                rd_kafka_send_offsets_to_transaction(k->rk, o.offsets[i], o.cgmd[i], timeout);
            if (e)
                rc = kafka_sink_txn_fail(k, e, "adding the sources' offsets to the transaction",
                                         err);
        }
        rd_kafka_topic_partition_list_destroy(o.offsets[i]);
        rd_kafka_consumer_group_metadata_destroy(o.cgmd[i]);
    }
    for (int attempt = 0; !rc && k->in_txn; attempt++) {
        rd_kafka_error_t *e = rd_kafka_commit_transaction(k->rk, timeout);
        if (!e) {
            k->in_txn = 0;
            sl_api->counter_add(k->c_txns, 1);
        } else if (rd_kafka_error_is_retriable(e) && attempt < 3) {
            rd_kafka_error_destroy(e);
        } else {
            rc = kafka_sink_txn_fail(k, e, "committing the batch's transaction", err);
        }
    }
    return rc;
}

/* Whether a source replays batch t (its output is in Kafka already). */
static int kafka_replays_t(void *src, void *ud) {
    return kafka_source_replays(src, *(const int64_t *)ud);
}

/* A batch starts: open its transaction, or note that it replays. */
static int kafka_sink_txn_begin(kafka_sink *k, int64_t t, sl_error *err) {
    k->skip = kafka_reg_each_source(k->ctx, kafka_replays_t, &t);
    if (k->skip) {
        sl_api->counter_add(k->c_skipped, 1);
        return 0;
    }
    rd_kafka_error_t *e = rd_kafka_begin_transaction(k->rk);
    if (e)
        return kafka_sink_txn_fail(k, e, "beginning a transaction", err);
    k->in_txn = 1;
    return 0;
}

/* ---- the producer ------------------------------------------------------------------ */

/* The producer, at the first batch (the conf moves into it). */
static int kafka_sink_connect(kafka_sink *k, sl_error *err) {
    char errstr[512];
    if (k->txn && kafka_sink_txn_conf(k, err) < 0)
        return err->code;
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
    if (k->txn) { /* fences an older incarnation and aborts what it left open */
        rd_kafka_error_t *e = rd_kafka_init_transactions(k->rk, (int)k->delivery_timeout + 5000);
        if (e)
            return kafka_sink_txn_fail(k, e, "initialising transactions", err);
    }
    return 0;
}

int kafka_sink_txn_fence(void *sink, sl_error *err) {
    kafka_sink *k = sink;
    return k->rk ? 0 : kafka_sink_connect(k, err);
}

static int kafka_sink_begin(void *instance, int64_t batch_time, sl_error *err) {
    kafka_sink *k = instance;
    if (!k->rk && kafka_sink_connect(k, err) < 0)
        return err->code;
    k->batch_time = batch_time;
    k->sent = k->acked = k->failed = 0;
    k->seen = k->malformed = 0;
    k->first_error[0] = 0;
    kafka_sink_drop_again(k);
    k->batch_start = sl_api->now_ms();
    return k->txn ? kafka_sink_txn_begin(k, batch_time, err) : 0;
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
 * is full; `again`: one kept to be sent again (counted as such, not as a
 * new message). A topic the brokers do not know yet keeps it too. `hdrs`
 * (NULL for none) is taken over in every case. */
static int kafka_sink_produce(kafka_sink *k, const void *key, size_t klen, const void *val,
                              size_t vlen, rd_kafka_headers_t *hdrs, int again, sl_error *err) {
    for (;;) {
        /* RD_KAFKA_V_HEADERS(NULL) is no headers (rdkafka_msg.c: app_hdrs) */
        rd_kafka_resp_err_t e = rd_kafka_producev(
            k->rk, RD_KAFKA_V_RKT(k->rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY((void *)key, klen), RD_KAFKA_V_VALUE((void *)val, vlen),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (!e)
            break;
        if (!k->txn && kafka_sink_topic_unknown(e)) {
            if (kafka_sink_keep(k, key, klen, val, vlen, hdrs, e) < 0) {
                if (hdrs)
                    rd_kafka_headers_destroy(hdrs);
                return sl_api->error_set(err, SL_ENOMEM, "kafka sink: out of memory");
            }
            break;
        }
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            char why[256];
            if (hdrs)
                rd_kafka_headers_destroy(hdrs);
            kafka_peer_error(&k->peer, why, sizeof why);
            return sl_api->error_set(err, SL_EIO,
                                     "kafka sink: topic '%s': cannot produce a message of %zu "
                                     "bytes: %s%s%s",
                                     k->topic, vlen, rd_kafka_err2str(e), why[0] ? "; " : "", why);
        }
        rd_kafka_poll(k->rk, 100);
    }
    if (again) {
        sl_api->counter_add(k->c_again, 1);
        return 0;
    }
    k->sent++;
    sl_api->counter_add(k->c_messages, 1);
    sl_api->counter_add(k->c_bytes, (int64_t)(klen + vlen));
    return 0;
}

/* Why `v` is not the value of a full record, [value, topic, partition,
 * offset, timestamp, headers] with headers null, a list of [name, value]
 * pairs or an object, and names strings (into why); NULL if it is. */
/* A value's type as a message says it ("a string", "a bool"). */
static const char *kafka_sink_kind(const sl_value *v) {
    static const char *const kind[] = {"null",   "a number",  "a number", "a string",
                                       "a list", "an object", "a bool"};
    return v->type < sizeof kind / sizeof kind[0] ? kind[v->type] : "of an unknown type";
}

static const char *kafka_sink_malformed(const sl_value *v, char *why, size_t cap) {
    if (v->type != SL_LIST || v->len != 6) {
        if (v->type == SL_LIST)
            snprintf(why, cap, "its value is a list of %u items, not 6", (unsigned)v->len);
        else
            snprintf(why, cap, "its value is %s, not a list", kafka_sink_kind(v));
        return why;
    }
    const sl_value *h = &v->u.items[5];
    if (h->type == SL_NULL)
        return NULL;
    for (uint32_t i = 0; h->type == SL_OBJECT && i < h->len; i++) {
        if (h->u.items[2 * (size_t)i].type != SL_BYTES) {
            snprintf(why, cap, "header %u's name is not a string", (unsigned)i + 1);
            return why;
        }
    }
    if (h->type == SL_OBJECT)
        return NULL;
    if (h->type != SL_LIST) {
        snprintf(why, cap, "its headers (item 6) are %s, not a list of [name, value] pairs",
                 kafka_sink_kind(h));
        return why;
    }
    for (uint32_t i = 0; i < h->len; i++) {
        const sl_value *p = &h->u.items[i];
        if (p->type != SL_LIST || p->len != 2 || p->u.items[0].type != SL_BYTES) {
            snprintf(why, cap, "header %u is not a [name, value] pair with a string name",
                     (unsigned)i + 1);
            return why;
        }
    }
    return NULL;
}

/* The headers of a message: the full record's `hv` (NULL or checked by
 * kafka_sink_malformed), then the fixed ones. *out is NULL when there are
 * none, else a new list for kafka_sink_produce. 0 or SL_ENOMEM. */
static int kafka_sink_headers(kafka_sink *k, const sl_value *hv, rd_kafka_headers_t **out) {
    size_t n = hv && (hv->type == SL_LIST || hv->type == SL_OBJECT) ? hv->len : 0;
    *out = NULL;
    if (!n && !k->fixed)
        return 0;
    if (!n) {
        *out = rd_kafka_headers_copy(k->fixed);
        return *out ? 0 : SL_ENOMEM;
    }
    rd_kafka_headers_t *hdrs =
        rd_kafka_headers_new(n + (k->fixed ? rd_kafka_header_cnt(k->fixed) : 0));
    for (size_t i = 0; i < n; i++) {
        const sl_value *nv =
            hv->type == SL_OBJECT ? &hv->u.items[2 * i] : &hv->u.items[i].u.items[0];
        const void *p;
        size_t len;
        if (kafka_sink_bytes(nv + 1, &k->hbuf, &k->hcap, &p, &len) < 0) {
            rd_kafka_headers_destroy(hdrs);
            return SL_ENOMEM;
        }
        if (!p && nv[1].type != SL_NULL)
            p = ""; /* an empty string, not a null value */
        rd_kafka_header_add(hdrs, nv->len ? nv->u.s : "", (ssize_t)nv->len, p, (ssize_t)len);
    }
    for (size_t i = 0; k->fixed && i < rd_kafka_header_cnt(k->fixed); i++) {
        const char *name;
        const void *p;
        size_t len;
        rd_kafka_header_get_all(k->fixed, i, &name, &p, &len);
        rd_kafka_header_add(hdrs, name, -1, p, (ssize_t)len);
    }
    *out = hdrs;
    return 0;
}

/* A record that is not of the full shape: the batch fails, or with
 * on_error: skip it is counted (the first of a batch logged). 0 to go on. */
static int kafka_sink_reject(kafka_sink *k, const char *why, sl_error *err) {
    if (!k->skip_malformed)
        return sl_api->error_set(err, SL_EINVAL,
                                 "kafka sink: topic '%s': record %lld of the batch is not of the "
                                 "shape of record: full, (key, [value, topic, partition, offset, "
                                 "timestamp, headers]): %s",
                                 k->topic, (long long)k->seen, why);
    if (!k->malformed++)
        sl_api->log(k->peer.h, SL_LOG_WARN,
                    "kafka sink: topic '%s': record %lld of the batch is not of the shape of "
                    "record: full: %s (skipped: on_error: skip)",
                    k->topic, (long long)k->seen, why);
    sl_api->counter_add(k->c_malformed, 1);
    return 0;
}

/* One record as one message. */
static int kafka_sink_record(kafka_sink *k, const sl_record *r, sl_error *err) {
    const sl_value *v = &r->value, *hv = NULL;
    k->seen++;
    if (k->full) {
        char why[128];
        if (kafka_sink_malformed(v, why, sizeof why))
            return kafka_sink_reject(k, why, err);
        hv = &v->u.items[5];
        v = &v->u.items[0];
    }
    const void *key = NULL, *val = NULL;
    size_t klen = 0, vlen = 0;
    rd_kafka_headers_t *hdrs = NULL;
    if ((sl_record_is_pair(r) && kafka_sink_bytes(&r->key, &k->kbuf, &k->kcap, &key, &klen) < 0) ||
        kafka_sink_bytes(v, &k->vbuf, &k->vcap, &val, &vlen) < 0 ||
        kafka_sink_headers(k, hv, &hdrs) < 0)
        return sl_api->error_set(err, SL_ENOMEM, "kafka sink: out of memory");
    return kafka_sink_produce(k, key, klen, val, vlen, hdrs, 0, err);
}

static int kafka_sink_write(void *instance, const sl_chunk *chunk, sl_error *err) {
    kafka_sink *k = instance;
    if (k->skip)
        return 0;
    for (size_t i = 0; i < chunk->count; i++) {
        int rc = kafka_sink_record(k, &chunk->records[i], err);
        if (rc < 0)
            return rc;
    }
    rd_kafka_poll(k->rk, 0); /* serve the delivery reports that are in */
    return 0;
}

/* Send again what the brokers refused because they did not know the topic
 * (yet): after a pause (100 ms, doubling to 1 s) and a metadata request
 * for the topic, until the batch's delivery_timeout. 0, or an error. */
static int kafka_sink_send_again(kafka_sink *k, int64_t *pause, sl_error *err) {
    int64_t left = k->batch_start + k->delivery_timeout - sl_api->now_ms();
    if (left <= 0) { /* for good now */
        char why[256];
        snprintf(why, sizeof why,
                 "%s (the brokers did not know the topic within delivery_timeout, %lld ms)",
                 k->again_error, (long long)k->delivery_timeout);
        for (size_t i = 0; i < k->nagain; i++)
            kafka_sink_failed(k, why);
        kafka_sink_drop_again(k);
        return 0;
    }
    if (*pause == 100)
        sl_api->log(k->peer.h, SL_LOG_WARN,
                    "kafka sink: topic '%s': %zu message(s) refused (%s): the brokers do not "
                    "know the topic for now (a broker starting up?); sending them again for up "
                    "to %lld ms more",
                    k->topic, k->nagain, k->again_error, (long long)left);
    int64_t ms = *pause < left ? *pause : left;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    *pause = *pause * 2 > 1000 ? 1000 : *pause * 2;
    const struct rd_kafka_metadata *md = NULL; /* the topic's state, asked for now */
    if (rd_kafka_metadata(k->rk, 0, k->rkt, &md, (int)(left < 2000 ? left : 2000)) ==
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        md)
        rd_kafka_metadata_destroy(md);
    struct kafka_again *list = k->again;
    size_t n = k->nagain;
    k->again = NULL;
    k->nagain = k->again_cap = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            rc = kafka_sink_produce(k, list[i].key, list[i].klen, list[i].val, list[i].vlen,
                                    list[i].hdrs, 1, err);
        else if (list[i].hdrs)
            rd_kafka_headers_destroy(list[i].hdrs);
        sl_api->free(list[i].key);
        sl_api->free(list[i].val);
    }
    sl_api->free(list);
    return rc;
}

/* Wait until every message of the batch is acknowledged or failed, sending
 * again what a topic unknown for the moment refused. */
static int kafka_sink_delivered(kafka_sink *k, sl_error *err) {
    rd_kafka_resp_err_t e = rd_kafka_flush(k->rk, (int)(k->delivery_timeout + 5000));
    for (int64_t pause = 100; e != RD_KAFKA_RESP_ERR__TIMED_OUT && k->nagain;) {
        int rc = kafka_sink_send_again(k, &pause, err);
        if (rc < 0)
            return rc;
        e = rd_kafka_flush(k->rk, (int)(k->delivery_timeout + 5000));
    }
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

/* The batch is complete: every message acknowledged, and with
 * transactional: true the transaction (with the sources' offsets)
 * committed; a failure aborts it and fails the batch. */
static int kafka_sink_end(void *instance, int64_t batch_time, sl_error *err) {
    kafka_sink *k = instance;
    if (k->skip)
        return 0;
    if (k->malformed > 1)
        sl_api->log(k->peer.h, SL_LOG_WARN,
                    "kafka sink: topic '%s': %lld records of the batch skipped: not of the shape "
                    "of record: full",
                    k->topic, (long long)k->malformed);
    int rc = kafka_sink_delivered(k, err);
    if (rc && k->in_txn) {
        rd_kafka_error_t *ae = rd_kafka_abort_transaction(k->rk, (int)k->delivery_timeout + 5000);
        if (ae)
            rd_kafka_error_destroy(ae);
        else
            k->in_txn = 0;
        sl_api->counter_add(k->c_aborts, 1);
    }
    return rc ? rc : k->txn ? kafka_sink_txn_commit(k, batch_time, err) : 0;
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
           "fails the batch. Fixed `headers` on every message; with record: full, records of "
           "the kafka source's full shape keep their headers. Counters: messages, bytes, "
           "delivery_failures, sent_again, malformed_skipped.",
    .params = kafka_sink_params,
    .create = kafka_sink_create,
    .destroy = kafka_sink_destroy,
    .ops = &kafka_sink_ops,
};

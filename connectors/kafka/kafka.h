/*
 * kafka.h — what the files of the kafka plugin share: the librdkafka
 * configuration built from a component's parameters (kafka_conf.c), and the
 * source and sink components (kafka_source.c, kafka_sink.c).
 */
#ifndef SLUICE_KAFKA_H
#define SLUICE_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>

#include <sluice/plugin.h>

/* The last error librdkafka reported through its error callback (broker
 * down, SSL or SASL failure): kept so that a failing call can say why
 * rather than only "timed out". Guarded by `lock`: the callback runs on
 * librdkafka's threads. */
typedef struct kafka_errbox {
    pthread_mutex_t lock;
    char msg[256];
    int fatal; /* a fatal error (idempotent producer): the instance is done */
} kafka_errbox;

/* What librdkafka's callbacks see (the conf's opaque): the first member of
 * the source and sink instances. */
typedef struct kafka_peer {
    sl_handle *h;
    kafka_errbox box;
} kafka_peer;

/* Build a librdkafka configuration from the `brokers` and `properties`
 * parameters of `who` ("kafka source", "kafka sink"), refusing properties
 * that run code or break the guarantees. On success *out is the new
 * configuration (the caller owns it). Errors never echo a secret's value. */
int kafka_conf_build(const sl_params *params, const char *who, rd_kafka_conf_t **out,
                     sl_error *err);

/* Set one property that the plugin itself decides (never user input). */
int kafka_conf_set(rd_kafka_conf_t *conf, const char *who, const char *name, const char *value,
                   sl_error *err);

/* Nonzero if the user's `properties` set `name`. */
int kafka_conf_user_set(const sl_params *params, const char *name);

/* Route librdkafka's log lines and error events to the host log and to
 * peer->box; `peer` becomes the conf's opaque. */
void kafka_conf_callbacks(rd_kafka_conf_t *conf, kafka_peer *peer);

/* The last error librdkafka reported, into buf ("" if none); nonzero if
 * it was fatal. */
int kafka_peer_error(kafka_peer *peer, char *buf, size_t cap);

/* ---- one pipeline's Kafka components (kafka.c) ------------------------------
 *
 * A transactional sink puts the offsets its pipeline's Kafka sources reached
 * into each batch's transaction, and the sources, after a restart, replay
 * the batches whose output a transaction already committed without output
 * (docs/kafka.md, "Exactly-once output"). They find each other through this
 * registry, by the host's context_id. Every function takes its lock. */
enum { KAFKA_REG_SOURCE = 1, KAFKA_REG_TXN_SINK = 2 };

int kafka_reg_add(uint64_t ctx, int kind, void *inst); /* 0 or SL_ENOMEM */
void kafka_reg_remove(void *inst);
/* The pipeline's transactional Kafka sink, or NULL. */
void *kafka_reg_txn_sink(uint64_t ctx);
#define kafka_reg_has_txn_sink(ctx) (kafka_reg_txn_sink(ctx) != NULL)
/* Call fn for every Kafka source of the pipeline (under the lock: fn must
 * not call kafka_reg_*); stops at fn's first nonzero return, which it
 * returns. */
int kafka_reg_each_source(uint64_t ctx, int (*fn)(void *src, void *ud), void *ud);

/* What a transactional sink asks a source (kafka_source.c). */
/* The source's `group`, or NULL. */
const char *kafka_source_group(void *src);
/* Nonzero if batch t replays records whose output a transaction committed
 * before a restart: the sink writes nothing for it. */
int kafka_source_replays(void *src, int64_t t);
/* Nonzero while the source still has such records to replay (before its
 * poll of the next batch). */
int kafka_source_catching_up(void *src);
/* The offsets that end batch t (a new list the caller destroys, NULL if
 * none) and the consumer group metadata to commit them with (new, the
 * caller destroys). 0, or an SL_E* code with err filled. */
int kafka_source_txn_offsets(void *src, int64_t t, rd_kafka_topic_partition_list_t **offsets,
                             rd_kafka_consumer_group_metadata_t **cgmd, sl_error *err);

/* What a source asks the transactional sink (kafka_sink.c): create its
 * producer and initialise transactions now, which fences the producer of a
 * previous incarnation and aborts the transaction it left open (until
 * then, the group's offsets that transaction holds cannot be read). */
int kafka_sink_txn_fence(void *sink, sl_error *err);

extern const sl_component kafka_source_component;
extern const sl_component kafka_sink_component;

#endif /* SLUICE_KAFKA_H */

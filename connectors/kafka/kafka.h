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

extern const sl_component kafka_source_component;
extern const sl_component kafka_sink_component;

#endif /* SLUICE_KAFKA_H */

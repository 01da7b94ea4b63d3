/*
 * kafka — Apache Kafka source and sink (librdkafka).
 *
 *   source: kafka   a DIRECT source: at each batch time it fixes, per
 *                   partition, the offset range [from, until) that the batch
 *                   holds and consumes exactly that (Spark's direct stream);
 *                   its offsets go into checkpoints (kafka_source.c).
 *   sink: kafka     every record of a batch produced to one topic; the batch
 *                   completes when the broker acknowledged all (kafka_sink.c).
 *
 * docs/kafka.md is the user's reference (guarantees, record shape, every
 * parameter, the refused properties).
 */
#include <pthread.h>
#include <stdint.h>

#include "kafka.h"

/* ---- the registry: one pipeline's Kafka components -------------------------------- */

typedef struct kafka_reg {
    struct kafka_reg *next;
    uint64_t ctx;
    int kind;
    void *inst;
} kafka_reg;

static pthread_mutex_t kafka_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static kafka_reg *kafka_regs;

int kafka_reg_add(uint64_t ctx, int kind, void *inst) {
    kafka_reg *r = sl_api->malloc(sizeof *r);
    if (!r)
        return SL_ENOMEM;
    r->ctx = ctx;
    r->kind = kind;
    r->inst = inst;
    pthread_mutex_lock(&kafka_reg_lock);
    r->next = kafka_regs;
    kafka_regs = r;
    pthread_mutex_unlock(&kafka_reg_lock);
    return 0;
}

void kafka_reg_remove(void *inst) {
    pthread_mutex_lock(&kafka_reg_lock);
    for (kafka_reg **pp = &kafka_regs; *pp; pp = &(*pp)->next) {
        if ((*pp)->inst == inst) {
            kafka_reg *r = *pp;
            *pp = r->next;
            sl_api->free(r);
            break;
        }
    }
    pthread_mutex_unlock(&kafka_reg_lock);
}

void *kafka_reg_txn_sink(uint64_t ctx) {
    void *found = NULL;
    pthread_mutex_lock(&kafka_reg_lock);
    for (kafka_reg *r = kafka_regs; r && !found; r = r->next)
        if (r->ctx == ctx && r->kind == KAFKA_REG_TXN_SINK)
            found = r->inst;
    pthread_mutex_unlock(&kafka_reg_lock);
    return found;
}

int kafka_reg_each_source(uint64_t ctx, int (*fn)(void *src, void *ud), void *ud) {
    int rc = 0;
    pthread_mutex_lock(&kafka_reg_lock);
    for (kafka_reg *r = kafka_regs; r && !rc; r = r->next)
        if (r->ctx == ctx && r->kind == KAFKA_REG_SOURCE)
            rc = fn(r->inst, ud);
    pthread_mutex_unlock(&kafka_reg_lock);
    return rc;
}

/* ---- the plugin ------------------------------------------------------------------- */

static const sl_component *const kafka_components[] = {&kafka_source_component,
                                                       &kafka_sink_component, NULL};

static const sl_plugin kafka_plugin = {
    SL_PLUGIN_HEADER,
    "kafka", /* name: the file is kafka.so */
    "0.1.0",
    "Apache Kafka: a direct source with checkpointed offsets and a delivery-confirmed sink",
    "MIT",
    kafka_components,
};

SL_PLUGIN_ENTRY(kafka_plugin)

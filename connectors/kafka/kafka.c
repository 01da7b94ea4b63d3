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
#include "kafka.h"

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

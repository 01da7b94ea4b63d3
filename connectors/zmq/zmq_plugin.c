/*
 * zmq — ZeroMQ source and sink (libzmq).
 *
 *   source: zmq   a RECEIVER on a PULL or SUB socket (zmq_source.c);
 *   sink: zmq     every record as a message on a PUSH or PUB socket
 *                 (zmq_sink.c).
 *
 * Both take the same socket settings (zmq_conf.c) and CURVE with a ZAP
 * allow-list (zmq_curve.c). docs/zeromq.md is the user's reference;
 * sluice-zmq-keygen (keygen.c) writes key pairs.
 */
#include "zmq_conn.h"

static const sl_component *const zq_components[] = {&zq_source_component, &zq_sink_component, NULL};

static const sl_plugin zq_plugin = {
    SL_PLUGIN_HEADER,
    "zmq", /* name: the file is zmq.so */
    "0.1.0",
    "ZeroMQ: a PULL/SUB receiver and a PUSH/PUB sink, with CURVE and an allow-list",
    "MIT",
    zq_components,
};

SL_PLUGIN_ENTRY(zq_plugin)

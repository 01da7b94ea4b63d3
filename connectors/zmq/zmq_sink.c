/*
 * zmq_sink.c — `sink: zmq`: every record of a batch as one message on a
 * PUSH or PUB socket.
 *
 *   frames  [topic,] value. The topic frame is `topic` when it is set, else
 *           the record's key for a pair (bytes as they are, null empty,
 *           anything else its JSON text), none for a plain element (or with
 *           key: drop). The value frame is bytes as they are, null empty,
 *           anything else its JSON text (a count is `42`).
 *
 * ZMQ_IMMEDIATE is on: messages are queued only to peers whose connection
 * is complete, never to a peer that is not there. At the high-water mark
 * (sndhwm, per peer) `on_full` decides: block (default) waits up to
 * send_timeout for room and then fails the batch — nothing is dropped
 * without the pipeline knowing; drop drops the message and counts it (a
 * PUSH sees every drop; a PUB with on_full: drop lets libzmq drop per slow
 * subscriber, which it does not report). With on_full: block a PUB sets
 * ZMQ_XPUB_NODROP, so a subscriber at its HWM blocks the send instead of
 * losing messages silently.
 *
 * The socket binds or connects at the first batch (sluice validate creates
 * a sink and leaves no trace), so the first messages may find no peer yet.
 * At destroy the socket closes with ZMQ_LINGER = linger: what is still
 * queued is sent within that time, then dropped; the process never hangs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "zmq_conn.h"

typedef struct zq_sink {
    sl_handle *h;
    zq_conf conf;
    void *ctx, *sock;
    const char *topic; /* params-owned; NULL: from the key */
    int key_frame;     /* key: frame */
    int drop;          /* on_full: drop */
    int64_t send_timeout, linger;
    char *kbuf, *vbuf; /* JSON text of keys and values (sl_api->malloc) */
    size_t kcap, vcap;
    int64_t dropped;
    sl_counter *c_messages, *c_bytes, *c_dropped;
} zq_sink;

static const sl_param_spec zq_sink_params[] = {
    {"type", SL_PARAM_ENUM, "push", 0, "socket type: push (to PULL peers) or pub (to SUB peers)",
     "push|pub", NULL},
    {"connect", SL_PARAM_STRING, NULL, 0,
     "endpoints to connect to, comma-separated: tcp://host:port, ipc:///path", NULL, NULL},
    {"bind", SL_PARAM_STRING, NULL, 0,
     "endpoints to bind, comma-separated (other than loopback: CURVE or insecure: true)", NULL,
     NULL},
    {"topic", SL_PARAM_STRING, NULL, 0,
     "a fixed first frame for every message; unset: the record's key (see key)", NULL, NULL},
    {"key", SL_PARAM_ENUM, "frame", 0,
     "a pair's key: the first frame (frame) or left out (drop); ignored when topic is set",
     "frame|drop", NULL},
    {"sndhwm", SL_PARAM_INT, "1000", 0, "ZMQ_SNDHWM: messages queued per peer (0: no limit)", NULL,
     "0..100000000"},
    {"on_full", SL_PARAM_ENUM, "block", 0,
     "at the high-water mark: block up to send_timeout, then fail the batch; or drop and count",
     "block|drop", NULL},
    {"send_timeout", SL_PARAM_DURATION, "5s", 0,
     "on_full: block: longest wait for room (ZMQ_SNDTIMEO)", NULL, "1ms..1h"},
    {"linger", SL_PARAM_DURATION, "1s", 0,
     "at stop: how long queued messages may take to go out (ZMQ_LINGER)", NULL, "0..1h"},
    {"reconnect_interval", SL_PARAM_DURATION, "100ms", 0, "ZMQ_RECONNECT_IVL", NULL, "1ms..1h"},
    {"reconnect_interval_max", SL_PARAM_DURATION, "0", 0,
     "ZMQ_RECONNECT_IVL_MAX: backoff up to this (0: always reconnect_interval)", NULL, "0..1h"},
    {"curve", SL_PARAM_ENUM, "off", 0, "CURVE security: off, server or client", "off|server|client",
     NULL},
    {"curve_keys", SL_PARAM_STRING, NULL, 0,
     "file with this socket's key pair (sluice-zmq-keygen; mode 600)", NULL, NULL},
    {"curve_server_key", SL_PARAM_STRING, NULL, 0,
     "curve: client: file with the server's public key", NULL, NULL},
    {"curve_allow", SL_PARAM_STRING, NULL, 0,
     "curve: server: file of the client public keys admitted, one per line", NULL, NULL},
    {"insecure", SL_PARAM_BOOL, "false", 0,
     "allow a bind on an address other than loopback without CURVE", NULL, NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

static void zq_sink_destroy(void *instance) {
    zq_sink *k = instance;
    if (!k)
        return;
    if (k->sock) {
        int linger = (int)k->linger;
        zmq_setsockopt(k->sock, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(k->sock);
    }
    zq_zap_stop(&k->conf.zap);
    if (k->ctx)
        zmq_ctx_term(k->ctx); /* returns once queued messages went out or linger passed */
    zq_conf_free(&k->conf);
    sl_api->free(k->kbuf);
    sl_api->free(k->vbuf);
    sl_api->free(k);
}

static int zq_sink_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    zq_sink *k = sl_api->calloc(1, sizeof *k);
    if (!k)
        return sl_api->error_set(err, SL_ENOMEM, "zmq sink: out of memory");
    k->h = h;
    k->conf.who = "zmq sink";
    k->conf.type = strcmp(sl_api->param_str(params, "type"), "pub") == 0 ? ZMQ_PUB : ZMQ_PUSH;
    k->topic = sl_api->param_str(params, "topic");
    k->key_frame = strcmp(sl_api->param_str(params, "key"), "frame") == 0;
    k->drop = strcmp(sl_api->param_str(params, "on_full"), "drop") == 0;
    k->send_timeout = sl_api->param_int(params, "send_timeout");
    k->linger = sl_api->param_int(params, "linger");
    int rc = zq_conf_read(&k->conf, params, h, err);
    if (rc) {
        zq_sink_destroy(k);
        return rc;
    }
    k->c_messages = sl_api->counter(h, "messages");
    k->c_bytes = sl_api->counter(h, "bytes");
    k->c_dropped = sl_api->counter(h, "messages_dropped");
    *instance = k;
    return 0;
}

/* The socket, at the first batch. */
static int zq_sink_open(zq_sink *k, sl_error *err) {
    k->ctx = zmq_ctx_new();
    k->sock = k->ctx ? zmq_socket(k->ctx, k->conf.type) : NULL;
    if (!k->sock)
        return sl_api->error_set(err, SL_EIO, "zmq sink: cannot create a socket: %s",
                                 zmq_strerror(zmq_errno()));
    int one = 1, linger = (int)k->linger, tmo = (int)k->send_timeout;
    zmq_setsockopt(k->sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(k->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(k->sock, ZMQ_SNDTIMEO, &tmo, sizeof tmo);
    if (k->conf.type == ZMQ_PUB && !k->drop &&
        zmq_setsockopt(k->sock, ZMQ_XPUB_NODROP, &one, sizeof one) != 0)
        return sl_api->error_set(err, SL_EIO, "zmq sink: cannot set ZMQ_XPUB_NODROP: %s",
                                 zmq_strerror(zmq_errno()));
    return zq_socket_open(&k->conf, k->ctx, k->sock, k->h, err);
}

static int zq_sink_begin(void *instance, int64_t batch_time, sl_error *err) {
    zq_sink *k = instance;
    (void)batch_time;
    if (!k->sock && zq_sink_open(k, err) < 0)
        return err->code;
    return 0;
}

/* The bytes a value is sent as: bytes as they are, null empty, anything
 * else its JSON text in *buf (grown as needed). */
static int zq_sink_bytes(const sl_value *v, char **buf, size_t *cap, const void **p, size_t *len) {
    if (v->type == SL_BYTES || v->type == SL_NULL) {
        *p = v->type == SL_BYTES ? v->u.s : "";
        *len = v->type == SL_BYTES ? v->len : 0;
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

/* Why a send found no room, for the batch's error. */
static int zq_sink_full(zq_sink *k, sl_error *err) {
    return sl_api->error_set(
        err, SL_EIO,
        "zmq sink: no room for a message within send_timeout (%lld ms): %s (sndhwm %d); the "
        "batch fails. on_full: drop drops and counts such messages instead",
        (long long)k->send_timeout,
        k->conf.type == ZMQ_PUSH ? "no PULL peer is connected, or every one is at its high-water "
                                   "mark"
                                 : "a subscriber is at its high-water mark",
        k->conf.hwm);
}

/* Send one message of 1 or 2 frames. The first frame decides: once it is
 * queued the second never blocks. */
static int zq_sink_send(zq_sink *k, const void *t, size_t tlen, int has_topic, const void *v,
                        size_t vlen, sl_error *err) {
    int flags = k->drop ? ZMQ_DONTWAIT : 0;
    int rc = has_topic ? zmq_send(k->sock, t, tlen, flags | ZMQ_SNDMORE)
                       : zmq_send(k->sock, v, vlen, flags);
    if (rc >= 0 && has_topic)
        rc = zmq_send(k->sock, v, vlen, 0);
    if (rc >= 0) {
        sl_api->counter_add(k->c_messages, 1);
        sl_api->counter_add(k->c_bytes, (int64_t)(tlen + vlen));
        return 0;
    }
    int e = zmq_errno();
    if (e == EAGAIN && k->drop) {
        if (++k->dropped == 1 || k->dropped % 1000 == 0)
            sl_api->log(k->h, SL_LOG_WARN,
                        "zmq sink: dropping messages at the high-water mark (on_full: drop); "
                        "%lld so far (counter messages_dropped)",
                        (long long)k->dropped);
        sl_api->counter_add(k->c_dropped, 1);
        return 0;
    }
    if (e == EAGAIN)
        return zq_sink_full(k, err);
    return sl_api->error_set(err, SL_EIO, "zmq sink: sending failed: %s", zmq_strerror(e));
}

static int zq_sink_write(void *instance, const sl_chunk *chunk, sl_error *err) {
    zq_sink *k = instance;
    for (size_t i = 0; i < chunk->count; i++) {
        const sl_record *r = &chunk->records[i];
        const void *t = k->topic, *v = NULL;
        size_t tlen = k->topic ? strlen(k->topic) : 0, vlen = 0;
        int has_topic = k->topic || (k->key_frame && sl_record_is_pair(r));
        if ((has_topic && !k->topic && zq_sink_bytes(&r->key, &k->kbuf, &k->kcap, &t, &tlen) < 0) ||
            zq_sink_bytes(&r->value, &k->vbuf, &k->vcap, &v, &vlen) < 0)
            return sl_api->error_set(err, SL_ENOMEM, "zmq sink: out of memory");
        int rc = zq_sink_send(k, t, tlen, has_topic, v, vlen, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const sl_sink_ops zq_sink_ops = {
    .struct_size = sizeof(sl_sink_ops),
    .begin = zq_sink_begin,
    .write = zq_sink_write,
    .end = NULL,
    .commit = NULL,
};

const sl_component zq_sink_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SINK,
    .name = "zmq",
    .doc = "Sends every record as a ZeroMQ message on a PUSH or PUB socket (libzmq): a topic "
           "frame (fixed, or the record's key) and the value (bytes as they are, JSON "
           "otherwise). ZMQ_IMMEDIATE; at the high-water mark block up to send_timeout and fail "
           "the batch, or drop and count (on_full). Queued messages get `linger` at stop. CURVE "
           "with an allow-list. Counters: messages, bytes, messages_dropped. docs/zeromq.md.",
    .params = zq_sink_params,
    .create = zq_sink_create,
    .destroy = zq_sink_destroy,
    .ops = &zq_sink_ops,
};

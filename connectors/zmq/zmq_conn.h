/*
 * zmq_conn.h — what the files of the zmq plugin share: the socket settings
 * both components read from their parameters (zmq_conf.c), CURVE keys and
 * the ZAP handler that admits the allowed client keys (zmq_curve.c), the
 * message-to-record decoding (zmq_decode.c, also built into the fuzz target)
 * and the two components (zmq_source.c, zmq_sink.c).
 */
#ifndef SLUICE_ZMQ_CONN_H
#define SLUICE_ZMQ_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>

#define ZQ_MAX_ENDPOINTS 16 /* bind + connect endpoints of one socket */
#define ZQ_KEY_BYTES 32     /* a CURVE key, binary */
#define ZQ_Z85_LEN 40       /* a CURVE key, Z85 text */

enum { ZQ_CURVE_OFF, ZQ_CURVE_SERVER, ZQ_CURVE_CLIENT };

/* The ZAP handler (RFC 27) of one context: a REP socket on
 * inproc://zeromq.zap.01 answered by its own thread, admitting the CURVE
 * clients whose public key is on the allow-list. */
typedef struct zq_zap {
    sl_handle *h;
    void *rep; /* created on the caller's thread, used on `thread` only */
    pthread_t thread;
    int running;
    atomic_int stop;
    uint8_t (*keys)[ZQ_KEY_BYTES]; /* the allowed client keys (sl_api->malloc) */
    size_t nkeys;
    const char *allow_path; /* params-owned */
    sl_counter *c_allowed, *c_denied;
    int64_t ndenied; /* refused so far (the ZAP thread's) */
} zq_zap;

/* Settings common to the source and the sink. Strings are params-owned. */
typedef struct zq_conf {
    const char *who; /* "zmq source", "zmq sink": the prefix of messages */
    int type;        /* ZMQ_PULL, ZMQ_SUB, ZMQ_PUSH, ZMQ_PUB */
    char *bind[ZQ_MAX_ENDPOINTS];
    size_t nbind;
    char *connect[ZQ_MAX_ENDPOINTS];
    size_t nconnect;
    int ipv6;              /* an endpoint is an IPv6 address */
    const char *ipc;       /* the first ipc:// endpoint (in bind or connect), or NULL */
    int hwm;               /* rcvhwm or sndhwm */
    int64_t reconnect_ivl; /* ms */
    int64_t reconnect_max; /* ms; 0: no backoff (libzmq's default) */
    int curve;             /* ZQ_CURVE_* */
    uint8_t public_key[ZQ_KEY_BYTES];
    uint8_t secret_key[ZQ_KEY_BYTES]; /* zeroed in zq_conf_free */
    uint8_t server_key[ZQ_KEY_BYTES]; /* the server's public key (client) */
    zq_zap zap;                       /* CURVE server only */
} zq_conf;

/* Read the parameters shared by both components (type excepted: the caller
 * sets conf->type first), load the CURVE keys and the allow-list, and refuse
 * a bind on an address other than loopback without CURVE unless
 * `insecure: true`. 0 or SL_ECONFIG/SL_ENOMEM with err filled. Never echoes
 * a secret. */
int zq_conf_read(zq_conf *conf, const sl_params *params, sl_handle *h, sl_error *err);
void zq_conf_free(zq_conf *conf);

/* Set conf's options on `sock` (hwm, reconnect, CURVE, ZAP domain), start
 * the ZAP handler on `ctx` for a CURVE server, then bind and connect every
 * endpoint. 0 or SL_EIO/SL_ECONFIG with err naming the endpoint. */
int zq_socket_open(zq_conf *conf, void *ctx, void *sock, sl_handle *h, sl_error *err);

/* Bind the ZAP handler on `ctx` and start its thread; before the CURVE
 * server socket binds or connects. */
int zq_zap_start(zq_zap *zap, void *ctx, const char *who, sl_error *err);

/* Stop the ZAP handler (if running) and close its socket; before
 * zmq_ctx_term. */
void zq_zap_stop(zq_zap *zap);

/* Load a key file: the public and, if `secret` is non-NULL, the secret key
 * of a ZeroMQ certificate (`public-key = "..."`, `secret-key = "..."`, as
 * czmq, pyzmq and sluice-zmq-keygen write them), or for a public key alone a
 * file whose first word is the 40-character Z85 key. A file holding a
 * secret key must not be readable by group or others. */
int zq_key_load(const char *who, const char *param, const char *path, uint8_t *pub, uint8_t *secret,
                sl_error *err);

/* Read the allow-list file: one Z85 public key per line, as its first word
 * (the rest of the line is a comment: a name); blank lines and lines
 * starting with '#' are skipped. */
int zq_allow_load(const char *who, const char *path, uint8_t (**keys)[ZQ_KEY_BYTES], size_t *n,
                  sl_error *err);

/* ---- decoding (zmq_decode.c) --------------------------------------------------- */

enum { ZQ_SHAPE_LIST, ZQ_SHAPE_TOPIC };

typedef struct zq_frame {
    const void *data;
    size_t len;
} zq_frame;

typedef struct zq_decode_opts {
    int shape; /* ZQ_SHAPE_*: a multipart message as a list, or (topic, rest) */
    int json;  /* parse each value frame as JSON */
} zq_decode_opts;

/* One message of n >= 1 frames as a record (ts left to the caller):
 *   one frame:          value = the frame (bytes, or JSON), key none;
 *   list, n > 1:        value = [frame, frame, ...];
 *   topic, n == 2:      key = frame 0 (bytes), value = frame 1;
 *   topic, n > 2:       key = frame 0, value = [frame 1, ...].
 * Bytes point into the frames; lists and parsed JSON are allocated from
 * `mem`. Returns 0, SL_EINVAL (a frame is not JSON: err says which and
 * why) or SL_ENOMEM. */
int zq_decode(const zq_decode_opts *o, const zq_frame *f, size_t n, sl_mem *mem, sl_record *out,
              sl_error *err);

extern const sl_component zq_source_component;
extern const sl_component zq_sink_component;

#endif /* SLUICE_ZMQ_CONN_H */

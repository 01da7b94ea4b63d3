/*
 * zmq_source.c — `source: zmq`, a RECEIVER on a PULL or SUB socket.
 *
 * The socket is set up in start() (so that a bad endpoint or a port in use
 * fails the start) and read on the receiver's thread in run(): messages are
 * taken with ZMQ_DONTWAIT, their frames copied one after the other into one
 * buffer, and handed to the engine with host->store in runs of up to
 * ZQ_BATCH records (store copies a run of adjacent single-frame messages in
 * one memcpy). When nothing is waiting the collected records are stored at
 * once and the thread polls the socket in slices of ZQ_POLL_MS, so a stop is
 * noticed promptly.
 *
 * Backpressure: store() blocks while the engine's receiver buffer is full,
 * and meanwhile nothing is read: libzmq's queue fills up to rcvhwm, TCP
 * pushes back, and the peer's own high-water mark applies — a PUSH peer
 * blocks, a PUB peer drops (and a SUB cannot see what its publisher
 * dropped). Memory stays bounded by the receiver buffer, rcvhwm messages
 * and this source's buffer (at most max_message_bytes + ZQ_BUF_CHUNK).
 *
 * A graceful stop takes what libzmq had already received (at most rcvhwm
 * messages, within ZQ_DRAIN_MS) into the last batch; the socket then closes
 * with linger 0.
 *
 * States (host->source_state, ABI 1.5): a source that binds is CONNECTED
 * ("bound tcp://127.0.0.1:5555") once its socket is set up: its peers come
 * to it. One that only connects is CONNECTING until libzmq has connected to
 * a peer (libzmq connects in the background, so a socket monitor on
 * inproc:// tells the receiver's thread), then CONNECTED while at least one
 * endpoint is (with CURVE: once a handshake succeeded), DISCONNECTED when
 * the last connection drops (and while libzmq retries after that) or a CURVE
 * handshake fails.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "zmq_conn.h"

#define ZQ_BATCH 1024             /* records per store() at most */
#define ZQ_BUF_CHUNK (256 * 1024) /* the message buffer's size, unless a message needs more */
#define ZQ_POLL_MS 100            /* longest wait before checking stopping() */
#define ZQ_MAX_FRAMES 1024        /* frames per message; more is oversized */
#define ZQ_DRAIN_MS 1000          /* at stop: longest time spent taking what libzmq holds */
#define ZQ_LOG_EVERY 1000         /* a repeated warning: the first, then every 1000th */

typedef struct zq_source {
    sl_handle *h;
    zq_conf conf;
    void *ctx, *sock;
    char *subs[ZQ_MAX_ENDPOINTS * 4]; /* SUB prefixes (copies) */
    size_t nsubs;
    zq_decode_opts dec;
    size_t max_bytes; /* max_message_bytes */
    int cut;          /* oversize: cut (else drop) */
    int skip_bad;     /* on_error: skip */
    char *buf;        /* the frames of the collected messages, back to back */
    size_t cap, end;  /* buf's size and use */
    sl_record recs[ZQ_BATCH];
    size_t nrecs;
    sl_mem *mem;     /* lists and parsed JSON of the collected records */
    zmq_msg_t *msgs; /* the frames of the message being read */
    zq_frame *frames;
    int64_t oversized, bad;
    sl_counter *c_messages, *c_bytes, *c_oversized, *c_bad;
    void *mon;         /* PAIR socket reading sock's monitor events (NULL: none) */
    int nconnected;    /* endpoints connected now (from the monitor) */
    int64_t retries;   /* connection attempts that failed, in a row */
    int was_connected; /* connected once: a retry is after a loss (DISCONNECTED) */
} zq_source;

static const sl_param_spec zq_source_params[] = {
    {"type", SL_PARAM_ENUM, "pull", 0,
     "socket type: pull (from PUSH peers) or sub (from PUB peers)", "pull|sub", NULL},
    {"connect", SL_PARAM_STRING, NULL, 0,
     "endpoints to connect to, comma-separated: tcp://host:port, ipc:///path", NULL, NULL},
    {"bind", SL_PARAM_STRING, NULL, 0,
     "endpoints to bind, comma-separated (other than loopback: CURVE or insecure: true)", NULL,
     NULL},
    {"subscribe", SL_PARAM_STRING, "", 0,
     "sub: topic prefixes, comma-separated; empty: every message", NULL, NULL},
    {"multipart", SL_PARAM_ENUM, "auto", 0,
     "a multipart message: list (value = [frames]), topic (key = first frame, value = the rest); "
     "auto: topic for sub, list for pull",
     "auto|list|topic", NULL},
    {"value_format", SL_PARAM_ENUM, "bytes", 0, "value frames as bytes, or parsed as JSON",
     "bytes|json", NULL},
    {"on_error", SL_PARAM_ENUM, "skip", 0,
     "a frame that is not JSON (value_format: json): skip the message and count it, or fail",
     "skip|fail", NULL},
    {"max_message_bytes", SL_PARAM_SIZE, "1MiB", 0,
     "largest message (all frames) kept whole; larger ones are dropped or cut (oversize)", NULL,
     "1..1GiB"},
    {"oversize", SL_PARAM_ENUM, "drop", 0,
     "a message over max_message_bytes: drop it, or cut it to that size (counted either way)",
     "drop|cut", NULL},
    {"rcvhwm", SL_PARAM_INT, "1000", 0,
     "ZMQ_RCVHWM: messages libzmq queues per peer before the peer's HWM applies (0: no limit; "
     "advised with ipc://, docs/zeromq.md)",
     NULL, "0..100000000"},
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

/* Split `subscribe` into prefixes; an empty list subscribes to everything. */
static int zq_source_subs(zq_source *s, const char *text, sl_error *err) {
    for (const char *p = text; p && *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n) {
            if (s->nsubs == sizeof s->subs / sizeof *s->subs)
                return sl_api->error_set(err, SL_ECONFIG, "zmq source: more than %zu subscriptions",
                                         sizeof s->subs / sizeof *s->subs);
            if (!(s->subs[s->nsubs] = sl_api->malloc(n + 1)))
                return sl_api->error_set(err, SL_ENOMEM, "zmq source: out of memory");
            memcpy(s->subs[s->nsubs], p, n);
            s->subs[s->nsubs++][n] = 0;
        }
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* The parameters that are not the socket's. */
static int zq_source_params_read(zq_source *s, const sl_params *params, sl_error *err) {
    const char *shape = sl_api->param_str(params, "multipart");
    int sub = s->conf.type == ZMQ_SUB;
    if (!sub && sl_api->param_is_set(params, "subscribe"))
        return sl_api->error_set(err, SL_ECONFIG,
                                 "zmq source: subscribe is for type: sub (a pull socket gets "
                                 "every message)");
    s->dec.shape = strcmp(shape, "topic") == 0 || (strcmp(shape, "auto") == 0 && sub)
                       ? ZQ_SHAPE_TOPIC
                       : ZQ_SHAPE_LIST;
    s->dec.json = strcmp(sl_api->param_str(params, "value_format"), "json") == 0;
    s->skip_bad = strcmp(sl_api->param_str(params, "on_error"), "skip") == 0;
    s->max_bytes = (size_t)sl_api->param_int(params, "max_message_bytes");
    s->cut = strcmp(sl_api->param_str(params, "oversize"), "cut") == 0;
    return sub ? zq_source_subs(s, sl_api->param_str(params, "subscribe"), err) : 0;
}

static void zq_source_destroy(void *instance) {
    zq_source *s = instance;
    if (!s)
        return;
    if (s->mon) {
        zmq_socket_monitor(s->sock, NULL, 0);
        zmq_close(s->mon);
    }
    if (s->sock)
        zmq_close(s->sock);
    zq_zap_stop(&s->conf.zap);
    if (s->ctx)
        zmq_ctx_term(s->ctx);
    zq_conf_free(&s->conf);
    for (size_t i = 0; i < s->nsubs; i++)
        sl_api->free(s->subs[i]);
    if (s->mem)
        sl_api->mem_free(s->mem);
    sl_api->free(s->msgs);
    sl_api->free(s->frames);
    sl_api->free(s->buf);
    sl_api->free(s);
}

/* libzmq stops reading a peer's connection while sluice's queue for it
 * holds rcvhwm messages; if an ipc:// peer closes meanwhile, the hang-up
 * (EPOLLHUP on a Unix socket) makes libzmq drop the connection and what
 * the kernel still held for it (libzmq issue #4660, 4.3.4 and later). TCP
 * is not affected: a FIN is not a hang-up. Say so once, at load. */
static void zq_source_ipc_warn(const zq_source *s) {
    if (s->conf.ipc && s->conf.hwm != 0)
        sl_api->log(s->h, SL_LOG_WARN,
                    "zmq source: %s with rcvhwm %d: a peer that closes while sluice lags "
                    "behind it loses what the kernel still held for it (libzmq #4660); "
                    "rcvhwm: 0 avoids it (sluice then queues whatever the peer sends), or use "
                    "tcp://127.0.0.1; docs/zeromq.md",
                    s->conf.ipc, s->conf.hwm);
}

static int zq_source_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    zq_source *s = sl_api->calloc(1, sizeof *s);
    if (!s)
        return sl_api->error_set(err, SL_ENOMEM, "zmq source: out of memory");
    s->h = h;
    s->conf.who = "zmq source";
    s->conf.type = strcmp(sl_api->param_str(params, "type"), "sub") == 0 ? ZMQ_SUB : ZMQ_PULL;
    int rc = zq_conf_read(&s->conf, params, h, err);
    if (!rc)
        rc = zq_source_params_read(s, params, err);
    if (!rc) {
        s->mem = sl_api->mem_new();
        s->msgs = sl_api->malloc(ZQ_MAX_FRAMES * sizeof *s->msgs);
        s->frames = sl_api->malloc(ZQ_MAX_FRAMES * sizeof *s->frames);
        s->cap = ZQ_BUF_CHUNK;
        s->buf = sl_api->malloc(s->cap);
        if (!s->mem || !s->msgs || !s->frames || !s->buf)
            rc = sl_api->error_set(err, SL_ENOMEM, "zmq source: out of memory");
    }
    if (rc) {
        zq_source_destroy(s);
        return rc;
    }
    zq_source_ipc_warn(s);
    s->c_messages = sl_api->counter(h, "messages");
    s->c_bytes = sl_api->counter(h, "bytes");
    s->c_oversized = sl_api->counter(h, "messages_oversized");
    s->c_bad = sl_api->counter(h, "messages_not_json");
    *instance = s;
    return 0;
}

/* The endpoints for a state's detail: the first, and how many more. */
static void zq_source_where(const zq_source *s, char *buf, size_t cap) {
    int bound = s->conf.nbind > 0;
    size_t n = bound ? s->conf.nbind : s->conf.nconnect;
    snprintf(buf, cap, "%s%s", bound ? "bound " : "", bound ? s->conf.bind[0] : s->conf.connect[0]);
    if (n > 1)
        snprintf(buf + strlen(buf), cap - strlen(buf), " (+%zu more)", n - 1);
}

/* A socket that only connects: watch its connections with a monitor (a
 * PAIR socket on inproc://, read in run()), set up before it connects so
 * that no event is missed. Without it (libzmq refused) the source reports
 * CONNECTED once set up, as a binding one does. */
static void zq_source_monitor_open(zq_source *s) {
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://sluice-zmq-monitor-%p", (void *)s);
    int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED |
                 ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(s->sock, ep, events) != 0)
        return;
    s->mon = zmq_socket(s->ctx, ZMQ_PAIR);
    int zero = 0;
    if (s->mon && zmq_setsockopt(s->mon, ZMQ_LINGER, &zero, sizeof zero) == 0 &&
        zmq_connect(s->mon, ep) == 0)
        return;
    if (s->mon)
        zmq_close(s->mon);
    s->mon = NULL;
    zmq_socket_monitor(s->sock, NULL, 0);
}

/* One monitor event: update the count of connected endpoints and the state. */
static void zq_source_monitor_event(zq_source *s, unsigned event, const char *ep) {
    int curve = s->conf.curve != ZQ_CURVE_OFF;
    char detail[600];
    if ((event == ZMQ_EVENT_CONNECTED && !curve) ||
        (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && curve)) {
        s->nconnected++;
        s->retries = 0;
        s->was_connected = 1;
        snprintf(detail, sizeof detail, "%s", ep);
        if (s->conf.nconnect > 1)
            snprintf(detail + strlen(detail), sizeof detail - strlen(detail),
                     " (%d of %zu endpoints)", s->nconnected, s->conf.nconnect);
        sl_api->source_state(s->h, SL_SOURCE_CONNECTED, detail);
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
        if (s->nconnected > 0 && --s->nconnected == 0) {
            snprintf(detail, sizeof detail, "%s: disconnected; libzmq reconnects", ep);
            sl_api->source_state(s->h, SL_SOURCE_DISCONNECTED, detail);
        }
    } else if (event == ZMQ_EVENT_CONNECT_RETRIED) {
        s->retries++;
        if (s->nconnected == 0) {
            snprintf(detail, sizeof detail, "%s: %s (%lld attempt%s)", ep,
                     s->was_connected ? "disconnected; reconnecting" : "no peer yet",
                     (long long)s->retries, s->retries == 1 ? "" : "s");
            sl_api->source_state(
                s->h, s->was_connected ? SL_SOURCE_DISCONNECTED : SL_SOURCE_CONNECTING, detail);
        }
    } else if (event != ZMQ_EVENT_CONNECTED && s->nconnected == 0) { /* a handshake failed */
        snprintf(detail, sizeof detail, "%s: the CURVE handshake failed", ep);
        sl_api->source_state(s->h, SL_SOURCE_DISCONNECTED, detail);
    }
}

/* Read the monitor's waiting events (two frames each: event and value,
 * then the endpoint), without blocking. */
static void zq_source_monitor_read(zq_source *s) {
    for (;;) {
        zmq_msg_t head, addr;
        zmq_msg_init(&head);
        if (zmq_msg_recv(&head, s->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&head);
            return;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&head) >= sizeof event)
            memcpy(&event, zmq_msg_data(&head), sizeof event);
        int more = zmq_msg_more(&head);
        zmq_msg_close(&head);
        char ep[256] = "";
        if (more) {
            zmq_msg_init(&addr);
            if (zmq_msg_recv(&addr, s->mon, 0) >= 0) {
                size_t n =
                    zmq_msg_size(&addr) < sizeof ep - 1 ? zmq_msg_size(&addr) : sizeof ep - 1;
                memcpy(ep, zmq_msg_data(&addr), n);
                ep[n] = 0;
            }
            zmq_msg_close(&addr);
        }
        zq_source_monitor_event(s, event, ep);
    }
}

/* The socket, bound and connected; on the thread that calls
 * sl_context_start (run() takes it over: thread creation orders memory). */
static int zq_source_start(void *instance, sl_error *err) {
    zq_source *s = instance;
    s->ctx = zmq_ctx_new();
    s->sock = s->ctx ? zmq_socket(s->ctx, s->conf.type) : NULL;
    if (!s->sock)
        return sl_api->error_set(err, SL_EIO, "zmq source: cannot create a socket: %s",
                                 zmq_strerror(zmq_errno()));
    int zero = 0;
    zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof zero);
    for (size_t i = 0; s->conf.type == ZMQ_SUB && i < (s->nsubs ? s->nsubs : 1); i++) {
        const char *t = s->nsubs ? s->subs[i] : "";
        if (zmq_setsockopt(s->sock, ZMQ_SUBSCRIBE, t, strlen(t)) != 0)
            return sl_api->error_set(err, SL_EIO, "zmq source: cannot subscribe to '%s': %s", t,
                                     zmq_strerror(zmq_errno()));
    }
    if (!s->conf.nbind)
        zq_source_monitor_open(s);
    int rc = zq_socket_open(&s->conf, s->ctx, s->sock, s->h, err);
    if (rc)
        return rc;
    char where[300];
    zq_source_where(s, where, sizeof where);
    sl_api->source_state(s->h, s->mon ? SL_SOURCE_CONNECTING : SL_SOURCE_CONNECTED, where);
    return 0;
}

/* Hand the collected records to the engine (it copies them), then reuse
 * the buffer and the arena. Blocks under backpressure. 0, SL_ESTOPPED
 * (the records were kept all the same) or an error. */
static int zq_source_flush(zq_source *s, sl_error *err) {
    if (s->nrecs == 0)
        return 0;
    size_t n = s->nrecs;
    int64_t ts = sl_api->now_ms();
    for (size_t i = 0; i < n; i++)
        s->recs[i].ts = ts;
    int rc = sl_api->store(s->h, s->recs, n);
    s->nrecs = 0;
    s->end = 0;
    sl_api->mem_reset(s->mem);
    if (rc < 0 && rc != SL_ESTOPPED)
        return sl_api->error_set(err, rc, "zmq source: the engine refused %zu records", n);
    sl_api->counter_add(s->c_messages, (int64_t)n);
    return rc;
}

/* Count (and now and then log) a message over max_message_bytes. */
static void zq_source_oversized(zq_source *s, size_t total, size_t nframes) {
    s->oversized++;
    sl_api->counter_add(s->c_oversized, 1);
    if (s->oversized == 1 || s->oversized % ZQ_LOG_EVERY == 0)
        sl_api->log(s->h, SL_LOG_WARN,
                    "zmq source: a message of %zu bytes in %zu frames is over max_message_bytes "
                    "(%zu) or %d frames: %s (%lld so far; counter messages_oversized)",
                    total, nframes, s->max_bytes, ZQ_MAX_FRAMES,
                    s->cut ? "cut to that size" : "dropped", (long long)s->oversized);
}

/* Make room for `need` more bytes in buf: store what is collected first,
 * grow buf when one message needs more than it holds. */
static int zq_source_room(zq_source *s, size_t need, sl_error *err) {
    if (s->cap - s->end >= need)
        return 0;
    int rc = zq_source_flush(s, err);
    if (rc < 0 && rc != SL_ESTOPPED)
        return rc;
    if (s->cap < need) {
        char *b = sl_api->realloc(s->buf, need);
        if (!b)
            return sl_api->error_set(err, SL_ENOMEM,
                                     "zmq source: cannot allocate %zu bytes for a message", need);
        s->buf = b;
        s->cap = need;
    }
    return rc;
}

/* Copy the n frames in s->msgs into buf (cut to `keep` bytes in all when
 * `cutting`: the frames past the cut are left out) and add the message's
 * record. */
static int zq_source_add(zq_source *s, size_t n, size_t keep, int cutting, sl_error *err) {
    int rc = zq_source_room(s, keep, err);
    if (rc < 0 && rc != SL_ESTOPPED)
        return rc;
    size_t left = keep, nf = 0;
    for (size_t i = 0; i < n && (left || !cutting || i == 0); i++, nf++) {
        size_t len = zmq_msg_size(&s->msgs[i]);
        len = len < left ? len : left;
        memcpy(s->buf + s->end, zmq_msg_data(&s->msgs[i]), len);
        s->frames[i].data = s->buf + s->end;
        s->frames[i].len = len;
        s->end += len;
        left -= len;
    }
    sl_record *r = &s->recs[s->nrecs];
    int drc =
        nf == 1 && !s->dec.json
            ? (r->key = sl_null(), r->value = sl_bytes(s->frames[0].data, s->frames[0].len), 0)
            : zq_decode(&s->dec, s->frames, nf, s->mem, r, err);
    if (drc == SL_EINVAL && s->skip_bad) {
        if (++s->bad == 1 || s->bad % ZQ_LOG_EVERY == 0)
            sl_api->log(s->h, SL_LOG_WARN, "%s (skipped: on_error: skip; %lld so far)", err->msg,
                        (long long)s->bad);
        sl_api->counter_add(s->c_bad, 1);
        err->code = 0;
        err->msg[0] = 0;
        return rc;
    }
    if (drc < 0)
        return drc;
    sl_api->counter_add(s->c_bytes, (int64_t)keep);
    if (++s->nrecs == ZQ_BATCH) {
        int frc = zq_source_flush(s, err);
        return frc ? frc : rc;
    }
    return rc;
}

/* Take one whole message if one is waiting: 1 taken (stored, dropped or
 * skipped), 0 none, SL_ESTOPPED (taken; the engine is stopping) or an
 * error. Frames past ZQ_MAX_FRAMES are read and thrown away at once: a cut
 * keeps at most max_message_bytes of the frames held (`held` bytes). */
static int zq_source_take(zq_source *s, sl_error *err) {
    size_t n = 0, nall = 0, total = 0, held = 0;
    int more = 1, over = 0, rc = 0;
    while (more) {
        zmq_msg_t scratch, *m = n < ZQ_MAX_FRAMES ? &s->msgs[n] : &scratch;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, s->sock, n || over ? 0 : ZMQ_DONTWAIT) < 0) {
            int e = zmq_errno();
            zmq_msg_close(m);
            for (size_t i = 0; i < n; i++)
                zmq_msg_close(&s->msgs[i]);
            if (n == 0 && !over && (e == EAGAIN || e == EINTR))
                return 0;
            return sl_api->error_set(err, SL_EIO, "zmq source: receiving failed: %s",
                                     zmq_strerror(e));
        }
        more = zmq_msg_more(m);
        total += zmq_msg_size(m);
        nall++;
        if (m == &scratch) {
            zmq_msg_close(m);
            over = 1;
        } else {
            held += zmq_msg_size(m);
            n++;
        }
    }
    size_t keep = held;
    int oversized = total > s->max_bytes || over;
    if (oversized) {
        zq_source_oversized(s, total, nall);
        keep = held < s->max_bytes ? held : s->max_bytes;
    }
    if (!oversized || s->cut)
        rc = zq_source_add(s, n, keep, keep < held, err);
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&s->msgs[i]);
    return rc < 0 ? rc : 1;
}

/* At a graceful stop: what libzmq already holds goes into the last batch
 * (at most rcvhwm messages, within ZQ_DRAIN_MS). */
static int zq_source_drain(zq_source *s, sl_error *err) {
    int64_t until = sl_api->now_ms() + ZQ_DRAIN_MS;
    int64_t limit = s->conf.hwm ? s->conf.hwm : 100000, taken = 0;
    int rc = 1;
    while (taken < limit && sl_api->now_ms() < until) {
        rc = zq_source_take(s, err);
        if (rc <= 0 && rc != SL_ESTOPPED)
            break;
        taken++;
    }
    int frc = zq_source_flush(s, err);
    if (taken)
        sl_api->log(s->h, SL_LOG_INFO,
                    "zmq source: stopping: %lld messages libzmq held go into the last batch",
                    (long long)taken);
    if (rc < 0 && rc != SL_ESTOPPED)
        return rc;
    return frc < 0 && frc != SL_ESTOPPED ? frc : 0;
}

/* The receiver thread: take messages while there are some, store them,
 * wait on the socket when there are none; until the engine stops. */
static int zq_source_run(void *instance, sl_error *err) {
    zq_source *s = instance;
    for (;;) {
        if (sl_api->stopping(s->h))
            return zq_source_drain(s, err);
        int rc = zq_source_take(s, err);
        if (rc == SL_ESTOPPED)
            return zq_source_drain(s, err);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            if (s->mon && s->nconnected == 0) /* messages flow: the monitor says from where */
                zq_source_monitor_read(s);
            continue;
        }
        rc = zq_source_flush(s, err);
        if (rc == SL_ESTOPPED)
            return zq_source_drain(s, err);
        if (rc < 0)
            return rc;
        zmq_pollitem_t it[2] = {{s->sock, 0, ZMQ_POLLIN, 0}, {s->mon, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(it, s->mon ? 2 : 1, ZQ_POLL_MS) < 0 && zmq_errno() != EINTR)
            return sl_api->error_set(err, SL_EIO, "zmq source: poll failed: %s",
                                     zmq_strerror(zmq_errno()));
        if (s->mon && (it[1].revents & ZMQ_POLLIN))
            zq_source_monitor_read(s);
    }
}

static const sl_source_ops zq_source_ops = {
    .struct_size = sizeof(sl_source_ops),
    .mode = SL_SOURCE_RECEIVER,
    .start = zq_source_start,
    .run = zq_source_run,
    .poll = NULL,
    .commit = NULL,
};

const sl_component zq_source_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SOURCE,
    .name = "zmq",
    .doc = "Receiver: a ZeroMQ PULL or SUB socket (libzmq) that connects to or binds one or more "
           "tcp:// or ipc:// endpoints. A single-frame message is a record whose value is the "
           "frame; a multipart message a list of frames, or (topic, rest) (multipart). Optional "
           "JSON values. Backpressure through libzmq's high-water marks; CURVE with an "
           "allow-list. Counters: messages, bytes, messages_oversized, messages_not_json, "
           "curve_allowed, curve_denied. docs/zeromq.md.",
    .params = zq_source_params,
    .create = zq_source_create,
    .destroy = zq_source_destroy,
    .ops = &zq_source_ops,
};

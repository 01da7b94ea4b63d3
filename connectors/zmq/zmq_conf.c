/*
 * zmq_conf.c — the socket settings shared by the source and the sink:
 * endpoints, high-water mark, reconnect interval, CURVE, and the rule that
 * a bind on an address other than loopback needs CURVE or `insecure: true`.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "zmq_conn.h"

/* A malloc'd copy of s[0..n). */
static char *zq_strndup(const char *s, size_t n) {
    char *c = sl_api->malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = 0;
    }
    return c;
}

/* Nonzero if the host part of a tcp:// bind endpoint is a loopback address:
 * 127.0.0.0/8, [::1], localhost, or the interface lo. `*`, 0.0.0.0, any
 * other address, interface or name is not. */
static int zq_host_is_loopback(const char *host, size_t n) {
    if ((n == 9 && strncmp(host, "localhost", 9) == 0) || (n == 2 && strncmp(host, "lo", 2) == 0) ||
        (n == 5 && strncmp(host, "[::1]", 5) == 0))
        return 1;
    if (n < 4 || strncmp(host, "127.", 4) != 0)
        return 0;
    for (size_t i = 4; i < n; i++)
        if (!isdigit((unsigned char)host[i]) && host[i] != '.')
            return 0;
    return 1;
}

/* Check one endpoint: tcp://host:port or ipc://path. For a bind, say in
 * *loopback whether it only listens on this machine (ipc always does). */
static int zq_endpoint_check(const zq_conf *c, const char *ep, int bind, int *loopback,
                             sl_error *err) {
    const char *what = bind ? "bind" : "connect";
    *loopback = 1;
    if (strncmp(ep, "ipc://", 6) == 0) {
        if (!ep[6])
            return sl_api->error_set(err, SL_ECONFIG, "%s: %s: '%s' has no path", c->who, what, ep);
        return 0;
    }
    if (strncmp(ep, "tcp://", 6) != 0)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "%s: %s: '%s' is not a tcp:// or ipc:// endpoint (e.g. "
                                 "tcp://127.0.0.1:5555, ipc:///run/feed.sock)",
                                 c->who, what, ep);
    const char *host = ep + 6;
    if (!bind) {
        const char *semi = strchr(host, ';'); /* tcp://source;host:port */
        if (semi)
            host = semi + 1;
    }
    const char *colon = strrchr(host, ':');
    if (!colon || colon == host || !colon[1] ||
        (colon[1] != '*' && !isdigit((unsigned char)colon[1])))
        return sl_api->error_set(err, SL_ECONFIG, "%s: %s: '%s' needs host:port (e.g. %s)", c->who,
                                 what, ep,
                                 bind ? "tcp://127.0.0.1:5555" : "tcp://feeds.example:5555");
    *loopback = zq_host_is_loopback(host, (size_t)(colon - host));
    return 0;
}

/* Split a comma-separated endpoint list into out[] (copies). */
static int zq_endpoints(zq_conf *c, const char *text, int bind, char **out, size_t *n,
                        int *all_loopback, sl_error *err) {
    for (const char *p = text; p && *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *end = e;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end > p) {
            if (*n == ZQ_MAX_ENDPOINTS)
                return sl_api->error_set(err, SL_ECONFIG, "%s: more than %d endpoints", c->who,
                                         ZQ_MAX_ENDPOINTS);
            if (!(out[*n] = zq_strndup(p, (size_t)(end - p))))
                return sl_api->error_set(err, SL_ENOMEM, "%s: out of memory", c->who);
            int loopback;
            int rc = zq_endpoint_check(c, out[(*n)++], bind, &loopback, err);
            if (rc)
                return rc;
            *all_loopback = *all_loopback && loopback;
            if (strchr(out[*n - 1], '['))
                c->ipv6 = 1;
            if (!c->ipc && strncmp(out[*n - 1], "ipc://", 6) == 0)
                c->ipc = out[*n - 1];
        }
        p = e;
    }
    return 0;
}

/* The CURVE parameters: role, own key pair, the server's key, allow-list. */
static int zq_conf_curve(zq_conf *c, const sl_params *params, sl_error *err) {
    const char *role = sl_api->param_str(params, "curve");
    const char *keys = sl_api->param_str(params, "curve_keys");
    const char *server = sl_api->param_str(params, "curve_server_key");
    const char *allow = sl_api->param_str(params, "curve_allow");
    c->curve = strcmp(role, "server") == 0   ? ZQ_CURVE_SERVER
               : strcmp(role, "client") == 0 ? ZQ_CURVE_CLIENT
                                             : ZQ_CURVE_OFF;
    if (c->curve == ZQ_CURVE_OFF) {
        if (keys || server || allow)
            return sl_api->error_set(err, SL_ECONFIG,
                                     "%s: curve_keys, curve_server_key and curve_allow need "
                                     "curve: server or curve: client",
                                     c->who);
        return 0;
    }
    if (!keys)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "%s: curve: %s needs curve_keys (this side's key pair file; "
                                 "sluice-zmq-keygen writes one)",
                                 c->who, role);
    int rc = zq_key_load(c->who, "curve_keys", keys, c->public_key, c->secret_key, err);
    if (rc)
        return rc;
    if (c->curve == ZQ_CURVE_CLIENT) {
        if (allow)
            return sl_api->error_set(err, SL_ECONFIG,
                                     "%s: curve_allow is for curve: server (a client checks "
                                     "the server by curve_server_key)",
                                     c->who);
        if (!server)
            return sl_api->error_set(err, SL_ECONFIG,
                                     "%s: curve: client needs curve_server_key (the file with "
                                     "the server's public key)",
                                     c->who);
        return zq_key_load(c->who, "curve_server_key", server, c->server_key, NULL, err);
    }
    if (server)
        return sl_api->error_set(err, SL_ECONFIG, "%s: curve_server_key is for curve: client",
                                 c->who);
    if (!allow)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "%s: curve: server needs curve_allow (a file of the client "
                                 "public keys to admit, one per line)",
                                 c->who);
    c->zap.allow_path = allow;
    return zq_allow_load(c->who, allow, &c->zap.keys, &c->zap.nkeys, err);
}

int zq_conf_read(zq_conf *c, const sl_params *params, sl_handle *h, sl_error *err) {
    const char *bind = sl_api->param_str(params, "bind");
    const char *conn = sl_api->param_str(params, "connect");
    int source = c->type == ZMQ_PULL || c->type == ZMQ_SUB;
    int loopback = 1;
    c->zap.h = h;
    int rc = zq_endpoints(c, bind, 1, c->bind, &c->nbind, &loopback, err);
    if (!rc)
        rc = zq_endpoints(c, conn, 0, c->connect, &c->nconnect, &(int){1}, err);
    if (rc)
        return rc;
    if (c->nbind + c->nconnect == 0)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "%s: give bind or connect (or both): the endpoints, e.g. "
                                 "connect: tcp://127.0.0.1:5555",
                                 c->who);
    int64_t hwm = sl_api->param_int(params, source ? "rcvhwm" : "sndhwm");
    c->hwm = (int)hwm;
    c->reconnect_ivl = sl_api->param_int(params, "reconnect_interval");
    c->reconnect_max = sl_api->param_int(params, "reconnect_interval_max");
    if (c->reconnect_max && c->reconnect_max < c->reconnect_ivl)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "%s: reconnect_interval_max (%lldms) is shorter than "
                                 "reconnect_interval (%lldms); 0 turns the backoff off",
                                 c->who, (long long)c->reconnect_max, (long long)c->reconnect_ivl);
    rc = zq_conf_curve(c, params, err);
    if (rc)
        return rc;
    if (!loopback && c->curve == ZQ_CURVE_OFF && !sl_api->param_bool(params, "insecure"))
        return sl_api->error_set(err, SL_ECONFIG,
                                 "%s: refusing to bind on an address other than loopback without "
                                 "CURVE: anyone who can reach it could %s; set curve: server (with "
                                 "curve_keys and curve_allow), bind on 127.0.0.1 or ipc://, or say "
                                 "insecure: true",
                                 c->who,
                                 source ? "feed records into the pipeline" : "read its output");
    return 0;
}

void zq_conf_free(zq_conf *c) {
    for (size_t i = 0; i < c->nbind; i++)
        sl_api->free(c->bind[i]);
    for (size_t i = 0; i < c->nconnect; i++)
        sl_api->free(c->connect[i]);
    c->nbind = c->nconnect = 0;
    sl_api->free(c->zap.keys);
    c->zap.keys = NULL;
    volatile uint8_t *s = c->secret_key; /* not left behind in freed memory */
    for (size_t i = 0; i < sizeof c->secret_key; i++)
        s[i] = 0;
}

/* Set an int option, with a message naming it on failure. */
static int zq_setint(const zq_conf *c, void *sock, int opt, const char *name, int v,
                     sl_error *err) {
    if (zmq_setsockopt(sock, opt, &v, sizeof v) == 0)
        return 0;
    return sl_api->error_set(err, SL_EIO, "%s: cannot set %s: %s", c->who, name,
                             zmq_strerror(zmq_errno()));
}

/* CURVE options: server (secret key; the ZAP handler checks the clients)
 * or client (own key pair and the server's public key). */
static int zq_socket_curve(zq_conf *c, void *ctx, void *sock, sl_error *err) {
    if (c->curve == ZQ_CURVE_OFF)
        return 0;
    int rc = 0;
    if (c->curve == ZQ_CURVE_SERVER) {
        rc = zq_setint(c, sock, ZMQ_CURVE_SERVER, "ZMQ_CURVE_SERVER", 1, err);
        if (!rc && zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "sluice", 6) != 0)
            rc = sl_api->error_set(err, SL_EIO, "%s: cannot set ZMQ_ZAP_DOMAIN", c->who);
    } else if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, c->server_key, ZQ_KEY_BYTES) != 0 ||
               zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, c->public_key, ZQ_KEY_BYTES) != 0) {
        rc = sl_api->error_set(err, SL_EIO, "%s: cannot set the CURVE keys: %s", c->who,
                               zmq_strerror(zmq_errno()));
    }
    if (!rc && zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->secret_key, ZQ_KEY_BYTES) != 0)
        rc = sl_api->error_set(err, SL_EIO,
                               "%s: cannot set the CURVE secret key: %s (is this "
                               "libzmq built with CURVE?)",
                               c->who, zmq_strerror(zmq_errno()));
    if (rc)
        return rc;
    /* ZAP first: without a handler libzmq would admit every client */
    return c->curve == ZQ_CURVE_SERVER ? zq_zap_start(&c->zap, ctx, c->who, err) : 0;
}

int zq_socket_open(zq_conf *c, void *ctx, void *sock, sl_handle *h, sl_error *err) {
    int source = c->type == ZMQ_PULL || c->type == ZMQ_SUB;
    int rc = zq_setint(c, sock, source ? ZMQ_RCVHWM : ZMQ_SNDHWM, source ? "rcvhwm" : "sndhwm",
                       c->hwm, err);
    if (!rc)
        rc =
            zq_setint(c, sock, ZMQ_RECONNECT_IVL, "reconnect_interval", (int)c->reconnect_ivl, err);
    if (!rc)
        rc = zq_setint(c, sock, ZMQ_RECONNECT_IVL_MAX, "reconnect_interval_max",
                       (int)c->reconnect_max, err);
    if (!rc && c->ipv6)
        rc = zq_setint(c, sock, ZMQ_IPV6, "ZMQ_IPV6", 1, err);
    if (!rc)
        rc = zq_socket_curve(c, ctx, sock, err);
    for (size_t i = 0; i < c->nbind && !rc; i++) {
        if (zmq_bind(sock, c->bind[i]) != 0)
            return sl_api->error_set(err, SL_EIO, "%s: cannot bind %s: %s", c->who, c->bind[i],
                                     zmq_strerror(zmq_errno()));
        char ep[256];
        size_t n = sizeof ep;
        if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &n) == 0)
            sl_api->log(h, SL_LOG_INFO, "%s: bound %s", c->who, ep);
    }
    for (size_t i = 0; i < c->nconnect && !rc; i++) {
        if (zmq_connect(sock, c->connect[i]) != 0)
            return sl_api->error_set(err, SL_EIO, "%s: cannot connect to %s: %s", c->who,
                                     c->connect[i], zmq_strerror(zmq_errno()));
        sl_api->log(h, SL_LOG_INFO, "%s: connecting to %s (libzmq reconnects by itself)", c->who,
                    c->connect[i]);
    }
    return rc;
}

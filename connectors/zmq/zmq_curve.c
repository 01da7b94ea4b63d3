/*
 * zmq_curve.c — CURVE keys from files, and the ZAP handler (ZeroMQ RFC 27)
 * that admits only the client public keys on an allow-list.
 *
 * Keys never appear inline in a pipeline (so never in `sluice graph`, logs
 * or errors): the parameters name files. A file holding a secret key must
 * not be readable by group or others, like ssh's. Public keys are not
 * secret: a refused client's key is logged so that it can be added.
 *
 * libzmq consults the ZAP handler of the socket's context for every CURVE
 * handshake when one is bound on inproc://zeromq.zap.01; with none it
 * admits everybody. So the handler is bound before the server socket binds
 * or connects, and it answers on its own thread, also while the receiver
 * is blocked under backpressure or the sink waits for its next batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "zmq_conn.h"

#define ZQ_KEYFILE_MAX (64 * 1024)
#define ZQ_ZAP_POLL_MS 100

/* Read a whole small file into a NUL-terminated malloc'd buffer; its mode
 * in *mode. */
static int zq_file_read(const char *who, const char *param, const char *path, char **out,
                        mode_t *mode, sl_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sl_api->error_set(err, SL_ECONFIG, "%s: %s: cannot open %s: %s", who, param, path,
                                 strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > ZQ_KEYFILE_MAX) {
        close(fd);
        return sl_api->error_set(err, SL_ECONFIG,
                                 "%s: %s: %s is not a regular file of at most 64 KiB", who, param,
                                 path);
    }
    char *buf = sl_api->malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return sl_api->error_set(err, SL_ENOMEM, "%s: out of memory", who);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = 0;
    *out = buf;
    *mode = st.st_mode;
    return 0;
}

/* Decode a 40-character Z85 key at p (not NUL-terminated) into 32 bytes. */
static int zq_z85_key(const char *p, size_t n, uint8_t *out) {
    char z[ZQ_Z85_LEN + 1];
    if (n != ZQ_Z85_LEN)
        return -1;
    memcpy(z, p, ZQ_Z85_LEN);
    z[ZQ_Z85_LEN] = 0;
    return zmq_z85_decode(out, z) ? 0 : -1;
}

/* Find `name = "KEY"` (quotes optional) at the start of a line of text
 * (after spaces) and decode KEY. 0 found, 1 absent, -1 malformed. */
static int zq_cert_field(const char *text, const char *name, uint8_t *out) {
    size_t nl = strlen(name);
    for (const char *line = text; line && *line;) {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, name, nl) == 0) {
            p += nl;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p++ != '=')
                return -1;
            while (*p == ' ' || *p == '\t')
                p++;
            int quoted = *p == '"';
            p += quoted;
            size_t n = strcspn(p, "\" \t\r\n");
            if (quoted && p[n] != '"')
                return -1;
            return zq_z85_key(p, n, out);
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return 1;
}

/* The first word of the first line that is neither blank nor a comment. */
static int zq_first_word_key(const char *text, uint8_t *out) {
    for (const char *line = text; line && *line;) {
        const char *p = line + strspn(line, " \t\r");
        if (*p && *p != '#' && *p != '\n')
            return zq_z85_key(p, strcspn(p, " \t\r\n"), out);
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return 1;
}

/* Check that `secret` belongs to `pub`. */
static int zq_key_pair_matches(const uint8_t *pub, const uint8_t *secret) {
    char zs[ZQ_Z85_LEN + 1], zp[ZQ_Z85_LEN + 1], derived[ZQ_Z85_LEN + 1];
    if (!zmq_z85_encode(zs, secret, ZQ_KEY_BYTES) || !zmq_z85_encode(zp, pub, ZQ_KEY_BYTES) ||
        zmq_curve_public(derived, zs) != 0)
        return 0;
    int ok = strcmp(derived, zp) == 0;
    memset(zs, 0, sizeof zs);
    return ok;
}

int zq_key_load(const char *who, const char *param, const char *path, uint8_t *pub, uint8_t *secret,
                sl_error *err) {
    char *text;
    mode_t mode;
    int rc = zq_file_read(who, param, path, &text, &mode, err);
    if (rc)
        return rc;
    int has_secret = strstr(text, "secret-key") != NULL;
    if (has_secret && (mode & 077)) {
        sl_api->free(text);
        return sl_api->error_set(err, SL_ECONFIG,
                                 "%s: %s: %s holds a secret key but group or others may read it "
                                 "(mode %04o); chmod 600 %s",
                                 who, param, path, (unsigned)(mode & 07777), path);
    }
    int p = zq_cert_field(text, "public-key", pub);
    if (p == 1 && !secret)
        p = zq_first_word_key(text, pub);
    int s = secret ? zq_cert_field(text, "secret-key", secret) : 0;
    memset(text, 0, strlen(text)); /* may hold the secret */
    sl_api->free(text);
    if (p != 0)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "%s: %s: no valid public key in %s (expected a line "
                                 "public-key = \"<40 Z85 characters>\"%s)",
                                 who, param, path, secret ? "" : ", or the key alone");
    if (secret && s != 0)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "%s: %s: no valid secret key in %s (expected a line "
                                 "secret-key = \"<40 Z85 characters>\"; sluice-zmq-keygen writes "
                                 "such a file)",
                                 who, param, path);
    if (secret && !zq_key_pair_matches(pub, secret))
        return sl_api->error_set(err, SL_ECONFIG,
                                 "%s: %s: the public key in %s does not belong to its secret key",
                                 who, param, path);
    return 0;
}

int zq_allow_load(const char *who, const char *path, uint8_t (**keys)[ZQ_KEY_BYTES], size_t *n,
                  sl_error *err) {
    char *text;
    mode_t mode;
    int rc = zq_file_read(who, "curve_allow", path, &text, &mode, err);
    if (rc)
        return rc;
    size_t cap = 0;
    int lineno = 0;
    for (char *line = text; line && !rc;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        lineno++;
        char *p = line + strspn(line, " \t\r");
        if (*p && *p != '#') {
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                uint8_t(*k)[ZQ_KEY_BYTES] = sl_api->realloc(*keys, cap * sizeof *k);
                if (!k) {
                    rc = sl_api->error_set(err, SL_ENOMEM, "%s: out of memory", who);
                    break;
                }
                *keys = k;
            }
            if (zq_z85_key(p, strcspn(p, " \t\r"), (*keys)[*n]) != 0)
                rc = sl_api->error_set(err, SL_ECONFIG,
                                       "%s: curve_allow: %s:%d: expected a 40-character Z85 "
                                       "public key first on the line",
                                       who, path, lineno);
            else
                (*n)++;
        }
        line = next;
    }
    sl_api->free(text);
    if (!rc && *n == 0)
        rc = sl_api->error_set(err, SL_ECONFIG,
                               "%s: curve_allow: %s lists no key: no client could connect", who,
                               path);
    return rc;
}

/* ---- the ZAP handler ------------------------------------------------------------- */

static int zq_zap_allowed(const zq_zap *z, const uint8_t *key) {
    for (size_t i = 0; i < z->nkeys; i++)
        if (memcmp(z->keys[i], key, ZQ_KEY_BYTES) == 0)
            return 1;
    return 0;
}

/* Send the reply frames; a failure only loses this reply (libzmq then
 * fails the handshake). */
static void zq_zap_reply(void *rep, const zmq_msg_t *reqid, const char *status, const char *text) {
    zmq_send(rep, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(rep, zmq_msg_data((zmq_msg_t *)reqid), zmq_msg_size((zmq_msg_t *)reqid), ZMQ_SNDMORE);
    zmq_send(rep, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(rep, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(rep, "", 0, ZMQ_SNDMORE); /* user id */
    zmq_send(rep, "", 0, 0);           /* metadata */
}

/* Log a refused client: the first ten, then every hundredth. */
static void zq_zap_log_denied(zq_zap *z, const zmq_msg_t *addr, const uint8_t *key, int64_t n) {
    if (n > 10 && n % 100 != 0)
        return;
    char zk[ZQ_Z85_LEN + 1] = "(none)";
    if (key)
        zmq_z85_encode(zk, key, ZQ_KEY_BYTES);
    int alen = (int)zmq_msg_size((zmq_msg_t *)addr);
    sl_api->log(z->h, SL_LOG_WARN,
                "zmq: refused a CURVE client from %.*s: its public key %s is not in "
                "curve_allow (%s); %lld refused so far",
                alen > 64 ? 64 : alen, (const char *)zmq_msg_data((zmq_msg_t *)addr), zk,
                z->allow_path, (long long)n);
}

/* Answer one request: version, request id, domain, address, identity,
 * mechanism, credentials (RFC 27). */
static void zq_zap_serve(zq_zap *z) {
    zmq_msg_t f[8];
    size_t n = 0;
    int more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->rep, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < 8)
            f[n++] = m;
        else
            zmq_msg_close(&m);
    }
    if (n >= 2) {
        const uint8_t *key = NULL;
        if (n >= 7 && zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
            zmq_msg_size(&f[6]) == ZQ_KEY_BYTES)
            key = zmq_msg_data(&f[6]);
        int ok = n >= 7 && zmq_msg_size(&f[0]) == 3 && memcmp(zmq_msg_data(&f[0]), "1.0", 3) == 0 &&
                 key && zq_zap_allowed(z, key);
        if (ok) {
            sl_api->counter_add(z->c_allowed, 1);
            zq_zap_reply(z->rep, &f[1], "200", "OK");
        } else {
            sl_api->counter_add(z->c_denied, 1);
            zq_zap_log_denied(z, n >= 4 ? &f[3] : &f[1], key, ++z->ndenied);
            zq_zap_reply(z->rep, &f[1], "400", "key not allowed");
        }
    }
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

static void *zq_zap_main(void *arg) {
    zq_zap *z = arg;
    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t it = {z->rep, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, ZQ_ZAP_POLL_MS);
        if (n < 0 && zmq_errno() == ETERM)
            break;
        if (n > 0)
            zq_zap_serve(z);
    }
    return NULL;
}

int zq_zap_start(zq_zap *z, void *ctx, const char *who, sl_error *err) {
    z->c_allowed = sl_api->counter(z->h, "curve_allowed");
    z->c_denied = sl_api->counter(z->h, "curve_denied");
    z->rep = zmq_socket(ctx, ZMQ_REP);
    int zero = 0;
    if (!z->rep || zmq_setsockopt(z->rep, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(z->rep, "inproc://zeromq.zap.01") != 0) {
        int e = zmq_errno();
        if (z->rep)
            zmq_close(z->rep);
        z->rep = NULL;
        return sl_api->error_set(err, SL_EIO, "%s: cannot start the ZAP handler: %s", who,
                                 zmq_strerror(e));
    }
    atomic_store(&z->stop, 0);
    if (pthread_create(&z->thread, NULL, zq_zap_main, z) != 0) {
        zmq_close(z->rep);
        z->rep = NULL;
        return sl_api->error_set(err, SL_ENOMEM, "%s: cannot start the ZAP handler thread", who);
    }
    z->running = 1;
    return 0;
}

void zq_zap_stop(zq_zap *z) {
    if (z->running) {
        atomic_store(&z->stop, 1);
        pthread_join(z->thread, NULL);
        z->running = 0;
    }
    if (z->rep) {
        zmq_close(z->rep);
        z->rep = NULL;
    }
}

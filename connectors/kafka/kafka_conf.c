/*
 * kafka_conf.c — librdkafka configurations from a component's parameters.
 *
 * `properties` is text in the Java .properties style, one `name=value` per
 * line (blank lines and lines starting with '#' are skipped; spaces around
 * the name and the value are trimmed), handed to rd_kafka_conf_set as is.
 * In YAML:
 *
 *     properties: |
 *       security.protocol=SASL_SSL
 *       sasl.mechanism=PLAIN
 *
 * Refused, because they run code from the host or break the guarantees
 * (the offsets are sluice's, in its checkpoints): see kafka_refused below.
 * A value is never echoed in an error or a log line when the property may
 * hold a secret (kafka_is_secret); librdkafka's own message is used only
 * for the others.
 */
#include <stdio.h>
#include <string.h>

#include "kafka.h"

/* Property names (exact, or a prefix when they end with '*') refused in
 * `properties`, and why. */
static const struct {
    const char *name;
    const char *why;
} kafka_refused[] = {
    {"plugin.library.paths", "it loads code into the sluice process"},
    {"interceptor*", "interceptors run code inside the sluice process"},
    {"ssl.engine.location", "it loads an OpenSSL engine into the sluice process"},
    {"ssl.providers", "it loads OpenSSL providers into the sluice process"},
    {"sasl.kerberos.kinit.cmd", "it runs a shell command"},
    {"enable.auto.commit", "sluice commits offsets itself, after a checkpoint"},
    {"enable.auto.offset.store", "sluice stores offsets itself, after a checkpoint"},
    {"offset.store.method", "the file offset store bypasses sluice's checkpoints"},
    {"offset.store.path", "the file offset store bypasses sluice's checkpoints"},
    {"offset.store.sync.interval.ms", "the file offset store bypasses sluice's checkpoints"},
    {"test.mock.*", "the mock cluster is for librdkafka's own tests"},
    {"group.id", "use the `group` parameter"},
    {"transactional.id", "use `transactional: true` (and `transactional_id`) on the sink"},
    {"transaction.timeout.ms", "use the sink's `transaction_timeout`"},
    {"bootstrap.servers", "use the `brokers` parameter"},
    {"metadata.broker.list", "use the `brokers` parameter"},
};

/* Why `name` is refused, or NULL if it is allowed. */
static const char *kafka_refused_why(const char *name) {
    for (size_t i = 0; i < sizeof kafka_refused / sizeof kafka_refused[0]; i++) {
        const char *r = kafka_refused[i].name;
        size_t n = strlen(r);
        if (r[n - 1] == '*' ? strncmp(name, r, n - 1) == 0 : strcmp(name, r) == 0)
            return kafka_refused[i].why;
    }
    return NULL;
}

/* Nonzero if a property's value may be a secret: never shown anywhere. */
static int kafka_is_secret(const char *name) {
    return strstr(name, "password") || strstr(name, "secret") || strstr(name, ".pem") ||
           strstr(name, "oauthbearer.config") || strstr(name, "sasl.username") ||
           strstr(name, "ssl.key") || strstr(name, "keystore");
}

int kafka_conf_set(rd_kafka_conf_t *conf, const char *who, const char *name, const char *value,
                   sl_error *err) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof errstr) == RD_KAFKA_CONF_OK)
        return 0;
    if (kafka_is_secret(name))
        return sl_api->error_set(
            err, SL_ECONFIG, "%s: properties: %s: invalid value (not shown: it may be a secret)",
            who, name);
    return sl_api->error_set(err, SL_ECONFIG, "%s: properties: %s: %s", who, name, errstr);
}

/* Trim spaces and tabs at both ends of s[0..*len) in place; return the start. */
static char *kafka_trim(char *s, size_t *len) {
    while (*len && (*s == ' ' || *s == '\t')) {
        s++;
        (*len)--;
    }
    while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t' || s[*len - 1] == '\r'))
        (*len)--;
    s[*len] = 0;
    return s;
}

/* Apply one line `name=value` (line `lineno` of properties) to conf. */
static int kafka_conf_line(rd_kafka_conf_t *conf, const char *who, char *line, int lineno,
                           sl_error *err) {
    size_t len = strlen(line);
    line = kafka_trim(line, &len);
    if (!len || line[0] == '#')
        return 0;
    char *eq = strchr(line, '=');
    if (!eq)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "%s: properties, line %d: expected name=value, one per line", who,
                                 lineno);
    *eq = 0;
    size_t nlen = (size_t)(eq - line), vlen = strlen(eq + 1);
    char *name = kafka_trim(line, &nlen), *value = kafka_trim(eq + 1, &vlen);
    if (!nlen)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "%s: properties, line %d: a property name is empty", who, lineno);
    const char *why = kafka_refused_why(name);
    if (why)
        return sl_api->error_set(err, SL_ECONFIG, "%s: properties: %s is refused: %s", who, name,
                                 why);
    return kafka_conf_set(conf, who, name, value, err);
}

/* Apply every line of the `properties` text to conf. */
static int kafka_conf_properties(rd_kafka_conf_t *conf, const char *who, const char *text,
                                 sl_error *err) {
    size_t n = strlen(text);
    char *copy = sl_api->malloc(n + 1);
    if (!copy)
        return sl_api->error_set(err, SL_ENOMEM, "%s: out of memory", who);
    memcpy(copy, text, n + 1);
    int rc = 0, lineno = 0;
    for (char *line = copy; line && !rc;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        rc = kafka_conf_line(conf, who, line, ++lineno, err);
        line = nl ? nl + 1 : NULL;
    }
    sl_api->free(copy);
    return rc;
}

int kafka_conf_build(const sl_params *params, const char *who, rd_kafka_conf_t **out,
                     sl_error *err) {
    const char *brokers = sl_api->param_str(params, "brokers");
    const char *props = sl_api->param_str(params, "properties");
    if (!brokers || !*brokers)
        return sl_api->error_set(err, SL_ECONFIG, "%s: brokers must not be empty (host:port,...)",
                                 who);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf)
        return sl_api->error_set(err, SL_ENOMEM, "%s: out of memory", who);
    int rc = kafka_conf_set(conf, who, "bootstrap.servers", brokers, err);
    if (!rc && props)
        rc = kafka_conf_properties(conf, who, props, err);
    if (rc) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    *out = conf;
    return 0;
}

int kafka_conf_user_set(const sl_params *params, const char *name) {
    const char *props = sl_api->param_str(params, "properties");
    size_t n = strlen(name);
    for (const char *p = props; p && *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, name, n) == 0 && (p[n] == '=' || p[n] == ' ' || p[n] == '\t'))
            return 1;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return 0;
}

/* librdkafka's log lines, at the host's matching level. */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    kafka_peer *peer = rd_kafka_opaque(rk);
    int l = level <= 3   ? SL_LOG_ERROR
            : level <= 4 ? SL_LOG_WARN
            : level <= 6 ? SL_LOG_INFO
                         : SL_LOG_DEBUG;
    if (peer && sl_api->log_enabled(l))
        sl_api->log(peer->h, l, "librdkafka %s: %s", fac, buf);
}

/* Error events (all brokers down, authentication, SSL, fatal errors): kept
 * in the peer's box for the next error message, and logged. */
static void kafka_error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque) {
    kafka_peer *peer = opaque;
    char fatal[512] = "";
    if (code == RD_KAFKA_RESP_ERR__FATAL)
        rd_kafka_fatal_error(rk, fatal, sizeof fatal);
    pthread_mutex_lock(&peer->box.lock);
    /* cut to the box (the reason in full goes to the log below); "N/N
     * brokers are down" follows the reason a connection failed (an SSL
     * handshake, a SASL mechanism), and does not replace it */
    if (code != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || !peer->box.msg[0])
        snprintf(peer->box.msg, sizeof peer->box.msg, "%.*s", (int)sizeof peer->box.msg - 1,
                 fatal[0] ? fatal : reason);
    if (code == RD_KAFKA_RESP_ERR__FATAL)
        peer->box.fatal = 1;
    pthread_mutex_unlock(&peer->box.lock);
    sl_api->log(peer->h, SL_LOG_WARN, "kafka: %s", fatal[0] ? fatal : reason);
}

void kafka_conf_callbacks(rd_kafka_conf_t *conf, kafka_peer *peer) {
    rd_kafka_conf_set_opaque(conf, peer);
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
}

int kafka_peer_error(kafka_peer *peer, char *buf, size_t cap) {
    pthread_mutex_lock(&peer->box.lock);
    snprintf(buf, cap, "%s", peer->box.msg);
    int fatal = peer->box.fatal;
    pthread_mutex_unlock(&peer->box.lock);
    return fatal;
}

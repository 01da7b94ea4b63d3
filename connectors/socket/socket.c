/*
 * socket — a TCP client receiver: one record per line (Spark's socketTextStream).
 *
 * The receiver connects to host:port (IPv4 or IPv6, every address that
 * getaddrinfo returns, in order), reads into a fixed buffer, splits on '\n'
 * (a trailing '\r' is stripped) and stores one record per line: key null,
 * value the line's bytes (binary and NUL bytes pass through), ts the time of
 * the read. Records go to the engine with host->store in runs of up to
 * SOCKET_BATCH; store() blocks while the engine's buffer is full, and while it
 * blocks nothing is read, so the kernel pushes back to the sender.
 *
 * Memory is bounded by max_line_bytes + 1 + SOCKET_READ_CHUNK, allocated once
 * at create: a line longer than max_line_bytes is cut to its first
 * max_line_bytes bytes and the rest up to the next '\n' is dropped (counted
 * in "lines_truncated").
 *
 * Failures to connect are logged once per outage and retried with
 * exponential backoff (reconnect_min .. reconnect_max).
 *
 * States (host->source_state, ABI 1.5): CONNECTING "host:port" before the
 * first attempt, DISCONNECTED "host:port: why (N attempts)" while an
 * attempt fails, CONNECTED "host:port" once connected, DISCONNECTED
 * "host:port: closed the connection" when the peer closes it. When the peer closes
 * the connection the last unterminated line is still emitted; then the
 * receiver reconnects, or with on_eof: stop, ends the stream (SL_EOF).
 * Every wait is at most SOCKET_POLL_MS, so stopping() is noticed promptly.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <sluice/plugin.h>

#include "lines.h"

#define SOCKET_READ_CHUNK (64 * 1024) /* minimum free room before each recv() */
#define SOCKET_BATCH 1024             /* records per store() at most */
#define SOCKET_POLL_MS 100            /* longest wait before checking stopping() */
#define SOCKET_MAX_LINE_LIMIT ((int64_t)1 << 30)
#define SOCKET_TRUNC_LOG_EVERY 1000

/* Internal result of the read loop: the peer closed (or reset) the connection. */
#define SOCKET_CLOSED 1

typedef struct socket_source {
    sl_handle *h;
    const char *host;             /* params-owned, valid until destroy */
    char port[16];                /* the port as text, for getaddrinfo */
    char addr[300];               /* "host:port" or "[v6]:port" for messages */
    size_t max_line;              /* max_line_bytes */
    int64_t backoff_min;          /* reconnect_min, ms */
    int64_t backoff_max;          /* reconnect_max, ms */
    int stop_on_eof;              /* on_eof: stop */
    char *buf;                    /* read buffer (sl_api->malloc), `cap` bytes */
    size_t cap;                   /* max_line + 1 + SOCKET_READ_CHUNK */
    size_t start;                 /* buf[start, end) is the pending partial line */
    size_t end;                   /* end of the bytes read so far */
    int discarding;               /* dropping the tail of a truncated line up to '\n' */
    int64_t truncated;            /* lines truncated so far (rate-limits the warning) */
    size_t nrecs;                 /* records waiting in recs[] */
    sl_record recs[SOCKET_BATCH]; /* point into buf until stored */
    sl_counter *c_connects;
    sl_counter *c_lines;
    sl_counter *c_bytes;
    sl_counter *c_truncated;
    sl_counter *c_dropped;
} socket_source;

static const sl_param_spec socket_params[] = {
    {"host", SL_PARAM_STRING, "localhost", 0, "host name or address of the TCP server", NULL, NULL},
    {"port", SL_PARAM_INT, NULL, 1, "TCP port of the server (1-65535)", NULL, "1..65535"},
    {"max_line_bytes", SL_PARAM_SIZE, "1MiB", 0,
     "longest line kept whole; longer lines are cut to this size (counted in lines_truncated)",
     NULL, "1..1GiB"},
    {"reconnect_min", SL_PARAM_DURATION, "100ms", 0, "first delay before reconnecting", NULL,
     "1ms.."},
    {"reconnect_max", SL_PARAM_DURATION, "5s", 0, "longest delay between reconnect attempts", NULL,
     "1ms.."},
    {"on_eof", SL_PARAM_ENUM, "reconnect", 0,
     "when the peer closes the connection: reconnect, or stop the stream after its last batch",
     "reconnect|stop", NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

/* Validate the parameters, then allocate the instance and its read buffer. */
static int socket_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    const char *host = sl_api->param_str(params, "host");
    int64_t port = sl_api->param_int(params, "port");
    int64_t max_line = sl_api->param_int(params, "max_line_bytes");
    int64_t rmin = sl_api->param_int(params, "reconnect_min");
    int64_t rmax = sl_api->param_int(params, "reconnect_max");
    const char *on_eof = sl_api->param_str(params, "on_eof");

    if (!host || !*host)
        return sl_api->error_set(err, SL_ECONFIG, "socket: host must not be empty");
    if (port < 1 || port > 65535)
        return sl_api->error_set(err, SL_ECONFIG, "socket: port %lld is out of range (1-65535)",
                                 (long long)port);
    if (max_line < 1 || max_line > SOCKET_MAX_LINE_LIMIT)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "socket: max_line_bytes must be between 1 and 1GiB, got %lld",
                                 (long long)max_line);
    if (rmin < 1)
        return sl_api->error_set(err, SL_ECONFIG, "socket: reconnect_min must be at least 1ms");
    if (rmax < rmin)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "socket: reconnect_max (%lldms) is shorter than reconnect_min "
                                 "(%lldms)",
                                 (long long)rmax, (long long)rmin);

    socket_source *s = sl_api->calloc(1, sizeof *s);
    if (!s)
        return sl_api->error_set(err, SL_ENOMEM, "socket: out of memory");
    s->h = h;
    s->host = host;
    snprintf(s->port, sizeof s->port, "%lld", (long long)port);
    snprintf(s->addr, sizeof s->addr, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, s->port);
    s->max_line = (size_t)max_line;
    s->backoff_min = rmin;
    s->backoff_max = rmax;
    s->stop_on_eof = on_eof && strcmp(on_eof, "stop") == 0;
    s->cap = s->max_line + 1 + SOCKET_READ_CHUNK;
    s->buf = sl_api->malloc(s->cap);
    if (!s->buf) {
        size_t cap = s->cap;
        sl_api->free(s);
        return sl_api->error_set(
            err, SL_ENOMEM, "socket: cannot allocate a %zu-byte read buffer (lower max_line_bytes)",
            cap);
    }
    s->c_connects = sl_api->counter(h, "connects");
    s->c_lines = sl_api->counter(h, "lines");
    s->c_bytes = sl_api->counter(h, "bytes");
    s->c_truncated = sl_api->counter(h, "lines_truncated");
    s->c_dropped = sl_api->counter(h, "lines_dropped_at_stop");
    *instance = s;
    return 0;
}

static void socket_destroy(void *instance) {
    socket_source *s = instance;
    if (!s)
        return;
    sl_api->free(s->buf);
    sl_api->free(s);
}

/* Wait until `fd` is ready for `events`, in slices of SOCKET_POLL_MS so that
 * a stop request is noticed. Returns 0 when ready, SL_ESTOPPED, or SL_EIO
 * with errno set. */
static int socket_wait(socket_source *s, int fd, short events) {
    for (;;) {
        if (sl_api->stopping(s->h))
            return SL_ESTOPPED;
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int n = poll(&p, 1, SOCKET_POLL_MS);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return SL_EIO;
    }
}

/* Connect one address without blocking past a stop request. Returns the
 * connected socket, -1 with `why` filled, or SL_ESTOPPED (as -7 < -1). */
static int socket_connect_one(socket_source *s, const struct addrinfo *ai, char *why,
                              size_t whycap) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        snprintf(why, whycap, "%s", strerror(errno));
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS && errno != EINTR) {
        snprintf(why, whycap, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    int rc = socket_wait(s, fd, POLLOUT);
    if (rc == SL_ESTOPPED) {
        close(fd);
        return SL_ESTOPPED;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (rc < 0)
        soerr = errno;
    else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (soerr) {
        snprintf(why, whycap, "%s", strerror(soerr));
        close(fd);
        return -1;
    }
    return fd;
}

/* Resolve host:port and try each address in turn. Returns a connected,
 * non-blocking socket; -1 with the reason in `why`; or SL_ESTOPPED. */
static int socket_connect(socket_source *s, char *why, size_t whycap) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(s->host, s->port, &hints, &res);
    if (gai != 0) {
        snprintf(why, whycap, "%s", gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    snprintf(why, whycap, "no address");
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket_connect_one(s, ai, why, whycap);
        if (fd >= 0 || fd == SL_ESTOPPED)
            break;
    }
    freeaddrinfo(res);
    return fd;
}

/* Hand the records collected so far to the engine (it copies them and their
 * bytes, so buf may be reused afterwards). Blocks under backpressure.
 * Returns 0, SL_ESTOPPED, or another negative code from store(). */
static int socket_flush(socket_source *s, sl_error *err) {
    if (s->nrecs == 0)
        return 0;
    size_t n = s->nrecs;
    s->nrecs = 0;
    int rc = sl_api->store(s->h, s->recs, n);
    if (rc == SL_ESTOPPED) { /* the engine kept these: a graceful stop processes them */
        sl_api->counter_add(s->c_lines, (int64_t)n);
        return rc;
    }
    if (rc < 0)
        return sl_api->error_set(err, rc, "socket: the engine refused %zu records from %s", n,
                                 s->addr);
    sl_api->counter_add(s->c_lines, (int64_t)n);
    return 0;
}

/* Count a truncated line and warn about the first and every 1000th. */
static void socket_note_truncated(socket_source *s) {
    s->truncated++;
    sl_api->counter_add(s->c_truncated, 1);
    if (s->truncated == 1 || s->truncated % SOCKET_TRUNC_LOG_EVERY == 0)
        sl_api->log(s->h, SL_LOG_WARN,
                    "a line from %s is longer than max_line_bytes (%zu bytes): kept its start, "
                    "dropped the rest (%lld lines truncated so far); raise max_line_bytes to "
                    "keep whole lines",
                    s->addr, s->max_line, (long long)s->truncated);
}

/* What socket_line needs besides the line: the source, the error to fill
 * and the batch timestamp of the lines of one read. */
typedef struct socket_line_ctx {
    socket_source *s;
    sl_error *err;
    int64_t ts;
} socket_line_ctx;

/* Queue one line (lines.h has stripped its '\r' and cut it to max_line) as
 * a record pointing into buf. Stores when the record array is full. Returns
 * what socket_flush returns. */
static int socket_line(void *ud, const char *p, size_t len, int cut) {
    socket_line_ctx *c = ud;
    socket_source *s = c->s;
    if (cut)
        socket_note_truncated(s);
    sl_record *r = &s->recs[s->nrecs++];
    r->key = sl_null();
    r->value = sl_bytes(p, len);
    r->ts = c->ts;
    if (s->nrecs == SOCKET_BATCH)
        return socket_flush(s, c->err);
    return 0;
}

/* Emit every complete line in buf[start, end) and deal with the
 * unterminated tail (lines.h). Stores everything queued before returning,
 * because the records point into buf, which the next read may compact. */
static int socket_split(socket_source *s, sl_error *err) {
    socket_line_ctx c = {s, err, sl_api->now_ms()};
    size_t at;
    int rc = socket_lines_split(s->max_line, &s->discarding, s->buf, &s->start, &s->end,
                                socket_line, &c, &at);
    if (rc == SL_ESTOPPED) { /* the lines after the kept store(): counted, said */
        int64_t dropped = 0;
        const char *e = s->buf + s->end;
        for (const char *q = s->buf + at; q < e && (q = memchr(q, '\n', (size_t)(e - q))); q++)
            dropped++;
        if (dropped) {
            sl_api->counter_add(s->c_dropped, dropped);
            sl_api->log(s->h, SL_LOG_WARN,
                        "stopping: %lld lines already read from %s are dropped (the engine "
                        "stopped before taking them; counted in lines_dropped_at_stop)",
                        (long long)dropped, s->addr);
        }
    }
    if (rc < 0)
        return rc;
    return socket_flush(s, err);
}

/* Emit the last line the peer sent without a '\n'. */
static int socket_flush_tail(socket_source *s, sl_error *err) {
    int rc = 0;
    socket_line_ctx c = {s, err, sl_api->now_ms()};
    if (!s->discarding && s->end > s->start)
        rc = socket_lines_one(s->max_line, s->buf + s->start, s->end - s->start, socket_line, &c);
    s->start = s->end = 0;
    s->discarding = 0;
    if (rc < 0)
        return rc;
    return socket_flush(s, err);
}

/* Make room for the next read by moving the partial line to the front.
 * Amortised: only when less than SOCKET_READ_CHUNK bytes are free. */
static void socket_compact(socket_source *s) {
    if (s->cap - s->end >= SOCKET_READ_CHUNK)
        return;
    size_t pending = s->end - s->start;
    memmove(s->buf, s->buf + s->start, pending);
    s->start = 0;
    s->end = pending;
}

/* Read lines from a connected socket until the peer closes it (returns
 * SOCKET_CLOSED, after emitting the final line), the engine stops
 * (SL_ESTOPPED) or storing fails (a negative code, `err` filled). */
static int socket_read_loop(socket_source *s, int fd, sl_error *err) {
    s->start = s->end = 0;
    s->discarding = 0;
    s->nrecs = 0;
    for (;;) {
        int rc = socket_wait(s, fd, POLLIN);
        if (rc == SL_ESTOPPED)
            return rc;
        if (rc < 0) {
            sl_api->log(s->h, SL_LOG_WARN, "poll on %s failed (%s); reconnecting", s->addr,
                        strerror(errno));
            return SOCKET_CLOSED;
        }
        socket_compact(s);
        ssize_t n = recv(fd, s->buf + s->end, s->cap - s->end, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            sl_api->log(s->h, SL_LOG_WARN, "reading from %s failed (%s)", s->addr, strerror(errno));
            rc = socket_flush_tail(s, err);
            return rc < 0 ? rc : SOCKET_CLOSED;
        }
        if (n == 0) {
            rc = socket_flush_tail(s, err);
            return rc < 0 ? rc : SOCKET_CLOSED;
        }
        sl_api->counter_add(s->c_bytes, (int64_t)n);
        s->end += (size_t)n;
        rc = socket_split(s, err);
        if (rc < 0)
            return rc;
    }
}

/* The receiver thread: connect, read until the peer closes, reconnect with
 * exponential backoff; until the engine stops (0) or, with on_eof: stop,
 * until the first connection ends (SL_EOF). */
static int socket_run(void *instance, sl_error *err) {
    socket_source *s = instance;
    int64_t delay = s->backoff_min;
    int outage = 0;       /* the current failure to connect was already logged */
    int connected = 0;    /* connected at least once: log "reconnected" */
    int64_t attempts = 0; /* failed attempts in a row */
    char why[256], detail[600];

    sl_api->source_state(s->h, SL_SOURCE_CONNECTING, s->addr);
    while (!sl_api->stopping(s->h)) {
        int fd = socket_connect(s, why, sizeof why);
        if (fd == SL_ESTOPPED)
            return 0;
        if (fd < 0) {
            attempts++;
            snprintf(detail, sizeof detail, "%s: %s (%lld attempt%s)", s->addr, why,
                     (long long)attempts, attempts == 1 ? "" : "s");
            sl_api->source_state(s->h, SL_SOURCE_DISCONNECTED, detail);
            if (!outage)
                sl_api->log(s->h, SL_LOG_WARN, "cannot connect to %s (%s); retrying", s->addr, why);
            else if (sl_api->log_enabled(SL_LOG_DEBUG))
                sl_api->log(s->h, SL_LOG_DEBUG, "cannot connect to %s (%s); retrying in %lldms",
                            s->addr, why, (long long)delay);
            outage = 1;
            if (sl_api->sleep(s->h, delay) == SL_ESTOPPED)
                return 0;
            delay = delay > s->backoff_max / 2 ? s->backoff_max : delay * 2;
            continue;
        }
        sl_api->counter_add(s->c_connects, 1);
        sl_api->log(s->h, SL_LOG_INFO, "%s %s", connected ? "reconnected to" : "connected to",
                    s->addr);
        outage = 0;
        connected = 1;
        attempts = 0;
        delay = s->backoff_min;
        sl_api->source_state(s->h, SL_SOURCE_CONNECTED, s->addr);

        int rc = socket_read_loop(s, fd, err);
        close(fd);
        if (rc == SOCKET_CLOSED) {
            snprintf(detail, sizeof detail, "%s: closed the connection", s->addr);
            sl_api->source_state(s->h, SL_SOURCE_DISCONNECTED, detail);
        }
        if (rc == SL_ESTOPPED)
            return 0;
        if (rc < 0)
            return rc;
        if (s->stop_on_eof) {
            sl_api->log(s->h, SL_LOG_INFO, "%s closed the connection; end of stream", s->addr);
            return SL_EOF;
        }
        sl_api->log(s->h, SL_LOG_WARN, "%s closed the connection; reconnecting", s->addr);
        /* A server that accepts and closes at once must not make us spin. */
        if (sl_api->sleep(s->h, s->backoff_min) == SL_ESTOPPED)
            return 0;
    }
    return 0;
}

static const sl_source_ops socket_ops = {
    .struct_size = sizeof(sl_source_ops),
    .mode = SL_SOURCE_RECEIVER,
    .start = NULL,
    .run = socket_run,
    .poll = NULL,
    .commit = NULL,
};

static const sl_component socket_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SOURCE,
    .name = "socket",
    .doc = "Receiver: connects to a TCP server and emits one element per line ('\\n', a "
           "trailing '\\r' stripped) as bytes, like Spark's socketTextStream. Reconnects with "
           "exponential backoff, or ends the stream when the peer closes (on_eof: stop). "
           "Counters: connects, lines, bytes, lines_truncated.",
    .params = socket_params,
    .create = socket_create,
    .destroy = socket_destroy,
    .ops = &socket_ops,
};

static const sl_component *const socket_components[] = {&socket_component, NULL};

static const sl_plugin socket_plugin = {
    SL_PLUGIN_HEADER,
    "socket", /* name: the file is socket.so */
    "0.1.0",
    "TCP text socket receiver (socketTextStream)",
    "MIT",
    socket_components,
};

SL_PLUGIN_ENTRY(socket_plugin)

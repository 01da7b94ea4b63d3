/*
 * cli/httpclient.c — a minimal HTTP/1.1 GET for `sluice top` (httpclient.h).
 *
 * A non-blocking socket driven by poll(2) against one deadline, so that a
 * server that accepts and then says nothing costs at most timeout_ms, and a
 * key press (a wake fd) ends the wait at once. The whole response is read to
 * EOF into one buffer and then parsed: status line, headers, and a body
 * framed by Content-Length, by chunked encoding, or by the end of the
 * connection.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sluice/sluice.h>

#include "httpclient.h"

/* Format a message into err (cap bytes, always terminated when cap > 0). */
__attribute__((format(printf, 3, 4))) static void err_set(char *err, size_t cap, const char *fmt,
                                                          ...) {
    va_list ap;
    if (!cap)
        return;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* strerror with a lower-case first letter: "connection refused", as the
 * rest of a message reads. Copied into buf. */
static const char *errno_text(int e, char *buf, size_t cap) {
    snprintf(buf, cap, "%s", strerror(e));
    if (buf[0] && buf[1] && !isupper((unsigned char)buf[1]))
        buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

/* ---- URLs -------------------------------------------------------------------------------- */

/* Copy s[0..n) into dst (cap bytes); -1 if it does not fit. */
static int copy_n(char *dst, size_t cap, const char *s, size_t n) {
    if (n >= cap)
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

int sl__http_url_parse(const char *url, sl__http_url *u, char *err, size_t cap) {
    memset(u, 0, sizeof *u);
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '?' || *c == '#') {
            err_set(err, cap,
                    "'%s' is not a URL sluice top can use: no spaces, queries or "
                    "fragments (e.g. http://127.0.0.1:4195)",
                    url);
            return -1;
        }
    const char *p = url, *sep = strstr(url, "://");
    if (sep) {
        if (strncasecmp(url, "http://", 7) != 0) {
            err_set(err, cap, "'%s': only http:// URLs are supported (sluice serves plain HTTP)",
                    url);
            return -1;
        }
        p = url + 7;
    }
    size_t alen = strcspn(p, "/");
    const char *port = NULL, *end = p + alen;
    size_t hlen;
    if (*p == '[') { /* [v6]:port */
        const char *rb = memchr(p, ']', alen);
        if (!rb || (rb + 1 < end && rb[1] != ':')) {
            err_set(err, cap, "'%s': an IPv6 address is written [::1]:4195", url);
            return -1;
        }
        hlen = (size_t)(rb - p - 1);
        if (copy_n(u->host, sizeof u->host, p + 1, hlen) < 0)
            goto too_long;
        port = rb + 1 < end ? rb + 2 : NULL;
    } else {
        const char *colon = memchr(p, ':', alen);
        hlen = colon ? (size_t)(colon - p) : alen;
        if (copy_n(u->host, sizeof u->host, p, hlen) < 0)
            goto too_long;
        port = colon ? colon + 1 : NULL;
    }
    if (!u->host[0]) {
        err_set(err, cap, "'%s': no host (e.g. http://127.0.0.1:4195)", url);
        return -1;
    }
    if (port) {
        long v = 0;
        const char *d = port;
        for (; d < end && isdigit((unsigned char)*d) && v <= 65535; d++)
            v = v * 10 + (*d - '0');
        if (d == port || d != end || v < 1 || v > 65535) {
            err_set(err, cap, "'%s': the port must be a number from 1 to 65535", url);
            return -1;
        }
        snprintf(u->port, sizeof u->port, "%ld", v);
    } else {
        strcpy(u->port, "80");
    }
    size_t plen = strlen(end);
    while (plen && end[plen - 1] == '/')
        plen--;
    if (copy_n(u->prefix, sizeof u->prefix, end, plen) < 0)
        goto too_long;
    int v6 = strchr(u->host, ':') != NULL;
    snprintf(u->text, sizeof u->text, "http://%s%s%s:%s%s", v6 ? "[" : "", u->host, v6 ? "]" : "",
             u->port, u->prefix);
    return 0;
too_long:
    err_set(err, cap, "'%.100s...': the URL is too long", url);
    return -1;
}

/* ---- the connection ------------------------------------------------------------------------ */

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for `events` or a wake fd is readable, until
 * deadline (mono_ms). Returns 1 ready, 0 timed out, SL__HTTP_EINTERRUPTED. */
static int wait_fd(int fd, short events, int64_t deadline, const int *wake, int nwake) {
    struct pollfd pf[9];
    int n = nwake < 8 ? nwake : 8;
    pf[0] = (struct pollfd){.fd = fd, .events = events};
    for (int i = 0; i < n; i++)
        pf[i + 1] = (struct pollfd){.fd = wake[i], .events = POLLIN};
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return 0;
        int r = poll(pf, (nfds_t)n + 1, (int)(left > 60000 ? 60000 : left));
        if (r < 0 && errno == EINTR)
            continue; /* a signal: its handler wrote to a wake fd, seen next round */
        if (r < 0)
            return 1; /* let the caller's I/O call report the error */
        for (int i = 1; i <= n; i++)
            if (pf[i].revents)
                return SL__HTTP_EINTERRUPTED;
        if (pf[0].revents)
            return 1;
    }
}

/* Connect to one of the addresses of u within the deadline. Returns the
 * socket, or a negative SL__HTTP_E* with a message. */
static int connect_url(const sl__http_url *u, int64_t deadline, int timeout_ms, const int *wake,
                       int nwake, char *err, size_t cap) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    char eb[128];
    int rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc != 0) {
        err_set(err, cap, "cannot resolve '%s': %s", u->host,
                rc == EAI_SYSTEM ? errno_text(errno, eb, sizeof eb) : gai_strerror(rc));
        return SL__HTTP_EUNREACHABLE;
    }
    int fd = -1, last = ECONNREFUSED, timed_out = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        int e = errno;
        if (e == EINPROGRESS) {
            int w = wait_fd(fd, POLLOUT, deadline, wake, nwake);
            socklen_t len = sizeof e;
            if (w == SL__HTTP_EINTERRUPTED) {
                close(fd);
                freeaddrinfo(res);
                err_set(err, cap, "interrupted");
                return SL__HTTP_EINTERRUPTED;
            }
            if (w == 0)
                e = ETIMEDOUT, timed_out = 1;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
                e = errno;
            if (e == 0)
                break;
        }
        last = e;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0)
        return fd;
    if (timed_out)
        err_set(err, cap, "no connection within %d ms", timeout_ms);
    else
        err_set(err, cap, "%s", errno_text(last, eb, sizeof eb));
    return SL__HTTP_EUNREACHABLE;
}

/* Send all of s[0..n) within the deadline: 0 or a negative SL__HTTP_E*. */
static int send_all(int fd, const char *s, size_t n, int64_t deadline, int timeout_ms,
                    const int *wake, int nwake, char *err, size_t cap) {
    char eb[128];
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w > 0) {
            s += w, n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(fd, POLLOUT, deadline, wake, nwake);
            if (r == SL__HTTP_EINTERRUPTED) {
                err_set(err, cap, "interrupted");
                return r;
            }
            if (r == 0) {
                err_set(err, cap, "no reply within %d ms (sending the request)", timeout_ms);
                return SL__HTTP_EPROTOCOL;
            }
            continue;
        }
        err_set(err, cap, "sending the request: %s", errno_text(errno, eb, sizeof eb));
        return SL__HTTP_EUNREACHABLE;
    }
    return 0;
}

/* "the response is larger than 8 MiB" (or N bytes). */
static void too_large(size_t max_bytes, char *err, size_t cap) {
    if (max_bytes && max_bytes % (1u << 20) == 0)
        err_set(err, cap, "the response is larger than %zu MiB", max_bytes >> 20);
    else
        err_set(err, cap, "the response is larger than %zu bytes", max_bytes);
}

/* Read until EOF into a malloc'd buffer (*out, *n bytes, room for one more),
 * at most max_bytes. 0 or a negative SL__HTTP_E* with a message. */
static int read_all(int fd, size_t max_bytes, int64_t deadline, int timeout_ms, const int *wake,
                    int nwake, char **out, size_t *n, char *err, size_t cap) {
    size_t bcap = 16384, len = 0;
    char *buf = malloc(bcap), eb[128];
    int rc = 0;
    for (;;) {
        if (!buf) {
            err_set(err, cap, "out of memory reading the response");
            return SL__HTTP_EPROTOCOL;
        }
        if (len + 1 >= bcap) {
            if (len > max_bytes) {
                too_large(max_bytes, err, cap);
                rc = SL__HTTP_EPROTOCOL;
                break;
            }
            char *nb = realloc(buf, bcap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                continue;
            }
            buf = nb, bcap *= 2;
        }
        size_t want = bcap - 1 - len;
        if (want > max_bytes + 1 - len)
            want = max_bytes + 1 - len; /* one past the bound tells "too large" */
        ssize_t r = recv(fd, buf + len, want, 0);
        if (r > 0) {
            len += (size_t)r;
            if (len > max_bytes) {
                too_large(max_bytes, err, cap);
                rc = SL__HTTP_EPROTOCOL;
                break;
            }
            continue;
        }
        if (r == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_fd(fd, POLLIN, deadline, wake, nwake);
            if (w == SL__HTTP_EINTERRUPTED) {
                err_set(err, cap, "interrupted");
                rc = w;
                break;
            }
            if (w == 0) {
                err_set(err, cap, "no complete reply within %d ms (%zu bytes read)", timeout_ms,
                        len);
                rc = SL__HTTP_EPROTOCOL;
                break;
            }
            continue;
        }
        err_set(err, cap, "reading the response: %s", errno_text(errno, eb, sizeof eb));
        rc = SL__HTTP_EPROTOCOL;
        break;
    }
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *n = len;
    return 0;
}

int sl__http_get(const sl__http_url *u, const char *path, int timeout_ms, size_t max_bytes,
                 const int *wake_fds, int nwake, sl__http_response *resp, char *err, size_t cap) {
    memset(resp, 0, sizeof *resp);
    int64_t deadline = mono_ms() + timeout_ms;
    int fd = connect_url(u, deadline, timeout_ms, wake_fds, nwake, err, cap);
    if (fd < 0)
        return fd;
    char req[2048];
    int v6 = strchr(u->host, ':') != NULL;
    int n =
        snprintf(req, sizeof req,
                 "GET %s%s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: sluice-top/%s\r\n"
                 "Accept: application/json\r\nConnection: close\r\n\r\n",
                 u->prefix, path, v6 ? "[" : "", u->host, v6 ? "]" : "", u->port, SLUICE_VERSION);
    if (n < 0 || (size_t)n >= sizeof req) {
        close(fd);
        err_set(err, cap, "the request for %s is too long", path);
        return SL__HTTP_EPROTOCOL;
    }
    char *buf = NULL;
    size_t len = 0;
    int rc = send_all(fd, req, (size_t)n, deadline, timeout_ms, wake_fds, nwake, err, cap);
    if (rc == 0) /* no shutdown(SHUT_WR): some servers take a half-close for an abort */
        rc = read_all(fd, max_bytes, deadline, timeout_ms, wake_fds, nwake, &buf, &len, err, cap);
    close(fd);
    if (rc < 0)
        return rc;
    rc = sl__http_response_parse(buf, len, resp, err, cap);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    resp->buf = buf;
    return 0;
}

/* ---- the response ------------------------------------------------------------------------- */

/* Decode a chunked body at b[0..n) in place. Returns the decoded length, or
 * -1 with a message. The decoded bytes never outrun the encoded ones. */
static long long dechunk(char *b, size_t n, char *err, size_t cap) {
    size_t r = 0, w = 0;
    for (;;) {
        size_t size = 0, digits = 0;
        if (r >= n) {
            err_set(err, cap, "the chunked body is cut short (no last chunk)");
            return -1;
        }
        while (r < n && isxdigit((unsigned char)b[r])) {
            if (size > (SIZE_MAX >> 4)) {
                err_set(err, cap, "a chunk size is too large");
                return -1;
            }
            int c = tolower((unsigned char)b[r++]);
            size = size * 16 + (size_t)(c <= '9' ? c - '0' : c - 'a' + 10);
            digits++;
        }
        if (!digits) {
            err_set(err, cap, "bad chunked encoding: no chunk size at body byte %zu", r);
            return -1;
        }
        const char *nl = memchr(b + r, '\n', n - r); /* past ";extensions" and '\r' */
        if (!nl) {
            err_set(err, cap, "the chunked body is cut short");
            return -1;
        }
        r = (size_t)(nl - b) + 1;
        if (size == 0)
            return (long long)w; /* trailers, if any, are ignored */
        if (size > n - r) {
            err_set(err, cap, "the chunked body is cut short (a chunk of %zu bytes, %zu left)",
                    size, n - r);
            return -1;
        }
        memmove(b + w, b + r, size);
        w += size, r += size;
        if (r < n && b[r] == '\r')
            r++;
        if (r >= n || b[r] != '\n') {
            err_set(err, cap, "bad chunked encoding: no line end after a chunk");
            return -1;
        }
        r++;
    }
}

/* Is line[0..n) the header `name` (case-insensitive)? Sets *value past the
 * colon and blanks. */
static int header_is(const char *line, size_t n, const char *name, const char **value) {
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return 0;
    const char *v = line + k + 1;
    while (v < line + n && (*v == ' ' || *v == '\t'))
        v++;
    *value = v;
    return 1;
}

int sl__http_response_parse(char *buf, size_t n, sl__http_response *resp, char *err, size_t cap) {
    if (n < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)buf[7]) ||
        buf[8] != ' ' || !isdigit((unsigned char)buf[9]) || !isdigit((unsigned char)buf[10]) ||
        !isdigit((unsigned char)buf[11]) ||
        (n > 12 && buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n')) {
        err_set(err, cap, "the reply is not an HTTP/1.x response (%zu bytes)", n);
        return SL__HTTP_EPROTOCOL;
    }
    resp->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    /* headers: lines up to an empty one; "\r\n" or a bare "\n" */
    size_t pos = 0;
    long long length = -1;
    int chunked = 0;
    for (int first = 1;; first = 0) {
        const char *nl = memchr(buf + pos, '\n', n - pos);
        if (!nl) {
            err_set(err, cap, "the response's headers have no end (%zu bytes)", n);
            return SL__HTTP_EPROTOCOL;
        }
        size_t end = (size_t)(nl - buf), len = end - pos;
        if (len && buf[end - 1] == '\r')
            len--;
        const char *line = buf + pos, *v;
        pos = end + 1;
        if (!first && len == 0)
            break;
        if (header_is(line, len, "Content-Length", &v)) {
            char *e;
            errno = 0;
            long long l = isdigit((unsigned char)*v) ? strtoll(v, &e, 10) : -1;
            if (l < 0 || errno || (e != line + len && *e != ' ' && *e != '\t')) {
                err_set(err, cap, "a bad Content-Length: '%.*s'", (int)(len > 40 ? 40 : len), line);
                return SL__HTTP_EPROTOCOL;
            }
            length = l;
        } else if (header_is(line, len, "Transfer-Encoding", &v)) {
            for (; v + 7 <= line + len; v++)
                if (strncasecmp(v, "chunked", 7) == 0)
                    chunked = 1;
        }
    }
    char *body = buf + pos;
    size_t blen = n - pos;
    if (chunked) {
        long long d = dechunk(body, blen, err, cap);
        if (d < 0)
            return SL__HTTP_EPROTOCOL;
        blen = (size_t)d;
    } else if (length >= 0) {
        if ((unsigned long long)length > blen) {
            err_set(err, cap, "the response is cut short: %zu of %lld bytes", blen, length);
            return SL__HTTP_EPROTOCOL;
        }
        blen = (size_t)length;
    }
    body[blen] = '\0'; /* within buf[0..n]: blen <= n - pos */
    resp->body = body;
    resp->body_len = blen;
    return 0;
}

/*
 * cli/httpclient.h — the smallest HTTP/1.1 client `sluice top` needs: GET a
 * path of a running sluice's HTTP API (docs/cli.md, "sluice top").
 *
 * One request per connection (Connection: close), the response read to EOF
 * under a size bound and a deadline, plain http only. No libcurl: the CLI
 * links libsluice and libc only.
 */
#ifndef SLUICE_CLI_HTTPCLIENT_H
#define SLUICE_CLI_HTTPCLIENT_H

#include <stddef.h>

/* Where an API lives: http://HOST[:PORT][/PREFIX]. */
typedef struct sl__http_url {
    char host[256];   /* a name or an address; an IPv6 address without its [] */
    char port[8];     /* decimal, "80" when the URL has none */
    char prefix[512]; /* the URL's path without its trailing '/' ("" for none) */
    char text[800];   /* the URL as shown to the user: http://host:port[/prefix] */
} sl__http_url;

/* Parse `url` ("http://127.0.0.1:4195", "127.0.0.1:4195", "http://[::1]:4195/sluice";
 * no scheme means http). Returns 0, or -1 with a message in err (cap bytes). */
int sl__http_url_parse(const char *url, sl__http_url *u, char *err, size_t cap);

/* A response: status and body, in one malloc'd buffer that the caller frees
 * with free(resp->buf). body points into buf and is NUL-terminated. */
typedef struct sl__http_response {
    int status;      /* 200, 404, 503 ... */
    char *body;      /* NUL-terminated; may hold NULs of its own (use body_len) */
    size_t body_len; /* bytes of the body, chunked encoding removed */
    char *buf;       /* owns the bytes: free(buf) */
} sl__http_response;

/* Return codes of sl__http_get besides 0. */
#define SL__HTTP_EUNREACHABLE (-1) /* no connection: refused, timed out, no such host */
#define SL__HTTP_EPROTOCOL (-2)    /* connected, but the reply is not a usable response */
#define SL__HTTP_EINTERRUPTED (-3) /* one of the wake fds became readable first */

/* GET u->prefix + path (path starts with '/') from u, waiting at most
 * timeout_ms in all, reading at most max_bytes of response. While it waits,
 * it also watches wake_fds (nwake of them, may be 0): when one becomes
 * readable it gives up with SL__HTTP_EINTERRUPTED, so that a key press or a
 * signal is not held up by a slow server. Returns 0 with *resp filled (any
 * status: the caller judges it), or a negative SL__HTTP_E* with a message
 * in err ("connection refused", "timed out after 2000 ms", "response larger
 * than 8 MiB"). */
int sl__http_get(const sl__http_url *u, const char *path, int timeout_ms, size_t max_bytes,
                 const int *wake_fds, int nwake, sl__http_response *resp, char *err, size_t cap);

/* Parse the raw response in buf[0..n) (buf holds n + 1 bytes: the parser may
 * write a NUL at buf[n]); decodes a chunked body in place. Fills status,
 * body and body_len (body points into buf; resp->buf is left alone).
 * Returns 0, or SL__HTTP_EPROTOCOL with a message in err. */
int sl__http_response_parse(char *buf, size_t n, sl__http_response *resp, char *err, size_t cap);

#endif /* SLUICE_CLI_HTTPCLIENT_H */

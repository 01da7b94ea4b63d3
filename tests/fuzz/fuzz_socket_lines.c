/*
 * fuzz_socket_lines.c — the socket source's line splitting
 * (connectors/socket/lines.h) on an arbitrary byte stream, read in
 * arbitrary pieces into a bounded buffer managed as socket.c manages its
 * own (compact, read, split; the last line at the peer's close): the lines
 * that come out are exactly those of the whole stream split at '\n', each
 * without a trailing '\r' and cut to max_line bytes; the buffer never
 * overflows.
 *
 * Input: max_line - 1 (1 byte), the seed of the read sizes (1 byte), then
 * the stream.
 */
#include <stdbool.h>

#include "driver.h"
#include "lines.h"

#define CHUNK 16 /* the minimum free room before a read (socket.c: 64 KiB) */

/* The lines as the reference splitting makes them, compared one by one. */
typedef struct expect {
    const char *p, *e; /* what is left of the stream */
    size_t max_line;
    size_t lines;
} expect;

/* The next line of the reference split; false at the end of the stream. */
static bool next_line(expect *x, const char **line, size_t *len) {
    if (x->p >= x->e)
        return false;
    const char *nl = memchr(x->p, '\n', (size_t)(x->e - x->p));
    const char *end = nl ? nl : x->e;
    *line = x->p;
    *len = (size_t)(end - x->p);
    x->p = nl ? nl + 1 : x->e;
    if (*len > 0 && (*line)[*len - 1] == '\r')
        (*len)--;
    if (*len > x->max_line)
        *len = x->max_line;
    return true;
}

static int check_line(void *ud, const char *p, size_t len, int cut) {
    expect *x = ud;
    const char *want;
    size_t wlen;
    if (!next_line(x, &want, &wlen) || wlen != len || memcmp(want, p, len) != 0 ||
        (cut && len != x->max_line)) {
        fprintf(stderr, "fuzz: line %zu differs from the stream's\n", x->lines + 1);
        abort();
    }
    x->lines++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    size_t max_line = 1 + data[0], cap = max_line + 1 + CHUNK;
    unsigned seed = data[1];
    const char *in = (const char *)data + 2;
    size_t n = size - 2, done = 0, start = 0, end = 0, at;
    int discarding = 0;
    char *buf = malloc(cap);
    expect x = {in, in + n, max_line, 0};
    while (done < n) {
        if (cap - end < CHUNK) { /* socket_compact */
            memmove(buf, buf + start, end - start);
            end -= start;
            start = 0;
        }
        if (cap - end < CHUNK) {
            fprintf(stderr, "fuzz: the buffer has no room for a read (%zu of %zu)\n", end, cap);
            abort();
        }
        seed = seed * 1103515245u + 12345u;
        size_t k = 1 + (seed >> 16) % (cap - end);
        k = k < n - done ? k : n - done;
        memcpy(buf + end, in + done, k);
        end += k;
        done += k;
        socket_lines_split(max_line, &discarding, buf, &start, &end, check_line, &x, &at);
    }
    if (!discarding && end > start) /* socket_flush_tail */
        socket_lines_one(max_line, buf + start, end - start, check_line, &x);
    const char *rest;
    size_t rlen;
    if (next_line(&x, &rest, &rlen)) {
        fprintf(stderr, "fuzz: a line of the stream was not emitted\n");
        abort();
    }
    free(buf);
    return 0;
}

/*
 * lines.h — the socket source's line splitting, on bytes only: socket.c
 * feeds it what it read from the peer, tests/fuzz/fuzz_socket_lines.c feeds
 * it arbitrary bytes. No I/O, no engine calls: each line goes to a callback.
 */
#ifndef SLUICE_SOCKET_LINES_H
#define SLUICE_SOCKET_LINES_H

#include <stddef.h>
#include <string.h>

/* Gets one line: p[0, len) without its '\n' or a trailing '\r', cut to
 * max_line bytes (`cut` nonzero when it was). Returns 0, or a negative code
 * that ends the split. */
typedef int (*socket_line_fn)(void *ud, const char *p, size_t len, int cut);

/* Strip a trailing '\r', cut to max_line, hand the line to fn. */
static inline int socket_lines_one(size_t max_line, const char *p, size_t len, socket_line_fn fn,
                                   void *ud) {
    if (len > 0 && p[len - 1] == '\r')
        len--;
    int cut = len > max_line;
    return fn(ud, p, cut ? max_line : len, cut);
}

/* Hand every complete line of buf[*start, *end) to fn, then deal with the
 * unterminated tail: drop it while *discarding (the rest of a line already
 * cut), cut it (and discard up to the next '\n') once it exceeds
 * max_line + 1 bytes, else keep it: *start moves to it, or *start = *end =
 * 0 when nothing is kept. *at is where the complete lines stopped (after
 * the last one handed over). An error from fn for a complete line returns
 * it at once, *start and *end unchanged; one for the cut tail returns it
 * after the tail was dropped. */
static inline int socket_lines_split(size_t max_line, int *discarding, const char *buf,
                                     size_t *start, size_t *end, socket_line_fn fn, void *ud,
                                     size_t *at) {
    const char *p = buf + *start, *e = buf + *end;
    int rc = 0;
    while (p < e && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        if (!nl)
            break;
        if (*discarding)
            *discarding = 0;
        else
            rc = socket_lines_one(max_line, p, (size_t)(nl - p), fn, ud);
        p = nl + 1;
    }
    *at = (size_t)(p - buf);
    if (rc < 0)
        return rc;
    size_t tail = (size_t)(e - p);
    if (*discarding) {
        tail = 0;
    } else if (tail > max_line + 1) {
        /* Longer than any line we keep even after a '\r' strip: cut it now. */
        rc = socket_lines_one(max_line, p, tail, fn, ud);
        *discarding = 1;
        tail = 0;
    }
    if (tail == 0)
        *start = *end = 0;
    else
        *start = (size_t)(p - buf);
    return rc;
}

#endif /* SLUICE_SOCKET_LINES_H */

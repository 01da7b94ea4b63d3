/*
 * stdin — a receiver of the process's standard input, one record per line,
 * so that `tail -F app.log | sluice run f.yaml` works.
 *
 * The receiver reads fd 0 (polling in slices of STDIN_POLL_MS so that a stop
 * is noticed), splits on '\n' (a trailing '\r' is stripped) and stores one
 * record per line: key null, value the line's bytes, ts the time of the
 * read, in runs of up to STDIN_BATCH through host->store, which blocks under
 * backpressure (and while it blocks nothing is read: the writer blocks).
 * At end of input the last unterminated line is stored too and run()
 * returns SL_EOF: the engine runs the batch holding the last lines and
 * stops.
 *
 * Memory is bounded by max_line_bytes + 1 + STDIN_READ_CHUNK: a longer line
 * is cut to its first max_line_bytes bytes, the rest up to its '\n' is
 * dropped and counted in lines_truncated.
 *
 * `sluice run -` reads the pipeline itself from stdin and sets
 * SLUICE_STDIN=pipeline in its environment; create() then refuses, since
 * the input is gone.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/plugin.h>

#define STDIN_READ_CHUNK (64 * 1024) /* minimum free room before each read() */
#define STDIN_BATCH 1024             /* records per store() at most */
#define STDIN_POLL_MS 100            /* longest wait before checking stopping() */

typedef struct stdin_source {
    sl_handle *h;
    int fd;
    size_t max_line;
    char *buf;      /* read buffer (sl_api->malloc), cap bytes */
    size_t cap;     /* max_line + 1 + STDIN_READ_CHUNK */
    size_t start;   /* buf[start, end) is the pending partial line */
    size_t end;     /* end of the bytes read so far */
    int discarding; /* dropping the tail of a truncated line up to '\n' */
    size_t nrecs;
    sl_record recs[STDIN_BATCH]; /* point into buf until stored */
    sl_counter *c_lines;
    sl_counter *c_bytes;
    sl_counter *c_truncated;
} stdin_source;

static const sl_param_spec stdin_params[] = {
    {"max_line_bytes", SL_PARAM_SIZE, "1MiB", 0,
     "longest line kept whole; longer lines are cut to this size (counted in lines_truncated)",
     NULL, "1..1GiB"},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

/* Refuse when the pipeline came from stdin; allocate the read buffer. */
static int stdin_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    const char *taken = getenv("SLUICE_STDIN");
    if (taken && strcmp(taken, "pipeline") == 0)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "stdin: the pipeline itself was read from stdin ('sluice run "
                                 "-'), so stdin cannot also be its source; save the pipeline to "
                                 "a file and run that");
    stdin_source *s = sl_api->calloc(1, sizeof *s);
    if (!s)
        return sl_api->error_set(err, SL_ENOMEM, "stdin: out of memory");
    s->h = h;
    s->fd = STDIN_FILENO;
    s->max_line = (size_t)sl_api->param_int(params, "max_line_bytes");
    s->cap = s->max_line + 1 + STDIN_READ_CHUNK;
    if (!(s->buf = sl_api->malloc(s->cap))) {
        sl_api->free(s);
        return sl_api->error_set(err, SL_ENOMEM,
                                 "stdin: cannot allocate the read buffer (lower max_line_bytes)");
    }
    s->c_lines = sl_api->counter(h, "lines");
    s->c_bytes = sl_api->counter(h, "bytes");
    s->c_truncated = sl_api->counter(h, "lines_truncated");
    *instance = s;
    return 0;
}

static void stdin_destroy(void *instance) {
    stdin_source *s = instance;
    if (!s)
        return;
    sl_api->free(s->buf);
    sl_api->free(s);
}

/* Hand the queued records to the engine (it copies them). 0, SL_ESTOPPED
 * (the engine kept them) or another negative code from store(). */
static int stdin_flush(stdin_source *s, sl_error *err) {
    size_t n = s->nrecs;
    if (n == 0)
        return 0;
    s->nrecs = 0;
    int rc = sl_api->store(s->h, s->recs, n);
    if (rc == 0 || rc == SL_ESTOPPED)
        sl_api->counter_add(s->c_lines, (int64_t)n);
    if (rc < 0 && rc != SL_ESTOPPED)
        return sl_api->error_set(err, rc, "stdin: the engine refused %zu lines", n);
    return rc;
}

/* Queue one line (without '\n'): strip a '\r', cut what exceeds max_line. */
static int stdin_line(stdin_source *s, const char *p, size_t len, int64_t ts, sl_error *err) {
    if (len > 0 && p[len - 1] == '\r')
        len--;
    if (len > s->max_line) {
        len = s->max_line;
        sl_api->counter_add(s->c_truncated, 1);
    }
    sl_record *r = &s->recs[s->nrecs++];
    r->key = sl_null();
    r->value = sl_bytes(p, len);
    r->ts = ts;
    return s->nrecs == STDIN_BATCH ? stdin_flush(s, err) : 0;
}

/* Queue every complete line of buf[start, end) and store them (records
 * point into buf, which the next read may move); keep the partial tail, or
 * cut it when it already exceeds any line we keep. */
static int stdin_split(stdin_source *s, sl_error *err) {
    char *p = s->buf + s->start, *e = s->buf + s->end;
    int64_t ts = sl_api->now_ms();
    int rc = 0;
    for (char *nl; rc == 0 && p < e && (nl = memchr(p, '\n', (size_t)(e - p))); p = nl + 1) {
        if (s->discarding)
            s->discarding = 0;
        else
            rc = stdin_line(s, p, (size_t)(nl - p), ts, err);
    }
    size_t tail = (size_t)(e - p);
    if (rc == 0 && !s->discarding && tail > s->max_line + 1) {
        rc = stdin_line(s, p, tail, ts, err);
        s->discarding = 1;
    }
    if (s->discarding || tail > s->max_line + 1)
        tail = 0;
    s->start = tail ? (size_t)(p - s->buf) : 0;
    s->end = tail ? s->end : 0;
    return rc < 0 ? rc : stdin_flush(s, err);
}

/* Wait for input in slices, so that a stop request is noticed: 1 when
 * readable (or at EOF/hang-up), 0 when stopping, SL_EIO on a poll error. */
static int stdin_wait(stdin_source *s) {
    for (;;) {
        if (sl_api->stopping(s->h))
            return 0;
        struct pollfd p = {.fd = s->fd, .events = POLLIN, .revents = 0};
        int n = poll(&p, 1, STDIN_POLL_MS);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return SL_EIO;
    }
}

/* The receiver thread: read until end of input (SL_EOF, after storing the
 * last line) or until the engine stops (0). */
static int stdin_run(void *instance, sl_error *err) {
    stdin_source *s = instance;
    for (;;) {
        int rc = stdin_wait(s);
        if (rc == 0)
            return 0;
        if (rc < 0)
            return sl_api->error_set(err, SL_EIO, "stdin: poll failed: %s", strerror(errno));
        if (s->cap - s->end < STDIN_READ_CHUNK) { /* move the partial line to the front */
            memmove(s->buf, s->buf + s->start, s->end - s->start);
            s->end -= s->start;
            s->start = 0;
        }
        ssize_t n = read(s->fd, s->buf + s->end, s->cap - s->end);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return sl_api->error_set(err, SL_EIO, "stdin: read failed: %s", strerror(errno));
        if (n == 0) {
            if (!s->discarding && s->end > s->start)
                rc = stdin_line(s, s->buf + s->start, s->end - s->start, sl_api->now_ms(), err);
            if (rc == 0)
                rc = stdin_flush(s, err);
            if (rc == SL_ESTOPPED)
                return 0;
            if (rc < 0)
                return rc;
            sl_api->log(s->h, SL_LOG_INFO, "end of stdin; the stream ends after this batch");
            return SL_EOF;
        }
        sl_api->counter_add(s->c_bytes, n);
        s->end += (size_t)n;
        rc = stdin_split(s, err);
        if (rc == SL_ESTOPPED)
            return 0;
        if (rc < 0)
            return rc;
    }
}

static const sl_source_ops stdin_ops = {
    .struct_size = sizeof(sl_source_ops),
    .mode = SL_SOURCE_RECEIVER,
    .run = stdin_run,
};

static const sl_component stdin_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SOURCE,
    .name = "stdin",
    .doc = "Receiver: the process's standard input, one element per line ('\\n', a trailing "
           "'\\r' stripped) as bytes. End of input ends the stream: the run stops after the "
           "batch with the last lines. Counters: lines, bytes, lines_truncated.",
    .params = stdin_params,
    .create = stdin_create,
    .destroy = stdin_destroy,
    .ops = &stdin_ops,
};

static const sl_component *const stdin_components[] = {&stdin_component, NULL};

static const sl_plugin stdin_plugin = {
    SL_PLUGIN_HEADER, "stdin", "0.1.0", "standard input, line by line", "MIT", stdin_components,
};

SL_PLUGIN_ENTRY(stdin_plugin)

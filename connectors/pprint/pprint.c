/*
 * pprint — print the first `num` elements of every batch on stdout, in
 * exactly the format of PySpark's DStream.pprint():
 *
 *     -------------------------------------------
 *     Time: 2014-10-14 12:00:05
 *     -------------------------------------------
 *     ('hello', 2)
 *     ('world', 1)
 *     ...
 *     <empty line>
 *
 * The time is the batch time in local time, as Python's str(datetime):
 * ".ffffff" microseconds are added only when the batch time has a
 * millisecond part. Each element is printed as Python's print(record) does:
 * a plain bytes element (a str in PySpark) as its text, as it is; anything
 * else (pairs, ints, doubles, None, lists, objects) by host->record_format in
 * Python repr style. "..." follows when the batch had more than `num`
 * elements.
 * The header and the empty line are printed for empty batches too.
 *
 * A sink is called by one thread at a time (begin, write*, end), so the
 * instance keeps the per-batch count and a growable format buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sluice/plugin.h>

#define PPRINT_RULE "-------------------------------------------" /* 43 dashes */
#define PPRINT_BUF_MIN 256

typedef struct pprint_sink {
    int64_t num;   /* elements printed per batch */
    int64_t count; /* elements seen in the current batch */
    char *buf;     /* format buffer (sl_api->malloc), grown to the longest element */
    size_t cap;
} pprint_sink;

static const sl_param_spec pprint_params[] = {
    {"num", SL_PARAM_INT, "10", 0, "number of elements printed per batch", NULL, "0.."},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

static int pprint_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    (void)h;
    int64_t num = sl_api->param_int(params, "num");
    if (num < 0)
        return sl_api->error_set(err, SL_ECONFIG, "pprint: num must be 0 or more, got %lld",
                                 (long long)num);
    pprint_sink *p = sl_api->calloc(1, sizeof *p);
    if (!p)
        return sl_api->error_set(err, SL_ENOMEM, "pprint: out of memory");
    p->num = num;
    *instance = p;
    return 0;
}

static void pprint_destroy(void *instance) {
    pprint_sink *p = instance;
    if (!p)
        return;
    sl_api->free(p->buf);
    sl_api->free(p);
}

/* The error for a failed write to stdout. EPIPE (the reader went away, as
 * in `sluice run | head`; sluice run ignores SIGPIPE) is SL_EOF: this
 * output is finished for good, and the engine stops cleanly. */
static int pprint_io_error(sl_error *err) {
    if (errno == EPIPE)
        return sl_api->error_set(err, SL_EOF, "pprint: stdout was closed by its reader (EPIPE)");
    return sl_api->error_set(err, SL_EIO, "pprint: cannot write to stdout (%s)",
                             strerror(errno ? errno : EIO));
}

/* Write `len` bytes and a newline to stdout. Returns 0 or SL_EIO. */
static int pprint_line(const char *s, size_t len, sl_error *err) {
    errno = 0;
    if (fwrite(s, 1, len, stdout) != len || putchar('\n') == EOF)
        return pprint_io_error(err);
    return 0;
}

/* Format batch_time (ms since the epoch) as Python's str(datetime) does for
 * datetime.fromtimestamp(t / 1000.0), in local time. */
static void pprint_time(int64_t batch_time, char *out, size_t cap) {
    int64_t secs = batch_time / 1000;
    int64_t ms = batch_time % 1000;
    if (ms < 0) {
        ms += 1000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!localtime_r(&t, &tm)) {
        snprintf(out, cap, "%lld", (long long)batch_time);
        return;
    }
    size_t n = strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm);
    if (ms != 0 && n < cap)
        snprintf(out + n, cap - n, ".%06d", (int)ms * 1000);
}

/* Print the header of the batch and reset the count. */
static int pprint_begin(void *instance, int64_t batch_time, sl_error *err) {
    pprint_sink *p = instance;
    char when[64];
    p->count = 0;
    pprint_time(batch_time, when, sizeof when);
    errno = 0;
    if (printf(PPRINT_RULE "\nTime: %s\n" PPRINT_RULE "\n", when) < 0)
        return pprint_io_error(err);
    return 0;
}

/* Format one record into p->buf, growing it to fit. Returns the length, or
 * (size_t)-1 when memory is exhausted. */
static size_t pprint_format(pprint_sink *p, const sl_record *r) {
    if (!p->buf) {
        p->buf = sl_api->malloc(PPRINT_BUF_MIN);
        if (!p->buf)
            return (size_t)-1;
        p->cap = PPRINT_BUF_MIN;
    }
    size_t len = sl_api->record_format(r, SL_FORMAT_REPR, p->buf, p->cap);
    if (len < p->cap)
        return len;
    size_t cap = p->cap;
    while (cap <= len)
        cap *= 2;
    char *nb = sl_api->realloc(p->buf, cap);
    if (!nb)
        return (size_t)-1;
    p->buf = nb;
    p->cap = cap;
    return sl_api->record_format(r, SL_FORMAT_REPR, p->buf, p->cap);
}

/* Print one element as PySpark's print(record): a plain bytes element is
 * a str, printed as its text (the bytes as they are, invalid UTF-8
 * included); every other element is printed as its repr. */
static int pprint_element(pprint_sink *p, const sl_record *r, sl_error *err) {
    if (!sl_record_is_pair(r) && r->value.type == SL_BYTES)
        return pprint_line(r->value.len ? r->value.u.s : "", r->value.len, err);
    size_t len = pprint_format(p, r);
    if (len == (size_t)-1)
        return sl_api->error_set(err, SL_ENOMEM, "pprint: out of memory formatting an element");
    return pprint_line(p->buf, len, err);
}

/* Print records while fewer than `num` were printed; count the rest. */
static int pprint_write(void *instance, const sl_chunk *chunk, sl_error *err) {
    pprint_sink *p = instance;
    size_t i = 0;
    for (; i < chunk->count && p->count < p->num; i++, p->count++) {
        int rc = pprint_element(p, &chunk->records[i], err);
        if (rc < 0)
            return rc;
    }
    p->count += (int64_t)(chunk->count - i);
    return 0;
}

/* Print "..." if elements were left out, the closing empty line, and flush. */
static int pprint_end(void *instance, int64_t batch_time, sl_error *err) {
    (void)batch_time;
    pprint_sink *p = instance;
    errno = 0;
    if (p->count > p->num && fputs("...\n", stdout) == EOF)
        return pprint_io_error(err);
    if (putchar('\n') == EOF || fflush(stdout) == EOF)
        return pprint_io_error(err);
    return 0;
}

static const sl_sink_ops pprint_ops = {
    .struct_size = sizeof(sl_sink_ops),
    .begin = pprint_begin,
    .write = pprint_write,
    .end = pprint_end,
    .commit = NULL,
};

static const sl_component pprint_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SINK,
    .name = "pprint",
    .doc = "Prints the first `num` elements of every batch on stdout, exactly as PySpark's "
           "DStream.pprint(): a header with the batch time (local time), one element per line "
           "as Python's print(element): a string as its text, anything else in Python repr "
           "(('k', v), 3, None), '...' when there were more, then an empty line.",
    .params = pprint_params,
    .create = pprint_create,
    .destroy = pprint_destroy,
    .ops = &pprint_ops,
};

static const sl_component *const pprint_components[] = {&pprint_component, NULL};

static const sl_plugin pprint_plugin = {
    SL_PLUGIN_HEADER,
    "pprint", /* name: the file is pprint.so */
    "0.1.0",
    "print the first elements of each batch (DStream.pprint)",
    "MIT",
    pprint_components,
};

SL_PLUGIN_ENTRY(pprint_plugin)

/*
 * jsonl — write every element as one JSON object per line:
 *
 *     {"time":1732428005000,"key":"hello","value":2}     a pair ("hello", 2)
 *     {"time":1732428005000,"key":null,"value":2}        a pair (None, 2)
 *     {"time":1732428005000,"value":2}                   a plain element 2
 *     {"time":1732428010000,"empty":true}                an empty batch
 *
 * `time` is the batch time in ms since the epoch; a pair has a `key`
 * member, a plain element none (decisions.md §25); key and value are
 * written by host->value_format in JSON style (invalid UTF-8 as \udcXY).
 * The `empty` line is written only with empty_batches: true.
 *
 * path "-" is stdout (shared with other sinks, so its buffering is left
 * alone). A file is opened at create, so that a wrong path fails before the
 * pipeline starts, with a JSONL_IOBUF-byte stdio buffer; both are flushed at
 * the end of every batch, so a batch is on disk (in the page cache) when the
 * next one starts. No fsync: this sink is at-least-once output.
 *
 * Create leaves no trace, because `sluice validate` creates and destroys
 * every component: the file is truncated (unless append: true) when the
 * first batch begins, not at create, and a file that create made and no
 * batch used is removed again by destroy.
 *
 * A sink is called by one thread at a time, so the instance owns a growable
 * line buffer reused across records.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sluice/plugin.h>

#define JSONL_IOBUF (256 * 1024) /* stdio buffer of an output file */
#define JSONL_LINE_MIN 512       /* initial line buffer */

typedef struct jsonl_sink {
    const char *path; /* params-owned, valid until destroy */
    const char *name; /* for messages: the path, or "stdout" */
    FILE *fp;         /* stdout, or a file this instance owns */
    char *iobuf;      /* the file's stdio buffer (sl_api->malloc); NULL for stdout */
    char *line;       /* line buffer (sl_api->malloc) */
    size_t cap;
    int truncate;      /* truncate the file when the first batch begins */
    int made;          /* create made the file: destroy removes it if unused */
    int used;          /* a batch began */
    int empty_batches; /* write {"time":T,"empty":true} for a batch with no elements */
    size_t written;    /* elements of the current batch written so far */
} jsonl_sink;

static const sl_param_spec jsonl_params[] = {
    {"path", SL_PARAM_STRING, "-", 0, "output file; \"-\" is stdout", NULL, NULL},
    {"append", SL_PARAM_BOOL, "false", 0, "append to the file instead of truncating it at startup",
     NULL, NULL},
    {"empty_batches", SL_PARAM_BOOL, "false", 0,
     "write {\"time\":T,\"empty\":true} for a batch with no elements (otherwise such a batch "
     "leaves no line)",
     NULL, NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

static void jsonl_destroy(void *instance) {
    jsonl_sink *s = instance;
    if (!s)
        return;
    if (s->fp && s->fp != stdout)
        fclose(s->fp);
    else if (s->fp)
        fflush(stdout);
    if (s->made && !s->used)
        unlink(s->path); /* only checked (sluice validate): leave no trace */
    sl_api->free(s->iobuf);
    sl_api->free(s->line);
    sl_api->free(s);
}

/* Open the file for writing without truncating it (jsonl_begin does, for
 * the first batch), noting whether this call made it. NULL with errno set. */
static FILE *jsonl_open(jsonl_sink *s, int append) {
    int flags = O_WRONLY | O_CLOEXEC | (append ? O_APPEND : 0);
    int fd = open(s->path, flags | O_CREAT | O_EXCL, 0666);
    s->made = fd >= 0;
    if (fd < 0 && errno == EEXIST)
        fd = open(s->path, flags);
    if (fd < 0)
        return NULL;
    FILE *fp = fdopen(fd, append ? "a" : "w");
    if (!fp) {
        int e = errno;
        close(fd);
        if (s->made)
            unlink(s->path);
        errno = e;
        return NULL;
    }
    s->truncate = !append;
    return fp;
}

/* Open the output (so that a wrong path fails at startup) and allocate the
 * buffers. */
static int jsonl_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    (void)h;
    const char *path = sl_api->param_str(params, "path");
    int append = sl_api->param_bool(params, "append");
    if (!path || !*path)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "jsonl: path must not be empty (use \"-\" for stdout)");
    jsonl_sink *s = sl_api->calloc(1, sizeof *s);
    if (!s)
        return sl_api->error_set(err, SL_ENOMEM, "jsonl: out of memory");
    s->path = path;
    s->empty_batches = sl_api->param_bool(params, "empty_batches");
    s->cap = JSONL_LINE_MIN;
    s->line = sl_api->malloc(s->cap);
    if (!s->line) {
        jsonl_destroy(s);
        return sl_api->error_set(err, SL_ENOMEM, "jsonl: out of memory");
    }
    if (strcmp(path, "-") == 0) {
        s->name = "stdout";
        s->fp = stdout;
        *instance = s;
        return 0;
    }
    s->name = path;
    s->fp = jsonl_open(s, append);
    if (!s->fp) {
        int e = errno;
        jsonl_destroy(s);
        return sl_api->error_set(err, e == ENOENT ? SL_ENOTFOUND : SL_EIO,
                                 "jsonl: cannot open '%s' for writing (%s)", path, strerror(e));
    }
    s->iobuf = sl_api->malloc(JSONL_IOBUF);
    if (s->iobuf)
        setvbuf(s->fp, s->iobuf, _IOFBF, JSONL_IOBUF);
    *instance = s;
    return 0;
}

/* The error for a failed write or flush. EPIPE (stdout or a FIFO whose
 * reader went away) is SL_EOF: this output is finished, the engine stops
 * cleanly. */
static int jsonl_io_error(jsonl_sink *s, sl_error *err) {
    if (errno == EPIPE)
        return sl_api->error_set(err, SL_EOF, "jsonl: '%s' was closed by its reader (EPIPE)",
                                 s->name);
    return sl_api->error_set(err, SL_EIO, "jsonl: cannot write to '%s' (%s)", s->name,
                             strerror(errno ? errno : EIO));
}

/* Make the line buffer at least `need` bytes. Returns 0 or SL_ENOMEM. */
static int jsonl_reserve(jsonl_sink *s, size_t need) {
    if (need <= s->cap)
        return 0;
    size_t cap = s->cap;
    while (cap < need)
        cap *= 2;
    char *nb = sl_api->realloc(s->line, cap);
    if (!nb)
        return SL_ENOMEM;
    s->line = nb;
    s->cap = cap;
    return 0;
}

/* Append `v` as JSON at line[*off], growing the buffer to fit. */
static int jsonl_append_value(jsonl_sink *s, size_t *off, const sl_value *v) {
    size_t len = sl_api->value_format(v, SL_FORMAT_JSON, s->line + *off, s->cap - *off);
    if (*off + len >= s->cap) {
        if (jsonl_reserve(s, *off + len + 1) < 0)
            return SL_ENOMEM;
        len = sl_api->value_format(v, SL_FORMAT_JSON, s->line + *off, s->cap - *off);
    }
    *off += len;
    return 0;
}

/* Append the literal text `t` at line[*off]. */
static int jsonl_append_text(jsonl_sink *s, size_t *off, const char *t, size_t len) {
    if (jsonl_reserve(s, *off + len + 1) < 0)
        return SL_ENOMEM;
    memcpy(s->line + *off, t, len);
    *off += len;
    return 0;
}

#define JSONL_FLUSH_AT (64u << 10) /* bytes of lines handed to stdio at once */

/* Append one record's line at line[*off]: {"time":T,"key":K,"value":V} for
 * a pair (K may be null), {"time":T,"value":V} for a plain element, so that
 * (None, v) and v stay two different things. `head` is {"time":T, */
static int jsonl_append_record(jsonl_sink *s, size_t *off, const char *head, size_t hlen,
                               const sl_record *r) {
    if (jsonl_append_text(s, off, head, hlen) < 0)
        return SL_ENOMEM;
    if (sl_record_is_pair(r) &&
        (jsonl_append_text(s, off, "\"key\":", 6) < 0 || jsonl_append_value(s, off, &r->key) < 0 ||
         jsonl_append_text(s, off, ",", 1) < 0))
        return SL_ENOMEM;
    if (jsonl_append_text(s, off, "\"value\":", 8) < 0 ||
        jsonl_append_value(s, off, &r->value) < 0 || jsonl_append_text(s, off, "}\n", 2) < 0)
        return SL_ENOMEM;
    return 0;
}

/* Write one line per record into the stdio buffer, in runs of lines
 * formatted into s->line. */
static int jsonl_write(void *instance, const sl_chunk *chunk, sl_error *err) {
    jsonl_sink *s = instance;
    char head[64];
    int hlen = snprintf(head, sizeof head, "{\"time\":%" PRId64 ",", chunk->batch_time);
    size_t off = 0;
    s->written += chunk->count;
    for (size_t i = 0; i < chunk->count; i++) {
        if (jsonl_append_record(s, &off, head, (size_t)hlen, &chunk->records[i]) < 0)
            return sl_api->error_set(err, SL_ENOMEM, "jsonl: out of memory formatting a record");
        if (off >= JSONL_FLUSH_AT || i + 1 == chunk->count) {
            errno = 0;
            if (fwrite(s->line, 1, off, s->fp) != off)
                return jsonl_io_error(s, err);
            off = 0;
        }
    }
    return 0;
}

/* A batch begins: the first one truncates the file (see the top). */
static int jsonl_begin(void *instance, int64_t batch_time, sl_error *err) {
    (void)batch_time;
    jsonl_sink *s = instance;
    s->used = 1;
    s->written = 0;
    if (s->truncate) {
        s->truncate = 0;
        if (ftruncate(fileno(s->fp), 0) != 0)
            return jsonl_io_error(s, err);
    }
    return 0;
}

/* Flush the batch to the file (or stdout), after its `empty` line if it
 * had no elements and empty_batches is on. */
static int jsonl_end(void *instance, int64_t batch_time, sl_error *err) {
    jsonl_sink *s = instance;
    errno = 0;
    if (s->empty_batches && s->written == 0 &&
        fprintf(s->fp, "{\"time\":%" PRId64 ",\"empty\":true}\n", batch_time) < 0)
        return jsonl_io_error(s, err);
    if (fflush(s->fp) == EOF || ferror(s->fp))
        return jsonl_io_error(s, err);
    return 0;
}

static const sl_sink_ops jsonl_ops = {
    .struct_size = sizeof(sl_sink_ops),
    .begin = jsonl_begin,
    .write = jsonl_write,
    .end = jsonl_end,
    .commit = NULL,
};

static const sl_component jsonl_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SINK,
    .name = "jsonl",
    .doc = "Writes every element as one JSON object per line, "
           "{\"time\":<batch time, ms>,\"key\":<key>,\"value\":<value>} for a pair (key "
           "null included) and {\"time\":<batch time, ms>,\"value\":<value>} for a plain "
           "element, to a file (truncated at startup unless append: true) or to stdout (path "
           "\"-\"); flushed at the end of every batch.",
    .params = jsonl_params,
    .create = jsonl_create,
    .destroy = jsonl_destroy,
    .ops = &jsonl_ops,
};

static const sl_component *const jsonl_components[] = {&jsonl_component, NULL};

static const sl_plugin jsonl_plugin = {
    SL_PLUGIN_HEADER, "jsonl", /* name: the file is jsonl.so */
    "0.1.0",          "JSON Lines sink", "MIT", jsonl_components,
};

SL_PLUGIN_ENTRY(jsonl_plugin)

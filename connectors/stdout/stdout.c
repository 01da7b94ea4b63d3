/*
 * stdout — write every element to standard output, one line each, for
 * shell pipelines (`sluice run f.yaml | grep ...`).
 *
 *   format: text (default)  a plain bytes element is written as it is; any
 *                           other element as Python's repr, as pprint
 *                           prints it: 3, {'user': 'ann'}, ('ann', 7)
 *   format: json            JSON Lines: a plain element as its JSON
 *                           ({"user":"ann"} comes back byte for byte), a
 *                           pair (k, v) as the array [k,v]
 *
 * Lines go through stdio's buffer and are flushed at the end of every
 * batch, so that a downstream reader sees each batch when it is complete.
 * A failed write (a closed pipe: EPIPE) stops the pipeline with an error.
 * The sink is called by one thread at a time: the instance owns one
 * growable line buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sluice/plugin.h>

typedef struct stdout_sink {
    int json; /* format: json */
    char *line;
    size_t cap;
    sl_counter *c_lines;
} stdout_sink;

static const sl_param_spec stdout_params[] = {
    {"format", SL_PARAM_ENUM, "text", 0,
     "text: bytes as they are, other elements as Python reprs; json: one JSON value per line, "
     "a pair as [key, value]",
     "text|json", NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

static int stdout_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    stdout_sink *s = sl_api->calloc(1, sizeof *s);
    if (!s || !(s->line = sl_api->malloc(s->cap = 4096))) {
        sl_api->free(s);
        return sl_api->error_set(err, SL_ENOMEM, "stdout: out of memory");
    }
    s->json = strcmp(sl_api->param_str(params, "format"), "json") == 0;
    s->c_lines = sl_api->counter(h, "lines");
    *instance = s;
    return 0;
}

static void stdout_destroy(void *instance) {
    stdout_sink *s = instance;
    if (!s)
        return;
    sl_api->free(s->line);
    sl_api->free(s);
}

static int stdout_io_error(sl_error *err) {
    return sl_api->error_set(err, SL_EIO, "stdout: cannot write: %s",
                             errno ? strerror(errno) : "write error");
}

/* Format r into s->line (growing it) and return the length. 0 on ENOMEM
 * (every formatted record is at least one byte). */
static size_t stdout_format(stdout_sink *s, const sl_record *r) {
    sl_value pair[2];
    const sl_value *v = &r->value;
    sl_value list;
    if (s->json && sl_record_is_pair(r)) {
        pair[0] = r->key.type == SL_NULL ? sl_null() : r->key;
        pair[1] = r->value;
        list = sl_list(pair, 2);
        v = &list;
    }
    for (;;) {
        size_t len = s->json ? sl_api->value_format(v, SL_FORMAT_JSON, s->line, s->cap)
                             : sl_api->record_format(r, SL_FORMAT_REPR, s->line, s->cap);
        if (len < s->cap)
            return len;
        char *nb = sl_api->realloc(s->line, len + 1);
        if (!nb)
            return 0;
        s->line = nb;
        s->cap = len + 1;
    }
}

/* One line per record. */
static int stdout_write(void *instance, const sl_chunk *chunk, sl_error *err) {
    stdout_sink *s = instance;
    errno = 0;
    for (size_t i = 0; i < chunk->count; i++) {
        const sl_record *r = &chunk->records[i];
        if (!s->json && !sl_record_is_pair(r) && r->value.type == SL_BYTES) {
            if (fwrite(r->value.u.s, 1, r->value.len, stdout) != r->value.len ||
                putchar('\n') == EOF)
                return stdout_io_error(err);
            continue;
        }
        size_t len = stdout_format(s, r);
        if (!len)
            return sl_api->error_set(err, SL_ENOMEM, "stdout: out of memory formatting a record");
        s->line[len] = '\n';
        if (fwrite(s->line, 1, len + 1, stdout) != len + 1)
            return stdout_io_error(err);
    }
    sl_api->counter_add(s->c_lines, (int64_t)chunk->count);
    return 0;
}

/* The batch is complete: let the reader see it. */
static int stdout_end(void *instance, int64_t batch_time, sl_error *err) {
    (void)instance;
    (void)batch_time;
    errno = 0;
    if (fflush(stdout) != 0)
        return stdout_io_error(err);
    return 0;
}

static const sl_sink_ops stdout_ops = {
    .struct_size = sizeof(sl_sink_ops),
    .write = stdout_write,
    .end = stdout_end,
};

static const sl_component stdout_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SINK,
    .name = "stdout",
    .doc = "Writes every element to standard output, one line each: text (bytes as they are, "
           "other elements as Python reprs) or json (JSON Lines; a pair as [key, value]). "
           "Flushed after every batch. Counter: lines.",
    .params = stdout_params,
    .create = stdout_create,
    .destroy = stdout_destroy,
    .ops = &stdout_ops,
};

static const sl_component *const stdout_components[] = {&stdout_component, NULL};

static const sl_plugin stdout_plugin = {
    SL_PLUGIN_HEADER,  "stdout", "0.1.0", "standard output, a line per element", "MIT",
    stdout_components,
};

SL_PLUGIN_ENTRY(stdout_plugin)

/*
 * queue — replay batches from a file, one batch per line (Spark's queueStream).
 *
 * File format: JSON Lines, read one line per batch time.
 *
 *   - Each line that is not skipped is ONE batch: a JSON array whose items
 *     are the batch's elements, in order. `[]` is an empty batch.
 *   - Skipped lines: blank lines (only spaces, tabs, '\r') and lines whose
 *     first non-blank character is '#'. They do not produce a batch.
 *   - An element is any JSON value, converted by the host's JSON parser:
 *     string -> bytes, integer -> int, other number -> double, null -> null,
 *     true/false -> bool, array -> list, object -> object.
 *   - An object of exactly the two members "key" and "value" (in any order)
 *     is the pair (K, V); every other object is an object element.
 *   - Every record gets the batch time as its timestamp.
 *
 *   Example (three batches, the second empty, the third of pairs):
 *
 *     ["hello world", "hello"]
 *     # a comment
 *     []
 *     [{"key": "a", "value": 1}, {"key": "b", "value": [1, 2.5, null]}]
 *
 * At each batch time poll() reads the next line and emits its elements.
 * After the last line: with on_end: idle, every further batch is empty (as
 * Spark's queueStream with no default RDD); with on_end: stop, the poll that
 * emits the last batch returns SL_EOF, so the engine stops after it. A
 * malformed line is an error naming path:line (a corrupt replay file must
 * not be skipped silently).
 *
 * The file is read incrementally with getline(); the instance keeps the line
 * number of the last batch emitted (`position`), for checkpoints to come.
 * The outer array is scanned here; a string element
 * without escapes is a slice of the line, copied once into the emitter's
 * memory, and every other element is parsed by
 * host->json_parse into that memory, so values live exactly as long as the
 * batch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <sluice/plugin.h>

typedef struct queue_line {
    char *text; /* getline() buffer (libc malloc: getline grows it) */
    size_t cap;
    size_t len;     /* without the line terminator */
    int64_t lineno; /* 1-based line number in the file */
} queue_line;

typedef struct queue_source {
    sl_handle *h;
    const char *path; /* params-owned, valid until destroy */
    FILE *fp;
    int stop_at_end;      /* on_end: stop */
    int primed;           /* the lookahead line has been read once */
    int have_next;        /* `next` holds a batch line not yet emitted */
    queue_line cur;       /* the line being emitted */
    queue_line next;      /* lookahead: tells whether cur is the last batch */
    int64_t lineno;       /* lines read from the file so far */
    int64_t position;     /* line number of the last batch emitted (0: none) */
    int64_t resume_after; /* restored position: skip the batches up to it */
    sl_counter *c_batches;
} queue_source;

static const sl_param_spec queue_params[] = {
    {"path", SL_PARAM_STRING, NULL, 1, "JSON Lines file: one JSON array (a batch) per line", NULL,
     NULL},
    {"on_end", SL_PARAM_ENUM, "idle", 0,
     "after the last batch: emit empty batches forever, or stop the engine", "idle|stop", NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

/* Open the file now, so that a wrong path fails at startup. */
static int queue_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    const char *path = sl_api->param_str(params, "path");
    const char *on_end = sl_api->param_str(params, "on_end");
    if (!path || !*path)
        return sl_api->error_set(err, SL_ECONFIG, "queue: path must not be empty");
    queue_source *q = sl_api->calloc(1, sizeof *q);
    if (!q)
        return sl_api->error_set(err, SL_ENOMEM, "queue: out of memory");
    q->fp = fopen(path, "re");
    if (!q->fp) {
        int e = errno;
        sl_api->free(q);
        return sl_api->error_set(err, e == ENOENT ? SL_ENOTFOUND : SL_EIO,
                                 "queue: cannot open '%s' (%s)", path, strerror(e));
    }
    q->h = h;
    q->path = path;
    q->stop_at_end = on_end && strcmp(on_end, "stop") == 0;
    q->c_batches = sl_api->counter(h, "batches");
    *instance = q;
    return 0;
}

static void queue_destroy(void *instance) {
    queue_source *q = instance;
    if (!q)
        return;
    if (q->fp)
        fclose(q->fp);
    free(q->cur.text); /* getline's buffers come from libc */
    free(q->next.text);
    sl_api->free(q);
}

/* Nonzero for the JSON whitespace characters. */
static int queue_is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* First non-whitespace character at or after p (or e). */
static const char *queue_skip_ws(const char *p, const char *e) {
    while (p < e && queue_is_ws(*p))
        p++;
    return p;
}

/* Nonzero if the line is skipped: blank, or a '#' comment. */
static int queue_is_skipped(const char *p, size_t len) {
    const char *q = queue_skip_ws(p, p + len);
    return q == p + len || *q == '#';
}

/* Read the next batch line into q->next (have_next = 0 at end of file).
 * Returns 0 or SL_EIO. */
static int queue_read_next(queue_source *q, sl_error *err) {
    q->have_next = 0;
    for (;;) {
        errno = 0;
        ssize_t n = getline(&q->next.text, &q->next.cap, q->fp);
        if (n < 0) {
            /* only feof() is the end: glibc's getline() returns -1 without
             * setting ferror() when it cannot grow its buffer (ENOMEM) */
            if (ferror(q->fp) || !feof(q->fp)) {
                int e = errno ? errno : EIO;
                return sl_api->error_set(err, e == ENOMEM ? SL_ENOMEM : SL_EIO,
                                         "queue: cannot read '%s' line %lld: %s", q->path,
                                         (long long)q->lineno + 1, strerror(e));
            }
            return 0;
        }
        q->lineno++;
        size_t len = (size_t)n;
        while (len > 0 && (q->next.text[len - 1] == '\n' || q->next.text[len - 1] == '\r'))
            len--;
        if (queue_is_skipped(q->next.text, len))
            continue;
        q->next.len = len;
        q->next.lineno = q->lineno;
        q->have_next = 1;
        return 0;
    }
}

/* End of the JSON string starting at the '"' at p, or NULL if unterminated. */
static const char *queue_string_end(const char *p, const char *e) {
    for (p++; p < e; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* End of the JSON value starting at p: the matching bracket of an array or
 * object, the closing quote of a string, or the first ',', ']', '}' or
 * whitespace after a scalar. Only delimits; the host parser validates.
 * Returns NULL when a string or bracket is not closed. */
static const char *queue_value_end(const char *p, const char *e) {
    int depth = 0;
    while (p < e) {
        char c = *p;
        if (c == '"') {
            p = queue_string_end(p, e);
            if (!p)
                return NULL;
            if (depth == 0)
                return p;
            continue;
        }
        if (c == '[' || c == '{') {
            depth++;
        } else if (c == ']' || c == '}') {
            if (depth == 0)
                return p;
            if (--depth == 0)
                return p + 1;
        } else if (depth == 0 && (c == ',' || queue_is_ws(c))) {
            return p;
        }
        p++;
    }
    return depth == 0 ? p : NULL;
}

/* Parse the JSON value text[0..len) with the host parser into batch memory;
 * on failure fill `err` with path:line, what was parsed and the parser's
 * message. */
static int queue_parse(queue_source *q, const char *text, size_t len, const char *what, size_t idx,
                       sl_value *out, sl_mem *mem, sl_error *err) {
    sl_error perr;
    memset(&perr, 0, sizeof perr);
    if (sl_api->json_parse(text, len, out, mem, &perr) == 0)
        return 0;
    return sl_api->error_set(err, SL_EINVAL, "queue: %s:%lld: element %zu: %s: %s", q->path,
                             (long long)q->cur.lineno, idx, what,
                             perr.msg[0] ? perr.msg : "invalid JSON");
}

/* Whether an object element is a pair: exactly the two members "key" and
 * "value", in either order. */
static int queue_is_pair(const sl_value *v) {
    if (v->type != SL_OBJECT || v->len != 2)
        return 0;
    const sl_value *k = sl_object_get(v, "key"), *val = sl_object_get(v, "value");
    return k && val;
}

/* The closing quote of the JSON string whose text starts at p (after its
 * opening quote) when the string is plain: no escape and no control
 * character before that quote. NULL otherwise (or when it is not closed):
 * the host parser then decodes or rejects it. Eight bytes at a time: most
 * batch elements are plain strings, and this scan is all they need. */
static const char *queue_plain_string_end(const char *p, const char *e) {
    const uint64_t ones = 0x0101010101010101u, high = ones * 0x80;
    while (e - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        x = __builtin_bswap64(x); /* byte i in bits 8i..8i+7: borrows run away from it */
#endif
        uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
        /* a high bit where a byte is 0 (in q or b) or below 0x20 (in x) */
        uint64_t hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x);
        hit &= high;
        if (hit) { /* the lowest hit is exact; borrows only add hits above it */
            p += __builtin_ctzll(hit) / 8;
            return *p == '"' ? p : NULL;
        }
        p += 8;
    }
    for (; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p;
        if (c == '\\' || c < 0x20)
            return NULL;
    }
    return NULL;
}

/* Emit one element text[p, e): a pair object or any other JSON value. */
static int queue_emit_element(queue_source *q, const char *p, const char *e, size_t idx, int64_t ts,
                              sl_emitter *out, sl_error *err) {
    sl_value key = sl_null(), value = sl_null();
    int rc = queue_parse(q, p, (size_t)(e - p), "value", idx, &value, out->mem, err);
    if (rc < 0)
        return rc;
    if (queue_is_pair(&value)) {
        /* {"key": null, ...} is the pair (None, v) */
        key = sl_key(*sl_object_get(&value, "key"));
        value = *sl_object_get(&value, "value");
    }
    return sl_emit_kv(out, key, value, ts);
}

/* The current line copied into batch memory (NULL without memory). */
static const char *queue_copy_line(const queue_source *q, sl_mem *mem) {
    char *c = sl_alloc(mem, q->cur.len ? q->cur.len : 1);
    if (c)
        memcpy(c, q->cur.text, q->cur.len);
    return c;
}

/* Parse the current line as a JSON array and emit its elements. */
static int queue_emit_batch(queue_source *q, int64_t ts, sl_emitter *out, sl_error *err) {
    const char *line = q->cur.text;
    const char *e = line + q->cur.len;
    const char *p = queue_skip_ws(line, e);
    if (p == e || *p != '[')
        return sl_api->error_set(err, SL_EINVAL,
                                 "queue: %s:%lld: a batch must be a JSON array on one line, "
                                 "e.g. [\"a\", 1] or []",
                                 q->path, (long long)q->cur.lineno);
    p = queue_skip_ws(p + 1, e);
    if (p < e && *p == ']') {
        p = queue_skip_ws(p + 1, e);
    } else {
        const char *copy = NULL; /* the line in batch memory, once a plain string needs it */
        for (size_t idx = 1;; idx++) {
            const char *ve = NULL, *close;
            int rc;
            if (*p == '"' && (close = queue_plain_string_end(p + 1, e))) {
                /* the common case, without the host parser: a slice of the line,
                 * copied into batch memory once for all its plain strings */
                if (!copy && !(copy = queue_copy_line(q, out->mem)))
                    return sl_api->error_set(err, SL_ENOMEM, "queue: out of memory");
                sl_record *o = sl_emit_slot(out, &rc);
                if (o) {
                    o->key = sl_null();
                    o->value = sl_bytes(copy + (p + 1 - line), (size_t)(close - p - 1));
                    o->ts = ts;
                }
                ve = close + 1;
            } else {
                ve = queue_value_end(p, e);
                if (!ve || ve == p)
                    return sl_api->error_set(
                        err, SL_EINVAL, "queue: %s:%lld:%zu: element %zu: %s", q->path,
                        (long long)q->cur.lineno, (size_t)(p - line) + 1, idx,
                        ve ? "expected a JSON value" : "unterminated string or bracket");
                rc = queue_emit_element(q, p, ve, idx, ts, out, err);
            }
            if (rc < 0)
                return rc;
            p = queue_skip_ws(ve, e);
            if (p < e && *p == ',') {
                p = queue_skip_ws(p + 1, e);
                continue;
            }
            if (p < e && *p == ']') {
                p = queue_skip_ws(p + 1, e);
                break;
            }
            return sl_api->error_set(
                err, SL_EINVAL, "queue: %s:%lld:%zu: expected ',' or ']' after element %zu",
                q->path, (long long)q->cur.lineno, (size_t)(p - line) + 1, idx);
        }
    }
    if (p != e)
        return sl_api->error_set(err, SL_EINVAL,
                                 "queue: %s:%lld:%zu: unexpected text after the batch's closing "
                                 "']' (one batch per line)",
                                 q->path, (long long)q->cur.lineno, (size_t)(p - line) + 1);
    return 0;
}

/* Emit the next line's batch; SL_EOF with the last one under on_end: stop. */
static int queue_poll(void *instance, int64_t batch_time, sl_emitter *out, sl_error *err) {
    queue_source *q = instance;
    int rc;
    if (!q->primed) {
        q->primed = 1;
        rc = queue_read_next(q, err);
        /* resuming from a checkpoint: the batches up to its position were
         * processed before; go on with the next one */
        while (rc >= 0 && q->have_next && q->next.lineno <= q->resume_after) {
            q->position = q->next.lineno;
            rc = queue_read_next(q, err);
        }
        if (rc < 0)
            return rc;
    }
    if (!q->have_next)
        return q->stop_at_end ? SL_EOF : 0;

    queue_line tmp = q->cur;
    q->cur = q->next;
    q->next = tmp;
    rc = queue_emit_batch(q, batch_time, out, err);
    if (rc < 0)
        return rc;
    q->position = q->cur.lineno;
    sl_api->counter_add(q->c_batches, 1);
    rc = queue_read_next(q, err);
    if (rc < 0)
        return rc;
    return !q->have_next && q->stop_at_end ? SL_EOF : 0;
}

/* The position for a checkpoint: the line of the last batch emitted, as 8
 * little-endian bytes. */
static int queue_snapshot(void *instance, sl_buf *out, sl_error *err) {
    queue_source *q = instance;
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)q->position >> (8 * i));
    if (sl_api->buf_append(out, b, sizeof b) < 0)
        return sl_api->error_set(err, SL_ENOMEM, "queue: out of memory");
    return 0;
}

/* Resume after the batch at a snapshotted position. */
static int queue_restore(void *instance, const void *data, size_t len, sl_error *err) {
    queue_source *q = instance;
    if (len != 8)
        return sl_api->error_set(err, SL_EINVAL,
                                 "queue: %s: a checkpointed position of %zu bytes (expected 8)",
                                 q->path, len);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)((const uint8_t *)data)[i] << (8 * i);
    q->resume_after = (int64_t)v;
    sl_api->log(q->h, SL_LOG_INFO, "resuming %s after line %lld", q->path, (long long)v);
    return 0;
}

static const sl_source_ops queue_ops = {
    .struct_size = sizeof(sl_source_ops),
    .mode = SL_SOURCE_DIRECT,
    .start = NULL,
    .run = NULL,
    .poll = queue_poll,
    .commit = NULL,
    .snapshot = queue_snapshot,
    .restore = queue_restore,
};

static const sl_component queue_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SOURCE,
    .name = "queue",
    .doc = "Direct source: replays a JSON Lines file, one batch per line, like Spark's "
           "queueStream. Each line is a JSON array of elements; an object of exactly "
           "{\"key\": K, \"value\": V} is a pair, any other object an object. Blank lines and '#' "
           "comments are skipped; [] is an empty "
           "batch. A malformed line stops the engine with path:line. Counter: batches.",
    .params = queue_params,
    .create = queue_create,
    .destroy = queue_destroy,
    .ops = &queue_ops,
};

static const sl_component *const queue_components[] = {&queue_component, NULL};

static const sl_plugin queue_plugin = {
    SL_PLUGIN_HEADER,
    "queue", /* name: the file is queue.so */
    "0.1.0",
    "replay batches from a JSON Lines file (queueStream)",
    "MIT",
    queue_components,
};

SL_PLUGIN_ENTRY(queue_plugin)

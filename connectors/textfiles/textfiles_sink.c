/*
 * sink: text_files — one text file per batch (Spark's
 * DStream.saveAsTextFiles(prefix, suffix)).
 *
 * The batch at time T (ms since the epoch) goes to the file
 * "PREFIX-T.SUFFIX", or "PREFIX-T" without a suffix, as Spark names it
 * (Spark makes that name a directory of part files; sluice writes one
 * file). One element per line, as PySpark's print(element) shows it: a
 * plain string as its bytes, anything else (pairs, numbers, lists, None)
 * as its Python repr (host->record_format), like the pprint sink. An empty
 * batch writes an empty file, as Spark does.
 *
 * Atomic and idempotent: the batch is written to ".BASE.tmp" in the same
 * directory (a dot-file, so a text_files source watching that directory
 * ignores it), fsync'd, renamed over the final name, and the directory is
 * fsync'd. No partial file is ever visible under the final name, and writing
 * the same batch again (a replay after a restart) replaces the file whole.
 *
 * Calls on one instance never overlap (begin, write*, end), so the instance
 * keeps the open temporary file and a growable format buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "textfiles.h"

#define TF_IOBUF (256 * 1024) /* stdio buffer of the batch file */
#define TF_FMT_MIN 256        /* initial format buffer */

typedef struct tf_sink {
    const char *prefix; /* params-owned, valid until destroy */
    const char *suffix; /* params-owned; NULL or "": none */
    char *dir;          /* the directory part of prefix ("." if none) */
    char *final;        /* the current batch's file name */
    char *tmp;          /* its temporary name */
    size_t name_cap;    /* bytes allocated for final and tmp each */
    FILE *fp;           /* the open temporary file, between begin and end */
    char *iobuf;        /* fp's buffer: TF_IOBUF bytes */
    char *buf;          /* format buffer (repr of non-string elements) */
    size_t cap;
    sl_counter *c_files, *c_lines;
} tf_sink;

static const sl_param_spec tf_sink_params[] = {
    {"prefix", SL_PARAM_STRING, NULL, 1,
     "path prefix of the files: each batch writes PREFIX-TIME[.SUFFIX] (TIME in ms)", NULL, NULL},
    {"suffix", SL_PARAM_STRING, NULL, 0, "file name suffix, after a '.'; default none", NULL, NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

/* Close and remove an unfinished temporary file (a failed batch). */
static void tf_sink_abort(tf_sink *s) {
    if (!s->fp)
        return;
    fclose(s->fp);
    s->fp = NULL;
    unlink(s->tmp);
}

static void tf_sink_destroy(void *instance) {
    tf_sink *s = instance;
    if (!s)
        return;
    tf_sink_abort(s);
    sl_api->free(s->dir);
    sl_api->free(s->final);
    sl_api->free(s->tmp);
    sl_api->free(s->iobuf);
    sl_api->free(s->buf);
    sl_api->free(s);
}

/* Split prefix into its directory (allocated) and check that it is one:
 * a wrong prefix fails at startup, before any batch. */
static int tf_sink_dir(tf_sink *s, sl_error *err) {
    const char *slash = strrchr(s->prefix, '/');
    size_t len = slash ? (size_t)(slash - s->prefix) : 1;
    s->dir = sl_api->malloc(len + 1);
    if (!s->dir)
        return sl_api->error_set(err, SL_ENOMEM, "text_files: out of memory");
    if (!slash)
        memcpy(s->dir, ".", 1);
    else if (len == 0) /* "/x": the root */
        memcpy(s->dir, "/", ++len);
    else
        memcpy(s->dir, s->prefix, len);
    s->dir[len] = 0;
    struct stat st;
    if (stat(s->dir, &st) < 0)
        return sl_api->error_set(err, SL_ECONFIG, "text_files: prefix '%s': directory '%s': %s",
                                 s->prefix, s->dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return sl_api->error_set(
            err, SL_ECONFIG, "text_files: prefix '%s': '%s' is not a directory", s->prefix, s->dir);
    return 0;
}

static int tf_sink_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    const char *prefix = sl_api->param_str(params, "prefix");
    if (!prefix || !*prefix)
        return sl_api->error_set(err, SL_ECONFIG, "text_files: prefix must not be empty");
    tf_sink *s = sl_api->calloc(1, sizeof *s);
    if (!s)
        return sl_api->error_set(err, SL_ENOMEM, "text_files: out of memory");
    s->prefix = prefix;
    s->suffix = sl_api->param_is_set(params, "suffix") ? sl_api->param_str(params, "suffix") : NULL;
    /* PREFIX-<int64>.SUFFIX and "/." ".tmp" around the base name */
    s->name_cap = strlen(prefix) + (s->suffix ? strlen(s->suffix) : 0) + 48;
    s->final = sl_api->malloc(s->name_cap);
    s->tmp = sl_api->malloc(s->name_cap);
    s->iobuf = sl_api->malloc(TF_IOBUF);
    int rc = s->final && s->tmp && s->iobuf
                 ? tf_sink_dir(s, err)
                 : sl_api->error_set(err, SL_ENOMEM, "text_files: out of memory");
    if (rc < 0) {
        tf_sink_destroy(s);
        return rc;
    }
    s->c_files = sl_api->counter(h, "files");
    s->c_lines = sl_api->counter(h, "lines");
    *instance = s;
    return 0;
}

/* The batch's final and temporary names: PREFIX-T[.SUFFIX] and
 * DIR/.BASE.tmp, BASE being the final name's last component. */
static void tf_sink_names(tf_sink *s, int64_t batch_time) {
    int has_suffix = s->suffix && *s->suffix;
    snprintf(s->final, s->name_cap, "%s-%lld%s%s", s->prefix, (long long)batch_time,
             has_suffix ? "." : "", has_suffix ? s->suffix : "");
    const char *slash = strrchr(s->final, '/');
    const char *base = slash ? slash + 1 : s->final;
    snprintf(s->tmp, s->name_cap, "%.*s.%s.tmp", (int)(base - s->final), s->final, base);
}

static int tf_sink_io_error(tf_sink *s, const char *what, const char *name, sl_error *err) {
    int e = errno;
    tf_sink_abort(s);
    return sl_api->error_set(err, SL_EIO, "text_files: cannot %s '%s' (%s)", what, name,
                             strerror(e));
}

/* A batch starts: open its temporary file (truncating one a crash left). */
static int tf_sink_begin(void *instance, int64_t batch_time, sl_error *err) {
    tf_sink *s = instance;
    tf_sink_abort(s); /* a batch that failed between begin and end */
    tf_sink_names(s, batch_time);
    int fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0)
        return tf_sink_io_error(s, "create", s->tmp, err);
    s->fp = fdopen(fd, "w");
    if (!s->fp) {
        close(fd);
        unlink(s->tmp);
        return sl_api->error_set(err, SL_ENOMEM, "text_files: out of memory");
    }
    setvbuf(s->fp, s->iobuf, _IOFBF, TF_IOBUF);
    return 0;
}

/* Format a non-string element into s->buf, growing it to fit. Returns the
 * length, or (size_t)-1 when memory is exhausted. */
static size_t tf_sink_format(tf_sink *s, const sl_record *r) {
    if (!s->buf) {
        if (!(s->buf = sl_api->malloc(TF_FMT_MIN)))
            return (size_t)-1;
        s->cap = TF_FMT_MIN;
    }
    size_t len = sl_api->record_format(r, SL_FORMAT_REPR, s->buf, s->cap);
    if (len < s->cap)
        return len;
    size_t cap = s->cap;
    while (cap <= len)
        cap *= 2;
    char *nb = sl_api->realloc(s->buf, cap);
    if (!nb)
        return (size_t)-1;
    s->buf = nb;
    s->cap = cap;
    return sl_api->record_format(r, SL_FORMAT_REPR, s->buf, s->cap);
}

/* One line per element: a plain string as its bytes, else its repr. */
static int tf_sink_write(void *instance, const sl_chunk *chunk, sl_error *err) {
    tf_sink *s = instance;
    if (!s->fp)
        return sl_api->error_set(err, SL_ESTATE, "text_files: write without begin");
    for (size_t i = 0; i < chunk->count; i++) {
        const sl_record *r = &chunk->records[i];
        const char *p;
        size_t len;
        if (!sl_record_is_pair(r) && r->value.type == SL_BYTES) {
            p = r->value.u.s;
            len = r->value.len;
        } else if ((len = tf_sink_format(s, r)) != (size_t)-1) {
            p = s->buf;
        } else {
            tf_sink_abort(s);
            return sl_api->error_set(err, SL_ENOMEM,
                                     "text_files: out of memory formatting "
                                     "an element");
        }
        if ((len && fwrite(p, 1, len, s->fp) != len) || putc('\n', s->fp) == EOF)
            return tf_sink_io_error(s, "write", s->tmp, err);
    }
    sl_api->counter_add(s->c_lines, (int64_t)chunk->count);
    return 0;
}

/* fsync the directory `dir`, so that a rename in it is durable. */
static int tf_sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* The batch is complete: flush, fsync, rename over the final name, fsync
 * the directory. */
static int tf_sink_end(void *instance, int64_t batch_time, sl_error *err) {
    tf_sink *s = instance;
    (void)batch_time;
    if (!s->fp)
        return sl_api->error_set(err, SL_ESTATE, "text_files: end without begin");
    if (fflush(s->fp) != 0 || fsync(fileno(s->fp)) != 0)
        return tf_sink_io_error(s, "write", s->tmp, err);
    int rc = fclose(s->fp);
    s->fp = NULL;
    if (rc != 0) {
        int e = errno;
        unlink(s->tmp);
        errno = e;
        return tf_sink_io_error(s, "write", s->tmp, err);
    }
    if (rename(s->tmp, s->final) != 0) {
        int e = errno;
        unlink(s->tmp);
        errno = e;
        return tf_sink_io_error(s, "rename to", s->final, err);
    }
    if (tf_sync_dir(s->dir) != 0)
        return tf_sink_io_error(s, "fsync directory", s->dir, err);
    sl_api->counter_add(s->c_files, 1);
    return 0;
}

static const sl_sink_ops tf_sink_ops = {
    .struct_size = sizeof(sl_sink_ops),
    .begin = tf_sink_begin,
    .write = tf_sink_write,
    .end = tf_sink_end,
    .commit = NULL,
};

const sl_component tf_sink_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SINK,
    .name = "text_files",
    .doc = "Spark's saveAsTextFiles: each batch at time T (ms) is written to the file "
           "PREFIX-T.SUFFIX (PREFIX-T without suffix), one element per line (a string as its "
           "text, anything else as its Python repr), through a temporary dot-file, fsync and "
           "rename: atomic, and idempotent when a batch is written again. An empty batch writes "
           "an empty file. Counters: files, lines.",
    .params = tf_sink_params,
    .create = tf_sink_create,
    .destroy = tf_sink_destroy,
    .ops = &tf_sink_ops,
};

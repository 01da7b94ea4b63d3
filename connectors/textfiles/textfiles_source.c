/*
 * source: text_files — the lines of the files that appear in a directory
 * (Spark's StreamingContext.textFileStream(directory)).
 *
 * A DIRECT source. At each batch time poll() lists the directory and takes
 * the regular files (symbolic links followed) whose name matches `pattern`
 * (fnmatch; default every name) and does not start with '.', and that were
 * not there at the previous listing: the files that arrived since the last
 * batch, read in name order. Each line, without its '\n' (and a '\r'
 * before it), is one plain bytes element whose timestamp is the batch time;
 * a last line without '\n' counts too.
 *
 * Files are expected to be moved into the directory whole, by rename(2), as
 * Spark expects: a file written in place may be read while it is partly
 * written, and is not read again when it grows. Names starting with '.' are
 * never read, so a writer can write ".name.tmp" and rename it to "name".
 *
 * What was taken (`seen`) is the names of the last listing: names that left
 * the directory are forgotten, so memory is bounded by the directory's size
 * and a name that comes back is a new file. Files present when the pipeline
 * starts are in the first listing and so are not read (Spark's newFilesOnly),
 * unless process_existing is set. `seen` is the checkpointed position
 * (snapshot/restore): a pipeline resumed from a checkpoint reads the files
 * that arrived after the checkpoint's batch, those that arrived while it was
 * down included, and not the ones before.
 *
 * Bounded memory: a line longer than max_line_bytes is skipped whole (counted
 * in lines_too_long, one warning per file); a file that cannot be opened or
 * read is logged, counted in files_failed and skipped (lines it gave before a
 * read error stay in the batch). Neither stops the pipeline. A batch holds
 * every line of its new files in batch memory, as Spark's RDD of them does.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "textfiles.h"

#define TF_READ_CHUNK (64 * 1024)            /* bytes per read(2) */
#define TF_MAX_LINE_LIMIT ((int64_t)1 << 30) /* highest max_line_bytes */
#define TF_SNAPSHOT_FORMAT 1                 /* first byte of a snapshot */

/* A sorted set of file names (each sl_api->malloc'd, owned by the set). */
typedef struct tf_names {
    char **v;
    size_t n, cap;
} tf_names;

typedef struct tf_source {
    sl_handle *h;
    const char *dir;     /* params-owned, valid until destroy */
    const char *pattern; /* params-owned; NULL: every name */
    int process_existing;
    int restored;     /* restore() set `seen`: start() must not list */
    int dir_missing;  /* the last listing failed (rate-limits its warning) */
    size_t max_line;  /* max_line_bytes */
    tf_names seen;    /* the names of the last listing */
    char *line;       /* the line being assembled: max_line bytes */
    size_t line_len;  /* bytes in `line` */
    int discarding;   /* the current line is longer than max_line: drop it */
    char *rbuf;       /* TF_READ_CHUNK bytes */
    int64_t too_long; /* lines skipped in the current file */
    sl_counter *c_files, *c_lines, *c_bytes, *c_too_long, *c_failed;
} tf_source;

static const sl_param_spec tf_source_params[] = {
    {"path", SL_PARAM_STRING, NULL, 1, "the directory to watch for new files", NULL, NULL},
    {"pattern", SL_PARAM_STRING, NULL, 0,
     "glob on the file name (fnmatch), e.g. \"*.log\"; default every name not starting with '.'",
     NULL, NULL},
    {"process_existing", SL_PARAM_BOOL, "false", 0,
     "also read the files already in the directory at the first start (Spark's newFilesOnly = "
     "false)",
     NULL, NULL},
    {"max_line_bytes", SL_PARAM_SIZE, "1MiB", 0,
     "longest line kept; longer lines are skipped (counted in lines_too_long)", NULL, "1..1GiB"},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

/* ---- the name set ---------------------------------------------------------------- */

static void tf_names_free(tf_names *s) {
    for (size_t i = 0; i < s->n; i++)
        sl_api->free(s->v[i]);
    sl_api->free(s->v);
    memset(s, 0, sizeof *s);
}

/* Append a copy of name[0, len). 0 or SL_ENOMEM. */
static int tf_names_add(tf_names *s, const char *name, size_t len) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **v = sl_api->realloc(s->v, cap * sizeof *v);
        if (!v)
            return SL_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    char *c = sl_api->malloc(len + 1);
    if (!c)
        return SL_ENOMEM;
    memcpy(c, name, len);
    c[len] = 0;
    s->v[s->n++] = c;
    return 0;
}

static int tf_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void tf_names_sort(tf_names *s) {
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, tf_cmp);
}

static int tf_names_has(const tf_names *s, const char *name) {
    return s->n && bsearch(&name, s->v, s->n, sizeof *s->v, tf_cmp) != NULL;
}

/* ---- create / destroy ------------------------------------------------------------ */

/* Check the parameters and that `path` is a directory now, so that a wrong
 * path fails at startup (and in sluice validate). */
static int tf_source_check(const char *dir, int64_t max_line, sl_error *err) {
    struct stat st;
    if (!dir || !*dir)
        return sl_api->error_set(err, SL_ECONFIG, "text_files: path must not be empty");
    if (max_line < 1 || max_line > TF_MAX_LINE_LIMIT)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "text_files: max_line_bytes must be between 1 and 1GiB, got %lld",
                                 (long long)max_line);
    if (stat(dir, &st) < 0)
        return sl_api->error_set(err, errno == ENOENT ? SL_ENOTFOUND : SL_EIO,
                                 "text_files: cannot watch directory '%s' (%s)", dir,
                                 strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return sl_api->error_set(err, SL_ECONFIG,
                                 "text_files: path '%s' is not a directory (textFileStream "
                                 "watches a directory for new files)",
                                 dir);
    return 0;
}

static void tf_source_destroy(void *instance) {
    tf_source *s = instance;
    if (!s)
        return;
    tf_names_free(&s->seen);
    sl_api->free(s->line);
    sl_api->free(s->rbuf);
    sl_api->free(s);
}

static int tf_source_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    const char *dir = sl_api->param_str(params, "path");
    int64_t max_line = sl_api->param_int(params, "max_line_bytes");
    int rc = tf_source_check(dir, max_line, err);
    if (rc < 0)
        return rc;
    tf_source *s = sl_api->calloc(1, sizeof *s);
    if (!s)
        return sl_api->error_set(err, SL_ENOMEM, "text_files: out of memory");
    s->h = h;
    s->dir = dir;
    s->pattern =
        sl_api->param_is_set(params, "pattern") ? sl_api->param_str(params, "pattern") : NULL;
    s->process_existing = sl_api->param_bool(params, "process_existing");
    s->max_line = (size_t)max_line;
    s->line = sl_api->malloc(s->max_line);
    s->rbuf = sl_api->malloc(TF_READ_CHUNK);
    if (!s->line || !s->rbuf) {
        tf_source_destroy(s);
        return sl_api->error_set(err, SL_ENOMEM, "text_files: out of memory");
    }
    s->c_files = sl_api->counter(h, "files");
    s->c_lines = sl_api->counter(h, "lines");
    s->c_bytes = sl_api->counter(h, "bytes");
    s->c_too_long = sl_api->counter(h, "lines_too_long");
    s->c_failed = sl_api->counter(h, "files_failed");
    *instance = s;
    return 0;
}

/* ---- listing --------------------------------------------------------------------- */

/* Whether a directory entry is a file to take: not a dot-file, matching the
 * pattern, and a regular file (or a symbolic link to one). */
static int tf_wanted(const tf_source *s, int dfd, const struct dirent *de) {
    struct stat st;
    if (de->d_name[0] == '.')
        return 0;
    if (s->pattern && fnmatch(s->pattern, de->d_name, 0) != 0)
        return 0;
    if (de->d_type != DT_UNKNOWN && de->d_type != DT_REG && de->d_type != DT_LNK)
        return 0;
    return fstatat(dfd, de->d_name, &st, 0) == 0 && S_ISREG(st.st_mode);
}

/* List the directory's files into *out (sorted). Returns 0, SL_ENOMEM, or
 * SL_EIO when the directory cannot be read (logged once per outage). */
static int tf_list(tf_source *s, tf_names *out) {
    DIR *d = opendir(s->dir);
    if (!d) {
        if (!s->dir_missing)
            sl_api->log(s->h, SL_LOG_WARN,
                        "cannot list directory '%s' (%s); no new files until it "
                        "can be read again",
                        s->dir, strerror(errno));
        s->dir_missing = 1;
        return SL_EIO;
    }
    if (s->dir_missing)
        sl_api->log(s->h, SL_LOG_INFO, "directory '%s' can be listed again", s->dir);
    s->dir_missing = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL)
        if (tf_wanted(s, dirfd(d), de))
            rc = tf_names_add(out, de->d_name, strlen(de->d_name));
    closedir(d);
    tf_names_sort(out);
    return rc;
}

/* At the first start (not a resume): the files already there are seen,
 * unless process_existing asks for them. */
static int tf_source_start(void *instance, sl_error *err) {
    tf_source *s = instance;
    if (s->restored || s->process_existing)
        return 0;
    int rc = tf_list(s, &s->seen);
    if (rc == SL_ENOMEM)
        return sl_api->error_set(err, rc, "text_files: out of memory listing '%s'", s->dir);
    if (rc == 0 && s->seen.n)
        sl_api->log(s->h, SL_LOG_INFO,
                    "%zu file(s) already in '%s' are not read (process_existing: false)", s->seen.n,
                    s->dir);
    return 0;
}

/* ---- reading ---------------------------------------------------------------------- */

/* Emit the assembled line (a '\r' before its '\n' stripped), copied into batch memory. */
static int tf_emit_line(tf_source *s, int64_t ts, sl_emitter *out) {
    size_t len = s->line_len;
    if (len > 0 && s->line[len - 1] == '\r')
        len--;
    sl_value v = sl_bytes_copy(out->mem, s->line, len);
    if (v.type == SL_NULL)
        return SL_ENOMEM;
    sl_api->counter_add(s->c_lines, 1);
    return sl_emit_kv(out, sl_null(), v, ts);
}

/* Add p[0, n) to the current line, or drop it while the line is too long. */
static void tf_append(tf_source *s, const char *p, size_t n) {
    if (s->discarding)
        return;
    if (n > s->max_line - s->line_len) {
        s->discarding = 1;
        s->too_long++;
        sl_api->counter_add(s->c_too_long, 1);
        return;
    }
    memcpy(s->line + s->line_len, p, n);
    s->line_len += n;
}

/* A line ended (or the file did): emit it unless it was too long. */
static int tf_end_line(tf_source *s, int64_t ts, sl_emitter *out) {
    int rc = s->discarding ? 0 : tf_emit_line(s, ts, out);
    s->discarding = 0;
    s->line_len = 0;
    return rc;
}

/* Split one read's bytes into lines. Returns 0 or the emitter's error. */
static int tf_split(tf_source *s, const char *p, size_t n, int64_t ts, sl_emitter *out) {
    const char *e = p + n;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        tf_append(s, p, (size_t)((nl ? nl : e) - p));
        if (!nl)
            break;
        int rc = tf_end_line(s, ts, out);
        if (rc < 0)
            return rc;
        p = nl + 1;
    }
    return 0;
}

/* Read the file `name` of the directory and emit its lines. An unreadable
 * file is logged and counted, not an error; only the emitter's errors
 * (out of memory, stopping) are returned. */
static int tf_read_file(tf_source *s, int dfd, const char *name, int64_t ts, sl_emitter *out) {
    /* O_NONBLOCK: a name swapped for a FIFO since the listing must not block
     * the batch; fstat then refuses anything but a regular file */
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    const char *what = "open";
    int rc = 0;
    ssize_t n = -1;
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
        what = "read (no longer a regular file)";
        errno = EINVAL;
    }
    s->line_len = 0;
    s->discarding = 0;
    s->too_long = 0;
    if (fd >= 0) {
        what = "read";
        while (rc == 0 && ((n = read(fd, s->rbuf, TF_READ_CHUNK)) > 0 || (n < 0 && errno == EINTR)))
            if (n > 0) {
                sl_api->counter_add(s->c_bytes, n);
                rc = tf_split(s, s->rbuf, (size_t)n, ts, out);
            }
    }
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (rc == 0 && n == 0 && (s->line_len > 0 || s->discarding))
        rc = tf_end_line(s, ts, out); /* the last line, without '\n' */
    if (rc < 0)
        return rc;
    if (n < 0) {
        sl_api->counter_add(s->c_failed, 1);
        sl_api->log(s->h, SL_LOG_WARN, "cannot %s '%s/%s' (%s); file skipped", what, s->dir, name,
                    strerror(e));
        return 0;
    }
    sl_api->counter_add(s->c_files, 1);
    if (s->too_long)
        sl_api->log(s->h, SL_LOG_WARN,
                    "'%s/%s': %lld line(s) longer than max_line_bytes (%zu) skipped", s->dir, name,
                    (long long)s->too_long, s->max_line);
    return 0;
}

/* List the directory, read the files that were not in the previous listing
 * (in name order), and keep the new listing as `seen`. */
static int tf_source_poll(void *instance, int64_t batch_time, sl_emitter *out, sl_error *err) {
    tf_source *s = instance;
    tf_names now = {0};
    int rc = tf_list(s, &now);
    if (rc == SL_EIO) { /* logged: try again next batch, keep what was seen */
        tf_names_free(&now);
        return 0;
    }
    int dfd = rc == 0 ? open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (rc == 0 && dfd < 0) {
        tf_names_free(&now);
        return 0; /* it vanished since the listing: the next batch retries */
    }
    for (size_t i = 0; rc == 0 && i < now.n; i++)
        if (!tf_names_has(&s->seen, now.v[i]))
            rc = tf_read_file(s, dfd, now.v[i], batch_time, out);
    if (dfd >= 0)
        close(dfd);
    if (rc < 0) {
        tf_names_free(&now);
        return rc == SL_ENOMEM ? sl_api->error_set(err, rc,
                                                   "text_files: out of memory reading "
                                                   "'%s'",
                                                   s->dir)
                               : rc;
    }
    tf_names_free(&s->seen);
    s->seen = now;
    return 0;
}

/* ---- checkpoints ------------------------------------------------------------------ */

static int tf_put_u32(sl_buf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return sl_api->buf_append(b, x, sizeof x);
}

static uint32_t tf_get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The position: the names seen, as byte TF_SNAPSHOT_FORMAT, a u32 count and
 * per name a u32 length and its bytes (little-endian, names sorted). */
static int tf_source_snapshot(void *instance, sl_buf *out, sl_error *err) {
    tf_source *s = instance;
    uint8_t fmt = TF_SNAPSHOT_FORMAT;
    int rc = sl_api->buf_append(out, &fmt, 1);
    if (rc == 0)
        rc = tf_put_u32(out, (uint32_t)s->seen.n);
    for (size_t i = 0; rc == 0 && i < s->seen.n; i++) {
        size_t len = strlen(s->seen.v[i]);
        rc = tf_put_u32(out, (uint32_t)len);
        if (rc == 0)
            rc = sl_api->buf_append(out, s->seen.v[i], len);
    }
    return rc < 0 ? sl_api->error_set(err, SL_ENOMEM, "text_files: out of memory") : 0;
}

/* Go back to the names a snapshot saw; a damaged one is an error. */
static int tf_source_restore(void *instance, const void *data, size_t len, sl_error *err) {
    tf_source *s = instance;
    const uint8_t *p = data;
    size_t off = 5;
    if (len < 5 || p[0] != TF_SNAPSHOT_FORMAT)
        return sl_api->error_set(err, SL_EINVAL,
                                 "text_files: %s: checkpointed position of %zu bytes has an "
                                 "unknown format (start with --fresh)",
                                 s->dir, len);
    uint32_t count = tf_get_u32(p + 1);
    tf_names_free(&s->seen);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t n = len - off >= 4 ? tf_get_u32(p + off) : UINT32_MAX;
        if (n == UINT32_MAX || n > len - off - 4 || n == 0 || memchr(p + off + 4, 0, n)) {
            tf_names_free(&s->seen);
            return sl_api->error_set(err, SL_EINVAL,
                                     "text_files: %s: checkpointed position damaged at byte %zu",
                                     s->dir, off);
        }
        if (tf_names_add(&s->seen, (const char *)p + off + 4, n) < 0)
            return sl_api->error_set(err, SL_ENOMEM, "text_files: out of memory");
        off += 4 + (size_t)n;
    }
    tf_names_sort(&s->seen);
    s->restored = 1;
    sl_api->log(s->h, SL_LOG_INFO, "resuming %s: %zu file(s) already read", s->dir, s->seen.n);
    return 0;
}

static const sl_source_ops tf_source_ops = {
    .struct_size = sizeof(sl_source_ops),
    .mode = SL_SOURCE_DIRECT,
    .start = tf_source_start,
    .run = NULL,
    .poll = tf_source_poll,
    .commit = NULL,
    .snapshot = tf_source_snapshot,
    .restore = tf_source_restore,
};

const sl_component tf_source_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SOURCE,
    .name = "text_files",
    .doc = "Direct source, Spark's textFileStream: at each batch the lines of the regular files "
           "that appeared in directory `path` since the last batch (moved in by rename; names "
           "starting with '.' ignored), each line a string. Files already there at the first "
           "start are skipped unless process_existing. The files read are checkpointed. "
           "Counters: files, lines, bytes, lines_too_long, files_failed.",
    .params = tf_source_params,
    .create = tf_source_create,
    .destroy = tf_source_destroy,
    .ops = &tf_source_ops,
};

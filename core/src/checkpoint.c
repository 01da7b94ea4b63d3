/*
 * checkpoint.c — the checkpoint file format and store.
 *
 * A checkpoint directory holds one file per checkpointed batch time:
 *
 *     checkpoint-<batch time in ms, 15 digits, zero-padded>.slck
 *
 * so that names sort by time. A file being written is named
 * ".checkpoint-<time>.tmp-<pid>" in the same directory and renamed over the
 * final name once complete and fsynced. The file (all integers
 * little-endian; varint = unsigned LEB128, at most 10 bytes):
 *
 *     offset  size  field
 *     0       4     magic "SLCK"
 *     4       4     u32 format version (2; 1 is read too: the same layout)
 *     8       8     i64 batch time, ms since the epoch (equals the name's)
 *     16      4     u32 section count N
 *     20      ...   N sections, each:
 *                     varint name length (1..1024), name bytes (no NUL)
 *                     varint payload length, payload bytes
 *                     u32 CRC32C of the payload
 *     end-8   4     u32 CRC32C of every byte before it (header + sections)
 *     end-4   4     magic "KCLS"
 *
 * Any truncation loses the end marker or breaks the file CRC; any damage
 * to a byte breaks a CRC (CRC32C detects every 1-, 2- and 3-bit error and
 * every burst up to 32 bits). The reader trusts no length: it reads the
 * header and footer, checks the file's size against the memory the process
 * may use, then checks each section's lengths against the bytes that are
 * left and streams its payload through the CRC before anything is
 * allocated for it; payloads are read into memory only once every CRC
 * matched (see sl__ckpt_load_file).
 *
 * A section payload is opaque here; the engine fills it with the sl__buf
 * writers and the value codec below. A value is one tag byte and a body:
 *
 *     0 null | 5 null key (SL_NULL with len 1) | 1 int: zigzag varint |
 *     2 double: 8 bytes (IEEE bits) | 3 bytes: varint length, bytes |
 *     4 list: varint count, items (nested at most 256 deep)
 *
 * docs/checkpoints.md describes the format, the write protocol, retention
 * and fallback for users and operators.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sluice/plugin.h>

#include "checkpoint.h"
#include "codec.h"
#include "crc32c.h"
#include "error.h"
#include "log.h"

#define MAGIC_HEAD "SLCK"
#define MAGIC_FOOT "KCLS"
#define HEADER_SIZE 20
#define FOOTER_SIZE 8
#define STAGE_CAP (256 * 1024) /* writes are batched into this much */

#define FINAL_PREFIX "checkpoint-"
#define FINAL_SUFFIX ".slck"
#define TEMP_PREFIX ".checkpoint-"
#define TEMP_INFIX ".tmp-"
#define TIME_DIGITS 15

/* ============================================================================
 * Files and directories
 * ========================================================================== */

/* malloc'd "a/b" (without doubling a trailing slash of a), or NULL on OOM. */
static char *path_join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    while (la > 0 && a[la - 1] == '/') /* "/" becomes "", giving "/b" */
        la--;
    char *p = malloc(la + lb + 2);
    if (!p)
        return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

int sl__ckpt_file_name(int64_t t, char *buf, size_t cap) {
    return snprintf(buf, cap, FINAL_PREFIX "%015lld" FINAL_SUFFIX, (long long)t);
}

/* Parse exactly TIME_DIGITS decimal digits at s. */
static bool parse_time(const char *s, int64_t *t) {
    int64_t v = 0;
    for (int i = 0; i < TIME_DIGITS; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *t = v;
    return true;
}

/* Is name a checkpoint file name? Its time goes to *t. */
static bool is_final_name(const char *name, int64_t *t) {
    size_t lp = strlen(FINAL_PREFIX), ls = strlen(FINAL_SUFFIX);
    return strlen(name) == lp + TIME_DIGITS + ls && strncmp(name, FINAL_PREFIX, lp) == 0 &&
           strcmp(name + lp + TIME_DIGITS, FINAL_SUFFIX) == 0 && parse_time(name + lp, t);
}

/* Is name a temp file name (".checkpoint-<time>.tmp-<digits>")? */
static bool is_temp_name(const char *name, int64_t *t) {
    size_t lp = strlen(TEMP_PREFIX), li = strlen(TEMP_INFIX);
    if (strlen(name) <= lp + TIME_DIGITS + li || strncmp(name, TEMP_PREFIX, lp) != 0 ||
        !parse_time(name + lp, t) || strncmp(name + lp + TIME_DIGITS, TEMP_INFIX, li) != 0)
        return false;
    for (const char *s = name + lp + TIME_DIGITS + li; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* write(2) all n bytes, retrying on EINTR and short writes; 0 or -1 (errno). */
static int write_all(int fd, const void *p, size_t n) {
    const uint8_t *s = p;
    while (n) {
        ssize_t k = write(fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return -1;
        }
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

/* pwrite(2) all n bytes at off; 0 or -1 (errno). */
static int pwrite_all(int fd, const void *p, size_t n, off_t off) {
    const uint8_t *s = p;
    while (n) {
        ssize_t k = pwrite(fd, s, n, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return -1;
        }
        s += k;
        n -= (size_t)k;
        off += k;
    }
    return 0;
}

/* fsync the directory itself, so that a rename or create in it is durable.
 * Filesystems that cannot fsync a directory (EINVAL) are taken as done. */
static int fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0 && e == EINVAL)
        return 0;
    errno = e;
    return rc;
}

/* fsync the directory that contains path (path is modified, then restored). */
static int fsync_parent(char *path) {
    char *slash = strrchr(path, '/');
    if (!slash)
        return fsync_dir(".");
    if (slash == path)
        return fsync_dir("/");
    *slash = 0;
    int rc = fsync_dir(path);
    *slash = '/';
    return rc;
}

/* mkdir -p dir (mode 0755); each directory created is made durable in its
 * parent, or a power loss could take the checkpoint directory (and every
 * fsynced file in it) away. Returns 0, SL_ENOMEM or SL_EIO (err names the
 * component that failed). */
static int mkdirs(const char *dir, sl_error *err) {
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    char *p = strdup(dir);
    if (!p)
        return sl__error_set(err, SL_ENOMEM, "checkpoint: out of memory");
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != 0)
            continue;
        char c = *s;
        *s = 0;
        int rc = mkdir(p, 0755);
        if ((rc != 0 && errno != EEXIST) || (rc == 0 && fsync_parent(p) != 0)) {
            int e = errno;
            sl__error_set(err, SL_EIO, "checkpoint: cannot create directory '%s': %s", p,
                          strerror(e));
            free(p);
            return SL_EIO;
        }
        *s = c;
        if (!c)
            break;
    }
    free(p);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return sl__error_set(err, SL_EIO,
                             "checkpoint: '%s' exists and is not a directory: give the "
                             "checkpoint a directory of its own",
                             dir);
    return 0;
}

/* ============================================================================
 * Writing
 * ========================================================================== */

struct sl__ckpt_writer {
    char *dir;
    char *tmp;   /* the temp file's path */
    char *final; /* the name it gets on commit */
    int fd;
    int64_t t;
    uint32_t nsec;
    uint32_t crc;  /* CRC32C of the bytes after the header, so far */
    uint64_t body; /* how many bytes that is */
    sl__buf stage; /* bytes not yet written; starts with the header's place */
    char **names;  /* section names so far (duplicates are refused) */
    int failed;    /* the first error, 0 if none */
    sl_error ferr;
};

/* Put the writer in the failed state with this error (copied to err). */
static int w_fail(sl__ckpt_writer *w, sl_error *err, int code, const char *fmt, ...)
    SL_PRINTF(4, 5);
static int w_fail(sl__ckpt_writer *w, sl_error *err, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->ferr.msg, sizeof w->ferr.msg, fmt, ap);
    va_end(ap);
    w->ferr.code = code;
    w->failed = code;
    if (err)
        *err = w->ferr;
    return code;
}

/* The temp file could not be written: fail with the path and the reason. */
static int w_fail_io(sl__ckpt_writer *w, sl_error *err, const char *what, int e) {
    return w_fail(w, err, SL_EIO, "checkpoint: cannot %s '%s': %s", what, w->tmp, strerror(e));
}

/* Write out the staging buffer. */
static int w_flush(sl__ckpt_writer *w, sl_error *err) {
    if (w->stage.len && write_all(w->fd, w->stage.data, w->stage.len) != 0)
        return w_fail_io(w, err, "write", errno);
    sl__buf_reset(&w->stage);
    return 0;
}

/* Append n body bytes whose CRC32C is crc (staged, or written directly when
 * large). */
static int w_emit_crc(sl__ckpt_writer *w, const void *p, size_t n, uint32_t crc, sl_error *err) {
    w->crc = sl__crc32c_combine(w->crc, crc, n);
    w->body += n;
    if (w->stage.len + n <= STAGE_CAP) {
        if (sl__buf_put(&w->stage, p, n))
            return w_fail(w, err, SL_ENOMEM, "checkpoint: out of memory writing '%s'", w->tmp);
        return 0;
    }
    if (w_flush(w, err))
        return w->failed;
    if (n >= STAGE_CAP / 2) {
        if (write_all(w->fd, p, n) != 0)
            return w_fail_io(w, err, "write", errno);
        return 0;
    }
    if (sl__buf_put(&w->stage, p, n))
        return w_fail(w, err, SL_ENOMEM, "checkpoint: out of memory writing '%s'", w->tmp);
    return 0;
}

static int w_emit(sl__ckpt_writer *w, const void *p, size_t n, sl_error *err) {
    return w_emit_crc(w, p, n, sl__crc32c(0, p, n), err);
}

/* Free the writer and everything it holds (the temp file stays). */
static void w_free(sl__ckpt_writer *w) {
    if (w->fd >= 0)
        close(w->fd);
    for (uint32_t i = 0; i < w->nsec; i++)
        free(w->names[i]);
    free(w->names);
    sl__buf_free(&w->stage);
    free(w->dir);
    free(w->tmp);
    free(w->final);
    free(w);
}

int sl__ckpt_begin(const char *dir, int64_t batch_time, sl__ckpt_writer **out, sl_error *err) {
    *out = NULL;
    if (!dir || !*dir)
        return sl__error_set(err, SL_EINVAL, "checkpoint: no directory given");
    if (batch_time < 0 || batch_time > SL__CKPT_MAX_TIME)
        return sl__error_set(err, SL_EINVAL,
                             "checkpoint: batch time %lld is outside 0..%lld (ms since the epoch)",
                             (long long)batch_time, (long long)SL__CKPT_MAX_TIME);
    int rc = mkdirs(dir, err);
    if (rc)
        return rc;
    char name[64], tname[96];
    sl__ckpt_file_name(batch_time, name, sizeof name);
    snprintf(tname, sizeof tname, TEMP_PREFIX "%015lld" TEMP_INFIX "%ld", (long long)batch_time,
             (long)getpid());
    sl__ckpt_writer *w = calloc(1, sizeof *w);
    if (!w)
        return sl__error_set(err, SL_ENOMEM, "checkpoint: out of memory");
    w->fd = -1;
    w->t = batch_time;
    w->dir = strdup(dir);
    w->tmp = path_join(dir, tname);
    w->final = path_join(dir, name);
    /* the header's place: written last, once the section count is known */
    static const uint8_t zero[HEADER_SIZE];
    if (!w->dir || !w->tmp || !w->final || sl__buf_reserve(&w->stage, STAGE_CAP) ||
        sl__buf_put(&w->stage, zero, HEADER_SIZE)) {
        w_free(w);
        return sl__error_set(err, SL_ENOMEM, "checkpoint: out of memory");
    }
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        int e = errno;
        sl__error_set(err, SL_EIO, "checkpoint: cannot create '%s': %s", w->tmp, strerror(e));
        w_free(w);
        return SL_EIO;
    }
    *out = w;
    return 0;
}

/* Reject an empty, overlong or repeated section name. */
static int check_name(sl__ckpt_writer *w, const char *name, size_t nlen, sl_error *err) {
    if (nlen == 0 || nlen > SL__CKPT_MAX_NAME)
        return w_fail(w, err, SL_EINVAL,
                      "checkpoint: section name of %zu bytes (must be 1..%d) in '%s'", nlen,
                      SL__CKPT_MAX_NAME, w->final);
    for (uint32_t i = 0; i < w->nsec; i++)
        if (strcmp(w->names[i], name) == 0)
            return w_fail(w, err, SL_EINVAL, "checkpoint: section '%s' written twice in '%s'", name,
                          w->final);
    return 0;
}

int sl__ckpt_section(sl__ckpt_writer *w, const char *name, const void *data, size_t len,
                     sl_error *err) {
    if (!w || !name || (len && !data))
        return sl__error_set(err, SL_EINVAL, "checkpoint: section: invalid argument");
    if (w->failed) {
        if (err)
            *err = w->ferr;
        return w->failed;
    }
    size_t nlen = strlen(name);
    if (check_name(w, name, nlen, err))
        return w->failed;
    if (w->nsec == UINT32_MAX)
        return w_fail(w, err, SL_ELIMIT, "checkpoint: too many sections in '%s'", w->final);
    char **names = realloc(w->names, (w->nsec + 1) * sizeof *names);
    char *copy = strdup(name);
    if (names)
        w->names = names;
    if (!names || !copy) {
        free(copy);
        return w_fail(w, err, SL_ENOMEM, "checkpoint: out of memory writing '%s'", w->tmp);
    }
    w->names[w->nsec++] = copy;

    uint8_t v[10], c[4];
    uint32_t pcrc = sl__crc32c(0, data, len);
    sl__put_le(c, pcrc, 4);
    if (w_emit(w, v, sl__varint_encode(v, nlen), err) || w_emit(w, name, nlen, err) ||
        w_emit(w, v, sl__varint_encode(v, len), err) || w_emit_crc(w, data, len, pcrc, err) ||
        w_emit(w, c, 4, err))
        return w->failed;
    return 0;
}

/* Remove the temp file and free the writer. */
void sl__ckpt_abort(sl__ckpt_writer *w) {
    if (!w)
        return;
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    unlink(w->tmp);
    w_free(w);
}

/* Is the file at path plausibly intact (magic, version, end marker, size)?
 * A cheap test for retention, which must not read whole checkpoints. */
static bool quick_check(const char *path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    uint8_t h[8], f[4];
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              st.st_size >= HEADER_SIZE + FOOTER_SIZE && pread(fd, h, 8, 0) == 8 &&
              pread(fd, f, 4, st.st_size - 4) == 4 && memcmp(h, MAGIC_HEAD, 4) == 0 &&
              sl__le32(h + 4) >= SL__CKPT_MIN_VERSION && sl__le32(h + 4) <= SL__CKPT_VERSION &&
              memcmp(f, MAGIC_FOOT, 4) == 0;
    close(fd);
    return ok;
}

/* Remove dir/name, logging why at `level` (and any failure as a warning). */
static void remove_file(const char *dir, const char *name, int level, const char *why) {
    char *p = path_join(dir, name);
    if (!p)
        return;
    if (unlink(p) == 0)
        sl__log(level, "checkpoint: removed '%s' (%s)", p, why);
    else if (errno != ENOENT)
        sl__log(SL_LOG_WARN, "checkpoint: cannot remove '%s' (%s): %s", p, why, strerror(errno));
    free(p);
}

static int cmp_time_desc(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* After committing batch time t: keep t and the newest keep-1 intact older
 * checkpoints; remove the rest, every checkpoint newer than t and every temp
 * file. Best effort: failures are logged. */
static void retain(const char *dir, int64_t t, int keep) {
    int64_t *older = NULL;
    size_t n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        sl__log(SL_LOG_WARN, "checkpoint: cannot list '%s' to remove old checkpoints: %s", dir,
                strerror(errno));
        return;
    }
    struct dirent *e;
    int64_t ft;
    while ((e = readdir(d))) {
        struct stat st;
        bool named = is_temp_name(e->d_name, &ft) || is_final_name(e->d_name, &ft);
        if (named && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            !S_ISREG(st.st_mode)) {
            /* not a file we wrote (a FIFO, a directory, a link): leave it */
            sl__log(SL_LOG_WARN, "checkpoint: '%s/%s' is not a regular file; left alone", dir,
                    e->d_name);
            continue;
        }
        if (is_temp_name(e->d_name, &ft)) {
            remove_file(dir, e->d_name, SL_LOG_INFO, "stale temp file of an interrupted write");
        } else if (is_final_name(e->d_name, &ft) && ft > t) {
            remove_file(dir, e->d_name, SL_LOG_WARN,
                        "newer than the checkpoint just written: left by an earlier run");
        } else if (is_final_name(e->d_name, &ft) && ft < t) {
            int64_t *o = realloc(older, (n + 1) * sizeof *o);
            if (!o)
                break; /* keep everything we did not get to */
            older = o;
            older[n++] = ft;
        }
    }
    closedir(d);
    if (n)
        qsort(older, n, sizeof *older, cmp_time_desc);
    int kept = 1;
    for (size_t i = 0; i < n; i++) {
        char name[64];
        sl__ckpt_file_name(older[i], name, sizeof name);
        char *p = path_join(dir, name);
        bool good = p && quick_check(p);
        free(p);
        if (good && kept < keep)
            kept++;
        else
            remove_file(dir, name, good ? SL_LOG_DEBUG : SL_LOG_WARN,
                        good ? "retention" : "damaged");
    }
    free(older);
}

/* Fill the 20-byte header. */
static void header_encode(uint8_t h[HEADER_SIZE], int64_t t, uint32_t nsec) {
    memcpy(h, MAGIC_HEAD, 4);
    sl__put_le(h + 4, SL__CKPT_VERSION, 4);
    sl__put_le(h + 8, (uint64_t)t, 8);
    sl__put_le(h + 16, nsec, 4);
}

/* Write the footer, the header, fsync and close the temp file. Returns 0 or
 * the writer's (new) error. */
static int w_finish(sl__ckpt_writer *w, sl_error *err) {
    uint8_t h[HEADER_SIZE], f[FOOTER_SIZE];
    header_encode(h, w->t, w->nsec);
    uint32_t fcrc = sl__crc32c_combine(sl__crc32c(0, h, HEADER_SIZE), w->crc, w->body);
    sl__put_le(f, fcrc, 4);
    memcpy(f + 4, MAGIC_FOOT, 4);
    if (sl__buf_put(&w->stage, f, FOOTER_SIZE))
        return w_fail(w, err, SL_ENOMEM, "checkpoint: out of memory writing '%s'", w->tmp);
    if (w_flush(w, err))
        return w->failed;
    if (pwrite_all(w->fd, h, HEADER_SIZE, 0) != 0)
        return w_fail_io(w, err, "write", errno);
    /* after a failed fsync the page cache cannot be trusted: never retry */
    if (fsync(w->fd) != 0)
        return w_fail_io(w, err, "fsync", errno);
    int rc = close(w->fd);
    w->fd = -1;
    if (rc != 0 && errno != EINTR)
        return w_fail_io(w, err, "close", errno);
    return 0;
}

int sl__ckpt_commit(sl__ckpt_writer *w, int keep, sl_error *err) {
    if (!w)
        return sl__error_set(err, SL_EINVAL, "checkpoint: commit without a writer");
    int rc = w->failed;
    if (rc && err)
        *err = w->ferr; /* a section failed earlier */
    if (!rc && keep < 1)
        rc = w_fail(w, err, SL_EINVAL, "checkpoint: keep must be at least 1 (got %d)", keep);
    if (!rc)
        rc = w_finish(w, err);
    if (!rc && rename(w->tmp, w->final) != 0) {
        int e = errno;
        rc = w_fail(w, err, SL_EIO, "checkpoint: cannot rename '%s' to '%s': %s", w->tmp, w->final,
                    strerror(e));
    }
    if (rc) {
        sl__ckpt_abort(w);
        return rc;
    }
    if (fsync_dir(w->dir) != 0) {
        int e = errno;
        sl__error_set(err, SL_EIO,
                      "checkpoint: cannot fsync directory '%s': %s (the checkpoint '%s' is "
                      "written but may not survive a power loss)",
                      w->dir, strerror(e), w->final);
        w_free(w);
        return SL_EIO;
    }
    sl__log(SL_LOG_DEBUG, "checkpoint: wrote '%s' (%u sections, %llu bytes)", w->final, w->nsec,
            (unsigned long long)(HEADER_SIZE + w->body + FOOTER_SIZE));
    retain(w->dir, w->t, keep);
    w_free(w);
    return 0;
}

/* ============================================================================
 * Reading
 * ========================================================================== */

/* Is every byte of s[0..n) printable ASCII (safe to put in a log line)? */
static bool printable(const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

/* Check the fixed parts: size, magic, version, end marker, batch time, from
 * the first min(len, HEADER_SIZE) bytes `h` and the last FOOTER_SIZE bytes
 * `f` (read only when len >= HEADER_SIZE + FOOTER_SIZE) of a file of len
 * bytes. Returns NULL if they hold, or the reason (written to why) if not. */
static const char *check_frame(const uint8_t *h, const uint8_t *f, uint64_t len, int64_t name_time,
                               char *why, size_t cap) {
    if (len == 0)
        return "truncated (empty file)";
    if (memcmp(h, MAGIC_HEAD, len < 4 ? (size_t)len : 4) != 0)
        return "bad magic (not a sluice checkpoint file)";
    if (len < 8) {
        snprintf(why, cap, "truncated (%llu bytes, in the header)", (unsigned long long)len);
        return why;
    }
    uint32_t version = sl__le32(h + 4);
    if (version < SL__CKPT_MIN_VERSION || version > SL__CKPT_VERSION) {
        snprintf(why, cap,
                 "unsupported format version %u (this sluice reads versions %d to %d): written "
                 "by another release of sluice",
                 version, SL__CKPT_MIN_VERSION, SL__CKPT_VERSION);
        return why;
    }
    if (len < HEADER_SIZE + FOOTER_SIZE) {
        snprintf(why, cap, "truncated (%llu bytes, shorter than the header and footer)",
                 (unsigned long long)len);
        return why;
    }
    if (memcmp(f + 4, MAGIC_FOOT, 4) != 0)
        return "truncated (the end marker is missing)";
    int64_t t = (int64_t)((uint64_t)sl__le32(h + 8) | (uint64_t)sl__le32(h + 12) << 32);
    if (name_time >= 0 && t != name_time) {
        snprintf(why, cap, "batch time %lld in the header does not match the file name",
                 (long long)t);
        return why;
    }
    return NULL;
}

/* ---- the memory a checkpoint may take --------------------------------------------- */

static uint64_t load_limit; /* sl__ckpt_set_load_limit; 0 = work it out */

void sl__ckpt_set_load_limit(uint64_t bytes) {
    load_limit = bytes;
}

/* Lower *bound to v (naming `what` as the reason) when v is lower. */
static void lower(uint64_t *bound, const char **why, uint64_t v, const char *what) {
    if (v < *bound) {
        *bound = v;
        *why = what;
    }
}

/* The memory limit of this process's cgroup (v2 memory.max), or UINT64_MAX. */
static uint64_t cgroup_limit(void) {
    char line[512], path[640];
    uint64_t v = UINT64_MAX;
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return v;
    path[0] = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = 0;
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", line + 3);
        }
    fclose(f);
    if (path[0] && (f = fopen(path, "re"))) {
        unsigned long long n;
        if (fscanf(f, "%llu", &n) == 1) /* "max" does not scan: no limit */
            v = n;
        fclose(f);
    }
    return v;
}

/* The most memory this process may use, and what sets it (*what): the
 * physical memory, RLIMIT_AS, RLIMIT_DATA, or the cgroup's memory.max. A
 * checkpoint larger than this cannot be loaded, let alone restored. */
static uint64_t mem_bound(const char **what) {
    if (load_limit) {
        *what = "the load limit set by the program";
        return load_limit;
    }
    uint64_t b = UINT64_MAX;
    *what = "no limit";
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psize > 0)
        lower(&b, what, (uint64_t)pages * (uint64_t)psize, "the physical memory");
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        lower(&b, what, rl.rlim_cur, "RLIMIT_AS, ulimit -v");
    if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        lower(&b, what, rl.rlim_cur, "RLIMIT_DATA, ulimit -d");
    lower(&b, what, cgroup_limit(), "the cgroup's memory.max");
    return b;
}

/* ---- reading a file piece by piece ------------------------------------------------- */

#define READ_CHUNK (64 * 1024) /* payloads are checked through this much memory */

/* An open checkpoint file being verified. */
typedef struct ckpt_in {
    int fd;
    uint64_t len;  /* its size when opened */
    uint8_t *buf;  /* READ_CHUNK bytes */
    uint64_t *off; /* each section's payload offset */
    uint32_t *crc; /* each section's payload CRC */
    size_t cap;    /* entries in sec, off and crc */
} ckpt_in;

/* pread exactly n bytes at off: 0, SL_EIO (errno) or SL_EINVAL (the file
 * is shorter than it was: it shrank while being read). */
static int pread_full(int fd, void *p, size_t n, uint64_t off) {
    uint8_t *d = p;
    while (n) {
        ssize_t k = pread(fd, d, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return SL_EIO;
        if (k == 0)
            return SL_EINVAL;
        d += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* Say why a pread failed: the reason in why, the code returned. */
static int read_failed(int rc, char *why, size_t cap) {
    if (rc == SL_EIO)
        snprintf(why, cap, "read error: %s", strerror(errno));
    else
        snprintf(why, cap, "truncated (the file shrank while being read)");
    return rc;
}

/* Make room for section i in c->sec and in's tables. */
static int grow_tables(sl__ckpt *c, ckpt_in *in, size_t i) {
    if (i < in->cap)
        return 0;
    size_t n = in->cap ? in->cap * 2 : 16;
    sl__ckpt_sec *s = realloc(c->sec, n * sizeof *s);
    if (s)
        c->sec = s;
    uint64_t *o = s ? realloc(in->off, n * sizeof *o) : NULL;
    if (o)
        in->off = o;
    uint32_t *r = o ? realloc(in->crc, n * sizeof *r) : NULL;
    if (r)
        in->crc = r;
    if (!r)
        return SL_ENOMEM;
    in->cap = n;
    return 0;
}

/* The CRC32C of n payload bytes at off, streamed through in->buf. */
static int crc_range(ckpt_in *in, uint64_t off, uint64_t n, uint32_t *crc) {
    uint32_t c = 0;
    while (n) {
        size_t k = n < READ_CHUNK ? (size_t)n : READ_CHUNK;
        int rc = pread_full(in->fd, in->buf, k, off);
        if (rc)
            return rc;
        c = sl__crc32c(c, in->buf, k);
        off += k;
        n -= k;
    }
    *crc = c;
    return 0;
}

/* Read the frame of the section at *pos (name and payload length) and check
 * it against the bytes left before `end`. Fills the name (malloc'd into
 * c->sec[i]), its length and in->off[i]; *hcrc gets the CRC32C of the
 * frame and *hlen its size. Returns 0, SL_ENOMEM, SL_EIO or SL_EINVAL (why). */
static int section_frame(sl__ckpt *c, ckpt_in *in, size_t i, uint32_t nsec, uint64_t pos,
                         uint64_t end, uint32_t *hcrc, size_t *hlen, char *why, size_t cap) {
    uint8_t fr[10 + SL__CKPT_MAX_NAME + 10];
    size_t want = end - pos < sizeof fr ? (size_t)(end - pos) : sizeof fr;
    int rc = pread_full(in->fd, fr, want, pos);
    if (rc)
        return read_failed(rc, why, cap);
    sl__reader r = {fr, want, 0};
    uint64_t nlen, dlen;
    const uint8_t *name;
    if (sl__read_varint(&r, &nlen) == 0 && (nlen == 0 || nlen > SL__CKPT_MAX_NAME)) {
        snprintf(why, cap, "malformed (section %zu has an invalid name)", i + 1);
        return SL_EINVAL;
    }
    if (r.off == 0 || sl__read_raw(&r, (size_t)nlen, &name) || sl__read_varint(&r, &dlen) ||
        dlen > end - pos - r.off || end - pos - r.off - dlen < 4) {
        snprintf(why, cap, "malformed (section %zu of %u runs past the end)", i + 1, nsec);
        return SL_EINVAL;
    }
    if (memchr(name, 0, (size_t)nlen)) {
        snprintf(why, cap, "malformed (section %zu has an invalid name)", i + 1);
        return SL_EINVAL;
    }
    char *nm = malloc((size_t)nlen + 1);
    if (!nm)
        return SL_ENOMEM;
    memcpy(nm, name, (size_t)nlen);
    nm[nlen] = 0;
    c->sec[i] = (sl__ckpt_sec){nm, NULL, (size_t)dlen};
    in->off[i] = pos + r.off;
    *hcrc = sl__crc32c(0, fr, r.off);
    *hlen = r.off;
    return 0;
}

/* Verify every section of the file without loading any: check each frame
 * against the bytes left, stream each payload through CRC32C and compare it
 * with the stored one, then the file checksum (combined from the pieces, so
 * nothing is read twice). Memory: the section table and the names, never a
 * payload. Returns 0, SL_ENOMEM, SL_EIO or SL_EINVAL, the reason in why. */
static int scan_sections(sl__ckpt *c, ckpt_in *in, const uint8_t *h, const uint8_t *f, char *why,
                         size_t cap) {
    uint32_t nsec = sl__le32(h + 16);
    uint64_t pos = HEADER_SIZE, end = in->len - FOOTER_SIZE;
    uint32_t fcrc = sl__crc32c(0, h, HEADER_SIZE);
    if (nsec > (end - pos) / 7) { /* a section takes at least 1 + 1 + 1 + 4 bytes */
        snprintf(why, cap, "malformed (%u sections cannot fit in %llu bytes)", nsec,
                 (unsigned long long)(end - pos));
        return SL_EINVAL;
    }
    for (uint32_t i = 0; i < nsec; i++) {
        uint32_t hcrc, pcrc;
        size_t hlen;
        uint8_t stored[4];
        int rc = grow_tables(c, in, i);
        if (!rc)
            rc = section_frame(c, in, i, nsec, pos, end, &hcrc, &hlen, why, cap);
        if (rc)
            return rc;
        c->n = i + 1;
        size_t dlen = c->sec[i].len;
        if ((rc = crc_range(in, in->off[i], dlen, &pcrc)) ||
            (rc = pread_full(in->fd, stored, 4, in->off[i] + dlen)))
            return read_failed(rc, why, cap);
        if (sl__le32(stored) != pcrc) {
            const char *nm = c->sec[i].name;
            if (printable((const uint8_t *)nm, strlen(nm)))
                snprintf(why, cap, "CRC mismatch in section '%s'", nm);
            else
                snprintf(why, cap, "CRC mismatch in section %u", i + 1);
            return SL_EINVAL;
        }
        in->crc[i] = pcrc;
        fcrc = sl__crc32c_combine(fcrc, hcrc, hlen);
        fcrc = sl__crc32c_combine(fcrc, pcrc, dlen);
        fcrc = sl__crc32c(fcrc, stored, 4);
        pos = in->off[i] + dlen + 4;
    }
    if (pos != end) {
        snprintf(why, cap, "malformed (%llu bytes after the last section)",
                 (unsigned long long)(end - pos));
        return SL_EINVAL;
    }
    if (fcrc != sl__le32(f)) {
        snprintf(why, cap, "CRC mismatch (the file checksum does not match its contents)");
        return SL_EINVAL;
    }
    return 0;
}

/* Read the verified payloads into one block (c->image, at most the file's
 * size, which mem_bound allowed) and check each CRC again: the file may
 * have changed since the scan. Returns 0, SL_ENOMEM, SL_EIO or SL_EINVAL. */
static int load_payloads(sl__ckpt *c, ckpt_in *in, char *why, size_t cap) {
    size_t total = 0;
    for (size_t i = 0; i < c->n; i++)
        total += c->sec[i].len;
    if (!(c->image = malloc(total ? total : 1)))
        return SL_ENOMEM;
    c->image_len = total;
    uint8_t *p = c->image;
    for (size_t i = 0; i < c->n; i++) {
        int rc = pread_full(in->fd, p, c->sec[i].len, in->off[i]);
        if (rc)
            return read_failed(rc, why, cap);
        if (sl__crc32c(0, p, c->sec[i].len) != in->crc[i]) {
            snprintf(why, cap, "changed while being read (section %zu)", i + 1);
            return SL_EINVAL;
        }
        c->sec[i].data = p;
        p += c->sec[i].len;
    }
    return 0;
}

/* Open path for reading without blocking (a FIFO with a checkpoint's name
 * must not hang the start) and refuse anything but a regular file. Returns
 * the descriptor, or a negative code with err set. */
static int open_ckpt(const char *path, uint64_t *len, sl_error *err) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return sl__error_set(err, e == ENOENT ? SL_ENOTFOUND : SL_EIO,
                             "checkpoint '%s': cannot open: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sl__error_set(err, SL_EINVAL, "checkpoint '%s': not a regular file", path);
    }
    *len = (uint64_t)st.st_size;
    return fd;
}

/* Check the frame and the size of the open file, then scan and load it.
 * Returns 0, or a code with the reason in why (SL_ELIMIT: too large). */
static int verify_and_load(sl__ckpt *c, ckpt_in *in, int64_t name_time, char *why, size_t cap) {
    uint8_t h[HEADER_SIZE] = {0}, f[FOOTER_SIZE] = {0};
    size_t hl = in->len < HEADER_SIZE ? (size_t)in->len : HEADER_SIZE;
    int rc = pread_full(in->fd, h, hl, 0);
    if (!rc && in->len >= HEADER_SIZE + FOOTER_SIZE)
        rc = pread_full(in->fd, f, FOOTER_SIZE, in->len - FOOTER_SIZE);
    if (rc)
        return read_failed(rc, why, cap);
    const char *bad = check_frame(h, f, in->len, name_time, why, cap);
    if (bad) {
        if (bad != why)
            snprintf(why, cap, "%s", bad);
        return SL_EINVAL;
    }
    const char *what;
    uint64_t bound = mem_bound(&what);
    if (in->len > bound || in->len >= SIZE_MAX) {
        snprintf(why, cap,
                 "%llu bytes, more than this process may use (%llu bytes: %s); raise the "
                 "limit to resume from it",
                 (unsigned long long)in->len, (unsigned long long)bound, what);
        return SL_ELIMIT;
    }
    if (!(in->buf = malloc(READ_CHUNK)))
        return SL_ENOMEM;
    if ((rc = scan_sections(c, in, h, f, why, cap)) || (rc = load_payloads(c, in, why, cap)))
        return rc;
    c->version = sl__le32(h + 4);
    c->batch_time = (int64_t)((uint64_t)sl__le32(h + 8) | (uint64_t)sl__le32(h + 12) << 32);
    return 0;
}

int sl__ckpt_load_file(const char *path, sl__ckpt *out, sl_error *err) {
    memset(out, 0, sizeof *out);
    const char *base = strrchr(path, '/');
    int64_t name_time = -1;
    if (!is_final_name(base ? base + 1 : path, &name_time))
        name_time = -1;
    ckpt_in in = {.fd = -1};
    in.fd = open_ckpt(path, &in.len, err);
    if (in.fd < 0)
        return in.fd;
    char why[256];
    int rc = verify_and_load(out, &in, name_time, why, sizeof why);
    if (!rc && !(out->path = strdup(path)))
        rc = SL_ENOMEM;
    close(in.fd);
    free(in.buf);
    free(in.off);
    free(in.crc);
    if (rc == SL_ENOMEM)
        sl__error_set(err, rc, "checkpoint '%s': out of memory loading %llu bytes", path,
                      (unsigned long long)in.len);
    else if (rc)
        sl__error_set(err, rc, "checkpoint '%s': %s", path, why);
    if (rc)
        sl__ckpt_free(out);
    return rc;
}

int sl__ckpt_list(const char *dir, int64_t **times, size_t *n, sl_error *err) {
    *times = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        if (e == ENOENT)
            return sl__error_set(err, SL_ENOTFOUND, "checkpoint directory '%s' does not exist",
                                 dir);
        return sl__error_set(err, SL_EIO, "checkpoint: cannot read directory '%s': %s", dir,
                             strerror(e));
    }
    int64_t *v = NULL, t;
    size_t cnt = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_final_name(e->d_name, &t))
            continue;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            int64_t *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                free(v);
                closedir(d);
                return sl__error_set(err, SL_ENOMEM, "checkpoint: out of memory listing '%s'", dir);
            }
            v = nv;
            cap = nc;
        }
        v[cnt++] = t;
    }
    closedir(d);
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_time_desc);
    *times = v;
    *n = cnt;
    return 0;
}

int sl__ckpt_load_latest(const char *dir, sl__ckpt *out, sl_error *err) {
    memset(out, 0, sizeof *out);
    int64_t *times;
    size_t n, skipped = 0;
    int rc = sl__ckpt_list(dir, &times, &n, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        char name[64];
        sl__ckpt_file_name(times[i], name, sizeof name);
        char *path = path_join(dir, name);
        if (!path) {
            free(times);
            return sl__error_set(err, SL_ENOMEM, "checkpoint: out of memory");
        }
        sl_error e = {0};
        rc = sl__ckpt_load_file(path, out, &e);
        free(path);
        if (rc == 0) {
            if (skipped)
                sl__log(SL_LOG_WARN, "checkpoint: using the older checkpoint '%s'", out->path);
            free(times);
            return 0;
        }
        if (rc == SL_ENOMEM) {
            free(times);
            if (err)
                *err = e;
            return rc;
        }
        sl__log(SL_LOG_WARN, "%s; skipping it", e.msg);
        skipped++;
    }
    free(times);
    if (skipped)
        return sl__error_set(err, SL_ENOTFOUND,
                             "no intact checkpoint in '%s': %zu damaged file(s) skipped (see "
                             "the warnings); remove them to start fresh",
                             dir, skipped);
    return sl__error_set(err, SL_ENOTFOUND, "no checkpoint in '%s'", dir);
}

const uint8_t *sl__ckpt_find(const sl__ckpt *c, const char *name, size_t *len) {
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->sec[i].name, name) == 0) {
            if (len)
                *len = c->sec[i].len;
            return c->sec[i].data;
        }
    if (len)
        *len = 0;
    return NULL;
}

void sl__ckpt_free(sl__ckpt *c) {
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->sec[i].name);
    free(c->sec);
    free(c->image);
    free(c->path);
    memset(c, 0, sizeof *c);
}

/* ============================================================================
 * The directory lock
 * ========================================================================== */

/* The pid recorded in dir/.lock (a hint for the message), or "unknown". */
static void lock_owner(const char *path, char *owner, size_t cap) {
    snprintf(owner, cap, "unknown");
    int f = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (f < 0)
        return;
    ssize_t k = pread(f, owner, cap - 1, 0);
    if (k > 0) {
        owner[k] = 0;
        owner[strcspn(owner, "\n")] = 0;
    } else {
        snprintf(owner, cap, "unknown");
    }
    close(f);
}

/* Record our pid in dir/.lock for the message of a refused second process.
 * Only a hint: the lock is the directory's flock, and failures do not matter. */
static void lock_note_pid(const char *path) {
    int f = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    if (f < 0)
        return;
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(f, 0) != 0 || pwrite_all(f, pid, (size_t)n, 0) != 0)
        sl__log(SL_LOG_DEBUG, "checkpoint: cannot write the pid into '%s'", path);
    close(f);
}

/* The lock is an flock(2) on the checkpoint directory itself, held on an
 * open descriptor: no file's existence matters, so deleting dir/.lock does
 * not let a second writer in (it did when the lock was that file's flock:
 * a new file was a new lock), and a lock file left by a crash never blocks
 * (the kernel drops the flock when its holder dies). */
int sl__ckpt_lock(const char *dir, int *fd, sl_error *err) {
    *fd = -1;
    if (!dir || !*dir)
        return sl__error_set(err, SL_EINVAL, "checkpoint: no directory given");
    int rc = mkdirs(dir, err);
    if (rc)
        return rc;
    char *path = path_join(dir, ".lock");
    if (!path)
        return sl__error_set(err, SL_ENOMEM, "checkpoint: out of memory");
    int f = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f < 0) {
        int e = errno;
        sl__error_set(err, SL_EIO, "checkpoint: cannot open directory '%s': %s", dir, strerror(e));
        free(path);
        return SL_EIO;
    }
    while ((rc = flock(f, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        int e = errno;
        char owner[32];
        lock_owner(path, owner, sizeof owner);
        if (e == EWOULDBLOCK)
            sl__error_set(err, SL_ESTATE,
                          "checkpoint directory '%s' is in use by another sluice process (pid "
                          "%s): stop it, or give this pipeline its own checkpoint directory",
                          dir, owner);
        else
            sl__error_set(err, SL_EIO, "checkpoint: cannot lock '%s': %s", dir, strerror(e));
        close(f);
        free(path);
        return e == EWOULDBLOCK ? SL_ESTATE : SL_EIO;
    }
    lock_note_pid(path);
    free(path);
    *fd = f;
    return 0;
}

void sl__ckpt_unlock(int fd) {
    if (fd >= 0)
        close(fd); /* releases the flock; .lock stays (only a hint) */
}

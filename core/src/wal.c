/*
 * wal.c — the receiver write-ahead log.
 *
 * A directory of segments, each named after the ordinal of its first
 * record, "wal-%020llu.log", so that names sort in log order. A segment (all
 * integers little-endian; varint = unsigned LEB128):
 *
 *     offset  size  field
 *     0       4     magic "SLWL"
 *     4       4     u32 format version (1)
 *     8       8     u64 ordinal of the segment's first record
 *     16      4     u32 CRC32C of bytes 0..15
 *     20      ...   log records, each:
 *                     u32 payload length L
 *                     u32 CRC32C of the payload
 *                     u32 CRC32C of the 8 bytes before it (so a damaged
 *                         length is told from a cut-short record)
 *                     L bytes of payload: varint ordinal of the first
 *                     record (the one after the previous log record's),
 *                     varint count (>= 1), zigzag varint timestamp T of
 *                     the first record, then count times: key and value
 *                     in the checkpoint's value codec (codec.h), zigzag
 *                     varint of the record's timestamp minus T
 *
 * One log record is one store() call. Appends go to a new segment after
 * every start and whenever the active one would pass segment_bytes; the
 * segment before is fsynced first, so only the newest segment can end in a
 * torn record. Recovery cuts such a tail off; anything else damaged stops
 * the replay of that segment (sl__wal_recover).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sluice/plugin.h>
#include <sluice/record.h>
#include <sluice/sluice.h>

#include "arena.h"
#include "clock.h"
#include "codec.h"
#include "crc32c.h"
#include "error.h"
#include "log.h"
#include "wal.h"

#define MAGIC "SLWL"
#define NAME_PREFIX "wal-"
#define NAME_SUFFIX ".log"
#define NAME_DIGITS 20
#define MIN_RECORD_BYTES 3 /* a record's key, value and time take at least a byte each */

typedef struct wal_seg {
    uint64_t first; /* ordinal of its first record (its name) */
    uint64_t end;   /* ordinal after its last intact record */
    uint64_t bytes; /* file size */
} wal_seg;

struct sl__wal {
    char *dir;
    char name[128]; /* the stream, for messages */
    size_t max, seg_max;
    int64_t sync_ms;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t room;  /* a trim made room */
    wal_seg *segs;        /* oldest first; the last is the active one when fd >= 0 */
    size_t nsegs, cap;
    int fd;
    uint64_t next;
    uint64_t bytes;
    bool recovered;
    bool dirty; /* appended since the last fsync */
    int64_t last_sync, last_warning;
    int failed; /* an append failed: no more appends */
    sl_error ferr;
    sl__buf enc;
    sl__wal_stats st;
};

/* ---- files ---------------------------------------------------------------------- */

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

/* fsync a directory (so that a create or rename in it is durable); a file
 * system that cannot (EINVAL) counts as done. */
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

/* mkdir -p dir (0755), each new directory made durable in its parent. */
static int mkdirs(const char *dir, sl_error *err) {
    char *p = strdup(dir);
    if (!p)
        return sl__error_set(err, SL_ENOMEM, "receiver log: out of memory");
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != 0)
            continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0755) == 0) {
            char *slash = strrchr(p, '/');
            if (slash && slash != p) {
                *slash = 0;
                fsync_dir(p);
                *slash = '/';
            }
        } else if (errno != EEXIST) {
            int e = errno;
            sl__error_set(err, SL_EIO, "receiver log: cannot create directory '%s': %s", p,
                          strerror(e));
            free(p);
            return SL_EIO;
        }
        *s = c;
        if (!c)
            break;
    }
    free(p);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return sl__error_set(err, SL_EIO, "receiver log: '%s' is not a directory", dir);
    return 0;
}

static void seg_path(const sl__wal *w, uint64_t first, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/" NAME_PREFIX "%020llu" NAME_SUFFIX, w->dir, (unsigned long long)first);
}

/* Is name a segment name? Its first ordinal goes to *first. */
static bool parse_name(const char *name, uint64_t *first) {
    size_t lp = strlen(NAME_PREFIX), ls = strlen(NAME_SUFFIX);
    if (strlen(name) != lp + NAME_DIGITS + ls || strncmp(name, NAME_PREFIX, lp) != 0 ||
        strcmp(name + lp + NAME_DIGITS, NAME_SUFFIX) != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < NAME_DIGITS; i++) {
        char c = name[lp + (size_t)i];
        if (c < '0' || c > '9' || v > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(c - '0');
    }
    *first = v;
    return true;
}

/* Read the regular file at path whole into *img (malloc'd). 0 or SL_E*. */
static int read_all(const char *path, uint8_t **img, size_t *len, sl_error *err) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return sl__error_set(err, SL_EIO, "receiver log: cannot read '%s': %s", path,
                             fd >= 0 && !S_ISREG(st.st_mode) ? "not a regular file" : strerror(e));
    }
    size_t size = (size_t)st.st_size, got = 0;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return sl__error_set(err, SL_ENOMEM, "receiver log: out of memory reading '%s'", path);
    }
    while (got < size) {
        ssize_t k = read(fd, buf + got, size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return sl__error_set(err, SL_EIO, "receiver log: cannot read '%s': %s", path,
                                 strerror(e));
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    *img = buf;
    *len = got;
    return 0;
}

/* ---- encoding --------------------------------------------------------------------- */

void sl__wal_header_encode(uint8_t h[SL__WAL_HEADER], uint64_t first) {
    memcpy(h, MAGIC, 4);
    sl__put_le(h + 4, SL__WAL_VERSION, 4);
    sl__put_le(h + 8, first, 8);
    sl__put_le(h + 16, sl__crc32c(0, h, 16), 4);
}

int sl__wal_record_encode(sl__buf *out, uint64_t first, const sl_record *recs, size_t n) {
    size_t start = out->len;
    static const uint8_t room[SL__WAL_REC_HEADER];
    int rc = sl__buf_put(out, room, sizeof room);
    rc = rc ? rc : sl__buf_put_varint(out, first);
    rc = rc ? rc : sl__buf_put_varint(out, n);
    int64_t base = n ? recs[0].ts : 0;
    rc = rc ? rc : sl__buf_put_svarint(out, base);
    for (size_t i = 0; i < n && !rc; i++) {
        rc = sl__value_encode(out, &recs[i].key);
        rc = rc ? rc : sl__value_encode(out, &recs[i].value);
        /* wrapping difference: one byte for the records of one read */
        rc = rc ? rc : sl__buf_put_svarint(out, (int64_t)((uint64_t)recs[i].ts - (uint64_t)base));
    }
    if (rc)
        return rc;
    size_t plen = out->len - start - SL__WAL_REC_HEADER;
    if (plen > UINT32_MAX)
        return SL_ELIMIT;
    uint8_t *h = out->data + start;
    sl__put_le(h, plen, 4);
    sl__put_le(h + 4, sl__crc32c(0, h + SL__WAL_REC_HEADER, plen), 4);
    sl__put_le(h + 8, sl__crc32c(0, h, 8), 4);
    return 0;
}

/* ---- the reader ------------------------------------------------------------------- */

static bool all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static int scan_stop(sl__wal_scan *res, int status, const char *fmt, ...) SL_PRINTF(3, 4);
static int scan_stop(sl__wal_scan *res, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->why, sizeof res->why, fmt, ap);
    va_end(ap);
    res->status = status;
    return 0;
}

/* Check the segment header; 0 and res->end = SL__WAL_HEADER if it holds. */
static void scan_header(const uint8_t *img, size_t len, sl__wal_scan *res) {
    if (len < SL__WAL_HEADER) {
        scan_stop(res, SL__WAL_TORN, "a partial segment header (%zu bytes)", len);
        return;
    }
    if (memcmp(img, MAGIC, 4) != 0) {
        scan_stop(res, all_zero(img, len) ? SL__WAL_TORN : SL__WAL_CORRUPT,
                  "bad magic (not a receiver log segment)");
        return;
    }
    if (sl__le32(img + 16) != sl__crc32c(0, img, 16)) {
        scan_stop(res, SL__WAL_CORRUPT, "segment header checksum mismatch");
        return;
    }
    uint32_t version = sl__le32(img + 4);
    if (version != SL__WAL_VERSION) {
        scan_stop(res, SL__WAL_CORRUPT, "unsupported format version %u (this sluice reads %d)",
                  version, SL__WAL_VERSION);
        return;
    }
    res->first = res->next = (uint64_t)sl__le32(img + 8) | (uint64_t)sl__le32(img + 12) << 32;
    res->end = SL__WAL_HEADER;
}

/* Decode the payload of one log record (count records at ordinal
 * res->next) into *recs (grown as needed) with bytes from a; returns the
 * count, or 0 with res->why set when it is malformed. */
static size_t decode_payload(const uint8_t *p, size_t plen, sl__wal_scan *res, sl_record **recs,
                             size_t *cap, sl__arena *a, int *oom) {
    sl__reader r = {p, plen, 0};
    uint64_t first, n;
    int64_t base;
    if (sl__read_varint(&r, &first) || sl__read_varint(&r, &n) || sl__read_svarint(&r, &base) ||
        n == 0 || n > sl__reader_left(&r) / MIN_RECORD_BYTES) {
        snprintf(res->why, sizeof res->why, "malformed record (count)");
        return 0;
    }
    if (first != res->next || first > UINT64_MAX - n) {
        snprintf(res->why, sizeof res->why, "record ordinal %llu where %llu was expected",
                 (unsigned long long)first, (unsigned long long)res->next);
        return 0;
    }
    if (n > *cap) {
        sl_record *nr = realloc(*recs, n * sizeof *nr);
        if (!nr) {
            *oom = 1;
            return 0;
        }
        *recs = nr;
        *cap = n;
    }
    sl__arena_reset(a);
    sl_mem mem;
    sl__arena_mem(a, &mem);
    for (uint64_t i = 0; i < n; i++) {
        sl_record *rec = &(*recs)[i];
        int rc = sl__value_decode(&r, &rec->key, &mem);
        rc = rc ? rc : sl__value_decode(&r, &rec->value, &mem);
        int64_t d = 0;
        rc = rc ? rc : sl__read_svarint(&r, &d);
        rec->ts = (int64_t)((uint64_t)base + (uint64_t)d);
        if (rc) {
            *oom = rc == SL_ENOMEM;
            snprintf(res->why, sizeof res->why, "malformed record %llu of %llu",
                     (unsigned long long)i + 1, (unsigned long long)n);
            return 0;
        }
    }
    if (sl__reader_left(&r)) {
        snprintf(res->why, sizeof res->why, "%zu bytes after the last record", sl__reader_left(&r));
        return 0;
    }
    return (size_t)n;
}

/* Check the log record at off; returns its payload length, or sets the
 * status (TORN / CORRUPT) and returns SIZE_MAX. */
static size_t check_record(const uint8_t *img, size_t len, size_t off, sl__wal_scan *res) {
    size_t left = len - off;
    const uint8_t *h = img + off;
    if (left < SL__WAL_REC_HEADER) {
        scan_stop(res, SL__WAL_TORN, "a partial record header (%zu bytes)", left);
        return SIZE_MAX;
    }
    if (sl__le32(h + 8) != sl__crc32c(0, h, 8)) {
        if (all_zero(h, left))
            scan_stop(res, SL__WAL_TORN, "zeros to the end (%zu bytes)", left);
        else
            scan_stop(res, SL__WAL_CORRUPT, "record header checksum mismatch");
        return SIZE_MAX;
    }
    size_t plen = sl__le32(h);
    if (plen > left - SL__WAL_REC_HEADER) {
        scan_stop(res, SL__WAL_TORN, "a record of %zu bytes with %zu left", plen,
                  left - SL__WAL_REC_HEADER);
        return SIZE_MAX;
    }
    if (sl__le32(h + 4) != sl__crc32c(0, h + SL__WAL_REC_HEADER, plen)) {
        bool last = off + SL__WAL_REC_HEADER + plen == len;
        scan_stop(res, last ? SL__WAL_TORN : SL__WAL_CORRUPT, "record checksum mismatch%s",
                  last ? " in the last record" : "");
        return SIZE_MAX;
    }
    return plen;
}

int sl__wal_scan_bytes(const uint8_t *img, size_t len, uint64_t from, sl__wal_visit fn, void *ud,
                       sl__wal_scan *res, sl_error *err) {
    memset(res, 0, sizeof *res);
    scan_header(img, len, res);
    if (!res->end)
        return 0;
    sl_record *recs = NULL;
    size_t cap = 0;
    sl__arena a;
    sl__arena_init(&a, 64 * 1024);
    int rc = 0;
    for (size_t off = SL__WAL_HEADER; off < len && !rc;) {
        size_t plen = check_record(img, len, off, res);
        if (plen == SIZE_MAX)
            break;
        int oom = 0;
        size_t n = decode_payload(img + off + SL__WAL_REC_HEADER, plen, res, &recs, &cap, &a, &oom);
        if (oom) {
            rc = sl__error_set(err, SL_ENOMEM, "receiver log: out of memory reading a record");
            break;
        }
        if (!n) {
            res->status = SL__WAL_CORRUPT;
            break;
        }
        uint64_t first = res->next;
        if (fn && first + n > from) {
            size_t skip = from > first ? (size_t)(from - first) : 0;
            rc = fn(ud, first + skip, recs + skip, n - skip, err);
        }
        res->next = first + n;
        res->nrec++;
        off += SL__WAL_REC_HEADER + plen;
        res->end = off;
    }
    free(recs);
    sl__arena_free(&a);
    return rc;
}

/* ---- opening and recovery ------------------------------------------------------------ */

static int cmp_seg(const void *a, const void *b) {
    uint64_t x = ((const wal_seg *)a)->first, y = ((const wal_seg *)b)->first;
    return x < y ? -1 : x > y;
}

/* Add a segment to the list (keeps order when appended in order). */
static int seg_push(sl__wal *w, uint64_t first, uint64_t bytes) {
    if (w->nsegs == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 16;
        wal_seg *ns = realloc(w->segs, nc * sizeof *ns);
        if (!ns)
            return SL_ENOMEM;
        w->segs = ns;
        w->cap = nc;
    }
    w->segs[w->nsegs++] = (wal_seg){first, first, bytes};
    w->bytes += bytes;
    return 0;
}

/* List the segment files of w->dir into w->segs, oldest first. */
static int list_segments(sl__wal *w, sl_error *err) {
    DIR *d = opendir(w->dir);
    if (!d) {
        int e = errno;
        return sl__error_set(err, SL_EIO, "receiver log: cannot read directory '%s': %s", w->dir,
                             strerror(e));
    }
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        uint64_t first;
        if (!parse_name(e->d_name, &first))
            continue;
        char path[4200];
        seg_path(w, first, path, sizeof path);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            sl__log(SL_LOG_WARN, "receiver log: '%s' is not a regular file; left alone", path);
            continue;
        }
        if (seg_push(w, first, (uint64_t)st.st_size))
            rc = sl__error_set(err, SL_ENOMEM, "receiver log: out of memory");
    }
    closedir(d);
    if (w->nsegs)
        qsort(w->segs, w->nsegs, sizeof *w->segs, cmp_seg);
    return rc;
}

int sl__wal_open(const char *dir, const sl__wal_opts *o, sl__wal **out, sl_error *err) {
    *out = NULL;
    sl__wal *w = calloc(1, sizeof *w);
    if (!w || !(w->dir = strdup(dir))) {
        free(w);
        return sl__error_set(err, SL_ENOMEM, "receiver log: out of memory");
    }
    snprintf(w->name, sizeof w->name, "%s", o->name ? o->name : "receiver");
    w->max = o->max_bytes ? o->max_bytes : SL__WAL_DEFAULT_MAX;
    w->seg_max = o->segment_bytes ? o->segment_bytes : w->max / 8;
    if (w->seg_max > SL__WAL_SEGMENT_MAX && !o->segment_bytes)
        w->seg_max = SL__WAL_SEGMENT_MAX;
    w->sync_ms = o->sync_ms;
    w->fd = -1;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->room, &ca);
    pthread_condattr_destroy(&ca);
    int rc = mkdirs(dir, err);
    rc = rc ? rc : list_segments(w, err);
    if (rc) {
        sl__wal_close(w);
        return rc;
    }
    *out = w;
    return 0;
}

/* Recovery found segment i (path) damaged as res says: cut a torn tail of
 * the newest segment, or report where replay of this one stopped. */
static void repair(sl__wal *w, size_t i, const char *path, const sl__wal_scan *res, size_t len) {
    wal_seg *s = &w->segs[i];
    bool last = i + 1 == w->nsegs;
    if (res->status == SL__WAL_TORN && last) {
        sl__log(SL_LOG_WARN,
                "receiver log %s: torn tail cut at offset %zu (%zu bytes: %s): a write that a "
                "crash cut short, never acknowledged to the receiver",
                path, res->end, len - res->end, res->why);
        if (truncate(path, (off_t)res->end) != 0)
            sl__log(SL_LOG_WARN, "receiver log: cannot truncate '%s': %s", path, strerror(errno));
        w->st.truncated_bytes += (int64_t)(len - res->end);
        w->bytes -= s->bytes - res->end;
        s->bytes = res->end;
        return;
    }
    sl__log(SL_LOG_ERROR,
            "receiver log %s: corrupt record at offset %zu (%s): replay of this segment stops "
            "there; the records after ordinal %llu in it are lost",
            path, res->end, res->why, (unsigned long long)(res->end ? res->next : s->first));
    w->st.corrupt_segments++;
}

/* Say which ordinals recovery cannot find (deleted or lost segments). */
static void report_gap(const char *name, uint64_t want, uint64_t have, const char *where) {
    if (have > want)
        sl__log(SL_LOG_ERROR,
                "receiver log of %s: records %llu..%llu are missing %s (segments deleted or "
                "lost): they cannot be replayed",
                name, (unsigned long long)want, (unsigned long long)have - 1, where);
}

/* Recover segment i: scan it, visit, repair. Returns 0 or the error. */
static int recover_one(sl__wal *w, size_t i, uint64_t from, sl__wal_visit fn, void *ud,
                       sl_error *err) {
    char path[4200];
    wal_seg *s = &w->segs[i];
    seg_path(w, s->first, path, sizeof path);
    uint8_t *img = NULL;
    size_t len = 0;
    int rc = read_all(path, &img, &len, err);
    if (rc)
        return rc;
    sl__wal_scan res;
    /* a segment whose header disagrees with its name (renamed, or its header
     * damaged into another valid one) replays nothing: its ordinals would
     * collide with those of the segments around it */
    sl__wal_scan_bytes(img, len < SL__WAL_HEADER ? len : SL__WAL_HEADER, 0, NULL, NULL, &res, err);
    bool renamed = res.end && res.first != s->first;
    rc = sl__wal_scan_bytes(img, len, from, renamed ? NULL : fn, ud, &res, err);
    free(img);
    if (rc)
        return rc;
    if (res.end && res.first != s->first) {
        res.status = SL__WAL_CORRUPT;
        res.end = 0;
        snprintf(res.why, sizeof res.why, "its header says ordinal %llu, its name %llu",
                 (unsigned long long)res.first, (unsigned long long)s->first);
    }
    if (res.status != SL__WAL_CLEAN)
        repair(w, i, path, &res, len);
    s->end = res.end ? res.next : s->first;
    if (res.status == SL__WAL_CORRUPT && s->end == s->first)
        s->end = s->first + 1; /* a new segment must not take its name */
    return 0;
}

/* Drop the newest segment if it holds no record (a header only, or less). */
static void drop_empty_tail(sl__wal *w) {
    if (!w->nsegs)
        return;
    wal_seg *s = &w->segs[w->nsegs - 1];
    if (s->end != s->first || s->bytes > SL__WAL_HEADER)
        return;
    char path[4200];
    seg_path(w, s->first, path, sizeof path);
    if (unlink(path) == 0 || errno == ENOENT) {
        w->bytes -= s->bytes;
        w->nsegs--;
    }
}

int sl__wal_recover(sl__wal *w, uint64_t from, sl__wal_visit fn, void *ud, sl_error *err) {
    int rc = 0;
    int64_t replayed = 0;
    if (from && w->nsegs && w->segs[0].first > from)
        report_gap(w->name, from, w->segs[0].first, "before the oldest segment");
    for (size_t i = 0; i < w->nsegs && !rc; i++) {
        if (i > 0 && w->segs[i - 1].end < w->segs[i].first)
            report_gap(w->name, w->segs[i - 1].end, w->segs[i].first, "between two segments");
        uint64_t a = w->segs[i].first;
        rc = recover_one(w, i, from, fn, ud, err);
        if (w->segs[i].end > from)
            replayed += (int64_t)(w->segs[i].end - (a > from ? a : from));
    }
    if (rc)
        return rc;
    drop_empty_tail(w);
    pthread_mutex_lock(&w->lock);
    w->next = from;
    for (size_t i = 0; i < w->nsegs; i++)
        if (w->segs[i].end > w->next)
            w->next = w->segs[i].end;
    w->st.replayed_records = fn ? replayed : 0;
    w->recovered = true;
    w->last_sync = sl__mono_ms();
    pthread_mutex_unlock(&w->lock);
    return 0;
}

/* ---- appending ---------------------------------------------------------------------- */

/* Fail the log for good: an append that half-happened leaves the file in a
 * state no later append may build on. */
static int w_fail(sl__wal *w, sl_error *err, const char *what, const char *path, int e) {
    sl__error_set(&w->ferr, SL_EIO, "%s: receiver log: cannot %s '%s': %s", w->name, what, path,
                  strerror(e));
    w->failed = SL_EIO;
    if (err)
        *err = w->ferr;
    return SL_EIO;
}

/* Start a new segment at w->next: header, fsync, and the directory fsync
 * that makes its name durable. */
static int new_segment(sl__wal *w, sl_error *err) {
    char path[4200];
    seg_path(w, w->next, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return w_fail(w, err, "create", path, errno);
    uint8_t h[SL__WAL_HEADER];
    sl__wal_header_encode(h, w->next);
    if (write_all(fd, h, sizeof h) != 0 || fsync(fd) != 0 || fsync_dir(w->dir) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return w_fail(w, err, "write", path, e);
    }
    if (seg_push(w, w->next, SL__WAL_HEADER)) {
        close(fd);
        unlink(path);
        return sl__error_set(err, SL_ENOMEM, "%s: receiver log: out of memory", w->name);
    }
    w->fd = fd;
    return 0;
}

/* fsync the active segment. With the lock. */
static int sync_active(sl__wal *w, sl_error *err) {
    if (w->fd < 0 || !w->dirty)
        return 0;
    if (fdatasync(w->fd) != 0) { /* never retried: the page cache cannot be trusted after */
        char path[4200];
        seg_path(w, w->segs[w->nsegs - 1].first, path, sizeof path);
        return w_fail(w, err, "fsync", path, errno);
    }
    w->dirty = false;
    w->last_sync = sl__mono_ms();
    return 0;
}

/* Wait while `need` more bytes would pass the bound and the log holds
 * something a checkpoint can cover; not once *stop is set. With the lock. */
static void wait_room(sl__wal *w, size_t need, const atomic_bool *stop) {
    if (w->bytes + need <= w->max || w->bytes == 0 || (stop && atomic_load(stop)))
        return;
    int64_t t0 = sl__mono_ms();
    if (!w->last_warning || t0 - w->last_warning >= 30000) {
        w->last_warning = t0;
        sl__log(SL_LOG_WARN,
                "%s: the receiver log is full (%llu of %zu bytes, receiver_wal_max): the "
                "receiver waits until a checkpoint covers its oldest segment (this warning "
                "repeats at most every 30 s)",
                w->name, (unsigned long long)w->bytes, w->max);
    }
    while (w->bytes + need > w->max && w->bytes > 0 && !(stop && atomic_load(stop))) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->room, &w->lock, &ts);
    }
    w->st.blocked_ms += sl__mono_ms() - t0;
}

/* Write the encoded record in w->enc to the active segment (rotating first
 * when it would grow past seg_max). With the lock. */
static int write_record(sl__wal *w, sl_error *err) {
    size_t rl = w->enc.len;
    wal_seg *s = w->fd >= 0 ? &w->segs[w->nsegs - 1] : NULL;
    if (s && s->bytes + rl > w->seg_max && s->end > s->first) {
        w->dirty = true; /* a sealed segment is always synced: only the newest can be torn */
        int rc = sync_active(w, err);
        close(w->fd);
        w->fd = -1;
        if (rc)
            return rc;
    }
    if (w->fd < 0) {
        int rc = new_segment(w, err);
        if (rc)
            return rc;
    }
    s = &w->segs[w->nsegs - 1];
    if (write_all(w->fd, w->enc.data, rl) != 0) {
        int e = errno;
        char path[4200];
        seg_path(w, s->first, path, sizeof path);
        if (ftruncate(w->fd, (off_t)s->bytes) != 0) /* take the partial record back */
            sl__log(SL_LOG_ERROR, "receiver log: cannot truncate '%s': %s", path, strerror(errno));
        return w_fail(w, err, "write", path, e);
    }
    s->bytes += rl;
    w->bytes += rl;
    w->dirty = true;
    return 0;
}

int sl__wal_append(sl__wal *w, const sl_record *recs, size_t n, const atomic_bool *stop,
                   uint64_t *first, sl_error *err) {
    if (n == 0) {
        *first = w->next;
        return 0;
    }
    pthread_mutex_lock(&w->lock);
    int rc = 0;
    if (!w->recovered)
        rc = sl__error_set(err, SL_ESTATE, "%s: receiver log appended before recovery", w->name);
    else if (w->failed) {
        rc = w->failed;
        if (err)
            *err = w->ferr;
    } else if (w->next > UINT64_MAX - n) /* the reader could not read it back */
        rc = sl__error_set(err, SL_ELIMIT,
                           "%s: receiver log: the record ordinals are exhausted "
                           "(at %llu): remove the log with sluice run --fresh",
                           w->name, (unsigned long long)w->next);
    sl__buf_reset(&w->enc);
    if (!rc && (rc = sl__wal_record_encode(&w->enc, w->next, recs, n)))
        sl__error_set(err, rc, "%s: receiver log: cannot encode %zu records: %s", w->name, n,
                      sl_strerror(rc));
    if (!rc) {
        wait_room(w, w->enc.len, stop);
        rc = write_record(w, err);
    }
    if (!rc && (w->sync_ms == 0 || sl__mono_ms() - w->last_sync >= w->sync_ms))
        rc = sync_active(w, err);
    if (!rc) {
        *first = w->next;
        w->next += n;
        w->segs[w->nsegs - 1].end = w->next;
        w->st.appended_records += (int64_t)n;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void sl__wal_sync_due(sl__wal *w) {
    pthread_mutex_lock(&w->lock);
    if (!w->failed && sync_active(w, NULL))
        sl__log(SL_LOG_ERROR, "%s", w->ferr.msg);
    pthread_mutex_unlock(&w->lock);
}

int sl__wal_trim(sl__wal *w, uint64_t covered) {
    int n = 0;
    pthread_mutex_lock(&w->lock);
    while (w->nsegs > 0) {
        wal_seg *s = &w->segs[0];
        uint64_t end = w->nsegs > 1 ? w->segs[1].first : s->end;
        if (end > covered || (w->nsegs == 1 && w->fd >= 0 && s->end != w->next))
            break;
        char path[4200];
        seg_path(w, s->first, path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT) {
            sl__log(SL_LOG_WARN, "receiver log: cannot delete '%s': %s", path, strerror(errno));
            break;
        }
        if (w->nsegs == 1 && w->fd >= 0) { /* the active one, wholly covered */
            close(w->fd);
            w->fd = -1;
            w->dirty = false;
        }
        w->bytes -= s->bytes;
        memmove(w->segs, w->segs + 1, (w->nsegs - 1) * sizeof *w->segs);
        w->nsegs--;
        n++;
    }
    w->st.deleted_segments += n;
    pthread_cond_broadcast(&w->room);
    pthread_mutex_unlock(&w->lock);
    return n;
}

void sl__wal_stats_get(sl__wal *w, sl__wal_stats *st) {
    pthread_mutex_lock(&w->lock);
    *st = w->st;
    st->first = w->nsegs ? w->segs[0].first : w->next;
    st->next = w->next;
    st->bytes = w->bytes;
    st->segments = w->nsegs;
    pthread_mutex_unlock(&w->lock);
}

const char *sl__wal_dir(const sl__wal *w) {
    return w->dir;
}

void sl__wal_close(sl__wal *w) {
    if (!w)
        return;
    if (w->fd >= 0) {
        if (!w->failed && sync_active(w, NULL))
            sl__log(SL_LOG_ERROR, "%s", w->ferr.msg);
        close(w->fd);
    }
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->room);
    sl__buf_free(&w->enc);
    free(w->segs);
    free(w->dir);
    free(w);
}

/* ---- where logs live ------------------------------------------------------------------ */

int sl__wal_dir_for(const char *ckpt, const char *stream, char *buf, size_t cap) {
    int n = snprintf(buf, cap, "%s/" SL__WAL_SUBDIR "/", ckpt);
    if (n < 0 || (size_t)n >= cap)
        return SL_ELIMIT;
    size_t len = (size_t)n;
    for (const unsigned char *p = (const unsigned char *)stream; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
                     (*p == '.' && p != (const unsigned char *)stream);
        if (len + 4 >= cap)
            return SL_ELIMIT;
        if (plain)
            buf[len++] = (char)*p;
        else
            len += (size_t)snprintf(buf + len, cap - len, "%%%02X", *p);
    }
    buf[len] = 0;
    return 0;
}

/* Remove the segments in one stream's log folder, then the folder. */
static int remove_folder(const char *dir, int *removed, sl_error *err) {
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int rc = 0;
    uint64_t first;
    while (!rc && (e = readdir(d))) {
        if (!parse_name(e->d_name, &first))
            continue;
        char path[4800];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path)
            continue;
        if (unlink(path) != 0 && errno != ENOENT)
            rc = sl__error_set(err, SL_EIO, "--fresh: cannot remove '%s': %s", path,
                               strerror(errno));
        else
            (*removed)++;
    }
    closedir(d);
    if (!rc)
        rmdir(dir); /* fails, harmlessly, if something else is in it */
    return rc;
}

int sl__wal_remove_all(const char *ckpt, sl_error *err) {
    char top[4200];
    snprintf(top, sizeof top, "%s/" SL__WAL_SUBDIR, ckpt);
    DIR *d = opendir(top);
    if (!d)
        return 0;
    struct dirent *e;
    int rc = 0, removed = 0;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        char dir[4500];
        if ((size_t)snprintf(dir, sizeof dir, "%s/%s", top, e->d_name) >= sizeof dir)
            continue;
        rc = remove_folder(dir, &removed, err);
    }
    closedir(d);
    if (!rc)
        rmdir(top);
    return rc ? rc : removed;
}

/*
 * fuzz_wal.c — the receiver write-ahead log's recovery (core/src/wal.c:
 * sl__wal_open + sl__wal_recover) on a log segment as a crash may leave it:
 * a torn tail, flipped bits, wrong lengths or CRCs, a header that does not
 * match the file's name.
 *
 * The harness writes the segment into an empty directory (in /dev/shm when
 * there is one), named "wal-<ordinal, 20 digits>.log" after the ordinal in
 * its header, as the writer names it; opens the log and recovers it. What
 * must hold for every input:
 *
 * - the records come out in order, with consecutive ordinals from `from`
 *   on, and never more than the bytes could hold (3 bytes a record at the
 *   least); the same records as the segment reader on the same bytes
 *   (sl__wal_scan_bytes), none when the name and the header disagree;
 * - a clean segment logs nothing; a torn tail is cut off (the file ends
 *   where the last intact record ends, or is removed if it holds none)
 *   with a WARN naming the file; damage elsewhere stops the replay with an
 *   ERROR naming the file; a failure returns a message naming the log;
 * - afterwards the log takes an append whose ordinal follows everything
 *   replayed, and a second recovery replays exactly that record.
 *
 * Input: a flags byte, then the segment. Bit 0: the harness first writes
 * the right CRC32Cs into the segment header and into every record it can
 * walk, so that the fuzzer gets past the checksums into the record decoder.
 * Bit 1: the file is named one ordinal past its header. Bits 2-7: recovery
 * starts that many ordinals after the header's first (`from`).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "internal.h"
#include "wal.h"

static char base[64]; /* the log directory, made once */

/* What the log callback saw about the segment file. */
static struct {
    const char *path;
    int warns, errors; /* WARN / ERROR lines that name the file */
} logged;

static void on_log(void *ud, int level, const char *line) {
    (void)ud;
    bool names = logged.path && strstr(line, logged.path);
    if (level == SL_LOG_WARN && names)
        logged.warns++;
    else if (level == SL_LOG_ERROR && names)
        logged.errors++;
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "log %d: %s\n", level, line);
}

static void fail(const char *what) {
    fprintf(stderr, "fuzz_wal: %s\n", what);
    abort();
}

/* Remove every file of the log directory (what the last input left). */
static void clear_dir(void) {
    DIR *d = opendir(base);
    if (!d)
        fail("cannot read the log directory");
    struct dirent *e;
    char p[sizeof base + 260];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", base, e->d_name);
            unlink(p);
        }
    closedir(d);
}

static void remove_dir(void) {
    clear_dir();
    rmdir(base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    struct stat st;
    const char *tmp = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(base, sizeof base, "%s/fuzz_wal.XXXXXX", tmp);
    if (!mkdtemp(base))
        fail("cannot make a temporary directory");
    atexit(remove_dir);
    sl_set_log_callback(on_log, NULL);
    return 0;
}

/* Put the right CRCs into the segment header and each record it walks to;
 * a length past the end keeps a right header CRC (a torn tail). */
static void fix_crcs(uint8_t *img, size_t len) {
    if (len < SL__WAL_HEADER)
        return;
    sl__put_le(img + 16, sl__crc32c(0, img, 16), 4);
    for (size_t off = SL__WAL_HEADER; len - off >= SL__WAL_REC_HEADER;) {
        uint8_t *h = img + off;
        size_t plen = sl__le32(h), left = len - off - SL__WAL_REC_HEADER;
        if (plen <= left)
            sl__put_le(h + 4, sl__crc32c(0, h + SL__WAL_REC_HEADER, plen), 4);
        sl__put_le(h + 8, sl__crc32c(0, h, 8), 4);
        if (plen > left)
            break;
        off += SL__WAL_REC_HEADER + plen;
    }
}

/* The records a replay hands over: checked for order as they come. */
typedef struct seen {
    uint64_t from, next, n;
    bool any;
} seen;

static int visit(void *ud, uint64_t first, const sl_record *recs, size_t n, sl_error *err) {
    (void)recs;
    (void)err;
    seen *s = ud;
    if (n == 0 || first < s->from || (s->any && first != s->next))
        fail("records out of order, or an empty call");
    s->any = true;
    s->next = first + n;
    s->n += n;
    return 0;
}

static void write_file(const char *path, const uint8_t *img, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (len && write(fd, img, len) != (ssize_t)len))
        fail("cannot write the segment");
    close(fd);
}

/* Open and recover the log from `from` into s; the return code of recover. */
static int recover(uint64_t from, seen *s, sl__wal **w, sl_error *err) {
    sl__wal_opts o = {1 << 20, 0, 0, "fuzz"};
    memset(s, 0, sizeof *s);
    s->from = from;
    if (sl__wal_open(base, &o, w, err) != 0)
        fail("cannot open the log");
    int rc = sl__wal_recover(*w, from, visit, s, err);
    if (rc && !strstr(err->msg, base))
        fail("a failed recovery does not name the log");
    return rc;
}

/* After recovery: one append follows every replayed ordinal, and a second
 * recovery from it replays exactly that record. */
static void append_and_replay(sl__wal *w, const seen *s, uint64_t from) {
    sl_record r = {sl_null(), sl_bytes("fuzz", 4), 7};
    uint64_t at = 0;
    sl_error err = {0, ""};
    if (sl__wal_append(w, &r, 1, NULL, &at, &err) != 0) {
        if (!err.msg[0])
            fail("a failed append without a message");
        sl__wal_close(w);
        return;
    }
    if (at < from || (s->any && at < s->next))
        fail("an append reuses an ordinal that was replayed");
    sl__wal_close(w);
    seen again;
    if (recover(at, &again, &w, &err) != 0 || again.n != 1 || again.next != at + 1)
        fail("the appended record is not replayed alone");
    sl__wal_close(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    size_t len = size - 1;
    uint8_t *img = malloc(len ? len : 1);
    if (!img)
        return 0;
    memcpy(img, data + 1, len);
    if (data[0] & 1)
        fix_crcs(img, len);
    uint64_t hdr = len >= 16 ? (uint64_t)sl__le32(img + 8) | (uint64_t)sl__le32(img + 12) << 32 : 0;
    uint64_t name = hdr + ((data[0] >> 1) & 1), from = hdr + (data[0] >> 2);
    if (from < hdr)
        from = hdr; /* no wrap-around: from stays at or after the header's first */
    char path[256];
    snprintf(path, sizeof path, "%s/wal-%020llu.log", base, (unsigned long long)name);
    clear_dir();
    write_file(path, img, len);

    seen ref = {from, 0, 0, false}, got;
    sl__wal_scan res;
    sl_error err = {0, ""};
    if (sl__wal_scan_bytes(img, len, from, visit, &ref, &res, &err) != 0)
        fail("the segment reader failed");
    memset(&logged, 0, sizeof logged);
    logged.path = path;
    sl__wal *w = NULL;
    int rc = recover(from, &got, &w, &err);
    logged.path = NULL;
    bool mismatch = res.end && name != hdr;
    if (got.n && (got.n * 3 + SL__WAL_HEADER + 15 > len))
        fail("more records than the bytes could hold");
    if (got.n != (mismatch ? 0 : ref.n) || (got.any && got.next != ref.next))
        fail("recovery replays other records than the segment reader finds");
    struct stat st;
    bool present = stat(path, &st) == 0;
    if (res.status == SL__WAL_CLEAN && !mismatch && (logged.warns || logged.errors))
        fail("a clean segment logged a warning or an error");
    if (res.status == SL__WAL_TORN && !mismatch &&
        (!logged.warns || (present ? (size_t)st.st_size != res.end : res.nrec != 0)))
        fail("a torn tail is not cut with a warning naming the file");
    if ((res.status == SL__WAL_CORRUPT || mismatch) &&
        (!logged.errors || !present || (size_t)st.st_size != len))
        fail("a corrupt segment is not reported with an error naming the file, or changed");
    if (rc == 0)
        append_and_replay(w, &got, from);
    else
        sl__wal_close(w);
    free(img);
    return 0;
}

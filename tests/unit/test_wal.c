/*
 * test_wal.c — core/src/wal.c, the receiver write-ahead log, on real files.
 *
 * Each test writes a log in a temp directory through sl__wal_append, then
 * damages, trims or fills it and reopens it as a restart would
 * (sl__wal_open + sl__wal_recover), checking what the replay hands back
 * record by record, what the log says (file names and offsets), and what
 * is left on disk.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "unit.h"

/* ---- helpers ------------------------------------------------------------------------ */

static char cap_path[512];
static int cap_saved = -1;

/* Capture stderr (the engine's log) until cap_end. */
static void cap_begin(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(cap_path, sizeof cap_path, "%s/sluice-cap-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(cap_path);
    CU_ASSERT_FATAL(fd >= 0);
    fflush(stderr);
    cap_saved = dup(2);
    dup2(fd, 2);
    close(fd);
}

/* Stop capturing; the captured text (malloc'd). */
static char *cap_end(void) {
    fflush(stderr);
    dup2(cap_saved, 2);
    close(cap_saved);
    FILE *f = fopen(cap_path, "rb");
    char *s = calloc(1, 1 << 16);
    if (f && s)
        (void)!fread(s, 1, (1 << 16) - 1, f);
    if (f)
        fclose(f);
    unlink(cap_path);
    return s;
}

/* What a replay handed back: the records' values as "ordinal:value" text. */
typedef struct seen {
    char text[1 << 15];
    size_t len;
    uint64_t n;
    uint64_t last; /* ordinal after the last record seen */
} seen;

static int visit(void *ud, uint64_t first, const sl_record *recs, size_t n, sl_error *err) {
    seen *s = ud;
    for (size_t i = 0; i < n; i++) {
        char v[256];
        sl__value_format(&recs[i].value, SL_FORMAT_JSON, v, sizeof v);
        int k = snprintf(s->text + s->len, sizeof s->text - s->len, "%llu:%s@%lld ",
                         (unsigned long long)(first + i), v, (long long)recs[i].ts);
        if (k > 0 && (size_t)k < sizeof s->text - s->len)
            s->len += (size_t)k;
    }
    s->n += n;
    s->last = first + n;
    return 0;
}

/* Open the log in dir with a segment size and a bound. */
static sl__wal *open_log(const char *dir, size_t seg, size_t max) {
    sl__wal_opts o = {max, seg, 0, "lines"};
    sl__wal *w = NULL;
    sl_error err = {0};
    int rc = sl__wal_open(dir, &o, &w, &err);
    unit_check(rc == 0, __FILE__, __LINE__, "open %s: %s", dir, err.msg);
    return w;
}

/* Open and recover from `from`, collecting what is replayed into s. */
static sl__wal *reopen(const char *dir, size_t seg, size_t max, uint64_t from, seen *s) {
    sl__wal *w = open_log(dir, seg, max);
    sl_error err = {0};
    memset(s, 0, sizeof *s);
    if (w)
        ASSERT_INT_EQ(sl__wal_recover(w, from, visit, s, &err), 0);
    return w;
}

/* Append `n` records "v<start>".."v<start+n-1>" (timestamps 1000 + i). */
static uint64_t append_n(sl__wal *w, int start, int n) {
    sl_record recs[64];
    char text[64][16];
    for (int i = 0; i < n; i++) {
        snprintf(text[i], sizeof text[i], "v%d", start + i);
        recs[i] = (sl_record){sl_null(), sl_bytes(text[i], strlen(text[i])), 1000 + start + i};
    }
    uint64_t first = 0;
    sl_error err = {0};
    int rc = sl__wal_append(w, recs, (size_t)n, NULL, &first, &err);
    unit_check(rc == 0, __FILE__, __LINE__, "append: %s", err.msg);
    return first;
}

/* The segment files of dir, sorted, as "name:size " text. */
static void list_dir(const char *dir, char *buf, size_t cap) {
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char path[1024];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            stat(path, &st);
            len += (size_t)snprintf(buf + len, cap - len, "%s:%lld ", names[i]->d_name,
                                    (long long)st.st_size);
        }
        free(names[i]);
    }
    if (n >= 0)
        free(names);
}

static char *seg_file(const char *dir, uint64_t first, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/wal-%020llu.log", dir, (unsigned long long)first);
    return buf;
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* ---- tests ------------------------------------------------------------------------- */

/* Every kind of value and timestamp comes back as it was, with its ordinal;
 * a restart continues the ordinals and replays only from `from`, even
 * from the middle of one store() call. */
static void test_roundtrip(void) {
    char dir[256];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    seen s;
    sl__wal *w = reopen(dir, 0, 0, 0, &s);
    CU_ASSERT_FATAL(w != NULL);
    ASSERT_INT_EQ(s.n, 0);
    sl_value items[2] = {sl_int(7), sl_double(-0.5)};
    sl_record recs[4] = {
        {sl_null(), sl_bytes("a\nb\0c", 5), -5},
        {sl_bytes("k", 1), sl_int(-42), INT64_MAX},
        {sl_null_key(), sl_list(items, 2), 0},
        {sl_null(), sl_null(), INT64_MIN},
    };
    uint64_t first = 99;
    sl_error err = {0};
    ASSERT_INT_EQ(sl__wal_append(w, recs, 4, NULL, &first, &err), 0);
    ASSERT_INT_EQ(first, 0);
    ASSERT_INT_EQ(append_n(w, 0, 3), 4);
    sl__wal_close(w);

    w = reopen(dir, 0, 0, 0, &s);
    ASSERT_INT_EQ(s.n, 7);
    ASSERT_STR_EQ(s.text, "0:\"a\\nb\\u0000c\"@-5 1:-42@9223372036854775807 2:[7,-0.5]@0 "
                          "3:null@-9223372036854775808 4:\"v0\"@1000 5:\"v1\"@1001 6:\"v2\"@1002 ");
    ASSERT_INT_EQ(append_n(w, 3, 1), 7); /* the ordinals go on */
    sl__wal_close(w);

    w = reopen(dir, 0, 0, 5, &s); /* from the middle of the second store() */
    ASSERT_STR_EQ(s.text, "5:\"v1\"@1001 6:\"v2\"@1002 7:\"v3\"@1003 ");
    sl__wal_close(w);
    w = reopen(dir, 0, 0, 100, &s); /* a checkpoint beyond the log: nothing, and go on at 100 */
    ASSERT_INT_EQ(s.n, 0);
    ASSERT_INT_EQ(append_n(w, 0, 1), 100);
    sl__wal_close(w);
    unit_rmtree(dir);
}

/* A record cut short by a crash — inside its payload, inside its header,
 * with a damaged last byte, or followed by the zeros a power loss leaves —
 * is cut off with a WARN naming the file and the offset; the records before
 * it replay, and the next append goes on after the last intact one. A
 * segment left with no record at all is removed. The segment here is a
 * 20-byte header and two 28-byte records (at 20 and 48; 76 bytes). */
static void test_torn_tail(void) {
    static const struct {
        int mode; /* 0: cut `n` bytes off the end; 1: flip the last byte; 2: add n zeros */
        long n;
        const char *what;
        long good;     /* the offset it is cut at */
        uint64_t left; /* records replayed */
    } cases[] = {{0, 3, "a record of 16 bytes with 13 left", 48, 2},
                 {0, 20, "a partial record header (8 bytes)", 48, 2},
                 {1, 0, "record checksum mismatch in the last record", 48, 2},
                 {2, 4096, "zeros to the end (4096 bytes)", 76, 4},
                 {0, 30, "a record of 16 bytes with 14 left", 20, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char dir[256], path[512], listing[1024], want[64];
        CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
        seen s;
        sl__wal *w = reopen(dir, 0, 0, 0, &s);
        append_n(w, 0, 2);
        append_n(w, 2, 2);
        sl__wal_close(w);
        seg_file(dir, 0, path, sizeof path);
        long size = file_size(path);
        ASSERT_INT_EQ(size, 76);
        if (cases[c].mode == 0) {
            CU_ASSERT_FATAL(truncate(path, size - cases[c].n) == 0);
        } else {
            FILE *f = fopen(path, "r+b");
            if (cases[c].mode == 1) {
                fseek(f, size - 1, SEEK_SET);
                int ch = fgetc(f);
                fseek(f, size - 1, SEEK_SET);
                fputc(ch ^ 1, f);
            } else {
                fseek(f, 0, SEEK_END);
                for (long i = 0; i < cases[c].n; i++)
                    fputc(0, f);
            }
            fclose(f);
        }
        cap_begin();
        w = reopen(dir, 0, 0, 0, &s);
        char *log = cap_end();
        ASSERT_CONTAINS(log, "WARN");
        ASSERT_CONTAINS(log, path);
        snprintf(want, sizeof want, "torn tail cut at offset %ld", cases[c].good);
        ASSERT_CONTAINS(log, want);
        ASSERT_CONTAINS(log, cases[c].what);
        free(log);
        ASSERT_INT_EQ(s.n, cases[c].left);
        ASSERT_INT_EQ(file_size(path), cases[c].good > 20 ? cases[c].good : -1);
        ASSERT_INT_EQ(append_n(w, 9, 1), cases[c].left);
        sl__wal_close(w);
        list_dir(dir, listing, sizeof listing);
        snprintf(want, sizeof want, "wal-%020llu.log", (unsigned long long)cases[c].left);
        unit_check(strstr(listing, want) != NULL, __FILE__, __LINE__,
                   "case %zu: appends go on in %s (%s)", c, want, listing);
        unit_rmtree(dir);
    }
}

/* A damaged record followed by intact ones (a bit flip, not a crash) stops
 * the replay of its segment with an ERROR naming the file and the offset;
 * the next segment still replays, and nothing is truncated. */
static void test_corrupt_record(void) {
    char dir[256], path[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    seen s;
    sl__wal *w = reopen(dir, 120, 0, 0, &s); /* ~two 4-record appends a segment */
    for (int i = 0; i < 6; i++)
        append_n(w, 4 * i, 4);
    sl__wal_stats st;
    sl__wal_stats_get(w, &st);
    CU_ASSERT(st.segments >= 3);
    sl__wal_close(w);
    seg_file(dir, 0, path, sizeof path);
    long size = file_size(path);
    FILE *f = fopen(path, "r+b");
    fseek(f, SL__WAL_HEADER + SL__WAL_REC_HEADER + 3, SEEK_SET); /* first record's payload */
    int ch = fgetc(f);
    fseek(f, SL__WAL_HEADER + SL__WAL_REC_HEADER + 3, SEEK_SET);
    fputc(ch ^ 0x40, f);
    fclose(f);
    cap_begin();
    w = reopen(dir, 120, 0, 0, &s);
    char *log = cap_end();
    ASSERT_CONTAINS(log, "ERROR");
    char want[700];
    snprintf(want, sizeof want, "%s: corrupt record at offset 20 (record checksum mismatch)", path);
    ASSERT_CONTAINS(log, want);
    ASSERT_CONTAINS(log, "replay of this segment stops there");
    free(log);
    ASSERT_INT_EQ(file_size(path), size); /* evidence is kept */
    unit_check(strncmp(s.text, "8:", 2) == 0 && strstr(s.text, ":\"v23\"") != NULL, __FILE__,
               __LINE__, "the damaged segment is skipped, the others replay: %s", s.text);
    ASSERT_INT_EQ(s.last, 24);
    sl__wal_stats_get(w, &st);
    ASSERT_INT_EQ(st.corrupt_segments, 1);
    sl__wal_close(w);

    /* the header's own damage: the whole segment is refused, not read */
    f = fopen(path, "r+b");
    fputc('X', f);
    fclose(f);
    cap_begin();
    w = reopen(dir, 120, 0, 0, &s);
    log = cap_end();
    ASSERT_CONTAINS(log, "corrupt record at offset 0 (bad magic");
    free(log);
    sl__wal_close(w);
    unit_rmtree(dir);
}

/* Appends rotate to a new segment past segment_bytes; trim deletes exactly
 * the segments whose records are all below the covered ordinal, the active
 * one too once it is wholly covered. */
static void test_rotation_and_deletion(void) {
    char dir[256], listing[2048];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    seen s;
    sl__wal *w = reopen(dir, 100, 0, 0, &s);
    for (int i = 0; i < 5; i++)
        ASSERT_INT_EQ(append_n(w, 3 * i, 3), (uint64_t)(3 * i));
    list_dir(dir, listing, sizeof listing);
    /* a 3-record append is 34 to 37 bytes: two fit in a 100-byte segment
     * after its 20-byte header, the third opens the next */
    ASSERT_STR_EQ(listing, "wal-00000000000000000000.log:88 wal-00000000000000000006.log:90 "
                           "wal-00000000000000000012.log:57 ");
    sl__wal_stats st;
    sl__wal_stats_get(w, &st);
    ASSERT_INT_EQ(st.bytes, 88 + 90 + 57);
    ASSERT_INT_EQ(sl__wal_trim(w, 5), 0); /* record 5 is still needed */
    ASSERT_INT_EQ(sl__wal_trim(w, 6), 1);
    ASSERT_INT_EQ(sl__wal_trim(w, 14), 1);
    list_dir(dir, listing, sizeof listing);
    ASSERT_STR_EQ(listing, "wal-00000000000000000012.log:57 ");
    ASSERT_INT_EQ(sl__wal_trim(w, 15), 1); /* the active one, wholly covered */
    list_dir(dir, listing, sizeof listing);
    ASSERT_STR_EQ(listing, "");
    sl__wal_stats_get(w, &st);
    ASSERT_INT_EQ(st.bytes, 0);
    ASSERT_INT_EQ(st.deleted_segments, 3);
    ASSERT_INT_EQ(append_n(w, 15, 1), 15); /* and appends go on in a new one */
    list_dir(dir, listing, sizeof listing);
    ASSERT_STR_EQ(listing, "wal-00000000000000000015.log:43 ");
    sl__wal_close(w);
    /* a restart replays the rest, and a record bigger than a segment gets one alone */
    w = reopen(dir, 100, 0, 0, &s);
    ASSERT_STR_EQ(s.text, "15:\"v15\"@1015 ");
    ASSERT_INT_EQ(append_n(w, 16, 20), 16);
    list_dir(dir, listing, sizeof listing);
    CU_ASSERT(strstr(listing, "wal-00000000000000000016.log") != NULL);
    sl__wal_close(w);
    unit_rmtree(dir);
}

typedef struct appender {
    sl__wal *w;
    atomic_bool done;
    atomic_bool stop;
    uint64_t first;
    int rc;
} appender;

static void *append_thread(void *arg) {
    appender *a = arg;
    static const char big[] = "0123456789012345678901234567890123456789";
    sl_record r = {sl_null(), sl_bytes(big, 40), 1}; /* a 60-byte log record */
    sl_error err = {0};
    a->rc = sl__wal_append(a->w, &r, 1, &a->stop, &a->first, &err);
    atomic_store(&a->done, true);
    return NULL;
}

/* At its bound the log makes the appender wait (backpressure) until a trim
 * makes room; a stop lets it through at once, over the bound. */
static void test_size_bound(void) {
    char dir[256];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    seen s;
    sl__wal *w = reopen(dir, 100, 200, 0, &s);
    sl__wal_stats st = {0};
    for (int i = 0; st.bytes + 60 <= 200; i++) { /* 88 + 54 + ... */
        append_n(w, 3 * i, 3);
        sl__wal_stats_get(w, &st);
    }
    appender a = {.w = w};
    pthread_t t;
    pthread_create(&t, NULL, append_thread, &a);
    usleep(300 * 1000);
    CU_ASSERT(!atomic_load(&a.done)); /* it waits */
    ASSERT_INT_EQ(sl__wal_trim(w, 5), 0);
    usleep(100 * 1000);
    CU_ASSERT(!atomic_load(&a.done)); /* a trim that deletes nothing does not help */
    ASSERT_INT_EQ(sl__wal_trim(w, 6), 1);
    for (int i = 0; i < 100 && !atomic_load(&a.done); i++)
        usleep(10 * 1000);
    CU_ASSERT(atomic_load(&a.done));
    pthread_join(t, NULL);
    ASSERT_INT_EQ(a.rc, 0);
    ASSERT_INT_EQ(a.first, st.next);
    sl__wal_stats_get(w, &st);
    CU_ASSERT(st.blocked_ms >= 350);
    CU_ASSERT(st.bytes <= 200);

    /* full again; this time the engine stops: the records go in all the same */
    while (st.bytes + 60 <= 200) {
        append_n(w, 50, 1);
        sl__wal_stats_get(w, &st);
    }
    appender b = {.w = w};
    atomic_store(&b.stop, true);
    pthread_create(&t, NULL, append_thread, &b);
    pthread_join(t, NULL);
    ASSERT_INT_EQ(b.rc, 0);
    sl__wal_stats_get(w, &st);
    CU_ASSERT(st.bytes > 200);
    sl__wal_close(w);
    unit_rmtree(dir);
}

/* The reader takes any bytes: truncations of a valid segment at every
 * offset and single-bit flips everywhere never crash it and never hand back
 * a record that was not written. */
static void test_scan_any_bytes(void) {
    sl__buf b = {0};
    uint8_t h[SL__WAL_HEADER];
    sl__wal_header_encode(h, 10);
    sl__buf_put(&b, h, sizeof h);
    sl_record recs[3] = {{sl_null(), sl_bytes("x", 1), 1},
                         {sl_null(), sl_int(5), 2},
                         {sl_bytes("k", 1), sl_bytes("yy", 2), 3}};
    ASSERT_INT_EQ(sl__wal_record_encode(&b, 10, recs, 2), 0);
    size_t mid = b.len; /* where the second record starts */
    ASSERT_INT_EQ(sl__wal_record_encode(&b, 12, recs + 2, 1), 0);
    sl__wal_scan res;
    sl_error err = {0};
    seen s;
    memset(&s, 0, sizeof s);
    ASSERT_INT_EQ(sl__wal_scan_bytes(b.data, b.len, 0, visit, &s, &res, &err), 0);
    ASSERT_INT_EQ(res.status, SL__WAL_CLEAN);
    ASSERT_INT_EQ(res.next, 13);
    ASSERT_STR_EQ(s.text, "10:\"x\"@1 11:5@2 12:\"yy\"@3 ");
    for (size_t cut = 0; cut < b.len; cut++) {
        memset(&s, 0, sizeof s);
        ASSERT_INT_EQ(sl__wal_scan_bytes(b.data, cut, 0, visit, &s, &res, &err), 0);
        bool boundary = cut == SL__WAL_HEADER || cut == mid; /* whole records: clean */
        unit_check(res.status == (boundary ? SL__WAL_CLEAN : SL__WAL_TORN) && res.end <= cut,
                   __FILE__, __LINE__, "cut at %zu: status %d at %zu", cut, res.status, res.end);
        unit_check(s.n == (cut >= mid ? 2u : 0u), __FILE__, __LINE__, "cut at %zu: %llu records",
                   cut, (unsigned long long)s.n);
    }
    int clean = 0;
    for (size_t i = 0; i < b.len * 8; i++) {
        b.data[i / 8] ^= (uint8_t)(1u << (i % 8));
        memset(&s, 0, sizeof s);
        ASSERT_INT_EQ(sl__wal_scan_bytes(b.data, b.len, 0, visit, &s, &res, &err), 0);
        clean += res.status == SL__WAL_CLEAN;
        b.data[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    ASSERT_INT_EQ(clean, 0); /* every flipped bit is seen */
    sl__buf_free(&b);
}

/* From the public API: the log needs a checkpoint directory. */
static void test_needs_checkpoint(void) {
    sl_context *ctx = sl_context_new(1000);
    ASSERT_INT_EQ(sl_context_set_receiver_wal(ctx, 1), 0);
    sl_stream *s = sl_socket_text_stream(ctx, "127.0.0.1", 9);
    CU_ASSERT_FATAL(s != NULL);
    sl_pprint(s, 1);
    ASSERT_INT_EQ(sl_context_check(ctx), SL_ECONFIG);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "receiver_wal: the receiver log lives in the "
                                            "checkpoint directory");
    sl_context_free(ctx);
    ctx = sl_context_new(1000);
    ASSERT_INT_EQ(sl_context_set_receiver_wal_max(ctx, 1000), SL_EINVAL);
    ASSERT_INT_EQ(sl_context_set_receiver_wal_sync(ctx, -1), SL_EINVAL);
    sl_context_free(ctx);
}

/* Stream names become directory names that cannot climb out. */
static void test_dir_names(void) {
    char buf[256];
    ASSERT_INT_EQ(sl__wal_dir_for("cp", "lines", buf, sizeof buf), 0);
    ASSERT_STR_EQ(buf, "cp/receiver-wal/lines");
    ASSERT_INT_EQ(sl__wal_dir_for("cp", "../x y.z%", buf, sizeof buf), 0);
    ASSERT_STR_EQ(buf, "cp/receiver-wal/%2E.%2Fx%20y.z%25");
    ASSERT_INT_EQ(sl__wal_dir_for("cp", "lines", buf, 12), SL_ELIMIT);
}

/* --fresh removes every stream's log, and nothing else. */
static void test_remove_all(void) {
    char dir[256], sub[512], listing[1024];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    const char *names[] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        seen s;
        ASSERT_INT_EQ(sl__wal_dir_for(dir, names[i], sub, sizeof sub), 0);
        sl__wal *w = reopen(sub, 60, 0, 0, &s);
        append_n(w, 0, 3);
        append_n(w, 3, 3);
        sl__wal_close(w);
    }
    char cpath[512];
    unit_write_file(dir, "checkpoint-000000000001000.slck", "x", cpath, sizeof cpath);
    sl_error err = {0};
    ASSERT_INT_EQ(sl__wal_remove_all(dir, &err), 4);
    list_dir(dir, listing, sizeof listing);
    ASSERT_STR_EQ(listing, "checkpoint-000000000001000.slck:1 ");
    ASSERT_INT_EQ(sl__wal_remove_all(dir, &err), 0);
    unit_rmtree(dir);
}

/* ---- through the receiver: positions, replay, and what a checkpoint lets go ---------- */

typedef struct wal_recv {
    sl_context *ctx;
    sl_handle *h;
    sl__func fn;
    sl__receiver r;
} wal_recv;

/* A receiver logging to dir (one segment per store(): segment_bytes 1),
 * replaying from `from`, keeping 2 checkpoints; its replay is run here. */
static void recv_open(wal_recv *f, const char *dir, uint64_t from, bool resumed) {
    memset(f, 0, sizeof *f);
    f->ctx = sl_context_new(1000);
    f->h = sl__handle_new(&f->ctx->stop_requested, "lines", "test");
    CU_ASSERT_FATAL(f->ctx && f->h);
    f->fn.handle = f->h;
    pthread_mutex_init(&f->r.lock, NULL);
    pthread_cond_init(&f->r.cond, NULL);
    pthread_mutex_init(&f->r.store_lock, NULL);
    f->r.fn = &f->fn;
    f->r.limit = 1u << 30;
    sl__wal_opts o = {0, 1, 0, "lines"};
    sl_error err = {0};
    ASSERT_INT_EQ(sl__receiver_wal_open(&f->r, dir, &o, from, resumed, 2, &err), 0);
    ASSERT_INT_EQ(sl__receiver_wal_replay(&f->r), 0);
}

static void recv_close(wal_recv *f) {
    sl__receiver_free(&f->r);
    sl__handle_free(f->h);
    sl_context_free(f->ctx);
}

/* Store 3 records, take them as a batch, checkpoint: returns the position
 * the checkpoint saved. */
static uint64_t batch_and_checkpoint(wal_recv *f, int start) {
    sl_record recs[3];
    char text[3][16];
    for (int i = 0; i < 3; i++) {
        snprintf(text[i], sizeof text[i], "v%d", start + i);
        recs[i] = (sl_record){sl_null(), sl_bytes(text[i], strlen(text[i])), 1};
    }
    ASSERT_INT_EQ(sl__receiver_store(&f->r, f->h, recs, 3), 0);
    sl__take_info ti;
    sl__block *b = sl__receiver_take(&f->r, &ti);
    sl__receiver_recycle(&f->r, b);
    uint64_t p = sl__receiver_wal_position(&f->r);
    sl__receiver_wal_covered(&f->r);
    return p;
}

/* A checkpoint saves the ordinal its batch took up to; a segment goes only
 * once the oldest of the kept checkpoints (checkpoint_keep 2 here) covers
 * it, so that a fall back to the older one still finds its records; after
 * a restart, segments of the earlier run stay until this run has written
 * `keep` checkpoints of its own. */
static void test_receiver_positions(void) {
    char dir[256], listing[2048];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    wal_recv f;
    recv_open(&f, dir, 0, false);
    ASSERT_INT_EQ(batch_and_checkpoint(&f, 0), 3); /* fresh: no older checkpoint needs 0..2 */
    list_dir(dir, listing, sizeof listing);
    ASSERT_STR_EQ(listing, "");
    ASSERT_INT_EQ(batch_and_checkpoint(&f, 3), 6); /* the checkpoint at 3 needs 3..5 */
    list_dir(dir, listing, sizeof listing);
    ASSERT_STR_EQ(listing, "wal-00000000000000000003.log:53 ");
    ASSERT_INT_EQ(batch_and_checkpoint(&f, 6), 9);
    list_dir(dir, listing, sizeof listing);
    ASSERT_STR_EQ(listing, "wal-00000000000000000006.log:53 ");
    recv_close(&f); /* a crash; the newest checkpoint (9) is damaged: resume from 6 */

    cap_begin();
    recv_open(&f, dir, 6, true);
    char *log = cap_end();
    ASSERT_CONTAINS(log, "replayed 3 records from the receiver log (ordinals 6..8");
    free(log);
    seen s = {0};
    sl__take_info ti;
    sl__block *b = sl__receiver_take(&f.r, &ti);
    for (sl__block *x = b; x; x = x->next)
        visit(&s, 6, x->recs.v, x->recs.n, NULL);
    ASSERT_STR_EQ(s.text, "6:\"v6\"@1 7:\"v7\"@1 8:\"v8\"@1 ");
    sl__receiver_recycle(&f.r, b);
    ASSERT_INT_EQ(sl__receiver_wal_position(&f.r), 9); /* the replayed batch took up to 9 */
    ASSERT_INT_EQ(batch_and_checkpoint(&f, 9), 12);    /* one checkpoint of this run: 6.. stays */
    list_dir(dir, listing, sizeof listing);
    ASSERT_STR_EQ(listing, "wal-00000000000000000006.log:53 wal-00000000000000000009.log:55 ");
    ASSERT_INT_EQ(batch_and_checkpoint(&f, 12), 15); /* kept: 12 and 15 */
    list_dir(dir, listing, sizeof listing);
    ASSERT_STR_EQ(listing, "wal-00000000000000000012.log:56 ");
    recv_close(&f);
    unit_rmtree(dir);
}

UNIT_MAIN("wal", {"round trip: values, ordinals, replay from a position", test_roundtrip},
          {"torn tail: cut with a log line", test_torn_tail},
          {"corrupt record: that segment stops, file and offset", test_corrupt_record},
          {"segment rotation and deletion", test_rotation_and_deletion},
          {"size bound: the appender waits, a stop passes", test_size_bound},
          {"the reader takes any bytes", test_scan_any_bytes},
          {"receiver_wal needs a checkpoint", test_needs_checkpoint},
          {"directory names", test_dir_names}, {"--fresh removes the logs", test_remove_all},
          {"receiver: positions, replay, deletion after keep checkpoints", test_receiver_positions})

/*
 * test_receiver.c — core/src/receiver.c: what sl__receiver_store keeps.
 *
 * Records a source stores are copied into the receiver's blocks, runs of
 * adjacent lines in one piece (copy_run) and anything else one by one. Each
 * test stores records built to hit one of those paths, takes the blocks as a
 * batch would, and compares every stored record with what was stored:
 * type, length, bytes, key and timestamp, in order, nothing pointing back
 * into the source's buffer.
 */
#include "unit.h"

typedef struct recv_fixture {
    sl_context *ctx;
    sl_handle *h;
    sl__receiver r;
} recv_fixture;

static void fixture_init(recv_fixture *f) {
    memset(f, 0, sizeof *f);
    f->ctx = sl_context_new(1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->ctx);
    f->h = sl__handle_new(&f->ctx->stop_requested, "lines", "test");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->h);
    pthread_mutex_init(&f->r.lock, NULL);
    pthread_cond_init(&f->r.cond, NULL);
    f->r.limit = 1u << 30;
}

static void fixture_free(recv_fixture *f) {
    sl__receiver_free(&f->r);
    sl__handle_free(f->h);
    sl_context_free(f->ctx);
}

/* The stored records, in order, from the blocks of one take. */
static size_t taken(recv_fixture *f, sl_record *out, size_t cap, sl__block **blocks) {
    size_t n = 0;
    sl__take_info ti = {99, 99, 99};
    *blocks = sl__receiver_take(&f->r, &ti);
    ASSERT_INT_EQ(ti.nearly, 0);
    ASSERT_INT_EQ(ti.recycled_records, 0);
    for (sl__block *b = *blocks; b; b = b->next)
        for (size_t i = 0; i < b->recs.n && n < cap; i++)
            out[n++] = b->recs.v[i];
    return n;
}

/* got[i] is a copy of want[i] that does not point into [buf, buf + len). */
static void check_copies(const sl_record *got, const sl_record *want, size_t n, const char *buf,
                         size_t len) {
    int wrong = 0, aliased = 0;
    for (size_t i = 0; i < n; i++) {
        wrong += !sl__value_equal(&got[i].key, &want[i].key) ||
                 !sl__value_equal(&got[i].value, &want[i].value) || got[i].ts != want[i].ts ||
                 got[i].value.type != want[i].value.type;
        if (got[i].value.type == SL_BYTES && got[i].value.len) {
            const char *p = got[i].value.u.s;
            aliased += p >= buf && p < buf + len;
        }
    }
    ASSERT_INT_EQ(wrong, 0);
    ASSERT_INT_EQ(aliased, 0);
}

/* Lines as the socket source stores them: adjacent slices of one buffer,
 * separated by "\n" or "\r\n" (the '\r' stripped), some empty. */
static void test_adjacent_lines(void) {
    recv_fixture f;
    fixture_init(&f);
    static char buf[1 << 16];
    static sl_record recs[4096], got[4096];
    size_t n = 0, off = 0;
    for (int i = 0; n < 4096 && off + 64 < sizeof buf; i++) {
        int len = (i * 7) % 23; /* 0..22 bytes */
        for (int j = 0; j < len; j++)
            buf[off + (size_t)j] = (char)('a' + (i + j) % 26);
        recs[n].key = sl_null();
        recs[n].value = sl_bytes(buf + off, (size_t)len);
        recs[n].ts = i;
        n++;
        off += (size_t)len;
        if (i % 3 == 0)
            buf[off++] = '\r';
        buf[off++] = '\n';
    }
    int64_t want_bytes = 0;
    for (size_t i = 0; i < n; i++)
        want_bytes += recs[i].value.len;
    ASSERT_INT_EQ(sl__receiver_store(&f.r, f.h, recs, n), 0);
    ASSERT_INT_EQ(f.r.stored_records, (int64_t)n);
    ASSERT_INT_EQ(f.r.stored_bytes, want_bytes);
    /* the limit counts what the records take: bytes, line ends, records */
    size_t buffered = f.r.buffered;
    CU_ASSERT(buffered >= (size_t)want_bytes + n * sizeof(sl_record));
    CU_ASSERT(buffered <= off + n * sizeof(sl_record));
    sl__block *blocks;
    ASSERT_INT_EQ(taken(&f, got, 4096, &blocks), n);
    size_t bytes = 0, mem = 0;
    for (sl__block *b = blocks; b; b = b->next)
        bytes += b->bytes, mem += b->mem;
    ASSERT_INT_EQ(bytes, want_bytes);
    ASSERT_INT_EQ(mem, buffered);
    check_copies(got, recs, n, buf, sizeof buf);
    sl__block_free(blocks);
    fixture_free(&f);
}

/* Runs break where records are not adjacent lines: pairs, other types,
 * gaps, records out of order, a NULL pointer for an empty value. */
static void test_mixed_records(void) {
    recv_fixture f;
    fixture_init(&f);
    static char buf[] = "alpha\nbeta\n\n\ngamma delta\nepsilon";
    sl_record recs[] = {
        {sl_null(), sl_bytes(buf, 5), 1},                 /* alpha */
        {sl_null(), sl_bytes(buf + 6, 4), 2},             /* beta, adjacent */
        {sl_null(), sl_bytes(buf + 13, 5), 3},            /* gamma: 3 bytes after beta's end */
        {sl_null(), sl_bytes(buf + 19, 5), 4},            /* delta */
        {sl_key(sl_cstr("k")), sl_bytes(buf + 25, 7), 5}, /* a pair */
        {sl_null(), sl_int(42), 6},
        {sl_null(), sl_bytes(buf + 6, 4), 7},  /* beta again: before the previous */
        {sl_null(), sl_bytes(NULL, 0), 8},     /* empty, no pointer */
        {sl_null(), sl_bytes(buf + 10, 0), 9}, /* empty, adjacent */
        {sl_null(), sl_bytes(buf + 11, 0), 10},
        {sl_null(), sl_bytes(buf, 5), 11},
    };
    size_t n = sizeof recs / sizeof recs[0];
    sl_record got[16];
    ASSERT_INT_EQ(sl__receiver_store(&f.r, f.h, recs, n), 0);
    ASSERT_INT_EQ(f.r.stored_records, (int64_t)n);
    sl__block *blocks;
    ASSERT_INT_EQ(taken(&f, got, 16, &blocks), n);
    check_copies(got, recs, n, buf, sizeof buf);
    sl__block_free(blocks);
    fixture_free(&f);
}

/* Runs longer than a run's limit and than a block: a 4 MiB buffer of lines
 * stored in one call fills several sealed blocks, all records intact. */
static void test_long_runs(void) {
    recv_fixture f;
    fixture_init(&f);
    size_t cap = 4u << 20, nmax = cap / 8;
    char *buf = malloc(cap);
    sl_record *recs = malloc(nmax * sizeof *recs), *got = malloc(nmax * sizeof *got);
    CU_ASSERT_FATAL(buf && recs && got);
    size_t n = 0, off = 0;
    for (int i = 0; off + 200 < cap; i++) {
        size_t len = 1 + (size_t)(i * 31) % 150;
        memset(buf + off, 'a' + i % 26, len);
        recs[n++] = (sl_record){sl_null(), sl_bytes(buf + off, len), i};
        off += len;
        buf[off++] = '\n';
    }
    ASSERT_INT_EQ(sl__receiver_store(&f.r, f.h, recs, n), 0);
    sl__block *blocks;
    ASSERT_INT_EQ(taken(&f, got, nmax, &blocks), n);
    size_t nblocks = 0;
    for (sl__block *b = blocks; b; b = b->next)
        nblocks++;
    CU_ASSERT(nblocks >= 3);
    check_copies(got, recs, n, buf, cap);
    sl__block_free(blocks);
    free(buf);
    free(recs);
    free(got);
    fixture_free(&f);
}

UNIT_MAIN("receiver", {"adjacent lines, one copy a run", test_adjacent_lines},
          {"runs break at anything else", test_mixed_records}, {"runs over blocks", test_long_runs})

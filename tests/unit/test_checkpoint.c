/*
 * test_checkpoint.c — core/src/checkpoint.c: byte buffers and readers, the
 * value codec, CRC32C, and the checkpoint store (atomic writes, retention,
 * fallback past damaged files, stale temp files, the directory lock).
 */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "checkpoint.h"
#include "unit.h"

/* ---- helpers ------------------------------------------------------------------ */

/* A deterministic PRNG (xorshift64*), so failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* The whole file at path (malloc'd) and its length; NULL if unreadable. */
static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    *len = b ? fread(b, 1, (size_t)n, f) : 0;
    fclose(f);
    return b;
}

/* Write len bytes to path (replacing it); 0 or -1. */
static int spill(const char *path, const void *p, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite(p, 1, len, f) == len ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

/* dir/checkpoint-<t>.slck into buf. */
static const char *ckpt_path(const char *dir, int64_t t, char *buf, size_t cap) {
    char name[64];
    sl__ckpt_file_name(t, name, sizeof name);
    snprintf(buf, cap, "%s/%s", dir, name);
    return buf;
}

/* How many directory entries (other than . and ..) start with prefix. */
static int count_files(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

/* The payloads the standard checkpoint of time t carries: "meta" holds
 * 12 digits of t (t < 10^12), "state/words" 40 bytes derived from t. */
static void payloads(int64_t t, char meta[13], uint8_t state[40]) {
    char digits[32];
    snprintf(digits, sizeof digits, "%012lld", (long long)(t % 1000000000000LL));
    memcpy(meta, digits, 13);
    for (int i = 0; i < 40; i++)
        state[i] = (uint8_t)(t * 31 + i * 7);
}

/* Write the standard checkpoint of time t into dir, keeping `keep`. */
static int write_ckpt(const char *dir, int64_t t, int keep) {
    char meta[13];
    uint8_t state[40];
    payloads(t, meta, state);
    sl__ckpt_writer *w;
    sl_error err = {0};
    int rc = sl__ckpt_begin(dir, t, &w, &err);
    if (rc)
        return rc;
    if ((rc = sl__ckpt_section(w, "meta", meta, 12, &err)) ||
        (rc = sl__ckpt_section(w, "state/words", state, 40, &err))) {
        sl__ckpt_abort(w);
        return rc;
    }
    return sl__ckpt_commit(w, keep, &err);
}

/* Layout of the standard checkpoint file (see checkpoint.c). */
enum {
    STD_SEC1 = 20,                            /* "meta" section */
    STD_SEC2 = STD_SEC1 + 1 + 4 + 1 + 12 + 4, /* "state/words" */
    STD_FOOT = STD_SEC2 + 1 + 11 + 1 + 40 + 4,
    STD_LEN = STD_FOOT + 8
};

/* Does c hold exactly the standard checkpoint of time t? */
static bool is_std(const sl__ckpt *c, int64_t t) {
    char meta[13];
    uint8_t state[40];
    payloads(t, meta, state);
    size_t n1 = 0, n2 = 0;
    const uint8_t *m = sl__ckpt_find(c, "meta", &n1), *s = sl__ckpt_find(c, "state/words", &n2);
    return c->batch_time == t && c->n == 2 && m && n1 == 12 && memcmp(m, meta, 12) == 0 && s &&
           n2 == 40 && memcmp(s, state, 40) == 0;
}

/* Capturing what the engine logs to stderr. */
static int cap_saved = -1;
static char cap_path[256];

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

/* Stop capturing; the captured text (malloc'd, NUL-terminated). */
static char *cap_end(void) {
    fflush(stderr);
    dup2(cap_saved, 2);
    close(cap_saved);
    size_t n = 0;
    uint8_t *b = slurp(cap_path, &n);
    unlink(cap_path);
    char *s = malloc(n + 1);
    if (s) {
        if (n)
            memcpy(s, b, n);
        s[n] = 0;
    }
    free(b);
    return s;
}

/* Load the latest with warnings silenced. */
static int load_quiet(const char *dir, sl__ckpt *c) {
    int saved = sl__log_level;
    sl__log_level = SL_LOG_ERROR;
    sl_error err = {0};
    int rc = sl__ckpt_load_latest(dir, c, &err);
    sl__log_level = saved;
    return rc;
}

/* An sl_mem over an arena that counts what it hands out. */
typedef struct count_mem {
    sl_mem mem;
    sl__arena arena;
    size_t total;
} count_mem;

static void *count_alloc(sl_mem *m, size_t n) {
    count_mem *c = m->host_data;
    c->total += n;
    return sl__arena_alloc(&c->arena, n);
}

static void count_mem_init(count_mem *c) {
    sl__arena_init(&c->arena, 4096);
    c->mem.alloc = count_alloc;
    c->mem.host_data = c;
    c->total = 0;
}

/* ---- buffers and readers ------------------------------------------------------ */

/* Fixed-width integers are little-endian and read back exactly. */
static void test_fixed_ints(void) {
    sl__buf b = {0};
    CU_ASSERT_EQUAL(sl__buf_put_u32(&b, 0x01020304u), 0);
    CU_ASSERT_EQUAL(sl__buf_put_u64(&b, 0x1122334455667788ull), 0);
    CU_ASSERT_EQUAL(sl__buf_put_i64(&b, -2), 0);
    CU_ASSERT_EQUAL(sl__buf_put_u8(&b, 0xab), 0);
    ASSERT_INT_EQ(b.len, 21);
    static const uint8_t want[] = {4, 3, 2, 1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22};
    CU_ASSERT(memcmp(b.data, want, sizeof want) == 0);
    sl__reader r = {b.data, b.len, 0};
    uint32_t u32;
    uint64_t u64;
    int64_t i64;
    uint8_t u8;
    CU_ASSERT(sl__read_u32(&r, &u32) == 0 && u32 == 0x01020304u);
    CU_ASSERT(sl__read_u64(&r, &u64) == 0 && u64 == 0x1122334455667788ull);
    CU_ASSERT(sl__read_i64(&r, &i64) == 0 && i64 == -2);
    CU_ASSERT(sl__read_u8(&r, &u8) == 0 && u8 == 0xab);
    ASSERT_INT_EQ(sl__reader_left(&r), 0);
    CU_ASSERT_EQUAL(sl__read_u8(&r, &u8), SL_EINVAL);
    sl__buf_free(&b);
    CU_ASSERT(b.data == NULL && b.len == 0 && b.cap == 0);
}

/* LEB128 at the edges: exact lengths and bytes, and the value back. */
static void test_varint_edges(void) {
    static const struct {
        uint64_t v;
        size_t len;
    } cases[] = {{0, 1},     {1, 1},          {127, 1},        {128, 2},         {16383, 2},
                 {16384, 3}, {1ull << 32, 5}, {1ull << 62, 9}, {1ull << 63, 10}, {UINT64_MAX, 10}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl__buf b = {0};
        CU_ASSERT_EQUAL(sl__buf_put_varint(&b, cases[i].v), 0);
        ASSERT_INT_EQ(b.len, cases[i].len);
        sl__reader r = {b.data, b.len, 0};
        uint64_t got = 0;
        CU_ASSERT_EQUAL(sl__read_varint(&r, &got), 0);
        CU_ASSERT(got == cases[i].v);
        ASSERT_INT_EQ(r.off, cases[i].len);
        sl__buf_free(&b);
    }
    sl__buf b = {0};
    sl__buf_put_varint(&b, 128);
    CU_ASSERT(b.data[0] == 0x80 && b.data[1] == 0x01);
    sl__buf_reset(&b);
    sl__buf_put_varint(&b, UINT64_MAX);
    CU_ASSERT(b.data[9] == 0x01);
    sl__buf_free(&b);
}

/* Zigzag maps small negatives to short varints and survives the extremes. */
static void test_zigzag(void) {
    static const struct {
        int64_t v;
        size_t len;
    } cases[] = {{0, 1},   {-1, 1}, {1, 1},          {-64, 1},        {63, 1},
                 {-65, 2}, {64, 2}, {INT64_MIN, 10}, {INT64_MAX, 10}, {-1000000, 3}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl__buf b = {0};
        CU_ASSERT_EQUAL(sl__buf_put_svarint(&b, cases[i].v), 0);
        ASSERT_INT_EQ(b.len, cases[i].len);
        sl__reader r = {b.data, b.len, 0};
        int64_t got = 0;
        CU_ASSERT_EQUAL(sl__read_svarint(&r, &got), 0);
        CU_ASSERT(got == cases[i].v);
        sl__buf_free(&b);
    }
    sl__buf b = {0};
    sl__buf_put_svarint(&b, -1);
    CU_ASSERT(b.data[0] == 0x01);
    sl__buf_free(&b);
}

/* Varints longer than 10 bytes, above UINT64_MAX, or cut short fail and
 * leave the reader where it was. */
static void test_varint_malformed(void) {
    uint8_t eleven[11];
    memset(eleven, 0x80, sizeof eleven);
    sl__reader r = {eleven, sizeof eleven, 0};
    uint64_t v;
    CU_ASSERT_EQUAL(sl__read_varint(&r, &v), SL_EINVAL);
    ASSERT_INT_EQ(r.off, 0);
    uint8_t over[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    r = (sl__reader){over, sizeof over, 0};
    CU_ASSERT_EQUAL(sl__read_varint(&r, &v), SL_EINVAL);
    uint8_t cut[2] = {0x80, 0x80};
    r = (sl__reader){cut, sizeof cut, 0};
    CU_ASSERT_EQUAL(sl__read_varint(&r, &v), SL_EINVAL);
    ASSERT_INT_EQ(r.off, 0);
    r = (sl__reader){cut, 0, 0};
    CU_ASSERT_EQUAL(sl__read_varint(&r, &v), SL_EINVAL);
}

/* Every read fails on a buffer one byte too short, without moving. */
static void test_truncated_reads(void) {
    uint8_t z[16] = {0};
    uint32_t u32;
    uint64_t u64;
    int64_t i64;
    const uint8_t *p;
    size_t n;
    sl__reader r = {z, 3, 0};
    CU_ASSERT_EQUAL(sl__read_u32(&r, &u32), SL_EINVAL);
    r = (sl__reader){z, 7, 0};
    CU_ASSERT_EQUAL(sl__read_u64(&r, &u64), SL_EINVAL);
    CU_ASSERT_EQUAL(sl__read_i64(&r, &i64), SL_EINVAL);
    CU_ASSERT_EQUAL(sl__read_raw(&r, 8, &p), SL_EINVAL);
    ASSERT_INT_EQ(r.off, 0);
    /* a byte string that declares more than is left */
    sl__buf b = {0};
    sl__buf_put_bytes(&b, "hello", 5);
    r = (sl__reader){b.data, b.len - 1, 0};
    CU_ASSERT_EQUAL(sl__read_bytes(&r, &p, &n), SL_EINVAL);
    ASSERT_INT_EQ(r.off, 0);
    r = (sl__reader){b.data, b.len, 0};
    CU_ASSERT(sl__read_bytes(&r, &p, &n) == 0 && n == 5 && memcmp(p, "hello", 5) == 0);
    CU_ASSERT(p == b.data + 1); /* a slice of the input, not a copy */
    /* a declared length of UINT64_MAX */
    sl__buf_reset(&b);
    sl__buf_put_varint(&b, UINT64_MAX);
    sl__buf_put(&b, "xx", 2);
    r = (sl__reader){b.data, b.len, 0};
    CU_ASSERT_EQUAL(sl__read_bytes(&r, &p, &n), SL_EINVAL);
    ASSERT_INT_EQ(r.off, 0);
    /* empty byte strings are fine */
    sl__buf_reset(&b);
    CU_ASSERT_EQUAL(sl__buf_put_bytes(&b, NULL, 0), 0);
    r = (sl__reader){b.data, b.len, 0};
    CU_ASSERT(sl__read_bytes(&r, &p, &n) == 0 && n == 0 && r.off == 1);
    sl__buf_free(&b);
}

/* The buffer grows across many puts and keeps every byte. */
static void test_buf_growth(void) {
    sl__buf b = {0};
    for (int i = 0; i < 100000; i++)
        CU_ASSERT_EQUAL_FATAL(sl__buf_put_u8(&b, (uint8_t)i), 0);
    ASSERT_INT_EQ(b.len, 100000);
    CU_ASSERT(b.cap >= b.len);
    bool ok = true;
    for (int i = 0; i < 100000; i++)
        ok = ok && b.data[i] == (uint8_t)i;
    CU_ASSERT(ok);
    sl__buf_free(&b);
}

/* ---- the value codec ---------------------------------------------------------- */

/* Bitwise equality of two values, including null-key marks and NaN bits. */
static bool same(const sl_value *a, const sl_value *b) {
    if (a->type != b->type || a->len != b->len)
        return false;
    switch (a->type) {
    case SL_INT:
    case SL_BOOL:
        return a->u.i == b->u.i;
    case SL_DOUBLE:
        return memcmp(&a->u.d, &b->u.d, 8) == 0;
    case SL_BYTES:
        return a->len == 0 || memcmp(a->u.s, b->u.s, a->len) == 0;
    case SL_LIST:
    case SL_OBJECT:
        for (size_t i = 0; i < sl_value_items(a); i++)
            if (!same(&a->u.items[i], &b->u.items[i]))
                return false;
        return true;
    default:
        return true;
    }
}

/* Encode v, decode it with an arena, and check it is the same and copied. */
static void round_trip(sl_value v) {
    sl__buf b = {0};
    CU_ASSERT_EQUAL_FATAL(sl__value_encode(&b, &v), 0);
    sl__arena a;
    sl_mem mem;
    sl__arena_init(&a, 0);
    sl__arena_mem(&a, &mem);
    sl__reader r = {b.data, b.len, 0};
    sl_value out;
    CU_ASSERT_EQUAL(sl__value_decode(&r, &out, &mem), 0);
    ASSERT_INT_EQ(r.off, b.len);
    CU_ASSERT(same(&v, &out));
    if (out.type == SL_BYTES && out.len)
        CU_ASSERT((const uint8_t *)out.u.s < b.data || (const uint8_t *)out.u.s >= b.data + b.len);
    sl__arena_free(&a);
    sl__buf_free(&b);
}

/* Every type survives, including the null-key mark and odd doubles. */
static void test_value_scalars(void) {
    round_trip(sl_null());
    round_trip(sl_null_key());
    round_trip(sl_int(0));
    round_trip(sl_int(-1));
    round_trip(sl_int(INT64_MIN));
    round_trip(sl_int(INT64_MAX));
    round_trip(sl_double(2.5));
    round_trip(sl_double(-0.0));
    round_trip(sl_double(INFINITY));
    round_trip(sl_double(-INFINITY));
    round_trip(sl_double(5e-324));
    uint64_t nanbits = 0x7ff8dead0000beefull;
    double nan;
    memcpy(&nan, &nanbits, 8);
    round_trip(sl_double(nan));
    round_trip(sl_cstr(""));
    round_trip(sl_cstr("hello"));
    round_trip(sl_bytes("a\0b\xff", 4));
    char big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 13);
    round_trip(sl_bytes(big, sizeof big));
}

/* Objects (ABI 1.4) survive with order and duplicate names, under a tag of
 * their own; the bytes of a list written before objects existed still read
 * back as that list (old checkpoints stay readable). */
static void test_value_object(void) {
    sl_value inner[2] = {sl_cstr("k"), sl_list(NULL, 0)};
    sl_value fields[6] = {sl_cstr("a"),   sl_int(1),         sl_cstr("a"),
                          sl_double(2.5), sl_cstr("nested"), sl_object(inner, 1)};
    round_trip(sl_object(fields, 3));
    round_trip(sl_object(NULL, 0));
    sl_value one[2] = {sl_cstr("a"), sl_int(1)};
    sl_value obj = sl_object(one, 1);
    sl__buf b = {0};
    CU_ASSERT_EQUAL(sl__value_encode(&b, &obj), 0);
    static const uint8_t want[] = {6, 1, 3, 1, 'a', 1, 2};
    CU_ASSERT(b.len == sizeof want && memcmp(b.data, want, sizeof want) == 0);
    static const uint8_t old_list[] = {4, 2, 3, 1, 'a', 1, 2};
    sl__arena a;
    sl_mem mem;
    sl__arena_init(&a, 0);
    sl__arena_mem(&a, &mem);
    sl__reader r = {old_list, sizeof old_list, 0};
    sl_value out;
    CU_ASSERT(sl__value_decode(&r, &out, &mem) == 0 && out.type == SL_LIST && out.len == 2);
    static const uint8_t short_obj[] = {6, 2, 3, 1, 'a', 1, 2};
    sl__reader bad = {short_obj, sizeof short_obj, 0};
    CU_ASSERT_EQUAL(sl__value_decode(&bad, &out, &mem), SL_EINVAL);
    sl__arena_free(&a);
    sl__buf_free(&b);
}

/* Bools (ABI 1.7) survive as bools, alone and nested, one byte each (tags
 * 7 and 8); the bytes a 1.6 checkpoint holds for what was then parsed from
 * {"ok":true} (the int 1) still read back as that int, not as a bool. */
static void test_value_bools(void) {
    round_trip(sl_bool(0));
    round_trip(sl_bool(1));
    sl_value f[4] = {sl_cstr("ok"), sl_bool(1), sl_cstr("no"), sl_bool(0)};
    sl_value items[3] = {sl_bool(0), sl_object(f, 2), sl_int(1)};
    round_trip(sl_list(items, 3));
    sl__buf b = {0};
    sl_value t = sl_bool(1), odd = {SL_BOOL, 0, {.i = 9}}, fa = sl_bool(0);
    CU_ASSERT_EQUAL(sl__value_encode(&b, &fa), 0);
    CU_ASSERT_EQUAL(sl__value_encode(&b, &t), 0);
    CU_ASSERT_EQUAL(sl__value_encode(&b, &odd), 0); /* any nonzero is true */
    static const uint8_t want[] = {7, 8, 8};
    CU_ASSERT(b.len == sizeof want && memcmp(b.data, want, sizeof want) == 0);
    sl__arena a;
    sl_mem mem;
    sl__arena_init(&a, 0);
    sl__arena_mem(&a, &mem);
    sl__reader r = {b.data, b.len, 0};
    sl_value out;
    CU_ASSERT(sl__value_decode(&r, &out, &mem) == 0 && out.type == SL_BOOL && out.u.i == 0);
    CU_ASSERT(sl__value_decode(&r, &out, &mem) == 0 && out.type == SL_BOOL && out.u.i == 1);
    CU_ASSERT(sl__value_decode(&r, &out, &mem) == 0 && out.type == SL_BOOL && out.u.i == 1);
    /* [1, null, {"ok": 1}] as ABI 1.6 wrote it */
    static const uint8_t old[] = {4, 3, 1, 2, 0, 6, 1, 3, 2, 'o', 'k', 1, 2};
    sl__reader ro = {old, sizeof old, 0};
    CU_ASSERT_EQUAL_FATAL(sl__value_decode(&ro, &out, &mem), 0);
    ASSERT_INT_EQ(ro.off, sizeof old);
    CU_ASSERT_FATAL(out.type == SL_LIST && out.len == 3);
    CU_ASSERT(out.u.items[0].type == SL_INT && out.u.items[0].u.i == 1);
    CU_ASSERT(out.u.items[1].type == SL_NULL);
    const sl_value *ok = sl_object_get(&out.u.items[2], "ok");
    CU_ASSERT(ok && ok->type == SL_INT && ok->u.i == 1);
    /* the tag after the last one is still refused */
    static const uint8_t unknown[] = {9};
    sl__reader ru = {unknown, sizeof unknown, 0};
    CU_ASSERT_EQUAL(sl__value_decode(&ru, &out, &mem), SL_EINVAL);
    ASSERT_INT_EQ(ru.off, 0);
    sl__arena_free(&a);
    sl__buf_free(&b);
}

/* The null key keeps len 1 and a plain null keeps len 0: a pair (None, v)
 * must not turn into a plain element across a restart. */
static void test_value_null_key(void) {
    sl_value k = sl_null_key(), n = sl_null(), out;
    sl__buf b = {0};
    sl__value_encode(&b, &k);
    sl__value_encode(&b, &n);
    sl__arena a;
    sl_mem mem;
    sl__arena_init(&a, 0);
    sl__arena_mem(&a, &mem);
    sl__reader r = {b.data, b.len, 0};
    CU_ASSERT(sl__value_decode(&r, &out, &mem) == 0 && out.type == SL_NULL && out.len == 1);
    sl_record rec = {out, sl_int(1), 0};
    CU_ASSERT(sl_record_is_pair(&rec));
    CU_ASSERT(sl__value_decode(&r, &out, &mem) == 0 && out.type == SL_NULL && out.len == 0);
    sl__arena_free(&a);
    sl__buf_free(&b);
}

/* Lists nest, including empty ones, and the encoding is compact. */
static void test_value_lists(void) {
    sl_value inner2[] = {sl_null_key(), sl_double(2.5), sl_cstr("")};
    sl_value inner1[] = {sl_cstr("a"), sl_list(inner2, 3), sl_list(NULL, 0)};
    sl_value outer[] = {sl_int(1), sl_list(inner1, 3), sl_null(), sl_int(-300)};
    round_trip(sl_list(outer, 4));
    round_trip(sl_list(NULL, 0));
    /* compact: ("a", 1) is tag, count, tag, len, 'a', tag, zigzag 1 */
    sl_value pair[] = {sl_cstr("a"), sl_int(1)};
    sl_value v = sl_list(pair, 2);
    sl__buf b = {0};
    sl__value_encode(&b, &v);
    ASSERT_INT_EQ(b.len, 7);
    sl__buf_free(&b);
}

/* Build `depth` nested single-item lists around an int in items[]. */
static sl_value nest(sl_value *items, int depth) {
    items[0] = sl_int(7);
    for (int i = 1; i <= depth; i++)
        items[i] = sl_list(&items[i - 1], 1);
    return items[depth];
}

/* 256 levels of lists are fine; 257 are refused on both sides. */
static void test_value_depth(void) {
    static sl_value items[300];
    round_trip(nest(items, SL__CODEC_MAX_DEPTH));
    sl__buf b = {0};
    sl_value deep = nest(items, SL__CODEC_MAX_DEPTH + 1);
    CU_ASSERT_EQUAL(sl__value_encode(&b, &deep), SL_ELIMIT);
    /* hand-made: 257 x [tag list, count 1], then an int */
    sl__buf_reset(&b);
    for (int i = 0; i < SL__CODEC_MAX_DEPTH + 1; i++) {
        sl__buf_put_u8(&b, 4);
        sl__buf_put_u8(&b, 1);
    }
    sl__buf_put_u8(&b, 1);
    sl__buf_put_u8(&b, 14);
    count_mem cm;
    count_mem_init(&cm);
    sl__reader r = {b.data, b.len, 0};
    sl_value out;
    CU_ASSERT_EQUAL(sl__value_decode(&r, &out, &cm.mem), SL_EINVAL);
    ASSERT_INT_EQ(r.off, 0);
    /* one level less decodes */
    r = (sl__reader){b.data + 2, b.len - 2, 0};
    CU_ASSERT_EQUAL(sl__value_decode(&r, &out, &cm.mem), 0);
    sl__arena_free(&cm.arena);
    sl__buf_free(&b);
}

/* Corrupt encodings fail cleanly, and a huge declared count or length
 * allocates nothing. */
static void test_value_corrupt(void) {
    count_mem cm;
    count_mem_init(&cm);
    sl_value out;
    static const uint8_t unknown[] = {9};
    static const uint8_t short_double[] = {2, 0, 0, 0};
    static const uint8_t cut_list[] = {4, 3, 1, 2, 1};
    sl__reader r = {unknown, sizeof unknown, 0};
    CU_ASSERT_EQUAL(sl__value_decode(&r, &out, &cm.mem), SL_EINVAL);
    r = (sl__reader){short_double, sizeof short_double, 0};
    CU_ASSERT_EQUAL(sl__value_decode(&r, &out, &cm.mem), SL_EINVAL);
    r = (sl__reader){cut_list, sizeof cut_list, 0};
    CU_ASSERT_EQUAL(sl__value_decode(&r, &out, &cm.mem), SL_EINVAL);
    ASSERT_INT_EQ(r.off, 0);
    size_t before = cm.total;
    sl__buf b = {0};
    sl__buf_put_u8(&b, 4); /* a list of 2^40 items, then 3 bytes */
    sl__buf_put_varint(&b, 1ull << 40);
    sl__buf_put(&b, "\0\0\0", 3);
    r = (sl__reader){b.data, b.len, 0};
    CU_ASSERT_EQUAL(sl__value_decode(&r, &out, &cm.mem), SL_EINVAL);
    sl__buf_reset(&b);
    sl__buf_put_u8(&b, 3); /* bytes of length 2^62 */
    sl__buf_put_varint(&b, 1ull << 62);
    sl__buf_put(&b, "abc", 3);
    r = (sl__reader){b.data, b.len, 0};
    CU_ASSERT_EQUAL(sl__value_decode(&r, &out, &cm.mem), SL_EINVAL);
    ASSERT_INT_EQ(cm.total, before);
    sl__arena_free(&cm.arena);
    sl__buf_free(&b);
}

/* Random bytes and mutated encodings never crash the decoder, and what it
 * allocates is bounded by the input's size. */
static void test_value_fuzz(void) {
    sl_value inner[] = {sl_cstr("key"), sl_double(1.5), sl_null_key(), sl_bool(1)};
    sl_value outer[] = {sl_int(-5), sl_list(inner, 4), sl_cstr("value")};
    sl_value v = sl_list(outer, 3);
    sl__buf good = {0};
    sl__value_encode(&good, &v);
    uint8_t buf[256];
    int decoded = 0;
    for (int i = 0; i < 2000; i++) {
        size_t n;
        if (i % 2) {
            n = rnd() % sizeof buf;
            for (size_t k = 0; k < n; k++)
                buf[k] = (uint8_t)(rnd() % 8 < 6 ? rnd() % 9 : rnd()); /* mostly valid tags */
        } else {
            n = good.len;
            memcpy(buf, good.data, n);
            for (int k = 0; k < 3; k++)
                buf[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
            n -= rnd() % 3;
        }
        count_mem cm;
        count_mem_init(&cm);
        sl__reader r = {buf, n, 0};
        sl_value out;
        int rc = sl__value_decode(&r, &out, &cm.mem);
        CU_ASSERT(rc == 0 || rc == SL_EINVAL);
        CU_ASSERT(rc != 0 || r.off <= n);
        CU_ASSERT(cm.total <= 16 * n + 16); /* a list item is 16 bytes and costs >= 1 byte */
        decoded += rc == 0;
        sl__arena_free(&cm.arena);
    }
    CU_ASSERT(decoded > 0); /* the generator reaches the decoder's success paths */
    sl__buf_free(&good);
}

/* Nested lists that each declare 118 items, with at least 118 bytes left
 * after each count: each count alone is possible, together they are not, and the decoder refuses
 * them before allocating more than 16 bytes per input byte (it allocated
 * input x depth before: 15,104 bytes for 136 at depth 8). One level is a
 * valid list of 118 nulls, and decodes. */
static void test_value_nested_claims(void) {
    uint8_t one[120] = {4, 118}; /* a list of 118 nulls */
    count_mem cm1;
    count_mem_init(&cm1);
    sl__reader r1 = {one, sizeof one, 0};
    sl_value v1;
    ASSERT_INT_EQ(sl__value_decode(&r1, &v1, &cm1.mem), 0);
    ASSERT_INT_EQ(v1.len, 118);
    sl__arena_free(&cm1.arena);
    for (int depth = 2; depth <= 200; depth += 7) {
        uint8_t buf[4096];
        size_t n = sizeof buf;
        for (int d = 0; d < depth; d++) {
            buf[2 * d] = 4;       /* TAG_LIST */
            buf[2 * d + 1] = 118; /* items: never more than the bytes left */
        }
        memset(buf + 2 * depth, 0, n - 2 * (size_t)depth); /* nulls */
        n = 2 * (size_t)depth + 120;
        count_mem cm;
        count_mem_init(&cm);
        sl__reader r = {buf, n, 0};
        sl_value out;
        int rc = sl__value_decode(&r, &out, &cm.mem);
        unit_check(rc == SL_EINVAL, __FILE__, __LINE__, "depth %d: refused (got %d)", depth, rc);
        unit_check(cm.total <= 16 * n + 16, __FILE__, __LINE__,
                   "depth %d: %zu bytes allocated for %zu input bytes", depth, cm.total, n);
        sl__arena_free(&cm.arena);
    }
}

/* ---- CRC32C --------------------------------------------------------------------- */

/* The standard check values (RFC 3720 B.4 and the CRC catalogue). */
static void test_crc_vectors(void) {
    CU_ASSERT_EQUAL(sl__crc32c(0, "123456789", 9), 0xE3069283u);
    CU_ASSERT_EQUAL(sl__crc32c_portable(0, "123456789", 9), 0xE3069283u);
    CU_ASSERT_EQUAL(sl__crc32c(0, "", 0), 0u);
    uint8_t z[32], ff[32], inc[32];
    memset(z, 0, sizeof z);
    memset(ff, 0xff, sizeof ff);
    for (int i = 0; i < 32; i++)
        inc[i] = (uint8_t)i;
    CU_ASSERT_EQUAL(sl__crc32c(0, z, 32), 0x8A9136AAu);
    CU_ASSERT_EQUAL(sl__crc32c(0, ff, 32), 0x62A8AB43u);
    CU_ASSERT_EQUAL(sl__crc32c(0, inc, 32), 0x46DD794Eu);
    CU_ASSERT_EQUAL(sl__crc32c_portable(0, inc, 32), 0x46DD794Eu);
    /* chaining */
    CU_ASSERT_EQUAL(sl__crc32c(sl__crc32c(0, "12345", 5), "6789", 4), 0xE3069283u);
}

/* Hardware and table paths agree at every length and alignment; combine
 * equals the CRC of the concatenation. */
static void test_crc_paths(void) {
    static uint8_t data[4096 + 16];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)rnd();
    bool agree = true, comb = true;
    for (size_t n = 0; n < 300; n++)
        for (size_t off = 0; off < 8; off++)
            agree = agree && sl__crc32c(0, data + off, n) == sl__crc32c_portable(0, data + off, n);
    for (int i = 0; i < 200; i++) {
        size_t a = rnd() % 2048, b = rnd() % 2048;
        uint32_t whole = sl__crc32c(0, data, a + b);
        comb = comb &&
               sl__crc32c_combine(sl__crc32c(0, data, a), sl__crc32c(0, data + a, b), b) == whole;
    }
    CU_ASSERT(agree);
    CU_ASSERT(comb);
    CU_ASSERT_EQUAL(sl__crc32c_combine(0x12345678u, 0, 0), 0x12345678u);
}

/* ---- the store -------------------------------------------------------------------- */

/* Write two checkpoints; the newest loads with every section intact. */
static void test_write_load(void) {
    char dir[256], path[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    CU_ASSERT_EQUAL(write_ckpt(dir, 1000, 3), 0);
    CU_ASSERT_EQUAL(write_ckpt(dir, 2000, 3), 0);
    sl__ckpt c;
    sl_error err = {0};
    CU_ASSERT_EQUAL_FATAL(sl__ckpt_load_latest(dir, &c, &err), 0);
    CU_ASSERT(is_std(&c, 2000));
    ASSERT_INT_EQ(c.version, SL__CKPT_VERSION);
    ASSERT_STR_EQ(c.path, ckpt_path(dir, 2000, path, sizeof path));
    ASSERT_STR_EQ(c.sec[0].name, "meta");
    ASSERT_STR_EQ(c.sec[1].name, "state/words");
    size_t len = 99;
    CU_ASSERT(sl__ckpt_find(&c, "state/nothing", &len) == NULL && len == 0);
    sl__ckpt_free(&c);
    CU_ASSERT(c.sec == NULL && c.n == 0);
    /* names sort by time: zero-padded to 15 digits */
    struct stat st;
    snprintf(path, sizeof path, "%s/checkpoint-000000000002000.slck", dir);
    CU_ASSERT(stat(path, &st) == 0 && st.st_size == STD_LEN);
    CU_ASSERT((st.st_mode & 077) == 0); /* state can hold user data */
    int64_t *times;
    size_t n;
    CU_ASSERT_EQUAL(sl__ckpt_list(dir, &times, &n, &err), 0);
    CU_ASSERT(n == 2 && times[0] == 2000 && times[1] == 1000);
    free(times);
    unit_rmtree(dir);
}

/* A checkpoint with no sections, and one whose section is larger than the
 * writer's staging buffer, both load back exactly. */
static void test_empty_and_large(void) {
    char dir[256];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    sl__ckpt_writer *w;
    sl_error err = {0};
    CU_ASSERT_EQUAL_FATAL(sl__ckpt_begin(dir, 5, &w, &err), 0);
    CU_ASSERT_EQUAL(sl__ckpt_commit(w, 3, &err), 0);
    sl__ckpt c;
    CU_ASSERT_EQUAL_FATAL(sl__ckpt_load_latest(dir, &c, &err), 0);
    CU_ASSERT(c.batch_time == 5 && c.n == 0);
    sl__ckpt_free(&c);

    size_t big_len = 3 * 1024 * 1024 + 17;
    uint8_t *big = malloc(big_len);
    CU_ASSERT_FATAL(big != NULL);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (uint8_t)rnd();
    CU_ASSERT_EQUAL_FATAL(sl__ckpt_begin(dir, 6, &w, &err), 0);
    CU_ASSERT_EQUAL(sl__ckpt_section(w, "a", "x", 1, &err), 0);
    CU_ASSERT_EQUAL(sl__ckpt_section(w, "state/big", big, big_len, &err), 0);
    CU_ASSERT_EQUAL(sl__ckpt_section(w, "empty", NULL, 0, &err), 0);
    CU_ASSERT_EQUAL(sl__ckpt_section(w, "z", "yz", 2, &err), 0);
    CU_ASSERT_EQUAL(sl__ckpt_commit(w, 3, &err), 0);
    CU_ASSERT_EQUAL_FATAL(sl__ckpt_load_latest(dir, &c, &err), 0);
    size_t n;
    const uint8_t *p = sl__ckpt_find(&c, "state/big", &n);
    CU_ASSERT(c.batch_time == 6 && c.n == 4);
    CU_ASSERT(p && n == big_len && memcmp(p, big, big_len) == 0);
    CU_ASSERT(sl__ckpt_find(&c, "empty", &n) != NULL && n == 0);
    p = sl__ckpt_find(&c, "z", &n);
    CU_ASSERT(p && n == 2 && memcmp(p, "yz", 2) == 0);
    sl__ckpt_free(&c);
    free(big);
    unit_rmtree(dir);
}

/* What the engine will do: records encoded with the value codec into a
 * section, read back after a "restart". */
static void test_values_in_checkpoint(void) {
    char dir[256];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    sl__buf b = {0};
    sl_value pair[] = {sl_cstr("x"), sl_int(3)};
    sl_value keys[] = {sl_cstr("apple"), sl_null_key(), sl_list(pair, 2)};
    sl__buf_put_varint(&b, 3);
    for (int i = 0; i < 3; i++) {
        sl_value cnt = sl_int(i * 10 - 5);
        CU_ASSERT_EQUAL(sl__value_encode(&b, &keys[i]), 0);
        CU_ASSERT_EQUAL(sl__value_encode(&b, &cnt), 0);
    }
    sl__ckpt_writer *w;
    sl_error err = {0};
    CU_ASSERT_EQUAL_FATAL(sl__ckpt_begin(dir, 42000, &w, &err), 0);
    CU_ASSERT_EQUAL(sl__ckpt_section(w, "state/counts", b.data, b.len, &err), 0);
    sl__buf_free(&b); /* the writer does not keep the caller's bytes */
    CU_ASSERT_EQUAL(sl__ckpt_commit(w, 3, &err), 0);
    sl__ckpt c;
    CU_ASSERT_EQUAL_FATAL(sl__ckpt_load_latest(dir, &c, &err), 0);
    size_t len = 0;
    const uint8_t *p = sl__ckpt_find(&c, "state/counts", &len);
    CU_ASSERT_FATAL(p != NULL);
    sl__arena a;
    sl_mem mem;
    sl__arena_init(&a, 0);
    sl__arena_mem(&a, &mem);
    sl__reader r = {p, len, 0};
    uint64_t n = 0;
    CU_ASSERT(sl__read_varint(&r, &n) == 0 && n == 3);
    for (int i = 0; i < 3; i++) {
        sl_value k, v;
        CU_ASSERT_EQUAL(sl__value_decode(&r, &k, &mem), 0);
        CU_ASSERT_EQUAL(sl__value_decode(&r, &v, &mem), 0);
        CU_ASSERT(same(&k, &keys[i]));
        CU_ASSERT(v.type == SL_INT && v.u.i == i * 10 - 5);
    }
    ASSERT_INT_EQ(sl__reader_left(&r), 0);
    sl__ckpt_free(&c); /* decoded values were copied into the arena */
    sl__arena_free(&a);
    unit_rmtree(dir);
}

/* keep=2: after five commits exactly the two newest files remain. */
static void test_retention(void) {
    char dir[256];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    for (int64_t t = 1000; t <= 5000; t += 1000)
        CU_ASSERT_EQUAL(write_ckpt(dir, t, 2), 0);
    ASSERT_INT_EQ(count_files(dir, ""), 2);
    int64_t *times;
    size_t n;
    sl_error err = {0};
    CU_ASSERT_EQUAL(sl__ckpt_list(dir, &times, &n, &err), 0);
    CU_ASSERT(n == 2 && times[0] == 5000 && times[1] == 4000);
    free(times);
    /* keep=1 leaves only the newest; keep < 1 is refused and writes nothing */
    CU_ASSERT_EQUAL(write_ckpt(dir, 6000, 1), 0);
    ASSERT_INT_EQ(count_files(dir, ""), 1);
    CU_ASSERT_EQUAL(write_ckpt(dir, 7000, 0), SL_EINVAL);
    ASSERT_INT_EQ(count_files(dir, ""), 1);
    sl__ckpt c;
    CU_ASSERT_EQUAL(sl__ckpt_load_latest(dir, &c, &err), 0);
    CU_ASSERT(is_std(&c, 6000));
    sl__ckpt_free(&c);
    unit_rmtree(dir);
}

/* Retention counts only intact files: a damaged older file is removed and
 * does not take the place of a good one. */
static void test_retention_skips_damaged(void) {
    char dir[256], path[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    CU_ASSERT_EQUAL(write_ckpt(dir, 1000, 5), 0);
    CU_ASSERT_EQUAL(write_ckpt(dir, 2000, 5), 0);
    truncate(ckpt_path(dir, 2000, path, sizeof path), 30);
    int saved = sl__log_level;
    sl__log_level = SL_LOG_ERROR;
    CU_ASSERT_EQUAL(write_ckpt(dir, 3000, 2), 0);
    sl__log_level = saved;
    int64_t *times;
    size_t n;
    sl_error err = {0};
    CU_ASSERT_EQUAL(sl__ckpt_list(dir, &times, &n, &err), 0);
    CU_ASSERT(n == 2 && times[0] == 3000 && times[1] == 1000);
    free(times);
    unit_rmtree(dir);
}

/* The newest file cut at offsets across header, sections and footer: the
 * loader names it as truncated and falls back to the previous one. */
static void test_truncated_fallback(void) {
    static const size_t offsets[] = {0,
                                     1,
                                     3,
                                     8,
                                     19,
                                     20,
                                     STD_SEC1 + 7,
                                     STD_SEC2,
                                     STD_SEC2 + 30,
                                     STD_FOOT - 2,
                                     STD_FOOT,
                                     STD_FOOT + 4,
                                     STD_LEN - 1};
    char dir[256], path[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    CU_ASSERT_EQUAL(write_ckpt(dir, 1000, 5), 0);
    CU_ASSERT_EQUAL(write_ckpt(dir, 2000, 5), 0);
    ckpt_path(dir, 2000, path, sizeof path);
    size_t len = 0;
    uint8_t *good = slurp(path, &len);
    CU_ASSERT_FATAL(good != NULL);
    ASSERT_INT_EQ(len, STD_LEN);
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        CU_ASSERT_FATAL(spill(path, good, offsets[i]) == 0);
        sl__ckpt c;
        sl_error err = {0};
        cap_begin();
        int rc = sl__ckpt_load_latest(dir, &c, &err);
        char *log = cap_end();
        CU_ASSERT_EQUAL(rc, 0);
        if (rc == 0)
            unit_check(is_std(&c, 1000), __FILE__, __LINE__,
                       "cut at %zu: loaded %lld, want the older 1000", offsets[i],
                       (long long)c.batch_time);
        ASSERT_CONTAINS(log, "checkpoint-000000000002000.slck");
        ASSERT_CONTAINS(log, "truncated");
        free(log);
        sl__ckpt_free(&c);
        /* and alone, the cut file is damaged, not a crash */
        CU_ASSERT_EQUAL(sl__ckpt_load_file(path, &c, &err), SL_EINVAL);
        ASSERT_CONTAINS(err.msg, path);
    }
    free(good);
    unit_rmtree(dir);
}

/* A FIFO named like the newest checkpoint beside a good one (issue 12,
 * fault 6: opening it blocked the start forever). The loader skips it with
 * a warning naming it and loads the good one; retention leaves it alone
 * (it is not a file we wrote) and does not block on it. alarm() bounds the
 * test: a blocking open of a FIFO without a writer never returns. */
static void test_fifo_named_like_checkpoint(void) {
    char dir[256], path[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    CU_ASSERT_EQUAL(write_ckpt(dir, 1000, 5), 0);
    CU_ASSERT_EQUAL_FATAL(mkfifo(ckpt_path(dir, 2000, path, sizeof path), 0600), 0);
    sl__ckpt c;
    sl_error err = {0};
    alarm(10);
    cap_begin();
    int rc = sl__ckpt_load_latest(dir, &c, &err);
    char *log = cap_end();
    alarm(0);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc == 0)
        CU_ASSERT(is_std(&c, 1000));
    ASSERT_CONTAINS(log, "checkpoint-000000000002000.slck");
    ASSERT_CONTAINS(log, "not a regular file");
    free(log);
    sl__ckpt_free(&c);
    /* an older FIFO under retention: kept, not read, not counted */
    char old[512];
    CU_ASSERT_EQUAL_FATAL(mkfifo(ckpt_path(dir, 500, old, sizeof old), 0600), 0);
    int saved = sl__log_level;
    sl__log_level = SL_LOG_ERROR;
    alarm(10);
    CU_ASSERT_EQUAL(write_ckpt(dir, 3000, 1), 0);
    alarm(0);
    sl__log_level = saved;
    CU_ASSERT_EQUAL(access(old, F_OK), 0);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    CU_ASSERT_EQUAL(sl__ckpt_load_latest(dir, &c, &err), 0);
    CU_ASSERT(is_std(&c, 3000));
    sl__ckpt_free(&c);
    unit_rmtree(dir);
}

/* Every single-bit flip anywhere in the newest file is detected: the loader
 * falls back to the older checkpoint and never returns the flipped one. */
static void test_bit_flips(void) {
    char dir[256], path[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    CU_ASSERT_EQUAL(write_ckpt(dir, 1000, 5), 0);
    CU_ASSERT_EQUAL(write_ckpt(dir, 2000, 5), 0);
    ckpt_path(dir, 2000, path, sizeof path);
    size_t len = 0;
    uint8_t *good = slurp(path, &len);
    CU_ASSERT_FATAL(good != NULL && len == STD_LEN);
    int wrong = 0, loads = 0;
    for (size_t pos = 0; pos < len; pos++) {
        for (int bit = 0; bit < 8; bit++) {
            good[pos] ^= (uint8_t)(1u << bit);
            CU_ASSERT_FATAL(spill(path, good, len) == 0);
            good[pos] ^= (uint8_t)(1u << bit);
            sl__ckpt c;
            int rc = load_quiet(dir, &c);
            loads++;
            if (rc != 0 || !is_std(&c, 1000)) {
                if (!wrong)
                    unit_check(false, __FILE__, __LINE__,
                               "flip at byte %zu bit %d: rc %d, loaded %lld", pos, bit, rc,
                               (long long)c.batch_time);
                wrong++;
            }
            sl__ckpt_free(&c);
        }
    }
    ASSERT_INT_EQ(wrong, 0);
    ASSERT_INT_EQ(loads, STD_LEN * 8);
    /* with no older file to fall back on: SL_ENOTFOUND, never the flipped data */
    remove(ckpt_path(dir, 1000, path, sizeof path));
    ckpt_path(dir, 2000, path, sizeof path);
    wrong = 0;
    for (size_t pos = 0; pos < len; pos++) {
        good[pos] ^= 0x10;
        spill(path, good, len);
        good[pos] ^= 0x10;
        sl__ckpt c;
        wrong += load_quiet(dir, &c) != SL_ENOTFOUND;
        sl__ckpt_free(&c);
    }
    ASSERT_INT_EQ(wrong, 0);
    free(good);
    unit_rmtree(dir);
}

/* Rewrite the header's version of the file at path, fixing the file CRC so
 * that only the version is wrong. */
static void set_version(const char *path, uint32_t version) {
    size_t len = 0;
    uint8_t *b = slurp(path, &len);
    CU_ASSERT_FATAL(b != NULL && len >= 28);
    for (int i = 0; i < 4; i++)
        b[4 + i] = (uint8_t)(version >> (8 * i));
    uint32_t crc = sl__crc32c(0, b, len - 8);
    for (int i = 0; i < 4; i++)
        b[len - 8 + i] = (uint8_t)(crc >> (8 * i));
    spill(path, b, len);
    free(b);
}

/* Format 2 only added a section (receiver_wal/<stream>): a file of format 1
 * is read as it is, and says so in its version. */
static void test_reads_version_1(void) {
    char dir[256], path[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    CU_ASSERT_EQUAL(write_ckpt(dir, 1000, 5), 0);
    set_version(ckpt_path(dir, 1000, path, sizeof path), 1);
    sl__ckpt c;
    sl_error err = {0};
    int rc = sl__ckpt_load_latest(dir, &c, &err);
    ASSERT_INT_EQ(rc, 0);
    CU_ASSERT(rc == 0 && is_std(&c, 1000));
    ASSERT_INT_EQ(c.version, 1);
    sl__ckpt_free(&c);
    set_version(path, 0); /* older than any release */
    rc = sl__ckpt_load_file(path, &c, &err);
    ASSERT_INT_EQ(rc, SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "unsupported format version 0 (this sluice reads versions 1 to 2)");
}

/* A file of another format version is skipped with a warning that names it
 * and the versions; so are bad magic and a damaged section, each with its
 * own reason. */
static void test_skip_reasons(void) {
    char dir[256], path[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    CU_ASSERT_EQUAL(write_ckpt(dir, 1000, 5), 0);
    CU_ASSERT_EQUAL(write_ckpt(dir, 2000, 5), 0);
    CU_ASSERT_EQUAL(write_ckpt(dir, 3000, 5), 0);
    CU_ASSERT_EQUAL(write_ckpt(dir, 4000, 5), 0);
    set_version(ckpt_path(dir, 4000, path, sizeof path), SL__CKPT_VERSION + 1);
    size_t len = 0;
    uint8_t *b = slurp(ckpt_path(dir, 3000, path, sizeof path), &len);
    b[0] = 'X';
    spill(path, b, len);
    free(b);
    b = slurp(ckpt_path(dir, 2000, path, sizeof path), &len);
    b[STD_SEC2 + 20] ^= 1; /* inside state/words' payload */
    spill(path, b, len);
    free(b);
    sl__ckpt c;
    sl_error err = {0};
    cap_begin();
    int rc = sl__ckpt_load_latest(dir, &c, &err);
    char *log = cap_end();
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(rc == 0 && is_std(&c, 1000));
    ASSERT_CONTAINS(log, "WARN");
    ASSERT_CONTAINS(log, "checkpoint-000000000004000.slck': unsupported format version 3");
    ASSERT_CONTAINS(log, "checkpoint-000000000003000.slck': bad magic");
    ASSERT_CONTAINS(log, "checkpoint-000000000002000.slck': CRC mismatch in section "
                         "'state/words'");
    ASSERT_CONTAINS(log, "using the older checkpoint");
    free(log);
    sl__ckpt_free(&c);
    unit_rmtree(dir);
}

/* A good file renamed to another time is refused: the header's time and the
 * name disagree. */
static void test_renamed_file(void) {
    char dir[256], from[512], to[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    CU_ASSERT_EQUAL(write_ckpt(dir, 1000, 5), 0);
    CU_ASSERT_EQUAL(write_ckpt(dir, 2000, 5), 0);
    rename(ckpt_path(dir, 2000, from, sizeof from), ckpt_path(dir, 3000, to, sizeof to));
    sl__ckpt c;
    sl_error err = {0};
    CU_ASSERT_EQUAL(sl__ckpt_load_file(to, &c, &err), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "does not match the file name");
    CU_ASSERT(load_quiet(dir, &c) == 0 && is_std(&c, 1000));
    sl__ckpt_free(&c);
    unit_rmtree(dir);
}

/* No directory, an empty one, and one with only damaged files are all
 * SL_ENOTFOUND, with a message that says which. */
static void test_not_found(void) {
    char dir[256], sub[512], path[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    snprintf(sub, sizeof sub, "%s/never-created", dir);
    sl__ckpt c;
    sl_error err = {0};
    CU_ASSERT_EQUAL(sl__ckpt_load_latest(sub, &c, &err), SL_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, sub);
    ASSERT_CONTAINS(err.msg, "does not exist");
    CU_ASSERT(c.path == NULL && c.n == 0);
    CU_ASSERT_EQUAL(sl__ckpt_load_latest(dir, &c, &err), SL_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "no checkpoint in");
    CU_ASSERT_EQUAL(write_ckpt(dir, 1000, 5), 0);
    truncate(ckpt_path(dir, 1000, path, sizeof path), 50);
    int saved = sl__log_level;
    sl__log_level = SL_LOG_ERROR;
    CU_ASSERT_EQUAL(sl__ckpt_load_latest(dir, &c, &err), SL_ENOTFOUND);
    sl__log_level = saved;
    ASSERT_CONTAINS(err.msg, "1 damaged file(s) skipped");
    int64_t *times;
    size_t n;
    CU_ASSERT_EQUAL(sl__ckpt_list(sub, &times, &n, &err), SL_ENOTFOUND);
    CU_ASSERT(times == NULL && n == 0);
    unit_rmtree(dir);
}

/* begin creates missing parents; a path through a regular file is an I/O
 * error naming it. */
static void test_begin_dirs(void) {
    char dir[256], deep[512], path[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    snprintf(deep, sizeof deep, "%s/a/b//c/", dir);
    CU_ASSERT_EQUAL(write_ckpt(deep, 1000, 3), 0);
    sl__ckpt c;
    sl_error err = {0};
    CU_ASSERT(sl__ckpt_load_latest(deep, &c, &err) == 0 && is_std(&c, 1000));
    sl__ckpt_free(&c);
    unit_write_file(dir, "plain", "x", path, sizeof path);
    snprintf(deep, sizeof deep, "%s/plain/ckpt", dir);
    sl__ckpt_writer *w = (sl__ckpt_writer *)1;
    CU_ASSERT_EQUAL(sl__ckpt_begin(deep, 1000, &w, &err), SL_EIO);
    CU_ASSERT(w == NULL);
    ASSERT_CONTAINS(err.msg, "plain");
    CU_ASSERT_EQUAL(sl__ckpt_begin(path, 1000, &w, &err), SL_EIO);
    ASSERT_CONTAINS(err.msg, "not a directory");
    CU_ASSERT_EQUAL(sl__ckpt_begin(dir, -1, &w, &err), SL_EINVAL);
    CU_ASSERT_EQUAL(sl__ckpt_begin(dir, SL__CKPT_MAX_TIME + 1, &w, &err), SL_EINVAL);
    CU_ASSERT_EQUAL(sl__ckpt_begin("", 0, &w, &err), SL_EINVAL);
    unit_rmtree(dir);
}

/* abort removes the temp file; nothing is left behind. */
static void test_abort(void) {
    char dir[256];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    sl__ckpt_writer *w;
    sl_error err = {0};
    CU_ASSERT_EQUAL_FATAL(sl__ckpt_begin(dir, 1000, &w, &err), 0);
    CU_ASSERT_EQUAL(sl__ckpt_section(w, "meta", "abc", 3, &err), 0);
    ASSERT_INT_EQ(count_files(dir, ".checkpoint-000000000001000.tmp-"), 1);
    sl__ckpt_abort(w);
    ASSERT_INT_EQ(count_files(dir, ""), 0);
    sl__ckpt_abort(NULL);
    unit_rmtree(dir);
}

/* Bad sections (empty or repeated names) fail the writer: commit returns
 * the error and leaves neither a checkpoint nor a temp file. */
static void test_section_errors(void) {
    char dir[256];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    sl__ckpt_writer *w;
    sl_error err = {0};
    CU_ASSERT_EQUAL_FATAL(sl__ckpt_begin(dir, 1000, &w, &err), 0);
    CU_ASSERT_EQUAL(sl__ckpt_section(w, "meta", "abc", 3, &err), 0);
    CU_ASSERT_EQUAL(sl__ckpt_section(w, "meta", "abc", 3, &err), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "'meta' written twice");
    CU_ASSERT_EQUAL(sl__ckpt_section(w, "other", "abc", 3, &err), SL_EINVAL);
    memset(&err, 0, sizeof err);
    CU_ASSERT_EQUAL(sl__ckpt_commit(w, 3, &err), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "written twice");
    ASSERT_INT_EQ(count_files(dir, ""), 0);
    CU_ASSERT_EQUAL_FATAL(sl__ckpt_begin(dir, 1000, &w, &err), 0);
    CU_ASSERT_EQUAL(sl__ckpt_section(w, "", "abc", 3, &err), SL_EINVAL);
    sl__ckpt_abort(w);
    ASSERT_INT_EQ(count_files(dir, ""), 0);
    unit_rmtree(dir);
}

/* A temp file left by a crash mid-write is ignored by the loader and
 * removed by the next commit, as is an older one. */
static void test_stale_temp(void) {
    char dir[256], path[512], tmp[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    CU_ASSERT_EQUAL(write_ckpt(dir, 1000, 3), 0);
    CU_ASSERT_EQUAL(write_ckpt(dir, 2000, 3), 0);
    size_t len = 0;
    uint8_t *b = slurp(ckpt_path(dir, 2000, path, sizeof path), &len);
    remove(path);
    snprintf(tmp, sizeof tmp, "%s/.checkpoint-000000000002000.tmp-99999", dir);
    spill(tmp, b, len / 2); /* the crash: half written, never renamed */
    snprintf(tmp, sizeof tmp, "%s/.checkpoint-000000000000500.tmp-4", dir);
    spill(tmp, b, len); /* complete but never renamed */
    free(b);
    sl__ckpt c;
    cap_begin();
    int rc = load_quiet(dir, &c);
    char *log = cap_end();
    CU_ASSERT(rc == 0 && is_std(&c, 1000));
    ASSERT_STR_EQ(log, ""); /* not even a warning: a temp file is not a checkpoint */
    free(log);
    sl__ckpt_free(&c);
    CU_ASSERT_EQUAL(write_ckpt(dir, 2000, 3), 0);
    ASSERT_INT_EQ(count_files(dir, ".checkpoint-"), 0);
    ASSERT_INT_EQ(count_files(dir, "checkpoint-"), 2);
    CU_ASSERT(load_quiet(dir, &c) == 0 && is_std(&c, 2000));
    sl__ckpt_free(&c);
    unit_rmtree(dir);
}

/* After a fallback the engine resumes from the older time; its first commit
 * removes the newer (damaged) file, which would otherwise shadow it. */
static void test_newer_removed(void) {
    char dir[256], path[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    CU_ASSERT_EQUAL(write_ckpt(dir, 1000, 5), 0);
    CU_ASSERT_EQUAL(write_ckpt(dir, 5000, 5), 0);
    truncate(ckpt_path(dir, 5000, path, sizeof path), 40);
    sl__ckpt c;
    CU_ASSERT(load_quiet(dir, &c) == 0 && is_std(&c, 1000));
    sl__ckpt_free(&c);
    int saved = sl__log_level;
    sl__log_level = SL_LOG_ERROR;
    CU_ASSERT_EQUAL(write_ckpt(dir, 2000, 5), 0);
    sl__log_level = saved;
    int64_t *times;
    size_t n;
    sl_error err = {0};
    CU_ASSERT_EQUAL(sl__ckpt_list(dir, &times, &n, &err), 0);
    CU_ASSERT(n == 2 && times[0] == 2000 && times[1] == 1000);
    free(times);
    unit_rmtree(dir);
}

/* Rewriting the same batch time replaces the file atomically. */
static void test_rewrite_same_time(void) {
    char dir[256];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    CU_ASSERT_EQUAL(write_ckpt(dir, 1000, 3), 0);
    sl__ckpt_writer *w;
    sl_error err = {0};
    CU_ASSERT_EQUAL_FATAL(sl__ckpt_begin(dir, 1000, &w, &err), 0);
    CU_ASSERT_EQUAL(sl__ckpt_section(w, "final", "yes", 3, &err), 0);
    CU_ASSERT_EQUAL(sl__ckpt_commit(w, 3, &err), 0);
    sl__ckpt c;
    CU_ASSERT_EQUAL_FATAL(sl__ckpt_load_latest(dir, &c, &err), 0);
    CU_ASSERT(c.n == 1 && sl__ckpt_find(&c, "final", NULL) != NULL);
    sl__ckpt_free(&c);
    ASSERT_INT_EQ(count_files(dir, ""), 1);
    unit_rmtree(dir);
}

/* 2000 random or mutated files as the newest checkpoint: the loader never
 * crashes and always falls back to the good one. */
static void test_fuzz_files(void) {
    char dir[256], path[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    CU_ASSERT_EQUAL(write_ckpt(dir, 1000, 5), 0);
    CU_ASSERT_EQUAL(write_ckpt(dir, 2000, 5), 0);
    ckpt_path(dir, 2000, path, sizeof path);
    size_t glen = 0;
    uint8_t *good = slurp(path, &glen);
    CU_ASSERT_FATAL(good != NULL);
    uint8_t buf[512];
    int wrong = 0;
    for (int i = 0; i < 2000; i++) {
        size_t n;
        switch (i % 4) {
        case 0: /* noise */
            n = rnd() % sizeof buf;
            for (size_t k = 0; k < n; k++)
                buf[k] = (uint8_t)rnd();
            break;
        case 1: /* a valid header and end marker around noise */
            n = 28 + rnd() % (sizeof buf - 28);
            for (size_t k = 0; k < n; k++)
                buf[k] = (uint8_t)(rnd() % 4 ? rnd() % 8 : rnd());
            memcpy(buf, good, 16);
            memcpy(buf + n - 4, "KCLS", 4);
            break;
        case 2: /* the good file with a few bytes changed */
            n = glen;
            memcpy(buf, good, n);
            for (int k = 1 + (int)(rnd() % 4); k > 0; k--)
                buf[rnd() % n] ^= (uint8_t)(1 + rnd() % 255);
            break;
        default: /* the good file cut or extended */
            memcpy(buf, good, glen);
            n = rnd() % 2 ? rnd() % glen : glen + 1 + rnd() % 64;
            for (size_t k = glen; k < n; k++)
                buf[k] = (uint8_t)rnd();
            break;
        }
        CU_ASSERT_FATAL(spill(path, buf, n) == 0);
        sl__ckpt c;
        int rc = load_quiet(dir, &c);
        if (rc != 0 || !is_std(&c, 1000)) {
            if (!wrong)
                unit_check(false, __FILE__, __LINE__, "fuzz case %d (kind %d, %zu bytes): rc %d", i,
                           i % 4, n, rc);
            wrong++;
        }
        sl__ckpt_free(&c);
    }
    ASSERT_INT_EQ(wrong, 0);
    free(good);
    unit_rmtree(dir);
}

/* Peak resident set of this process so far, in MiB. */
static long peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

/* A sparse file of `size` bytes at path; with `framed`, it starts like a
 * checkpoint of time t (magic, version, time, one section "meta" whose
 * payload runs to just before the section CRC) and ends with the end
 * marker, so that only the payload's CRC (or the size) can refuse it. */
static int sparse_junk(const char *path, off_t size, bool framed, int64_t t) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    int rc = ftruncate(fd, size);
    if (!rc && framed) {
        uint8_t h[48] = "SLCK";
        sl__put_le(h + 4, 1, 4);
        sl__put_le(h + 8, (uint64_t)t, 8);
        sl__put_le(h + 16, 1, 4);
        size_t n = 20;
        h[n++] = 4;
        memcpy(h + n, "meta", 4);
        n += 4;
        uint64_t payload = (uint64_t)size - 8 - 4 - (n + 5);
        n += sl__varint_encode(h + n, payload);
        rc = (pwrite(fd, h, n, 0) == (ssize_t)n && pwrite(fd, "KCLS", 4, size - 4) == 4) ? 0 : -1;
    }
    close(fd);
    return rc;
}

/* A 3 GB file named like the newest checkpoint (issue 12, fault 7: it was
 * read whole, 3.1 GB RSS and 15.6 s, before its header was looked at; under
 * a memory limit the start failed instead of falling back). Sparse files:
 * no disk, and the test is fast. The loader must refuse each without
 * reading it into memory and fall back to the good checkpoint:
 *   - zeros: bad magic, from the first 4 bytes;
 *   - a framed file whose one section declares ~3 GB: its CRC is checked
 *     by streaming the payload, never by allocating it;
 *   - the same under a 1 GiB load limit (the memory this process may use):
 *     refused from its size alone. */
static void test_huge_junk(void) {
    const off_t size = (off_t)3 << 30;
    char dir[256], path[512];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    CU_ASSERT_EQUAL_FATAL(write_ckpt(dir, 1000, 5), 0);
    ckpt_path(dir, 2000, path, sizeof path);
    for (int round = 0; round < 3; round++) {
        /* round 1 reads its payload through: 1 GiB is enough to show it is streamed */
        CU_ASSERT_EQUAL_FATAL(sparse_junk(path, round == 1 ? size / 3 : size, round > 0, 2000), 0);
        sl__ckpt_set_load_limit(round == 2 ? (uint64_t)1 << 30 : 0);
        sl__ckpt c;
        sl_error err = {0};
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cap_begin();
        int rc = sl__ckpt_load_latest(dir, &c, &err);
        char *log = cap_end();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        CU_ASSERT_EQUAL(rc, 0);
        unit_check(rc == 0 && is_std(&c, 1000), __FILE__, __LINE__,
                   "round %d: falls back to the good checkpoint (%s)", round, err.msg);
        ASSERT_CONTAINS(log, "checkpoint-000000000002000.slck");
        ASSERT_CONTAINS(log, round == 0   ? "bad magic"
                             : round == 1 ? "CRC mismatch in section 'meta'"
                                          : "more than this process may use");
        ASSERT_CONTAINS(log, "using the older checkpoint");
        free(log);
        sl__ckpt_free(&c);
        unit_check(peak_rss_mib() < 512, __FILE__, __LINE__,
                   "round %d: peak RSS %ld MiB (< 512 MiB)", round, peak_rss_mib());
        unit_check(round == 1 || took < 2, __FILE__, __LINE__, "round %d: refused in %.2f s", round,
                   took);
    }
    sl__ckpt_set_load_limit(0);
    unlink(path);
    unit_rmtree(dir);
}

/* One writer per directory: a second lock is refused with the owner's pid,
 * and the lock can be taken again once released. */
static void test_lock(void) {
    char dir[256], sub[512], pid[32];
    CU_ASSERT_FATAL(unit_mkdtemp(dir, sizeof dir) != NULL);
    snprintf(sub, sizeof sub, "%s/ck", dir);
    int a = -1, b = -1;
    sl_error err = {0};
    CU_ASSERT_EQUAL_FATAL(sl__ckpt_lock(sub, &a, &err), 0);
    CU_ASSERT(a >= 0);
    CU_ASSERT_EQUAL(sl__ckpt_lock(sub, &b, &err), SL_ESTATE);
    CU_ASSERT(b == -1);
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    ASSERT_CONTAINS(err.msg, pid);
    ASSERT_CONTAINS(err.msg, sub);
    /* deleting .lock does not let a second writer in (issue 12, fault 9a:
     * the lock was the flock of that file, so a new file meant a new lock) */
    char lockf[600];
    snprintf(lockf, sizeof lockf, "%s/.lock", sub);
    CU_ASSERT_EQUAL(unlink(lockf), 0);
    CU_ASSERT_EQUAL(sl__ckpt_lock(sub, &b, &err), SL_ESTATE);
    CU_ASSERT(b == -1);
    ASSERT_CONTAINS(err.msg, "in use by another sluice process");
    /* the lock file is not a checkpoint */
    CU_ASSERT_EQUAL(write_ckpt(sub, 1000, 1), 0);
    sl__ckpt c;
    CU_ASSERT(sl__ckpt_load_latest(sub, &c, &err) == 0 && is_std(&c, 1000));
    sl__ckpt_free(&c);
    sl__ckpt_unlock(a);
    /* a stale lock file (a crashed owner's pid) does not block */
    CU_ASSERT_EQUAL(spill(lockf, "4194303\n", 8), 0);
    CU_ASSERT_EQUAL(sl__ckpt_lock(sub, &b, &err), 0);
    sl__ckpt_unlock(b);
    unit_rmtree(dir);
}

UNIT_MAIN("checkpoint", {"buf fixed ints", test_fixed_ints}, {"varint edges", test_varint_edges},
          {"zigzag", test_zigzag}, {"varint malformed", test_varint_malformed},
          {"truncated reads", test_truncated_reads}, {"buf growth", test_buf_growth},
          {"value scalars", test_value_scalars}, {"value bools", test_value_bools},
          {"value null key", test_value_null_key}, {"value objects", test_value_object},
          {"value lists", test_value_lists}, {"value depth", test_value_depth},
          {"value corrupt", test_value_corrupt}, {"value fuzz", test_value_fuzz},
          {"nested lists claiming more than the input", test_value_nested_claims},
          {"crc32c vectors", test_crc_vectors}, {"crc32c paths", test_crc_paths},
          {"write and load", test_write_load}, {"empty and large", test_empty_and_large},
          {"values in a checkpoint", test_values_in_checkpoint}, {"retention", test_retention},
          {"retention skips damaged", test_retention_skips_damaged},
          {"truncated fallback", test_truncated_fallback}, {"bit flips", test_bit_flips},
          {"skip reasons", test_skip_reasons}, {"reads format 1", test_reads_version_1},
          {"renamed file", test_renamed_file}, {"not found", test_not_found},
          {"begin dirs", test_begin_dirs}, {"abort", test_abort},
          {"section errors", test_section_errors}, {"stale temp", test_stale_temp},
          {"newer removed", test_newer_removed}, {"rewrite same time", test_rewrite_same_time},
          {"fuzz files", test_fuzz_files}, {"lock", test_lock},
          {"a 3 GB junk file", test_huge_junk},
          {"fifo named like a checkpoint", test_fifo_named_like_checkpoint})

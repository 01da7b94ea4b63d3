/*
 * test_state.c — core/src/state.c: the keyed state store of stateful streams.
 */
#include "checkpoint.h"
#include "state.h"
#include "unit.h"

/* splitmix64: a bijection, so mix(i) gives distinct keys for distinct i. */
static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static sl__state_store *new_store(int parts, size_t limit, bool times) {
    sl__state_store *s = NULL;
    sl_error err = {0, ""};
    int rc = sl__state_new("counts", parts, limit, times, &s, &err);
    unit_check(rc == 0 && s, __FILE__, __LINE__, "sl__state_new: %d %s", rc, err.msg);
    return s;
}

static int put(sl__state_store *s, sl_value k, sl_value v, int64_t now) {
    sl_error err = {0, ""};
    return sl__state_put(s, sl__value_hash(&k), &k, &v, now, &err);
}

static const sl_value *get(sl__state_store *s, sl_value k) {
    return sl__state_get(s, sl__value_hash(&k), &k, NULL);
}

static int del(sl__state_store *s, sl_value k) {
    return sl__state_remove(s, sl__value_hash(&k), &k);
}

/* Key i of the big tests: i in hex, ':', and a pseudo-random hex tail (3 to
 * 33 bytes; distinct for distinct i). buf has room for 40 bytes. */
static sl_value key_of(uint64_t i, char *buf) {
    uint64_t m = mix(i);
    int n =
        snprintf(buf, 40, "%llx:%llx", (unsigned long long)i, (unsigned long long)(m >> (m % 64)));
    return sl_bytes(buf, (size_t)n);
}

static bool value_is(const sl_value *v, sl_value want) {
    return v && sl__value_equal(v, &want) && v->type == want.type;
}

/* put / get / replace / remove with keys of every type; 1 and 1.0 are one
 * key, and so are both spellings of a null key. */
static void test_basic_types(void) {
    sl__state_store *s = new_store(2, 0, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    sl_value items[2] = {sl_cstr("a"), sl_int(2)};
    sl_value keys[] = {sl_cstr("apple"),  sl_int(1),     sl_double(2.5),
                       sl_list(items, 2), sl_null_key(), sl_cstr("")};
    size_t nk = sizeof keys / sizeof *keys;
    for (size_t i = 0; i < nk; i++)
        ASSERT_INT_EQ(put(s, keys[i], sl_int((int64_t)i * 10), 5), 0);
    ASSERT_INT_EQ(sl__state_count(s), nk);
    for (size_t i = 0; i < nk; i++) {
        const sl_value *v = get(s, keys[i]);
        unit_check(value_is(v, sl_int((int64_t)i * 10)), __FILE__, __LINE__, "key %zu", i);
    }
    /* equal across types */
    CU_ASSERT(value_is(get(s, sl_double(1.0)), sl_int(10)));
    CU_ASSERT(value_is(get(s, sl_null()), sl_int(40)));
    sl_value items2[2] = {sl_cstr("a"), sl_double(2.0)};
    CU_ASSERT(value_is(get(s, sl_list(items2, 2)), sl_int(30)));
    /* absent look-alikes */
    CU_ASSERT_PTR_NULL(get(s, sl_cstr("appl")));
    CU_ASSERT_PTR_NULL(get(s, sl_cstr("1")));
    CU_ASSERT_PTR_NULL(get(s, sl_int(2)));
    sl_value items3[1] = {sl_cstr("a")};
    CU_ASSERT_PTR_NULL(get(s, sl_list(items3, 1)));
    /* replace through the other spelling: still one key */
    ASSERT_INT_EQ(put(s, sl_double(1.0), sl_cstr("one"), 6), 0);
    ASSERT_INT_EQ(put(s, sl_null(), sl_double(0.5), 6), 0);
    ASSERT_INT_EQ(sl__state_count(s), nk);
    const sl_value *v = get(s, sl_int(1));
    CU_ASSERT_FATAL(v && v->type == SL_BYTES);
    CU_ASSERT(sl_bytes_eq(v, &(sl_value){SL_BYTES, 3, {.s = "one"}}));
    CU_ASSERT(value_is(get(s, sl_null_key()), sl_double(0.5)));
    /* remove each, once */
    for (size_t i = 0; i < nk; i++) {
        ASSERT_INT_EQ(del(s, keys[i]), 0);
        ASSERT_INT_EQ(del(s, keys[i]), SL_ENOTFOUND);
        CU_ASSERT_PTR_NULL(get(s, keys[i]));
        for (size_t k = i + 1; k < nk; k++)
            unit_check(get(s, keys[k]) != NULL, __FILE__, __LINE__, "key %zu after %zu", k, i);
    }
    ASSERT_INT_EQ(sl__state_count(s), 0);
    sl__state_free(s);
}

/* The store copies keys and values deeply: the caller's buffers may change
 * or go away after put. Nested lists keep their structure. */
static void test_deep_copy(void) {
    sl__state_store *s = new_store(1, 0, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    char kbuf[16] = "user-42";
    char vbuf[16] = "hello";
    sl_value inner[2] = {sl_bytes(vbuf, 5), sl_double(1.5)};
    sl_value outer[3] = {sl_int(7), sl_list(inner, 2), sl_bytes(vbuf, 0)};
    sl_value val = sl_list(outer, 3);
    ASSERT_INT_EQ(put(s, sl_bytes(kbuf, 7), val, 0), 0);
    memset(kbuf, 'x', sizeof kbuf);
    memset(vbuf, 'y', sizeof vbuf);
    inner[1] = sl_int(0);
    outer[0] = sl_int(0);
    const sl_value *v = get(s, sl_cstr("user-42"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    char text[128];
    sl__value_format(v, SL_FORMAT_JSON, text, sizeof text);
    ASSERT_STR_EQ(text, "[7,[\"hello\",1.5],\"\"]");
    CU_ASSERT_PTR_NULL(get(s, sl_bytes(kbuf, 7)));
    /* list arrays are aligned for sl_value */
    ASSERT_INT_EQ((uintptr_t)v->u.items % _Alignof(sl_value), 0);
    ASSERT_INT_EQ((uintptr_t)v->u.items[1].u.items % _Alignof(sl_value), 0);
    sl__state_free(s);
}

/* 1M distinct keys over 4 partitions: every key found with its value; a
 * third removed and absent; the count right at each step. */
static void test_million_keys(void) {
    sl__state_store *s = new_store(4, 0, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const uint64_t n = 1000000;
    char buf[40];
    size_t failed = 0;
    for (uint64_t i = 0; i < n; i++)
        failed += put(s, key_of(i, buf), sl_int((int64_t)i * 3), 0) != 0;
    ASSERT_INT_EQ(failed, 0);
    ASSERT_INT_EQ(sl__state_count(s), n);
    size_t wrong = 0;
    for (uint64_t i = 0; i < n; i++)
        wrong += !value_is(get(s, key_of(i, buf)), sl_int((int64_t)i * 3));
    ASSERT_INT_EQ(wrong, 0);
    size_t bad_remove = 0;
    for (uint64_t i = 0; i < n; i += 3)
        bad_remove += del(s, key_of(i, buf)) != 0;
    ASSERT_INT_EQ(bad_remove, 0);
    ASSERT_INT_EQ(sl__state_count(s), n - (n + 2) / 3);
    size_t present = 0;
    wrong = 0;
    for (uint64_t i = 0; i < n; i++) {
        const sl_value *v = get(s, key_of(i, buf));
        if (i % 3 == 0)
            present += v != NULL;
        else
            wrong += !value_is(v, sl_int((int64_t)i * 3));
    }
    ASSERT_INT_EQ(present, 0);
    ASSERT_INT_EQ(wrong, 0);
    /* keys never inserted are absent */
    size_t phantom = 0;
    for (uint64_t i = n; i < n + 10000; i++)
        phantom += get(s, key_of(i, buf)) != NULL;
    ASSERT_INT_EQ(phantom, 0);
    sl__state_free(s);
}

/* Insert/remove cycles of fresh keys reuse the same memory: the peak of the
 * last 40 of 50 cycles is no higher than that of the first 10 (a leak would
 * add ~300 KB a cycle), and lookups still work (deletions leave no
 * tombstones to trip over). */
static void test_remove_reuse(void) {
    sl__state_store *s = new_store(2, 0, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    char buf[40];
    for (uint64_t i = 0; i < 1000; i++) /* resident keys */
        ASSERT_INT_EQ(put(s, key_of(i, buf), sl_int(1), 0), 0);
    size_t early = 0, late = 0;
    size_t errors = 0;
    for (int cycle = 0; cycle < 50; cycle++) {
        uint64_t base = 0x100000 + (uint64_t)cycle * 20000; /* 6 hex digits */
        size_t *peak = cycle < 10 ? &early : &late;
        for (uint64_t i = base; i < base + 20000; i++) {
            errors += put(s, key_of(i, buf), sl_int((int64_t)i), 0) != 0;
            if (sl__state_memory(s) > *peak)
                *peak = sl__state_memory(s);
        }
        for (uint64_t i = base; i < base + 20000; i++)
            errors += del(s, key_of(i, buf)) != 0;
    }
    ASSERT_INT_EQ(errors, 0);
    ASSERT_INT_EQ(sl__state_count(s), 1000);
    unit_check(late <= early, __FILE__, __LINE__, "peak memory of cycles 10-49 %zu <= 0-9 %zu",
               late, early);
    size_t missing = 0;
    for (uint64_t i = 0; i < 1000; i++)
        missing += !value_is(get(s, key_of(i, buf)), sl_int(1));
    ASSERT_INT_EQ(missing, 0);
    sl__state_free(s);
}

/* Removing almost everything gives memory back (tail chunks, index). */
static void test_shrink(void) {
    sl__state_store *s = new_store(1, 0, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    char buf[40];
    size_t empty = sl__state_memory(s);
    for (uint64_t i = 0; i < 300000; i++)
        put(s, key_of(i, buf), sl_int(1), 0);
    size_t full = sl__state_memory(s);
    for (uint64_t i = 100; i < 300000; i++)
        del(s, key_of(i, buf));
    size_t after = sl__state_memory(s);
    ASSERT_INT_EQ(sl__state_count(s), 100);
    unit_check(after < full / 4, __FILE__, __LINE__, "memory %zu -> %zu after removals", full,
               after);
    for (uint64_t i = 0; i < 100; i++)
        CU_ASSERT(value_is(get(s, key_of(i, buf)), sl_int(1)));
    sl__state_clear(s);
    ASSERT_INT_EQ(sl__state_count(s), 0);
    ASSERT_INT_EQ(sl__state_memory(s), empty);
    CU_ASSERT_PTR_NULL(get(s, key_of(5, buf)));
    ASSERT_INT_EQ(put(s, key_of(5, buf), sl_int(9), 0), 0);
    CU_ASSERT(value_is(get(s, key_of(5, buf)), sl_int(9)));
    sl__state_free(s);
}

/* Value of key k in round r of the compaction test: 1 to 200 bytes, starting
 * with "r/k" and padded with a letter. Returns its length. */
static size_t round_value(int r, int k, char *buf) {
    size_t len = (size_t)(mix((uint64_t)r * 1000 + (uint64_t)k) % 200) + 1;
    char head[32];
    int hn = snprintf(head, sizeof head, "%d/%d", r, k);
    memset(buf, 'a' + (r + k) % 26, len);
    memcpy(buf, head, (size_t)hn < len ? (size_t)hn : len);
    return len;
}

/* Replacing bytes values 1000 times per key leaves garbage that compaction
 * reclaims: memory stays within a small multiple of the live bytes and every
 * value is the last one written. */
static void test_compaction(void) {
    sl__state_store *s = new_store(2, 0, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    enum { KEYS = 200, ROUNDS = 1000 };
    char kb[40], vb[256];
    size_t peak = 0, written = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < KEYS; k++) {
            size_t len = round_value(r, k, vb);
            written += len;
            if (put(s, key_of((uint64_t)k, kb), sl_bytes(vb, len), r) != 0)
                CU_FAIL_FATAL("put failed");
        }
        if (sl__state_memory(s) > peak)
            peak = sl__state_memory(s);
    }
    /* without compaction the arena would hold every value ever written */
    unit_check(peak < 1024 * 1024, __FILE__, __LINE__, "peak memory %zu (written %zu)", peak,
               written);
    unit_check(written > 15 * 1024 * 1024, __FILE__, __LINE__, "written %zu", written);
    unit_check(sl__state_garbage(s) <= 2 * 64 * 1024, __FILE__, __LINE__, "garbage %zu",
               sl__state_garbage(s));
    size_t wrong = 0;
    for (int k = 0; k < KEYS; k++) {
        char want[256];
        size_t len = round_value(ROUNDS - 1, k, want);
        const sl_value *v = get(s, key_of((uint64_t)k, kb));
        wrong += !v || v->type != SL_BYTES || v->len != len || memcmp(v->u.s, want, len) != 0;
    }
    ASSERT_INT_EQ(wrong, 0);
    sl__state_free(s);
}

typedef struct seen {
    uint8_t *count; /* visits per key index */
    size_t n;
    int part;
    const sl__state_store *s;
    size_t wrong_part, bad;
} seen;

/* foreach visitor: the value is the key's index; count it. */
static int visit_mark(void *ud, const sl_value *key, const sl_value *value, int64_t t) {
    seen *w = ud;
    (void)t;
    if (value->type != SL_INT || value->u.i < 0 || (size_t)value->u.i >= w->n) {
        w->bad++;
        return 0;
    }
    w->count[value->u.i]++;
    if (sl__state_partition_of(w->s, sl__value_hash(key)) != w->part)
        w->wrong_part++;
    return 0;
}

/* Each key lives in exactly one partition, the one partition_of names, and
 * foreach over all partitions visits every key exactly once. */
static void test_partitions(void) {
    enum { N = 50000, P = 7 };
    sl__state_store *s = new_store(P, 0, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    ASSERT_INT_EQ(sl__state_partitions(s), P);
    char buf[40];
    for (int i = 0; i < N; i++)
        put(s, key_of((uint64_t)i, buf), sl_int(i), 0);
    seen w = {calloc(N, 1), N, 0, s, 0, 0};
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.count);
    size_t sum = 0, empty_parts = 0;
    for (int p = 0; p < P; p++) {
        w.part = p;
        ASSERT_INT_EQ(sl__state_foreach(s, p, visit_mark, &w), 0);
        sum += sl__state_partition_count(s, p);
        empty_parts += sl__state_partition_count(s, p) == 0;
    }
    ASSERT_INT_EQ(sum, N);
    ASSERT_INT_EQ(empty_parts, 0);
    ASSERT_INT_EQ(w.wrong_part, 0);
    ASSERT_INT_EQ(w.bad, 0);
    size_t not_once = 0;
    for (int i = 0; i < N; i++)
        not_once += w.count[i] != 1;
    ASSERT_INT_EQ(not_once, 0);
    /* the shuffle's formula */
    uint64_t h = 0x123456789abcdef0ull;
    ASSERT_INT_EQ(sl__state_partition_of(s, h), (int)((h >> 40) % P));
    ASSERT_INT_EQ(sl__state_foreach(s, P, visit_mark, &w), SL_EINVAL);
    free(w.count);
    sl__state_free(s);
}

typedef struct pass {
    uint8_t *count;
    size_t n, calls;
    int fail_at;      /* return SL_EINVAL at this call (-1: never) */
    char scratch[32]; /* the callback's own memory, reused every call */
} pass;

/* update_each callback: value = key index; remove even indices, double odd
 * ones, give every tenth a bytes value cut from its own key and every tenth
 * another one in the callback's scratch memory. */
static int halve(void *ud, sl__state_item *it) {
    pass *ps = ud;
    if ((int)ps->calls++ == ps->fail_at)
        return SL_EINVAL;
    int64_t i = it->value.u.i;
    ps->count[i]++;
    if (i % 2 == 0)
        it->remove = true;
    else if (i % 10 == 1)
        it->value = sl_bytes(it->key->u.s + 1, it->key->len - 1); /* points into the store */
    else if (i % 10 == 3)
        it->value = sl_bytes(ps->scratch, (size_t)snprintf(ps->scratch, 32, "v%lld", (long long)i));
    else
        it->value = sl_int(i * 2);
    return 0;
}

/* update_each visits every entry exactly once while removing half of them
 * and replacing the rest; gets agree afterwards. */
static void test_update_each(void) {
    enum { N = 100000, P = 3 };
    sl__state_store *s = new_store(P, 0, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    char buf[40];
    for (int i = 0; i < N; i++)
        put(s, key_of((uint64_t)i, buf), sl_int(i), 0);
    pass ps = {calloc(N, 1), N, 0, -1, ""};
    CU_ASSERT_PTR_NOT_NULL_FATAL(ps.count);
    sl_error err = {0, ""};
    for (int p = 0; p < P; p++)
        ASSERT_INT_EQ(sl__state_update_each(s, p, halve, &ps, &err), 0);
    ASSERT_INT_EQ(ps.calls, N);
    size_t not_once = 0;
    for (int i = 0; i < N; i++)
        not_once += ps.count[i] != 1;
    ASSERT_INT_EQ(not_once, 0);
    ASSERT_INT_EQ(sl__state_count(s), N / 2);
    size_t wrong = 0;
    for (int i = 0; i < N; i++) {
        sl_value k = key_of((uint64_t)i, buf);
        const sl_value *v = get(s, k);
        if (i % 2 == 0)
            wrong += v != NULL;
        else if (i % 10 == 1)
            wrong += !v || v->type != SL_BYTES || v->len != k.len - 1 ||
                     memcmp(v->u.s, k.u.s + 1, k.len - 1) != 0;
        else if (i % 10 == 3) {
            char want[32];
            int n = snprintf(want, sizeof want, "v%d", i);
            wrong += !v || v->type != SL_BYTES || v->len != (uint32_t)n ||
                     memcmp(v->u.s, want, (size_t)n) != 0;
        } else
            wrong += !value_is(v, sl_int(i * 2));
    }
    ASSERT_INT_EQ(wrong, 0);
    /* an error from the callback stops the pass and leaves that entry alone */
    size_t before = sl__state_partition_count(s, 0);
    ps.calls = 0;
    ps.fail_at = 0;
    ASSERT_INT_EQ(sl__state_update_each(s, 0, halve, &ps, &err), SL_EINVAL);
    ASSERT_INT_EQ(ps.calls, 1);
    ASSERT_INT_EQ(sl__state_partition_count(s, 0), before);
    free(ps.count);
    sl__state_free(s);
}

typedef struct up {
    sl_value set;
    bool remove;
    int rc;
    bool saw_exists;
    sl_value saw;
    int64_t saw_time, set_time;
} up;

static int upsert_cb(void *ud, sl__state_item *it) {
    up *u = ud;
    u->saw_exists = it->exists;
    u->saw = it->value;
    u->saw_time = it->last_update;
    if (u->rc)
        return u->rc;
    it->value = u->set;
    it->remove = u->remove;
    it->last_update = u->set_time;
    return 0;
}

/* upsert: one call inserts, replaces, removes, or declines to insert. */
static void test_upsert(void) {
    sl__state_store *s = new_store(2, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    sl_value k = sl_cstr("w");
    uint64_t h = sl__value_hash(&k);
    sl_error err = {0, ""};
    up u = {sl_int(1), false, 0, false, sl_null(), 0, 100};
    ASSERT_INT_EQ(sl__state_upsert(s, h, &k, upsert_cb, &u, &err), 0);
    CU_ASSERT(!u.saw_exists);
    ASSERT_INT_EQ(u.saw.type, SL_NULL);
    int64_t t = 0;
    CU_ASSERT(value_is(sl__state_get(s, h, &k, &t), sl_int(1)));
    ASSERT_INT_EQ(t, 100);
    u.set = sl_cstr("two");
    u.set_time = 200;
    ASSERT_INT_EQ(sl__state_upsert(s, h, &k, upsert_cb, &u, &err), 0);
    CU_ASSERT(u.saw_exists);
    CU_ASSERT(value_is(&u.saw, sl_int(1)));
    ASSERT_INT_EQ(u.saw_time, 100);
    const sl_value *v = sl__state_get(s, h, &k, &t);
    CU_ASSERT(v && v->type == SL_BYTES && v->len == 3 && memcmp(v->u.s, "two", 3) == 0);
    ASSERT_INT_EQ(t, 200);
    /* a failing callback changes nothing */
    u.rc = SL_ETYPE;
    u.set = sl_int(3);
    ASSERT_INT_EQ(sl__state_upsert(s, h, &k, upsert_cb, &u, &err), SL_ETYPE);
    v = sl__state_get(s, h, &k, NULL);
    CU_ASSERT(v && v->type == SL_BYTES);
    u.rc = 0;
    u.remove = true;
    ASSERT_INT_EQ(sl__state_upsert(s, h, &k, upsert_cb, &u, &err), 0);
    CU_ASSERT_PTR_NULL(sl__state_get(s, h, &k, NULL));
    /* remove on an absent key inserts nothing */
    ASSERT_INT_EQ(sl__state_upsert(s, h, &k, upsert_cb, &u, &err), 0);
    CU_ASSERT(!u.saw_exists);
    ASSERT_INT_EQ(sl__state_count(s), 0);
    sl__state_free(s);
}

/* With a limit, puts fail with SL_ELIMIT and a message naming the stream and
 * the limit; the store stays consistent and usable, and within the limit. */
static void test_memory_limit(void) {
    const size_t limit = 1 << 20;
    sl__state_store *s = new_store(2, limit, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    char buf[40];
    sl_error err = {0, ""};
    uint64_t n = 0;
    int rc = 0;
    for (; n < 1000000; n++) {
        sl_value k = key_of(n, buf);
        sl_value v = sl_int((int64_t)n);
        if ((rc = sl__state_put(s, sl__value_hash(&k), &k, &v, 0, &err)) != 0)
            break;
    }
    ASSERT_INT_EQ(rc, SL_ELIMIT);
    ASSERT_INT_EQ(err.code, SL_ELIMIT);
    ASSERT_CONTAINS(err.msg, "'counts'");
    ASSERT_CONTAINS(err.msg, "memory limit of 1.0 MiB");
    unit_check(n > 5000, __FILE__, __LINE__, "only %llu keys fit in 1 MiB", (unsigned long long)n);
    unit_check(sl__state_memory(s) <= limit, __FILE__, __LINE__, "memory %zu over the limit",
               sl__state_memory(s));
    ASSERT_INT_EQ(sl__state_count(s), n);
    CU_ASSERT_PTR_NULL(get(s, key_of(n, buf)));
    size_t wrong = 0;
    for (uint64_t i = 0; i < n; i++)
        wrong += !value_is(get(s, key_of(i, buf)), sl_int((int64_t)i));
    ASSERT_INT_EQ(wrong, 0);
    /* a value too big to fit: refused, the old value stays */
    size_t big_len = limit;
    char *big = malloc(big_len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'z', big_len);
    sl_value k0 = key_of(0, buf);
    sl_value bigv = sl_bytes(big, big_len);
    err.code = 0;
    ASSERT_INT_EQ(sl__state_put(s, sl__value_hash(&k0), &k0, &bigv, 0, &err), SL_ELIMIT);
    ASSERT_CONTAINS(err.msg, "memory limit");
    CU_ASSERT(value_is(get(s, k0), sl_int(0)));
    free(big);
    /* replacing ints in place needs no memory; removing makes room again */
    ASSERT_INT_EQ(put(s, key_of(1, buf), sl_int(-1), 0), 0);
    CU_ASSERT(value_is(get(s, key_of(1, buf)), sl_int(-1)));
    for (uint64_t i = 0; i < n / 2; i++)
        del(s, key_of(i, buf));
    ASSERT_INT_EQ(put(s, key_of(n, buf), sl_int(5), 0), 0);
    CU_ASSERT(value_is(get(s, key_of(n, buf)), sl_int(5)));
    sl__state_free(s);
    /* a limit below the empty store's size is refused up front */
    sl__state_store *tiny = NULL;
    ASSERT_INT_EQ(sl__state_new("tiny", 4, 64, false, &tiny, &err), SL_ELIMIT);
    CU_ASSERT_PTR_NULL(tiny);
    ASSERT_CONTAINS(err.msg, "'tiny'");
    ASSERT_INT_EQ(sl__state_new("bad", 0, 0, false, &tiny, &err), SL_EINVAL);
}

typedef struct times_seen {
    size_t n, wrong;
} times_seen;

static int visit_times(void *ud, const sl_value *key, const sl_value *value, int64_t t) {
    times_seen *w = ud;
    (void)key;
    w->n++;
    w->wrong += t != value->u.i * 1000 + 7;
    return 0;
}

/* update_each callback: bump the time of keys divisible by 3. */
static int touch_third(void *ud, sl__state_item *it) {
    (void)ud;
    if (it->value.u.i % 3 == 0)
        it->last_update = -it->value.u.i;
    return 0;
}

/* Timestamps: put stores `now`, get / foreach / update_each return it, and
 * update_each can set it. A store without timestamps reports 0. */
static void test_timestamps(void) {
    sl__state_store *s = new_store(2, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    char buf[40];
    for (int i = 0; i < 5000; i++)
        put(s, key_of((uint64_t)i, buf), sl_int(i), (int64_t)i * 1000 + 7);
    times_seen w = {0, 0};
    for (int p = 0; p < 2; p++)
        sl__state_foreach(s, p, visit_times, &w);
    ASSERT_INT_EQ(w.n, 5000);
    ASSERT_INT_EQ(w.wrong, 0);
    int64_t t = 0;
    sl_value k = key_of(42, buf);
    CU_ASSERT(value_is(sl__state_get(s, sl__value_hash(&k), &k, &t), sl_int(42)));
    ASSERT_INT_EQ(t, 42007);
    /* replacing updates the time */
    put(s, k, sl_int(42), 5);
    sl__state_get(s, sl__value_hash(&k), &k, &t);
    ASSERT_INT_EQ(t, 5);
    sl_error err = {0, ""};
    for (int p = 0; p < 2; p++)
        ASSERT_INT_EQ(sl__state_update_each(s, p, touch_third, NULL, &err), 0);
    size_t wrong = 0;
    for (int i = 0; i < 5000; i++) {
        sl_value ki = key_of((uint64_t)i, buf);
        sl__state_get(s, sl__value_hash(&ki), &ki, &t);
        int64_t want = i % 3 == 0 ? -i : (i == 42 ? 5 : (int64_t)i * 1000 + 7);
        wrong += t != want;
    }
    ASSERT_INT_EQ(wrong, 0);
    /* removals move entries: their times move with them */
    for (int i = 0; i < 5000; i += 2)
        del(s, key_of((uint64_t)i, buf));
    wrong = 0;
    for (int i = 1; i < 5000; i += 2) {
        sl_value ki = key_of((uint64_t)i, buf);
        sl__state_get(s, sl__value_hash(&ki), &ki, &t);
        int64_t want = i % 3 == 0 ? -i : (int64_t)i * 1000 + 7;
        wrong += t != want;
    }
    ASSERT_INT_EQ(wrong, 0);
    sl__state_free(s);
    sl__state_store *plain = new_store(1, 0, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    put(plain, k, sl_int(1), 99);
    t = -1;
    CU_ASSERT_PTR_NOT_NULL(sl__state_get(plain, sl__value_hash(&k), &k, &t));
    ASSERT_INT_EQ(t, 0);
    sl__state_free(plain);
}

typedef struct cmp_ctx {
    sl__state_store *other;
    size_t n, diff;
} cmp_ctx;

/* Visitor: the same key has the same value and time in the other store. */
static int visit_compare(void *ud, const sl_value *key, const sl_value *value, int64_t t) {
    cmp_ctx *c = ud;
    int64_t t2 = -1;
    const sl_value *v2 = sl__state_get(c->other, sl__value_hash(key), key, &t2);
    c->n++;
    c->diff += !v2 || sl__value_compare(v2, value) != 0 || v2->type != value->type || t2 != t;
    return 0;
}

/* Snapshots of every partition restore into a store with another partition
 * count, entry for entry; a damaged snapshot is refused. */
static void test_snapshot_restore(void) {
    sl__state_store *a = new_store(3, 0, true);
    sl__state_store *b = new_store(5, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    char buf[40];
    for (int i = 0; i < 20000; i++) {
        sl_value items[2] = {sl_cstr("x"), sl_double(i + 0.5)};
        sl_value v = i % 3 == 0 ? sl_int(i) : i % 3 == 1 ? sl_cstr("text") : sl_list(items, 2);
        put(a, key_of((uint64_t)i, buf), v, i);
    }
    put(a, sl_null_key(), sl_int(-1), 3);
    put(a, sl_int(77), sl_null(), 4);
    sl_error err = {0, ""};
    sl__buf snap[3] = {{0}};
    for (int p = 0; p < 3; p++)
        ASSERT_INT_EQ(sl__state_snapshot(a, p, &snap[p], &err), 0);
    for (int p = 0; p < 3; p++) {
        sl__reader r = {snap[p].data, snap[p].len, 0};
        ASSERT_INT_EQ(sl__state_restore(b, &r, 0, &err), 0);
        ASSERT_INT_EQ(r.off, snap[p].len);
    }
    ASSERT_INT_EQ(sl__state_count(b), sl__state_count(a));
    cmp_ctx c = {b, 0, 0};
    for (int p = 0; p < 3; p++)
        sl__state_foreach(a, p, visit_compare, &c);
    ASSERT_INT_EQ(c.n, 20002);
    ASSERT_INT_EQ(c.diff, 0);
    /* truncated */
    sl__state_store *d = new_store(1, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    sl__reader r = {snap[0].data, snap[0].len - 3, 0};
    ASSERT_INT_EQ(sl__state_restore(d, &r, 0, &err), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "damaged");
    /* unknown format */
    uint8_t bad[3] = {9, 0, 0};
    sl__reader rb = {bad, 3, 0};
    ASSERT_INT_EQ(sl__state_restore(d, &rb, 0, &err), SL_EINVAL);
    ASSERT_CONTAINS(err.msg, "format");
    for (int p = 0; p < 3; p++)
        sl__buf_free(&snap[p]);
    sl__state_free(a);
    sl__state_free(b);
    sl__state_free(d);
}

typedef struct worker {
    sl__state_store *s;
    int part;
    size_t mine, errors;
} worker;

/* A thread's share: insert the keys of its partition among the first 400K,
 * replace them with bytes, and remove every other one. */
static void *work_partition(void *arg) {
    worker *w = arg;
    char buf[40];
    for (uint64_t i = 0; i < 400000; i++) {
        sl_value k = key_of(i, buf);
        uint64_t h = sl__value_hash(&k);
        if (sl__state_partition_of(w->s, h) != w->part)
            continue;
        sl_value v = sl_int((int64_t)i);
        sl_error err;
        w->errors += sl__state_put(w->s, h, &k, &v, 0, &err) != 0;
        v = sl_bytes(buf, k.len);
        w->errors += sl__state_put(w->s, h, &k, &v, 0, &err) != 0;
        if (i % 2)
            w->errors += sl__state_remove(w->s, h, &k) != 0;
        else
            w->mine++;
    }
    return NULL;
}

/* Four threads modify four partitions at once: every key ends up where it
 * belongs, and the shared memory count is exact (back to the empty store's
 * size after clear). */
static void test_concurrent_partitions(void) {
    enum { P = 4 };
    sl__state_store *s = new_store(P, 0, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    size_t empty = sl__state_memory(s);
    worker w[P];
    pthread_t t[P];
    for (int p = 0; p < P; p++) {
        w[p] = (worker){s, p, 0, 0};
        CU_ASSERT_FATAL(pthread_create(&t[p], NULL, work_partition, &w[p]) == 0);
    }
    size_t total = 0, errors = 0;
    for (int p = 0; p < P; p++) {
        pthread_join(t[p], NULL);
        total += w[p].mine;
        errors += w[p].errors;
        ASSERT_INT_EQ(sl__state_partition_count(s, p), w[p].mine);
    }
    ASSERT_INT_EQ(errors, 0);
    ASSERT_INT_EQ(total, 200000);
    ASSERT_INT_EQ(sl__state_count(s), total);
    char buf[40];
    size_t wrong = 0;
    for (uint64_t i = 0; i < 400000; i++) {
        sl_value k = key_of(i, buf);
        const sl_value *v = get(s, k);
        wrong += i % 2 ? v != NULL : !v || !sl_bytes_eq(v, &k);
    }
    ASSERT_INT_EQ(wrong, 0);
    sl__state_clear(s);
    ASSERT_INT_EQ(sl__state_memory(s), empty);
    sl__state_free(s);
}

/* Memory accounting: the bytes a store reports match the 64 B/key budget
 * for int states at 200K keys (the benchmark measures 1M and 10M). */
static void test_bytes_per_key(void) {
    sl__state_store *s = new_store(2, 0, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    char buf[40];
    size_t key_bytes = 0;
    const uint64_t n = 200000;
    for (uint64_t i = 0; i < n; i++) {
        sl_value k = key_of(i, buf);
        key_bytes += k.len;
        put(s, k, sl_int(1), 0);
    }
    double per_key = (double)(sl__state_memory(s) - key_bytes) / (double)n;
    unit_check(per_key <= 64.0, __FILE__, __LINE__, "%.1f bytes per key", per_key);
    sl__state_free(s);
}

UNIT_MAIN("state", {"basic types", test_basic_types}, {"deep copy", test_deep_copy},
          {"million keys", test_million_keys}, {"remove reuse", test_remove_reuse},
          {"shrink", test_shrink}, {"compaction", test_compaction}, {"partitions", test_partitions},
          {"update each", test_update_each}, {"upsert", test_upsert},
          {"memory limit", test_memory_limit}, {"timestamps", test_timestamps},
          {"snapshot restore", test_snapshot_restore},
          {"concurrent partitions", test_concurrent_partitions},
          {"bytes per key", test_bytes_per_key})

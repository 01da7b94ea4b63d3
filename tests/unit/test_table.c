/*
 * test_table.c — core/src/table.c: the open-addressing hash table behind
 * reduce_by_key and count_by_value.
 */
#include "unit.h"

static sl__entry *upsert(sl__table *t, sl_value key, sl_mem *mem, bool *fresh) {
    return sl__table_upsert(t, sl__value_hash(&key), &key, mem, fresh);
}

static sl__entry *find(const sl__table *t, sl_value key) {
    return sl__table_find(t, sl__value_hash(&key), &key);
}

/* Bytes keys: the first upsert inserts (acc null), the next finds the same
 * entry; find sees what was stored. */
static void test_bytes_keys(void) {
    sl__table t;
    ASSERT_INT_EQ(sl__table_init(&t, 0), 0);
    bool fresh = false;
    CU_ASSERT_PTR_NULL(find(&t, sl_cstr("apple")));
    sl__entry *e = upsert(&t, sl_cstr("apple"), NULL, &fresh);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT(fresh);
    ASSERT_INT_EQ(e->acc.type, SL_NULL);
    e->acc = sl_int(1);
    e = upsert(&t, sl_cstr("banana"), NULL, &fresh);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT(fresh);
    e->acc = sl_int(2);
    char again[] = "apple";
    e = upsert(&t, sl_bytes(again, 5), NULL, &fresh);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT(!fresh);
    ASSERT_INT_EQ(e->acc.u.i, 1);
    ASSERT_INT_EQ(t.n, 2);
    sl__entry *b = find(&t, sl_cstr("banana"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    ASSERT_INT_EQ(b->acc.u.i, 2);
    CU_ASSERT_PTR_NULL(find(&t, sl_cstr("appl")));
    CU_ASSERT_PTR_NULL(find(&t, sl_cstr("apples")));
    /* the empty string is a key like any other */
    e = upsert(&t, sl_cstr(""), NULL, &fresh);
    CU_ASSERT(e && fresh);
    CU_ASSERT_PTR_NOT_NULL(find(&t, sl_cstr("")));
    sl__table_free(&t);
}

/* Keys are told apart by their bytes alone, whatever their length: every
 * key of 0..40 bytes, and every one-byte variant of it, all under one hash
 * (so that only the tag and the bytes compare), are distinct entries, and
 * each is found again. Covers the 16-byte tag's layouts (1-3, 4-7, 8-15,
 * 16+ bytes) and the bytes compared past it. */
static void test_tags(void) {
    enum { MAXLEN = 40 };
    sl__table t;
    ASSERT_INT_EQ(sl__table_init(&t, 0), 0);
    static char keys[MAXLEN + 1][MAXLEN + 1][MAXLEN]; /* [len][variant][bytes] */
    int64_t n = 0, wrong = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int len = 0; len <= MAXLEN; len++) {
            for (int v = 0; v <= len; v++) { /* v == len: the base key */
                char *k = keys[len][v];
                memset(k, 'a', (size_t)len);
                if (v < len)
                    k[v] = 'b';
                sl_value key = sl_bytes(k, (size_t)len);
                bool fresh = false;
                sl__entry *e = sl__table_upsert(&t, 42, &key, NULL, &fresh);
                CU_ASSERT_PTR_NOT_NULL_FATAL(e);
                int64_t id = len * 100 + v;
                if (pass == 0) {
                    wrong += !fresh;
                    e->acc = sl_int(id);
                    n++;
                } else {
                    wrong += fresh || e->acc.u.i != id;
                }
            }
        }
    }
    ASSERT_INT_EQ(wrong, 0);
    ASSERT_INT_EQ((int64_t)t.n, n);
    sl__table_free(&t);
}

/* Int keys, and numbers that are equal across types: 1 and 1.0 are one key. */
static void test_number_keys(void) {
    sl__table t;
    ASSERT_INT_EQ(sl__table_init(&t, 16), 0);
    bool fresh;
    for (int64_t i = -50; i < 50; i++) {
        sl__entry *e = upsert(&t, sl_int(i), NULL, &fresh);
        CU_ASSERT_FATAL(e && fresh);
        e->acc = sl_int(i * 10);
    }
    ASSERT_INT_EQ(t.n, 100);
    sl__entry *e = find(&t, sl_double(1.0));
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    ASSERT_INT_EQ(e->acc.u.i, 10);
    e = upsert(&t, sl_double(-7.0), NULL, &fresh);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT(!fresh);
    ASSERT_INT_EQ(e->acc.u.i, -70);
    e = upsert(&t, sl_double(1.5), NULL, &fresh);
    CU_ASSERT(e && fresh);
    CU_ASSERT_PTR_NULL(find(&t, sl_int(50)));
    /* -0.0 is 0 */
    e = find(&t, sl_double(-0.0));
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    ASSERT_INT_EQ(e->acc.u.i, 0);
    /* bytes "1" is not the number 1 */
    CU_ASSERT_PTR_NULL(find(&t, sl_cstr("1")));
    sl__table_free(&t);
}

/* List keys (the (k, v) tuples of count_by_value) compare by content. */
static void test_list_keys(void) {
    sl__table t;
    ASSERT_INT_EQ(sl__table_init(&t, 0), 0);
    bool fresh;
    sl_value a[2] = {sl_cstr("k"), sl_int(1)};
    sl_value b[2] = {sl_cstr("k"), sl_double(1.0)};
    sl_value c[2] = {sl_cstr("k"), sl_int(2)};
    sl_value d[1] = {sl_cstr("k")};
    sl__entry *e = upsert(&t, sl_list(a, 2), NULL, &fresh);
    CU_ASSERT_FATAL(e && fresh);
    e->acc = sl_int(100);
    e = upsert(&t, sl_list(b, 2), NULL, &fresh);
    CU_ASSERT_FATAL(e && !fresh);
    ASSERT_INT_EQ(e->acc.u.i, 100);
    e = upsert(&t, sl_list(c, 2), NULL, &fresh);
    CU_ASSERT(e && fresh);
    e = upsert(&t, sl_list(d, 1), NULL, &fresh);
    CU_ASSERT(e && fresh);
    e = upsert(&t, sl_list(NULL, 0), NULL, &fresh);
    CU_ASSERT(e && fresh);
    ASSERT_INT_EQ(t.n, 4);
    sl__table_free(&t);
}

/* 100k keys (many slot-array doublings): every key is found with its own
 * accumulator afterwards, and iteration visits every entry exactly once. */
static void test_growth(void) {
    enum { N = 100000 };
    sl__arena a;
    sl_mem mem;
    sl__arena_init(&a, 1 << 16);
    sl__arena_mem(&a, &mem);
    sl__table t;
    ASSERT_INT_EQ(sl__table_init(&t, 0), 0);
    size_t initial_slots = t.mask + 1;
    char key[32];
    size_t bad_insert = 0, bad_find = 0;
    for (int i = 0; i < N; i++) {
        int len = snprintf(key, sizeof key, "key-%d", i);
        bool fresh = false;
        sl__entry *e = upsert(&t, sl_bytes(key, (size_t)len), &mem, &fresh);
        if (!e || !fresh) {
            bad_insert++;
            continue;
        }
        e->acc = sl_int(i);
    }
    ASSERT_INT_EQ(bad_insert, 0);
    ASSERT_INT_EQ(t.n, N);
    CU_ASSERT(t.mask + 1 >= 2 * (size_t)N);
    CU_ASSERT(t.mask + 1 > initial_slots);
    for (int i = 0; i < N; i++) {
        int len = snprintf(key, sizeof key, "key-%d", i);
        sl__entry *e = find(&t, sl_bytes(key, (size_t)len));
        if (!e || e->acc.type != SL_INT || e->acc.u.i != i)
            bad_find++;
    }
    ASSERT_INT_EQ(bad_find, 0);
    /* iteration: every accumulator 0..N-1 seen once, keys matching them */
    unsigned char *seen = calloc(N, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
    size_t pos = 0, visited = 0, bad_visit = 0;
    for (sl__entry *e; (e = sl__table_next(&t, &pos));) {
        visited++;
        int64_t i = e->acc.type == SL_INT ? e->acc.u.i : -1;
        if (i < 0 || i >= N || seen[i]++) {
            bad_visit++;
            continue;
        }
        int len = snprintf(key, sizeof key, "key-%lld", (long long)i);
        if (e->key.len != (uint32_t)len || memcmp(e->key.u.s, key, (size_t)len) != 0)
            bad_visit++;
    }
    ASSERT_INT_EQ(visited, N);
    ASSERT_INT_EQ(bad_visit, 0);
    CU_ASSERT_PTR_NULL(sl__table_next(&t, &pos));
    free(seen);
    /* a second pass of upserts finds every key */
    size_t refound = 0;
    for (int i = 0; i < N; i += 7) {
        int len = snprintf(key, sizeof key, "key-%d", i);
        bool fresh = true;
        sl__entry *e = upsert(&t, sl_bytes(key, (size_t)len), &mem, &fresh);
        refound += e && !fresh && e->acc.u.i == i;
    }
    ASSERT_INT_EQ(refound, (N + 6) / 7);
    ASSERT_INT_EQ(t.n, N);
    sl__table_free(&t);
    sl__arena_free(&a);
}

/* Keys with equal or clustered hashes (long probe chains) stay distinct. */
static void test_collisions(void) {
    sl__table t;
    ASSERT_INT_EQ(sl__table_init(&t, 0), 0);
    enum { N = 2000 };
    static int64_t ints[N];
    size_t bad = 0;
    for (int i = 0; i < N; i++) {
        ints[i] = i;
        sl_value k = sl_int(i);
        bool fresh;
        /* the same hash for every other key, hashes equal in their low bits
         * for the rest */
        uint64_t h = i % 2 ? 42 : ((uint64_t)i << 40);
        sl__entry *e = sl__table_upsert(&t, h, &k, NULL, &fresh);
        if (!e || !fresh)
            bad++;
        else
            e->acc = sl_int(-i);
    }
    ASSERT_INT_EQ(bad, 0);
    ASSERT_INT_EQ(t.n, N);
    for (int i = 0; i < N; i++) {
        sl_value k = sl_int(ints[i]);
        uint64_t h = i % 2 ? 42 : ((uint64_t)i << 40);
        sl__entry *e = sl__table_find(&t, h, &k);
        bad += !e || e->acc.u.i != -i;
    }
    ASSERT_INT_EQ(bad, 0);
    sl__table_free(&t);
}

/* Without mem the table references the caller's key; with mem it copies it,
 * so changing the source afterwards leaves the stored key unchanged. */
static void test_reference_vs_copy(void) {
    sl__arena a;
    sl_mem mem;
    sl__arena_init(&a, 1024);
    sl__arena_mem(&a, &mem);
    sl__table ref, cp;
    ASSERT_INT_EQ(sl__table_init(&ref, 0), 0);
    ASSERT_INT_EQ(sl__table_init(&cp, 0), 0);
    char buf[] = "hello";
    char inner[] = "in";
    sl_value items[2] = {sl_bytes(inner, 2), sl_int(1)};
    bool fresh;
    sl__entry *r = upsert(&ref, sl_bytes(buf, 5), NULL, &fresh);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT(r->key.u.s == buf);
    sl__entry *c = upsert(&cp, sl_bytes(buf, 5), &mem, &fresh);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT(c->key.u.s != buf);
    sl__entry *cl = upsert(&cp, sl_list(items, 2), &mem, &fresh);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
    CU_ASSERT(cl->key.u.items != items);
    memcpy(buf, "HELLO", 5);
    memcpy(inner, "IN", 2);
    items[1] = sl_int(2);
    /* the copies still read "hello" and ('in', 1) */
    CU_ASSERT_PTR_NOT_NULL(find(&cp, sl_cstr("hello")));
    CU_ASSERT_PTR_NULL(find(&cp, sl_cstr("HELLO")));
    c = find(&cp, sl_cstr("hello"));
    CU_ASSERT(c && c->key.len == 5 && memcmp(c->key.u.s, "hello", 5) == 0);
    sl_value orig[2] = {sl_cstr("in"), sl_int(1)};
    CU_ASSERT_PTR_NOT_NULL(find(&cp, sl_list(orig, 2)));
    cl = find(&cp, sl_list(orig, 2));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
    char text[64];
    sl__value_format(&cl->key, SL_FORMAT_REPR, text, sizeof text);
    ASSERT_STR_EQ(text, "('in', 1)");
    /* the reference table's key changed with the buffer */
    size_t pos = 0;
    r = sl__table_next(&ref, &pos);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT(r->key.u.s == buf);
    CU_ASSERT(memcmp(r->key.u.s, "HELLO", 5) == 0);
    sl__table_free(&ref);
    sl__table_free(&cp);
    sl__arena_free(&a);
}

/* The size hint pre-sizes the slot array (load factor under 1/2). */
static void test_hint(void) {
    sl__table t;
    ASSERT_INT_EQ(sl__table_init(&t, 1000), 0);
    CU_ASSERT(t.mask + 1 >= 2000);
    CU_ASSERT(((t.mask + 1) & t.mask) == 0); /* a power of two */
    ASSERT_INT_EQ(t.n, 0);
    size_t pos = 0;
    CU_ASSERT_PTR_NULL(sl__table_next(&t, &pos));
    sl__table_free(&t);
    CU_ASSERT_PTR_NULL(t.slots);
}

/* clear empties the table (nothing found, nothing iterated) and the table
 * works as new afterwards, with its size kept. */
static void test_clear(void) {
    sl__table t;
    ASSERT_INT_EQ(sl__table_init(&t, 0), 0);
    bool fresh;
    for (int64_t i = 0; i < 1000; i++) {
        sl__entry *e = upsert(&t, sl_int(i), NULL, &fresh);
        CU_ASSERT_FATAL(e && fresh);
        e->acc = sl_int(i);
    }
    size_t slots = t.mask + 1;
    sl__table_clear(&t);
    ASSERT_INT_EQ(t.n, 0);
    ASSERT_INT_EQ(t.mask + 1, slots);
    CU_ASSERT_PTR_NULL(find(&t, sl_int(5)));
    size_t pos = 0;
    CU_ASSERT_PTR_NULL(sl__table_next(&t, &pos));
    sl__entry *e = upsert(&t, sl_int(5), NULL, &fresh);
    CU_ASSERT_FATAL(e && fresh);
    ASSERT_INT_EQ(e->acc.type, SL_NULL);
    e = upsert(&t, sl_cstr("new"), NULL, &fresh);
    CU_ASSERT(e && fresh);
    ASSERT_INT_EQ(t.n, 2);
    pos = 0;
    size_t n = 0;
    while (sl__table_next(&t, &pos))
        n++;
    ASSERT_INT_EQ(n, 2);
    /* clearing an empty table is harmless */
    sl__table_clear(&t);
    sl__table_clear(&t);
    ASSERT_INT_EQ(t.n, 0);
    sl__table_free(&t);
}

/* Hash values 0 and 1 (0 is stored as 1) still keep different keys apart,
 * and both are found again. */
static void test_hash_zero(void) {
    sl__table t;
    ASSERT_INT_EQ(sl__table_init(&t, 0), 0);
    sl_value a = sl_cstr("zero"), b = sl_cstr("one"), c = sl_cstr("also zero");
    bool fresh;
    sl__entry *e = sl__table_upsert(&t, 0, &a, NULL, &fresh);
    CU_ASSERT_FATAL(e && fresh);
    e->acc = sl_int(0);
    e = sl__table_upsert(&t, 1, &b, NULL, &fresh);
    CU_ASSERT_FATAL(e && fresh);
    e->acc = sl_int(1);
    e = sl__table_upsert(&t, 0, &c, NULL, &fresh);
    CU_ASSERT_FATAL(e && fresh);
    e->acc = sl_int(2);
    ASSERT_INT_EQ(t.n, 3);
    e = sl__table_find(&t, 0, &a);
    CU_ASSERT(e && e->acc.u.i == 0);
    e = sl__table_find(&t, 1, &b);
    CU_ASSERT(e && e->acc.u.i == 1);
    e = sl__table_find(&t, 0, &c);
    CU_ASSERT(e && e->acc.u.i == 2);
    e = sl__table_upsert(&t, 0, &a, NULL, &fresh);
    CU_ASSERT(e && !fresh && e->acc.u.i == 0);
    size_t pos = 0, n = 0;
    while (sl__table_next(&t, &pos))
        n++;
    ASSERT_INT_EQ(n, 3);
    sl__table_free(&t);
}

UNIT_MAIN("table", {"bytes keys", test_bytes_keys},
          {"keys of any length told apart by their bytes", test_tags},
          {"number keys, 1 == 1.0", test_number_keys}, {"list keys", test_list_keys},
          {"growth to 100k keys", test_growth}, {"hash collisions", test_collisions},
          {"reference mode vs copy mode", test_reference_vs_copy}, {"size hint", test_hint},
          {"clear", test_clear}, {"hash value 0", test_hash_zero})

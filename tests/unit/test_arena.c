/*
 * test_arena.c — core/src/arena.c: bump arenas, record vectors, datasets.
 */
#include "unit.h"

/* Count the blocks an arena holds. */
static size_t block_count(const sl__arena *a) {
    size_t n = 0;
    for (const sl__arena_block *b = a->head; b; b = b->next)
        n++;
    return n;
}

/* Every allocation is 16-byte aligned (internal.h and sl_mem promise it),
 * whatever the sizes requested before, in new and large blocks alike. */
static void test_alignment(void) {
    sl__arena a;
    sl__arena_init(&a, 1024);
    size_t misaligned = 0, failed = 0;
    for (size_t n = 0; n < 200; n++) {
        void *p = sl__arena_alloc(&a, n % 37 + 1);
        failed += p == NULL;
        misaligned += p && (uintptr_t)p % 16 != 0;
    }
    ASSERT_INT_EQ(failed, 0);
    ASSERT_INT_EQ(misaligned, 0);
    /* the first allocation of a fresh block, too */
    sl__arena b;
    sl__arena_init(&b, 64);
    void *first = sl__arena_alloc(&b, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(first);
    ASSERT_INT_EQ((uintptr_t)first % 16, 0);
    /* a block of its own for a large request, and the sl_mem view */
    void *big = sl__arena_alloc(&b, 4096);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    ASSERT_INT_EQ((uintptr_t)big % 16, 0);
    sl_mem m;
    sl__arena_mem(&b, &m);
    void *viamem = sl_alloc(&m, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(viamem);
    ASSERT_INT_EQ((uintptr_t)viamem % 16, 0);
    sl__arena_free(&b);
    sl__arena_free(&a);
}

/* Many small allocations are distinct, writable, don't overlap, and keep
 * their contents as the arena grows into new blocks. */
static void test_many_small(void) {
    sl__arena a;
    sl__arena_init(&a, 4096);
    enum { N = 10000 };
    unsigned char **ptrs = calloc(N, sizeof *ptrs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ptrs);
    for (size_t i = 0; i < N; i++) {
        ptrs[i] = sl__arena_alloc(&a, 24);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ptrs[i]);
        memset(ptrs[i], (int)(i & 0xff), 24);
    }
    size_t bad = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < 24; k++)
            bad += ptrs[i][k] != (unsigned char)(i & 0xff);
    ASSERT_INT_EQ(bad, 0);
    CU_ASSERT(block_count(&a) > 1);
    CU_ASSERT(a.total >= (size_t)N * 32);
    free(ptrs);
    sl__arena_free(&a);
    CU_ASSERT_PTR_NULL(a.head);
    ASSERT_INT_EQ(a.total, 0);
}

/* A request bigger than the block size gets a block of its own, fully usable,
 * and the arena keeps serving small requests afterwards. */
static void test_large_alloc(void) {
    sl__arena a;
    sl__arena_init(&a, 1024);
    char *small = sl__arena_alloc(&a, 10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(small);
    memcpy(small, "0123456789", 10);
    size_t big_n = 100 * 1024;
    char *big = sl__arena_alloc(&a, big_n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'x', big_n);
    CU_ASSERT(a.total >= big_n + 1024);
    char *after = sl__arena_alloc(&a, 10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(after);
    memset(after, 'y', 10);
    CU_ASSERT(memcmp(small, "0123456789", 10) == 0);
    CU_ASSERT(big[0] == 'x' && big[big_n - 1] == 'x');
    sl__arena_free(&a);
}

/* A zero block size falls back to a default instead of looping or failing. */
static void test_default_block_size(void) {
    sl__arena a;
    sl__arena_init(&a, 0);
    CU_ASSERT(a.block_size > 0);
    CU_ASSERT_PTR_NOT_NULL(sl__arena_alloc(&a, 1));
    sl__arena_free(&a);
}

/* After a reset the arena serves the same workload again without growing
 * (it reuses what it kept), and it does not keep everything: a huge batch's
 * memory is given back. */
static void test_reset(void) {
    sl__arena a;
    sl__arena_init(&a, 256);
    size_t failed = 0;
    for (int i = 0; i < 100; i++)
        failed += sl__arena_alloc(&a, 100) == NULL;
    ASSERT_INT_EQ(failed, 0);
    CU_ASSERT(block_count(&a) > 1);
    size_t before = a.total;
    for (int round = 0; round < 5; round++) {
        sl__arena_reset(&a);
        CU_ASSERT(a.total <= before);
        for (int i = 0; i < 100; i++) {
            char *p = sl__arena_alloc(&a, 100);
            failed += p == NULL;
            if (p)
                memset(p, i, 100);
        }
        unit_check(a.total <= before, __FILE__, __LINE__,
                   "round %d: the same workload after a reset needs no new memory (%zu > %zu)",
                   round, a.total, before);
    }
    ASSERT_INT_EQ(failed, 0);
    sl__arena_free(&a);
    ASSERT_INT_EQ(a.total, 0);

    /* reset of an empty arena is harmless */
    sl__arena e;
    sl__arena_init(&e, 256);
    sl__arena_reset(&e);
    CU_ASSERT_PTR_NOT_NULL(sl__arena_alloc(&e, 10));
    sl__arena_free(&e);

    /* 100 MiB in 1 MiB blocks (never touched): a reset frees some of it */
    sl__arena big;
    sl__arena_init(&big, 1u << 20);
    for (int i = 0; i < 100; i++)
        failed += sl__arena_alloc(&big, 1u << 20) == NULL;
    ASSERT_INT_EQ(failed, 0);
    CU_ASSERT(big.total >= (size_t)100 << 20);
    sl__arena_reset(&big);
    CU_ASSERT(big.total < (size_t)100 << 20);
    CU_ASSERT_PTR_NOT_NULL(sl__arena_alloc(&big, 64));
    sl__arena_free(&big);
}

/* The sl_mem view allocates from the arena, aligned, through sl_alloc(). */
static void test_mem_view(void) {
    sl__arena a;
    sl_mem m;
    sl__arena_init(&a, 1024);
    sl__arena_mem(&a, &m);
    void *p = sl_alloc(&m, 40);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT(a.head && a.head->used >= 40);
    sl_value v = sl_bytes_copy(&m, "hello", 5);
    ASSERT_INT_EQ(v.type, SL_BYTES);
    ASSERT_INT_EQ(v.len, 5);
    CU_ASSERT(memcmp(v.u.s, "hello", 5) == 0);
    sl__arena_free(&a);
}

/* recvec_push grows one record at a time and keeps every record. */
static void test_recvec_push(void) {
    sl__recvec rv = {0};
    for (int64_t i = 0; i < 5000; i++) {
        sl_record r = {sl_null(), sl_int(i), i};
        ASSERT_INT_EQ(sl__recvec_push(&rv, &r), 0);
    }
    ASSERT_INT_EQ(rv.n, 5000);
    CU_ASSERT(rv.cap >= rv.n);
    size_t bad = 0;
    for (size_t i = 0; i < rv.n; i++)
        bad += rv.v[i].value.u.i != (int64_t)i || rv.v[i].ts != (int64_t)i;
    ASSERT_INT_EQ(bad, 0);
    sl__recvec_free(&rv);
    CU_ASSERT_PTR_NULL(rv.v);
    ASSERT_INT_EQ(rv.n, 0);
    ASSERT_INT_EQ(rv.cap, 0);
}

/* recvec_append copies whole runs, grows past its capacity in one call, and
 * accepts an empty run. */
static void test_recvec_append(void) {
    sl__recvec rv = {0};
    enum { RUN = 1000 };
    sl_record run[RUN];
    for (int i = 0; i < RUN; i++)
        run[i] = (sl_record){sl_int(i), sl_int(-i), 0};
    for (int k = 0; k < 7; k++)
        ASSERT_INT_EQ(sl__recvec_append(&rv, run, RUN), 0);
    ASSERT_INT_EQ(sl__recvec_append(&rv, NULL, 0), 0);
    ASSERT_INT_EQ(rv.n, 7 * RUN);
    size_t bad = 0;
    for (size_t i = 0; i < rv.n; i++)
        bad += rv.v[i].key.u.i != (int64_t)(i % RUN) || rv.v[i].value.u.i != -(int64_t)(i % RUN);
    ASSERT_INT_EQ(bad, 0);
    sl__recvec_free(&rv);
}

/* A dataset has n empty partitions, counts records over all of them, and
 * frees everything (0 partitions included). */
static void test_dataset(void) {
    sl__dataset d;
    ASSERT_INT_EQ(sl__dataset_init(&d, 4), 0);
    ASSERT_INT_EQ(d.nparts, 4);
    ASSERT_INT_EQ(sl__dataset_count(&d), 0);
    sl_record r = {sl_null(), sl_int(1), 0};
    for (size_t p = 0; p < 4; p++)
        for (size_t i = 0; i <= p; i++)
            ASSERT_INT_EQ(sl__recvec_push(&d.parts[p], &r), 0);
    ASSERT_INT_EQ(sl__dataset_count(&d), 1 + 2 + 3 + 4);
    sl__dataset_free(&d);
    ASSERT_INT_EQ(d.nparts, 0);
    CU_ASSERT_PTR_NULL(d.parts);

    sl__dataset z;
    ASSERT_INT_EQ(sl__dataset_init(&z, 0), 0);
    ASSERT_INT_EQ(z.nparts, 0);
    ASSERT_INT_EQ(sl__dataset_count(&z), 0);
    sl__dataset_free(&z);
}

UNIT_MAIN("arena", {"alignment is 16 bytes", test_alignment},
          {"many small allocations", test_many_small},
          {"large allocation beyond the block size", test_large_alloc},
          {"zero block size uses a default", test_default_block_size},
          {"reset reuses memory and frees extras", test_reset},
          {"sl_mem view allocates from the arena", test_mem_view},
          {"recvec push grows", test_recvec_push}, {"recvec append grows", test_recvec_append},
          {"dataset init, count, free", test_dataset})

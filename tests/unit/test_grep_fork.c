/*
 * test_grep_fork.c — text.grep's compile child (plugins/text/text.c) in a
 * process whose allocator is not fork-safe.
 *
 * text.grep compiles its pattern once in a forked child, to time it. A
 * child forked while another thread held an allocator lock waits on that
 * lock forever: it happened under ASan (docs/decisions.md §31), and would
 * with any allocator that takes no locks around fork(). This program is
 * such a host: it replaces malloc with glibc's behind a mutex of its own
 * (glibc lets a program replace malloc, calloc, realloc and free), and a
 * pthread_atfork handler has another thread take that mutex just before
 * the forks it is told to spoil and give it back just after. Those children
 * block in their first malloc, asleep on a futex, as the ASan child did.
 * text.grep must see a blocked child within about a second and fork again;
 * after three blocked children it compiles in the process. Before, it waited
 * 30 s and refused a plain pattern as "too complex".
 *
 * Not built with ASan (tests/CMakeLists.txt): a program's own malloc
 * bypasses ASan's allocator, whose interceptors would then free memory that
 * the program's free does not own.
 */
#define UNIT_ENGINE
#include "unit.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

/* ---- an allocator that is not fork-safe ----------------------------------------- */

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;

/* exported, so that libc's own calls (regcomp's) come here too */
#define REPLACES __attribute__((visibility("default")))

REPLACES void *malloc(size_t size) {
    pthread_mutex_lock(&alloc_lock);
    void *p = __libc_malloc(size);
    pthread_mutex_unlock(&alloc_lock);
    return p;
}

REPLACES void *calloc(size_t n, size_t size) {
    pthread_mutex_lock(&alloc_lock);
    void *p = __libc_calloc(n, size);
    pthread_mutex_unlock(&alloc_lock);
    return p;
}

REPLACES void *realloc(void *p, size_t size) {
    pthread_mutex_lock(&alloc_lock);
    void *q = __libc_realloc(p, size);
    pthread_mutex_unlock(&alloc_lock);
    return q;
}

REPLACES void free(void *p) {
    pthread_mutex_lock(&alloc_lock);
    __libc_free(p);
    pthread_mutex_unlock(&alloc_lock);
}

/* ---- a thread that holds the lock across the forks it is told to ---------------- */

static atomic_int spoil;   /* forks still to spoil */
static atomic_int spoiled; /* forks spoiled so far */
static atomic_int forks;   /* forks seen */
static sem_t take, taken, give_back;
static bool holding; /* the holder has the lock (the forking thread only) */

static void *holder_main(void *arg) {
    (void)arg;
    for (;;) {
        sem_wait(&take);
        pthread_mutex_lock(&alloc_lock);
        sem_post(&taken);
        sem_wait(&give_back);
        pthread_mutex_unlock(&alloc_lock);
    }
    return NULL;
}

static void before_fork(void) {
    atomic_fetch_add(&forks, 1);
    if (atomic_load(&spoil) > 0) {
        atomic_fetch_sub(&spoil, 1);
        atomic_fetch_add(&spoiled, 1);
        sem_post(&take);
        sem_wait(&taken);
        holding = true;
    }
}

static void after_fork_parent(void) {
    if (holding) {
        holding = false;
        sem_post(&give_back);
    }
}

/* Run text.grep on three values with `spoiled_forks` of its forks spoiled:
 * the filter keeps what the pattern matches, after `want_forks` forks and
 * between min_ms and max_ms. */
static void grep_spoiled(int spoiled_forks, int want_forks, int64_t min_ms, int64_t max_ms) {
    alarm(60);
    atomic_store(&spoil, spoiled_forks);
    atomic_store(&spoiled, 0);
    atomic_store(&forks, 0);
    int64_t t0 = sl__mono_ms();
    sl_context *ctx = ctx_new(1);
    unit_collect g = {0};
    collect(sl_filter(queue(ctx, "[\"ab\", \"b\", \"ba\"]\n"), "text.grep", P("pattern", "^a?b$")),
            &g);
    RUN(ctx, 1);
    int64_t took = sl__mono_ms() - t0;
    alarm(0);
    ASSERT_STR_EQ(BATCH(&g, 0), "'ab', 'b'");
    ASSERT_INT_EQ(atomic_load(&spoiled), spoiled_forks);
    ASSERT_INT_EQ(atomic_load(&forks), want_forks);
    unit_check(took >= min_ms && took < max_ms, __FILE__, __LINE__,
               "%d blocked: took %lld ms, want %lld to %lld", spoiled_forks, (long long)took,
               (long long)min_ms, (long long)max_ms);
    unit_collect_free(&g);
    sl_context_free(ctx);
}

/* No fork spoiled: one child, at once. */
static void test_plain(void) {
    grep_spoiled(0, 1, 0, 5000);
}

/* The first child blocks: it is seen within about a second and a second
 * child compiles the pattern (the old code waited 30 s and refused it). */
static void test_one_blocked(void) {
    grep_spoiled(1, 2, 1000, 10000);
}

/* Every child blocks: after three, the pattern compiles in the process. */
static void test_all_blocked(void) {
    grep_spoiled(3, 3, 3000, 20000);
}

/* The pattern that takes regcomp minutes is still refused when a child
 * blocks first: the second child runs out its 2 s of CPU. */
static void test_slow_after_blocked(void) {
    alarm(60);
    atomic_store(&spoil, 1);
    atomic_store(&spoiled, 0);
    sl_context *ctx = ctx_new(1);
    unit_collect c = {0};
    collect(
        sl_filter(queue(ctx, "[\"a\"]\n"), "text.grep", P("pattern", "^((((((a?)+)+)+)+)+)+b$")),
        &c);
    CU_ASSERT_NOT_EQUAL(sl_context_start(ctx), 0);
    ASSERT_CONTAINS(sl_context_errmsg(ctx), "did not compile it within 2000 ms");
    ASSERT_INT_EQ(atomic_load(&spoiled), 1);
    unit_collect_free(&c);
    sl_context_free(ctx);
    alarm(0);
}

static void setup(void) {
    sem_init(&take, 0, 0);
    sem_init(&taken, 0, 0);
    sem_init(&give_back, 0, 0);
    pthread_t t;
    if (pthread_create(&t, NULL, holder_main, NULL) != 0 ||
        pthread_atfork(before_fork, after_fork_parent, NULL) != 0) {
        fprintf(stderr, "test_grep_fork: cannot start the holder thread\n");
        exit(1);
    }
    pthread_detach(t);
}

int main(int argc, char **argv) {
    setup();
    static const unit_test tests[] = {
        {"no child blocked", test_plain},
        {"one child blocked: a second one compiles", test_one_blocked},
        {"every child blocked: compiled in the process", test_all_blocked},
        {"a blocked child, then a pattern regcomp spends minutes on", test_slow_after_blocked}};
    return unit_run("grep_fork", tests, sizeof tests / sizeof tests[0], argc, argv);
}

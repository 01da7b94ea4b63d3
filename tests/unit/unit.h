/*
 * unit.h — the shared scaffolding of the CUnit unit tests (tests/unit/).
 *
 * Each test file is its own executable:
 *
 *     UNIT_MAIN("value", {"repr of strings", test_repr_strings}, ...)
 *
 * registers the tests in one suite, runs them verbosely and exits nonzero if
 * any assertion failed (or CUnit itself failed). `unit_xxx NAME...` runs only
 * the tests whose name contains one of the NAMEs.
 *
 * Also here: assertions that print what they compared, temporary
 * directories, and a foreach_batch collector that keeps a copy of every
 * batch (records formatted as pprint writes them) for the engine tests.
 */
#ifndef SLUICE_TEST_UNIT_H
#define SLUICE_TEST_UNIT_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#if defined(__GNUC__)
#define UNIT_UNUSED __attribute__((unused))
#else
#define UNIT_UNUSED
#endif

/* ---- registering and running ------------------------------------------------ */

typedef struct unit_test {
    const char *name;
    CU_TestFunc fn;
} unit_test;

/* Register `tests` as suite `suite` (only those matching argv, if any), run
 * them, and return the process exit code: 0 only if every assertion held. */
static UNIT_UNUSED int unit_run(const char *suite, const unit_test *tests, size_t n, int argc,
                                char **argv) {
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
        return 2;
    }
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    if (!s) {
        fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    size_t added = 0;
    for (size_t i = 0; i < n; i++) {
        bool want = argc < 2;
        for (int a = 1; a < argc && !want; a++)
            want = strstr(tests[i].name, argv[a]) != NULL;
        if (!want)
            continue;
        if (!CU_add_test(s, tests[i].name, tests[i].fn)) {
            fprintf(stderr, "CUnit: %s: %s\n", tests[i].name, CU_get_error_msg());
            CU_cleanup_registry();
            return 2;
        }
        added++;
    }
    if (added == 0) {
        fprintf(stderr, "no test matches\n");
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_ErrorCode rc = CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    unsigned failed_tests = CU_get_number_of_tests_failed();
    if (rc != CUE_SUCCESS)
        fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
    CU_cleanup_registry();
    return (rc != CUE_SUCCESS || failures != 0 || failed_tests != 0) ? 1 : 0;
}

/* int main() that runs the listed {"name", fn} tests as suite `suite_name`. */
#define UNIT_MAIN(suite_name, ...)                                                                 \
    int main(int argc, char **argv) {                                                              \
        static const unit_test unit_tests_[] = {__VA_ARGS__};                                      \
        return unit_run(suite_name, unit_tests_, sizeof unit_tests_ / sizeof unit_tests_[0], argc, \
                        argv);                                                                     \
    }

/* ---- assertions that say what they saw -------------------------------------- */

/* Record an assertion result with a message built like printf. */
static UNIT_UNUSED void unit_check(bool ok, const char *file, unsigned line, const char *fmt, ...)
    SL_PRINTF(4, 5);
static UNIT_UNUSED void unit_check(bool ok, const char *file, unsigned line, const char *fmt, ...) {
    char msg[2048];
    msg[0] = 0;
    if (!ok) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, ok ? "" : msg, file, "", CU_FALSE);
}

static UNIT_UNUSED void unit_str_eq(const char *got, const char *want, const char *gexpr,
                                    const char *file, unsigned line) {
    bool ok = got && want && strcmp(got, want) == 0;
    unit_check(ok, file, line, "%s == \"%s\" (got \"%s\")", gexpr, want ? want : "(null)",
               got ? got : "(null)");
}

static UNIT_UNUSED void unit_contains(const char *hay, const char *needle, const char *hexpr,
                                      const char *file, unsigned line) {
    bool ok = hay && needle && strstr(hay, needle) != NULL;
    unit_check(ok, file, line, "%s contains \"%s\" (got \"%s\")", hexpr, needle ? needle : "(null)",
               hay ? hay : "(null)");
}

static UNIT_UNUSED void unit_int_eq(long long got, long long want, const char *gexpr,
                                    const char *file, unsigned line) {
    unit_check(got == want, file, line, "%s == %lld (got %lld)", gexpr, want, got);
}

/* Exact string equality, printing both strings on failure. */
#define ASSERT_STR_EQ(got, want) unit_str_eq((got), (want), #got, __FILE__, __LINE__)
/* `hay` contains `needle`, printing `hay` on failure. */
#define ASSERT_CONTAINS(hay, needle) unit_contains((hay), (needle), #hay, __FILE__, __LINE__)
/* Integer equality, printing both values on failure. */
#define ASSERT_INT_EQ(got, want)                                                                   \
    unit_int_eq((long long)(got), (long long)(want), #got, __FILE__, __LINE__)

/* ---- files ---------------------------------------------------------------------- */

/* A fresh directory under $TMPDIR (or /tmp) in buf; NULL on failure. */
static UNIT_UNUSED char *unit_mkdtemp(char *buf, size_t cap) {
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, cap, "%s/sluice-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(buf);
}

static int unit_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove a directory tree (best effort). */
static UNIT_UNUSED void unit_rmtree(const char *dir) {
    if (dir && *dir)
        nftw(dir, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* de_DE.UTF-8 (',' as the decimal point), made with localedef into a
 * temporary directory dir, set as LOCPATH, and made the process's LC_NUMERIC:
 * the test fails, not skips, when it cannot be made. Undo with
 * setlocale(LC_NUMERIC, "C"), unsetenv("LOCPATH"), unit_rmtree(dir). */
static UNIT_UNUSED bool unit_comma_locale(char *dir, size_t cap) {
    char cmd[600];
    if (!unit_mkdtemp(dir, cap))
        return false;
    snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 2>&1", dir);
    if (system(cmd) != 0) {
        unit_check(false, __FILE__, __LINE__,
                   "localedef -i de_DE -f UTF-8 failed: install Debian's `locales` "
                   "(scripts/deps.sh)");
        return false;
    }
    setenv("LOCPATH", dir, 1);
    if (!setlocale(LC_NUMERIC, "de_DE.UTF-8")) {
        unit_check(false, __FILE__, __LINE__, "setlocale(LC_NUMERIC, de_DE.UTF-8) failed");
        return false;
    }
    return true;
}

/* Write `text` to dir/name; the full path goes to path (cap bytes). 0 or -1. */
static UNIT_UNUSED int unit_write_file(const char *dir, const char *name, const char *text,
                                       char *path, size_t cap) {
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t len = strlen(text);
    int rc = fwrite(text, 1, len, f) == len ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* The test's temporary directory, made at first use, removed at exit. */
static char unit_tmpdir_buf[256];

static UNIT_UNUSED void unit_tmpdir_cleanup(void) {
    unit_rmtree(unit_tmpdir_buf);
}

/* Write `text` to a new file (q1.jsonl, q2.jsonl ...) in the test's
 * temporary directory; the path is returned in a static buffer, valid until
 * the next call. Used for queue files (one batch per line). */
static UNIT_UNUSED const char *unit_queue_file(const char *text) {
    static char path[4096];
    static int seq;
    if (!unit_tmpdir_buf[0]) {
        if (!unit_mkdtemp(unit_tmpdir_buf, sizeof unit_tmpdir_buf)) {
            CU_FAIL("mkdtemp");
            return "/nonexistent";
        }
        atexit(unit_tmpdir_cleanup);
    }
    char name[64];
    snprintf(name, sizeof name, "q%d.jsonl", ++seq);
    if (unit_write_file(unit_tmpdir_buf, name, text, path, sizeof path) != 0)
        CU_FAIL("cannot write a queue file");
    return path;
}

/* ---- collecting batches ------------------------------------------------------- */

typedef struct unit_batch {
    int64_t t;
    size_t n;
    char **recs; /* each record as sl__record_format(REPR) writes it, malloc'd */
} unit_batch;

typedef struct unit_collect {
    unit_batch *b;
    size_t nb, cap;
    int fail_rc; /* nonzero: the callback returns this */
} unit_collect;

/* A repr of a record in a malloc'd string. */
static UNIT_UNUSED char *unit_repr(const sl_record *r) {
    size_t n = sl__record_format(r, SL_FORMAT_REPR, NULL, 0);
    char *s = malloc(n + 1);
    if (s)
        sl__record_format(r, SL_FORMAT_REPR, s, n + 1);
    return s;
}

/* sl_batch_func: keep a formatted copy of the batch in the unit_collect. */
static UNIT_UNUSED int unit_collect_cb(void *ud, int64_t t, const sl_record *recs, size_t n,
                                       sl_error *err) {
    unit_collect *c = ud;
    if (c->nb == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        unit_batch *b = realloc(c->b, cap * sizeof *b);
        if (!b)
            return sl__error_set(err, SL_ENOMEM, "collector: out of memory");
        c->b = b;
        c->cap = cap;
    }
    unit_batch *b = &c->b[c->nb++];
    b->t = t;
    b->n = n;
    b->recs = calloc(n ? n : 1, sizeof *b->recs);
    for (size_t i = 0; i < n && b->recs; i++)
        b->recs[i] = unit_repr(&recs[i]);
    if (c->fail_rc)
        return sl__error_set(err, c->fail_rc, "collector: failing on purpose");
    return 0;
}

static UNIT_UNUSED void unit_collect_free(unit_collect *c) {
    for (size_t i = 0; i < c->nb; i++) {
        for (size_t k = 0; k < c->b[i].n; k++)
            free(c->b[i].recs[k]);
        free(c->b[i].recs);
    }
    free(c->b);
    memset(c, 0, sizeof *c);
}

static int unit_strptr_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Batch i of the collector as "r1, r2, ..." (records in arrival order, or
 * sorted by their text when `sorted`), in a static buffer; "<none>" if the
 * batch does not exist. */
static UNIT_UNUSED const char *unit_batch_text(unit_collect *c, size_t i, bool sorted) {
    static char buf[1 << 16];
    if (i >= c->nb)
        return "<none>";
    unit_batch *b = &c->b[i];
    char **v = malloc((b->n ? b->n : 1) * sizeof *v);
    if (!v)
        return "<oom>";
    memcpy(v, b->recs, b->n * sizeof *v);
    if (sorted)
        qsort(v, b->n, sizeof *v, unit_strptr_cmp);
    size_t len = 0;
    buf[0] = 0;
    for (size_t k = 0; k < b->n; k++)
        len += (size_t)snprintf(buf + (len < sizeof buf ? len : sizeof buf),
                                len < sizeof buf ? sizeof buf - len : 0, "%s%s", k ? ", " : "",
                                v[k] ? v[k] : "<oom>");
    free(v);
    return buf;
}

/* Batch i, in arrival order / sorted (see unit_batch_text). */
#define BATCH(c, i) unit_batch_text((c), (i), false)
#define BATCH_SORTED(c, i) unit_batch_text((c), (i), true)

/* ---- engine tests: manual clock, queue source, collected outputs ---------------- */

/* Define UNIT_ENGINE before including this file to get these helpers. */
#ifdef UNIT_ENGINE

#define IV 1000       /* batch interval, ms */
#define T0 1000000500 /* manual clock start: first batch at 1000001000 */
#define FIRST 1000001000

/* A context on the manual clock, starting at T0, with `workers` workers. */
static UNIT_UNUSED sl_context *ctx_new(int workers) {
    sl_context *ctx = sl_context_new(IV);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    CU_ASSERT_EQUAL(sl_context_set_clock(ctx, SL_CLOCK_MANUAL), 0);
    CU_ASSERT_EQUAL(sl_context_set_start_time(ctx, T0), 0);
    CU_ASSERT_EQUAL(sl_context_set_workers(ctx, workers), 0);
    return ctx;
}

/* A queue stream over `lines` (one batch per line). */
static UNIT_UNUSED sl_stream *queue(sl_context *ctx, const char *lines) {
    return sl_queue_stream(ctx, unit_queue_file(lines));
}

/* Start and run `batches` batches; returns await's result (0 on success). */
static UNIT_UNUSED int run_n(sl_context *ctx, int64_t batches, const char *file, unsigned line) {
    if (batches)
        sl_context_set_max_batches(ctx, batches);
    int rc = sl_context_start(ctx);
    unit_check(rc == 0, file, line, "sl_context_start == 0 (got %d: %s)", rc,
               sl_context_errmsg(ctx));
    if (rc)
        return rc;
    return sl_context_await_termination(ctx);
}

/* Run and expect success. */
#define RUN(ctx, batches)                                                                          \
    do {                                                                                           \
        int rc_ = run_n((ctx), (batches), __FILE__, __LINE__);                                     \
        unit_check(rc_ == 0, __FILE__, __LINE__, "run == 0 (got %d: %s)", rc_,                     \
                   sl_context_errmsg(ctx));                                                        \
    } while (0)

/* Collect the outputs of `s` into `c`. */
static UNIT_UNUSED void collect(sl_stream *s, unit_collect *c) {
    int rc = sl_foreach_batch(s, unit_collect_cb, c);
    unit_check(rc == 0, __FILE__, __LINE__, "sl_foreach_batch == 0 (got %d: %s)", rc,
               s ? sl_context_errmsg(sl_stream_context(s)) : "NULL stream");
}

/* A NULL-terminated parameter list. */
#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

#endif /* UNIT_ENGINE */

#endif /* SLUICE_TEST_UNIT_H */

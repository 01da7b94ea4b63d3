/*
 * fuzz_grep.c — text.grep (plugins/text) on arbitrary patterns and lines:
 * a pattern compiles or is refused at create with a message; a compiled
 * one filters every line, and `invert: true` keeps exactly the lines the
 * plain filter drops. Input: a flags byte (bit 0: ignore_case), the pattern
 * up to the first '\n' (cut at a NUL: parameters are strings), then the
 * lines to match, one per '\n'.
 */
#include "component.h"
#include "driver.h"

#define MAX_LINES 64

/* Create text.grep with this pattern; 0 or create's error. */
static int grep_open(fuzz_comp *c, const char *pattern, int icase, int invert) {
    const char *const kv[] = {"pattern",     pattern,
                              "ignore_case", icase ? "true" : "false",
                              "invert",      invert ? "true" : "false",
                              NULL};
    int rc = fuzz_comp_open(c, "text.grep", SL_COMPONENT_MAP, kv);
    fuzz_check_error(rc, &c->err, "text.grep create");
    return rc;
}

/* Run the lines through c; the number kept, or -1 after an error. */
static long grep_run(fuzz_comp *c, const sl_record *recs, size_t n) {
    sl__arena a;
    sl__arena_init(&a, 4096);
    sl_mem mem;
    sl__arena_mem(&a, &mem);
    sl__recvec out = {0};
    sl_record buf[16];
    sl_emitter em;
    fuzz_emitter(&em, buf, 16, &out, &mem);
    sl_chunk in = {recs, n, 0, 0, 0};
    sl_error err = {0, ""};
    int rc = sl__func_process(&c->fn, &in, &em, &err);
    if (rc == 0 && em.count)
        rc = em.flush(&em);
    fuzz_check_error(rc, &err, "text.grep");
    long kept = rc < 0 ? -1 : (long)out.n;
    sl__recvec_free(&out);
    sl__arena_free(&a);
    return kept;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    const char *p = (const char *)data + 1, *e = (const char *)data + size;
    const char *nl = memchr(p, '\n', (size_t)(e - p));
    size_t plen = (size_t)((nl ? nl : e) - p);
    char *pattern = strndup(p, plen);
    sl_record recs[MAX_LINES];
    size_t n = 0;
    for (const char *q = nl ? nl + 1 : e; q < e && n < MAX_LINES; n++) {
        const char *end = memchr(q, '\n', (size_t)(e - q));
        end = end ? end : e;
        recs[n] = (sl_record){sl_null(), sl_bytes(q, (size_t)(end - q)), 0};
        q = end + 1;
    }
    fuzz_comp plain, inverted;
    int rc = grep_open(&plain, pattern, data[0] & 1, 0);
    int rc2 = grep_open(&inverted, pattern, data[0] & 1, 1);
    if (rc != rc2) {
        fprintf(stderr, "fuzz: invert changed whether the pattern compiles\n");
        abort();
    }
    if (rc == 0) {
        long k = grep_run(&plain, recs, n), ki = grep_run(&inverted, recs, n);
        if (k >= 0 && ki >= 0 && (size_t)(k + ki) != n) {
            fprintf(stderr, "fuzz: %ld kept + %ld kept inverted != %zu lines\n", k, ki, n);
            abort();
        }
    }
    fuzz_comp_close(&plain);
    fuzz_comp_close(&inverted);
    free(pattern);
    return 0;
}

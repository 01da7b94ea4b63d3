/*
 * test_socket_wordcount.c — the seed's network word count through the C API,
 * against a real TCP server on loopback:
 *
 *     lines = ssc.socketTextStream("127.0.0.1", port)
 *     counts = lines.flatMap(lambda l: l.split(" ")).map(lambda w: (w, 1)).reduceByKey(add)
 *
 * with two outputs on `counts`: a foreach_batch collector (Spark's
 * foreachRDD) and the jsonl sink writing to a temporary file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <sluice/sluice.h>

#include "peer.h"

#define WC_INTERVAL_MS 200
#define WC_WAIT_MS 8000 /* generous for ASan builds */
#define WC_MAX_BATCHES 512
#define WC_MAX_WORDS 32
#define WC_WORD_CAP 32

/* A (word, count) pair. */
typedef struct wc_entry {
    char word[WC_WORD_CAP];
    long long count;
} wc_entry;

/* One non-empty batch as the collector saw it. */
typedef struct wc_batch {
    int64_t time;
    int n;
    wc_entry e[WC_MAX_WORDS];
} wc_batch;

/* What the foreach_batch callback and the batch listener saw; the engine
 * thread writes it, the test thread reads it under the lock. */
typedef struct wc_collector {
    pthread_mutex_t lock;
    wc_batch batches[WC_MAX_BATCHES];
    int nbatches;      /* non-empty batches */
    int empty_batches; /* batches with no element */
    int bad;           /* elements of the wrong shape (must stay 0) */
    int64_t input_records;
    int64_t listened; /* batches reported to the listener */
} wc_collector;

static wc_collector col;

/* foreach_batch: copy every (word, count) — the records are only valid
 * during the call. */
static int wc_collect(void *ud, int64_t batch_time, const sl_record *recs, size_t n,
                      sl_error *err) {
    wc_collector *c = ud;
    (void)err;
    pthread_mutex_lock(&c->lock);
    if (n == 0) {
        c->empty_batches++;
    } else if (c->nbatches < WC_MAX_BATCHES) {
        wc_batch *b = &c->batches[c->nbatches++];
        b->time = batch_time;
        b->n = 0;
        for (size_t i = 0; i < n; i++) {
            const sl_record *r = &recs[i];
            if (r->key.type != SL_BYTES || r->value.type != SL_INT || r->key.len >= WC_WORD_CAP ||
                b->n == WC_MAX_WORDS) {
                c->bad++;
                continue;
            }
            memcpy(b->e[b->n].word, r->key.u.s, r->key.len);
            b->e[b->n].word[r->key.len] = 0;
            b->e[b->n].count = r->value.u.i;
            b->n++;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* StreamingListener: count the input lines of every batch. */
static void wc_listen(void *ud, const sl_batch_info *info) {
    wc_collector *c = ud;
    pthread_mutex_lock(&c->lock);
    c->input_records += info->records;
    c->listened++;
    pthread_mutex_unlock(&c->lock);
}

/* Sum of the counts in the collector's batches from index `from` on. */
static long long wc_words_since(int from) {
    long long sum = 0;
    pthread_mutex_lock(&col.lock);
    for (int b = from; b < col.nbatches; b++)
        for (int i = 0; i < col.batches[b].n; i++)
            sum += col.batches[b].e[i].count;
    pthread_mutex_unlock(&col.lock);
    return sum;
}

/* Poll until the batches from index `from` on hold `words` words in all, or
 * the timeout passes. Returns the number of words seen. */
static long long wc_wait_words(int from, long long words) {
    int64_t deadline = peer_now_ms() + WC_WAIT_MS;
    long long seen = wc_words_since(from);
    while (seen < words && peer_now_ms() < deadline) {
        peer_sleep_ms(20);
        seen = wc_words_since(from);
    }
    /* One more interval: a late extra batch would show up in the checks. */
    peer_sleep_ms(WC_INTERVAL_MS + 50);
    return wc_words_since(from);
}

/* The count of `word` in a list of entries, or 0. */
static long long wc_lookup(const wc_entry *e, int n, const char *word) {
    for (int i = 0; i < n; i++)
        if (strcmp(e[i].word, word) == 0)
            return e[i].count;
    return 0;
}

/* Add `count` to `word` in a table of entries. */
static void wc_add(wc_entry *e, int *n, int cap, const char *word, long long count) {
    for (int i = 0; i < *n; i++) {
        if (strcmp(e[i].word, word) == 0) {
            e[i].count += count;
            return;
        }
    }
    if (*n < cap) {
        snprintf(e[*n].word, sizeof e[*n].word, "%s", word);
        e[*n].count = count;
        (*n)++;
    }
}

/* One group of input lines, sent at once, and the counts it must yield. */
typedef struct wc_group {
    const char *text; /* lines, each ending in '\n' */
    int nlines;
    wc_entry expect[WC_MAX_WORDS];
    int nexpect;
} wc_group;

static const wc_group groups[] = {
    {"hello world\nhello sluice\n", 2, {{"hello", 2}, {"world", 1}, {"sluice", 1}}, 3},
    {"the quick brown fox\njumps over the lazy dog\nthe end\n",
     3,
     {{"the", 3},
      {"quick", 1},
      {"brown", 1},
      {"fox", 1},
      {"jumps", 1},
      {"over", 1},
      {"lazy", 1},
      {"dog", 1},
      {"end", 1}},
     9},
    {"hello hello hello\nworld\n", 2, {{"hello", 3}, {"world", 1}}, 2},
};
#define WC_NGROUPS ((int)(sizeof groups / sizeof groups[0]))

/* Parse one jsonl line {"time":T,"key":"w","value":N}. Returns 0 or -1. */
static int wc_parse_jsonl(const char *line, long long *time, char *word, long long *count) {
    int used = 0;
    if (sscanf(line, "{\"time\":%lld,\"key\":\"%31[^\"]\",\"value\":%lld}%n", time, word, count,
               &used) != 3)
        return -1;
    return line[used] == '\n' || line[used] == 0 ? 0 : -1;
}

/* The seed's word count, with known input over several batches: each batch
 * that holds data yields exactly the counts of the lines sent for it (one
 * batch per group, nothing split, nothing extra), the totals equal the
 * input's, the listener saw every input line, and the jsonl file written by
 * the sink holds the same per-batch counts and totals. */
static void test_network_wordcount(void) {
    char out[] = "/tmp/sluice_it_wc_XXXXXX";
    int ofd = mkstemp(out);
    CU_ASSERT_FATAL(ofd >= 0);
    close(ofd);

    memset(&col, 0, sizeof col);
    pthread_mutex_init(&col.lock, NULL);
    int port = 0;
    peer *p = peer_listen(&port);
    CU_ASSERT_PTR_NOT_NULL(p);
    if (!p) {
        unlink(out);
        return;
    }

    sl_context *ssc = sl_context_new(WC_INTERVAL_MS);
    CU_ASSERT_PTR_NOT_NULL(ssc);
    if (!ssc) {
        peer_stop(p);
        unlink(out);
        return;
    }
    sl_context_set_status_line(ssc, 0);
    sl_context_set_batch_listener(ssc, wc_listen, &col);
    sl_stream *lines = sl_socket_text_stream(ssc, "127.0.0.1", port);
    sl_stream *words = sl_flat_map(lines, "text.split", (const char *[]){"sep", " ", NULL});
    sl_stream *pairs = sl_map(words, "kv.pair", NULL);
    sl_stream *counts = sl_reduce_by_key(pairs, "agg.sum", NULL);
    CU_ASSERT_EQUAL(sl_foreach_batch(counts, wc_collect, &col), 0);
    CU_ASSERT_EQUAL(sl_output(counts, "jsonl", (const char *[]){"path", out, NULL}), 0);
    int rc = sl_context_start(ssc);
    if (rc != 0)
        fprintf(stderr, "start: %s\n", sl_context_errmsg(ssc));
    CU_ASSERT_EQUAL(rc, 0);

    wc_entry total[64];
    int ntotal = 0, total_lines = 0;
    if (rc == 0 && peer_accept(p, WC_WAIT_MS) == 0) {
        for (int g = 0; g < WC_NGROUPS; g++) {
            const wc_group *grp = &groups[g];
            long long want = 0;
            for (int i = 0; i < grp->nexpect; i++) {
                want += grp->expect[i].count;
                wc_add(total, &ntotal, 64, grp->expect[i].word, grp->expect[i].count);
            }
            total_lines += grp->nlines;
            pthread_mutex_lock(&col.lock);
            int from = col.nbatches;
            pthread_mutex_unlock(&col.lock);
            CU_ASSERT_EQUAL(peer_send_str(p, grp->text), 0);
            CU_ASSERT_EQUAL(wc_wait_words(from, want), want);

            pthread_mutex_lock(&col.lock);
            CU_ASSERT_EQUAL(col.nbatches, from + 1); /* the group is one batch */
            if (col.nbatches == from + 1) {
                const wc_batch *b = &col.batches[from];
                CU_ASSERT_EQUAL(b->n, grp->nexpect);
                CU_ASSERT_EQUAL(b->time % WC_INTERVAL_MS, 0);
                for (int i = 0; i < grp->nexpect; i++)
                    CU_ASSERT_EQUAL(wc_lookup(b->e, b->n, grp->expect[i].word),
                                    grp->expect[i].count);
            }
            pthread_mutex_unlock(&col.lock);
        }
    } else {
        CU_FAIL("the socket source did not connect to the server");
    }
    CU_ASSERT_EQUAL(sl_context_stop(ssc), 0);

    /* Totals over all batches, from the collector. */
    CU_ASSERT_EQUAL(col.bad, 0);
    CU_ASSERT(col.empty_batches > 0); /* batches kept ticking between groups */
    CU_ASSERT_EQUAL(col.input_records, total_lines);
    CU_ASSERT(col.listened >= col.nbatches + col.empty_batches);
    wc_entry seen[64];
    int nseen = 0;
    for (int b = 0; b < col.nbatches; b++) {
        if (b > 0)
            CU_ASSERT(col.batches[b].time > col.batches[b - 1].time);
        for (int i = 0; i < col.batches[b].n; i++)
            wc_add(seen, &nseen, 64, col.batches[b].e[i].word, col.batches[b].e[i].count);
    }
    CU_ASSERT_EQUAL(nseen, ntotal);
    for (int i = 0; i < ntotal; i++)
        CU_ASSERT_EQUAL(wc_lookup(seen, nseen, total[i].word), total[i].count);

    /* The same from the jsonl file: totals, and each line in a collector batch. */
    FILE *f = fopen(out, "r");
    CU_ASSERT_PTR_NOT_NULL(f);
    wc_entry file_total[64];
    int nfile = 0, nlines = 0, bad_lines = 0, unmatched = 0;
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        long long t, c;
        char w[WC_WORD_CAP];
        nlines++;
        if (wc_parse_jsonl(line, &t, w, &c) < 0) {
            fprintf(stderr, "bad jsonl line: %s", line);
            bad_lines++;
            continue;
        }
        wc_add(file_total, &nfile, 64, w, c);
        int found = 0;
        for (int b = 0; b < col.nbatches && !found; b++)
            found =
                col.batches[b].time == t && wc_lookup(col.batches[b].e, col.batches[b].n, w) == c;
        unmatched += !found;
    }
    if (f)
        fclose(f);
    int entries = 0;
    for (int b = 0; b < col.nbatches; b++)
        entries += col.batches[b].n;
    CU_ASSERT_EQUAL(bad_lines, 0);
    CU_ASSERT_EQUAL(unmatched, 0);
    CU_ASSERT_EQUAL(nlines, entries);
    CU_ASSERT_EQUAL(nfile, ntotal);
    for (int i = 0; i < ntotal; i++)
        CU_ASSERT_EQUAL(wc_lookup(file_total, nfile, total[i].word), total[i].count);

    sl_context_free(ssc);
    peer_stop(p);
    unlink(out);
    pthread_mutex_destroy(&col.lock);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    CU_pSuite s = CU_add_suite("socket_wordcount", NULL, NULL);
    CU_add_test(s, "network word count over several batches", test_network_wordcount);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}

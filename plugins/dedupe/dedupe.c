/*
 * dedupe — an OPERATOR that drops duplicates within a time bound.
 *
 * dedupe.by_key lets a record pass only if its dedupe key (the key of a
 * pair, the element itself for a plain element; or, with by: element, the
 * whole record) was not seen within the last `within` of batch time. Every
 * sighting counts, dropped duplicates included: a key that keeps coming
 * back more often than `within` passes once.
 *
 * State: the engine's keyed state (host->keyed_*, ABI 1.3): key -> (the
 * sighting's number, the batch time of the last sighting). The engine saves
 * and restores it with every checkpoint, so this file has no table and no
 * snapshot code of its own. Sighting numbers grow with every record, so
 * they order the keys from least to most recently seen:
 *   - expiry is one pass over the keys, removing those last seen at or
 *     before now - within; it runs only when the oldest sighting (a lower
 *     bound kept here) has expired;
 *   - eviction (more than max_keys keys) removes the least recently seen.
 *     A batch that may need it first collects the `need` oldest keys (need:
 *     the keys plus the batch's records beyond max_keys, a bound on what the
 *     batch can evict), and this batch's sightings queue behind them; an
 *     entry seen again since it was queued is skipped (its number changed).
 *
 * Threads: the host calls process and restore on one thread, one batch at a
 * time, so the instance is mutated without locks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>

#define DD_SNAPSHOT_VERSION 1 /* the format of sluice 0.1's own snapshots (dd_restore) */
#define DD_MAX_KEYS_LIMIT (INT64_C(1) << 30)

/* A key that may be evicted, with its sighting number when it was queued. */
typedef struct dd_cand {
    sl_value key; /* a copy in the instance's batch memory */
    int64_t seq;
} dd_cand;

/* A sighting of this batch: the record and its number. */
typedef struct dd_sight {
    size_t rec;
    int64_t seq;
} dd_sight;

/* An instance of dedupe.by_key. */
typedef struct dd_inst {
    sl_handle *h;
    int64_t within; /* ms */
    uint32_t max_keys;
    int by_element; /* by: element (else key) */
    int warned;     /* the eviction warning was logged */
    int scanned;    /* seq, newest and oldest were read from the keyed state */
    int64_t seq;    /* the next sighting's number */
    int64_t newest; /* the latest sighting time, INT64_MIN: none */
    int64_t oldest; /* at most the earliest sighting time; INT64_MAX: no keys */
    sl_counter *passed, *dropped, *evicted;
    sl_mem *mem;           /* this batch's candidate keys (host->mem_new) */
    dd_cand *cand;         /* the oldest keys before the batch, oldest first */
    size_t ncand, cand_at; /* ... how many, and the next to try */
    dd_sight *sight;       /* this batch's sightings, in order */
    size_t nsight, sight_cap, sight_at;
} dd_inst;

/* Counts of one call, added to the instance's counters at its end. */
typedef struct dd_stats {
    int64_t passed, dropped, evicted;
} dd_stats;

/* A pair's key as a plain value: a null key loses its "pair" mark. */
static sl_value dd_plain(sl_value k) {
    return k.type == SL_NULL ? sl_null() : k;
}

/* The dedupe key of a record: the key of a pair or a plain element's value
 * (by: key); the element, [k, v] for a pair, as kv.pair and count_by_value
 * see it (by: element). A list is built in `items` (2 slots, the caller's):
 * the key only lives as long as the record and `items`. */
static sl_value dd_record_key(const dd_inst *d, const sl_record *r, sl_value items[2]) {
    if (!sl_record_is_pair(r))
        return r->value;
    if (!d->by_element)
        return r->key;
    items[0] = dd_plain(r->key);
    items[1] = r->value;
    return sl_list(items, 2);
}

/* Add one call's counts to the instance's counters. */
static void dd_count(dd_inst *d, const dd_stats *st) {
    if (st->passed && d->passed)
        sl_api->counter_add(d->passed, st->passed);
    if (st->dropped && d->dropped)
        sl_api->counter_add(d->dropped, st->dropped);
    if (st->evicted && d->evicted)
        sl_api->counter_add(d->evicted, st->evicted);
}

/* ---- the keyed state ------------------------------------------------------------------ */

/* keyed_each: the next sighting number and the time bounds, after a restore. */
static int dd_scan_one(void *ud, sl_keyed_item *it) {
    dd_inst *d = ud;
    if (it->value.u.i >= d->seq)
        d->seq = it->value.u.i + 1;
    if (it->time > d->newest)
        d->newest = it->time;
    if (it->time < d->oldest)
        d->oldest = it->time;
    return 0;
}

/* Expiry, one pass: drop keys last seen at or before the cutoff, and find
 * the earliest sighting of the others. */
typedef struct dd_expiry {
    int64_t cutoff, oldest;
} dd_expiry;

static int dd_expire_one(void *ud, sl_keyed_item *it) {
    dd_expiry *x = ud;
    if (it->time <= x->cutoff)
        it->remove = 1;
    else if (it->time < x->oldest)
        x->oldest = it->time;
    return 0;
}

static int dd_expire(dd_inst *d, int64_t cutoff, sl_error *err) {
    if (d->oldest > cutoff)
        return 0;
    dd_expiry x = {cutoff, INT64_MAX};
    int rc = sl_api->keyed_each(d->h, dd_expire_one, &x, err);
    if (!rc)
        d->oldest = x.oldest;
    return rc;
}

/* Candidate collection: the sighting numbers of all keys, then the keys whose
 * number is at most the need-th smallest. */
typedef struct dd_collect {
    dd_inst *d;
    int64_t *seqs;
    size_t n;
    int64_t max_seq; /* collect keys up to this number (pass 2) */
    int rc;
} dd_collect;

static int dd_collect_seq(void *ud, sl_keyed_item *it) {
    dd_collect *c = ud;
    c->seqs[c->n++] = it->value.u.i;
    return 0;
}

static int dd_collect_key(void *ud, sl_keyed_item *it) {
    dd_collect *c = ud;
    dd_inst *d = c->d;
    if (it->value.u.i > c->max_seq)
        return 0;
    dd_cand *k = &d->cand[d->ncand];
    if (sl_api->value_copy(it->key, &k->key, d->mem) < 0)
        return SL_ENOMEM;
    k->seq = it->value.u.i;
    d->ncand++;
    return 0;
}

static int dd_cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int dd_cmp_cand(const void *a, const void *b) {
    return dd_cmp_i64(&((const dd_cand *)a)->seq, &((const dd_cand *)b)->seq);
}

/* Queue the `need` least recently seen keys as eviction candidates, oldest
 * first. Returns 0 or SL_ENOMEM. */
static int dd_collect_oldest(dd_inst *d, size_t need, sl_error *err) {
    size_t count = sl_api->keyed_count(d->h);
    if (need > count)
        need = count;
    if (need == 0)
        return 0;
    dd_collect c = {d, sl_api->malloc(count * sizeof(int64_t)), 0, 0, 0};
    d->cand = sl_api->malloc(need * sizeof *d->cand);
    int rc = c.seqs && d->cand ? 0 : SL_ENOMEM;
    if (!rc)
        rc = sl_api->keyed_each(d->h, dd_collect_seq, &c, err);
    if (!rc) {
        qsort(c.seqs, c.n, sizeof *c.seqs, dd_cmp_i64);
        c.max_seq = c.seqs[need - 1];
        rc = sl_api->keyed_each(d->h, dd_collect_key, &c, err);
    }
    sl_api->free(c.seqs);
    if (rc)
        return rc == SL_ENOMEM ? sl_api->error_set(err, SL_ENOMEM, "dedupe.by_key: out of memory")
                               : rc;
    qsort(d->cand, d->ncand, sizeof *d->cand, dd_cmp_cand);
    return 0;
}

/* Nonzero when `key` still has the sighting number `seq` (it was not seen
 * again, nor evicted, since it was queued). */
static int dd_unchanged(dd_inst *d, const sl_value *key, int64_t seq) {
    const sl_value *v = sl_api->keyed_get(d->h, key, NULL);
    return v && v->type == SL_INT && v->u.i == seq;
}

/* Forget the least recently seen key: the oldest queued candidate still
 * unchanged, else the oldest unchanged sighting of this batch. Returns 1, or
 * 0 when nothing was queued. */
static int dd_evict_one(dd_inst *d, const sl_chunk *batch, dd_stats *st) {
    if (!d->warned) {
        d->warned = 1;
        sl_api->log(d->h, SL_LOG_WARN,
                    "more than max_keys=%u keys seen within %lld ms: evicting the oldest "
                    "(a duplicate of an evicted key passes again; see the 'evicted' counter)",
                    d->max_keys, (long long)d->within);
    }
    while (d->cand_at < d->ncand) {
        const dd_cand *k = &d->cand[d->cand_at++];
        if (dd_unchanged(d, &k->key, k->seq)) {
            sl_api->keyed_remove(d->h, &k->key);
            st->evicted++;
            return 1;
        }
    }
    while (d->sight_at < d->nsight) {
        const dd_sight *s = &d->sight[d->sight_at++];
        sl_value items[2];
        sl_value key = dd_record_key(d, &batch->records[s->rec], items);
        if (dd_unchanged(d, &key, s->seq)) {
            sl_api->keyed_remove(d->h, &key);
            st->evicted++;
            return 1;
        }
    }
    return 0;
}

/* Note a sighting of record `rec` for eviction in this batch (only when the
 * batch may evict). Returns 0 or SL_ENOMEM. */
static int dd_note(dd_inst *d, size_t rec, int64_t seq, int evicting) {
    if (!evicting)
        return 0;
    if (d->nsight == d->sight_cap) {
        size_t cap = d->sight_cap ? d->sight_cap * 2 : 256;
        dd_sight *s = sl_api->realloc(d->sight, cap * sizeof *s);
        if (!s)
            return SL_ENOMEM;
        d->sight = s;
        d->sight_cap = cap;
    }
    d->sight[d->nsight++] = (dd_sight){rec, seq};
    return 0;
}

/* Forget this batch's eviction queues. */
static void dd_batch_end(dd_inst *d) {
    sl_api->free(d->cand);
    d->cand = NULL;
    d->ncand = d->cand_at = d->nsight = d->sight_at = 0;
    sl_api->mem_reset(d->mem);
}

/* ---- dedupe.by_key -------------------------------------------------------------------- */

static const sl_param_spec dd_params[] = {
    {"within", SL_PARAM_DURATION, NULL, 1,
     "drop a record whose key was seen less than this long ago, in batch time (e.g. 10s, 1h)", NULL,
     "1ms.."},
    {"max_keys", SL_PARAM_INT, "1000000", 0,
     "remember at most this many keys (bounds memory); beyond it the oldest are forgotten and "
     "counted as 'evicted'",
     NULL, "1..1073741824"},
    {"by", SL_PARAM_ENUM, "key", 0,
     "what must repeat: the key of a pair (a plain element: itself), or the whole element "
     "(key and value)",
     "key|element", NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL},
};

/* Free an instance. Its keys are the engine's. */
static void dd_destroy(void *instance) {
    dd_inst *d = instance;
    if (!d)
        return;
    dd_batch_end(d);
    if (d->mem)
        sl_api->mem_free(d->mem);
    sl_api->free(d->sight);
    sl_api->free(d);
}

/* Check the parameters and create an instance (its keys: none yet). */
static int dd_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    int64_t within = sl_api->param_int(params, "within");
    int64_t max_keys = sl_api->param_int(params, "max_keys");
    const char *by = sl_api->param_str(params, "by");
    if (within <= 0)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "dedupe.by_key: within must be a positive duration (e.g. 10s), "
                                 "got %lld ms",
                                 (long long)within);
    if (max_keys < 1 || max_keys > DD_MAX_KEYS_LIMIT)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "dedupe.by_key: max_keys must be between 1 and %lld, got %lld",
                                 (long long)DD_MAX_KEYS_LIMIT, (long long)max_keys);
    dd_inst *d = sl_api->calloc(1, sizeof *d);
    if (!d || !(d->mem = sl_api->mem_new())) {
        dd_destroy(d);
        return sl_api->error_set(err, SL_ENOMEM, "dedupe.by_key: out of memory");
    }
    d->h = h;
    d->within = within;
    d->max_keys = (uint32_t)max_keys;
    d->by_element = by && strcmp(by, "element") == 0;
    d->newest = INT64_MIN;
    d->oldest = INT64_MAX;
    d->passed = sl_api->counter(h, "passed");
    d->dropped = sl_api->counter(h, "dropped");
    d->evicted = sl_api->counter(h, "evicted");
    *instance = d;
    return 0;
}

/* Before a batch: read the bounds after a restore, expire what is older
 * than `within`, evict down to max_keys (it may have been lowered), and
 * queue eviction candidates when the batch may overflow max_keys. */
static int dd_prepare(dd_inst *d, const sl_chunk *batch, int *evicting, dd_stats *st,
                      sl_error *err) {
    int rc = 0;
    if (!d->scanned && (rc = sl_api->keyed_each(d->h, dd_scan_one, d, err)) < 0)
        return rc;
    d->scanned = 1;
    int64_t cutoff;
    if (__builtin_sub_overflow(batch->batch_time, d->within, &cutoff))
        cutoff = INT64_MIN;
    if ((rc = dd_expire(d, cutoff, err)) < 0)
        return rc;
    size_t count = sl_api->keyed_count(d->h);
    *evicting = count + batch->count > d->max_keys;
    if (*evicting && (rc = dd_collect_oldest(d, count + batch->count - d->max_keys, err)) < 0)
        return rc;
    while (sl_api->keyed_count(d->h) > d->max_keys && dd_evict_one(d, batch, st))
        ;
    return 0;
}

/* One record: pass it (and remember its key) if its key is new, else drop
 * it; either way the key counts as seen at `now` with the next number. */
static int dd_record(dd_inst *d, const sl_chunk *batch, size_t i, int64_t now, int evicting,
                     sl_emitter *out, dd_stats *st, sl_error *err) {
    const sl_record *r = &batch->records[i];
    sl_value items[2];
    sl_value key = dd_record_key(d, r, items);
    int seen = sl_api->keyed_get(d->h, &key, NULL) != NULL;
    if (!seen && sl_api->keyed_count(d->h) >= d->max_keys)
        dd_evict_one(d, batch, st);
    int64_t seq = d->seq++;
    sl_value num = sl_int(seq);
    int rc = sl_api->keyed_put(d->h, &key, &num, now, err);
    if (rc == SL_ENOMEM)
        return sl_api->error_set(err, SL_ENOMEM,
                                 "dedupe.by_key: out of memory remembering a new key (%zu keys "
                                 "remembered)",
                                 sl_api->keyed_count(d->h));
    if (rc < 0)
        return rc;
    if (dd_note(d, i, seq, evicting) < 0)
        return sl_api->error_set(err, SL_ENOMEM, "dedupe.by_key: out of memory");
    if (seen) {
        st->dropped++;
        return 0;
    }
    rc = sl_emit(out, r);
    st->passed += rc == 0;
    return rc;
}

/* The operator: expire, then pass each record whose key is not remembered
 * and drop the others. Emitted records are the input's, unchanged (they
 * point into the batch, which outlives the call). Batch times only grow;
 * should one ever go back, sightings are stamped with the newest time
 * remembered, so that the times keep the order of the sightings. */
static int dd_process(void *inst, const sl_chunk *batch, sl_emitter *out, sl_error *err) {
    dd_inst *d = inst;
    dd_stats st = {0, 0, 0};
    int evicting = 0;
    int rc = dd_prepare(d, batch, &evicting, &st, err);
    int64_t now = batch->batch_time > d->newest ? batch->batch_time : d->newest;
    for (size_t i = 0; i < batch->count && rc == 0; i++)
        rc = dd_record(d, batch, i, now, evicting, out, &st, err);
    if (batch->count) {
        d->newest = now;
        d->oldest = now < d->oldest ? now : d->oldest;
    }
    dd_count(d, &st);
    dd_batch_end(d);
    return rc;
}

/* Read 8 little-endian bytes as a signed time. */
static int64_t dd_get_i64(const uint8_t *b) {
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)b[i] << (8 * i);
    return (int64_t)u;
}

/* Checkpoints of sluice 0.1 hold the keys in dedupe's own snapshot ("operator/
 * <stream>": a version byte, the key count (8 bytes LE), then per key, least
 * recently seen first, value_encode(key) and its last-seen time (8 bytes
 * LE)). Read them into the keyed state, numbering the sightings in order, so
 * that such a checkpoint still resumes. Newer checkpoints carry the keyed
 * state itself and never call this. */
static int dd_restore(void *inst, const void *data, size_t len, sl_error *err) {
    dd_inst *d = inst;
    const uint8_t *p = data;
    if (!p || len < 9 || p[0] != DD_SNAPSHOT_VERSION)
        return sl_api->error_set(err, SL_EINVAL,
                                 "dedupe.by_key: a corrupt or unknown snapshot (%zu bytes, "
                                 "version %u; expected %u)",
                                 len, p && len ? p[0] : 0, DD_SNAPSHOT_VERSION);
    uint64_t count = (uint64_t)dd_get_i64(p + 1);
    size_t off = 9;
    for (uint64_t n = 0; n < count; n++) {
        sl_value key;
        if (sl_api->value_decode(p, len, &off, &key, d->mem) < 0 || len - off < 8)
            return sl_api->error_set(err, SL_EINVAL,
                                     "dedupe.by_key: corrupt snapshot: key %llu of %llu at byte "
                                     "%zu",
                                     (unsigned long long)n + 1, (unsigned long long)count, off);
        sl_value num = sl_int(d->seq++);
        int rc = sl_api->keyed_put(d->h, &key, &num, dd_get_i64(p + off), err);
        if (rc < 0)
            return rc;
        off += 8;
    }
    sl_api->mem_reset(d->mem);
    if (off != len)
        return sl_api->error_set(err, SL_EINVAL,
                                 "dedupe.by_key: corrupt snapshot: %zu bytes after the last key",
                                 len - off);
    sl_api->log(d->h, SL_LOG_INFO, "restored %llu keys from a sluice 0.1 snapshot",
                (unsigned long long)count);
    return 0;
}

/* ---- descriptor ----------------------------------------------------------------------- */

static const sl_operator_ops dd_ops = {
    .struct_size = sizeof(sl_operator_ops),
    .process = dd_process,
    .snapshot = NULL, /* the engine checkpoints the keyed state */
    .restore = dd_restore,
};

static const sl_component dd_by_key_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_OPERATOR,
    .name = "by_key",
    .doc = "operator: drops duplicates. A record passes unchanged only if its key (a pair's key; "
           "a plain element itself; with by: element, the whole record) was not seen in the "
           "last `within` of batch time, else it is dropped: the first occurrence is kept. Every "
           "sighting, dropped or not, restarts the key's `within`. At most `max_keys` keys are "
           "remembered: beyond that the least recently seen are forgotten (counter 'evicted'). "
           "Counters: passed, dropped, evicted. The keys are saved in checkpoints.",
    .params = dd_params,
    .create = dd_create,
    .destroy = dd_destroy,
    .ops = &dd_ops,
};

static const sl_component *const dd_components[] = {
    &dd_by_key_component,
    NULL,
};

static const sl_plugin dd_plugin = {
    SL_PLUGIN_HEADER,
    "dedupe", /* name: the file is dedupe.so */
    "0.1.0",
    "stateful operators: by_key (drop duplicates within a time bound)",
    "MIT",
    dd_components,
};

SL_PLUGIN_ENTRY(dd_plugin)

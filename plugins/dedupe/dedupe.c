/*
 * dedupe — an OPERATOR that drops duplicates within a time bound.
 *
 * dedupe.by_key lets a record pass only if its dedupe key (the key of a
 * pair, the element itself for a plain element; or, with by: element, the
 * whole record) was not seen within the last `within` of batch time. Every
 * sighting counts, dropped duplicates included: a key that keeps coming
 * back more often than `within` passes once.
 *
 * State: an open-addressing hash table (linear probing, backward-shift
 * deletion, so no tombstones) over an array of entries. The entries also
 * form a doubly linked age list ordered by last-seen time, oldest first:
 * a sighting moves its entry to the newest end, so expiry pops from the
 * oldest end and stops at the first live entry, and eviction (more than
 * max_keys keys) removes the oldest in O(1). Keys are deep copies in an
 * arena from host->mem_new; arenas only grow, so when the bytes of removed
 * keys outweigh the live ones the live keys are copied into a fresh arena.
 *
 * Threads: the host calls process, snapshot and restore on one thread, one
 * batch at a time, so the instance is mutated without locks.
 */
#include <stdint.h>
#include <string.h>

#include <sluice/plugin.h>

#define DD_NONE UINT32_MAX
#define DD_SNAPSHOT_VERSION 1
#define DD_MAX_KEYS_LIMIT (INT64_C(1) << 30)
#define DD_MIN_SLOTS 64u
#define DD_MIN_ENTRIES 64u
#define DD_COMPACT_MIN ((size_t)256 * 1024) /* never rebuild an arena for less garbage */

/* One remembered key. */
typedef struct dd_entry {
    sl_value key;  /* deep copy in the table's arena */
    uint64_t hash; /* host->value_hash(&key) */
    int64_t seen;  /* batch time of the last sighting, ms */
    size_t size;   /* bytes the copy of the key takes in the arena */
    uint32_t prev; /* age list: older neighbour, or DD_NONE */
    uint32_t next; /* age list: newer neighbour; free list: next free entry */
} dd_entry;

/* The remembered keys. Everything here is owned by the table. */
typedef struct dd_table {
    sl_mem *mem;        /* the keys' bytes and items (host->mem_new) */
    dd_entry *ent;      /* entries, sl_api->malloc */
    uint32_t cap;       /* entries allocated */
    uint32_t used;      /* entries ever handed out: [0, used) */
    uint32_t free_head; /* free entries, linked through `next` */
    uint32_t count;     /* live keys */
    uint32_t oldest;    /* head of the age list */
    uint32_t newest;    /* tail of the age list */
    uint32_t *slots;    /* entry index + 1 per slot, 0: empty */
    uint32_t mask;      /* slot count - 1 (a power of two) */
    size_t live_bytes;  /* arena bytes of live keys */
    size_t dead_bytes;  /* arena bytes of removed keys (garbage) */
} dd_table;

/* An instance of dedupe.by_key. */
typedef struct dd_inst {
    sl_handle *h;
    int64_t within; /* ms */
    uint32_t max_keys;
    int by_element; /* by: element (else key) */
    int warned;     /* the eviction warning was logged */
    sl_counter *passed, *dropped, *evicted;
    dd_table t;
} dd_inst;

/* Counts of one call, added to the instance's counters at its end. */
typedef struct dd_stats {
    int64_t passed, dropped, evicted;
} dd_stats;

/* ---- values ----------------------------------------------------------------------- */

/* Round up to the arena's 16-byte alignment, for the byte accounting. */
static size_t dd_round16(size_t n) {
    return (n + 15) & ~(size_t)15;
}

/* The arena bytes a deep copy of `v` takes (as dd_value_copy allocates it). */
static size_t dd_value_size(const sl_value *v) {
    if (v->type == SL_BYTES)
        return v->len ? dd_round16(v->len) : 0;
    if (v->type != SL_LIST || v->len == 0)
        return 0;
    size_t n = dd_round16((size_t)v->len * sizeof(sl_value));
    for (uint32_t i = 0; i < v->len; i++)
        n += dd_value_size(&v->u.items[i]);
    return n;
}

/* Deep-copy `v` into `mem`: bytes and list items are copied, scalars are
 * not. Returns 0 or SL_ENOMEM (what was copied so far stays in `mem`). */
static int dd_value_copy(const sl_value *v, sl_value *out, sl_mem *mem) {
    *out = *v;
    if (v->type == SL_BYTES) {
        if (v->len == 0) {
            out->u.s = "";
            return 0;
        }
        char *p = sl_alloc(mem, v->len);
        if (!p)
            return SL_ENOMEM;
        memcpy(p, v->u.s, v->len);
        out->u.s = p;
        return 0;
    }
    if (v->type != SL_LIST || v->len == 0)
        return 0;
    sl_value *items = sl_alloc(mem, (size_t)v->len * sizeof *items);
    if (!items)
        return SL_ENOMEM;
    for (uint32_t i = 0; i < v->len; i++) {
        int rc = dd_value_copy(&v->u.items[i], &items[i], mem);
        if (rc < 0)
            return rc;
    }
    out->u.items = items;
    return 0;
}

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

/* ---- the table: slots ------------------------------------------------------------- */

/* The entry holding a key equal to `key` (hash `h`), or DD_NONE. *slot is
 * where the search ended: the key's slot, or the empty slot to insert at. */
static uint32_t dd_find(const dd_table *t, const sl_value *key, uint64_t h, uint32_t *slot) {
    uint32_t i = (uint32_t)h & t->mask;
    for (;; i = (i + 1) & t->mask) {
        uint32_t s = t->slots[i];
        if (s == 0)
            break;
        const dd_entry *e = &t->ent[s - 1];
        if (e->hash == h && sl_api->value_compare(&e->key, key) == 0) {
            *slot = i;
            return s - 1;
        }
    }
    *slot = i;
    return DD_NONE;
}

/* Put entry `idx` into the first empty slot of its probe sequence. */
static void dd_slot_put(dd_table *t, uint32_t idx) {
    uint32_t i = (uint32_t)t->ent[idx].hash & t->mask;
    while (t->slots[i])
        i = (i + 1) & t->mask;
    t->slots[i] = idx + 1;
}

/* Remove entry `idx` from the slots by backward shift: later members of the
 * probe run move up into the hole unless their home lies cyclically in
 * (hole, their position], so every key stays reachable without tombstones. */
static void dd_slot_remove(dd_table *t, uint32_t idx) {
    uint32_t i = (uint32_t)t->ent[idx].hash & t->mask;
    while (t->slots[i] != idx + 1)
        i = (i + 1) & t->mask;
    for (uint32_t j = i;;) {
        t->slots[i] = 0;
        for (;;) {
            j = (j + 1) & t->mask;
            uint32_t s = t->slots[j];
            if (s == 0)
                return;
            uint32_t home = (uint32_t)t->ent[s - 1].hash & t->mask;
            if (((j - home) & t->mask) >= ((j - i) & t->mask))
                break;
        }
        t->slots[i] = t->slots[j];
        i = j;
    }
}

/* Double the slots (or allocate the first ones) and re-insert every live
 * entry. Returns 0 or SL_ENOMEM (the table is unchanged then). */
static int dd_slots_grow(dd_table *t) {
    size_t n = t->slots ? ((size_t)t->mask + 1) * 2 : DD_MIN_SLOTS;
    uint32_t *slots = sl_api->calloc(n, sizeof *slots);
    if (!slots)
        return SL_ENOMEM;
    sl_api->free(t->slots);
    t->slots = slots;
    t->mask = (uint32_t)(n - 1);
    for (uint32_t i = t->oldest; i != DD_NONE; i = t->ent[i].next)
        dd_slot_put(t, i);
    return 0;
}

/* ---- the table: entries and the age list --------------------------------------------- */

/* Unlink entry `idx` from the age list. */
static void dd_age_unlink(dd_table *t, uint32_t idx) {
    dd_entry *e = &t->ent[idx];
    if (e->prev != DD_NONE)
        t->ent[e->prev].next = e->next;
    else
        t->oldest = e->next;
    if (e->next != DD_NONE)
        t->ent[e->next].prev = e->prev;
    else
        t->newest = e->prev;
}

/* Link entry `idx` at the newest end of the age list. */
static void dd_age_append(dd_table *t, uint32_t idx) {
    dd_entry *e = &t->ent[idx];
    e->prev = t->newest;
    e->next = DD_NONE;
    if (t->newest != DD_NONE)
        t->ent[t->newest].next = idx;
    else
        t->oldest = idx;
    t->newest = idx;
}

/* A free entry index, growing the array up to `max` entries, or DD_NONE
 * when memory is exhausted. */
static uint32_t dd_entry_alloc(dd_table *t, uint32_t max) {
    if (t->free_head != DD_NONE) {
        uint32_t idx = t->free_head;
        t->free_head = t->ent[idx].next;
        return idx;
    }
    if (t->used == t->cap) {
        uint64_t want = t->cap ? (uint64_t)t->cap * 2 : DD_MIN_ENTRIES;
        uint32_t cap = (uint32_t)(want < max ? want : max);
        if (cap <= t->cap)
            return DD_NONE;
        dd_entry *ent = sl_api->realloc(t->ent, (size_t)cap * sizeof *ent);
        if (!ent)
            return DD_NONE;
        t->ent = ent;
        t->cap = cap;
    }
    return t->used++;
}

/* Forget entry `idx`: out of the slots and the age list, onto the free
 * list; its key's bytes become garbage in the arena. */
static void dd_remove(dd_table *t, uint32_t idx) {
    dd_entry *e = &t->ent[idx];
    dd_slot_remove(t, idx);
    dd_age_unlink(t, idx);
    t->live_bytes -= e->size;
    t->dead_bytes += e->size;
    e->key = sl_null();
    e->next = t->free_head;
    t->free_head = idx;
    t->count--;
}

/* Remember `key` (already in the table's arena, `size` bytes of it) as seen
 * at `seen`, at the newest end, in the empty slot `slot` dd_find returned.
 * The caller has made room (count < max) and grown the slots. Returns 0 or
 * SL_ENOMEM. */
static int dd_insert(dd_table *t, uint32_t max, uint32_t slot, const sl_value *key, uint64_t h,
                     size_t size, int64_t seen) {
    uint32_t idx = dd_entry_alloc(t, max);
    if (idx == DD_NONE)
        return SL_ENOMEM;
    dd_entry *e = &t->ent[idx];
    e->key = *key;
    e->hash = h;
    e->seen = seen;
    e->size = size;
    dd_age_append(t, idx);
    t->slots[slot] = idx + 1;
    t->count++;
    t->live_bytes += size;
    return 0;
}

/* Nonzero when one more key would load the slots past one half. */
static int dd_slots_full(const dd_table *t) {
    return !t->slots || ((uint64_t)t->count + 1) * 2 > (uint64_t)t->mask + 1;
}

/* An empty table with its arena. Returns 0 or SL_ENOMEM. */
static int dd_table_init(dd_table *t) {
    memset(t, 0, sizeof *t);
    t->free_head = t->oldest = t->newest = DD_NONE;
    t->mem = sl_api->mem_new();
    if (!t->mem)
        return SL_ENOMEM;
    return dd_slots_grow(t);
}

/* Free everything the table owns. */
static void dd_table_free(dd_table *t) {
    if (t->mem)
        sl_api->mem_free(t->mem);
    sl_api->free(t->ent);
    sl_api->free(t->slots);
    memset(t, 0, sizeof *t);
}

/* Copy the live keys into a fresh arena and drop the old one, once removed
 * keys take more of it than live ones (so the arena stays within about twice
 * the live bytes, and each rebuild is paid for by as many removed bytes).
 * Best effort: on out-of-memory the table keeps its old arena. */
static void dd_compact(dd_table *t) {
    if (t->dead_bytes < DD_COMPACT_MIN || t->dead_bytes <= t->live_bytes)
        return;
    if (t->count == 0) {
        sl_api->mem_reset(t->mem);
        t->dead_bytes = 0;
        return;
    }
    sl_mem *mem = sl_api->mem_new();
    sl_value *keys = sl_api->malloc((size_t)t->count * sizeof *keys);
    size_t n = 0;
    if (mem && keys) {
        for (uint32_t i = t->oldest; i != DD_NONE; i = t->ent[i].next, n++)
            if (dd_value_copy(&t->ent[i].key, &keys[n], mem) < 0)
                break;
    }
    if (n == t->count) {
        n = 0;
        for (uint32_t i = t->oldest; i != DD_NONE; i = t->ent[i].next)
            t->ent[i].key = keys[n++];
        sl_api->mem_free(t->mem);
        t->mem = mem;
        t->dead_bytes = 0;
    } else if (mem) {
        sl_api->mem_free(mem);
    }
    sl_api->free(keys);
}

/* ---- the instance --------------------------------------------------------------------- */

/* Add one call's counts to the instance's counters. */
static void dd_count(dd_inst *d, const dd_stats *st) {
    if (st->passed && d->passed)
        sl_api->counter_add(d->passed, st->passed);
    if (st->dropped && d->dropped)
        sl_api->counter_add(d->dropped, st->dropped);
    if (st->evicted && d->evicted)
        sl_api->counter_add(d->evicted, st->evicted);
}

/* Make room for one more key in `t`: evict the oldest key when max_keys are
 * remembered (logging a warning the first time), and grow the slots when
 * they would be over half full. Returns 0 or SL_ENOMEM. */
static int dd_make_room(dd_inst *d, dd_table *t, dd_stats *st) {
    if (t->count >= d->max_keys) {
        if (!d->warned) {
            d->warned = 1;
            sl_api->log(d->h, SL_LOG_WARN,
                        "more than max_keys=%u keys seen within %lld ms: evicting the oldest "
                        "(a duplicate of an evicted key passes again; see the 'evicted' counter)",
                        d->max_keys, (long long)d->within);
        }
        dd_remove(t, t->oldest);
        st->evicted++;
    }
    return dd_slots_full(t) ? dd_slots_grow(t) : 0;
}

/* Forget the keys last seen at or before `cutoff`: they are the oldest end
 * of the age list. */
static void dd_expire(dd_table *t, int64_t cutoff) {
    while (t->oldest != DD_NONE && t->ent[t->oldest].seen <= cutoff)
        dd_remove(t, t->oldest);
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

/* Free an instance and its table. */
static void dd_destroy(void *instance) {
    dd_inst *d = instance;
    if (!d)
        return;
    dd_table_free(&d->t);
    sl_api->free(d);
}

/* Check the parameters and create an empty instance. */
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
    if (!d)
        return sl_api->error_set(err, SL_ENOMEM, "dedupe.by_key: out of memory");
    d->h = h;
    d->within = within;
    d->max_keys = (uint32_t)max_keys;
    d->by_element = by && strcmp(by, "element") == 0;
    d->passed = sl_api->counter(h, "passed");
    d->dropped = sl_api->counter(h, "dropped");
    d->evicted = sl_api->counter(h, "evicted");
    if (dd_table_init(&d->t) < 0) {
        dd_destroy(d);
        return sl_api->error_set(err, SL_ENOMEM, "dedupe.by_key: out of memory");
    }
    *instance = d;
    return 0;
}

/* Remember a record's key, new to the table, as seen at `seen`; `slot` is
 * where dd_find's search ended. Returns 0 or SL_ENOMEM. */
static int dd_remember(dd_inst *d, const sl_value *key, uint64_t h, uint32_t slot, int64_t seen,
                       dd_stats *st) {
    dd_table *t = &d->t;
    int moves = t->count >= d->max_keys || dd_slots_full(t); /* dd_make_room changes slots */
    int rc = dd_make_room(d, t, st);
    if (rc < 0)
        return rc;
    if (moves)
        dd_find(t, key, h, &slot);
    sl_value copy;
    size_t size = dd_value_size(key);
    if (dd_value_copy(key, &copy, t->mem) < 0)
        return SL_ENOMEM;
    return dd_insert(t, d->max_keys, slot, &copy, h, size, seen);
}

/* The operator: expire what is older than `within`, then pass each record
 * whose key is not remembered (and remember it) and drop the others; either
 * way the key counts as seen at the batch time. Emitted records are the
 * input's, unchanged (they point into the batch, which outlives the call).
 * Batch times only grow; should one ever go back, sightings are stamped
 * with the newest time remembered, so the age list stays in time order. */
static int dd_process(void *inst, const sl_chunk *batch, sl_emitter *out, sl_error *err) {
    dd_inst *d = inst;
    dd_table *t = &d->t;
    int64_t now = batch->batch_time, cutoff;
    if (__builtin_sub_overflow(now, d->within, &cutoff))
        cutoff = INT64_MIN;
    dd_expire(t, cutoff);
    if (t->newest != DD_NONE && t->ent[t->newest].seen > now)
        now = t->ent[t->newest].seen;
    dd_stats st = {0, 0, 0};
    int rc = 0;
    for (size_t i = 0; i < batch->count && rc == 0; i++) {
        const sl_record *r = &batch->records[i];
        sl_value items[2];
        sl_value key = dd_record_key(d, r, items);
        uint64_t h = sl_api->value_hash(&key);
        uint32_t slot;
        uint32_t idx = dd_find(t, &key, h, &slot);
        if (idx != DD_NONE) {
            t->ent[idx].seen = now;
            dd_age_unlink(t, idx);
            dd_age_append(t, idx);
            st.dropped++;
            continue;
        }
        rc = dd_remember(d, &key, h, slot, now, &st);
        if (rc < 0) {
            rc = sl_api->error_set(err, SL_ENOMEM,
                                   "dedupe.by_key: out of memory remembering a new key (%u "
                                   "keys remembered)",
                                   t->count);
            break;
        }
        rc = sl_emit(out, r);
        st.passed += rc == 0;
    }
    dd_count(d, &st);
    dd_compact(t);
    return rc;
}

/* Write a signed time as 8 bytes, little-endian. */
static void dd_put_i64(uint8_t b[8], int64_t v) {
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(u >> (8 * i));
}

/* Read 8 little-endian bytes as a signed time. */
static int64_t dd_get_i64(const uint8_t *b) {
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)b[i] << (8 * i);
    return (int64_t)u;
}

/* Write the state: a version byte, the key count (8 bytes LE), then for
 * each key, oldest first, value_encode(key) and its last-seen time (8
 * bytes LE). Oldest first means restore rebuilds the age list by appending. */
static int dd_snapshot(void *inst, int64_t batch_time, sl_buf *out, sl_error *err) {
    const dd_inst *d = inst;
    const dd_table *t = &d->t;
    (void)batch_time;
    uint8_t head[9], b[8];
    head[0] = DD_SNAPSHOT_VERSION;
    dd_put_i64(head + 1, (int64_t)t->count);
    if (sl_api->buf_append(out, head, sizeof head) < 0)
        return sl_api->error_set(err, SL_ENOMEM, "dedupe.by_key: out of memory in snapshot");
    for (uint32_t i = t->oldest; i != DD_NONE; i = t->ent[i].next) {
        int rc = sl_api->value_encode(out, &t->ent[i].key);
        if (rc < 0)
            return sl_api->error_set(err, rc == SL_ENOMEM ? SL_ENOMEM : SL_ELIMIT,
                                     "dedupe.by_key: cannot write a key into the snapshot (%s)",
                                     rc == SL_ENOMEM ? "out of memory" : "nested too deeply");
        dd_put_i64(b, t->ent[i].seen);
        if (sl_api->buf_append(out, b, sizeof b) < 0)
            return sl_api->error_set(err, SL_ENOMEM, "dedupe.by_key: out of memory in snapshot");
    }
    return 0;
}

/* Read `count` keys of a snapshot from data[*off..len) into the empty table
 * `t`, checking that they are valid values, distinct and in time order.
 * More than max_keys keys (max_keys was lowered) evicts the oldest.
 * Returns 0 or fills `err`. */
static int dd_restore_keys(dd_inst *d, dd_table *t, const uint8_t *data, size_t len, size_t *off,
                           uint64_t count, dd_stats *st, sl_error *err) {
    int64_t last = INT64_MIN;
    for (uint64_t n = 0; n < count; n++) {
        size_t at = *off;
        sl_value key;
        int rc = sl_api->value_decode(data, len, off, &key, t->mem);
        if (rc == SL_ENOMEM)
            return sl_api->error_set(err, SL_ENOMEM,
                                     "dedupe.by_key: out of memory restoring key %llu of %llu",
                                     (unsigned long long)n + 1, (unsigned long long)count);
        if (rc < 0 || *off > len)
            return sl_api->error_set(err, SL_EINVAL,
                                     "dedupe.by_key: corrupt snapshot: key %llu of %llu at byte "
                                     "%zu is not a valid value",
                                     (unsigned long long)n + 1, (unsigned long long)count, at);
        if (len - *off < 8)
            return sl_api->error_set(err, SL_EINVAL,
                                     "dedupe.by_key: corrupt snapshot: truncated in key %llu of "
                                     "%llu (%zu bytes)",
                                     (unsigned long long)n + 1, (unsigned long long)count, len);
        int64_t seen = dd_get_i64(data + *off);
        *off += 8;
        if (seen < last)
            return sl_api->error_set(err, SL_EINVAL,
                                     "dedupe.by_key: corrupt snapshot: key %llu of %llu is out of "
                                     "time order (%lld after %lld)",
                                     (unsigned long long)n + 1, (unsigned long long)count,
                                     (long long)seen, (long long)last);
        last = seen;
        uint64_t h = sl_api->value_hash(&key);
        uint32_t slot;
        if (dd_find(t, &key, h, &slot) != DD_NONE)
            return sl_api->error_set(err, SL_EINVAL,
                                     "dedupe.by_key: corrupt snapshot: key %llu of %llu appears "
                                     "twice",
                                     (unsigned long long)n + 1, (unsigned long long)count);
        if (dd_make_room(d, t, st) < 0)
            return sl_api->error_set(err, SL_ENOMEM, "dedupe.by_key: out of memory in restore");
        dd_find(t, &key, h, &slot);
        if (dd_insert(t, d->max_keys, slot, &key, h, dd_value_size(&key), seen) < 0)
            return sl_api->error_set(err, SL_ENOMEM, "dedupe.by_key: out of memory in restore");
    }
    return 0;
}

/* Replace the state with what dd_snapshot wrote. The snapshot is checked
 * strictly (version, count against the bytes there, every key, time order,
 * no trailing bytes); on any error the current state is left untouched. */
static int dd_restore(void *inst, const void *data, size_t len, sl_error *err) {
    dd_inst *d = inst;
    const uint8_t *p = data;
    if (!p || len < 9)
        return sl_api->error_set(
            err, SL_EINVAL, "dedupe.by_key: corrupt snapshot: %zu bytes, expected at least 9", len);
    if (p[0] != DD_SNAPSHOT_VERSION)
        return sl_api->error_set(err, SL_EINVAL,
                                 "dedupe.by_key: snapshot version %u is not supported (expected "
                                 "%u); was it written by a newer sluice?",
                                 p[0], DD_SNAPSHOT_VERSION);
    uint64_t count = (uint64_t)dd_get_i64(p + 1);
    size_t off = 9;
    if (count > (len - off) / 9) /* every key takes at least 1 + 8 bytes */
        return sl_api->error_set(err, SL_EINVAL,
                                 "dedupe.by_key: corrupt snapshot: %llu keys cannot fit in %zu "
                                 "bytes",
                                 (unsigned long long)count, len);
    dd_table t;
    if (dd_table_init(&t) < 0) {
        dd_table_free(&t);
        return sl_api->error_set(err, SL_ENOMEM, "dedupe.by_key: out of memory in restore");
    }
    dd_stats st = {0, 0, 0};
    int rc = dd_restore_keys(d, &t, p, len, &off, count, &st, err);
    if (rc == 0 && off != len)
        rc = sl_api->error_set(err, SL_EINVAL,
                               "dedupe.by_key: corrupt snapshot: %zu bytes after the last key",
                               len - off);
    if (rc < 0) {
        dd_table_free(&t);
        return rc;
    }
    dd_table_free(&d->t);
    d->t = t;
    dd_count(d, &st);
    dd_compact(&d->t);
    if (sl_api->log_enabled(SL_LOG_INFO))
        sl_api->log(d->h, SL_LOG_INFO, "restored %u keys from a %zu-byte snapshot", d->t.count,
                    len);
    return 0;
}

/* ---- descriptor ----------------------------------------------------------------------- */

static const sl_operator_ops dd_ops = {
    .struct_size = sizeof(sl_operator_ops),
    .process = dd_process,
    .snapshot = dd_snapshot,
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

/*
 * state.h — the keyed state store of one stateful stream (update_state_by_key,
 * map_with_state): key -> state value, split into partitions by key hash.
 *
 * What it promises:
 *
 * - Memory is bounded. Every byte the store allocates (index, entries,
 *   timestamps, key and value bytes) counts against the stream's
 *   `memory_limit`; an operation that would exceed it fails with SL_ELIMIT
 *   and a message naming the stream and the limit, and leaves the store's
 *   contents as they were (the key keeps its old value, or stays absent).
 * - It is compact: with int64 states a key costs 32 bytes of entry plus 10-20
 *   bytes of index beyond its own bytes (bench/state_memory.c measures it);
 *   key bytes are stored unpadded.
 * - Full passes are sequential: entries sit in a dense array (no holes: a
 *   removal moves the last entry into the gap), so update_each streams
 *   through memory.
 *
 * Keys and values: any sl_value. Keys compare with sl__value_equal (1 and 1.0
 * are one key; a null key, sl_null_key(), is a key like any other). Every
 * `hash` argument must be sl__value_hash(key): the store recomputes it when it
 * moves entries. Keys and values are deep-copied into the store; the caller
 * keeps ownership of what it passes in.
 *
 * Partitions and threads: a key belongs to partition (hash >> 40) % P, as in
 * the shuffle, so a shuffle partition maps to one state partition when both
 * have P partitions. Different partitions may be read and modified at the
 * same time by different threads; one partition must be used by one thread at
 * a time (the engine runs one task per partition). sl__state_memory() may be
 * called from any thread at any time; sl__state_count(), sl__state_garbage(),
 * sl__state_clear() and sl__state_restore() touch every partition: call them
 * while no partition is in use elsewhere (between batches).
 *
 * Pointers the store returns (values from get, keys and values passed to
 * callbacks) point into the store: they are valid until the next modification
 * of that partition (or, in a callback, until the callback returns).
 *
 * Snapshots: sl__state_snapshot() encodes a partition with the value codec of
 * checkpoint.h, sl__state_restore() reads it back (into a store with any
 * number of partitions). sl__state_foreach() and sl__state_put() are the
 * same thing by hand, for other formats.
 */
#ifndef SLUICE_STATE_H
#define SLUICE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>
#include <sluice/record.h>

typedef struct sl__state_store sl__state_store;

/* One entry as a callback sees it (sl__state_upsert, sl__state_update_each).
 * The callback may change `value`, `last_update` and `remove`; the store then
 * copies a changed value in (the callback's value may point at any memory,
 * including the old value's bytes), stores last_update (with timestamps) or
 * removes the entry. */
typedef struct sl__state_item {
    const sl_value *key; /* the stored key, or the caller's key when !exists */
    sl_value value;      /* in: the state (SL_NULL when !exists); out: new state */
    int64_t last_update; /* in: stored time (0 when !exists or no timestamps); out */
    bool exists;         /* in: the key has state */
    bool remove;         /* out: remove the entry (when !exists: do not insert) */
} sl__state_item;

/* Return 0 to go on, or a negative SL_E* code to stop (returned as is; the
 * entry at hand is left unchanged). */
typedef int (*sl__state_update_fn)(void *ud, sl__state_item *item);

/* Read-only visitor: return 0 to go on, anything else to stop with it. */
typedef int (*sl__state_visit_fn)(void *ud, const sl_value *key, const sl_value *value,
                                  int64_t last_update);

/* Create an empty store. `name` (the stream's name; copied) appears in error
 * messages; `partitions` >= 1; `memory_limit` in bytes, 0 for none;
 * `timestamps` keeps a last-update time per key (8 bytes a key more).
 * SL_EINVAL for bad arguments, SL_ELIMIT if the limit cannot hold even the
 * empty store, SL_ENOMEM; err filled. The caller frees *out. */
int sl__state_new(const char *name, int partitions, size_t memory_limit, bool timestamps,
                  sl__state_store **out, sl_error *err);
/* Free the store and everything in it (NULL is fine). */
void sl__state_free(sl__state_store *s);
/* Remove every key and free the memory that held them. */
void sl__state_clear(sl__state_store *s);

int sl__state_partitions(const sl__state_store *s);
/* The partition of a key with this hash: (hash >> 40) % partitions. */
int sl__state_partition_of(const sl__state_store *s, uint64_t hash);

/* The state of `key`, or NULL if it has none; its last update time goes to
 * *last_update when given (0 without timestamps). The pointer is the store's:
 * valid until the partition is next modified. */
const sl_value *sl__state_get(sl__state_store *s, uint64_t hash, const sl_value *key,
                              int64_t *last_update);
/* Insert or replace the state of `key` (both deep-copied) with last update
 * time `now`. 0, SL_ELIMIT (memory limit; err says which stream and limit;
 * nothing changed) or SL_ENOMEM. */
int sl__state_put(sl__state_store *s, uint64_t hash, const sl_value *key, const sl_value *value,
                  int64_t now, sl_error *err);
/* Remove the state of `key`: 0, or SL_ENOTFOUND if it had none. */
int sl__state_remove(sl__state_store *s, uint64_t hash, const sl_value *key);
/* One lookup, then fn decides: it sees the key's state (or exists = false)
 * and may replace it, set the time, remove it, or insert a new key. fn must
 * not use the store itself. Returns fn's error (nothing changed), or put's
 * errors (nothing changed). */
int sl__state_upsert(sl__state_store *s, uint64_t hash, const sl_value *key, sl__state_update_fn fn,
                     void *ud, sl_error *err);

/* Call fn once for every entry of partition `part` (in no particular order),
 * applying what it asks (replace, time, remove) before the next call: the
 * full pass of update_state_by_key and of map_with_state's timeouts. fn must
 * not use the store itself. Returns 0, fn's first error, or SL_ELIMIT /
 * SL_ENOMEM when a replaced value cannot be stored (err filled; that entry
 * keeps its old value; entries visited before keep their changes). */
int sl__state_update_each(sl__state_store *s, int part, sl__state_update_fn fn, void *ud,
                          sl_error *err);
/* Visit every entry of partition `part` read-only (for snapshots); returns 0
 * or the first nonzero value fn returned. */
int sl__state_foreach(sl__state_store *s, int part, sl__state_visit_fn fn, void *ud);

/* ---- snapshots (the value codec of checkpoint.h) ---- */

struct sl__buf;
struct sl__reader;

/* Append partition `part` to b: a format byte, a flags byte (1: times
 * follow), a varint count, then per entry the key and the value
 * (sl__value_encode) and, with timestamps, the last update (zigzag varint).
 * Partitions may be snapshotted in parallel (into different buffers).
 * Returns 0, SL_EINVAL (no such partition) or the codec's error (err
 * filled; b then holds a partial snapshot: discard it). */
int sl__state_snapshot(sl__state_store *s, int part, struct sl__buf *b, sl_error *err);
/* Read one snapshot (as written by sl__state_snapshot, of any partition and
 * any partition count) at r's position and put its entries into the store,
 * each into the partition its hash selects: call it for every snapshotted
 * partition, one call at a time. Keys without a stored time get `now`.
 * Returns 0; SL_EINVAL (damaged: err gives the byte offset), SL_ELIMIT or
 * SL_ENOMEM, after which the store holds what was restored so far (clear it
 * or give up on it). */
int sl__state_restore(sl__state_store *s, struct sl__reader *r, int64_t now, sl_error *err);

/* Keys in the store / in one partition. */
size_t sl__state_count(const sl__state_store *s);
size_t sl__state_partition_count(const sl__state_store *s, int part);
/* Bytes the store has allocated: what memory_limit is compared with. */
size_t sl__state_memory(const sl__state_store *s);
/* Bytes of keys and values held in the store's arenas that are no longer
 * referenced (replaced values, removed keys), awaiting compaction. */
size_t sl__state_garbage(const sl__state_store *s);

#endif /* SLUICE_STATE_H */

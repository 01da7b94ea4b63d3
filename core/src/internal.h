/*
 * internal.h — the engine's private types and functions (sl__ prefix).
 *
 * Nothing here crosses the plugin ABI: plugins see only sl_host.
 */
#ifndef SLUICE_INTERNAL_H
#define SLUICE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/record.h>
#include <sluice/sluice.h>

#include "checkpoint.h"
#include "state.h"

/* The host's snapshot buffer (sl_buf in the ABI). */
struct sl_buf {
    sl__buf b;
};

#define SL__CHUNK 4096                 /* records per chunk */
#define SL__BLOCK_BYTES (1u << 20)     /* a receiver block is cut at this size */
#define SL__DIRECT_BLOCK_RECORDS 16384 /* a direct source's partition size */

/* ---- arena.c: bump allocation, freed all at once ---------------------------- */

typedef struct sl__arena_block {
    struct sl__arena_block *next;
    size_t cap;
    size_t used;
    _Alignas(16) char data[]; /* 16-byte aligned, as sl_mem promises */
} sl__arena_block;

typedef struct sl_arena {
    sl__arena_block *head;
    sl__arena_block *spare; /* blocks kept by reset, reused before malloc */
    size_t block_size;      /* default size of a new block */
    size_t total;           /* bytes held in blocks, spare ones included */
    size_t spare_bytes;
} sl_arena;

void sl__arena_init(sl_arena *a, size_t block_size);
void *sl__arena_alloc(sl_arena *a, size_t n); /* 16-byte aligned; NULL on OOM */
void sl__arena_reset(sl_arena *a);            /* everything is free again; keeps some blocks */
void sl__arena_free(sl_arena *a);
/* An sl_mem that allocates from `a`. */
void sl__arena_mem(sl_arena *a, sl_mem *m);

/* ---- record vectors and datasets (one batch of one stream) ----------------- */

typedef struct sl_recvec {
    sl_record *v;
    size_t n, cap;
} sl_recvec;

int sl__recvec_push(sl_recvec *rv, const sl_record *r);
int sl__recvec_append(sl_recvec *rv, const sl_record *r, size_t n);
void sl__recvec_free(sl_recvec *rv);

typedef struct sl_dataset {
    sl_recvec *parts;
    size_t nparts;
} sl_dataset;

int sl__dataset_init(sl_dataset *d, size_t nparts);
void sl__dataset_free(sl_dataset *d);
size_t sl__dataset_count(const sl_dataset *d);
int sl__dataset_gather(const sl_dataset *d, sl_recvec *out, bool *owned);
int sl__dataset_take(sl_dataset *d, sl_recvec *all, size_t max);
int sl__recvec_flush(sl_emitter *em); /* appends to the sl_recvec in host_data */

/* Byte equality for short keys without a libc call. */
static inline bool sl__bytes_eq(const char *a, const char *b, size_t n) {
    while (n >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y)
            return false;
        a += 8, b += 8, n -= 8;
    }
    if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        if (x != y)
            return false;
        a += 4, b += 4, n -= 4;
    }
    while (n--)
        if (*a++ != *b++)
            return false;
    return true;
}

/* ---- value.c / json.c ---------------------------------------------------------- */

size_t sl__value_format(const sl_value *v, int style, char *buf, size_t cap);
size_t sl__record_format(const sl_record *r, int style, char *buf, size_t cap);
int sl__value_compare(const sl_value *a, const sl_value *b);
uint64_t sl__value_hash(const sl_value *v);
bool sl__value_equal(const sl_value *a, const sl_value *b);
/* Deep copy of the bytes/list payload of *v into mem; *out may alias v. */
int sl__value_copy(const sl_value *v, sl_value *out, sl_mem *mem);
size_t sl__value_bytes(const sl_value *v); /* payload size, for metrics */
int sl__json_parse(const char *text, size_t len, sl_value *out, sl_mem *mem, sl_error *err);

/* ---- log.c --------------------------------------------------------------------- */

extern int sl__log_level;
void sl__log(int level, const char *fmt, ...) SL_PRINTF(2, 3);
void sl__vlog(int level, const char *prefix, const char *fmt, va_list ap);
/* Status line on stderr (a terminal): show, or clear before other output. */
void sl__status_show(const char *text);
void sl__status_clear(void);

/* ---- errors -------------------------------------------------------------------- */

int sl__error_set(sl_error *err, int code, const char *fmt, ...) SL_PRINTF(3, 4);

/* ---- clock.c ------------------------------------------------------------------- */

int64_t sl__now_ms(void);  /* wall clock */
int64_t sl__mono_ms(void); /* monotonic */
int64_t sl__mono_us(void); /* monotonic, µs */
void sl__sleep_ms(int64_t ms);

/* ---- pool.c: a fixed worker pool running "parallel for" jobs --------------- */

typedef struct sl__pool sl__pool;
/* fn(arg, task, worker): worker is in [0, workers); the caller is worker 0. */
typedef int (*sl__task_fn)(void *arg, size_t task, int worker, sl_error *err);

sl__pool *sl__pool_new(int workers);
void sl__pool_free(sl__pool *p);
int sl__pool_workers(const sl__pool *p);
/* Run tasks 0..n-1 on all workers; returns the first error (err filled). */
int sl__pool_run(sl__pool *p, size_t n, sl__task_fn fn, void *arg, sl_error *err);

/* ---- params.c ------------------------------------------------------------------ */

/* Validate key/value strings against a schema; defaults filled in. On error,
 * *bad_key (if given) points at the offending key inside kv (or NULL). */
int sl__params_build(const sl_param_spec *schema, const char *const *kv, const char *what,
                     sl_params **out, sl_error *err, const char **bad_key);
void sl__params_free(sl_params *p);
const char *sl__param_str(const sl_params *p, const char *name);
int64_t sl__param_int(const sl_params *p, const char *name);
double sl__param_double(const sl_params *p, const char *name);
int sl__param_bool(const sl_params *p, const char *name);
int sl__param_is_set(const sl_params *p, const char *name);
const char *sl__param_type_name(int type);

/* ---- plugin.c: finding, checking and loading shared objects ---------------- */

typedef struct sl__plugin {
    struct sl__plugin *next;
    char *name;
    char *path;
    void *dl;
    sl_plugin desc; /* a copy, zero-filled past the plugin's struct_size */
    const sl_component **comps;
    size_t ncomps;
} sl__plugin;

typedef struct sl__registry {
    char **dirs; /* search order, resolved at first use */
    size_t ndirs;
    bool resolved; /* implicit directories appended */
    sl__plugin *loaded;
    pthread_mutex_t lock;
} sl__registry;

void sl__registry_init(sl__registry *r);
void sl__registry_free(sl__registry *r);
int sl__registry_add_dir(sl__registry *r, const char *dir);
/* The effective search path: added dirs, $SLUICE_PLUGIN_PATH, next to
 * libsluice, the install dir. Returned array is owned by the registry. */
char **sl__registry_path(sl__registry *r, size_t *n);
/* Load one file as a plugin named `name` (checks, dlopen, descriptor). */
int sl__plugin_load_file(const char *path, const char *name, sl__plugin **out, sl_error *err);
void sl__plugin_unload(sl__plugin *p);
/* Find (loading it if needed) the plugin `name` on the search path. */
int sl__registry_plugin(sl__registry *r, const char *name, sl__plugin **out, sl_error *err);
/* Find a component by "plugin.component" (or "plugin"), loading as needed. */
const sl_component *sl__registry_component(sl__registry *r, const char *ref, int kind,
                                           sl_error *err);
const char *sl__kind_name(int kind);

/* ---- host.c: the sl_host table and plugin instance handles ---------------- */

struct sl_counter {
    struct sl_counter *next;
    char name[64];
    _Atomic int64_t value;
};

struct sl__receiver;

struct sl_handle {
    sl_context *ctx;
    char *stream; /* stream name (or output label) */
    char *ref;    /* component reference "text.split" */
    struct sl__receiver *recv;
    pthread_mutex_t lock;
    struct sl_counter *counters;
};

extern const sl_host sl__host;
sl_handle *sl__handle_new(sl_context *ctx, const char *stream, const char *ref);
void sl__handle_free(sl_handle *h);
void sl__handle_log_counters(sl_handle *h, int level);

/* ---- functions: a component instance or a C function pointer ------------- */

typedef struct sl__func {
    const sl_component *comp; /* NULL for C functions */
    sl_params *params;
    void *inst;
    sl_handle *handle;
    /* ops copied into full-size structs (zero past the plugin's size) */
    sl_source_ops source;
    sl_sink_ops sink;
    sl_map_ops map;
    sl_reduce_ops reduce;
    /* C function pointers */
    sl_map_func map_fn;
    sl_reduce_func reduce_fn;
    sl_batch_func batch_fn;
    sl_transform2_func transform2_fn;
    sl_update_func update_fn;
    sl_update_ops update;
    sl_operator_ops oper;
    void *ud;
    bool created;
} sl__func;

int sl__func_create(sl__func *f, sl_error *err);
void sl__func_destroy(sl__func *f);
int sl__func_process(sl__func *f, const sl_chunk *in, sl_emitter *out, sl_error *err);

/* ---- table.c: open-addressing hash table of key -> accumulator ------------- */

/* A bytes key's bytes, when 16 or fewer, else its first 16 (sl__key_tag). */
typedef struct sl__tag {
    uint64_t a, b;
} sl__tag;

typedef struct sl__entry {
    uint64_t hash;
    sl__tag tag;
    sl_value key;
    sl_value acc;
} sl__entry;

typedef struct sl__table {
    sl__entry *slots; /* entries in place; hash 0 = empty */
    size_t mask;      /* slots - 1 */
    size_t n;         /* entries */
} sl__table;

int sl__table_init(sl__table *t, size_t hint);
void sl__table_free(sl__table *t);
/* Double the slot array (the slow half of sl__table_upsert). */
int sl__table_grow(sl__table *t);
/* Fill free slot j with a new entry (the slow half of sl__table_upsert). */
sl__entry *sl__table_insert(sl__table *t, size_t j, uint64_t h, sl__tag tag, const sl_value *key,
                            sl_mem *mem);

/* A bytes key's tag: 16 bytes that hold all of a key of 16 bytes or fewer
 * (given its length), and the first 16 of a longer one. Entries keep it
 * beside the hash, so that comparing a key of up to 16 bytes never reads
 * the stored key's bytes: that read is a cache miss of its own (measured:
 * bench/RESULTS.md, word count). Not a hash: equal tags and lengths mean
 * equal keys up to 16 bytes. */
static inline sl__tag sl__key_tag(const sl_value *key) {
    sl__tag t = {0, 0};
    if (key->type != SL_BYTES)
        return t;
    const unsigned char *s = (const unsigned char *)key->u.s;
    size_t n = key->len;
    if (n >= 16) {
        memcpy(&t.a, s, 8);
        memcpy(&t.b, s + 8, 8);
    } else if (n >= 8) { /* bytes 0-7 and n-8..n-1 cover the key */
        memcpy(&t.a, s, 8);
        memcpy(&t.b, s + n - 8, 8);
    } else if (n >= 4) { /* bytes 0-3 and n-4..n-1 */
        uint32_t x, y;
        memcpy(&x, s, 4);
        memcpy(&y, s + n - 4, 4);
        t.a = x | (uint64_t)y << 32;
    } else if (n) { /* bytes 0, n/2 and n-1 */
        t.a = s[0] | (uint64_t)s[n / 2] << 8 | (uint64_t)s[n - 1] << 16;
    }
    return t;
}

static inline bool sl__key_eq(const sl__entry *e, const sl_value *key, sl__tag tag) {
    if (key->type == SL_BYTES && e->key.type == SL_BYTES)
        return e->key.len == key->len && e->tag.a == tag.a && e->tag.b == tag.b &&
               (key->len <= 16 || sl__bytes_eq(e->key.u.s + 16, key->u.s + 16, key->len - 16));
    return sl__value_equal(&e->key, key);
}

/* Find the entry of `key` (hash `h`), inserting one (key copied into mem,
 * or referenced as is when mem is NULL; acc SL_NULL) if absent; *fresh
 * tells which. NULL on OOM. Entry pointers are invalidated by the next
 * upsert. A hash of 0 is stored as 1. */
static inline sl__entry *sl__table_upsert(sl__table *t, uint64_t h, const sl_value *key,
                                          sl_mem *mem, bool *fresh) {
    if (!h)
        h = 1;
    /* grow before inserting, so that the returned entry stays put */
    if ((t->n + 1) * 2 > t->mask + 1 && sl__table_grow(t))
        return NULL;
    sl__tag tag = sl__key_tag(key);
    size_t j = (size_t)h & t->mask;
    for (;;) {
        sl__entry *e = &t->slots[j];
        if (!e->hash)
            break;
        if (e->hash == h && sl__key_eq(e, key, tag)) {
            *fresh = false;
            return e;
        }
        j = (j + 1) & t->mask;
    }
    *fresh = true;
    return sl__table_insert(t, j, h, tag, key, mem);
}

static inline sl__entry *sl__table_find(const sl__table *t, uint64_t h, const sl_value *key) {
    if (!h)
        h = 1;
    sl__tag tag = sl__key_tag(key);
    size_t j = (size_t)h & t->mask;
    for (;;) {
        sl__entry *e = &t->slots[j];
        if (!e->hash)
            return NULL;
        if (e->hash == h && sl__key_eq(e, key, tag))
            return e;
        j = (j + 1) & t->mask;
    }
}

/* Empty the table, keeping its slots (and their pages) for reuse. */
void sl__table_clear(sl__table *t);
/* The next entry at or after *pos (start at 0), or NULL at the end. */
sl__entry *sl__table_next(const sl__table *t, size_t *pos);

/* ---- receiver.c: a receiver thread and its bounded block buffer ------------ */

typedef struct sl__block {
    struct sl__block *next;
    sl_arena arena;
    sl_recvec recs;
    size_t bytes; /* payload: the records' key and value bytes (input metrics) */
    size_t mem;   /* what the records take: payload, bytes between lines, records */
} sl__block;

void sl__block_free(sl__block *b);

typedef struct sl__receiver {
    pthread_t thread;
    bool thread_started;
    sl__func *fn;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    sl__block *cur;                  /* open block */
    sl__block *sealed, *sealed_tail; /* blocks waiting for the next batch */
    sl__block *early, *early_tail;   /* sealed blocks the engine took before the tick */
    size_t nearly;
    /* early blocks already combined and recycled: what they held, for the
     * batch's input figures and for sl__receiver_pending */
    int64_t early_done_records, early_done_bytes;
    size_t ntaken_early;   /* blocks taken early since the last take */
    struct sl__wake *wake; /* told of every sealed block (early combine) */
    sl__block *spare;      /* recycled blocks */
    int spare_count;
    int64_t blocked_reported; /* blocked_ms already reported */
    int64_t last_warning;     /* mono ms of the last buffer warning */
    size_t buffered;          /* mem of cur + sealed + early (recycled ones too) */
    size_t limit;             /* max buffered bytes before store blocks */
    atomic_bool finished;     /* run() returned */
    int result;               /* run()'s return */
    sl_error err;
    int64_t stored_records, stored_bytes, blocked_ms;
} sl__receiver;

/* The scheduler's alarm: receivers bump seq and signal when they seal a block. */
typedef struct sl__wake {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    uint64_t seq;
} sl__wake;

int sl__receiver_start(sl__receiver *r, sl__func *fn, size_t limit, sl__wake *wake, sl_error *err);
/* What sl__receiver_take says besides the blocks. */
typedef struct sl__take_info {
    size_t nearly;            /* the first blocks, taken early and combined */
    int64_t recycled_records; /* in early blocks combined and already recycled */
    int64_t recycled_bytes;
} sl__take_info;

/* Take every block stored so far (sealing the open one); caller frees. */
sl__block *sl__receiver_take(sl__receiver *r, sl__take_info *info);
/* Before the tick: move up to `max` sealed blocks to the early list and store
 * them in out[]; returns how many. They stay counted against the limit, and
 * in sl__receiver_pending, until sl__receiver_take returns them. */
size_t sl__receiver_take_early(sl__receiver *r, sl__block **out, size_t max);
/* The early blocks blk[0..n) have been combined into tables that keep no
 * reference to them: recycle them now. Their records and bytes still count
 * for the next take (its input figures), in sl__receiver_pending and against
 * the limit: the limit bounds a batch's input, combined early or not. */
void sl__receiver_release_early(sl__receiver *r, sl__block *const *blk, size_t n);
/* Give a completed batch's blocks back for reuse. */
void sl__receiver_recycle(sl__receiver *r, sl__block *blocks);
void sl__receiver_join(sl__receiver *r); /* after the stop flag is set */
void sl__receiver_pending(sl__receiver *r, int64_t *records, int64_t *bytes);
void sl__receiver_free(sl__receiver *r);
int sl__receiver_store(sl__receiver *r, sl_handle *h, const sl_record *recs, size_t n);

/* ---- graph.c: streams and the plan ----------------------------------------- */

typedef enum sl__op {
    SL_OP_SOURCE,
    SL_OP_MAP,
    SL_OP_FLAT_MAP,
    SL_OP_FILTER,
    SL_OP_MAP_VALUES,
    SL_OP_FLAT_MAP_VALUES,
    SL_OP_TRANSFORM,
    SL_OP_REDUCE_BY_KEY,
    SL_OP_REDUCE,
    SL_OP_COUNT,
    SL_OP_COUNT_BY_VALUE,
    SL_OP_UNION,
    SL_OP_REPARTITION,
    /* windows (window.c) */
    SL_OP_WINDOW,
    SL_OP_COUNT_BY_WINDOW,
    SL_OP_REDUCE_BY_WINDOW,
    SL_OP_REDUCE_BY_KEY_AND_WINDOW,
    SL_OP_COUNT_BY_VALUE_AND_WINDOW,
    SL_OP_GROUP_BY_KEY_AND_WINDOW,
    /* grouping and joins (join.c) */
    SL_OP_GROUP_BY_KEY,
    SL_OP_JOIN,
    SL_OP_LEFT_OUTER_JOIN,
    SL_OP_RIGHT_OUTER_JOIN,
    SL_OP_FULL_OUTER_JOIN,
    SL_OP_COGROUP,
    SL_OP_TRANSFORM_WITH,
    /* state (stateful.c) */
    SL_OP_UPDATE_STATE_BY_KEY,
    SL_OP_MAP_WITH_STATE,
    SL_OP_STATE_SNAPSHOTS,
    SL_OP_OPERATOR
} sl__op;

bool sl__op_is_window(sl__op op);
bool sl__op_is_join(sl__op op); /* group_by_key, joins, cogroup, transform_with */

const char *sl__op_name(sl__op op);
/* graph.c's builders' parts, for builders in other files. */
struct sl_stream *sl__stream_new(sl_context *ctx, sl__op op, struct sl_stream *a,
                                 struct sl_stream *b);
void sl__stream_drop(sl_context *ctx, struct sl_stream *s);
struct sl__func;
int sl__func_resolve(sl_context *ctx, struct sl__func *f, const char *ref, int kind,
                     const char *const *params, const char *label);
bool sl__op_is_narrow(sl__op op);

struct sl_stream {
    sl_context *ctx;
    int id;
    sl__op op;
    char *name;
    sl_stream *in[2];
    int nin;
    sl__func fn;
    int partitions;  /* shuffle / repartition partitions; 0 = workers */
    sl__table *tabs; /* shuffle: [workers][partitions] tables, kept across batches */
    size_t ntabs;
    /* windows */
    int64_t window;  /* ms */
    int64_t slide;   /* ms */
    bool inverse;    /* reduce_by_key_and_window: incremental, with the inverse */
    sl__func filter; /* reduce_by_key_and_window_inv: optional FILTER component */
    /* state an operation keeps across batches (window rings, ...), freed
     * with opstate_free at context teardown */
    void *opstate;
    void (*opstate_free)(void *opstate);
    /* state */
    sl__state_store *store;
    size_t state_limit;               /* bytes; 0 = none */
    int64_t timeout;                  /* map_with_state: idle timeout in ms; 0 = none */
    char *initial_state;              /* JSON Lines path */
    struct sl_stream *initial_stream; /* or a stream's first batch */
    /* plan: the stream produces a batch at t when (t - zero_time) % period == 0 */
    int64_t period;
    bool active; /* per batch: produces a batch at this t */
    /* source runtime */
    sl__receiver *recv;
    bool finished; /* source: no more data ever */
    /* plan */
    int consumers;
    bool materialize;
    /* per batch */
    sl_dataset data;
    bool computed;
    sl__block *blocks; /* source: the batch's blocks (own the bytes) */
    /* early combine (plan): a receiver source's blocks may run, before the
     * tick, through the fused chain into this shuffle stream's tables */
    struct sl_stream *early_target;
    /* early combine (per batch): the shuffle stream's tables hold the early
     * blocks of the batch at early_t (0: none) */
    int64_t early_t;
    size_t early_parts;    /* partitions combined early */
    size_t early_recycled; /* of which recycled at once (tables_keep_no_input) */
    int64_t early_us;      /* time spent on them */
};

typedef struct sl__output {
    sl_stream *from;
    sl__func fn;
    char *label;
} sl__output;

/* ---- context.c ----------------------------------------------------------------- */

typedef enum sl__state { SL__NEW, SL__RUNNING, SL__DONE } sl__state;

struct sl_context {
    int64_t interval;
    int64_t zero_time; /* one interval before the first batch time */
    /* checkpoints */
    char *ckpt_dir;
    int64_t ckpt_interval; /* 0: the default */
    int ckpt_keep;
    bool fresh;
    int ckpt_lock;       /* fd of the directory's lock, -1 */
    int64_t resume_from; /* batch time of the checkpoint resumed, 0 if none */
    int64_t last_ckpt;   /* batch time of the last checkpoint written */
    int64_t resume_zero; /* the resumed run's zero time (0 if none) */
    int workers;
    sl_clock_kind clock;
    int64_t start_time;
    int64_t max_batches;
    size_t recv_buffer;
    bool early_combine;
    sl__wake wake; /* receivers of early-combined sources signal sealed blocks */
    int status_mode;
    sl__registry reg;

    sl_stream **streams;
    size_t nstreams;
    sl__output *outputs;
    size_t noutputs;

    /* sticky error */
    int errcode;
    char errmsg[1024];
    char errparam[128];

    /* runtime */
    sl__state state;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop_requested;
    pthread_mutex_t lock;
    pthread_mutex_t join_lock; /* one thread joins the scheduler */
    pthread_cond_t done_cond;
    bool done;
    int result;
    sl__pool *pool;
    sl_arena *warena; /* one per worker, reset after every batch */
    sl_batch_listener listener;
    void *listener_ud;
    sl_batch_info last;
    int64_t early_us;      /* the batch just run: time combining blocks before its tick */
    size_t early_blocks;   /* and how many blocks */
    size_t early_recycled; /* of which recycled right after */
    _Atomic int64_t batches_done;
    bool status;
};

/* Record an error in the context (first one wins until cleared). */
void sl__ctx_fail(sl_context *ctx, int code, const char *param, const char *fmt, ...)
    SL_PRINTF(4, 5);
void sl__ctx_fail_err(sl_context *ctx, const sl_error *err, const char *param);

/* ---- exec.c / scheduler.c --------------------------------------------------------- */

/* Plan: mark which streams are materialized; called at start. */
int sl__plan(sl_context *ctx, sl_error *err);
/* Early combine (after the functions are created, before receivers start):
 * set early_target on every receiver source whose blocks can be combined
 * before the tick. */
void sl__plan_early(sl_context *ctx);
/* While waiting for the tick t: combine the blocks sealed so far of every
 * early source. Returns the number of blocks combined (0: none was ready) or
 * a negative code (err filled; the batch at t has failed). */
int sl__batch_early(sl_context *ctx, int64_t t, sl_error *err);
/* Run the batch at `t`: pull sources, compute streams, run outputs. */
int sl__batch_run(sl_context *ctx, int64_t t, sl_batch_info *info, bool *all_finished,
                  sl_error *err);
/* Tell every source that batch t is safe (commit(t)): after its outputs, or
 * with a checkpoint directory only after a checkpoint covering t. */
int sl__sources_commit(sl_context *ctx, int64_t t, sl_error *err);
void sl__stream_free_tables(sl_stream *s);
/* Window operations (window.c): called at every batch time for a window
 * stream, active or not, after its parent is computed: record the parent's
 * batch, and when s->active, fill s->data. */
int sl__run_window(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
/* A window stream's ring for checkpoints (window.c): append it to b /
 * rebuild it from r (before the first batch of a resumed run). */
int sl__window_snapshot(sl_stream *s, sl__buf *b, sl_error *err);
int sl__window_restore(sl_context *ctx, sl_stream *s, sl__reader *r, sl_error *err);
/* Grouping and joins (join.c): inputs computed; fill s->data. */
int sl__run_join(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
/* Group the records of `parts` by key: (k, [values in order]) per key, in
 * order of first appearance, lists from `mem`, appended to `out`
 * (join.c; group_by_key and group_by_key_and_window). */
int sl__group_records(const sl_recvec *parts, size_t nparts, int64_t t, sl_mem *mem, sl_recvec *out,
                      sl_error *err);
/* Reductions as exec.c applies them (the C function or the component). */
int sl__reduce_first(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err);
int sl__reduce_combine(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err);
int sl__reduce_merge(sl__func *f, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err);
/* update_state_by_key (stateful.c): input computed; update the state, fill s->data. */
int sl__run_state(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
/* map_with_state, state_snapshots and operators (stateful.c). */
int sl__run_map_with_state(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
int sl__run_state_snapshots(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
int sl__run_operator(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
/* The host's sl_state functions (map_with_state handles). */
const sl_value *sl__state_handle_get(sl_state *st);
int sl__state_handle_set(sl_state *st, const sl_value *v);
void sl__state_handle_remove(sl_state *st);
int sl__state_handle_timing_out(sl_state *st);
/* Streams whose state a checkpoint keeps in "state/<name>/<j>". */
bool sl__op_has_store(sl__op op);
/* The stream's state store, created on first use (or by a restore). */
int sl__state_store_of(sl_context *ctx, sl_stream *s, bool initial, sl_error *err);
/* Checkpoints (recovery.c): resume at start (after create, before start);
 * write after the batch at t when due (or always, at the end). */
int sl__checkpoint_resume(sl_context *ctx, sl_error *err);
int sl__checkpoint_maybe(sl_context *ctx, int64_t t, bool final, sl_error *err);
/* Compute stream s's batch at t (and what it needs), if not done yet. */
int sl__compute(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err);
/* Free the per-batch data of every stream. */
void sl__batch_release(sl_context *ctx);
/* The scheduler thread's body. */
void *sl__scheduler_main(void *arg);

#endif /* SLUICE_INTERNAL_H */

/*
 * sluice/plugin.h — THE stable plugin ABI.
 *
 * A plugin is a shared object that exports exactly one function:
 *
 *     const sl_plugin *sluice_plugin_v1(const sl_host *host);
 *
 * It returns a descriptor (data, not code) that starts with a magic number,
 * the ABI version the plugin was built against and the descriptor's size.
 * The host checks all three before it reads anything else: it refuses a
 * plugin whose ABI major differs from its own or whose minor is newer, and
 * it never reads past `struct_size` of any struct a plugin hands it. Structs
 * only ever grow at the end; anything else is a new major.
 *
 * The host passes its function table (sl_host) to the entry function; keep
 * the pointer (SL_PLUGIN_ENTRY does) and call the engine only through it, so
 * that plugins never link against the engine.
 *
 * Errors: every callback returns 0 or a negative SL_E* code and, on error,
 * fills the sl_error the host passed (host->error_set does the formatting).
 * Nothing may longjmp, abort or exit across this boundary.
 *
 * Lifecycle of a component instance:
 *   create -> start -> (run | poll | process | combine | write)* -> commit* -> destroy
 *
 * Threads. The engine has three kinds of threads: the thread that calls
 * sl_context_start() and sl_context_free() (the CLI's main thread), the
 * engine thread (the scheduler: it runs the batches one at a time, in order),
 * its worker threads (a pool that runs one batch's partitions in parallel),
 * and one thread per receiver. Each callback below says which calls it and
 * whether calls on one instance may run at the same time.
 */
#ifndef SLUICE_PLUGIN_H
#define SLUICE_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SL_PLUGIN_MAGIC 0x534c5543u /* "SLUC" */
#define SL_ABI_MAJOR 1
/* 1.1: UPDATE, OPERATOR, source snapshot/restore; 1.2: reduce flags; 1.3: parameter ranges,
 * value_type_name, value_copy, strerror, keyed operator state, UPDATE update_at (batch time);
 * 1.4: the SL_OBJECT value type (json_parse returns objects), context_id, emit_partition;
 * 1.5: source_state (a source says whether it is connected); 1.6: gauge, gauge_set */
#define SL_ABI_MINOR 6

/* The name of the one exported entry function. */
#define SL_PLUGIN_ENTRY_NAME "sluice_plugin_v1"

#if defined(__GNUC__)
#define SL_EXPORT __attribute__((visibility("default")))
#define SL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SL_EXPORT
#define SL_PRINTF(f, a)
#endif

/* A compile-time check that C11 and C++11 both accept (C++ has no
 * _Static_assert, C before C23 has no static_assert keyword). */
#ifdef __cplusplus
#define SL_EXTERN_C extern "C" /* the entry function keeps its C name in C++ */
#define SL_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define SL_EXTERN_C
#define SL_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* ---- error codes ------------------------------------------------------------ */

#define SL_OK 0
#define SL_EINVAL (-1)    /* invalid argument or parameter */
#define SL_ENOMEM (-2)    /* out of memory */
#define SL_EIO (-3)       /* I/O error (file, socket) */
#define SL_ENOTFOUND (-4) /* no such plugin, component, stream, file */
#define SL_EABI (-5)      /* incompatible plugin */
#define SL_ECONFIG (-6)   /* configuration error */
#define SL_ESTOPPED (-7)  /* the engine is stopping: return promptly */
#define SL_EOF (-8)       /* a source has no more data, ever */
#define SL_RETRY (-9)     /* a sink asks to be called again for this batch */
#define SL_ETYPE (-10)    /* a value has the wrong type */
#define SL_ELIMIT (-11)   /* a configured limit was reached */
#define SL_EPLUGIN (-12)  /* a plugin broke the ABI contract */
#define SL_ESTATE (-13)   /* called in the wrong state */

/* Not an error: an UPDATE function's answer "remove this key" (1.1). */
#define SL_REMOVE 1

/* An error the host owns; callbacks fill it with host->error_set(). */
typedef struct sl_error {
    int code;
    char msg[512];
} sl_error;

/* ---- parameters ------------------------------------------------------------- */

typedef enum sl_param_type {
    SL_PARAM_STRING = 1,
    SL_PARAM_INT = 2,      /* int64 */
    SL_PARAM_DOUBLE = 3,   /* double */
    SL_PARAM_BOOL = 4,     /* true/false/yes/no/on/off/1/0 */
    SL_PARAM_DURATION = 5, /* "250ms", "5s", "2m", "1h"; a bare number is seconds; read as ms */
    SL_PARAM_SIZE = 6, /* "512", "64KiB", "1MiB", "2GiB" (also KB/MB/GB = 1000^n); read as bytes */
    SL_PARAM_ENUM = 7  /* a string out of `choices` */
} sl_param_type;

/* One entry of a component's parameter schema. The host validates the
 * configuration against it before create(): it rejects unknown keys, values
 * of the wrong type and values out of `range`, and fills in defaults. The
 * schema is an array terminated by an entry whose `name` is NULL.
 *
 * The host reads a plugin's schema with the stride of the ABI the plugin was
 * built against (48 bytes up to 1.2 on 64-bit machines, sizeof from 1.3), so
 * a plugin built against an older SDK keeps working unchanged. */
typedef struct sl_param_spec {
    const char *name;
    int type;                  /* sl_param_type */
    const char *default_value; /* as written in YAML; NULL: no default */
    int required;              /* nonzero: must be given */
    const char *doc;           /* one line for `sluice plugins` */
    const char *choices;       /* SL_PARAM_ENUM: "a|b|c"; else NULL */
    /* 1.3: the allowed values of an INT, DOUBLE, DURATION or SIZE, both ends
     * included and written in the parameter's own syntax: "1..65535", "0..",
     * "..100", "1s..1h", "1..1GiB"; NULL: any. The host refuses a value
     * outside it (at `sluice validate` already), naming the range. */
    const char *range;
} sl_param_spec;

/* Validated parameters of one instance (host-owned; valid until destroy). */
typedef struct sl_params sl_params;

/* The host's handle for one component instance: used for logging, metrics,
 * storing received records and asking whether the engine is stopping. */
typedef struct sl_handle sl_handle;

/* A counter registered by a plugin; updated with host->counter_add. */
typedef struct sl_counter sl_counter;

/* A gauge registered by a plugin (1.6); set with host->gauge_set. */
typedef struct sl_gauge sl_gauge;

/* A growable byte buffer the host owns, for snapshots (1.1). */
typedef struct sl_buf sl_buf;

/* map_with_state's handle on one key's state, valid for one call (1.1). */
typedef struct sl_state sl_state;

/* One key of an OPERATOR's keyed state, as host->keyed_each shows it (1.3).
 * The callback may replace `value` (the host copies it in; it may point
 * anywhere, the old value's bytes included), change `time`, or set `remove`. */
typedef struct sl_keyed_item {
    const sl_value *key; /* the stored key: valid for the call */
    sl_value value;      /* in: the key's state; out: its new state */
    int64_t time;        /* in/out: the key's time (what keyed_put stored) */
    int remove;          /* out: nonzero drops the key */
} sl_keyed_item;

/* Return 0 to go on, or a negative SL_E* code to stop keyed_each with it. */
typedef int (*sl_keyed_fn)(void *ud, sl_keyed_item *item);

/* ---- the host function table ------------------------------------------------ */

typedef enum sl_log_level {
    SL_LOG_ERROR = 0,
    SL_LOG_WARN = 1,
    SL_LOG_INFO = 2,
    SL_LOG_DEBUG = 3
} sl_log_level;

typedef enum sl_format_style {
    SL_FORMAT_JSON = 0, /* JSON text: "a", 1, 2.5, null, ["a",1] */
    SL_FORMAT_REPR = 1  /* Python repr: 'a', 1, 2.5, None, ('a', 1) */
} sl_format_style;

/* A source's connection state, which it reports with host->source_state
 * (1.5): shown in the status line and the HTTP API, and checked when a run
 * ends. CONNECTED and ASSIGNED count as ready; a source that never reports
 * a state counts as ready once started. */
typedef enum sl_source_state {
    SL_SOURCE_CONNECTING = 1,   /* trying to reach its peer (not yet, or again) */
    SL_SOURCE_CONNECTED = 2,    /* connected to (or bound for) its peers: data can flow */
    SL_SOURCE_DISCONNECTED = 3, /* lost or refused the connection; retrying */
    SL_SOURCE_ASSIGNED = 4      /* a consumer that was given its partitions (Kafka) */
} sl_source_state;

/* The engine's services, in an append-only table whose first member is its
 * size: a plugin built against an older SDK sees a prefix of it. Any thread
 * may call them, at the same time, except where a comment narrows it
 * (store, state_*, keyed_*). */
typedef struct sl_host {
    size_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;

    /* Memory for long-lived plugin state (instances, buffers). */
    void *(*malloc)(size_t size);
    void *(*calloc)(size_t n, size_t size);
    void *(*realloc)(void *p, size_t size);
    void (*free)(void *p);

    /* Log a line as "<stream> (<component>): message" at `level`. */
    void (*log)(sl_handle *h, int level, const char *fmt, ...) SL_PRINTF(3, 4);
    int (*log_enabled)(int level);

    /* Fill `err` (message formatted like printf) and return `code`. */
    int (*error_set)(sl_error *err, int code, const char *fmt, ...) SL_PRINTF(3, 4);

    /* Read a validated parameter (defaults applied). An absent optional
     * parameter without a default reads as NULL / 0 / 0.0 / 0;
     * param_is_set() tells the two apart. DURATION and SIZE read through
     * param_int (ms, bytes); ENUM through param_str. */
    const char *(*param_str)(const sl_params *p, const char *name);
    int64_t (*param_int)(const sl_params *p, const char *name);
    double (*param_double)(const sl_params *p, const char *name);
    int (*param_bool)(const sl_params *p, const char *name);
    int (*param_is_set)(const sl_params *p, const char *name);

    /* Metrics: a named counter of this instance ("lines_truncated"); shown
     * by the engine in its logs and at exit. counter_add is thread-safe.
     * From 1.6, a name the instance registered as a gauge is refused (NULL,
     * an error logged). */
    sl_counter *(*counter)(sl_handle *h, const char *name);
    void (*counter_add)(sl_counter *c, int64_t delta);

    /* Receivers: store records for the next batch. The host copies the
     * records and their bytes. Blocks while the receiver's buffer is full
     * (backpressure: stop reading from the peer meanwhile). Returns 0, or
     * SL_ESTOPPED once the engine is stopping: the records of that call are
     * stored all the same (a graceful stop processes them in a last batch);
     * return from run() promptly, and count and log anything else you had
     * read from the peer and now drop. */
    int (*store)(sl_handle *h, const sl_record *recs, size_t n);
    /* Nonzero once the engine wants the instance to stop. */
    int (*stopping)(sl_handle *h);
    /* Sleep up to `ms`, returning early (SL_ESTOPPED) when stopping. */
    int (*sleep)(sl_handle *h, int64_t ms);

    /* Values. value_format writes `v` as text into buf (at most cap bytes,
     * always NUL-terminated when cap > 0) and returns the full length, like
     * snprintf. record_format writes a record as pprint does: (key, value)
     * when it has a key, else the value. */
    size_t (*value_format)(const sl_value *v, int style, char *buf, size_t cap);
    size_t (*record_format)(const sl_record *r, int style, char *buf, size_t cap);
    /* Parse one JSON value from text[0..len). Strings, lists and objects
     * are allocated from `mem`. true/false become the ints 1/0; an object
     * becomes an SL_OBJECT in document order, duplicate names kept (until
     * 1.4: a list of [name, value] pairs). Returns 0 or SL_EINVAL with a
     * message that gives the byte offset. */
    int (*json_parse)(const char *text, size_t len, sl_value *out, sl_mem *mem, sl_error *err);
    /* A total order over values (null < numbers < bytes < lists < objects;
     * numbers by value, bytes lexicographically, lists element-wise, objects
     * field by field in document order, name then value): <0, 0, >0. */
    int (*value_compare)(const sl_value *a, const sl_value *b);
    /* XXH3 of a value; equal values (by value_compare) hash alike. */
    uint64_t (*value_hash)(const sl_value *v);

    /* Wall-clock time in ms since the epoch. */
    int64_t (*now_ms)(void);

    /* ---- ABI 1.1 ---- */

    /* Append bytes to a snapshot buffer: 0 or SL_ENOMEM. */
    int (*buf_append)(sl_buf *b, const void *p, size_t n);
    /* A compact binary encoding of values, for snapshots: encode appends v;
     * decode reads one value at data[*off..len), advances *off, and
     * allocates bytes and lists from mem. 0, or SL_EINVAL on bad input. */
    int (*value_encode)(sl_buf *b, const sl_value *v);
    int (*value_decode)(const void *data, size_t len, size_t *off, sl_value *out, sl_mem *mem);
    /* map_with_state: the key's state (NULL if none); replace it (copied);
     * remove it; nonzero when this call is the key timing out. */
    const sl_value *(*state_get)(sl_state *st);
    int (*state_set)(sl_state *st, const sl_value *v);
    void (*state_remove)(sl_state *st);
    int (*state_timing_out)(sl_state *st);
    /* An arena for memory that lives as long as the plugin wants (an
     * operator's state): allocate with sl_alloc(mem, n); reset frees
     * everything allocated so far; free releases the arena. */
    sl_mem *(*mem_new)(void);
    void (*mem_reset)(sl_mem *mem);
    void (*mem_free)(sl_mem *mem);

    /* ---- ABI 1.3 ---- */

    /* The name of an sl_type for messages: "null", "int", "double", "bytes",
     * "list", "object" (1.4); "unknown" for anything else. A static string. */
    const char *(*value_type_name)(uint32_t type);
    /* Deep-copy `v` into `mem` (an sl_mem from host->mem_new, an emitter's,
     * or a callback's): the bytes of SL_BYTES and the items of SL_LIST and
     * SL_OBJECT (1.4), at every depth, so *out no longer refers to the
     * memory of `v`. Returns 0
     * or SL_ENOMEM (*out is then SL_NULL; what was copied stays in mem). */
    int (*value_copy)(const sl_value *v, sl_value *out, sl_mem *mem);
    /* The text of an SL_E* code, as sluice prints it ("invalid argument"). */
    const char *(*strerror)(int code);

    /* Keyed state of an OPERATOR instance: key -> (value, time), kept in the
     * engine's state store, saved in every checkpoint and restored before
     * the first batch of a resumed run, with no snapshot code in the plugin.
     * `h` is the handle create() got; call these only from the operator's
     * process, snapshot and restore (the engine thread), never concurrently.
     * Keys and values are deep-copied in; `time` is the plugin's (dedupe
     * keeps the batch time a key was last seen). A stream's memory_limit
     * bounds the store: keyed_put then fails with SL_ELIMIT.
     *   keyed_get:    the key's value (NULL if none), valid until the next
     *                 keyed_put/remove/each; its time in *time if given.
     *   keyed_put:    insert or replace: 0, SL_ELIMIT, SL_ENOMEM, SL_ESTATE
     *                 (not an OPERATOR's handle); err filled.
     *   keyed_remove: 0, or SL_ENOTFOUND if the key had no state.
     *   keyed_each:   call fn for every key, in no particular order, applying
     *                 what it asks (replace, time, remove) before the next
     *                 call; fn must not call keyed_* itself. Returns 0, fn's
     *                 first error, or keyed_put's errors.
     *   keyed_count:  the number of keys. */
    const sl_value *(*keyed_get)(sl_handle *h, const sl_value *key, int64_t *time);
    int (*keyed_put)(sl_handle *h, const sl_value *key, const sl_value *value, int64_t time,
                     sl_error *err);
    int (*keyed_remove)(sl_handle *h, const sl_value *key);
    int (*keyed_each)(sl_handle *h, sl_keyed_fn fn, void *ud, sl_error *err);
    size_t (*keyed_count)(sl_handle *h);

    /* ---- ABI 1.4 ---- */

    /* Which context created the instance behind `h`: the same nonzero
     * number for every instance of one context, different between contexts
     * alive at the same time (a number may be reused once its context is
     * freed); 0 for a handle outside a context. Components of one plugin
     * that cooperate within a pipeline find each other by it (the Kafka
     * sink's transactions carry the offsets of the Kafka sources of its
     * own pipeline). */
    uint64_t (*context_id)(sl_handle *h);
    /* A DIRECT source's poll: the records emitted from now on go to
     * partition `index` (0-based, below 65536) of the batch, as Spark's
     * direct Kafka stream makes each Kafka partition one partition of the
     * batch (kept in order, processed in parallel with the others).
     * Partitions skipped are empty. Without a call the engine cuts the
     * batch into partitions by size. Returns 0, SL_EINVAL (index too large)
     * or SL_ENOMEM; any other emitter ignores it and returns 0. */
    int (*emit_partition)(sl_emitter *out, uint32_t index);

    /* ---- ABI 1.5 ---- */

    /* A source reports its connection state (an sl_source_state) with a
     * detail for people: the peer first, then what happened, e.g.
     * "127.0.0.1:9999", "127.0.0.1:9999: connection refused (12 attempts)",
     * "3 partitions of words (group g)". The host copies `detail` (NULL: none;
     * at most 255 bytes are kept) and keeps the last state; any thread, any
     * time after create. When a run ends, a source that reported states but
     * never reached CONNECTED or ASSIGNED is logged as an error ("source
     * 'lines' (socket) never connected to <detail>") and `sluice run` exits
     * 1. A state outside sl_source_state is ignored. */
    void (*source_state)(sl_handle *h, int state, const char *detail);

    /* ---- ABI 1.6 ---- */

    /* Metrics: a named gauge of this instance ("lag", "queue_depth"), a
     * level that goes down as well as up, where a counter only grows. The
     * engine shows it like a counter (logs at exit, /metrics as the gauge
     * sluice_plugin_<name>, no _total). A name this instance already
     * registered as a counter is refused: NULL and an error logged (and
     * counter refuses a gauge's name the same way); gauge_set on NULL does
     * nothing. The same name returns the same gauge. gauge_set is
     * thread-safe. */
    sl_gauge *(*gauge)(sl_handle *h, const char *name);
    void (*gauge_set)(sl_gauge *g, int64_t value);
} sl_host;

/* ---- components -------------------------------------------------------------- */

typedef enum sl_component_kind {
    SL_COMPONENT_SOURCE = 1,
    SL_COMPONENT_SINK = 2,
    SL_COMPONENT_MAP = 3,
    SL_COMPONENT_REDUCE = 4,
    SL_COMPONENT_UPDATE = 5,  /* update_state_by_key / map_with_state functions (1.1) */
    SL_COMPONENT_OPERATOR = 6 /* a whole stateful transformation (1.1) */
} sl_component_kind;

/* --- SOURCE --- */

typedef enum sl_source_mode {
    /* Runs all the time on its own thread (run), storing records with
     * host->store; at each tick what was stored becomes the batch. */
    SL_SOURCE_RECEIVER = 1,
    /* Asked at each batch time for that batch's records (poll). */
    SL_SOURCE_DIRECT = 2
} sl_source_mode;

typedef struct sl_source_ops {
    size_t struct_size;
    uint32_t mode; /* sl_source_mode */
    /* Optional: called once before the first batch, on the thread that
     * calls sl_context_start. */
    int (*start)(void *inst, sl_error *err);
    /* RECEIVER: loop on the receiver's own thread (one per instance, so
     * never concurrent with itself) until host->stopping() or until
     * the input is finished. Return 0 when stopped, SL_EOF when the input
     * has ended for good (the engine then stops after its last batch), or
     * an error (the engine stops with it). */
    int (*run)(void *inst, sl_error *err);
    /* DIRECT: emit the records of the batch at `batch_time`. Return 0, or
     * SL_EOF when there will never be more records (what was emitted in
     * this call still counts). On the engine thread, one batch at a time. */
    int (*poll)(void *inst, int64_t batch_time, sl_emitter *out, sl_error *err);
    /* Optional: the batch at `batch_time` is complete (outputs done). On the
     * engine thread; it may run while a receiver's run() is busy on its own
     * thread, so a RECEIVER shares what both touch under a lock. */
    int (*commit)(void *inst, int64_t batch_time, sl_error *err);
    /* 1.1, optional: the position after the last batch polled, for a
     * checkpoint (a DIRECT source that can replay: the queue's line number,
     * Kafka's offsets). On the engine thread, between batches. */
    int (*snapshot)(void *inst, sl_buf *out, sl_error *err);
    /* 1.1, optional: go back to a position snapshot() wrote (called after
     * create, before start, when a pipeline resumes from a checkpoint, on
     * the thread that calls sl_context_start). */
    int (*restore)(void *inst, const void *data, size_t len, sl_error *err);
} sl_source_ops;

/* --- SINK --- */

/* All four callbacks run on the engine thread, one batch at a time and in
 * the order of the outputs: calls on one instance never overlap. Any of
 * begin/write/end may return SL_EOF when what the sink writes to is gone
 * for good (a closed pipe: EPIPE): the engine logs the sink's message, calls
 * this output no more, and stops the pipeline gracefully (not a failure). */
typedef struct sl_sink_ops {
    size_t struct_size;
    /* Optional: a batch starts; called even when the batch is empty. */
    int (*begin)(void *inst, int64_t batch_time, sl_error *err);
    /* The batch's records, chunk by chunk, in partition order. */
    int (*write)(void *inst, const sl_chunk *chunk, sl_error *err);
    /* Optional: the batch is complete: flush. May return SL_RETRY. */
    int (*end)(void *inst, int64_t batch_time, sl_error *err);
    /* Optional: the batch is complete everywhere (all outputs done). */
    int (*commit)(void *inst, int64_t batch_time, sl_error *err);
} sl_sink_ops;

/* --- MAP --- */

typedef enum sl_map_shape {
    SL_MAP_ONE = 1,    /* exactly one output per input: map, map_values */
    SL_MAP_FILTER = 2, /* emits some of its inputs unchanged: filter */
    SL_MAP_MANY = 3    /* any number per input: flat_map, flat_map_values, transform */
} sl_map_shape;

/* A function from a chunk of records to emitted records. The engine calls
 * process() concurrently from several worker threads on the same instance
 * (and from the engine thread: transform, a window's filter, early combine):
 * keep the instance read-only after create(), and per-call state on the
 * stack. Emit with sl_emit(); return what it returns if it fails. */
typedef struct sl_map_ops {
    size_t struct_size;
    uint32_t shape; /* sl_map_shape */
    int (*process)(void *inst, const sl_chunk *in, sl_emitter *out, sl_error *err);
} sl_map_ops;

/* --- REDUCE --- */

/* An associative (and commutative) reduction, as Spark's combineByKey:
 *   acc = zero ? zero() : first value;  acc = combine(acc, v) ...;
 *   partial results merge with merge(acc, other) (combine if NULL);
 *   windows with an inverse subtract a partial: inverse(acc, other).
 * Results may point into the bytes of `acc` or `v`, or into `mem`.
 * Threads: every callback runs on the worker threads and the engine thread,
 * concurrently on one instance (each call on its own accumulator): keep the
 * instance read-only after create(). */
typedef struct sl_reduce_ops {
    size_t struct_size;
    /* Optional: the identity (sum: 0, count: 0). */
    int (*zero)(void *inst, sl_value *out, sl_error *err);
    int (*combine)(void *inst, sl_value *acc, const sl_value *v, sl_mem *mem, sl_error *err);
    /* Optional: merge two partial results. */
    int (*merge)(void *inst, sl_value *acc, const sl_value *other, sl_mem *mem, sl_error *err);
    /* Optional: remove a partial result (sum: subtraction). */
    int (*inverse)(void *inst, sl_value *acc, const sl_value *other, sl_mem *mem, sl_error *err);
    /* 1.2: SL_REDUCE_* flags (0 for plugins built against 1.0 and 1.1). */
    uint32_t flags;
} sl_reduce_ops;

/* An accumulator never points into the memory of the values given to zero,
 * combine or merge: it holds numbers, or bytes the function copied into
 * `mem` (agg.sum, agg.count). With a `zero` as well (without one, the engine
 * starts each accumulator as the first value itself), the engine may reuse a
 * batch's input memory as soon as it has been combined (docs/plugin-guide.md). */
#define SL_REDUCE_NO_INPUT_REFS 1u

/* --- UPDATE (1.1) --- */

/* Per-key state functions. A component fills update (or update_at), map,
 * or both. Threads: the engine calls update and map from its worker
 * threads, one task per state partition, concurrently on one instance (each
 * call on its own key): keep the instance read-only after create(). */
typedef struct sl_update_ops {
    size_t struct_size;
    /* update_state_by_key (Spark's updateFunc): called every batch for every
     * key in the state or in the batch, with the key's values of this batch
     * (n may be 0) and its previous state (NULL if none). Write the new state
     * to *out and return 0 (it may point into values, state or mem: the host
     * copies it), or return SL_REMOVE to drop the key, or an error. */
    int (*update)(void *inst, const sl_value *key, const sl_value *values, size_t n,
                  const sl_value *state, sl_value *out, sl_mem *mem, sl_error *err);
    /* map_with_state (Spark's StateSpec.function): called for each (key,
     * value) of the batch, in order, and once with value NULL when an idle
     * key times out (host->state_timing_out is then true, and the state is
     * removed after the call). Read and change the state with
     * host->state_get/state_set/state_remove; emit the mapped records. */
    int (*map)(void *inst, const sl_value *key, const sl_value *value, sl_state *state,
               sl_emitter *out, sl_error *err);
    /* ---- ABI 1.3 ---- */
    /* update with the batch time (Spark's updateStateByKey((time, values,
     * state) => ...)): `batch_time` is the batch's time in ms since the
     * epoch, the rest as in update. When set, the engine calls it instead of
     * update. */
    int (*update_at)(void *inst, int64_t batch_time, const sl_value *key, const sl_value *values,
                     size_t n, const sl_value *state, sl_value *out, sl_mem *mem, sl_error *err);
} sl_update_ops;

/* --- OPERATOR (1.1) --- */

/* A whole transformation with its own state: it sees every batch of its
 * input (one chunk flagged SL_CHUNK_WHOLE_BATCH, batch_time set), emits its
 * output, and saves and restores its state through the host for
 * checkpoints, by hand (snapshot/restore) or through the engine's keyed
 * state (host->keyed_*, 1.3). process() and snapshot() run on the engine
 * thread, one batch at a time; restore() on the thread that calls
 * sl_context_start, before the first batch: calls never overlap. */
typedef struct sl_operator_ops {
    size_t struct_size;
    int (*process)(void *inst, const sl_chunk *batch, sl_emitter *out, sl_error *err);
    /* Optional: write the state (after the batch at `batch_time`). */
    int (*snapshot)(void *inst, int64_t batch_time, sl_buf *out, sl_error *err);
    /* Optional: replace the state with what snapshot() wrote. */
    int (*restore)(void *inst, const void *data, size_t len, sl_error *err);
} sl_operator_ops;

/* A component: one source, sink or function a plugin offers. */
typedef struct sl_component {
    size_t struct_size;
    int kind;                    /* sl_component_kind */
    const char *name;            /* referenced as "<plugin>.<name>" */
    const char *doc;             /* one paragraph for `sluice plugins` */
    const sl_param_spec *params; /* NULL or terminated by a NULL name */
    /* Create an instance from validated parameters. `h` stays valid until
     * destroy. Store the instance in *instance. create and destroy run on
     * the thread that calls sl_context_start / sl_context_free. */
    int (*create)(sl_handle *h, const sl_params *params, void **instance, sl_error *err);
    void (*destroy)(void *instance); /* optional */
    const void *ops;                 /* sl_source_ops, sl_sink_ops, sl_map_ops, sl_reduce_ops,
                                        sl_update_ops or sl_operator_ops, by kind */
} sl_component;

/* The descriptor the entry function returns. */
typedef struct sl_plugin {
    uint32_t magic;     /* SL_PLUGIN_MAGIC */
    uint16_t abi_major; /* SL_ABI_MAJOR the plugin was built against */
    uint16_t abi_minor; /* SL_ABI_MINOR the plugin was built against */
    uint32_t struct_size;
    const char *name; /* must equal the file's base name: text.so -> "text" */
    const char *version;
    const char *description;
    const char *license;
    const sl_component *const *components; /* terminated by NULL */
} sl_plugin;

/* The entry function's type. Each context that uses a plugin calls it when
 * it loads the plugin, on the thread that builds the graph or lists plugins:
 * one load at a time per context, but two contexts may call it at the same
 * time, always with the same host table. Store the pointer and return the
 * descriptor, nothing else (SL_PLUGIN_ENTRY does exactly that). */
typedef const sl_plugin *(*sl_plugin_entry_fn)(const sl_host *host);

/* The host table, set by SL_PLUGIN_ENTRY; declared here so that every file
 * of a plugin can use it. Hidden: each plugin has its own. */
extern const sl_host *sl_api;

/* Declare the entry function and keep the host table in a static `sl_api`.
 * Use once per plugin:
 *
 *     SL_PLUGIN_ENTRY(my_descriptor)
 *
 * then call the host as sl_api->log(...), sl_api->error_set(...). */
#define SL_PLUGIN_ENTRY(descriptor)                                                                \
    const sl_host *sl_api = NULL;                                                                  \
    SL_EXTERN_C SL_EXPORT const sl_plugin *sluice_plugin_v1(const sl_host *host);                  \
    const sl_plugin *sluice_plugin_v1(const sl_host *host) {                                       \
        sl_api = host;                                                                             \
        return &(descriptor);                                                                      \
    }

/* Fill in the ABI header of a descriptor. */
#define SL_PLUGIN_HEADER SL_PLUGIN_MAGIC, SL_ABI_MAJOR, SL_ABI_MINOR, (uint32_t)sizeof(sl_plugin)

/* ---- layout checks: these sizes are the ABI ---------------------------------- */

#if defined(__x86_64__) || defined(__aarch64__)
SL_STATIC_ASSERT(sizeof(sl_value) == 16, "sl_value layout is ABI");
SL_STATIC_ASSERT(sizeof(sl_record) == 40, "sl_record layout is ABI");
SL_STATIC_ASSERT(sizeof(sl_chunk) == 32, "sl_chunk layout is ABI");
SL_STATIC_ASSERT(sizeof(sl_mem) == 16, "sl_mem layout is ABI");
SL_STATIC_ASSERT(sizeof(sl_emitter) == 40, "sl_emitter layout is ABI");
SL_STATIC_ASSERT(sizeof(sl_error) == 516, "sl_error layout is ABI");
SL_STATIC_ASSERT(sizeof(sl_param_spec) == 56, "sl_param_spec layout is ABI");
SL_STATIC_ASSERT(offsetof(sl_param_spec, range) == 48, "1.0 part of sl_param_spec unchanged");
SL_STATIC_ASSERT(sizeof(sl_plugin) == 56, "sl_plugin layout is ABI");
SL_STATIC_ASSERT(sizeof(sl_component) == 64, "sl_component layout is ABI");
SL_STATIC_ASSERT(offsetof(sl_plugin, struct_size) == 8, "sl_plugin header is ABI");
SL_STATIC_ASSERT(sizeof(sl_source_ops) == 64, "sl_source_ops layout is ABI");
SL_STATIC_ASSERT(offsetof(sl_source_ops, snapshot) == 48, "1.0 part of sl_source_ops unchanged");
SL_STATIC_ASSERT(sizeof(sl_update_ops) == 32, "sl_update_ops layout is ABI");
SL_STATIC_ASSERT(sizeof(sl_operator_ops) == 32, "sl_operator_ops layout is ABI");
SL_STATIC_ASSERT(offsetof(sl_update_ops, update_at) == 24, "1.1 part of sl_update_ops unchanged");
SL_STATIC_ASSERT(offsetof(sl_host, mem_free) + sizeof(void *) == offsetof(sl_host, value_type_name),
                 "ABI 1.3 fields of sl_host follow the 1.1 ones");
SL_STATIC_ASSERT(offsetof(sl_host, keyed_count) + sizeof(void *) == offsetof(sl_host, context_id),
                 "ABI 1.4 fields of sl_host follow the 1.3 ones");
SL_STATIC_ASSERT(offsetof(sl_host, emit_partition) + sizeof(void *) ==
                     offsetof(sl_host, source_state),
                 "ABI 1.5 fields of sl_host follow the 1.4 ones");
SL_STATIC_ASSERT(offsetof(sl_host, source_state) + sizeof(void *) == offsetof(sl_host, gauge),
                 "ABI 1.6 fields of sl_host follow the 1.5 ones");
SL_STATIC_ASSERT(sizeof(sl_sink_ops) == 40, "sl_sink_ops layout is ABI");
SL_STATIC_ASSERT(sizeof(sl_map_ops) == 24, "sl_map_ops layout is ABI");
SL_STATIC_ASSERT(sizeof(sl_reduce_ops) == 48, "sl_reduce_ops layout is ABI");
SL_STATIC_ASSERT(sizeof(sl_keyed_item) == 40, "sl_keyed_item layout is ABI");
SL_STATIC_ASSERT(sizeof(sl_object_builder) == 24, "sl_object_builder layout is ABI");
#endif

#ifdef __cplusplus
}
#endif

#endif /* SLUICE_PLUGIN_H */

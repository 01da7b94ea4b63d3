/*
 * sluice/sluice.h — the embedding API: build a DStream graph from C and run it.
 *
 * It reads like the PySpark it answers:
 *
 *     sl_context *ssc = sl_context_new(5000);                  // 5 s batches
 *     sl_stream *lines = sl_socket_text_stream(ssc, "localhost", 9999);
 *     sl_stream *counts =
 *         sl_reduce_by_key(sl_map(sl_flat_map(lines, "text.split", NULL), "kv.pair", NULL),
 *                          "agg.sum", NULL);
 *     sl_pprint(counts, 10);
 *     sl_context_start(ssc);
 *     sl_context_await_termination_or_timeout(ssc, 60000);
 *     sl_context_free(ssc);                                    // stops if running
 *
 * Every string a builder takes (names, component references, parameters)
 * is copied: the caller may free it as soon as the call returns.
 *
 * Functions are named "<plugin>.<component>" (a bare "<plugin>" means
 * "<plugin>.<plugin>") and found in the plugin directories, or given as C
 * function pointers (the *_fn variants). Parameters are a NULL-terminated
 * list of key/value strings, e.g. (const char *[]){"sep", ",", NULL}; they
 * are validated against the component's schema exactly as YAML values are.
 *
 * Errors are sticky: a builder that fails returns NULL, records the error in
 * the context, and every builder given a NULL stream returns NULL, so a chain
 * needs one check at the end — sl_context_start() returns the first error.
 * sl_context_errmsg() says what went wrong.
 *
 * Threads: build and start from one thread. sl_context_stop() may be called
 * from any thread (or a signal handler via sl_context_request_stop()). A
 * started context runs its batches on its own engine thread, one at a time,
 * spreading a batch's partitions over worker threads; each callback type
 * below says which of them calls it and whether calls may overlap.
 *
 * Ownership: strings the API returns are either the library's for as long
 * as the comment says (sl_context_errmsg, sl_stream_name, sl_strerror: do
 * not free them) or malloc'd for the caller (sl_context_graph,
 * sl_context_describe_plugins: release them with sl_free()).
 */
#ifndef SLUICE_SLUICE_H
#define SLUICE_SLUICE_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>
#include <sluice/record.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SL_API __attribute__((visibility("default")))
#else
#define SL_API
#endif

#define SLUICE_VERSION "0.1.0"

typedef struct sl_context sl_context;
typedef struct sl_stream sl_stream;

/* ---- context ----------------------------------------------------------------- */

typedef enum sl_clock_kind {
    SL_CLOCK_SYSTEM = 0, /* batches every interval of wall-clock time */
    SL_CLOCK_MANUAL = 1  /* the next batch starts as soon as the previous ends */
} sl_clock_kind;

/* A new context whose batches are `batch_interval_ms` apart. Free with
 * sl_context_free. Returns NULL only when memory is exhausted or the
 * interval is not positive. */
SL_API sl_context *sl_context_new(int64_t batch_interval_ms);
/* Stop (gracefully) if running, then release everything. NULL is a no-op. */
SL_API void sl_context_free(sl_context *ctx);

/* Settings; call before sl_context_start. Each returns 0 or SL_EINVAL. */
SL_API int sl_context_set_workers(sl_context *ctx, int n); /* 0: one per core */
SL_API int sl_context_set_clock(sl_context *ctx, sl_clock_kind clock);
/* sl_context_set_start_time's "now": the manual clock starts at the wall
 * clock's time when the context starts (the default). */
#define SL_START_NOW (-1)
/* Start of the manual clock, `ms` since the epoch (0 and up; 0 is the epoch
 * itself, 1970-01-01 00:00:00 UTC, as Spark's ManualClock), or SL_START_NOW
 * (the default). The first batch time is the first multiple of the interval
 * after it: T + interval when T is itself a multiple, so a start of 0 gives
 * batches at 1 interval, 2 intervals, ... Other negative values are refused
 * (SL_EINVAL). Only the manual clock has a start time: sl_context_start
 * refuses a start time with the system clock (SL_ECONFIG), whose batches
 * follow the wall clock. A run that resumes from a checkpoint continues
 * after the checkpoint's batch instead. */
SL_API int sl_context_set_start_time(sl_context *ctx, int64_t ms);
/* Stop after `n` batches (0: no limit). */
SL_API int sl_context_set_max_batches(sl_context *ctx, int64_t n);
/* Bytes a receiver may hold before it stops reading (default 64 MiB). */
SL_API int sl_context_set_receiver_buffer(sl_context *ctx, size_t bytes);
/* Early combine (default on): while the system clock waits for a tick, the
 * blocks receivers have sealed for that batch already run through a fused
 * chain that ends in reduce_by_key or count_by_value, combining map-side.
 * The batch's results are the same either way (docs/semantics.md); 0 turns
 * it off, so that all work happens after the tick. */
SL_API int sl_context_set_early_combine(sl_context *ctx, int on);
/* A directory searched for plugins before $SLUICE_PLUGIN_PATH and the
 * install's plugin directory. May be called several times. */
SL_API int sl_context_add_plugin_dir(sl_context *ctx, const char *dir);
/* Live status line on stderr: -1 auto (when stderr is a terminal), 0, 1. */
SL_API int sl_context_set_status_line(sl_context *ctx, int mode);

/* Serve the run's figures over HTTP while it runs (docs/operations.md):
 * /metrics (Prometheus), /health, /ready, the JSON API under /api/v1 and a
 * live page at /, on a thread of its own that never slows a batch. Off
 * unless asked. `address` is HOST:PORT ("127.0.0.1:4195", "[::1]:4195";
 * port 0 picks a free one, see sl_context_http_port); an address beyond
 * loopback is allowed, with a warning: there is no authentication. Before
 * start; the server starts with the context (a taken port fails the start)
 * and stops when the context is freed. Returns 0, SL_EINVAL (a malformed
 * address) or SL_ESTATE. */
SL_API int sl_context_serve_http(sl_context *ctx, const char *address);
/* The port the HTTP server listens on once started; 0 if it does not. */
SL_API int sl_context_http_port(const sl_context *ctx);
/* The address sl_context_serve_http (or the file's http.address) asked for; NULL if none. */
SL_API const char *sl_context_http_address(const sl_context *ctx);

/* Logging is process-wide: level is an sl_log_level (default SL_LOG_WARN). */
SL_API void sl_log_set_level(int level);
/* Where log lines go (process-wide; default: stderr, with a time stamp).
 * With a callback set, every line at or above the log level goes to it
 * instead: `level` is an sl_log_level, `line` the message without time stamp
 * or newline ("counts (agg.sum): ..."), valid for the call. It is called on
 * whichever thread logs (the caller of an API function, the engine thread,
 * a worker or a receiver thread), one call at a time (under a lock): it must
 * not call sluice functions itself. NULL goes back to stderr. */
typedef void (*sl_log_func)(void *ud, int level, const char *line);
SL_API void sl_set_log_callback(sl_log_func fn, void *ud);
/* Free memory the API returned to the caller (sl_context_graph,
 * sl_context_describe_plugins). NULL is a no-op. */
SL_API void sl_free(void *p);
SL_API int sl_log_level_parse(const char *name); /* "info" -> SL_LOG_INFO; -1 if unknown */
/* The format of the lines written to stderr (process-wide): TEXT (the
 * default) is "2026-12-05T14:09:28.123Z WARN  lines (socket): message"
 * (ISO-8601 UTC time stamps); JSON is one object per line,
 * {"ts":"2026-12-05T14:09:28.123Z","level":"warn","stream":"lines",
 * "component":"socket","msg":"message"}, stream and component present when
 * a component's handle logged the line. A log callback gets the message
 * alone either way. Returns 0 or SL_EINVAL. */
typedef enum sl_log_format { SL_LOG_FORMAT_TEXT = 0, SL_LOG_FORMAT_JSON = 1 } sl_log_format;
SL_API int sl_log_set_format(int format);
SL_API int sl_log_format_parse(const char *name); /* "json" -> SL_LOG_FORMAT_JSON; -1 if unknown */

/* The last error: a message a user can act on, and its SL_E* code. When the
 * error concerns one parameter of a component, sl_context_errparam names it
 * (the YAML loader uses it to point at the right line); else NULL. Both
 * strings belong to the context: valid until the next error, clear_error or
 * sl_context_free; do not free them. */
SL_API const char *sl_context_errmsg(const sl_context *ctx);
SL_API int sl_context_errcode(const sl_context *ctx);
SL_API const char *sl_context_errparam(const sl_context *ctx);
SL_API void sl_context_clear_error(sl_context *ctx);

/* ---- sources -------------------------------------------------------------------- */

/* A stream from a SOURCE component, e.g. sl_source(ctx, "socket", params). */
SL_API sl_stream *sl_source(sl_context *ctx, const char *component, const char *const *params);
/* Spark's socketTextStream: one record per line from a TCP server. */
SL_API sl_stream *sl_socket_text_stream(sl_context *ctx, const char *host, int port);
/* Spark's queueStream: one batch per line of a JSON Lines file. */
SL_API sl_stream *sl_queue_stream(sl_context *ctx, const char *path);

/* Spark's queueStream over the program's own batches. sl_queue_stream_new
 * returns the stream and, in *queue, a queue the program pushes batches
 * into, from any thread, before or while the context runs. At each batch
 * time the stream takes the oldest pushed batch (`one_at_a_time` nonzero,
 * Spark's default) or every batch pushed so far, as one batch; when nothing
 * is queued it emits the default batch (sl_queue_set_default) or nothing.
 * After sl_queue_close the stream ends once the queue is empty: the batch
 * that takes the last pushed one is its last, and a context whose sources
 * have all ended stops after it. Records keep their timestamp, or get the
 * batch time when it is 0. The queue belongs to the context (freed by
 * sl_context_free): do not use it after that. Checkpoints do not replay
 * it, as Spark's does not. */
typedef struct sl_queue sl_queue;
SL_API sl_stream *sl_queue_stream_new(sl_context *ctx, int one_at_a_time, sl_queue **queue);
/* Push one batch of n records (n may be 0: an empty batch). The records,
 * their bytes and lists are copied: the caller keeps its own. Returns 0,
 * SL_ESTATE after sl_queue_close, SL_ENOMEM or SL_EINVAL. */
SL_API int sl_queue_push(sl_queue *q, const sl_record *recs, size_t n);
/* Convenience: one batch of n strings (NUL-terminated) or n ints, as plain
 * elements (null key), copied. */
SL_API int sl_queue_push_strings(sl_queue *q, const char *const *strs, size_t n);
SL_API int sl_queue_push_ints(sl_queue *q, const int64_t *ints, size_t n);
/* The batch to emit when the queue is empty (Spark's defaultRDD), copied;
 * n == 0 removes it. Not emitted once the queue is closed. */
SL_API int sl_queue_set_default(sl_queue *q, const sl_record *recs, size_t n);
/* No more pushes: the stream ends when the batches already pushed are out. */
SL_API void sl_queue_close(sl_queue *q);
/* Batches pushed and not yet taken by the stream. */
SL_API size_t sl_queue_pending(sl_queue *q);

/* Spark's receiverStream: a custom receiver written as one C function.
 * `start` runs on the receiver's own thread, as a plugin receiver's run():
 * it stores records with sl_host_api()->store(h, recs, n) (copied; it
 * blocks while the receiver buffer is full: backpressure), checks
 * sl_host_api()->stopping(h) (or sleeps with ->sleep(h, ms), which wakes
 * on stop) and returns:
 *   0          stopped (the engine asked it to), or its input has ended;
 *   SL_EOF     its input has ended for good (the run ends after a last batch);
 *   SL_RETRY   Spark's restart(): log err's message as a warning and call
 *              `start` again after a delay (100 ms, doubling to 10 s; back
 *              to 100 ms after a run of a minute or more);
 *   other < 0  Spark's stop(error): the run fails with err's message.
 * `name` names the stream (as sl_stream_set_name) and the receiver in logs.
 * The host's log, counters and error_set take the same `h`; so does
 * source_state (ABI 1.5): a function that connects to something reports
 * SL_SOURCE_CONNECTING/CONNECTED/DISCONNECTED itself (the engine cannot
 * tell), and is then checked as a socket is when the run ends. */
typedef int (*sl_receiver_func)(void *ud, sl_handle *h, sl_error *err);
SL_API sl_stream *sl_receiver_stream(sl_context *ctx, const char *name, sl_receiver_func start,
                                     void *ud);
/* Spark's KafkaUtils.createDirectStream: the `kafka` source over `topics`
 * (comma-separated) on `brokers` ("host:port,..."). `params` (NULL or
 * name/value pairs ending with NULL) adds the source's other parameters:
 * group, start, max_records_per_partition, record, ... (docs/kafka.md). */
SL_API sl_stream *sl_kafka_direct_stream(sl_context *ctx, const char *brokers, const char *topics,
                                         const char *const *params);
/* A ZeroMQ receiver (the `zmq` source, docs/zeromq.md): a socket of `type`
 * ("pull" or "sub") that connects to `connect` (comma-separated endpoints,
 * e.g. "tcp://127.0.0.1:5555"; NULL or "" when it only binds). `params`
 * (NULL or name/value pairs ending with NULL) adds the source's other
 * parameters: bind, subscribe, multipart, value_format, rcvhwm, curve, ... */
SL_API sl_stream *sl_zmq_stream(sl_context *ctx, const char *type, const char *connect,
                                const char *const *params);

/* ---- transformations ------------------------------------------------------------ */

/* A C function over a chunk, as a MAP component's process(). Called from the
 * worker threads concurrently with the same `ud` (and from the engine thread
 * for sl_transform_fn, which alone sees whole batches one at a time): keep
 * `ud` read-only or guard it. */
typedef int (*sl_map_func)(void *ud, const sl_chunk *in, sl_emitter *out, sl_error *err);
/* A C reduction: acc = acc (+) v. No zero: the first value starts the sum.
 * Called from the worker threads and the engine thread concurrently with the
 * same `ud`, each call on its own accumulator. */
typedef int (*sl_reduce_func)(void *ud, sl_value *acc, const sl_value *v, sl_mem *mem,
                              sl_error *err);

SL_API sl_stream *sl_map(sl_stream *s, const char *fn, const char *const *params);
SL_API sl_stream *sl_flat_map(sl_stream *s, const char *fn, const char *const *params);
SL_API sl_stream *sl_filter(sl_stream *s, const char *fn, const char *const *params);
SL_API sl_stream *sl_map_values(sl_stream *s, const char *fn, const char *const *params);
SL_API sl_stream *sl_flat_map_values(sl_stream *s, const char *fn, const char *const *params);
/* `fn` sees the whole batch as one chunk (SL_CHUNK_WHOLE_BATCH). */
SL_API sl_stream *sl_transform(sl_stream *s, const char *fn, const char *const *params);

SL_API sl_stream *sl_map_fn(sl_stream *s, sl_map_func fn, void *ud);
SL_API sl_stream *sl_flat_map_fn(sl_stream *s, sl_map_func fn, void *ud);
SL_API sl_stream *sl_filter_fn(sl_stream *s, sl_map_func fn, void *ud);
SL_API sl_stream *sl_map_values_fn(sl_stream *s, sl_map_func fn, void *ud);
SL_API sl_stream *sl_flat_map_values_fn(sl_stream *s, sl_map_func fn, void *ud);
SL_API sl_stream *sl_transform_fn(sl_stream *s, sl_map_func fn, void *ud);

/* Per batch, combine the values of each key: (k, v) -> (k, reduce(vs)). */
SL_API sl_stream *sl_reduce_by_key(sl_stream *s, const char *fn, const char *const *params);
SL_API sl_stream *sl_reduce_by_key_fn(sl_stream *s, sl_reduce_func fn, void *ud);
/* Per batch, one element: the reduction of all values (none if empty). */
SL_API sl_stream *sl_reduce(sl_stream *s, const char *fn, const char *const *params);
SL_API sl_stream *sl_reduce_fn(sl_stream *s, sl_reduce_func fn, void *ud);
/* Per batch, one element: the number of elements. */
SL_API sl_stream *sl_count(sl_stream *s);
/* Per batch, (element, n) for each distinct element; an element is the
 * value of a keyless record and the tuple (key, value) of a pair. */
SL_API sl_stream *sl_count_by_value(sl_stream *s);
/* The elements of both streams (of the same context). */
SL_API sl_stream *sl_union(sl_stream *a, sl_stream *b);
/* The same elements spread evenly over `n` partitions. */
SL_API sl_stream *sl_repartition(sl_stream *s, int n);

/* ---- windows -------------------------------------------------------------------- */

/* Spark's window operations. `window_ms` and `slide_ms` must be multiples of
 * the batch interval (slide 0 means the interval); a windowed stream
 * produces a batch only at the batch times that are multiples of its slide
 * (counted from the context's zero time, one interval before the first
 * batch), covering the parent's batches in (t - window, t]. Streams derived
 * from it, and its outputs, run at those times only. */
SL_API sl_stream *sl_window(sl_stream *s, int64_t window_ms, int64_t slide_ms);
/* One element per slide: the number of elements in the window. */
SL_API sl_stream *sl_count_by_window(sl_stream *s, int64_t window_ms, int64_t slide_ms);
/* One element per slide: the reduction of the window's values (none if empty). */
SL_API sl_stream *sl_reduce_by_window(sl_stream *s, const char *fn, const char *const *params,
                                      int64_t window_ms, int64_t slide_ms);
/* (k, reduce(values of k in the window)). Recomputed over the whole window
 * at every slide. */
SL_API sl_stream *sl_reduce_by_key_and_window(sl_stream *s, const char *fn,
                                              const char *const *params, int64_t window_ms,
                                              int64_t slide_ms);
/* The incremental form (Spark's reduceByKeyAndWindow with invFunc): the
 * previous window's result, plus the batches entering, minus (with the
 * reduction's inverse) the batches leaving. The reduction must have an
 * inverse. As in Spark, keys whose value falls to the zero stay unless
 * `filter` (a FILTER component, e.g. to keep counts > 0; NULL for none)
 * drops them. */
SL_API sl_stream *sl_reduce_by_key_and_window_inv(sl_stream *s, const char *fn,
                                                  const char *const *params, int64_t window_ms,
                                                  int64_t slide_ms, const char *filter,
                                                  const char *const *filter_params);
/* (element, n) for each distinct element of the window. */
SL_API sl_stream *sl_count_by_value_and_window(sl_stream *s, int64_t window_ms, int64_t slide_ms);
/* (k, [values of k in the window]). */
SL_API sl_stream *sl_group_by_key_and_window(sl_stream *s, int64_t window_ms, int64_t slide_ms);

/* ---- grouping and joins (per batch; over windows: join windowed streams) ---------- */

/* (k, [v1, v2, ...]) per distinct key of the batch, values in arrival order. */
SL_API sl_stream *sl_group_by_key(sl_stream *s);
/* (k, [v, w]) for every pair of a's (k, v) and b's (k, w). */
SL_API sl_stream *sl_join(sl_stream *a, sl_stream *b);
/* As join, plus (k, [v, None]) for a's keys that b lacks. */
SL_API sl_stream *sl_left_outer_join(sl_stream *a, sl_stream *b);
/* As join, plus (k, [None, w]) for b's keys that a lacks. */
SL_API sl_stream *sl_right_outer_join(sl_stream *a, sl_stream *b);
/* Left and right outer join together. */
SL_API sl_stream *sl_full_outer_join(sl_stream *a, sl_stream *b);
/* (k, [[a's values], [b's values]]) for every key of either. */
SL_API sl_stream *sl_cogroup(sl_stream *a, sl_stream *b);
/* Spark's transformWith: `fn` sees the whole batch of a and of b, on the
 * engine thread, one batch at a time. */
typedef int (*sl_transform2_func)(void *ud, const sl_chunk *a, const sl_chunk *b, sl_emitter *out,
                                  sl_error *err);
SL_API sl_stream *sl_transform_with(sl_stream *a, sl_stream *b, sl_transform2_func fn, void *ud);

/* ---- state ------------------------------------------------------------------------ */

/* A C update function, as an UPDATE component's update(): the key's values
 * of this batch (n may be 0) and its previous state (NULL if none) -> the
 * new state in *out (return 0), or SL_REMOVE to drop the key. Called from
 * the worker threads, one task per state partition, concurrently with the
 * same `ud` (each call on its own key). */
typedef int (*sl_update_func)(void *ud, const sl_value *key, const sl_value *values, size_t n,
                              const sl_value *state, sl_value *out, sl_mem *mem, sl_error *err);
/* The same with the batch's time in ms since the epoch (Spark's
 * updateStateByKey((time, values, state) => ...)); threads as above. */
typedef int (*sl_update_time_func)(void *ud, int64_t batch_time, const sl_value *key,
                                   const sl_value *values, size_t n, const sl_value *state,
                                   sl_value *out, sl_mem *mem, sl_error *err);

/* Spark's updateStateByKey: every batch, every key in the state or in the
 * batch gets update(values of this batch, previous state); the stream's
 * batch is every (key, state) after the update. `fn` is an UPDATE component,
 * or a REDUCE component (agg.sum ...), which then means
 * state = reduce(state, values) and keys are never removed. */
SL_API sl_stream *sl_update_state_by_key(sl_stream *s, const char *fn, const char *const *params);
SL_API sl_stream *sl_update_state_by_key_fn(sl_stream *s, sl_update_func fn, void *ud);
SL_API sl_stream *sl_update_state_by_key_time_fn(sl_stream *s, sl_update_time_func fn, void *ud);
/* Spark's mapWithState: for each (key, value) of a batch, in order, `fn`
 * (an UPDATE component with map()) reads and changes the key's state through
 * host->state_get/state_set/state_remove and emits what the mapping returns;
 * only keys with new data are called. With `timeout_ms` > 0, a key that got
 * no data for that long is called once more with value NULL
 * (host->state_timing_out true), then its state is removed. */
SL_API sl_stream *sl_map_with_state(sl_stream *s, const char *fn, const char *const *params,
                                    int64_t timeout_ms);
/* Change a map_with_state stream's idle timeout (before start). */
SL_API sl_stream *sl_stream_set_timeout(sl_stream *s, int64_t timeout_ms);
/* Spark's stateSnapshots: every (key, state) of a map_with_state stream
 * after each batch. */
SL_API sl_stream *sl_state_snapshots(sl_stream *mapped);
/* A custom stateful transformation: an OPERATOR component sees every whole
 * batch and keeps its own state (its snapshot/restore, or the engine's keyed
 * state through host->keyed_*), saved in checkpoints. */
SL_API sl_stream *sl_operator(sl_stream *s, const char *component, const char *const *params);

/* Bound the memory of a stateful stream's state (default: none): of
 * update_state_by_key, map_with_state, and an operator's keyed state. A batch
 * that would exceed it fails with an error naming the stream and the limit. */
SL_API sl_stream *sl_stream_set_state_limit(sl_stream *s, size_t bytes);
/* Start a stateful stream's state from a JSON Lines file of
 * {"key": K, "value": STATE} objects (used when no checkpoint is resumed). */
SL_API sl_stream *sl_stream_set_initial_state(sl_stream *s, const char *path);
/* The same from a stream (Spark's initialRDD): the (key, state) pairs of
 * `initial`'s first batch. `initial` must belong to the same context. */
SL_API sl_stream *sl_stream_set_initial_state_stream(sl_stream *s, sl_stream *initial);

/* ---- checkpoints --------------------------------------------------------------------- */

/* Checkpoint into `dir` (created if missing): at every checkpoint interval,
 * and when the pipeline stops, the engine writes the graph's fingerprint,
 * every replayable source's position and every stateful stream's state.
 * On start, a context with a checkpoint in `dir` resumes from the newest
 * intact one (Spark's StreamingContext.getOrCreate). */
SL_API int sl_context_checkpoint(sl_context *ctx, const char *dir);
/* Default: the smallest multiple of the batch interval that is at least
 * 10 s (Spark's default for stateful streams). */
SL_API int sl_context_set_checkpoint_interval(sl_context *ctx, int64_t ms);
/* Checkpoints kept (default 3): a damaged newest one falls back to the next. */
SL_API int sl_context_set_checkpoint_keep(sl_context *ctx, int keep);
/* Ignore (and replace) any checkpoint in the directory: start over. */
SL_API int sl_context_set_fresh(sl_context *ctx, int fresh);
/* The receiver write-ahead log (default off; Spark's
 * receiver.writeAheadLog.enable): every record a receiver (socket) stores
 * is logged in the checkpoint directory before store() returns, and the
 * records that no checkpoint covers are replayed after a restart. Needs
 * sl_context_checkpoint (the start fails without). docs/receiver-wal.md. */
SL_API int sl_context_set_receiver_wal(sl_context *ctx, int on);
/* Bytes each receiver's log may hold (default 1 GiB, at least 1 MiB): at
 * the bound the receiver stops reading until a checkpoint covers its
 * oldest segment. */
SL_API int sl_context_set_receiver_wal_max(sl_context *ctx, size_t bytes);
/* 0 (default): fsync the log before each store() returns; ms > 0: fsync
 * at most ms late, and at every batch. */
SL_API int sl_context_set_receiver_wal_sync(sl_context *ctx, int64_t ms);

/* Name a stream (names appear in logs, graphs and, later, checkpoints).
 * Unique within the context; returns `s`, or NULL on error. */
SL_API sl_stream *sl_stream_set_name(sl_stream *s, const char *name);
/* The stream's name: the context's string, valid until the stream is
 * renamed or the context freed; do not free it. */
SL_API const char *sl_stream_name(const sl_stream *s);
/* Number of partitions of a shuffle (reduce_by_key, count_by_value);
 * default: the number of workers. Returns `s`, or NULL on error. */
SL_API sl_stream *sl_stream_set_partitions(sl_stream *s, int n);
/* The stream's context. */
SL_API sl_context *sl_stream_context(const sl_stream *s);

/* ---- outputs -------------------------------------------------------------------- */

/* Print the first `num` elements of every batch, as PySpark's pprint. */
SL_API int sl_pprint(sl_stream *s, int num);
/* Send every batch to a SINK component, e.g. sl_output(s, "jsonl", ...). The
 * output is named "output-N" (N counted from 1 in definition order) in
 * `sluice graph`, logs and metrics. */
SL_API int sl_output(sl_stream *s, const char *sink, const char *const *params);
/* sl_output with a name of its own (NULL: "output-N"): 1 to 100 characters
 * without control characters, unique among the streams and outputs, and not
 * of the form "output-N", which unnamed outputs use. */
SL_API int sl_output_named(sl_stream *s, const char *name, const char *sink,
                           const char *const *params);
/* Write every batch to the Kafka `topic` on `brokers` (the `kafka` sink); a
 * batch completes when the broker acknowledged every record. `params`: NULL
 * or more name/value pairs (idempotent, delivery_timeout, properties,
 * headers as name=value lines, record: "full" to write the value and
 * headers of records of the source's full shape; docs/kafka.md). */
SL_API int sl_kafka_output(sl_stream *s, const char *brokers, const char *topic,
                           const char *const *params);
/* Send every record as a ZeroMQ message (the `zmq` sink): a socket of
 * `type` ("push" or "pub") that connects to `connect` (NULL or "" when it
 * only binds). `params`: NULL or more name/value pairs (bind, topic,
 * sndhwm, on_full, send_timeout, linger, curve, ...; docs/zeromq.md). */
SL_API int sl_zmq_output(sl_stream *s, const char *type, const char *connect,
                         const char *const *params);
/* Spark's foreachRDD: `fn` gets every batch's records (engine-owned, valid
 * for the call) on the engine thread, one batch at a time (never
 * concurrently). Return 0 or a negative SL_E* code. */
typedef int (*sl_batch_func)(void *ud, int64_t batch_time, const sl_record *recs, size_t n,
                             sl_error *err);
SL_API int sl_foreach_batch(sl_stream *s, sl_batch_func fn, void *ud);
/* foreachRDD's rdd.foreach: `fn` gets each record of every batch in turn,
 * with the batch time, on the engine thread (never concurrently), without
 * the batch being gathered first. A negative return fails the batch (and
 * the run) with err's message; the batch's later records are not given. */
typedef int (*sl_record_func)(void *ud, int64_t batch_time, const sl_record *rec, sl_error *err);
SL_API int sl_foreach(sl_stream *s, sl_record_func fn, void *ud);

/* The host's function table (sluice/plugin.h's sl_host): the same helpers
 * plugins get — error_set, log (with the sl_handle a receiver is given, or
 * NULL for an unprefixed line), value_format, json_parse, value_compare,
 * value_copy, mem_new ... — for the program's own callbacks. Static. */
SL_API const sl_host *sl_host_api(void);

/* ---- running -------------------------------------------------------------------- */

/* Per-batch figures, as Spark's BatchInfo. Times in ms. */
typedef struct sl_batch_info {
    int64_t batch_time;
    int64_t records;          /* input records of the batch, all sources */
    int64_t bytes;            /* input bytes (record values and keys) */
    int64_t scheduling_delay; /* batch time -> processing start */
    int64_t processing_time;  /* processing start -> end, outputs included */
    int64_t total_delay;      /* batch time -> end */
} sl_batch_info;

/* Called on the engine thread after every batch that succeeded, one call
 * at a time; `info` is valid for the call. The simplest listener: one per
 * context (setting another replaces it, NULL removes it), registered with
 * sl_context_add_listener for SL_EVENT_BATCH_COMPLETED underneath, under
 * the same rules. */
typedef void (*sl_batch_listener)(void *ud, const sl_batch_info *info);
SL_API int sl_context_set_batch_listener(sl_context *ctx, sl_batch_listener fn, void *ud);

/* ---- listeners ----------------------------------------------------------------- */

/* Listeners: Spark's StreamingListener (docs/embedding.md, "Listeners").
 * A context has any number of listeners; each is one function that gets
 * the events its mask asks for, as an sl_event: a kind and the payload of
 * that kind.
 *
 * Batches: SUBMITTED once the scheduler has taken the batch's input (its
 * record counts are known), STARTED when its processing starts (sluice has
 * no job queue: right after), COMPLETED when its outputs have run, or when
 * it failed (`error` set; the run then stops). Between STARTED and
 * COMPLETED, each output that runs at this batch time (a windowed stream's
 * outputs run only at its slide) gets OUTPUT_STARTED and OUTPUT_COMPLETED,
 * in definition order. CHECKPOINT_WRITTEN follows the COMPLETED of the batch
 * it covers (or reports why writing failed). Receivers (socket, ZeroMQ,
 * sl_receiver_stream): RECEIVER_STARTED when the receiver's thread starts,
 * RECEIVER_ERROR for each error it reports without stopping (a warning or
 * error it logs, such as "cannot connect ...; retrying", or a restart of an
 * sl_receiver_stream function), RECEIVER_STOPPED when it has stopped, with
 * the reason when it failed.
 *
 * Threads: batch, output and checkpoint events are delivered on the
 * engine's scheduler thread, in order, as they happen; receiver events on
 * that receiver's own thread. A context delivers one event at a time (calls
 * never overlap, whatever the thread), to its listeners in the order they
 * were added: a listener needs no lock of its own for state that only its
 * callbacks touch. A callback runs inside the batch: it must return quickly
 * (copy what it needs and hand slow work to a thread of its own); it must
 * not block on the engine, and must call no sluice function on `ev->ctx`
 * except these read-only or asynchronous ones: sl_context_last_batch,
 * sl_context_batches_done, sl_context_stream_count,
 * sl_context_output_count, sl_stream_name and sl_context_request_stop.
 * sl_context_add_listener and sl_context_remove_listener from inside a
 * callback are refused (SL_ESTATE) instead of deadlocking.
 *
 * Cost: with no listener asking for an event kind, that event costs one
 * relaxed atomic load at the place it would happen.
 *
 * ABI: `size` is sizeof(sl_event) as the library was built. Structs only
 * grow at their end; a listener built against a newer header than the
 * library it runs with checks `ev->size` before reading a field added
 * later. Listeners ignore kinds they do not know. */
typedef enum sl_event_kind {
    SL_EVENT_BATCH_SUBMITTED = 1,
    SL_EVENT_BATCH_STARTED = 2,
    SL_EVENT_BATCH_COMPLETED = 3,
    SL_EVENT_OUTPUT_STARTED = 4,
    SL_EVENT_OUTPUT_COMPLETED = 5,
    SL_EVENT_RECEIVER_STARTED = 6,
    SL_EVENT_RECEIVER_ERROR = 7,
    SL_EVENT_RECEIVER_STOPPED = 8,
    SL_EVENT_CHECKPOINT_WRITTEN = 9
} sl_event_kind;

/* The mask bit of one kind, to or together; SL_EVENT_ALL asks for all. */
#define SL_EVENT_MASK(kind) (1u << (kind))
#define SL_EVENT_ALL 0xffffffffu

/* One source's input in a batch. */
typedef struct sl_source_input {
    const char *stream; /* the source stream's name */
    int64_t records;
    int64_t bytes; /* record keys and values */
} sl_source_input;

/* A batch (Spark's BatchInfo). Times are ms since the epoch on the
 * context's clock: with the manual clock, processing starts at the batch
 * time itself and the clock then runs as the wall clock does. A figure not
 * known yet at an event is -1. */
typedef struct sl_batch_event {
    int64_t batch_time;
    int64_t records;                /* input records, all sources */
    int64_t bytes;                  /* input bytes, all sources */
    size_t nsources;                /* every source stream, in definition order */
    const sl_source_input *sources; /* [nsources], valid for the call */
    int64_t submission_time;        /* its input was taken */
    int64_t processing_start;
    int64_t processing_end;   /* COMPLETED */
    int64_t scheduling_delay; /* batch time -> processing start (a backlog) */
    int64_t processing_time;  /* processing start -> end, outputs included; COMPLETED */
    int64_t total_delay;      /* batch time -> end; COMPLETED */
    const char *error;        /* COMPLETED: why the batch failed; NULL if it succeeded */
} sl_batch_event;

/* An output operation of a batch. */
typedef struct sl_output_event {
    int64_t batch_time;
    int index;           /* 0-based, in definition order */
    const char *name;    /* "output-N" (N = index + 1) or its own (sl_output_named) */
    const char *stream;  /* the stream it writes */
    const char *sink;    /* the sink component ("jsonl"; "foreach_batch" for C callbacks) */
    int64_t records;     /* records handed to the sink */
    int64_t start_time;  /* ms, on the context's clock */
    int64_t end_time;    /* COMPLETED; -1 before */
    int64_t duration_us; /* COMPLETED: start -> end, in microseconds; -1 before */
    const char *error;   /* COMPLETED: why it failed (the batch fails too); NULL if it succeeded */
} sl_output_event;

/* A receiver (a source that receives on its own thread). */
typedef struct sl_receiver_event {
    const char *stream; /* the source stream's name */
    const char *source; /* its component ("socket", "zmq", "receiver_stream") */
    const char *error;  /* ERROR: what it reported; STOPPED: why it failed, NULL if it did not */
    int code;           /* STOPPED: 0, SL_EOF (its input ended) or the failure's SL_E* code */
} sl_receiver_event;

/* A checkpoint written after a batch (or an attempt that failed). */
typedef struct sl_checkpoint_event {
    int64_t batch_time;  /* the batch it covers */
    const char *path;    /* the checkpoint file */
    int64_t bytes;       /* the file's size (0 if it failed) */
    int64_t duration_us; /* writing it, fsyncs included */
    const char *error;   /* why it failed (the run then fails); NULL if written */
} sl_checkpoint_event;

/* An event. Everything it points to is valid for the call only. */
typedef struct sl_event {
    size_t size;        /* sizeof(sl_event) in the library: see "ABI" above */
    sl_event_kind kind; /* which member of the union is set */
    sl_context *ctx;    /* the context: for the read-only calls listed above */
    union {
        sl_batch_event batch;           /* SL_EVENT_BATCH_* */
        sl_output_event output;         /* SL_EVENT_OUTPUT_* */
        sl_receiver_event receiver;     /* SL_EVENT_RECEIVER_* */
        sl_checkpoint_event checkpoint; /* SL_EVENT_CHECKPOINT_WRITTEN */
    } u;
} sl_event;

typedef void (*sl_listener_func)(void *user, const sl_event *ev);

/* Add a listener for the event kinds in `mask` (SL_EVENT_MASK(kind)s or
 * together, or SL_EVENT_ALL), before or while the context runs, from any
 * thread but a listener's callback. `user` is passed back as is and stays
 * the caller's. Returns the listener's id (> 0), or SL_EINVAL (no fn, or a
 * mask of no kind), SL_ENOMEM, or SL_ESTATE (called from a callback). */
SL_API int sl_context_add_listener(sl_context *ctx, uint32_t mask, sl_listener_func fn, void *user);
/* Remove a listener. Once this returns, its callback is not running and
 * will not be called again: `user` may be freed. Returns 0, SL_ENOTFOUND
 * (no such id) or SL_ESTATE (called from a callback). */
SL_API int sl_context_remove_listener(sl_context *ctx, int id);

/* Check the graph, load and create every component, start receivers and the
 * scheduler thread. Returns 0 or the first error (see sl_context_errmsg). */
SL_API int sl_context_start(sl_context *ctx);
/* Wait until the context terminates: stopped, all sources ended, the batch
 * limit reached, or a failure. Returns 0, or the failure's SL_E* code. */
SL_API int sl_context_await_termination(sl_context *ctx);
/* As above, for at most `timeout_ms`; returns 1 if terminated, 0 on timeout
 * (the context keeps running), or a negative code on failure. */
SL_API int sl_context_await_termination_or_timeout(sl_context *ctx, int64_t timeout_ms);
/* Ask to stop: the batch in progress completes. Safe from a signal handler. */
SL_API void sl_context_request_stop(sl_context *ctx);
/* Request a stop and wait for it. Returns as await_termination does. */
SL_API int sl_context_stop(sl_context *ctx);

/* Figures of the last completed batch; SL_ENOTFOUND before the first. */
SL_API int sl_context_last_batch(const sl_context *ctx, sl_batch_info *out);
/* Number of streams and outputs defined so far. */
SL_API size_t sl_context_stream_count(const sl_context *ctx);
SL_API size_t sl_context_output_count(const sl_context *ctx);

/* Batches completed so far. */
SL_API int64_t sl_context_batches_done(const sl_context *ctx);

/* Sources that report their connection state (plugin.h's host->source_state:
 * socket, zmq, kafka) and never reached CONNECTED or ASSIGNED during the
 * run. When a run ends the engine logs each of them as an ERROR ("source
 * 'lines' (socket) never connected to 127.0.0.1:9999: connection refused
 * (12 attempts)"), and `sluice run` then exits 1: a pipeline that never got
 * its input did not succeed. 0 before the start. */
SL_API int sl_context_sources_never_connected(const sl_context *ctx);

/* ---- settings by name -------------------------------------------------------- */

/* The engine's settings — the top level of a YAML pipeline (docs/config.md):
 * batch_interval, workers, clock, receiver_buffer, early_combine,
 * plugin_path, checkpoint, checkpoint_interval, checkpoint_keep — as a
 * parameter schema like a plugin's (type, default, range, doc), terminated
 * by a NULL name. Static: do not free. `sluice plugins` lists it. */
SL_API const sl_param_spec *sl_settings_schema(void);
/* Set one setting from its text, validated against sl_settings_schema()
 * exactly as a plugin parameter is (so "early_combine", "yes" works, and
 * "workers", "-1" is refused naming the range), then applied through the
 * setter above it stands for (plugin_path adds one directory;
 * batch_interval only before the first stream). Returns 0 or a negative
 * SL_E* code; sl_context_errmsg says why, starting with the setting's name. */
SL_API int sl_context_set(sl_context *ctx, const char *name, const char *value);

/* Create and destroy every component instance of the graph — sources,
 * functions, sinks — without starting anything (a source's create does not
 * connect), after checking the graph as sl_context_graph does: what
 * sl_context_start would refuse about a component fails here. Returns 0 or
 * the first error; its message names the stream or output ("stream 'lines'
 * (socket): ..."), and sl_context_errstream() returns that name. */
SL_API int sl_context_check(sl_context *ctx);
/* When the last error concerns one stream or output, its name (an output's
 * is "output-N", N counted from 1 in definition order); else NULL. */
SL_API const char *sl_context_errstream(const sl_context *ctx);

/* ---- configuration files ------------------------------------------------------ */

/* The largest configuration file (or string) the loader reads: 16 MiB. A
 * larger one (or a device such as /dev/zero) is refused with
 * "FILE: the file is larger than 16 MiB ..." before it is parsed. */
#define SL_CONFIG_MAX_SIZE (16u << 20)

/* Build a context from a YAML pipeline (docs/config.md) through this same
 * API. `plugin_dirs` (NULL-terminated, may be NULL) are added before the
 * graph is built. On failure returns NULL and writes
 * "file:line:col: what was expected" into err (errcap bytes). */
SL_API sl_context *sl_config_load_file(const char *path, const char *const *plugin_dirs, char *err,
                                       size_t errcap);
/* The same from a string; `name` stands for the file name in errors. */
SL_API sl_context *sl_config_load_string(const char *text, size_t len, const char *name,
                                         const char *const *plugin_dirs, char *err, size_t errcap);
/* As sl_config_load_file, then sl_context_check, reporting a component that
 * cannot be created at its stream's or output's line, with the stream's
 * name: what `sluice validate` does. */
SL_API sl_context *sl_config_check_file(const char *path, const char *const *plugin_dirs, char *err,
                                        size_t errcap);
/* The same from a string (`sluice validate -`). */
SL_API sl_context *sl_config_check_string(const char *text, size_t len, const char *name,
                                          const char *const *plugin_dirs, char *err, size_t errcap);

/* ---- introspection -------------------------------------------------------------- */

typedef enum sl_graph_format { SL_GRAPH_TEXT = 0, SL_GRAPH_DOT = 1 } sl_graph_format;

/* The DStream graph as text or Graphviz DOT, in a string the caller
 * releases with sl_free(). Returns NULL on error. Validates the graph first. */
SL_API char *sl_context_graph(sl_context *ctx, sl_graph_format format);

/* Every plugin found in the plugin directories with its components and
 * their parameter schemas, as text or JSON, in a string the caller releases
 * with sl_free(). Plugins that fail to load are listed with the reason. */
SL_API char *sl_context_describe_plugins(sl_context *ctx, int json);

/* Look up a component (loading its plugin) and return its descriptor, or
 * NULL with the context's error set. The descriptor lives as long as ctx. */
SL_API const sl_component *sl_context_component(sl_context *ctx, const char *ref, int kind);

/* Parse a duration as the config and CLI accept it: "250ms", "5s", "2m",
 * "1h", or a bare number of seconds ("0.5"). Returns 0 or SL_EINVAL. */
SL_API int sl_parse_duration(const char *text, int64_t *ms);
/* Parse a size: "512", "64KiB", "1MiB", "2GiB", "10KB"/"10MB"/"10GB"
 * (powers of 1000), "1k"/"1m"/"1g" (powers of 1024). Returns 0 or SL_EINVAL. */
SL_API int sl_parse_size(const char *text, uint64_t *bytes);

/* Parse a point in time as the `start_time` setting and `--start-time`
 * take it: milliseconds since the epoch ("0", "1767225600000"), an ISO-8601
 * UTC time "YYYY-MM-DDTHH:MM:SS[.fff]Z" (1970 to 9999), or "now" (which
 * gives SL_START_NOW). Returns 0 or SL_EINVAL. */
SL_API int sl_parse_time(const char *text, int64_t *ms);

/* Parse a boolean as parameters and settings take it: true/false, yes/no,
 * on/off, 1/0 (any case). Returns 0 (*on set to 1 or 0) or SL_EINVAL. */
SL_API int sl_parse_bool(const char *text, int *on);

/* The text of an SL_E* code ("invalid argument"): a static string. */
SL_API const char *sl_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* SLUICE_SLUICE_H */

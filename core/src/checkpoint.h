/*
 * checkpoint.h — the checkpoint file format and store (engine-internal).
 *
 * Three layers, each usable on its own:
 *
 *   1. Byte buffers and bounds-checked readers (sl__buf, sl__reader):
 *      little-endian fixed-width integers, LEB128 varints, zigzag varints and
 *      length-prefixed byte strings. The engine builds section payloads with
 *      them.
 *   2. A compact binary codec for sl_value (sl__value_encode/_decode).
 *   3. The checkpoint store: one file per checkpointed batch time in a
 *      directory, written atomically (temp file, fsync, rename, directory
 *      fsync), each file a list of named sections protected by CRC32C, with
 *      retention of the newest K files and fallback to the newest intact one
 *      on load.
 *
 * The byte layout is documented at the top of checkpoint.c and in
 * docs/checkpoints.md. Nothing here crosses the plugin ABI.
 *
 * Threads: every function is safe to call from any thread on distinct
 * objects; a writer, reader or buffer is used by one thread at a time. Only
 * one writer may be active per directory at a time (the engine's invariant:
 * checkpoints are written in batch order by the scheduler).
 */
#ifndef SLUICE_CHECKPOINT_H
#define SLUICE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>
#include <sluice/record.h>

#define SL__CKPT_VERSION 2     /* the format version this engine writes (and the newest it reads) */
#define SL__CKPT_MIN_VERSION 1 /* the oldest it reads: 2 added "receiver_wal/<stream>" */
#define SL__CKPT_MAX_NAME 1024 /* longest section name, in bytes */
#define SL__CKPT_MAX_TIME 999999999999999LL /* 15 decimal digits in the file name */

/* ---- writing a checkpoint ------------------------------------------------------------- */

typedef struct sl__ckpt_writer sl__ckpt_writer;

/* Start the checkpoint of `batch_time` (0..SL__CKPT_MAX_TIME) in `dir`,
 * creating the directory and its parents if missing (mode 0755), and open
 * the temp file ".checkpoint-<time>.tmp-<pid>" (mode 0600) in it. On success
 * *w is a writer the caller must end with sl__ckpt_commit or sl__ckpt_abort.
 * Returns 0, SL_EINVAL (bad argument), SL_ENOMEM or SL_EIO (err names the
 * path and the system's reason). */
int sl__ckpt_begin(const char *dir, int64_t batch_time, sl__ckpt_writer **w, sl_error *err);
/* Add the section `name` (1..SL__CKPT_MAX_NAME bytes, unique within the
 * checkpoint) with `len` bytes at `data`. The bytes are written to the temp
 * file before this returns (through a small staging buffer): the caller may
 * reuse them at once, and a checkpoint never holds a second copy of the
 * state in memory. Returns 0, SL_EINVAL, SL_ENOMEM or SL_EIO. After an
 * error the writer is failed: commit returns the error; either way the
 * caller still ends it with commit or abort. */
int sl__ckpt_section(sl__ckpt_writer *w, const char *name, const void *data, size_t len,
                     sl_error *err);
/* Finish the file (header, footer), fsync it, rename it to
 * "checkpoint-<time>.slck", fsync the directory; then apply retention: keep
 * the newest `keep` (>= 1) intact checkpoints up to this one, delete older
 * ones, every checkpoint newer than this one (left by an earlier run whose
 * timeline the engine has abandoned) and every stale temp file. Retention
 * problems are logged, not returned: the checkpoint is durable by then.
 * Always frees w (and removes the temp file on failure). Returns 0,
 * SL_EINVAL (keep < 1; nothing is written), SL_ENOMEM or SL_EIO. */
int sl__ckpt_commit(sl__ckpt_writer *w, int keep, sl_error *err);
/* Give up: remove the temp file and free w. NULL is a no-op. */
void sl__ckpt_abort(sl__ckpt_writer *w);

/* ---- reading checkpoints ------------------------------------------------------------------ */

/* One section of a loaded checkpoint. */
typedef struct sl__ckpt_sec {
    char *name;          /* NUL-terminated; owned by the sl__ckpt */
    const uint8_t *data; /* points into the sl__ckpt's file image */
    size_t len;
} sl__ckpt_sec;

/* A loaded, verified checkpoint. Everything in it is owned by it and freed
 * by sl__ckpt_free. */
typedef struct sl__ckpt {
    int64_t batch_time;
    uint32_t version; /* the file's format version */
    char *path;       /* the file it came from */
    size_t n;         /* sections, in the order they were written */
    sl__ckpt_sec *sec;
    uint8_t *image; /* every payload, one after the other; section data points into it */
    size_t image_len;
} sl__ckpt;

/* Load the newest intact checkpoint in dir. Every newer file that is
 * damaged (bad magic, unsupported version, CRC mismatch, truncated, ...) or
 * too large for the memory this process may use is
 * skipped with a WARN log naming the file and the reason. Temp files are
 * never considered. Returns 0 with *out filled (release it with
 * sl__ckpt_free), SL_ENOTFOUND if dir does not exist or holds no intact
 * checkpoint (err says which, and how many files were skipped), SL_ENOMEM or
 * SL_EIO (the directory cannot be read). *out is zeroed on failure. */
int sl__ckpt_load_latest(const char *dir, sl__ckpt *out, sl_error *err);
/* Load and verify one file (any name; the batch time in the header must
 * match the name when the name is a checkpoint name): header and footer
 * first, then the size against the memory this process may use, then every
 * section's lengths and CRC by streaming it (64 KiB at a time), and only
 * then the payloads into memory. Returns 0, SL_EINVAL (damaged: err says
 * why), SL_ELIMIT (larger than the memory the process may use), SL_ENOTFOUND,
 * SL_ENOMEM or SL_EIO. sl__ckpt_load_latest skips every failure but
 * SL_ENOMEM. */
int sl__ckpt_load_file(const char *path, sl__ckpt *out, sl_error *err);
/* The payload of section `name` and its length, or NULL if there is none. */
const uint8_t *sl__ckpt_find(const sl__ckpt *c, const char *name, size_t *len);
/* Free everything c owns and zero it. NULL or a zeroed c is a no-op. */
void sl__ckpt_free(sl__ckpt *c);
/* Override the memory bound of sl__ckpt_load_file (the lowest of physical
 * memory, RLIMIT_AS, RLIMIT_DATA and the cgroup's memory.max) with `bytes`;
 * 0 restores it. Process-wide; for tests. */
void sl__ckpt_set_load_limit(uint64_t bytes);
/* The batch times of the checkpoint files in dir (by name, not verified),
 * newest first, in *times (malloc'd, caller frees; NULL when *n is 0).
 * Returns 0, SL_ENOTFOUND (no such directory), SL_ENOMEM or SL_EIO. */
int sl__ckpt_list(const char *dir, int64_t **times, size_t *n, sl_error *err);
/* The file name of the checkpoint of batch time t ("checkpoint-%015lld.slck")
 * into buf; returns what snprintf returns. */
int sl__ckpt_file_name(int64_t t, char *buf, size_t cap);

/* ---- one writer per directory ------------------------------------------------------------ */

/* Take an exclusive lock on dir (creating it if missing) for as long as the
 * engine uses it, so that two processes never write, prune or load each
 * other's checkpoints: flock(2) on the directory itself (an open
 * descriptor, so deleting a file cannot release it); "dir/.lock" holds the
 * owner's pid, only for the error message. *fd receives the lock; release it with
 * sl__ckpt_unlock (or by exiting: the kernel drops it if the process dies).
 * Returns 0, SL_ESTATE (held by another process, or another open in this
 * one; err says which pid), SL_EINVAL, SL_ENOMEM or SL_EIO. */
int sl__ckpt_lock(const char *dir, int *fd, sl_error *err);
void sl__ckpt_unlock(int fd);

#endif /* SLUICE_CHECKPOINT_H */

/*
 * wal.h — the receiver write-ahead log (wal.c): what a receiver took from a
 * peer that cannot replay, on disk before it counts as received.
 *
 * A log is a directory of segments "wal-<first ordinal, 20 digits>.log".
 * Every record a receiver stores gets an ordinal (0, 1, 2, ... across
 * restarts); one log record holds the records of one store() call, with the
 * ordinal of the first. A checkpoint saves the ordinal its batch covers up
 * to; a restart replays the records from there (sl__wal_recover), and
 * segments whose records every kept checkpoint covers are deleted
 * (sl__wal_trim). The byte layout is at the top of wal.c and in
 * docs/receiver-wal.md.
 *
 * Threads: one thread appends (the receiver's); trim, sync_due and stats
 * may be called from another (the scheduler's) at the same time: the log
 * has its own lock. recover is called once, before the first append.
 */
#ifndef SLUICE_WAL_H
#define SLUICE_WAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>
#include <sluice/record.h>

#include "codec.h"

#define SL__WAL_VERSION 1
#define SL__WAL_HEADER 20     /* segment header: magic, version, first ordinal, CRC */
#define SL__WAL_REC_HEADER 12 /* record header: length, payload CRC, header CRC */
#define SL__WAL_DEFAULT_MAX ((size_t)1 << 30)
#define SL__WAL_SEGMENT_MAX ((size_t)16 << 20)

#define SL__WAL_SUBDIR "receiver-wal" /* in the checkpoint directory: one folder per stream */

typedef struct sl__wal sl__wal;

/* The log directory of stream `stream` under checkpoint directory `ckpt`:
 * "<ckpt>/receiver-wal/<stream>", every byte of the name outside
 * [A-Za-z0-9._-] written as %XX (and a leading '.' too). Returns 0, or
 * SL_ELIMIT when it does not fit in cap. */
int sl__wal_dir_for(const char *ckpt, const char *stream, char *buf, size_t cap);
/* Remove every log under checkpoint directory `ckpt` (sluice run --fresh):
 * the segment files and their folders. Returns how many segments were
 * removed, or SL_EIO (err names the file). */
int sl__wal_remove_all(const char *ckpt, sl_error *err);

typedef struct sl__wal_opts {
    size_t max_bytes;     /* bound on the segments' total size (0: SL__WAL_DEFAULT_MAX) */
    size_t segment_bytes; /* rotate beyond this (0: max_bytes / 8, at most 16 MiB) */
    int64_t sync_ms;      /* 0: fsync every append; > 0: at most this late (and each tick) */
    const char *name;     /* the stream, for log lines and errors */
} sl__wal_opts;

/* Called with the records of one log record whose ordinals reach `from`:
 * recs[0] has ordinal `first`. The records (and their bytes) are valid
 * during the call only. Return 0, or a negative SL_E* code to stop. */
typedef int (*sl__wal_visit)(void *ud, uint64_t first, const sl_record *recs, size_t n,
                             sl_error *err);

/* Open (creating if missing, with its parents) the log in dir. Reads the
 * segments' names only; call sl__wal_recover before appending. Returns 0
 * with *out (free with sl__wal_close), SL_ENOMEM or SL_EIO. */
int sl__wal_open(const char *dir, const sl__wal_opts *o, sl__wal **out, sl_error *err);
/* Read every segment, oldest first: truncate a torn tail of the newest one
 * (with a WARN naming the file and the offset); stop at a corrupt record of
 * any one (an ERROR naming the file and the offset; the next segment goes
 * on); call fn for the records whose ordinal is >= from. Afterwards
 * appends continue at the larger of `from` and the ordinal after the last
 * intact record. Returns 0, the visitor's code, SL_ENOMEM or SL_EIO. */
int sl__wal_recover(sl__wal *w, uint64_t from, sl__wal_visit fn, void *ud, sl_error *err);
/* Log recs[0..n) as one record; *first gets the ordinal of recs[0]. Waits
 * while the log is at its bound (backpressure) until a trim makes room or
 * *stop is set (then it goes over the bound: the records were taken).
 * Returns 0 once the record is written (and fsynced, with sync_ms 0), or
 * SL_EIO / SL_ENOMEM / SL_ELIMIT / SL_ESTATE (err says why); after an I/O
 * error the log refuses further appends. */
int sl__wal_append(sl__wal *w, const sl_record *recs, size_t n, const atomic_bool *stop,
                   uint64_t *first, sl_error *err);
/* With sync_ms > 0: fsync what was appended since the last fsync. */
void sl__wal_sync_due(sl__wal *w);
/* Delete every segment whose records all have ordinals below `covered`
 * (the active one too, when it is wholly covered), and wake an append
 * waiting for room. Returns the number of segments deleted. */
int sl__wal_trim(sl__wal *w, uint64_t covered);

typedef struct sl__wal_stats {
    uint64_t first;           /* oldest ordinal still in the log */
    uint64_t next;            /* the ordinal the next append gets */
    uint64_t bytes;           /* the segments' total size */
    size_t segments;          /* segment files */
    int64_t appended_records; /* since open */
    int64_t replayed_records; /* handed to the visitor by recover */
    int64_t blocked_ms;       /* appends waited at the bound */
    int64_t deleted_segments; /* by trim, since open */
    int64_t truncated_bytes;  /* torn tails cut by recover */
    int64_t corrupt_segments; /* segments whose replay stopped at a corrupt record */
} sl__wal_stats;

void sl__wal_stats_get(sl__wal *w, sl__wal_stats *st);
/* The log's directory (owned by w). */
const char *sl__wal_dir(const sl__wal *w);
/* fsync what is pending, close and free. NULL is a no-op. */
void sl__wal_close(sl__wal *w);

/* ---- the reader of one segment: bytes in, records out (fuzz entry) -------------- */

enum { SL__WAL_CLEAN = 0, SL__WAL_TORN = 1, SL__WAL_CORRUPT = 2 };

typedef struct sl__wal_scan {
    int status;     /* CLEAN: every byte read; TORN: a cut-short tail at `end`; CORRUPT */
    size_t end;     /* offset after the last intact record (0: no intact header) */
    uint64_t first; /* the header's first ordinal */
    uint64_t next;  /* the ordinal after the last intact record */
    uint64_t nrec;  /* intact log records */
    char why[160];  /* TORN / CORRUPT: what is wrong at `end` */
} sl__wal_scan;

/* Parse the segment image img[0..len): check the header and each record
 * (lengths against what is left, CRC32C, ordinals in sequence, the records'
 * encoding) and call fn (may be NULL) for the records whose ordinal is >=
 * from. Never trusts a length; allocates at most a few times the bytes of
 * one record. A damaged record at the very end (a partial header, a length
 * past the end, a CRC mismatch in the last record, zeros to the end) is
 * TORN; anything else damaged is CORRUPT. Returns 0 (res says what was
 * found), SL_ENOMEM, or fn's code. */
int sl__wal_scan_bytes(const uint8_t *img, size_t len, uint64_t from, sl__wal_visit fn, void *ud,
                       sl__wal_scan *res, sl_error *err);
/* Encode one segment header / one log record (for the writer and for tests
 * and fuzz seeds that build segments by hand). */
void sl__wal_header_encode(uint8_t h[SL__WAL_HEADER], uint64_t first);
int sl__wal_record_encode(sl__buf *out, uint64_t first, const sl_record *recs, size_t n);

#endif /* SLUICE_WAL_H */

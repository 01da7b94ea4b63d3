/*
 * ops/state.c — update_state_by_key, map_with_state and state_snapshots:
 * per-key state across batches, in the engine's state store (state.c).
 *
 * The state of a stream lives in a state store (state.c) split into
 * partitions by key hash (sl__state_partition_of). Each batch:
 *   1. the input's pairs are dealt into those partitions (one pass);
 *   2. per partition, in parallel: the batch's values are grouped by key (or
 *      reduced, for a REDUCE function); every key in the state gets
 *      update(its values or none, its state), then every new key gets
 *      update(its values, none); the function may drop a key (SL_REMOVE);
 *   3. the stream's batch is every (key, state) of the store.
 * This is Spark's updateStateByKey: the function sees every key, every batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "codec.h"
#include "context.h"
#include "error.h"
#include "log.h"
#include "state.h"
#include "state_handle.h"
#include "table.h"
#include "ops/op.h"
#include "ops/state.h"

/* ---- the store ---------------------------------------------------------------------- */

/* Open stream's initial_state file for reading: O_NONBLOCK so that a FIFO
 * cannot hang the caller, then refuse anything but a regular file (a
 * directory reads as an error, a FIFO or device never ends). Returns the
 * descriptor, or a negative SL_E* with a message naming stream and path. */
int sl__initial_state_open(const char *stream, const char *path, sl_error *err) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return sl__error_set(err, e == ENOENT ? SL_ENOTFOUND : SL_EIO,
                             "stream '%s': initial_state '%s': %s", stream, path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sl__error_set(err, SL_EIO, "stream '%s': initial_state '%s': %s", stream, path,
                             strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sl__error_set(err, SL_EINVAL,
                             "stream '%s': initial_state '%s': not a regular file (%s)", stream,
                             path,
                             S_ISDIR(st.st_mode)    ? "a directory"
                             : S_ISFIFO(st.st_mode) ? "a FIFO"
                                                    : "a special file");
    }
    /* reads of a regular file do not block; clear the flag all the same */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

/* Load {"key": K, "value": STATE} lines (or [K, STATE] lists) into the store;
 * a read error (I/O, out of memory) fails the load, naming the line. */
static int load_initial(sl_stream *s, sl_error *err) {
    int fd = sl__initial_state_open(s->name, s->initial_state, err);
    if (fd < 0)
        return fd;
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return sl__error_set(err, SL_ENOMEM, "stream '%s': initial_state '%s': out of memory",
                             s->name, s->initial_state);
    }
    sl__arena a;
    sl__arena_init(&a, 64 * 1024);
    sl_mem mem;
    sl__arena_mem(&a, &mem);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int rc = 0;
    while (!rc && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0 || line[0] == '#')
            continue;
        sl_value v;
        sl_error perr = {0, ""};
        if (sl__json_parse(line, (size_t)n, &v, &mem, &perr)) {
            rc = sl__error_set(err, SL_EINVAL, "%s: initial state %s:%ld: %s", s->name,
                               s->initial_state, lineno, perr.msg);
            break;
        }
        /* {"key": K, "value": STATE} (other members ignored), or [K, STATE] */
        const sl_value *key = NULL, *state = NULL;
        if (v.type == SL_OBJECT) {
            key = sl_object_get(&v, "key");
            state = sl_object_get(&v, "value");
        } else if (v.type == SL_LIST && v.len == 2) {
            key = &v.u.items[0];
            state = &v.u.items[1];
        }
        if (!key || !state) {
            rc = sl__error_set(err, SL_EINVAL,
                               "%s: initial state %s:%ld: expected {\"key\": K, \"value\": "
                               "STATE}",
                               s->name, s->initial_state, lineno);
            break;
        }
        rc = sl__state_put(s->store, sl__value_hash(key), key, state, 0, err);
        sl__arena_reset(&a);
    }
    if (!rc && ferror(f)) {
        int e = errno;
        rc = sl__error_set(err, e == ENOMEM ? SL_ENOMEM : SL_EIO,
                           "stream '%s': initial_state '%s':%ld: cannot read: %s", s->name,
                           s->initial_state, lineno + 1, strerror(e));
    }
    free(line);
    fclose(f);
    sl__arena_free(&a);
    return rc;
}

/* The (key, state) pairs of the initial stream's batch (the first batch of
 * the stateful stream, which is the initial stream's first too). */
static int load_initial_stream(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    sl_stream *init = s->initial_stream;
    int rc = 0; /* computed by the executor before the stream's first batch */
    for (size_t p = 0; !rc && p < init->data.nparts; p++)
        for (size_t i = 0; !rc && i < init->data.parts[p].n; i++) {
            const sl_record *r = &init->data.parts[p].v[i];
            rc = sl__state_put(s->store, sl__value_hash(&r->key), &r->key, &r->value, 0, err);
        }
    return rc;
}

/* The stream's store, made at the first batch, with the initial state if
 * any; or by a checkpoint restore (`initial` false: the checkpoint's state
 * replaces the initial one). */
static int store_of(sl_context *ctx, sl_stream *s, bool initial, sl_error *err) {
    if (s->store)
        return 0;
    int parts = sl__pool_workers(ctx->pool);
    int rc = sl__state_new(s->name, parts, s->state_limit, s->timeout > 0, &s->store, err);
    if (!rc && initial && s->initial_state)
        rc = load_initial(s, err);
    return rc;
}

/* The store for the batch at t: created at the stream's first batch, with
 * the initial state (a file, or the initial stream's first batch). */
static int store_for_batch(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    bool fresh = !s->store;
    int rc = store_of(ctx, s, true, err);
    if (!rc && fresh && s->initial_stream)
        rc = load_initial_stream(ctx, s, t, err);
    return rc;
}

/* ---- one batch --------------------------------------------------------------------- */

/* The values of one key in this batch: a growable list (UPDATE functions)
 * or the running reduction (REDUCE functions). */
typedef struct group {
    sl_value *values;
    uint32_t n, cap;
    sl_value reduced;
    bool used; /* met by the pass over the existing state */
} group;

typedef struct part_job {
    sl_stream *s;
    sl__recvec *dealt; /* the batch's records by partition */
    uint64_t **hashes; /* and their keys' hashes */
    size_t *hcap;
    int64_t t;
} part_job;

typedef struct part_task {
    sl_stream *s;
    sl__table index; /* key -> group number (in acc.u.i) */
    group *groups;
    size_t ngroups;
    sl_mem mem;
    sl_error *err;
    int64_t t; /* the batch time, for update_at functions */
    bool reduce;
} part_task;

/* Call the stream's function: new state for (key, values, state). */
static int call_update(part_task *pt, const sl_value *key, const group *g, const sl_value *state,
                       sl_value *out) {
    sl_stream *s = pt->s;
    sl__func *f = &s->fn;
    if (pt->reduce) {
        /* state = reduce(state, this batch's reduction) */
        if (!g) {
            *out = *state;
            return 0;
        }
        if (!state) {
            *out = g->reduced;
            return 0;
        }
        *out = *state;
        return sl__reduce_merge(f, out, &g->reduced, &pt->mem, pt->err);
    }
    const sl_value *vals = g ? g->values : NULL;
    size_t n = g ? g->n : 0;
    int rc = sl__func_update(f, pt->t, key, vals, n, state, out, &pt->mem, pt->err);
    if (rc < 0 && !pt->err->msg[0])
        sl__error_set(pt->err, rc, "%s (update_state_by_key): the update function failed: %s",
                      s->name, sl_strerror(rc));
    else if (rc < 0)
        sl__func_fail(f, rc, pt->err);
    return rc;
}

/* Add one record's value to its key's group. */
static int group_add(part_task *pt, const sl_record *r, uint64_t h) {
    bool fresh;
    sl_value key = r->key;
    sl__entry *e = sl__table_upsert(&pt->index, h, &key, NULL, &fresh);
    if (!e)
        return sl__error_set(pt->err, SL_ENOMEM, "out of memory");
    if (fresh) {
        if (pt->ngroups % 1024 == 0) {
            group *g = realloc(pt->groups, (pt->ngroups + 1024) * sizeof *g);
            if (!g)
                return sl__error_set(pt->err, SL_ENOMEM, "out of memory");
            pt->groups = g;
        }
        memset(&pt->groups[pt->ngroups], 0, sizeof *pt->groups);
        e->acc = sl_int((int64_t)pt->ngroups++);
    }
    group *g = &pt->groups[e->acc.u.i];
    if (pt->reduce) {
        int rc = fresh ? sl__reduce_first(&pt->s->fn, &g->reduced, &r->value, &pt->mem, pt->err)
                       : sl__reduce_combine(&pt->s->fn, &g->reduced, &r->value, &pt->mem, pt->err);
        if (rc < 0 && !pt->err->msg[0])
            sl__error_set(pt->err, rc, "%s (update_state_by_key): %s", pt->s->name,
                          sl_strerror(rc));
        return rc < 0 ? rc : 0;
    }
    if (g->n == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 4;
        sl_value *v = sl_alloc(&pt->mem, cap * sizeof *v);
        if (!v)
            return sl__error_set(pt->err, SL_ENOMEM, "out of memory");
        if (g->n)
            memcpy(v, g->values, g->n * sizeof *v);
        g->values = v;
        g->cap = cap;
    }
    g->values[g->n++] = r->value;
    return 0;
}

/* Pass over the existing state: every key gets its update. */
static int update_existing(void *ud, sl__state_item *item) {
    part_task *pt = ud;
    sl__entry *e = sl__table_find(&pt->index, sl__value_hash(item->key), item->key);
    group *g = e ? &pt->groups[e->acc.u.i] : NULL;
    if (g)
        g->used = true;
    if (pt->reduce && !g)
        return 0; /* a reduction of no values changes nothing */
    sl_value out;
    int rc = call_update(pt, item->key, g, &item->value, &out);
    if (rc == SL_REMOVE)
        item->remove = true;
    else if (rc == 0)
        item->value = out;
    return rc < 0 ? rc : 0;
}

/* An (key, state) into an output partition. */
typedef struct emit_ctx {
    sl__recvec *out;
    int64_t t;
    sl_error *err;
} emit_ctx;

static int emit_state(void *ud, const sl_value *key, const sl_value *value, int64_t last) {
    emit_ctx *ec = ud;
    (void)last;
    sl_record r = {sl_key(*key), *value, ec->t};
    if (sl__recvec_push(ec->out, &r))
        return sl__error_set(ec->err, SL_ENOMEM, "out of memory");
    return 0;
}

/* Partition j: group, update the existing keys, add the new ones, emit. */
static int state_task(void *arg, size_t j, int worker, sl_error *err) {
    part_job *job = arg;
    sl_stream *s = job->s;
    sl_context *ctx = s->ctx;
    part_task pt;
    memset(&pt, 0, sizeof pt);
    pt.s = s;
    pt.err = err;
    pt.t = job->t;
    pt.reduce = s->fn.kind == SL_COMPONENT_REDUCE;
    sl__arena_mem(&ctx->warena[worker], &pt.mem);
    const sl__recvec *in = &job->dealt[j];
    int rc = sl__table_init(&pt.index, in->n / 4 + 16) ? SL_ENOMEM : 0;
    for (size_t i = 0; i < in->n && !rc; i++)
        rc = group_add(&pt, &in->v[i], job->hashes[j][i]);
    if (!rc)
        rc = sl__state_update_each(s->store, (int)j, update_existing, &pt, err);
    /* keys new to the state: walk the index (its entries hold the keys) */
    size_t pos = 0;
    for (sl__entry *e; !rc && (e = sl__table_next(&pt.index, &pos));) {
        group *g = &pt.groups[e->acc.u.i];
        if (g->used)
            continue;
        sl_value out;
        rc = call_update(&pt, &e->key, g, NULL, &out);
        if (rc == SL_REMOVE) {
            rc = 0; /* asked not to keep it */
            continue;
        }
        if (!rc)
            rc = sl__state_put(s->store, e->hash, &e->key, &out, job->t, err);
    }
    if (!rc) {
        emit_ctx ec = {&s->data.parts[j], job->t, err};
        rc = sl__state_foreach(s->store, (int)j, emit_state, &ec);
    }
    sl__table_free(&pt.index);
    free(pt.groups);
    return rc;
}

static int run_state(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    int rc = store_for_batch(ctx, s, t, err);
    if (rc)
        return rc;
    int parts = sl__state_partitions(s->store);
    part_job job = {s, calloc((size_t)parts, sizeof(sl__recvec)),
                    calloc((size_t)parts, sizeof(uint64_t *)),
                    calloc((size_t)parts, sizeof(size_t)), t};
    if (!job.dealt || !job.hashes || !job.hcap || sl__dataset_init(&s->data, (size_t)parts))
        rc = sl__error_set(err, SL_ENOMEM, "out of memory");
    /* deal the batch's records into the state's partitions */
    const sl__dataset *in = &s->in[0]->data;
    for (size_t p = 0; p < in->nparts && !rc; p++) {
        for (size_t i = 0; i < in->parts[p].n && !rc; i++) {
            const sl_record *r = &in->parts[p].v[i];
            uint64_t h = sl__value_hash(&r->key);
            int j = sl__state_partition_of(s->store, h);
            size_t n = job.dealt[j].n;
            if (n == job.hcap[j]) {
                size_t cap = n ? n * 2 : 1024;
                uint64_t *hs = realloc(job.hashes[j], cap * sizeof *hs);
                if (!hs) {
                    rc = sl__error_set(err, SL_ENOMEM, "out of memory");
                    break;
                }
                job.hashes[j] = hs;
                job.hcap[j] = cap;
            }
            if (sl__recvec_push(&job.dealt[j], r))
                rc = sl__error_set(err, SL_ENOMEM, "out of memory");
            else
                job.hashes[j][n] = h;
        }
    }
    if (!rc)
        rc = sl__pool_run(ctx->pool, (size_t)parts, state_task, &job, err);
    for (int j = 0; j < parts; j++) {
        if (job.dealt)
            sl__recvec_free(&job.dealt[j]);
        if (job.hashes)
            free(job.hashes[j]);
    }
    free(job.dealt);
    free(job.hashes);
    free(job.hcap);
    return rc;
}

/* ---- map_with_state -------------------------------------------------------------------- */

typedef struct mws_job {
    sl_stream *s;
    sl__recvec *dealt;
    int64_t t;
} mws_job;

/* Keys that got data keep their time fresh even if map() left the state. */
static int touch(void *ud, sl__state_item *item) {
    if (item->exists)
        item->last_update = *(const int64_t *)ud;
    else
        item->remove = true; /* no state: nothing to insert */
    return 0;
}

typedef struct timeout_ctx {
    sl_stream *s;
    sl_emitter *em;
    int64_t t;
    sl_error *err;
} timeout_ctx;

/* An idle key: one last call with no value, then the state goes. */
static int time_out(void *ud, sl__state_item *item) {
    timeout_ctx *tc = ud;
    sl_stream *s = tc->s;
    if (item->last_update > tc->t - s->timeout)
        return 0;
    sl_state st = {NULL, 0, item->key, tc->t, true, item, tc->err, 0};
    int rc = sl__func_map_state(&s->fn, item->key, NULL, &st, tc->em, tc->err);
    item->remove = true;
    return rc < 0 ? rc : 0;
}

/* Partition j: map every record of the batch, in order, then time out. */
static int mws_task(void *arg, size_t j, int worker, sl_error *err) {
    mws_job *job = arg;
    sl_stream *s = job->s;
    sl_mem mem;
    sl__arena_mem(&s->ctx->warena[worker], &mem);
    sl_record buf[256];
    sl_emitter em = {buf, 0, 256, sl__recvec_flush, &mem, &s->data.parts[j]};
    const sl__recvec *in = &job->dealt[j];
    int rc = 0;
    for (size_t i = 0; i < in->n && !rc; i++) {
        const sl_record *r = &in->v[i];
        sl_state st = {s->store, sl__value_hash(&r->key), &r->key, job->t, false, NULL, err, 0};
        rc = sl__func_map_state(&s->fn, &r->key, &r->value, &st, &em, err);
        if (!rc && st.rc)
            rc = st.rc;
        if (!rc && s->timeout)
            rc = sl__state_upsert(s->store, st.hash, &r->key, touch, &job->t, err);
    }
    if (!rc && s->timeout) {
        timeout_ctx tc = {s, &em, job->t, err};
        rc = sl__state_update_each(s->store, (int)j, time_out, &tc, err);
    }
    if (!rc)
        rc = sl__recvec_flush(&em);
    if (rc < 0 && !err->msg[0])
        sl__error_set(err, rc, "%s (map_with_state): %s", s->name, sl_strerror(rc));
    return rc;
}

static int run_map_with_state(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    int rc = store_for_batch(ctx, s, t, err);
    if (rc)
        return rc;
    int parts = sl__state_partitions(s->store);
    mws_job job = {s, calloc((size_t)parts, sizeof(sl__recvec)), t};
    if (!job.dealt || sl__dataset_init(&s->data, (size_t)parts))
        rc = sl__error_set(err, SL_ENOMEM, "out of memory");
    const sl__dataset *in = &s->in[0]->data;
    for (size_t p = 0; p < in->nparts && !rc; p++)
        for (size_t i = 0; i < in->parts[p].n && !rc; i++) {
            const sl_record *r = &in->parts[p].v[i];
            int j = sl__state_partition_of(s->store, sl__value_hash(&r->key));
            if (sl__recvec_push(&job.dealt[j], r))
                rc = sl__error_set(err, SL_ENOMEM, "out of memory");
        }
    if (!rc)
        rc = sl__pool_run(ctx->pool, (size_t)parts, mws_task, &job, err);
    for (int j = 0; job.dealt && j < parts; j++)
        sl__recvec_free(&job.dealt[j]);
    free(job.dealt);
    return rc;
}

/* Every (key, state) of the map_with_state stream it follows. */
static int run_state_snapshots(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    sl_stream *m = s->in[0];
    int rc = store_of(ctx, m, true, err);
    int parts = rc ? 0 : sl__state_partitions(m->store);
    if (!rc && sl__dataset_init(&s->data, (size_t)parts))
        rc = sl__error_set(err, SL_ENOMEM, "out of memory");
    for (int j = 0; j < parts && !rc; j++) {
        emit_ctx ec = {&s->data.parts[j], t, err};
        rc = sl__state_foreach(m->store, j, emit_state, &ec);
    }
    return rc;
}

/* ---- checkpoints -------------------------------------------------------------------- */

/* The store's partitions, "state/<stream>/<j>" (ops/state.h). */
int sl__store_write(sl_stream *s, sl__ckpt_writer *w, size_t *bytes, sl_error *err) {
    sl__buf b = {0};
    char name[300];
    int rc = 0;
    for (int j = 0; s->store && j < sl__state_partitions(s->store) && !rc; j++) {
        sl__buf_reset(&b);
        rc = sl__state_snapshot(s->store, j, &b, err);
        snprintf(name, sizeof name, "state/%s/%d", s->name, j);
        if (!rc)
            rc = sl__ckpt_section(w, name, b.data, b.len, err);
        *bytes += b.len;
    }
    sl__buf_free(&b);
    return rc;
}

bool sl__store_in(const sl_stream *s, const sl__ckpt *c) {
    char sec[300];
    size_t len;
    snprintf(sec, sizeof sec, "state/%s/0", s->name);
    return sl__ckpt_find(c, sec, &len) != NULL;
}

/* Every "state/<stream>/<j>" of the checkpoint into the stream's store
 * (ops/state.h). */
int sl__store_read(sl_stream *s, const sl__ckpt *c, sl_error *err) {
    char sec[300];
    size_t len;
    const uint8_t *p;
    int rc = 0;
    for (int j = 0; !rc; j++) {
        snprintf(sec, sizeof sec, "state/%s/%d", s->name, j);
        if (!(p = sl__ckpt_find(c, sec, &len)))
            break;
        sl__reader r = {p, len, 0};
        rc = sl__state_restore(s->store, &r, c->batch_time, err);
    }
    if (!rc)
        sl__log(SL_LOG_INFO, "%s: %zu keys of state restored", s->name, sl__state_count(s->store));
    return rc;
}

static int snapshot_store(sl_stream *s, int64_t t, sl__ckpt_writer *w, size_t *bytes,
                          sl_error *err) {
    return sl__store_write(s, w, bytes, err);
}

/* The store, rebuilt from the checkpoint's partitions (any number of them). */
static int restore_store(sl_context *ctx, sl_stream *s, const sl__ckpt *c, sl_error *err) {
    if (!sl__store_in(s, c))
        return 0;
    int rc = store_of(ctx, s, false, err);
    return rc ? rc : sl__store_read(s, c, err);
}

const sl__op_class sl__op_update_state_by_key = {
    .name = "update_state_by_key",
    .flags = SL__OPF_STATEFUL | SL__OPF_WHOLE_INPUT,
    .run = run_state,
    .snapshot = snapshot_store,
    .restore = restore_store,
};

const sl__op_class sl__op_map_with_state = {
    .name = "map_with_state",
    .flags = SL__OPF_STATEFUL | SL__OPF_WHOLE_INPUT,
    .run = run_map_with_state,
    .snapshot = snapshot_store,
    .restore = restore_store,
};

const sl__op_class sl__op_state_snapshots = {
    .name = "state_snapshots",
    .flags = SL__OPF_WHOLE_INPUT,
    .run = run_state_snapshots,
};

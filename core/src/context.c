/*
 * context.c — the streaming context: settings, errors, start/await/stop,
 * and the introspection functions (graph, plugins).
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

const char *sl_strerror(int code) {
    switch (code) {
    case SL_OK:
        return "success";
    case SL_EINVAL:
        return "invalid argument";
    case SL_ENOMEM:
        return "out of memory";
    case SL_EIO:
        return "I/O error";
    case SL_ENOTFOUND:
        return "not found";
    case SL_EABI:
        return "incompatible plugin";
    case SL_ECONFIG:
        return "configuration error";
    case SL_ESTOPPED:
        return "stopped";
    case SL_EOF:
        return "end of input";
    case SL_RETRY:
        return "retry requested";
    case SL_ETYPE:
        return "wrong value type";
    case SL_ELIMIT:
        return "limit reached";
    case SL_EPLUGIN:
        return "plugin broke the ABI contract";
    case SL_ESTATE:
        return "called in the wrong state";
    default:
        return "unknown error";
    }
}

sl_context *sl_context_new(int64_t batch_interval_ms) {
    if (batch_interval_ms <= 0)
        return NULL;
    sl_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->interval = batch_interval_ms;
    ctx->clock = SL_CLOCK_SYSTEM;
    ctx->recv_buffer = 64u << 20;
    ctx->early_combine = true;
    ctx->status_mode = -1;
    ctx->ckpt_lock = -1;
    sl__registry_init(&ctx->reg);
    pthread_mutex_init(&ctx->lock, NULL);
    pthread_mutex_init(&ctx->join_lock, NULL);
    pthread_cond_init(&ctx->done_cond, NULL);
    pthread_mutex_init(&ctx->wake.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ctx->wake.cond, &ca);
    pthread_condattr_destroy(&ca);
    return ctx;
}

static void release_all(sl_context *ctx) {
    for (size_t i = 0; i < ctx->noutputs; i++) {
        sl__func_destroy(&ctx->outputs[i].fn);
        free(ctx->outputs[i].label);
    }
    free(ctx->outputs);
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        sl__func_destroy(&s->fn);
        sl__func_destroy(&s->filter);
        if (s->opstate_free)
            s->opstate_free(s->opstate);
        sl__state_free(s->store);
        free(s->initial_state);
        sl__stream_free_tables(s);
        sl__dataset_free(&s->data);
        sl__block_free(s->blocks);
        free(s->recv);
        free(s->name);
        free(s);
    }
    free(ctx->streams);
    int workers = ctx->pool ? sl__pool_workers(ctx->pool) : 0;
    for (int w = 0; w < workers; w++)
        sl__arena_free(&ctx->warena[w]);
    free(ctx->warena);
    sl__pool_free(ctx->pool);
}

void sl_context_free(sl_context *ctx) {
    if (!ctx)
        return;
    if (ctx->state == SL__RUNNING)
        sl_context_stop(ctx);
    release_all(ctx);
    if (ctx->ckpt_lock >= 0)
        sl__ckpt_unlock(ctx->ckpt_lock);
    free(ctx->ckpt_dir);
    sl__registry_free(&ctx->reg); /* unloads plugins: after every destroy() */
    pthread_mutex_destroy(&ctx->lock);
    pthread_mutex_destroy(&ctx->join_lock);
    pthread_cond_destroy(&ctx->done_cond);
    pthread_mutex_destroy(&ctx->wake.lock);
    pthread_cond_destroy(&ctx->wake.cond);
    free(ctx);
}

/* ---- errors --------------------------------------------------------------------- */

void sl__ctx_fail(sl_context *ctx, int code, const char *param, const char *fmt, ...) {
    if (ctx->errcode)
        return; /* the first error is the one to fix */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
    va_end(ap);
    ctx->errcode = code ? code : SL_EINVAL;
    snprintf(ctx->errparam, sizeof ctx->errparam, "%s", param ? param : "");
}

void sl__ctx_fail_err(sl_context *ctx, const sl_error *err, const char *param) {
    sl__ctx_fail(ctx, err->code, param, "%s", err->msg);
}

const char *sl_context_errmsg(const sl_context *ctx) {
    return !ctx ? "no context" : ctx->errcode ? ctx->errmsg : "no error";
}

int sl_context_errcode(const sl_context *ctx) {
    return ctx ? ctx->errcode : SL_EINVAL;
}

const char *sl_context_errparam(const sl_context *ctx) {
    return ctx && ctx->errcode && ctx->errparam[0] ? ctx->errparam : NULL;
}

void sl_context_clear_error(sl_context *ctx) {
    if (ctx) {
        ctx->errcode = 0;
        ctx->errmsg[0] = 0;
        ctx->errparam[0] = 0;
        ctx->errstream[0] = 0;
    }
}

/* ---- settings ------------------------------------------------------------------- */

static int settable(sl_context *ctx) {
    if (!ctx)
        return SL_EINVAL;
    if (ctx->state != SL__NEW) {
        sl__ctx_fail(ctx, SL_ESTATE, NULL, "settings cannot change after the context started");
        return SL_ESTATE;
    }
    return 0;
}

int sl_context_set_workers(sl_context *ctx, int n) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (n < 0 || n > 1024) {
        sl__ctx_fail(ctx, SL_EINVAL, "workers", "workers must be 0 (one per core) to 1024, got %d",
                     n);
        return SL_EINVAL;
    }
    ctx->workers = n;
    return 0;
}

int sl_context_set_clock(sl_context *ctx, sl_clock_kind clock) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (clock != SL_CLOCK_SYSTEM && clock != SL_CLOCK_MANUAL) {
        sl__ctx_fail(ctx, SL_EINVAL, "clock", "unknown clock %d", (int)clock);
        return SL_EINVAL;
    }
    ctx->clock = clock;
    return 0;
}

int sl_context_set_start_time(sl_context *ctx, int64_t ms) {
    int rc = settable(ctx);
    if (!rc)
        ctx->start_time = ms;
    return rc;
}

int sl_context_set_max_batches(sl_context *ctx, int64_t n) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (n < 0) {
        sl__ctx_fail(ctx, SL_EINVAL, "batches", "the batch limit cannot be negative");
        return SL_EINVAL;
    }
    ctx->max_batches = n;
    return 0;
}

int sl_context_set_receiver_buffer(sl_context *ctx, size_t bytes) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (bytes < 4096) {
        sl__ctx_fail(ctx, SL_EINVAL, "receiver_buffer",
                     "the receiver buffer must be at least 4096 bytes, got %zu", bytes);
        return SL_EINVAL;
    }
    ctx->recv_buffer = bytes;
    return 0;
}

int sl_context_set_early_combine(sl_context *ctx, int on) {
    int rc = settable(ctx);
    if (!rc)
        ctx->early_combine = on != 0;
    return rc;
}

int sl_context_add_plugin_dir(sl_context *ctx, const char *dir) {
    int rc = settable(ctx);
    if (rc)
        return rc;
    if (!dir || !*dir) {
        sl__ctx_fail(ctx, SL_EINVAL, NULL, "an empty plugin directory");
        return SL_EINVAL;
    }
    if (ctx->reg.resolved) {
        sl__ctx_fail(ctx, SL_ESTATE, NULL,
                     "plugin directories must be added before the first stream is built");
        return SL_ESTATE;
    }
    if (sl__registry_add_dir(&ctx->reg, dir)) {
        sl__ctx_fail(ctx, SL_ENOMEM, NULL, "out of memory");
        return SL_ENOMEM;
    }
    return 0;
}

int sl_context_set_status_line(sl_context *ctx, int mode) {
    int rc = settable(ctx);
    if (!rc)
        ctx->status_mode = mode;
    return rc;
}

int sl_context_set_batch_listener(sl_context *ctx, sl_batch_listener fn, void *ud) {
    int rc = settable(ctx);
    if (!rc) {
        ctx->listener = fn;
        ctx->listener_ud = ud;
    }
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------------ */

static int start_fail(sl_context *ctx, const sl_error *err) {
    sl__ctx_fail_err(ctx, err, NULL);
    atomic_store(&ctx->stop_requested, true);
    for (size_t i = 0; i < ctx->nstreams; i++)
        if (ctx->streams[i]->recv)
            sl__receiver_free(ctx->streams[i]->recv);
    ctx->state = SL__DONE;
    ctx->done = true;
    ctx->result = err->code;
    return err->code;
}

/* Create every instance; start direct sources, then receivers, then the
 * scheduler. */
int sl_context_start(sl_context *ctx) {
    if (!ctx)
        return SL_EINVAL;
    if (ctx->errcode)
        return ctx->errcode;
    if (ctx->state != SL__NEW) {
        sl__ctx_fail(ctx, SL_ESTATE, NULL, "the context was already started");
        return SL_ESTATE;
    }
    sl_error err = {0, ""};
    if (sl__plan(ctx, &err)) {
        sl__ctx_fail_err(ctx, &err, NULL);
        return err.code;
    }
    int workers = ctx->workers ? ctx->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    ctx->pool = sl__pool_new(workers > 0 ? workers : 1);
    workers = ctx->pool ? sl__pool_workers(ctx->pool) : 0;
    ctx->warena = workers ? calloc((size_t)workers, sizeof *ctx->warena) : NULL;
    if (!ctx->pool || !ctx->warena) {
        sl__ctx_fail(ctx, SL_ENOMEM, NULL, "out of memory");
        return SL_ENOMEM;
    }
    for (int w = 0; w < workers; w++)
        sl__arena_init(&ctx->warena[w], 1 << 20);
    ctx->status = ctx->status_mode > 0 || (ctx->status_mode < 0 && isatty(STDERR_FILENO));
    ctx->state = SL__RUNNING;
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (sl__func_create(&s->fn, &err) || sl__func_create(&s->filter, &err))
            return start_fail(ctx, &err);
    }
    for (size_t i = 0; i < ctx->noutputs; i++)
        if (sl__func_create(&ctx->outputs[i].fn, &err))
            return start_fail(ctx, &err);
    /* state and source positions from the newest checkpoint, before any
     * source starts */
    if (sl__checkpoint_resume(ctx, &err))
        return start_fail(ctx, &err);
    sl__plan_early(ctx);
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        if (s->op != SL_OP_SOURCE)
            continue;
        if (s->fn.source.start && s->fn.source.start(s->fn.inst, &err) < 0)
            return start_fail(ctx, &err);
        if (s->fn.source.mode == SL_SOURCE_RECEIVER) {
            s->recv = calloc(1, sizeof *s->recv);
            if (!s->recv) {
                sl__error_set(&err, SL_ENOMEM, "out of memory");
                return start_fail(ctx, &err);
            }
            sl__wake *wake = s->early_target ? &ctx->wake : NULL;
            if (sl__receiver_start(s->recv, &s->fn, ctx->recv_buffer, wake, &err)) {
                free(s->recv);
                s->recv = NULL;
                return start_fail(ctx, &err);
            }
        }
    }
    if (pthread_create(&ctx->thread, NULL, sl__scheduler_main, ctx) != 0) {
        sl__error_set(&err, SL_ENOMEM, "cannot start the scheduler thread");
        return start_fail(ctx, &err);
    }
    ctx->thread_started = true;
    return 0;
}

/* Join the scheduler once it is done; returns the run's result. */
static int finish(sl_context *ctx) {
    /* several threads may await (or stop) at once: one of them joins */
    pthread_mutex_lock(&ctx->join_lock);
    if (ctx->thread_started) {
        pthread_join(ctx->thread, NULL);
        ctx->thread_started = false;
    }
    ctx->state = SL__DONE;
    pthread_mutex_unlock(&ctx->join_lock);
    return ctx->result;
}

int sl_context_await_termination_or_timeout(sl_context *ctx, int64_t timeout_ms) {
    if (!ctx)
        return SL_EINVAL;
    if (ctx->state == SL__NEW) {
        sl__ctx_fail(ctx, SL_ESTATE, NULL, "await: the context was not started");
        return SL_ESTATE;
    }
    pthread_mutex_lock(&ctx->lock);
    if (timeout_ms < 0) {
        while (!ctx->done)
            pthread_cond_wait(&ctx->done_cond, &ctx->lock);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)(timeout_ms / 1000);
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!ctx->done)
            if (pthread_cond_timedwait(&ctx->done_cond, &ctx->lock, &ts) != 0)
                break;
    }
    bool done = ctx->done;
    pthread_mutex_unlock(&ctx->lock);
    if (!done)
        return 0;
    int rc = finish(ctx);
    return rc < 0 ? rc : 1;
}

int sl_context_await_termination(sl_context *ctx) {
    int rc = sl_context_await_termination_or_timeout(ctx, -1);
    return rc == 1 ? 0 : rc;
}

void sl_context_request_stop(sl_context *ctx) {
    if (ctx)
        atomic_store(&ctx->stop_requested, true);
}

int sl_context_stop(sl_context *ctx) {
    if (!ctx)
        return SL_EINVAL;
    if (ctx->state == SL__NEW)
        return 0;
    sl_context_request_stop(ctx);
    return sl_context_await_termination(ctx);
}

int sl_context_last_batch(const sl_context *ctx, sl_batch_info *out) {
    if (!ctx || !out)
        return SL_EINVAL;
    if (atomic_load(&((sl_context *)ctx)->batches_done) == 0)
        return SL_ENOTFOUND;
    pthread_mutex_lock((pthread_mutex_t *)&ctx->lock);
    *out = ctx->last;
    pthread_mutex_unlock((pthread_mutex_t *)&ctx->lock);
    return 0;
}

size_t sl_context_stream_count(const sl_context *ctx) {
    return ctx ? ctx->nstreams : 0;
}

size_t sl_context_output_count(const sl_context *ctx) {
    return ctx ? ctx->noutputs : 0;
}

int64_t sl_context_batches_done(const sl_context *ctx) {
    return ctx ? atomic_load(&((sl_context *)ctx)->batches_done) : 0;
}

const sl_component *sl_context_component(sl_context *ctx, const char *ref, int kind) {
    if (!ctx || !ref)
        return NULL;
    sl_error err = {0, ""};
    const sl_component *c = sl__registry_component(&ctx->reg, ref, kind, &err);
    if (!c)
        sl__ctx_fail_err(ctx, &err, NULL);
    return c;
}

/* ---- introspection -------------------------------------------------------------- */

typedef struct strbuf {
    char *s;
    size_t len, cap;
    bool oom;
} strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...) SL_PRINTF(2, 3);
static void sb_printf(strbuf *b, const char *fmt, ...) {
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap <= b->len + (size_t)n)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static char *sb_finish(strbuf *b) {
    if (b->oom) {
        free(b->s);
        return NULL;
    }
    if (!b->s)
        sb_printf(b, "%s", "");
    return b->s;
}

/* "30s", "1500ms", "2m" for a duration in ms. */
static void duration_text(int64_t ms, char *buf, size_t cap) {
    if (ms % 60000 == 0)
        snprintf(buf, cap, "%lldm", (long long)(ms / 60000));
    else if (ms % 1000 == 0)
        snprintf(buf, cap, "%llds", (long long)(ms / 1000));
    else
        snprintf(buf, cap, "%lldms", (long long)ms);
}

static const char *fn_label(const sl__func *f) {
    if (f->comp)
        return f->handle ? f->handle->ref : f->comp->name;
    return f->batch_fn ? "foreach_batch (C function)" : "(C function)";
}

char *sl_context_graph(sl_context *ctx, sl_graph_format format) {
    if (!ctx || ctx->errcode)
        return NULL;
    sl_error err = {0, ""};
    if (sl__plan(ctx, &err)) {
        sl__ctx_fail_err(ctx, &err, NULL);
        return NULL;
    }
    strbuf b = {0};
    if (format == SL_GRAPH_DOT) {
        sb_printf(&b,
                  "digraph sluice {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n");
        for (size_t i = 0; i < ctx->nstreams; i++) {
            sl_stream *s = ctx->streams[i];
            sb_printf(&b, "  s%d [label=\"%s\\n%s%s%s\"%s];\n", s->id, s->name, sl__op_name(s->op),
                      s->fn.comp || s->fn.map_fn || s->fn.reduce_fn ? " " : "",
                      s->fn.comp || s->fn.map_fn || s->fn.reduce_fn ? fn_label(&s->fn) : "",
                      s->op == SL_OP_SOURCE ? ", shape=cds" : "");
            for (int k = 0; k < s->nin; k++)
                sb_printf(&b, "  s%d -> s%d;\n", s->in[k]->id, s->id);
        }
        for (size_t i = 0; i < ctx->noutputs; i++) {
            sl__output *o = &ctx->outputs[i];
            sb_printf(&b, "  o%zu [label=\"%s\\n%s\", shape=note];\n  s%d -> o%zu;\n", i + 1,
                      o->label, fn_label(&o->fn), o->from->id, i + 1);
        }
        sb_printf(&b, "}\n");
        return sb_finish(&b);
    }
    sb_printf(&b, "batch interval %lld ms, %zu streams, %zu outputs\n", (long long)ctx->interval,
              ctx->nstreams, ctx->noutputs);
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        char op[160];
        bool has_fn = s->fn.comp || s->fn.map_fn || s->fn.reduce_fn;
        snprintf(op, sizeof op, "%s%s%s", sl__op_name(s->op), has_fn ? " " : "",
                 has_fn ? fn_label(&s->fn) : "");
        if (s->op == SL_OP_REPARTITION || (s->partitions && s->op != SL_OP_SOURCE))
            snprintf(op + strlen(op), sizeof op - strlen(op), " (%d partitions)", s->partitions);
        if (sl__op_is_window(s->op)) {
            char w[32], sl[32];
            duration_text(s->window, w, sizeof w);
            duration_text(s->slide, sl, sizeof sl);
            snprintf(op + strlen(op), sizeof op - strlen(op), " (length %s, slide %s%s)", w, sl,
                     s->inverse ? ", inverse" : "");
        }
        sb_printf(&b, "  %-16s %-36s ", s->name, op);
        for (int k = 0; k < s->nin; k++)
            sb_printf(&b, "%s%s", k ? ", " : "<- ", s->in[k]->name);
        const char *note = s->op == SL_OP_SOURCE ? "receiver"
                           : s->op == SL_OP_REDUCE_BY_KEY || s->op == SL_OP_COUNT_BY_VALUE
                               ? "shuffle"
                           : !s->materialize && s->consumers ? "fused"
                           : !s->consumers                   ? "unused"
                                                             : NULL;
        if (s->op == SL_OP_SOURCE && s->fn.comp &&
            ((const sl_source_ops *)s->fn.comp->ops)->mode == SL_SOURCE_DIRECT)
            note = "direct";
        if (note)
            sb_printf(&b, "  [%s]", note);
        sb_printf(&b, "\n");
    }
    for (size_t i = 0; i < ctx->noutputs; i++) {
        sl__output *o = &ctx->outputs[i];
        sb_printf(&b, "  %-16s %-36s <- %s\n", o->label, fn_label(&o->fn), o->from->name);
    }
    return sb_finish(&b);
}

/* ---- describing plugins ---------------------------------------------------------- */

static void json_str(strbuf *b, const char *s) {
    char tmp[1024];
    sl_value v = sl_cstr(s ? s : "");
    size_t n = sl__value_format(&v, SL_FORMAT_JSON, tmp, sizeof tmp);
    if (n < sizeof tmp) {
        sb_printf(b, "%s", tmp);
        return;
    }
    char *big = malloc(n + 1);
    if (!big) {
        b->oom = true;
        return;
    }
    sl__value_format(&v, SL_FORMAT_JSON, big, n + 1);
    sb_printf(b, "%s", big);
    free(big);
}

/* A parameter schema as a JSON array of {name, type, required, default,
 * [choices,] [range,] doc} (plugins' parameters and the engine's settings). */
static void describe_params_json(strbuf *b, const sl_param_spec *params) {
    sb_printf(b, "[");
    for (const sl_param_spec *p = params; p && p->name; p++) {
        sb_printf(b, "%s{\"name\": ", p == params ? "" : ", ");
        json_str(b, p->name);
        sb_printf(b, ", \"type\": ");
        json_str(b, sl__param_type_name(p->type));
        sb_printf(b, ", \"required\": %s, \"default\": ", p->required ? "true" : "false");
        if (p->default_value)
            json_str(b, p->default_value);
        else
            sb_printf(b, "null");
        if (p->choices) {
            sb_printf(b, ", \"choices\": ");
            json_str(b, p->choices);
        }
        if (p->range) {
            sb_printf(b, ", \"range\": ");
            json_str(b, p->range);
        }
        sb_printf(b, ", \"doc\": ");
        json_str(b, p->doc);
        sb_printf(b, "}");
    }
    sb_printf(b, "]");
}

/* A parameter schema as text: name, type, required/default/range, doc. */
static void describe_params_text(strbuf *b, const sl_param_spec *params) {
    for (const sl_param_spec *p = params; p && p->name; p++) {
        char type[160];
        snprintf(type, sizeof type, "%s",
                 p->type == SL_PARAM_ENUM && p->choices ? p->choices
                                                        : sl__param_type_name(p->type));
        char what[256];
        int n = snprintf(what, sizeof what, "%s", p->required ? "required" : "");
        if (p->default_value && n >= 0 && (size_t)n < sizeof what)
            n += snprintf(what + n, sizeof what - (size_t)n, "%sdefault %s", n ? "; " : "",
                          p->default_value);
        if (p->range && n >= 0 && (size_t)n < sizeof what)
            snprintf(what + n, sizeof what - (size_t)n, "%srange %s", n ? "; " : "", p->range);
        sb_printf(b, "      %-18s %-14s %s\n", p->name, type, what);
        if (p->doc)
            sb_printf(b, "      %-18s %-14s %s\n", "", "", p->doc);
    }
}

static void describe_component(strbuf *b, const char *plugin, const sl_component *c, bool json,
                               bool first) {
    if (json) {
        sb_printf(b, "%s\n      {\"name\": ", first ? "" : ",");
        char ref[160];
        snprintf(ref, sizeof ref, "%s.%s", plugin, c->name);
        json_str(b, ref);
        sb_printf(b, ", \"kind\": ");
        json_str(b, sl__kind_name(c->kind));
        sb_printf(b, ", \"doc\": ");
        json_str(b, c->doc);
        sb_printf(b, ", \"params\": ");
        describe_params_json(b, c->params);
        sb_printf(b, "}");
        return;
    }
    bool same = strcmp(plugin, c->name) == 0;
    sb_printf(b, "  %s.%s%s%s%s  (%s)\n", plugin, c->name, same ? " (or " : "", same ? plugin : "",
              same ? ")" : "", sl__kind_name(c->kind));
    if (c->doc)
        sb_printf(b, "      %s\n", c->doc);
    describe_params_text(b, c->params);
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *sl_context_describe_plugins(sl_context *ctx, int json) {
    if (!ctx)
        return NULL;
    size_t ndirs;
    char **dirs = sl__registry_path(&ctx->reg, &ndirs);
    strbuf b = {0};
    char **names = NULL;
    size_t nnames = 0;
    for (size_t d = 0; d < ndirs; d++) {
        DIR *dir = opendir(dirs[d]);
        struct dirent *de;
        while (dir && (de = readdir(dir))) {
            size_t len = strlen(de->d_name);
            if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
                continue;
            char *name = strndup(de->d_name, len - 3);
            char **v = realloc(names, (nnames + 1) * sizeof *v);
            if (!name || !v) {
                free(name);
                b.oom = true;
                break;
            }
            names = v;
            names[nnames++] = name;
        }
        if (dir)
            closedir(dir);
    }
    qsort(names, nnames, sizeof *names, name_cmp);
    if (json)
        sb_printf(&b, "{\"plugin_path\": [");
    for (size_t d = 0; json && d < ndirs; d++) {
        sb_printf(&b, "%s", d ? ", " : "");
        json_str(&b, dirs[d]);
    }
    if (json)
        sb_printf(&b, "],\n  \"plugins\": [");
    else {
        sb_printf(&b, "plugin path:\n");
        for (size_t d = 0; d < ndirs; d++)
            sb_printf(&b, "  %s\n", dirs[d]);
    }
    bool first = true;
    for (size_t i = 0; i < nnames; i++) {
        if (i && strcmp(names[i], names[i - 1]) == 0)
            continue; /* the first directory wins */
        sl_error err = {0, ""};
        sl__plugin *p = NULL;
        if (sl__registry_plugin(&ctx->reg, names[i], &p, &err))
            p = NULL; /* listed with err's reason */
        if (json) {
            sb_printf(&b, "%s\n    {\"name\": ", first ? "" : ",");
            json_str(&b, names[i]);
            if (!p) {
                sb_printf(&b, ", \"error\": ");
                json_str(&b, err.msg);
                sb_printf(&b, "}");
            } else {
                sb_printf(&b, ", \"version\": ");
                json_str(&b, p->desc.version);
                sb_printf(&b, ", \"description\": ");
                json_str(&b, p->desc.description);
                sb_printf(&b, ", \"path\": ");
                json_str(&b, p->path);
                sb_printf(&b, ", \"abi\": \"%u.%u\", \"components\": [", p->desc.abi_major,
                          p->desc.abi_minor);
                for (size_t c = 0; c < p->ncomps; c++)
                    describe_component(&b, p->name, p->comps[c], true, c == 0);
                sb_printf(&b, "]}");
            }
        } else if (!p) {
            sb_printf(&b, "\n%s: NOT LOADABLE: %s\n", names[i], err.msg);
        } else {
            sb_printf(&b, "\n%s %s — %s\n  (%s, ABI %u.%u)\n", p->name,
                      p->desc.version ? p->desc.version : "",
                      p->desc.description ? p->desc.description : "", p->path, p->desc.abi_major,
                      p->desc.abi_minor);
            for (size_t c = 0; c < p->ncomps; c++)
                describe_component(&b, p->name, p->comps[c], false, c == 0);
        }
        first = false;
    }
    /* the engine's own settings (the YAML top level), in the same form */
    if (json) {
        sb_printf(&b, "\n  ],\n  \"settings\": ");
        describe_params_json(&b, sl_settings_schema());
        sb_printf(&b, "\n}\n");
    } else {
        sb_printf(&b, "\nengine settings (the top level of a pipeline file)\n");
        describe_params_text(&b, sl_settings_schema());
    }
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    return sb_finish(&b);
}

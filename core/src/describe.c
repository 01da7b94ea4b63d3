/*
 * describe.c — introspection: the DStream graph as text or DOT
 * (sluice graph), and every plugin's components and parameters as text or
 * JSON (sluice plugins).
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "context.h"
#include "handle.h"
#include "params.h"
#include "plan.h"
#include "value.h"
#include "ops/op.h"

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
    if (!f->comp)
        return "(C function)";
    if (sl__func_is_foreach(f))
        return "foreach_batch (C function)";
    return f->handle ? f->handle->ref : f->comp->name;
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
                      s->fn.kind ? " " : "", s->fn.kind ? fn_label(&s->fn) : "",
                      sl__stream_is(s, SL__OPF_SOURCE) ? ", shape=cds" : "");
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
    sb_printf(&b, "batch interval %lld ms, %zu stream%s, %zu output%s\n", (long long)ctx->interval,
              ctx->nstreams, ctx->nstreams == 1 ? "" : "s", ctx->noutputs,
              ctx->noutputs == 1 ? "" : "s");
    for (size_t i = 0; i < ctx->nstreams; i++) {
        sl_stream *s = ctx->streams[i];
        char op[160];
        bool has_fn = s->fn.kind;
        snprintf(op, sizeof op, "%s%s%s", sl__op_name(s->op), has_fn ? " " : "",
                 has_fn ? fn_label(&s->fn) : "");
        if (s->op == SL__OP_REPARTITION || (s->partitions && !sl__stream_is(s, SL__OPF_SOURCE)))
            snprintf(op + strlen(op), sizeof op - strlen(op), " (%d partitions)", s->partitions);
        if (sl__stream_is(s, SL__OPF_WINDOW)) {
            char w[32], sl[32];
            duration_text(s->window, w, sizeof w);
            duration_text(s->slide, sl, sizeof sl);
            snprintf(op + strlen(op), sizeof op - strlen(op), " (length %s, slide %s%s)", w, sl,
                     s->inverse ? ", inverse" : "");
        }
        sb_printf(&b, "  %-16s %-36s ", s->name, op);
        for (int k = 0; k < s->nin; k++)
            sb_printf(&b, "%s%s", k ? ", " : "<- ", s->in[k]->name);
        const char *note = sl__stream_is(s, SL__OPF_SOURCE)    ? "receiver"
                           : sl__stream_is(s, SL__OPF_SHUFFLE) ? "shuffle"
                           : !s->materialize && s->consumers   ? "fused"
                           : !s->consumers                     ? "unused"
                                                               : NULL;
        if (sl__stream_is(s, SL__OPF_SOURCE) && s->fn.comp &&
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

/*
 * params.c — component parameters: validation against a schema, defaults,
 * and the typed readers behind sl_host's param_* functions. Also the
 * duration and size syntax shared by the config and the CLI.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "dtoa.h"
#include "error.h"
#include "params.h"

typedef struct param_item {
    const sl_param_spec *spec;
    char *raw; /* as given (or the default); NULL if absent */
    bool set;  /* given by the user */
    int64_t i;
    double d;
} param_item;

struct sl_params {
    size_t n;
    param_item *items;
};

const char *sl__param_type_name(int type) {
    switch (type) {
    case SL_PARAM_STRING:
        return "string";
    case SL_PARAM_INT:
        return "int";
    case SL_PARAM_DOUBLE:
        return "double";
    case SL_PARAM_BOOL:
        return "bool";
    case SL_PARAM_DURATION:
        return "duration";
    case SL_PARAM_SIZE:
        return "size";
    case SL_PARAM_ENUM:
        return "enum";
    default:
        return "?";
    }
}

/* Parse "<number><unit>" with units from `units` (name, factor) pairs; a
 * bare number uses `bare`. Whitespace around is allowed. */
typedef struct unit {
    const char *name;
    double factor;
} unit;

/* Parse "<decimal><unit>": digits with at most one '.', then a unit from
 * `units` right after (no sign, exponent, hex or inner space); a bare number
 * uses `bare`. Whitespace around the whole is allowed. */
static int parse_scaled(const char *text, const unit *units, double bare, double *out) {
    if (!text)
        return SL_EINVAL;
    while (isspace((unsigned char)*text))
        text++;
    const char *p = text;
    int digits = 0, dots = 0;
    for (; isdigit((unsigned char)*p) || *p == '.'; p++) {
        if (*p == '.')
            dots++;
        else
            digits++;
    }
    if (!digits || dots > 1 || *text == '.' || p[-1] == '.')
        return SL_EINVAL;
    double v = sl__strtod(text, NULL);
    if (!isfinite(v))
        return SL_EINVAL;
    size_t len = strlen(p);
    while (len && isspace((unsigned char)p[len - 1]))
        len--;
    if (len == 0) {
        *out = v * bare;
        return 0;
    }
    for (const unit *u = units; u->name; u++) {
        if (strlen(u->name) == len && strncasecmp(p, u->name, len) == 0) {
            *out = v * u->factor;
            return 0;
        }
    }
    return SL_EINVAL;
}

int sl_parse_duration(const char *text, int64_t *ms) {
    static const unit units[] = {{"ms", 1},      {"s", 1000},    {"sec", 1000}, {"m", 60000},
                                 {"min", 60000}, {"h", 3600000}, {"us", 0.001}, {NULL, 0}};
    double v;
    if (parse_scaled(text, units, 1000, &v) || v > 9.2e18)
        return SL_EINVAL;
    *ms = (int64_t)llround(v);
    return 0;
}

int sl_parse_size(const char *text, uint64_t *bytes) {
    static const unit units[] = {{"b", 1},
                                 {"k", 1024.0},
                                 {"kib", 1024.0},
                                 {"kb", 1000.0},
                                 {"m", 1048576.0},
                                 {"mib", 1048576.0},
                                 {"mb", 1e6},
                                 {"g", 1073741824.0},
                                 {"gib", 1073741824.0},
                                 {"gb", 1e9},
                                 {NULL, 0}};
    double v;
    /* whole bytes only, and within int64 (sizes are read as int64 too) */
    if (parse_scaled(text, units, 1, &v) || v >= 9223372036854775807.0 || v != floor(v))
        return SL_EINVAL;
    *bytes = (uint64_t)v;
    return 0;
}

/* Read exactly `n` digits at *p into *out and advance; -1 if one is not a digit. */
static int fixed_digits(const char **p, int n, int *out) {
    *out = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        *out = *out * 10 + (**p - '0');
    }
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = y / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z" (UTC, 1970..9999, no leap second) to ms. */
static int parse_iso_utc(const char *p, int64_t *ms) {
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, frac = 0, nfrac = 0;
    if (fixed_digits(&p, 4, &y) || *p++ != '-' || fixed_digits(&p, 2, &mo) || *p++ != '-' ||
        fixed_digits(&p, 2, &d) || *p++ != 'T' || fixed_digits(&p, 2, &h) || *p++ != ':' ||
        fixed_digits(&p, 2, &mi) || *p++ != ':' || fixed_digits(&p, 2, &sec))
        return SL_EINVAL;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p) && nfrac < 3; p++, nfrac++)
            frac = frac * 10 + (*p - '0');
        if (!nfrac)
            return SL_EINVAL;
        for (int k = nfrac; k < 3; k++)
            frac *= 10;
    }
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (strcmp(p, "Z") != 0 || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
        return SL_EINVAL;
    *ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + sec * 1000 + frac;
    return 0;
}

int sl_parse_time(const char *text, int64_t *ms) {
    if (!text || !*text)
        return SL_EINVAL;
    if (strcmp(text, "now") == 0) {
        *ms = SL_START_NOW;
        return 0;
    }
    const char *p = text;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p) /* not all digits: a timestamp */
        return parse_iso_utc(text, ms);
    if (p - text > 18) /* beyond any int64 worth a clock */
        return SL_EINVAL;
    *ms = strtoll(text, NULL, 10);
    return 0;
}

/* The one boolean syntax of parameters, settings and stream keys. */
static int parse_bool(const char *s, int64_t *out) {
    static const char *const yes[] = {"true", "yes", "on", "1", NULL};
    static const char *const no[] = {"false", "no", "off", "0", NULL};
    for (int i = 0; yes[i]; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return (*out = 1), 0;
    for (int i = 0; no[i]; i++)
        if (strcasecmp(s, no[i]) == 0)
            return (*out = 0), 0;
    return SL_EINVAL;
}

int sl_parse_bool(const char *text, int *on) {
    int64_t v;
    if (!text || parse_bool(text, &v))
        return SL_EINVAL;
    *on = (int)v;
    return 0;
}

static int convert_type(param_item *it, const char *what, sl_error *err);

/* Whether `s` is one of `choices` ("a|b|c"), ignoring case as every enum
 * of sluice does (YAML, parameters, the CLI: MANUAL is manual). When it is,
 * `s` is rewritten in the choice's own spelling (same length), so that a
 * component compares with strcmp. */
static bool enum_has(const char *choices, char *s) {
    size_t len = strlen(s);
    const char *c = choices;
    while (c && *c) {
        const char *bar = strchr(c, '|');
        size_t n = bar ? (size_t)(bar - c) : strlen(c);
        if (n == len && strncasecmp(c, s, n) == 0) {
            memcpy(s, c, n);
            return true;
        }
        c = bar ? bar + 1 : NULL;
    }
    return false;
}

/* Parse one end of a range (non-empty) in the units of `type` into *v:
 * INT, DURATION (ms) and SIZE (bytes) exactly, DOUBLE as a double. */
static int range_end(int type, const char *text, size_t len, double *v, int64_t *i) {
    char buf[64];
    if (len >= sizeof buf)
        return SL_EINVAL;
    memcpy(buf, text, len);
    buf[len] = 0;
    char *end;
    uint64_t b;
    errno = 0;
    switch (type) {
    case SL_PARAM_INT:
        *i = strtoll(buf, &end, 10);
        *v = (double)*i;
        return end == buf || *end || errno ? SL_EINVAL : 0;
    case SL_PARAM_DOUBLE:
        *v = sl__strtod(buf, &end);
        return end == buf || *end || errno ? SL_EINVAL : 0;
    case SL_PARAM_DURATION:
        if (sl_parse_duration(buf, i))
            return SL_EINVAL;
        *v = (double)*i;
        return 0;
    case SL_PARAM_SIZE:
        if (sl_parse_size(buf, &b) || b > INT64_MAX)
            return SL_EINVAL;
        *i = (int64_t)b;
        *v = (double)*i;
        return 0;
    default:
        return SL_EINVAL;
    }
}

/* Is the converted value of `it` inside its spec's range ("lo..hi", either
 * end open)? 1 inside, 0 outside, SL_EINVAL for a malformed range. */
static int range_holds(const param_item *it) {
    const char *r = it->spec->range, *dots = strstr(r, "..");
    if (!dots)
        return SL_EINVAL;
    int type = it->spec->type;
    double lo = 0, hi = 0;
    int64_t ilo = 0, ihi = 0;
    size_t nlo = (size_t)(dots - r), nhi = strlen(dots + 2);
    if ((!nlo && !nhi) || (nlo && range_end(type, r, nlo, &lo, &ilo)) ||
        (nhi && range_end(type, dots + 2, nhi, &hi, &ihi)))
        return SL_EINVAL;
    if (type == SL_PARAM_DOUBLE)
        return (!nlo || it->d >= lo) && (!nhi || it->d <= hi);
    return (!nlo || it->i >= ilo) && (!nhi || it->i <= ihi);
}

/* Check a converted value against its spec's range: 0, SL_EINVAL naming the
 * range, or SL_EPLUGIN when the plugin wrote a range that does not parse. */
static int check_range(const param_item *it, const char *what, sl_error *err) {
    const sl_param_spec *s = it->spec;
    if (!s->range)
        return 0;
    int in = s->type == SL_PARAM_INT || s->type == SL_PARAM_DOUBLE ||
                     s->type == SL_PARAM_DURATION || s->type == SL_PARAM_SIZE
                 ? range_holds(it)
                 : SL_EINVAL;
    if (in < 0)
        return sl__error_set(err, SL_EPLUGIN,
                             "%s: the plugin's range '%s' for parameter '%s' (%s) is invalid "
                             "(expected like 1..65535, 0.., ..100 or 1s..1h)",
                             what ? what : "sluice", s->range, s->name,
                             sl__param_type_name(s->type));
    if (in)
        return 0;
    const char *r = s->range, *dots = strstr(r, "..");
    int nlo = (int)(dots - r);
    char head[256], bound[160];
    if (what)
        snprintf(head, sizeof head, "%s: parameter '%s'", what, s->name);
    else
        snprintf(head, sizeof head, "%s:", s->name);
    if (!nlo)
        snprintf(bound, sizeof bound, "at most %s", dots + 2);
    else if (!dots[2])
        snprintf(bound, sizeof bound, "at least %.*s", nlo, r);
    else
        snprintf(bound, sizeof bound, "between %.*s and %s", nlo, r, dots + 2);
    return sl__error_set(err, SL_EINVAL, "%s must be %s, got '%s'", head, bound, it->raw);
}

/* Convert it->raw according to its type, then check its range; 0 or an
 * error with a message. */
static int convert(param_item *it, const char *what, sl_error *err) {
    int rc = convert_type(it, what, err);
    return rc ? rc : check_range(it, what, err);
}

/* "a, b or c" for the choices "a|b|c" (at most cap bytes). */
static void choices_text(const char *choices, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = 0;
    for (const char *c = choices; c && *c && len < cap;) {
        const char *bar = strchr(c, '|');
        int n = bar ? (int)(bar - c) : (int)strlen(c);
        const char *sep = len == 0 ? "" : bar ? ", " : " or ";
        len += (size_t)snprintf(buf + len, cap - len, "%s%.*s", sep, n, c);
        c = bar ? bar + 1 : NULL;
    }
}

/* Fill err for a value that is not of the parameter's type (`expected` says
 * what it takes): a component's "demo.x: parameter 'n' expects an integer,
 * got 'v'", or an engine setting's (what NULL) "n: expected an integer, got
 * 'v'". Returns SL_EINVAL. */
static int bad_type(const param_item *it, const char *what, const char *expected, sl_error *err) {
    if (what)
        return sl__error_set(err, SL_EINVAL, "%s: parameter '%s' expects %s, got '%s'", what,
                             it->spec->name, expected, it->raw);
    return sl__error_set(err, SL_EINVAL, "%s: expected %s, got '%s'", it->spec->name, expected,
                         it->raw);
}

/* Convert it->raw according to its type; 0 or SL_EINVAL with a message. */
static int convert_type(param_item *it, const char *what, sl_error *err) {
    const sl_param_spec *s = it->spec;
    const char *raw = it->raw;
    char *end, list[256];
    uint64_t b;
    errno = 0;
    switch (s->type) {
    case SL_PARAM_STRING:
        return 0;
    case SL_PARAM_INT:
        it->i = strtoll(raw, &end, 10);
        it->d = (double)it->i;
        return end == raw || *end || errno ? bad_type(it, what, "an integer", err) : 0;
    case SL_PARAM_DOUBLE:
        it->d = sl__strtod(raw, &end);
        /* param_int of a double: saturated (a cast of one out of range,
         * 1e300 or NaN, is undefined behaviour) */
        it->i = it->d > -9.2e18 && it->d < 9.2e18 ? (int64_t)it->d
                : it->d < 0                       ? INT64_MIN
                                                  : INT64_MAX;
        return end == raw || *end || errno ? bad_type(it, what, "a number", err) : 0;
    case SL_PARAM_BOOL:
        return parse_bool(raw, &it->i) ? bad_type(it, what, "true or false", err) : 0;
    case SL_PARAM_DURATION:
        return sl_parse_duration(raw, &it->i)
                   ? bad_type(it, what, "a duration like 500ms, 5s or 1m", err)
                   : 0;
    case SL_PARAM_SIZE:
        if (sl_parse_size(raw, &b) || b > INT64_MAX)
            return bad_type(it, what, "a size like 4096, 64KiB or 1MiB", err);
        it->i = (int64_t)b;
        return 0;
    case SL_PARAM_ENUM:
        if (enum_has(s->choices, it->raw))
            return 0;
        if (what)
            snprintf(list, sizeof list, "one of %s", s->choices ? s->choices : "(none)");
        else
            choices_text(s->choices, list, sizeof list);
        return bad_type(it, what, list, err);
    default:
        return sl__error_set(err, SL_EPLUGIN, "%s: parameter '%s' has an unknown type %d",
                             what ? what : "sluice", s->name, s->type);
    }
}

/* The list of parameter names, for "expected one of" messages. */
static void names_of(const sl_param_spec *schema, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = 0;
    for (const sl_param_spec *s = schema; s && s->name; s++)
        len += (size_t)snprintf(buf + (len < cap ? len : cap), len < cap ? cap - len : 0, "%s%s",
                                len ? ", " : "", s->name);
}

int sl__params_build(const sl_param_spec *schema, const char *const *kv, const char *what,
                     sl_params **out, sl_error *err, const char **bad_key) {
    const char *who = what ? what : "settings"; /* what NULL: engine settings' messages */
    size_t n = 0;
    for (const sl_param_spec *s = schema; s && s->name; s++)
        n++;
    if (bad_key)
        *bad_key = NULL;
    sl_params *p = calloc(1, sizeof *p);
    param_item *items = n ? calloc(n, sizeof *items) : NULL;
    if (!p || (n && !items)) {
        free(p);
        free(items);
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    }
    p->n = n;
    p->items = items;
    for (size_t i = 0; i < n; i++)
        items[i].spec = &schema[i];
    int rc = 0;
    for (size_t k = 0; kv && kv[k]; k += 2) {
        const char *key = kv[k], *val = kv[k + 1];
        size_t i = 0;
        while (i < n && strcmp(items[i].spec->name, key) != 0)
            i++;
        if (i == n) {
            char names[512];
            names_of(schema, names, sizeof names);
            if (n)
                rc = sl__error_set(err, SL_EINVAL,
                                   "%s: unknown parameter '%s' (expected one of: %s)", who, key,
                                   names);
            else
                rc = sl__error_set(err, SL_EINVAL,
                                   "%s: unknown parameter '%s' (it takes no parameters)", who, key);
        } else if (!val) {
            rc = sl__error_set(err, SL_EINVAL, "%s: parameter '%s' has no value", who, key);
        } else if (items[i].set) {
            rc = sl__error_set(err, SL_EINVAL, "%s: parameter '%s' given twice", who, key);
        } else {
            free(items[i].raw);
            items[i].raw = strdup(val);
            items[i].set = true;
            if (!items[i].raw)
                rc = sl__error_set(err, SL_ENOMEM, "out of memory");
            else
                rc = convert(&items[i], what, err);
        }
        if (rc) {
            if (bad_key)
                *bad_key = key;
            sl__params_free(p);
            return rc;
        }
    }
    for (size_t i = 0; i < n && !rc; i++) {
        param_item *it = &items[i];
        if (it->set)
            continue;
        if (it->spec->required) {
            rc = sl__error_set(err, SL_EINVAL, "%s: missing required parameter '%s' (%s%s%s)", who,
                               it->spec->name, sl__param_type_name(it->spec->type),
                               it->spec->doc ? ": " : "", it->spec->doc ? it->spec->doc : "");
        } else if (it->spec->default_value) {
            it->raw = strdup(it->spec->default_value);
            if (!it->raw)
                rc = sl__error_set(err, SL_ENOMEM, "out of memory");
            else if ((rc = convert(it, what, err)))
                rc = sl__error_set(err, SL_EPLUGIN, "%s: the plugin's default for '%s' is invalid",
                                   who, it->spec->name);
        }
    }
    if (rc) {
        sl__params_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void sl__params_free(sl_params *p) {
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i].raw);
    free(p->items);
    free(p);
}

static const param_item *find(const sl_params *p, const char *name) {
    if (!p || !name)
        return NULL;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->items[i].spec->name, name) == 0)
            return &p->items[i];
    return NULL;
}

const char *sl__param_str(const sl_params *p, const char *name) {
    const param_item *it = find(p, name);
    return it ? it->raw : NULL;
}

int64_t sl__param_int(const sl_params *p, const char *name) {
    const param_item *it = find(p, name);
    return it && it->raw ? it->i : 0;
}

double sl__param_double(const sl_params *p, const char *name) {
    const param_item *it = find(p, name);
    return it && it->raw ? it->d : 0.0;
}

int sl__param_bool(const sl_params *p, const char *name) {
    const param_item *it = find(p, name);
    return it && it->raw ? (int)it->i : 0;
}

int sl__param_is_set(const sl_params *p, const char *name) {
    const param_item *it = find(p, name);
    return it && it->set;
}

/* Copy component `c` of a plugin built against ABI 1.`minor` into one
 * host-owned block: the component (zero past its struct_size), then its
 * parameter schema read with that ABI's stride (specs were 48 bytes up to
 * 1.2) and widened to this host's sl_param_spec (range NULL before 1.3), so
 * that the rest of the host reads every schema alike. *out is freed with
 * free() by sl__plugin_unload. Returns 0 or SL_ENOMEM. */
int sl__component_import(const sl_component *c, unsigned minor, const sl_component **out,
                         sl_error *err) {
    size_t stride = minor < 3 ? offsetof(sl_param_spec, range) : sizeof(sl_param_spec);
    const char *raw = (const char *)c->params;
    size_t n = 0;
    for (const char *name = NULL; raw; n++) {
        memcpy(&name, raw + n * stride, sizeof name); /* `name` comes first in every ABI */
        if (!name)
            break;
    }
    sl_component *copy = calloc(1, sizeof *copy + (raw ? n + 1 : 0) * sizeof(sl_param_spec));
    if (!copy)
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    memcpy(copy, c, c->struct_size < sizeof *copy ? c->struct_size : sizeof *copy);
    if (raw) {
        sl_param_spec *specs = (sl_param_spec *)(copy + 1);
        for (size_t i = 0; i < n; i++)
            memcpy(&specs[i], raw + i * stride, stride);
        copy->params = specs; /* specs[n] is the zeroed terminator */
    }
    *out = copy;
    return 0;
}

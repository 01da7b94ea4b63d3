/*
 * dtoa.c — the shortest round-trip digits of a double, Python's repr of it,
 * and a locale-independent strtod.
 *
 * The digits follow Giulietti's Schubfach ("The Schubfach way to render
 * doubles", 2020): with k chosen so that 10^k is just below the spacing of
 * doubles around d, the rounding interval of d scaled by 10^-k holds one or
 * two integers; the shortest decimal in it is either a multiple of ten (one
 * digit less) or the integer closest to d. The scaling multiplies by a
 * 126-bit approximation of 10^-k (core/src/dtoa_pow10.h, generated exactly
 * by scripts/gen-pow10.py) and keeps a sticky bit, which the paper proves is
 * enough for every double. One 128-bit multiply per bound, no loop and no
 * snprintf/strtod: what made 500k doubles take 2.6 s through the jsonl sink.
 */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtoa.h"
#include "dtoa_pow10.h"

#define MASK63 ((UINT64_C(1) << 63) - 1)
#define C_MIN (UINT64_C(1) << 52) /* smallest significand of a normal double */
#define Q_MIN (-1074)             /* exponent of the subnormals */

/* floor(e * log10(2)), floor(log10(3/4 * 2^e)) and floor(e * log2(10)) for
 * the exponents a double can have (scripts/gen-pow10.py checks them against
 * exact arithmetic over those ranges). */
static int flog10pow2(int e) {
    return (int)(((int64_t)e * 661971961083) >> 41);
}

static int flog10threequarterspow2(int e) {
    return (int)(((int64_t)e * 661971961083 - 274743187321) >> 41);
}

static int flog2pow10(int e) {
    return (int)(((int64_t)e * 913124641741) >> 38);
}

/* floor(g * cp / 2^127) with a sticky low bit set when the division is not
 * exact (g = g1 * 2^63 + g0): the rounding is "to odd", which keeps the
 * comparisons below exact. */
static uint64_t round_odd(uint64_t g1, uint64_t g0, uint64_t cp) {
    unsigned __int128 x = (unsigned __int128)g0 * cp;
    unsigned __int128 y = (unsigned __int128)g1 * cp;
    uint64_t x1 = (uint64_t)(x >> 64), y0 = (uint64_t)y, y1 = (uint64_t)(y >> 64);
    uint64_t z = (y0 >> 1) + x1;
    uint64_t vbp = y1 + (z >> 63);
    return vbp | (((z & MASK63) + MASK63) >> 63);
}

/* The shortest decimal f * 10^*k in the rounding interval of c * 2^q (c > 0;
 * the bounds belong to it when c is even, as round-half-even reads them). */
static uint64_t to_decimal(uint64_t c, int q, int *k) {
    uint64_t out = c & 1, cb = c << 2, cbr = cb + 2, cbl;
    if (c != C_MIN || q == Q_MIN) {
        cbl = cb - 2;
        *k = flog10pow2(q);
    } else { /* at a power of two the interval below is half as wide */
        cbl = cb - 1;
        *k = flog10threequarterspow2(q);
    }
    int h = q + flog2pow10(-*k) + 2;
    const uint64_t *g = sl__pow10_g[-*k - SL__POW10_KMIN];
    uint64_t vb = round_odd(g[0], g[1], cb << h);
    uint64_t vbl = round_odd(g[0], g[1], cbl << h);
    uint64_t vbr = round_odd(g[0], g[1], cbr << h);
    uint64_t s = vb >> 2;
    uint64_t sp10 = s / 10 * 10, tp10 = sp10 + 10;
    bool upin = vbl + out <= sp10 << 2, wpin = (tp10 << 2) + out <= vbr;
    if (upin != wpin) /* one digit less */
        return upin ? sp10 : tp10;
    uint64_t t = s + 1;
    bool uin = vbl + out <= s << 2, win = (t << 2) + out <= vbr;
    if (uin != win)
        return uin ? s : t;
    int64_t cmp = (int64_t)(vb - ((s + t) << 1)); /* both in: the closer, even on a tie */
    return cmp < 0 || (cmp == 0 && (s & 1) == 0) ? s : t;
}

int sl__dtoa_shortest(double d, char digits[18], int *exp10) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    uint64_t frac = bits & (C_MIN - 1);
    int bq = (int)(bits >> 52) & 0x7ff, k;
    uint64_t f = bq ? to_decimal(C_MIN | frac, bq - 1075, &k) : to_decimal(frac, Q_MIN, &k);
    while (f % 10 == 0) {
        f /= 10;
        k++;
    }
    char tmp[20];
    int n = 0;
    for (; f; f /= 10)
        tmp[n++] = (char)('0' + f % 10);
    for (int i = 0; i < n; i++)
        digits[i] = tmp[n - 1 - i];
    digits[n] = 0;
    *exp10 = k + n - 1;
    return n;
}

/* "e-05", "e+16", "e+308": Python's exponent, at least two digits. */
static size_t put_exponent(char *p, int e) {
    char *s = p;
    *p++ = 'e';
    *p++ = e < 0 ? '-' : '+';
    e = e < 0 ? -e : e;
    if (e >= 100)
        *p++ = (char)('0' + e / 100);
    *p++ = (char)('0' + e / 10 % 10);
    *p++ = (char)('0' + e % 10);
    return (size_t)(p - s);
}

/* Python's float repr: positional when -4 <= exponent < 16, with at least
 * one digit after the point; otherwise d.ddde+XX. */
size_t sl__dtoa_repr(double d, char *buf) {
    char *p = buf;
    if (isnan(d))
        return (size_t)(stpcpy(buf, "nan") - buf);
    if (signbit(d))
        *p++ = '-';
    if (isinf(d))
        return (size_t)(stpcpy(p, "inf") - buf);
    if (d == 0)
        return (size_t)(stpcpy(p, "0.0") - buf);
    char dg[18];
    int e, n = sl__dtoa_shortest(d, dg, &e);
    if (e < -4 || e >= 16) {
        *p++ = dg[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, dg + 1, (size_t)n - 1);
            p += n - 1;
        }
        p += put_exponent(p, e);
    } else if (e < 0) { /* 0.000ddd */
        memcpy(p, "0.0000", (size_t)(1 - e));
        p += 1 - e;
        memcpy(p, dg, (size_t)n);
        p += n;
    } else if (e + 1 >= n) { /* ddd000.0 */
        memcpy(p, dg, (size_t)n);
        memset(p + n, '0', (size_t)(e + 1 - n));
        p += e + 1;
        memcpy(p, ".0", 2);
        p += 2;
    } else { /* dd.ddd */
        memcpy(p, dg, (size_t)e + 1);
        p += e + 1;
        *p++ = '.';
        memcpy(p, dg + e + 1, (size_t)(n - e - 1));
        p += n - e - 1;
    }
    *p = 0;
    return (size_t)(p - buf);
}

static locale_t c_numeric;
static pthread_once_t c_numeric_once = PTHREAD_ONCE_INIT;

static void make_c_numeric(void) {
    c_numeric = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* strtod_l in a "C" locale made once: an embedding program's setlocale
 * (a comma as the decimal point) does not change what data and config
 * numbers mean. newlocale("C") fails only without memory; then the process
 * locale is used, as before. */
double sl__strtod(const char *s, char **end) {
    pthread_once(&c_numeric_once, make_c_numeric);
    return c_numeric ? strtod_l(s, end, c_numeric) : strtod(s, end);
}

/* vsnprintf with the calling thread switched to the "C" locale for the
 * call (uselocale is per thread: other threads, and the embedding
 * program's own printf, keep theirs). */
int sl__snprintf_c(char *buf, size_t cap, const char *fmt, ...) {
    pthread_once(&c_numeric_once, make_c_numeric);
    locale_t old = c_numeric ? uselocale(c_numeric) : (locale_t)0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (old)
        uselocale(old);
    return n;
}

/*
 * dtoa.h — doubles to text and back without the C library's locale
 * (dtoa.c): the shortest digits that read back as the same double (what
 * Python's repr writes), and strtod in the "C" locale.
 */
#ifndef SLUICE_DTOA_H
#define SLUICE_DTOA_H

#include <stddef.h>

/* Longest text sl__dtoa_repr writes, its terminating NUL included
 * ("-2.2250738585072014e-308" is 24 characters). */
#define SL__DTOA_MAX 32

/* The shortest decimal digits of a finite d > 0 that read back as d (the
 * closest such when several are as short, the even one on a tie): writes
 * them (1 to 17, no dot, no trailing zero, NUL-terminated) to digits and
 * returns their count; *exp10 is the decimal exponent of the first one. */
int sl__dtoa_shortest(double d, char digits[18], int *exp10);

/* d as Python's repr() writes it ('0.1', '1e-05', '1e+16', '-0.0', 'inf',
 * 'nan'), into buf (SL__DTOA_MAX bytes): returns the length written. */
size_t sl__dtoa_repr(double d, char *buf);

/* strtod whatever the process's LC_NUMERIC: '.' is the decimal point. */
double sl__strtod(const char *s, char **end);

/* snprintf in the "C" locale, whatever the process's LC_NUMERIC: for text
 * that machines read (/metrics, the JSON API), where "0,5" would be wrong. */
int sl__snprintf_c(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

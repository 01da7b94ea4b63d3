/*
 * value.h — value formatting, comparison, hashing, copying and JSON parsing
 * (value.c, json.c). Pure functions: safe from any thread.
 */
#ifndef SLUICE_VALUE_H
#define SLUICE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/record.h>

size_t sl__value_format(const sl_value *v, int style, char *buf, size_t cap);
size_t sl__record_format(const sl_record *r, int style, char *buf, size_t cap);
int sl__value_compare(const sl_value *a, const sl_value *b);
uint64_t sl__value_hash(const sl_value *v);
bool sl__value_equal(const sl_value *a, const sl_value *b);
/* Deep copy of the bytes/list payload of *v into mem; *out may alias v. */
int sl__value_copy(const sl_value *v, sl_value *out, sl_mem *mem);
size_t sl__value_bytes(const sl_value *v); /* payload size, for metrics */
/* The first type tag in v (or in the keys and values of n records) that is
 * not an sl_type, or -1 if there is none: values from plugins and C
 * functions are checked where they enter the engine (issue 12, fault 9e). */
int sl__value_bad_type(const sl_value *v);
int sl__records_bad_type(const sl_record *r, size_t n);
int sl__json_parse(const char *text, size_t len, sl_value *out, sl_mem *mem, sl_error *err);

/* Byte equality for short keys without a libc call. */
static inline bool sl__bytes_eq(const char *a, const char *b, size_t n) {
    while (n >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y)
            return false;
        a += 8, b += 8, n -= 8;
    }
    if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        if (x != y)
            return false;
        a += 4, b += 4, n -= 4;
    }
    while (n--)
        if (*a++ != *b++)
            return false;
    return true;
}

#endif /* SLUICE_VALUE_H */

/*
 * repr_codepoints — write sluice's Python repr (SL_FORMAT_REPR, what pprint
 * prints) of every code point 0..0x10FFFF except the surrogates, each as a
 * one-character string in UTF-8, one per line: "HEX<TAB>REPR". The first
 * line is "unicode VERSION", the version of the generated table.
 * tests/unit/repr_codepoints.py compares every line with python3's
 * repr(chr(c)) (ctest: unit.repr_codepoints).
 */
#include <stdio.h>

#include "printable_table.h"
#include "value.h"

/* The UTF-8 encoding of cp (not a surrogate) into out; returns its length. */
static size_t utf8_encode(unsigned cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

int main(void) {
    char text[4], repr[32];
    printf("unicode %s\n", sl__nonprintable_unicode_version);
    for (unsigned cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        sl_value v = sl_bytes(text, utf8_encode(cp, text));
        size_t n = sl__value_format(&v, SL_FORMAT_REPR, repr, sizeof repr);
        if (n >= sizeof repr) {
            fprintf(stderr, "repr of U+%04X is %zu bytes long\n", cp, n);
            return 1;
        }
        printf("%x\t%s\n", cp, repr);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

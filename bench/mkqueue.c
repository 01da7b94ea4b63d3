/*
 * mkqueue — turn a text file into a queue-source file: JSON Lines, one batch per line, each
 * line a JSON array of strings (the text lines of that batch, without their '\n').
 *
 *     mkqueue IN OUT BATCH_BYTES
 *
 * A batch is closed after the text line that brings it to BATCH_BYTES bytes of input (lines
 * are never split), so a 200 MB corpus with BATCH_BYTES=20000000 gives about 10 batches.
 * Strings are JSON-escaped ('"', '\\' and control characters); other bytes pass through,
 * so UTF-8 input stays UTF-8. Written to OUT.tmp and renamed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Write s[0..n) as a JSON string literal. */
static void put_json_string(FILE *f, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    putc_unlocked('"', f);
    size_t run = 0; /* bytes that need no escape, written in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        fwrite(s + run, 1, i - run, f);
        run = i + 1;
        putc_unlocked('\\', f);
        switch (c) {
        case '"':
        case '\\':
            putc_unlocked((char)c, f);
            break;
        case '\t':
            putc_unlocked('t', f);
            break;
        case '\r':
            putc_unlocked('r', f);
            break;
        default:
            fputs("u00", f);
            putc_unlocked(hex[c >> 4], f);
            putc_unlocked(hex[c & 15], f);
        }
    }
    fwrite(s + run, 1, n - run, f);
    putc_unlocked('"', f);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: mkqueue IN OUT BATCH_BYTES\n");
        return 2;
    }
    uint64_t batch_bytes = strtoull(argv[3], NULL, 10);
    FILE *in = fopen(argv[1], "r");
    if (!in) {
        perror(argv[1]);
        return 1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        perror(tmp);
        return 1;
    }
    static char ibuf[1 << 20], obuf[1 << 20];
    setvbuf(in, ibuf, _IOFBF, sizeof ibuf);
    setvbuf(out, obuf, _IOFBF, sizeof obuf);

    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t in_batch = 0, batches = 0;
    while ((n = getline(&line, &cap, in)) > 0) {
        size_t len = (size_t)n;
        if (line[len - 1] == '\n')
            len--;
        putc_unlocked(in_batch ? ',' : '[', out);
        put_json_string(out, line, len);
        in_batch += (uint64_t)n;
        if (in_batch >= batch_bytes) {
            fputs("]\n", out);
            in_batch = 0;
            batches++;
        }
    }
    if (in_batch) {
        fputs("]\n", out);
        batches++;
    }
    free(line);
    if (ferror(in) || fclose(out) != 0 || rename(tmp, argv[2]) != 0) {
        fprintf(stderr, "mkqueue: failed to write %s\n", argv[2]);
        return 1;
    }
    fclose(in);
    fprintf(stderr, "mkqueue: %s: %llu batches\n", argv[2], (unsigned long long)batches);
    return 0;
}

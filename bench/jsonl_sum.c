/*
 * jsonl_sum — total the per-batch counts that sluice's jsonl sink wrote.
 *
 *     jsonl_sum IN OUT
 *
 * Each line of IN is an object such as {"time":1732428005000,"key":"hello","value":2};
 * the word's total is the sum of its values over all batches. Writes "key<TAB>total" lines
 * (any order) to OUT, the format of the baseline and of mawk, so that the results can be
 * compared byte for byte after sorting. Keys are JSON-unescaped (\uXXXX to UTF-8). A line
 * without a string "key" or an integer "value" is an error: the benchmark must not compare
 * results it did not understand.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

typedef struct entry {
    uint64_t hash;
    char *key; /* malloc'd; NULL: empty slot */
    size_t len;
    long long total;
} entry;

static entry *slots;
static size_t cap = 1u << 16, used;

static void *xcalloc(size_t n, size_t sz) {
    void *p = calloc(n, sz);
    if (!p) {
        fprintf(stderr, "jsonl_sum: out of memory\n");
        exit(1);
    }
    return p;
}

/* Double the table (open addressing, linear probing, at most half full). */
static void grow(void) {
    size_t ncap = cap * 2;
    entry *ns = xcalloc(ncap, sizeof *ns);
    for (size_t i = 0; i < cap; i++) {
        if (!slots[i].key)
            continue;
        size_t j = (size_t)slots[i].hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = slots[i];
    }
    free(slots);
    slots = ns;
    cap = ncap;
}

/* Add v to the total of key k[0..n) (copied when new). */
static void add(const char *k, size_t n, long long v) {
    uint64_t h = XXH3_64bits(k, n);
    size_t i = (size_t)h & (cap - 1);
    while (slots[i].key) {
        if (slots[i].hash == h && slots[i].len == n && memcmp(slots[i].key, k, n) == 0) {
            slots[i].total += v;
            return;
        }
        i = (i + 1) & (cap - 1);
    }
    slots[i].hash = h;
    slots[i].key = malloc(n + 1);
    if (!slots[i].key) {
        fprintf(stderr, "jsonl_sum: out of memory\n");
        exit(1);
    }
    memcpy(slots[i].key, k, n);
    slots[i].len = n;
    slots[i].total = v;
    if (++used * 2 > cap)
        grow();
}

/* Skip blanks, expect ':', skip blanks. Returns the position after, or NULL. */
static const char *after_colon(const char *p) {
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != ':')
        return NULL;
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Append code point cp as UTF-8 to out; returns the bytes written. */
static size_t put_utf8(char *out, unsigned cp) {
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
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int hex4(const char *p, unsigned *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d > 15)
            return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

/* Decode the JSON string starting at p (at its opening quote) into out (at least as long
 * as the input). Returns the decoded length, or -1 if malformed. */
static long parse_string(const char *p, char *out) {
    if (*p++ != '"')
        return -1;
    size_t n = 0;
    for (;;) {
        char c = *p++;
        if (c == '"')
            return (long)n;
        if (c == '\0' || c == '\n')
            return -1;
        if (c != '\\') {
            out[n++] = c;
            continue;
        }
        unsigned cp, lo;
        switch (c = *p++) {
        case '"':
        case '\\':
        case '/':
            out[n++] = c;
            break;
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'u':
            if (hex4(p, &cp) < 0)
                return -1;
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && p[0] == '\\' && p[1] == 'u' &&
                hex4(p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
            n += put_utf8(out + n, cp);
            break;
        default:
            return -1;
        }
    }
}

/* Find `"name"` followed by ':' in the line; returns the value's position or NULL. */
static const char *find_member(const char *line, const char *name) {
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\"", name);
    for (const char *p = line; (p = strstr(p, pat)) != NULL; p++) {
        const char *v = after_colon(p + strlen(pat));
        if (v)
            return v;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: jsonl_sum IN OUT\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "r");
    if (!in) {
        perror(argv[1]);
        return 1;
    }
    slots = xcalloc(cap, sizeof *slots);
    char *line = NULL, *key = NULL;
    size_t lcap = 0, kcap = 0;
    ssize_t n;
    long long lineno = 0;
    while ((n = getline(&line, &lcap, in)) > 0) {
        lineno++;
        if (n == 1 && line[0] == '\n')
            continue;
        if ((size_t)n + 1 > kcap) {
            kcap = (size_t)n + 1;
            key = realloc(key, kcap);
            if (!key) {
                fprintf(stderr, "jsonl_sum: out of memory\n");
                return 1;
            }
        }
        const char *k = find_member(line, "key"), *v = find_member(line, "value");
        long klen = k ? parse_string(k, key) : -1;
        char *end = NULL;
        long long val = v ? strtoll(v, &end, 10) : 0;
        if (klen < 0 || !v || end == v || (*end != ',' && *end != '}' && *end != ' ')) {
            fprintf(stderr,
                    "jsonl_sum: %s:%lld: expected a string \"key\" and an integer "
                    "\"value\": %s",
                    argv[1], lineno, line);
            return 1;
        }
        add(key, (size_t)klen, val);
    }
    fclose(in);
    FILE *out = fopen(argv[2], "w");
    if (!out) {
        perror(argv[2]);
        return 1;
    }
    for (size_t i = 0; i < cap; i++) {
        if (!slots[i].key)
            continue;
        fwrite(slots[i].key, 1, slots[i].len, out);
        fprintf(out, "\t%lld\n", slots[i].total);
    }
    if (fclose(out) != 0) {
        fprintf(stderr, "jsonl_sum: cannot write %s\n", argv[2]);
        return 1;
    }
    return 0;
}

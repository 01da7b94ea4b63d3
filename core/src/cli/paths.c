/*
 * cli/paths.c — the installed examples and docs, as the CLI's help texts
 * and the demo's hint name them.
 *
 * The texts say "examples/network_wordcount.yaml" and "docs/config.md":
 * right in a source checkout, wrong anywhere else. When the sluice binary
 * runs from an install (bin/sluice with share/sluice/examples beside it, at
 * the paths CMake computed relative to the binary, so a moved prefix still
 * works), those words are printed as the installed paths instead.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#ifndef SLUICE_EXAMPLES_REL
#define SLUICE_EXAMPLES_REL "../share/sluice/examples"
#endif
#ifndef SLUICE_DOCS_REL
#define SLUICE_DOCS_REL "../share/doc/sluice/docs"
#endif

/* The directory `rel` (relative to the binary's directory), canonical, in
 * buf; NULL when the binary cannot be found or the directory does not exist. */
static const char *installed_dir(const char *rel, char *buf, size_t cap) {
    char exe[PATH_MAX], joined[PATH_MAX * 2];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = 0;
    snprintf(joined, sizeof joined, "%s/%s", exe, rel);
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(joined, real) || stat(real, &st) != 0 || !S_ISDIR(st.st_mode) ||
        strlen(real) + 1 > cap)
        return NULL;
    memcpy(buf, real, strlen(real) + 1);
    return buf;
}

const char *sl__cli_examples_dir(void) {
    static char buf[PATH_MAX];
    static int done;
    static const char *dir;
    if (!done) {
        dir = installed_dir(SLUICE_EXAMPLES_REL, buf, sizeof buf);
        done = 1;
    }
    return dir;
}

static const char *docs_dir(void) {
    static char buf[PATH_MAX];
    static int done;
    static const char *dir;
    if (!done) {
        dir = installed_dir(SLUICE_DOCS_REL, buf, sizeof buf);
        done = 1;
    }
    return dir;
}

/* Whether text[i] starts a word (a path starts after a space, a quote, an
 * opening parenthesis or a line break). */
static int word_start(const char *text, size_t i) {
    return i == 0 || strchr(" \n'(\"", text[i - 1]) != NULL;
}

void sl__cli_put_text(const char *text, FILE *out) {
    const char *ex = sl__cli_examples_dir(), *docs = docs_dir();
    for (size_t i = 0; text[i]; i++) {
        if (ex && word_start(text, i) && strncmp(text + i, "examples/", 9) == 0) {
            fprintf(out, "%s/", ex);
            i += 8;
        } else if (docs && word_start(text, i) && strncmp(text + i, "docs/", 5) == 0) {
            fprintf(out, "%s/", docs);
            i += 4;
        } else {
            fputc(text[i], out);
        }
    }
}

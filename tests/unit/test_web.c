/*
 * test_web.c — the live page compiled into the library (core/src/web/web.h,
 * generated from core/src/web/index.html by core/src/web/embed.cmake): the
 * embedded bytes are the file's, byte for byte, with a NUL after them, and
 * the page is self-contained — it names no other host and loads no script,
 * style sheet, font or image, so opening it fetches nothing but the API of
 * the server that sent it.
 */
#include "unit.h"

#include "web/web.h"

/* The source tree's index.html, malloc'd (the caller frees it); its size in
 * *len. NULL (and a failed assertion) when it cannot be read. */
static char *read_page(size_t *len) {
    const char *src = getenv("SLUICE_SOURCE_DIR");
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    char path[4096];
    snprintf(path, sizeof path, "%s/core/src/web/index.html", src);
    FILE *f = fopen(path, "rb");
    unit_check(f != NULL, __FILE__, __LINE__, "open %s: %s", path, strerror(errno));
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    buf[n] = 0;
    *len = n;
    return buf;
}

/* The embedded page is index.html as it is in the tree (the build
 * regenerates it when the file changes), followed by one NUL. */
static void test_embedded_equals_file(void) {
    size_t len = 0;
    char *page = read_page(&len);
    if (!page)
        return;
    ASSERT_INT_EQ(sl__web_index_html_len, len);
    CU_ASSERT(len > 1000);
    size_t same = 0;
    while (same < len && same < sl__web_index_html_len &&
           sl__web_index_html[same] == (unsigned char)page[same])
        same++;
    ASSERT_INT_EQ(same, len); /* the first differing byte, if any */
    ASSERT_INT_EQ(sl__web_index_html[sl__web_index_html_len], 0);
    ASSERT_INT_EQ(strlen((const char *)sl__web_index_html), sl__web_index_html_len);
    free(page);
}

/* Count the occurrences of `needle` in `hay` that are not followed by one of
 * the `allowed` continuations (NULL-terminated). */
static size_t count_bad(const char *hay, const char *needle, const char *const *allowed) {
    size_t n = 0, k = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + k, needle)) {
        bool ok = false;
        for (size_t a = 0; allowed && allowed[a] && !ok; a++)
            ok = strncmp(p + k, allowed[a], strlen(allowed[a])) == 0;
        n += !ok;
    }
    return n;
}

/* Nothing on the page is fetched from elsewhere: no URL with a scheme, no
 * src= (script, img, iframe), no @import, links only to data: (the empty
 * favicon), CSS url() only to a fragment of the page (the graph's arrow);
 * the API is asked with relative URLs. */
static void test_self_contained(void) {
    const char *page = (const char *)sl__web_index_html;
    ASSERT_INT_EQ(strncmp(page, "<!DOCTYPE html>", 15), 0);
    ASSERT_INT_EQ(count_bad(page, "://", NULL), 0);
    ASSERT_INT_EQ(count_bad(page, "src=", NULL), 0);
    ASSERT_INT_EQ(count_bad(page, "@import", NULL), 0);
    static const char *const data[] = {"\"data:", NULL}, *const fragment[] = {"#", NULL};
    ASSERT_INT_EQ(count_bad(page, "href=", data), 0);
    ASSERT_INT_EQ(count_bad(page, "url(", fragment), 0);
    ASSERT_CONTAINS(page, "'api/v1/status'");
    ASSERT_CONTAINS(page, "'api/v1/batches?n='");
    ASSERT_CONTAINS(page, "'api/v1/graph'");
    ASSERT_CONTAINS(page, "</html>");
}

UNIT_MAIN("web", {"embedded page equals index.html", test_embedded_equals_file},
          {"the page fetches nothing from elsewhere", test_self_contained})

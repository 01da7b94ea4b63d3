/*
 * web.h — the live page (core/src/web/index.html), compiled into the
 * library: the server (http.c) sends these bytes at GET / as
 * `text/html; charset=utf-8`.
 *
 * The definitions are generated at build time by core/src/web/embed.cmake
 * into web_index_html.c in the build directory (no hand-kept copy), so the
 * page is edited as a plain HTML file. The array holds the file's bytes
 * followed by one NUL that sl__web_index_html_len does not count, so it can
 * also be read as a C string. Static data: nobody frees it.
 */
#ifndef SLUICE_WEB_H
#define SLUICE_WEB_H

#include <stddef.h>

extern const unsigned char sl__web_index_html[];
extern const size_t sl__web_index_html_len;

#endif /* SLUICE_WEB_H */

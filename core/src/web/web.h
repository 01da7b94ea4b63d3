/* web.h — the page served at / (core/src/web/index.html, embedded at build time). */
#ifndef SLUICE_WEB_H
#define SLUICE_WEB_H

#include <stddef.h>

extern const unsigned char sl__web_index_html[];
extern const size_t sl__web_index_html_len;

#endif /* SLUICE_WEB_H */

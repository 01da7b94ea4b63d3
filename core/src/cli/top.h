/*
 * cli/top.h — `sluice top`: what its command (top.c) and its frame renderer
 * (top_view.c) share.
 */
#ifndef SLUICE_CLI_TOP_H
#define SLUICE_CLI_TOP_H

#include <stdint.h>

#include <sluice/sluice.h>

/* How to draw a frame. */
typedef struct sl__top_view {
    const char *url;     /* the instance, as shown (sl__http_url.text) */
    int64_t interval_ms; /* the refresh interval */
    int width;           /* columns; every line is cut to it (<= 0: no limit) */
    int height;          /* rows; lines past it are left out (<= 0: no limit) */
    int utf8;            /* draw the sparkline with block characters (else ASCII) */
    int interactive;     /* say how to quit */
    const char *problem; /* why the data is not fresh ("cannot reach ...; retrying"), or NULL */
    int64_t age_ms;      /* with a problem: how old the data is */
    int64_t now_ms;      /* local wall clock, for "as of" */
} sl__top_view;

/* The API's answers, parsed (host->json_parse): status is the object of
 * /api/v1/status, or NULL when there is none yet; batches the object of
 * /api/v1/batches and graph that of /api/v1/graph, each NULL when missing.
 * Any shape is accepted: a field that is absent or of another type shows
 * as "-". */
typedef struct sl__top_data {
    const sl_value *status;
    const sl_value *batches;
    const sl_value *graph;
} sl__top_data;

/* Render one frame as text: lines ending in '\n', each at most v->width
 * columns, at most v->height lines, and no control character but '\n'
 * (text from the server is cleaned: control bytes and bytes that are not
 * UTF-8 become '?'). Returns a malloc'd string the caller frees, or NULL
 * when out of memory. */
char *sl__top_render(const sl__top_view *v, const sl__top_data *d);

/* The columns a cleaned UTF-8 text takes (East Asian wide characters count
 * two). */
int sl__top_text_width(const char *s);

/* `sluice top` (top.c). */
int sl__cli_top(int argc, char **argv);
extern const char sl__cli_top_help[];

#endif /* SLUICE_CLI_TOP_H */

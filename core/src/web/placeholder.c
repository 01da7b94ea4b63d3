/* A stand-in for the page until index.html lands. */
#include "web.h"

const unsigned char sl__web_index_html[] =
    "<!doctype html><title>sluice</title><p>sluice: see /metrics, /health, /ready, "
    "/api/v1/status, /api/v1/batches, /api/v1/graph</p>\n";
const size_t sl__web_index_html_len = sizeof sl__web_index_html - 1;

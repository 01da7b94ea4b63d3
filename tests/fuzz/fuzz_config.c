/*
 * fuzz_config.c — the YAML pipeline loader on arbitrary bytes: every input
 * yields a context or an error of the form "NAME:LINE:COL: ..." (or a plain
 * "NAME: ..." for whole-file problems), never a crash, hang or leak.
 */
#include <stdlib.h>

#define FUZZ_ITERATIONS 5000 /* about 0.5 ms each */
#include "driver.h"
#include "sluice/sluice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[1024];
    err[0] = 0;
    setenv("PORT", "9999", 0);
    sl_context *ctx =
        sl_config_load_string((const char *)data, size, "fuzz.yaml", NULL, err, sizeof err);
    if (ctx) {
        char *g = sl_context_graph(ctx, SL_GRAPH_TEXT); /* a loaded graph can be described */
        free(g);
        sl_context_free(ctx);
    } else if (strncmp(err, "fuzz.yaml", 9) != 0) {
        fprintf(stderr, "error does not name the file: '%s'\n", err);
        abort();
    }
    return 0;
}

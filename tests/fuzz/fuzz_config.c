/*
 * fuzz_config.c — the YAML pipeline loader on arbitrary bytes: every input
 * yields a context or an error of the form "NAME:LINE:COL: ..." (or a plain
 * "NAME: ..." for whole-file problems), never a crash, hang or leak.
 */
#include <stdlib.h>

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

#ifndef SLUICE_LIBFUZZER
int main(void) {
    static const char *const seeds[] = {
        "batch_interval: 5s\n"
        "streams:\n"
        "  lines:  {source: socket, host: localhost, port: \"${PORT:-9999}\"}\n"
        "  words:  {flat_map: text.split, from: lines, sep: \" \"}\n"
        "  pairs:  {map: kv.pair, from: words}\n"
        "  counts: {reduce_by_key: agg.sum, from: pairs, partitions: 2}\n"
        "outputs:\n"
        "  - {sink: pprint, from: counts, num: 10}\n",
        "batch_interval: 500ms\nworkers: 2\nclock: manual\n"
        "streams:\n"
        "  q: {source: queue, path: /nonexistent.jsonl, on_end: stop}\n"
        "  u: {union: [q, q]}\n"
        "  c: {count: u}\n"
        "  v: {count_by_value: q}\n"
        "  r: {repartition: q, partitions: 3}\n"
        "outputs:\n"
        "  - sink: jsonl\n    from: c\n    path: \"-\"\n",
    };
    return fuzz_main(seeds, sizeof seeds / sizeof *seeds, 20000);
}
#endif

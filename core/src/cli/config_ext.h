/*
 * cli/config_ext.h — what libsluice's YAML loader (core/src/config.c) offers
 * the `sluice` CLI beyond the public API.
 *
 * These symbols are exported from libsluice (the CLI links against the
 * shared library) but are NOT part of the public API: the sl__ prefix says
 * they may change at any time. Programs use sluice.h only.
 */
#ifndef SLUICE_CLI_CONFIG_EXT_H
#define SLUICE_CLI_CONFIG_EXT_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/sluice.h>

/* What a successful load found in the file. */
typedef struct sl__config_info {
    int streams; /* entries under `streams:` */
    int outputs; /* entries under `outputs:` */
} sl__config_info;

/* sl_config_load_file() that also fills *info (may be NULL) on success. */
SL_API sl_context *sl__config_load_file_info(const char *path, const char *const *plugin_dirs,
                                             char *err, size_t errcap, sl__config_info *info);

/* Parse a duration as the YAML format does: "500ms", "5s", "1m", "1h", or a
 * bare number of seconds ("2", "0.5"). Writes milliseconds (rounded to the
 * nearest one) to *ms and returns 0, or returns -1 if `s` is not a duration. */
SL_API int sl__parse_duration_ms(const char *s, int64_t *ms);

#endif /* SLUICE_CLI_CONFIG_EXT_H */

/*
 * cli/cli.h — what the files of the `sluice` CLI share (main.c, demo.c).
 */
#ifndef SLUICE_CLI_CLI_H
#define SLUICE_CLI_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <sluice/sluice.h>

/* Exit codes of every command (docs/cli.md). */
#define CLI_EXIT_OK 0      /* success, including a stop by SIGINT/SIGTERM */
#define CLI_EXIT_RUNTIME 1 /* the pipeline failed while running */
#define CLI_EXIT_USAGE 2   /* bad command line or configuration */

/* Print "sluice CMD: message" and "see 'sluice CMD --help'" to stderr;
 * returns CLI_EXIT_USAGE. */
int sl__cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* If argv[*i] is option `name`, store its value (from "--name VALUE" or
 * "--name=VALUE") in *value, advance *i past it and return 1; return 0 if
 * it is another argument, or -1 (after a usage error) if the value is
 * missing. */
int sl__cli_option(const char *cmd, int argc, char **argv, int *i, const char *name,
                   const char **value);

/* Parse a whole decimal integer in [min, max]; 0 or -1. */
int sl__cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* SIGINT and SIGTERM ask `ctx` to stop after the current batch; a second
 * signal of the same kind terminates the process at once. */
void sl__cli_signals_install(sl_context *ctx);
/* Restore the default handlers (before ctx is freed). */
void sl__cli_signals_restore(void);

/* Exit code for an error from sl_context_start(): configuration-type
 * errors are CLI_EXIT_USAGE, the rest CLI_EXIT_RUNTIME. */
int sl__cli_start_exit_code(int rc);

/* Print a help text or hint (paths.c): "examples/..." and "docs/..." become
 * the installed directories when sluice runs from an install that has them. */
void sl__cli_put_text(const char *text, FILE *out);
/* The installed examples directory, or NULL (a build or source tree). */
const char *sl__cli_examples_dir(void);

/* `sluice demo` (demo.c). */
int sl__cli_demo(int argc, char **argv);
extern const char sl__cli_demo_help[];

#endif /* SLUICE_CLI_CLI_H */

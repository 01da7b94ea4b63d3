/*
 * cli/main.c — the `sluice` command (docs/cli.md).
 *
 * A thin client of sluice.h: each command parses its options, loads the
 * pipeline with the YAML loader and drives the context. Only main() decides
 * the exit code: 0 success, 1 runtime failure (a source that never
 * connected included), 2 usage or configuration error.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sluice/sluice.h>

#include "cli.h"
#include "top.h"

/* ---- help texts (keep in sync with docs/cli.md) --------------------------- */

static const char main_help[] =
    "sluice " SLUICE_VERSION " - a micro-batch stream processor (Spark Streaming's DStream\n"
    "model as a small native engine)\n"
    "\n"
    "usage: sluice COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  run FILE         run a YAML pipeline until it terminates (Ctrl-C stops it gracefully)\n"
    "  validate FILE    load a pipeline and check it without running it\n"
    "  graph FILE       print a pipeline's DStream graph as text or Graphviz DOT\n"
    "  plugins          list the plugins found, their components and parameters\n"
    "  top              watch a running sluice (sluice run --http) in the terminal\n"
    "  demo             run the network word count on a built-in text feed\n"
    "  version          print the version of sluice and of its plugin ABI\n"
    "  help [COMMAND]   print this help, or the help of COMMAND\n"
    "\n"
    "'sluice COMMAND --help' explains a command's options. To see sluice at work:\n"
    "  sluice demo\n"
    "\n"
    "exit status: 0 success, 1 runtime failure, 2 usage or configuration error.\n"
    "Pipelines are described in docs/config.md, commands in docs/cli.md.\n";

static const char run_help[] =
    "usage: sluice run FILE [OPTIONS]\n"
    "\n"
    "Run the pipeline described in FILE (a YAML file, see docs/config.md; '-' reads it\n"
    "from stdin, which then cannot also be its source) until it\n"
    "terminates: every source has ended, --batches or --timeout is reached, it fails, or\n"
    "SIGINT (Ctrl-C) or SIGTERM stops it. On a signal the batch in progress completes;\n"
    "a second signal of the same kind ends the process at once.\n"
    "\n"
    "options:\n"
    "  --batches N            stop after N batches (default 0: no limit)\n"
    "  --timeout DURATION     stop after this long, as PySpark's awaitTerminationOrTimeout:\n"
    "                         seconds (60) or a duration (500ms, 5s, 1m)\n"
    "  --clock system|manual  override the file's clock (manual: a batch starts as soon as\n"
    "                         the previous one ends; with --batches, a fast replay)\n"
    "  --start-time T         start the manual clock at T: ms since the epoch (0: the\n"
    "                         first batch at 1970-01-01 plus one interval, as Spark's\n"
    "                         ManualClock), an ISO-8601 UTC time like\n"
    "                         2026-01-01T00:00:00Z, or now (overrides start_time)\n"
    "  --workers N            override the file's workers (0: one per core)\n"
    "  --fresh                with a checkpoint directory: ignore and remove its\n"
    "                         checkpoints and start over (default: resume from the newest)\n"
    "  --plugin-path DIR      search DIR for plugins, before the file's plugin_path;\n"
    "                         repeat it for several directories\n"
    "  --log-level LEVEL      error, warn (the default), info or debug\n"
    "  --log-format FORMAT    text (the default: ISO-8601 UTC time, level, message) or\n"
    "                         json (one object per line: ts, level, stream, component, msg)\n"
    "  --status, --no-status  show or hide the live status line on stderr (default: shown\n"
    "                         when stderr is a terminal)\n"
    "  --http ADDR            serve /metrics (Prometheus), /health, /ready, the JSON API\n"
    "                         and a live page at http://ADDR/ (ADDR: HOST:PORT like\n"
    "                         127.0.0.1:4195; port 0 picks one); overrides the file's http\n"
    "  -h, --help             print this help\n"
    "\n"
    "Values in FILE may use ${VAR} and ${VAR:-default} (environment variables).\n"
    "\n"
    "exit status: 0 when the pipeline stopped cleanly (also after a signal or the timeout),\n"
    "1 when it failed while running or a source never connected (a socket, zmq or kafka\n"
    "source that never reached its peer or got its partitions: logged as an error),\n"
    "2 for a usage or configuration error.\n"
    "\n"
    "example (type words into nc; counts are printed every 5 seconds):\n"
    "  nc -lk 9999                                                # in another terminal\n"
    "  sluice run examples/network_wordcount.yaml --timeout 60\n"
    "  PORT=7777 BATCH_INTERVAL=1s sluice run examples/network_wordcount.yaml\n"
    "\n"
    "example (JSON events on stdin, sums per user on stdout):\n"
    "  tail -F events.jsonl | sluice run examples/json_sum.yaml\n";

static const char validate_help[] =
    "usage: sluice validate FILE [--plugin-path DIR]...\n"
    "\n"
    "Load the pipeline in FILE, find every component (loading its plugin), check every\n"
    "setting, parameter (type and range) and the graph, then create and destroy every\n"
    "component without starting anything (no source connects): what run would refuse\n"
    "(a missing queue file, an empty separator) is refused here too. Prints\n"
    "  FILE: ok (N streams, M outputs)\n"
    "and exits 0, or prints the first error as FILE:LINE:COL: message and exits 2.\n"
    "\n"
    "options:\n"
    "  --plugin-path DIR  search DIR for plugins, before the file's plugin_path;\n"
    "                     repeat it for several directories\n"
    "  -h, --help         print this help\n"
    "\n"
    "example:\n"
    "  sluice validate examples/network_wordcount.yaml\n";

static const char graph_help[] =
    "usage: sluice graph FILE [--dot] [--plugin-path DIR]...\n"
    "\n"
    "Load the pipeline in FILE, check it, and print its DStream graph: every stream with\n"
    "its operation and inputs, and every output. Nothing is started.\n"
    "\n"
    "options:\n"
    "  --dot              print Graphviz DOT instead of text\n"
    "  --plugin-path DIR  search DIR for plugins, before the file's plugin_path;\n"
    "                     repeat it for several directories\n"
    "  -h, --help         print this help\n"
    "\n"
    "example:\n"
    "  sluice graph examples/network_wordcount.yaml --dot | dot -Tsvg > wordcount.svg\n";

static const char plugins_help[] =
    "usage: sluice plugins [--json] [--plugin-path DIR]...\n"
    "\n"
    "List every plugin found in the plugin directories (the --plugin-path directories,\n"
    "then $SLUICE_PLUGIN_PATH, then the plugin directory installed with sluice) with its\n"
    "components and their parameters: type, default, whether required, and what it does.\n"
    "A plugin that fails to load is listed with the reason.\n"
    "\n"
    "options:\n"
    "  --json             print JSON instead of text\n"
    "  --plugin-path DIR  search DIR for plugins too; repeat it for several directories\n"
    "  -h, --help         print this help\n"
    "\n"
    "example:\n"
    "  sluice plugins --plugin-path ./myplugins\n";

#define STR_(x) #x
#define STR(x) STR_(x)

static const char version_help[] =
    "usage: sluice version\n"
    "\n"
    "Print the version of sluice and of the plugin ABI it loads:\n"
    "  sluice " SLUICE_VERSION " (plugin ABI " STR(SL_ABI_MAJOR) "." STR(SL_ABI_MINOR) ")\n";

static const char help_help[] = "usage: sluice help [COMMAND]\n"
                                "\n"
                                "Print the list of commands, or the help of COMMAND (the same\n"
                                "as 'sluice COMMAND --help').\n"
                                "\n"
                                "example:\n"
                                "  sluice help run\n";

/* ---- shared helpers ----------------------------------------------------------- */

int sl__cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "sluice%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nsee 'sluice %s%s'\n", cmd ? cmd : "", cmd ? " --help" : "--help");
    return CLI_EXIT_USAGE;
}

int sl__cli_option(const char *cmd, int argc, char **argv, int *i, const char *name,
                   const char **value) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        sl__cli_usage_error(cmd, "option '%s' needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int sl__cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *out) {
    char *end;
    if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int sl__cli_start_exit_code(int rc) {
    switch (rc) {
    case SL_ECONFIG:
    case SL_EINVAL:
    case SL_ENOTFOUND:
    case SL_EABI:
        return CLI_EXIT_USAGE;
    default:
        return CLI_EXIT_RUNTIME;
    }
}

/* ---- signals ---------------------------------------------------------------------- */

/* The context a signal stops; set only while it runs. */
static sl_context *volatile signal_ctx;

/* SIGINT/SIGTERM: ask for a graceful stop. Async-signal-safe: write(2) and
 * sl_context_request_stop() only. SA_RESETHAND makes a second signal fatal. */
static void on_stop_signal(int sig) {
    static const char msg[] = "\nsluice: stopping after the current batch "
                              "(signal again to quit at once)\n";
    int saved = errno;
    (void)sig;
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    sl_context *ctx = signal_ctx;
    if (ctx)
        sl_context_request_stop(ctx);
    errno = saved;
}

void sl__cli_signals_install(sl_context *ctx) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    signal_ctx = ctx;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* `sluice run | head`: a write to the closed pipe fails with EPIPE, which
     * the sinks report (SL_EOF), instead of SIGPIPE killing the process
     * without a message or a final checkpoint */
    signal(SIGPIPE, SIG_IGN);
}

void sl__cli_signals_restore(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal_ctx = NULL;
}

/* ---- argument parsing --------------------------------------------------------- */

/* Options common to the commands that load a file. */
typedef struct common_args {
    const char *file;
    const char **dirs; /* --plugin-path values, NULL-terminated (malloc'd) */
    size_t ndirs;
} common_args;

/* Is there a -h/--help among the arguments (before a "--")? */
static int wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

/* Handle an argument every file command shares: --plugin-path DIR or the
 * FILE itself. Returns 1 if used, 0 if not, -1 after a usage error. */
static int common_arg(const char *cmd, int argc, char **argv, int *i, int *dashdash,
                      common_args *ca, int needs_file) {
    const char *a = argv[*i], *v;
    if (!*dashdash) {
        if (strcmp(a, "--") == 0) {
            *dashdash = 1;
            return 1;
        }
        int r = sl__cli_option(cmd, argc, argv, i, "--plugin-path", &v);
        if (r < 0)
            return -1;
        if (r > 0) {
            if (!*v) {
                sl__cli_usage_error(cmd, "--plugin-path needs a directory");
                return -1;
            }
            ca->dirs[ca->ndirs++] = v;
            ca->dirs[ca->ndirs] = NULL;
            return 1;
        }
        if (a[0] == '-' && a[1]) {
            sl__cli_usage_error(cmd, "unknown option '%s'", a);
            return -1;
        }
    }
    if (needs_file && !ca->file) {
        ca->file = a;
        return 1;
    }
    sl__cli_usage_error(cmd, "unexpected argument '%s'", a);
    return -1;
}

/* Allocate room for every --plugin-path an argv could hold. */
static int common_init(common_args *ca, int argc) {
    memset(ca, 0, sizeof *ca);
    ca->dirs = calloc((size_t)argc + 1, sizeof *ca->dirs);
    if (!ca->dirs) {
        fprintf(stderr, "sluice: out of memory\n");
        return -1;
    }
    return 0;
}

/* All of stdin in a malloc'd buffer (*len bytes), or NULL with a message. */
static char *read_stdin(size_t *len) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (ssize_t r = 1; buf && r > 0;) {
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        r = read(STDIN_FILENO, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            r = 1;
        else if (r < 0) {
            fprintf(stderr, "sluice: cannot read the pipeline from stdin: %s\n", strerror(errno));
            free(buf);
            return NULL;
        } else
            n += (size_t)r;
    }
    if (!buf)
        fprintf(stderr, "sluice: out of memory reading the pipeline from stdin\n");
    *len = n;
    return buf;
}

/* Load ca->file ("-": the pipeline from stdin, named <stdin> in errors),
 * printing the error (FILE:LINE:COL: message) on failure; with check, also
 * create and destroy every component (sl_config_check_file), so that
 * validate refuses what run would. After reading stdin it sets
 * SLUICE_STDIN=pipeline, so that the stdin source refuses to start instead
 * of reading an input that is gone. */
static sl_context *load_pipeline(const common_args *ca, int check) {
    char err[1024];
    sl_context *ctx;
    if (strcmp(ca->file, "-") == 0) {
        size_t len;
        char *text = read_stdin(&len);
        if (!text)
            return NULL;
        setenv("SLUICE_STDIN", "pipeline", 1);
        ctx = check ? sl_config_check_string(text, len, "<stdin>", ca->dirs, err, sizeof err)
                    : sl_config_load_string(text, len, "<stdin>", ca->dirs, err, sizeof err);
        free(text);
    } else {
        ctx = check ? sl_config_check_file(ca->file, ca->dirs, err, sizeof err)
                    : sl_config_load_file(ca->file, ca->dirs, err, sizeof err);
    }
    if (!ctx)
        fprintf(stderr, "%s\n", err);
    return ctx;
}

/* The pipeline's name in messages: the file, or <stdin> for "-". */
static const char *pipeline_name(const common_args *ca) {
    return strcmp(ca->file, "-") == 0 ? "<stdin>" : ca->file;
}

/* ---- run ---------------------------------------------------------------------------- */

typedef struct run_args {
    common_args c;
    int64_t batches;    /* -1: as configured */
    int64_t timeout_ms; /* -1: none */
    int clock;          /* -1: as configured */
    int64_t start_time; /* SL_START_NOW - 1: as configured */
    int64_t workers;    /* -1: as configured */
    int log_level;      /* -1: default */
    int log_format;     /* -1: default (text) */
    int status;         /* -2: as configured (auto) */
    int fresh;          /* --fresh */
    const char *http;   /* --http ADDR, or NULL: as configured */
} run_args;

/* Parse one option of `run` other than the common ones: 1 if it was one,
 * 0 if not, -1 after a usage error. */
static int run_option(int argc, char **argv, int *i, run_args *ra) {
    const char *v;
    int r;
    if ((r = sl__cli_option("run", argc, argv, i, "--batches", &v)) > 0 &&
        sl__cli_parse_int(v, 0, INT64_MAX, &ra->batches) < 0) {
        sl__cli_usage_error("run", "--batches: expected a number of batches, got '%s'", v);
        return -1;
    } else if (r != 0) {
        return r;
    }
    if ((r = sl__cli_option("run", argc, argv, i, "--timeout", &v)) > 0 &&
        (sl_parse_duration(v, &ra->timeout_ms) != 0 || ra->timeout_ms <= 0)) {
        sl__cli_usage_error("run",
                            "--timeout: expected seconds or a duration like 500ms, 5s or "
                            "1m, got '%s'",
                            v);
        return -1;
    } else if (r != 0) {
        return r;
    }
    if ((r = sl__cli_option("run", argc, argv, i, "--clock", &v)) > 0) {
        if (strcasecmp(v, "system") == 0) /* enums ignore case everywhere */
            ra->clock = SL_CLOCK_SYSTEM;
        else if (strcasecmp(v, "manual") == 0)
            ra->clock = SL_CLOCK_MANUAL;
        else {
            sl__cli_usage_error("run", "--clock: expected system or manual, got '%s'", v);
            return -1;
        }
        return 1;
    } else if (r != 0) {
        return r;
    }
    if ((r = sl__cli_option("run", argc, argv, i, "--start-time", &v)) > 0 &&
        sl_parse_time(v, &ra->start_time) < 0) {
        sl__cli_usage_error("run",
                            "--start-time: expected ms since the epoch (0 or more), an ISO-8601 "
                            "UTC time like 2026-01-01T00:00:00Z or now, got '%s'",
                            v);
        return -1;
    } else if (r != 0) {
        return r;
    }
    if ((r = sl__cli_option("run", argc, argv, i, "--workers", &v)) > 0 &&
        sl__cli_parse_int(v, 0, 65536, &ra->workers) < 0) {
        sl__cli_usage_error("run",
                            "--workers: expected a number of threads (0: one per core), "
                            "got '%s'",
                            v);
        return -1;
    } else if (r != 0) {
        return r;
    }
    if ((r = sl__cli_option("run", argc, argv, i, "--log-level", &v)) > 0 &&
        (ra->log_level = sl_log_level_parse(v)) < 0) {
        sl__cli_usage_error("run", "--log-level: expected error, warn, info or debug, got '%s'", v);
        return -1;
    } else if (r != 0) {
        return r;
    }
    if ((r = sl__cli_option("run", argc, argv, i, "--log-format", &v)) > 0 &&
        (ra->log_format = sl_log_format_parse(v)) < 0) {
        sl__cli_usage_error("run", "--log-format: expected text or json, got '%s'", v);
        return -1;
    } else if (r != 0) {
        return r;
    }
    if ((r = sl__cli_option("run", argc, argv, i, "--http", &v)) > 0) {
        ra->http = v;
        return 1;
    } else if (r != 0) {
        return r;
    }
    if (strcmp(argv[*i], "--fresh") == 0) {
        ra->fresh = 1;
        return 1;
    }
    if (strcmp(argv[*i], "--status") == 0 || strcmp(argv[*i], "--no-status") == 0) {
        ra->status = argv[*i][2] == 's';
        return 1;
    }
    return 0;
}

/* Apply the command-line overrides to a loaded context. */
static int run_apply(sl_context *ctx, const run_args *ra) {
    const char *what = NULL;
    if (ra->batches >= 0 && sl_context_set_max_batches(ctx, ra->batches) < 0)
        what = "--batches";
    else if (ra->clock >= 0 && sl_context_set_clock(ctx, (sl_clock_kind)ra->clock) < 0)
        what = "--clock";
    else if (ra->start_time >= SL_START_NOW && sl_context_set_start_time(ctx, ra->start_time) < 0)
        what = "--start-time";
    else if (ra->workers >= 0 && sl_context_set_workers(ctx, (int)ra->workers) < 0)
        what = "--workers";
    else if (ra->status != -2 && sl_context_set_status_line(ctx, ra->status) < 0)
        what = "--status";
    else if (ra->fresh && sl_context_set_fresh(ctx, 1) < 0)
        what = "--fresh";
    else if (ra->http && sl_context_serve_http(ctx, ra->http) < 0)
        what = "--http";
    if (!what)
        return 0;
    sl__cli_usage_error("run", "%s: %s", what, sl_context_errmsg(ctx));
    return -1;
}

/* The address the HTTP server listens on, with the port it got (port 0
 * asks for a free one). */
static const char *http_shown(sl_context *ctx) {
    static char buf[320];
    const char *a = sl_context_http_address(ctx);
    const char *colon = a ? strrchr(a, ':') : NULL;
    if (!colon)
        return "?";
    snprintf(buf, sizeof buf, "%.*s:%d", (int)(colon - a), a, sl_context_http_port(ctx));
    return buf;
}

/* Start the context and wait for it to terminate. Returns the exit code. */
static int run_context(sl_context *ctx, const char *file, int64_t timeout_ms) {
    sl__cli_signals_install(ctx);
    int rc = sl_context_start(ctx);
    if (rc < 0) {
        /* name the stream or output (its name: or output-N) that failed */
        const char *who = sl_context_errstream(ctx);
        sl__cli_signals_restore();
        fprintf(stderr, "%s: %s%s%s\n", file, who ? who : "", who ? ": " : "",
                sl_context_errmsg(ctx));
        return sl__cli_start_exit_code(rc);
    }
    if (sl_context_http_port(ctx) > 0)
        fprintf(stderr,
                "sluice: serving the page at http://%s/ (and /metrics, /health, /ready, "
                "/api/v1)\n",
                http_shown(ctx));
    if (timeout_ms > 0) {
        rc = sl_context_await_termination_or_timeout(ctx, timeout_ms);
        if (rc == 0) /* timed out: stop gracefully, as after a signal */
            rc = sl_context_stop(ctx);
    } else {
        rc = sl_context_await_termination(ctx);
    }
    sl__cli_signals_restore();
    if (rc < 0) {
        fprintf(stderr, "sluice: %s: %s\n", file, sl_context_errmsg(ctx));
        return CLI_EXIT_RUNTIME;
    }
    /* the engine has logged each as an ERROR (a line of --log-format json too) */
    if (sl_context_sources_never_connected(ctx) > 0)
        return CLI_EXIT_RUNTIME;
    return CLI_EXIT_OK;
}

static int cmd_run(int argc, char **argv) {
    run_args ra = {.batches = -1,
                   .timeout_ms = -1,
                   .clock = -1,
                   .start_time = SL_START_NOW - 1,
                   .workers = -1,
                   .log_level = -1,
                   .log_format = -1,
                   .status = -2};
    if (common_init(&ra.c, argc) < 0)
        return CLI_EXIT_RUNTIME;
    int code = CLI_EXIT_USAGE, dashdash = 0;
    for (int i = 1; i < argc; i++) {
        int r = dashdash ? 0 : run_option(argc, argv, &i, &ra);
        if (r == 0)
            r = common_arg("run", argc, argv, &i, &dashdash, &ra.c, 1);
        if (r < 0)
            goto out;
    }
    if (!ra.c.file) {
        sl__cli_usage_error("run", "missing the pipeline FILE");
        goto out;
    }
    if (ra.log_level >= 0)
        sl_log_set_level(ra.log_level);
    if (ra.log_format >= 0)
        sl_log_set_format(ra.log_format);
    sl_context *ctx = load_pipeline(&ra.c, 0);
    if (!ctx)
        goto out;
    if (run_apply(ctx, &ra) == 0)
        code = run_context(ctx, pipeline_name(&ra.c), ra.timeout_ms);
    sl_context_free(ctx);
out:
    free(ra.c.dirs);
    return code;
}

/* ---- validate, graph, plugins, version ------------------------------------------ */

static int cmd_validate(int argc, char **argv) {
    common_args ca;
    if (common_init(&ca, argc) < 0)
        return CLI_EXIT_RUNTIME;
    int code = CLI_EXIT_USAGE, dashdash = 0;
    for (int i = 1; i < argc; i++)
        if (common_arg("validate", argc, argv, &i, &dashdash, &ca, 1) < 0)
            goto out;
    if (!ca.file) {
        sl__cli_usage_error("validate", "missing the pipeline FILE");
        goto out;
    }
    sl_context *ctx = load_pipeline(&ca, 1);
    if (!ctx)
        goto out;
    char *graph = sl_context_graph(ctx, SL_GRAPH_TEXT); /* checks the graph */
    if (!graph) {
        fprintf(stderr, "%s: %s\n", pipeline_name(&ca), sl_context_errmsg(ctx));
    } else {
        size_t ns = sl_context_stream_count(ctx), no = sl_context_output_count(ctx);
        printf("%s: ok (%zu stream%s, %zu output%s)\n", pipeline_name(&ca), ns, ns == 1 ? "" : "s",
               no, no == 1 ? "" : "s");
        code = CLI_EXIT_OK;
    }
    free(graph);
    sl_context_free(ctx);
out:
    free(ca.dirs);
    return code;
}

/* Print a malloc'd text, ending it with a newline, and free it. */
static void print_text(char *text) {
    size_t n = strlen(text);
    fputs(text, stdout);
    if (n == 0 || text[n - 1] != '\n')
        putchar('\n');
    free(text);
}

static int cmd_graph(int argc, char **argv) {
    common_args ca;
    if (common_init(&ca, argc) < 0)
        return CLI_EXIT_RUNTIME;
    int code = CLI_EXIT_USAGE, dashdash = 0, dot = 0;
    for (int i = 1; i < argc; i++) {
        if (!dashdash && strcmp(argv[i], "--dot") == 0)
            dot = 1;
        else if (common_arg("graph", argc, argv, &i, &dashdash, &ca, 1) < 0)
            goto out;
    }
    if (!ca.file) {
        sl__cli_usage_error("graph", "missing the pipeline FILE");
        goto out;
    }
    sl_context *ctx = load_pipeline(&ca, 0);
    if (!ctx)
        goto out;
    char *graph = sl_context_graph(ctx, dot ? SL_GRAPH_DOT : SL_GRAPH_TEXT);
    if (!graph) {
        fprintf(stderr, "%s: %s\n", pipeline_name(&ca), sl_context_errmsg(ctx));
    } else {
        print_text(graph);
        code = CLI_EXIT_OK;
    }
    sl_context_free(ctx);
out:
    free(ca.dirs);
    return code;
}

static int cmd_plugins(int argc, char **argv) {
    common_args ca;
    if (common_init(&ca, argc) < 0)
        return CLI_EXIT_RUNTIME;
    int code = CLI_EXIT_USAGE, dashdash = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!dashdash && strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (common_arg("plugins", argc, argv, &i, &dashdash, &ca, 0) < 0)
            goto out;
    }
    sl_context *ctx = sl_context_new(1000);
    if (!ctx) {
        fprintf(stderr, "sluice: out of memory\n");
        code = CLI_EXIT_RUNTIME;
        goto out;
    }
    for (size_t i = 0; i < ca.ndirs; i++) {
        if (sl_context_add_plugin_dir(ctx, ca.dirs[i]) < 0) {
            sl__cli_usage_error("plugins", "--plugin-path '%s': %s", ca.dirs[i],
                                sl_context_errmsg(ctx));
            goto done;
        }
    }
    char *text = sl_context_describe_plugins(ctx, json);
    if (!text) {
        fprintf(stderr, "sluice: %s\n", sl_context_errmsg(ctx));
        code = CLI_EXIT_RUNTIME;
    } else {
        print_text(text);
        code = CLI_EXIT_OK;
    }
done:
    sl_context_free(ctx);
out:
    free(ca.dirs);
    return code;
}

static int cmd_version(int argc, char **argv) {
    if (argc > 1)
        return sl__cli_usage_error("version", "unexpected argument '%s'", argv[1]);
    printf("sluice %s (plugin ABI %d.%d)\n", SLUICE_VERSION, SL_ABI_MAJOR, SL_ABI_MINOR);
    return CLI_EXIT_OK;
}

/* ---- dispatch ----------------------------------------------------------------------- */

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv); /* argv[0] is the command's name */
    const char *help;
} command;

static int cmd_help(int argc, char **argv);

static const command commands[] = {
    {"run", cmd_run, run_help},
    {"validate", cmd_validate, validate_help},
    {"graph", cmd_graph, graph_help},
    {"plugins", cmd_plugins, plugins_help},
    {"top", sl__cli_top, sl__cli_top_help},
    {"demo", sl__cli_demo, sl__cli_demo_help},
    {"version", cmd_version, version_help},
    {"help", cmd_help, help_help},
};

static const command *find_command(const char *name) {
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int cmd_help(int argc, char **argv) {
    if (argc < 2) {
        sl__cli_put_text(main_help, stdout);
        return CLI_EXIT_OK;
    }
    if (argc > 2)
        return sl__cli_usage_error("help", "unexpected argument '%s'", argv[2]);
    const command *c = find_command(argv[1]);
    if (!c)
        return sl__cli_usage_error(NULL, "unknown command '%s'", argv[1]);
    sl__cli_put_text(c->help, stdout);
    return CLI_EXIT_OK;
}

int main(int argc, char **argv) {
    /* A pipeline allocates and frees much the same large buffers every
     * batch. Serve them from the heap and keep freed memory, instead of
     * mmap/munmap per buffer and a page fault per page every batch. The
     * process is ours, so the CLI (not the library) decides. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    if (argc < 2) {
        sl__cli_put_text(main_help, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        sl__cli_put_text(main_help, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0)
        return cmd_version(1, argv + 1);
    const command *c = find_command(name);
    if (!c)
        return sl__cli_usage_error(NULL, "unknown command '%s'", name);
    if (wants_help(argc - 1, argv + 1)) {
        sl__cli_put_text(c->help, stdout);
        return CLI_EXIT_OK;
    }
    return c->fn(argc - 1, argv + 1);
}

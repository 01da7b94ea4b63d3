/*
 * cli/top.c — `sluice top`: a live terminal view of a running sluice, read
 * from its HTTP API (docs/cli.md, "sluice top"), as `vector top` is for
 * Vector.
 *
 * Every interval it GETs /api/v1/status and /api/v1/batches (and
 * /api/v1/graph once per connection) with the small client of
 * httpclient.c, parses them with the engine's JSON parser (host->json_parse)
 * and redraws the frame top_view.c renders, on the alternate screen, with
 * the terminal in raw mode so that one key quits. Signals only write a byte
 * to a pipe; the loop polls that pipe, stdin and the clock, so that the
 * terminal is restored on every way out: q, Ctrl-C, SIGTERM, SIGHUP, a
 * terminal that goes away. With --once it prints one plain frame instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sluice/sluice.h>

#include "cli.h"
#include "httpclient.h"
#include "top.h"

const char sl__cli_top_help[] =
    "usage: sluice top [--url URL] [--interval MS] [--once]\n"
    "\n"
    "Watch a running sluice (started with 'sluice run FILE --http ADDR'): its state,\n"
    "batches, input rate and delays, sources, outputs, stateful streams, checkpoints and a\n"
    "sparkline of the processing time of the last batches, read from its HTTP API and\n"
    "redrawn every interval on the whole terminal, as 'vector top' does. q or Ctrl-C\n"
    "quits. While the instance cannot be reached, top says so and keeps trying.\n"
    "\n"
    "options:\n"
    "  --url URL        the instance's HTTP address (default http://127.0.0.1:4195)\n"
    "  --interval MS    redraw every MS milliseconds, or a duration such as 2s (default\n"
    "                   1000; from 100 ms to 1 hour)\n"
    "  --once           print one frame as plain text to stdout and exit\n"
    "  -h, --help       print this help\n"
    "\n"
    "exit status: 0 after q, Ctrl-C, SIGTERM or a --once frame; 1 when --once cannot get\n"
    "the figures (the instance cannot be reached or its answer is unusable); 2 for a usage\n"
    "error, or when stdin or stdout is not a terminal without --once.\n"
    "\n"
    "example:\n"
    "  sluice run examples/network_wordcount.yaml --http 127.0.0.1:4195 &\n"
    "  sluice top\n"
    "  sluice top --url http://127.0.0.1:4195 --once\n";

#define DEFAULT_URL "http://127.0.0.1:4195"
#define REQUEST_TIMEOUT_MS 3000 /* per request: a hung server costs this much */
#define MAX_RESPONSE (8u << 20) /* bytes: a status is a few KiB, 1000 batches < 1 MiB */
#define SPARK_BATCHES 120       /* batches asked for the sparkline */

/* ---- options ------------------------------------------------------------------------------ */

typedef struct top_args {
    const char *url;
    int64_t interval_ms;
    int once;
} top_args;

/* --interval: a whole number of ms, or a duration with a unit. 0 or -1. */
static int parse_interval(const char *s, int64_t *ms) {
    if (sl__cli_parse_int(s, 1, INT64_MAX, ms) == 0)
        return 0;
    size_t n = strlen(s);
    if (n && (s[n - 1] < 'a' || s[n - 1] > 'z')) /* "1.5": seconds or ms? refuse it */
        return -1;
    return sl_parse_duration(s, ms) == 0 ? 0 : -1;
}

/* Parse the command line: 0, or an exit code (after a usage error). */
static int top_parse(int argc, char **argv, top_args *ta) {
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if ((r = sl__cli_option("top", argc, argv, &i, "--url", &v)) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            ta->url = v;
        } else if ((r = sl__cli_option("top", argc, argv, &i, "--interval", &v)) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            if (parse_interval(v, &ta->interval_ms) < 0 || ta->interval_ms < 100 ||
                ta->interval_ms > 3600000)
                return sl__cli_usage_error("top",
                                           "--interval: expected milliseconds from 100 to "
                                           "3600000, or a duration like 2s, got '%s'",
                                           v);
        } else if (strcmp(argv[i], "--once") == 0) {
            ta->once = 1;
        } else if (argv[i][0] == '-') {
            return sl__cli_usage_error("top", "unknown option '%s'", argv[i]);
        } else {
            return sl__cli_usage_error("top",
                                       "unexpected argument '%s' (the address goes "
                                       "in --url)",
                                       argv[i]);
        }
    }
    return 0;
}

/* ---- fetching ----------------------------------------------------------------------------- */

/* One endpoint's last good answer: the parsed value lives in mem. */
typedef struct answer {
    sl_mem *mem;
    sl_value value;
    int ok;
} answer;

static void answer_clear(answer *a) {
    if (a->mem)
        sl_host_api()->mem_free(a->mem);
    memset(a, 0, sizeof *a);
}

/* Format into err[0..cap), cut to fit: messages are meant to be cut. */
static void say(char *err, size_t cap, const char *fmt, ...) SL_PRINTF(3, 4);
static void say(char *err, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* GET path and parse its JSON into *a (replacing what it held, only on
 * success). Returns 0, or a negative SL__HTTP_E* with a message in err:
 * "cannot reach URL: ..." when there is no connection, else "URL/path: ...". */
static int fetch(const sl__http_url *u, const char *path, const int *wake, int nwake, answer *a,
                 char *err, size_t cap) {
    const sl_host *host = sl_host_api();
    sl__http_response resp;
    char msg[768];
    int rc = sl__http_get(u, path, REQUEST_TIMEOUT_MS, MAX_RESPONSE, wake, nwake, &resp, msg,
                          sizeof msg);
    if (rc == SL__HTTP_EUNREACHABLE) {
        say(err, cap, "cannot reach %s: %s", u->text, msg);
        return rc;
    }
    if (rc < 0) {
        say(err, cap, "%s%s: %s", u->text, path, msg);
        return rc;
    }
    if (resp.status != 200) {
        say(err, cap, "%s%s: HTTP %d: %.200s", u->text, path, resp.status, resp.body);
        free(resp.buf);
        return SL__HTTP_EPROTOCOL;
    }
    sl_mem *mem = host->mem_new();
    sl_value v;
    sl_error e = {0};
    if (!mem || host->json_parse(resp.body, resp.body_len, &v, mem, &e) < 0 ||
        v.type != SL_OBJECT) {
        say(err, cap, "%s%s: %s%s", u->text, path, !mem ? "out of memory" : "malformed JSON: ",
            !mem       ? ""
            : e.msg[0] ? e.msg
                       : "not an object");
        if (mem)
            host->mem_free(mem);
        free(resp.buf);
        return SL__HTTP_EPROTOCOL;
    }
    free(resp.buf);
    answer_clear(a);
    a->mem = mem, a->value = v, a->ok = 1;
    return 0;
}

/* What top knows about the instance. */
typedef struct top_state {
    sl__http_url url;
    int64_t interval_ms;
    answer status, batches, graph;
    char problem[1024]; /* the last fetch's failure, or "" */
    int64_t fetched_ms; /* monotonic time of the last good status */
} top_state;

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Refresh status and batches, and the graph when there is none. On a
 * failure of the status, the old figures stay and ts->problem says why.
 * Batches and graph are extras: an instance without them still shows.
 * Returns 0, or the status's SL__HTTP_E* code. */
static int refresh(top_state *ts, const int *wake, int nwake) {
    char path[64], ignored[256];
    int rc = fetch(&ts->url, "/api/v1/status", wake, nwake, &ts->status, ts->problem,
                   sizeof ts->problem);
    if (rc < 0) {
        if (rc == SL__HTTP_EUNREACHABLE)
            answer_clear(&ts->graph); /* it may come back as another pipeline */
        return rc;
    }
    ts->problem[0] = '\0';
    ts->fetched_ms = mono_ms();
    snprintf(path, sizeof path, "/api/v1/batches?n=%d", SPARK_BATCHES);
    if (fetch(&ts->url, path, wake, nwake, &ts->batches, ignored, sizeof ignored) ==
        SL__HTTP_EINTERRUPTED)
        return 0;
    if (!ts->graph.ok)
        fetch(&ts->url, "/api/v1/graph", wake, nwake, &ts->graph, ignored, sizeof ignored);
    return 0;
}

/* Render the current figures for a screen of cols x rows (0: no limit). */
static char *render(const top_state *ts, int cols, int rows, int interactive) {
    const char *lang = getenv("LC_ALL");
    if (!lang || !*lang)
        lang = getenv("LC_CTYPE");
    if (!lang || !*lang)
        lang = getenv("LANG");
    char problem[1100];
    if (ts->problem[0])
        snprintf(problem, sizeof problem, "%s%s", ts->problem, interactive ? "; retrying" : "");
    sl__top_view v = {.url = ts->url.text,
                      .interval_ms = ts->interval_ms,
                      .width = cols,
                      .height = rows,
                      .utf8 = lang && (strcasestr(lang, "utf-8") || strcasestr(lang, "utf8")),
                      .interactive = interactive,
                      .problem = ts->problem[0] ? problem : NULL,
                      .age_ms = mono_ms() - ts->fetched_ms};
    sl__top_data d = {ts->status.ok ? &ts->status.value : NULL,
                      ts->batches.ok ? &ts->batches.value : NULL,
                      ts->graph.ok ? &ts->graph.value : NULL};
    return sl__top_render(&v, &d);
}

/* ---- the terminal ------------------------------------------------------------------------- */

static struct termios saved_tio;
static int term_active; /* raw mode and the alternate screen are on */
static int sig_pipe[2] = {-1, -1};

/* Write all of s[0..n) to fd: 0, or -1 (the terminal is gone). */
static int write_all(int fd, const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            poll(&pf, 1, 100);
            continue;
        }
        if (w <= 0)
            return -1;
        s += w, n -= (size_t)w;
    }
    return 0;
}

/* Raw mode (no echo, no line editing, keys as bytes: Ctrl-C is a byte),
 * the alternate screen, no cursor. 0, or -1 when stdin is no terminal. */
static int term_raw(void) {
    struct termios raw = saved_tio;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
    raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) < 0)
        return -1;
    term_active = 1;
    static const char enter[] = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";
    write_all(STDOUT_FILENO, enter, sizeof enter - 1);
    return 0;
}

/* Save the terminal's modes and take it over (term_raw). */
static int term_enter(void) {
    if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
        return -1;
    return term_raw();
}

/* Undo term_enter: the normal screen as it was, the cursor, the saved
 * terminal modes. Safe to call twice (also from atexit). */
static void term_leave(void) {
    if (!term_active)
        return;
    term_active = 0;
    static const char leave[] = "\x1b[?25h\x1b[?1049l";
    write_all(STDOUT_FILENO, leave, sizeof leave - 1);
    tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
}

/* The terminal's size; 80x24 when it does not say. */
static void term_size(int *cols, int *rows) {
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        *cols = ws.ws_col, *rows = ws.ws_row;
    } else {
        *cols = 80, *rows = 24;
    }
}

/* Draw a frame over the previous one: home, each line then "clear to the
 * end of the line", then "clear to the end of the screen". No newline
 * after a last line on the last row, so that a full screen does not
 * scroll (the caller cut the frame to the rows). 0, or -1 when the
 * terminal is gone. */
static int term_draw(const char *text, int rows) {
    size_t n = strlen(text), o = 0;
    char *out = malloc(n * 2 + 64);
    if (!out)
        return 0; /* skip a frame; the next may fit */
    memcpy(out, "\x1b[H", 3), o = 3;
    int line = 0;
    for (const char *p = text; *p; line++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (line)
            memcpy(out + o, "\r\n", 2), o += 2;
        memcpy(out + o, p, len), o += len;
        memcpy(out + o, "\x1b[K", 3), o += 3;
        p += len + (nl != NULL);
    }
    if (line > 0 && line < rows)
        memcpy(out + o, "\r\n", 2), o += 2;
    if (line < rows)
        memcpy(out + o, "\x1b[J", 3), o += 3;
    int rc = write_all(STDOUT_FILENO, out, o);
    free(out);
    return rc;
}

/* Signals become bytes on sig_pipe: the loop acts on them. */
static void on_signal(int sig) {
    int saved = errno;
    char c = (char)sig;
    ssize_t w = write(sig_pipe[1], &c, 1);
    (void)w;
    errno = saved;
}

static const int handled_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGCONT, SIGTSTP};
#define NSIGNALS (sizeof handled_signals / sizeof handled_signals[0])

static int signals_install(void) {
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NSIGNALS; i++)
        sigaction(handled_signals[i], &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void signals_restore(void) {
    for (size_t i = 0; i < NSIGNALS; i++)
        signal(handled_signals[i], SIG_DFL);
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    sig_pipe[0] = sig_pipe[1] = -1;
}

/* Ctrl-Z (a byte in raw mode) or SIGTSTP: give the terminal back, stop,
 * and take it again when continued. */
static void suspend(void) {
    term_leave();
    signal(SIGTSTP, SIG_DFL);
    raise(SIGTSTP);
    /* continued */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTSTP, &sa, NULL);
    term_enter();
}

/* ---- the loops ---------------------------------------------------------------------------- */

enum { EV_NONE, EV_QUIT, EV_REDRAW, EV_CLEAR };

/* Act on what the signal pipe holds. */
static int signal_events(void) {
    char buf[64];
    int ev = EV_NONE;
    ssize_t n;
    while ((n = read(sig_pipe[0], buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++) {
            int sig = buf[i];
            if (sig == SIGWINCH && ev < EV_REDRAW)
                ev = EV_REDRAW;
            else if (sig == SIGTSTP) {
                suspend();
                ev = ev == EV_QUIT ? ev : EV_CLEAR;
            } else if (sig == SIGCONT) {
                /* stopped by SIGSTOP and continued: the shell may have
                 * reset the modes in between */
                if (term_active)
                    term_raw();
                ev = ev == EV_QUIT ? ev : EV_CLEAR;
            } else if (sig != SIGWINCH && sig != SIGCONT)
                ev = EV_QUIT;
        }
    return ev;
}

/* Act on the keys stdin holds: q, Q, Ctrl-C, Ctrl-D quit; Ctrl-L redraws;
 * Ctrl-Z suspends. EOF (the terminal is gone) quits. */
static int key_events(void) {
    unsigned char buf[64];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
        return EV_QUIT;
    int ev = EV_NONE;
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == 'q' || buf[i] == 'Q' || buf[i] == 3 || buf[i] == 4)
            return EV_QUIT;
        if (buf[i] == 12)
            ev = EV_CLEAR;
        if (buf[i] == 26) {
            suspend();
            ev = EV_CLEAR;
        }
    }
    return ev;
}

/* Draw the current figures on the whole terminal: 0, or -1 when it is gone. */
static int redraw(const top_state *ts, int clear) {
    int cols, rows;
    term_size(&cols, &rows);
    if (clear && write_all(STDOUT_FILENO, "\x1b[2J", 4) < 0)
        return -1;
    char *text = render(ts, cols, rows, 1);
    int rc = text ? term_draw(text, rows) : 0;
    free(text);
    return rc;
}

/* The live view, until a quit. Returns the exit code. */
static int top_live(top_state *ts) {
    if (signals_install() < 0) {
        fprintf(stderr, "sluice top: %s\n", strerror(errno));
        return CLI_EXIT_RUNTIME;
    }
    if (term_enter() < 0) {
        signals_restore();
        fprintf(stderr, "sluice top: cannot set up the terminal: %s\n", strerror(errno));
        return CLI_EXIT_RUNTIME;
    }
    atexit(term_leave);
    const int wake[2] = {STDIN_FILENO, sig_pipe[0]};
    int64_t next = mono_ms();
    int ev = EV_NONE;
    while (ev != EV_QUIT) {
        int64_t now = mono_ms();
        if (now >= next) {
            if (refresh(ts, wake, 2) == SL__HTTP_EINTERRUPTED) {
                next = now; /* answer the key or signal, then fetch again */
            } else {
                next = now + ts->interval_ms;
                if (redraw(ts, 0) < 0)
                    break;
            }
        }
        struct pollfd pf[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                               {.fd = sig_pipe[0], .events = POLLIN}};
        int64_t left = next - mono_ms();
        int r = poll(pf, 2, left < 0 ? 0 : (int)left);
        if (r <= 0)
            continue;
        ev = EV_NONE;
        if (pf[1].revents)
            ev = signal_events();
        if (ev != EV_QUIT && pf[0].revents) {
            int k = key_events();
            ev = k > ev ? k : ev;
        }
        if ((ev == EV_REDRAW || ev == EV_CLEAR) && redraw(ts, ev == EV_CLEAR) < 0)
            break;
    }
    term_leave();
    signals_restore();
    return CLI_EXIT_OK;
}

/* --once: one frame to stdout, plain. */
static int top_once(top_state *ts) {
    int rc = refresh(ts, NULL, 0);
    if (rc < 0) {
        fprintf(stderr, "sluice top: %s\n", ts->problem);
        return CLI_EXIT_RUNTIME;
    }
    int cols = 0, rows;
    if (isatty(STDOUT_FILENO)) {
        term_size(&cols, &rows);
    } else {
        const char *c = getenv("COLUMNS");
        int64_t v;
        if (c && sl__cli_parse_int(c, 20, 10000, &v) == 0)
            cols = (int)v;
    }
    char *text = render(ts, cols, 0, 0);
    if (!text) {
        fprintf(stderr, "sluice top: out of memory\n");
        return CLI_EXIT_RUNTIME;
    }
    fputs(text, stdout);
    free(text);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
}

int sl__cli_top(int argc, char **argv) {
    top_args ta = {.url = DEFAULT_URL, .interval_ms = 1000};
    int code = top_parse(argc, argv, &ta);
    if (code)
        return code;
    top_state *ts = calloc(1, sizeof *ts);
    if (!ts) {
        fprintf(stderr, "sluice top: out of memory\n");
        return CLI_EXIT_RUNTIME;
    }
    char err[1024];
    if (sl__http_url_parse(ta.url, &ts->url, err, sizeof err) < 0) {
        free(ts);
        return sl__cli_usage_error("top", "--url: %s", err);
    }
    ts->interval_ms = ta.interval_ms;
    if (ta.once)
        code = top_once(ts);
    else if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        code = sl__cli_usage_error("top", "stdin and stdout must be a terminal; --once prints "
                                          "one plain frame");
    else
        code = top_live(ts);
    answer_clear(&ts->status);
    answer_clear(&ts->batches);
    answer_clear(&ts->graph);
    free(ts);
    return code;
}

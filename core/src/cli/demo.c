/*
 * cli/demo.c — `sluice demo`: the network word count, with nothing else running.
 *
 * It plays the part of `nc -lk 9999` itself: a feeder thread listens on an
 * ephemeral port of 127.0.0.1 and writes a line of a nursery rhyme every
 * 100 ms to whoever connects. Then it loads the same YAML as
 * examples/network_wordcount.yaml (PORT and BATCH_INTERVAL set in the
 * environment) and runs a few batches on the system clock, so that the
 * first command a user types shows real micro-batches and real counts. The
 * feeder stops writing just before the last batch is cut, so that the run
 * ends with every line it sent counted (a graceful stop warns about lines
 * received after the last batch).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sluice/sluice.h>

#include "cli.h"

const char sl__cli_demo_help[] =
    "usage: sluice demo [--batches N] [--interval DURATION] [--plugin-path DIR]...\n"
    "\n"
    "Run Spark Streaming's network word count (examples/network_wordcount.yaml) with\n"
    "nothing else running: sluice serves a nursery rhyme on 127.0.0.1 (a line every\n"
    "100 ms, on a port the system picks), reads it with the socket source, and prints\n"
    "the word counts of every batch, as PySpark's pprint does.\n"
    "\n"
    "options:\n"
    "  --batches N            how many batches to run (default 5)\n"
    "  --interval DURATION    the batch interval: 500ms, 2s, 1m or seconds (default 1s)\n"
    "  --plugin-path DIR      search DIR for plugins too (repeatable)\n"
    "  -h, --help             print this help\n"
    "\n"
    "exit status: 0 after the last batch (or Ctrl-C), 1 if the pipeline failed, 2 for a\n"
    "usage error or when the pipeline cannot be loaded (e.g. plugins not found).\n"
    "\n"
    "example:\n"
    "  sluice demo --batches 3 --interval 2s\n"
    "then the same on your own text:\n"
    "  nc -lk 9999                                                # in another terminal\n"
    "  sluice run examples/network_wordcount.yaml --timeout 60\n";

/* The pipeline: examples/network_wordcount.yaml, byte for byte. Keep the
 * two identical (regenerate this literal when the example changes). */
static const char demo_yaml[] =
    "# Spark Streaming's network word count, as a sluice pipeline.\n"
    "#\n"
    "#   nc -lk 9999                                             # terminal 1: type words\n"
    "#   sluice run examples/network_wordcount.yaml --timeout 60 # terminal 2\n"
    "#\n"
    "# Every 5 seconds sluice prints how often each word was typed in that batch.\n"
    "# `sluice demo` runs this same pipeline on a built-in text feed: its copy in\n"
    "# core/src/cli/demo.c must stay identical to this file.\n"
    "#\n"
    "# Each line below carries the PySpark line it answers.\n"
    "\n"
    "# sc.setLogLevel(\"WARN\")                  -> the default (sluice run --log-level warn)\n"
    "# ssc = StreamingContext(sc, 5)\n"
    "batch_interval: ${BATCH_INTERVAL:-5s}\n"
    "\n"
    "streams:\n"
    "  # lines = ssc.socketTextStream(\"localhost\", 9999)\n"
    "  lines:\n"
    "    source: socket\n"
    "    host: localhost\n"
    "    port: ${PORT:-9999}\n"
    "\n"
    "  # counts = lines.flatMap(lambda line: line.split(\" \"))\\\n"
    "  words:\n"
    "    flat_map: text.split\n"
    "    from: lines\n"
    "    sep: \" \"\n"
    "\n"
    "  #               .map(lambda word: (word, 1))\\\n"
    "  pairs:\n"
    "    map: kv.pair\n"
    "    from: words\n"
    "\n"
    "  #               .reduceByKey(add)\n"
    "  counts:\n"
    "    reduce_by_key: agg.sum\n"
    "    from: pairs\n"
    "\n"
    "outputs:\n"
    "  # counts.pprint()\n"
    "  - sink: pprint\n"
    "    from: counts\n"
    "\n"
    "# ssc.start()                             -> sluice run starts the pipeline\n"
    "# ssc.awaitTerminationOrTimeout(60)       -> sluice run ... --timeout 60\n";

/* What the feeder sends, one line at a time, over and over. */
static const char *const demo_text[] = {
    "twinkle twinkle little star",
    "how I wonder what you are",
    "up above the world so high",
    "like a diamond in the sky",
    "twinkle twinkle little star",
    "how I wonder what you are",
    "row row row your boat",
    "gently down the stream",
    "merrily merrily merrily merrily",
    "life is but a dream",
    "mary had a little lamb",
    "its fleece was white as snow",
    "and everywhere that mary went",
    "the lamb was sure to go",
    "jack and jill went up the hill",
    "to fetch a pail of water",
    "jack fell down and broke his crown",
    "and jill came tumbling after",
    "the itsy bitsy spider climbed up the water spout",
    "down came the rain and washed the spider out",
    "out came the sun and dried up all the rain",
    "and the itsy bitsy spider climbed up the spout again",
    "hickory dickory dock",
    "the mouse ran up the clock",
    "the clock struck one",
    "the mouse ran down",
    "hickory dickory dock",
    "baa baa black sheep have you any wool",
    "yes sir yes sir three bags full",
    "one for the master and one for the dame",
    "and one for the little boy who lives down the lane",
    "humpty dumpty sat on a wall",
    "humpty dumpty had a great fall",
    "all the king's horses and all the king's men",
    "couldn't put humpty together again",
};
#define DEMO_LINES (sizeof demo_text / sizeof demo_text[0])
#define DEMO_LINE_MS 100

/* ---- the feeder: a tiny `nc -lk` on loopback ------------------------------------ */

typedef struct feeder {
    int listen_fd;
    int port;
    pthread_t thread;
    int started;
    atomic_int stop;
    atomic_llong send_until; /* wall-clock ms after which nothing is sent; 0: no end */
    size_t next;             /* index of the next line to send */
} feeder;

/* The wall clock in ms, as the system clock's batch times are. */
static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Listen on 127.0.0.1 on a port the system picks (bind to port 0). */
static int feeder_open(feeder *f) {
    memset(f, 0, sizeof *f);
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->listen_fd < 0)
        return -1;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (bind(f->listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        listen(f->listen_fd, 4) < 0 ||
        getsockname(f->listen_fd, (struct sockaddr *)&addr, &len) < 0) {
        int saved = errno;
        close(f->listen_fd);
        f->listen_fd = -1;
        errno = saved;
        return -1;
    }
    f->port = ntohs(addr.sin_port);
    return 0;
}

/* Sleep `ms` milliseconds (interrupted sleeps resume). */
static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Write lines to one connection until the peer goes away or we stop. A line
 * the peer cannot take right now (backpressure) is skipped, never queued. */
static void feeder_serve(feeder *f, int fd) {
    char line[128];
    while (!atomic_load(&f->stop)) {
        int64_t until = atomic_load(&f->send_until);
        if (until && wall_ms() >= until) { /* the last batch is being cut: quiet */
            sleep_ms(DEMO_LINE_MS);
            continue;
        }
        int n = snprintf(line, sizeof line, "%s\n", demo_text[f->next]);
        ssize_t w = send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return; /* the receiver went away: wait for it to reconnect */
        if (w >= 0)
            f->next = (f->next + 1) % DEMO_LINES;
        sleep_ms(DEMO_LINE_MS);
    }
}

/* The feeder thread: accept a connection, feed it, repeat until stopped. */
static void *feeder_main(void *arg) {
    feeder *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd pfd = {.fd = f->listen_fd, .events = POLLIN};
        if (poll(&pfd, 1, DEMO_LINE_MS) <= 0)
            continue;
        int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        feeder_serve(f, fd);
        close(fd);
    }
    return NULL;
}

static int feeder_start(feeder *f) {
    atomic_store(&f->stop, 0);
    atomic_store(&f->send_until, 0);
    if (pthread_create(&f->thread, NULL, feeder_main, f) != 0)
        return -1;
    f->started = 1;
    return 0;
}

/* Stop the thread (within one line's pace) and close the socket. */
static void feeder_close(feeder *f) {
    atomic_store(&f->stop, 1);
    if (f->started)
        pthread_join(f->thread, NULL);
    if (f->listen_fd >= 0)
        close(f->listen_fd);
    f->started = 0;
    f->listen_fd = -1;
}

/* ---- the command ---------------------------------------------------------------- */

typedef struct demo_args {
    int64_t batches;
    const char *interval; /* as the user wrote it */
    int64_t interval_ms;
    const char **dirs; /* --plugin-path values, NULL-terminated */
    size_t ndirs;
} demo_args;

/* Parse the demo's options. Returns 0, or -1 after a usage error. */
static int demo_parse(int argc, char **argv, demo_args *da) {
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if ((r = sl__cli_option("demo", argc, argv, &i, "--batches", &v)) != 0) {
            if (r < 0)
                return -1;
            if (sl__cli_parse_int(v, 1, INT64_MAX, &da->batches) < 0) {
                sl__cli_usage_error("demo", "--batches: expected a positive number, got '%s'", v);
                return -1;
            }
        } else if ((r = sl__cli_option("demo", argc, argv, &i, "--interval", &v)) != 0) {
            if (r < 0)
                return -1;
            if (sl_parse_duration(v, &da->interval_ms) != 0 || da->interval_ms <= 0) {
                sl__cli_usage_error("demo",
                                    "--interval: expected a duration like 500ms, 2s or 1m, got "
                                    "'%s'",
                                    v);
                return -1;
            }
            da->interval = v;
        } else if ((r = sl__cli_option("demo", argc, argv, &i, "--plugin-path", &v)) != 0) {
            if (r < 0)
                return -1;
            da->dirs[da->ndirs++] = v;
        } else {
            sl__cli_usage_error("demo", "%s '%s'",
                                argv[i][0] == '-' ? "unknown option" : "unexpected argument",
                                argv[i]);
            return -1;
        }
    }
    return 0;
}

/* When the feeder falls quiet: DEMO_QUIET_MS (at most half an interval)
 * before the last batch's time, so that its last line is in that batch. */
#define DEMO_QUIET_MS 50

typedef struct demo_clock {
    feeder *f;
    int64_t batches, interval_ms;
    bool seen; /* the first batch's time is known (the engine thread only) */
} demo_clock;

static void demo_quiet_from(demo_clock *dc, int64_t first_batch) {
    int64_t quiet = dc->interval_ms / 2 < DEMO_QUIET_MS ? dc->interval_ms / 2 : DEMO_QUIET_MS;
    atomic_store(&dc->f->send_until, first_batch + (dc->batches - 1) * dc->interval_ms - quiet);
}

/* The first batch submitted: its time fixes the last one's. */
static void demo_on_batch(void *user, const sl_event *ev) {
    demo_clock *dc = user;
    if (ev->kind == SL_EVENT_BATCH_SUBMITTED && !dc->seen) {
        dc->seen = true;
        demo_quiet_from(dc, ev->u.batch.batch_time);
    }
}

/* Load the embedded pipeline against the feeder's port and run it.
 * Returns the exit code. */
static int demo_run(const demo_args *da, feeder *f) {
    char value[32], err[1024];
    snprintf(value, sizeof value, "%d", f->port);
    setenv("PORT", value, 1);
    snprintf(value, sizeof value, "%lldms", (long long)da->interval_ms);
    setenv("BATCH_INTERVAL", value, 1);
    sl_context *ctx = sl_config_load_string(demo_yaml, sizeof demo_yaml - 1,
                                            "network_wordcount.yaml (built into sluice demo)",
                                            da->dirs, err, sizeof err);
    if (!ctx) {
        fprintf(stderr, "sluice demo: %s\n", err);
        return CLI_EXIT_USAGE;
    }
    int code = CLI_EXIT_OK;
    sl_context_set_max_batches(ctx, da->batches);
    sl_context_set_clock(ctx, SL_CLOCK_SYSTEM);
    sl_context_set_status_line(ctx, 0); /* keep pprint's output clean */
    sl__cli_signals_install(ctx);
    /* the first batch is at the first multiple of the interval after the
     * start (docs/semantics.md); its SUBMITTED event confirms it, which
     * matters when the start crosses a multiple, unless it is the only one */
    demo_clock dc = {f, da->batches, da->interval_ms, false};
    sl_context_add_listener(ctx, SL_EVENT_MASK(SL_EVENT_BATCH_SUBMITTED), demo_on_batch, &dc);
    demo_quiet_from(&dc, (wall_ms() / da->interval_ms + 1) * da->interval_ms);
    int rc = sl_context_start(ctx);
    if (rc < 0) {
        fprintf(stderr, "sluice demo: %s\n", sl_context_errmsg(ctx));
        code = sl__cli_start_exit_code(rc);
    } else {
        /* The batches take batches * interval; allow for a slow start. */
        int64_t limit = da->batches * da->interval_ms + 30000;
        rc = sl_context_await_termination_or_timeout(ctx, limit);
        if (rc == 0) {
            fprintf(stderr, "sluice demo: %lld batches did not complete within %lld ms\n",
                    (long long)da->batches, (long long)limit);
            sl_context_stop(ctx);
            code = CLI_EXIT_RUNTIME;
        } else if (rc < 0) {
            fprintf(stderr, "sluice demo: %s\n", sl_context_errmsg(ctx));
            code = CLI_EXIT_RUNTIME;
        }
    }
    sl__cli_signals_restore();
    sl_context_free(ctx);
    return code;
}

int sl__cli_demo(int argc, char **argv) {
    demo_args da = {.batches = 5, .interval = "1s", .interval_ms = 1000};
    da.dirs = calloc((size_t)argc + 1, sizeof *da.dirs);
    if (!da.dirs) {
        fprintf(stderr, "sluice demo: out of memory\n");
        return CLI_EXIT_RUNTIME;
    }
    int code = CLI_EXIT_USAGE;
    if (demo_parse(argc, argv, &da) < 0)
        goto out;
    feeder f;
    if (feeder_open(&f) < 0) {
        fprintf(stderr, "sluice demo: cannot listen on 127.0.0.1: %s\n", strerror(errno));
        code = CLI_EXIT_RUNTIME;
        goto out;
    }
    const char *ex = sl__cli_examples_dir();
    fprintf(stderr,
            "sluice demo: network word count over a built-in feed on 127.0.0.1:%d, %lld "
            "batch%s of %s; see %s%snetwork_wordcount.yaml\n",
            f.port, (long long)da.batches, da.batches == 1 ? "" : "es", da.interval,
            ex ? ex : "examples", "/");
    if (feeder_start(&f) < 0) {
        fprintf(stderr, "sluice demo: cannot start the feeder thread\n");
        code = CLI_EXIT_RUNTIME;
    } else {
        code = demo_run(&da, &f);
    }
    feeder_close(&f);
    if (code == CLI_EXIT_OK)
        sl__cli_put_text("sluice demo: done. Now on your own text: run 'nc -lk 9999' in another "
                         "terminal, then 'sluice run examples/network_wordcount.yaml --timeout "
                         "60' and type lines into nc\n",
                         stderr);
out:
    free(da.dirs);
    return code;
}

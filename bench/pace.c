/*
 * pace — a steady feed of words, for the soak benchmark (bench/soak.sh).
 *
 *     pace [-r LINES_PER_S] [-d SECONDS] [-k KEYS] [-w WORDS] [-s SEED] PORTFILE|-
 *
 * Writes lines of WORDS words (default 8) drawn from KEYS distinct words ("w0" ...,
 * default 100000, uniformly, from a fixed PRNG seeded with SEED) at LINES_PER_S lines a
 * second (default 20000) for SECONDS seconds (default 60), in 10 ms steps: each step sends
 * what is due since the start, so a late step catches up and the long-run rate is exact.
 * With PORTFILE, pace listens on 127.0.0.1 on an ephemeral port, writes the port number
 * to PORTFILE (via a temporary file and rename), sends to the first client and closes;
 * with "-" it writes to stdout. A reader slower than the rate slows pace down (the
 * kernel's flow control); the lines are sent all the same. At the end pace prints
 * "lines=N words=M seconds=S" to stderr and exits 0; 1 on an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state;

/* splitmix64: fast, and the same words for the same seed on every machine. */
static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Write all of buf to fd; 0, or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Listen on 127.0.0.1:0, publish the port in portfile, accept one client. */
static int serve_one(const char *portfile) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &alen) < 0) {
        perror("pace: listen");
        return -1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) != 0 ||
        rename(tmp, portfile) != 0) {
        perror("pace: writing the port file");
        return -1;
    }
    int c = accept(s, NULL, NULL);
    close(s);
    if (c < 0)
        perror("pace: accept");
    return c;
}

/* Append one line of `words` random words to buf at *len (buf has room). */
static void add_line(char *buf, size_t *len, int words, uint64_t keys) {
    for (int i = 0; i < words; i++)
        *len += (size_t)sprintf(buf + *len, "%sw%llu", i ? " " : "",
                                (unsigned long long)(rng_next() % keys));
    buf[(*len)++] = '\n';
}

static int usage(void) {
    fprintf(stderr, "usage: pace [-r LINES_PER_S] [-d SECONDS] [-k KEYS] [-w WORDS] [-s SEED] "
                    "PORTFILE|-\n");
    return 2;
}

int main(int argc, char **argv) {
    double rate = 20000, seconds = 60;
    uint64_t keys = 100000;
    int words = 8, opt;
    rng_state = 1;
    while ((opt = getopt(argc, argv, "r:d:k:w:s:")) != -1) {
        switch (opt) {
        case 'r':
            rate = atof(optarg);
            break;
        case 'd':
            seconds = atof(optarg);
            break;
        case 'k':
            keys = strtoull(optarg, NULL, 10);
            break;
        case 'w':
            words = atoi(optarg);
            break;
        case 's':
            rng_state = strtoull(optarg, NULL, 10);
            break;
        default:
            return usage();
        }
    }
    if (optind != argc - 1 || rate <= 0 || seconds <= 0 || keys == 0 || words < 1 || words > 64)
        return usage();
    signal(SIGPIPE, SIG_IGN);
    int fd = strcmp(argv[optind], "-") == 0 ? 1 : serve_one(argv[optind]);
    if (fd < 0)
        return 1;
    /* a step's lines: at most 1 s worth at a time, 22 bytes per word at most */
    size_t step_max = (size_t)rate + 1, cap = step_max * (size_t)words * 22 + 1;
    char *buf = malloc(cap);
    if (!buf)
        return 1;
    unsigned long long sent = 0;
    double start = now_s(), t;
    while ((t = now_s() - start) < seconds) {
        unsigned long long due = (unsigned long long)(t * rate);
        size_t len = 0;
        for (size_t n = 0; sent < due && n < step_max; n++, sent++)
            add_line(buf, &len, words, keys);
        if (len && write_all(fd, buf, len) < 0) {
            perror("pace: write");
            return 1;
        }
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, NULL);
    }
    free(buf);
    if (fd != 1)
        close(fd);
    fprintf(stderr, "lines=%llu words=%llu seconds=%.2f\n", sent, sent * (unsigned long long)words,
            now_s() - start);
    return 0;
}

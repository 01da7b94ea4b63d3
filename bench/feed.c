/*
 * feed — a one-shot TCP server that sends a file to the first client, for sluice's socket
 * source (a TCP client, as Spark's socketTextStream).
 *
 *     feed [-t ACCEPT_TIMEOUT_S] FILE PORTFILE
 *
 * Listens on 127.0.0.1 on an ephemeral port, writes the port number to PORTFILE (via a
 * temporary file and rename, so that a reader sees all of it or nothing), accepts one
 * connection, sends FILE with sendfile(2) as fast as the reader takes it (the kernel's
 * flow control is sluice's backpressure), then closes the connection and exits 0. Exits 1
 * if no client connects within ACCEPT_TIMEOUT_S seconds (default 60).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Listen on 127.0.0.1:0; returns the socket and stores the port, or -1. */
static int listen_loopback(int *port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &alen) < 0) {
        close(s);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return s;
}

/* Write "PORT\n" to path atomically (temp file + rename). Returns 0 or -1. */
static int write_port(const char *path, int port) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

/* Send all `size` bytes of fd `in` to socket `out`. Returns 0 or -1 with errno set. */
static int send_file(int out, int in, off_t size) {
    off_t off = 0;
    while (off < size) {
        size_t want = size - off > (1 << 30) ? (size_t)1 << 30 : (size_t)(size - off);
        ssize_t n = sendfile(out, in, &off, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) { /* the file shrank under us */
            errno = EIO;
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    int timeout_s = 60, opt;
    while ((opt = getopt(argc, argv, "t:")) != -1) {
        if (opt != 't') {
            fprintf(stderr, "usage: feed [-t ACCEPT_TIMEOUT_S] FILE PORTFILE\n");
            return 2;
        }
        timeout_s = atoi(optarg);
    }
    if (argc - optind != 2) {
        fprintf(stderr, "usage: feed [-t ACCEPT_TIMEOUT_S] FILE PORTFILE\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a reader that hangs up is an error we report, not a kill */
    int in = open(argv[optind], O_RDONLY);
    struct stat st;
    if (in < 0 || fstat(in, &st) < 0) {
        fprintf(stderr, "feed: %s: %s\n", argv[optind], strerror(errno));
        return 1;
    }
    int port;
    int ls = listen_loopback(&port);
    if (ls < 0 || write_port(argv[optind + 1], port) < 0) {
        fprintf(stderr, "feed: listen / port file: %s\n", strerror(errno));
        return 1;
    }
    struct pollfd p = {.fd = ls, .events = POLLIN};
    int pr;
    while ((pr = poll(&p, 1, timeout_s * 1000)) < 0 && errno == EINTR)
        ;
    if (pr <= 0) {
        fprintf(stderr, "feed: no client connected to 127.0.0.1:%d within %d s\n", port, timeout_s);
        return 1;
    }
    int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
        fprintf(stderr, "feed: accept: %s\n", strerror(errno));
        return 1;
    }
    close(ls);
    if (send_file(c, in, st.st_size) < 0) {
        fprintf(stderr, "feed: send: %s\n", strerror(errno));
        return 1;
    }
    shutdown(c, SHUT_WR);
    close(c);
    return 0;
}

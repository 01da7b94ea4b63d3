/*
 * zmq_pull.c — the raw libzmq receiver of bench/zmq.sh: a PULL socket that
 * binds ENDPOINT, receives N messages and prints the seconds from the first
 * to the last, and the rate: "N messages BYTES bytes SECONDS s RATE msgs/s".
 *
 *     zmq_pull ENDPOINT N
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zmq.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: zmq_pull ENDPOINT N\n");
        return 2;
    }
    long n = atol(argv[2]);
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_PULL);
    if (zmq_bind(sock, argv[1]) != 0) {
        fprintf(stderr, "zmq_pull: %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        return 1;
    }
    char buf[65536];
    long long bytes = 0;
    double t0 = 0;
    for (long i = 0; i < n; i++) {
        int len = zmq_recv(sock, buf, sizeof buf, 0);
        if (len < 0) {
            fprintf(stderr, "zmq_pull: recv: %s\n", zmq_strerror(zmq_errno()));
            return 1;
        }
        if (i == 0)
            t0 = now_s();
        bytes += len;
    }
    double secs = now_s() - t0;
    printf("%ld messages %lld bytes %.3f s %.0f msgs/s\n", n, bytes, secs,
           secs > 0 ? (double)(n - 1) / secs : 0.0);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return 0;
}

/*
 * zmq_push.c — the raw libzmq sender of bench/zmq.sh: a PUSH socket that
 * connects to ENDPOINT and sends N messages of SIZE bytes (default 100) as
 * fast as libzmq takes them, then waits (linger) until all went out.
 *
 *     zmq_push ENDPOINT N [SIZE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: zmq_push ENDPOINT N [SIZE]\n");
        return 2;
    }
    long n = atol(argv[2]);
    size_t size = argc > 3 ? (size_t)atol(argv[3]) : 100;
    char *msg = malloc(size ? size : 1);
    if (!msg || n <= 0)
        return 2;
    memset(msg, 'x', size);
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_PUSH);
    int linger = 60000;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(sock, argv[1]) != 0) {
        fprintf(stderr, "zmq_push: %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        return 1;
    }
    for (long i = 0; i < n; i++) {
        int len = snprintf(msg, size, "%ld", i); /* a distinct message, padded */
        if (len >= 0 && (size_t)len < size)
            msg[len] = ' ';
        if (zmq_send(sock, msg, size, 0) < 0) {
            fprintf(stderr, "zmq_push: send: %s\n", zmq_strerror(zmq_errno()));
            return 1;
        }
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    free(msg);
    return 0;
}

/*
 * peer.c — the loopback TCP server of the integration tests (see peer.h).
 *
 * One accept thread polls the listener in 50 ms slices (so peer_stop is
 * prompt) and appends each accepted socket to a fixed table; peer_accept
 * hands them to the test in order. All sockets belong to the peer and are
 * closed by peer_stop, also when a test fails half-way.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PEER_MAX_CONNS 64
#define PEER_POLL_MS 50
#define PEER_SEND_TIMEOUT_MS 10000

struct peer {
    int lfd;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int fds[PEER_MAX_CONNS]; /* accepted sockets, in order; -1 once closed */
    int naccepted;
    int ntaken;  /* fds[0 .. ntaken) were handed out by peer_accept */
    int current; /* index of the current connection, or -1 */
};

int64_t peer_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void peer_sleep_ms(int64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The accept loop: queue every connection until peer_stop. */
static void *peer_main(void *arg) {
    peer *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd pf = {.fd = p->lfd, .events = POLLIN, .revents = 0};
        if (poll(&pf, 1, PEER_POLL_MS) <= 0)
            continue;
        int fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&p->lock);
        if (p->naccepted < PEER_MAX_CONNS) {
            p->fds[p->naccepted++] = fd;
            pthread_cond_broadcast(&p->cond);
        } else {
            close(fd);
        }
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

/* A socket bound to 127.0.0.1:port (SO_REUSEADDR), or -1. */
static int peer_bind(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The port a bound socket has. */
static int peer_port_of(int fd) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return 0;
    return ntohs(a.sin_port);
}

int peer_free_port(void) {
    int fd = peer_bind(0);
    if (fd < 0)
        return 0;
    int port = peer_port_of(fd);
    close(fd);
    return port;
}

peer *peer_listen(int *port) {
    signal(SIGPIPE, SIG_IGN);
    peer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->current = -1;
    p->lfd = peer_bind(*port);
    if (p->lfd < 0 || listen(p->lfd, 16) < 0) {
        fprintf(stderr, "peer: cannot listen on 127.0.0.1:%d (%s)\n", *port, strerror(errno));
        if (p->lfd >= 0)
            close(p->lfd);
        free(p);
        return NULL;
    }
    *port = peer_port_of(p->lfd);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    atomic_init(&p->stop, false);
    if (pthread_create(&p->thread, NULL, peer_main, p) != 0) {
        close(p->lfd);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p);
        return NULL;
    }
    return p;
}

int peer_accept(peer *p, int timeout_ms) {
    if (!p)
        return -1;
    int64_t deadline = peer_now_ms() + timeout_ms;
    pthread_mutex_lock(&p->lock);
    while (p->ntaken == p->naccepted) {
        int64_t left = deadline - peer_now_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t slice = left < PEER_POLL_MS ? left : PEER_POLL_MS;
        ts.tv_nsec += (long)slice * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
    }
    int rc = -1;
    if (p->ntaken < p->naccepted) {
        p->current = p->ntaken++;
        rc = 0;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int peer_connections(peer *p) {
    pthread_mutex_lock(&p->lock);
    int n = p->naccepted;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* The current connection's socket, or -1. */
static int peer_fd(peer *p) {
    pthread_mutex_lock(&p->lock);
    int fd = p->current >= 0 ? p->fds[p->current] : -1;
    pthread_mutex_unlock(&p->lock);
    return fd;
}

int peer_send(peer *p, const void *buf, size_t len) {
    int fd = p ? peer_fd(p) : -1;
    if (fd < 0)
        return -1;
    const char *c = buf;
    int64_t deadline = peer_now_ms() + PEER_SEND_TIMEOUT_MS;
    while (len > 0) {
        struct pollfd pf = {.fd = fd, .events = POLLOUT, .revents = 0};
        int64_t left = deadline - peer_now_ms();
        if (left <= 0 || poll(&pf, 1, (int)(left < PEER_POLL_MS ? left : PEER_POLL_MS)) < 0)
            return -1;
        if (!(pf.revents & (POLLOUT | POLLERR | POLLHUP)))
            continue;
        ssize_t n = send(fd, c, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return -1;
        }
        c += n;
        len -= (size_t)n;
    }
    return 0;
}

int peer_send_str(peer *p, const char *s) {
    return peer_send(p, s, strlen(s));
}

int peer_send_lines(peer *p, const char *const *lines, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (peer_send_str(p, lines[i]) < 0 || peer_send(p, "\n", 1) < 0)
            return -1;
    return 0;
}

size_t peer_fill(peer *p, peer_gen_fn gen, void *ud, uint64_t start, size_t max_bytes,
                 int duration_ms) {
    int fd = p ? peer_fd(p) : -1;
    if (fd < 0)
        return 0;
    char buf[16384];
    size_t have = 0, pos = 0; /* buf[pos, have) is generated but not yet sent */
    size_t sent = 0;
    int64_t deadline = peer_now_ms() + duration_ms;
    while (sent < max_bytes) {
        int64_t left = deadline - peer_now_ms();
        if (left <= 0)
            break;
        if (pos == have) {
            size_t n = max_bytes - sent < sizeof buf ? max_bytes - sent : sizeof buf;
            gen(ud, start + sent, buf, n);
            have = n;
            pos = 0;
        }
        ssize_t n = send(fd, buf + pos, have - pos, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            pos += (size_t)n;
            sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            break;
        struct pollfd pf = {.fd = fd, .events = POLLOUT, .revents = 0};
        poll(&pf, 1, (int)(left < PEER_POLL_MS ? left : PEER_POLL_MS));
    }
    return sent;
}

void peer_set_sndbuf(peer *p, int bytes) {
    int fd = p ? peer_fd(p) : -1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

void peer_close_conn(peer *p) {
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->current >= 0 && p->fds[p->current] >= 0) {
        close(p->fds[p->current]);
        p->fds[p->current] = -1;
    }
    p->current = -1;
    pthread_mutex_unlock(&p->lock);
}

void peer_stop(peer *p) {
    if (!p)
        return;
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    for (int i = 0; i < p->naccepted; i++)
        if (p->fds[i] >= 0)
            close(p->fds[i]);
    close(p->lfd);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}

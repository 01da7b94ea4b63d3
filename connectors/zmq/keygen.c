/*
 * sluice-zmq-keygen — write a CURVE key pair for the zmq source and sink.
 *
 *     sluice-zmq-keygen [--force] NAME
 *
 * writes NAME.key (the public key, mode 644: give it to the peers, add it to
 * a server's curve_allow) and NAME.key_secret (both keys, mode 600: this
 * side's curve_keys), in the certificate format of czmq and pyzmq
 * (zmq.auth.load_certificate reads them), and prints the public key.
 * Existing files are kept unless --force. A program of its own so that the
 * sluice CLI does not link libzmq (docs/decisions.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static void usage(FILE *f) {
    fprintf(f, "usage: sluice-zmq-keygen [--force] NAME\n"
               "writes NAME.key (public key) and NAME.key_secret (key pair, mode 600)\n"
               "for the zmq source and sink's curve_keys, curve_server_key, curve_allow\n");
}

/* Write one certificate file; O_EXCL unless `force`. 0 or -1 (reported). */
static int write_cert(const char *path, const char *pub, const char *secret, int force) {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
    int fd = open(path, flags, secret ? 0600 : 0644);
    if (fd < 0) {
        fprintf(stderr, "sluice-zmq-keygen: %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (--force replaces it)" : "");
        return -1;
    }
    if (secret && fchmod(fd, 0600) != 0) { /* --force over a wider mode */
        fprintf(stderr, "sluice-zmq-keygen: %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    char stamp[64];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    char text[512];
    int n = snprintf(text, sizeof text,
                     "#   ****  Generated on %s by sluice-zmq-keygen  ****\n"
                     "#   ZeroMQ CURVE %s Certificate\n"
                     "#   %s\n\n"
                     "metadata\ncurve\n    public-key = \"%s\"\n%s%s%s",
                     stamp, secret ? "**Secret**" : "Public",
                     secret ? "DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions."
                            : "Exchange securely, or use a secure mechanism to verify the contents",
                     pub, secret ? "    secret-key = \"" : "", secret ? secret : "",
                     secret ? "\"\n" : "");
    int ok = n > 0 && (size_t)n < sizeof text && write(fd, text, (size_t)n) == n;
    memset(text, 0, sizeof text);
    if (close(fd) != 0 || !ok) {
        fprintf(stderr, "sluice-zmq-keygen: %s: cannot write it\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    int force = 0;
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0) {
            force = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || name) {
            fprintf(stderr, "sluice-zmq-keygen: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            name = argv[i];
        }
    }
    if (!name || !*name) {
        usage(stderr);
        return 2;
    }
    char pub[41], secret[41];
    if (zmq_curve_keypair(pub, secret) != 0) {
        fprintf(stderr, "sluice-zmq-keygen: libzmq cannot make CURVE keys: %s\n",
                zmq_strerror(zmq_errno()));
        return 1;
    }
    char pubpath[4096], secpath[4096];
    if ((size_t)snprintf(pubpath, sizeof pubpath, "%s.key", name) >= sizeof pubpath ||
        (size_t)snprintf(secpath, sizeof secpath, "%s.key_secret", name) >= sizeof secpath) {
        fprintf(stderr, "sluice-zmq-keygen: NAME is too long\n");
        return 2;
    }
    int rc = write_cert(secpath, pub, secret, force);
    memset(secret, 0, sizeof secret);
    if (rc == 0)
        rc = write_cert(pubpath, pub, NULL, force);
    if (rc != 0)
        return 1;
    printf("%s\n", pub);
    fprintf(stderr, "sluice-zmq-keygen: wrote %s (public) and %s (secret, mode 600)\n", pubpath,
            secpath);
    return 0;
}

/*
 * runstat — run a command and report its wall time and peak resident set size.
 *
 *     runstat [-t TIMEOUT_S] STATFILE CMD [ARG...]
 *
 * Forks, execs CMD, waits with wait4(2) and writes "WALL_SECONDS MAXRSS_KIB" to STATFILE
 * (the same ru_maxrss that GNU time's %M reports, from the same wait4 call, but with wall
 * time read from CLOCK_MONOTONIC to the microsecond rather than to 10 ms). The command's
 * stdin, stdout and stderr are inherited. Exits with the command's status (128 + signal if
 * it was killed), so a failing run fails the benchmark. With -t, a command still running
 * after TIMEOUT_S seconds is killed (SIGKILL), so a hung run cannot hang the benchmark.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile sig_atomic_t child = 0, timed_out = 0;

/* SIGALRM: the command ran out of time; kill it (wait4 then reaps it). */
static void on_alarm(int sig) {
    (void)sig;
    timed_out = 1;
    if (child > 0)
        kill(child, SIGKILL);
}

int main(int argc, char **argv) {
    unsigned timeout_s = 0;
    int a = 1;
    if (argc > 2 && strcmp(argv[1], "-t") == 0) {
        timeout_s = (unsigned)strtoul(argv[2], NULL, 10);
        a = 3;
    }
    if (argc - a < 2) {
        fprintf(stderr, "usage: runstat [-t TIMEOUT_S] STATFILE CMD [ARG...]\n");
        return 2;
    }
    const char *statfile = argv[a];
    char **cmd = argv + a + 1;
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        perror("runstat: fork");
        return 1;
    }
    if (pid == 0) {
        execvp(cmd[0], cmd);
        fprintf(stderr, "runstat: %s: %s\n", cmd[0], strerror(errno));
        _exit(127);
    }
    child = pid;
    if (timeout_s) {
        struct sigaction sa = {.sa_handler = on_alarm};
        sigaction(SIGALRM, &sa, NULL);
        alarm(timeout_s);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("runstat: wait4");
            return 1;
        }
    }
    double wall = now_s() - t0;
    if (timed_out)
        fprintf(stderr, "runstat: %s killed after %u s\n", cmd[0], timeout_s);
    FILE *f = fopen(statfile, "w");
    if (!f || fprintf(f, "%.6f %ld\n", wall, ru.ru_maxrss) < 0 || fclose(f) != 0) {
        fprintf(stderr, "runstat: cannot write %s\n", statfile);
        return 1;
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/*
 * fuzz_cli.c — the `sluice` command line (core/src/cli/main.c, its main()
 * renamed sl__cli_main by tests/CMakeLists.txt) on arbitrary arguments: an
 * exit code of 0, 1 or 2, usage errors on stderr; never a crash or a leak.
 *
 * Input: the arguments after "sluice", separated by NUL bytes. The harness
 * runs in an empty directory and leaves out inputs that could reach a real
 * file or run for long: an argument with a '/', a lone "-" (stdin), the
 * demo command (it runs a pipeline for as long as it is told) and the top
 * command (it watches an instance until q; its --once tries 127.0.0.1:4195).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "internal.h"

int sl__cli_main(int argc, char **argv);

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    static char dir[256];
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/sluice-fuzz-cli.XXXXXX", base);
    if (!mkdtemp(dir) || chdir(dir) != 0) {
        perror("fuzz: an empty directory");
        abort();
    }
    rmdir(dir); /* the cwd stays usable, and nothing is left behind */
    devnull = fopen("/dev/null", "w");
    int fd = open("/dev/null", O_WRONLY);
    if (!devnull || fd < 0 || dup2(fd, STDOUT_FILENO) < 0) { /* help texts, plugin lists */
        perror("fuzz: /dev/null");
        abort();
    }
    close(fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096 || memchr(data, '/', size))
        return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    char *argv[66] = {"sluice"};
    int argc = 1;
    for (char *s = text; s < text + size + (size == 0) && argc < 64; s += strlen(s) + 1)
        argv[argc++] = s;
    argv[argc] = NULL;
    int skip = argc > 1 && (strcmp(argv[1], "demo") == 0 || strcmp(argv[1], "top") == 0);
    for (int i = 1; i < argc; i++)
        skip |= strcmp(argv[i], "-") == 0;
    if (!skip) {
        FILE *err = stderr; /* usage errors go to /dev/null; sanitizers still write fd 2 */
        stderr = devnull;
        int code = sl__cli_main(argc, argv);
        stderr = err;
        if (code < 0 || code > 2) {
            fprintf(stderr, "fuzz: exit code %d\n", code);
            abort();
        }
    }
    free(text);
    return 0;
}

/*
 * memfile.h — a fuzz input as a file that a reader opens by path: a memfd
 * (a regular file in memory: no disk I/O, nothing left behind), named
 * /proc/self/fd/N.
 */
#ifndef SLUICE_FUZZ_MEMFILE_H
#define SLUICE_FUZZ_MEMFILE_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Write data to a new memfd and its path into path; returns the fd (close it
 * when done). A failure aborts: the run cannot go on without it. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t cap) {
    int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
    size_t done = 0;
    while (fd >= 0 && done < size) {
        ssize_t k = write(fd, data + done, size - done);
        if (k <= 0) {
            close(fd);
            fd = -1;
        } else {
            done += (size_t)k;
        }
    }
    if (fd < 0) {
        perror("fuzz: memfd");
        abort();
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

#endif /* SLUICE_FUZZ_MEMFILE_H */

/*
 * clock.c — wall and monotonic time. The engine's batch clock (system or
 * manual) lives in scheduler.c; this file only reads the OS clocks.
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "clock.h"

int64_t sl__now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sl__mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t sl__mono_ms(void) {
    return sl__mono_us() / 1000;
}

void sl__sleep_ms(int64_t ms) {
    if (ms <= 0)
        return;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

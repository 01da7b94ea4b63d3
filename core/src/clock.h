/*
 * clock.h — wall and monotonic time (clock.c). Safe from any thread.
 */
#ifndef SLUICE_CLOCK_H
#define SLUICE_CLOCK_H

#include <stdint.h>

int64_t sl__now_ms(void);  /* wall clock */
int64_t sl__mono_ms(void); /* monotonic */
int64_t sl__mono_us(void); /* monotonic, µs */
void sl__sleep_ms(int64_t ms);

#endif /* SLUICE_CLOCK_H */

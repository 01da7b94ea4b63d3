/*
 * crc32c.h — CRC32C (Castagnoli), engine-internal. Thread-safe.
 */
#ifndef SLUICE_CRC32C_H
#define SLUICE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC32C over n bytes at p, zlib style: start with crc = 0, and
 * sl__crc32c(sl__crc32c(0, a, na), b, nb) == CRC32C of a followed by b.
 * Uses SSE4.2 when the CPU has it, slicing-by-8 tables otherwise. */
uint32_t sl__crc32c(uint32_t crc, const void *p, size_t n);
/* The table-driven implementation, always (tests compare the two). */
uint32_t sl__crc32c_portable(uint32_t crc, const void *p, size_t n);
/* CRC32C of A followed by B, given crc1 = CRC of A, crc2 = CRC of B and
 * len2 = length of B, without the bytes (O(log len2)). */
uint32_t sl__crc32c_combine(uint32_t crc1, uint32_t crc2, size_t len2);

#endif /* SLUICE_CRC32C_H */

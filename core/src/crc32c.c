/*
 * crc32c.c — CRC32C (Castagnoli), the checksum of checkpoint files and
 * receiver logs: SSE4.2 when the CPU has it, slicing-by-8 tables otherwise.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec.h"
#include "crc32c.h"

/* ============================================================================
 * CRC32C
 * ========================================================================== */

#define CRC32C_POLY 0x82F63B78u /* Castagnoli, reflected */

static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static int crc_hw; /* the CPU has SSE4.2 */

/* Build the slicing-by-8 tables and probe the CPU (once per process). */
static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc_tab[0][i] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int i = 0; i < 256; i++)
            crc_tab[k][i] = (crc_tab[k - 1][i] >> 8) ^ crc_tab[0][crc_tab[k - 1][i] & 0xff];
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

/* Slicing-by-8: eight table lookups per 8 input bytes. */
static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t n) {
    uint32_t c = ~crc;
    while (n >= 8) {
        uint32_t lo = c ^ sl__le32(p), hi = sl__le32(p + 4);
        c = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^ crc_tab[5][(lo >> 16) & 0xff] ^
            crc_tab[4][lo >> 24] ^ crc_tab[3][hi & 0xff] ^ crc_tab[2][(hi >> 8) & 0xff] ^
            crc_tab[1][(hi >> 16) & 0xff] ^ crc_tab[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = crc_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <nmmintrin.h>

/* The SSE4.2 crc32 instruction computes exactly CRC32C, 8 bytes at a time. */
__attribute__((target("sse4.2"))) static uint32_t crc_hw_run(uint32_t crc, const uint8_t *p,
                                                             size_t n) {
    uint64_t c = ~crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}
#endif

uint32_t sl__crc32c_portable(uint32_t crc, const void *p, size_t n) {
    pthread_once(&crc_once, crc_init);
    return crc_sw(crc, p, n);
}

uint32_t sl__crc32c(uint32_t crc, const void *p, size_t n) {
    pthread_once(&crc_once, crc_init);
#if defined(__x86_64__) && defined(__GNUC__)
    if (crc_hw)
        return crc_hw_run(crc, p, n);
#endif
    return crc_sw(crc, p, n);
}

/* a * b modulo the CRC polynomial (bit-reflected), as in zlib's crc32_combine. */
static uint32_t gf2_mulmod(uint32_t a, uint32_t b) {
    uint32_t m = 1u << 31, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0)
                break;
        }
        m >>= 1;
        b = b & 1 ? (b >> 1) ^ CRC32C_POLY : b >> 1;
    }
    return p;
}

/* x^(8 * n) modulo the polynomial: the operator that shifts a CRC over n
 * zero bytes. */
static uint32_t x8n_mod(size_t n) {
    uint32_t sq = 1u << 30; /* x^1 */
    uint32_t r = 1u << 31;  /* x^0 */
    for (int k = 0; k < 3; k++)
        sq = gf2_mulmod(sq, sq); /* x^8 */
    while (n) {
        if (n & 1)
            r = gf2_mulmod(sq, r);
        sq = gf2_mulmod(sq, sq);
        n >>= 1;
    }
    return r;
}

uint32_t sl__crc32c_combine(uint32_t crc1, uint32_t crc2, size_t len2) {
    return gf2_mulmod(x8n_mod(len2), crc1) ^ crc2;
}

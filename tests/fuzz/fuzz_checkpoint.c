/*
 * fuzz_checkpoint.c — the checkpoint file reader (core/src/checkpoint.c:
 * sl__ckpt_load_file) on arbitrary file contents: a file loads, or it is
 * refused with a message naming it; never a crash, a hang, a leak or an
 * allocation the file's size does not justify.
 *
 * CRC32C guards every section and the whole file, so random bytes rarely
 * get past the checksums. When bit 0 of the first byte is set, the harness
 * writes the right CRCs into the rest before loading it, so that the fuzzer
 * also explores the section parser behind them; the rest of the input is
 * the file.
 */
#include "driver.h"
#include "internal.h"
#include "memfile.h"

#define HEADER 20
#define FOOTER 8

/* Put the right section CRCs and file CRC into img, as far as its
 * sections can be walked. */
static void fix_crcs(uint8_t *img, size_t len) {
    if (len < HEADER + FOOTER)
        return;
    sl__reader r = {img, len - FOOTER, HEADER};
    for (;;) {
        const uint8_t *name, *data;
        size_t nlen, dlen;
        if (sl__read_bytes(&r, &name, &nlen) || sl__read_bytes(&r, &data, &dlen) ||
            sl__reader_left(&r) < 4)
            break;
        sl__put_le(img + r.off, sl__crc32c(0, data, dlen), 4);
        r.off += 4;
    }
    sl__put_le(img + len - FOOTER, sl__crc32c(0, img, len - FOOTER), 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    uint8_t *img = malloc(size);
    if (!img)
        return 0;
    memcpy(img, data + 1, size - 1);
    if (data[0] & 1)
        fix_crcs(img, size - 1);
    char path[64];
    int fd = fuzz_memfile(img, size - 1, path, sizeof path);
    sl__ckpt c;
    sl_error err = {0, ""};
    int rc = sl__ckpt_load_file(path, &c, &err);
    if (rc == 0) {
        for (size_t i = 0; i < c.n; i++) { /* every section is found by its name */
            size_t len;
            if (!sl__ckpt_find(&c, c.sec[i].name, &len)) {
                fprintf(stderr, "fuzz: section '%s' is not found\n", c.sec[i].name);
                abort();
            }
        }
        sl__ckpt_free(&c);
    } else if (!strstr(err.msg, path)) {
        fprintf(stderr, "fuzz: the error does not name the file: %s\n", err.msg);
        abort();
    }
    close(fd);
    free(img);
    return 0;
}

/*
 * fuzz_zmq_decode.c — the zmq source's message-to-record decoding
 * (connectors/zmq/zmq_decode.c) on arbitrary frames. The input's first byte (seeds use the digits
 * 0-3) picks the options (bit 0: multipart as (topic, rest), bit 1: JSON values); the rest is split
 * into frames at '|'. The decoder must return 0 or an error with a message, never crash, hang or
 * leak, and what it returns must have the documented shape: one frame is the value; more frames are
 * a list of them, or the first as key and the rest as value.
 */
#define FUZZ_ITERATIONS 20000 /* cheap: a frame split and a decode */
#include "driver.h"
#include "host.h"
#include "internal.h"
#include "zmq_conn.h"

const sl_host *sl_api = &sl__host;

#define MAX_FRAMES 64

/* Abort with a message when a decoded record does not have its shape. */
static void expect(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "zmq decode: %s\n", what);
        abort();
    }
}

/* Check a record decoded from n frames with options o. */
static void check_shape(const zq_decode_opts *o, const zq_frame *f, size_t n, const sl_record *r) {
    bool topic = o->shape == ZQ_SHAPE_TOPIC && n > 1;
    expect(topic ? r->key.type == SL_BYTES && r->key.len == f[0].len : r->key.type == SL_NULL,
           "the key is the topic frame, or none");
    size_t values = topic ? n - 1 : n;
    if (values == 1) {
        expect(o->json || (r->value.type == SL_BYTES && r->value.len == f[n - 1].len &&
                           memcmp(r->value.u.s, f[n - 1].data, f[n - 1].len) == 0),
               "one value frame is the value, byte for byte");
        return;
    }
    expect(r->value.type == SL_LIST && r->value.len == values, "more frames are a list of them");
    for (size_t i = 0; !o->json && i < values; i++)
        expect(r->value.u.items[i].type == SL_BYTES &&
                   r->value.u.items[i].len == f[i + (topic ? 1 : 0)].len,
               "each frame an item");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    zq_decode_opts o = {(data[0] & 1) ? ZQ_SHAPE_TOPIC : ZQ_SHAPE_LIST, (data[0] & 2) != 0};
    zq_frame f[MAX_FRAMES];
    size_t n = 0, start = 1;
    for (size_t i = 1; i <= size && n < MAX_FRAMES; i++) {
        if (i == size || data[i] == '|') {
            f[n].data = data + start;
            f[n++].len = i - start;
            start = i + 1;
        }
    }
    sl__arena a;
    sl__arena_init(&a, 4096);
    sl_mem mem;
    sl__arena_mem(&a, &mem);
    sl_record r;
    sl_error err = {0, ""};
    int rc = zq_decode(&o, f, n, &mem, &r, &err);
    if (rc == 0)
        check_shape(&o, f, n, &r);
    else
        expect(rc == SL_EINVAL && err.msg[0] && o.json, "only JSON fails, and with a message");
    sl__arena_free(&a);
    return 0;
}

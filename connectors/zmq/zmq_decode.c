/*
 * zmq_decode.c — a ZeroMQ message (its frames) as a record. Pure: no
 * libzmq, no state; the fuzz target tests/fuzz/fuzz_zmq_decode.c runs it on
 * arbitrary frames. The shapes are in zmq_conn.h and docs/zeromq.md.
 */
#include <stdio.h>
#include <string.h>

#include "zmq_conn.h"

/* One value frame: its bytes as they are, or parsed as JSON into mem. */
static int zq_frame_value(const zq_decode_opts *o, const zq_frame *f, size_t idx, sl_mem *mem,
                          sl_value *out, sl_error *err) {
    if (!o->json) {
        *out = sl_bytes(f->data, f->len);
        return 0;
    }
    sl_error perr = {0, ""};
    int rc = sl_api->json_parse(f->data, f->len, out, mem, &perr);
    if (rc == 0)
        return 0;
    if (rc == SL_ENOMEM)
        return sl_api->error_set(err, SL_ENOMEM, "zmq source: out of memory");
    return sl_api->error_set(err, SL_EINVAL, "zmq source: frame %zu of a message is not JSON: %s",
                             idx + 1, perr.msg);
}

/* [frame first, ..., frame n-1] as a list value in mem. */
static int zq_frame_list(const zq_decode_opts *o, const zq_frame *f, size_t first, size_t n,
                         sl_mem *mem, sl_value *out, sl_error *err) {
    sl_value *items = sl_alloc(mem, (n - first) * sizeof *items);
    if (!items)
        return sl_api->error_set(err, SL_ENOMEM, "zmq source: out of memory");
    for (size_t i = first; i < n; i++) {
        int rc = zq_frame_value(o, &f[i], i, mem, &items[i - first], err);
        if (rc < 0)
            return rc;
    }
    *out = sl_list(items, n - first);
    return 0;
}

int zq_decode(const zq_decode_opts *o, const zq_frame *f, size_t n, sl_mem *mem, sl_record *out,
              sl_error *err) {
    out->key = sl_null();
    out->ts = 0;
    if (n == 0) { /* not a message libzmq delivers; an empty value all the same */
        out->value = sl_bytes("", 0);
        return 0;
    }
    if (n == 1)
        return zq_frame_value(o, &f[0], 0, mem, &out->value, err);
    if (o->shape == ZQ_SHAPE_LIST)
        return zq_frame_list(o, f, 0, n, mem, &out->value, err);
    out->key = sl_bytes(f[0].data, f[0].len); /* the topic: never parsed */
    if (n == 2)
        return zq_frame_value(o, &f[1], 1, mem, &out->value, err);
    return zq_frame_list(o, f, 1, n, mem, &out->value, err);
}

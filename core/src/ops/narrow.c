/*
 * ops/narrow.c — map, flat_map, filter, map_values and flat_map_values.
 * Record by record, they fuse into chains (ops/chain.c); a narrow stream is
 * only computed on its own when it is materialized (it feeds an output,
 * several readers, or an operation that reads its batch whole): its own
 * chain then appends to its partitions, one per partition of its root.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sluice/plugin.h>
#include <sluice/sluice.h>

#include "error.h"
#include "ops/chain.h"
#include "ops/op.h"

/* A materialized narrow stream: its chain, from its root (computed), with
 * itself as the last function, appends to its partitions. */
static int run_narrow(sl_context *ctx, sl_stream *s, int64_t t, sl_error *err) {
    sl__stage st;
    memset(&st, 0, sizeof st);
    st.ctx = ctx;
    st.t = t;
    st.sink = SL__SINK_APPEND;
    st.target = s;
    sl_stream *root = sl__chain_root(s->in[0]);
    if (sl__dataset_init(&s->data, root->data.nparts))
        return sl__error_set(err, SL_ENOMEM, "out of memory");
    return sl__stage_run(&st, s, true, err);
}

#define NARROW(op_name, extra)                                                                     \
    const sl__op_class sl__op_##op_name = {                                                        \
        .name = #op_name,                                                                          \
        .flags = SL__OPF_NARROW | (extra),                                                         \
        .run = run_narrow,                                                                         \
    }

NARROW(map, 0);
NARROW(flat_map, 0);
NARROW(filter, 0);
NARROW(map_values, SL__OPF_VALUES);
NARROW(flat_map_values, SL__OPF_VALUES);

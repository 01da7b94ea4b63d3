/*
 * good.so: a valid plugin for the positive loader tests.
 *   good.identity  MAP, shape ONE: re-emits its input
 *   good.first     REDUCE: keeps the first value it sees
 *   good.firstnoref  the same, wrongly flagged SL_REDUCE_NO_INPUT_REFS: without a
 *                  zero, the engine's first value points into the input anyway
 *   good.partition MAP, shape ONE: (the batch partition it ran on, the value),
 *                  to see how a source cut its batch (test_kafka.sh)
 *   good.threads   MAP, shape ONE: (the threads the process had when create
 *                  ran, the value), to see that create runs before the
 *                  context starts any thread (test_scheduler.c)
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>

#include "identity.h"

/* acc starts as the first value; later values are ignored. */
static int first_combine(void *instance, sl_value *acc, const sl_value *v, sl_mem *mem,
                         sl_error *err) {
    (void)instance;
    (void)acc;
    (void)v;
    (void)mem;
    (void)err;
    return 0;
}

static const sl_reduce_ops first_ops = {sizeof(sl_reduce_ops), NULL, first_combine, NULL, NULL, 0};

static const sl_component first_component = {
    sizeof(sl_component),
    SL_COMPONENT_REDUCE,
    "first",
    "Keeps the first value.",
    NULL,
    identity_create,
    NULL,
    &first_ops,
};

static const sl_reduce_ops firstnoref_ops = {
    .struct_size = sizeof(sl_reduce_ops),
    .combine = first_combine,
    .flags = SL_REDUCE_NO_INPUT_REFS,
};

static const sl_component firstnoref_component = {
    sizeof(sl_component),
    SL_COMPONENT_REDUCE,
    "firstnoref",
    "Keeps the first value; flagged SL_REDUCE_NO_INPUT_REFS without a zero.",
    NULL,
    identity_create,
    NULL,
    &firstnoref_ops,
};

/* Emit (key, value) for every input record. */
static int emit_keyed(const sl_chunk *in, sl_emitter *out, int64_t key) {
    for (size_t i = 0; i < in->count; i++) {
        sl_record r = in->records[i];
        r.key = sl_int(key);
        int rc = sl_emit(out, &r);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Emit (partition index, value) for every input record. */
static int partition_process(void *instance, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)instance;
    (void)err;
    return emit_keyed(in, out, in->partition);
}

static const sl_map_ops partition_ops = {sizeof(sl_map_ops), SL_MAP_ONE, partition_process};

static const sl_component partition_component = {
    sizeof(sl_component),
    SL_COMPONENT_MAP,
    "partition",
    "Emits (the batch partition the record is in, its value).",
    NULL,
    identity_create,
    NULL,
    &partition_ops,
};

/* The threads of this process: the entries of /proc/self/task. */
static int64_t count_threads(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int64_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int threads_create(sl_handle *h, const sl_params *params, void **instance, sl_error *err) {
    (void)h;
    (void)params;
    int64_t *n = malloc(sizeof *n);
    if (!n)
        return sl_api->error_set(err, SL_ENOMEM, "good.threads: out of memory");
    *n = count_threads();
    *instance = n;
    return 0;
}

static void threads_destroy(void *instance) {
    free(instance);
}

/* Emit (threads at create, value) for every input record. */
static int threads_process(void *instance, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    (void)err;
    return emit_keyed(in, out, *(const int64_t *)instance);
}

static const sl_map_ops threads_ops = {sizeof(sl_map_ops), SL_MAP_ONE, threads_process};

static const sl_component threads_component = {
    sizeof(sl_component),
    SL_COMPONENT_MAP,
    "threads",
    "Emits (the threads the process had at create, its value).",
    NULL,
    threads_create,
    threads_destroy,
    &threads_ops,
};

static const sl_component *const components[] = {&identity_component,   &first_component,
                                                 &firstnoref_component, &partition_component,
                                                 &threads_component,    NULL};

static const sl_plugin descriptor = {
    SL_PLUGIN_HEADER, "good", "0.1.0", "test plugin: valid", "MIT", components,
};

SL_PLUGIN_ENTRY(descriptor)

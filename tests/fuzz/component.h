/*
 * component.h — for fuzz targets that feed bytes to a plugin component (a
 * connector's reader, a function's parameters): load it through the engine's
 * own registry (the plugins found in $SLUICE_PLUGIN_PATH, loaded once per
 * process), create an instance from parameters as the config loader does,
 * and run MAP chunks through it with a real emitter. Internal API: fuzz
 * targets link sluice_internal, as the unit tests do.
 */
#ifndef SLUICE_FUZZ_COMPONENT_H
#define SLUICE_FUZZ_COMPONENT_H

#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

/* One instance of a component, as a stream of the graph holds it. */
typedef struct fuzz_comp {
    sl__func fn;
    sl_error err; /* the last error */
} fuzz_comp;

/* The process's registry: plugins stay loaded between inputs. */
static inline sl__registry *fuzz_registry(void) {
    static sl__registry r;
    static int ready;
    if (!ready) {
        sl__registry_init(&r);
        ready = 1;
    }
    return &r;
}

/* Create an instance of `ref` (kind: SL_COMPONENT_*) with the parameters kv
 * ("name", "value", ..., NULL). Returns 0, or the error of the parameters or
 * of create() (in c->err). A component that cannot be found aborts: the
 * fuzz run is misconfigured (SLUICE_PLUGIN_PATH). */
static inline int fuzz_comp_open(fuzz_comp *c, const char *ref, int kind, const char *const *kv) {
    memset(c, 0, sizeof *c);
    const sl_component *comp = sl__registry_component(fuzz_registry(), ref, kind, &c->err);
    if (!comp) {
        fprintf(stderr, "fuzz: %s (is SLUICE_PLUGIN_PATH the build's plugin directory?)\n",
                c->err.msg);
        abort();
    }
    const char *bad = NULL;
    int rc = sl__params_build(comp->params, kv, ref, &c->fn.params, &c->err, &bad);
    if (rc)
        return rc;
    c->fn.comp = comp;
    c->fn.handle = sl__handle_new(NULL, "fuzz", ref);
    if (!c->fn.handle) {
        sl__params_free(c->fn.params);
        c->fn.params = NULL;
        return SL_ENOMEM;
    }
    return sl__func_create(&c->fn, &c->err);
}

/* Destroy the instance, its parameters and handle (sl__func_destroy frees
 * all three, also after a failed create). */
static inline void fuzz_comp_close(fuzz_comp *c) {
    sl__func_destroy(&c->fn);
    memset(c, 0, sizeof *c);
}

/* An emitter that collects records into out (memory from arena a). */
static inline void fuzz_emitter(sl_emitter *em, sl_record *buf, uint32_t cap, sl__recvec *out,
                                sl_mem *mem) {
    em->buf = buf;
    em->count = 0;
    em->capacity = cap;
    em->flush = sl__recvec_flush;
    em->mem = mem;
    em->host_data = out;
}

/* A failed call must say why: an error code with an empty message is a bug
 * (issue 12, fault 3). */
static inline void fuzz_check_error(int rc, const sl_error *err, const char *what) {
    if (rc < 0 && !err->msg[0]) {
        fprintf(stderr, "fuzz: %s failed (%d) without a message\n", what, rc);
        abort();
    }
}

#endif /* SLUICE_FUZZ_COMPONENT_H */

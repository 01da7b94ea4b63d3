/*
 * params.h — validated parameters of a component instance (params.c).
 *
 * Parameters are read-only once built: safe from any thread.
 */
#ifndef SLUICE_PARAMS_H
#define SLUICE_PARAMS_H

#include <stdint.h>

#include <sluice/plugin.h>

/* Validate key/value strings against a schema; defaults filled in. On error,
 * *bad_key (if given) points at the offending key inside kv (or NULL). */
int sl__params_build(const sl_param_spec *schema, const char *const *kv, const char *what,
                     sl_params **out, sl_error *err, const char **bad_key);
void sl__params_free(sl_params *p);
const char *sl__param_str(const sl_params *p, const char *name);
int64_t sl__param_int(const sl_params *p, const char *name);
double sl__param_double(const sl_params *p, const char *name);
int sl__param_bool(const sl_params *p, const char *name);
int sl__param_is_set(const sl_params *p, const char *name);
const char *sl__param_type_name(int type);

#endif /* SLUICE_PARAMS_H */

/*
 * params.h — validated parameters of a component instance (params.c).
 *
 * Parameters are read-only once built: safe from any thread.
 */
#ifndef SLUICE_PARAMS_H
#define SLUICE_PARAMS_H

#include <stdint.h>

#include <sluice/plugin.h>

/* Validate key/value strings against a schema (types and ranges); defaults
 * filled in. `what` names the component in errors ("queue: parameter 'x'
 * ..."); NULL words them as engine settings do ("workers: must be ...").
 * On error, *bad_key (if given) points at the offending key inside kv. */
int sl__params_build(const sl_param_spec *schema, const char *const *kv, const char *what,
                     sl_params **out, sl_error *err, const char **bad_key);
void sl__params_free(sl_params *p);
const char *sl__param_str(const sl_params *p, const char *name);
int64_t sl__param_int(const sl_params *p, const char *name);
double sl__param_double(const sl_params *p, const char *name);
int sl__param_bool(const sl_params *p, const char *name);
int sl__param_is_set(const sl_params *p, const char *name);
const char *sl__param_type_name(int type);
/* A host-owned copy of a plugin's component with its schema read at the
 * stride of ABI 1.`minor` (registry.c, at load); freed with free(). */
int sl__component_import(const sl_component *c, unsigned minor, const sl_component **out,
                         sl_error *err);

#endif /* SLUICE_PARAMS_H */

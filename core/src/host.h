/*
 * host.h — the sl_host function table that plugins call (host.c). Only the
 * plugin loader hands it out; it is read-only, and each of its functions
 * says in sluice/plugin.h which threads may call it.
 */
#ifndef SLUICE_HOST_H
#define SLUICE_HOST_H

#include <sluice/plugin.h>

extern const sl_host sl__host;

#endif /* SLUICE_HOST_H */

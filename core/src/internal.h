/*
 * internal.h — every engine-internal header, for tests, fuzz targets and
 * benchmarks that reach sl__ functions. No file of the engine includes it:
 * each includes the headers of what it uses (docs/architecture.md).
 */
#ifndef SLUICE_INTERNAL_H
#define SLUICE_INTERNAL_H

#include "arena.h"
#include "checkpoint.h"
#include "clock.h"
#include "codec.h"
#include "context.h"
#include "crc32c.h"
#include "dataset.h"
#include "error.h"
#include "exec.h"
#include "func.h"
#include "graph.h"
#include "handle.h"
#include "opstate.h"
#include "host.h"
#include "log.h"
#include "params.h"
#include "pool.h"
#include "receiver.h"
#include "recovery.h"
#include "registry.h"
#include "scheduler.h"
#include "state.h"
#include "status.h"
#include "table.h"
#include "value.h"
#include "wal.h"
#include "graph.h"
#include "plan.h"
#include "stream.h"
#include "ops/chain.h"
#include "ops/join.h"
#include "ops/op.h"
#include "ops/shuffle.h"
#include "ops/source.h"
#include "ops/state.h"
#include "state_handle.h"
#include "ops/window.h"

#endif /* SLUICE_INTERNAL_H */

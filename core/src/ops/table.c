/*
 * ops/table.c — the table of operations: one class per sl__op, in enum
 * order. The size check below fails the build when an operation is added to
 * the enum without its row.
 */
#include <stddef.h>

#include <sluice/plugin.h>

#include "table.h"
#include "ops/op.h"

extern const sl__op_class sl__op_source;
extern const sl__op_class sl__op_map, sl__op_flat_map, sl__op_filter, sl__op_map_values,
    sl__op_flat_map_values;
extern const sl__op_class sl__op_transform, sl__op_reduce, sl__op_count, sl__op_union,
    sl__op_repartition;
extern const sl__op_class sl__op_reduce_by_key, sl__op_count_by_value;
extern const sl__op_class sl__op_window, sl__op_count_by_window, sl__op_reduce_by_window,
    sl__op_reduce_by_key_and_window, sl__op_count_by_value_and_window,
    sl__op_group_by_key_and_window;
extern const sl__op_class sl__op_group_by_key, sl__op_join, sl__op_left_outer_join,
    sl__op_right_outer_join, sl__op_full_outer_join, sl__op_cogroup, sl__op_transform_with;
extern const sl__op_class sl__op_update_state_by_key, sl__op_map_with_state, sl__op_state_snapshots;
extern const sl__op_class sl__op_operator;

static const sl__op_class *const table[] = {
    [SL__OP_SOURCE] = &sl__op_source,
    [SL__OP_MAP] = &sl__op_map,
    [SL__OP_FLAT_MAP] = &sl__op_flat_map,
    [SL__OP_FILTER] = &sl__op_filter,
    [SL__OP_MAP_VALUES] = &sl__op_map_values,
    [SL__OP_FLAT_MAP_VALUES] = &sl__op_flat_map_values,
    [SL__OP_TRANSFORM] = &sl__op_transform,
    [SL__OP_REDUCE_BY_KEY] = &sl__op_reduce_by_key,
    [SL__OP_REDUCE] = &sl__op_reduce,
    [SL__OP_COUNT] = &sl__op_count,
    [SL__OP_COUNT_BY_VALUE] = &sl__op_count_by_value,
    [SL__OP_UNION] = &sl__op_union,
    [SL__OP_REPARTITION] = &sl__op_repartition,
    [SL__OP_WINDOW] = &sl__op_window,
    [SL__OP_COUNT_BY_WINDOW] = &sl__op_count_by_window,
    [SL__OP_REDUCE_BY_WINDOW] = &sl__op_reduce_by_window,
    [SL__OP_REDUCE_BY_KEY_AND_WINDOW] = &sl__op_reduce_by_key_and_window,
    [SL__OP_COUNT_BY_VALUE_AND_WINDOW] = &sl__op_count_by_value_and_window,
    [SL__OP_GROUP_BY_KEY_AND_WINDOW] = &sl__op_group_by_key_and_window,
    [SL__OP_GROUP_BY_KEY] = &sl__op_group_by_key,
    [SL__OP_JOIN] = &sl__op_join,
    [SL__OP_LEFT_OUTER_JOIN] = &sl__op_left_outer_join,
    [SL__OP_RIGHT_OUTER_JOIN] = &sl__op_right_outer_join,
    [SL__OP_FULL_OUTER_JOIN] = &sl__op_full_outer_join,
    [SL__OP_COGROUP] = &sl__op_cogroup,
    [SL__OP_TRANSFORM_WITH] = &sl__op_transform_with,
    [SL__OP_UPDATE_STATE_BY_KEY] = &sl__op_update_state_by_key,
    [SL__OP_MAP_WITH_STATE] = &sl__op_map_with_state,
    [SL__OP_STATE_SNAPSHOTS] = &sl__op_state_snapshots,
    [SL__OP_OPERATOR] = &sl__op_operator,
};

_Static_assert(sizeof table / sizeof *table == SL__OP_N,
               "ops/table.c: one row per sl__op, in enum order");

const sl__op_class *sl__op_class_of(sl__op op) {
    return table[(unsigned)op < SL__OP_N ? op : SL__OP_SOURCE];
}

#!/usr/bin/env bash
# test_cli_stateful.sh — the seed's second example over a real TCP socket:
# examples/stateful_network_wordcount.yaml (update_state_by_key, a checkpoint
# directory) against `nc -lk`. Proves that the counts accumulate across
# batches, that a stop writes a checkpoint, and that a second run on the same
# directory goes on from the counts of the first (the socket source itself
# cannot replay: only what was processed is in the checkpoint).
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

example=$SLUICE_SOURCE_DIR/examples/stateful_network_wordcount.yaml
export CHECKPOINT_DIR=$WORK/cpdir BATCH_INTERVAL=1s

# The last batch's count of WORD in pprint output FILE (0 if absent).
last_count() {
    awk -v w="('$2'," '
        /^Time: / { cur = 0 }
        index($0, w) == 1 { v = $2; sub(/\)$/, "", v); cur = v + 0 }
        /^$/ { last = cur }
        END { print last + 0 }' "$1"
}

# One run: nc -lk serves FEEDER's lines; sluice runs for SECONDS.
run_once() {
    local out=$1 feeder=$2 seconds=$3
    if ! start_server "{ $feeder; sleep 60; } | nc -lk 127.0.0.1 \"\$PORT\""; then
        fail "nc -lk did not start"
        return 1
    fi
    timeout -k 5 30 "$SLUICE_BIN" run "$example" --log-level info --timeout "$seconds" >"$out" 2>"$out.err"
    local rc=$?
    stop_group "$SERVER_PID"
    return $rc
}

# First run: "a b a" then, a batch later, "a b": a = 2 then 3, b = 1 then 2.
run_once "$WORK/run1.out" "sleep 1.2; echo 'a b a'; sleep 1.1; echo 'a b'" 4
check_eq "the first run exits 0" "$?" 0
check_contains "the counts accumulate: a reaches 2" "$WORK/run1.out" "('a', 2)"
check_eq "after both lines, a is 3 (accumulated across batches)" "$(last_count "$WORK/run1.out" a)" 3
check_eq "after both lines, b is 2" "$(last_count "$WORK/run1.out" b)" 2
check "a checkpoint was written" compgen -G "$CHECKPOINT_DIR/checkpoint-*.slck"

# Second run, same directory: "a c" adds to the first run's counts.
run_once "$WORK/run2.out" "sleep 1.2; echo 'a c'" 3
check_eq "the second run exits 0" "$?" 0
check_contains "it resumed from the checkpoint" "$WORK/run2.out.err" "resuming from"
check_eq "a goes on from 3 to 4" "$(last_count "$WORK/run2.out" a)" 4
check_eq "b keeps its 2 without new data (every key, every batch)" \
    "$(last_count "$WORK/run2.out" b)" 2
check_eq "c starts at 1" "$(last_count "$WORK/run2.out" c)" 1

# Third run, with a 3 GB junk file named like the newest checkpoint (issue 12,
# fault 7: it was read whole, 3.1 GB RSS, before its header was checked).
# A sparse file: no disk. The run skips it from its first bytes, resumes from
# the good checkpoint with a small peak RSS, and its first checkpoint's
# retention removes the junk (newer than the checkpoint it wrote).
junk=$CHECKPOINT_DIR/checkpoint-999999999999999.slck
truncate -s 3G "$junk"
if ! start_server "{ sleep 1.2; echo 'a'; sleep 60; } | nc -lk 127.0.0.1 \"\$PORT\""; then
    fail "nc -lk did not start"
fi
/usr/bin/time -v -o "$WORK/run3.time" timeout -k 5 30 "$SLUICE_BIN" run "$example" --log-level info --timeout 3 \
    >"$WORK/run3.out" 2>"$WORK/run3.out.err"
check_eq "the run beside a 3 GB junk checkpoint exits 0" "$?" 0
stop_group "$SERVER_PID"
check_contains "the junk file is skipped with its reason" "$WORK/run3.out.err" \
    "checkpoint-999999999999999.slck': bad magic"
check_contains "it resumed from the good checkpoint" "$WORK/run3.out.err" "resuming from"
check_eq "a goes on from 4 to 5" "$(last_count "$WORK/run3.out" a)" 5
rss_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/run3.time")
check "peak RSS stays small: ${rss_kb:-?} kB (< 300 MB)" test "${rss_kb:-999999999}" -lt 300000
check "the junk file was removed by retention" test ! -e "$junk"
rm -f "$junk"

# The pipeline changed under its checkpoint: a stateful stream renamed, or
# another operation under the same name, is refused at start, naming the
# stream and the way out; the checkpoint stays as it was.
sed 's/^  counts:$/  totals:/; s/from: counts$/from: totals/' "$example" >"$WORK/renamed.yaml"
timeout -k 5 30 "$SLUICE_BIN" run "$WORK/renamed.yaml" --timeout 1 >"$WORK/ren.out" 2>"$WORK/ren.err"
check_eq "a stateful stream renamed under the checkpoint: refused (exit 2)" "$?" 2
check_contains "... naming the stream the checkpoint holds" "$WORK/ren.err" \
    "holds the state of stream 'counts' (update_state_by_key), which this pipeline no longer defines"
sed 's/^    update_state_by_key: agg.sum$/    reduce_by_key: agg.sum/' "$example" >"$WORK/changed.yaml"
timeout -k 5 30 "$SLUICE_BIN" run "$WORK/changed.yaml" --timeout 1 >"$WORK/chg.out" 2>"$WORK/chg.err"
check_eq "another operation under the same name: refused (exit 2)" "$?" 2
check_contains "... saying what it was and is" "$WORK/chg.err" \
    "stream 'counts' was update_state_by_key in the checkpoint $CHECKPOINT_DIR/checkpoint-"
check_contains "... and the way out" "$WORK/chg.err" "--fresh"

# A directory of only damaged checkpoints is refused, not silently a fresh
# start over lost state (docs/decisions.md 19); --fresh is the way to start
# over. (The docs said it started fresh while the code refused: issue 12,
# fault 9d.)
export CHECKPOINT_DIR=$WORK/damaged
mkdir -p "$CHECKPOINT_DIR"
printf 'not a checkpoint' >"$CHECKPOINT_DIR/checkpoint-000000000001000.slck"
timeout -k 5 30 "$SLUICE_BIN" run "$example" --timeout 1 >"$WORK/run4.out" 2>"$WORK/run4.err"
check_eq "only damaged checkpoints: the run fails (exit 1)" "$?" 1
check_contains "it says none is intact and how to start over" "$WORK/run4.err" \
    "holds 1 checkpoints and none is intact"
check_contains "it names --fresh" "$WORK/run4.err" "--fresh"
check "the damaged file is kept" test -e "$CHECKPOINT_DIR/checkpoint-000000000001000.slck"
if ! start_server "{ sleep 60; } | nc -lk 127.0.0.1 \"\$PORT\""; then
    fail "nc -lk did not start"
fi
timeout -k 5 30 "$SLUICE_BIN" run "$example" --timeout 2 --fresh >"$WORK/run5.out" 2>"$WORK/run5.err"
check_eq "with --fresh it starts over (exit 0)" "$?" 0
stop_group "$SERVER_PID"
check "the damaged file is gone" test ! -e "$CHECKPOINT_DIR/checkpoint-000000000001000.slck"

finish

#!/usr/bin/env bash
# test_cli_start_time.sh — where the manual clock starts (issue 11): with
# `--clock manual --start-time 0` the batches are at one interval, two
# intervals, ... after the epoch, as with Spark's ManualClock, and pprint's
# header shows those times (TZ=UTC); an ISO-8601 UTC --start-time and the
# YAML start_time (overridden by the flag); the system clock refuses a start
# time, and a bad one is a usage error (exit 2).
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
export TZ=UTC

printf '%s\n' '[1, 2]' '[3]' '[4]' >batches.jsonl
cat >p.yaml <<EOF
batch_interval: \${IV:-1s}
workers: 1
streams:
  q: {source: queue, path: "$WORK/batches.jsonl"}
outputs:
  - {sink: pprint, from: q}
EOF
rule=-------------------------------------------

# 1. --start-time 0 on a 1 s interval: the batches at 00:00:01 and 00:00:02.
timeout 20 "$SLUICE_BIN" run p.yaml --clock manual --start-time 0 --batches 2 >out1.txt 2>err1.txt
check_eq "--start-time 0: exit 0" "$?" 0
check_eq "--start-time 0: pprint's batches at 1 s and 2 s after the epoch" "$(cat out1.txt)" \
    "$rule
Time: 1970-01-01 00:00:01
$rule
1
2

$rule
Time: 1970-01-01 00:00:02
$rule
3"
check_eq "--start-time 0: an empty line ends each batch" "$(grep -c '^$' out1.txt)" 2
check_eq "--start-time 0: nothing on stderr" "$(cat err1.txt)" ""

# 2. An ISO-8601 UTC start on a 500 ms interval: the first batch half a
# second after it (Python's str(datetime) adds the microseconds).
IV=500ms timeout 20 "$SLUICE_BIN" run p.yaml --clock manual --start-time=2026-01-01T00:00:00Z \
    --batches 2 >out2.txt 2>err2.txt
check_eq "--start-time ISO: exit 0" "$?" 0
check_eq "--start-time ISO: the batch headers" "$(grep '^Time:' out2.txt)" \
    "Time: 2026-01-01 00:00:00.500000
Time: 2026-01-01 00:00:01"

# 3. start_time in the file; --start-time overrides it.
cat >f.yaml <<EOF
batch_interval: 1s
clock: manual
start_time: 2026-01-01T00:00:00.250Z
streams:
  q: {source: queue, path: "$WORK/batches.jsonl"}
outputs:
  - {sink: pprint, from: q}
EOF
timeout 20 "$SLUICE_BIN" run f.yaml --batches 1 >out3.txt 2>&1
check_eq "start_time in YAML: the first batch at the next second" "$(grep '^Time:' out3.txt)" \
    "Time: 2026-01-01 00:00:01"
timeout 20 "$SLUICE_BIN" run f.yaml --batches 1 --start-time 60000 >out4.txt 2>&1
check_eq "--start-time overrides start_time" "$(grep '^Time:' out4.txt)" \
    "Time: 1970-01-01 00:01:01"

# 4. The system clock has no start time: refused at start, exit 2.
timeout 20 "$SLUICE_BIN" run p.yaml --start-time 0 --batches 1 >out5.txt 2>err5.txt
check_eq "system clock with --start-time: exit 2" "$?" 2
check_contains "system clock with --start-time: says why" err5.txt \
    "start_time: only the manual clock has a start time (set clock: manual)"
check_eq "system clock with --start-time: no batch ran" "$(cat out5.txt)" ""

# 5. A bad --start-time is a usage error that shows the accepted forms.
timeout 20 "$SLUICE_BIN" run p.yaml --clock manual --start-time yesterday >out6.txt 2>err6.txt
check_eq "bad --start-time: exit 2" "$?" 2
check_contains "bad --start-time: the forms it takes" err6.txt \
    "--start-time: expected ms since the epoch (0 or more), an ISO-8601 UTC time like 2026-01-01T00:00:00Z or now, got 'yesterday'"
timeout 20 "$SLUICE_BIN" run p.yaml --clock manual --start-time -5 >/dev/null 2>err7.txt
check_eq "negative --start-time: exit 2" "$?" 2

# 6. `start_time` with a bad value in the file: the position of the value.
sed 's/^start_time: .*/start_time: 2026-02-30T00:00:00Z/' f.yaml >bad.yaml
timeout 20 "$SLUICE_BIN" validate bad.yaml >/dev/null 2>err8.txt
check_eq "bad start_time: exit 2" "$?" 2
check_contains "bad start_time: file:line:col" err8.txt \
    "bad.yaml:3:13: start_time: expected ms since the epoch"
finish

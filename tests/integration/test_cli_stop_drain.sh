#!/usr/bin/env bash
# test_cli_stop_drain.sh — a graceful stop loses nothing silently (issue 12,
# fault 2). A peer floods lines; a small receiver buffer keeps the receiver
# held back by backpressure; `--timeout` stops the run while it is. Every
# line the source handed to the engine (its `lines` counter, logged at exit)
# must be in the output: the records a blocked store() held when the stop
# came used to be dropped, uncounted. What the source had read beyond them
# is counted (lines_dropped_at_stop) and said in a warning.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cat >"$WORK/drain.yaml" <<'EOF2'
batch_interval: 200ms
receiver_buffer: 64KiB
streams:
  lines: {source: socket, host: 127.0.0.1, port: "${PORT}"}
outputs:
  - {sink: jsonl, from: lines, path: "${OUT}"}
EOF2

drain_once() {
    local n=$1 out=$WORK/drain$1.jsonl err=$WORK/drain$1.stderr
    if ! start_server "yes 'the quick brown fox jumps over the lazy dog' | nc -lk 127.0.0.1 \"\$PORT\""; then
        fail "run $n: nc -lk did not start"
        return
    fi
    OUT=$out timeout 30 "$SLUICE_BIN" run "$WORK/drain.yaml" --timeout 1.5 --log-level info \
        --no-status >/dev/null 2>"$err"
    local rc=$?
    stop_group "$SERVER_PID"
    check_eq "run $n: exit 0 after the timeout" "$rc" 0
    local read stored
    read=$(grep -o 'lines (socket): .*' "$err" | grep -o ' lines=[0-9]*' | tail -n 1 | cut -d= -f2)
    stored=$(wc -l <"$out")
    check "run $n: the source handed lines to the engine ($read)" test "${read:-0}" -gt 1000
    check "run $n: the receiver was held back (its buffer full)" \
        grep -q "the receiver stopped reading" "$err"
    check_eq "run $n: every line handed to the engine is in the output" "$stored" "$read"
    local dropped
    dropped=$(grep -o 'lines (socket): .*' "$err" | grep -o 'lines_dropped_at_stop=[0-9]*' |
        cut -d= -f2)
    if [ -n "$dropped" ]; then
        check "run $n: the $dropped lines read but not handed over are said" \
            grep -q "lines already read from .* are dropped" "$err"
    fi
}

for run in 1 2 3; do
    drain_once "$run"
done
finish

#!/usr/bin/env bash
# test_cli_stop_drain.sh — a graceful stop loses nothing the socket source
# read (issue 12, fault 2). A peer floods lines; a small receiver buffer
# keeps the receiver held back by backpressure; `--timeout` stops the run
# while it is. Every line the source read from the peer (its `lines`
# counter, logged at exit) must be in the output: the records a blocked
# store() held when the stop came used to be dropped, uncounted.
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
    check "run $n: the source read lines ($read)" test "${read:-0}" -gt 1000
    check "run $n: the receiver was held back (its buffer full)" \
        grep -q "the receiver stopped reading" "$err"
    check_eq "run $n: every line read from the peer is in the output" "$stored" "$read"
}

for run in 1 2 3; do
    drain_once "$run"
done
finish

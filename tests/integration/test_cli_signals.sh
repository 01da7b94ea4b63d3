#!/usr/bin/env bash
# test_cli_signals.sh — SIGINT and SIGTERM stop `sluice run` gracefully while
# data flows: exit 0 within 3 s, and the batch in progress completes, so the
# jsonl output holds whole lines only and exactly the records of the batches
# the engine reported.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Each line the server sends, and the JSON the jsonl sink must write for it.
LINE='alpha beta "gamma" \ delta'
JSON_VALUE='"alpha beta \"gamma\" \\ delta"'

cat >"$WORK/flow.yaml" <<'EOF'
batch_interval: 200ms
receiver_buffer: 1MiB
streams:
  lines: {source: socket, host: 127.0.0.1, port: "${PORT}"}
outputs:
  - {sink: jsonl, from: lines, path: "${OUT}"}
EOF

# Lines in FILE (0 if it does not exist yet).
lines_in() {
    if [[ -f $1 ]]; then wc -l <"$1"; else echo 0; fi
}

has_lines() {
    (($(lines_in "$1") >= $2))
}

is_gone() {
    ! kill -0 "$1" 2>/dev/null
}

# stop_with SIGNAL: run the pipeline, send SIGNAL once data flows, check the
# stop. Proves: exit 0 within 3 s, the "stopping" notice, whole jsonl lines,
# and per batch exactly as many lines as the engine reported records.
stop_with() {
    local sig=$1 out=$WORK/$1.jsonl err=$WORK/$1.stderr
    # `yes` floods nc -lk. A fresh server per run: what nc read from the pipe
    # but could not send to a previous client would start mid-line.
    if ! start_server "yes '$LINE' | nc -lk 127.0.0.1 \"\$PORT\""; then
        fail "SIG$sig: nc -lk did not start"
        return
    fi
    start_group "OUT='$out' exec '$SLUICE_BIN' run '$WORK/flow.yaml' --log-level info \
        --no-status >'$WORK/$sig.stdout' 2>'$err'"
    local pid=$GROUP_PID
    if ! wait_until 20 has_lines "$out" 5000; then
        fail "SIG$sig: no data flowed into $out"
        stop_group "$pid"
        return
    fi
    local t0 took rc
    t0=$(now_ms)
    kill -s "$sig" "$pid"
    wait_until 10 is_gone "$pid"
    took=$(($(now_ms) - t0))
    wait "$pid"
    rc=$?
    check_eq "SIG$sig: sluice run exits 0" "$rc" 0
    check "SIG$sig: stopped within 3 s (took ${took} ms)" test "$took" -lt 3000
    check_contains "SIG$sig: says it stops after the current batch" "$err" \
        "stopping after the current batch"

    # Whole lines only: the file ends with a newline, every line is complete.
    check_eq "SIG$sig: output ends with a newline" "$(tail -c 1 "$out" | od -An -c | tr -d ' ')" '\n'
    local total bad
    total=$(lines_in "$out")
    bad=$(grep -cvxF -e "$(printf '{"time":X,"value":%s}' "$JSON_VALUE")" \
        <(sed -E 's/^\{"time":[0-9]+,/{"time":X,/' "$out"))
    check "SIG$sig: output has lines ($total)" test "$total" -ge 5000
    check_eq "SIG$sig: every output line is a whole record" "$bad" 0

    # Per batch, the jsonl lines equal the input records the engine logged for
    # that batch ("batch HH:MM:SS.mmm: N records ..."), in order: the last
    # batch was completed, not cut short.
    grep -oE 'batch [0-9:.]+: [0-9]+ records' "$err" | awk '$3 > 0 { print $3 }' >"$WORK/$sig.logged"
    sed -E 's/^\{"time":([0-9]+),.*/\1/' "$out" | uniq -c | awk '{ print $1 }' >"$WORK/$sig.written"
    check "SIG$sig: the engine logged its batches" test -s "$WORK/$sig.logged"
    check "SIG$sig: lines per batch = records per batch, last batch complete" \
        diff "$WORK/$sig.logged" "$WORK/$sig.written"
    stop_group "$SERVER_PID"
}

stop_with INT
stop_with TERM
finish

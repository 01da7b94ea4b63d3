#!/usr/bin/env bash
# test_cli_wordcount.sh — the seed's network word count through the CLI (the
# YAML path), against real `nc` servers on loopback:
#
#  1. a pipeline with the socket source (on_eof: stop) and a jsonl output,
#     fed over several batches by `nc -N -l`; `sluice run --batches N` ends by
#     itself when nc closes, and the per-batch counts in the jsonl file add up
#     to exactly the words sent;
#  2. examples/network_wordcount.yaml itself (PORT, BATCH_INTERVAL from the
#     environment) against `nc -lk`, with --timeout: stdout is exactly
#     PySpark's pprint format.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- 1. YAML word count over several batches, checked through jsonl ---------

# Proves: the YAML socket pipeline counts every word exactly once across
# several batches, stops by itself at the end of the stream (exit 0), and
# writes well-formed jsonl whose batch times are multiples of the interval.
wordcount_jsonl() {
    local out=$WORK/counts.jsonl input=$WORK/input.txt
    cat >"$WORK/wc.yaml" <<'EOF'
batch_interval: 200ms
streams:
  lines:  {source: socket, host: 127.0.0.1, port: "${PORT}", on_eof: stop}
  words:  {flat_map: text.split, from: lines, sep: " "}
  pairs:  {map: kv.pair, from: words}
  counts: {reduce_by_key: agg.sum, from: pairs}
outputs:
  - {sink: jsonl, from: counts, path: "${OUT}"}
EOF
    # Six rounds, 0.3 s apart (so they fall into different batches); a copy
    # of everything sent goes to input.txt.
    local feeder="for r in 1 2 3 4 5 6; do
        for i in 1 2 3 4 5 6 7 8 9 10; do echo 'apple banana'; done
        for i in 1 2 3 4 5; do echo 'banana cherry cherry'; done
        echo \"round\$r\"
        sleep 0.3
    done | tee '$input' | nc -N -l 127.0.0.1 \"\$PORT\""
    if ! start_server "$feeder"; then
        fail "nc did not start"
        return
    fi
    local t0 rc took
    t0=$(now_ms)
    OUT=$out timeout -k 5 60 "$SLUICE_BIN" run "$WORK/wc.yaml" --batches 300 --no-status \
        >"$WORK/wc.stdout" 2>"$WORK/wc.stderr"
    rc=$?
    took=$(($(now_ms) - t0))
    check_eq "sluice run exits 0 when the socket stream ends (on_eof: stop)" "$rc" 0
    check "the run ended with the stream, well before --batches (took ${took} ms)" \
        test "$took" -lt 30000
    [[ $rc -ne 0 ]] && sed 's/^/    | /' "$WORK/wc.stderr" >&2

    # Every line is {"time":T,"key":"word","value":N}.
    local total bad
    total=$(wc -l <"$out")
    bad=$(grep -cvE '^\{"time":[0-9]+,"key":"[a-z0-9]+","value":[0-9]+\}$' "$out")
    check "jsonl has lines" test "$total" -gt 0
    check_eq "every jsonl line has the expected shape" "$bad" 0

    # Totals per word from the jsonl (sum of the per-batch counts) ...
    sed -E 's/^\{"time":[0-9]+,"key":"([^"]*)","value":([0-9]+)\}$/\1 \2/' "$out" |
        awk '{ s[$1] += $2 } END { for (w in s) print w, s[w] }' | LC_ALL=C sort >"$WORK/got"
    # ... must equal the words sent (counted independently from the copy) ...
    tr ' ' '\n' <"$input" | awk 'NF { n[$1]++ } END { for (w in n) print w, n[w] }' |
        LC_ALL=C sort >"$WORK/want"
    check "per-word totals equal the input's" diff -u "$WORK/want" "$WORK/got"
    # ... and the numbers we know by construction.
    check_eq "apple" "$(grep '^apple ' "$WORK/got")" "apple 60"
    check_eq "banana" "$(grep '^banana ' "$WORK/got")" "banana 90"
    check_eq "cherry" "$(grep '^cherry ' "$WORK/got")" "cherry 60"
    check_eq "round1..round6 once each" "$(grep -c '^round[1-6] 1$' "$WORK/got")" 6

    # Several batches, each time a multiple of 200 ms, each word once per batch.
    local times badtimes dups
    times=$(sed -E 's/^\{"time":([0-9]+),.*/\1/' "$out" | sort -u | wc -l)
    badtimes=$(sed -E 's/^\{"time":([0-9]+),.*/\1/' "$out" | awk '$1 % 200 != 0' | wc -l)
    dups=$(sed -E 's/^\{"time":([0-9]+),"key":"([^"]*)".*/\1 \2/' "$out" | sort | uniq -d | wc -l)
    check "the input spans several batches ($times)" test "$times" -ge 3
    check_eq "batch times are multiples of the interval" "$badtimes" 0
    check_eq "a word appears once per batch (reduced)" "$dups" 0
    stop_group "$SERVER_PID"
}

# ---- 2. examples/network_wordcount.yaml against nc -lk ------------------------

# Proves: the shipped example runs unchanged against `nc -lk` with PORT and
# BATCH_INTERVAL from the environment, stops cleanly at --timeout (exit 0),
# and prints exactly PySpark's pprint format: a 43-dash rule, "Time:
# YYYY-MM-DD HH:MM:SS", a rule, the tuples ('word', n) — at most 10, then
# "..." — and a blank line, for every batch, empty ones included.
example_pprint() {
    local example=$SLUICE_SOURCE_DIR/examples/network_wordcount.yaml
    # Two lines 1.2 s apart, so in two batches; the second has 12 distinct words.
    local feeder="{ sleep 1.3; echo 'hello world hello'; sleep 1.2; echo 'a b c d e f g h i j k l';
        sleep 60; } | nc -lk 127.0.0.1 \"\$PORT\""
    if ! start_server "$feeder"; then
        fail "nc -lk did not start"
        return
    fi
    local rc
    BATCH_INTERVAL=1s timeout -k 5 30 "$SLUICE_BIN" run "$example" --timeout 4 \
        >"$WORK/ex.stdout" 2>"$WORK/ex.stderr"
    rc=$?
    check_eq "examples/network_wordcount.yaml --timeout 4 exits 0" "$rc" 0
    [[ $rc -ne 0 ]] && sed 's/^/    | /' "$WORK/ex.stderr" >&2

    # The whole of stdout, line by line, must be pprint blocks.
    local summary
    summary=$(awk -v RULE="-------------------------------------------" '
        BEGIN { state = 0; batches = 0; tuples = 0; dots = 0; bad = 0; last = "" }
        state == 0 { if ($0 == RULE) state = 1; else bad++; next }
        state == 1 {
            if ($0 ~ /^Time: [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]$/ && $0 > last) {
                last = $0; state = 2
            } else bad++
            next
        }
        state == 2 { if ($0 == RULE) state = 3; else bad++; next }
        state == 3 {
            if ($0 == "") { batches++; state = 0 }
            else if ($0 ~ /^\(\047[a-z]+\047, [0-9]+\)$/) { tuples++; n++; if (n > 10) bad++ }
            else if ($0 == "...") { dots++; state = 4 }
            else bad++
            if (state == 0) n = 0
            next
        }
        state == 4 { if ($0 == "") { batches++; state = 0; n = 0 } else bad++; next }
        END { if (state != 0) bad++; print batches, tuples, dots, bad }' "$WORK/ex.stdout")
    local batches tuples dots bad
    read -r batches tuples dots bad <<<"$summary"
    check_eq "stdout is only well-formed pprint blocks (bad lines)" "$bad" 0
    check "3 to 5 batches of 1 s in 4 s (got $batches)" test "$batches" -ge 3 -a "$batches" -le 5
    check_eq "2 tuples for 'hello world hello' + the first 10 of 12 words" "$tuples" 12
    check_eq "'...' after the 10th element of the 12-word batch" "$dots" 1
    # ('hello', 2) and ('world', 1) in the same batch block.
    local same
    same=$(awk 'BEGIN { RS = "" } /\(\047hello\047, 2\)/ && /\(\047world\047, 1\)/ { n++ } END { print n + 0 }' \
        "$WORK/ex.stdout")
    check_eq "('hello', 2) and ('world', 1) in one batch" "$same" 1
    check "an empty batch prints its header and a blank line" \
        grep -qzP -- '-{43}\nTime: [^\n]+\n-{43}\n\n' "$WORK/ex.stdout"
    stop_group "$SERVER_PID"
}

wordcount_jsonl
example_pprint
finish

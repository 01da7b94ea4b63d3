#!/usr/bin/env bash
# test_cli_stdin.sh — the shell through real pipes: `source: stdin` (lines,
# EOF ends the run after the last batch), `sink: stdout` (text and JSON
# Lines), `sluice run -` (the pipeline from stdin), and the JSON example
# (examples/json_sum.yaml: parse -> pair -> reduce_by_key agg.sum) end to end.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
EXAMPLE="$SLUICE_SOURCE_DIR/examples/json_sum.yaml"

# 1. The example over a pipe: sums per user, the last line without '\n'
# counts, and EOF ends the run by itself (exit 0, well before the timeout).
printf '%s\n' '{"user":"ann","amount":3}' '{"user":"bob","amount":1}' \
    '{"amount":4,"user":"ann"}' '{"user":"cy","amount":2.5,"user":"bob"}' >events.jsonl
printf '%s' '{"user":"dee","amount":-1}' >>events.jsonl
start=$(now_ms)
BATCH_INTERVAL=300ms timeout 20 "$SLUICE_BIN" run "$EXAMPLE" <events.jsonl >sums.txt 2>err.txt
rc=$?
took=$(($(now_ms) - start))
check_eq "json_sum: exit 0 at the end of stdin" "$rc" 0
check "json_sum: ended by EOF, not the timeout ($took ms)" test "$took" -lt 10000
check_eq "json_sum: sums per user (last duplicate name wins)" "$(sort sums.txt | tr '\n' ' ')" \
    "('ann', 7) ('bob', 3.5) ('dee', -1) "
check_eq "json_sum: nothing on stderr" "$(cat err.txt)" ""

# 2. format: json writes JSON Lines; a pair is [key, value].
FORMAT=json BATCH_INTERVAL=300ms timeout 20 "$SLUICE_BIN" run "$EXAMPLE" <events.jsonl >sums.jsonl
check_eq "json_sum --format json: pairs as arrays" "$(sort sums.jsonl | tr '\n' ' ')" \
    '["ann",7] ["bob",3.5] ["dee",-1] '
check "json_sum --format json: every line is JSON" \
    python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' sums.jsonl

# 3. JSON events pass through parse -> stdout(json) byte for byte: order,
# duplicate names, nesting, unicode, escapes, true/false at every depth
# (compact input).
cat >passthru.yaml <<'EOF'
batch_interval: 200ms
workers: 1
streams:
  lines:  {source: stdin}
  events: {map: json.parse, from: lines}
outputs:
  - {sink: stdout, from: events, format: json}
EOF
cat >in.jsonl <<'EOF'
{"user":"ann","amount":3,"tags":["a","b"],"meta":{"z":1,"a":{}}}
{"a":1,"a":2}
{"caf\u00e9":"ünï 😀","esc":"q\"b\\n\nt\t","n":-12,"d":0.5,"big":1e+22,"nil":null,"e":[]}
[1,{"k":"v"}]
"just a string"
{"ok":true,"no":false,"one":1,"zero":0,"l":[true,false,null],"d":{"t":{"f":[false,{"x":true}]}}}
true
false
[true,[false,[{"deep":[true]}]]]
EOF
timeout 20 "$SLUICE_BIN" run passthru.yaml <in.jsonl >out.jsonl 2>err.txt
check_eq "passthrough: exit 0" "$?" 0
python3 - in.jsonl >want.jsonl <<'EOF'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    # what JSON text means, written compactly: Python's own round trip
    print(json.dumps(json.loads(line), separators=(",", ":"), ensure_ascii=False))
EOF
# Python's dict keeps one of two equal names; sluice keeps both (docs/json.md)
sed -i 's/^{"a":2}$/{"a":1,"a":2}/' want.jsonl
check "passthrough: byte for byte what Python's json writes" cmp -s want.jsonl out.jsonl
[[ $FAILS -eq 0 ]] || diff want.jsonl out.jsonl >&2
check_eq "passthrough: true and false come back as true and false" \
    "$(grep -c 'true\|false' out.jsonl)" 4

# 3b. The same events printed (format: text, as pprint) are what Python's
# print() writes for them: True/False, dicts, lists as tuples (sluice's model).
sed 's/format: json/format: text/' passthru.yaml >print.yaml
timeout 20 "$SLUICE_BIN" run print.yaml <in.jsonl >out.txt 2>err.txt
check_eq "print: exit 0" "$?" 0
python3 - in.jsonl >want.txt <<'EOF'
import json, sys
def t(v):
    if isinstance(v, list):
        return tuple(t(x) for x in v)
    if isinstance(v, dict):
        return {k: t(x) for k, x in v.items()}
    return v
for line in open(sys.argv[1], encoding="utf-8"):
    print(t(json.loads(line)))
EOF
sed -i "s/^{'a': 2}\$/{'a': 1, 'a': 2}/" want.txt
check "print: byte for byte what Python's print writes" cmp -s want.txt out.txt
[[ $FAILS -eq 0 ]] || diff want.txt out.txt >&2
check_eq "print: bools as True/False" "$(sed -n '7,8p' out.txt | tr '\n' ' ')" "True False "

# 4. A live pipe (as `tail -F app.log | sluice run`): a line written while
# the writer keeps stdin open comes out within a few batches, the run goes
# on until the writer closes, then ends with exit 0.
cat >text.yaml <<'EOF'
batch_interval: 200ms
streams:
  lines: {source: stdin}
outputs:
  - {sink: stdout, from: lines}
EOF
mkfifo live.fifo
start_group "\"$SLUICE_BIN\" run text.yaml <live.fifo >live.out 2>live.err; echo \$? >live.rc"
exec 3>live.fifo
printf 'first line\r\n' >&3
check "live: a line comes out while stdin stays open" wait_until 10 grep -qx 'first line' live.out
check "live: still running while the writer is open" test ! -e live.rc
printf 'second line\n' >&3
exec 3>&-
check "live: ends after the writer closes" wait_until 10 test -s live.rc
check_eq "live: exit 0" "$(cat live.rc 2>/dev/null)" 0
check_eq "live: both lines, in order, '\\r' stripped" "$(tr '\n' '|' <live.out)" \
    "first line|second line|"

# 5. sluice run -: the pipeline from stdin.
cat >queue.jsonl <<'EOF'
["x", {"a": 1}]
EOF
QUEUE="$WORK/queue.jsonl" timeout 20 "$SLUICE_BIN" run - >dash.out 2>dash.err <<'EOF'
batch_interval: 100ms
clock: manual
streams:
  q: {source: queue, path: "${QUEUE}", on_end: stop}
outputs:
  - {sink: stdout, from: q}
EOF
check_eq "run -: exit 0" "$?" 0
check_eq "run -: the pipeline ran" "$(tr '\n' '|' <dash.out)" "x|{'a': 1}|"
timeout 20 "$SLUICE_BIN" run - <text.yaml >dash.out 2>dash.err
check_eq "run - with source: stdin: exit 2" "$?" 2
check_contains "run - with source: stdin: says why" dash.err \
    "the pipeline itself was read from stdin ('sluice run -'), so stdin cannot also be its source"
printf 'streams:\n  a: {source: queue, pth: x}\n' | timeout 20 "$SLUICE_BIN" run - 2>dash.err
check_eq "run - with a bad pipeline: exit 2" "$?" 2
check_contains "run - with a bad pipeline: <stdin>:line:col" dash.err "<stdin>:1:1: missing required key"

# 6. validate - and graph -: the same pipeline from stdin; validate also
# creates the components (a queue file that cannot be opened, at its line).
printf 'batch_interval: 1s\nstreams:\n  a: {source: queue, path: "%s"}\noutputs:\n  - {sink: pprint, from: a}\n' \
    "$WORK/queue.jsonl" >ok.yaml
"$SLUICE_BIN" validate - <ok.yaml >dash.out 2>dash.err
check_eq "validate -: exit 0" "$?" 0
check_eq "validate -: named <stdin>" "$(cat dash.out)" "<stdin>: ok (1 stream, 1 output)"
"$SLUICE_BIN" graph - <ok.yaml >dash.out 2>dash.err
check_eq "graph -: exit 0" "$?" 0
check_contains "graph -: the stream" dash.out "source queue"
sed 's#path: ".*"#path: "/nonexistent/q.jsonl"#' ok.yaml >bad.yaml
"$SLUICE_BIN" validate - <bad.yaml >dash.out 2>dash.err
check_eq "validate - with a component that cannot be created: exit 2" "$?" 2
check_contains "validate -: <stdin>:line:col of the stream" dash.err \
    "<stdin>:3:15: stream 'a' (queue): cannot open '/nonexistent/q.jsonl'"

finish

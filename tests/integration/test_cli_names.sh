#!/usr/bin/env bash
# test_cli_names.sh — names a person can read (issue 13, point 5): outputs
# with `name:` in graph, logs, metrics and errors; "1 output" in the
# singular; option values parsed alike everywhere (case-insensitive enums,
# --opt=value and --opt value); a normal resume logged at INFO; one plugin
# directory listed once.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
echo '["a", "b"]' >q.jsonl

# ---- named outputs -------------------------------------------------------------
cat >named.yaml <<'EOF'
batch_interval: 100ms
clock: manual
streams:
  q: {source: queue, path: q.jsonl, on_end: stop}
outputs:
  - {sink: pprint, from: q, name: console}
  - {sink: pprint, from: q}
  - {sink: stdout, from: q, name: "to shell"}
EOF
"$SLUICE_BIN" graph named.yaml >graph.txt
check_eq "graph: exit 0" "$?" 0
check_contains "graph: counts in the singular and plural" graph.txt "1 stream, 3 outputs"
check "graph: a named output shows its name" grep -Eq '^  console +pprint +<- q$' graph.txt
check "graph: an unnamed one stays output-2" grep -Eq '^  output-2 +pprint +<- q$' graph.txt
check "graph: a name with a space" grep -Eq '^  to shell +stdout +<- q$' graph.txt
"$SLUICE_BIN" graph named.yaml --dot >graph.dot
check_contains "graph --dot: the name labels the node" graph.dot 'label="console\npprint"'
"$SLUICE_BIN" run named.yaml --log-level info >run.out 2>run.err
check_eq "run: exit 0" "$?" 0
check_contains "logs and metrics name the output" run.err "to shell (stdout): lines=2"

cat >one.yaml <<'EOF'
batch_interval: 100ms
streams:
  q: {source: queue, path: q.jsonl}
outputs:
  - {sink: jsonl, from: q, path: /nonexistent-dir/out.jsonl, name: archive}
EOF
"$SLUICE_BIN" graph one.yaml >one.txt
check_contains "graph: 1 output, 1 stream" one.txt "1 stream, 1 output"$'\n'
"$SLUICE_BIN" run one.yaml 2>one.err
check_eq "a sink failing to start: exit 2 (its parameters cannot work)" "$?" 2
check_contains "the start error names the output" one.err "one.yaml: archive: jsonl: cannot open"

sed 's/name: "to shell"/name: console/' named.yaml >dup.yaml
"$SLUICE_BIN" validate dup.yaml 2>dup.err
check_eq "two outputs of one name: exit 2" "$?" 2
check_contains "two outputs of one name: file:line:col of the name" dup.err \
    "dup.yaml:8:35: output name 'console' is already the name of another output"
sed 's/name: console/name: output-7/' named.yaml >res.yaml
"$SLUICE_BIN" validate res.yaml 2>res.err
check_contains "output-N is reserved" res.err "has the form output-N"
sed 's/name: console/name: q/' named.yaml >clash.yaml
"$SLUICE_BIN" validate clash.yaml 2>clash.err
check_contains "an output may not take a stream's name" clash.err "is already the name of a stream"

# ---- option values: one way everywhere ---------------------------------------------
for opts in "--clock MANUAL" "--clock=Manual" "--log-level DEBUG" "--log-level=Debug" \
    "--workers=1" "--workers 1" "--batches=1"; do
    # shellcheck disable=SC2086 # the options are meant to split
    "$SLUICE_BIN" run named.yaml $opts >opt.out 2>opt.err
    check_eq "run $opts: exit 0" "$?" 0
done
"$SLUICE_BIN" run named.yaml --clock=sideways 2>opt.err
check_eq "--clock=sideways: exit 2" "$?" 2
check_contains "--clock: the choices" opt.err "--clock: expected system or manual, got 'sideways'"
sed 's/clock: manual/clock: MANUAL/; s/on_end: stop/on_end: Stop/' named.yaml >upper.yaml
"$SLUICE_BIN" run upper.yaml >upper.out 2>upper.err
check_eq "YAML enums ignore case too (clock: MANUAL, on_end: Stop)" "$?" 0
check_eq "... and mean the same: the run stopped at the end, every element written (3 outputs x 2)" "$(grep -c '^[ab]$' upper.out)" 6

# ---- a normal resume is INFO -------------------------------------------------------
printf '%s\n' '[{"key": "a", "value": 1}]' '[{"key": "a", "value": 2}]' >kv.jsonl
cat >state.yaml <<'EOF'
batch_interval: 100ms
clock: manual
checkpoint: cp
streams:
  q: {source: queue, path: kv.jsonl, on_end: stop}
  s: {update_state_by_key: agg.sum, from: q}
outputs:
  - {sink: stdout, from: s, name: totals}
EOF
"$SLUICE_BIN" run state.yaml --batches 1 >/dev/null 2>r1.err
"$SLUICE_BIN" run state.yaml >r2.out 2>r2.err
check_eq "resume: exit 0" "$?" 0
check_eq "resume: the state came back" "$(tail -1 r2.out)" "('a', 3)"
check_eq "resume: nothing at the default level (WARN)" "$(cat r2.err)" ""
"$SLUICE_BIN" run state.yaml --fresh --batches 1 >/dev/null 2>&1
"$SLUICE_BIN" run state.yaml --log-level info >/dev/null 2>r3.err
check "resume: logged at INFO" grep -Eq 'INFO +resuming from cp/checkpoint-' r3.err

# ---- one plugin directory, listed once -------------------------------------------------
D=$SLUICE_PLUGIN_PATH
SLUICE_PLUGIN_PATH="$D:$D/:$D/../$(basename "$D")" "$SLUICE_BIN" plugins --plugin-path "$D/" >plugins.txt
check_eq "plugins: exit 0" "$?" 0
check_eq "plugins: the directory is listed once, under one of its spellings" \
    "$(grep -c "^  $D" plugins.txt)" 1
check_eq "plugins: each plugin once" "$(grep -c '^stdin ' plugins.txt)" 1

finish

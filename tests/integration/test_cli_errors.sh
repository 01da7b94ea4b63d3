#!/usr/bin/env bash
# test_cli_errors.sh — the CLI's answers to bad pipelines and bad command
# lines (exit 2, FILE:LINE:COL and a message that says what to do), and its
# informational commands (help, version, plugins, graph, validate).
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1

# expect_config_error NAME LINE:COL TEXT [COMMAND]: write $YAML to NAME.yaml,
# run `sluice COMMAND NAME.yaml` (default validate); it must exit 2 and print
# "NAME.yaml:LINE:COL: ..." containing TEXT on stderr, and nothing on stdout.
expect_config_error() {
    local name=$1 pos=$2 text=$3 cmd=${4:-validate} rc
    printf '%s' "$YAML" >"$name.yaml"
    timeout -k 2 30 "$SLUICE_BIN" "$cmd" "$name.yaml" >"$name.out" 2>"$name.err"
    rc=$?
    check_eq "$name: sluice $cmd exits 2" "$rc" 2
    check_contains "$name: error at $name.yaml:$pos" "$name.err" "$name.yaml:$pos: "
    check_contains "$name: message says '$text'" "$name.err" "$text"
    check "$name: nothing on stdout" test ! -s "$name.out"
}

# ---- errors in the file -----------------------------------------------------------

# A YAML syntax error: an unclosed flow mapping, reported where libyaml
# notices it, with libyaml's explanation.
YAML='batch_interval: 1s
streams:
  lines: {source: socket, port: 9999
outputs:
  - {sink: pprint, from: lines}
'
expect_config_error syntax 4:8 "invalid YAML: did not find expected ',' or '}'"

# A misspelt top-level key points at the key and lists the valid ones.
YAML='batch_interval: 1s
batch_intervall: 2s
streams:
  lines: {source: socket, port: 9999}
outputs:
  - {sink: pprint, from: lines}
'
expect_config_error toplevel 2:1 "unknown top-level key 'batch_intervall' (expected one of: batch_interval,"

# An unknown key in a stream points at the key and lists the keys allowed.
YAML='batch_interval: 1s
streams:
  lines:
    source: socket
    port: 9999
  words:
    flat_map: text.split
    fromm: lines
outputs:
  - {sink: pprint, from: words}
'
expect_config_error streamkey 8:5 "unknown key 'fromm' in stream 'words' (expected one of: from, sep)"

# An unknown plugin points at the component and says where it looked.
YAML='batch_interval: 1s
streams:
  lines:
    source: sockett
    port: 9999
outputs:
  - {sink: pprint, from: lines}
'
expect_config_error plugin 4:13 "unknown plugin 'sockett'"
check_contains "plugin: the message points to 'sluice plugins'" plugin.err "sluice plugins"
# The same through `run`, which must not start anything.
expect_config_error plugin 4:13 "unknown plugin 'sockett'" run

# An unknown component of a known plugin lists the plugin's components.
YAML='batch_interval: 1s
streams:
  lines:
    source: socket
    port: 9999
  words:
    flat_map: text.splt
    from: lines
outputs:
  - {sink: pprint, from: words}
'
expect_config_error component 7:15 "has no component 'splt' (it has: text.split,"

# A parameter of the wrong type points at the value.
YAML='batch_interval: 1s
streams:
  lines:
    source: socket
    port: abc
outputs:
  - {sink: pprint, from: lines}
'
expect_config_error ptype 5:11 "parameter 'port' expects an integer, got 'abc'"
expect_config_error ptype 5:11 "parameter 'port' expects an integer, got 'abc'" run

# A missing required parameter points at the component and documents it.
YAML='batch_interval: 1s
streams:
  lines:
    source: socket
    host: localhost
outputs:
  - {sink: pprint, from: lines}
'
expect_config_error missing 4:13 "missing required parameter 'port'"

# `map: text.split` — split emits any number of elements: use flat_map.
YAML='batch_interval: 1s
streams:
  lines:
    source: socket
    port: 9999
  words:
    map: text.split
    from: lines
outputs:
  - {sink: pprint, from: words}
'
expect_config_error mapsplit 7:10 "use flat_map"

# ${VAR} with VAR unset points at the value and suggests a default.
unset SLUICE_IT_UNSET_VAR
# shellcheck disable=SC2016 # the ${...} is for sluice, not for the shell
YAML='batch_interval: 1s
streams:
  lines:
    source: socket
    port: ${SLUICE_IT_UNSET_VAR}
outputs:
  - {sink: pprint, from: lines}
'
expect_config_error unsetvar 5:11 "environment variable SLUICE_IT_UNSET_VAR is not set"
# shellcheck disable=SC2016
check_contains "unsetvar: suggests a default" unsetvar.err '${SLUICE_IT_UNSET_VAR:-default}'
expect_config_error unsetvar 5:11 "SLUICE_IT_UNSET_VAR is not set" graph

# A `from` naming a stream that does not exist lists the defined streams.
YAML='batch_interval: 1s
streams:
  lines: {source: socket, port: 9999}
  words: {flat_map: text.split, from: lnes}
outputs:
  - {sink: pprint, from: words}
'
expect_config_error badref 4:39 "unknown stream 'lnes' (defined streams: lines, words)"

# A missing file has no position but exits 2 and names the file.
timeout -k 2 30 "$SLUICE_BIN" validate no-such-file.yaml >nofile.out 2>nofile.err
check_eq "missing file: exit 2" "$?" 2
check_contains "missing file: named" nofile.err "no-such-file.yaml"

# ---- a good file --------------------------------------------------------------------

GOOD='batch_interval: 1s
streams:
  lines:  {source: socket, host: 127.0.0.1, port: 9999}
  words:  {flat_map: text.split, from: lines, sep: " "}
  pairs:  {map: kv.pair, from: words}
  counts: {reduce_by_key: agg.sum, from: pairs}
outputs:
  - {sink: pprint, from: counts}
  - {sink: jsonl, from: counts, path: counts.jsonl}
'
printf '%s' "$GOOD" >good.yaml
timeout -k 2 30 "$SLUICE_BIN" validate good.yaml >good.out 2>good.err
check_eq "validate good.yaml exits 0" "$?" 0
check_eq "validate prints one ok line" "$(cat good.out)" "good.yaml: ok (4 streams, 2 outputs)"
check "validate: nothing on stderr" test ! -s good.err
# The shipped example validates too.
timeout -k 2 30 "$SLUICE_BIN" validate "$SLUICE_SOURCE_DIR/examples/network_wordcount.yaml" \
    >example.out 2>example.err
check_eq "validate examples/network_wordcount.yaml exits 0" "$?" 0
check_contains "example: ok (4 streams, 1 output)" example.out ": ok (4 streams, 1 output)"

# graph: every stream with its operation, its input, and the outputs.
timeout -k 2 30 "$SLUICE_BIN" graph good.yaml >graph.out 2>graph.err
check_eq "graph exits 0" "$?" 0
for pat in 'lines +source socket' 'words +flat_map text.split +<- lines' \
    'pairs +map kv.pair +<- words' 'counts +reduce_by_key agg.sum +<- pairs' \
    'pprint +<- counts' 'jsonl +<- counts'; do
    check "graph shows /$pat/" grep -qE -- "$pat" graph.out
done
timeout -k 2 30 "$SLUICE_BIN" graph good.yaml --dot >dot.out 2>dot.err
check_eq "graph --dot exits 0" "$?" 0
check "graph --dot is a digraph" grep -q '^digraph sluice {' dot.out
check "graph --dot closes the graph" test "$(tail -n 1 dot.out)" = "}"
check_eq "graph --dot has a node per stream and output" \
    "$(grep -cE '^ *[so][0-9]+ \[label=' dot.out)" 6
check_eq "graph --dot has an edge per input" "$(grep -cE -- '-> ' dot.out)" 5
for s in lines words pairs counts; do
    check "graph --dot labels stream $s" grep -q "label=\"$s\\\\n" dot.out
done
if command -v dot >/dev/null; then
    check "graphviz accepts the DOT" dot -Tsvg -o /dev/null dot.out
fi

# ---- command line --------------------------------------------------------------------

# run without FILE / with an unknown option: exit 2, one line and a hint.
timeout -k 2 30 "$SLUICE_BIN" run >run0.out 2>run0.err
check_eq "run without FILE exits 2" "$?" 2
check_contains "run without FILE says so" run0.err "missing the pipeline FILE"
check_contains "run without FILE points to the help" run0.err "sluice run --help"
timeout -k 2 30 "$SLUICE_BIN" run good.yaml --frobnicate >run1.out 2>run1.err
check_eq "run --frobnicate exits 2" "$?" 2
check_contains "unknown option is named" run1.err "unknown option '--frobnicate'"
check_contains "unknown option points to the help" run1.err "sluice run --help"
timeout -k 2 30 "$SLUICE_BIN" run good.yaml --batches many >run2.out 2>run2.err
check_eq "run --batches many exits 2" "$?" 2
check_contains "bad --batches value is explained" run2.err "--batches"
timeout -k 2 30 "$SLUICE_BIN" frobnicate >cmd.out 2>cmd.err
check_eq "unknown command exits 2" "$?" 2
timeout -k 2 30 "$SLUICE_BIN" >nocmd.out 2>nocmd.err
check_eq "no command exits 2" "$?" 2
check "no command prints the commands on stderr" grep -q "run FILE" nocmd.err

# help and version: exit 0, on stdout.
timeout -k 2 30 "$SLUICE_BIN" --help >help.out 2>help.err
check_eq "sluice --help exits 0" "$?" 0
for c in run validate graph plugins top version; do
    check "sluice --help lists '$c'" grep -qE "^  $c( |$)" help.out
done
timeout -k 2 30 "$SLUICE_BIN" run --help >runhelp.out 2>runhelp.err
check_eq "sluice run --help exits 0" "$?" 0
check_contains "run --help shows the usage" runhelp.out "usage: sluice run FILE"
for o in --batches --timeout --clock --workers --plugin-path --log-level; do
    check_contains "run --help documents $o" runhelp.out "$o"
done
timeout -k 2 30 "$SLUICE_BIN" version >version.out 2>version.err
check_eq "sluice version exits 0" "$?" 0
check "version says 'sluice X.Y.Z (plugin ABI M.N)'" \
    grep -qE '^sluice [0-9]+\.[0-9]+\.[0-9]+ \(plugin ABI [0-9]+\.[0-9]+\)$' version.out

# plugins: the built-ins, as text and as valid JSON.
timeout -k 2 30 "$SLUICE_BIN" plugins >plugins.out 2>plugins.err
check_eq "sluice plugins exits 0" "$?" 0
for c in socket queue pprint jsonl text.split kv.pair agg.sum; do
    check "plugins lists $c" grep -qE "(^|[ (])$c([ )]|\.|$)" plugins.out
done
timeout -k 2 30 "$SLUICE_BIN" plugins --json >plugins.json 2>pluginsjson.err
check_eq "sluice plugins --json exits 0" "$?" 0
check "plugins --json is valid JSON" python3 -m json.tool plugins.json /dev/null
# Component names in the JSON: the built-ins, with their kinds and schemas.
json_has_component() {
    python3 - "$1" "$2" plugins.json <<'EOF2'
import json, sys
name, kind, path = sys.argv[1], sys.argv[2], sys.argv[3]
doc = json.load(open(path))
comps = [c for p in doc["plugins"] for c in p["components"]]
sys.exit(0 if any(c["name"] == name and c["kind"] == kind for c in comps) else 1)
EOF2
}
for c in socket.socket:source queue.queue:source pprint.pprint:sink jsonl.jsonl:sink \
    "text.split:map function" "kv.pair:map function" "agg.sum:reduce function"; do
    check "plugins --json has ${c%%:*} (${c#*:})" json_has_component "${c%%:*}" "${c#*:}"
done
check "plugins --json: socket's port is a required int" python3 -c '
import json, sys
doc = json.load(open("plugins.json"))
c = [c for p in doc["plugins"] for c in p["components"] if c["name"] == "socket.socket"][0]
port = [q for q in c["params"] if q["name"] == "port"][0]
sys.exit(0 if port["type"] == "int" and port["required"] in (True, 1) else 1)'

# plugins --json: ranges of parameters, and the engine's settings in the same
# form (type, default, range, doc), beside the unchanged "plugins" array.
check "plugins --json: socket's port has range 1..65535" python3 -c '
import json, sys
doc = json.load(open("plugins.json"))
c = [c for p in doc["plugins"] for c in p["components"] if c["name"] == "socket.socket"][0]
port = [q for q in c["params"] if q["name"] == "port"][0]
sys.exit(0 if port.get("range") == "1..65535" else 1)'
check "plugins --json: settings list the top-level keys with types and ranges" python3 -c '
import json, sys
s = {q["name"]: q for q in json.load(open("plugins.json"))["settings"]}
ok = (list(s)[:2] == ["batch_interval", "workers"] and s["batch_interval"]["required"] is True
      and s["batch_interval"]["type"] == "duration" and s["workers"]["range"] == "0..1024"
      and s["early_combine"]["type"] == "bool" and s["early_combine"]["default"] == "true"
      and s["clock"]["choices"] == "system|manual" and s["checkpoint_keep"]["default"] == "3")
sys.exit(0 if ok else 1)'
check_contains "plugins (text) lists the engine settings" plugins.out "engine settings"

# ---- what run would refuse, validate refuses too (issue 7, point 5) ---------------------

# A value outside its parameter's range, at the value, naming the stream.
YAML='batch_interval: 1s
streams:
  lines:
    source: socket
    port: 99999
outputs:
  - {sink: pprint, from: lines}
'
expect_config_error range 5:11 \
    "stream 'lines' (socket): parameter 'port' must be between 1 and 65535, got '99999'"
expect_config_error range 5:11 "parameter 'port' must be between 1 and 65535" run

# A negative count, in an output.
YAML='batch_interval: 1s
streams:
  lines: {source: socket, port: 9999}
outputs:
  - {sink: pprint, from: lines, num: -3}
'
expect_config_error count 5:38 "output 1 (pprint): parameter 'num' must be at least 0, got '-3'"

# A queue file that does not exist: only create() knows, at the operation.
YAML='batch_interval: 1s
streams:
  events:
    source: queue
    path: /nonexistent/sluice-events.jsonl
outputs:
  - {sink: pprint, from: events}
'
expect_config_error queuefile 4:13 \
    "stream 'events' (queue): cannot open '/nonexistent/sluice-events.jsonl' (No such file or directory)"

# A bad separator: text.split refuses an empty one at create.
YAML='batch_interval: 1s
streams:
  lines: {source: socket, port: 9999}
  words: {flat_map: text.split, from: lines, sep: ""}
outputs:
  - {sink: pprint, from: words}
'
expect_config_error separator 4:21 "stream 'words' (text.split): sep must not be empty"

# A sink that cannot open its file, at the output's sink.
YAML='batch_interval: 1s
streams:
  lines: {source: socket, port: 9999}
outputs:
  - {sink: pprint, from: lines}
  - sink: jsonl
    from: lines
    path: /nonexistent/dir/out.jsonl
'
expect_config_error sinkfile 6:11 "output 2 (jsonl): cannot open '/nonexistent/dir/out.jsonl' for writing"

# validate creates a source without connecting (nothing listens on the port),
# and leaves a sink's files as they were: an existing one keeps its content,
# a missing one is not created.
echo 'keep me' >kept.jsonl
YAML='batch_interval: 1s
early_combine: no
workers: 2
streams:
  lines: {source: socket, port: 1}
outputs:
  - {sink: jsonl, from: lines, path: kept.jsonl}
  - {sink: jsonl, from: lines, path: fresh.jsonl}
'
printf '%s' "$YAML" >notrace.yaml
timeout -k 2 30 "$SLUICE_BIN" validate notrace.yaml >notrace.out 2>notrace.err
check_eq "validate notrace.yaml exits 0" "$?" 0
check_eq "validate notrace.yaml: ok" "$(cat notrace.out)" "notrace.yaml: ok (1 stream, 2 outputs)"
check_eq "validate leaves an existing output file alone" "$(cat kept.jsonl)" "keep me"
check "validate creates no output file" test ! -e fresh.jsonl

# One boolean syntax: a setting takes what a plugin's bool takes.
YAML='batch_interval: 1s
early_combine: maybe
streams:
  lines: {source: socket, port: 9999}
outputs:
  - {sink: pprint, from: lines}
'
expect_config_error boolean 2:16 "early_combine: expected true or false, got 'maybe'"
YAML='batch_interval: 1s
workers: 5000
streams:
  lines: {source: socket, port: 9999}
outputs:
  - {sink: pprint, from: lines}
'
expect_config_error workers 2:10 "workers: must be between 0 and 1024, got '5000'"

# A file over the 16 MiB cap is refused before it is parsed: /dev/zero ends
# at once (it used to grow without limit) with exit 2 and the reason.
start=$(now_ms)
timeout -k 2 20 "$SLUICE_BIN" validate /dev/zero >zero.out 2>zero.err
check_eq "validate /dev/zero exits 2" "$?" 2
check_contains "validate /dev/zero says why" zero.err \
    "/dev/zero: the file is larger than 16 MiB, the limit for a pipeline file"
took=$(($(now_ms) - start))
check "validate /dev/zero ends within 5 s (took $took ms)" test "$took" -lt 5000

finish

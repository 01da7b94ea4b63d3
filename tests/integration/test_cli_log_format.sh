#!/usr/bin/env bash
# test_cli_log_format.sh — `sluice run --log-format json` writes every
# stderr line as one JSON object {"ts","level","stream","component","msg"}
# (stream and component when a component logged it), parsed here line by line
# by python3; the text format starts each line with an ISO-8601 UTC time
# stamp and the level; a bad --log-format is a usage error.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$WORK" || exit 1

cat >sock.yaml <<'EOF2'
batch_interval: 200ms
streams:
  lines: {source: socket, host: 127.0.0.1, port: "${PORT}", reconnect_max: 100ms}
  words: {flat_map: text.split, from: lines}
outputs:
  - {sink: jsonl, from: words, path: out.jsonl}
EOF2

# check_json FILE WHAT: every line of FILE is a JSON object with the fields;
# prints a summary of what it found for the checks below.
check_json() {
    python3 - "$1" <<'PY'
import json, re, sys
ts = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
bad, levels, from_handle, engine = [], set(), set(), 0
lines = open(sys.argv[1], "rb").read().split(b"\n")
if lines and lines[-1] == b"":
    lines.pop()
for i, raw in enumerate(lines, 1):
    try:
        o = json.loads(raw.decode("utf-8"))
    except Exception as e:
        bad.append("line %d is not JSON (%s): %r" % (i, e, raw[:120]))
        continue
    keys = set(o)
    if not isinstance(o, dict) or not {"ts", "level", "msg"} <= keys or keys - {"ts", "level", "stream", "component", "msg"}:
        bad.append("line %d: fields %s" % (i, sorted(keys)))
        continue
    if not ts.match(o["ts"]) or o["level"] not in ("error", "warn", "info", "debug") or not isinstance(o["msg"], str):
        bad.append("line %d: values %r" % (i, o))
    levels.add(o["level"])
    if "stream" in o:
        from_handle.add("%s/%s" % (o["stream"], o.get("component")))
        if o["msg"].startswith(o["stream"] + " ("):
            bad.append("line %d: the prefix is repeated in msg: %r" % (i, o["msg"]))
    else:
        engine += 1
print("lines", len(lines))
print("bad", len(bad))
for b in bad[:5]:
    print("  ", b)
print("levels", " ".join(sorted(levels)))
print("handles", " ".join(sorted(from_handle)))
print("engine", engine)
PY
}

# ---- json, a run that connects ---------------------------------------------------------------
if ! start_server "while :; do echo 'a b'; sleep 0.01; done | nc -lk 127.0.0.1 \"\$PORT\""; then
    fail "nc -lk did not start"
fi
timeout 30 "$SLUICE_BIN" run sock.yaml --timeout 1.5 --log-format json --log-level debug \
    >/dev/null 2>ok.err
check_eq "json: exit 0" "$?" 0
stop_group "$SERVER_PID"
check_json ok.err >ok.verdict
cat ok.verdict
check "json: lines were written ($(grep '^lines' ok.verdict))" test "$(awk '/^lines/ { print $2 }' ok.verdict)" -ge 10
check_contains "json: every line is an object with ts, level, msg (and stream, component)" ok.verdict "bad 0"
check_contains "json: debug and info lines" ok.verdict "levels debug info"
check "json: the socket's lines carry stream and component" grep -q "^handles.*lines/socket" ok.verdict
check "json: the engine's lines have neither" test "$(awk '/^engine/ { print $2 }' ok.verdict)" -ge 5
check "json: the source's state is logged at debug" \
    grep -qF '"level":"debug","stream":"lines","component":"socket","msg":"source state: connected: 127.0.0.1:' ok.err

# ---- json, a run that never connects: the ERROR is a JSON line too ----------------------------
PORT=$(free_port) timeout 30 "$SLUICE_BIN" run sock.yaml --timeout 1 --log-format=JSON >/dev/null 2>closed.err
check_eq "json: never connected: exit 1" "$?" 1
check_json closed.err >closed.verdict
check_contains "json: never connected: every line is JSON" closed.verdict "bad 0"
check "json: the ERROR line" python3 -c '
import json, sys
ls = [json.loads(l) for l in open("closed.err")]
e = [o for o in ls if o["level"] == "error"]
sys.exit(not (len(e) == 1 and "source '"'"'lines'"'"' (socket) never connected to 127.0.0.1:" in e[0]["msg"]))'
check "json: the warning comes from the handle" python3 -c '
import json, sys
ls = [json.loads(l) for l in open("closed.err")]
sys.exit(not any(o.get("stream") == "lines" and o.get("component") == "socket" and o["msg"].startswith("cannot connect to 127.0.0.1:") for o in ls))'

# ---- json, an output whose reader goes away: the engine's warning names it in fields -----------
printf '["a b", "c d"]\n' >gone.jsonl
cat >gone.yaml <<'EOF2'
batch_interval: 100ms
streams:
  lines: {source: queue, path: gone.jsonl}
  words: {flat_map: text.split, from: lines}
outputs:
  - {sink: pprint, from: words}
EOF2
timeout 30 "$SLUICE_BIN" run gone.yaml --log-format json 2>gone.err | head -1 >/dev/null
check_json gone.err >gone.verdict
check_contains "json: stdout closed: every line is JSON, no prefix repeated in msg" gone.verdict "bad 0"
check "json: the output's warning carries stream and component" python3 -c '
import json, sys
ls = [json.loads(l) for l in open("gone.err")]
sys.exit(not any(o.get("stream") == "words" and o.get("component") == "pprint" and o["msg"].endswith("; stopping") for o in ls))'

# ---- text: ISO-8601 UTC stamps -----------------------------------------------------------------
PORT=$(free_port) timeout 30 "$SLUICE_BIN" run sock.yaml --timeout 0.5 --log-level info >/dev/null 2>text.err
check "text: lines were written" test "$(wc -l <text.err)" -ge 3
check_eq "text: every line starts with an ISO-8601 UTC time and a level" \
    "$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z (ERROR|WARN |INFO |DEBUG) ' text.err)" 0
check "text: today's date, in UTC" grep -q "^$(date -u +%Y-%m-%dT)" text.err
check "text: a component's line keeps its 'stream (component): ' prefix" \
    grep -qE 'Z WARN  lines \(socket\): cannot connect to 127\.0\.0\.1:' text.err

# ---- usage -----------------------------------------------------------------------------------
"$SLUICE_BIN" run sock.yaml --log-format xml >/dev/null 2>usage.err
check_eq "a bad --log-format: exit 2" "$?" 2
check_contains "... saying what it takes" usage.err "--log-format: expected text or json, got 'xml'"
finish

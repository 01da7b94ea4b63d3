#!/usr/bin/env bash
# test_http.sh — the HTTP server (issue 10; docs/operations.md) on a real
# run: the seed's stateful word count over a real TCP socket fed a known
# 120 lines, served with --http. Checks /health, /ready, /metrics (with
# promtool check metrics, from Debian's prometheus package, and figures that
# must equal what was fed), the JSON API (batches that add up to the input,
# the graph, the checkpoint), every family of the run by value against one
# consistent view (bytes fed, what pprint printed, the checkpoint file on
# disk, histograms bucket by bucket against /api/v1/batches, the process's
# start and CPU), receivers' buffers holding lines fed before a day-long
# batch, the page, errors (404, 405, 400), a taken port,
# a malformed address (CLI and YAML), the warning for a non-loopback
# address, and plugin gauges (ABI 1.6) against counters on /metrics.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v promtool >/dev/null || {
    echo "promtool is missing: scripts/deps.sh installs Debian's prometheus" >&2
    exit 1
}

cat >"$WORK/p.yaml" <<'EOF'
batch_interval: 500ms
checkpoint: ${CK}
checkpoint_interval: 500ms
checkpoint_keep: 1000
streams:
  lines: {source: socket, host: 127.0.0.1, port: "${PORT}"}
  words: {flat_map: text.split, from: lines, sep: " "}
  pairs: {map: kv.pair, from: words}
  counts: {update_state_by_key: agg.sum, from: pairs}
outputs:
  - {sink: pprint, from: counts}
EOF
export CK=$WORK/ck

# GET URL into FILE; prints the status code.
get() {
    curl -s -o "$2" -w '%{http_code}' --max-time 5 "$1"
}

# A JSON field (python expression over `d`) of FILE.
jq_py() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}

# 120 lines "a b c" in three bursts, after the connection.
feeder="sleep 0.6; for i in \$(seq 40); do echo 'a b c'; done; sleep 0.5;
 for i in \$(seq 40); do echo 'a b c'; done; sleep 0.5;
 for i in \$(seq 40); do echo 'a b c'; done"
start_server "{ $feeder; sleep 60; } | nc -lk 127.0.0.1 \"\$PORT\"" || {
    fail "nc -lk did not start"
    finish
}
HPORT=$(free_port)
BASE=http://127.0.0.1:$HPORT
T0=$(date +%s) # sluice_process_start_time_seconds is checked against it
# no time limit that a loaded machine could outlast: SIGTERM ends it below
start_group "sh -c 'echo \$\$ >\"$WORK/run.pid\"; exec \"$SLUICE_BIN\" run \"$WORK/p.yaml\" \
    --http 127.0.0.1:$HPORT --timeout 300' >'$WORK/run.out' 2>'$WORK/run.err'; echo \$? >'$WORK/run.rc'"
RUN=$GROUP_PID

health_ok() { [[ $(get "$BASE/health" "$WORK/health.json") == 200 ]]; }
check "/health answers 200 once the run has started" wait_until 5 health_ok
T1=$(date +%s) # the process has started by now
check_eq "/health says ok" "$(jq_py "$WORK/health.json" 'd["status"]')" ok
check_contains "stderr says where the page is" "$WORK/run.err" "http://127.0.0.1:$HPORT/"

# the page, errors
check_eq "/ is the page" "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$BASE/")" \
    "200 text/html; charset=utf-8"
check_eq "HEAD / answers too" "$(curl -s -I -o /dev/null -w '%{http_code}' "$BASE/")" 200
check_eq "an unknown path is a 404" "$(get "$BASE/nope" "$WORK/404.json")" 404
check_contains "the 404 lists the endpoints" "$WORK/404.json" '"/metrics"'
check_eq "POST is refused" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/metrics")" 405
check_eq "a bad n is a 400" "$(get "$BASE/api/v1/batches?n=abc" "$WORK/400.json")" 400

fed_all() {
    get "$BASE/api/v1/status" "$WORK/status.json" >/dev/null &&
        [[ $(jq_py "$WORK/status.json" 'd["sources"][0]["records_total"]') == 120 ]]
}
check "the status counts the 120 lines fed" wait_until 8 fed_all
check_eq "/ready answers 200 (the source is up, no batch failed)" \
    "$(get "$BASE/ready" "$WORK/ready.json")" 200
check_eq "/ready says ready" "$(jq_py "$WORK/ready.json" 'd["ready"]')" True
s=$WORK/status.json
check_eq "status: the state" "$(jq_py "$s" 'd["state"]')" running
check_eq "status: the interval" "$(jq_py "$s" 'd["batch_interval_ms"]')" 500
check_eq "status: the source's component" "$(jq_py "$s" 'd["sources"][0]["source"]')" socket
check_eq "status: a receiver, with its buffer limit" \
    "$(jq_py "$s" 'd["sources"][0]["receiver"] and d["sources"][0]["buffer_limit_bytes"]')" 67108864
check_eq "status: the bytes fed (120 x 'a b c')" "$(jq_py "$s" 'd["sources"][0]["bytes_total"]')" 600
check_eq "status: 3 keys in the state" "$(jq_py "$s" '[x["keys"] for x in d["stateful"] if x["stream"] == "counts"][0]')" 3
check_eq "status: the output and its sink" "$(jq_py "$s" 'd["outputs"][0]["name"] + "/" + d["outputs"][0]["sink"]')" output-1/pprint
check_eq "status: no failed batch" "$(jq_py "$s" 'd["batches_failed"]')" 0
check_eq "status: the socket plugin's own counter, as /metrics has it" \
    "$(jq_py "$s" '[(m["type"], m["metric"], m["value"]) for m in d["plugin_metrics"] if m["stream"] == "lines" and m["plugin"] == "socket" and m["name"] == "lines"]')" \
    "[('counter', 'sluice_plugin_lines_total', 120)]"
check_eq "status: plugin metrics by stream, plugin and name" \
    "$(jq_py "$s" 'all((x["stream"], x["plugin"], x["name"]) < (y["stream"], y["plugin"], y["name"]) for x, y in zip(d["plugin_metrics"], d["plugin_metrics"][1:]))')" True

# the batches add up to the input, each batch to its sources
get "$BASE/api/v1/batches?n=1000" "$WORK/batches.json" >/dev/null
check_eq "batches: their records add up to 120" \
    "$(jq_py "$WORK/batches.json" 'sum(b["records"] for b in d["batches"])')" 120
check_eq "batches: each one's sources add up to its records" \
    "$(jq_py "$WORK/batches.json" 'all(sum(s["records"] for s in b["sources"]) == b["records"] for b in d["batches"])')" True
check_eq "batches: oldest first, 500 ms apart" \
    "$(jq_py "$WORK/batches.json" 'all(y["batch_time"] - x["batch_time"] == 500 for x, y in zip(d["batches"], d["batches"][1:]))')" True
check_eq "batches: total delay = scheduling delay + processing time" \
    "$(jq_py "$WORK/batches.json" 'all(b["total_delay_ms"] == b["scheduling_delay_ms"] + b["processing_time_ms"] for b in d["batches"])')" True
get "$BASE/api/v1/batches?n=2" "$WORK/two.json" >/dev/null
check_eq "batches?n=2 gives 2" "$(jq_py "$WORK/two.json" 'len(d["batches"])')" 2

get "$BASE/api/v1/graph" "$WORK/graph.json" >/dev/null
check_eq "graph: the streams and their inputs" \
    "$(jq_py "$WORK/graph.json" '" ".join("%s:%s<%s" % (s["name"], s["op"], ",".join(map(str, s["inputs"]))) for s in d["streams"])')" \
    "lines:source< words:flat_map<0 pairs:map<1 counts:update_state_by_key<2"
check_eq "graph: counts is stateful" "$(jq_py "$WORK/graph.json" 'd["streams"][3]["stateful"]')" True

ck_written() {
    get "$BASE/api/v1/status" "$WORK/status2.json" >/dev/null &&
        (($(jq_py "$WORK/status2.json" 'd["checkpoint"]["written_total"]') >= 1))
}
check "checkpoint: written, and counted" wait_until 5 ck_written
check_eq "checkpoint: its size is known" \
    "$(jq_py "$WORK/status2.json" 'd["checkpoint"]["last_bytes"] > 0')" True

# /metrics: valid for promtool, and the figures fed
get "$BASE/metrics" "$WORK/metrics.txt" >/dev/null
check "promtool check metrics accepts /metrics" promtool check metrics <"$WORK/metrics.txt"
promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1
check_eq "promtool has nothing to say" "$(cat "$WORK/promtool.out")" ""
check_contains "metrics: records of the source" "$WORK/metrics.txt" \
    'sluice_source_records_total{stream="lines",source="socket"} 120'
check_contains "metrics: the socket plugin's own counter" "$WORK/metrics.txt" \
    'sluice_plugin_lines_total{stream="lines",plugin="socket"} 120'
check_contains "metrics: keys of the stateful stream" "$WORK/metrics.txt" 'sluice_state_keys{stream="counts"} 3'
check_contains "metrics: a processing-time histogram" "$WORK/metrics.txt" \
    '# TYPE sluice_processing_time_seconds histogram'
check_contains "metrics: its +Inf bucket" "$WORK/metrics.txt" 'sluice_processing_time_seconds_bucket{le="+Inf"}'
check_contains "metrics: build info" "$WORK/metrics.txt" 'sluice_build_info{version="'
check_contains "metrics: checkpoint age" "$WORK/metrics.txt" 'sluice_checkpoint_age_seconds '
check_contains "metrics: ready" "$WORK/metrics.txt" 'sluice_ready 1'
check "metrics: resident memory is a positive figure" \
    awk '$1 == "sluice_process_resident_memory_bytes" && $2 > 1000000 { f = 1 } END { exit !f }' "$WORK/metrics.txt"

# /metrics by value. One consistent view: two scrapes around the JSON API's
# answers, the newest checkpoint file and what pprint printed, taken again
# until both scrapes agree on the batches, checkpoints and output runs and
# pprint's lines match its counter (a batch may sit between the sink's
# write and its event). Each family is then checked against that view.

# The value of the sample NAME (labels as served) in FILE; fails if absent.
metric() {
    awk -v n="$2" '$1 == n { v = $2; f = 1 } END { if (f) print v; exit !f }' "$1"
}

# The first number "KEY":N in the JSON of FILE (no python: this machine's
# python3 may take a second to start, and the view below must be quick).
jnum() {
    grep -o "\"$2\":-\?[0-9]*" "$1" | head -1 | cut -d: -f2
}
OUT1='{output="output-1",stream="counts",sink="pprint"}'
SRC='{stream="lines",source="socket"}'
consistent_view() {
    local n ck
    # one curl for the three (one process, one connection): a view must fit
    # between two batches, and a process start each took most of a 500 ms
    # batch on a loaded machine
    curl -sf --max-time 5 -o "$WORK/v1.txt" "$BASE/metrics" -o "$WORK/vb.json" \
        "$BASE/api/v1/batches?n=1000" -o "$WORK/vs.json" "$BASE/api/v1/status" || return 1
    # (checkpoint_keep: 1000, so that retention cannot delete it meanwhile)
    local st line
    IFS= read -r -d '' st <"$WORK/vs.json"
    [[ $st =~ \"last_batch_time\":([0-9]+) ]] || return 1
    printf -v ck 'checkpoint-%015d.slck' "${BASH_REMATCH[1]}"
    CK_SIZE=$(stat -c %s "$CK/$ck" 2>/dev/null) || return 1
    PRINTED=0 HEADERS=0
    while IFS= read -r line; do # no process: see above
        case $line in
        "('"*) PRINTED=$((PRINTED + 1)) ;;
        "Time: "*) HEADERS=$((HEADERS + 1)) ;;
        esac
    done <"$WORK/run.out"
    get "$BASE/metrics" "$WORK/v2.txt" >/dev/null || return 1
    for n in sluice_batches_completed_total sluice_checkpoints_written_total \
        "sluice_output_runs_total$OUT1"; do
        [[ $(metric "$WORK/v1.txt" "$n") == "$(metric "$WORK/v2.txt" "$n")" ]] || return 1
    done
    [[ $PRINTED == "$(metric "$WORK/v1.txt" "sluice_output_records_total$OUT1")" ]]
}
check "metrics: a consistent view of the run" wait_until 30 consistent_view
v=$WORK/v1.txt
COMPLETED=$(metric "$v" sluice_batches_completed_total)
check_eq "metrics: no failed batch" "$(metric "$v" sluice_batches_failed_total)" 0
check_eq "metrics: completed batches, as the status has them" "$COMPLETED" \
    "$(jnum "$WORK/vs.json" batches_completed)"
check_eq "metrics: the bytes fed (120 lines 'a b c' over TCP, 720 bytes less 120 newlines)" \
    "$(metric "$v" "sluice_source_bytes_total$SRC")" 600
check_eq "metrics: the output's records are the elements pprint printed" \
    "$(metric "$v" "sluice_output_records_total$OUT1")" "$PRINTED"
check "metrics: ... of which there are some" test "$PRINTED" -ge 3
check_eq "metrics: the output ran once a batch, as pprint's headers count" \
    "$(metric "$v" "sluice_output_runs_total$OUT1") $(metric "$v" "sluice_output_failures_total$OUT1")" \
    "$COMPLETED 0"
check_eq "metrics: pprint printed a header per run" "$HEADERS" "$COMPLETED"
check_eq "metrics: the receiver holds nothing once every line is in a batch" \
    "$(metric "$v" "sluice_receiver_buffer_records$SRC") $(metric "$v" "sluice_receiver_buffer_bytes$SRC")" "0 0"
check_eq "metrics: the receiver's buffer limit (the default 64 MiB)" \
    "$(metric "$v" "sluice_receiver_buffer_limit_bytes$SRC")" 67108864
check_eq "metrics: the receiver reported no error" "$(metric "$v" "sluice_receiver_errors_total$SRC")" 0
STATE_BYTES=$(metric "$v" 'sluice_state_bytes{stream="counts"}')
check "metrics: the state of 3 keys takes memory" test "${STATE_BYTES:-0}" -gt 0
check_eq "metrics: the state's bytes, as the status has them" "$STATE_BYTES" \
    "$(grep -o '"stateful":\[{"stream":"counts","keys":3,"bytes":[0-9]*' "$WORK/vs.json" | cut -d: -f5)"
WRITTEN=$(metric "$v" sluice_checkpoints_written_total)
check "metrics: checkpoints written" test "${WRITTEN:-0}" -ge 1
check_eq "metrics: checkpoints written, as the status has them" "$WRITTEN" \
    "$(jnum "$WORK/vs.json" written_total)"
check_eq "metrics: no checkpoint failed" "$(metric "$v" sluice_checkpoint_failures_total)" 0
check_eq "metrics: the last checkpoint's size is its file's on disk" \
    "$(metric "$v" sluice_checkpoint_last_size_bytes)" "$CK_SIZE"

# hist_check FAMILY:WANT_COUNT[:FIELD]...: a line per histogram, "ok" when
# FAMILY's buckets in v1.txt rise, end with +Inf, +Inf is _count and
# _count is WANT_COUNT, and (with FIELD) each bucket and _sum are what the
# batches' FIELD (ms) in vb.json make; else what is wrong. One python3 run.
hist_check() {
    python3 - "$WORK/v1.txt" "$WORK/vb.json" "$@" <<'PY'
import json, math, re, sys
text, batches = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))["batches"]
for spec in sys.argv[3:]:
    fam, want, field = (spec.split(":") + [""])[:3]
    f, bad = re.escape(fam), []
    buckets = [(float(le), int(c)) for le, c in
               re.findall(r'^%s_bucket\{le="([^"]+)"\} (\S+)$' % f, text, re.M)]
    count = re.findall(r'^%s_count (\S+)$' % f, text, re.M)
    total = re.findall(r'^%s_sum (\S+)$' % f, text, re.M)
    if not buckets or not count or not total:
        print("missing: %d buckets, %d _count, %d _sum" % (len(buckets), len(count), len(total)))
        continue
    count, total = int(count[0]), float(total[0])
    if buckets[-1][0] != math.inf:
        bad.append("the last bucket is not +Inf")
    if any(y[1] < x[1] for x, y in zip(buckets, buckets[1:])):
        bad.append("buckets fall: %s" % buckets)
    if buckets[-1][1] != count:
        bad.append("+Inf %d != _count %d" % (buckets[-1][1], count))
    if count != int(want):
        bad.append("_count %d, want %s" % (count, want))
    if field:
        ms = [b[field] for b in batches]
        if len(ms) != count:
            bad.append("%d batches listed, _count %d" % (len(ms), count))
        for le, c in buckets:
            n = sum(1 for x in ms if le == math.inf or x <= round(le * 1000))
            if n != c:
                bad.append("le=%g: %d, the batches make %d" % (le, c, n))
        if abs(total - sum(ms) / 1000) > 1e-6:
            bad.append("_sum %g, the batches make %g" % (total, sum(ms) / 1000))
    print("; ".join(bad) or "ok")
PY
}
hist_check "sluice_scheduling_delay_seconds:$COMPLETED:scheduling_delay_ms" \
    "sluice_processing_time_seconds:$COMPLETED:processing_time_ms" \
    "sluice_total_delay_seconds:$COMPLETED:total_delay_ms" \
    "sluice_checkpoint_duration_seconds:$WRITTEN" >"$WORK/hist.out"
check_eq "metrics: sluice_scheduling_delay_seconds, bucket by bucket the batches' delays" \
    "$(sed -n 1p "$WORK/hist.out")" ok
check_eq "metrics: sluice_processing_time_seconds, bucket by bucket the batches' times" \
    "$(sed -n 2p "$WORK/hist.out")" ok
check_eq "metrics: sluice_total_delay_seconds, bucket by bucket the batches' delays" \
    "$(sed -n 3p "$WORK/hist.out")" ok
check_eq "metrics: sluice_checkpoint_duration_seconds counts the checkpoints written" \
    "$(sed -n 4p "$WORK/hist.out")" ok

START=$(metric "$v" sluice_process_start_time_seconds)
check "metrics: the process started when the test started it ($START, $T0..$T1)" \
    awk -v s="$START" -v a="$T0" -v b="$T1" 'BEGIN { exit !(s >= a - 2 && s <= b + 2) }'
CPU=$(metric "$v" sluice_process_cpu_seconds_total)
check "metrics: CPU seconds, more than none and at most the cores' time since then ($CPU)" \
    awk -v c="$CPU" -v s="$START" -v now="$(date +%s.%N)" -v n="$(nproc)" \
    'BEGIN { exit !(c > 0 && c <= (now - s) * n + 1) }'

# a source that cannot connect: not ready, and why (its address, the refusal)
CLOSED=$(free_port)
HPORT2=$(free_port)
start_group "CK='$WORK/ck2' PORT=$CLOSED '$SLUICE_BIN' run '$WORK/p.yaml' --http 127.0.0.1:$HPORT2 --timeout 4 \
    >/dev/null 2>'$WORK/closed.err'; echo \$? >'$WORK/closed.rc'"
CLOSED_RUN=$GROUP_PID
up2() { [[ $(get "http://127.0.0.1:$HPORT2/health" /dev/null) == 200 ]]; }
check "a source that cannot connect: /health is 200 all the same (the scheduler runs)" wait_until 5 up2
not_ready() {
    [[ $(get "http://127.0.0.1:$HPORT2/ready" "$WORK/notready.json") == 503 ]] &&
        grep -q "127.0.0.1:$CLOSED" "$WORK/notready.json"
}
check "a source that cannot connect: /ready is 503 and names the address" wait_until 5 not_ready
check_contains "the reason names the source and its state" "$WORK/notready.json" "source 'lines' (socket): "
get "http://127.0.0.1:$HPORT2/metrics" "$WORK/closed.metrics" >/dev/null
check_contains "metrics: the source is not connected" "$WORK/closed.metrics" \
    'sluice_source_connected{stream="lines",source="socket"} 0'
check_contains "metrics: not ready" "$WORK/closed.metrics" 'sluice_ready 0'
wait_until 15 test -s "$WORK/closed.rc"
check_eq "a run whose source never connected exits 1" "$(cat "$WORK/closed.rc" 2>/dev/null)" 1
stop_group "$CLOSED_RUN"

# a graceful stop; the server goes with the run
kill -TERM "$(cat "$WORK/run.pid")"
wait_until 15 test -s "$WORK/run.rc"
check_eq "the run exits 0 on SIGTERM" "$(cat "$WORK/run.rc" 2>/dev/null)" 0
check "the server is gone after the run" bash -c "! curl -s --max-time 2 '$BASE/health' >/dev/null"
stop_group "$RUN"
stop_group "$SERVER_PID"

# receivers' buffers: 10 lines fed wait in the receiver, for a batch
# interval of a day (batch times are multiples of it since the epoch: the
# first is the next midnight UTC; wait if that is less than 30 s away),
# with a receiver_buffer of 8 KiB; a graceful stop hands them to a last batch
left=$((86400 - $(date -u +%s) % 86400))
((left < 30)) && sleep $((left + 1))
cat >"$WORK/buf.yaml" <<'EOF'
batch_interval: 24h
receiver_buffer: 8KiB
streams:
  lines: {source: socket, host: 127.0.0.1, port: "${PORT}"}
outputs:
  - {sink: pprint, from: lines, num: 20}
EOF
start_server "{ sleep 0.6; for i in \$(seq 10); do echo hello; done; sleep 60; } | nc -lk 127.0.0.1 \"\$PORT\"" ||
    fail "nc -lk did not start"
HPORT4=$(free_port)
start_group "sh -c 'echo \$\$ >\"$WORK/buf.pid\"; exec \"$SLUICE_BIN\" run \"$WORK/buf.yaml\" \
    --http 127.0.0.1:$HPORT4 --timeout 300' >'$WORK/buf.out' 2>'$WORK/buf.err'; echo \$? >'$WORK/buf.rc'"
BUF_RUN=$GROUP_PID
buffered() {
    [[ $(get "http://127.0.0.1:$HPORT4/metrics" "$WORK/buf.txt") == 200 ]] &&
        [[ $(metric "$WORK/buf.txt" "sluice_receiver_buffer_records$SRC") == 10 ]]
}
check "receiver buffer: the 10 lines fed wait in the receiver" wait_until 10 buffered
check_eq "receiver buffer: their bytes (10 x 'hello')" \
    "$(metric "$WORK/buf.txt" "sluice_receiver_buffer_bytes$SRC")" 50
check_eq "receiver buffer: the limit is receiver_buffer's 8 KiB" \
    "$(metric "$WORK/buf.txt" "sluice_receiver_buffer_limit_bytes$SRC")" 8192
check_eq "receiver buffer: no batch yet, so no record or byte in one" \
    "$(metric "$WORK/buf.txt" sluice_batches_completed_total) $(metric "$WORK/buf.txt" "sluice_source_records_total$SRC") $(metric "$WORK/buf.txt" "sluice_source_bytes_total$SRC")" \
    "0 0 0"
kill -TERM "$(cat "$WORK/buf.pid")"
wait_until 15 test -s "$WORK/buf.rc"
check_eq "receiver buffer: the run exits 0 on SIGTERM" "$(cat "$WORK/buf.rc" 2>/dev/null)" 0
check_eq "receiver buffer: a last batch took the 10 lines" "$(grep -c '^hello$' "$WORK/buf.out")" 10
stop_group "$BUF_RUN"
stop_group "$SERVER_PID"

# a taken port fails the start, naming the address
start_server "nc -lk 127.0.0.1 \"\$PORT\" >/dev/null" || fail "nc did not start"
TAKEN=$PORT
PORT=$TAKEN timeout 20 "$SLUICE_BIN" run "$WORK/p.yaml" --http "127.0.0.1:$TAKEN" --timeout 2 \
    >/dev/null 2>"$WORK/taken.err"
check_eq "a taken port: exit 1" "$?" 1
check_contains "a taken port: the message names it" "$WORK/taken.err" "http: cannot listen on 127.0.0.1:$TAKEN"
stop_group "$SERVER_PID"

# malformed addresses
PORT=1 timeout 10 "$SLUICE_BIN" run "$WORK/p.yaml" --http nonsense >/dev/null 2>"$WORK/bad.err"
check_eq "a malformed --http: exit 2" "$?" 2
check_contains "a malformed --http: what was expected" "$WORK/bad.err" "expected HOST:PORT like 127.0.0.1:4195, got 'nonsense'"
printf 'batch_interval: 1s\nhttp:\n  adress: 127.0.0.1:1\nstreams:\n  s: {source: stdin}\noutputs:\n  - {sink: pprint, from: s}\n' >"$WORK/bad.yaml"
timeout 10 "$SLUICE_BIN" validate "$WORK/bad.yaml" >/dev/null 2>"$WORK/bady.err"
check_eq "a misspelt http key: exit 2" "$?" 2
check_contains "a misspelt http key: file:line:col" "$WORK/bady.err" "bad.yaml:3:3: unknown key 'adress' in http (expected: address)"
printf 'batch_interval: 1s\nhttp: {address: "127.0.0.1:99999"}\nstreams:\n  s: {source: stdin}\noutputs:\n  - {sink: pprint, from: s}\n' >"$WORK/bad2.yaml"
timeout 10 "$SLUICE_BIN" validate "$WORK/bad2.yaml" >/dev/null 2>"$WORK/bad2.err"
check_contains "a port out of range: file:line:col" "$WORK/bad2.err" "bad2.yaml:2:17: http: the port must be 0..65535, got '99999'"

# beyond loopback: allowed, with a warning
printf 'batch_interval: 200ms\nstreams:\n  s: {source: stdin}\noutputs:\n  - {sink: pprint, from: s}\n' >"$WORK/ok.yaml"
echo "x" | timeout 10 "$SLUICE_BIN" run "$WORK/ok.yaml" --http 0.0.0.0:0 --timeout 1 >/dev/null 2>"$WORK/any.err"
check_eq "0.0.0.0: the run works" "$?" 0
check_contains "0.0.0.0: warned about" "$WORK/any.err" "reachable beyond this machine"

# plugin gauges (ABI 1.6) on /metrics: gauged.level's gauge "level" is a
# gauge without _total, its counters are counters (its "lag" too: the name
# rule is for plugins of ABI < 1.6), the 1.5 plugin abi15.count's counter
# "queue_lag" is still a gauge; promtool has nothing to say; the counter of
# the gauge's name that gauged.level asks for is refused, and logged
cat >"$WORK/g.yaml" <<EOF
batch_interval: 300ms
plugin_path: $SLUICE_TEST_BADPLUGINS
streams:
  lines: {source: stdin}
  levels: {map: gauged.level, from: lines}
  old: {map: abi15.count, from: levels}
outputs:
  - {sink: pprint, from: old}
EOF
HPORT3=$(free_port)
start_group "{ printf 'a\nb\nc\n'; sleep 20; } | '$SLUICE_BIN' run '$WORK/g.yaml' --http 127.0.0.1:$HPORT3 \
    --timeout 6 >'$WORK/g.out' 2>'$WORK/g.err'; echo \$? >'$WORK/g.rc'"
GRUN=$GROUP_PID
gauge_seen() {
    [[ $(get "http://127.0.0.1:$HPORT3/metrics" "$WORK/gm.txt") == 200 ]] &&
        grep -q '^sluice_plugin_rows_total{stream="levels",plugin="gauged.level"} 3$' "$WORK/gm.txt"
}
check "plugin gauges: the 3 lines reach /metrics" wait_until 8 gauge_seen
check_contains "plugin gauges: the gauge's type" "$WORK/gm.txt" '# TYPE sluice_plugin_level gauge'
check_contains "plugin gauges: the gauge's sample, no _total" "$WORK/gm.txt" \
    'sluice_plugin_level{stream="levels",plugin="gauged.level"} 3'
check_contains "plugin gauges: a counter stays a counter" "$WORK/gm.txt" '# TYPE sluice_plugin_rows_total counter'
check_contains "plugin gauges: a 1.6 plugin's counter 'lag' is a counter" "$WORK/gm.txt" \
    'sluice_plugin_lag_total{stream="levels",plugin="gauged.level"} 3'
check_contains "plugin gauges: a 1.5 plugin's counter 'queue_lag' is a gauge" "$WORK/gm.txt" \
    '# TYPE sluice_plugin_queue_lag gauge'
check_contains "plugin gauges: its sample" "$WORK/gm.txt" 'sluice_plugin_queue_lag{stream="old",plugin="abi15.count"} 3'
get "http://127.0.0.1:$HPORT3/api/v1/status" "$WORK/gs.json" >/dev/null
check_eq "plugin gauges: /api/v1/status has the gauge and the counters, typed as on /metrics" \
    "$(jq_py "$WORK/gs.json" '" ".join("%s/%s/%s=%s:%d" % (m["stream"], m["plugin"], m["name"], m["type"], m["value"]) for m in d["plugin_metrics"] if m["stream"] in ("levels", "old"))')" \
    "levels/gauged.level/lag=counter:3 levels/gauged.level/level=gauge:3 levels/gauged.level/rows=counter:3 old/abi15.count/queue_lag=gauge:3 old/abi15.count/rows=counter:3"
promtool check metrics <"$WORK/gm.txt" >"$WORK/gpromtool.out" 2>&1
check_eq "plugin gauges: promtool has nothing to say" "$(cat "$WORK/gpromtool.out")" ""
stop_group "$GRUN"
check_contains "plugin gauges: the clashing counter was refused" "$WORK/g.err" \
    "counter 'level' refused: this instance registered 'level' as a gauge"

finish

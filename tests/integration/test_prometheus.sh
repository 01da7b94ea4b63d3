#!/usr/bin/env bash
# test_prometheus.sh — a real Prometheus server (Debian's prometheus
# package) scrapes a running sluice's /metrics every 500 ms, and a counter
# is queried back through Prometheus's own HTTP API: the word count fed a
# known 200 lines over a real TCP socket must read 200 in Prometheus, with
# the target up and the histogram usable by histogram_quantile.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v prometheus >/dev/null || {
    echo "prometheus is missing: scripts/deps.sh installs Debian's prometheus" >&2
    exit 1
}

cat >"$WORK/p.yaml" <<'EOF'
batch_interval: 500ms
streams:
  lines: {source: socket, host: 127.0.0.1, port: "${PORT}"}
  words: {flat_map: text.split, from: lines, sep: " "}
  pairs: {map: kv.pair, from: words}
  counts: {reduce_by_key: agg.sum, from: pairs}
outputs:
  - {sink: pprint, from: counts}
EOF

start_server "{ sleep 0.5; for i in \$(seq 200); do echo 'to be or not'; done; sleep 120; } |
    nc -lk 127.0.0.1 \"\$PORT\"" || {
    fail "nc -lk did not start"
    finish
}
HPORT=$(free_port)
start_group "'$SLUICE_BIN' run '$WORK/p.yaml' --http 127.0.0.1:$HPORT --timeout 60 \
    >'$WORK/run.out' 2>'$WORK/run.err'"
RUN=$GROUP_PID

PPORT=$(free_port)
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 500ms
  scrape_timeout: 400ms
scrape_configs:
  - job_name: sluice
    static_configs:
      - targets: ['127.0.0.1:$HPORT']
EOF
start_group "exec prometheus --config.file='$WORK/prometheus.yml' \
    --storage.tsdb.path='$WORK/tsdb' --web.listen-address=127.0.0.1:$PPORT \
    >'$WORK/prometheus.log' 2>&1"
PROM=$GROUP_PID

# A PromQL query's first value ("" when there is none).
query() {
    curl -s --max-time 5 --get "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")'
}
target_up() { [[ $(query 'up{job="sluice"}') == 1 ]]; }
counted_all() {
    [[ $(query 'sluice_source_records_total{job="sluice",stream="lines",source="socket"}') == 200 ]]
}
check "Prometheus is up and scrapes sluice (up == 1)" wait_until 40 target_up
check "Prometheus reads back the 200 records of the source" wait_until 20 counted_all
check_eq "and the socket plugin's own counter of lines" \
    "$(query 'sluice_plugin_lines_total{job="sluice",stream="lines"}')" 200
# increase() needs two samples in its range: the 200 records can be read
# back from the very first scrape, so wait for later ones.
batches_grow() {
    [[ -n $(query 'increase(sluice_batches_completed_total{job="sluice"}[10s]) > 0') ]]
}
check "batches completed grow (a counter Prometheus sees increase)" wait_until 20 batches_grow
q=$(query 'histogram_quantile(0.99, sluice_processing_time_seconds_bucket{job="sluice"})')
check "histogram_quantile over the processing-time buckets gives a number ($q)" \
    python3 -c "import sys; v = float('$q'); sys.exit(not (0 <= v <= 300))"
check_eq "sluice_ready is 1" "$(query 'sluice_ready{job="sluice"}')" 1

stop_group "$PROM"
stop_group "$RUN"
stop_group "$SERVER_PID"
if ((FAILS > 0)); then
    tail -20 "$WORK/prometheus.log" >&2
fi
finish

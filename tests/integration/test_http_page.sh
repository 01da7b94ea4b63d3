#!/usr/bin/env bash
# test_http_page.sh — the live page (core/src/web/index.html) served by
# `sluice run --http` and looked at in a real browser: headless Chromium
# (Debian's) driven by playwright-core (scripts/playwright.sh) through
# tests/integration/web_page_check.js.
#
# sluice reads files dropped into a directory (text_files), one file per
# batch with 3, 5, 8, 13 and 21 lines, into a word count kept with
# update_state_by_key and checkpoints. Then the page must show exactly the
# batches that /api/v1/batches reports (times, record counts, the four
# timelines and histograms), the 50 records of the source, the 51 keys of
# the state, the graph of /api/v1/graph, checkpoints written; GET / must be
# index.html byte for byte; the page must fetch nothing from elsewhere; and
# when sluice stops, the page must say "connection lost".
#
# SLUICE_WEB_SCREENSHOT=PATH keeps the browser's screenshot there (how
# docs/img/streaming-page.png is made).
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
np=$("$SLUICE_SOURCE_DIR/scripts/playwright.sh" install) || { fail "scripts/playwright.sh install"; finish; }
export "${np?}"
export SLUICE_CHROMIUM=${SLUICE_CHROMIUM:-/usr/bin/chromium}
[[ -x "$SLUICE_CHROMIUM" ]] || { fail "no Chromium at $SLUICE_CHROMIUM (scripts/deps.sh)"; finish; }
JS="$SLUICE_SOURCE_DIR/tests/integration/web_page_check.js"
PAGE="$SLUICE_SOURCE_DIR/core/src/web/index.html"
COUNTS=(3 5 8 13 21)
INTERVAL_MS=300

# api.py: the JSON API from the test's side (python3's urllib, no curl).
cat >api.py <<'EOF'
import json, sys, urllib.request
base, what = sys.argv[1], sys.argv[2]
def get(path):
    with urllib.request.urlopen(base + path, timeout=5) as r:
        return r.status, r.headers.get("Content-Type"), r.read()
def js(path):
    return json.loads(get(path)[2])
if what == "page":        # GET / into a file; print its status and type
    status, ctype, body = get("/")
    open(sys.argv[3], "wb").write(body)
    print(status, ctype)
elif what == "status":    # the state of the run
    print(js("/api/v1/status")["state"])
elif what == "nonempty":  # record counts of the batches that had records
    print(" ".join(str(b["records"]) for b in js("/api/v1/batches?n=1000")["batches"] if b["records"]))
elif what == "figures":   # records of source 'lines', keys of 'totals', checkpoints written
    s = js("/api/v1/status")
    rec = {x["stream"]: x["records_total"] for x in s["sources"]}.get("lines")
    keys = {x["stream"]: x["keys"] for x in s["stateful"]}.get("totals")
    print(rec, keys, s["checkpoint"]["written_total"])
elif what == "expected":  # the driver's EXPECTED.json
    json.dump({"interval_ms": int(sys.argv[4]),
               "batches": js("/api/v1/batches?n=200")["batches"],
               "graph": js("/api/v1/graph"),
               "nonempty_records": [int(n) for n in sys.argv[5].split()],
               "sources": {"lines": int(sys.argv[6])},
               "stateful": {"totals": int(sys.argv[7])},
               "plugin_metrics": js("/api/v1/status")["plugin_metrics"],
               "checkpoint": True}, open(sys.argv[3], "w"))
EOF
api() { python3 api.py "$BASE" "$@" 2>>api.err; }

mkdir -p in cp
cat >page.yaml <<EOF
batch_interval: ${INTERVAL_MS}ms
checkpoint: cp
checkpoint_interval: ${INTERVAL_MS}ms
streams:
  lines:  {source: text_files, path: in}
  words:  {flat_map: text.split, from: lines, sep: " "}
  pairs:  {map: kv.pair, from: words}
  totals: {update_state_by_key: agg.sum, from: pairs}
outputs:
  - {sink: pprint, from: totals}
EOF

if ! start_server "exec \"$SLUICE_BIN\" run page.yaml --http 127.0.0.1:\$PORT >run.out 2>run.log"; then
    fail "sluice run --http listens"
    sed 's/^/    | /' run.log >&2
    finish
fi
SLUICE_PID=$SERVER_PID
BASE=http://127.0.0.1:$PORT
running() { [[ "$(api status)" == running ]]; }
check "the API answers and the run is running" wait_until 15 running

read -r code ctype < <(api page page.html)
check_eq "GET /: 200 text/html; charset=utf-8" "$code $ctype" "200 text/html; charset=utf-8"
check "GET /: index.html byte for byte" cmp -s page.html "$PAGE"

# One file per batch: each is renamed in once the one before has been counted.
nonempty_is() { [[ "$(api nonempty)" == "$1" ]]; }
want=""
for i in "${!COUNTS[@]}"; do
    n=${COUNTS[$i]}
    for ((j = 0; j < n; j++)); do echo "w${i}_$j shared"; done >"in/.f$i.tmp"
    mv "in/.f$i.tmp" "in/f$i.txt"
    want="${want:+$want }$n"
    check "file $i ($n lines) is one batch of $n records" wait_until 15 nonempty_is "$want"
done
total=$(IFS=+; echo $((${COUNTS[*]})))
keys=$((total + 1)) # every "wI_J" once, and "shared"
figures_are() { read -r r k w < <(api figures) && [[ "$r $k" == "$total $keys" ]] && ((w > 0)); }
check "the status counts $total records, $keys keys, checkpoints written" wait_until 15 figures_are
sleep 1 # a few empty batches after the last file

api expected expected.json "$INTERVAL_MS" "$want" "$total" "$keys"
check "the API's answers saved for the driver" test -s expected.json

# The driver checks the page; once it has, sluice stops and the page must
# notice (READY_FILE).
node "$JS" "$BASE/" expected.json shot.png ready >driver.out 2>&1 &
driver=$!
if wait_until 90 test -f ready; then
    stop_group "$SLUICE_PID"
fi
wait "$driver"
rc=$?
sed 's/^/    | /' driver.out
check_eq "the page in Chromium shows what the API said (web_page_check.js)" "$rc" 0
[[ $rc -eq 0 ]] || sed 's/^/    run.log | /' run.log | tail -20 >&2
if [[ -n "${SLUICE_WEB_SCREENSHOT:-}" && -s shot.png ]]; then
    cp shot.png "$SLUICE_WEB_SCREENSHOT" && echo "screenshot: $SLUICE_WEB_SCREENSHOT"
fi
finish

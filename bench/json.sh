#!/usr/bin/env bash
# bench/json.sh — JSON events: parse -> pair -> sum, sluice against jq and Python (bench/README.md).
#
#   bench/json.sh [--events N] [--build DIR] [--runs N]
#
# Generates N small JSON events (default 1000000; {"user":"u123","amount":17,"ts":...,"ok":true},
# 1,000 users, cached in bench/.data), then times, each on its own with the input in the
# page cache: sluice (bench/json_sum.yaml: stdin -> json.parse -> json.pair -> reduce_by_key
# agg.sum, 100 ms batches, one worker per core), `jq -c '[.user,.amount]'` (parse and pair,
# streaming) with mawk summing its output, and Python's json (json.loads per line, a dict of
# sums). Checks that the three per-user totals agree (exit 1 if not) and prints wall and CPU
# seconds, events/s, peak RSS and each case's wall time over sluice's. (jq's own
# `reduce inputs as $e ({}; .[$e.user] += $e.amount)` is left out: jq 1.6 copies the
# object on every update, 61x sluice in one run, bench/RESULTS.md.)
set -euo pipefail

EVENTS=1000000
BUILD=build-bench
RUNS=1
while [ $# -gt 0 ]; do
    case "$1" in
    --events) EVENTS=${2:?}; shift 2 ;;
    --build) BUILD=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    *) sed -n '4p' "$0" | sed 's/^# *//' >&2; exit 2 ;;
    esac
done
case "$EVENTS$RUNS" in *[!0-9]*) echo "json.sh: --events and --runs take numbers" >&2; exit 2 ;; esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export LC_ALL=C
DATA=bench/.data
RUN=$DATA/run-json
mkdir -p "$DATA" "$RUN"
die() { echo "json.sh: $*" >&2; exit 1; }
for tool in jq mawk python3 cmake /usr/bin/time; do command -v $tool >/dev/null || die "needs $tool"; done

# ---- build (Release, as bench/wordcount.sh) ----------------------------------------------
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    echo "== configuring $BUILD (Release)"
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$RUN/configure.log" 2>&1 ||
        { cat "$RUN/configure.log" >&2; die "cmake configure failed"; }
fi
echo "== building $BUILD"
cmake --build "$BUILD" -j "$(nproc)" >"$RUN/build.log" 2>&1 ||
    { tail -n 40 "$RUN/build.log" >&2; die "build failed"; }
SLUICE=$BUILD/bin/sluice
export SLUICE_PLUGIN_PATH=$ROOT/$BUILD/lib/sluice/plugins

# ---- data ------------------------------------------------------------------------------
IN=$DATA/events-v1-$EVENTS.jsonl
if [ ! -f "$IN" ]; then
    echo "== generating $IN"
    python3 - "$EVENTS" >"$IN" <<'EOF'
import random, sys
rng = random.Random(42)
for i in range(int(sys.argv[1])):
    print('{"user":"u%d","amount":%d,"ts":%d,"ok":%s}'
          % (rng.randrange(1000), rng.randrange(100), 1700000000000 + i, "true" if i % 3 else "false"))
EOF
fi
BYTES=$(stat -c %s "$IN")
cat "$IN" >/dev/null # into the page cache

# ---- runs ------------------------------------------------------------------------------
declare -A WALL CPU RSS
# measure NAME OUT CMD...: the fastest of $RUNS runs of CMD (stdin: the events), with its
# CPU seconds (user + system, children included) and peak RSS from GNU time.
measure() {
    local name=$1 out=$2 r w u s m
    shift 2
    for r in $(seq 1 "$RUNS"); do
        timeout 600 /usr/bin/time -o "$RUN/$name.stat" -f '%e %U %S %M' "$@" <"$IN" >"$out" \
            2>"$RUN/$name.log" || { tail -n 20 "$RUN/$name.log" >&2; die "$name failed"; }
        read -r w u s m <"$RUN/$name.stat"
        if [ -z "${WALL[$name]:-}" ] || awk -v a="$w" -v b="${WALL[$name]}" 'BEGIN { exit !(a < b) }'; then
            WALL[$name]=$w
            CPU[$name]=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
            RSS[$name]=$m
        fi
    done
}

echo "== sluice"
measure sluice "$RUN/sluice.out" "$SLUICE" run bench/json_sum.yaml
echo "== jq"
cat >"$RUN/jq.sh" <<'EOF'
jq -c '[.user,.amount]' | mawk -F'[",]' '{ s[$2] += $4 }
    END { printf "{"; for (k in s) printf "%s\"%s\":%s", n++ ? "," : "", k, s[k]; print "}" }'
EOF
measure jq "$RUN/jq.out" sh "$RUN/jq.sh"
echo "== python"
measure python "$RUN/python.out" python3 -c '
import json, sys
t = {}
for line in sys.stdin:
    e = json.loads(line)
    t[e["user"]] = t.get(e["user"], 0) + e["amount"]
print(json.dumps(t))'

# ---- check: the same totals per user -------------------------------------------------------
python3 - "$RUN" <<'EOF' || die "the results differ (see $RUN)"
import json, sys
run = sys.argv[1]
s = {}
for line in open(run + "/sluice.out"):  # per-batch sums: total them
    k, v = json.loads(line)
    s[k] = s.get(k, 0) + v
jq = json.load(open(run + "/jq.out"))
py = json.load(open(run + "/python.out"))
if not (s == jq == py):
    print("sluice %d users, jq %d, python %d" % (len(s), len(jq), len(py)), file=sys.stderr)
    sys.exit(1)
EOF

# ---- report --------------------------------------------------------------------------------
echo
echo "$EVENTS events, $BYTES bytes, $(nproc) cores, best of $RUNS run(s); results agree"
printf '%-8s %9s %9s %12s %10s %10s\n' case wall_s cpu_s events/s rss_MiB "x sluice"
for name in sluice jq python; do
    awk -v n="$name" -v w="${WALL[$name]}" -v c="${CPU[$name]}" -v m="${RSS[$name]}" -v e="$EVENTS" \
        -v s="${WALL[sluice]}" \
        'BEGIN { printf "%-8s %9.3f %9.2f %12.0f %10.1f %9.2fx\n", n, w, c, e / w, m / 1024, w / s }'
done
echo "(x sluice: the case's wall time over sluice's; events/s from wall time)"

#!/usr/bin/env bash
# bench/zmq.sh — the ZeroMQ benchmark, in one command (docs/zeromq.md).
#
#   bench/zmq.sh [--messages N] [--build DIR]
#
# Messages of 100 bytes over tcp loopback, in one run:
#   raw            baseline/zmq_push.c -> baseline/zmq_pull.c: raw libzmq PUSH -> PULL
#   source-wN      zmq_push -> sluice's PULL source counting them (source zmq ->
#                  count -> jsonl), 1 worker and one per core; the rate from the
#                  first to the last batch that held messages (100 ms batches)
#   relay-wN       zmq_push -> sluice (PULL source -> PUSH sink) -> zmq_pull: sluice's
#                  PUSH sink against the raw sender, the rate zmq_pull sees
# Every count is checked (exit 1 if one differs). Prints msgs/s and the ratios
# to raw. Target (issue 9): source >= 0.7x raw.
set -euo pipefail

N=10000000
BUILD=build-bench
while [ $# -gt 0 ]; do
    case "$1" in
    --messages) N=${2:?}; shift 2 ;;
    --build) BUILD=${2:?}; shift 2 ;;
    *) sed -n '4p' "$0" | sed 's/^# *//' >&2; exit 2 ;;
    esac
done
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NPROC=$(nproc)
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-zmq-bench.XXXXXX")
pids=()
trap 'for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

# A Release build of sluice (configured once) with the raw programs.
dir=$root/$BUILD
if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release >"$work/configure.log" 2>&1 ||
        { cat "$work/configure.log" >&2; exit 1; }
fi
cmake --build "$dir" -j "$NPROC" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
SLUICE=$dir/bin/sluice
PUSH=$dir/bench/zmq_push
PULL=$dir/bench/zmq_pull
export SLUICE_PLUGIN_PATH=$dir/lib/sluice/plugins
cd "$work"

port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rate_of() { sed -n 's/.* s \([0-9]*\) msgs\/s/\1/p' "$1"; }

# raw: zmq_pull binds, zmq_push connects
P=$(port)
"$PULL" "tcp://127.0.0.1:$P" "$N" >raw.out &
pids+=($!)
"$PUSH" "tcp://127.0.0.1:$P" "$N"
wait "${pids[-1]}"
RAW=$(rate_of raw.out)
printf '%-12s %12s msgs/s  %5s\n' raw "$RAW" "1.00x"

# source-wN: sluice's PULL counts what zmq_push sends
for w in 1 "$NPROC"; do
    P=$(port)
    cat >src.yaml <<EOF2
batch_interval: 100ms
streams:
  m: {source: zmq, bind: "tcp://127.0.0.1:$P"}
  n: {count: m}
outputs:
  - {sink: jsonl, from: n, path: count.jsonl}
EOF2
    rm -f count.jsonl
    "$SLUICE" run src.yaml --workers "$w" --no-status --log-level info 2>src.log &
    sl=$!
    pids+=("$sl")
    until grep -q "bound tcp" src.log 2>/dev/null; do sleep 0.05; done
    "$PUSH" "tcp://127.0.0.1:$P" "$N"
    for _ in $(seq 1 600); do
        got=$(python3 -c 'import json
print(sum(json.loads(l)["value"] for l in open("count.jsonl")))' 2>/dev/null || echo 0)
        [ "$got" = "$N" ] && break
        sleep 0.1
    done
    kill -TERM "$sl"
    wait "$sl" || true
    [ "$got" = "$N" ] || { echo "zmq.sh: source-w$w counted $got messages, want $N" >&2; exit 1; }
    r=$(python3 -c 'import json
b = [(json.loads(l)["time"], json.loads(l)["value"]) for l in open("count.jsonl")]
t = [tm for tm, v in b if v > 0]
print(round(sum(v for _, v in b) / ((t[-1] - t[0] + 100) / 1000.0)))')
    eval "SRC$w=$r"
    printf '%-12s %12s msgs/s  %5s\n' "source-w$w" "$r" "$(awk -v a="$r" -v b="$RAW" 'BEGIN { printf "%.2fx", a / b }')"
done

# relay-wN: zmq_push -> sluice PULL -> sluice PUSH sink -> zmq_pull
for w in 1 "$NPROC"; do
    P=$(port)
    Q=$(port)
    cat >relay.yaml <<EOF2
batch_interval: 100ms
streams:
  m: {source: zmq, bind: "tcp://127.0.0.1:$P"}
outputs:
  - {sink: zmq, from: m, connect: "tcp://127.0.0.1:$Q", send_timeout: 60s}
EOF2
    "$PULL" "tcp://127.0.0.1:$Q" "$N" >relay.out &
    pl=$!
    pids+=("$pl")
    "$SLUICE" run relay.yaml --workers "$w" --no-status --log-level info 2>relay.log &
    sl=$!
    pids+=("$sl")
    until grep -q "bound tcp" relay.log 2>/dev/null; do sleep 0.05; done
    "$PUSH" "tcp://127.0.0.1:$P" "$N"
    wait "$pl" || { echo "zmq.sh: relay-w$w: zmq_pull failed" >&2; exit 1; }
    kill -TERM "$sl"
    wait "$sl" || true
    r=$(rate_of relay.out)
    printf '%-12s %12s msgs/s  %5s\n' "relay-w$w" "$r" "$(awk -v a="$r" -v b="$RAW" 'BEGIN { printf "%.2fx", a / b }')"
done
echo
eval "best=\$SRC$NPROC"
awk -v a="$best" -v b="$RAW" 'BEGIN { printf "source: sluice (all cores) / raw libzmq = %.2fx (target >= 0.7x)\n", a / b }'

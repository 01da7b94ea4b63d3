#!/usr/bin/env bash
# bench/kafka.sh — the Kafka benchmark, in one command (docs/kafka.md).
#
#   bench/kafka.sh [--messages N] [--build DIR]
#
# On a private broker (scripts/kafka.sh, topics of 4 partitions), in one run:
#   produce-kcat   kcat -P writing N messages of 100 bytes (the raw baseline)
#   consume-kcat   kcat -C -e reading them all (the raw baseline)
#   consume-wN     sluice reading them all and counting (source kafka -> count),
#                  with 1 worker and one per core
#   produce-sluice sluice writing the same N messages (queue -> sink kafka)
# Every count is checked (exit 1 if one differs). Prints seconds, MB/s,
# msgs/s, peak RSS and the ratios sluice/kcat. Targets (issue 8): consume
# >= 1.0x kcat with all cores, produce >= 0.8x kcat.
set -euo pipefail

N=5000000
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
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-kafka-bench.XXXXXX")
export SLUICE_KAFKA_DIR="$work/kafka" SLUICE_KAFKA_PARTITIONS=4 SLUICE_KAFKA_HEAP=1g
trap '"$root/scripts/kafka.sh" stop >/dev/null 2>&1; rm -rf "$work"' EXIT

# A Release build of sluice (configured once).
dir=$root/$BUILD
if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release >"$work/configure.log" 2>&1 ||
        { cat "$work/configure.log" >&2; exit 1; }
fi
cmake --build "$dir" -j "$NPROC" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
SLUICE=$dir/bin/sluice
export SLUICE_PLUGIN_PATH=$dir/lib/sluice/plugins

B=$("$root/scripts/kafka.sh" start | sed -n 's/^BROKERS=//p')
cd "$work"
python3 -c "
import sys
n = $N
with open('msgs.txt', 'w') as f:
    for i in range(n):
        f.write('%-100d\n' % i)
with open('msgs.jsonl', 'w') as f:
    per = max(1, n // 10)
    for s in range(0, n, per):
        f.write('[' + ','.join('\"%-100d\"' % i for i in range(s, min(n, s + per))) + ']\n')
"
MB=$(awk -v n="$N" 'BEGIN { printf "%.1f", n * 100 / 1e6 }')

# run NAME CMD...: time CMD with its peak RSS; sets SECS and RSS_MB
run() {
    local name=$1
    shift
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f %M -o "$work/$name.rss" "$@" >"$work/$name.out" 2>"$work/$name.err" ||
        { tail -n 20 "$work/$name.err" >&2; echo "kafka.sh: $name failed" >&2; exit 1; }
    t1=$(date +%s%N)
    SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    RSS_MB=$(awk '{ printf "%.0f", $1 / 1024 }' "$work/$name.rss")
    printf '%-16s %8s s %9.1f MB/s %11.0f msgs/s %7s MB RSS\n' "$name" "$SECS" \
        "$(awk -v m="$MB" -v s="$SECS" 'BEGIN { print m / s }')" \
        "$(awk -v n="$N" -v s="$SECS" 'BEGIN { print n / s }')" "$RSS_MB"
}
count_topic() {
    kcat -C -b "$B" -t "$1" -e -q -f '\n' 2>/dev/null | wc -l
}
check_count() {
    if [ "$2" != "$N" ]; then
        echo "kafka.sh: $1: counted $2 messages, want $N" >&2
        exit 1
    fi
}

echo "$N messages of 100 bytes ($MB MB), 4 partitions, broker $B, $NPROC cores"
# a quarter of the messages to each partition (what kcat's sticky partitioner
# would do to a burst is uneven, and the batches below assume even partitions)
for p in 0 1 2 3; do awk -v p="$p" 'NR % 4 == p' msgs.txt >"msgs.$p"; done
cat >produce-kcat.sh <<EOF2
for p in 0 1 2 3; do
    kcat -P -b "$B" -t in -p \$p -l msgs.\$p -X linger.ms=20 -X batch.num.messages=10000 || exit 1
done
EOF2
run produce-kcat bash produce-kcat.sh
kcat_p=$SECS
check_count produce-kcat "$(count_topic in)"
run consume-kcat kcat -C -b "$B" -t in -e -q -o beginning -f '%s\n'
kcat_c=$SECS
check_count consume-kcat "$(wc -l <"$work/consume-kcat.out")"

per=$(((N + 3) / 4 / 10 + 1)) # records a partition a batch: about 10 batches
cat >consume.yaml <<EOF2
batch_interval: 1s
clock: manual
streams:
  m: {source: kafka, brokers: "$B", topics: in, start: earliest, max_records_per_partition: $per}
  n: {count: m}
outputs:
  - {sink: jsonl, from: n, path: count.jsonl}
EOF2
for w in 1 "$NPROC"; do
    run "consume-w$w" "$SLUICE" run consume.yaml --workers "$w" --batches 12 --no-status
    check_count "consume-w$w" "$(sed 's/.*"value":\([0-9]*\)}/\1/' count.jsonl | awk '{ s += $1 } END { print s }')"
    eval "sl_c$w=$SECS"
done
cat >produce.yaml <<EOF2
batch_interval: 1s
clock: manual
streams:
  q: {source: queue, path: msgs.jsonl, on_end: stop}
outputs:
  - {sink: kafka, from: q, brokers: "$B", topic: out}
EOF2
run produce-sluice "$SLUICE" run produce.yaml --workers "$NPROC" --no-status
sl_p=$SECS
check_count produce-sluice "$(count_topic out)"
eval "sl_cmax=\$sl_c$NPROC"
echo
awk -v k="$kcat_c" -v s="$sl_cmax" 'BEGIN { printf "consume: sluice (all cores) / kcat = %.2fx (target >= 1.0x)\n", k / s }'
awk -v k="$kcat_c" -v s="$sl_c1" 'BEGIN { printf "consume: sluice (1 worker) / kcat  = %.2fx\n", k / s }'
awk -v k="$kcat_p" -v s="$sl_p" 'BEGIN { printf "produce: sluice / kcat             = %.2fx (target >= 0.8x)\n", k / s }'

#!/usr/bin/env bash
# test_kafka_crash.sh — exactly-once state from Kafka across SIGKILLs.
#
# A stateful word count from one Kafka topic to another (and to a file),
# with a checkpoint after every batch, is killed with SIGKILL at 22 points
# spread over its run (while polling, mid-batch, while producing, mid-
# checkpoint), then started again on the same checkpoint directory and run
# to the end. Each time the state it ends with must equal that of a run that
# was never interrupted (which equals the counts of the lines kcat wrote);
# and the output topic, read by kcat, must hold every final count at least
# once (the sink is at-least-once).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/kafka_lib.sh"

cd "$WORK" || exit 1

IN=$(topic crash-in)
OUT=$(topic crash-out)
awk 'BEGIN { srand(5); for (l = 0; l < 3000; l++) { line = "";
    for (w = 0; w < 6; w++) line = line (w ? " " : "") "w" int(400 * rand() * rand());
    print line } }' >lines.txt
produce "$IN" <lines.txt
check_eq "kcat produced 3000 lines" "$(topic_count "$IN")" 3000
expected_counts lines.txt >want.state

cat >kk.yaml <<EOF2
batch_interval: 200ms
clock: manual
checkpoint: cp
checkpoint_interval: 200ms
checkpoint_keep: 2
streams:
  lines:
    source: kafka
    brokers: $BROKERS
    topics: $IN
    group: g-$IN
    start: earliest
    max_records_per_partition: 100
  words:  {flat_map: text.split, from: lines, sep: " "}
  pairs:  {map: kv.pair, from: words}
  counts: {update_state_by_key: agg.sum, from: pairs}
outputs:
  - {sink: jsonl, from: counts, path: out.jsonl}
  - {sink: kafka, from: counts, brokers: $BROKERS, topic: $OUT}
EOF2

# 3000 lines, 1000 a partition, 100 a batch: 10 batches with input
BATCHES=14
start=$(now_ms)
timeout 120 "$SLUICE_BIN" run kk.yaml --fresh --batches $BATCHES 2>ref.log
check_eq "the uninterrupted run exits 0" "$?" 0
run_ms=$(($(now_ms) - start))
final_state >ref.state
check "the uninterrupted run's state equals the lines' counts" cmp -s ref.state want.state
echo "an uninterrupted run takes ${run_ms} ms"

RANDOM=42
for k in $(seq 1 22); do
    rm -rf cp out.jsonl
    delay_ms=$((run_ms * k / 23 + RANDOM % 40))
    setsid "$SLUICE_BIN" run kk.yaml --batches $BATCHES 2>"kill$k.log" &
    pid=$!
    GROUPS_STARTED+=("$pid")
    sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    timeout 120 "$SLUICE_BIN" run kk.yaml --batches $BATCHES 2>"resume$k.log"
    check_eq "kill #$k at ${delay_ms} ms: the resumed run exits 0" "$?" 0
    final_state >"got$k.state"
    if cmp -s "got$k.state" ref.state; then
        pass "kill #$k: the final state equals the uninterrupted run's"
    else
        fail "kill #$k: the final state differs from the uninterrupted run's:"
        diff "got$k.state" ref.state | head -5 >&2
    fi
done

consume "$OUT" '"key":"%k","value":%s}\n' | LC_ALL=C sort -u >topic.results
missing=$(LC_ALL=C comm -23 want.state topic.results | wc -l)
check_eq "the output topic (read by kcat) holds every final count" "$missing" 0

finish

#!/usr/bin/env bash
# test_kafka_kafkajs.sh — a second, independent Kafka client on both ends:
# kafkajs (node; scripts/kafkajs.sh) produces lines, some with keys and
# headers; sluice counts the words with checkpoints over several batches and
# writes the running counts to a topic with its Kafka sink; kafkajs reads them
# back: the last count of every word equals the words produced; then the
# same with a transactional sink killed once, read by kafkajs with
# read_committed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/kafka_lib.sh"

cd "$WORK" || exit 1
np=$("$SLUICE_SOURCE_DIR/scripts/kafkajs.sh" install) || { fail "scripts/kafkajs.sh install"; finish; }
export "${np?}"
JS="$SLUICE_SOURCE_DIR/tests/integration/kafkajs_client.js"
IN=$(topic js-in)
OUT=$(topic js-out)
printf 'x\n' | kcat -P -b "$BROKERS" -t "$OUT" -p 0 2>/dev/null # create it; "x" has no key

awk 'BEGIN { srand(11); for (l = 0; l < 1500; l++) { line = "";
    for (w = 0; w < 4; w++) line = line (w ? " " : "") "j" int(60 * rand());
    print line } }' >lines.txt
check "kafkajs produces 1500 lines" node "$JS" produce "$BROKERS" "$IN" <lines.txt
check_eq "the topic holds them" "$(topic_count "$IN")" 1500
check_eq "kafkajs's headers reached the broker" \
    "$(consume "$IN" '%h\n' | grep -c 'source=kafkajs')" 500

cat >js.yaml <<EOF2
batch_interval: 200ms
clock: manual
checkpoint: cp
checkpoint_interval: 200ms
streams:
  lines:
    source: kafka
    brokers: $BROKERS
    topics: $IN
    start: earliest
    max_records_per_partition: 150
  words:  {flat_map: text.split, from: lines, sep: " "}
  pairs:  {map: kv.pair, from: words}
  counts: {update_state_by_key: agg.sum, from: pairs}
outputs:
  - {sink: kafka, from: counts, brokers: $BROKERS, topic: $OUT}
EOF2
check "sluice counts over several batches" timeout 90 "$SLUICE_BIN" run js.yaml --fresh \
    --batches 8 --log-level info 2>run.log
check "... more than one batch held records" \
    bash -c "[ \$(grep -c 'records' run.log) -ge 2 ]"
n=$(topic_count "$OUT")
check "the counts topic holds results" test "$n" -gt 60
node "$JS" consume "$BROKERS" "$OUT" "$n" >got.txt 2>consume.err
check "kafkajs reads every message of it" test "$(wc -l <got.txt)" -eq "$n"
# the running counts: the last value of each word (kafkajs keeps the order of
# a partition, and a key always goes to one partition)
awk '$1 != "-" { last[$1] = $2 } END { for (w in last) print w, last[w] }' got.txt |
    LC_ALL=C sort >final.txt
awk '{ for (i = 1; i <= NF; i++) c[$i]++ } END { for (w in c) print w, c[w] }' lines.txt |
    LC_ALL=C sort >want.txt
check "the last count of every word equals the words kafkajs produced" diff want.txt final.txt

# The same count with transactional: true, SIGKILLed once mid-run and
# resumed: kafkajs (read_committed, its default) sees no count go back and
# the right last counts.
TX=$(topic js-tx)
sed -e "s/topics: $IN/topics: $IN\\n    group: g-$TX/" -e "s/checkpoint: cp/checkpoint: cp-tx/" \
    -e "s/clock: manual/clock: system/" \
    -e "s/topic: $OUT}/topic: $TX, transactional: true}/" js.yaml | sed 's/\\n/\n/' >tx.yaml
printf 'x\n' | kcat -P -b "$BROKERS" -t "$TX" -p 0 2>/dev/null # create it
sed -i 's/max_records_per_partition: 150/max_records_per_partition: 10/' tx.yaml
setsid "$SLUICE_BIN" run tx.yaml --batches 200 --log-level info 2>tx1.log &
pid=$!
GROUPS_STARTED+=("$pid")
wait_until 60 grep -q "records .* in; scheduling delay" tx1.log
sleep 1
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check "the transactional count resumes and ends" timeout 120 "$SLUICE_BIN" run tx.yaml \
    --batches 60 --log-level info 2>tx2.log
n=$(kcat -C -b "$BROKERS" -t "$TX" -e -q -X isolation.level=read_committed -f '%o\n' | wc -l)
node "$JS" consume "$BROKERS" "$TX" "$n" >tx.txt 2>consume-tx.err
check "kafkajs reads the $n committed messages" test "$(wc -l <tx.txt)" -eq "$n"
check_eq "no word's count goes back for kafkajs (no batch output twice)" \
    "$(awk '$1 != "-" { if (($1 in last) && $2 < last[$1]) n++; last[$1] = $2 } END { print n + 0 }' tx.txt)" 0
awk '$1 != "-" { last[$1] = $2 } END { for (w in last) print w, last[w] }' tx.txt |
    LC_ALL=C sort >tx-final.txt
check "... and its last counts equal the words kafkajs produced" diff want.txt tx-final.txt
finish

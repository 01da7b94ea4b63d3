#!/usr/bin/env bash
# test_kafka.sh — the kafka source and sink against a real Apache Kafka broker
# (started by scripts/test.sh; kcat is the outside producer and consumer).
#
#   1. exact counts over several batches: lines produced by kcat, a stateful
#      word count with max_records_per_partition small enough that the topic
#      takes several batches; the final state equals the lines' counts, and
#      no batch exceeds partitions x max_records_per_partition;
#   1a. the lag is a gauge on /metrics, and goes down batch by batch;
#   1b. each Kafka partition is one partition of the batch, in offset order;
#   1c. a small batch does not wait for a full burst of the consumer queue;
#   2. offsets resume from the checkpoint after a restart, and are committed
#      to the group only then (start: committed finds nothing left);
#   3. Kafka to Kafka: the counts written back, read by kcat;
#   4. the record shapes: keys, null keys, tombstones, headers, non-UTF-8,
#      JSON values and poison messages;
#   4b. the sink's headers: fixed ones, and a record: full's passed through
#      byte for byte (null values, non-UTF-8), malformed records;
#   4c. the partitioner: murmur2_random puts each key in one partition, the
#      Java client's;
#   5. bad input: unknown topic, unreachable brokers (an error within a
#      bounded time), refused properties, a SASL failure whose password never
#      shows, an oversized message.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/kafka_lib.sh"

cd "$WORK" || exit 1

# ---- 1. exact counts over several batches ---------------------------------------
IN=$(topic lines)
awk 'BEGIN { srand(11); for (l = 0; l < 3000; l++) { line = "";
    for (w = 0; w < 5; w++) line = line (w ? " " : "") "w" int(200 * rand());
    print line } }' >lines.txt
produce "$IN" <lines.txt
check_eq "kcat produced 3000 lines" "$(topic_count "$IN")" 3000
expected_counts lines.txt >want.state

cat >wc.yaml <<EOF2
batch_interval: 200ms
clock: manual
checkpoint: \${CP:-cp}
checkpoint_interval: 200ms
streams:
  lines:
    source: kafka
    brokers: $BROKERS
    topics: $IN
    group: g-$IN
    start: earliest
    max_records_per_partition: 200
  words:  {flat_map: text.split, from: lines, sep: " "}
  pairs:  {map: kv.pair, from: words}
  counts: {update_state_by_key: agg.sum, from: pairs}
outputs:
  - {sink: jsonl, from: counts, path: out.jsonl}
EOF2
timeout 60 "$SLUICE_BIN" run wc.yaml --fresh --batches 12 --log-level info 2>run1.log
check_eq "the word count over the topic exits 0" "$?" 0
final_state >got.state
check "the final state equals the counts of the 3000 lines" cmp -s got.state want.state
records=$(sed -n 's/.*batch [^ ]*: \([0-9]*\) records.*/\1/p' run1.log)
nonempty=$(echo "$records" | awk '$1 > 0' | wc -l)
biggest=$(echo "$records" | sort -n | tail -n 1)
check "the topic took several batches ($nonempty)" test "$nonempty" -ge 5
check "no batch holds more than 3 x 200 records (biggest: $biggest)" test "$biggest" -le 600
check_eq "the batches add up to the 3000 lines" "$(echo "$records" | awk '{ s += $1 } END { print s }')" 3000

# ---- 1c. a small batch is not held back -------------------------------------------
# 30 lines, fewer than the 512 of a burst, produced while sluice runs, just
# after a batch ended: one fetch brings them into the consumer queue long
# before the next batch is cut, so that batch's processing time is the take
# alone, with no broker round trip in it (a first batch's would count the
# consumer's start, which a loaded broker makes slow). The batch takes them
# as soon as they are in; it used to wait out rd_kafka_consume_batch_queue's
# 100 ms timeout, which returns early only when the array is full. Three
# rounds, the best counts: a loaded machine may cut a batch while a fetch
# is on its way.
SMALL=$(topic small)
echo warm | kcat -P -b "$BROKERS" -t "$SMALL" -p 0 -X acks=all
cat >small.yaml <<EOF2
batch_interval: 1s
streams:
  lines: {source: kafka, brokers: $BROKERS, topics: $SMALL, start: earliest}
outputs:
  - {sink: jsonl, from: lines, path: small.jsonl}
EOF2
start_group "'$SLUICE_BIN' run small.yaml --timeout 60 --log-level info 2>small.log"
SMALLRUN=$GROUP_PID
small_records() { sed -n 's/.*batch [^ ]*: \([0-9]*\) records.*/\1/p' small.log; }
small_batches() { small_records | wc -l; }
small_more() { [ "$(small_batches)" -gt "$1" ]; }
small_total() { [ "$(small_records | awk '{ s += $1 } END { print s + 0 }')" -ge "$1" ]; }
for round in 1 2 3; do
    seen=$(small_batches)
    wait_until 10 small_more "$seen"
    seq 1 30 | sed "s/^/small $round /" | kcat -P -b "$BROKERS" -t "$SMALL" -p 0 -X acks=all
    wait_until 10 small_total $((1 + 30 * round))
done
stop_group "$SMALLRUN"
check_eq "the run took the warm-up line and the 3 x 30 lines" \
    "$(small_records | awk '{ s += $1 } END { print s + 0 }')" 91
best=$(sed -n 's/.*batch [^ ]*: 30 records.*processing \([0-9]*\) ms.*/\1/p' small.log | sort -n | head -n 1)
check "the batch of 30 records is taken in under 60 ms, best of 3 (${best:-no such batch} ms)" \
    test -n "$best" -a "${best:-999}" -lt 60

# ---- 1a. the lag is a gauge on /metrics (ABI 1.6: host->gauge) -------------------
# 100 records per partition and batch over the 3000 lines: the lag falls
# from 2700 by 300 a batch; sluice_plugin_lag keeps its name and type, each
# partition's is a gauge too, and promtool has nothing to say
HP=$(free_port)
cat >lag.yaml <<EOF2
batch_interval: 700ms
streams:
  lines:
    source: kafka
    brokers: $BROKERS
    topics: $IN
    start: earliest
    max_records_per_partition: 100
outputs:
  - {sink: jsonl, from: lines, path: lag.jsonl}
EOF2
start_group "'$SLUICE_BIN' run lag.yaml --http 127.0.0.1:$HP --timeout 12 >lag.out 2>lag.log"
LAGRUN=$GROUP_PID
lag_now() { sed -n "s/^sluice_plugin_lag{stream=\"lines\",plugin=\"kafka\"} \([0-9]*\)$/\1/p" "$1"; }
lag_between() { # FILE LOW HIGH: the scrape's lag is in [LOW, HIGH]
    curl -s --max-time 5 -o "$1" "http://127.0.0.1:$HP/metrics" &&
        [ -n "$(lag_now "$1")" ] && (($(lag_now "$1") >= $2 && $(lag_now "$1") <= $3))
}
check "lag: a first batch leaves 2100..2700 behind" wait_until 10 lag_between lag1.txt 2100 2700
check "lag: it goes down (below $(lag_now lag1.txt))" wait_until 10 lag_between lag2.txt 0 "$(($(lag_now lag1.txt) - 1))"
check_contains "lag: sluice_plugin_lag is a gauge" lag2.txt '# TYPE sluice_plugin_lag gauge'
check "lag: each partition's is a gauge" grep -q "^# TYPE sluice_plugin_lag_${IN//-/_}_0 gauge$" lag2.txt
check "lag: no lag counter" bash -c "! grep -q '^sluice_plugin_lag.*_total' lag2.txt"
promtool check metrics <lag2.txt >lag.promtool 2>&1
check_eq "lag: promtool has nothing to say" "$(cat lag.promtool)" ""
stop_group "$LAGRUN"

# ---- 1b. each Kafka partition is one partition of the batch, in offset order ------
cat >parts.yaml <<EOF2
batch_interval: 200ms
clock: manual
workers: 2
plugin_path: $SLUICE_TEST_BADPLUGINS
streams:
  lines:
    source: kafka
    brokers: $BROKERS
    topics: [$IN]
    start: earliest
    record: full
    max_records_per_partition: 200
    properties:
      fetch.wait.max.ms: 50
      client.id: \${CLIENT:-probe}
  tagged: {map: good.partition, from: lines}
outputs:
  - {sink: jsonl, from: tagged, path: parts.jsonl}
EOF2
timeout 60 "$SLUICE_BIN" run parts.yaml --batches 7 2>parts.log
check_eq "the partition probe exits 0" "$?" 0
# per batch: batch partition -> Kafka partitions, and offsets in order
verdict=$(python3 - parts.jsonl <<'PY'
import json, sys
seen, bad, lines = {}, [], 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    lines += 1
    t, bp, kp, off = r["time"], r["key"], r["value"][2], r["value"][3]
    prev = seen.setdefault((t, bp), [kp, off - 1])
    if prev[0] != kp:
        bad.append("batch %d partition %d holds Kafka partitions %d and %d" % (t, bp, prev[0], kp))
    if off != prev[1] + 1:
        bad.append("batch %d partition %d: offset %d after %d" % (t, bp, off, prev[1]))
    prev[1] = off
per_batch = {}
for (t, bp), (kp, _) in seen.items():
    per_batch.setdefault(t, set()).add(kp)
if any(len(kps) != sum(1 for k in seen if k[0] == t) for t, kps in per_batch.items()):
    bad.append("a Kafka partition was split over two batch partitions")
print(lines, len(per_batch), bad[0] if bad else "ok")
PY
)
check_eq "3000 records in 5 batches, each Kafka partition one batch partition, in order" \
    "$verdict" "3000 5 ok"

# ---- 2. resume from the checkpoint; commits after checkpoints -------------------
rm -rf cp out.jsonl
timeout 60 "$SLUICE_BIN" run wc.yaml --fresh --batches 2 2>run2a.log
check_eq "a first run of 2 batches exits 0" "$?" 0
timeout 60 "$SLUICE_BIN" run wc.yaml --batches 12 --log-level info 2>run2b.log
check_eq "the resumed run exits 0" "$?" 0
check_contains "it resumed from the checkpoint" run2b.log "resuming 3 partitions from the checkpoint"
final_state >got2.state
check "after the restart the state equals the counts (no record lost or twice)" \
    cmp -s got2.state want.state
cat >committed.yaml <<EOF2
batch_interval: 200ms
clock: manual
streams:
  lines: {source: kafka, brokers: $BROKERS, topics: $IN, group: g-$IN, start: committed}
outputs:
  - {sink: jsonl, from: lines, path: committed.jsonl}
EOF2
timeout 60 "$SLUICE_BIN" run committed.yaml --batches 3 2>committed.log
check_eq "start: committed exits 0" "$?" 0
check_eq "the group's committed offsets cover every line (nothing left)" \
    "$(wc -l <committed.jsonl)" 0

# ---- 3. Kafka to Kafka ---------------------------------------------------------
OUT=$(topic counts)
sed -e "s|  - {sink: jsonl, from: counts, path: out.jsonl}|  - {sink: jsonl, from: counts, path: out.jsonl}\n  - {sink: kafka, from: counts, brokers: $BROKERS, topic: $OUT}|" \
    -e "s|group: g-$IN|group: g2-$IN|" wc.yaml >k2k.yaml
timeout 60 "$SLUICE_BIN" run k2k.yaml --fresh --batches 12 2>k2k.log
check_eq "the Kafka-to-Kafka word count exits 0" "$?" 0
consume "$OUT" '"key":"%k","value":%s}\n' | LC_ALL=C sort -u >topic.results
missing=$(LC_ALL=C comm -23 want.state topic.results | wc -l)
check_eq "every final count is in the output topic (read by kcat)" "$missing" 0

# ---- 3b. the examples: examples/kafka_wordcount.yaml and .c -----------------------
for ex in yaml c; do
    EXOUT=$(topic ex-$ex)
    if [ $ex = yaml ]; then
        cmd=("$SLUICE_BIN" run "$SLUICE_SOURCE_DIR/examples/kafka_wordcount.yaml" --timeout 6)
    else
        cmd=("$SLUICE_BUILD_DIR/examples/kafka_wordcount" 6)
    fi
    BROKERS=$BROKERS TOPIC=$IN OUT_TOPIC=$EXOUT CHECKPOINT_DIR=$WORK/cp-$ex GROUP=g-$EXOUT \
        timeout 60 "${cmd[@]}" >ex-$ex.out 2>ex-$ex.log
    check_eq "examples/kafka_wordcount.$ex exits 0" "$?" 0
    check_contains "kafka_wordcount.$ex prints the counts (pprint)" ex-$ex.out "('w"
    # the last count written for each word is its final count
    consume "$EXOUT" '%k %s\n' | awk '{ c[$1] = $2 } END { for (w in c)
        printf "\"key\":\"%s\",\"value\":%d}\n", w, c[w] }' | LC_ALL=C sort >ex-$ex.state
    check "kafka_wordcount.$ex writes every word's count to \$OUT_TOPIC" cmp -s ex-$ex.state want.state
done

# ---- 3c. backpressure: a partition far ahead is paused, nothing lost or twice ------
PZ=$(topic pause)
seq 1 20000 | kcat -P -b "$BROKERS" -t "$PZ" -p 0 -X acks=all
seq 100001 120000 | kcat -P -b "$BROKERS" -t "$PZ" -p 1 -X acks=all
cat >pause.yaml <<EOF2
batch_interval: 100ms
clock: manual
streams:
  lines: {source: kafka, brokers: $BROKERS, topics: $PZ, start: earliest, max_records_per_partition: 100}
outputs:
  - {sink: jsonl, from: lines, path: pause.jsonl}
EOF2
timeout 120 "$SLUICE_BIN" run pause.yaml --batches 210 --log-level info 2>pause.log
check_eq "40000 messages, 100 a partition a batch: exits 0" "$?" 0
sed 's/.*"value":"\([0-9]*\)".*/\1/' pause.jsonl >pause.values
check_eq "partition 0: every offset once, in order" \
    "$(awk '$1 < 100000' pause.values | awk 'NR != $1 { bad++ } END { print NR, bad + 0 }')" "20000 0"
check_eq "partition 1: every offset once, in order" \
    "$(awk '$1 > 100000' pause.values | awk 'NR + 100000 != $1 { bad++ } END { print NR, bad + 0 }')" "20000 0"
pauses=$(sed -n 's/.*lines (kafka):.* pauses=\([0-9]*\).*/\1/p' pause.log)
check "a partition was paused while far ahead (pauses=$pauses)" test "${pauses:-0}" -gt 0

# ---- 4. record shapes -----------------------------------------------------------
SH=$(topic shapes)
printf 'k1:v1\nnokey\nk3:\n' | kcat -P -b "$BROKERS" -t "$SH" -p 0 -K: -Z -H h1=x
printf 'k4:\xff\xfe\n' | kcat -P -b "$BROKERS" -t "$SH" -p 0 -K:
printf '{"a":[1,2]}\nnot json\n' | kcat -P -b "$BROKERS" -t "$SH" -p 0
cat >shape.yaml <<EOF2
batch_interval: 200ms
clock: manual
streams:
  m:
    source: kafka
    brokers: $BROKERS
    topics: $SH
    start: earliest
    record: \${SHAPE:-value}
    value_format: \${FORMAT:-bytes}
    on_error: \${ON_ERROR:-fail}
    offsets: \${OFFSETS:-}
outputs:
  - {sink: jsonl, from: m, path: shape.jsonl}
EOF2
SHAPE=full timeout 60 "$SLUICE_BIN" run shape.yaml --batches 2 2>shape.log
check_eq "record: full exits 0" "$?" 0
check_contains "full: key, [value, topic, partition, offset, timestamp, headers]" shape.jsonl \
    "\"key\":\"k1\",\"value\":[\"v1\",\"$SH\",0,0,"
check_contains "full: the headers as [name, value] pairs" shape.jsonl ',[["h1","x"]]]}'
check_contains "full: a message without a key has the null key" shape.jsonl \
    "\"key\":null,\"value\":[\"nokey\",\"$SH\",0,1,"
check_contains "full: a tombstone's value is null" shape.jsonl "\"key\":\"k3\",\"value\":[null,"
check_contains "full: non-UTF-8 bytes pass through (as surrogateescape)" shape.jsonl \
    '"key":"k4","value":["\udcff\udcfe"'
SHAPE=value timeout 60 "$SLUICE_BIN" run shape.yaml --batches 2 2>shape2.log
check_eq "record: value gives plain elements (no key)" "$(grep -c '^{"time":[0-9]*,"value":' shape.jsonl)" 6
SHAPE=pair timeout 60 "$SLUICE_BIN" run shape.yaml --batches 2 2>shape3.log
check_contains "record: pair gives (key, value)" shape.jsonl '"key":"k1","value":"v1"}'

# JSON values: a poison message fails the batch naming its offset, or is
# skipped and counted with on_error: skip
FORMAT=json timeout 60 "$SLUICE_BIN" run shape.yaml --batches 2 2>json.log
check_eq "a value that is not JSON fails the run (exit 1)" "$?" 1
check_contains "the error names the partition and offset" json.log "$SH/0 offset 0: value is not JSON"
FORMAT=json ON_ERROR=skip OFFSETS="$SH:0:4" timeout 60 "$SLUICE_BIN" run shape.yaml --batches 2 \
    --log-level info 2>json2.log
check_eq "on_error: skip exits 0" "$?" 0
check_contains "explicit offsets: reading starts at offset 4, the JSON object is an object" \
    shape.jsonl '"value":{"a":[1,2]}}'
check_eq "explicit offsets: offsets 4 and 5 only, the poison one skipped" "$(wc -l <shape.jsonl)" 1
check_contains "the poison message is counted" json2.log "poison_skipped=1"

# the sink: null values are tombstones, null or missing keys no key, other
# keys and values JSON, bytes as they are
NL=$(topic sinknull)
echo '[null, {"key": "k", "value": null}, {"key": null, "value": "v"}, {"key": 7, "value": [1, "a"]}, "plain"]' >n.jsonl
cat >n.yaml <<EOF2
batch_interval: 100ms
clock: manual
streams:
  b: {source: queue, path: n.jsonl, on_end: stop}
outputs:
  - {sink: kafka, from: b, brokers: $BROKERS, topic: $NL}
EOF2
timeout 60 "$SLUICE_BIN" run n.yaml 2>n.log
check_eq "the sink writes nulls, pairs and plain elements (exit 0)" "$?" 0
consume "$NL" '%K|%k|%S|%s\n' | LC_ALL=C sort >n.got
printf '%s\n' '-1||-1|' '-1||1|v' '-1||5|plain' '1|7|7|[1,"a"]' '1|k|-1|' | LC_ALL=C sort >n.want
check "kcat reads tombstones, keyless messages, JSON keys and values" cmp -s n.got n.want

# an explicit offset past the end of the log goes on at its end, with a warning
FORMAT=bytes OFFSETS="$SH:0:999999" timeout 60 "$SLUICE_BIN" run shape.yaml --batches 2 2>oor.log
check_eq "an out-of-range offset does not fail the run" "$?" 0
check_contains "... it says where it goes on" oor.log "$SH/0: the log ends at 6, before the next offset 999999"
check_eq "... and reads nothing" "$(wc -l <shape.jsonl)" 0

# ---- 4b. the sink's headers: fixed ones, and a record: full's passed through -------
# kcat writes messages with headers (one without a value: null; non-UTF-8
# bytes; an empty value; a name twice); source (record: full) -> repartition
# -> sink (record: full, fixed headers) keeps them byte for byte, in order,
# and adds the fixed ones after them.
HIN=$(topic hdrin)
HOUT=$(topic hdrout)
printf 'k1:v1\n' | kcat -P -b "$BROKERS" -t "$HIN" -p 0 -K: -X acks=all \
    -H a=1 -H nul -H $'bin=\xff\xfe=x' -H 'e=' -H a=2
printf 'k2:v2\n' | kcat -P -b "$BROKERS" -t "$HIN" -p 1 -K: -X acks=all
printf 'k3:\n' | kcat -P -b "$BROKERS" -t "$HIN" -p 2 -K: -Z -X acks=all -H t=tomb
cat >hdr.yaml <<EOF2
batch_interval: 200ms
clock: manual
streams:
  m: {source: kafka, brokers: $BROKERS, topics: $HIN, start: earliest, record: full}
  spread: {repartition: m, partitions: 2}
outputs:
  - sink: kafka
    from: spread
    brokers: $BROKERS
    topic: $HOUT
    record: full
    headers: {origin: sluice, run: "\${RUN}", empty: ""}
EOF2
RUN=r-$$ timeout 60 "$SLUICE_BIN" run hdr.yaml --batches 2 2>hdr.log
check_eq "record: full -> repartition -> sink record: full exits 0" "$?" 0
wait_topic "$HOUT" 3
consume "$HOUT" '%k %h %s\n' | LC_ALL=C sort >hdr.got
{
    printf 'k1 a=1,nul=NULL,bin=\xff\xfe=x,e=,a=2,origin=sluice,run=r-%s,empty= v1\n' $$
    printf 'k2 origin=sluice,run=r-%s,empty= v2\n' $$
    printf 'k3 t=tomb,origin=sluice,run=r-%s,empty= \n' $$
} | LC_ALL=C sort >hdr.want
check "kcat -f '%k %h %s': headers passed through and fixed ones, byte for byte" \
    cmp hdr.got hdr.want
check_eq "... the tombstone stays a tombstone" "$(consume "$HOUT" '%k %S\n' | grep '^k3 ')" "k3 -1"
# kcat prints a null value and the text NULL alike: read the output back
# with the kafka source, whose JSON has null for a header without a value
sed -e "s/topics: $HIN/topics: $HOUT/" -e '/^  spread:/,$d' hdr.yaml >hdrback.yaml
echo 'outputs: [{sink: jsonl, from: m, path: hdrback.jsonl}]' >>hdrback.yaml
timeout 60 "$SLUICE_BIN" run hdrback.yaml --batches 2 2>hdrback.log
check_contains "read back: the header without a value is null, its bytes as they were" \
    hdrback.jsonl '[["a","1"],["nul",null],["bin","\udcff\udcfe=x"],["e",""],["a","2"],["origin","sluice"]'

# records of other shapes: built as JSON by the queue source. A header value
# that is not a string is its JSON text; headers may be an object. A value
# that is not [value, topic, partition, offset, timestamp, headers] fails the
# batch, or with on_error: skip is dropped and counted.
HQ=$(topic hdrq)
cat >hq.jsonl <<'EOF2'
[{"key": "good", "value": ["v", "t", 0, 0, 0, [["n", 7], ["j", null], ["s", "x"]]]}, {"key": "obj", "value": [{"a": 1}, "t", 0, 0, 0, {"o": "p", "o": "q"}]}, {"key": "none", "value": ["w", "t", 0, 0, 0, null]}, {"key": "bad1", "value": "plain"}, {"key": "bad2", "value": ["v", "t", 0, 0, 0, [["h"]]]}]
EOF2
cat >hq.yaml <<EOF2
batch_interval: 100ms
clock: manual
streams:
  b: {source: queue, path: hq.jsonl, on_end: stop}
outputs:
  - sink: kafka
    from: b
    brokers: $BROKERS
    topic: $HQ
    record: full
    on_error: \${ON_ERROR:-fail}
EOF2
timeout 60 "$SLUICE_BIN" run hq.yaml 2>hq.log
check_eq "a record not of the full shape fails the run (exit 1)" "$?" 1
check_contains "... saying which and why" hq.log \
    "topic '$HQ': record 4 of the batch is not of the shape of record: full, (key, [value, topic, partition, offset, timestamp, headers]): its value is a string, not a list"
HQ2=$(topic hdrq2)
sed -i "s/topic: $HQ\$/topic: $HQ2/" hq.yaml
ON_ERROR=skip timeout 60 "$SLUICE_BIN" run hq.yaml --log-level info 2>hq2.log
check_eq "on_error: skip exits 0" "$?" 0
check_contains "... counts the two it skipped" hq2.log "malformed_skipped=2"
check_contains "... and logs the first of the batch, and how many" hq2.log \
    "record 4 of the batch is not of the shape of record: full: its value is a string, not a list (skipped: on_error: skip)"
check_contains "... and how many" hq2.log "2 records of the batch skipped"
wait_topic "$HQ2" 3
consume "$HQ2" '%k %h %s\n' | LC_ALL=C sort >hq.got
printf '%s\n' 'good n=7,j=NULL,s=x v' 'none  w' 'obj o=p,o=q {"a":1}' | LC_ALL=C sort >hq.want
check "headers from JSON: numbers as JSON text, null, an object's fields in order" cmp hq.got hq.want
echo '[{"key": "bad2", "value": ["v", "t", 0, 0, 0, [["h"]]]}]' >hq.jsonl
timeout 60 "$SLUICE_BIN" run hq.yaml 2>hq3.log
check_contains "a header that is not a [name, value] pair fails the run, saying so" hq3.log \
    "record 1 of the batch is not of the shape of record: full, (key, [value, topic, partition, offset, timestamp, headers]): header 1 is not a [name, value] pair with a string name"

# record: pair (the default) with fixed headers as name=value lines, a value
# holding '='; a line without '=' is a configuration error
HP2=$(topic hdrpair)
echo '[{"key": "k", "value": "v"}, "plain"]' >hp.jsonl
cat >hp.yaml <<EOF2
batch_interval: 100ms
clock: manual
streams:
  b: {source: queue, path: hp.jsonl, on_end: stop}
outputs:
  - sink: kafka
    from: b
    brokers: $BROKERS
    topic: $HP2
    headers: |
      plain=1
      eq=a=b
EOF2
timeout 60 "$SLUICE_BIN" run hp.yaml 2>hp.log
check_eq "fixed headers as name=value lines (exit 0)" "$?" 0
consume "$HP2" '%k|%h|%s\n' | LC_ALL=C sort >hp.got
printf '%s\n' '|plain=1,eq=a=b|plain' 'k|plain=1,eq=a=b|v' | LC_ALL=C sort >hp.want
check "every message has the fixed headers, '=' in a value kept" cmp hp.got hp.want
sed -i -e 's/^    headers: .*$/    headers: novalue/' -e '/^      plain=1$/d' -e '/^      eq=a=b$/d' hp.yaml
timeout 60 "$SLUICE_BIN" validate hp.yaml >/dev/null 2>hp2.log
check_eq "a header without '=' is a configuration error (exit 2)" "$?" 2
check_contains "... that says what is expected" hp2.log "kafka sink: headers, line 1: expected name=value"

# ---- 4c. the partitioner: properties: {partitioner: murmur2_random} -----------------
# 40 keys, 10 messages each, over the topic's 3 partitions: every key lands
# in exactly one partition, the one the Java client's default partitioner
# picks (murmur2; librdkafka's own default, consistent_random, picks others)
PT=$(topic part)
python3 -c 'import json; print(json.dumps([{"key": "key-%d" % (i % 40), "value": str(i)} for i in range(400)]))' >pt.jsonl
cat >pt.yaml <<EOF2
batch_interval: 100ms
clock: manual
streams:
  b: {source: queue, path: pt.jsonl, on_end: stop}
outputs:
  - sink: kafka
    from: b
    brokers: $BROKERS
    topic: $PT
    properties: {partitioner: murmur2_random}
EOF2
timeout 60 "$SLUICE_BIN" run pt.yaml 2>pt.log
check_eq "partitioner: murmur2_random (exit 0)" "$?" 0
wait_topic "$PT" 400
consume "$PT" '%p %k\n' >pt.got
check_eq "400 messages" "$(wc -l <pt.got)" 400
check_eq "each of the 40 keys is in exactly one partition" \
    "$(LC_ALL=C sort -u pt.got | awk '{ n[$2]++ } END { for (k in n) if (n[k] == 1) one++; print length(n), one }')" "40 40"
check_eq "... over all 3 partitions" "$(awk '{ print $1 }' pt.got | sort -u | tr '\n' ' ')" "0 1 2 "
java=$(LC_ALL=C sort -u pt.got | python3 -c '
import sys
def murmur2(d):  # org.apache.kafka.common.utils.Utils.murmur2
    m, n = 0x5BD1E995, len(d)
    h = (0x9747B28C ^ n) & 0xFFFFFFFF
    for i in range(0, n - n % 4, 4):
        k = int.from_bytes(d[i:i + 4], "little") * m & 0xFFFFFFFF
        k = (k ^ (k >> 24)) * m & 0xFFFFFFFF
        h = (h * m & 0xFFFFFFFF) ^ k
    t = d[n - n % 4:]
    if len(t) >= 3: h ^= t[2] << 16
    if len(t) >= 2: h ^= t[1] << 8
    if len(t) >= 1: h = (h ^ t[0]) * m & 0xFFFFFFFF
    h = (h ^ (h >> 13)) * m & 0xFFFFFFFF
    return h ^ (h >> 15)
bad = [l for l in sys.stdin if int(l.split()[0]) != (murmur2(l.split()[1].encode()) & 0x7FFFFFFF) % 3]
print(len(bad))')
check_eq "... the partition of the Java client's partitioner for every key" "$java" 0

# ---- 5. bad input ------------------------------------------------------------------
cat >bad.yaml <<EOF2
batch_interval: 200ms
streams:
  m:
    source: kafka
    brokers: \${B}
    topics: \${T}
    connect_timeout: 3s
    properties: \${P:-}
outputs:
  - {sink: pprint, from: m}
EOF2
t0=$(now_ms)
B=$BROKERS T=no-such-topic-$$ timeout 60 "$SLUICE_BIN" run bad.yaml --batches 2 2>bad1.log
check_eq "an unknown topic fails the start (exit 2, a configuration error)" "$?" 2
check_contains "it says the topic does not exist" bad1.log "topic 'no-such-topic-$$' does not exist"
t0=$(now_ms)
B=127.0.0.1:$(free_port) T=x timeout 60 "$SLUICE_BIN" run bad.yaml --batches 2 2>bad2.log
rc=$?
took=$(($(now_ms) - t0))
check_eq "unreachable brokers fail the run (exit 1)" "$rc" 1
check "... within a bounded time (connect_timeout 3 s; took $took ms)" test "$took" -lt 10000
check_contains "it says the brokers did not answer" bad2.log "the brokers did not answer within 3000 ms"
for prop in plugin.library.paths=/tmp/x.so interceptor.test.config=1 ssl.engine.location=/x \
    ssl.providers=legacy sasl.kerberos.kinit.cmd=/bin/true enable.auto.commit=true \
    enable.auto.offset.store=true offset.store.method=file offset.store.path=/tmp/o \
    test.mock.num.brokers=3; do
    B=$BROKERS T=x P="$prop" timeout 60 "$SLUICE_BIN" run bad.yaml --batches 1 >/dev/null 2>bad3.log
    rc=$?
    check "refused property ${prop%%=*}: exit 2, not run ($rc)" test "$rc" -eq 2
    check_contains "... and it says why" bad3.log "${prop%%=*} is refused"
done
# properties as a YAML mapping: the same names, the same refusals
sed 's/^    properties: .*$/    properties: {client.id: x, enable.auto.commit: "true"}/' bad.yaml \
    >badmap.yaml
B=$BROKERS T=x timeout 60 "$SLUICE_BIN" validate badmap.yaml >/dev/null 2>bad5.log
check_eq "a refused property in a properties mapping: exit 2" "$?" 2
check_contains "... and it says why" bad5.log "enable.auto.commit is refused"
SECRET=hunter2-$$
B=$BROKERS T=$IN P="security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.username=someone
sasl.password=$SECRET" timeout 60 "$SLUICE_BIN" run bad.yaml --batches 2 --log-level debug >bad4.out 2>bad4.log
check_eq "a SASL handshake the broker refuses fails the run (exit 1)" "$?" 1
check_contains "... with librdkafka's reason" bad4.log "the brokers did not answer"
check "... in the error itself, not only in log lines" \
    grep -qE "bad.yaml: kafka source: the brokers did not answer .*last error: .*SASL" bad4.log
B=$BROKERS T=$IN P="security.protocol=SSL" timeout 60 "$SLUICE_BIN" run bad.yaml --batches 2 \
    >bad6.out 2>bad6.log
check_eq "an SSL handshake that fails (a plaintext broker) fails the run (exit 1)" "$?" 1
check "... and the error says so" \
    grep -qE "bad.yaml: kafka source: the brokers did not answer .*last error: ssl://.*SSL" bad6.log
check "... and the password shows nowhere" bash -c "! grep -q '$SECRET' bad4.log bad4.out"
B=$BROKERS T=$IN P="sasl.password=$SECRET" "$SLUICE_BIN" graph bad.yaml >graph.out 2>&1
check "sluice graph does not show it either" bash -c "! grep -q '$SECRET' graph.out"
B=$BROKERS T=x P="ssl.key.password" timeout 60 "$SLUICE_BIN" run bad.yaml --batches 1 2>bad5.log
check_eq "a property line without '=' is a configuration error" "$?" 2
check_contains "... that says what is expected" bad5.log "expected name=value"

# an oversized message fails the batch with the broker's limit, not a hang
python3 -c 'import json; print(json.dumps([["x" * 2000000]]))' >big.jsonl
BIG=$(topic big)
cat >big.yaml <<EOF2
batch_interval: 200ms
clock: manual
streams:
  b: {source: queue, path: big.jsonl, on_end: stop}
outputs:
  - {sink: kafka, from: b, brokers: $BROKERS, topic: $BIG}
EOF2
timeout 60 "$SLUICE_BIN" run big.yaml 2>big.log
check_eq "an oversized message fails the run (exit 1)" "$?" 1
check_contains "... saying the message is too large" big.log "too large"

finish

#!/usr/bin/env bash
# test_kafka_txn.sh — exactly-once output to Kafka across SIGKILLs, with
# `transactional: true` and a read_committed consumer (kcat).
#
# 1. A stateless copy from one topic to another, killed with SIGKILL 6
#    times at random points and restarted each time on the same checkpoint
#    directory, group and output topic: the output topic,
#    read with isolation.level=read_committed, holds every input line
#    exactly once (read_uncommitted may see the aborted ones too).
# 2. The seed's stateful word count, Kafka to Kafka, killed 20 times the
#    same way: the final state equals an uninterrupted run's, and in the
#    output topic (read_committed) every word's running count never goes
#    down (a batch output twice after a restart from an older checkpoint
#    would show an older count again) and ends at the word's final count.
# Batches come every 100 ms on the real clock, so that each killed run gets
# some way; checkpoints are taken every 3 batches, so that most kills fall after a
# transaction committed a batch that no checkpoint covers: the restarted run
# must replay those records into state without writing them again. The
# test checks that this path ran.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/kafka_lib.sh"

cd "$WORK" || exit 1

read_committed() {
    kcat -C -b "$BROKERS" -t "$1" -e -q -X isolation.level=read_committed -f "${2:-%s\n}" \
        2>/dev/null
}

# kill_and_resume NAME YAML BATCHES SPREAD_MS KILLS: KILLS times, start a
# run of YAML and SIGKILL it at a random point up to SPREAD_MS after its
# first batch completed (the producer's and the transactions' set-up take
# about a second before it); then run it to the end. Every run uses the
# same checkpoint directory, group and topics.
kill_and_resume() {
    local name=$1 yaml=$2 batches=$3 spread=$4 kills=$5 k delay_ms pid log
    for k in $(seq 1 "$kills"); do
        log=$name-kill$k.log
        setsid "$SLUICE_BIN" run "$yaml" --batches "$batches" --log-level info 2>"$log" &
        pid=$!
        GROUPS_STARTED+=("$pid")
        wait_until 60 grep -q "records .* in; scheduling delay" "$log"
        delay_ms=$((RANDOM % spread))
        sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        echo "$name: kill #$k ${delay_ms} ms after the first batch," \
            "$(grep -c "records .* in; scheduling delay" "$log") batches done"
    done
    timeout 120 "$SLUICE_BIN" run "$yaml" --batches "$batches" --log-level info 2>"$name-end.log"
    check_eq "$name: the run after $kills kills exits 0" "$?" 0
}

RANDOM=7

# ---- 0. what transactions need, refused clearly -----------------------------------------

IN=$(topic txn-bad)
echo "a b" | produce "$IN"
# bad.yaml SINKS: a Kafka source (with a group unless G=none) and SINKS
bad_yaml() {
    cat >bad.yaml <<EOF2
batch_interval: 100ms
streams:
  lines:
    source: kafka
    brokers: $BROKERS
    topics: $IN
$([ "${G:-}" = none ] || echo "    group: g-$IN")
outputs:
$1
EOF2
}
G=none bad_yaml "  - {sink: kafka, from: lines, brokers: $BROKERS, topic: o-$IN, transactional: true}"
timeout 60 "$SLUICE_BIN" run bad.yaml --batches 1 >/dev/null 2>bad1.log
check_eq "a transactional sink over a source without a group: exit 2" "$?" 2
check_contains "... which says to set the group" bad1.log "commits this source's offsets to its group with each batch: set \`group\`"
bad_yaml "  - {sink: kafka, from: lines, brokers: $BROKERS, topic: o-$IN, transactional: true}
  - {sink: kafka, from: lines, brokers: $BROKERS, topic: p-$IN, transactional: true}"
timeout 60 "$SLUICE_BIN" run bad.yaml --batches 1 >/dev/null 2>bad2.log
check_eq "two transactional sinks in one pipeline: refused at load (exit 2)" "$?" 2
check_contains "... and says why" bad2.log "a pipeline may have one transactional kafka sink"
bad_yaml "  - {sink: kafka, from: lines, brokers: $BROKERS, topic: o-$IN, transactional: true,
     idempotent: false}"
timeout 60 "$SLUICE_BIN" validate bad.yaml >/dev/null 2>bad3.log
check_eq "transactional without the idempotent producer: refused" "$?" 2
check_contains "... and says why" bad3.log "transactional: true needs the idempotent producer"
for prop in transactional.id=x transaction.timeout.ms=1000; do
    bad_yaml "  - {sink: kafka, from: lines, brokers: $BROKERS, topic: o-$IN, properties: \"$prop\"}"
    timeout 60 "$SLUICE_BIN" validate bad.yaml >/dev/null 2>bad4.log
    check_eq "property $prop: refused" "$?" 2
    check_contains "... with the parameter to use instead" bad4.log "${prop%%=*} is refused: use"
done

# ---- 1. a stateless copy: every line exactly once -------------------------------------

IN=$(topic txn-copy-in)
OUT=$(topic txn-copy-out)
seq 1 3000 | sed 's/^/line-/' >copy.txt
produce "$IN" <copy.txt
check_eq "kcat produced 3000 lines" "$(topic_count "$IN")" 3000

cat >copy.yaml <<EOF2
batch_interval: 100ms
checkpoint: copy-cp
checkpoint_interval: 300ms
streams:
  lines:
    source: kafka
    brokers: $BROKERS
    topics: $IN
    group: g-$IN
    start: earliest
    max_records_per_partition: 10
outputs:
  - {sink: kafka, from: lines, brokers: $BROKERS, topic: $OUT, transactional: true}
EOF2

# 3000 lines, 1000 a partition, 10 a batch: 100 batches with input
kill_and_resume copy copy.yaml 110 1000 6
read_committed "$OUT" | LC_ALL=C sort >copy.got
dups=$(uniq -d copy.got | wc -l)
check_eq "after 6 kills, no line is twice in the output topic (read_committed)" "$dups" 0
check_eq "after 6 kills, the output topic holds every line (read_committed)" \
    "$(LC_ALL=C comm -3 copy.got <(LC_ALL=C sort copy.txt) | wc -l)" 0
aborted=$(($(kcat -C -b "$BROKERS" -t "$OUT" -e -q -X isolation.level=read_uncommitted \
    2>/dev/null | wc -l) - 3000))
echo "read_uncommitted also sees $aborted messages of aborted transactions"
replays=$(cat copy-kill*.log copy-end.log | grep -c "replayed into state without output")
check "some restarts replayed committed records without output ($replays)" \
    test "$replays" -gt 0

# ---- 2. the stateful word count: exact state, counts that never go back ---------------

IN=$(topic txn-wc-in)
OUT=$(topic txn-wc-out)
awk 'BEGIN { srand(11); for (l = 0; l < 1500; l++) { line = "";
    for (w = 0; w < 6; w++) line = line (w ? " " : "") "w" int(300 * rand() * rand());
    print line } }' >lines.txt
produce "$IN" <lines.txt
expected_counts lines.txt >want.state

cat >wc.yaml <<EOF2
batch_interval: 100ms
checkpoint: wc-cp
checkpoint_interval: 300ms
checkpoint_keep: 2
streams:
  lines:
    source: kafka
    brokers: $BROKERS
    topics: $IN
    group: g-$IN
    start: earliest
    max_records_per_partition: 5
  words:  {flat_map: text.split, from: lines, sep: " "}
  pairs:  {map: kv.pair, from: words}
  counts: {update_state_by_key: agg.sum, from: pairs}
outputs:
  - {sink: jsonl, from: counts, path: out.jsonl}
  - {sink: kafka, from: counts, brokers: $BROKERS, topic: $OUT, transactional: true}
EOF2

# 1500 lines, 500 a partition, 5 a batch: 100 batches with input
BATCHES=110
timeout 120 "$SLUICE_BIN" run wc.yaml --fresh --batches $BATCHES 2>wc-ref.log
check_eq "the uninterrupted word count exits 0" "$?" 0
final_state >ref.state
check "the uninterrupted run's state equals the lines' counts" cmp -s ref.state want.state

OUT=$(topic txn-wc-out)
sed -i "s/group: g-.*/group: g2-$IN/; s/topic: [^,]*, transactional/topic: $OUT, transactional/" \
    wc.yaml
sed -i "s/wc-cp/wc-cp2/" wc.yaml
rm -f out.jsonl
kill_and_resume wc wc.yaml $BATCHES 1000 20
final_state >got.state
if cmp -s got.state ref.state; then
    pass "after 20 kills the final state equals the uninterrupted run's"
else
    fail "after 20 kills the final state differs from the uninterrupted run's:"
    diff got.state ref.state | head -5 >&2
fi
# every word's counts in the order a read_committed consumer reads them
read_committed "$OUT" '%k %s\n' >wc.got
backwards=$(awk '{ if (($1 in last) && $2 < last[$1]) n++; last[$1] = $2 } END { print n + 0 }' \
    wc.got)
check_eq "no word's count goes down in the output topic (no batch output twice)" "$backwards" 0
awk '{ last[$1] = $2 } END { for (w in last) printf "\"key\":\"%s\",\"value\":%d}\n", w, last[w] }' \
    wc.got | LC_ALL=C sort >topic.final
check "every word's last count in the output topic is its final count" cmp -s topic.final \
    want.state
replays=$(cat wc-kill*.log wc-end.log | grep -c "replayed into state without output")
check "some restarts replayed committed records without output ($replays)" \
    test "$replays" -gt 0

# ---- 3. a topic written in transactions: ranges that end in markers -------------------

np=$("$SLUICE_SOURCE_DIR/scripts/kafkajs.sh" install) || { fail "scripts/kafkajs.sh install"; finish; }
export "${np?}"
JS="$SLUICE_SOURCE_DIR/tests/integration/kafkajs_client.js"
IN=$(topic txn-marks)
# txn FIRST LAST commit|abort: lines c<FIRST>..c<LAST> (a<..> when aborted) as one transaction
txn() {
    local p=c
    [ "$3" = abort ] && p=a
    seq "$1" "$2" | sed "s/^/$p/"
    echo "--$3"
}
{ txn 1 10 commit; txn 11 20 commit; txn 1 6 abort; } >marks1.in
check "kafkajs writes 2 committed transactions and 1 aborted" \
    node "$JS" transactions "$BROKERS" "$IN" <marks1.in
HP=$(free_port)
cat >marks.yaml <<EOF2
batch_interval: 300ms
checkpoint: marks-cp
checkpoint_interval: 300ms
streams:
  lines:
    source: kafka
    brokers: $BROKERS
    topics: $IN
    start: earliest
    fetch_timeout: 5s
outputs:
  - {sink: jsonl, from: lines, path: marks.jsonl}
EOF2
metric() { # FILE NAME: the value of the kafka source's sample NAME in a /metrics scrape
    sed -n "s/^sluice_plugin_$2{stream=\"lines\",plugin=\"kafka\"} \([0-9]*\)$/\1/p" "$1"
}
# caught_up FILE N: the source took N records (counted when a batch's
# ranges are complete or cut) and its lag is 0
caught_up() {
    curl -s --max-time 5 -o "$1" "http://127.0.0.1:$HP/metrics" &&
        [ "$(metric "$1" records_total)" = "$2" ] && [ "$(metric "$1" lag)" = 0 ]
}
# marks_ok NAME LOG: no batch of the run waited for fetch_timeout
marks_ok() {
    local slow
    check_eq "$1: no range waited for fetch_timeout (\"did not arrive\" lines)" \
        "$(grep -c "did not arrive" "$2")" 0
    slow=$(sed -n 's/.*batch [^ ]*: [0-9]* records.*processing \([0-9]*\) ms.*/\1/p' "$2" |
        sort -n | tail -n 1)
    check "$1: every batch took under 1 s, not fetch_timeout (slowest: ${slow:-none} ms)" \
        test -n "$slow" -a "${slow:-9999}" -lt 1000
}
values() { sed -n 's/.*"value":"\([^"]*\)".*/\1/p' "$@" | LC_ALL=C sort; }

start_group "'$SLUICE_BIN' run marks.yaml --http 127.0.0.1:$HP --log-level info >/dev/null 2>marks1.log"
MARKS=$GROUP_PID
check "marks: the 20 committed records are read and the lag reaches 0 within 4 s" \
    wait_until 4 caught_up marks1.txt 20
check_eq "marks: fetch_timeouts is 0" "$(metric marks1.txt fetch_timeouts_total)" 0
stop_group "$MARKS"
marks_ok marks marks1.log
check_eq "marks: the committed records, once each; none of the aborted" \
    "$(values marks.jsonl | tr '\n' ' ')" "$(seq 1 20 | sed 's/^/c/' | LC_ALL=C sort | tr '\n' ' ')"

# the checkpoint ends after the aborted transaction's marker; then 2 more
# committed transactions. A run reads them and is SIGKILLed before it
# checkpoints: the next run replays that range, which ends in a marker
{ txn 21 30 commit; txn 31 40 commit; } >marks2.in
check "kafkajs writes 2 more committed transactions" \
    node "$JS" transactions "$BROKERS" "$IN" <marks2.in
sed -i 's/checkpoint_interval: 300ms/checkpoint_interval: 1h/' marks.yaml
setsid "$SLUICE_BIN" run marks.yaml --log-level info >/dev/null 2>marks2.log &
pid=$!
GROUPS_STARTED+=("$pid")
check "marks: a run resumed from the checkpoint takes the 20 new records" \
    wait_until 10 grep -q "batch [^ ]*: 20 records" marks2.log
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check_contains "marks: ... resumed from the checkpoint" marks2.log "resuming 3 partitions"
marks_ok "marks, the killed run" marks2.log
rm -f marks.jsonl
start_group "'$SLUICE_BIN' run marks.yaml --http 127.0.0.1:$HP --log-level info >/dev/null 2>marks3.log"
MARKS=$GROUP_PID
check "marks: the replay reads the same 20 records and the lag reaches 0 within 4 s" \
    wait_until 4 caught_up marks3.txt 20
check_eq "marks: fetch_timeouts is 0 in the replay" "$(metric marks3.txt fetch_timeouts_total)" 0
stop_group "$MARKS"
marks_ok "marks, the replay" marks3.log
check_eq "marks: the replayed batch holds c21..c40" \
    "$(values marks.jsonl | tr '\n' ' ')" "$(seq 21 40 | sed 's/^/c/' | LC_ALL=C sort | tr '\n' ' ')"

# section 1's output, written by sluice's transactional sink: one
# transaction a batch, some aborted by the kills. A second pipeline reads it
OUT=$(sed -n 's/.*topic: \([^,]*\), transactional.*/\1/p' copy.yaml)
cat >chain.yaml <<EOF2
batch_interval: 300ms
streams:
  lines:
    source: kafka
    brokers: $BROKERS
    topics: $OUT
    start: earliest
    fetch_timeout: 5s
outputs:
  - {sink: jsonl, from: lines, path: chain.jsonl}
EOF2
start_group "'$SLUICE_BIN' run chain.yaml --http 127.0.0.1:$HP --log-level info >/dev/null 2>chain.log"
MARKS=$GROUP_PID
check "chain: a pipeline reads the 3000 lines of section 1's output, lag 0 within 4 s" \
    wait_until 4 caught_up chain.txt 3000
stop_group "$MARKS"
marks_ok chain chain.log
check_eq "chain: every line once" "$(values chain.jsonl | uniq | wc -l) $(values chain.jsonl | wc -l)" \
    "3000 3000"

finish

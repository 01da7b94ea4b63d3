#!/usr/bin/env bash
# test_kafka_outage.sh — the broker crashes and comes back mid-run.
#
# On a private broker (scripts/kafka.sh with its own run dir: the shared one
# must not go down under the other tests), a stateful word count from Kafka
# to Kafka runs on the system clock. The broker is SIGKILLed mid-run and
# started again on its data ten seconds later: the pipeline must wait (not
# fail), resume, and end with the exact counts of every line written before
# and after the outage; then it stops cleanly on SIGTERM. Every message
# carries the sink's fixed header.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/kafka_lib.sh" # needs the shared broker too

cd "$WORK" || exit 1
KAFKA_SH="$SLUICE_SOURCE_DIR/scripts/kafka.sh"
export SLUICE_KAFKA_DIR="$WORK/kafka" SLUICE_KAFKA_HEAP=256m
stop_private_broker() {
    "$KAFKA_SH" stop >/dev/null 2>&1
    cleanup
}
trap stop_private_broker EXIT

BROKERS=$("$KAFKA_SH" start 2>broker.log | sed -n 's/^BROKERS=//p')
check "a private broker started ($BROKERS)" test -n "$BROKERS"
[ -n "$BROKERS" ] || {
    cat broker.log >&2
    finish
}

IN=$(topic outage-in)
OUT=$(topic outage-out)
awk 'BEGIN { for (l = 0; l < 300; l++) print "a" (l % 7) " b" (l % 11) }' >lines1.txt
awk 'BEGIN { for (l = 0; l < 300; l++) print "a" (l % 5) " c" (l % 3) }' >lines2.txt
produce "$IN" <lines1.txt
cat >out.yaml <<EOF2
batch_interval: 500ms
checkpoint: cp
checkpoint_interval: 500ms
streams:
  lines:
    source: kafka
    brokers: $BROKERS
    topics: $IN
    group: g-$IN
    start: earliest
    fetch_timeout: 2s
  words:  {flat_map: text.split, from: lines, sep: " "}
  pairs:  {map: kv.pair, from: words}
  counts: {update_state_by_key: agg.sum, from: pairs}
outputs:
  - {sink: jsonl, from: counts, path: out.jsonl}
  - {sink: kafka, from: counts, brokers: $BROKERS, topic: $OUT, delivery_timeout: 60s, headers: {via: outage}}
EOF2
start_group "exec '$SLUICE_BIN' run out.yaml --fresh --log-level info 2>run.log"
RUN=$GROUP_PID

state_is() {
    [ -s out.jsonl ] && final_state >now.state 2>/dev/null && cmp -s now.state "$1"
}
expected_counts lines1.txt >want1.state
check "the first 300 lines are counted" wait_until 30 state_is want1.state

"$KAFKA_SH" kill >/dev/null
sleep 10
check "the pipeline waits while the broker is down (still running)" kill -0 "$RUN"
"$KAFKA_SH" start >>broker.log 2>&1
check_eq "the broker is back on its port" "$("$KAFKA_SH" status)" "BROKERS=$BROKERS"
produce "$IN" <lines2.txt
cat lines1.txt lines2.txt >all.txt
expected_counts all.txt >want2.state
check "after the outage every line is counted exactly once" wait_until 60 state_is want2.state

kill -TERM "$RUN"
wait_until 30 bash -c "! kill -0 $RUN 2>/dev/null"
wait "$RUN" 2>/dev/null
check_eq "the pipeline stops cleanly on SIGTERM (exit 0)" "$?" 0
consume "$OUT" '"key":"%k","value":%s}\n' | LC_ALL=C sort -u >topic.results
check_eq "the output topic holds every final count" \
    "$(LC_ALL=C comm -23 want2.state topic.results | wc -l)" 0
check_eq "every message has the sink's fixed header, across the outage" \
    "$(consume "$OUT" '%h\n' | sort | uniq -c | awk '{ print ($1 > 0), $2 }')" "1 via=outage"
if ((FAILS > 0)); then
    tail -n 30 run.log >&2
fi
finish

#!/usr/bin/env bash
# test_kafka_topology.sh — the log and the topics changing under a running
# source, on the real broker, changed by an outside client (kafkajs admin):
#
# 1. offsets deleted before they were read (what retention does: the log's
#    start offset moves past the source's next offset): the source goes on
#    at the new start with a warning, and counts the lost offsets in
#    offsets_lost; every record still in the log is read once;
# 2. partitions added to a topic while the source runs (assignment:
#    manual): found within metadata_refresh, read from their first offset;
#    a partition paused then (it holds more than the source keeps past a
#    batch) is fetched again after the assignment is replaced;
# 3. `pattern`: no topic matches at start (a warning, the run goes on); a
#    topic created later that matches is read, one that does not is not.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/kafka_lib.sh"

cd "$WORK" || exit 1
np=$("$SLUICE_SOURCE_DIR/scripts/kafkajs.sh" install) || {
    fail "scripts/kafkajs.sh install"
    finish
}
export "${np?}"
JS="$SLUICE_SOURCE_DIR/tests/integration/kafkajs_client.js"

# src NAME TOPICS-OR-PATTERN-LINE [EXTRA]: a config reading into NAME.jsonl
src() {
    cat >"$1.yaml" <<EOF2
batch_interval: 200ms
checkpoint: cp-$1
streams:
  m:
    source: kafka
    brokers: $BROKERS
    $2
    start: earliest
    metadata_refresh: 1s
    ${3:-}
outputs:
  - {sink: jsonl, from: m, path: $1.jsonl}
EOF2
}
# lines_of FILE: the values read, one per line, sorted
values() {
    sed -n 's/.*"value":"\(.*\)"}$/\1/p' "$1" | LC_ALL=C sort
}
has_lines() {
    [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ]
}

# ---- 1. offsets deleted before they were read ----------------------------------
T=$(topic deleted)
check "kafkajs creates a topic of 1 partition" node "$JS" create-topic "$BROKERS" "$T" 1
seq 1 100 | sed 's/^/a/' | kcat -P -b "$BROKERS" -t "$T" -p 0 -X acks=all
src del "topics: $T" "max_records_per_partition: 10"
# the first run reads 40 of them (4 batches of 10) and checkpoints
timeout 60 "$SLUICE_BIN" run del.yaml --batches 4 2>del1.log
check_eq "the first run reads 40 records" "$(wc -l <del.jsonl)" 40
check "kafkajs deletes the records below offset 70" \
    node "$JS" delete-records "$BROKERS" "$T" 0 70
rm -f del.jsonl
timeout 60 "$SLUICE_BIN" run del.yaml --batches 8 --log-level info 2>del2.log
check_eq "the resumed run exits 0" "$?" 0
check_contains "it says which offsets were deleted before they were read" del2.log \
    "$T/0: offsets 40..69 were deleted (retention) before they were read; going on at 70"
check_contains "and counts them (offsets_lost)" del2.log "offsets_lost=30"
check_eq "it reads the 30 records still in the log, each once" \
    "$(values del.jsonl | tr '\n' ' ')" "$(seq 71 100 | sed 's/^/a/' | LC_ALL=C sort | tr '\n' ' ')"

# ---- 2. partitions added while running -------------------------------------------
T2=$(topic grow)
check "kafkajs creates a topic of 2 partitions" node "$JS" create-topic "$BROKERS" "$T2" 2
# 50 records a batch (250 a second): partition 0's 4,000 take 16 s, and the
# source keeps at most 1,000 past a batch before it pauses the partition.
# librdkafka keeps a partition paused across a new assign: the source must
# clear it when the assignment is replaced, or partition 0 is never read on.
src grow "topics: $T2" "max_records_per_partition: 50"
start_group "exec '$SLUICE_BIN' run grow.yaml --log-level info 2>grow.log"
PG=$GROUP_PID
check "the source starts on partitions 0 and 1" \
    wait_until 30 grep -q "$T2/1 starts at offset 0" grow.log
# grow_want P N: the N records of partition P, as produced
grow_want() { seq 1 "$2" | sed "s/^/p$1-/"; }
grow_want 0 4000 | kcat -P -b "$BROKERS" -t "$T2" -p 0 -X acks=all
grow_want 1 5 | kcat -P -b "$BROKERS" -t "$T2" -p 1 -X acks=all
check "it reads records of partitions 0 and 1" wait_until 30 has_lines grow.jsonl 200
check "kafkajs grows the topic to 4 partitions" node "$JS" add-partitions "$BROKERS" "$T2" 4
check "within metadata_refresh (1 s) the source finds partition 3" \
    wait_until 30 grep -q "$T2/3 starts at offset 0" grow.log
at_grow=$(wc -l <grow.jsonl)
check "... while partition 0 still had records to read ($at_grow of 4005 read)" \
    test "$at_grow" -lt 3000
for p in 2 3; do grow_want $p 5 | kcat -P -b "$BROKERS" -t "$T2" -p $p -X acks=all; done
check "it reads every record, partition 0's to the end" wait_until 60 has_lines grow.jsonl 4015
sleep 1
for p in 0 1 2 3; do grow_want $p $((p ? 5 : 4000)); done | LC_ALL=C sort >grow.want
values grow.jsonl >grow.got
check "every record of the 4 partitions, each once ($(wc -l <grow.got) of 4015 lines)" \
    cmp -s grow.got grow.want
kill -TERM -- "-$PG" # a graceful stop writes the counters
wait_until 20 grep -q "pauses=" grow.log
stop_group "$PG"
check "partition 0 had been paused (pauses counted)" grep -qE "pauses=[1-9]" grow.log

# ---- 3. pattern: topics that appear later ----------------------------------------
P="pat$$x$RANDOM"
src pat "pattern: '^$P-[a-z]+\$'"
start_group "exec '$SLUICE_BIN' run pat.yaml --log-level info 2>pat.log"
PP=$GROUP_PID
check "no topic matches yet: a warning, and the run goes on" \
    wait_until 30 grep -q "no topic matches pattern" pat.log
check "kafkajs creates a matching topic" node "$JS" create-topic "$BROKERS" "$P-new" 1
check "kafkajs creates a topic that does not match" node "$JS" create-topic "$BROKERS" "$P-9" 1
printf 'm1\nm2\nm3\n' | kcat -P -b "$BROKERS" -t "$P-new" -p 0 -X acks=all
printf 'n1\n' | kcat -P -b "$BROKERS" -t "$P-9" -p 0 -X acks=all
check "the matching topic is found and read" wait_until 30 has_lines pat.jsonl 3
sleep 2
check_eq "only the matching topic's records, each once" "$(values pat.jsonl | tr '\n' ' ')" "m1 m2 m3 "
check "the topic that does not match was never assigned" bash -c "! grep -q '$P-9/' pat.log"
stop_group "$PP"
if ((FAILS > 0)); then
    tail -n 20 del2.log grow.log pat.log >&2
fi
finish

#!/usr/bin/env bash
# test_kafka_rebalance.sh — a member killed (SIGKILL) in the middle of a
# rebalance loses nothing: partitions are revoked at a batch boundary, once
# the batch holding their last records is covered by a checkpoint.
#
# Member A counts the records of a 3-partition topic (300,000 of them) into
# keyed state, checkpointing every 2 s (10 batches). Member B joins the
# group: A's partitions are revoked. The moment A's log says so, A is
# killed, then restarted on its checkpoint directory. At the end the counts
# of A (restarted) and B add up to 300,000 (more only if the kill fell
# between a checkpoint and the commit of its offsets): had A committed the
# revoked partitions' offsets before a checkpoint held their records (what
# a revoke did before: it committed at once), B would start past records
# that A's restored state does not hold, and they would be lost.
#
# A second case: a revocation whose batch is not covered within
# revoke_timeout (here a checkpoint every 60 s, revoke_timeout 1s) is
# released anyway with a warning and a counter, at the last checkpointed
# offsets: B reads those records again, nothing is lost.
#
# Between them: a partition that was paused when it was revoked and is
# given back to the same member is read on (librdkafka keeps the pause).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/kafka_lib.sh"

cd "$WORK" || exit 1
N=300000

# member NAME TOPIC CHECKPOINT_INTERVAL [EXTRA]: a counting member's config
member() {
    cat >"$1.yaml" <<EOF2
batch_interval: 200ms
checkpoint: cp-$1
checkpoint_interval: $3
streams:
  lines:
    source: kafka
    brokers: $BROKERS
    topics: $2
    group: g-$2
    assignment: group
    start: earliest
    max_records_per_partition: 1500
    ${4:-}
    properties:
      session.timeout.ms: 6000
      heartbeat.interval.ms: 500
  pairs:  {map: kv.pair, from: lines}
  counts: {update_state_by_key: agg.sum, from: pairs}
outputs:
  - {sink: jsonl, from: counts, path: $1.jsonl}
EOF2
}

# last_count FILE: the count in FILE's last line (0 without one)
last_count() {
    local v
    v=$(tail -n 1 "$1" 2>/dev/null | sed -n 's/.*"value":\([0-9]*\)}$/\1/p')
    echo "${v:-0}"
}
# at_least FILE N: FILE's last count is N or more
at_least() {
    [ "$(last_count "$1")" -ge "$2" ]
}

# every record is the same word: the state is one count per member
T=$(topic rebalance)
yes x | head -n $N | produce "$T"
check_eq "kcat produced $N records" "$(topic_count "$T")" $N

member a1 "$T" 2s
member b "$T" 2s
start_group "exec '$SLUICE_BIN' run a1.yaml --log-level info 2>a1.log"
PA=$GROUP_PID
check "member A gets the partitions" wait_until 60 grep -q "starts at offset" a1.log
check "member A has counted some records" wait_until 30 at_least a1.jsonl 20000
start_group "exec '$SLUICE_BIN' run b.yaml --log-level info 2>b.log"
PB=$GROUP_PID
check "member B joining revokes A's partitions" wait_until 60 grep -q "revok" a1.log
kill -KILL -- "-$PA"
wait "$PA" 2>/dev/null
echo "A killed at count $(last_count a1.jsonl): $(grep "revok" a1.log | head -n 3)"
sed "s/a1.jsonl/a2.jsonl/" a1.yaml >a2.yaml
start_group "exec '$SLUICE_BIN' run a2.yaml --log-level info 2>a2.log"
PA=$GROUP_PID
total() { echo $(($(last_count a2.jsonl) + $(last_count b.jsonl))); }
done_counting() { [ "$(total)" -ge $N ] && sleep 3 && [ "$(total)" -ge $N ]; }
check "the members count every record" wait_until 120 done_counting
# exactly N but for one window: a kill after a checkpoint is written and
# before the group has the offsets committed after it (B then reads that
# checkpoint's records again; at most one checkpoint interval: 10 batches
# of 3 x 1500)
got=$(total)
check "... none lost: A (restarted) and B count $got >= $N" test "$got" -ge $N
check "... none twice but for the last checkpoint's ($got <= $N + 45000)" test "$got" -le $((N + 45000))
echo "A: $(last_count a2.jsonl), B: $(last_count b.jsonl), read twice: $((got - N))"
stop_group "$PA"
stop_group "$PB"

# ---- a partition given back to the member that released it is read on --------
# E reads 3 partitions slowly (50 records a batch each, 1,000 kept past a
# batch: paused). F joins: the eager protocol revokes all of E's partitions
# (paused until their batch is safe) and gives some back to E. librdkafka
# keeps a partition paused across a release and a new assign: E must clear
# that, or each batch waits fetch_timeout for records that never come.
T3=$(topic comeback)
N3=15000
yes x | head -n $N3 | produce "$T3"
member e "$T3" 2s
member f "$T3" 2s
sed -i 's/max_records_per_partition: 1500/max_records_per_partition: 50/' e.yaml f.yaml
start_group "exec '$SLUICE_BIN' run e.yaml --log-level info 2>e.log"
PE=$GROUP_PID
check "member E counts some records" wait_until 60 at_least e.jsonl 500
start_group "exec '$SLUICE_BIN' run f.yaml --log-level info 2>f.log"
PF=$GROUP_PID
check "member F joining revokes E's partitions" wait_until 60 grep -q "revok" e.log
at=$(last_count e.jsonl)
check "... while E had records left to read ($at of $N3 counted)" test "$at" -lt 10000
starts() { [ "$(grep -c "starts at offset" e.log)" -gt 3 ]; }
check "E is given partitions again" wait_until 60 starts
total3() { echo $(($(last_count e.jsonl) + $(last_count f.jsonl))); }
done3() { [ "$(total3)" -ge $N3 ] && sleep 2 && [ "$(total3)" -ge $N3 ]; }
check "E and F count every record" wait_until 120 done3
got=$(total3)
check "... none twice but for a checkpoint's ($got <= $N3 + 1500)" test "$got" -le $((N3 + 1500))
check "E's fetches did not time out (fetch_timeout)" bash -c "! grep -q 'did not arrive within' e.log"
stop_group "$PE"
stop_group "$PF"

# ---- revoke_timeout: the batch is not checkpointed in time ---------------------
T2=$(topic revoke-timeout)
yes x | head -n 30000 | produce "$T2"
member c "$T2" 60s "revoke_timeout: 1s"
member d "$T2" 60s
start_group "exec '$SLUICE_BIN' run c.yaml --log-level info 2>c.log"
PC=$GROUP_PID
check "member C counts all 30000 records" wait_until 60 at_least c.jsonl 30000
start_group "exec '$SLUICE_BIN' run d.yaml --log-level info 2>d.log"
PD=$GROUP_PID
check "C releases the partitions after revoke_timeout, with a warning" \
    wait_until 60 grep -q "within revoke_timeout" c.log
check "D gets partitions" wait_until 60 grep -q "starts at offset" d.log
# C never checkpointed (60 s): nothing was committed, D reads from the start
check "D reads the moved partitions again from the last committed offset (0)" \
    wait_until 60 at_least d.jsonl 10000
stop_group "$PC"
stop_group "$PD"
check "C counted the partition releases it timed out on (revoke_timeouts)" \
    grep -qE "revoke_timeouts=[1-9]" c.log

# the cooperative protocol is refused at load with assignment: group
sed 's/^      session.timeout.ms: 6000$/      partition.assignment.strategy: cooperative-sticky/' c.yaml >coop.yaml
"$SLUICE_BIN" validate coop.yaml >/dev/null 2>coop.log
check_eq "partition.assignment.strategy: cooperative-sticky is refused (exit 2)" "$?" 2
check_contains "... saying why" coop.log "the cooperative protocol is not supported"
if ((FAILS > 0)); then
    tail -n 30 a1.log a2.log b.log c.log d.log e.log f.log >&2
fi
finish

# shellcheck shell=bash
# tests/integration/kafka_lib.sh — helpers of the Kafka integration tests
# (sourced after lib.sh; not a test itself).
#
# The broker is the real Apache Kafka that scripts/test.sh starts with
# scripts/kafka.sh and names in SLUICE_KAFKA_BROKERS. Without it these tests
# FAIL (they never skip): run them through scripts/test.sh, or
#   eval "$(scripts/kafka.sh start)"; SLUICE_KAFKA_BROKERS=$BROKERS ctest -R kafka
# Topics are named after the test's pid, so runs never see each other's data.

if [ -z "${SLUICE_KAFKA_BROKERS:-}" ]; then
    echo "FAIL: SLUICE_KAFKA_BROKERS is not set: this test needs the Kafka broker that" \
        "scripts/test.sh starts (scripts/kafka.sh start prints BROKERS=...)" >&2
    exit 1
fi
BROKERS=$SLUICE_KAFKA_BROKERS
if ! kcat -L -b "$BROKERS" -m 10 >/dev/null 2>&1; then
    echo "FAIL: the Kafka broker at $BROKERS does not answer (kcat -L)" >&2
    exit 1
fi

# A topic name of this test run: topic NAME -> NAME-<pid>-<random>.
topic() {
    echo "$1-$$-$RANDOM"
}

# produce TOPIC < lines: one message per line (null key), acknowledged,
# line i to partition i % 3 (librdkafka's sticky partitioner would put a
# quick burst into one partition).
produce() {
    local f p
    f=$(mktemp "$WORK/produce.XXXXXX")
    cat >"$f"
    for p in 0 1 2; do
        awk -v p="$p" 'NR % 3 == p' "$f" | kcat -P -b "$BROKERS" -t "$1" -p "$p" -X acks=all
    done
    rm -f "$f"
}

# consume TOPIC [FORMAT]: every message of TOPIC, then exit.
consume() {
    kcat -C -b "$BROKERS" -t "$1" -e -q -f "${2:-%k %s\n}" 2>/dev/null
}

# wait_topic TOPIC N: wait until TOPIC holds N messages (at most 30 s).
topic_count() {
    consume "$1" '%o\n' | wc -l
}
wait_topic() {
    local t=$1 n=$2
    wait_until 30 bash -c "[ \"\$(kcat -C -b $BROKERS -t $t -e -q -f '%o\n' 2>/dev/null | wc -l)\" -ge $n ]"
}

# The (key, value) lines of the last batch of out.jsonl (a stateful stream
# emits its whole state every batch), sorted.
final_state() {
    local f=${1:-out.jsonl} last
    last=$(tail -n 1 "$f" | sed 's/^{"time":\([0-9]*\),.*/\1/')
    grep "^{\"time\":$last," "$f" | sed 's/^{"time":[0-9]*,//' | LC_ALL=C sort
}

# The word counts of a file of lines, in final_state's format.
expected_counts() {
    awk '{ for (i = 1; i <= NF; i++) c[$i]++ }
        END { for (w in c) printf "\"key\":\"%s\",\"value\":%d}\n", w, c[w] }' "$1" | LC_ALL=C sort
}

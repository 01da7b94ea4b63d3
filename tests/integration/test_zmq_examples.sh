#!/usr/bin/env bash
# test_zmq_examples.sh — examples/zmq_wordcount.yaml and .c and
# examples/zmq_pubsub.yaml, run as the docs say, with a pyzmq peer: every
# word of every line is counted, over several batches.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/zmq_lib.sh"
cd "$WORK" || exit 1
EX="$SLUICE_SOURCE_DIR/examples"

# sum_of WORD FILE: the sum of WORD's counts over the pprint batches in FILE.
sum_of() {
    awk -v w="('$1'," 'index($0, w) == 1 { gsub(/[^0-9]/, "", $2); s += $2 } END { print s + 0 }' "$2"
}

P=$(free_port)
start_peer feed send --type push --bind "tcp://127.0.0.1:$P" --count 3000 --text "to be or not to be"
ENDPOINT="tcp://127.0.0.1:$P" BATCH_INTERVAL=200ms timeout 60 "$SLUICE_BIN" run \
    "$EX/zmq_wordcount.yaml" --timeout 3 >yaml.out 2>yaml.err
check_eq "zmq_wordcount.yaml: 'be' counted 6000 times" "$(sum_of be yaml.out)" 6000
check_eq "zmq_wordcount.yaml: 'not' 3000 times" "$(sum_of not yaml.out)" 3000
check "zmq_wordcount.yaml: over several batches" test "$(grep -c '^Time:' yaml.out)" -ge 5

P=$(free_port)
start_peer feed2 send --type push --bind "tcp://127.0.0.1:$P" --count 2000 --text "to be or not to be"
ENDPOINT="tcp://127.0.0.1:$P" BATCH_INTERVAL=200 timeout 60 "$SLUICE_BUILD_DIR/examples/zmq_wordcount" 3 \
    >c.out 2>c.err
check_eq "zmq_wordcount.c (sl_zmq_stream): 'be' counted 4000 times" "$(sum_of be c.out)" 4000

P=$(free_port)
Q=$(free_port)
start_peer counts recv --type sub --connect "tcp://127.0.0.1:$Q" --count 1 --timeout 30
start_peer news send --type pub --bind "tcp://127.0.0.1:$P" --count 1000 --topics news,sport \
    --text "to be or not to be" --wait-sub
ENDPOINT="tcp://127.0.0.1:$P" OUT_ENDPOINT="tcp://127.0.0.1:$Q" BATCH_INTERVAL=200ms \
    timeout 60 "$SLUICE_BIN" run "$EX/zmq_pubsub.yaml" --timeout 3 >pubsub.out 2>pubsub.err
check_eq "zmq_pubsub.yaml: only the news topic: 'be' 1000 times" "$(sum_of be pubsub.out)" 1000
check_contains "zmq_pubsub.yaml: the counts are published as [word, count]" counts.out '", "'
finish

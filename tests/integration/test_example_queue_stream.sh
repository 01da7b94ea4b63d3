#!/usr/bin/env bash
# test_example_queue_stream.sh — examples/queue_stream.c as built: a thread
# pushes three batches of 1..1000 into sl_queue_stream_new, a C map and
# agg.sum count them by x % 10, a foreach_batch callback prints them with the
# host's record_format, and closing the queue ends the run by itself.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
prog=$SLUICE_BUILD_DIR/examples/queue_stream

timeout -k 2 30 "$prog" >out.txt 2>err.txt
check_eq "queue_stream exits 0 when its queue is closed" "$?" 0
check_eq "three batches" "$(grep -c '^batch ' out.txt)" 3
check_eq "nothing on stderr" "$(cat err.txt)" ""
for k in 0 1 2 3 4 5 6 7 8 9; do
    check_eq "key $k counted 100 times in each batch" "$(grep -o "($k, 100)" out.txt | wc -l)" 3
done
check_eq "ten keys per batch" "$(awk -F'(' '{print NF - 1}' out.txt | sort -u)" 10
finish

#!/usr/bin/env bash
# test_zmq_nodejs.sh — a second, independent ZeroMQ implementation on both
# ends: zeromq.js (npm `zeromq` with its own libzmq; scripts/zeromq-js.sh)
# pushes 3-topic two-frame messages into sluice's PULL source over several
# batches; sluice keeps the topic as the key and sends every record on with
# its PUSH sink to a zeromq.js PULL, which must read each message exactly once.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/zmq_lib.sh"
cd "$WORK" || exit 1
np=$("$SLUICE_SOURCE_DIR/scripts/zeromq-js.sh" install) || { fail "scripts/zeromq-js.sh install"; finish; }
export "${np?}"
JS="$SLUICE_SOURCE_DIR/tests/integration/zmq_node_peer.js"

IN=$(free_port)
OUTP=$(free_port)
start_group "exec node $JS pull tcp://127.0.0.1:$OUTP 9000 >got.txt 2>pull.err"
start_sluice relay "batch_interval: 200ms
streams:
  msgs: {source: zmq, bind: \"tcp://127.0.0.1:$IN\", multipart: topic}
  n: {count: msgs}
outputs:
  - {sink: jsonl, from: n, path: n.jsonl}
  - {sink: zmq, from: msgs, connect: \"tcp://127.0.0.1:$OUTP\"}"
wait_until 10 log_has relay.log "bound tcp"
# three pushers, one after the other; each stays connected until the end (a
# zeromq.js process that exits may not have sent its queue's tail yet)
pushers=()
for i in 1 2 3; do
    start_group "exec node $JS push tcp://127.0.0.1:$IN 3000 >push$i.out 2>push$i.err"
    pushers+=("$GROUP_PID")
    check "zeromq.js pushes 3000 messages (burst $i)" wait_until 30 grep -q "sent 3000" push$i.out
    sleep 0.3
done
check "sluice counts all 9000" wait_until 20 total_is n.jsonl 9000
check "... over several batches" test "$(nonzero_batches n.jsonl)" -ge 3
check "the zeromq.js PULL reads all 9000 back" wait_until 20 bash -c "[ \$(wc -l <got.txt) -ge 9000 ]"
for pid in "${pushers[@]}"; do stop_group "$pid"; done
stop_sluice relay
check_eq "each once per burst, topic frame first" \
    "$("$PY" -c 'import json, collections
m = [tuple(json.loads(l)) for l in open("got.txt")]
c = collections.Counter(m)
print(len(c), set(c.values()), sorted(set(t for t, _ in m)), ("topic1", "n4") in c)')" \
    "3000 {3} ['topic0', 'topic1', 'topic2'] True"
finish

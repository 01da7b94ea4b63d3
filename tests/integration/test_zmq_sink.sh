#!/usr/bin/env bash
# test_zmq_sink.sh — `sink: zmq`, read back by an independent peer (pyzmq):
# PUSH to a PULL (key frame + value), PUB to a SUB (fixed topic), a
# graceful stop while messages are still queued for a slow reader (all of
# them arrive), and no peer at all: on_full: block fails the batch after
# send_timeout with a message that says why, on_full: drop drops and
# counts; the process never hangs at stop.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/zmq_lib.sh"
cd "$WORK" || exit 1

# relay NAME IN SINK_PARAMS: a pipeline from a PULL bound on IN to the sink
relay() {
    start_sluice "$1" "batch_interval: 200ms
streams:
  lines: {source: zmq, bind: \"tcp://127.0.0.1:$2\", multipart: topic}
outputs:
  - {sink: zmq, from: lines, $3}"
    wait_until 10 log_has "$1.log" "bound tcp://127.0.0.1:$2"
}

# ---- PUSH to a pyzmq PULL: [key, value] --------------------------------------------
IN=$(free_port)
OUTP=$(free_port)
start_peer pull recv --type pull --bind "tcp://127.0.0.1:$OUTP" --count 6000 --timeout 20
relay push "$IN" "connect: \"tcp://127.0.0.1:$OUTP\""
peer send --type push --connect "tcp://127.0.0.1:$IN" --count 6000 --topics k1,k2,k3 >/dev/null
check "push: the PULL peer reads back all 6000 messages" \
    wait_until 20 bash -c "[ \$(wc -l <pull.out) -ge 6000 ]"
stop_sluice push
check_eq "push: each is [key, value] as it came in, once" \
    "$("$PY" -c 'import json
m = [json.loads(l) for l in open("pull.out")]
print(len(set(f[1] for f in m)), sorted(set(f[0] for f in m)), m[0] if m[0][1] == "m0" else "")')" \
    "6000 ['k1', 'k2', 'k3'] ['k1', 'm0']"

# ---- PUB to a pyzmq SUB, fixed topic -----------------------------------------------
IN=$(free_port)
OUTP=$(free_port)
start_peer sub recv --type sub --bind "tcp://127.0.0.1:$OUTP" --count 2000 --timeout 20
relay pub "$IN" "type: pub, connect: \"tcp://127.0.0.1:$OUTP\", topic: counts"
sleep 1 # the first batch connected the PUB; the SUB's subscription reached it
peer send --type push --connect "tcp://127.0.0.1:$IN" --count 2000 >/dev/null
check "pub: the SUB peer reads all 2000" wait_until 20 bash -c "[ \$(wc -l <sub.out) -ge 2000 ]"
stop_sluice pub
check_eq "pub: every message is [counts, value]" \
    "$("$PY" -c 'import json
m = [json.loads(l) for l in open("sub.out")]
print(set(f[0] for f in m), len(set(f[1] for f in m)))')" "{'counts'} 2000"

# ---- a graceful stop with messages still queued for a slow reader --------------------
IN=$(free_port)
OUTP=$(free_port)
start_peer slow recv --type pull --bind "tcp://127.0.0.1:$OUTP" --count 5000 --timeout 20 \
    --delay-ms 2500
relay queued "$IN" "connect: \"tcp://127.0.0.1:$OUTP\", sndhwm: 100, send_timeout: 10s, linger: 5s"
sleep 0.5
peer send --type push --connect "tcp://127.0.0.1:$IN" --count 5000 --size 2000 >/dev/null
wait_until 10 log_has queued.log "5000 records"
t0=$(now_ms)
stop_sluice queued # while the reader has not read anything yet
check_eq "queued: the graceful stop exits 0" "$(cat queued.rc)" 0
check "queued: ... within the reader's delay and the linger ($(($(now_ms) - t0)) ms)" \
    test $(($(now_ms) - t0)) -lt 9000
check "queued: the slow reader gets every message queued at the stop" \
    wait_until 20 bash -c "[ \$(wc -l <slow.out) -ge 5000 ]"

# ---- no peer: on_full: block fails the batch, on_full: drop counts ----------------------
IN=$(free_port)
NOBODY=$(free_port)
relay block "$IN" "connect: \"tcp://127.0.0.1:$NOBODY\", send_timeout: 500ms"
peer send --type push --connect "tcp://127.0.0.1:$IN" --count 10 >/dev/null
check "block: the batch fails when no peer takes a message" wait_until 10 test -s block.rc
check_eq "block: exit 1 (a runtime failure)" "$(cat block.rc)" 1
check_contains "block: the error says why and what to do" block.log \
    "no PULL peer is connected, or every one is at its high-water mark"

IN=$(free_port)
relay drop "$IN" "connect: \"tcp://127.0.0.1:$NOBODY\", on_full: drop"
peer send --type push --connect "tcp://127.0.0.1:$IN" --count 10 >/dev/null
check "drop: the messages are dropped (nobody is there: ZMQ_IMMEDIATE)" \
    wait_until 10 log_has drop.log "dropping messages at the high-water mark"
t0=$(now_ms)
stop_sluice drop
check_eq "drop: the stop exits 0" "$(cat drop.rc)" 0
check "drop: ... at once ($(($(now_ms) - t0)) ms)" test $(($(now_ms) - t0)) -lt 3000
check_contains "drop: ... and counted" drop.log "messages_dropped=10"
finish

#!/usr/bin/env bash
# test_zmq_sink.sh — `sink: zmq`, read back by an independent peer (pyzmq):
# PUSH to a PULL (key frame + value, or the value alone with key: drop),
# PUB to a SUB (fixed topic), several endpoints in one bind (two SUBs get
# every message) and in one connect (two PULLs share them), a
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

# ---- key: drop: the same pairs, the value frame alone -------------------------------------
IN=$(free_port)
OUTP=$(free_port)
start_peer nokey recv --type pull --bind "tcp://127.0.0.1:$OUTP" --count 3001 --timeout 1.5 --first-timeout 20
relay nokey "$IN" "connect: \"tcp://127.0.0.1:$OUTP\", key: drop"
peer send --type push --connect "tcp://127.0.0.1:$IN" --count 3000 --topics k1,k2,k3 >/dev/null
check "key: drop: the PULL peer is done (3000 messages, then 1.5 s of none)" \
    wait_until 30 bash -c "! kill -0 $PEER_PID 2>/dev/null"
stop_sluice nokey
check_eq "key: drop: 3000 messages of exactly one frame, the value, each once" \
    "$("$PY" -c 'import json
m = [json.loads(l) for l in open("nokey.out")]
print(len(m), set(len(f) for f in m), len(set(f[0] for f in m)), m[0])')" "3000 {1} 3000 ['m0']"

# ---- several endpoints in one bind: a PUB, a SUB on each gets every message ----------------
IN=$(free_port)
O1=$(free_port)
O2=$(free_port)
relay pub2 "$IN" "type: pub, bind: \"tcp://127.0.0.1:$O1, tcp://127.0.0.1:$O2\", topic: t"
wait_until 10 log_has pub2.log "zmq sink: bound tcp://127.0.0.1:$O2" # the first (empty) batch
start_peer suba recv --type sub --connect "tcp://127.0.0.1:$O1" --count 2001 --timeout 1.5 --first-timeout 20 --ready suba.ready
PA=$PEER_PID
start_peer subb recv --type sub --connect "tcp://127.0.0.1:$O2" --count 2001 --timeout 1.5 --first-timeout 20 --ready subb.ready
PB=$PEER_PID
wait_until 10 test -e suba.ready -a -e subb.ready
sleep 0.5 # the subscriptions reach the PUB
peer send --type push --connect "tcp://127.0.0.1:$IN" --count 2000 >/dev/null
check "two binds: both SUB peers are done" \
    wait_until 30 bash -c "! kill -0 $PA 2>/dev/null && ! kill -0 $PB 2>/dev/null"
stop_sluice pub2
check_eq "two binds: the SUB on the first endpoint got all 2000, once each" \
    "$(sort -u suba.out | wc -l) $(wc -l <suba.out)" "2000 2000"
check_eq "two binds: the SUB on the second endpoint too" "$(sort -u subb.out | wc -l) $(wc -l <subb.out)" "2000 2000"

# ---- several endpoints in one connect: a PUSH shares the messages between two PULLs -------
IN=$(free_port)
O1=$(free_port)
O2=$(free_port)
start_peer pulla recv --type pull --bind "tcp://127.0.0.1:$O1" --count 4001 --timeout 1.5 --first-timeout 20
PA=$PEER_PID
start_peer pullb recv --type pull --bind "tcp://127.0.0.1:$O2" --count 4001 --timeout 1.5 --first-timeout 20
PB=$PEER_PID
relay push2 "$IN" "connect: \"tcp://127.0.0.1:$O1, tcp://127.0.0.1:$O2\""
sleep 0.5 # the first (empty) batch connected both
peer send --type push --connect "tcp://127.0.0.1:$IN" --count 4000 >/dev/null
check "two connects: both PULL peers are done" \
    wait_until 30 bash -c "! kill -0 $PA 2>/dev/null && ! kill -0 $PB 2>/dev/null"
stop_sluice push2
a=$(wc -l <pulla.out)
b=$(wc -l <pullb.out)
check "two connects: each PULL peer got a share ($a and $b)" test "$a" -gt 0 -a "$b" -gt 0
check_eq "two connects: together every message once" "$(cat pulla.out pullb.out | sort -u | wc -l) $((a + b))" "4000 4000"

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
# ---- settings that are refused ---------------------------------------------------------------
printf 'batch_interval: 1s\nstreams:\n  s: {source: zmq, connect: "tcp://127.0.0.1:1"}\noutputs:\n  - {sink: zmq, from: s, connect: "tcp://127.0.0.1:2", reconnect_interval: 200ms, reconnect_interval_max: 100ms}\n' >ivlmax.yaml
"$SLUICE_BIN" validate ivlmax.yaml >ivlmax.vout 2>&1
check_eq "refused: a sink's reconnect_interval_max shorter than reconnect_interval (exit 2)" "$?" 2
check_contains "refused: ... and why" ivlmax.vout \
    "zmq sink: reconnect_interval_max (100ms) is shorter than reconnect_interval (200ms)"
finish

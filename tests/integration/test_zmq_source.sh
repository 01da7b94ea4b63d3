#!/usr/bin/env bash
# test_zmq_source.sh — `source: zmq` against an independent peer (pyzmq):
# exact counts over several batches from a PUSH peer (sluice binds, and
# sluice connects) and from a PUB peer; SUB topic filters; multipart
# messages as lists and as (topic, value); JSON values; ipc://; a PUSH peer
# that restarts mid-run; several endpoints in one connect;
# reconnect_interval_max (the backoff, and the reconnection within it); a
# slow engine (the PUSH peer blocks, sluice's memory stays bounded, nothing
# is lost); oversized messages, dropped or cut; bad settings.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/zmq_lib.sh"
cd "$WORK" || exit 1

# count_pipeline SOURCE_PARAMS [SETTINGS]: the source, counted per batch into n.jsonl
count_pipeline() {
    printf 'batch_interval: 200ms\n%s\nstreams:\n  lines: {source: zmq, %s}\n  n: {count: lines}\noutputs:\n  - {sink: jsonl, from: n, path: %s}\n' \
        "${2:-}" "$1" "${OUT:-n.jsonl}"
}

# ---- PUSH peer, sluice binds ----------------------------------------------------
P=$(free_port)
start_sluice bind "$(count_pipeline "bind: \"tcp://127.0.0.1:$P\"")"
wait_until 10 log_has bind.log "bound tcp://127.0.0.1:$P"
check "push (sluice binds): the peer sends 60000 messages in 3 bursts" \
    bash -c "for i in 0 1 2; do $PY $PEER send --type push --connect tcp://127.0.0.1:$P --count 20000 --start \$((i * 20000)) >/dev/null || exit 1; sleep 1; done"
check_total "push (sluice binds): every message counted, none twice" 20 n.jsonl 60000 bind.log
check "push (sluice binds): over several batches" test "$(nonzero_batches n.jsonl)" -ge 3
stop_sluice bind
check_eq "push (sluice binds): a graceful stop exits 0" "$(cat bind.rc)" 0
check_contains "push (sluice binds): the messages counter" bind.log "messages=60000"

# ---- PUSH peer binds, sluice connects -----------------------------------------------
rm -f n.jsonl
P=$(free_port)
start_peer pusher send --type push --bind "tcp://127.0.0.1:$P" --count 30000
start_sluice conn "$(count_pipeline "connect: \"tcp://127.0.0.1:$P\"")"
check_total "push (sluice connects): every message counted" 20 n.jsonl 30000 conn.log pusher.out
stop_sluice conn
check_contains "push (sluice connects): the peer sent them all" pusher.out "sent=30000"

# ---- several endpoints in one connect: a PUSH peer on each -----------------------------
rm -f n.jsonl
P=$(free_port)
Q=$(free_port)
start_peer pusha send --type push --bind "tcp://127.0.0.1:$P" --count 3000
start_peer pushb send --type push --bind "tcp://127.0.0.1:$Q" --count 5000 --start 100000
start_sluice two "$(count_pipeline "connect: \"tcp://127.0.0.1:$P, tcp://127.0.0.1:$Q\"")"
check_total "two endpoints: 3000 + 5000 messages counted (both peers, none twice)" 20 n.jsonl 8000 \
    two.log pusha.out pushb.out
stop_sluice two
check "two endpoints: the first peer sent its 3000" wait_until 5 log_has pusha.out "sent=3000"
check "two endpoints: the second its 5000" wait_until 5 log_has pushb.out "sent=5000"
check_contains "two endpoints: sluice connected to both" two.log "connecting to tcp://127.0.0.1:$Q"

# ---- ipc:// ---------------------------------------------------------------------------
# rcvhwm: 0, as docs/zeromq.md advises for ipc:// (libzmq #4660: with a
# limit, a peer that exits while sluice lags loses what the kernel held;
# CI's ASan run lost 827 of these 5000 that way)
rm -f n.jsonl
start_sluice ipc "$(count_pipeline "bind: \"ipc://$WORK/feed.sock\", rcvhwm: 0")"
wait_until 10 log_has ipc.log "bound ipc://"
peer send --type push --connect "ipc://$WORK/feed.sock" --count 5000 >ipc.out 2>&1
check_total "ipc: every message counted" 40 n.jsonl 5000 ipc.log ipc.out
stop_sluice ipc
check "ipc: no warning with rcvhwm: 0" bash -c "! grep -qF 'libzmq #4660' ipc.log"
printf 'batch_interval: 1s\nstreams:\n  s: {source: zmq, connect: "tcp://127.0.0.1:1, ipc://%s/f.sock"}\noutputs:\n  - {sink: pprint, from: s}\n' "$WORK" >ipcwarn.yaml
"$SLUICE_BIN" validate ipcwarn.yaml >ipcwarn.out 2>&1
check_contains "ipc: with an rcvhwm, a warning names the endpoint and the way out" ipcwarn.out \
    "ipc://$WORK/f.sock with rcvhwm 1000: a peer that closes while sluice lags behind it loses what the kernel still held for it (libzmq #4660); rcvhwm: 0 avoids it"

# ---- a peer that leaves while sluice lags behind it ---------------------------------------
# The engine is held up by its output (a pipe nobody reads for 6 s), so the
# receiver waits and libzmq's queue for each peer fills to rcvhwm. Peer A
# (2000 messages of 1000 bytes) keeps sluice busy; peer B sends 5000 short
# messages and exits while the kernel still holds most of them. Over TCP
# (default rcvhwm) and over ipc:// with rcvhwm: 0 every one arrives; over
# ipc:// with the default rcvhwm this lost 90 to 1362 of B's 5000 in 6 of 7
# runs (libzmq #4660).
lines_are() { # lines_are FILE N
    [ "$(wc -l <"$1" 2>/dev/null)" = "$2" ]
}
lag_case() { # lag_case NAME ENDPOINT [SOURCE PARAMS]
    local name=$1 ep=$2
    printf 'batch_interval: 200ms\nreceiver_buffer: 64KiB\nstreams:\n  lines: {source: zmq, bind: "%s"%s}\noutputs:\n  - {sink: stdout, from: lines}\n' \
        "$ep" "${3:+, $3}" >"$name.yaml"
    start_group "exec $SLUICE_BIN run $name.yaml 2>$name.log | (sleep 6; exec cat >$name.txt)"
    local group=$GROUP_PID
    wait_until 10 log_has "$name.log" "bound "
    start_peer "${name}a" send --type push --connect "$ep" --count 2000 --size 1000
    sleep 1.5
    peer send --type push --connect "$ep" --count 5000 --start 100000 >"${name}b.out" 2>&1
    check_contains "$name: peer B sent its 5000 and left" "${name}b.out" "sent=5000"
    check "$name: every message arrives (A's 2000 and B's 5000)" wait_until 40 lines_are "$name.txt" 7000
    check_eq "$name: B's 5000, each once" "$(grep -E '^m1[0-9]{5}$' "$name.txt" | sort -u | wc -l)" 5000
    stop_group "$group"
}
P=$(free_port)
lag_case lagtcp "tcp://127.0.0.1:$P"
lag_case lagipc "ipc://$WORK/lag.sock" "rcvhwm: 0"

# ---- a PUSH peer that restarts mid-run ------------------------------------------------
rm -f n.jsonl
P=$(free_port)
start_sluice restart "$(count_pipeline "connect: \"tcp://127.0.0.1:$P\", reconnect_interval: 50ms")"
peer send --type push --bind "tcp://127.0.0.1:$P" --count 8000 >first.out
check_total "restart: the first peer's messages" 20 n.jsonl 8000 restart.log first.out
peer send --type push --bind "tcp://127.0.0.1:$P" --count 8000 --start 8000 >second.out
check "restart: the second peer's messages too, after libzmq reconnected" \
    wait_until 20 total_is n.jsonl 16000
stop_sluice restart
check_eq "restart: sluice kept running through it" "$(cat restart.rc)" 0

# ---- reconnect_interval_max: the backoff between attempts, and its bound ---------------------
# No peer for 3 s: libzmq waits 50, 100, 200, 400, 400, ... ms (plus up to
# reconnect_interval of jitter) between attempts, about 8 of them, where
# 50 ms without a backoff would make about 40. A peer that comes back is
# connected to within one reconnect_interval_max (+ jitter).
rm -f n.jsonl
P=$(free_port)
LOG_LEVEL=debug start_sluice backoff "$(count_pipeline "connect: \"tcp://127.0.0.1:$P\", reconnect_interval: 50ms, reconnect_interval_max: 400ms")"
peer send --type push --bind "tcp://127.0.0.1:$P" --count 1000 >back1.out
check_total "backoff: the first peer's messages" 20 n.jsonl 1000 backoff.log back1.out
sleep 3
attempts=$(grep -o 'disconnected; reconnecting ([0-9]* attempt' backoff.log | tail -n 1 | tr -dc 0-9)
check "backoff: libzmq backed off (${attempts:-no} attempts in 3 s without a peer, not ~40)" \
    test "${attempts:-0}" -ge 3 -a "${attempts:-99}" -le 15
start_peer back2 send --type push --bind "tcp://127.0.0.1:$P" --count 1000 --start 1000 --ready back2.ready
check_total "backoff: the second peer's messages, after the reconnection" 20 n.jsonl 2000 backoff.log
stop_sluice backoff
# from the peer's bind (its ready file) to the source's CONNECTED in the log
delay=$("$PY" -c 'import datetime, os, re, sys
bound = os.stat("back2.ready").st_mtime
for l in open("backoff.log"):
    if "source state: connected: " in l:
        t = datetime.datetime.strptime(l.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
        t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
        if t >= bound - 0.05:
            print(int((t - bound) * 1000))
            break')
check "backoff: reconnected ${delay:-never} ms after the peer came back (max 400 ms + 50 ms jitter)" \
    test "${delay:-9999}" -le 700

# ---- PUB peer, SUB with topic filters, (topic, value) records ----------------------------
P=$(free_port)
printf 'batch_interval: 200ms\nstreams:\n  t: {source: zmq, type: sub, connect: "tcp://127.0.0.1:%s", subscribe: "alpha, beta"}\noutputs:\n  - {sink: jsonl, from: t, path: recs.jsonl}\n' "$P" >sub.yaml
start_peer publisher send --type pub --bind "tcp://127.0.0.1:$P" --count 30000 --topics alpha,beta,gamma,alphabet --wait-sub
start_sluice sub
# alpha, beta and alphabet (prefix alpha) pass; gamma does not: 3 of 4
check "pub: every message of the subscribed topics arrives (22500 of 30000)" \
    wait_until 30 bash -c "[ \$(wc -l <recs.jsonl) -ge 22500 ]"
sleep 0.5
stop_sluice sub
check_eq "pub: no more than those" "$(wc -l <recs.jsonl)" 22500
check_eq "pub: the keys are the topics; gamma was filtered out" \
    "$("$PY" -c 'import json,collections,sys
c = collections.Counter(json.loads(l)["key"] for l in open("recs.jsonl"))
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))')" "alpha=7500 alphabet=7500 beta=7500"
check_eq "pub: the value is the second frame, every one once" \
    "$("$PY" -c 'import json
v = set(json.loads(l)["value"] for l in open("recs.jsonl"))
print(len(v), "m0" in v, "m2" in v)')" "22500 True False"

# ---- multipart: a list of frames from a PUSH peer; JSON values ---------------------------
P=$(free_port)
printf 'batch_interval: 200ms\nstreams:\n  m: {source: zmq, bind: "tcp://127.0.0.1:%s"}\noutputs:\n  - {sink: jsonl, from: m, path: multi.jsonl}\n' "$P" >multi.yaml
start_sluice multi
wait_until 10 log_has multi.log "bound tcp"
peer send --type push --connect "tcp://127.0.0.1:$P" --count 300 --multipart 3 >/dev/null
check "multipart: 300 messages" wait_until 20 bash -c "[ \$(wc -l <multi.jsonl 2>/dev/null || echo 0) -ge 300 ]"
stop_sluice multi
check_contains "multipart: a message is the list of its frames" multi.jsonl \
    '{"time":'
check_eq "multipart: [m7, f1, f2] for message 7, a plain element (no key)" \
    "$("$PY" -c 'import json
for l in open("multi.jsonl"):
    r = json.loads(l)
    if r["value"][0] == "m7":
        print("key" in r, r["value"])')" "False ['m7', 'f1', 'f2']"

P=$(free_port)
printf 'batch_interval: 200ms\nstreams:\n  j: {source: zmq, bind: "tcp://127.0.0.1:%s", value_format: json, multipart: topic}\noutputs:\n  - {sink: jsonl, from: j, path: json.jsonl}\n' "$P" >json.yaml
start_sluice json
wait_until 10 log_has json.log "bound tcp"
peer send --type push --connect "tcp://127.0.0.1:$P" --count 100 --json --topics t >/dev/null
peer send --type push --connect "tcp://127.0.0.1:$P" --count 5 --topics t >/dev/null # not JSON
check "json: 100 records" wait_until 20 bash -c "[ \$(wc -l <json.jsonl 2>/dev/null || echo 0) -ge 100 ]"
sleep 0.5
stop_sluice json
check_eq "json: (topic, parsed object) records" \
    "$("$PY" -c 'import json
for l in open("json.jsonl"):
    r = json.loads(l)
    if r["value"] == {"n": 42}:
        print(r["key"], r["value"])')" "t {'n': 42}"
check_eq "json: the 5 messages that are not JSON were skipped, not stored" "$(wc -l <json.jsonl)" 100
check_contains "json: ... and counted" json.log "messages_not_json=5"

# ---- oversized messages ----------------------------------------------------------------------
rm -f n.jsonl
P=$(free_port)
start_sluice big "$(count_pipeline "bind: \"tcp://127.0.0.1:$P\", max_message_bytes: 100")"
wait_until 10 log_has big.log "bound tcp"
peer send --type push --connect "tcp://127.0.0.1:$P" --count 50 --size 80 >/dev/null
peer send --type push --connect "tcp://127.0.0.1:$P" --count 7 --size 500 >/dev/null
peer send --type push --connect "tcp://127.0.0.1:$P" --count 50 --size 100 >/dev/null
check_total "oversize: the messages within max_message_bytes are counted" 20 n.jsonl 100 big.log
sleep 0.5
stop_sluice big
check_eq "oversize: the 7 larger ones are not" "$(total n.jsonl)" 100
check_contains "oversize: ... but counted" big.log "messages_oversized=7"
check_contains "oversize: ... and logged" big.log "over max_message_bytes"

# ---- oversize: cut — the message cut to max_message_bytes, the frames past it left out ---------
P=$(free_port)
printf 'batch_interval: 200ms\nstreams:\n  c: {source: zmq, bind: "tcp://127.0.0.1:%s", max_message_bytes: 8000, oversize: cut}\noutputs:\n  - {sink: jsonl, from: c, path: cut.jsonl}\n' "$P" >cut.yaml
start_sluice cut
wait_until 10 log_has cut.log "bound tcp"
send_cut() { peer send --type push --connect "tcp://127.0.0.1:$P" "$@" >/dev/null; }
send_cut --count 2 --size 80                              # within the limit: whole
send_cut --count 2 --size 10000 --start 10                # one frame: its first 8000 bytes
send_cut --count 2 --size 7999 --multipart 3 --start 20   # 7999 + 2 + 2: [7999 bytes, "f"]
send_cut --count 1 --size 8000 --multipart 3 --start 30   # 8000 + 2 + 2: the first frame alone
send_cut --count 1 --size 7996 --multipart 3 --start 40   # exactly 8000: whole
send_cut --count 1 --size 2 --multipart 1100 --start 50   # 4391 bytes, 1100 frames: the first 1024
check "cut: 9 records" wait_until 20 bash -c "[ \$(wc -l <cut.jsonl 2>/dev/null || echo 0) -ge 9 ]"
sleep 0.5
stop_sluice cut
check_eq "cut: the exact bytes of every record, in order, none with a key" \
    "$("$PY" -c 'import json
def body(i, size):
    m = "m%d" % i
    return m + "." * (size - len(m))
want = [body(0, 80), body(1, 80), body(10, 8000), body(11, 8000),
        [body(20, 7999), "f"], [body(21, 7999), "f"], body(30, 8000),
        [body(40, 7996), "f1", "f2"], ["m50"] + ["f%d" % k for k in range(1, 1024)]]
got = [json.loads(l) for l in open("cut.jsonl")]
bad = [i for i, r in enumerate(got) if "key" in r or i >= len(want) or r["value"] != want[i]]
print("ok" if len(got) == len(want) and not bad else "%d records; differ: %r" % (len(got), bad))')" ok
check_contains "cut: the 6 cut messages counted" cut.log "messages_oversized=6"
check_contains "cut: ... and logged as cut" cut.log "cut to that size"
# 160 + 16000 + 16000 + 8000 + 8000, and 4011 of the 1100-frame message's 4391
check_contains "cut: the bytes counter counts what was kept" cut.log "bytes=52171"

# ---- a slow engine: the PUSH peer blocks, memory stays bounded, nothing is lost --------------
rm -f n.jsonl
P=$(free_port)
count_pipeline "bind: \"tcp://127.0.0.1:$P\", rcvhwm: 100" "receiver_buffer: 1MiB" >slow.yaml
limit=$((80 * 1024)) # KiB: less than the 80 MB sent
if grep -q '^SLUICE_ASAN:BOOL=ON' "$SLUICE_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
    # ASan keeps freed blocks in a quarantine (256 MB by default) and adds its
    # shadow memory: without the quarantine, allow twice the plain bound
    saved_asan=$ASAN_OPTIONS
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
    limit=$((160 * 1024))
fi
start_sluice slow
[ -n "${saved_asan+set}" ] && export ASAN_OPTIONS=$saved_asan
wait_until 10 log_has slow.log "bound tcp"
# 20000 messages of 4000 bytes: 80 MB, far more than the 1 MiB the engine may hold
check "slow engine: the peer sends 80 MB" \
    peer send --type push --connect "tcp://127.0.0.1:$P" --count 20000 --size 4000 --hwm 100 --nonblock --timeout 60 >slow.out
check_total "slow engine: every message arrives" 60 n.jsonl 20000 slow.log slow.out
rss=$(peak_kib slow)
stop_sluice slow
blocked=$(sed -n 's/.*blocked=\([0-9]*\).*/\1/p' slow.out)
check "slow engine: the PUSH peer was blocked by the high-water marks ($blocked times)" \
    test "${blocked:-0}" -gt 100
check "slow engine: the receiver waited for the engine (batches of at most ~1 MiB)" \
    test "$(nonzero_batches n.jsonl)" -ge 10
check "slow engine: sluice's peak memory (${rss} KiB) stays below what was sent" \
    test "${rss:-999999999}" -lt "$limit"

# ---- settings that are refused ------------------------------------------------------------------
bad() { # bad NAME PARAMS MESSAGE: sluice validate exits 2 and says MESSAGE
    printf 'batch_interval: 1s\nstreams:\n  s: {source: zmq, %s}\noutputs:\n  - {sink: pprint, from: s}\n' "$2" >"$1.yaml"
    "$SLUICE_BIN" validate "$1.yaml" >"$1.vout" 2>&1
    check_eq "refused: $1 (exit 2)" "$?" 2
    check_contains "refused: $1 (message)" "$1.vout" "$3"
}
bad noendpoint "type: pull" "give bind or connect"
bad badscheme "connect: \"udp://127.0.0.1:1\"" "is not a tcp:// or ipc:// endpoint"
bad noport "connect: \"tcp://127.0.0.1\"" "needs host:port"
bad pullsub "connect: \"tcp://127.0.0.1:1\", subscribe: a" "subscribe is for type: sub"
bad hwm "connect: \"tcp://127.0.0.1:1\", rcvhwm: -1" "rcvhwm"
bad ivlmax "connect: \"tcp://127.0.0.1:1\", reconnect_interval: 1s, reconnect_interval_max: 500ms" \
    "reconnect_interval_max (500ms) is shorter than reconnect_interval (1000ms); 0 turns the backoff off"
bad ivlmaxrange "connect: \"tcp://127.0.0.1:1\", reconnect_interval_max: 2h" \
    "parameter 'reconnect_interval_max' must be between 0 and 1h, got '2h'"
bad ivlmaxword "connect: \"tcp://127.0.0.1:1\", reconnect_interval_max: often" \
    "parameter 'reconnect_interval_max' expects a duration like 500ms, 5s or 1m, got 'often'"
printf 'batch_interval: 1s\nstreams:\n  s: {source: zmq, connect: "tcp://127.0.0.1:1", reconnect_interval: 100ms, reconnect_interval_max: 30s}\noutputs:\n  - {sink: pprint, from: s}\n' >ivlmaxok.yaml
check "accepted: reconnect_interval_max 30s over reconnect_interval 100ms" "$SLUICE_BIN" validate ivlmaxok.yaml
finish

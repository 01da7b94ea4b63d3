#!/usr/bin/env bash
# test_zmq_curve.sh — CURVE and the ZAP allow-list, against pyzmq peers:
# a client whose key is on the list gets through, one whose key is not and
# one without CURVE do not (counted and logged); the roles reversed: the
# source as a CURVE client of a pyzmq CURVE server that binds, the sink as a
# CURVE server that binds (an allowed pyzmq client gets every message, one
# not on the list none); the sink as a CURVE client of a pyzmq CURVE server;
# keys from sluice-zmq-keygen read by pyzmq and
# pyzmq's read by sluice; secrets never shown; a secret key file others may
# read is refused; a bind other than loopback needs CURVE or insecure: true.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/zmq_lib.sh"
cd "$WORK" || exit 1

"$KEYGEN" server >server.pub 2>keygen.err
check_eq "keygen writes a key pair" "$?" 0
check_eq "keygen: the secret file is mode 600" "$(stat -c %a server.key_secret)" 600
check "keygen: keeps existing files without --force" bash -c "! $KEYGEN server 2>/dev/null"
check "pyzmq writes the clients' keys" peer keys . good bad
check_eq "keygen's public key is what pyzmq reads from its files" \
    "$("$PY" -c 'import zmq.auth; print(zmq.auth.load_certificate("server.key")[0].decode())')" \
    "$(cat server.pub)"
good=$("$PY" -c 'import zmq.auth; print(zmq.auth.load_certificate("good.key")[0].decode())')
printf '# clients admitted\n%s  good client\n' "$good" >allow.txt

# ---- the source as a CURVE server with an allow-list --------------------------------
P=$(free_port)
start_sluice srv "batch_interval: 200ms
streams:
  lines: {source: zmq, bind: \"tcp://127.0.0.1:$P\", curve: server, curve_keys: server.key_secret, curve_allow: allow.txt}
  n: {count: lines}
outputs:
  - {sink: jsonl, from: n, path: n.jsonl}"
wait_until 10 log_has srv.log "bound tcp"
peer send --type push --connect "tcp://127.0.0.1:$P" --count 3000 \
    --curve-keys good.key_secret --curve-server-key server.key >/dev/null
check "curve: the allowed client's 3000 messages arrive" wait_until 20 total_is n.jsonl 3000
# The refused clients' sends may block once their queue is full (no
# handshake ever completes): --send-timeout bounds them instead of hanging.
peer send --type push --connect "tcp://127.0.0.1:$P" --count 500 --linger 1 --send-timeout 5 \
    --curve-keys bad.key_secret --curve-server-key server.key >/dev/null || true
peer send --type push --connect "tcp://127.0.0.1:$P" --count 500 --linger 1 --send-timeout 5 \
    >/dev/null || true
check "curve: the refused client was logged with its key" \
    wait_until 10 log_has srv.log "refused a CURVE client"
sleep 0.5
stop_sluice srv
check_eq "curve: nothing from the client not on the list, nor from the one without CURVE" \
    "$(total n.jsonl)" 3000
bad=$("$PY" -c 'import zmq.auth; print(zmq.auth.load_certificate("bad.key")[0].decode())')
check_contains "curve: the log names the refused key (to add it if it should be allowed)" \
    srv.log "$bad"
check_contains "curve: the allowed handshake was counted" srv.log "curve_allowed=1"
secret=$(sed -n 's/.*secret-key = "\(.*\)".*/\1/p' server.key_secret)
check "curve: the secret key is not in the log" bash -c "! grep -qF -- '$secret' srv.log"
"$SLUICE_BIN" graph srv.yaml >graph.out 2>&1
check "curve: nor in sluice graph" bash -c "! grep -qF -- '$secret' graph.out"

# ---- the sink as a CURVE client of a pyzmq CURVE server ------------------------------
IN=$(free_port)
OUTP=$(free_port)
start_peer reader recv --type pull --bind "tcp://127.0.0.1:$OUTP" --count 400 --timeout 20 \
    --curve-keys good.key_secret
start_sluice cli "batch_interval: 200ms
streams:
  lines: {source: zmq, bind: \"tcp://127.0.0.1:$IN\"}
outputs:
  - {sink: zmq, from: lines, connect: \"tcp://127.0.0.1:$OUTP\", curve: client, curve_keys: server.key_secret, curve_server_key: good.key}"
wait_until 10 log_has cli.log "bound tcp"
peer send --type push --connect "tcp://127.0.0.1:$IN" --count 400 >/dev/null
check "curve: the sink's 400 messages reach the CURVE server" \
    wait_until 20 bash -c "[ \$(wc -l <reader.out) -ge 400 ]"
stop_sluice cli

# ---- the source as a CURVE client of a pyzmq CURVE server (a PUSH that binds) -----------
"$KEYGEN" client >client.pub 2>>keygen.err
peer keys . pysrv
P=$(free_port)
start_peer pysrv send --type push --bind "tcp://127.0.0.1:$P" --count 2000 --curve-keys pysrv.key_secret
start_sluice srccli "batch_interval: 200ms
streams:
  lines: {source: zmq, connect: \"tcp://127.0.0.1:$P\", curve: client, curve_keys: client.key_secret, curve_server_key: pysrv.key}
  n: {count: lines}
outputs:
  - {sink: jsonl, from: n, path: srccli.jsonl}"
check_total "curve client source: the CURVE server's 2000 messages arrive" 20 srccli.jsonl 2000 \
    srccli.log pysrv.err
stop_sluice srccli
check_contains "curve client source: the server sent them all" pysrv.out "sent=2000"

# ---- the sink as a CURVE server (it binds) for pyzmq CURVE clients (PULLs that connect) ---------
IN=$(free_port)
OUTP=$(free_port)
start_sluice sinksrv "batch_interval: 200ms
streams:
  lines: {source: zmq, bind: \"tcp://127.0.0.1:$IN\"}
outputs:
  - {sink: zmq, from: lines, bind: \"tcp://127.0.0.1:$OUTP\", curve: server, curve_keys: server.key_secret, curve_allow: allow.txt}"
wait_until 10 log_has sinksrv.log "zmq sink: bound tcp://127.0.0.1:$OUTP" # the first (empty) batch
start_peer goodpull recv --type pull --connect "tcp://127.0.0.1:$OUTP" --count 1001 --timeout 1.5 --first-timeout 20 \
    --curve-keys good.key_secret --curve-server-key server.key --ready good.ready
PG=$PEER_PID
start_peer badpull recv --type pull --connect "tcp://127.0.0.1:$OUTP" --count 1 --timeout 30 \
    --curve-keys bad.key_secret --curve-server-key server.key --ready bad.ready
PB=$PEER_PID
wait_until 10 test -e good.ready -a -e bad.ready
check "curve server sink: the client not on the list was refused" \
    wait_until 10 log_has sinksrv.log "refused a CURVE client"
peer send --type push --connect "tcp://127.0.0.1:$IN" --count 1000 >/dev/null
check "curve server sink: the allowed client is done" wait_until 20 bash -c "! kill -0 $PG 2>/dev/null"
check "curve server sink: the refused client was there all along" kill -0 "$PB"
stop_group "$PB"
stop_sluice sinksrv
check_eq "curve server sink: the allowed client got all 1000 messages, once each" \
    "$(sort -u goodpull.out | wc -l) $(wc -l <goodpull.out)" "1000 1000"
check_eq "curve server sink: the refused one none" "$(wc -l <badpull.out)" 0
check_contains "curve server sink: the log names the refused key" sinksrv.log "$bad"
check_contains "curve server sink: the allowed handshake was counted" sinksrv.log "curve_allowed=1"
check_contains "curve server sink: ... and the refused ones" sinksrv.log "curve_denied="

# ---- refused settings --------------------------------------------------------------------
refused() { # refused NAME PARAMS MESSAGE
    printf 'batch_interval: 1s\nstreams:\n  s: {source: zmq, %s}\noutputs:\n  - {sink: pprint, from: s}\n' "$2" >"$1.yaml"
    "$SLUICE_BIN" validate "$1.yaml" >"$1.vout" 2>&1
    check_eq "refused: $1 (exit 2)" "$?" 2
    check_contains "refused: $1 (message)" "$1.vout" "$3"
}
cp server.key_secret wide.key_secret
chmod 644 wide.key_secret
refused widekey "bind: \"tcp://127.0.0.1:1\", curve: server, curve_keys: wide.key_secret, curve_allow: allow.txt" "chmod 600"
refused noallow "bind: \"tcp://127.0.0.1:1\", curve: server, curve_keys: server.key_secret" "curve: server needs curve_allow"
refused nokeys "connect: \"tcp://127.0.0.1:1\", curve: client, curve_server_key: server.key" "needs curve_keys"
printf 'not-a-key\n' >badallow.txt
refused badallow "bind: \"tcp://127.0.0.1:1\", curve: server, curve_keys: server.key_secret, curve_allow: badallow.txt" "badallow.txt:1"
refused anyaddr "bind: \"tcp://0.0.0.0:1\"" "refusing to bind on an address other than loopback without CURVE"
refused star "bind: \"tcp://*:1\"" "insecure: true"
refused eth "bind: \"tcp://eth0:1\"" "refusing to bind"
ok() { # ok NAME PARAMS: validate accepts it (nothing binds at validate)
    printf 'batch_interval: 1s\nstreams:\n  s: {source: zmq, %s}\noutputs:\n  - {sink: pprint, from: s}\n' "$2" >"$1.yaml"
    check "accepted: $1" "$SLUICE_BIN" validate "$1.yaml"
}
ok insecure "bind: \"tcp://0.0.0.0:1\", insecure: true"
ok curved "bind: \"tcp://0.0.0.0:1\", curve: server, curve_keys: server.key_secret, curve_allow: allow.txt"
ok loopback "bind: \"tcp://127.0.0.1:1, tcp://[::1]:1, tcp://localhost:1, ipc://$WORK/x.sock\""
printf 'batch_interval: 1s\nstreams:\n  s: {source: zmq, connect: "tcp://127.0.0.1:1"}\noutputs:\n  - {sink: zmq, from: s, type: pub, bind: "tcp://0.0.0.0:1"}\n' >sinkany.yaml
"$SLUICE_BIN" validate sinkany.yaml >sinkany.vout 2>&1
check_eq "refused: a sink bound on any address without CURVE (exit 2)" "$?" 2
check_contains "refused: ... and why" sinkany.vout "could read its output"
finish

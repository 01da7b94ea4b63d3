#!/usr/bin/env bash
# test_zmq_states.sh — the zmq source's connection states (ABI 1.5) against
# a pyzmq peer: a source that only connects is CONNECTING until libzmq has
# connected (a socket monitor tells it), then CONNECTED, DISCONNECTED when
# the peer goes; one that binds is CONNECTED once bound, peer or not. A
# connecting source that never found its peer is an ERROR at the end of the
# run and `sluice run` exits 1; the status line shows the state.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/zmq_lib.sh"
cd "$WORK" || exit 1

pipeline() { # pipeline FILE SOURCE_PARAMS
    printf 'batch_interval: 200ms\nstreams:\n  lines: {source: zmq, %s}\noutputs:\n  - {sink: jsonl, from: lines, path: %s.jsonl}\n' \
        "$2" "$1" >"$1.yaml"
}

# ---- nobody to connect to: exit 1 and the ERROR ---------------------------------------------
P=$(free_port)
pipeline lonely "connect: \"tcp://127.0.0.1:$P\", reconnect_interval: 50ms"
timeout 30 "$SLUICE_BIN" run lonely.yaml --timeout 1 --log-level debug >/dev/null 2>lonely.err
check_eq "no peer: exit 1 after --timeout" "$?" 1
check "no peer: the ERROR names the stream, the component, the endpoint and the attempts" \
    grep -qE "ERROR source 'lines' \(zmq\) never connected to tcp://127\.0\.0\.1:$P: no peer yet \([0-9]+ attempts\)" lonely.err
check_contains "no peer: CONNECTING first" lonely.err "source state: connecting: tcp://127.0.0.1:$P"

# ---- a PUSH peer that binds: CONNECTING, CONNECTED, then DISCONNECTED when it leaves --------------
P=$(free_port)
pipeline conn "connect: \"tcp://127.0.0.1:$P\", reconnect_interval: 50ms"
# enough messages to keep the peer there for a few batches
start_peer pusher send --type push --bind "tcp://127.0.0.1:$P" --count 300000
timeout 30 "$SLUICE_BIN" run conn.yaml --timeout 5 --log-level debug --status >/dev/null 2>conn.err
check_eq "peer: exit 0" "$?" 0
check "peer: messages arrived ($(wc -l <conn.jsonl))" test "$(wc -l <conn.jsonl)" -gt 0
check "peer: the monitor saw the connection" \
    grep -qF "source state: connected: tcp://127.0.0.1:$P" conn.err
check "peer: ... after CONNECTING" bash -c "grep -n 'source state:' conn.err | head -n 1 | grep -q connecting"
check "peer: the status line shows it" grep -qE '^#[0-9]+ .*\| lines: connected$' conn.err
if wait_until 20 grep -q "sent=" pusher.out; then
    timeout 30 "$SLUICE_BIN" run conn.yaml --timeout 1.5 --log-level debug >/dev/null 2>gone.err
    check_eq "peer gone before the start: exit 1 (never connected)" "$?" 1
fi
check_contains "peer: the peer sent them all" pusher.out "sent=300000"
check "peer: DISCONNECTED when the peer went away" \
    grep -qF "source state: disconnected: tcp://127.0.0.1:$P: disconnected; libzmq reconnects" conn.err
check "peer: ... and while libzmq retries" \
    grep -qF "source state: disconnected: tcp://127.0.0.1:$P: disconnected; reconnecting (" conn.err

# ---- binding: CONNECTED once bound, with no peer at all ---------------------------------------
P=$(free_port)
pipeline bound "bind: \"tcp://127.0.0.1:$P\""
timeout 30 "$SLUICE_BIN" run bound.yaml --timeout 1 --log-level debug --status >/dev/null 2>bound.err
check_eq "bind: exit 0 without a peer (its peers come to it)" "$?" 0
check_contains "bind: CONNECTED once bound" bound.err "source state: connected: bound tcp://127.0.0.1:$P"
check "bind: the status line shows it" grep -qE '^#[0-9]+ .*\| lines: connected$' bound.err
finish

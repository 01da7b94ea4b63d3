# shellcheck shell=bash
# tests/integration/zmq_lib.sh — helpers of the ZeroMQ integration tests
# (sourced after lib.sh; not a test itself).
#
# The outside peer is pyzmq (Debian python3-zmq, scripts/deps.sh) driven by
# tests/integration/zmq_peer.py; Debian's python3 is used when another
# python3 comes first in PATH without the zmq module. Ports come from the
# OS (free_port), ipc:// endpoints live in the test's private $WORK.

PY=python3
if ! "$PY" -c 'import zmq' 2>/dev/null; then
    PY=/usr/bin/python3
fi
if ! "$PY" -c 'import zmq' 2>/dev/null; then
    echo "FAIL: no python3 with the zmq module (python3-zmq; scripts/deps.sh installs it)" >&2
    exit 1
fi
PEER="$SLUICE_SOURCE_DIR/tests/integration/zmq_peer.py"
KEYGEN="$SLUICE_BUILD_DIR/bin/sluice-zmq-keygen"

# peer ARGS...: run the Python peer in the foreground.
peer() {
    "$PY" "$PEER" "$@"
}

# start_peer NAME ARGS...: the Python peer in the background, output in
# NAME.out; its pid in $PEER_PID.
start_peer() {
    local name=$1
    shift
    start_group "exec $PY $PEER $(printf '%q ' "$@") >$name.out 2>$name.err"
    PEER_PID=$GROUP_PID
}

# start_sluice NAME [YAML]: run the pipeline NAME.yaml (written from YAML
# when given) in the background: logs at info (or $LOG_LEVEL) in NAME.log, its pid in
# NAME.pid, its exit status in NAME.rc when it ends.
start_sluice() {
    local name=$1
    [ $# -ge 2 ] && printf '%s\n' "$2" >"$name.yaml"
    rm -f "$name.pid" "$name.rc"
    start_group "$SLUICE_BIN run $name.yaml --log-level ${LOG_LEVEL:-info} 2>$name.log & echo \$! >$name.pid; wait \$!; echo \$? >$name.rc"
    SLUICE_PID=$GROUP_PID
    wait_until 5 test -s "$name.pid"
}

# stop_sluice NAME: SIGTERM (a graceful stop) and wait for it (at most 20 s).
stop_sluice() {
    kill -TERM "$(cat "$1.pid")" 2>/dev/null
    wait_until 20 test -s "$1.rc"
}

# peak_kib NAME: the running sluice's peak resident memory (VmHWM), KiB.
peak_kib() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$(cat "$1.pid")/status"
}

# total FILE: the sum of the `value` of every line of a jsonl file (counts).
total() {
    "$PY" -c 'import json, sys
n = 0
try:
    for l in open(sys.argv[1]):
        n += json.loads(l)["value"]
except FileNotFoundError:
    pass
print(n)' "$1"
}

# total_is FILE N: the counts in FILE add up to N.
total_is() {
    [ "$(total "$1")" = "$2" ]
}

# check_total DESCRIPTION SECONDS FILE N [LOG...]: within SECONDS the count
# stream in FILE sums to N; if not, say what it summed to and show the end
# of each LOG (sluice's, the peer's).
check_total() {
    local what=$1 secs=$2 file=$3 want=$4 log
    shift 4
    if wait_until "$secs" total_is "$file" "$want"; then
        pass "$what"
        return
    fi
    fail "$what: counted $(total "$file"), want $want"
    for log in "$@"; do
        echo "    $log:" >&2
        tail -n 8 "$log" 2>/dev/null | sed 's/^/    | /' >&2
    done
}

# nonzero_batches FILE: how many batches of a count stream saw records.
nonzero_batches() {
    "$PY" -c 'import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["value"] > 0))' "$1" 2>/dev/null || echo 0
}

# log_has FILE TEXT: FILE contains TEXT.
log_has() {
    grep -qF -- "$2" "$1"
}

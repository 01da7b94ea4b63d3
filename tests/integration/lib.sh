# shellcheck shell=bash
# tests/integration/lib.sh — shared helpers of the CLI integration tests.
#
# Sourced by tests/integration/test_*.sh (it is not a test itself). It makes
# a private work directory, keeps track of every server and process a test
# starts and stops them all on exit — also when the test fails or is killed —
# and offers small assertions that count failures instead of stopping at the
# first, so one run reports everything that is wrong.
#
# Servers are real: `nc -l` on 127.0.0.1, on a port that was free a moment
# ago (bind + close in python3), started again on another port if the listen
# fails because something else took it. Needs bash, python3, nc (OpenBSD),
# setsid, timeout. SLUICE_KEEP_WORK=1 keeps the work directory of a failed test.

set -u

: "${SLUICE_BIN:?SLUICE_BIN must point at the sluice CLI}"
: "${SLUICE_PLUGIN_PATH:?SLUICE_PLUGIN_PATH must point at the built plugins}"
SLUICE_SOURCE_DIR=${SLUICE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export SLUICE_PLUGIN_PATH

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice_it_XXXXXX")
GROUPS_STARTED=() # process groups started with start_group (their leader's pid)
FAILS=0
FAILED_CHECKS=() # what fail() was given, repeated by finish()
CHECKS=0

# ms since the epoch.
now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# Stop a process group started by start_group: TERM, then KILL after 2 s.
stop_group() {
    local pid=$1 _
    kill -TERM -- "-$pid" 2>/dev/null || return 0
    for _ in $(seq 1 40); do
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local pid
    for pid in "${GROUPS_STARTED[@]+"${GROUPS_STARTED[@]}"}"; do
        stop_group "$pid"
    done
    if ((FAILS > 0)) && [[ -n "${SLUICE_KEEP_WORK:-}" ]]; then
        echo "kept the work directory: $WORK (SLUICE_KEEP_WORK)" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run a shell command line in its own process group (setsid), in the
# background; its pid (= the group's id) goes to $GROUP_PID.
start_group() {
    setsid bash -c "$1" </dev/null &
    GROUP_PID=$!
    GROUPS_STARTED+=("$GROUP_PID")
}

fail() {
    echo "FAIL: $*" >&2
    FAILED_CHECKS+=("$*")
    FAILS=$((FAILS + 1))
    CHECKS=$((CHECKS + 1))
}

pass() {
    echo "ok:   $*"
    CHECKS=$((CHECKS + 1))
}

# check DESCRIPTION COMMAND...: pass if COMMAND succeeds.
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

# check_eq DESCRIPTION GOT WANT
check_eq() {
    if [[ "$2" == "$3" ]]; then
        pass "$1"
    else
        fail "$1: got '$2', want '$3'"
    fi
}

# check_contains DESCRIPTION FILE TEXT: FILE contains TEXT (fixed string).
check_contains() {
    if grep -qF -- "$3" "$2"; then
        pass "$1"
    else
        fail "$1: '$3' not in $2:"
        sed 's/^/    | /' "$2" | head -20 >&2
    fi
}

# Print the summary and exit 1 if anything failed.
finish() {
    if ((FAILS > 0)); then
        # repeated last: a CI log cut in the middle still shows what failed
        printf 'FAILED: %s\n' "${FAILED_CHECKS[@]}" >&2
        echo "$FAILS of $CHECKS checks FAILED" >&2
        exit 1
    fi
    echo "all $CHECKS checks passed"
    exit 0
}

# A TCP port on 127.0.0.1 that is free right now.
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Is something listening on TCP port PORT? (/proc/net/tcp: no dependency
# on ss or netstat; state 0A is LISTEN.)
port_listening() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p="$hex" '$4 == "0A" && substr($2, index($2, ":") + 1) == p { found = 1 }
        END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# wait_until SECONDS COMMAND...: poll COMMAND every 50 ms until it succeeds
# (0) or SECONDS (may be fractional) have passed (1).
wait_until() {
    local limit_ms
    limit_ms=$(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')
    shift
    local deadline=$(($(now_ms) + limit_ms))
    until "$@"; do
        (($(now_ms) >= deadline)) && return 1
        sleep 0.05
    done
    return 0
}

# start_server COMMAND: run COMMAND (a shell command line that listens on
# 127.0.0.1:$PORT, e.g. "nc -lk 127.0.0.1 \$PORT") in its own process group
# on a free port. Sets PORT and SERVER_PID. Retries on another port when the
# listen does not come up (the port was taken meanwhile).
start_server() {
    local try
    for try in 1 2 3 4 5; do
        PORT=$(free_port)
        export PORT
        start_group "$1"
        SERVER_PID=$GROUP_PID
        if wait_until 5 port_listening "$PORT"; then
            return 0
        fi
        echo "note: server did not listen on $PORT (attempt $try); retrying" >&2
        stop_group "$SERVER_PID"
    done
    return 1
}

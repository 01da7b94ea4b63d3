#!/usr/bin/env bash
# scripts/kafka.sh start|stop|status — a single-node Apache Kafka broker for
# the tests (KRaft: broker and controller in one JVM, 127.0.0.1 only).
#
#   start   fetches the pinned release's jars from Maven Central once (into
#           $SLUICE_KAFKA_CACHE, outside the repo), formats a fresh data dir,
#           starts the broker on a free port, waits until it answers and
#           prints BROKERS=127.0.0.1:PORT. Already running: prints it again.
#           After `kill`, start restarts the broker on its data and port.
#   stop    stops the broker (SIGTERM, then SIGKILL after 30 s) and removes
#           its data dir.
#   kill    SIGKILLs the broker but keeps its data dir (tests: a broker
#           crash; `start` brings it back with its topics and offsets).
#   status  prints BROKERS=... and exits 0 when it runs, else exits 1.
#
# Environment:
#   SLUICE_KAFKA_DIR    the broker's run dir: data, logs, pid, port
#                       (default ${TMPDIR:-/tmp}/sluice-kafka-$UID)
#   SLUICE_KAFKA_CACHE  the jar cache (default ~/.cache/sluice/kafka)
#   SLUICE_KAFKA_HEAP   the JVM's -Xmx (default 512m)
#   SLUICE_KAFKA_PARTITIONS  partitions of an auto-created topic (default 3)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=3.7.1 # keep in step with scripts/kafka/pom.xml
dir=${SLUICE_KAFKA_DIR:-${TMPDIR:-/tmp}/sluice-kafka-$(id -u)}
cache=${SLUICE_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice/kafka}
libs=$cache/$version/libs

die() {
    echo "kafka.sh: $*" >&2
    exit 1
}

# The broker's pid, if it is alive and really our broker (not a reused pid).
running_pid() {
    local pid
    [ -f "$dir/pid" ] || return 1
    pid=$(cat "$dir/pid")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/server.properties" || return 1
    echo "$pid"
}

# Fetch the jars once; a partial download never counts as the cache.
fetch_jars() {
    [ -f "$libs/.complete" ] && return 0
    command -v mvn >/dev/null || die "mvn not found: run scripts/deps.sh"
    echo "kafka.sh: fetching Apache Kafka $version from Maven Central into $libs" >&2
    rm -rf "$libs"
    mkdir -p "$libs"
    local log=$cache/$version/mvn.log
    if ! mvn -B -q -f "$root/scripts/kafka/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$libs" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "mvn could not fetch the Kafka jars (log: $log)"
    fi
    [ -f "$libs/kafka_2.13-$version.jar" ] || die "mvn ran but $libs has no kafka_2.13-$version.jar"
    touch "$libs/.complete"
}

# Two free loopback ports (the broker's and the controller's).
free_ports() {
    python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])'
}

write_config() {
    local port=$1 cport=$2
    cat >"$dir/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=${SLUICE_KAFKA_PARTITIONS:-3}
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
log.flush.interval.messages=9223372036854775807
CONF
    cat >"$dir/log4j.properties" <<CONF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$dir/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
CONF
}

cmd_start() {
    local pid port cport="" cluster kept=""
    try=${try:-1}
    if pid=$(running_pid); then
        echo "BROKERS=127.0.0.1:$(cat "$dir/port")"
        return 0
    fi
    command -v java >/dev/null || die "java not found: run scripts/deps.sh"
    command -v kcat >/dev/null || die "kcat not found: run scripts/deps.sh"
    fetch_jars
    local java=(java "-Xmx${SLUICE_KAFKA_HEAP:-512m}" -Xss1m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
        "-Dlog4j.configuration=file:$dir/log4j.properties" -cp "$libs/*")
    if [ -f "$dir/killed" ] && [ -f "$dir/port" ]; then
        port=$(cat "$dir/port") # after `kill`: the same broker, data and port
        kept=1
        rm -f "$dir/killed"
    else
        rm -rf "$dir"
        mkdir -p "$dir/data"
        read -r port cport < <(free_ports)
        write_config "$port" "$cport"
        # a cluster id as Kafka's own (random-uuid) makes it: URL-safe base64,
        # never starting with '-', which the tool's option parser would take
        # for an option ("--cluster-id: expected one argument": 1 start in 64)
        cluster=$(python3 -c 'import base64, uuid
while True:
    c = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not c.startswith("-"):
        break
print(c)')
        "${java[@]}" kafka.tools.StorageTool format -t "$cluster" -c "$dir/server.properties" \
            >"$dir/format.log" 2>&1 || {
            cat "$dir/format.log" >&2
            die "formatting the KRaft storage failed"
        }
    fi
    # setsid: the broker outlives this script and ignores the caller's ^C.
    setsid "${java[@]}" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"
    echo "$port" >"$dir/port"
    local deadline=$((SECONDS + 90))
    until kcat -L -b "127.0.0.1:$port" -m 2 >/dev/null 2>&1; do
        if ! running_pid >/dev/null; then
            # a port picked free may be taken before the JVM binds it (an
            # outgoing connection's ephemeral port, on a busy machine): pick
            # new ones, up to three times
            if [ -z "$kept" ] && [ "$try" -lt 3 ] &&
                grep -qs "Address already in use" "$dir/stdout.log" "$dir/server.log"; then
                echo "kafka.sh: port $port or $cport was taken before the broker bound it; new ports" >&2
                try=$((try + 1))
                cmd_start
                return
            fi
            tail -n 30 "$dir/stdout.log" "$dir/server.log" >&2 2>/dev/null || true
            die "the broker exited during startup (logs in $dir)"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            cmd_stop >/dev/null 2>&1 || true
            die "the broker did not answer on 127.0.0.1:$port within 90 s"
        fi
        sleep 0.5
    done
    echo "BROKERS=127.0.0.1:$port"
}

cmd_stop() {
    local pid i
    if pid=$(running_pid); then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "kafka.sh: the broker ignored SIGTERM for 30 s; SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        fi
    fi
    rm -rf "$dir"
    echo "kafka.sh: stopped"
}

cmd_kill() {
    local pid
    pid=$(running_pid) || die "not running"
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    touch "$dir/killed"
    echo "kafka.sh: killed (data kept in $dir)"
}

cmd_status() {
    if running_pid >/dev/null; then
        echo "BROKERS=127.0.0.1:$(cat "$dir/port")"
        return 0
    fi
    echo "kafka.sh: not running"
    return 1
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
kill) cmd_kill ;;
*)
    echo "usage: scripts/kafka.sh start|stop|kill|status" >&2
    exit 2
    ;;
esac

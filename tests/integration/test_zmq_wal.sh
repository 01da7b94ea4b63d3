#!/usr/bin/env bash
# test_zmq_wal.sh — the receiver write-ahead log under the ZeroMQ source,
# across SIGKILLs.
#
# A PUSH peer (pyzmq, an independent implementation of the peer) binds on
# 127.0.0.1 and sends numbered messages ("z0000123") at a steady pace, each
# once. sluice connects with `source: zmq` and receiver_wal on, and counts
# them with update_state_by_key. Each run is killed with SIGKILL at a random
# moment after its receiver has logged records; libzmq reconnects the next
# run and the peer goes on with the next numbers. A last run reads the end
# of the stream and stops gracefully.
#
# ZeroMQ does not acknowledge a PUSH->PULL hand-over: what libzmq had queued
# inside a killed process was sent and is gone. What the log guarantees is
# about what the receiver took: every record it logged is in the final state
# exactly once, and nothing else is. So the checks, from the runs' debug logs
# and the final state: the number of keys counted equals the number of
# records the receivers logged, none is counted twice, none was never sent,
# and restarts replayed records from the log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/zmq_lib.sh"

cd "$WORK" || exit 1
KILLS=${SLUICE_WAL_KILLS:-12}
SEED=${SLUICE_WAL_SEED:-$RANDOM}
echo "seed $SEED (SLUICE_WAL_SEED reproduces the kill points), $KILLS kills"

# The peer: 40 numbered messages every 10 ms; after `finish` appears, 2000
# more, then it waits until they are gone (linger) and says "done N".
cat >peer.py <<'PY'
import os, sys, time, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.setsockopt(zmq.SNDHWM, 200)
port = s.bind_to_random_port("tcp://127.0.0.1")
with open("port.tmp", "w") as f:
    f.write(str(port))
os.rename("port.tmp", "port")
nxt, end = 0, None
while end is None or nxt < end:
    if end is None and os.path.exists("finish"):
        end = nxt + 2000
    n = 40 if end is None else min(400, end - nxt)
    for i in range(nxt, nxt + n):
        s.send(b"z%07d" % i)                # blocks while no peer is connected
    nxt += n
    time.sleep(0.01)
s.close(linger=30000)
ctx.term()
open("peer.tmp", "w").write("done %d\n" % nxt)
os.rename("peer.tmp", "peer.log")
PY
start_group "exec $PY peer.py"
wait_until 5 test -s port || fail "the peer did not start"
PORT=$(cat port)

write_yaml() { # write_yaml FILE OUTPUT
    cat >"$1" <<EOF
batch_interval: 100ms
checkpoint: cp
checkpoint_interval: 300ms
checkpoint_keep: 2
receiver_wal: true
streams:
  msgs:   {source: zmq, connect: "tcp://127.0.0.1:$PORT", reconnect_interval: 20ms}
  pairs:  {map: kv.pair, from: msgs}
  counts: {update_state_by_key: agg.sum, from: pairs}
outputs:
$2
EOF
}
write_yaml kill.yaml "  - {sink: pprint, from: counts, num: 1}"
write_yaml last.yaml "  - {sink: jsonl, from: counts, path: out.jsonl}"

logged_any() { grep -q "receiver log: records .* logged" "$1"; }

mapfile -t DELAYS < <(python3 -c "import random; r = random.Random($SEED)
print('\n'.join(str(r.randint(0, 900)) for _ in range($KILLS)))")

for k in $(seq 1 "$KILLS"); do
    setsid "$SLUICE_BIN" run kill.yaml --log-level debug >/dev/null 2>"run$k.log" &
    pid=$!
    GROUPS_STARTED+=("$pid")
    if ! wait_until 20 logged_any "run$k.log"; then
        fail "run $k: the receiver logged nothing within 20 s"
        tail -5 "run$k.log" >&2
    fi
    sleep "$(printf '%d.%03d' $((DELAYS[k - 1] / 1000)) $((DELAYS[k - 1] % 1000)))"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
done

# The last run: the peer sends its last stretch and ends; once everything
# it sent is counted or the peer is done and the batches are quiet, stop.
touch finish
"$SLUICE_BIN" run last.yaml --log-level debug >/dev/null 2>last.log &
last=$!
GROUPS_STARTED+=("$last")
check "the peer sent its last message" wait_until 30 test -s peer.log
sent=$(awk '/^done/ { print $2 }' peer.log 2>/dev/null)
# The output has the whole state at every batch (update_state_by_key, as
# Spark): read only its last N + 1 lines, which hold the newest whole batch.
last_state() { tail -n $((${sent:-0} + 1)) out.jsonl >state.jsonl; }
# counted_to N: the newest batch's highest key is message N - 1
counted_to() {
    last_state
    [ "$(python3 -c 'import json
rows = [json.loads(l) for l in open("state.jsonl")][1:]
t = max(r["time"] for r in rows)
print(max(r["key"] for r in rows if r["time"] == t))' 2>/dev/null)" = "$(printf 'z%07d' $(($1 - 1)))" ]
}
check "the last message is counted" wait_until 30 counted_to "${sent:-1}"
kill -TERM "$last" 2>/dev/null
exited() { ! ps -o stat= -p "$1" | grep -qv Z; } # gone, or a zombie not yet waited for
if wait_until 30 exited "$last"; then
    wait "$last"
    check_eq "the last run stops gracefully (exit 0)" "$?" 0
else
    fail "the last run did not stop within 30 s of SIGTERM"
    tail -20 last.log >&2
    kill -KILL "$last" 2>/dev/null
    wait "$last" 2>/dev/null
fi

last_state
python3 - "$KILLS" "${sent:-0}" <<'PY' >verdict.txt
import json, re, sys
kills, sent = int(sys.argv[1]), int(sys.argv[2])
logs = ["run%d.log" % k for k in range(1, kills + 1)] + ["last.log"]
# The log numbers records from 0 and a restarted receiver goes on after the
# last ordinal in the log, so the highest ordinal named (logged, or replayed:
# a kill between an append and its debug line leaves only the replay to say
# it) + 1 is how many records the receivers ever took.
took, replayed = 0, 0
pat = re.compile(r"receiver log: records (\d+)\.\.(\d+) logged")
rep = re.compile(r"replayed (\d+) records from the receiver log \(ordinals (\d+)\.\.(\d+)")
for name in logs:
    text = open(name, errors="replace").read()
    for m in pat.finditer(text):
        took = max(took, int(m.group(2)) + 1)
    for m in rep.finditer(text):
        took = max(took, int(m.group(3)) + 1)
        replayed += int(m.group(1))
rows = [json.loads(l) for l in open("state.jsonl")][1:]  # the first may be cut
last = max(r["time"] for r in rows)
state = {r["key"]: r["value"] for r in rows if r["time"] == last}
names = set("z%07d" % i for i in range(sent))
out = []
def check(ok, what):
    out.append(("ok   " if ok else "FAIL ") + what)
check(len(state) == took, "every record a receiver logged is counted, and only those (%d logged, %d counted)"
      % (took, len(state)))
twice = sum(1 for v in state.values() if v != 1)
check(twice == 0, "exactly once: no message counted twice (%d were)" % twice)
extra = sum(1 for k in state if k not in names)
check(extra == 0, "nothing the peer never sent is counted (%d keys)" % extra)
check(replayed > 0, "restarts replayed records from the log (%d in all)" % replayed)
out.append("info %d messages sent, %d counted, %d lost in flight at the kills (ZeroMQ has no acknowledgement)"
           % (sent, len(state), sent - len(state)))
print("\n".join(out))
PY
cat verdict.txt
while read -r status what; do
    case $status in
    ok) pass "$what" ;;
    FAIL) fail "$what" ;;
    esac
done <verdict.txt
check "the verdict was reached" grep -q "exactly once" verdict.txt
finish

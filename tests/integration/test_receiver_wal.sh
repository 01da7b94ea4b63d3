#!/usr/bin/env bash
# test_receiver_wal.sh — the receiver write-ahead log across SIGKILLs.
#
# A TCP peer on 127.0.0.1 sends a numbered stream of lines ("r0000123"), at
# a steady pace, exactly once: what it wrote to a connection that died is
# never sent again; the next connection goes on with the next number. A
# stateful word count (update_state_by_key) with receiver_wal on reads it
# through the socket source. Each run is killed with SIGKILL at a random
# moment after its receiver has logged records (its debug log says which
# ordinals), and started again on the same checkpoint directory; after at
# least 20 kills, and with the newest checkpoint damaged, a last run falls
# back to the one before and reads to the end of the stream.
#
# Then, from the final state: every line a receiver took (logged) is counted
# (at least once), none twice (exactly once: the checkpoint saves the log
# position its batch covers and the replay starts there), what each
# connection delivered is counted as a prefix without holes, and nothing
# the peer never sent appears. The log rotated segments and deleted covered
# ones, stayed under its bound, and was replayed after kills.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
KILLS=${SLUICE_WAL_KILLS:-22}
SEED=${SLUICE_WAL_SEED:-$RANDOM}
echo "seed $SEED (SLUICE_WAL_SEED reproduces the kill points), $KILLS kills"

# The peer: numbered lines, 40 every 10 ms, once. peer.log records, per
# connection, the first number written to it and the one after the last.
cat >peer.py <<'PY'
import os, socket, sys, time
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(4)
with open("port.tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename("port.tmp", "port")
log = open("peer.log", "w", buffering=1)
nxt = 0
while True:
    conn, _ = srv.accept()
    first = nxt
    log.write("conn %d\n" % first)
    finishing = None
    try:
        while True:
            if finishing is None and os.path.exists("finish"):
                finishing = nxt + 2000      # a last stretch, then the end
            n = 40 if finishing is None else min(400, finishing - nxt)
            if n <= 0:
                break
            conn.sendall(b"".join(b"r%07d\n" % i for i in range(nxt, nxt + n)))
            nxt += n
            time.sleep(0.01)
    except OSError:
        pass
    log.write("end %d %d\n" % (first, nxt))
    conn.close()
    if finishing is not None and nxt >= finishing:
        log.write("done %d\n" % nxt)
        break
PY
start_group "exec python3 peer.py"
wait_until 5 test -s port || fail "the peer did not start"
PORT=$(cat port)

write_yaml() { # write_yaml FILE OUTPUT
    cat >"$1" <<EOF
batch_interval: 100ms
checkpoint: cp
checkpoint_interval: 300ms
checkpoint_keep: 2
receiver_wal: true
receiver_wal_max: 1MiB
streams:
  lines:  {source: socket, host: 127.0.0.1, port: $PORT, on_eof: stop, reconnect_min: 20ms}
  words:  {flat_map: text.split, from: lines}
  pairs:  {map: kv.pair, from: words}
  counts: {update_state_by_key: agg.sum, from: pairs}
outputs:
$2
EOF
}
# the killed runs print one element per batch; the last writes the state
write_yaml kill.yaml "  - {sink: pprint, from: counts, num: 1}"
write_yaml last.yaml "  - {sink: jsonl, from: counts, path: out.jsonl}"

logged_any() { grep -q "receiver log: records .* logged" "$1"; }

# random kill delays (ms after the first logged record), from the seed
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

# Damage the newest checkpoint: the last run falls back to the one before,
# whose log position must still be in the log (segments go only once every
# kept checkpoint covers them).
mapfile -t ckpts < <(ls cp/checkpoint-*.slck | LC_ALL=C sort)
check "the killed runs left two checkpoints (${#ckpts[@]})" test "${#ckpts[@]}" -ge 2
newest=${ckpts[${#ckpts[@]} - 1]}
python3 - "$newest" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0x10
open(p, 'wb').write(bytes(b))
PY

touch finish
"$SLUICE_BIN" run last.yaml --log-level debug >/dev/null 2>last.log
check_eq "the last run reads to the end of the stream and exits 0" "$?" 0
check_contains "it falls back to the older checkpoint" last.log "using the older checkpoint"
wait_until 10 grep -q '^done' peer.log || fail "the peer did not finish"

# Everything from here is checked in one place: the peer's record of what
# went to which connection, each run's log, and the final state.
python3 - "$KILLS" <<'PY' >verdict.txt
import json, re, sys, os
kills = int(sys.argv[1])
conns = []                                  # (first, end) per connection
for line in open("peer.log"):
    p = line.split()
    if p[0] == "end":
        conns.append((int(p[1]), int(p[2])))
logs = ["run%d.log" % k for k in range(1, kills + 1)] + ["last.log"]
took, connects, replayed, deleted, rotated = [], [], 0, 0, set()
pat = re.compile(r"receiver log: records (\d+)\.\.(\d+) logged \((\d+) records\)")
for name in logs:
    text = open(name, errors="replace").read()
    took.append(sum(int(m.group(3)) for m in pat.finditer(text)))
    connects.append(text.count("connected to 127.0.0.1"))
    replayed += sum(int(x) for x in re.findall(r"replayed (\d+) records from the receiver log", text))
    deleted += sum(int(x) for x in re.findall(r"; (\d+) segments deleted", text))
    for m in re.finditer(r"receiver log: (\d+) segments", text):
        rotated.add(int(m.group(1)))
state = {}
rows = [json.loads(l) for l in open("out.jsonl")]
last = max(r["time"] for r in rows)
for r in rows:
    if r["time"] == last:
        state[r["key"]] = r["value"]
out = []
def check(ok, what):
    out.append(("ok   " if ok else "FAIL ") + what)
check(len(conns) == len(logs), "one connection per run (%d connections, %d runs)" % (len(conns), len(logs)))
check(connects == [1] * len(logs), "each run connected once (%s)" % connects)
missing, twice, holes, extra = 0, 0, 0, 0
counted = 0
for k, (first, end) in enumerate(conns):
    t = took[k] if k < len(took) else 0
    # what the receiver took from this connection: a prefix of what was sent
    c = 0
    while first + c < end and ("r%07d" % (first + c)) in state:
        c += 1
    counted += c
    missing += max(0, t - c)
    holes += sum(1 for i in range(first + c, end) if ("r%07d" % i) in state)
    twice += sum(1 for i in range(first, first + c) if state["r%07d" % i] != 1)
    if first + c < end and k == len(conns) - 1:
        holes += 1                           # the last run must read to the end
sent = set("r%07d" % i for f, e in conns for i in range(f, e))
extra = sum(1 for key in state if key not in sent)
check(missing == 0, "every record a receiver logged is counted (%d logged, %d counted, %d missing)"
      % (sum(took), counted, missing))
check(twice == 0, "exactly once: no record counted twice (%d were)" % twice)
check(holes == 0, "each connection's records are counted as a prefix, the last one whole (%d holes)" % holes)
check(extra == 0, "nothing the peer never sent is counted (%d keys)" % extra)
check(replayed > 0, "restarts replayed records from the log (%d in all)" % replayed)
check(deleted > 0, "covered segments were deleted (%d)" % deleted)
check(max(rotated or {0}) >= 2, "the log rotated segments (up to %d at once)" % max(rotated or {0}))
lost = sum(e - f for f, e in conns) - counted
out.append("info %d lines sent, %d counted, %d never taken (in flight at a kill)" % (sum(e - f for f, e in conns), counted, lost))
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
size=$(du -sb cp/receiver-wal 2>/dev/null | cut -f1)
check "the log stays within its bound at the end (${size:-0} bytes)" test "${size:-0}" -le $((1 << 20))
finish

#!/usr/bin/env bash
# test_cli_status.sh — what `sluice run` says about its sources and batches
# (issue 10): a socket source that never connects is an ERROR naming the
# stream, the component and the last detail, and the run exits 1 (a timeout
# or a signal no longer hides it); the status line (--status forced, stderr
# a file) shows the input rate, proc/interval, the batches waiting and the
# source's state in at most 80 columns; on a terminal (a pty of 50 columns)
# it is redrawn in place, cut to the width, and ended with a newline when
# sluice exits.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$WORK" || exit 1

cat >sock.yaml <<'EOF2'
batch_interval: 200ms
streams:
  lines: {source: socket, host: 127.0.0.1, port: "${PORT}", reconnect_max: 100ms}
outputs:
  - {sink: jsonl, from: lines, path: out.jsonl}
EOF2

# ---- 1. nothing listens: exit 1 and an ERROR that says why ---------------------------------
PORT=$(free_port) timeout 30 "$SLUICE_BIN" run sock.yaml --timeout 1 --no-status >/dev/null 2>closed.err
check_eq "a source that never connected: exit 1 after --timeout" "$?" 1
check "the ERROR names the stream, the component, the peer, the reason and the attempts" \
    grep -qE "ERROR source 'lines' \(socket\) never connected to 127\.0\.0\.1:[0-9]+: Connection refused \([0-9]+ attempts\)" closed.err
check_eq "... once" "$(grep -c "never connected" closed.err)" 1
check "the run itself stopped cleanly (no runtime failure message)" bash -c "! grep -q '^sluice: ' closed.err"

# the same stopped by SIGTERM instead of the timeout
PORT=$(free_port) start_group "'$SLUICE_BIN' run sock.yaml --no-status >/dev/null 2>term.err & echo \$! >term.pid; wait \$!; echo \$? >term.rc"
wait_until 10 grep -q "cannot connect" term.err || fail "the source did not try to connect"
kill -TERM "$(cat term.pid)" 2>/dev/null
check "SIGTERM: sluice ends" wait_until 10 test -s term.rc
check_eq "SIGTERM: exit 1 all the same" "$(cat term.rc)" 1
check_contains "SIGTERM: the ERROR" term.err "never connected to 127.0.0.1:"

# ---- 2. a server: exit 0; --status into a file ---------------------------------------------
if ! start_server "while :; do echo 'one two three'; sleep 0.01; done | nc -lk 127.0.0.1 \"\$PORT\""; then
    fail "nc -lk did not start"
fi
timeout 30 "$SLUICE_BIN" run sock.yaml --timeout 2.5 --status >/dev/null 2>status.err
check_eq "connected: exit 0" "$?" 0
stop_group "$SERVER_PID"
grep -E '^#[0-9]+ ' status.err >status.lines
check "one status line per batch (>= 8)" test "$(wc -l <status.lines)" -ge 8
check "the status shows the source connected" grep -qE "\| lines: connected$" status.lines
check "... the input rate, proc against the interval and the batches waiting" \
    grep -qE '^#[0-9]+ [0-9:]{8} \| [0-9]+\.[0-9] rec/s \| proc [0-9]+/200 ms \| [0-9]+ waiting \|' status.lines
check "... a rate above 0 once data flows" grep -qE '\| [1-9][0-9]*\.[0-9] rec/s' status.lines
check_eq "no status line is longer than 80 columns" \
    "$(awk 'length($0) > 80' status.lines | wc -l)" 0
check_eq "no terminal escapes into a file" "$(grep -c $'\033' status.err)" 0
check_eq "stderr ends with a newline" "$(tail -c 1 status.err | od -An -c | tr -d ' ')" '\n'

# ---- 3. on a terminal: redrawn in place, cut to its width, ended by a newline -------------------
if ! start_server "while :; do echo 'one two three'; sleep 0.01; done | nc -lk 127.0.0.1 \"\$PORT\""; then
    fail "nc -lk did not start"
fi
python3 - "$SLUICE_BIN" >pty.txt <<'PY'
import fcntl, os, pty, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "run", "sock.yaml", "--timeout", "2", "--status"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 50, 0, 0))
out = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write("rc=%d\n" % os.waitstatus_to_exitcode(status))
sys.stdout.write(repr(out) + "\n")
PY
stop_group "$SERVER_PID"
check_eq "pty: exit 0" "$(head -n 1 pty.txt)" "rc=0"
python3 - <<'PY' >pty.verdict
import ast
lines = open("pty.txt").read().split("\n")
out = ast.literal_eval(lines[1]).decode()
draws = [s.replace("\x1b[K", "") for s in out.replace("\r\n", "\n").split("\r")]
status = [d.split("\n")[0] for d in draws if d.startswith("#")]
print("draws", len(status))
print("widest", max(len(s) for s in status) if status else 0)
print("redrawn", out.count("\r\x1b[K#"))
print("ends-newline", out.endswith("\n"))
print("last-kept", out.replace("\r\n", "\n").rstrip("\n").split("\r")[-1].replace("\x1b[K", "").startswith("#"))
PY
check "pty: status lines drawn ($(grep draws pty.verdict))" test "$(awk '/^draws/ { print $2 }' pty.verdict)" -ge 5
check "pty: redrawn in place with \\r and erase-line" test "$(awk '/^redrawn/ { print $2 }' pty.verdict)" -ge 5
check "pty: cut to the 50-column terminal, last column free ($(grep widest pty.verdict))" \
    test "$(awk '/^widest/ { print $2 }' pty.verdict)" -le 49
check_contains "pty: the output ends with a newline (no half line before the prompt)" pty.verdict "ends-newline True"
check_contains "pty: the last status stays on screen" pty.verdict "last-kept True"
finish

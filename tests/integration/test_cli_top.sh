#!/usr/bin/env bash
# test_cli_top.sh — `sluice top` against a real `sluice run --http`, in a
# real terminal (tmux, on a private socket, 120x40).
#
# A socket source reads 100 lines from `nc -lk` on 127.0.0.1. top is
# started first, while nothing listens on the HTTP port: it must say
# "cannot reach ...: connection refused; retrying" on the alternate screen
# and then, once `sluice run --http` is up, show the stream, its state and
# the records total that /api/v1/status reports. q, Ctrl-C and SIGTERM must
# each end it with exit 0, off the alternate screen, with the terminal
# modes (stty -g) exactly as before it ran. After a resize to 60x20 no line
# may wrap and the frame may not scroll. --once prints the same figures as plain text; an
# unreachable instance, a reply that is not JSON, a server that says nothing
# (3 s deadline) and a reply past 8 MiB exit 1 with a message.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
if ! command -v tmux >/dev/null; then
    fail "tmux is not installed (scripts/deps.sh installs it)"
    finish
fi

TMUX_SOCK=$WORK/tmux.sock
tm() { tmux -S "$TMUX_SOCK" -f /dev/null "$@"; }
trap 'tm kill-server 2>/dev/null; cleanup' EXIT

# pane: the terminal's text now; pane_has TEXT: it shows TEXT.
pane() { tm capture-pane -p -t top; }
pane_has() { pane | grep -qF -- "$1"; }
alt_on() { tm display -p -t top '#{alternate_on}'; }

# status FIELD-EXPRESSION: a value of /api/v1/status (python3 expression on s).
status() {
    python3 -c 'import json, sys, urllib.request
s = json.load(urllib.request.urlopen("http://127.0.0.1:" + sys.argv[1] + "/api/v1/status", timeout=5))
print(eval(sys.argv[2]))' "$HPORT" "$1" 2>/dev/null
}

seq 1 100 >input.txt
start_server "nc -lk 127.0.0.1 \$PORT <'$WORK/input.txt' >/dev/null" ||
    {
        fail "nc did not listen"
        finish
    }
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
cat >pipe.yaml <<EOF
batch_interval: 200ms
streams:
  lines:
    source: socket
    host: 127.0.0.1
    port: $PORT
  pairs:
    map: kv.pair
    from: lines
  totals:
    update_state_by_key: agg.sum
    from: pairs
outputs:
  - sink: pprint
    from: totals
EOF

# A plain shell in the terminal; the prompt is a marker.
tm new-session -d -x 120 -y 40 -s top \
    "env -i PATH='$PATH' HOME='$WORK' TERM=xterm-256color LANG=C.UTF-8 PS1='PROMPT\$ ' \
     bash --norc --noprofile"
wait_until 5 pane_has 'PROMPT$' || fail "the shell in tmux did not start"

# run_top N: in the pane, save the modes, run top (its pid in top.pid),
# then write its exit code to top.exit.N and save the modes again. The code
# goes to a file, not the screen: what top leaves on the pane when it
# restores the normal screen may overprint the typed line (seen in CI).
run_top() {
    rm -f "top.exit.$1"
    tm send-keys -t top "stty -g >stty.before.$1; sh -c 'echo \$\$ >top.pid; exec \"$SLUICE_BIN\" \
top --url $URL --interval 200'; echo \$? >top.exit.$1; stty -g >stty.after.$1" Enter
}

# ended N: top exited 0, the normal screen is back, the modes are restored.
ended() {
    wait_until 10 test -s "top.exit.$1" ||
        { echo "the pane:"; pane; fail "$2: top did not exit"; }
    check_eq "$2: exit code" "$(cat "top.exit.$1")" 0
    check_eq "$2: off the alternate screen" "$(alt_on)" 0
    pane >"pane.after.$1"
    check "$2: the frame is gone from the screen" bash -c "! grep -q '^SOURCES' pane.after.$1"
    wait_until 5 test -s "stty.after.$1"
    check "$2: the terminal modes are as before (stty -g)" cmp -s "stty.before.$1" "stty.after.$1"
}

# 1. nothing listens yet: top says so, and keeps trying
run_top 1
wait_until 10 pane_has "cannot reach $URL: connection refused; retrying"
pane >pane.unreachable
check_contains "unreachable: said on the screen" pane.unreachable \
    "cannot reach $URL: connection refused; retrying"
check_eq "top is on the alternate screen" "$(alt_on)" 1

start_group "exec '$SLUICE_BIN' run pipe.yaml --http 127.0.0.1:$HPORT --no-status >run.out 2>run.err"
RUN_PID=$GROUP_PID
wait_until 20 bash -c "[ \"\$(python3 -c 'import json, urllib.request
s = json.load(urllib.request.urlopen(\"$URL/api/v1/status\", timeout=5))
print(s[\"sources\"][0][\"records_total\"])' 2>/dev/null)\" = 100 ]" ||
    fail "sluice run did not take in the 100 lines: $(tail -3 run.err)"
total=$(status 's["sources"][0]["records_total"]')
state=$(status 's["state"]')
check_eq "/api/v1/status: records_total of lines" "$total" 100

# 2. the same top now shows the instance
wait_until 10 bash -c "tmux -S '$TMUX_SOCK' capture-pane -p -t top | grep -qE '^lines +socket'"
pane >pane.frame
check_contains "the frame names the URL" pane.frame "sluice top  $URL"
check_contains "the frame shows the state" pane.frame "state $state"
row=$(grep -E '^lines +socket +[a-z]+ +[0-9]' pane.frame)
check_eq "the sources row: stream, component, records total of /api/v1/status" \
    "$(awk '{print $1, $2, $4}' <<<"$row")" "lines socket $total"
check_contains "the outputs table" pane.frame "output-1  totals  pprint"
check_contains "the stateful stream with its keys" pane.frame "totals  update_state_by_key"
check "the unreachable line is gone" bash -c "! grep -q 'cannot reach' pane.frame"

# 3. a resize: every line cut to the new width
# widest FILE: the most characters on a line of FILE
widest() {
    python3 -c 'import sys
print(max(len(l) for l in open(sys.argv[1], encoding="utf-8").read().split("\n")))' "$1"
}
# until top has redrawn: right after the resize tmux shows the old frame
# (22 rows) with its top rows dropped to keep the cursor in view (seen in CI)
narrow() {
    pane >pane.narrow && [ "$(widest pane.narrow)" -le 60 ] && grep -q '^SOURCES' pane.narrow &&
        sed -n 1p pane.narrow | grep -q '^sluice top  '
}
tm resize-window -t top -x 60 -y 20
wait_until 10 narrow || fail "after a resize to 60x20: no frame"
# tmux clips at 60 anyway: what shows that top cut its lines is that none
# wrapped (row 2 is the state, not the rest of the title) and that the
# 20 rows did not scroll (row 1 is still the title)
row1=$(sed -n 1p pane.narrow)
check "after a resize: row 1 is the title ($row1)" test "${row1#"sluice top  $URL  (sluice"}" != "$row1"
check_eq "after a resize: row 2 is the state (no line wrapped)" "$(sed -n 2p pane.narrow)" \
    "state $state"
check "after a resize: at most 20 rows" test "$(wc -l <pane.narrow)" -le 20
tm resize-window -t top -x 120 -y 40

# 4. q quits and restores the terminal
tm send-keys -t top q
ended 1 "q"

# 5. Ctrl-C quits the same way
run_top 2
wait_until 10 bash -c "tmux -S '$TMUX_SOCK' capture-pane -p -t top | grep -qE '^lines +socket'" ||
    fail "Ctrl-C: no frame"
tm send-keys -t top C-c
ended 2 "Ctrl-C"

# 6. SIGTERM from outside: the terminal is restored all the same
run_top 3
wait_until 10 bash -c "tmux -S '$TMUX_SOCK' capture-pane -p -t top | grep -qE '^lines +socket'" ||
    fail "SIGTERM: no frame"
kill -TERM "$(cat top.pid)"
ended 3 "SIGTERM"

# 7. --once: one plain frame
"$SLUICE_BIN" top --url "$URL" --once >once.out 2>once.err
check_eq "--once exits 0" "$?" 0
check "--once writes no escape sequence" bash -c "! grep -q $'\x1b' once.out"
check_eq "--once: the sources row" "$(grep -E '^lines +socket +[a-z]+ +[0-9]' once.out | awk '{print $1, $2, $4}')" \
    "lines socket $(status 's["sources"][0]["records_total"]')"
check_contains "--once: the state" once.out "state running"
check_eq "--once: the socket plugin's own lines counter, as /api/v1/status has it" \
    "$(grep -E '^lines +socket +lines +counter' once.out | awk '{print $1, $2, $3, $4, $5}')" \
    "lines socket lines counter $(status '[m["value"] for m in s["plugin_metrics"] if m["stream"] == "lines" and m["name"] == "lines"][0]')"
COLUMNS=40 "$SLUICE_BIN" top --url "$URL" --once >once40.out
check "--once with COLUMNS=40 cuts lines to 40 ($(widest once40.out))" \
    test "$(widest once40.out)" -le 40
stop_group "$RUN_PID"

# 8. --once, unreachable: exit 1 with the reason
"$SLUICE_BIN" top --url "$URL" --once >gone.out 2>gone.err
check_eq "--once, unreachable: exit 1" "$?" 1
check_contains "--once, unreachable: the message" gone.err \
    "sluice top: cannot reach $URL: connection refused"
check_eq "--once, unreachable: nothing on stdout" "$(cat gone.out)" ""

# 9. --once, a reply that is not JSON: exit 1, named
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"state":' >bad.http
start_server "nc -l -N 127.0.0.1 \$PORT <'$WORK/bad.http' >/dev/null"
"$SLUICE_BIN" top --url "http://127.0.0.1:$PORT" --once >bad.out 2>bad.err
check_eq "--once, malformed JSON: exit 1" "$?" 1
check_contains "--once, malformed JSON: the message" bad.err \
    "sluice top: http://127.0.0.1:$PORT/api/v1/status: malformed JSON"

# 10. --once, a server that accepts and says nothing: the 3 s deadline
start_server "sleep 30 | nc -l 127.0.0.1 \$PORT >/dev/null"
t0=$(now_ms)
"$SLUICE_BIN" top --url "http://127.0.0.1:$PORT" --once >hang.out 2>hang.err
code=$? elapsed=$(($(now_ms) - t0))
check_eq "--once, a silent server: exit 1" "$code" 1
check_contains "--once, a silent server: the message" hang.err "no complete reply within 3000 ms"
check "--once, a silent server: gives up after 3 s, not later (${elapsed} ms)" \
    test "$elapsed" -ge 2900 -a "$elapsed" -lt 9000
stop_group "$SERVER_PID"

# 11. --once, a response past the 8 MiB bound
{
    printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n'
    head -c 9000000 /dev/zero | tr '\0' ' '
} >big.http
start_server "nc -l -N 127.0.0.1 \$PORT <'$WORK/big.http' >/dev/null"
"$SLUICE_BIN" top --url "http://127.0.0.1:$PORT" --once >big.out 2>big.err
check_eq "--once, 9 MB of response: exit 1" "$?" 1
check_contains "--once, 9 MB of response: the message" big.err "the response is larger than 8 MiB"

# 12. usage errors
"$SLUICE_BIN" top --interval 5 --once 2>usage.err
check_eq "--interval below 100 ms: exit 2" "$?" 2
"$SLUICE_BIN" top --url https://127.0.0.1:1 --once 2>usage2.err
check_eq "an https URL: exit 2" "$?" 2
check_contains "an https URL: the message" usage2.err "only http:// URLs are supported"
"$SLUICE_BIN" top --url "$URL" </dev/null >notty.out 2>notty.err
check_eq "no terminal and no --once: exit 2" "$?" 2
check_contains "no terminal: the message" notty.err "--once prints one plain frame"
finish

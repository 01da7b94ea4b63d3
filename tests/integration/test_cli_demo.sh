#!/usr/bin/env bash
# test_cli_demo.sh — `sluice demo`, the README's first command: the network
# word count over sluice's own feeder on 127.0.0.1. It runs the batches it
# is asked for and exits 0; the words it counts are those of the lines its
# feeder sent, from the rhyme's first line on, each line once; and it ends
# with nothing left over. The feeder falls quiet just before the last batch
# is cut: before, lines that came in while the run stopped were dropped with
# "received after the last batch were not processed" (15 of 20 runs of
# `--batches 1 --interval 100ms`, 8 of 20 with 2 batches).
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$WORK" || exit 1
export TZ=UTC

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# counted OUT: check that the counts pprint printed in OUT add up to the
# words of the rhyme's first K lines, the lines the feeder sent in order
# (K = 0 when a single short batch was cut before a line came); prints K, or
# why not. A batch cut short by pprint ("...") cannot be added up: prints
# "cut".
counted() {
    "$PY" - "$1" "$SLUICE_SOURCE_DIR/core/src/cli/demo.c" <<'PYEOF'
import ast, collections, re, sys
out, src = open(sys.argv[1]).read(), open(sys.argv[2]).read()
body = re.search(r"demo_text\[\] = \{(.*?)\};", src, re.S).group(1)
lines = [ast.literal_eval(s) for s in re.findall(r'"(?:[^"\\]|\\.)*"', body)]
if "..." in out.splitlines():
    print("cut"); sys.exit(0)
got = collections.Counter()
for m in re.finditer(r"^\('(.*)', (\d+)\)$", out, re.M):
    got[m.group(1)] += int(m.group(2))
want = collections.Counter()
if not got:
    print(0); sys.exit(0)
for k in range(1, 10 * len(lines)):
    want.update(lines[(k - 1) % len(lines)].split())
    if want == got:
        print(k); sys.exit(0)
    if sum(want.values()) > sum(got.values()):
        break
print("no prefix of the rhyme gives these counts: %s" % dict(got))
PYEOF
}

# 1. three batches of 300 ms: the banner, three batch headers, the hint
timeout 60 "$SLUICE_BIN" demo --batches 3 --interval 300ms >three.out 2>three.err
check_eq "--batches 3: exit 0" "$?" 0
check_eq "... three batches printed" "$(grep -c '^Time: ' three.out)" 3
check "... the banner names the feed's port and the batches" \
    grep -qE '^sluice demo: network word count over a built-in feed on 127\.0\.0\.1:[0-9]+, 3 batches of 300ms; see .*network_wordcount\.yaml$' three.err
check_contains "... and the closing hint" three.err "sluice run examples/network_wordcount.yaml --timeout 60"
check "... words counted in the last batch" bash -c \
    "awk '/^Time: /{n++} n==3 && /^\\(/' three.out | grep -q ."
check "... nothing left unprocessed" bash -c "! grep -q 'not processed' three.err"

# 2. short runs, where the stop most often met a line in flight: every
# line sent is counted once, in order, and nothing is left over
warned=0 exact=0 bad=0
for i in 1 2 3 4 5 6 7 8 9 10; do
    batches=$((i % 2 + 1))
    timeout 60 "$SLUICE_BIN" demo --batches "$batches" --interval 100ms >short$i.out 2>short$i.err
    rc=$?
    [ "$rc" = 0 ] || { bad=$((bad + 1)); echo "run $i: exit $rc" >&2; cat short$i.err >&2; }
    [ "$(grep -c '^Time: ' short$i.out)" = "$batches" ] || {
        bad=$((bad + 1))
        echo "run $i: not $batches batches" >&2
    }
    grep -q 'not processed' short$i.err && { warned=$((warned + 1)); grep WARN short$i.err >&2; }
    k=$(counted short$i.out)
    case $k in
    cut | 0) ;;
    [0-9]*) exact=$((exact + 1)) ;;
    *) bad=$((bad + 1)); echo "run $i: $k" >&2 ;;
    esac
done
check_eq "10 short runs: each exits 0 with its batches, its counts a prefix of the rhyme" "$bad" 0
check_eq "... none leaves lines unprocessed" "$warned" 0
check "... the counts were added up in some ($exact of 10)" test "$exact" -ge 1

# 3. usage errors
"$SLUICE_BIN" demo --batches 0 >/dev/null 2>usage.err
check_eq "--batches 0: a usage error (exit 2)" "$?" 2
check_contains "... saying what it expected" usage.err "expected a positive number"
finish

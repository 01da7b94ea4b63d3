#!/usr/bin/env bash
# test_cli_queue.sh — the queue source (Spark's queueStream) through the CLI
# on the manual clock: exact per-batch output of reduce_by_key over pairs and
# of plain elements (unicode, escapes, numbers, lists), an empty batch,
# comments, consecutive batch times, the end of the stream, and a malformed
# line that fails the run with its file and line.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1

# Five batches of pairs; the second is empty; a comment and a blank line are
# not batches. Keys with unicode and escapes, int + double sums, int and null keys.
cat >pairs.jsonl <<'EOF'
[{"key": "a", "value": 1}, {"key": "b", "value": 2}, {"key": "a", "value": 3}]
[]
# a comment is not a batch

[{"key": "héllo", "value": 10}, {"value": 5, "key": "日本"}, {"key": "héllo", "value": -4}]
[{"key": "tab\there \"q\" back\\slash", "value": 1}, {"key": "tab\there \"q\" back\\slash", "value": 1}, {"key": "\u00e9\u65e5", "value": 7}]
[{"key": "a", "value": 2.5}, {"key": "a", "value": 1}, {"key": null, "value": 4}, {"key": 7, "value": 1}, {"key": 7, "value": 2}]
EOF

# Five batches of plain elements (and pairs with list keys and values).
cat >plain.jsonl <<'EOF'
["hello world", "hello"]
[1, 2.5, -3, null, true, false]
["ünïcödé ✓", "emoji 😀", "ctl \u0001\u001f", "esc \" \\ \/ \b \f \n \r \t"]
[[1, "x", [null]], [], ""]
[{"key": "k", "value": [1, 2.5, null]}, {"key": ["a", 1], "value": "v"}]
EOF

cat >queue.yaml <<'EOF'
batch_interval: 500ms
workers: 2
streams:
  pairs: {source: queue, path: "${PAIRS}", on_end: stop}
  sums:  {reduce_by_key: agg.sum, from: pairs}
  plain: {source: queue, path: "${PLAIN}", on_end: stop}
outputs:
  - {sink: jsonl, from: sums, path: "${SUMS}"}
  - {sink: jsonl, from: plain, path: "${RAW}"}
EOF

# Expected output as "BATCH<TAB>key/value part" (batch = index from 0).
# reduce_by_key's order within a batch is not defined: compared sorted.
cat >want_sums <<'EOF'
0	"key":"a","value":4
0	"key":"b","value":2
2	"key":"héllo","value":6
2	"key":"日本","value":5
3	"key":"tab\there \"q\" back\\slash","value":2
3	"key":"é日","value":7
4	"key":"a","value":3.5
4	"key":7,"value":3
4	"key":null,"value":4
EOF
# A source's elements keep their order: compared as is. A plain element has
# no "key" member; a pair has one.
cat >want_raw <<'EOF'
0	"value":"hello world"
0	"value":"hello"
1	"value":1
1	"value":2.5
1	"value":-3
1	"value":null
1	"value":true
1	"value":false
2	"value":"ünïcödé ✓"
2	"value":"emoji 😀"
2	"value":"ctl \u0001\u001f"
2	"value":"esc \" \\ / \b \f \n \r \t"
3	"value":[1,"x",[null]]
3	"value":[]
3	"value":""
4	"key":"k","value":[1,2.5,null]
4	"key":["a",1],"value":"v"
EOF

# "BATCH<TAB>rest" from a jsonl file, batch = (time - T0) / 500.
indexed() {
    LC_ALL=C awk -v t0="$2" '{
        if (!match($0, /^\{"time":[0-9]+,/) || substr($0, length($0)) != "}") { print "BAD " $0; next }
        t = substr($0, 9, RLENGTH - 9)
        printf "%d\t%s\n", (t - t0) / 500, substr($0, RLENGTH + 1, length($0) - RLENGTH - 1)
    }' "$1"
}

# ---- the replay ---------------------------------------------------------------------

# Proves: --clock manual replays both files one line per batch, the run ends
# by itself after the last batch (on_end: stop) with exit 0, reduce_by_key
# sums per key per batch exactly (nothing for the empty batch), plain
# elements come out in order with JSON escapes and unicode intact, and batch
# times are consecutive multiples of the interval.
t0_ms=$(now_ms)
PAIRS=pairs.jsonl PLAIN=plain.jsonl SUMS=sums.out RAW=raw.out \
    timeout -k 5 60 "$SLUICE_BIN" run queue.yaml --clock manual --batches 50 --no-status \
    >run.stdout 2>run.stderr
rc=$?
took=$(($(now_ms) - t0_ms))
check_eq "queue replay exits 0" "$rc" 0
[[ $rc -ne 0 ]] && sed 's/^/    | /' run.stderr >&2
check "manual clock: no waiting for wall-clock batches (took ${took} ms)" test "$took" -lt 10000

times=$(sed -E 's/^\{"time":([0-9]+),.*/\1/' raw.out | uniq)
check_eq "five batches, one per line of the file" "$(echo "$times" | wc -l)" 5
t0=$(echo "$times" | head -n 1)
check_eq "batch times are multiples of the interval" "$((t0 % 500))" 0
check_eq "batch times are consecutive" "$(echo "$times" | awk -v t0="$t0" '$1 != t0 + 500 * (NR - 1)' | wc -l)" 0

indexed raw.out "$t0" >got_raw
check "plain elements: exact output per batch, in order" diff -u want_raw got_raw
indexed sums.out "$t0" | LC_ALL=C sort >got_sums
LC_ALL=C sort want_sums >want_sums.sorted
check "reduce_by_key: exact sums per batch (none for [])" diff -u want_sums.sorted got_sums
check "sums times are among the batch times" test -z "$(sed -E 's/^\{"time":([0-9]+),.*/\1/' sums.out | sort -u |
    comm -23 - <(echo "$times" | sort -u))"
check "the output is valid JSON, line by line" python3 -c '
import json, sys
for path in ("raw.out", "sums.out"):
    for line in open(path, encoding="utf-8"):
        obj = json.loads(line)
        # a pair has a "key" (null too), a plain element none
        assert list(obj) in (["time", "key", "value"], ["time", "value"]), line
'
check "nothing on stdout" test ! -s run.stdout

# ---- a malformed line -------------------------------------------------------------------

# Proves: a malformed queue line fails the run (exit 1, a runtime failure)
# with an error naming the file and its line (counting comments), after the
# batches before it were output.
printf '%s\n' '[{"key": "a", "value": 1}]' '# comment' '[{"key": "a", "value": 1}, oops]' \
    '[{"key": "a", "value": 1}]' >bad.jsonl
PAIRS=bad.jsonl PLAIN=plain.jsonl SUMS=bad_sums.out RAW=bad_raw.out \
    timeout -k 5 60 "$SLUICE_BIN" run queue.yaml --clock manual --batches 50 --no-status \
    >bad.stdout 2>bad.stderr
check_eq "malformed line: exit 1" "$?" 1
check_contains "malformed line: the error names bad.jsonl:3" bad.stderr "bad.jsonl:3"
check_contains "malformed line: the error names the element" bad.stderr "element 2"
check_eq "malformed line: the batch before it was output" "$(wc -l <bad_sums.out)" 1

# A line that is not an array (here an object) is refused the same way.
printf '%s\n' '[{"key": "a", "value": 1}]' '[]' '{"key": "a", "value": 1}' >notarray.jsonl
PAIRS=notarray.jsonl PLAIN=plain.jsonl SUMS=na_sums.out RAW=na_raw.out \
    timeout -k 5 60 "$SLUICE_BIN" run queue.yaml --clock manual --batches 50 --no-status \
    >na.stdout 2>na.stderr
check_eq "non-array line: exit 1" "$?" 1
check_contains "non-array line: names notarray.jsonl:3" na.stderr "notarray.jsonl:3"

# Proves: a line the source cannot allocate is an error naming the file and
# line, not the end of the file (issue 12, fault 4: glibc's getline() returns
# -1 with ENOMEM without setting ferror(), and the rest of the replay was
# skipped with exit 0). The allocation really fails: line 2 is a 300 MB
# string and the run's address space is capped at 250 MB with ulimit -v (a
# plain run of this pipeline needs far less); under ASan, which cannot run
# with a small ulimit -v, its allocator refuses allocations over 100 MB and
# returns NULL instead (allocator_may_return_null).
{
    printf '[{"key": "a", "value": 1}]\n["'
    head -c 300000000 /dev/zero | tr '\0' 'x'
    printf '"]\n[{"key": "b", "value": 1}]\n'
} >huge.jsonl
if nm -D "$SLUICE_BIN" 2>/dev/null | grep -q __asan_init || ldd "$SLUICE_BIN" | grep -q libasan; then
    (
        export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1:max_allocation_size_mb=100"
        PAIRS=huge.jsonl PLAIN=plain.jsonl SUMS=oom_sums.out RAW=oom_raw.out \
            timeout -k 5 60 "$SLUICE_BIN" run queue.yaml --clock manual --batches 50 --no-status \
            >oom.stdout 2>oom.stderr
    )
else
    (
        ulimit -v 250000
        PAIRS=huge.jsonl PLAIN=plain.jsonl SUMS=oom_sums.out RAW=oom_raw.out \
            timeout -k 5 60 "$SLUICE_BIN" run queue.yaml --clock manual --batches 50 --no-status \
            >oom.stdout 2>oom.stderr
    )
fi
check_eq "unallocatable line: exit 1" "$?" 1
check_contains "unallocatable line: names huge.jsonl line 2" oom.stderr "huge.jsonl' line 2"
check_contains "unallocatable line: says why" oom.stderr "Cannot allocate memory"
check_eq "unallocatable line: no batch after it was output" "$(cat oom_sums.out 2>/dev/null | grep -c '"b"')" 0
rm -f huge.jsonl

# A queue file that does not exist is a start-up error naming the file.
PAIRS=missing.jsonl PLAIN=plain.jsonl SUMS=m_sums.out RAW=m_raw.out \
    timeout -k 5 60 "$SLUICE_BIN" run queue.yaml --clock manual --batches 50 --no-status \
    >m.stdout 2>m.stderr
rc=$?
check "missing queue file: fails (exit $rc)" test "$rc" -ne 0
check_contains "missing queue file: names it" m.stderr "missing.jsonl"

finish

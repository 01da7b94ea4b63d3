#!/usr/bin/env bash
# test_text_files.sh — the text_files source (Spark's textFileStream) and
# sink (saveAsTextFiles) through the CLI, on real files:
#   1. files renamed into a directory while sluice runs are counted exactly
#      once by a word count; files there before the start, dot-files,
#      directories and names not matching `pattern` are not read; a line
#      over max_line_bytes is counted and skipped;
#   2. a restart on the checkpoint reads the files that arrived while it
#      was down and none of those read before; process_existing reads the
#      files already there; a file that cannot be read is logged, counted
#      and skipped;
#   3. the sink's file names and contents are exact (an empty batch writes an
#      empty file, elements as pprint prints them), writing the same batches
#      again replaces the files with the same content, no temporary file is
#      left, and a reader polling the directory never sees a partial file;
#   4. a wrong path or prefix is a configuration error (exit 2).
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
mkdir -p in out cp

# ---- 1. word count over files renamed into a directory ------------------------------

cat >wc.yaml <<'EOF'
batch_interval: 100ms
checkpoint: cp
checkpoint_interval: 100ms
streams:
  lines:  {source: text_files, path: in, max_line_bytes: 32}
  words:  {flat_map: text.split, from: lines, sep: " "}
  pairs:  {map: kv.pair, from: words}
  counts: {reduce_by_key: agg.sum, from: pairs}
  logs:   {source: text_files, path: in, pattern: "*.log"}
outputs:
  - {sink: text_files, from: counts, prefix: out/counts, suffix: txt}
  - {sink: text_files, from: logs, prefix: out/logs}
EOF

# Already there at the start: not read (newFilesOnly).
echo "old old old" >in/before.txt

# Sum the counts of every batch file: "word total" lines, sorted.
totals() {
    cat out/counts-*.txt 2>/dev/null |
        sed -E "s/^\('(.*)', ([0-9]+)\)$/\1 \2/" |
        awk '{ t[$1] += $2 } END { for (w in t) print w, t[w] }' | sort
}

# The expected totals of the files put in so far (kept beside them).
want_totals() {
    cat want/* 2>/dev/null | tr ' ' '\n' | grep -v '^$' | sort | uniq -c |
        awk '{ print $2, $1 }' | sort
}

totals_match() {
    [[ "$(totals)" == "$(want_totals)" ]]
}

# put NAME TEXT: write .NAME.tmp, then rename it to NAME (as a writer should).
mkdir -p want
put() {
    printf '%s' "$2" >"in/.$1.tmp"
    mv "in/.$1.tmp" "in/$1"
}

start_group "exec '$SLUICE_BIN' run wc.yaml --log-level info >run1.log 2>&1"
RUN1=$GROUP_PID
have_batch() {
    compgen -G 'out/counts-*.txt' >/dev/null
}
check "first batch file written (pipeline running)" wait_until 20 have_batch

for i in $(seq 1 12); do
    text="alpha beta f$i
gamma alpha
"
    put "f$i.txt" "$text"
    printf '%s' "$text" >"want/f$i"
    sleep 0.03
done
# a line over max_line_bytes (32) between two good lines: skipped, counted
put long.txt "alpha
$(printf 'x%.0s' $(seq 1 40))
beta
"
printf 'alpha\nbeta\n' >want/long
# a dot-file, and a directory: never read
printf 'hidden hidden\n' >in/.hidden
mkdir in/subdir
# a last line without '\n' still counts; CRLF lines lose their '\r'
put crlf.log $'delta\r\nepsilon'
printf 'delta\nepsilon\n' >want/crlf

check "every file counted" wait_until 20 totals_match
got=$(totals)
check_eq "word totals after run 1 (each file exactly once)" "$got" "$(want_totals)"
check_eq "files there before the start are not read" "$(grep -c '^old ' <<<"$got")" 0
check_eq "dot-files are not read" "$(grep -c '^hidden ' <<<"$got")" 0
check_eq "the too-long line is skipped" "$(grep -c '^x' <<<"$got")" 0
check_eq "pattern *.log: only crlf.log's lines" "$(cat out/logs-* | tr '\n' ' ')" "delta epsilon "

stop_group "$RUN1"
check_contains "lines too long counted" run1.log "lines_too_long=1"
check_contains "the skipped line is logged with its file" run1.log \
    "'in/long.txt': 1 line(s) longer than max_line_bytes (32) skipped"
check_contains "files read counted (12 + long + crlf; .log by both sources)" run1.log \
    "lines (text_files): files=14 "
check_contains "before.txt noted as not read" run1.log "already in 'in' are not read"

# ---- 2. restart on the checkpoint ---------------------------------------------------

# Arrive while the pipeline is down: read by the restarted run.
put late1.txt "late alpha
"
printf 'late alpha\n' >want/late1
put late2.txt "late
"
printf 'late\n' >want/late2
before=$(ls out/counts-*.txt | wc -l)

start_group "exec '$SLUICE_BIN' run wc.yaml --log-level info >run2.log 2>&1"
RUN2=$GROUP_PID
check "late files counted after the restart" wait_until 20 totals_match
put after.txt "omega alpha
"
printf 'omega alpha\n' >want/after
check "a file put after the restart counted" wait_until 20 \
    totals_match
sleep 0.3 # a few more batches: nothing may be read twice
stop_group "$RUN2"
check_eq "word totals after the restart (nothing read twice)" "$(totals)" "$(want_totals)"
check_contains "resumed from the checkpoint" run2.log "resuming in: 15 file(s) already read"
check "run 2 wrote more batches" test "$(ls out/counts-*.txt | wc -l)" -gt "$before"

# process_existing: true reads the files already there, in the first batch.
cat >existing.yaml <<'EOF'
batch_interval: 1s
clock: manual
streams:
  lines: {source: text_files, path: in, process_existing: true, pattern: "f1*.txt"}
outputs:
  - {sink: text_files, from: lines, prefix: pe/l}
EOF
mkdir -p pe
"$SLUICE_BIN" run existing.yaml --start-time 0 --batches 2 2>pe.err
check_eq "process_existing run exits 0" "$?" 0
check_eq "process_existing: f1, f10, f11, f12 in name order, in the first batch" \
    "$(cat pe/l-1000)" "$(cat in/f1.txt in/f10.txt in/f11.txt in/f12.txt)"
check "process_existing: nothing new in the second batch" test -f pe/l-2000 -a ! -s pe/l-2000

# A file whose read fails (/proc/self/mem at offset 0: EIO, even for root):
# logged, counted, skipped; the next file is read and the run goes on.
mkdir -p in3 o3
ln -s /proc/self/mem in3/a-unreadable
printf 'good line\n' >in3/b.txt
cat >unreadable.yaml <<'EOF'
batch_interval: 1s
clock: manual
streams:
  lines: {source: text_files, path: in3, process_existing: true}
outputs:
  - {sink: text_files, from: lines, prefix: o3/l}
EOF
"$SLUICE_BIN" run unreadable.yaml --start-time 0 --batches 1 --log-level info 2>unreadable.err
check_eq "an unreadable file is not fatal (exit 0)" "$?" 0
check_contains "the unreadable file is logged" unreadable.err \
    "cannot read 'in3/a-unreadable' (Input/output error); file skipped"
check_contains "and counted" unreadable.err "files=1 lines=1 bytes=10 lines_too_long=0 files_failed=1"
check_eq "the next file is read" "$(cat o3/l-1000)" "good line"

# ---- 3. the sink: names, contents, empty batches, idempotence, atomicity ------------

mkdir -p s
cat >q.jsonl <<'EOF'
["hello world", "x", "", "é ✓"]
[]
[1, 2.5, null, ["a", 1], {"key": "k", "value": 3}, {"key": null, "value": "v"}, {"u": "ann"}, "it's"]
EOF
cat >sink.yaml <<'EOF'
batch_interval: 1s
clock: manual
streams:
  q: {source: queue, path: q.jsonl, on_end: stop}
outputs:
  - {sink: text_files, from: q, prefix: s/q, suffix: txt}
  - {sink: text_files, from: q, prefix: s/n}
  - {sink: pprint, from: q}
EOF
"$SLUICE_BIN" run sink.yaml --start-time 0 >pprint.out 2>sink.err
check_eq "sink run exits 0" "$?" 0
check_eq "file names: PREFIX-TIME.SUFFIX and PREFIX-TIME" "$(ls -A s | tr '\n' ' ')" \
    "n-1000 n-2000 n-3000 q-1000.txt q-2000.txt q-3000.txt "
check_eq "batch 1 contents" "$(cat s/q-1000.txt)" $'hello world\nx\n\né ✓'
check_eq "batch 1 bytes (one '\\n' per element)" "$(wc -c <s/q-1000.txt)" 22
check "the empty batch wrote an empty file" test -f s/q-2000.txt -a ! -s s/q-2000.txt
check_eq "batch 3: repr of everything but strings" "$(cat s/q-3000.txt)" \
    "1
2.5
None
('a', 1)
('k', 3)
(None, 'v')
{'u': 'ann'}
it's"
# the elements exactly as pprint printed them (its header and blank lines dropped)
grep -v -e '^---' -e '^Time: ' pprint.out | grep -v '^$' >pprint.elems
cat s/q-*.txt | grep -v '^$' >sink.elems
check "elements as pprint prints them" cmp -s pprint.elems sink.elems
check "without suffix: the same content" cmp -s s/q-3000.txt s/n-3000

cp s/q-3000.txt q3.want
echo "junk that must go" >s/q-3000.txt
"$SLUICE_BIN" run sink.yaml --start-time 0 >/dev/null 2>>sink.err
check "replayed batch: same content again" cmp -s s/q-3000.txt q3.want
check_eq "replay: the same files, no temporary left" "$(ls -A s | tr '\n' ' ')" \
    "n-1000 n-2000 n-3000 q-1000.txt q-2000.txt q-3000.txt "

# Atomicity: 60 batches of 20,000 lines, each ending with END; a reader
# polls the directory all through the run, and every file it finds under a
# final name must be whole.
python3 - <<'EOF' >big.jsonl
import json
for b in range(60):
    print(json.dumps(["line %d of batch %d" % (i, b) for i in range(20000)] + ["END"]))
EOF
mkdir -p big
cat >big.yaml <<'EOF'
batch_interval: 1s
clock: manual
streams:
  q: {source: queue, path: big.jsonl, on_end: stop}
outputs:
  - {sink: text_files, from: q, prefix: big/b, suffix: txt}
EOF
cat >watch.py <<'EOF'
import os, time
bad, reads, midrun = [], 0, 0
open("watch.ready", "w").close()
deadline = time.time() + 120
while time.time() < deadline:
    done = os.path.exists("big.done")  # then one last full pass
    names = [n for n in os.listdir("big") if not n.startswith(".")]
    midrun += 0 < len(names) < 60
    for name in names:
        with open(os.path.join("big", name), "rb") as f:
            data = f.read()
        reads += 1
        lines = data.split(b"\n")
        if lines[-2:] != [b"END", b""] or len(lines) != 20002:
            bad.append((name, len(data)))
    if done:
        break
print(reads, midrun, len(bad), bad[:3])
EOF
python3 watch.py >watch.out &
WATCH=$!
check "the reader is ready" wait_until 20 test -e watch.ready
"$SLUICE_BIN" run big.yaml --start-time 0 2>big.err
check_eq "big run exits 0" "$?" 0
touch big.done
wait "$WATCH"
read -r nreads nmid nbad _ <watch.out
check_eq "the reader found no partial file ($nreads reads, $nmid passes during the run)" "$nbad" 0
check "the reader listed the directory while files were being written" test "$nmid" -ge 1
check_eq "all 60 files, none left temporary" "$(ls -A big | wc -l)" 60

# ---- 4. configuration errors --------------------------------------------------------

cat >bad1.yaml <<'EOF'
batch_interval: 1s
streams:
  lines: {source: text_files, path: no/such/dir}
outputs:
  - {sink: pprint, from: lines}
EOF
"$SLUICE_BIN" validate bad1.yaml >bad1.out 2>&1
check_eq "missing directory: exit 2" "$?" 2
check_contains "missing directory: named" bad1.out "cannot watch directory 'no/such/dir'"
cat >bad2.yaml <<'EOF'
batch_interval: 1s
streams:
  lines: {source: text_files, path: in}
outputs:
  - {sink: text_files, from: lines, prefix: no/such/dir/p}
EOF
"$SLUICE_BIN" validate bad2.yaml >bad2.out 2>&1
check_eq "sink prefix in a missing directory: exit 2" "$?" 2
check_contains "sink prefix: named" bad2.out "prefix 'no/such/dir/p': directory 'no/such/dir'"
check_eq "validate leaves no file behind" "$(ls -A no 2>/dev/null | wc -l)" 0

finish

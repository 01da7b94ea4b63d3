#!/usr/bin/env bash
# bench/spark/oracle.sh — Spark Streaming 3.5.9 as the oracle for sluice (issue 11, point 2).
#
#   bench/spark/oracle.sh [--size BYTES] [--batch BYTES] [--seed N] [--build DIR] [--only MODE,...]
#
# Generates a Zipf corpus (default 1 MB, seed 7) and cuts it into queue batches (bench/mkqueue,
# default 100,000 bytes each: 10 batches), plus one batch of edge cases (runs of spaces, empty
# line, leading/trailing spaces, UTF-8). The same batches go through six pipelines, each run
# both in Spark (bench/spark Oracle MODE: queueStream, one RDD per batch, local[2]) and in
# sluice (the queue source, --clock manual --start-time 0: bench/spark_oracle_MODE.yaml; all
# split on " " as PySpark's line.split(" ")):
#   count    the network word count (reduceByKey)
#   state    the stateful one (updateStateByKey, running sum)
#   window   reduceByKeyAndWindow(sum, 3 batches, slide 1 and slide 2 batches; 2 batches, slide 3)
#   inverse  the same with an inverse: 3/1 and 3/2 filtered (count != 0: kv.nonzero), 3/1 and
#            4/2 unfiltered (keys at 0 stay), 2/2 (agg.count), and 2/3, a window shorter than
#            its slide, compared with Spark's recomputed form (its incremental one adds the
#            batches in the gaps: docs/semantics.md; the script prints by how many rows)
#   join     join, leftOuterJoin, rightOuterJoin, fullOuterJoin and cogroup of the word counts
#            of these batches and of a second queue (the corpus's lines reversed, cut at 3/4 of
#            --batch, as many batches, its own edge-case batch last)
#   remove   updateStateByKey removing a word absent from the batch or whose count goes over 20
#            (agg.expiring, max: 20, drop_idle: true)
# and every output's batches are compared row for row (output, batch index, key, value as
# sluice's jsonl writes it; for the stateful ones the whole state after each batch), sorted
# within a batch. Exit 1 on any difference, naming the first differing output, batch and
# row. --only runs some modes (e.g. --only window,join). Not part of CI: needs mvn, javac
# and java 17 (the jars as bench/spark.sh).
set -euo pipefail

SIZE=1000000
BATCH=100000
SEED=7
BUILD=build-bench
ONLY=count,state,window,inverse,join,remove
while [ $# -gt 0 ]; do
    case "$1" in
    --size) SIZE=${2:?}; shift 2 ;;
    --batch) BATCH=${2:?}; shift 2 ;;
    --seed) SEED=${2:?}; shift 2 ;;
    --build) BUILD=${2:?}; shift 2 ;;
    --only) ONLY=${2:?}; shift 2 ;;
    -h | --help) sed -n '4p' "$0" | sed 's/^# *//' >&2; exit 2 ;;
    *) echo "bench/spark/oracle.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
case "$SIZE$BATCH$SEED" in
*[!0-9]*) echo "bench/spark/oracle.sh: --size, --batch and --seed take numbers" >&2; exit 2 ;;
esac
MODES=()
for m in ${ONLY//,/ }; do
    case "$m" in
    count | state | window | inverse | join | remove) MODES+=("$m") ;;
    *) echo "bench/spark/oracle.sh: --only: unknown mode '$m' (count, state, window, inverse, join, remove)" >&2; exit 2 ;;
    esac
done
[ ${#MODES[@]} -gt 0 ] || { echo "bench/spark/oracle.sh: --only: no mode" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export LC_ALL=C
RUN=bench/.data/oracle
rm -rf "$RUN"
mkdir -p "$RUN"
die() { echo "bench/spark/oracle.sh: $*" >&2; exit 1; }

# shellcheck source=lib.sh
source bench/spark/lib.sh
spark_setup >/dev/null

"$TOOLS/gen_corpus" "$RUN/corpus.txt" "$SIZE" "$SEED" 2>/dev/null
"$TOOLS/mkqueue" "$RUN/corpus.txt" "$RUN/queue.jsonl" "$BATCH" 2>/dev/null
# One more batch of the cases where splitting on " " differs from splitting on whitespace:
# runs of spaces, an empty line, leading and trailing spaces, only spaces, UTF-8.
printf '%s\n' '["a  b", "", "\u00e9 \u00fc a", " lead", "trail ", "  ", "a"]' >>"$RUN/queue.jsonl"
NB=$(wc -l <"$RUN/queue.jsonl")
# The join's second input: the same words (one vocabulary per seed), other batches: the
# corpus's lines in reverse order, cut at 3/4 of --batch, cut or padded with empty batches
# to NB - 1, then its own edge cases (the empty word, UTF-8, words of the first's).
tac "$RUN/corpus.txt" >"$RUN/corpus2.txt"
"$TOOLS/mkqueue" "$RUN/corpus2.txt" "$RUN/queue2.all" "$(((BATCH * 3 + 3) / 4))" 2>/dev/null
{
    head -n $((NB - 1)) "$RUN/queue2.all"
    for ((i = $(wc -l <"$RUN/queue2.all"); i < NB - 1; i++)); do echo '[]'; done
    printf '%s\n' '["a a \u00e9", "", "trail", "zz  a"]'
} >"$RUN/queue2.jsonl"

# The outputs of each mode: the names the Oracle writes and the YAML's outputs.
outputs() {
    case "$1" in
    count | state | remove) echo "$1" ;;
    window) echo w3s1 w3s2 w2s3 ;;
    inverse) echo inv3s1 inv3s2 inv3s1z inv4s2z inv2s2 inv2s3 ;;
    join) echo join left right full cogroup ;;
    esac
}

# One of sluice's jsonl files ({"time":T,"key":"w","value":V}, keys plain words here, batch
# i at T = (i + 1) s with --start-time 0) -> "NAME TAB i TAB w TAB V" on stdout.
to_rows() {
    sed -n 's/^{"time":\([1-9][0-9]*\)000,"key":"\([^"\\]*\)","value":\(.*\)}$/\1\t\2\t\3/p' "$2" |
        awk -F'\t' -v OFS='\t' -v name="$1" '{print name, $1 - 1, $2, $3}' >"$2.rows"
    [ "$(wc -l <"$2")" = "$(wc -l <"$2.rows")" ] ||
        die "$2: lines that are not {time: a whole second, key: a plain word, value}"
    cat "$2.rows"
}

# "NAME: B batches, R rows" for each output in the rows file $1.
summary() {
    awk -F'\t' '!(($1, $2) in b) {b[$1, $2]; nb[$1]++} {nr[$1]++; if (!($1 in seen)) {seen[$1]; o[n++] = $1}}
        END {for (i = 0; i < n; i++) printf "%s%s %d batches %d rows", i ? "; " : "", o[i], nb[o[i]], nr[o[i]]}' "$1"
}

FAILED=0
for mode in "${MODES[@]}"; do
    extra=()
    [ "$mode" != join ] || extra=("$RUN/queue2.jsonl")
    "${SPARK_JAVA[@]}" sluice.bench.Oracle "$mode" \
        "$RUN/queue.jsonl" "$RUN/spark-$mode.tsv" "$RUN/spark-$mode.ckpt" "${extra[@]}" 2>"$RUN/spark-$mode.log" ||
        { tail -n 20 "$RUN/spark-$mode.log" >&2; die "Spark ($mode) failed"; }
    # Outputs named NAME-spark are Spark's own forms that sluice is not compared with.
    awk -F'\t' '$1 !~ /-spark$/' "$RUN/spark-$mode.tsv" | sort >"$RUN/spark-$mode.rows"
    awk -F'\t' -v OFS='\t' '$1 ~ /-spark$/ {sub(/-spark$/, "", $1); print}' "$RUN/spark-$mode.tsv" |
        sort >"$RUN/spark-$mode.own"
    QUEUE="$RUN/queue.jsonl" QUEUE2="$RUN/queue2.jsonl" OUT="$RUN/sluice-$mode.jsonl" \
        CHECKPOINT_DIR="$RUN/sluice-$mode.ckpt" \
        "$SLUICE" run "bench/spark_oracle_$mode.yaml" --clock manual --start-time 0 --log-level warn \
        2>"$RUN/sluice-$mode.log" || { cat "$RUN/sluice-$mode.log" >&2; die "sluice ($mode) failed"; }
    for name in $(outputs "$mode"); do
        file="$RUN/sluice-$mode.jsonl"
        case "$mode" in count | state) ;; *) file=$file.$name ;; esac
        [ -f "$file" ] || die "sluice ($mode) wrote no $file"
        to_rows "$name" "$file"
    done | sort >"$RUN/sluice-$mode.rows"
    if cmp -s "$RUN/spark-$mode.rows" "$RUN/sluice-$mode.rows"; then
        echo "$mode: identical over $NB input batches: $(summary "$RUN/spark-$mode.rows")"
        for name in $(cut -f1 "$RUN/spark-$mode.own" | sort -u); do
            awk -F'\t' -v n="$name" '$1 == n' "$RUN/spark-$mode.rows" >"$RUN/spark-$mode.ref"
            awk -F'\t' -v n="$name" '$1 == n' "$RUN/spark-$mode.own" >"$RUN/spark-$mode.cmp"
            echo "  $name: compared with Spark's recomputed form; Spark's incremental one differs" \
                "from it in $(comm -3 "$RUN/spark-$mode.ref" "$RUN/spark-$mode.cmp" | wc -l) rows" \
                "($(wc -l <"$RUN/spark-$mode.cmp") rows against $(wc -l <"$RUN/spark-$mode.ref"))"
        done
    else
        FAILED=1
        # The differing rows, by output, then batch index (as a number), then key.
        comm -3 "$RUN/spark-$mode.rows" "$RUN/sluice-$mode.rows" |
            awk '/^\t/ {print "sluice only\t" substr($0, 2); next} {print "spark only\t" $0}' |
            sort -t "$(printf '\t')" -k2,2 -k3,3n -k4 >"$RUN/diff-$mode.tsv"
        first=$(head -n 1 "$RUN/diff-$mode.tsv")
        echo "MISMATCH: $mode: $(wc -l <"$RUN/diff-$mode.tsv") rows differ; the first in output" \
            "'$(cut -f2 <<<"$first")', batch $(cut -f3 <<<"$first"): $(cut -f1 <<<"$first"):" \
            "key '$(cut -f4 <<<"$first")' value $(cut -f5 <<<"$first")" >&2
        echo "  (spark: $RUN/spark-$mode.rows, sluice: $RUN/sluice-$mode.rows, all: $RUN/diff-$mode.tsv); first rows:" >&2
        head -n 10 "$RUN/diff-$mode.tsv" | sed 's/^/  /' >&2
        echo "  spark: $(summary "$RUN/spark-$mode.rows")" >&2
        echo "  sluice: $(summary "$RUN/sluice-$mode.rows")" >&2
    fi
done
exit $FAILED

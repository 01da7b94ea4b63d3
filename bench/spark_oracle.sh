#!/usr/bin/env bash
# bench/spark_oracle.sh — Spark Streaming 3.5.9 as the oracle for sluice's word counts (issue 11).
#
#   bench/spark_oracle.sh [--size BYTES] [--batch BYTES] [--seed N] [--build DIR]
#
# Generates a Zipf corpus (default 1 MB, seed 7) and cuts it into queue batches (bench/mkqueue,
# default 100,000 bytes each: 10 batches), then runs the network word count and the stateful
# one both in Spark (bench/spark Oracle: queueStream, one RDD per batch, local[2]) and in
# sluice (the queue source, --clock manual: bench/spark_oracle_count.yaml and
# bench/spark_oracle_state.yaml; both split on " " as PySpark's line.split(" ")), plus one
# batch of edge cases (runs of spaces, empty line, leading/trailing spaces, UTF-8), and compares every batch's output, row for row (batch
# index, word, count; for the stateful count the whole state after each batch). Exit 1 on
# any difference. Not part of CI: needs mvn, javac and java 17 (the jars as bench/spark.sh).
set -euo pipefail

SIZE=1000000
BATCH=100000
SEED=7
BUILD=build-bench
while [ $# -gt 0 ]; do
    case "$1" in
    --size) SIZE=${2:?}; shift 2 ;;
    --batch) BATCH=${2:?}; shift 2 ;;
    --seed) SEED=${2:?}; shift 2 ;;
    --build) BUILD=${2:?}; shift 2 ;;
    -h | --help) sed -n '4p' "$0" | sed 's/^# *//' >&2; exit 2 ;;
    *) echo "spark_oracle.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
case "$SIZE$BATCH$SEED" in
*[!0-9]*) echo "spark_oracle.sh: --size, --batch and --seed take numbers" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export LC_ALL=C
CACHE=${SLUICE_SPARK_CACHE:-$HOME/.cache/sluice-spark}
RUN=bench/.data/oracle
rm -rf "$RUN"
mkdir -p "$RUN" "$CACHE/classes"
die() { echo "spark_oracle.sh: $*" >&2; exit 1; }

for t in mvn javac java; do command -v $t >/dev/null || die "$t is not installed"; done
[ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$RUN/configure.log" 2>&1 ||
    { cat "$RUN/configure.log" >&2; die "cmake configure failed"; }
cmake --build "$BUILD" -j "$(nproc)" >"$RUN/build.log" 2>&1 || { tail -n 40 "$RUN/build.log" >&2; die "build failed"; }
TOOLS=$BUILD/bench
SLUICE=$BUILD/bin/sluice
if [ ! -f "$CACHE/lib/.complete" ]; then
    mvn -q -B -f bench/spark/pom.xml -Dmaven.repo.local="$CACHE/m2" dependency:copy-dependencies \
        -DoutputDirectory="$CACHE/lib" >"$RUN/mvn.log" 2>&1 || { tail -n 20 "$RUN/mvn.log" >&2; die "mvn failed"; }
    touch "$CACHE/lib/.complete"
fi
javac -nowarn --release 17 -cp "$CACHE/lib/*" -d "$CACHE/classes" bench/spark/src/main/java/sluice/bench/*.java \
    2>"$RUN/javac.log" || { cat "$RUN/javac.log" >&2; die "javac failed"; }
OPENS=()
for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util \
    java.util.concurrent java.util.concurrent.atomic sun.nio.ch sun.nio.cs sun.security.action \
    sun.util.calendar; do
    OPENS+=("--add-opens=java.base/$p=ALL-UNNAMED")
done

"$TOOLS/gen_corpus" "$RUN/corpus.txt" "$SIZE" "$SEED" 2>/dev/null
"$TOOLS/mkqueue" "$RUN/corpus.txt" "$RUN/queue.jsonl" "$BATCH" 2>/dev/null
# One more batch of the cases where splitting on " " differs from splitting on whitespace:
# runs of spaces, an empty line, leading and trailing spaces, only spaces, UTF-8.
printf '%s\n' '["a  b", "", "\u00e9 \u00fc a", " lead", "trail ", "  ", "a"]' >>"$RUN/queue.jsonl"
NB=$(wc -l <"$RUN/queue.jsonl")

# sluice's jsonl ({"time":T,"key":"w","value":N}, keys plain words here) -> "index TAB w TAB N",
# the index being the rank of T among the batch times (every batch of the corpus has words).
to_rows() {
    sed -n 's/^{"time":\([0-9]*\),"key":"\([^"\\]*\)","value":\([0-9]*\)}$/\1\t\2\t\3/p' "$1" |
        awk -F'\t' -v OFS='\t' '!($1 in r) {r[$1] = n++} {print r[$1], $2, $3}' | sort >"$2"
    [ "$(wc -l <"$1")" = "$(wc -l <"$2")" ] || die "$1: lines that are not {time, plain key, value}"
}

FAILED=0
for mode in count state; do
    java "${OPENS[@]}" -cp "$CACHE/classes:$CACHE/lib/*" sluice.bench.Oracle "$mode" \
        "$RUN/queue.jsonl" "$RUN/spark-$mode.tsv" "$RUN/spark-$mode.ckpt" 2>"$RUN/spark-$mode.log" ||
        { tail -n 20 "$RUN/spark-$mode.log" >&2; die "Spark ($mode) failed"; }
    sort "$RUN/spark-$mode.tsv" >"$RUN/spark-$mode.rows"
    yaml=bench/spark_oracle_count.yaml
    [ "$mode" = count ] || yaml=bench/spark_oracle_state.yaml
    QUEUE="$RUN/queue.jsonl" OUT="$RUN/sluice-$mode.jsonl" CHECKPOINT_DIR="$RUN/sluice-$mode.ckpt" \
        "$SLUICE" run "$yaml" --clock manual --log-level warn 2>"$RUN/sluice-$mode.log" ||
        { cat "$RUN/sluice-$mode.log" >&2; die "sluice ($mode) failed"; }
    to_rows "$RUN/sluice-$mode.jsonl" "$RUN/sluice-$mode.rows"
    rows=$(wc -l <"$RUN/spark-$mode.rows")
    batches=$(cut -f1 "$RUN/sluice-$mode.rows" | sort -u | wc -l)
    if cmp -s "$RUN/spark-$mode.rows" "$RUN/sluice-$mode.rows"; then
        echo "$mode: identical: $NB batches (sluice wrote $batches), $rows (batch, word, count) rows"
    else
        FAILED=1
        echo "MISMATCH: $mode: $(comm -3 "$RUN/spark-$mode.rows" "$RUN/sluice-$mode.rows" | wc -l) rows differ" \
            "(spark: $RUN/spark-$mode.rows, sluice: $RUN/sluice-$mode.rows); first:" >&2
        comm -3 "$RUN/spark-$mode.rows" "$RUN/sluice-$mode.rows" | head -n 10 >&2
    fi
done
exit $FAILED

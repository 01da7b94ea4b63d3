#!/usr/bin/env bash
# bench/doubles.sh — doubles through the jsonl sink, before and after a change (issue 11).
#
#   bench/doubles.sh [--values N] [--before REV] [--runs N]
#
# Builds (Release) the sluice CLI and the queue and jsonl plugins of the working tree and of
# REV (default: the commit before core/src/dtoa.c was added, i.e. the snprintf+strtod
# loop), in bench/.data/run-doubles, writes a queue file of N doubles (default 500000; 10
# batches; random magnitudes 1e-12..1e12 with 17 significant digits, as measurements
# look), runs `sluice run --clock manual` queue -> jsonl with each binary (the fastest of
# --runs), checks that both outputs are identical but for the batch times, and prints the wall times and
# their ratio, and the time of the same run with N integers instead (the speed to match).
set -euo pipefail

VALUES=500000
BEFORE=
RUNS=1
while [ $# -gt 0 ]; do
    case "$1" in
    --values) VALUES=${2:?}; shift 2 ;;
    --before) BEFORE=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    *) sed -n '4p' "$0" | sed 's/^# *//' >&2; exit 2 ;;
    esac
done
case "$VALUES$RUNS" in *[!0-9]*) echo "doubles.sh: --values and --runs take numbers" >&2; exit 2 ;; esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export LC_ALL=C
RUN=bench/.data/run-doubles
mkdir -p "$RUN"
die() { echo "doubles.sh: $*" >&2; exit 1; }
if [ -z "$BEFORE" ]; then
    BEFORE=$(git log --diff-filter=A --format=%H -- core/src/dtoa.c | tail -n 1)
    [ -n "$BEFORE" ] || die "core/src/dtoa.c is not committed: give --before REV"
    BEFORE=$BEFORE^
fi
BEFORE=$(git rev-parse --short "$BEFORE")

# build SRC DIR: the CLI and the two plugins, Release.
build() {
    cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DSLUICE_BUILD_TESTS=OFF \
        -DSLUICE_BUILD_BENCH=OFF >"$2.configure.log" 2>&1 ||
        { cat "$2.configure.log" >&2; die "configure of $1 failed"; }
    cmake --build "$2" -j 2 --target sluice_cli plugin_queue plugin_jsonl >"$2.build.log" 2>&1 ||
        { tail -n 30 "$2.build.log" >&2; die "build of $1 failed"; }
}
echo "== building the working tree and $BEFORE (Release)"
if [ ! -d "$RUN/src-$BEFORE" ]; then # extracted once per revision: rebuilds stay incremental
    rm -rf "$RUN"/src-* "$RUN/build-before"
    mkdir -p "$RUN/src-$BEFORE"
    git archive "$BEFORE" | tar -x -C "$RUN/src-$BEFORE"
fi
build . "$RUN/build-after"
build "$RUN/src-$BEFORE" "$RUN/build-before"

Q=$RUN/doubles-$VALUES.jsonl
python3 - "$VALUES" >"$Q" <<'PY'
import json, random, sys
rng = random.Random(11)
n = int(sys.argv[1]); per = max(1, n // 10)
for start in range(0, n, per):
    print(json.dumps([rng.random() * 10 ** rng.randint(-12, 12) for _ in range(min(per, n - start))]))
PY
I=$RUN/ints-$VALUES.jsonl # the same shape with integers: the speed to match
python3 - "$VALUES" >"$I" <<'PY'
import json, random, sys
rng = random.Random(11)
n = int(sys.argv[1]); per = max(1, n // 10)
for start in range(0, n, per):
    print(json.dumps([rng.randrange(-10**15, 10**15) for _ in range(min(per, n - start))]))
PY
sed "s#$Q#$I#" >"$RUN/ints.yaml" <<YAML
batch_interval: 1s
streams:
  q: {source: queue, path: "$ROOT/$Q", on_end: stop}
outputs:
  - {sink: jsonl, from: q, path: out.jsonl}
YAML
cat >"$RUN/doubles.yaml" <<YAML
batch_interval: 1s
streams:
  q: {source: queue, path: "$ROOT/$Q", on_end: stop}
outputs:
  - {sink: jsonl, from: q, path: out.jsonl}
YAML

# run NAME [CONFIG]: build-NAME's fastest of $RUNS runs, wall seconds in T[NAME].
declare -A T
run() {
    local b=$RUN/build-${1%-ints} w r yaml=${2:-doubles.yaml}
    for r in $(seq 1 "$RUNS"); do
        rm -rf "$RUN/w-$1" && mkdir -p "$RUN/w-$1"
        (cd "$RUN/w-$1" && SLUICE_PLUGIN_PATH=$ROOT/$b/lib/sluice/plugins \
            /usr/bin/time -o time -f %e "$ROOT/$b/bin/sluice" run "$ROOT/$RUN/$yaml" \
            --clock manual --no-status >log 2>&1) || { tail "$RUN/w-$1/log" >&2; die "$1 failed"; }
        w=$(cat "$RUN/w-$1/time")
        if [ -z "${T[$1]:-}" ] || awk -v a="$w" -v b="${T[$1]}" 'BEGIN { exit !(a < b) }'; then
            T[$1]=$w
        fi
    done
}
run before
run after
run after-ints ints.yaml
[ "$(wc -l <"$RUN/w-after/out.jsonl")" -eq "$VALUES" ] || die "after: not $VALUES lines"
# the batch times differ (the manual clock starts at "now"): compare the rest of each line;
# a commit before decisions.md §25 wrote "key":null for these plain elements, a later one no key
cmp -s <(sed -E 's/^\{"time":[0-9]*,("key":null,)?//' "$RUN/w-before/out.jsonl") \
    <(sed -E 's/^\{"time":[0-9]*,("key":null,)?//' "$RUN/w-after/out.jsonl") || die "outputs differ"
echo "$VALUES doubles, queue -> jsonl, --clock manual: outputs identical (batch times aside)"
printf 'before (%s): %6.2f s\nafter  (%s): %6.2f s\nratio before/after: %.1f\nafter, %s integers instead: %6.2f s\n' \
    "$BEFORE" "${T[before]}" "$(git rev-parse --short HEAD)$(git diff --quiet || echo +)" \
    "${T[after]}" "$(awk -v a="${T[before]}" -v b="${T[after]}" 'BEGIN { print a / (b > 0 ? b : 0.01) }')" \
    "$VALUES" "${T[after-ints]}"

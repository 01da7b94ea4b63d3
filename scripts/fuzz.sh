#!/usr/bin/env bash
# scripts/fuzz.sh — build the instrumented tree and run libFuzzer targets.
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]
#   scripts/fuzz.sh --list | --help
#
# Builds build-fuzz/ with clang and -DSLUICE_LIBFUZZER=ON (the library, the
# CLI, every connector and plugin instrumented for coverage, with ASan and
# UBSan), then runs TARGET (a name from --list, e.g. queue or fuzz_queue;
# default: all, one after the other) for SECONDS each (default 60).
#
# Each target starts from its committed seeds, tests/fuzz/corpus/TARGET/, and
# keeps what it finds OUTSIDE the repo, in $SLUICE_FUZZ_OUT (default
# ${TMPDIR:-/tmp}/sluice-fuzz): corpus/TARGET/ (new inputs), TARGET.log (the
# fuzzer's output), crashes/ (reproducers). One summary line per target:
# seconds it ran (wall), CPU seconds it used (user + system), executions,
# coverage (libFuzzer's cov: and ft:), crashes, and slow units: inputs that
# took more than 10 s (libFuzzer's slow-unit-* files, which are no crash; on
# a loaded machine, usually an input that waited for a core).
#
# Exit status: 0 if no target crashed, 1 if one did (the reproducer's path
# and the command that replays it are printed), 2 for a usage or build error.
#
# Environment:
#   SLUICE_FUZZ_OUT        where findings and logs go (default above)
#   SLUICE_FUZZ_BUILD_DIR  the instrumented tree (default build-fuzz)
#   SLUICE_FUZZ_NICE       niceness of the fuzzer (default 10: the machine is shared);
#                          with autogroup scheduling, the fuzzer runs in a session of
#                          its own whose autogroup gets this niceness as well
#   SLUICE_FUZZ_CLOCK      wall (default): SECONDS of elapsed time; cpu: SECONDS of
#                          the fuzzer's CPU time (user + system, with the children
#                          it forks), for a campaign on a machine that also does
#                          other work (at most 20 x SECONDS of elapsed time all
#                          the same)
#   SLUICE_FUZZ_ARGS       more libFuzzer flags, e.g. "-jobs=4 -workers=4"
#
# A campaign of one CPU-hour per target (docs/fuzzing.md):
#   scripts/fuzz.sh all 3600
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2
build=${SLUICE_FUZZ_BUILD_DIR:-build-fuzz}
out=${SLUICE_FUZZ_OUT:-${TMPDIR:-/tmp}/sluice-fuzz}
niceness=${SLUICE_FUZZ_NICE:-10}
clock=${SLUICE_FUZZ_CLOCK:-wall}

usage() { sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

# The targets: tests/fuzz/fuzz_NAME.c, by NAME.
targets() {
    for f in tests/fuzz/fuzz_*.c; do
        f=${f##*/fuzz_}
        echo "${f%.c}"
    done
}

case "${1:-}" in
-h | --help)
    usage
    exit 0
    ;;
--list)
    targets
    exit 0
    ;;
esac
which=${1:-all}
which=${which#fuzz_}
seconds=${2:-60}
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "fuzz.sh: SECONDS must be a positive number, got '$seconds' (see --help)" >&2
    exit 2
fi
if [ "$clock" != wall ] && [ "$clock" != cpu ]; then
    echo "fuzz.sh: SLUICE_FUZZ_CLOCK must be wall or cpu, got '$clock'" >&2
    exit 2
fi
if [ "$which" = all ]; then
    mapfile -t run < <(targets)
elif [ -f "tests/fuzz/fuzz_$which.c" ]; then
    run=("$which")
else
    echo "fuzz.sh: no target '$which'; the targets are: $(targets | tr '\n' ' ')" >&2
    exit 2
fi

# ---- build ---------------------------------------------------------------------
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz.sh: clang is missing: run scripts/deps.sh" >&2
    exit 2
fi
mkdir -p "$out/crashes" || exit 2
out=$(cd "$out" && pwd) # absolute: a target may change its directory (fuzz_cli does)
echo "fuzz.sh: building $build/ (clang, -DSLUICE_LIBFUZZER=ON)"
if ! { CC=clang cmake -S . -B "$build" -DSLUICE_LIBFUZZER=ON -DSLUICE_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build "$build" --parallel 2 --target fuzz; } \
    >"$out/build.log" 2>&1; then
    tail -n 40 "$out/build.log"
    echo "fuzz.sh: the build failed (log: $out/build.log; the libFuzzer runtime comes" \
        "with scripts/deps.sh)" >&2
    exit 2
fi

# ---- run -------------------------------------------------------------------------
# CPU seconds (user + system) of every child this shell has waited for: the
# difference around one fuzzer is the CPU time it used, which is what a
# campaign of "one CPU-hour per target" counts on a shared machine. `times`
# must run in this shell (a $(...) subshell has no children yet), so its
# report goes through a file.
children_cpu() {
    times >"$out/.times.$$"
    awk 'NR == 2 {
        n = split($0, f, " ")
        for (i = 1; i <= n; i++) {
            split(f[i], ms, "m")
            s += ms[1] * 60 + ms[2]
        }
        printf "%d", s
    }' "$out/.times.$$"
    rm -f "$out/.times.$$"
}
# CPU seconds (user + system) a running process has used so far, its own and
# that of the children it has waited for (fuzz_grep forks to time each regex
# compile: more than half its CPU is in those children). The same count as
# children_cpu's once the process has ended, so the limit and the summary's
# cpu_s agree.
proc_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%d", ($12 + $13 + $14 + $15) / hz }' \
        "/proc/$1/stat" 2>/dev/null
}
# With the kernel's autogroup scheduling (sched_autogroup_enabled: Debian's
# default), niceness ranks processes only within one session: a fuzzer at 19
# still took a full share of a core from a test run in another session (CI's
# timing tests failed beside it). So the fuzzer gets a session of its own
# (setsid) and that session's autogroup gets the niceness too.
autogroup=0
if [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ] &&
    command -v setsid >/dev/null 2>&1; then
    autogroup=1
fi
# nice_session PID: once PID leads its own session, give its autogroup our niceness
# (never before: the autogroup would still be this shell's, the caller's session)
nice_session() {
    local _
    for _ in $(seq 1 100); do
        if [ "$(awk '{ sub(/^.*\) /, ""); print $4 }' "/proc/$1/stat" 2>/dev/null)" = "$1" ]; then
            echo "$niceness" >"/proc/$1/autogroup" 2>/dev/null
            return
        fi
        sleep 0.01
    done
}
pid=
# Ctrl-C or a TERM reaches this script, not the fuzzer in its own session: pass it on
trap '[ -n "$pid" ] && kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$out/.start.$$"; exit 130' INT TERM
export SLUICE_PLUGIN_PATH="$root/$build/lib/sluice/plugins"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
crashed=()
printf '%-14s %8s %8s %12s %8s %8s %7s %s\n' target seconds cpu_s execs cov ft crashes slow
# artifacts of target $1 (crash-, leak-, timeout-, oom-), or its slow units with $2 = slow;
# $3: only those newer than that file
artifacts() {
    local match=(-name "$1-*" ! -name "$1-slow-unit-*")
    [ "${2:-}" = slow ] && match=(-name "$1-slow-unit-*")
    find "$out/crashes" "${match[@]}" ${3:+-newer "$3"}
}
for t in "${run[@]}"; do
    mkdir -p "$out/corpus/$t"
    log="$out/$t.log"
    touch "$out/.start.$$"
    started=$SECONDS
    children_cpu >"$out/.cpu.$$"
    cpu_before=$(cat "$out/.cpu.$$")
    # new inputs go to the first directory (outside the repo); the seeds are read only
    wall=$seconds
    [ "$clock" = cpu ] && wall=$((seconds * 20))
    # libFuzzer's -timeout: one input that runs longer is a hang (a crash). text.grep
    # waits up to 30 s (TEXT_GREP_WALL_MS) for a core to time a compile, twice an
    # input in fuzz_grep: a loaded machine is no hang
    timeout=25
    [ "$t" = grep ] && timeout=70
    session=()
    [ "$autogroup" = 1 ] && session=(setsid) # not a group leader here: it does not fork
    # shellcheck disable=SC2086 # SLUICE_FUZZ_ARGS is a list of flags
    "${session[@]}" nice -n "$niceness" "$build/bin/fuzz_$t" -max_total_time="$wall" \
        -timeout="$timeout" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/crashes/$t-" ${SLUICE_FUZZ_ARGS:-} \
        "$out/corpus/$t" "$root/tests/fuzz/corpus/$t" >"$log" 2>&1 &
    pid=$!
    [ "$autogroup" = 1 ] && nice_session "$pid"
    interrupted=0
    if [ "$clock" = cpu ]; then
        # poll the fuzzer's CPU time; at the limit, SIGINT: libFuzzer prints its
        # final stats and exits with -interrupted_exit_code (72)
        while kill -0 "$pid" 2>/dev/null; do
            used=$(proc_cpu "$pid")
            if [ "${used:-0}" -ge "$seconds" ]; then
                kill -INT "$pid" 2>/dev/null
                interrupted=1
                break
            fi
            sleep 5
        done
    fi
    wait "$pid"
    rc=$?
    [ "$interrupted" = 1 ] && [ "$rc" = 72 ] && rc=0
    took=$((SECONDS - started)) # less than asked when it stopped at a crash
    children_cpu >"$out/.cpu.$$"
    cpu=$(($(cat "$out/.cpu.$$") - cpu_before))
    rm -f "$out/.cpu.$$"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1 | awk '{print $2}')
    ft=$(grep -Eo 'ft: [0-9]+' "$log" | tail -n 1 | awk '{print $2}')
    found=$(artifacts "$t" "" "$out/.start.$$" | wc -l)
    slow=$(artifacts "$t" slow "$out/.start.$$" | wc -l)
    if [ "$rc" -ne 0 ] && [ "$found" -eq 0 ]; then
        found=1 # died without an artifact: the log says why
    fi
    printf '%-14s %8s %8s %12s %8s %8s %7s %s\n' "$t" "$took" "$cpu" "${execs:-?}" "${cov:-?}" \
        "${ft:-?}" "$found" "$slow"
    if [ "$found" -gt 0 ]; then
        crashed+=("$t")
        grep -E 'ERROR: |SUMMARY: |^fuzz: |Test unit written to' "$log" | head -n 8 | sed 's/^/    /'
        for f in $(artifacts "$t" "" "$out/.start.$$"); do
            echo "    reproducer: $f"
            echo "    replay:     SLUICE_PLUGIN_PATH=$SLUICE_PLUGIN_PATH $build/bin/fuzz_$t $f"
        done
        echo "    log:        $log"
    fi
    for f in $(artifacts "$t" slow "$out/.start.$$"); do
        echo "    slow unit:  $f"
        echo "    time it:    SLUICE_PLUGIN_PATH=$SLUICE_PLUGIN_PATH $build/bin/fuzz_$t $f"
    done
    rm -f "$out/.start.$$"
done
if [ "${#crashed[@]}" -gt 0 ]; then
    echo "fuzz.sh: ${#crashed[@]} target(s) crashed: ${crashed[*]}"
    exit 1
fi
echo "fuzz.sh: ${#run[@]} target(s), no crash (new inputs in $out/corpus/)"

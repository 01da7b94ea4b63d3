#!/usr/bin/env bash
# tests/install/embed_test.sh BUILD_DIR SOURCE_DIR
#
# The embedding API as a C programmer meets it: install BUILD_DIR into a
# temporary prefix, then build examples/network_wordcount.c out of tree
# against the INSTALLED libsluice, twice:
#   a. plain `cc` with `pkg-config --cflags --libs sluice` and nothing else
#      (sluice.pc's rpath finds the library in a non-system prefix),
#   b. CMake with find_package(Sluice) and target_link_libraries(Sluice::sluice);
# and run each binary once (with a bad port, so that it exits at once with
# its usage message and status 2): that proves that the program links and
# that the dynamic loader finds the installed libsluice.
#
# Exits 0 on success; on failure prints "embed_test: FAIL: <why>" and exits 1.
# Set KEEP_TMP=1 to keep the temporary tree.
set -euo pipefail

TEST=embed_test
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
example=$source_dir/examples/network_wordcount.c
[ -f "$example" ] || fail "$example does not exist"
install_build

# check_runs BIN: the program starts (libsluice resolved) and rejects port 0.
check_runs() {
    local bin=$1 rc
    [ -x "$bin" ] || fail "$bin was not built"
    set +e
    "$bin" 0 >"$log" 2>&1
    rc=$?
    set -e
    [ "$rc" -eq 2 ] || fail "$bin 0 exited $rc, expected 2 (usage)"
    grep -q 'usage' "$log" || fail "$bin 0 printed no usage message"
    # (ldd's output is captured first: `ldd | grep -q` under pipefail fails
    # at random when grep exits early and ldd dies of SIGPIPE)
    local deps
    deps=$(ldd "$bin")
    grep -qF "$(cd "$libdir" && pwd -P)/libsluice.so" <<<"$deps" ||
        grep -qF "$libdir/libsluice.so" <<<"$deps" ||
        fail "$bin does not resolve libsluice.so from $libdir: $(grep sluice <<<"$deps")"
}

step "building network_wordcount.c with cc and pkg-config"
mkdir -p "$tmp/plain"
# shellcheck disable=SC2046 # pkg-config prints a list of words
run "${CC:-cc}" -std=c11 -Wall -Wextra -Werror -O2 "$example" \
    $(pkg-config --cflags --libs sluice) -o "$tmp/plain/network_wordcount" ||
    fail "plain cc build failed"
check_runs "$tmp/plain/network_wordcount"

step "building network_wordcount.c with CMake, find_package(Sluice)"
unset PKG_CONFIG_PATH
mkdir -p "$tmp/cmake"
cp "$example" "$tmp/cmake/"
cat >"$tmp/cmake/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.18)
project(embed C)
find_package(Sluice 0.1 REQUIRED)
add_executable(network_wordcount network_wordcount.c)
target_link_libraries(network_wordcount PRIVATE Sluice::sluice)
EOF
run cmake -S "$tmp/cmake" -B "$tmp/cmake/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" || fail "configure failed"
run cmake --build "$tmp/cmake/build" || fail "build failed"
check_runs "$tmp/cmake/build/network_wordcount"

echo "embed_test: PASS"

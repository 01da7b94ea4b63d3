#!/usr/bin/env bash
# tests/install/cxx_test.sh BUILD_DIR SOURCE_DIR
#
# The public headers as a C++ programmer meets them: install BUILD_DIR into a
# temporary prefix, then with g++ and with clang++ (-std=c++11, -Wall -Wextra
# -Werror -pedantic), against the INSTALLED headers and libsluice only:
#   1. build tests/install/cxx_program.cpp as a plugin (cxx.so, from plugin.h
#      and record.h), and check that it exports sluice_plugin_v1 alone;
#   2. build it as a program (sluice.h too) and run it: queue -> cxx.upper ->
#      a C++ lambda over two batches, with the installed queue plugin.
#
# Exits 0 on success; on failure prints "cxx_test: FAIL: <why>" and exits 1.
# Set KEEP_TMP=1 to keep the temporary tree.
set -euo pipefail

TEST=cxx_test
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
program=$source_dir/tests/install/cxx_program.cpp
install_build
plugindir=$(pkg-config --variable=plugindir sluice-sdk)
[ -f "$plugindir/queue.so" ] || fail "no queue.so in the installed plugin dir $plugindir"
printf '%s\n' '["a","bb"]' '["ccc"]' >"$tmp/in.jsonl"

for cxx in g++ clang++; do
    command -v "$cxx" >/dev/null || fail "$cxx is not installed (scripts/deps.sh installs it)"
    flags=(-std=c++11 -Wall -Wextra -Werror -pedantic -O1)
    step "building the C++ plugin with $cxx"
    mkdir -p "$tmp/$cxx/plugins"
    # shellcheck disable=SC2046 # pkg-config prints a list of words
    run "$cxx" "${flags[@]}" -DSLUICE_CXX_PLUGIN -shared -fPIC -fvisibility=hidden \
        $(pkg-config --cflags sluice-sdk) "$program" -o "$tmp/$cxx/plugins/cxx.so" ||
        fail "$cxx: the plugin does not compile against the installed plugin.h"
    syms=$(nm -D --defined-only "$tmp/$cxx/plugins/cxx.so" |
        awk '$2 ~ /^[A-Z]$/ && $2 != "A" {print $3}' |
        grep -Ev '^(_init|_fini|_edata|_end|__bss_start)$' || true)
    [ "$syms" = "sluice_plugin_v1" ] || fail "$cxx: cxx.so exports: $(echo "$syms" | tr '\n' ' ')"

    step "building and running the C++ program with $cxx"
    # shellcheck disable=SC2046
    run "$cxx" "${flags[@]}" "$program" $(pkg-config --cflags --libs sluice) \
        -Wl,-rpath,"$libdir" -o "$tmp/$cxx/cxx_program" ||
        fail "$cxx: the program does not compile against the installed sluice.h"
    run timeout 60 "$tmp/$cxx/cxx_program" "$plugindir" "$tmp/$cxx/plugins" "$tmp/in.jsonl" ||
        fail "$cxx: the program failed"
    grep -q 'cxx_program: ok' "$log" || fail "$cxx: the program did not report ok"
done

echo "cxx_test: PASS"

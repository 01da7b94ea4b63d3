#!/usr/bin/env bash
# tests/install/template_test.sh BUILD_DIR SOURCE_DIR
#
# The out-of-tree test of the SDK, as a plugin author meets it:
#   1. `cmake --install BUILD_DIR` into a temporary prefix, and check that the
#      installed tree has what the README promises;
#   2. build the installed template (share/sluice/template) out of tree, against
#      the INSTALLED SDK only, three ways:
#        a. plain `cc` with `pkg-config --cflags sluice-sdk` (no CMake at all),
#        b. the template's CMake forced to pkg-config mode,
#        c. the template's CMake with find_package(Sluice) (CMAKE_PREFIX_PATH);
#      and check that each .so exports sluice_plugin_v1 and nothing else;
#   3. run a pipeline (queue -> myplugin.prefix -> jsonl) with the INSTALLED
#      sluice binary and each built plugin, and compare the output file.
#
# Exits 0 on success; on failure prints "template_test: FAIL: <why>" and the
# relevant output, and exits 1. Set KEEP_TMP=1 to keep the temporary tree.
set -euo pipefail

TEST=template_test
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- 1. install ---------------------------------------------------------------
step "installing $build_dir into $prefix"
run cmake --install "$build_dir" --prefix "$prefix" || fail "cmake --install failed"

pcfile=$(find "$prefix" -name sluice-sdk.pc -print -quit)
[ -n "$pcfile" ] || fail "no sluice-sdk.pc installed under $prefix"
pcdir=$(dirname "$pcfile")
libdir=$(dirname "$pcdir")
for f in bin/sluice include/sluice/plugin.h include/sluice/record.h include/sluice/sluice.h \
    share/sluice/template/myplugin.c share/sluice/template/CMakeLists.txt \
    share/sluice/template/README.md; do
    [ -f "$prefix/$f" ] || fail "$f is not installed"
done
for f in libsluice.so pkgconfig/sluice.pc pkgconfig/sluice-sdk.pc cmake/Sluice/SluiceConfig.cmake \
    cmake/Sluice/SluiceConfigVersion.cmake cmake/Sluice/SluiceTargets.cmake; do
    [ -e "$libdir/$f" ] || fail "${libdir#"$prefix"/}/$f is not installed"
done
# The template is installed as it is, but for its README's link to the plugin
# guide, which points where the guide is installed (sdk/CMakeLists.txt).
run diff -r -x README.md "$source_dir/sdk/template" "$prefix/share/sluice/template" ||
    fail "the installed template differs from $source_dir/sdk/template"
run diff -I 'plugin-guide.md' "$source_dir/sdk/template/README.md" \
    "$prefix/share/sluice/template/README.md" ||
    fail "the installed template README differs from the source beyond the guide's link"
guide=$(sed -n 's/.*(\([^)]*plugin-guide.md\)).*/\1/p' "$prefix/share/sluice/template/README.md")
[ -f "$prefix/share/sluice/template/$guide" ] ||
    fail "the installed template README links to $guide, which is not installed"
[ -d "$libdir/sluice/plugins" ] || fail "${libdir#"$prefix"/}/sluice/plugins is not installed"

# pkg-config resolves the prefix from the .pc file's own location.
export PKG_CONFIG_PATH=$pcdir
run pkg-config --cflags sluice-sdk || fail "pkg-config cannot read sluice-sdk.pc"
cflags=$(pkg-config --cflags sluice-sdk)
incdir=$(pkg-config --variable=includedir sluice-sdk)
plugindir=$(pkg-config --variable=plugindir sluice-sdk)
[ "$(cd "$incdir" && pwd)" = "$(cd "$prefix/include" && pwd)" ] ||
    fail "sluice-sdk.pc: includedir is $incdir, expected $prefix/include"
if ! [ -d "$plugindir" ] ||
    [ "$(cd "$plugindir" && pwd)" != "$(cd "$libdir/sluice/plugins" && pwd)" ]; then
    fail "sluice-sdk.pc: plugindir is $plugindir, expected $libdir/sluice/plugins"
fi
[ "$(pkg-config --libs sluice)" != "" ] || fail "sluice.pc has no Libs"
grep -q -- '-lsluice' <<<"$(pkg-config --libs sluice)" || fail "sluice.pc: Libs lacks -lsluice"

# ---- 2. build the template three ways -------------------------------------------
# check_exports SO: the plugin exports the entry function and nothing else.
check_exports() {
    local so=$1 syms
    [ -f "$so" ] || fail "$so was not built"
    syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[A-Z]$/ && $2 != "A" {print $3}' |
        grep -Ev '^(_init|_fini|_edata|_end|__bss_start)$' || true)
    [ "$syms" = "sluice_plugin_v1" ] ||
        fail "$so must export only sluice_plugin_v1, exports: $(echo "$syms" | tr '\n' ' ')"
}

cp -r "$prefix/share/sluice/template" "$tmp/template"
cc=${CC:-cc}

step "building the template with $cc and pkg-config only"
mkdir -p "$tmp/plain"
# shellcheck disable=SC2086 # cflags is a list of words
run "$cc" -std=c11 -Wall -Wextra -Werror -O2 -shared -fPIC -fvisibility=hidden $cflags \
    "$tmp/template/myplugin.c" -o "$tmp/plain/myplugin.so" ||
    fail "plain cc build of the template failed"
check_exports "$tmp/plain/myplugin.so"

step "building the template with CMake, pkg-config mode"
run cmake -S "$tmp/template" -B "$tmp/build-pc" -DMYPLUGIN_SDK=pkgconfig \
    -DCMAKE_C_FLAGS=-Werror || fail "configure (pkg-config mode) failed"
grep -q 'using pkg-config sluice-sdk' "$log" || fail "the template did not use pkg-config"
run cmake --build "$tmp/build-pc" || fail "build (pkg-config mode) failed"
check_exports "$tmp/build-pc/myplugin.so"

step "building the template with CMake, find_package(Sluice)"
unset PKG_CONFIG_PATH # the CMake package alone must do
run cmake -S "$tmp/template" -B "$tmp/build-cmake" -DMYPLUGIN_SDK=cmake \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS=-Werror ||
    fail "configure (find_package mode) failed"
grep -q 'using the Sluice CMake package' "$log" || fail "the template did not use find_package"
run cmake --build "$tmp/build-cmake" || fail "build (find_package mode) failed"
check_exports "$tmp/build-cmake/myplugin.so"
# Its install goes to the SDK's plugin dir by default; check the path only.
grep -q "MYPLUGIN_INSTALL_DIR:PATH=$libdir/sluice/plugins" "$tmp/build-cmake/CMakeCache.txt" ||
    fail "the template's default install dir is not $libdir/sluice/plugins"

# ---- 3. run a pipeline with the installed sluice --------------------------------
work=$tmp/run
mkdir -p "$work"
printf '%s\n' '["a","bb"]' '["ccc"]' >"$work/in.jsonl"
printf '%s\n' '{"value":"x-a"}' '{"value":"x-bb"}' '{"value":"x-ccc"}' >"$work/expected"

for variant in plain build-pc build-cmake; do
    step "running queue -> myplugin.prefix -> jsonl with the $variant plugin"
    rm -f "$work/out.jsonl"
    cat >"$work/pipe.yaml" <<EOF
batch_interval: 1s
streams:
  input:  {source: queue, path: "$work/in.jsonl", on_end: stop}
  out:    {map: myplugin.prefix, from: input, prefix: "x-"}
outputs:
  - {sink: jsonl, from: out, path: "$work/out.jsonl"}
EOF
    (cd "$work" && run timeout 60 "$prefix/bin/sluice" run "$work/pipe.yaml" --clock manual \
        --batches 2 --plugin-path "$tmp/$variant") ||
        fail "sluice run with the $variant plugin failed"
    [ -f "$work/out.jsonl" ] || fail "sluice run wrote no $work/out.jsonl"
    # Drop the batch time: {"time":123,"value":... -> {"value":...
    sed -E 's/^\{"time":[0-9]+,/{/' "$work/out.jsonl" >"$work/got"
    if ! diff -u "$work/expected" "$work/got" >"$log" 2>&1; then
        fail "unexpected output with the $variant plugin (diff expected got)"
    fi
    # Two batches: x-a and x-bb share a time, x-ccc is later.
    times=$(grep -Eo '^\{"time":[0-9]+' "$work/out.jsonl" | cut -d: -f2 | uniq | wc -l)
    [ "$times" -eq 2 ] || fail "expected 2 batch times in out.jsonl, got $times"
done

step "running queue -> reduce_by_key myplugin.longest -> jsonl"
rm -f "$work/out.jsonl"
printf '%s\n' '[{"key":"a","value":"x"},{"key":"a","value":"yyy"},{"key":"b","value":"zz"},{"key":"b","value":"aa"}]' \
    >"$work/kv.jsonl"
cat >"$work/reduce.yaml" <<EOF
batch_interval: 1s
streams:
  input:   {source: queue, path: "$work/kv.jsonl", on_end: stop}
  longest: {reduce_by_key: myplugin.longest, from: input}
outputs:
  - {sink: jsonl, from: longest, path: "$work/out.jsonl"}
EOF
run timeout 60 "$prefix/bin/sluice" run "$work/reduce.yaml" --clock manual --batches 1 \
    --plugin-path "$tmp/plain" || fail "sluice run (reduce_by_key) failed"
# Keys come out of a shuffle in no defined order: compare sorted. The tie
# between "zz" and "aa" goes to the smaller bytes.
sed -E 's/^\{"time":[0-9]+,/{/' "$work/out.jsonl" | sort >"$work/got"
printf '%s\n' '{"key":"a","value":"yyy"}' '{"key":"b","value":"aa"}' >"$work/expected"
if ! diff -u "$work/expected" "$work/got" >"$log" 2>&1; then
    fail "unexpected output of reduce_by_key: myplugin.longest (diff expected got)"
fi

step "checking that a missing required parameter is a configuration error"
sed '/prefix: "x-"/s/, prefix: "x-"//' "$work/pipe.yaml" >"$work/noparam.yaml"
set +e
"$prefix/bin/sluice" validate "$work/noparam.yaml" --plugin-path "$tmp/plain" >"$log" 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "sluice validate without 'prefix' exited $rc, expected 2"
grep -q "noparam.yaml:[0-9]*:[0-9]*: .*prefix" "$log" ||
    fail "the error does not name file:line:col and the parameter"

step "checking that \`sluice plugins\` lists the components"
run "$prefix/bin/sluice" plugins --plugin-path "$tmp/plain" || fail "sluice plugins failed"
if ! grep -q 'myplugin.prefix' "$log" || ! grep -q 'myplugin.longest' "$log"; then
    fail "sluice plugins does not list myplugin.prefix and myplugin.longest"
fi

echo "template_test: PASS"

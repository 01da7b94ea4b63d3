# shellcheck shell=bash
# tests/install/lib.sh — what the install tests share (sourced, not a test):
# a temporary tree (kept with KEEP_TMP=1), fail/step/run with the failing
# command's output, an environment with nothing of the build tree in it, and
# the install of BUILD_DIR into $prefix.
#
#   TEST=cxx_test; source lib.sh BUILD_DIR SOURCE_DIR
#   install_build     # cmake --install into $prefix; sets PKG_CONFIG_PATH and libdir
#
# Sets build_dir, source_dir, tmp, prefix, log.

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
    exit 2
fi
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-$TEST.XXXXXX")
cleanup() {
    if [ "${KEEP_TMP:-0}" = "1" ]; then
        echo "$TEST: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT

prefix=$tmp/prefix
log=$tmp/log

fail() {
    echo "$TEST: FAIL: $*" >&2
    if [ -s "$log" ]; then
        echo "---- output ----" >&2
        tail -n 60 "$log" >&2
        echo "----------------" >&2
    fi
    exit 1
}
step() { echo "$TEST: $*"; }

# Run a command with its output in $log (shown by fail()).
run() { "$@" >"$log" 2>&1; }

# The environment of a user of the install: nothing of the build tree, no
# plugin path, not the system's .pc files either.
unset SLUICE_PLUGIN_PATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH LD_LIBRARY_PATH
export PKG_CONFIG_LIBDIR=/nonexistent

# Install BUILD_DIR into $prefix; point pkg-config at it; set libdir.
install_build() {
    step "installing $build_dir into $prefix"
    run cmake --install "$build_dir" --prefix "$prefix" || fail "cmake --install failed"
    local pcfile
    pcfile=$(find "$prefix" -name sluice.pc -print -quit)
    [ -n "$pcfile" ] || fail "no sluice.pc installed under $prefix"
    export PKG_CONFIG_PATH
    PKG_CONFIG_PATH=$(dirname "$pcfile")
    libdir=$(pkg-config --variable=libdir sluice)
}

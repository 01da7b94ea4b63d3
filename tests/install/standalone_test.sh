#!/usr/bin/env bash
# tests/install/standalone_test.sh BUILD_DIR SOURCE_DIR
#
# An install that stands on its own (issue 13): install BUILD_DIR into a
# temporary prefix and, with nothing of the build or source tree in the
# environment, check that
#   - the examples, docs, man page and bash completion are installed;
#   - `sluice run --help`, `sluice --help` and the demo's closing hint name
#     paths that exist under the prefix, and the named example validates;
#   - examples/queue_stream.c built with plain `pkg-config --libs sluice`
#     (no hand-set rpath, no LD_LIBRARY_PATH) runs and finds the plugins;
#   - sluice.pc has no rpath when installed into /usr (DESTDIR);
#   - every relative link of the installed template README resolves, and of
#     every installed page (README, docs, examples, connectors, plugins),
#     except links into bench/ (benchmarks live in the source tree);
#   - the installed man page formats and the installed completion completes.
#
# Exits 0 on success; on failure prints "standalone_test: FAIL: <why>".
set -euo pipefail

TEST=standalone_test
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
install_build
sluice=$prefix/bin/sluice
share=$prefix/share
cd "$tmp"

step "installed files"
for f in sluice/examples/network_wordcount.yaml sluice/examples/queue_stream.c \
    sluice/examples/README.md doc/sluice/README.md doc/sluice/docs/config.md \
    doc/sluice/docs/cli.md doc/sluice/docs/embedding.md man/man1/sluice.1 \
    bash-completion/completions/sluice sluice/template/README.md; do
    [ -f "$share/$f" ] || fail "$share/$f is not installed"
done

step "help texts and the demo's hint name installed paths"
# paths_in FILE: every path-looking word ending in .yaml or .md
paths_in() { grep -oE "[^ ']*(examples|docs)/[A-Za-z_.-]+\.(yaml|md)" "$1" | sort -u; }
"$sluice" run --help >run-help.txt
"$sluice" --help >main-help.txt
run "$sluice" demo --batches 1 --interval 200ms || fail "sluice demo failed"
cp "$log" demo.txt
for f in run-help.txt main-help.txt demo.txt; do
    n=0
    for p in $(paths_in "$f"); do
        case $p in /*) ;; *) fail "$f names the relative path $p" ;; esac
        [ -f "$p" ] || fail "$f names $p, which does not exist"
        n=$((n + 1))
    done
    [ "$n" -gt 0 ] || fail "$f names no example or doc at all: $(cat "$f")"
done
example=$(paths_in run-help.txt | grep network_wordcount.yaml | head -1)
run "$sluice" validate "$example" || fail "sluice validate $example failed"

step "a program built with pkg-config alone runs (no rpath of ours, no LD_LIBRARY_PATH)"
# shellcheck disable=SC2046 # pkg-config prints a list of words
run "${CC:-cc}" -std=c11 -Wall -Wextra -Werror -O2 "$share/sluice/examples/queue_stream.c" \
    $(pkg-config --cflags --libs sluice) -lpthread -o queue_stream || fail "cc failed"
run ./queue_stream || fail "queue_stream failed"
[ "$(grep -c '(0, 100)' "$log")" -eq 3 ] || fail "queue_stream printed no counts"
grep -q -- '-Wl,-rpath,' <<<"$(pkg-config --libs sluice)" ||
    fail "sluice.pc in a non-system prefix has no rpath"

step "sluice.pc in /usr carries no rpath"
run env DESTDIR="$tmp/destdir" cmake --install "$build_dir" --prefix /usr ||
    fail "DESTDIR install failed"
pc=$(find "$tmp/destdir" -name sluice.pc -print -quit)
grep -q '^Libs: -L${libdir} -lsluice$' "$pc" || fail "$pc: $(grep Libs "$pc")"

step "the template README's relative links resolve"
readme=$share/sluice/template/README.md
links=$(grep -oE '\]\([^)#]+' "$readme" | sed 's/^](//' | grep -vE '^[a-z]+:' || true)
[ -n "$links" ] || fail "no relative link found in $readme"
for l in $links; do
    [ -e "$(dirname "$readme")/$l" ] || fail "$readme links to $l, which does not exist"
done

step "every relative link of the installed pages resolves"
n=0
while IFS= read -r -d '' page; do
    for l in $(grep -oE '\]\([^)# ]+' "$page" | sed 's/^](//' | grep -vE '^[a-z]+:' || true); do
        case $l in bench/* | ../bench/*) continue ;; esac
        [ -e "$(dirname "$page")/$l" ] || fail "$page links to $l, which does not exist"
        n=$((n + 1))
    done
done < <(find "$share/doc/sluice" "$share/sluice/examples" -name '*.md' -print0)
[ "$n" -gt 100 ] || fail "only $n relative links found in the installed pages"

step "the man page and the completion, installed"
if command -v man >/dev/null; then
    MANWIDTH=80 man -l "$share/man/man1/sluice.1" >man.txt 2>&1 || fail "man -l failed"
    grep -q 'SYNOPSIS' man.txt || fail "the man page has no SYNOPSIS"
fi
got=$(bash --norc --noprofile -c 'source "$1"; COMP_WORDS=(sluice val); COMP_CWORD=1
    _sluice; echo "${COMPREPLY[*]}"' _ "$share/bash-completion/completions/sluice")
[ "$got" = "validate" ] || fail "completing 'sluice val' gave '$got'"

echo "standalone_test: PASS"

#!/usr/bin/env bash
# test_cli_manpage.sh — core/share/sluice.1 documents the CLI: every command
# of `sluice --help` and every option that `sluice --help` and each
# command's --help show appears in the man page (roff's \- read as -), and
# the page formats without warnings when man is there to format it.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
page=$SLUICE_SOURCE_DIR/core/share/sluice.1
sed 's/\\-/-/g' "$page" >man.txt

commands="run validate graph plugins top demo version help"
"$SLUICE_BIN" --help >help-main.txt
for c in $commands; do
    check_contains "sluice --help lists $c" help-main.txt "  $c"
    check "the man page documents the command $c" grep -qE "^\.B[I]? \"?$c" man.txt
    "$SLUICE_BIN" "$c" --help >"help-$c.txt"
done
for f in help-*.txt; do
    # every --option and -x option the help shows
    for opt in $(grep -oE -- '(^|[ ,[])--?[a-z][a-z-]*' "$f" | sed 's/^[ ,[]//' | sort -u); do
        check "man page has $opt (from ${f%.txt})" grep -qF -- "$opt" man.txt
    done
done
n=$(cat help-*.txt | grep -oE -- '(^|[ ,[])--[a-z][a-z-]*' | sort -u | wc -l)
check "the helps show some options at all ($n)" test "$n" -ge 12

if command -v man >/dev/null; then
    MANWIDTH=80 man --warnings -l "$page" >rendered.txt 2>warnings.txt
    check_eq "man formats sluice.1" "$?" 0
    check_eq "no formatting warnings" "$(cat warnings.txt)" ""
    check_contains "the formatted page has its SYNOPSIS" rendered.txt "sluice validate FILE [--plugin-path DIR]..."
fi
finish

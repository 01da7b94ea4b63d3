#!/usr/bin/env bash
# test_cli_completion.sh — core/share/sluice.bash, run by bash itself: source
# it, set COMP_WORDS and COMP_CWORD as bash does, call _sluice and check
# COMPREPLY — commands, each command's options (all that its --help shows),
# --clock and --log-level values, YAML files and directories after run,
# directories after --plugin-path, command names after help.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
completion=$SLUICE_SOURCE_DIR/core/share/sluice.bash
mkdir -p pipes/sub plugdir
touch pipes/a.yaml pipes/b.yml pipes/notes.txt

# complete WORD... : the completions bash would offer for the last word,
# sorted, one per line.
complete_words() {
    bash --norc --noprofile -c '
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        complete -p sluice >/dev/null || exit 3
        _sluice sluice "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}"' _ "$completion" "$@" | sort
}
lines() { tr ' ' '\n' <<<"$*" | sort; }

check_eq "commands" "$(complete_words sluice '')" \
    "$(lines --help --version demo graph help plugins run top validate version)"
check_eq "commands starting with v" "$(complete_words sluice v)" "$(lines validate version)"
check_eq "--clock values" "$(complete_words sluice run x.yaml --clock '')" "$(lines manual system)"
check_eq "--log-level values" "$(complete_words sluice run x.yaml --log-level d)" "debug"
check_eq "--log-format values" "$(complete_words sluice run x.yaml --log-format '')" "$(lines json text)"
check_eq "YAML files and directories after run" "$(complete_words sluice run pipes/)" \
    "$(lines pipes/a.yaml pipes/b.yml pipes/sub)"
check_eq "directories after --plugin-path" "$(complete_words sluice plugins --plugin-path plug)" \
    "plugdir"
check_eq "commands after help" "$(complete_words sluice help gr)" "graph"
check_eq "nothing after top --url" "$(complete_words sluice top --url '')" ""
check_eq "nothing after --batches" "$(complete_words sluice run x.yaml --batches '')" ""

# Every option a command's --help shows is offered after "-".
for c in run validate graph plugins top demo version; do
    # the options section: lines that start with spaces and a dash; and --help
    want=$({
        "$SLUICE_BIN" "$c" --help | grep -E '^ +-' | grep -oE -- '(^|[ ,])--[a-z][a-z-]*' |
            sed 's/^[ ,]//'
        echo --help
    } | sort -u)
    got=$(complete_words sluice "$c" --)
    check_eq "$c: the options of its --help" "$got" "$want"
done
finish

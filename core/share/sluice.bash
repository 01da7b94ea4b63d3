# bash completion for sluice — installed as
# <prefix>/share/bash-completion/completions/sluice (loaded on demand by
# bash-completion), or source it from ~/.bashrc.
#
# Completes the commands, each command's options (as its --help lists them:
# the test integration.test_cli_completion checks that), the values of
# --clock, --log-level and --log-format, directories after --plugin-path, YAML files after
# run, validate and graph, and command names after help.

_sluice() {
    local cur prev cmd opts
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    local commands="run validate graph plugins top demo version help"
    if ((COMP_CWORD == 1)); then
        mapfile -t COMPREPLY < <(compgen -W "$commands --help --version" -- "$cur")
        return 0
    fi
    cmd=${COMP_WORDS[1]}
    case $prev in
    --plugin-path)
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return 0
        ;;
    --clock)
        mapfile -t COMPREPLY < <(compgen -W "system manual" -- "$cur")
        return 0
        ;;
    --log-level)
        mapfile -t COMPREPLY < <(compgen -W "error warn info debug" -- "$cur")
        return 0
        ;;
    --log-format)
        mapfile -t COMPREPLY < <(compgen -W "text json" -- "$cur")
        return 0
        ;;
    --batches | --timeout | --workers | --interval | --start-time | --url)
        return 0 # a number or a duration: nothing to offer
        ;;
    esac
    case $cmd in
    run) opts="--batches --timeout --clock --start-time --workers --fresh --plugin-path --log-level
               --log-format --status --no-status --http --help" ;;
    validate) opts="--plugin-path --help" ;;
    graph) opts="--dot --plugin-path --help" ;;
    plugins) opts="--json --plugin-path --help" ;;
    top) opts="--url --interval --once --help" ;;
    demo) opts="--batches --interval --plugin-path --help" ;;
    version) opts="--help" ;;
    help)
        if ((COMP_CWORD == 2)); then
            mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
        fi
        return 0
        ;;
    *) return 0 ;;
    esac
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
        return 0
    fi
    case $cmd in
    run | validate | graph)
        # YAML files and directories to descend into
        local IFS=$'\n'
        mapfile -t COMPREPLY < <(
            compgen -f -X '!*.yaml' -- "$cur"
            compgen -f -X '!*.yml' -- "$cur"
            compgen -d -- "$cur"
        )
        compopt -o filenames 2>/dev/null
        ;;
    esac
    return 0
}
complete -F _sluice sluice

#!/usr/bin/env bash
# test_cli_pipe.sh — `sluice run ... | head`: when the reader of stdout goes
# away, the run stops cleanly (issue 12, fault 9c: it died of SIGPIPE, exit
# 141, with no message and no final checkpoint). The pprint sink sees EPIPE
# (sluice run ignores SIGPIPE), says so once, the engine stops gracefully,
# writes its final checkpoint and exits 0 (docs/cli.md).
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1

# 3000 batches of 20 words: far more than a pipe holds, so pprint is still
# writing when head exits.
python3 -c '
import json
for b in range(3000):
    print(json.dumps(["w%d" % ((b * 20 + i) % 37) for i in range(20)]))
' >words.jsonl
cat >pipe.yaml <<'YAML'
batch_interval: 1s
clock: manual
checkpoint: cp
streams:
  lines: {source: queue, path: words.jsonl}
  pairs: {map: kv.pair, from: lines}
  counts: {update_state_by_key: agg.sum, from: pairs}
outputs:
  - {sink: pprint, from: counts, num: 50}
YAML

timeout -k 2 60 "$SLUICE_BIN" run pipe.yaml 2>pipe.err | head -n 5 >head.out
rc=${PIPESTATUS[0]}
check_eq "sluice run | head exits 0 (a clean stop), not 141 (SIGPIPE)" "$rc" 0
check_eq "head printed its 5 lines" "$(wc -l <head.out)" 5
check_contains "it says why it stopped" pipe.err "stdout was closed by its reader"
check_contains "it stopped gracefully" pipe.err "stopping"
check "a final checkpoint was written" compgen -G "cp/checkpoint-*.slck"
check_eq "the EPIPE is reported once" "$(grep -c 'stdout was closed' pipe.err)" 1

# The next run resumes from that checkpoint, and with --batches 1 completes.
timeout -k 2 60 "$SLUICE_BIN" run pipe.yaml --batches 1 --log-level info >again.out 2>again.err
check_eq "the next run exits 0" "$?" 0
check_contains "it resumes from the final checkpoint" again.err "resuming from"

finish

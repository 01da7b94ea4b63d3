#!/usr/bin/env bash
# test_crash_recovery.sh — exactly-once state across crashes.
#
# A stateful word count (update_state_by_key) over the queue source, with a
# checkpoint after every batch, is killed with SIGKILL at twelve different
# moments — mid-batch, mid-checkpoint write, between batches — then started
# again on the same checkpoint directory. The state it ends with must equal
# that of a run that was never interrupted. Then the newest checkpoint is
# truncated, and (in another round) bit-flipped: the restart must warn, fall
# back to the previous good checkpoint, and still end with the same state.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1

# 120 batches of 300 lines of 8 words out of 30,000: enough state (tens of
# thousands of keys) that a checkpoint takes a visible share of the run.
awk 'BEGIN {
    srand(7);
    for (b = 0; b < 120; b++) {
        printf "[";
        for (l = 0; l < 300; l++) {
            line = "";
            for (w = 0; w < 8; w++)
                line = line (w ? " " : "") "w" int(30000 * rand() * rand());
            printf "%s\"%s\"", (l ? "," : ""), line;
        }
        printf "]\n";
    }
}' >q.jsonl

cat >wc.yaml <<'EOF'
batch_interval: 1s
clock: manual
checkpoint: cp
checkpoint_interval: 1s
checkpoint_keep: 3
streams:
  lines:  {source: queue, path: q.jsonl, on_end: stop}
  words:  {flat_map: text.split, from: lines}
  pairs:  {map: kv.pair, from: words}
  counts: {update_state_by_key: agg.sum, from: pairs}
outputs:
  - {sink: jsonl, from: counts, path: out.jsonl}
EOF

# The state a run ended with: the (key, value) lines of the last batch of
# out.jsonl (update_state_by_key emits the whole state every batch), sorted.
final_state() {
    local last
    last=$(tail -n 1 out.jsonl | sed 's/^{"time":\([0-9]*\),.*/\1/')
    grep "^{\"time\":$last," out.jsonl | sed 's/^{"time":[0-9]*,//' | LC_ALL=C sort
}

# The reference: one uninterrupted run.
"$SLUICE_BIN" run wc.yaml --fresh 2>ref.log
check_eq "the uninterrupted run exits 0" "$?" 0
final_state >ref.state
keys=$(wc -l <ref.state)
check "the reference state has many keys ($keys)" test "$keys" -gt 10000
start=$(now_ms)
"$SLUICE_BIN" run wc.yaml --fresh 2>/dev/null
run_ms=$(($(now_ms) - start))
echo "an uninterrupted run takes ${run_ms} ms"

# Kill at 12 points spread over the run, then resume to the end.
mid_write=0
for k in $(seq 1 12); do
    rm -rf cp out.jsonl
    delay_ms=$((run_ms * k / 13 + 3))
    setsid "$SLUICE_BIN" run wc.yaml 2>"kill$k.log" &
    pid=$!
    GROUPS_STARTED+=("$pid")
    sleep "$(printf '0.%03d' "$delay_ms")" 2>/dev/null || sleep "$((delay_ms / 1000))"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    if ls cp/.checkpoint-*.tmp-* >/dev/null 2>&1; then
        mid_write=$((mid_write + 1)) # killed while a checkpoint was being written
    fi
    "$SLUICE_BIN" run wc.yaml 2>"resume$k.log"
    check_eq "kill #$k at ${delay_ms} ms: the resumed run exits 0" "$?" 0
    final_state >"state$k"
    if cmp -s ref.state "state$k"; then
        pass "kill #$k: the final state equals the uninterrupted run's ($keys keys)"
    else
        fail "kill #$k: the final state differs: $(diff ref.state "state$k" | head -5 | tr '\n' ' ')"
    fi
done
echo "$mid_write of 12 kills landed during a checkpoint write"

# A run killed early leaves checkpoints; damage the newest one and resume.
for damage in truncate bitflip; do
    rm -rf cp out.jsonl
    "$SLUICE_BIN" run wc.yaml --batches 40 2>/dev/null
    newest=$(ls cp/checkpoint-*.slck | LC_ALL=C sort | tail -n 1)
    size=$(stat -c %s "$newest")
    if [[ $damage == truncate ]]; then
        truncate -s $((size / 2)) "$newest"
    else
        python3 - "$newest" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 3] ^= 0x10
open(p, 'wb').write(bytes(b))
PY
    fi
    "$SLUICE_BIN" run wc.yaml --log-level info 2>"$damage.log"
    check_eq "$damage: the resumed run exits 0" "$?" 0
    check_contains "$damage: the damaged checkpoint is reported" "$damage.log" "$(basename "$newest")"
    check_contains "$damage: it resumes from an earlier checkpoint" "$damage.log" "resuming from"
    final_state >"$damage.state"
    if cmp -s ref.state "$damage.state"; then
        pass "$damage: the final state equals the uninterrupted run's"
    else
        fail "$damage: the final state differs"
    fi
done

finish

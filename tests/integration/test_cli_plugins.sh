#!/usr/bin/env bash
# test_cli_plugins.sh — `sluice plugins` (text and --json) over a plugin
# directory holding garbage next to good plugins: every bad file is listed
# with its path and the reason, the good ones are still listed, and nothing
# crashes or hangs (a truncated .so used to kill it with SIGBUS). Then the
# plugin directory checks as the CLI shows them: a squatted, world-writable
# directory on $SLUICE_PLUGIN_PATH is skipped with a warning and does not
# hide the real plugins; the same directory given with --plugin-path is an
# error naming it.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
: "${SLUICE_TEST_BADPLUGINS:?SLUICE_TEST_BADPLUGINS must point at the test plugins}"
PLUGINS=$WORK/plugins
mkdir -m 755 "$PLUGINS"
chmod 755 "$WORK"
install -m 644 "$SLUICE_TEST_BADPLUGINS/good.so" "$PLUGINS/good.so"
install -m 644 "$SLUICE_TEST_BADPLUGINS/noentry.so" "$PLUGINS/noentry.so"
head -c 4096 /dev/urandom >"$PLUGINS/random.so"
size=$(stat -c %s "$PLUGINS/good.so")
head -c $((size / 2)) "$PLUGINS/good.so" >"$PLUGINS/truncated.so"
head -c 100 "$PLUGINS/good.so" >"$PLUGINS/headers.so"
: >"$PLUGINS/empty.so"
mkfifo "$PLUGINS/fifo.so"
mkdir "$PLUGINS/dir.so"
chmod 644 "$PLUGINS"/*.so 2>/dev/null
chmod 755 "$PLUGINS/dir.so"

# name -> what its reason must say
declare -A WHY=([noentry]="exports no sluice_plugin_v1" [random]="not an ELF"
    [truncated]="truncated" [headers]="truncated" [empty]="not an ELF"
    [fifo]="not a regular file" [dir]="not a regular file")

timeout -k 2 30 "$SLUICE_BIN" plugins --plugin-path "$PLUGINS" >plugins.out 2>plugins.err
check_eq "sluice plugins with garbage exits 0" "$?" 0
check_contains "good.so still listed" plugins.out "good.identity"
check_contains "the built-in text.so still listed" plugins.out "text.split"
for name in "${!WHY[@]}"; do
    check_contains "$name.so: NOT LOADABLE, with its path" plugins.out \
        "$name: NOT LOADABLE: $PLUGINS/$name.so"
    check "$name.so: the reason says '${WHY[$name]}'" \
        grep -qF -- "${WHY[$name]}" <(grep -F "$name: NOT LOADABLE" plugins.out)
done

timeout -k 2 30 "$SLUICE_BIN" plugins --json --plugin-path "$PLUGINS" >plugins.json 2>json.err
check_eq "sluice plugins --json with garbage exits 0" "$?" 0
check "--json: good and text listed, every bad file with its path and reason" \
    python3 - plugins.json "$PLUGINS" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
by = {p["name"]: p for p in doc["plugins"]}
why = {"noentry": "exports no sluice_plugin_v1", "random": "not an ELF",
       "truncated": "truncated", "headers": "truncated", "empty": "not an ELF",
       "fifo": "not a regular file", "dir": "not a regular file"}
ok = "good.identity" in [c["name"] for c in by["good"]["components"]]
ok = ok and "text.split" in [c["name"] for c in by["text"]["components"]]
for name, text in why.items():
    err = by[name].get("error", "")
    if f"{sys.argv[2]}/{name}.so" not in err or text not in err:
        print(f"{name}: {err!r}", file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
EOF

# A squatted directory: world-writable with the sticky bit, like /tmp, with
# a text.so in it (a real one: only the directory is wrong).
SQUAT=$WORK/squat
mkdir "$SQUAT"
install -m 644 "$SLUICE_BUILD_DIR/lib/sluice/plugins/text.so" "$SQUAT/text.so"
chmod 1777 "$SQUAT"
REAL_TEXT=$(python3 -c 'import json,sys; print([p["path"] for p in json.load(open(sys.argv[1]))["plugins"] if p["name"] == "text"][0])' plugins.json)

SLUICE_PLUGIN_PATH="$SQUAT:$SLUICE_PLUGIN_PATH" timeout -k 2 30 "$SLUICE_BIN" plugins --json \
    >squat.json 2>squat.err
check_eq "squatted dir first on \$SLUICE_PLUGIN_PATH: plugins exits 0" "$?" 0
check_contains "squatted dir: one warning naming it" squat.err "plugin directory $SQUAT"
check_eq "squatted dir: exactly one warning" "$(grep -c "$SQUAT" squat.err)" 1
check "squatted dir: text.so still loaded from $REAL_TEXT" python3 -c '
import json, sys
by = {p["name"]: p for p in json.load(open(sys.argv[1]))["plugins"]}
sys.exit(0 if by["text"].get("path") == sys.argv[2] and sys.argv[3] not in json.dumps(by) else 1)' \
    squat.json "$REAL_TEXT" "$SQUAT"

SLUICE_PLUGIN_PATH="$SLUICE_PLUGIN_PATH:$SQUAT" timeout -k 2 30 "$SLUICE_BIN" plugins \
    >squat2.out 2>squat2.err
check_eq "squatted dir last on \$SLUICE_PLUGIN_PATH: plugins exits 0" "$?" 0
check_contains "squatted dir last: text still listed" squat2.out "text.split"

# Given explicitly, the same directory is an error that names it.
cat >pipe.yaml <<'EOF'
batch_interval: 1s
streams:
  lines: {source: queue, path: in.jsonl}
  words: {flat_map: text.split, from: lines}
outputs:
  - {sink: pprint, from: words}
EOF
echo '["a b"]' >in.jsonl
timeout -k 2 30 "$SLUICE_BIN" validate pipe.yaml --plugin-path "$SQUAT" >explicit.out 2>explicit.err
rc=$?
check "--plugin-path on a squatted dir: validate fails (exit $rc)" test "$rc" -ne 0
check_contains "--plugin-path on a squatted dir: the error names it" explicit.err \
    "plugin directory $SQUAT"
check_contains "--plugin-path on a squatted dir: and says why" explicit.err "world-writable"
chmod 755 "$SQUAT"
timeout -k 2 30 "$SLUICE_BIN" validate pipe.yaml --plugin-path "$SQUAT" >fixed.out 2>fixed.err
check_eq "after chmod go-w: validate exits 0" "$?" 0

finish

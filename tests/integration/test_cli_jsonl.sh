#!/usr/bin/env bash
# test_cli_jsonl.sh — what the jsonl sink writes reads back as what went in
# (decisions.md §25), through the real CLI:
#   - every byte 0..255, alone and all together, and invalid UTF-8 sequences
#     (overlong, encoded surrogates, past U+10FFFF, stray and truncated) in
#     values, pair keys, lists and object names: python3 gets the original
#     bytes back with surrogateescape, and sluice's own queue source and
#     json.parse read the output back to the same bytes (written again, the
#     lines are identical);
#   - a pair with a null key and a plain value are two different lines;
#   - an empty batch leaves no line by default, and {"time":T,"empty":true}
#     with empty_batches: true;
#   - pprint's repr of such bytes is python3's repr of the surrogateescape str;
#   - true/false come back as true/false, and pprint prints True/False.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1

# The queue input, with the bytes raw in its JSON strings (the parser takes
# any bytes but control characters, quote and backslash, which are escaped),
# and expect.json: per batch, the elements as python3 sees them, bytes as
# latin-1 strings.
python3 - <<'PY'
import json

def jstr(b):
    """bytes b as a JSON string, the bytes >= 0x20 raw."""
    out = bytearray(b'"')
    for c in b:
        if c < 0x20 or c in (0x22, 0x5C):
            out += b"\\u%04x" % c
        else:
            out.append(c)
    return bytes(out + b'"')

INVALID = [b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"a\xe2\x82\xacb\x80",
           b"\xf8\x88\x80\x80\x80", b"x\xc3", b"\xe2\x28\xa1", b"\xf0\x9f\x98", b"\xff\xfe\xfd",
           b"caf\xc3\xa9 \xf0\x9f\x98\x80", b"\xc2\x85\x85", b""]
ALL = bytes(range(256))
batches, expect = [], []
# batch 0: every byte alone, all together, the invalid sequences
elems = [ALL] + [bytes([c]) for c in range(256)] + INVALID
batches.append(b"[" + b", ".join(jstr(e) for e in elems) + b"]")
expect.append([["v", e.decode("latin-1")] for e in elems])
# batch 1: empty
batches.append(b"[]")
expect.append([])
# batch 2: pairs with invalid bytes in keys, nested values and object names
batches.append(b'[{"key": ' + jstr(b"\xff") + b', "value": ' + jstr(b"\xfe") + b"}, "
               b'{"key": [1, ' + jstr(b"k\x80") + b'], "value": [' + jstr(ALL) + b", {"
               + jstr(b"n\xc0") + b": " + jstr(b"\xed\xa0\x80") + b"}]}]")
expect.append([["p", ["\xff", "\xfe"]], ["p", [[1, "k\x80"], [ALL.decode("latin-1"),
                                                              {"n\xc0": "\xed\xa0\x80"}]]]])
# batch 3: (None, None), (None, 'v'), None, 'v': four different elements
batches.append(b'[{"key": null, "value": null}, {"key": null, "value": "v"}, null, "v"]')
expect.append([["p", [None, None]], ["p", [None, "v"]], ["v", None], ["v", "v"]])
# batch 4: the surrogate escapes themselves as input are the bytes
batches.append(b'["\\udcff\\udc80", "a\\udcC3"]')
expect.append([["v", "\xff\x80"], ["v", "a\xc3"]])
with open("in.jsonl", "wb") as f:
    f.write(b"\n".join(batches) + b"\n")
json.dump(expect, open("expect.json", "w"))
PY

cat >sink.yaml <<'EOF'
batch_interval: 100ms
streams:
  q: {source: queue, path: "${IN}", on_end: stop}
outputs:
  - {sink: jsonl, from: q, path: "${OUT}", empty_batches: "${EMPTY:-false}"}
  - {sink: pprint, from: q, num: 1000}
EOF

# run_sink IN OUT [EMPTY]: queue IN -> jsonl OUT (and pprint to OUT.pprint).
run_sink() {
    IN=$1 OUT=$2 EMPTY=${3:-false} timeout -k 5 60 "$SLUICE_BIN" run sink.yaml --clock manual \
        --no-status >"$2.pprint" 2>"$2.err"
}

# check_read OUT WITH_EMPTY: python3 reads OUT (strict UTF-8, one JSON object
# a line) back to expect.json, the bytes by surrogateescape. Prints "ok" or why not.
check_read() {
    python3 - "$1" "$2" <<'PY'
import json, sys

def raw(x):
    """A decoded JSON value with its strings as the original bytes (latin-1)."""
    if isinstance(x, str):
        return x.encode("utf-8", "surrogateescape").decode("latin-1")
    if isinstance(x, list):
        return [raw(i) for i in x]
    if isinstance(x, dict):
        return {raw(k): raw(v) for k, v in x.items()}
    return x

expect = json.load(open("expect.json"))
text = open(sys.argv[1], "rb").read().decode("utf-8")  # strict: the output is UTF-8
got, times = [], []
for line in text.split("\n")[:-1]:  # not splitlines(): U+0085 and U+2028 stay raw
    r = json.loads(line)
    if r["time"] not in times:
        times.append(r["time"])
        got.append([])
    if r.get("empty") is True:
        assert list(r) == ["time", "empty"], line
        continue
    assert list(r) in (["time", "key", "value"], ["time", "value"]), line
    got[-1].append(["p", [raw(r["key"]), raw(r["value"])]] if "key" in r else ["v", raw(r["value"])])
want = expect if sys.argv[2] == "1" else [b for b in expect if b]
if got != want:
    for i, (g, w) in enumerate(zip(got, want)):
        for j, (ge, we) in enumerate(zip(g, w)):
            if ge != we:
                sys.exit("batch %d element %d: got %r, want %r" % (i, j, ge, we))
    sys.exit("got %d batches %s, want %d %s" % (len(got), [len(b) for b in got], len(want),
                                                 [len(b) for b in want]))
assert all(b - a == 100 for a, b in zip(times, times[1:])) or sys.argv[2] != "1", times
print("ok")
PY
}

# ---- the default: no line for the empty batch -------------------------------------

# Proves: the bytes, pairs and plain elements read back in python3, and the
# empty batch is invisible by default.
run_sink in.jsonl out.jsonl
check_eq "queue -> jsonl exits 0" "$?" 0
check_eq "python3 (surrogateescape) reads every byte back; no line for the empty batch" \
    "$(check_read out.jsonl 0 2>&1)" ok
check_eq "... four batch times, not five" \
    "$(sed -E 's/^\{"time":([0-9]+),.*/\1/' out.jsonl | uniq | wc -l)" 4
check_eq "invalid bytes are \\udcXY escapes, not \\u00XX" "$(grep -c '\\u00[89a-f]' out.jsonl)" 0
check_contains "0xFF alone is \\udcff" out.jsonl '"value":"\udcff"}'
check_contains "an encoded surrogate is three escapes" out.jsonl '"value":"\udced\udca0\udc80"}'
check_contains "valid UTF-8 passes through" out.jsonl "\"value\":\"caf$(printf '\xc3\xa9 \xf0\x9f\x98\x80')\"}"

# Proves: (None, v) and v are different lines; so are (None, None) and None.
t3=$(grep -m1 '"key":null,"value":null}$' out.jsonl | sed -E 's/^\{"time":([0-9]+),.*/\1/')
check_eq "a pair with a null key, and a plain value" \
    "$(grep "^{\"time\":${t3:-none}," out.jsonl | sed -E 's/^\{"time":[0-9]+,//')" \
    "$(printf '%s\n' '"key":null,"value":null}' '"key":null,"value":"v"}' '"value":null}' '"value":"v"}')"

# ---- empty_batches: true --------------------------------------------------------------

# Proves: with empty_batches: true the empty batch is one line, and every
# batch time of the run is in the file, 100 ms apart.
run_sink in.jsonl out_e.jsonl true
check_eq "empty_batches: true exits 0" "$?" 0
check_eq "python3 reads it back, the empty batch included" "$(check_read out_e.jsonl 1 2>&1)" ok
check_eq "exactly one empty line" "$(grep -cE '^\{"time":[0-9]+,"empty":true\}$' out_e.jsonl)" 1
check_eq "... and otherwise the same lines" "$(grep -vc '"empty":true' out_e.jsonl)" "$(wc -l <out.jsonl)"

# ---- read back by sluice --------------------------------------------------------------

# to_queue JSONL: the queue input of a jsonl file, by text (no JSON decoding):
# one array a batch time, a pair {"key":K,"value":V}, a plain element V.
to_queue() {
    python3 - "$1" <<'PY'
import re, sys
batches, last = [], None
for line in open(sys.argv[1], "rb").read().split(b"\n")[:-1]:
    m = re.match(rb'\{"time":(\d+),(.*)\}$', line)
    if m.group(1) != last:
        last = m.group(1)
        batches.append([])
    rest = m.group(2)
    if rest == b'"empty":true':
        continue
    batches[-1].append(b"{" + rest + b"}" if rest.startswith(b'"key":') else rest[len(b'"value":'):])
sys.stdout.buffer.write(b"".join(b"[" + b",".join(b) + b"]\n" for b in batches))
PY
}

# Proves: sluice's queue source reads every \udcXY back as its byte (and the
# pairs as pairs): written again, every line is the same, batch time aside.
to_queue out_e.jsonl >back.jsonl
run_sink back.jsonl out2.jsonl true
check_eq "jsonl -> queue -> jsonl exits 0" "$?" 0
check "jsonl -> queue -> jsonl: the same lines" cmp <(sed -E 's/^\{"time":[0-9]+,//' out_e.jsonl) \
    <(sed -E 's/^\{"time":[0-9]+,//' out2.jsonl)
check_eq "... which python3 reads back to the input" "$(check_read out2.jsonl 1 2>&1)" ok

# Proves: json.parse (stdin lines) reads the values back to the same bytes.
cat >parse.yaml <<'EOF'
batch_interval: 100ms
streams:
  lines:  {source: stdin}
  values: {map: json.parse, from: lines}
outputs:
  - {sink: jsonl, from: values, path: parsed.jsonl}
EOF
grep '^{"time":[0-9]*,"value":' out.jsonl | sed -E 's/^\{"time":[0-9]+,"value":(.*)\}$/\1/' >values.txt
timeout -k 5 60 "$SLUICE_BIN" run parse.yaml --no-status <values.txt >parse.out 2>parse.err
check_eq "stdin -> json.parse -> jsonl exits 0" "$?" 0
check_eq "json.parse: one value a line ($(wc -l <values.txt))" "$(wc -l <parsed.jsonl)" 274
check "json.parse: the same values written again" cmp <(sed -E 's/^\{"time":[0-9]+,//' parsed.jsonl) \
    <(grep '^{"time":[0-9]*,"value":' out.jsonl | sed -E 's/^\{"time":[0-9]+,//')

# ---- pprint ------------------------------------------------------------------------------

# Proves: a tuple holding invalid bytes prints as python3's repr of the same
# values decoded with surrogateescape ('\udcff', not '\xff', which is U+00FF).
want=$(python3 -c 'print(repr(tuple(b.decode("utf-8", "surrogateescape") for b in (b"\xff", b"\xfe"))))')
check_eq "pprint: the pair of invalid bytes is python's repr" "$want" "('\\udcff', '\\udcfe')"
check_contains "pprint prints it so" out.jsonl.pprint "$want"

# ---- bools (ABI 1.7) -------------------------------------------------------------------

# Proves: true and false, plain, as a pair's key, in a list and in an object,
# are written back as true/false by jsonl, and pprint prints them as
# python3's print() does (True/False, not 1/0).
printf '%s\n' '[true, {"key": false, "value": [true, null]}, {"ok": false, "n": 0}]' >bools.jsonl
run_sink bools.jsonl outb.jsonl
check_eq "bools: queue -> jsonl exits 0" "$?" 0
check_eq "bools: jsonl writes true/false" \
    "$(sed -E 's/^\{"time":[0-9]+,//' outb.jsonl | tr '\n' ' ')" \
    '"value":true} "key":false,"value":[true,null]} "value":{"ok":false,"n":0}} '
want=$(python3 -c 'print(True); print((False, (True, None))); print({"ok": False, "n": 0})')
check_eq "bools: pprint prints what python3's print() does" \
    "$(grep -v '^-\|^Time: \|^$' outb.jsonl.pprint)" "$want"

finish

#!/usr/bin/env bash
# test_cli_pprint.sh — the pprint sink prints each element as PySpark's
# DStream.pprint() does, with Python's print(element): a plain string as its
# text (hello, not 'hello'), everything else as its repr (3, 2.5, None,
# tuples, dicts, pairs ('a', 1)). The whole of stdout is compared with what
# python3 prints for the same elements (lists as tuples, as sluice's value
# model has them; true/false as True/False), and a few lines are checked by
# hand.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1

# One batch per line: strings (quotes, escapes, control bytes, unicode, a
# newline), numbers and null, lists and objects, pairs, an empty batch, and
# more than num (10) elements.
cat >in.jsonl <<'EOF'
["hello", "hello world", "it's", "say \"hi\"", "", "tab\there", "two\nlines", "ünïcödé ✓ 😀", "ctl \u0001 \u007f", "back\\slash"]
[3, -12, 2.5, 0.1, null, true, false]
[["a", 1], [], ["x"], [["nested", "it's"], "s\t"], {"user": "ann", "amount": 3, "tags": ["a", "b"]}, {}]
[{"key": "a", "value": 1}, {"key": "b", "value": "text"}, {"key": null, "value": "v"}, {"key": ["k", 1], "value": [2.5, null]}]
[]
["w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "w10", "w11"]
EOF

cat >pp.yaml <<'EOF'
batch_interval: 1s
streams:
  s: {source: queue, path: in.jsonl, on_end: stop}
outputs:
  - {sink: pprint, from: s}
EOF

# What PySpark prints for these batches: print(x) for each of the first 10
# elements. sluice's lists are tuples; bools print as Python's (True,
# False); an object of exactly "key" and "value" is the pair (key, value).
cat >oracle.py <<'EOF'
import json, sys

def conv(x):
    if isinstance(x, (list, tuple)):
        return tuple(conv(i) for i in x)
    if isinstance(x, dict):
        return {k: conv(v) for k, v in x.items()}
    return x

RULE = "-" * 43
for line in open(sys.argv[1], encoding="utf-8"):
    batch = json.loads(line)
    print(RULE + "\nTime: T\n" + RULE)
    for x in batch[:10]:
        if isinstance(x, dict) and sorted(x) == ["key", "value"]:
            x = (x["key"], x["value"])  # conv() makes its parts tuples
        print(conv(x))
    if len(batch) > 10:
        print("...")
    print()
EOF
PYTHONIOENCODING=utf-8 python3 oracle.py in.jsonl >want.txt

TZ=UTC timeout -k 5 60 "$SLUICE_BIN" run pp.yaml --clock manual --batches 20 --no-status \
    >got.raw 2>err.txt
check_eq "pprint run exits 0 at the end of the queue" "$?" 0
check_eq "six batches (six Time lines)" "$(grep -c '^Time: ' got.raw)" 6
check_eq "every Time line is Python's str(datetime)" \
    "$(grep '^Time: ' got.raw | grep -cvE '^Time: [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$')" 0
sed 's/^Time: .*/Time: T/' got.raw >got.txt
check "stdout is exactly python3's print() of each element" diff -u want.txt got.txt

# By hand, so that the oracle itself cannot hide a regression.
check "a plain string prints as its text: hello" grep -qx 'hello' got.txt
check "... not as its repr" test "$(grep -c "^'hello'$" got.txt)" -eq 0
check "a string with a quote, as is: it's" grep -qx "it's" got.txt
check "a control byte is written raw (print, not repr)" grep -qx $'ctl \x01 \x7f' got.txt
check "a newline in a string splits the line, as print does" grep -qx 'lines' got.txt
check "an int: 3" grep -qx '3' got.txt
check "null: None" grep -qx 'None' got.txt
check "a double: 0.1" grep -qx '0.1' got.txt
check "true and false: True, then False" test "$(grep -xA1 'True' got.txt | tr '\n' ' ')" = "True False "
check "a list: a tuple of reprs" grep -qx "('a', 1)" got.txt
check "nested strings keep their repr" grep -qx "(('nested', \"it's\"), 's\\\\t')" got.txt
check "an object: a dict repr" grep -qx "{'user': 'ann', 'amount': 3, 'tags': ('a', 'b')}" got.txt
check "a pair: ('b', 'text')" grep -qx "('b', 'text')" got.txt
check "a null key: (None, 'v')" grep -qx "(None, 'v')" got.txt
check "more than num elements: ..." grep -qx '\.\.\.' got.txt
check_eq "nothing on stderr" "$(cat err.txt)" ""
finish

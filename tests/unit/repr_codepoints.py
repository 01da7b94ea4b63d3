#!/usr/bin/env python3
"""repr_codepoints.py — sluice's Python repr of every code point against
python3's own: runs tests/unit/repr_codepoints.c's program (its path is the
argument), which writes "HEX<TAB>REPR" for each of 0..0x10FFFF except the
surrogates, and compares each REPR with repr(chr(HEX)). Prints the first
mismatches and exits 1 if there is any (or if a line is missing or extra).

The generated table (core/src/printable_table.c) follows Python 3.11's
Unicode 14.0.0; a python3 with another Unicode database is reported as such
(regenerate the table with scripts/gen-printable.py under Python 3.11).
"""
import subprocess
import sys
import unicodedata


def main():
    out = subprocess.run([sys.argv[1]], stdout=subprocess.PIPE, check=True).stdout
    lines = out.split(b"\n")
    head = lines[0].decode()
    if head != "unicode " + unicodedata.unidata_version:
        print("table is %r, python3 %s has Unicode %s: regenerate it with "
              "scripts/gen-printable.py" % (head, sys.version.split()[0],
                                            unicodedata.unidata_version))
        return 1
    want = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    got = lines[1:]
    if got and got[-1] == b"":
        got.pop()
    bad = []
    for i, c in enumerate(want):
        if i >= len(got):
            bad.append("U+%04X: no line (output ends after %d lines)" % (c, len(got)))
            break
        hexcp, _, text = got[i].partition(b"\t")
        expect = repr(chr(c)).encode("utf-8")
        if hexcp != b"%x" % c:
            bad.append("U+%04X: line %d is for %r (a raw newline?)" % (c, i + 2, hexcp))
            break
        if text != expect:
            bad.append("U+%04X: sluice %r, python %r" % (c, text, expect))
            if len(bad) >= 20:
                break
    if not bad and len(got) != len(want):
        bad.append("%d lines, want %d" % (len(got), len(want)))
    for b in bad:
        print("MISMATCH " + b)
    print("%d code points compared with python3 %s (Unicode %s): %s"
          % (len(want), sys.version.split()[0], unicodedata.unidata_version,
             "%d+ mismatches" % len(bad) if bad else "all equal"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

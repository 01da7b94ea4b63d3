#!/usr/bin/env python3
"""include-cycles.py — list the #include "..." edges among the engine's files
and fail on a cycle.

A module is a .c file and the .h of the same name (exec.c + exec.h): the
unit that one layer of docs/architecture.md is made of. An edge A -> B means
that a file of module A includes B's header. The engine's layers point one
way, so this graph must have no cycle. internal.h (an umbrella for tests)
must not be included by any engine file.

Usage: scripts/include-cycles.py [--edges] [DIR]   (DIR: core/src by default)
Exit status: 0 without a cycle, 1 with one (each cycle printed), 2 on misuse.
"""
import os
import re
import sys


def modules(src):
    """Map each module name ("exec", "ops/window") to the files it has."""
    mods = {}
    for dirpath, _, names in os.walk(src):
        for n in names:
            if n.endswith(('.c', '.h')):
                rel = os.path.relpath(os.path.join(dirpath, n), src)
                mods.setdefault(rel[:-2], []).append(rel)
    return mods


def edges(src, mods):
    """The module graph: {module: set of modules its files include}."""
    inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
    graph, bad = {m: set() for m in mods}, []
    for m, files in mods.items():
        for f in files:
            base = os.path.dirname(f)
            with open(os.path.join(src, f), encoding='utf-8') as fh:
                for target in inc.findall(fh.read()):
                    # resolved as the compiler does: next to the file, then src/
                    cands = [os.path.normpath(os.path.join(base, target)), target]
                    t = next((c for c in cands if os.path.exists(os.path.join(src, c))), None)
                    if t is None:
                        continue  # a system or generated header
                    if t == 'internal.h':
                        bad.append(f)
                    if t[:-2] != m:
                        graph[m].add(t[:-2])
    return graph, bad


def cycles(graph):
    """Every strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv):
    show = '--edges' in argv
    args = [a for a in argv if a != '--edges']
    if len(args) > 1 or any(a.startswith('-') for a in args):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    src = args[0] if args else os.path.join(os.path.dirname(__file__), '..', 'core', 'src')
    mods = modules(src)
    graph, bad = edges(src, mods)
    if show:
        for m in sorted(graph):
            print('%s -> %s' % (m, ' '.join(sorted(graph[m])) or '(nothing)'))
    status = 0
    for f in bad:
        print('include-cycles: %s includes internal.h (tests only)' % f)
        status = 1
    for comp in cycles(graph):
        inner = {m: sorted(graph[m] & set(comp)) for m in comp}
        print('include-cycles: a cycle among %d modules: %s' % (len(comp), ' '.join(comp)))
        for m in comp:
            print('    %s -> %s' % (m, ' '.join(inner[m])))
        status = 1
    n = sum(len(v) for v in graph.values())
    print('include-cycles: %d modules, %d edges, %s' %
          (len(graph), n, 'no cycle' if status == 0 else 'FAILED'))
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The architecture rules of docs/DEVELOPING.md, checked on the tree.

- src/ has a folder per layer.  The folders' include graph has no cycle,
  and a pure folder (unit-testable without BPF or root) includes no
  application folder, no BPF skeleton and no libbpf header.
- No source file is longer than MAX_LINES, except generated tables.
- On the BPF side, each program file's maps and knobs are declared in one
  header (bpf/lib/maps.bpf.h for pyscope.bpf.c); the other helper headers
  in bpf/lib own no maps and no programs.

Prints the longest functions too (--longest N).  Exit status 1 when a rule
is broken, with one line per violation.
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PURE = {"cli", "plan", "target", "model", "sink", "tracefile", "net", "util"}
APP = {"cmd", "session", "probes"}
MAX_LINES = 600
GENERATED = ("src/target/gen/",)

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
ANGLE = re.compile(r'^\s*#\s*include\s+<([^>]+)>', re.M)
MAP_DECL = re.compile(r'SEC\("\.maps"\)')
PROG_DECL = re.compile(r'^SEC\("(?!\.maps|license)[^"]+"\)', re.M)


def folder_of(rel):
    """src/model/model.c -> model; src/target/gen/x.c -> target; src/main.c -> ''"""
    parts = rel.split("/")
    return parts[1] if len(parts) > 2 else ""


def src_files():
    for d, _, names in os.walk(os.path.join(ROOT, "src")):
        for n in sorted(names):
            if n.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(d, n), ROOT)


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8", errors="replace") as f:
        return f.read()


def cycles(graph):
    """The strongly connected components of {node: set(nodes)} with more than
    one node (Tarjan): each is a set of folders that include each other."""
    index, low, on, stack, out = {}, {}, set(), [], []

    def visit(n):
        index[n] = low[n] = len(index)
        stack.append(n)
        on.add(n)
        for m in sorted(graph.get(n, ())):
            if m not in index:
                visit(m)
                low[n] = min(low[n], low[m])
            elif m in on:
                low[n] = min(low[n], index[m])
        if low[n] == index[n]:
            comp = []
            while True:
                m = stack.pop()
                on.discard(m)
                comp.append(m)
                if m == n:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for n in sorted(graph):
        if n not in index:
            visit(n)
    return out


def check_src(errors):
    graph = {}
    for rel in src_files():
        text = read(rel)
        src = folder_of(rel)
        if src == "" and not rel.endswith("main.c"):
            errors.append(f"{rel}: every source file but main.c belongs in a folder")
        for inc in INCLUDE.findall(text):
            if "/" not in inc:
                if inc.endswith(".skel.h") and src in PURE:
                    errors.append(f"{rel}: pure folder '{src}' includes BPF skeleton {inc}")
                continue
            dst = inc.split("/")[0]
            if not os.path.exists(os.path.join(ROOT, "src", inc)):
                errors.append(f"{rel}: includes {inc}, which does not exist")
                continue
            if src in PURE and dst in APP:
                errors.append(f"{rel}: pure folder '{src}' includes application header {inc}")
            if dst != src and src:
                graph.setdefault(src, set()).add(dst)
                graph.setdefault(dst, set())
        if src in PURE:
            for inc in ANGLE.findall(text):
                if inc.startswith("bpf/"):
                    errors.append(f"{rel}: pure folder '{src}' includes <{inc}>")
    for comp in cycles(graph):
        edges = [f"{a}->{b}" for a in comp for b in sorted(graph[a]) if b in comp]
        errors.append("include cycle between folders " + ", ".join(comp) + ": " + " ".join(edges))
    return graph


def check_lengths(errors):
    paths = list(src_files())
    for d, _, names in os.walk(os.path.join(ROOT, "bpf")):
        paths += [os.path.relpath(os.path.join(d, n), ROOT) for n in names
                  if n.endswith((".c", ".h"))]
    for rel in sorted(paths):
        if rel.startswith(GENERATED):
            continue
        n = read(rel).count("\n")
        if n > MAX_LINES:
            errors.append(f"{rel}: {n} lines (at most {MAX_LINES} outside generated tables)")


def check_bpf(errors):
    lib = os.path.join(ROOT, "bpf", "lib")
    if not os.path.isdir(lib):
        errors.append("bpf/lib/: missing (helper headers and the map declarations)")
        return
    for n in sorted(os.listdir(lib)):
        rel = f"bpf/lib/{n}"
        text = read(rel)
        if PROG_DECL.search(text):
            errors.append(f"{rel}: a helper header declares a BPF program")
        if n != "maps.bpf.h" and MAP_DECL.search(text):
            errors.append(f"{rel}: declares a map; maps and knobs belong in bpf/lib/maps.bpf.h")
    for n in sorted(os.listdir(os.path.join(ROOT, "bpf"))):
        if n.endswith(".bpf.c") and n == "pyscope.bpf.c":
            if MAP_DECL.search(read(f"bpf/{n}")):
                errors.append(f"bpf/{n}: declares a map; they belong in bpf/lib/maps.bpf.h")


FUNC_START = re.compile(r'^(?:[A-Za-z_][\w \t\*]*?[\s\*])?([A-Za-z_]\w*)\s*\([^;{]*\)\s*\{\s*$', re.M)


def longest_functions(n):
    """The n longest function bodies in src/ and bpf/, by lines."""
    found = []
    roots = [os.path.join(ROOT, "src"), os.path.join(ROOT, "bpf"), os.path.join(ROOT, "tools")]
    for top in roots:
        for d, _, names in os.walk(top):
            for name in names:
                if not name.endswith((".c", ".h")):
                    continue
                rel = os.path.relpath(os.path.join(d, name), ROOT)
                if rel.startswith(GENERATED):
                    continue
                lines = read(rel).split("\n")
                i = 0
                while i < len(lines):
                    line = lines[i]
                    # a definition starts at column 0 and its body's brace
                    # closes at column 0 ('}')
                    m = re.match(r'^(?!static\s+const|struct\s+\w+\s*\{|enum|typedef|union)'
                                 r'[A-Za-z_].*?\b(\w+)\s*\(', line)
                    if m and not line.rstrip().endswith(";"):
                        j = i
                        while j < len(lines) and "{" not in lines[j] and not lines[j].rstrip().endswith(";"):
                            j += 1
                        if j < len(lines) and lines[j].startswith("{") or (j < len(lines) and lines[j].rstrip().endswith("{") and j == i):
                            k = j + 1
                            while k < len(lines) and not lines[k].startswith("}"):
                                k += 1
                            if k < len(lines):
                                name_ = m.group(1)
                                if name_ in ("SEC", "BPF_KPROBE", "BPF_KRETPROBE", "BPF_PROG"):
                                    mm = re.search(r'(?:BPF_KPROBE|BPF_KRETPROBE|BPF_PROG)\((\w+)', line)
                                    name_ = mm.group(1) if mm else name_
                                found.append((k - i + 1, f"{rel}:{i + 1}", name_))
                                i = k
                    i += 1
    found.sort(key=lambda t: -t[0])
    return found[:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--longest", type=int, default=0, help="print the N longest functions")
    ap.add_argument("--graph", action="store_true", help="print the folders' include graph")
    a = ap.parse_args()
    errors = []
    graph = check_src(errors)
    check_lengths(errors)
    check_bpf(errors)
    if a.graph:
        for k in sorted(graph):
            print(f"{k or 'main'} -> {' '.join(sorted(graph[k]))}")
    if a.longest:
        for lines, where, name in longest_functions(a.longest):
            print(f"{lines:5d}  {name:28s} {where}")
    for e in errors:
        print(f"archcheck: {e}")
    print(f"archcheck: {'ok' if not errors else f'{len(errors)} violation(s)'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The dependency rules of DESIGN.md ("Layout"), checked on the sources.

Reads the `#include "..."` lines of every .c/.h under the project folders
and prints one line per violation, `file:line: rule N: <what>`, then exits
1; exits 0 when there is none. Run by ctest as layout/dependencies; its own
test is test/tools/check_layout_test.sh (layout/selftest).

  1. base/ includes nothing of the project but base/.
  2. jsonschema/ includes only base/ and jsonschema/.
  3. storage/ includes only base/ and storage/.
  4. stages/ (any depth) never includes reactor/, http/ or cli/.
  5. http/ includes only reactor/, base/, conf/ and http/.
  6. reactor/ never includes an internal header (*_int.h, internal.h) of
     another folder.
  7. An internal header is for the files of its own folder only (each
     subfolder is its own folder: storage/delta/delta_int.h is for
     storage/delta/ only).
  8. No include cycle between top-level folders (a subfolder counts as
     part of its top-level folder).
  9. No .c file outside test/ has more than 800 lines.

Standard library only. Usage: check_layout.py [--root DIR]
"""

import argparse
import collections
import os
import re
import sys

FOLDERS = ["base", "conf", "jsonschema", "storage", "stages", "reactor",
           "http", "cli", "demo"]
MAX_C_LINES = 800
# Trees never scanned for rule 9: tests, build output, dependencies.
SKIP_DIRS = {"test", ".git", "node_modules"}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')

# Folders each folder may include (rules 1, 2, 3, 5); None: unrestricted.
ALLOWED = {
    "base": ({"base"}, 1),
    "jsonschema": ({"base", "jsonschema"}, 2),
    "storage": ({"base", "storage"}, 3),
    "http": ({"reactor", "base", "conf", "http"}, 5),
}
STAGES_FORBIDDEN = {"reactor", "http", "cli"}  # rule 4


def top(path):
    return path.split("/", 1)[0]


def is_internal(path):
    name = os.path.basename(path)
    return name == "internal.h" or name.endswith("_int.h")


def resolve(root, src, inc):
    """The project path (relative to root) an include names, or None for a
    header outside the project folders (system, generated)."""
    cands = [inc, os.path.normpath(os.path.join(os.path.dirname(src), inc))]
    for c in cands:
        c = c.replace(os.sep, "/")
        if c.startswith("../") or top(c) not in FOLDERS or "/" not in c:
            continue
        if c == inc or os.path.exists(os.path.join(root, c)):
            return c
    return None


def sources(root):
    for folder in FOLDERS:
        base = os.path.join(root, folder)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for f in sorted(filenames):
                if f.endswith((".c", ".h")):
                    full = os.path.join(dirpath, f)
                    yield os.path.relpath(full, root).replace(os.sep, "/")


def long_c_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIP_DIRS and not d.startswith("build")
            and not (rel == "." and d.startswith(".")))
        for f in sorted(filenames):
            if not f.endswith(".c"):
                continue
            full = os.path.join(dirpath, f)
            with open(full, "rb") as fh:
                n = sum(1 for _ in fh)
            if n > MAX_C_LINES:
                yield os.path.relpath(full, root).replace(os.sep, "/"), n


def shortest_path(graph, start, goal):
    prev = {start: None}
    queue = collections.deque([start])
    while queue:
        n = queue.popleft()
        if n == goal:
            path = []
            while n is not None:
                path.append(n)
                n = prev[n]
            return path[::-1]
        for m in sorted(graph[n]):
            if m not in prev:
                prev[m] = n
                queue.append(m)
    return None


def folder_cycles(edges):
    """edges: {(a, b): [(file, line, included), ...]}. Yields (cycle,
    evidence): for each edge inside a cycle, the shortest cycle through it,
    each cycle once."""
    graph = collections.defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
        graph.setdefault(b, set())
    seen = set()
    for a, b in sorted(edges):
        back = shortest_path(graph, b, a)
        if back is None:
            continue
        cycle = [a] + back  # a -> b -> ... -> a
        nodes = cycle[:-1]
        i = nodes.index(min(nodes))
        key = tuple(nodes[i:] + nodes[:i])
        if key in seen:
            continue
        seen.add(key)
        ring = list(key) + [key[0]]
        evidence = [min(edges[(ring[k], ring[k + 1])])
                    for k in range(len(ring) - 1)]
        yield ring, evidence


def check(root):
    out = []  # (file, line, rule, what)
    edges = collections.defaultdict(list)
    nfiles = 0
    for src in sources(root):
        nfiles += 1
        src_top = top(src)
        src_dir = os.path.dirname(src)
        with open(os.path.join(root, src), encoding="utf-8",
                  errors="replace") as fh:
            lines = fh.read().split("\n")
        for lineno, text in enumerate(lines, 1):
            m = INCLUDE.match(text)
            if not m:
                continue
            inc = resolve(root, src, m.group(1))
            if inc is None:
                continue
            inc_top = top(inc)
            if src_top in ALLOWED:
                allowed, rule = ALLOWED[src_top]
                if inc_top not in allowed:
                    out.append((src, lineno, rule,
                                "%s/ includes %s (%s/ may include only %s)" %
                                (src_top, inc, src_top,
                                 ", ".join(x + "/" for x in sorted(allowed)))))
            if src_top == "stages" and inc_top in STAGES_FORBIDDEN:
                out.append((src, lineno, 4,
                            "stages/ includes %s (stages reach the runtime "
                            "through the ops table the reactor hands them)" %
                            inc))
            if is_internal(inc) and os.path.dirname(inc) != src_dir:
                if src_top == "reactor" and inc_top != "reactor":
                    out.append((src, lineno, 6,
                                "reactor/ includes the stage internal %s" %
                                inc))
                out.append((src, lineno, 7,
                            "includes %s, internal to %s/" %
                            (inc, os.path.dirname(inc))))
            if inc_top != src_top:
                edges[(src_top, inc_top)].append((src, lineno, inc))
    for ring, ev in folder_cycles(edges):
        where = "; ".join("%s:%d includes %s" % e for e in ev)
        out.append((ev[0][0], ev[0][1], 8,
                    "include cycle between folders %s (%s)" %
                    (" -> ".join(ring), where)))
    for path, n in long_c_files(root):
        out.append((path, MAX_C_LINES + 1, 9,
                    "%d lines, more than %d: split it by job" %
                    (n, MAX_C_LINES)))
    out.sort(key=lambda v: (v[0], v[1], v[2]))
    return out, nfiles


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))),
        help="the source tree (default: this script's repository)")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    violations, nfiles = check(root)
    for f, line, rule, what in violations:
        print("%s:%d: rule %d: %s" % (f, line, rule, what))
    if violations:
        print("layout: %d violations in %d files checked" %
              (len(violations), nfiles), file=sys.stderr)
        return 1
    print("layout: ok, %d files" % nfiles)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks the source tree's shape, as ARCHITECTURE.md draws it:

- every core/src file lives in one layer folder, and includes only its own layer and the ones
  below (LAYERS, lowest first), always by its layer-qualified name ("base/buf.h");
- no include cycle between files of the core and the CLI (a file and its header are one node),
  and no import cycle between the Python package's modules (TYPE_CHECKING and function-level
  imports count: they are cycles too, only deferred);
- ARCHITECTURE.md names every file of core/src, core/cli and python/kvsws, names no file that is
  gone, and gives a reason for every core file over MAX_LINES lines.

Usage: scripts/check-layers.py [--root DIR]   exits 1 and says why when one of these does not hold
"""
import ast
import re
import sys
from pathlib import Path

ROOT = Path(sys.argv[sys.argv.index("--root") + 1] if "--root" in sys.argv else Path(__file__).parent.parent).resolve()
CORE = ROOT / "core" / "src"
CLI = ROOT / "core" / "cli"
PYTHON = ROOT / "python" / "kvsws"
ARCHITECTURE = ROOT / "ARCHITECTURE.md"
LAYERS = ["base", "aws", "transport", "credentials", "api", "session"]
MAX_LINES = 700
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def node(path: Path) -> str:
    """A file's node in the include graph: its path without the extension (x.c and x.h are one)."""
    return path.relative_to(ROOT).with_suffix("").as_posix()


def core_layer_problems(graph: dict[str, set[str]]) -> list[str]:
    problems = []
    for path in sorted(CORE.rglob("*.[ch]")):
        rel = path.relative_to(CORE)
        if len(rel.parts) != 2 or rel.parts[0] not in LAYERS:
            problems.append(f"{path.relative_to(ROOT)}: not in a layer folder ({', '.join(LAYERS)})")
            continue
        level = LAYERS.index(rel.parts[0])
        for name in INCLUDE.findall(path.read_text(encoding="utf-8")):
            if name == "kvsws.h":  # the public header sits below every layer
                continue
            target = CORE / name
            parts = Path(name).parts
            if len(parts) != 2 or parts[0] not in LAYERS or not target.exists():
                problems.append(f"{path.relative_to(ROOT)}: #include \"{name}\" is not a layer-qualified core file")
                continue
            if LAYERS.index(parts[0]) > level:
                problems.append(f"{path.relative_to(ROOT)}: includes {name}, an upper layer "
                                f"({parts[0]} is above {rel.parts[0]})")
            if node(target) != node(path):
                graph.setdefault(node(path), set()).add(node(target))
    return problems


def cli_graph(graph: dict[str, set[str]]) -> list[str]:
    problems = []
    for path in sorted(CLI.glob("*.[ch]")):
        for name in INCLUDE.findall(path.read_text(encoding="utf-8")):
            local, core = CLI / name, CORE / name
            target = local if local.exists() else core if core.exists() else None
            if target is None:
                if name != "kvsws.h":
                    problems.append(f"{path.relative_to(ROOT)}: #include \"{name}\" names no file")
                continue
            if node(target) != node(path):
                graph.setdefault(node(path), set()).add(node(target))
    return problems


def python_graph(graph: dict[str, set[str]]) -> None:
    """Edges between the package's modules, from every import statement anywhere in a module."""
    modules = {p.stem for p in PYTHON.glob("*.py")} | {p.name.split(".")[0] for p in PYTHON.glob("_core*")}
    for path in sorted(PYTHON.glob("*.py")):
        me = node(path)
        for stmt in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(stmt, ast.ImportFrom):
                if stmt.level == 1 or (stmt.level == 0 and stmt.module and stmt.module.split(".")[0] == "kvsws"):
                    base = stmt.module or ""
                    if stmt.level == 0:
                        base = base.removeprefix("kvsws").lstrip(".")
                    if base:
                        targets.append(base.split(".")[0])
                    else:  # from . import x: x may be a module or a name of __init__
                        targets += [a.name if a.name in modules else "__init__" for a in stmt.names]
            elif isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    parts = alias.name.split(".")
                    if parts[0] == "kvsws":
                        targets.append(parts[1] if len(parts) > 1 else "__init__")
            for t in targets:
                if t in modules and t != path.stem:
                    graph.setdefault(me, set()).add(node(PYTHON / f"{t}.py"))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def has_reason(text: str, short: str) -> bool:
    """Does the file's bullet (up to the next bullet or blank line) say why it is long?"""
    m = re.search(rf"^- `{re.escape(short)}`(.*?)(?=^- |^$|\Z)", text, re.MULTILINE | re.DOTALL)
    return bool(m and re.search(r"over \d+ lines", m.group(1), re.IGNORECASE))


def architecture_problems() -> list[str]:
    if not ARCHITECTURE.exists():
        return ["ARCHITECTURE.md: missing"]
    text = ARCHITECTURE.read_text(encoding="utf-8")
    problems = []
    files = sorted(CORE.rglob("*.c")) + sorted(CLI.glob("*.c")) + sorted(PYTHON.glob("*.py"))
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        short = path.relative_to(path.parent.parent).as_posix() if path.is_relative_to(CORE) else path.name
        if rel not in text and f"`{short}`" not in text:
            problems.append(f"ARCHITECTURE.md: does not name {rel}")
        if path.suffix == ".c" and path.is_relative_to(CORE):
            lines = path.read_text(encoding="utf-8").count("\n")
            if lines > MAX_LINES and not has_reason(text, short):
                problems.append(f"{rel}: {lines} lines (over {MAX_LINES}) and ARCHITECTURE.md gives no reason")
    for mentioned in sorted(set(re.findall(r"`((?:[a-z_]+/)*[a-z_0-9]+\.(?:c|h|py))`", text))):
        candidates = [ROOT / mentioned, CORE / mentioned, CLI / mentioned, PYTHON / mentioned,
                      ROOT / "core" / "include" / mentioned]
        if not any(c.exists() for c in candidates):
            problems.append(f"ARCHITECTURE.md: names {mentioned}, which is not in the tree")
    return problems


def main() -> int:
    graph: dict[str, set[str]] = {}
    problems = core_layer_problems(graph) + cli_graph(graph)
    python_graph(graph)
    problems += [f"cycle: {' <-> '.join(c)}" for c in cycles(graph)]
    problems += architecture_problems()
    for p in problems:
        print(f"check-layers: {p}")
    if problems:
        return 1
    nodes = len({*graph, *(t for ts in graph.values() for t in ts)})
    print(f"check-layers: {len(LAYERS)} layers, {nodes} files, no upward include, no cycle; "
          "ARCHITECTURE.md matches the tree")
    return 0


if __name__ == "__main__":
    sys.exit(main())

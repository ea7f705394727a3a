#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes go/core_*.c: one file per C file of the core (core/src, subfolders too), each of which
#includes it, so that the Go package compiles the whole core (see go/cgo_core.go).

Usage: scripts/go-core-sources.py           writes the files, removes the ones whose core file is gone
       scripts/go-core-sources.py --check   writes nothing; fails if a file is missing, stale or left
                                            over, or if `go list` (go on PATH) says a core file is not
                                            compiled into the package (or is, with -tags kvsws_system)
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core" / "src"
GO = ROOT / "go"
PREFIX = "core_"
INCLUDE = re.compile(r'^#include "\.\./(core/src/[^"]+\.c)"$', re.MULTILINE)


def expected() -> dict[str, str]:
    """go/ file name -> its text, for every core/src/**/*.c."""
    files: dict[str, str] = {}
    for src in sorted(CORE.rglob("*.c")):
        rel = src.relative_to(ROOT).as_posix()
        name = PREFIX + src.relative_to(CORE).with_suffix("").as_posix().replace("/", "_") + ".c"
        if name in files:
            sys.exit(f"go-core-sources: two core files map to go/{name}: rename one")
        files[name] = (
            "/* SPDX-License-Identifier: Apache-2.0 */\n"
            "//go:build !kvsws_system\n\n"
            f"/* Written by scripts/go-core-sources.py: the Go package compiles {rel} (go/cgo_core.go). */\n"
            f'#include "../{rel}"\n'
        )
    return files


def present() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(GO.glob(PREFIX + "*.c"))}


def compiled_by_go(tags: str) -> set[str]:
    """The core files `go list` says the package compiles with these build tags."""
    out = subprocess.run(["go", "list", "-tags", tags, "-f", '{{join .CFiles "\\n"}}', "./go"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found: set[str] = set()
    for name in out:
        found.update(INCLUDE.findall((GO / name).read_text(encoding="utf-8")))
    return found


def check() -> int:
    want, have = expected(), present()
    problems = [f"go/{n}: missing" for n in sorted(want.keys() - have.keys())]
    problems += [f"go/{n}: left over (its core file is gone)" for n in sorted(have.keys() - want.keys())]
    problems += [f"go/{n}: not what the script writes" for n in sorted(want.keys() & have.keys())
                 if want[n] != have[n]]
    core = {p.relative_to(ROOT).as_posix() for p in CORE.rglob("*.c")}
    # What the go command really builds (file-name GOOS/GOARCH suffixes and build tags included).
    problems += [f"{f}: not compiled into the Go package" for f in sorted(core - compiled_by_go(""))]
    problems += [f"{f}: compiled with -tags kvsws_system" for f in sorted(compiled_by_go("kvsws_system"))]
    for p in problems:
        print(f"go-core-sources: {p}")
    if problems:
        print("go-core-sources: run scripts/go-core-sources.py and commit go/core_*.c")
        return 1
    print(f"go-core-sources: the Go package compiles all {len(core)} core files")
    return 0


def write() -> int:
    want, have = expected(), present()
    for name in sorted(have.keys() - want.keys()):
        (GO / name).unlink()
        print(f"go-core-sources: removed go/{name}")
    for name, text in want.items():
        if have.get(name) != text:
            (GO / name).write_text(text, encoding="utf-8")
            print(f"go-core-sources: wrote go/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(check() if "--check" in sys.argv[1:] else write())

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks (or with --fix, adds) the SPDX licence line near the top of every source file.

Usage: scripts/spdx.py [--fix]     (from anywhere; it lists files with git ls-files)
"""
import subprocess
import sys
from pathlib import Path

LICENSE = "Apache-2.0"
TAG = "SPDX-License-Identifier:"
# What a comment looks like in each kind of file we write by hand.
COMMENT = {
    ".c": "/* {} */", ".h": "/* {} */", ".i": "/* {} */", ".map": "/* {} */",
    ".go": "// {}", ".mod": "// {}",
    ".py": "# {}", ".pyi": "# {}", ".sh": "# {}", ".toml": "# {}", ".ini": "# {}",
    ".cmake": "# {}", ".txt": "# {}", ".in": "# {}", ".conf": "# {}",
}
# Third-party files keep their own licence (tests/vectors/sigv4 is Apache-2.0 with its own NOTICE).
SKIP_DIRS = ("tests/vectors/", "tests/fuzz/corpus/")
SKIP_NAMES = {"requirements.txt", "requirements-dev.txt"}


def style(path: str) -> str | None:
    p = Path(path)
    if path.startswith(SKIP_DIRS) or p.name in SKIP_NAMES:
        return None
    if p.name == "CMakeLists.txt":
        return "# {}"
    if p.suffix == ".txt":
        return None
    if p.suffix == "" and p.parent.name in (".ci", "scripts"):
        return "# {}"
    return COMMENT.get(p.suffix)


def main() -> int:
    fix = "--fix" in sys.argv[1:]
    root = Path(__file__).resolve().parent.parent
    files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True,
                           check=True).stdout.split()
    missing = []
    for f in files:
        fmt = style(f)
        if fmt is None or not (root / f).is_file():
            continue
        text = (root / f).read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        if any(TAG in line for line in lines[:5]):
            continue
        if not fix:
            missing.append(f)
            continue
        at = 1 if lines and lines[0].startswith("#!") else 0
        line = fmt.format(f"{TAG} {LICENSE}") + "\n"
        # A Go comment right above `package` or `//go:build` would join it: keep a blank line.
        if f.endswith(".go"):
            line += "\n"
        lines.insert(at, line)
        (root / f).write_text("".join(lines), encoding="utf-8")
        print(f"spdx: added to {f}")
    if missing:
        print(f"spdx: {len(missing)} source file(s) without '{TAG} {LICENSE}' in their first 5 lines:")
        for f in missing:
            print(f"  {f}")
        print("spdx: run scripts/spdx.py --fix")
        return 1
    if not fix:
        print("spdx: every source file carries the licence line")
    return 0


if __name__ == "__main__":
    sys.exit(main())

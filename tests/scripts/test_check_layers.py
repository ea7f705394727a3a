# SPDX-License-Identifier: Apache-2.0
"""scripts/check-layers.py on small trees: it passes a well-layered one and names each break."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check-layers.py"


def run(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root)],
                          capture_output=True, text=True, check=False)


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


GOOD = {
    "core/src/base/buf.h": "",
    "core/src/base/buf.c": '#include "base/buf.h"\n',
    "core/src/aws/sigv4.h": '#include "base/buf.h"\n',
    "core/src/aws/sigv4.c": '#include "aws/sigv4.h"\n#include "kvsws.h"\n',
    "core/cli/main.c": '#include "aws/sigv4.h"\n',
    "python/kvsws/__init__.py": "from .client import Client\n",
    "python/kvsws/client.py": "from . import _core\n",
    "python/kvsws/_core.pyi": "",
    "ARCHITECTURE.md": "`base/buf.c` `aws/sigv4.c` `main.c` `__init__.py` `client.py`\n",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path, GOOD)
    return tmp_path


def test_a_layered_tree_passes(tree: Path) -> None:
    r = run(tree)
    assert r.returncode == 0, r.stdout
    assert "no upward include, no cycle" in r.stdout


def test_an_upward_include_fails(tree: Path) -> None:
    write(tree, {"core/src/base/buf.c": '#include "base/buf.h"\n#include "aws/sigv4.h"\n'})
    r = run(tree)
    assert r.returncode == 1
    assert "core/src/base/buf.c: includes aws/sigv4.h, an upper layer" in r.stdout


def test_an_unqualified_include_fails(tree: Path) -> None:
    write(tree, {"core/src/aws/sigv4.c": '#include "buf.h"\n'})
    assert 'core/src/aws/sigv4.c: #include "buf.h" is not a layer-qualified core file' in run(tree).stdout


def test_a_cycle_inside_a_layer_fails(tree: Path) -> None:
    write(tree, {"core/src/base/url.h": "", "core/src/base/url.c": '#include "base/buf.h"\n',
                 "core/src/base/buf.c": '#include "base/url.h"\n',
                 "ARCHITECTURE.md": GOOD["ARCHITECTURE.md"] + "`base/url.c`\n"})
    assert "cycle: core/src/base/buf <-> core/src/base/url" in run(tree).stdout


def test_a_python_import_cycle_fails_even_when_deferred(tree: Path) -> None:
    write(tree, {"python/kvsws/session.py": "def f():\n    from .client import Client\n",
                 "python/kvsws/client.py": "from typing import TYPE_CHECKING\n"
                                           "if TYPE_CHECKING:\n    from .session import S\n",
                 "ARCHITECTURE.md": GOOD["ARCHITECTURE.md"] + "`session.py`\n"})
    assert "cycle: python/kvsws/client <-> python/kvsws/session" in run(tree).stdout


def test_architecture_must_match_the_tree(tree: Path) -> None:
    write(tree, {"core/src/base/new.c": "", "ARCHITECTURE.md": GOOD["ARCHITECTURE.md"] + "`base/gone.c`\n"})
    out = run(tree).stdout
    assert "ARCHITECTURE.md: does not name core/src/base/new.c" in out
    assert "ARCHITECTURE.md: names base/gone.c, which is not in the tree" in out


def test_a_long_file_needs_a_reason(tree: Path) -> None:
    write(tree, {"core/src/base/buf.c": '#include "base/buf.h"\n' + "int x;\n" * 800})
    assert "core/src/base/buf.c: 801 lines (over 700)" in run(tree).stdout
    reason = "\n- `base/buf.c`: one algorithm;\n  over 700 lines because it must\n"
    write(tree, {"ARCHITECTURE.md": GOOD["ARCHITECTURE.md"] + reason})
    assert run(tree).returncode == 0

# SPDX-License-Identifier: Apache-2.0
"""The README's Python quick start runs as written (against the emulator, through the AWS_*
variables, with a channel of the name it uses)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from kvsws_emulator.testing import Emulator

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    section = README.read_text(encoding="utf-8").split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_quick_start_runs_as_written(emu: Emulator, tmp_path: Path) -> None:
    quick_start = python_blocks()[0]
    assert "kvsws.Client(region_name=" in quick_start
    emu.add_channel("my-channel", storage=True)
    proc = subprocess.run([sys.executable, "-c", quick_start], cwd=tmp_path, env=emu.subprocess_env(),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["ACTIVE media storage ENABLED"]
    assert emu.calls("JoinStorageSession") == 1


def test_quick_start_error_path(emu: Emulator, tmp_path: Path) -> None:
    """On a channel without media storage the join fails the way the comments say."""
    emu.add_channel("my-channel", storage=False)
    proc = subprocess.run([sys.executable, "-c", python_blocks()[0]], cwd=tmp_path,
                          env={**emu.subprocess_env(), "AWS_MAX_ATTEMPTS": "1"},
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "ACTIVE media storage DISABLED"
    # The join fails in its WEBRTC endpoint lookup, and the error names that call.
    assert lines[1].startswith("An error occurred (InvalidArgumentException) when calling the "
                               "GetSignalingChannelEndpoint operation")
    assert lines[1].endswith("(while finding the channel's WEBRTC endpoint for JoinStorageSession)")
    assert lines[2].startswith("InvalidArgumentException ")

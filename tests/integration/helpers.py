# SPDX-License-Identifier: Apache-2.0
"""Running the kvsws CLI and the C API driver against the emulator, with a clean environment."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from kvsws_emulator.testing import Emulator


def clean_env(emu: Emulator | None, **extra: str) -> dict[str, str]:
    """An environment with no AWS_* from the developer's shell: only what the test sets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["AWS_CONFIG_FILE"] = "/nonexistent/kvsws-test-config"
    env["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/kvsws-test-credentials"
    if emu is not None:
        env.update(emu.env())
    env.update(extra)
    return env


def run_cli(kvsws: Path, args: list[str], env: dict[str, str],
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(kvsws), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def run_api(it_api: Path, mode: str, operation: str, payload: dict[str, Any] | str,
            env: dict[str, str], *extra: str, timeout: float = 60) -> dict[str, Any]:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    proc = subprocess.run([str(it_api), mode, operation, text, *extra], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])

# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the Python package's tests: the INSTALLED kvsws (never python/kvsws from the source
tree), a client pointed at the emulator, and an environment with no AWS_* from the developer."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kvsws_emulator.testing import Emulator

ROOT = Path(__file__).resolve().parents[2]

try:
    import kvsws
except ImportError as exc:
    raise pytest.UsageError(f"kvsws is not installed in {sys.prefix} ({exc}): run scripts/test-python.sh, "
                            "which installs it with `pip install .` first") from None

if Path(kvsws.__file__).resolve().is_relative_to(ROOT / "python"):
    raise pytest.UsageError(f"kvsws was imported from the source tree ({kvsws.__file__}), not from the "
                            "installed package: the extension and the packaging would go untested")

from .helpers import make_client  # noqa: E402 - after the check above, on purpose


@pytest.fixture(autouse=True)
def clean_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No AWS_* setting, profile or shared file of the developer's reaches a test."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    nowhere = tmp_path_factory.getbasetemp() / "no-aws-files"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(nowhere / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture()
def client(emu: Emulator) -> Iterator[kvsws.Client]:
    with make_client(emu) as c:
        yield c


@pytest.fixture()
def arn(emu: Emulator) -> str:
    return emu.add_channel("py-channel", storage=True)

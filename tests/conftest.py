# SPDX-License-Identifier: Apache-2.0
"""Shared pytest fixtures: the emulator and the built kvsws binaries."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kvsws_emulator.testing import Emulator

ROOT = Path(__file__).resolve().parent.parent


def build_dir() -> Path:
    return Path(os.environ.get("KVSWS_BUILD_DIR", ROOT / "build"))


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    # With the AWS IoT credentials provider's mutual TLS listener (test_*credentials_iot.py).
    with Emulator(extra_args=["--iot-port", "0"]) as emu:
        yield emu


@pytest.fixture()
def emu(emulator: Emulator) -> Emulator:
    """The session's emulator with faults, counts and recordings reset for this test."""
    emulator.reset()
    return emulator


@pytest.fixture(scope="session")
def kvsws_bin() -> Path:
    path = build_dir() / "kvsws"
    if not path.exists():
        pytest.fail(f"{path} is missing: build first (scripts/build.sh)")
    return path


@pytest.fixture(scope="session")
def it_api_bin() -> Path:
    path = build_dir() / "it_api"
    if not path.exists():
        pytest.fail(f"{path} is missing: build first (scripts/build.sh)")
    return path

# SPDX-License-Identifier: Apache-2.0
"""One version: kvsws.h's. The package's metadata and kvsws.__version__ (the compiled-in core's)
both report it."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import kvsws

HEADER = Path(__file__).resolve().parents[2] / "core" / "include" / "kvsws.h"


def test_version_is_the_headers() -> None:
    match = re.search(r'^#define KVSWS_VERSION_STRING "([^"]+)"$', HEADER.read_text(), re.MULTILINE)
    assert match, f"no KVSWS_VERSION_STRING in {HEADER}"
    assert kvsws.__version__ == match.group(1)
    assert importlib.metadata.version("kvsws") == match.group(1)

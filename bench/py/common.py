# SPDX-License-Identifier: Apache-2.0
"""What the Python benchmarks share: the fixtures, the timing loop and the JSON lines."""

from __future__ import annotations

import datetime
import gc
import json
import os
import re
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FIXTURES = Path(os.environ.get("BENCH_FIXTURES", Path(__file__).resolve().parent.parent / "fixtures.json"))


def fixtures() -> dict[str, Any]:
    fx = json.loads(FIXTURES.read_text())
    fx["datetime"] = datetime.datetime.fromtimestamp(fx["timestamp"], datetime.UTC)
    return fx


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def time_runs(fn: Callable[[], object], iterations: int, runs: int) -> list[float]:
    """ns per call of fn, for each of `runs` runs of `iterations` calls (after a warm-up)."""
    for _ in range(max(iterations // 10, 50)):
        fn()
    out = []
    gc.collect()
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        for _ in range(iterations):
            fn()
        out.append((time.perf_counter_ns() - t0) / iterations)
    return out


def signature_of(text: str) -> str:
    m = re.search(r"(?:Signature=|X-Amz-Signature=)([0-9a-f]{64})", text)
    if not m:
        raise SystemExit(f"bench: no signature in {text!r}")
    return m.group(1)


def cpu_ns() -> int:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return int((ru.ru_utime + ru.ru_stime) * 1e9)


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def threads() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def arg(name: str, default: str) -> str:
    argv = sys.argv
    return argv[argv.index(name) + 1] if name in argv else default

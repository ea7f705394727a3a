# SPDX-License-Identifier: Apache-2.0
"""Slow endpoints against the public C API: six storage sessions on one client, the first answer
of four of them trickled by the emulator (a byte a second). The other two connect as if nothing
happened, and the trickled ones end in a clear, retryable timeout at the request deadline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from kvsws_emulator.testing import Emulator

from .helpers import clean_env

REQUEST_TIMEOUT_MS = 12_000


def run_sessions(binary: Path, env: dict[str, str], seconds: float,
                 sessions: list[tuple[str, str]]) -> list[dict[str, Any]]:
    args = [str(binary), "--seconds", str(seconds)]
    for flag, value in sessions:
        args += [flag, value]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=seconds + 30,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Sanitizer" not in proc.stderr and "runtime error" not in proc.stderr, proc.stderr[-4000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_trickled_answers_hold_up_no_other_session(emu: Emulator, it_api_bin: Path) -> None:
    slow = [f"trickled-{i}" for i in range(4)]
    for name in slow:
        emu.add_channel(name, storage=True)
    fast = [emu.add_channel(f"prompt-{i}", storage=True) for i in range(2)]
    # The sessions named by channel start with DescribeSignalingChannel; the two given an ARN
    # never call it, so exactly the first four sessions' first answers trickle.
    emu.fault(operation="DescribeSignalingChannel", count=4, trickle_ms=1000)
    env = clean_env(emu, AWS_MAX_ATTEMPTS="1", KVSWS_IT_REQUEST_TIMEOUT_MS=str(REQUEST_TIMEOUT_MS))
    # The trickled sessions first: they take the client's four base workers.
    sessions = [("--channel-name", n) for n in slow] + [("--channel-arn", a) for a in fast]
    events = run_sessions(it_api_bin.parent / "it_slow_endpoints", env,
                          REQUEST_TIMEOUT_MS / 1000 + 1.5, sessions)

    def of(index: int) -> list[dict[str, Any]]:
        return [e for e in events if e.get("session") == index]

    # The two others reach "connected" (their offer delivered) within 10 s, without an error.
    for index in (4, 5):
        connected = [e for e in of(index) if e["type"] == "state" and e["state"] == "connected"]
        assert connected, of(index)
        assert connected[0]["t_ms"] < 10_000, connected[0]
        assert not any("error" in e for e in of(index)), of(index)

    # Each trickled session waits in "connecting" until its request deadline, then says why.
    for index in range(4):
        failed = [e for e in of(index) if "error" in e]
        assert failed, of(index)
        first = failed[0]
        assert first["type"] == "state" and first["state"] == "reconnecting", first
        error = first["error"]
        assert error["status_name"] == "KVSWS_E_READ_TIMEOUT" and error["code"] == "ReadTimeoutError"
        assert error["retryable"] is True and error["operation"] == "DescribeSignalingChannel"
        assert f"within the request timeout of {REQUEST_TIMEOUT_MS} ms" in error["message"]
        # Bytes came every second, so only the total deadline could end it, and it did on time.
        assert REQUEST_TIMEOUT_MS - 100 <= first["t_ms"] <= REQUEST_TIMEOUT_MS + 1500, first
        before = [e for e in of(index) if e["t_ms"] < first["t_ms"]]
        assert [e.get("state") for e in before if e["type"] == "state"] == ["connecting"], before

    trickled = [r for r in emu.requests("DescribeSignalingChannel") if r.get("fault")]
    assert len(trickled) == 4 and all(r["fault"]["kind"] == "trickle" for r in trickled), trickled
    assert events[-1]["type"] == "done" and events[-1]["max_next_event_ms"] < 500, events[-1]

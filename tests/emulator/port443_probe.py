# SPDX-License-Identifier: Apache-2.0
"""kvsws against an emulator on 127.0.0.1:443, whose endpoints carry no port (as AWS's do).

Run inside a private network namespace, where port 443 needs no privileges:
``unshare -rn python3 -m kvsws_emulator.netns python3 tests/emulator/port443_probe.py KVSWS IT_SESSION``.
The kvsws CLI makes the control plane calls, the join and GetIceServerConfig; it_session (the C
session driver) connects the signaling WebSocket to ``wss://127.0.0.1`` and joins until the offer
comes. Prints one JSON document (what the emulator advertised and recorded, what kvsws printed) that
test_default_port.py checks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

from kvsws_emulator.testing import Emulator

SESSION_TIMEOUT = 60.0


def run_cli(kvsws: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = subprocess.run([kvsws, *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    return {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr[-2000:]}


def session_until_offer(it_session: str, env: dict[str, str], arn: str) -> dict[str, Any]:
    proc = subprocess.Popen([it_session, "--channel-arn", arn, "--offer-timeout", "5000"], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(SESSION_TIMEOUT, proc.kill)  # no offer: the test fails, it does not hang
    watchdog.start()
    events: list[str] = []
    try:
        assert proc.stdout is not None and proc.stdin is not None
        for line in proc.stdout:
            event = json.loads(line)
            events.append(event["type"])
            if event["type"] in ("offer", "closed"):
                break
        proc.stdin.write(json.dumps({"cmd": "close"}) + "\n")
        proc.stdin.flush()
        _, stderr = proc.communicate(timeout=20)
    finally:
        watchdog.cancel()
    return {"events": events, "returncode": proc.returncode, "stderr": stderr[-2000:]}


def main(kvsws: str, it_session: str) -> int:
    with Emulator(port=443) as emu:
        env = emu.subprocess_env()
        arn = emu.channel_arn("demo-channel")
        result: dict[str, Any] = {
            "ready": emu.ready,
            "endpoints": run_cli(kvsws, env, "--endpoint-url", "https://127.0.0.1", "get-signaling-channel-endpoint",
                                 "--channel-arn", arn),
            "join": run_cli(kvsws, env, "join-storage-session", "--channel-arn", arn),
            "ice": run_cli(kvsws, env, "get-ice-server-config", "--channel-arn", arn, "--client-id", "probe"),
            "session": session_until_offer(it_session, env, arn),
            "requests": [{"operation": r["operation"], "status": r["status"], "verified": r["verified"],
                          "auth_error": r["auth_error"]} for r in emu.requests() if r["operation"]],
        }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

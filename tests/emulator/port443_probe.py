# SPDX-License-Identifier: Apache-2.0
"""kvsws against an emulator on port 443, whose endpoints carry no port (as AWS's do).

Run by kvsws_emulator.on443, which starts the emulator in a private namespace and points the
environment at it: ``python3 -m kvsws_emulator.on443 --advertise kvs.emulator.test -- python3
tests/emulator/port443_probe.py KVSWS IT_SESSION``. The kvsws CLI makes a lookup, a join and
GetIceServerConfig; it_session (the C session driver) connects the signaling WebSocket to the
advertised ``wss://`` endpoint and joins until the offer comes. Prints one JSON document (what the
emulator advertised and recorded, what kvsws printed) that test_default_port.py checks.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

SESSION_TIMEOUT = 60.0


def run_cli(kvsws: str, *args: str) -> dict[str, Any]:
    proc = subprocess.run([kvsws, *args], capture_output=True, text=True, timeout=60, check=False)
    return {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr[-2000:]}


def session_until_offer(it_session: str, arn: str) -> dict[str, Any]:
    proc = subprocess.Popen([it_session, "--channel-arn", arn, "--offer-timeout", "5000"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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


def recorded(ready: dict[str, Any]) -> list[dict[str, Any]]:
    context = ssl.create_default_context(cafile=ready["ca_bundle"])
    with urllib.request.urlopen(f"{ready['endpoint']}/_emulator/state", context=context, timeout=30) as resp:
        state = json.load(resp)
    return [{"operation": r["operation"], "status": r["status"], "verified": r["verified"],
             "auth_error": r["auth_error"]} for r in state["requests"] if r["operation"]]


def main(kvsws: str, it_session: str) -> int:
    ready = json.loads((Path(os.environ["KVSWS_EMULATOR_STATE_DIR"]) / "ready.json").read_text(encoding="utf-8"))
    arn = ready["channels"]["demo-channel"]
    result: dict[str, Any] = {
        "ready": ready,
        "endpoint_env": os.environ["AWS_ENDPOINT_URL_KINESIS_VIDEO"],
        "endpoints": run_cli(kvsws, "get-signaling-channel-endpoint", "--channel-arn", arn),
        "join": run_cli(kvsws, "join-storage-session", "--channel-arn", arn),
        "ice": run_cli(kvsws, "get-ice-server-config", "--channel-arn", arn, "--client-id", "probe"),
        "session": session_until_offer(it_session, arn),
    }
    result["requests"] = recorded(ready)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

# SPDX-License-Identifier: Apache-2.0
"""KVSWS_LOG_LEVEL for clients that set no level (the C API and the CLI), the levels the lines
carry, and a service error's HTTP headers (kvsws_error_http_headers_json)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kvsws_emulator.testing import Emulator

from .helpers import clean_env, run_api, run_cli


def stderr_of_api(it_api: Path, arn: str, env: dict[str, str]) -> tuple[str, str]:
    proc = subprocess.run([str(it_api), "call", "DescribeSignalingChannel",
                           f'{{"ChannelARN": "{arn}"}}'], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, proc.stderr


def test_env_level_for_a_client_without_one(emu: Emulator, it_api_bin: Path) -> None:
    arn = emu.add_channel("log-channel", storage=True)
    _, debug = stderr_of_api(it_api_bin, arn, clean_env(emu, KVSWS_LOG_LEVEL="DEBUG"))
    assert "kvsws: DescribeSignalingChannel: HTTP 200, request id " in debug
    assert "CanonicalRequest:" in debug
    # a call is a DEBUG line, as botocore's: quiet at INFO and when unset
    _, info = stderr_of_api(it_api_bin, arn, clean_env(emu, KVSWS_LOG_LEVEL="info"))
    assert "DescribeSignalingChannel" not in info
    _, unset = stderr_of_api(it_api_bin, arn, clean_env(emu))
    assert unset == ""
    _, off = stderr_of_api(it_api_bin, arn, clean_env(emu, KVSWS_LOG_LEVEL="off"))
    assert off == ""


def test_bad_env_level_is_a_config_error(emu: Emulator, it_api_bin: Path) -> None:
    arn = emu.add_channel("log-channel", storage=True)
    r = run_api(it_api_bin, "call", "DescribeSignalingChannel", {"ChannelARN": arn},
                clean_env(emu, KVSWS_LOG_LEVEL="loud"))
    assert r["status_name"] == "KVSWS_E_CONFIG"
    assert "KVSWS_LOG_LEVEL" in r["message"] and '"loud"' in r["message"]


def test_cli_reads_the_env_level(emu: Emulator, kvsws_bin: Path) -> None:
    arn = emu.add_channel("log-channel", storage=True)
    args = ["describe-signaling-channel", "--channel-arn", arn]
    out = run_cli(kvsws_bin, args, clean_env(emu, KVSWS_LOG_LEVEL="debug"))
    assert out.returncode == 0, out.stderr
    assert "DescribeSignalingChannel: HTTP 200" in out.stderr
    quiet = run_cli(kvsws_bin, args, clean_env(emu, KVSWS_LOG_LEVEL="warn"))
    assert quiet.returncode == 0 and quiet.stderr == ""
    bad = run_cli(kvsws_bin, args, clean_env(emu, KVSWS_LOG_LEVEL="verbose"))
    assert bad.returncode != 0 and "KVSWS_LOG_LEVEL" in bad.stderr


def test_error_carries_the_answers_headers(emu: Emulator, it_api_bin: Path) -> None:
    arn = emu.add_channel("log-channel", storage=True)
    emu.fault(operation="DescribeSignalingChannel", error="ResourceNotFoundException",
              message="injected", count=1)
    r = run_api(it_api_bin, "call", "DescribeSignalingChannel", {"ChannelARN": arn},
                clean_env(emu, KVSWS_IT_MAX_ATTEMPTS="1"))
    assert r["code"] == "ResourceNotFoundException"
    headers = r["http_headers"]
    assert headers["x-amzn-requestid"] == r["request_id"] != ""
    assert headers["content-type"].startswith("application/")
    assert int(headers["content-length"]) > 0
    assert headers["date"].endswith("GMT")
    assert all(name == name.lower() for name in headers)
    ok = run_api(it_api_bin, "call", "DescribeSignalingChannel", {"ChannelARN": arn},
                 clean_env(emu))
    assert ok["status_name"] == "KVSWS_OK"
    assert ok["http_headers"]["x-amzn-requestid"] == ok["request_id"] != r["request_id"]

# SPDX-License-Identifier: Apache-2.0
"""The public C API (shared library) against the emulator: every operation, error details,
retries, the join retry policy, threads sharing one client, and cancellation."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvsws_emulator.testing import Emulator

from .helpers import clean_env, run_api


@pytest.fixture()
def arn(emu: Emulator) -> str:
    return emu.add_channel("capi-channel", storage=True)


def inputs(arn: str) -> dict[str, dict]:
    return {
        "JoinStorageSession": {"channelArn": arn},
        "JoinStorageSessionAsViewer": {"channelArn": arn, "clientId": "viewer-7"},
        "GetSignalingChannelEndpoint": {
            "ChannelARN": arn,
            "SingleMasterChannelEndpointConfiguration": {"Protocols": ["WSS", "HTTPS", "WEBRTC"],
                                                         "Role": "MASTER"}},
        "DescribeSignalingChannel": {"ChannelARN": arn},
        "DescribeMediaStorageConfiguration": {"ChannelARN": arn},
        "GetIceServerConfig": {"ChannelARN": arn, "ClientId": "me", "Service": "TURN"},
    }


def test_every_operation(emu: Emulator, it_api_bin: Path, arn: str) -> None:
    env = clean_env(emu)
    for op, payload in inputs(arn).items():
        r = run_api(it_api_bin, "call", op, payload, env)
        assert r["status_name"] == "KVSWS_OK", r
        assert r["http_status"] == 200 and r["request_id"] and r["attempts"] == 1
        assert isinstance(r["output"], dict)
    assert run_api(it_api_bin, "call", "DescribeMediaStorageConfiguration",
                   {"ChannelARN": arn}, env)["output"]["MediaStorageConfiguration"]["Status"] \
        == "ENABLED"


@pytest.mark.parametrize(("error", "status", "status_name", "retryable"), [
    ("ResourceNotFoundException", 404, "KVSWS_E_RESOURCE_NOT_FOUND", False),
    ("AccessDeniedException", 403, "KVSWS_E_ACCESS_DENIED", False),
    ("InvalidArgumentException", 400, "KVSWS_E_INVALID_ARGUMENT", False),
    ("ClientLimitExceededException", 400, "KVSWS_E_CLIENT_LIMIT_EXCEEDED", True),
])
def test_join_error_details(emu: Emulator, it_api_bin: Path, arn: str, error: str, status: int,
                            status_name: str, retryable: bool) -> None:
    emu.fault(operation="JoinStorageSession", error=error, message="injected", count=1)
    r = run_api(it_api_bin, "call", "JoinStorageSession", {"channelArn": arn},
                clean_env(emu, KVSWS_IT_MAX_ATTEMPTS="1"))
    assert (r["code"], r["http_status"], r["status_name"]) == (error, status, status_name)
    assert r["retryable"] is retryable
    assert r["message"] == "injected" and r["request_id"] and r["attempts"] == 1
    assert r["describe"] == (f"An error occurred ({error}) when calling the JoinStorageSession "
                             "operation: injected")


def test_control_plane_access_denied_is_401(emu: Emulator, it_api_bin: Path, arn: str) -> None:
    emu.fault(operation="DescribeSignalingChannel", error="AccessDeniedException", count=1)
    r = run_api(it_api_bin, "call", "DescribeSignalingChannel", {"ChannelARN": arn},
                clean_env(emu))
    assert (r["status_name"], r["http_status"], r["attempts"]) == ("KVSWS_E_ACCESS_DENIED", 401, 1)


def test_5xx_html_is_an_error_with_a_code(emu: Emulator, it_api_bin: Path, arn: str) -> None:
    emu.fault(operation="DescribeSignalingChannel", status=503, body="html", count=3)
    r = run_api(it_api_bin, "call", "DescribeSignalingChannel", {"ChannelARN": arn},
                clean_env(emu, KVSWS_IT_BASE_DELAY_MS="10"))
    assert r["status_name"] == "KVSWS_E_SERVICE_UNAVAILABLE" and r["code"]
    assert r["http_status"] == 503 and r["retryable"] and r["attempts"] == 3
    assert emu.calls("DescribeSignalingChannel") == 3


def test_join_retry_policy(emu: Emulator, it_api_bin: Path, arn: str) -> None:
    emu.fault(operation="JoinStorageSession", status=503, count=1)
    r = run_api(it_api_bin, "call", "JoinStorageSession", {"channelArn": arn},
                clean_env(emu, KVSWS_IT_BASE_DELAY_MS="10"))
    assert r["status_name"] == "KVSWS_OK" and r["attempts"] == 2   # retried, and it says so
    emu.reset()
    emu.fault(operation="JoinStorageSession", status=503, count=1)
    r = run_api(it_api_bin, "call", "JoinStorageSession", {"channelArn": arn},
                clean_env(emu, KVSWS_IT_RETRY_JOIN="0"))
    assert r["status_name"] == "KVSWS_E_SERVICE_UNAVAILABLE" and r["attempts"] == 1
    assert emu.calls("JoinStorageSession") == 1


def test_threads_share_one_client(emu: Emulator, it_api_bin: Path, arn: str) -> None:
    r = run_api(it_api_bin, "threads", "DescribeSignalingChannel", {"ChannelARN": arn},
                clean_env(emu), "8", "10")
    assert r["ok"] == r["total"] == 80
    assert emu.calls("DescribeSignalingChannel") == 80


def test_cancel_mid_call(emu: Emulator, it_api_bin: Path, arn: str) -> None:
    emu.fault(operation="DescribeSignalingChannel", delay_ms=5000, count=1)
    r = run_api(it_api_bin, "cancel", "DescribeSignalingChannel", {"ChannelARN": arn},
                clean_env(emu), "200")
    assert r["status_name"] == "KVSWS_E_CANCELLED"
    assert r["elapsed_ms"] < 1500


def test_validation_happens_before_io(emu: Emulator, it_api_bin: Path) -> None:
    r = run_api(it_api_bin, "call", "JoinStorageSession", {"channelArn": "arn:nope"},
                clean_env(emu))
    assert r["status_name"] == "KVSWS_E_PARAM_VALIDATION" and "channelArn" in r["message"]
    assert emu.state()["requests"] == []


def test_session_token_credentials(emu: Emulator, it_api_bin: Path, arn: str) -> None:
    """A key pair that needs a token: the signed request carries it, and it is checked."""
    key, secret, token = "AKIDTOKENTEST", "token-test-secret-0123456789", "FwoGZXIvYXdzE+/=token"
    emu.add_credentials(key, secret, token)
    env = clean_env(emu, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret,
                    AWS_SESSION_TOKEN=token)
    r = run_api(it_api_bin, "call", "DescribeSignalingChannel", {"ChannelARN": arn}, env)
    assert r["status_name"] == "KVSWS_OK", r
    env["AWS_SESSION_TOKEN"] = "wrong"
    r = run_api(it_api_bin, "call", "DescribeSignalingChannel", {"ChannelARN": arn}, env)
    assert r["status_name"] == "KVSWS_E_UNRECOGNIZED_CLIENT", r

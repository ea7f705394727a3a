# SPDX-License-Identifier: Apache-2.0
"""The kvsws CLI against the emulator over real TLS: output, AWS CLI error lines and exit codes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kvsws_emulator.models import modelled_errors
from kvsws_emulator.testing import Emulator

from .helpers import clean_env, run_cli


def commands(arn: str) -> dict[str, list[str]]:
    return {
        "JoinStorageSession": ["join-storage-session", "--channel-arn", arn],
        "JoinStorageSessionAsViewer": ["join-storage-session-as-viewer", "--channel-arn", arn,
                                       "--client-id", "viewer-1"],
        "GetSignalingChannelEndpoint": ["get-signaling-channel-endpoint", "--channel-arn", arn],
        "DescribeSignalingChannel": ["describe-signaling-channel", "--channel-arn", arn],
        "DescribeMediaStorageConfiguration": ["describe-media-storage-configuration",
                                              "--channel-arn", arn],
        "GetIceServerConfig": ["get-ice-server-config", "--channel-arn", arn],
    }


# Every modelled error of every operation, with the HTTP status the service models give it.
MODELLED = modelled_errors()


@pytest.fixture()
def arn(emu: Emulator) -> str:
    return emu.add_channel("cli-channel", storage=True)


def test_describe_signaling_channel(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    out = run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-arn", arn], clean_env(emu))
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)["ChannelInfo"]
    assert info["ChannelARN"] == arn
    assert info["ChannelName"] == "cli-channel"
    by_name = run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-name", "cli-channel"],
                      clean_env(emu))
    assert json.loads(by_name.stdout)["ChannelInfo"]["ChannelARN"] == arn


def test_media_storage_configuration(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    out = run_cli(kvsws_bin, ["describe-media-storage-configuration", "--channel-arn", arn],
                  clean_env(emu))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["MediaStorageConfiguration"]["Status"] == "ENABLED"
    off = emu.add_channel("cli-no-storage", storage=False)
    out = run_cli(kvsws_bin, ["describe-media-storage-configuration", "--channel-arn", off],
                  clean_env(emu))
    assert json.loads(out.stdout)["MediaStorageConfiguration"]["Status"] == "DISABLED"


def test_get_signaling_channel_endpoint(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    out = run_cli(kvsws_bin, ["get-signaling-channel-endpoint", "--channel-arn", arn,
                              "--protocols", "WSS,HTTPS", "--role", "VIEWER"], clean_env(emu))
    assert out.returncode == 0, out.stderr
    endpoints = {e["Protocol"]: e["ResourceEndpoint"]
                 for e in json.loads(out.stdout)["ResourceEndpointList"]}
    assert set(endpoints) == {"WSS", "HTTPS"}
    assert endpoints["WSS"].startswith("wss://")


def test_webrtc_on_channel_without_storage(emu: Emulator, kvsws_bin: Path) -> None:
    off = emu.add_channel("cli-no-storage-2", storage=False)
    out = run_cli(kvsws_bin, ["get-signaling-channel-endpoint", "--channel-arn", off,
                              "--protocols", "WEBRTC"], clean_env(emu, AWS_MAX_ATTEMPTS="1"))
    assert out.returncode == 254
    assert "An error occurred (InvalidArgumentException) when calling the " \
           "GetSignalingChannelEndpoint operation:" in out.stderr


def test_join_prints_nothing(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    out = run_cli(kvsws_bin, ["join-storage-session", "--channel-arn", arn], clean_env(emu))
    assert (out.returncode, out.stdout) == (0, ""), out.stderr
    assert emu.calls("JoinStorageSession") == 1
    viewer = run_cli(kvsws_bin, ["join-storage-session-as-viewer", "--channel-arn", arn,
                                 "--client-id", "viewer-1"], clean_env(emu))
    assert (viewer.returncode, viewer.stdout) == (0, ""), viewer.stderr
    assert emu.calls("JoinStorageSessionAsViewer") == 1


def test_join_discovers_the_webrtc_endpoint(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    """Without a storage endpoint configured, the client asks GetSignalingChannelEndpoint."""
    out = run_cli(kvsws_bin, ["join-storage-session", "--channel-arn", arn], clean_env(emu))
    assert out.returncode == 0, out.stderr
    assert emu.calls("GetSignalingChannelEndpoint") == 1
    # --endpoint-url addresses the control plane: the WEBRTC endpoint is still discovered ...
    emu.reset()
    out = run_cli(kvsws_bin, ["--endpoint-url", emu.endpoint, "join-storage-session",
                              "--channel-arn", arn], clean_env(emu))
    assert out.returncode == 0, out.stderr
    assert emu.calls("GetSignalingChannelEndpoint") == 1
    # ... unless the storage service's own variable names it.
    emu.reset()
    out = run_cli(kvsws_bin, ["join-storage-session", "--channel-arn", arn],
                  clean_env(emu, AWS_ENDPOINT_URL_KINESIS_VIDEO_WEBRTC_STORAGE=emu.endpoint))
    assert out.returncode == 0, out.stderr
    assert emu.calls("GetSignalingChannelEndpoint") == 0 and emu.calls("JoinStorageSession") == 1


def test_ice_server_config(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    out = run_cli(kvsws_bin, ["get-ice-server-config", "--channel-arn", arn, "--client-id", "me"],
                  clean_env(emu))
    assert out.returncode == 0, out.stderr
    servers = json.loads(out.stdout)["IceServerList"]
    assert servers and all(s["Uris"] and s["Username"] and s["Password"] for s in servers)


@pytest.mark.parametrize(("operation", "error", "status"), MODELLED)
def test_modelled_error(emu: Emulator, kvsws_bin: Path, arn: str, operation: str, error: str,
                        status: int) -> None:
    emu.fault(operation=operation, error=error, message=f"injected {error}", count=1)
    out = run_cli(kvsws_bin, commands(arn)[operation], clean_env(emu, AWS_MAX_ATTEMPTS="1"))
    assert out.returncode == 254, out.stderr
    assert out.stderr.strip() == (f"An error occurred ({error}) when calling the {operation} "
                                  f"operation: injected {error}")
    recorded = [r for r in emu.state()["requests"] if r["operation"] == operation]
    assert recorded and recorded[-1]["status"] == status


def test_retries_are_counted_by_the_emulator(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    emu.fault(operation="DescribeSignalingChannel", status=503, body="html", count=2)
    out = run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-arn", arn],
                  clean_env(emu, AWS_MAX_ATTEMPTS="3"))
    assert out.returncode == 0, out.stderr
    assert emu.calls("DescribeSignalingChannel") == 3


def test_retries_give_up_at_max_attempts(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    emu.fault(operation="DescribeSignalingChannel", status=500, body="empty", count=5)
    out = run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-arn", arn],
                  clean_env(emu, AWS_MAX_ATTEMPTS="2"))
    assert out.returncode == 254
    assert "(500)" in out.stderr or "(InternalFailure)" in out.stderr
    assert emu.calls("DescribeSignalingChannel") == 2


def test_join_is_retried_on_throttling(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    emu.fault(operation="JoinStorageSession", throttle=True, count=1)
    out = run_cli(kvsws_bin, ["join-storage-session", "--channel-arn", arn], clean_env(emu))
    assert out.returncode == 0, out.stderr
    assert emu.calls("JoinStorageSession") == 2


def test_not_found_is_not_retried(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    missing = arn.replace("cli-channel", "missing-channel")
    out = run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-arn", missing],
                  clean_env(emu))
    assert out.returncode == 254
    assert "(ResourceNotFoundException)" in out.stderr
    assert emu.calls("DescribeSignalingChannel") == 1


@pytest.mark.parametrize("args", [
    ["join-storage-session", "--channel-arn", "arn:aws:s3:::bucket"],
    ["join-storage-session"],
    ["join-storage-session-as-viewer", "--channel-arn",
     "arn:aws:kinesisvideo:us-west-2:123456789012:channel/x/1", "--client-id", "bad id"],
    ["get-signaling-channel-endpoint", "--channel-arn",
     "arn:aws:kinesisvideo:us-west-2:123456789012:channel/x/1", "--role", "OWNER"],
    ["describe-signaling-channel"],
    ["join-storage-session", "--channel-arn"],
    ["no-such-command"],
    ["join-storage-session", "--bogus", "1"],
])
def test_bad_input_exits_252_before_io(emu: Emulator, kvsws_bin: Path, args: list[str]) -> None:
    out = run_cli(kvsws_bin, args, clean_env(emu))
    assert out.returncode == 252, out.stderr
    assert emu.state()["requests"] == []


def test_validation_names_the_field(emu: Emulator, kvsws_bin: Path) -> None:
    out = run_cli(kvsws_bin, ["join-storage-session", "--channel-arn", "nope"], clean_env(emu))
    assert "channelArn" in out.stderr and "pattern" in out.stderr


def test_no_credentials_exits_253(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    env = clean_env(emu)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    out = run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-arn", arn], env)
    assert out.returncode == 253
    assert "Unable to locate credentials" in out.stderr
    assert emu.state()["requests"] == []


def test_no_region_exits_253(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    env = clean_env(emu)
    del env["AWS_REGION"]
    out = run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-arn", arn], env)
    assert out.returncode == 253
    assert "region" in out.stderr.lower()


def test_connection_refused_exits_255(kvsws_bin: Path) -> None:
    env = clean_env(None, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="x" * 40,
                    AWS_REGION="us-west-2", AWS_MAX_ATTEMPTS="1")
    out = run_cli(kvsws_bin, ["--endpoint-url", "https://127.0.0.1:9",
                              "describe-signaling-channel", "--channel-name", "x"], env)
    assert out.returncode == 255
    assert "Could not connect to the endpoint URL" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_untrusted_certificate_exits_255(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    env = clean_env(emu, AWS_MAX_ATTEMPTS="1")
    del env["AWS_CA_BUNDLE"]
    out = run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-arn", arn], env)
    assert out.returncode == 255
    assert "SSL" in out.stderr
    assert emu.state()["requests"] == []


def test_ca_bundle_flag(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    env = clean_env(emu)
    ca = env.pop("AWS_CA_BUNDLE")
    out = run_cli(kvsws_bin, ["--ca-bundle", ca, "describe-signaling-channel",
                              "--channel-arn", arn], env)
    assert out.returncode == 0, out.stderr


def test_wrong_secret_is_caught_by_the_emulator(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    env = clean_env(emu, AWS_SECRET_ACCESS_KEY="wrong" * 8, AWS_MAX_ATTEMPTS="1")
    out = run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-arn", arn], env)
    assert out.returncode == 254
    assert "(InvalidSignatureException)" in out.stderr


def test_read_timeout(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    emu.fault(operation="DescribeSignalingChannel", delay_ms=3000, count=1)
    out = run_cli(kvsws_bin, ["--cli-read-timeout", "1", "describe-signaling-channel",
                              "--channel-arn", arn], clean_env(emu, AWS_MAX_ATTEMPTS="1"))
    assert out.returncode == 255
    assert "Read timeout" in out.stderr


def test_request_timeout(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    """A byte every 200 ms never trips the 60 s read timeout; the 1 s request timeout ends it."""
    emu.fault(operation="DescribeSignalingChannel", trickle_ms=200, count=1)
    start = time.monotonic()
    out = run_cli(kvsws_bin, ["--cli-request-timeout", "1", "describe-signaling-channel",
                              "--channel-arn", arn], clean_env(emu, AWS_MAX_ATTEMPTS="1"))
    assert time.monotonic() - start < 5
    assert out.returncode == 255
    assert "Read timeout" in out.stderr and "within the request timeout of 1000 ms" in out.stderr


def test_dropped_connection_is_retried(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    emu.fault(operation="DescribeSignalingChannel", drop=True, count=1)
    out = run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-arn", arn],
                  clean_env(emu))
    assert out.returncode == 0, out.stderr
    assert emu.calls("DescribeSignalingChannel") == 2


def test_clock_skew_is_corrected(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    emu.clock(skew_seconds=3600)
    try:
        out = run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-arn", arn],
                      clean_env(emu, AWS_MAX_ATTEMPTS="1"))
    finally:
        emu.clock(skew_seconds=0)
    assert out.returncode == 0, out.stderr
    assert emu.calls("DescribeSignalingChannel") == 2


def test_debug_shows_signing_but_no_secret(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    env = clean_env(emu, AWS_SESSION_TOKEN="")
    out = run_cli(kvsws_bin, ["--debug", "describe-signaling-channel", "--channel-arn", arn], env)
    assert out.returncode == 0, out.stderr
    assert "CanonicalRequest" in out.stderr and "StringToSign" in out.stderr
    assert "POST\n/describeSignalingChannel" in out.stderr
    assert env["AWS_SECRET_ACCESS_KEY"] not in out.stderr + out.stdout


def test_user_agent(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-arn", arn], clean_env(emu))
    agent = emu.state()["requests"][-1]["user_agent"]
    assert agent.startswith("kvsws/0.1.0")


def test_every_request_was_verified(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    for args in commands(arn).values():
        assert run_cli(kvsws_bin, args, clean_env(emu)).returncode == 0
    requests = emu.state()["requests"]
    assert len(requests) >= 6
    assert all(r["verified"] for r in requests), requests

# SPDX-License-Identifier: Apache-2.0
"""The kvsws CLI against the emulator over real TLS: output, AWS CLI error lines and exit codes."""

from __future__ import annotations

import datetime
import json
import re
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


# --- --output json|text|table, as the AWS CLI v2 prints them ---------------------------------

def channel_info(emu: Emulator, arn: str) -> dict:
    return next(c for c in emu.state()["channels"] if c["arn"] == arn)


def iso(epoch: float, offset: datetime.timedelta = datetime.timedelta(0)) -> str:
    """What botocore's parser plus the AWS CLI v2 print: datetime(tz=local).isoformat()."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone(offset)).isoformat()


def test_output_json_is_the_aws_clis(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    out = run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-arn", arn],
                  clean_env(emu, TZ="UTC"))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    # Byte for byte what the AWS CLI writes: json.dumps(indent=4), a newline, no tabs.
    assert out.stdout == json.dumps(doc, indent=4, ensure_ascii=False) + "\n"
    assert "\t" not in out.stdout
    assert '\n        "ChannelName": "cli-channel",\n' in out.stdout
    assert '\n            "MessageTtlSeconds": 60\n' in out.stdout
    created = channel_info(emu, arn)["creation_time"]
    assert doc["ChannelInfo"]["CreationTime"] == iso(created)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00",
                        doc["ChannelInfo"]["CreationTime"])
    same = run_cli(kvsws_bin, ["--output", "json", "describe-signaling-channel",
                               "--channel-arn", arn], clean_env(emu, TZ="UTC"))
    assert same.stdout == out.stdout


def test_timestamps_are_in_local_time(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    """botocore parses epoch timestamps into the local zone, so the AWS CLI prints its offset."""
    out = run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-arn", arn],
                  clean_env(emu, TZ="IST-5:30"))
    assert out.returncode == 0, out.stderr
    created = channel_info(emu, arn)["creation_time"]
    value = json.loads(out.stdout)["ChannelInfo"]["CreationTime"]
    assert value == iso(created, datetime.timedelta(hours=5, minutes=30))
    assert value.endswith("+05:30")


def test_output_json_of_endpoints(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    out = run_cli(kvsws_bin, ["--output", "json", "get-signaling-channel-endpoint",
                              "--channel-arn", arn], clean_env(emu))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert out.stdout == json.dumps(doc, indent=4) + "\n"
    assert [e["Protocol"] for e in doc["ResourceEndpointList"]] == ["WSS", "HTTPS", "WEBRTC"]
    assert '\n    "ResourceEndpointList": [\n        {\n            "Protocol": "WSS",\n' \
        in out.stdout


def test_output_text_describe(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    out = run_cli(kvsws_bin, ["--output", "text", "describe-signaling-channel",
                              "--channel-arn", arn], clean_env(emu, TZ="UTC"))
    assert out.returncode == 0, out.stderr
    c = channel_info(emu, arn)
    # A dict's scalars sorted by key on one line led by its upper-cased key; nested ones below.
    assert out.stdout.splitlines() == [
        "\t".join(["CHANNELINFO", arn, "cli-channel", "ACTIVE", "SINGLE_MASTER",
                   iso(c["creation_time"]), c["version"]]),
        "SINGLEMASTERCONFIGURATION\t60",
    ]


def test_output_text_endpoints_and_nulls(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    out = run_cli(kvsws_bin, ["get-signaling-channel-endpoint", "--channel-arn", arn,
                              "--protocols", "WEBRTC,WSS"], clean_env(emu, AWS_DEFAULT_OUTPUT="text"))
    assert out.returncode == 0, out.stderr
    lines = [line.split("\t") for line in out.stdout.splitlines()]
    assert [row[:2] for row in lines] == [["RESOURCEENDPOINTLIST", "WEBRTC"],
                                          ["RESOURCEENDPOINTLIST", "WSS"]]
    assert lines[1][2].startswith("wss://") and len(lines[1]) == 3
    off = emu.add_channel("cli-text-no-storage", storage=False)
    out = run_cli(kvsws_bin, ["--output", "text", "describe-media-storage-configuration",
                              "--channel-arn", off], clean_env(emu))
    assert out.stdout == "MEDIASTORAGECONFIGURATION\tDISABLED\tNone\n"  # Python's str(None)


def test_output_table_describe(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    """Too wide for 80 columns, so one-row sections turn into key | value lists, as the AWS
    CLI's table does (this layout is what its own formatter prints for this response)."""
    out = run_cli(kvsws_bin, ["--output", "table", "describe-signaling-channel",
                              "--channel-arn", arn], clean_env(emu, TZ="UTC"))
    assert out.returncode == 0, out.stderr
    c = channel_info(emu, arn)

    def row(key: str, value: str) -> str:
        return f"||  {key:<13}|  {value:<80}||"

    assert out.stdout.splitlines() == [
        "-" * 102,
        "|" + " " * 38 + "DescribeSignalingChannel" + " " * 38 + "|",
        "+" + "-" * 100 + "+",
        "||" + " " * 44 + "ChannelInfo" + " " * 43 + "||",
        "|+" + "-" * 15 + "+" + "-" * 82 + "+|",
        row("ChannelARN", arn),
        row("ChannelName", "cli-channel"),
        row("ChannelStatus", "ACTIVE"),
        row("ChannelType", "SINGLE_MASTER"),
        row("CreationTime", iso(c["creation_time"])),
        row("Version", c["version"]),
        "|+" + "-" * 15 + "+" + "-" * 82 + "+|",
        "|||" + " " * 36 + "SingleMasterConfiguration" + " " * 35 + "|||",
        "||+" + "-" * 74 + "+" + "-" * 21 + "+||",
        "|||  MessageTtlSeconds" + " " * 55 + "|  60" + " " * 17 + "|||",
        "||+" + "-" * 74 + "+" + "-" * 21 + "+||",
    ]


def test_output_table_endpoints(emu: Emulator, kvsws_bin: Path, arn: str,
                                tmp_path: Path) -> None:
    """A list of dicts: one titled section, a header row, one row per element; taken from the
    profile's output setting."""
    config = tmp_path / "config"
    config.write_text("[default]\noutput = table\n")
    out = run_cli(kvsws_bin, ["get-signaling-channel-endpoint", "--channel-arn", arn],
                  clean_env(emu, AWS_CONFIG_FILE=str(config)))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    width = len(lines[0])
    assert lines[0] == "-" * width and all(len(line) == width for line in lines)
    assert lines[1].strip("| ") == "GetSignalingChannelEndpoint"
    assert lines[2] == "+" + "-" * (width - 2) + "+"
    assert lines[3].strip("| ") == "ResourceEndpointList"
    assert [cell.strip() for cell in lines[5].strip("|").split("|")] == ["Protocol",
                                                                        "ResourceEndpoint"]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[7:10]]
    assert [r[0] for r in rows] == ["WSS", "HTTPS", "WEBRTC"]
    assert rows[0][1].startswith("wss://") and rows[1][1].startswith("https://")
    assert lines[4] == lines[6] == lines[10] and lines[10].startswith("|+-")
    assert len(lines) == 11


def test_output_flag_beats_environment_and_profile(emu: Emulator, kvsws_bin: Path, arn: str,
                                                   tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[default]\noutput = table\n")
    env = clean_env(emu, AWS_CONFIG_FILE=str(config), AWS_DEFAULT_OUTPUT="text")
    args = ["describe-media-storage-configuration", "--channel-arn", arn]
    assert run_cli(kvsws_bin, args, env).stdout.startswith("MEDIASTORAGECONFIGURATION\tENABLED")
    out = run_cli(kvsws_bin, ["--output", "json", *args], env)
    assert json.loads(out.stdout)["MediaStorageConfiguration"]["Status"] == "ENABLED"
    out = run_cli(kvsws_bin, [*args, "--output", "table"], env)  # after the command, too
    assert out.stdout.startswith("-" * 10)


def test_bad_output_value_exits_252(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    for args in (["--output", "yaml", "describe-signaling-channel", "--channel-arn", arn],
                 ["describe-signaling-channel", "--channel-arn", arn, "--output", "JSON"],
                 ["describe-signaling-channel", "--channel-arn", arn, "--output"]):
        out = run_cli(kvsws_bin, args, clean_env(emu))
        assert out.returncode == 252, (args, out.stderr)
        assert out.stdout == ""
        assert out.stderr.startswith("usage: kvsws [options] <command> [parameters]\n")
    out = run_cli(kvsws_bin, ["--output", "yaml", "describe-signaling-channel",
                              "--channel-arn", arn], clean_env(emu))
    assert "kvsws: error: argument --output: Invalid choice, valid choices are:\n\n" \
           "json" + " " * 36 + " | text" in out.stderr
    assert emu.state()["requests"] == []


def test_bad_configured_output_exits_255(emu: Emulator, kvsws_bin: Path, arn: str) -> None:
    out = run_cli(kvsws_bin, ["describe-signaling-channel", "--channel-arn", arn],
                  clean_env(emu, AWS_DEFAULT_OUTPUT="yaml"))
    assert (out.returncode, out.stdout) == (255, "")
    assert out.stderr.strip() == "Unknown output type: yaml"
    assert emu.state()["requests"] == []


# --- help --------------------------------------------------------------------------------------

COMMAND_FLAGS = {
    "join-storage-session": ["--channel-arn"],
    "join-storage-session-as-viewer": ["--channel-arn", "--client-id"],
    "get-signaling-channel-endpoint": ["--channel-arn", "--role", "--protocols"],
    "describe-signaling-channel": ["--channel-arn", "--channel-name"],
    "describe-media-storage-configuration": ["--channel-arn", "--channel-name"],
    "get-ice-server-config": ["--channel-arn", "--client-id", "--service"],
    "sign": ["--method", "--url", "--service", "--region", "--header", "--presign", "--expires"],
}


def test_help(emu: Emulator, kvsws_bin: Path) -> None:
    for args in (["help"], ["--help"]):
        out = run_cli(kvsws_bin, args, clean_env(emu))
        assert out.returncode == 0, out.stderr
        for section in ("SYNOPSIS", "GLOBAL OPTIONS", "EXAMPLES"):
            assert f"\n{section}\n" in out.stdout
        for flag in ("--region", "--endpoint-url", "--profile", "--output", "--debug",
                     "--ca-bundle", "--cli-read-timeout", "--version"):
            assert f"   {flag} (" in out.stdout
        for command in COMMAND_FLAGS:
            assert f"   o {command}\n" in out.stdout
    out = run_cli(kvsws_bin, ["help", "nonsense"], clean_env(emu))
    assert out.returncode == 252
    assert emu.state()["requests"] == []


@pytest.mark.parametrize("command", sorted(COMMAND_FLAGS))
def test_command_help(emu: Emulator, kvsws_bin: Path, command: str) -> None:
    out = run_cli(kvsws_bin, [command, "help"], clean_env(emu))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith(f"NAME\n   {command} -\n")
    for section in ("DESCRIPTION", "SYNOPSIS", "OPTIONS", "GLOBAL OPTIONS", "EXAMPLES", "OUTPUT"):
        assert f"\n{section}\n" in text, section
    synopsis = text.split("\nSYNOPSIS\n")[1].split("\nOPTIONS\n")[0]
    options = text.split("\nOPTIONS\n")[1].split("\nGLOBAL OPTIONS\n")[0]
    for flag in COMMAND_FLAGS[command]:
        assert flag in synopsis and flag in options, flag
    examples = text.split("\nEXAMPLES\n")[1].split("\nOUTPUT\n")[0]
    assert f"kvsws {command}" in examples or f" {command} " in examples
    # After parameters too, as the AWS CLI takes it; and --help, which it only points to help
    # for, gives the same text.
    assert run_cli(kvsws_bin, [command, "--channel-arn", "x", "help"],
                   clean_env(emu)).stdout == text
    assert run_cli(kvsws_bin, [command, "--help"], clean_env(emu)).stdout == text
    assert emu.state()["requests"] == []


def test_command_help_constraints(emu: Emulator, kvsws_bin: Path) -> None:
    text = run_cli(kvsws_bin, ["join-storage-session-as-viewer", "help"], clean_env(emu)).stdout
    assert "1 to 1024 characters" in text and "1 to 256 characters of [a-zA-Z0-9_.-]" in text
    text = run_cli(kvsws_bin, ["get-signaling-channel-endpoint", "help"], clean_env(emu)).stdout
    assert "MASTER (the default) or VIEWER" in text and "WSS, HTTPS and WEBRTC" in text


def test_version(kvsws_bin: Path) -> None:
    out = run_cli(kvsws_bin, ["--version"], clean_env(None))
    assert out.returncode == 0
    assert re.fullmatch(r"kvsws/\d+\.\d+\.\d+\S*\n", out.stdout)


def test_sign_json_is_indented_by_4_spaces(kvsws_bin: Path) -> None:
    env = clean_env(None, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="x" * 40)
    args = ["sign", "--method", "GET", "--url", "https://example.amazonaws.com/",
            "--service", "service", "--region", "us-east-1", "--timestamp", "20150830T123600Z"]
    out = run_cli(kvsws_bin, [*args, "--output", "json"], env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == json.dumps(json.loads(out.stdout), indent=4) + "\n"
    assert run_cli(kvsws_bin, ["--output", "json", *args], env).stdout == out.stdout
    table = run_cli(kvsws_bin, [*args, "--output", "table"], env)
    assert table.returncode == 252 and "Invalid choice: 'table' (text, json)" in table.stderr

# SPDX-License-Identifier: Apache-2.0
"""Endpoints routed as AWS routes them: the configured endpoint URL addresses the control plane only;
joins, GetIceServerConfig and the signaling WebSocket go to the endpoints GetSignalingChannelEndpoint
returned. The emulator runs with a second listener for those (``--data-plane-port``): each listener
refuses the other's operations, and every recorded request says which one served it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kvsws_emulator.testing import Emulator

from .helpers import clean_env, run_api, run_cli
from .test_session_c import Driver

CONTROL_OPS = {"DescribeSignalingChannel", "DescribeMediaStorageConfiguration", "GetSignalingChannelEndpoint"}


@pytest.fixture(scope="module")
def split_emulator() -> Iterator[Emulator]:
    with Emulator(extra_args=["--data-plane-port", "0"]) as emu:
        yield emu


@pytest.fixture()
def split(split_emulator: Emulator) -> Emulator:
    split_emulator.reset()
    assert split_emulator.data_plane_endpoint != split_emulator.endpoint
    return split_emulator


@pytest.fixture(scope="module")
def it_session_bin(it_api_bin: Path) -> Path:
    return it_api_bin.parent / "it_session"


def control_only_env(emu: Emulator, variable: str = "AWS_ENDPOINT_URL_KINESIS_VIDEO",
                     **extra: str) -> dict[str, str]:
    """The emulator's environment with the control plane named by ``variable`` alone."""
    env = clean_env(emu)
    del env["AWS_ENDPOINT_URL_KINESIS_VIDEO"]
    env[variable] = emu.endpoint
    env.update(extra)
    return env


def served(emu: Emulator) -> list[tuple[str, str, int | None]]:
    """(operation, listener, status) of every recorded kvsws request, oldest first."""
    return [(r["operation"], r["listener"], r["status"]) for r in emu.requests() if r["operation"]]


def assert_routed(records: list[tuple[str, str, int | None]]) -> None:
    for op, listener, status in records:
        want = "control" if op in CONTROL_OPS else "data"
        assert listener == want, records
        assert status in (101, 200), records


async def session_until_offer(binary: Path, env: dict[str, str], *args: str) -> Driver:
    driver = await Driver.start(binary, env, *args, "--offer-timeout", "5000")
    try:
        await driver.until("offer", timeout=20)
    finally:
        await driver.stop()
    return driver


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_KINESIS_VIDEO", "AWS_ENDPOINT_URL"])
def test_master_session_reaches_the_discovered_endpoints(split: Emulator, it_session_bin: Path,
                                                         variable: str) -> None:
    split.add_channel("split-master", storage=True)
    driver = asyncio.run(session_until_offer(it_session_bin, control_only_env(split, variable),
                                             "--channel-name", "split-master"))
    assert not [e for e in driver.events if e["type"] == "closed"], driver.events
    records = served(split)
    assert_routed(records)
    ops = [op for op, _, _ in records]
    for op in ("DescribeSignalingChannel", "DescribeMediaStorageConfiguration", "GetSignalingChannelEndpoint",
               "GetIceServerConfig", "ConnectAsMaster", "JoinStorageSession"):
        assert op in ops, records
    assert ops.count("GetSignalingChannelEndpoint") == 1, records
    lookup = split.requests("GetSignalingChannelEndpoint")[0]["params"]
    assert lookup["SingleMasterChannelEndpointConfiguration"]["Role"] == "MASTER"


def test_viewer_session_looks_up_once_as_viewer(split: Emulator, it_session_bin: Path) -> None:
    """One GetSignalingChannelEndpoint, as VIEWER, serves the viewer's join, ICE servers and
    WebSocket; a viewer does not ask DescribeMediaStorageConfiguration (README: viewers)."""
    arn = split.add_channel("split-viewer", storage=True)
    asyncio.run(session_until_offer(it_session_bin, control_only_env(split), "--channel-arn", arn,
                                    "--viewer", "viewer-7"))
    records = served(split)
    assert_routed(records)
    ops = [op for op, _, _ in records]
    assert ops.count("GetSignalingChannelEndpoint") == 1, records
    lookup = split.requests("GetSignalingChannelEndpoint")[0]["params"]
    assert lookup["SingleMasterChannelEndpointConfiguration"]["Role"] == "VIEWER"
    assert sorted(lookup["SingleMasterChannelEndpointConfiguration"]["Protocols"]) == ["HTTPS", "WEBRTC", "WSS"]
    for op in ("GetIceServerConfig", "ConnectAsViewer", "JoinStorageSessionAsViewer"):
        assert op in ops, records
    assert "DescribeMediaStorageConfiguration" not in ops and "JoinStorageSession" not in ops


def test_cli_endpoint_url_addresses_the_control_plane(split: Emulator, kvsws_bin: Path) -> None:
    """--endpoint-url (KVSWS_OPT_ENDPOINT_URL) with no endpoint in the environment: the join goes to
    the WEBRTC endpoint the lookup returned."""
    arn = split.add_channel("split-cli", storage=True)
    env = clean_env(split)
    del env["AWS_ENDPOINT_URL_KINESIS_VIDEO"]
    out = run_cli(kvsws_bin, ["--endpoint-url", split.endpoint, "join-storage-session", "--channel-arn", arn], env)
    assert out.returncode == 0, out.stderr
    records = served(split)
    assert_routed(records)
    assert [op for op, _, _ in records] == ["GetSignalingChannelEndpoint", "JoinStorageSession"], records


def test_service_override_beats_discovery(split: Emulator, it_api_bin: Path) -> None:
    """AWS_ENDPOINT_URL_KINESIS_VIDEO_WEBRTC_STORAGE names the join's endpoint: no lookup, and here
    (pointed at the control plane listener) the emulator refuses it as AWS's control plane would."""
    arn = split.add_channel("split-override", storage=True)
    env = control_only_env(split, AWS_ENDPOINT_URL_KINESIS_VIDEO_WEBRTC_STORAGE=split.endpoint)
    out = run_api(it_api_bin, "call", "JoinStorageSession", {"channelArn": arn}, env)
    assert out["code"] == "UnknownOperationException" and out["operation"] == "JoinStorageSession", out
    assert served(split) == [("JoinStorageSession", "control", 404)]
    # ... and pointed at the channel's endpoint, it works without a lookup.
    split.reset()
    env["AWS_ENDPOINT_URL_KINESIS_VIDEO_WEBRTC_STORAGE"] = split.data_plane_endpoint
    out = run_api(it_api_bin, "call", "JoinStorageSession", {"channelArn": arn}, env)
    assert out["status"] == 0, out
    assert served(split) == [("JoinStorageSession", "data", 200)]


def test_failed_lookup_names_get_signaling_channel_endpoint(split: Emulator, it_api_bin: Path,
                                                            kvsws_bin: Path) -> None:
    """A join on an unknown channel fails in its endpoint lookup: the error names that operation
    and carries that request's id, in the C error and in the AWS CLI line."""
    arn = split.add_channel("split-gone", storage=True).replace("/split-gone/", "/split-never-made/")
    env = control_only_env(split)
    out: dict[str, Any] = run_api(it_api_bin, "call", "JoinStorageSession", {"channelArn": arn}, env)
    lookups = split.requests("GetSignalingChannelEndpoint")
    assert len(lookups) == 1 and split.requests("JoinStorageSession") == []
    assert out["code"] == "ResourceNotFoundException" and out["http_status"] == 404, out
    assert out["operation"] == "GetSignalingChannelEndpoint", out
    assert out["request_id"] == lookups[0]["request_id"], out
    assert "when calling the GetSignalingChannelEndpoint operation" in out["describe"], out
    assert "WEBRTC endpoint for JoinStorageSession" in out["message"], out
    cli = run_cli(kvsws_bin, ["join-storage-session", "--channel-arn", arn], env)
    assert cli.returncode != 0
    assert "(ResourceNotFoundException) when calling the GetSignalingChannelEndpoint operation" in cli.stderr

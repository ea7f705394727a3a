# SPDX-License-Identifier: Apache-2.0
"""Every operation through the installed package against the emulator over TLS, with outputs
shaped as boto3's (checked against boto3 itself on the same emulator)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
import pytest

import kvsws
from kvsws_emulator.testing import Emulator

from .helpers import call, inputs, make_client


def without_metadata(out: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in out.items() if k != "ResponseMetadata"}


def shape(value: Any) -> Any:
    """The keys and types of a value, not its contents."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def test_every_operation(emu: Emulator, arn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # endpoint_url names the control plane; the services' own variables name the channel's
    # endpoints, so nothing is discovered: one request per call.
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS_VIDEO_WEBRTC_STORAGE", emu.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS_VIDEO_SIGNALING", emu.endpoint)
    with make_client(emu) as client:
        for operation in inputs(arn):
            out = call(client, operation, arn)
            if operation.startswith("JoinStorageSession"):
                assert out is None
            else:
                meta = out["ResponseMetadata"]
                assert meta["HTTPStatusCode"] == 200 and meta["RequestId"] and meta["RetryAttempts"] == 0
                assert meta["HTTPHeaders"]["x-amzn-requestid"] == meta["RequestId"]  # lower-case, as botocore
            assert emu.calls(operation) == 1, operation
    assert emu.calls() == len(inputs(arn))


def test_endpoint_url_addresses_the_control_plane(emu: Emulator, client: kvsws.Client, arn: str) -> None:
    """endpoint_url is the kinesisvideo (control plane) endpoint, as boto3's: the join and
    GetIceServerConfig go to the WEBRTC and HTTPS endpoints GetSignalingChannelEndpoint returns."""
    client.join_storage_session(channelArn=arn)
    client.get_ice_server_config(ChannelARN=arn)
    lookups = [r["params"]["SingleMasterChannelEndpointConfiguration"]["Protocols"]
               for r in emu.requests("GetSignalingChannelEndpoint")]
    assert lookups == [["WEBRTC"], ["HTTPS"]]


def test_failed_lookup_is_named_as_such(emu: Emulator, client: kvsws.Client, arn: str) -> None:
    """A join on an unknown channel fails in its endpoint lookup: the error names
    GetSignalingChannelEndpoint and carries that request's id."""
    unknown = arn.replace("/py-channel/", "/py-never-made/")
    with pytest.raises(kvsws.exceptions.ResourceNotFoundException) as info:
        client.join_storage_session(channelArn=unknown)
    (lookup,) = emu.requests("GetSignalingChannelEndpoint")
    assert info.value.operation_name == "GetSignalingChannelEndpoint"
    assert info.value.response["ResponseMetadata"]["RequestId"] == lookup["request_id"]
    assert "when calling the GetSignalingChannelEndpoint operation" in str(info.value)
    assert emu.calls("JoinStorageSession") == 0


def test_requests_are_signed_and_verified(emu: Emulator, client: kvsws.Client, arn: str) -> None:
    client.describe_signaling_channel(ChannelARN=arn)
    (req,) = emu.requests("DescribeSignalingChannel")
    assert req["verified"] and req["auth_error"] is None
    assert req["access_key_id"] == emu.access_key_id and req["region"] == emu.region
    assert req["user_agent"].startswith(f"kvsws/{kvsws.__version__}") and "lang/python#" in req["user_agent"]
    assert req["params"] == {"ChannelARN": arn}  # None arguments are left out


def test_describe_signaling_channel(client: kvsws.Client, arn: str) -> None:
    info = client.describe_signaling_channel(ChannelName="py-channel")["ChannelInfo"]
    assert info["ChannelARN"] == arn and info["ChannelName"] == "py-channel"
    assert info["ChannelType"] == "SINGLE_MASTER" and info["ChannelStatus"] == "ACTIVE"
    assert isinstance(info["CreationTime"], datetime) and info["CreationTime"].tzinfo is not None
    assert client.describe_signaling_channel(ChannelARN=arn)["ChannelInfo"]["ChannelName"] == "py-channel"


def test_media_storage_configuration(emu: Emulator, client: kvsws.Client, arn: str) -> None:
    on = client.describe_media_storage_configuration(ChannelARN=arn)["MediaStorageConfiguration"]
    assert on["Status"] == "ENABLED" and on["StreamARN"]
    off_arn = emu.add_channel("py-no-storage", storage=False)
    off = client.describe_media_storage_configuration(ChannelName="py-no-storage")
    assert off["MediaStorageConfiguration"]["Status"] == "DISABLED"
    assert emu.channel_arn("py-no-storage") == off_arn


def test_get_signaling_channel_endpoint(client: kvsws.Client, arn: str) -> None:
    out = client.get_signaling_channel_endpoint(
        ChannelARN=arn, SingleMasterChannelEndpointConfiguration={"Protocols": ["WSS", "HTTPS"], "Role": "VIEWER"})
    endpoints = {e["Protocol"]: e["ResourceEndpoint"] for e in out["ResourceEndpointList"]}
    assert set(endpoints) == {"WSS", "HTTPS"} and endpoints["WSS"].startswith("wss://")
    default = client.get_signaling_channel_endpoint(ChannelARN=arn)  # the service's defaults
    assert default["ResourceEndpointList"]


def test_webrtc_on_a_channel_without_storage(emu: Emulator, client: kvsws.Client) -> None:
    off = emu.add_channel("py-no-storage-2", storage=False)
    with pytest.raises(client.exceptions.InvalidArgumentException) as info:
        client.get_signaling_channel_endpoint(
            ChannelARN=off, SingleMasterChannelEndpointConfiguration={"Protocols": ["WEBRTC"]})
    assert info.value.operation_name == "GetSignalingChannelEndpoint"
    with pytest.raises(client.exceptions.InvalidArgumentException):
        client.join_storage_session(channelArn=off)


def test_ice_server_config(client: kvsws.Client, arn: str) -> None:
    servers = client.get_ice_server_config(ChannelARN=arn, ClientId="me", Service="TURN")["IceServerList"]
    assert servers
    for s in servers:
        assert s["Uris"] and s["Username"] and s["Password"] and s["Ttl"] > 0


def test_join_counts_on_the_channel(emu: Emulator, client: kvsws.Client, arn: str) -> None:
    before = next(c for c in emu.state()["channels"] if c["arn"] == arn)
    client.join_storage_session(channelArn=arn)
    client.join_storage_session_as_viewer(channelArn=arn, clientId="viewer-9")
    after = next(c for c in emu.state()["channels"] if c["arn"] == arn)
    assert after["join_count"] == before["join_count"] + 1
    assert after["viewer_join_count"] == before["viewer_join_count"] + 1


def test_endpoints_discovered_without_endpoint_url(emu: Emulator, arn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """As configured from the environment (AWS_ENDPOINT_URL_KINESIS_VIDEO only), the client finds
    the channel's WEBRTC and HTTPS endpoints itself, once per channel."""
    for name, value in emu.env().items():
        monkeypatch.setenv(name, value)
    with kvsws.Client() as client:
        assert client.meta.region_name == emu.region and client.meta.endpoint_url is None
        client.join_storage_session(channelArn=arn)
        client.join_storage_session(channelArn=arn)
        client.get_ice_server_config(ChannelARN=arn)
    assert emu.calls("JoinStorageSession") == 2 and emu.calls("GetIceServerConfig") == 1
    assert emu.calls("GetSignalingChannelEndpoint") == 2  # WEBRTC once, HTTPS once


def test_outputs_match_boto3(emu: Emulator, client: kvsws.Client, arn: str) -> None:
    """The same calls through boto3 on the same emulator give the same dicts (apart from request
    ids, headers and the TURN credentials, which change per call)."""
    kwargs = emu.boto3_kwargs()
    control = boto3.client("kinesisvideo", **kwargs)
    signaling = boto3.client("kinesis-video-signaling", **kwargs)
    storage = boto3.client("kinesis-video-webrtc-storage", **kwargs)
    cases = [
        (control.describe_signaling_channel, client.describe_signaling_channel, {"ChannelARN": arn}),
        (control.describe_media_storage_configuration, client.describe_media_storage_configuration,
         {"ChannelName": "py-channel"}),
        (control.get_signaling_channel_endpoint, client.get_signaling_channel_endpoint,
         {"ChannelARN": arn, "SingleMasterChannelEndpointConfiguration": {"Protocols": ["WSS", "WEBRTC"]}}),
    ]
    for theirs, ours, params in cases:
        expected, got = theirs(**params), ours(**params)
        assert without_metadata(got) == without_metadata(expected), theirs.__name__
        assert set(got["ResponseMetadata"]) <= set(expected["ResponseMetadata"])
    expected_ice = signaling.get_ice_server_config(ChannelARN=arn, ClientId="me")
    got_ice = client.get_ice_server_config(ChannelARN=arn, ClientId="me")
    assert shape(without_metadata(got_ice)) == shape(without_metadata(expected_ice))
    # boto3 returns {"ResponseMetadata": ...} for a join; kvsws returns None, as documented.
    assert set(storage.join_storage_session(channelArn=arn)) == {"ResponseMetadata"}
    assert client.join_storage_session(channelArn=arn) is None

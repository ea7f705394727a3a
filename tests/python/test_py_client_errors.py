# SPDX-License-Identifier: Apache-2.0
"""Errors raised on this side, under botocore's names: bad input (before any I/O), no credentials,
no region, connection failures, timeouts, TLS; and the client's own argument checks."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import pytest

import kvsws
from kvsws.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    InvalidConfigError,
    KvswsError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    ReadTimeoutError,
    SSLError,
)
from kvsws_emulator.testing import Emulator

from .helpers import make_client, quick

BAD_INPUTS = [
    ("join_storage_session", {"channelArn": "arn:nope"}, "channelArn"),
    ("join_storage_session", {"channelArn": 42}, "channelArn"),
    ("join_storage_session_as_viewer", {"channelArn": "ARN", "clientId": "ok"}, "channelArn"),
    ("join_storage_session_as_viewer", {"channelArn": "VALID", "clientId": "bad id!"}, "clientId"),
    ("join_storage_session_as_viewer", {"channelArn": "VALID", "clientId": ""}, "clientId"),
    ("get_signaling_channel_endpoint",
     {"ChannelARN": "VALID", "SingleMasterChannelEndpointConfiguration": {"Role": "BOSS"}}, "Role"),
    ("get_signaling_channel_endpoint",
     {"ChannelARN": "VALID", "SingleMasterChannelEndpointConfiguration": {"Protocols": ["FTP"]}}, "Protocols"),
    ("get_signaling_channel_endpoint",
     {"ChannelARN": "VALID", "SingleMasterChannelEndpointConfiguration": {"Protocol": ["WSS"]}}, "Protocol"),
    ("get_signaling_channel_endpoint",
     {"ChannelARN": "VALID", "SingleMasterChannelEndpointConfiguration": "WSS"}, "SingleMasterChannelEndpoint"),
    ("describe_signaling_channel", {}, "ChannelName"),
    ("describe_signaling_channel", {"ChannelName": "x" * 257}, "ChannelName"),
    ("describe_media_storage_configuration", {"ChannelARN": "arn:aws:s3:::bucket"}, "ChannelARN"),
    ("get_ice_server_config", {"ChannelARN": "VALID", "Service": "STUN"}, "Service"),
    ("get_ice_server_config", {"ChannelARN": "VALID", "ClientId": object()}, "GetIceServerConfig"),
]


@pytest.mark.parametrize(("method", "kwargs", "named"), BAD_INPUTS)
def test_param_validation_before_any_io(emu: Emulator, client: kvsws.Client, arn: str, method: str,
                                        kwargs: dict[str, object], named: str) -> None:
    kwargs = {k: arn if v == "VALID" else v for k, v in kwargs.items()}
    with pytest.raises(ParamValidationError) as info:
        getattr(client, method)(**kwargs)
    assert named in str(info.value)
    assert info.value.status == 1 and info.value.code == "ParamValidationError"
    assert emu.state()["requests"] == []  # nothing reached the network


def test_keyword_only_and_known_parameters(client: kvsws.Client, arn: str) -> None:
    with pytest.raises(TypeError):
        client.join_storage_session(arn)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        client.join_storage_session(channelARN=arn)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        client.join_storage_session_as_viewer(channelArn=arn)  # type: ignore[call-arg]


def test_no_credentials(emu: Emulator, arn: str) -> None:
    with make_client(emu, aws_access_key_id=None, aws_secret_access_key=None) as c:
        with pytest.raises(NoCredentialsError) as info:
            c.describe_signaling_channel(ChannelARN=arn)
    assert "credentials" in str(info.value).lower() and info.value.code == "NoCredentialsError"
    assert emu.state()["requests"] == []


def test_partial_credentials(emu: Emulator) -> None:
    with pytest.raises(ParamValidationError, match="aws_secret_access_key"):
        make_client(emu, aws_secret_access_key=None)


def test_no_region(emu: Emulator) -> None:
    with pytest.raises(NoRegionError) as info:
        make_client(emu, region_name=None)
    assert "region" in str(info.value) and info.value.status == 3


@pytest.fixture()
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_endpoint_connection_error(emu: Emulator, arn: str, closed_port: int) -> None:
    with make_client(emu, endpoint_url=f"https://127.0.0.1:{closed_port}",
                     config=quick(retries={"total_max_attempts": 2})) as c:
        with pytest.raises(EndpointConnectionError) as info:
            c.describe_signaling_channel(ChannelARN=arn)
    exc = info.value
    assert f"127.0.0.1:{closed_port}" in str(exc) and exc.retryable and exc.attempts == 2
    assert isinstance(exc, kvsws.exceptions.ConnectionError) and exc.operation_name == "DescribeSignalingChannel"


def test_read_timeout(emu: Emulator, arn: str) -> None:
    emu.fault(operation="DescribeSignalingChannel", delay_ms=3000, count=1)
    with make_client(emu, config=quick(read_timeout=0.3, retries={"total_max_attempts": 1})) as c:
        start = time.monotonic()
        with pytest.raises(ReadTimeoutError) as info:
            c.describe_signaling_channel(ChannelARN=arn)
    assert time.monotonic() - start < 2.5
    assert info.value.code == "ReadTimeoutError" and info.value.retryable


def test_request_timeout_ends_a_trickled_answer(emu: Emulator, arn: str) -> None:
    """A byte every 100 ms is never silent for the 5 s read timeout; the 0.8 s total ends it."""
    emu.fault(operation="DescribeSignalingChannel", trickle_ms=100, count=1)
    config = quick(read_timeout=5, request_timeout=0.8, retries={"total_max_attempts": 1})
    with make_client(emu, config=config) as c:
        start = time.monotonic()
        with pytest.raises(ReadTimeoutError) as info:
            c.describe_signaling_channel(ChannelARN=arn)
        took = time.monotonic() - start
        # The deadline is per request: the next one (no fault left) is answered in full.
        assert c.describe_signaling_channel(ChannelARN=arn)["ChannelInfo"]["ChannelARN"] == arn
    assert 0.75 <= took < 3, took
    assert info.value.code == "ReadTimeoutError" and info.value.retryable
    assert "within the request timeout of 800 ms" in str(info.value)


@pytest.fixture()
def full_listener() -> Iterator[int]:
    """A loopback listener whose accept queue is full: new connections get no SYN-ACK."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    time.sleep(0.1)
    try:
        yield port
    finally:
        for s in fillers:
            s.close()
        server.close()


def test_connect_timeout(emu: Emulator, arn: str, full_listener: int) -> None:
    with make_client(emu, endpoint_url=f"https://127.0.0.1:{full_listener}",
                     config=quick(connect_timeout=0.3, retries={"total_max_attempts": 1})) as c:
        start = time.monotonic()
        with pytest.raises(ConnectTimeoutError) as info:
            c.describe_signaling_channel(ChannelARN=arn)
    assert time.monotonic() - start < 2.5
    assert isinstance(info.value, kvsws.exceptions.ConnectionError) and info.value.status == 101


def test_tls_is_verified(emu: Emulator, arn: str) -> None:
    """Without the emulator's CA (the system's CAs do not know it), the handshake fails."""
    with make_client(emu, verify=None, config=quick(retries={"total_max_attempts": 1})) as c:
        with pytest.raises(SSLError) as info:
            c.describe_signaling_channel(ChannelARN=arn)
    assert info.value.code == "SSLError" and info.value.status == 103
    assert emu.state()["requests"] == []


def test_verify_false_is_refused(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="always verifies TLS"):
        make_client(emu, verify=False)


def test_verify_true_and_path_objects(emu: Emulator, arn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with make_client(emu, verify=Path(emu.ca_bundle)) as c:
        assert c.describe_media_storage_configuration(ChannelARN=arn)
    monkeypatch.setenv("AWS_CA_BUNDLE", emu.ca_bundle)  # verify=True: the default trust, here AWS_CA_BUNDLE
    with make_client(emu, verify=True) as c:
        assert c.describe_media_storage_configuration(ChannelARN=arn)


def test_unreadable_ca_bundle(emu: Emulator, tmp_path: Path) -> None:
    with pytest.raises(ParamValidationError, match="ca_bundle"):
        make_client(emu, verify=str(tmp_path / "missing.pem"))


def test_bad_endpoint_url(emu: Emulator) -> None:
    with pytest.raises(ParamValidationError, match="endpoint"):
        make_client(emu, endpoint_url="not a url")


@pytest.mark.parametrize("config", [
    {"connect_timeout": 0}, {"read_timeout": -1}, {"read_timeout": "5"}, {"connect_timeout": 7200},
    {"request_timeout": 0}, {"request_timeout": 3601},
    {"retries": {"total_max_attempts": 0}}, {"retries": {"max_attempts": 20}}, {"retries": {"mode": "adaptive"}},
    {"retries": {"max_retries": 3}}, {"retry_join": "yes"}, {"retry_base_delay": 60},
])
def test_config_is_checked(config: dict[str, object]) -> None:
    with pytest.raises(InvalidConfigError):
        kvsws.Config(**config)  # type: ignore[arg-type]


def test_bad_aws_max_attempts_is_a_config_error(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "lots")
    with pytest.raises(InvalidConfigError, match="AWS_MAX_ATTEMPTS"):
        make_client(emu)


def test_client_arguments_are_typed(emu: Emulator) -> None:
    with pytest.raises(TypeError):
        kvsws.Client(emu.region)  # type: ignore[call-arg]  # keyword-only, as boto3.client's are
    with pytest.raises(TypeError, match="region_name"):
        make_client(emu, region_name=1)
    with pytest.raises(TypeError, match="config"):
        make_client(emu, config={"read_timeout": 1})


def test_every_client_side_error_is_a_kvsws_error() -> None:
    for cls in (ParamValidationError, NoCredentialsError, NoRegionError, EndpointConnectionError,
                ConnectTimeoutError, ReadTimeoutError, SSLError, InvalidConfigError):
        assert issubclass(cls, KvswsError)


@pytest.mark.parametrize(("bad", "named"), [(float("nan"), "Out of range float values are not JSON compliant"),
                                            (object(), "Object of type object is not JSON serializable"),
                                            ({1: "x"}, "keys must be str, not int")])
def test_values_json_cannot_hold_are_refused_before_any_io(emu: Emulator, client: kvsws.Client, arn: str,
                                                           bad: object, named: str) -> None:
    """The core converts the input itself (no json module): what JSON cannot hold is a
    ParamValidationError naming why, and nothing is sent."""
    with pytest.raises(ParamValidationError) as info:
        client.get_signaling_channel_endpoint(
            ChannelARN=arn, SingleMasterChannelEndpointConfiguration={"Protocols": [bad], "Role": "MASTER"})  # type: ignore[typeddict-item]
    assert named in str(info.value) and "GetSignalingChannelEndpoint" in str(info.value)
    assert emu.state()["requests"] == []


def test_other_mappings_and_sequences_are_objects_and_arrays(client: kvsws.Client, arn: str) -> None:
    config = MappingProxyType({"Protocols": ("WSS", "HTTPS"), "Role": "MASTER"})
    out = client.get_signaling_channel_endpoint(ChannelARN=arn, SingleMasterChannelEndpointConfiguration=config)  # type: ignore[arg-type]
    assert sorted(e["Protocol"] for e in out["ResourceEndpointList"]) == ["HTTPS", "WSS"]

# SPDX-License-Identifier: Apache-2.0
"""The emulator against AWS's own SDK: if boto3 cannot tell it from AWS, neither should kvsws.

Every test drives one shared emulator (module scope) with the real boto3 clients, or with raw
requests signed by botocore where boto3 cannot produce the request (tampering, signing extra
headers). Expected statuses and error member names come from boto3's own service models, not from
the emulator's tables.
"""

from __future__ import annotations

import datetime
import hashlib
import http.client
import json
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from cryptography import x509

# isort: split
from kvsws_emulator.errors import COMMON_ERRORS, SERVICES
from kvsws_emulator.models import model_error, modelled_errors, service_model
from kvsws_emulator.operations import OPERATIONS
from kvsws_emulator.state import ConfigError, build_state
from kvsws_emulator.testing import PACKAGE_PARENT, Emulator, EmulatorError

STORAGE = "kinesis-video-webrtc-storage"
CONTROL = "kinesisvideo"
SIGNALING = "kinesis-video-signaling"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)
TOKEN_INVALID = "The security token included in the request is invalid."


# -- fixtures and helpers -----------------------------------------------------------------------

# The emulator is tests/conftest.py's `emu`: one per run, reset before each test.


def make_client(emu: Emulator, service: str, attempts: int = 1, region: str | None = None,
                **config: Any) -> Any:
    creds = {k: config.pop(k) for k in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
             if k in config}
    cfg = Config(retries={"mode": "standard", "total_max_attempts": attempts}, connect_timeout=5,
                 read_timeout=config.pop("read_timeout", 10), **config)
    kwargs = emu.boto3_kwargs(config=cfg, **creds)
    if region is not None:
        kwargs["region_name"] = region
    return boto3.client(service, **kwargs)


@pytest.fixture(scope="module")
def clients(emulator: Emulator) -> dict[str, Any]:
    return {s: make_client(emulator, s) for s in (STORAGE, CONTROL, SIGNALING)}


@pytest.fixture(scope="module")
def demo_arn(emulator: Emulator) -> str:
    return emulator.channel_arn("demo-channel")


@pytest.fixture(scope="module")
def no_storage_arn(emulator: Emulator) -> str:
    return emulator.channel_arn("no-storage-channel")


# Operation -> (boto3 service, method, request for a channel ARN)
CALLS: dict[str, tuple[str, str, Callable[[str], dict[str, Any]]]] = {
    "JoinStorageSession": (STORAGE, "join_storage_session", lambda arn: {"channelArn": arn}),
    "JoinStorageSessionAsViewer": (
        STORAGE, "join_storage_session_as_viewer", lambda arn: {"channelArn": arn, "clientId": "viewer-1"}),
    "GetSignalingChannelEndpoint": (
        CONTROL, "get_signaling_channel_endpoint",
        lambda arn: {"ChannelARN": arn, "SingleMasterChannelEndpointConfiguration": {
            "Protocols": ["WSS", "HTTPS", "WEBRTC"], "Role": "MASTER"}}),
    "DescribeSignalingChannel": (CONTROL, "describe_signaling_channel", lambda arn: {"ChannelARN": arn}),
    "DescribeMediaStorageConfiguration": (
        CONTROL, "describe_media_storage_configuration", lambda arn: {"ChannelARN": arn}),
    "GetIceServerConfig": (
        SIGNALING, "get_ice_server_config", lambda arn: {"ChannelARN": arn, "ClientId": "master", "Service": "TURN"}),
}


def call(client: Any, operation: str, arn: str) -> dict[str, Any]:
    _, method, request = CALLS[operation]
    return dict(getattr(client, method)(**request(arn)))


def client_error(fn: Callable[[], Any]) -> ClientError:
    with pytest.raises(ClientError) as info:
        fn()
    return info.value


class Raw:
    """A raw HTTP/1.1 response."""

    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)


def send_raw(emu: Emulator, method: str, path: str, headers: dict[str, str], body: bytes,
             host: str | None = None) -> Raw:
    """Send exactly these headers (no Host, Accept-Encoding or User-Agent added)."""
    ctx = ssl.create_default_context(cafile=emu.ca_bundle)
    conn = http.client.HTTPSConnection("127.0.0.1", emu.port, context=ctx, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host or f"127.0.0.1:{emu.port}")
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return Raw(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


class SignUserAgent(SigV4Auth):  # type: ignore[misc,unused-ignore]  # botocore is untyped
    """A signer that also signs user-agent, as the KVS WebRTC C SDK does (botocore never does)."""

    def headers_to_sign(self, request: AWSRequest) -> Any:
        headers = super().headers_to_sign(request)
        if "user-agent" in request.headers:
            headers["user-agent"] = request.headers["user-agent"]
        return headers


def signed_raw(emu: Emulator, path: str, payload: Any, *, region: str = "us-west-2",
               service: str = "kinesisvideo", access_key: str | None = None, secret: str | None = None,
               token: str | None = None, extra_headers: dict[str, str] | None = None,
               signer: type[SigV4Auth] = SigV4Auth,
               tamper: Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]] | None = None) -> Raw:
    """A request signed by botocore's SigV4Auth, optionally tampered with after signing."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = AWSRequest(method="POST", url=f"{emu.endpoint}{path}", data=body,
                         headers={"Content-Type": "application/json", **(extra_headers or {})})
    creds = Credentials(access_key or emu.access_key_id, secret or emu.secret_access_key, token)
    signer(creds, service, region).add_auth(request)
    headers = {k: v for k, v in request.headers.items()}
    if tamper is not None:
        headers, body = tamper(headers, body)
    return send_raw(emu, "POST", path, headers, body)


# -- startup, TLS, ready.json -----------------------------------------------------------------------

def test_ready_json_and_tls_material(emu: Emulator) -> None:
    ready = emu.ready
    assert ready["endpoint"] == f"https://127.0.0.1:{ready['port']}"
    assert ready["pid"] == emu.pid and ready["access_key_id"] == "AKIDEMULATOR"
    assert Path(ready["ca_bundle"]).is_file()
    assert emu.state_dir is not None
    ca = x509.load_pem_x509_certificate(Path(ready["ca_bundle"]).read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert = x509.load_pem_x509_certificate((emu.state_dir / "server.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    assert (emu.state_dir / "server.key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("server_name", ["localhost", "127.0.0.1"])
def test_tls_verifies_and_speaks_http11_only(emu: Emulator, server_name: str) -> None:
    ctx = ssl.create_default_context(cafile=emu.ca_bundle)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", emu.port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        assert tls.selected_alpn_protocol() == "http/1.1"


def test_refuses_non_loopback_host(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kvsws_emulator", "--host", "0.0.0.0", "--state-dir", str(tmp_path)],
        env={"PYTHONPATH": str(PACKAGE_PARENT), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=20, check=False,
    )
    assert proc.returncode == 2 and "loopback only" in proc.stderr
    assert not (tmp_path / "ready.json").exists()


def test_request_id_date_and_content_type_on_every_response(emu: Emulator, clients: dict[str, Any],
                                                            demo_arn: str) -> None:
    ok = clients[CONTROL].describe_signaling_channel(ChannelARN=demo_arn)["ResponseMetadata"]
    err = client_error(lambda: clients[CONTROL].describe_signaling_channel(ChannelName="nope")).response
    admin = send_raw(emu, "GET", "/_emulator/state", {}, b"")
    unknown = signed_raw(emu, "/noSuchOperation", {})
    for headers in (ok["HTTPHeaders"], err["ResponseMetadata"]["HTTPHeaders"], dict(admin.headers.items()),
                    dict(unknown.headers.items())):
        lower = {k.lower(): v for k, v in headers.items()}
        assert len(lower["x-amzn-requestid"]) == 36
        assert abs(parsedate_to_datetime(lower["date"]).timestamp() - time.time()) < 60
        assert lower["content-type"] == "application/json" or lower["content-type"].startswith("application/json;")
    assert ok["RequestId"] == ok["HTTPHeaders"]["x-amzn-requestid"]
    assert unknown.status == 404 and unknown.headers["x-amzn-ErrorType"].startswith("UnknownOperationException:")


# -- the six operations -------------------------------------------------------------------------------

def test_describe_signaling_channel(emu: Emulator, clients: dict[str, Any], demo_arn: str) -> None:
    by_arn = clients[CONTROL].describe_signaling_channel(ChannelARN=demo_arn)["ChannelInfo"]
    by_name = clients[CONTROL].describe_signaling_channel(ChannelName="demo-channel")["ChannelInfo"]
    assert by_arn == by_name
    assert by_arn["ChannelARN"] == "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo-channel/1234567890123"
    assert by_arn["ChannelName"] == "demo-channel"
    assert by_arn["ChannelType"] == "SINGLE_MASTER" and by_arn["ChannelStatus"] == "ACTIVE"
    assert isinstance(by_arn["CreationTime"], datetime.datetime)
    assert by_arn["SingleMasterConfiguration"] == {"MessageTtlSeconds": 60}
    assert by_arn["Version"].isalnum()


def test_describe_media_storage_configuration(clients: dict[str, Any], demo_arn: str,
                                              no_storage_arn: str) -> None:
    enabled = clients[CONTROL].describe_media_storage_configuration(ChannelARN=demo_arn)
    assert enabled["MediaStorageConfiguration"]["Status"] == "ENABLED"
    assert enabled["MediaStorageConfiguration"]["StreamARN"].startswith("arn:aws:kinesisvideo:us-west-2:")
    disabled = clients[CONTROL].describe_media_storage_configuration(ChannelName="no-storage-channel")
    assert disabled["MediaStorageConfiguration"] == {"Status": "DISABLED"}  # StreamARN null -> absent


def test_get_signaling_channel_endpoint(emu: Emulator, clients: dict[str, Any], demo_arn: str) -> None:
    out = call(clients[CONTROL], "GetSignalingChannelEndpoint", demo_arn)["ResourceEndpointList"]
    host = f"127.0.0.1:{emu.port}"
    assert out == [
        {"Protocol": "WSS", "ResourceEndpoint": f"wss://{host}"},
        {"Protocol": "HTTPS", "ResourceEndpoint": f"https://{host}"},
        {"Protocol": "WEBRTC", "ResourceEndpoint": f"https://{host}"},
    ]
    only = clients[CONTROL].get_signaling_channel_endpoint(
        ChannelARN=demo_arn, SingleMasterChannelEndpointConfiguration={"Protocols": ["HTTPS"], "Role": "VIEWER"})
    assert only["ResourceEndpointList"] == [{"Protocol": "HTTPS", "ResourceEndpoint": f"https://{host}"}]


def test_webrtc_endpoint_needs_media_storage(clients: dict[str, Any], no_storage_arn: str) -> None:
    err = client_error(lambda: call(clients[CONTROL], "GetSignalingChannelEndpoint", no_storage_arn))
    assert err.response["Error"]["Code"] == "InvalidArgumentException"
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "no media storage configured" in err.response["Error"]["Message"]
    # Without WEBRTC the same channel is fine.
    ok = clients[CONTROL].get_signaling_channel_endpoint(
        ChannelARN=no_storage_arn, SingleMasterChannelEndpointConfiguration={"Protocols": ["WSS"], "Role": "MASTER"})
    assert [e["Protocol"] for e in ok["ResourceEndpointList"]] == ["WSS"]


def test_get_ice_server_config(emu: Emulator, clients: dict[str, Any], demo_arn: str) -> None:
    servers = call(clients[SIGNALING], "GetIceServerConfig", demo_arn)["IceServerList"]
    assert len(servers) == 1
    server = servers[0]
    # The emulator's own TURN server: UDP on the emulator's port number, TCP on a port of its own.
    turn = emu.ready["turn"]
    assert server["Uris"] == [f"turn:127.0.0.1:{turn['udp_port']}?transport=udp",
                              f"turn:127.0.0.1:{turn['tcp_port']}?transport=tcp"]
    assert turn["udp_port"] == emu.port
    assert server["Ttl"] == 300 and server["Password"]
    expiry = int(server["Username"].split(":", 1)[0])
    assert 250 < expiry - time.time() < 350


def test_join_storage_session_and_as_viewer(emu: Emulator, clients: dict[str, Any], demo_arn: str) -> None:
    before = {c["name"]: c for c in emu.state()["channels"]}["demo-channel"]
    first = clients[STORAGE].join_storage_session(channelArn=demo_arn)
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert first["ResponseMetadata"]["HTTPHeaders"]["content-length"] == "0"
    clients[STORAGE].join_storage_session(channelArn=demo_arn)  # not idempotent: counted twice
    viewer = clients[STORAGE].join_storage_session_as_viewer(channelArn=demo_arn, clientId="viewer-1")
    assert viewer["ResponseMetadata"]["HTTPStatusCode"] == 200
    after = {c["name"]: c for c in emu.state()["channels"]}["demo-channel"]
    assert after["join_count"] == before["join_count"] + 2
    assert after["viewer_join_count"] == before["viewer_join_count"] + 1
    assert emu.calls("JoinStorageSession") == 2 and emu.calls("JoinStorageSessionAsViewer") == 1


def test_join_storage_session_without_storage(clients: dict[str, Any], no_storage_arn: str) -> None:
    err = client_error(lambda: clients[STORAGE].join_storage_session(channelArn=no_storage_arn))
    assert err.response["Error"]["Code"] == "InvalidArgumentException"
    assert "no media storage configured" in err.response["Error"]["Message"]


@pytest.mark.parametrize("operation", list(CALLS))
def test_unknown_channel_is_resource_not_found(clients: dict[str, Any], operation: str) -> None:
    service = CALLS[operation][0]
    arn = "arn:aws:kinesisvideo:us-west-2:123456789012:channel/not-there/1234567890123"
    err = client_error(lambda: call(clients[service], operation, arn))
    assert err.response["Error"]["Code"] == "ResourceNotFoundException"
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert isinstance(err, clients[service].exceptions.ResourceNotFoundException)


def test_channels_are_regional(emu: Emulator, demo_arn: str) -> None:
    """A us-west-2 channel is not found through a request signed for another region."""
    kv = make_client(emu, CONTROL, region="eu-west-1")
    err = client_error(lambda: kv.describe_signaling_channel(ChannelARN=demo_arn))
    assert err.response["Error"]["Code"] == "ResourceNotFoundException"


# -- input validation -------------------------------------------------------------------------------------

def test_validation_messages_name_the_field(clients: dict[str, Any], demo_arn: str) -> None:
    bad_arn = "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo-channel"  # no /<digits>
    err = client_error(lambda: clients[STORAGE].join_storage_session(channelArn=bad_arn))
    assert err.response["Error"]["Code"] == "InvalidArgumentException"
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.response["Error"]["Message"] == (
        f"1 validation error detected: Value '{bad_arn}' at 'channelArn' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: "
        "^arn:(aws[a-zA-Z-]*):kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+$"
    )
    err = client_error(lambda: clients[CONTROL].describe_signaling_channel(ChannelARN=bad_arn))
    assert "at 'channelARN' failed to satisfy constraint" in err.response["Error"]["Message"]
    err = client_error(lambda: clients[STORAGE].join_storage_session_as_viewer(channelArn=demo_arn,
                                                                               clientId="no spaces!"))
    assert "at 'clientId' failed to satisfy constraint" in err.response["Error"]["Message"]
    # The signaling model only accepts the "aws" partition in its ARN pattern.
    cn_arn = demo_arn.replace("arn:aws:", "arn:aws-cn:")
    err = client_error(lambda: clients[SIGNALING].get_ice_server_config(ChannelARN=cn_arn))
    assert "at 'channelARN'" in err.response["Error"]["Message"]
    err = client_error(lambda: clients[CONTROL].get_signaling_channel_endpoint(
        ChannelARN=demo_arn, SingleMasterChannelEndpointConfiguration={"Protocols": ["WSS", "FTP"]}))
    assert "at 'singleMasterChannelEndpointConfiguration.protocols'" in err.response["Error"]["Message"]
    assert "[WSS, HTTPS, WEBRTC]" in err.response["Error"]["Message"]
    err = client_error(lambda: clients[CONTROL].describe_signaling_channel())
    assert err.response["Error"]["Code"] == "InvalidArgumentException"


def test_missing_required_members(emu: Emulator) -> None:
    storage = make_client(emu, STORAGE, parameter_validation=False)
    err = client_error(lambda: storage.join_storage_session_as_viewer())
    assert err.response["Error"]["Message"] == (
        "2 validation errors detected: Value null at 'channelArn' failed to satisfy constraint: Member must "
        "not be null; Value null at 'clientId' failed to satisfy constraint: Member must not be null"
    )


def test_malformed_json_is_serialization_exception(emu: Emulator) -> None:
    resp = signed_raw(emu, "/joinStorageSession", b"{not json")
    assert resp.status == 400
    assert resp.headers["x-amzn-ErrorType"].startswith("SerializationException:")


# -- errors on the wire -------------------------------------------------------------------------------------

MODELLED = modelled_errors()


@pytest.mark.parametrize(("operation", "error", "status"), MODELLED, ids=[f"{o}-{e}" for o, e, _ in MODELLED])
def test_every_modelled_error_reaches_boto3(emu: Emulator, clients: dict[str, Any], demo_arn: str,
                                            operation: str, error: str, status: int) -> None:
    service = CALLS[operation][0]
    client = clients[service]
    message = f"injected {error} for {operation}"
    emu.fault(operation=operation, error=error, message=message)
    err = client_error(lambda: call(client, operation, demo_arn))
    assert isinstance(err, getattr(client.exceptions, error))
    assert err.response["Error"] == {"Code": error, "Message": message}
    meta = err.response["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == status
    assert meta["RequestId"] == meta["HTTPHeaders"]["x-amzn-requestid"]
    [record] = emu.requests(operation)
    assert record["request_id"] == meta["RequestId"] and record["error"] == error
    assert record["status"] == status and record["verified"]


@pytest.mark.parametrize("service", [STORAGE, CONTROL, SIGNALING])
def test_error_body_and_headers_on_the_wire(emu: Emulator, demo_arn: str, service: str) -> None:
    op = next(o for o in OPERATIONS.values() if o.service.boto_name == service)
    for error in op.errors:
        emu.fault(operation=op.name, error=error, message="raw")
        _, _, request = CALLS[op.name]
        resp = signed_raw(emu, op.path, request(demo_arn))
        status, member = model_error(service, error)
        assert resp.status == status
        assert resp.json() == {member: "raw"}  # "message" or "Message", per the model
        error_type = resp.headers["x-amzn-ErrorType"]
        assert error_type.split(":", 1)[0] == error and error_type != error
        assert resp.headers["Content-Type"] == "application/json"
        assert len(resp.headers["x-amzn-RequestId"]) == 36


def test_error_tables_match_botocore_models() -> None:
    for spec in SERVICES.values():
        model = service_model(spec.boto_name)
        assert model.service_id == spec.service_id and model.signing_name == "kinesisvideo"
        modelled = {s.name: (s.metadata["error"]["httpStatusCode"], list(s.members)) for s in model.error_shapes}
        ours = {name: (shape.status, [shape.member]) for name, shape in spec.errors.items()}
        assert ours == modelled, spec.key
    for op in OPERATIONS.values():
        model = service_model(op.service.boto_name).operation_model(op.name)
        assert model.http["method"] == "POST" and model.http["requestUri"] == op.path
        assert sorted(e.name for e in model.error_shapes) == sorted(op.errors)
        compare_members(op.input, model.input_shape)


def compare_members(members: Any, shape: Any) -> None:
    """Our input constraints == the model's, recursively (names, required, pattern, lengths, enums)."""
    assert {m.name for m in members} == set(shape.members), shape.name
    for member in members:
        target = shape.members[member.name]
        assert target.type_name == member.kind, member.name
        assert (member.name in shape.required_members) == member.required, member.name
        if member.kind == "structure":
            compare_members(member.members, target)
            continue
        meta = target.metadata
        assert meta.get("min") == member.min and meta.get("max") == member.max, member.name
        if member.kind == "list":
            assert member.item is not None
            assert (target.member.enum or None) == (list(member.item.enum) if member.item.enum else None)
        else:
            assert meta.get("pattern") == member.pattern, member.name
            assert (target.enum or None) == (list(member.enum) if member.enum else None), member.name


# -- SigV4 ----------------------------------------------------------------------------------------------------

def test_wrong_secret_is_invalid_signature(emu: Emulator, demo_arn: str) -> None:
    kv = make_client(emu, CONTROL, aws_secret_access_key="not-the-secret")
    err = client_error(lambda: kv.describe_signaling_channel(ChannelARN=demo_arn))
    assert err.response["Error"] == {"Code": "InvalidSignatureException", "Message": SIGNATURE_MISMATCH}
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    [record] = emu.requests("DescribeSignalingChannel")
    assert not record["verified"] and record["auth_error"] == "InvalidSignatureException"
    assert record["canonical_request"].startswith("POST\n/describeSignalingChannel\n\n")


def test_unknown_access_key(emu: Emulator, demo_arn: str) -> None:
    st = make_client(emu, STORAGE, aws_access_key_id="AKIDNOBODY")
    err = client_error(lambda: st.join_storage_session(channelArn=demo_arn))
    assert err.response["Error"] == {"Code": "UnrecognizedClientException", "Message": TOKEN_INVALID}
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert emu.calls("JoinStorageSession") == 1  # counted, though rejected


def test_session_token_required(emu: Emulator, demo_arn: str) -> None:
    sc = emu.session_credentials
    assert sc is not None
    without = make_client(emu, CONTROL, aws_access_key_id=sc["access_key_id"],
                          aws_secret_access_key=sc["secret_access_key"])
    err = client_error(lambda: without.describe_signaling_channel(ChannelARN=demo_arn))
    assert err.response["Error"] == {"Code": "UnrecognizedClientException", "Message": TOKEN_INVALID}
    wrong = make_client(emu, CONTROL, aws_access_key_id=sc["access_key_id"],
                        aws_secret_access_key=sc["secret_access_key"], aws_session_token="wrong")
    assert client_error(lambda: wrong.describe_signaling_channel(ChannelARN=demo_arn)).response["Error"][
        "Code"] == "UnrecognizedClientException"
    right = make_client(emu, CONTROL, aws_access_key_id=sc["access_key_id"],
                        aws_secret_access_key=sc["secret_access_key"], aws_session_token=sc["session_token"])
    assert right.describe_signaling_channel(ChannelARN=demo_arn)["ChannelInfo"]["ChannelName"] == "demo-channel"
    # A long-term key must not carry a token.
    stray = make_client(emu, CONTROL, aws_session_token="stray")
    assert client_error(lambda: stray.describe_signaling_channel(ChannelARN=demo_arn)).response["Error"][
        "Code"] == "UnrecognizedClientException"


def test_unsigned_request_is_missing_authentication_token(emu: Emulator, demo_arn: str) -> None:
    st = make_client(emu, STORAGE, signature_version=UNSIGNED)
    err = client_error(lambda: st.join_storage_session(channelArn=demo_arn))
    assert err.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.parametrize(("skew", "wording"), [(600, "Signature expired: "), (-600, "Signature not yet current: ")])
def test_clock_skew(emu: Emulator, clients: dict[str, Any], demo_arn: str, skew: int, wording: str) -> None:
    emu.clock(skew)
    err = client_error(lambda: clients[STORAGE].join_storage_session(channelArn=demo_arn))
    assert err.response["Error"]["Code"] == "InvalidSignatureException"
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    message = err.response["Error"]["Message"]
    assert message.startswith(wording)
    assert message.endswith(" - 5 min.)" if skew > 0 else " + 5 min.)")
    # The Date header carries the emulator's clock: a client can correct its skew from it.
    server_date = parsedate_to_datetime(err.response["ResponseMetadata"]["HTTPHeaders"]["date"])
    assert abs(server_date.timestamp() - time.time() - skew) < 30
    emu.clock(skew / 2.5)  # within 5 minutes: accepted
    clients[STORAGE].join_storage_session(channelArn=demo_arn)


def test_signature_expired_fault(emu: Emulator, clients: dict[str, Any], demo_arn: str) -> None:
    emu.fault(operation="GetIceServerConfig", signature_expired=True)
    err = client_error(lambda: clients[SIGNALING].get_ice_server_config(ChannelARN=demo_arn))
    assert err.response["Error"]["Code"] == "InvalidSignatureException"
    assert err.response["Error"]["Message"].startswith("Signature expired: ")
    assert " is now earlier than " in err.response["Error"]["Message"]
    clients[SIGNALING].get_ice_server_config(ChannelARN=demo_arn)  # one-shot


def test_negative_controls_signature_can_fail(emu: Emulator, demo_arn: str) -> None:
    body = {"channelArn": demo_arn}
    assert signed_raw(emu, "/joinStorageSession", body).status == 200  # the control

    # Signed for another service.
    resp = signed_raw(emu, "/joinStorageSession", body, service="s3")
    assert resp.status == 403 and resp.json() == {
        "message": "Credential should be scoped to correct service: 'kinesisvideo'. "}

    # Signed for us-east-1, then relabelled us-west-2: the signature no longer matches.
    def relabel(headers: dict[str, str], raw: bytes) -> tuple[dict[str, str], bytes]:
        headers["Authorization"] = headers["Authorization"].replace("/us-east-1/", "/us-west-2/")
        return headers, raw

    resp = signed_raw(emu, "/joinStorageSession", body, region="us-east-1", tamper=relabel)
    assert resp.status == 403 and resp.json() == {"message": SIGNATURE_MISMATCH}

    # The body changed after signing.
    def other_body(headers: dict[str, str], raw: bytes) -> tuple[dict[str, str], bytes]:
        return headers, raw.replace(b"demo-channel", b"demo-channeL")

    resp = signed_raw(emu, "/joinStorageSession", body, tamper=other_body)
    assert resp.status == 403 and resp.json() == {"message": SIGNATURE_MISMATCH}

    # A signed header changed after signing (X-Amz-Date moved one second back).
    def other_date(headers: dict[str, str], raw: bytes) -> tuple[dict[str, str], bytes]:
        signed = datetime.datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        headers["X-Amz-Date"] = (signed - datetime.timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
        return headers, raw

    resp = signed_raw(emu, "/joinStorageSession", body, tamper=other_date)
    assert resp.status == 403
    assert resp.json()["message"] == SIGNATURE_MISMATCH or resp.json()["message"].startswith("Date in Credential")

    # The emulator restricted to us-west-2 rejects a correct us-east-1 signature.
    emu.allow_regions(["us-west-2"])
    try:
        resp = signed_raw(emu, "/joinStorageSession", body, region="us-east-1")
        assert resp.status == 403 and resp.json() == {
            "message": "Credential should be scoped to a valid region, not 'us-east-1'. "}
    finally:
        emu.allow_regions(None)
    records = emu.requests("JoinStorageSession")
    assert [r["verified"] for r in records] == [True, False, False, False, False, False]


def test_client_signed_headers_are_honoured(emu: Emulator, demo_arn: str) -> None:
    """user-agent is signed by the KVS C SDK; botocore's signer skips it but the check must not."""
    resp = signed_raw(emu, "/joinStorageSession", {"channelArn": demo_arn}, signer=SignUserAgent,
                      extra_headers={"User-Agent": "AWS-SDK-KVS/1.0  test   agent"})
    assert resp.status == 200, resp.body
    [record] = emu.requests("JoinStorageSession")
    assert "user-agent" in record["signed_headers"] and record["user_agent"] == "AWS-SDK-KVS/1.0  test   agent"

    # An unsigned header may be added or changed freely (proxies do).
    def add_header(headers: dict[str, str], raw: bytes) -> tuple[dict[str, str], bytes]:
        headers["X-Forwarded-For"] = "10.0.0.1"
        return headers, raw

    assert signed_raw(emu, "/joinStorageSession", {"channelArn": demo_arn}, tamper=add_header).status == 200


def test_x_amz_content_sha256(emu: Emulator, demo_arn: str) -> None:
    body = json.dumps({"channelArn": demo_arn}).encode()
    good = {"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    assert signed_raw(emu, "/joinStorageSession", body, extra_headers=good).status == 200
    bad = {"X-Amz-Content-SHA256": hashlib.sha256(b"other").hexdigest()}
    resp = signed_raw(emu, "/joinStorageSession", body, extra_headers=bad)
    assert resp.status == 403 and "x-amz-content-sha256" in resp.json()["message"]


def test_host_must_be_signed(emu: Emulator, demo_arn: str) -> None:
    def drop_host(headers: dict[str, str], raw: bytes) -> tuple[dict[str, str], bytes]:
        headers["Authorization"] = headers["Authorization"].replace("SignedHeaders=content-type;host;",
                                                                    "SignedHeaders=content-type;")
        return headers, raw

    resp = signed_raw(emu, "/joinStorageSession", {"channelArn": demo_arn}, tamper=drop_host)
    assert resp.status == 403 and "'Host'" in resp.json()["message"]


# -- faults ---------------------------------------------------------------------------------------------------

def test_drop_closes_the_connection(emu: Emulator, clients: dict[str, Any], demo_arn: str) -> None:
    emu.fault(operation="JoinStorageSession", drop=True)
    with pytest.raises(ConnectionClosedError):
        clients[STORAGE].join_storage_session(channelArn=demo_arn)
    [record] = emu.requests("JoinStorageSession")
    assert record["error"] == "ConnectionDropped" and record["status"] is None
    clients[STORAGE].join_storage_session(channelArn=demo_arn)
    assert emu.calls("JoinStorageSession") == 2


def test_delay(emu: Emulator, clients: dict[str, Any], demo_arn: str) -> None:
    emu.fault(operation="DescribeSignalingChannel", delay_ms=400)
    start = time.monotonic()
    clients[CONTROL].describe_signaling_channel(ChannelARN=demo_arn)
    assert time.monotonic() - start >= 0.4
    emu.fault(operation="DescribeSignalingChannel", delay_ms=1500)
    impatient = make_client(emu, CONTROL, read_timeout=0.3)
    with pytest.raises(ReadTimeoutError):
        impatient.describe_signaling_channel(ChannelARN=demo_arn)
    # A delay can precede an error.
    emu.fault(operation="GetSignalingChannelEndpoint", delay_ms=200, error="ResourceInUseException")
    start = time.monotonic()
    err = client_error(lambda: call(clients[CONTROL], "GetSignalingChannelEndpoint", demo_arn))
    assert err.response["Error"]["Code"] == "ResourceInUseException" and time.monotonic() - start >= 0.2


def test_trickle(emu: Emulator, clients: dict[str, Any], demo_arn: str) -> None:
    """The whole answer comes, a byte every 5 ms; botocore's 0.3 s read timeout never fires."""
    emu.fault(operation="DescribeSignalingChannel", trickle_ms=5)
    patient = make_client(emu, CONTROL, read_timeout=0.3)
    start = time.monotonic()
    info = patient.describe_signaling_channel(ChannelARN=demo_arn)["ChannelInfo"]
    assert info["ChannelARN"] == demo_arn and time.monotonic() - start >= 0.005 * 200
    # An error trickles too.
    emu.fault(operation="DescribeSignalingChannel", trickle_ms=1, error="ResourceInUseException")
    err = client_error(lambda: clients[CONTROL].describe_signaling_channel(ChannelARN=demo_arn))
    assert err.response["Error"]["Code"] == "ResourceInUseException"
    assert [r["fault"].get("trickle_ms") for r in emu.requests("DescribeSignalingChannel")] == [5, 1]


@pytest.mark.parametrize("body", ["html", "empty", "json"])
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_bodies(emu: Emulator, clients: dict[str, Any], demo_arn: str, status: int, body: str) -> None:
    emu.fault(operation="JoinStorageSession", status=status, body=body)
    err = client_error(lambda: clients[STORAGE].join_storage_session(channelArn=demo_arn))
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == status
    code = err.response["Error"]["Code"]
    expected = {(500, "json"): "InternalFailure", (503, "json"): "ServiceUnavailableException"}
    assert code == expected.get((status, body), str(status))
    if body == "html":
        headers = err.response["ResponseMetadata"]["HTTPHeaders"]
        assert headers["content-type"].startswith("text/html")


def test_boto3_retries_are_counted(emu: Emulator, demo_arn: str) -> None:
    st = make_client(emu, STORAGE, attempts=3)
    emu.fault(operation="JoinStorageSession", status=503, body="html", count=2)
    out = st.join_storage_session(channelArn=demo_arn)
    assert out["ResponseMetadata"]["RetryAttempts"] == 2
    assert emu.calls("JoinStorageSession") == 3
    assert [r["status"] for r in emu.requests("JoinStorageSession")] == [503, 503, 200]
    assert emu.state()["faults"] == []


def test_throttling_retried_but_client_limit_not(emu: Emulator, demo_arn: str) -> None:
    kv = make_client(emu, CONTROL, attempts=3)
    emu.fault(operation="DescribeSignalingChannel", error="ThrottlingException", count=2)
    kv.describe_signaling_channel(ChannelARN=demo_arn)
    assert emu.calls("DescribeSignalingChannel") == 3
    emu.reset()
    emu.fault(operation="DescribeSignalingChannel", throttle=True, count=2)
    err = client_error(lambda: kv.describe_signaling_channel(ChannelARN=demo_arn))
    assert err.response["Error"]["Code"] == "ClientLimitExceededException"
    assert "Limit exceeded on number of requests for DescribeSignalingChannel" in err.response["Error"]["Message"]
    assert emu.calls("DescribeSignalingChannel") == 1  # botocore does not retry it: kvsws must decide


def test_fault_queue_order_wildcard_and_counts(emu: Emulator, clients: dict[str, Any], demo_arn: str) -> None:
    emu.fault(operation="*", error="ClientLimitExceededException", count=2)
    emu.fault(operation="DescribeSignalingChannel", error="AccessDeniedException")
    codes = []
    for _ in range(3):
        try:
            clients[CONTROL].describe_signaling_channel(ChannelARN=demo_arn)
            codes.append("ok")
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
    # The operation's own queue first, then the wildcard queue (twice), then nothing.
    assert codes == ["AccessDeniedException", "ClientLimitExceededException", "ClientLimitExceededException"]
    clients[CONTROL].describe_signaling_channel(ChannelARN=demo_arn)
    assert emu.calls("DescribeSignalingChannel") == 4 and emu.state()["faults"] == []


def test_admin_rejects_bad_faults(emu: Emulator) -> None:
    for spec in (
        {"operation": "JoinStorageSession", "error": "SessionExpiredException"},  # not a storage error
        {"operation": "Nope", "drop": True},
        {"operation": "JoinStorageSession", "status": 418},
        {"operation": "JoinStorageSession", "status": 503, "body": "xml"},
        {"operation": "JoinStorageSession", "drop": True, "throttle": True},
        {"operation": "JoinStorageSession"},
        {"operation": "JoinStorageSession", "drop": True, "count": 0},
        {"operation": "JoinStorageSession", "trickle_ms": -1},
        {"operation": "JoinStorageSession", "trickle_ms": 10, "drop": True},
        {"operation": "ConnectAsMaster", "trickle_ms": 10},
    ):
        with pytest.raises(EmulatorError, match="HTTP 400"):
            emu.fault(**spec)
    assert emu.state()["faults"] == []


# -- admin API and recording ------------------------------------------------------------------------------------

def test_admin_channels_and_credentials(emu: Emulator, clients: dict[str, Any]) -> None:
    arn = emu.add_channel("admin-made", storage=False)
    assert arn.startswith("arn:aws:kinesisvideo:us-west-2:123456789012:channel/admin-made/")
    conf = clients[CONTROL].describe_media_storage_configuration(ChannelARN=arn)["MediaStorageConfiguration"]
    assert conf == {"Status": "DISABLED"}
    assert emu.add_channel("admin-made") == arn  # same name: the same channel, storage now on
    conf = clients[CONTROL].describe_media_storage_configuration(ChannelARN=arn)["MediaStorageConfiguration"]
    assert conf["Status"] == "ENABLED"
    with pytest.raises(EmulatorError, match="HTTP 400"):
        emu.add_channel("bad name")
    eu = emu.add_channel("admin-made", region="eu-west-1")
    assert ":eu-west-1:" in eu
    assert make_client(emu, CONTROL, region="eu-west-1").describe_signaling_channel(
        ChannelName="admin-made")["ChannelInfo"]["ChannelARN"] == eu

    emu.add_credentials("AKIDSECOND", "second-secret")
    second = make_client(emu, STORAGE, aws_access_key_id="AKIDSECOND", aws_secret_access_key="second-secret")
    second.join_storage_session(channelArn=emu.channel_arn("demo-channel"))
    assert "second-secret" not in json.dumps(emu.state())  # the admin view shows no secrets


def test_requests_are_recorded(emu: Emulator, clients: dict[str, Any], demo_arn: str) -> None:
    clients[SIGNALING].get_ice_server_config(ChannelARN=demo_arn, ClientId="c1")
    [record] = emu.requests("GetIceServerConfig")
    assert record["verified"] and record["auth_error"] is None
    assert record["region"] == "us-west-2" and record["service"] == "kinesisvideo"
    assert record["access_key_id"] == "AKIDEMULATOR"
    assert "Boto3/" in record["user_agent"] or "botocore/" in record["user_agent"]
    assert record["params"] == {"ChannelARN": demo_arn, "ClientId": "c1"}
    assert record["status"] == 200 and abs(record["time"] - time.time()) < 60
    assert "host" in record["signed_headers"] and "x-amz-date" in record["signed_headers"]


def test_reset(emu: Emulator, clients: dict[str, Any], demo_arn: str) -> None:
    emu.fault(operation="JoinStorageSession", drop=True, count=5)
    emu.clock(30)
    clients[CONTROL].describe_signaling_channel(ChannelARN=demo_arn)
    emu.reset()
    state = emu.state()
    assert state["faults"] == [] and state["calls"] == {} and state["requests"] == []
    assert state["clock_skew_seconds"] == 0
    clients[STORAGE].join_storage_session(channelArn=demo_arn)


# -- configuration -------------------------------------------------------------------------------------------

def test_config_replaces_defaults() -> None:
    state = build_state({
        "region": "eu-central-1",
        "credentials": [{"access_key_id": "AKIDCONF", "secret_access_key": "s"}],
        "channels": [{"name": "cam-1", "storage": True}, {"name": "cam-2", "storage": False, "region": "us-east-1"}],
        "allowed_regions": ["eu-central-1", "us-east-1"],
    })
    assert list(state.credentials) == ["AKIDCONF"]
    assert sorted(c.arn for c in state.channels.values()) == [
        "arn:aws:kinesisvideo:eu-central-1:123456789012:channel/cam-1/1234567890123",
        "arn:aws:kinesisvideo:us-east-1:123456789012:channel/cam-2/1234567890123",
    ]
    bad_configs: list[dict[str, Any]] = [
        {"nope": 1}, {"channels": [{"name": "a b"}]}, {"credentials": []}, {"account_id": "12"}]
    for bad in bad_configs:
        with pytest.raises(ConfigError):
            build_state(bad)


def test_config_file_end_to_end() -> None:
    config = {"credentials": [{"access_key_id": "AKIDCONFIG", "secret_access_key": "config-secret"}],
              "channels": [{"name": "only-one", "storage": True}]}
    with Emulator(config=config) as other:
        assert other.access_key_id == "AKIDCONFIG" and other.session_credentials is None
        kv = boto3.client(CONTROL, config=Config(retries={"total_max_attempts": 1}), **other.boto3_kwargs())
        info = kv.describe_signaling_channel(ChannelName="only-one")["ChannelInfo"]
        assert info["ChannelARN"] == other.channel_arn("only-one")
        env = other.subprocess_env({"HOME": "/tmp", "AWS_PROFILE": "real", "AWS_SESSION_TOKEN": "x"})
        assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env
        assert env["AWS_ENDPOINT_URL_KINESIS_VIDEO"] == other.endpoint and env["AWS_CA_BUNDLE"] == other.ca_bundle
        state_dir = other.state_dir
    assert state_dir is not None and not state_dir.exists()


def test_common_errors_have_aws_statuses() -> None:
    assert COMMON_ERRORS["InvalidSignatureException"].status == 403
    assert COMMON_ERRORS["UnrecognizedClientException"].status == 403
    assert COMMON_ERRORS["ThrottlingException"].status == 400

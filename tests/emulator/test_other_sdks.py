# SPDX-License-Identifier: Apache-2.0
"""What SDKs other than kvsws and aiortc need from the emulator, checked with clients written here:

- the signaling WebSocket selects the subprotocol ``wss`` when a client offers it (the KVS WebRTC C
  SDK does) and never one that was not offered (RFC 6455 4.2.2);
- the TURN server's TCP port takes an RFC 8656 client over plain TCP and over TLS (the KVS C SDK
  speaks TLS to every TCP TURN server): a raw-socket client with its own STUN encoder allocates a UDP
  relay (REQUESTED-TRANSPORT 17, as the C SDK asks), with its messages split into many small writes
  and several coalesced into one, and relays ChannelData both ways (padded to 4 bytes over TCP).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import aiohttp
import boto3
import pytest
import yarl
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from kvsws_emulator.testing import Emulator

# -- the WebSocket subprotocol -----------------------------------------------------------------------------


def presign(emu: Emulator) -> str:
    query = urllib.parse.urlencode({"X-Amz-ChannelARN": emu.channel_arn("demo-channel")})
    request = AWSRequest(method="GET", url=f"{emu.wss_endpoint}/?{query}")
    SigV4QueryAuth(Credentials(emu.access_key_id, emu.secret_access_key), "kinesisvideo", emu.region,
                   expires=299).add_auth(request)
    return str(request.url)


async def upgrade(emu: Emulator, offered: str | None) -> tuple[int, str | None]:
    """A WebSocket upgrade offering ``offered`` (a Sec-WebSocket-Protocol value): the status and the
    protocol the server selected (None: no header)."""
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}
    if offered is not None:
        headers["Sec-WebSocket-Protocol"] = offered
    url = yarl.URL(presign(emu).replace("wss://", "https://", 1), encoded=True)
    context = ssl.create_default_context(cafile=emu.ca_bundle)
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers, ssl=context) as resp:
        return resp.status, resp.headers.get("Sec-WebSocket-Protocol")


@pytest.mark.parametrize(("offered", "selected"), [
    ("wss", "wss"),             # what the KVS C SDK sends
    ("chat, wss", "wss"),       # the first one offered that the server supports
    ("chat", None),             # nothing supported: the handshake still succeeds, with no protocol
    (None, None),               # kvsws and the JS SDK offer none and get none
])
def test_websocket_subprotocol_is_selected_only_from_those_offered(emu: Emulator, offered: str | None,
                                                                    selected: str | None) -> None:
    status, protocol = asyncio.run(upgrade(emu, offered))
    assert status == 101
    assert protocol == selected


def test_a_websocket_client_offering_wss_gets_it(emu: Emulator) -> None:
    async def scenario() -> str:
        context = ssl.create_default_context(cafile=emu.ca_bundle)
        async with aiohttp.ClientSession() as session, session.ws_connect(
                yarl.URL(presign(emu), encoded=True), protocols=("wss",), ssl=context) as ws:
            return str(ws.protocol)

    assert asyncio.run(scenario()) == "wss"


# -- TURN over TCP and TLS, from a client written here ---------------------------------------------------------

MAGIC = 0x2112A442
ALLOCATE, CREATE_PERMISSION, CHANNEL_BIND = 0x003, 0x008, 0x009
SUCCESS, ERROR = 0x100, 0x110
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE, CHANNEL_NUMBER, LIFETIME = 0x0006, 0x0008, 0x0009, 0x000C, 0x000D
XOR_PEER_ADDRESS, REALM, NONCE, XOR_RELAYED_ADDRESS, REQUESTED_TRANSPORT = 0x0012, 0x0014, 0x0015, 0x0016, 0x0019
CHANNEL = 0x4001


def xor_address(host: str, port: int) -> bytes:
    ip = struct.unpack("!I", socket.inet_aton(host))[0] ^ MAGIC
    return struct.pack("!BBHI", 0, 1, port ^ (MAGIC >> 16), ip)


def parse_xor_address(value: bytes) -> tuple[str, int]:
    _, family, port, ip = struct.unpack("!BBHI", value[:8])
    assert family == 1
    return socket.inet_ntoa(struct.pack("!I", ip ^ MAGIC)), port ^ (MAGIC >> 16)


def encode(message_type: int, attributes: list[tuple[int, bytes]], key: bytes | None = None,
           transaction: bytes | None = None) -> bytes:
    """A STUN message; with ``key``, MESSAGE-INTEGRITY (HMAC-SHA1 over the message with its length
    already counting the 24-byte attribute, RFC 8489 14.5)."""
    txid = transaction or os.urandom(12)
    body = b"".join(struct.pack("!HH", t, len(v)) + v + bytes(-len(v) % 4) for t, v in attributes)
    if key is not None:
        header = struct.pack("!HHI", message_type, len(body) + 24, MAGIC) + txid
        body += struct.pack("!HH", MESSAGE_INTEGRITY, 20) + hmac.new(key, header + body, hashlib.sha1).digest()
    return struct.pack("!HHI", message_type, len(body), MAGIC) + txid + body


def decode(message: bytes) -> tuple[int, dict[int, bytes]]:
    message_type, length, magic = struct.unpack("!HHI", message[:8])
    assert magic == MAGIC and len(message) == 20 + length
    attributes: dict[int, bytes] = {}
    offset = 20
    while offset < len(message):
        kind, size = struct.unpack("!HH", message[offset:offset + 4])
        attributes.setdefault(kind, message[offset + 4:offset + 4 + size])
        offset += 4 + size + (-size % 4)
    return message_type, attributes


def channel_data(payload: bytes) -> bytes:
    return struct.pack("!HH", CHANNEL, len(payload)) + payload + bytes(-len(payload) % 4)


class StreamClient:
    """A TURN client on one TCP (or TLS) stream: frames are read by their own length."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            assert chunk, "the TURN server closed the connection"
            self.buffer += chunk
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out

    def frame(self) -> bytes:
        head = self._exactly(4)
        length = struct.unpack("!H", head[2:4])[0]
        if 0x40 <= head[0] <= 0x7F:  # ChannelData: padded to 4 bytes over a stream (RFC 8656 12.5)
            return head + self._exactly(length + (-length % 4))[:length]
        return head + self._exactly(16 + length)

    def send_in_pieces(self, data: bytes) -> None:
        """Many small writes, so the server reads the message in parts."""
        for start in range(0, len(data), 7):
            self.sock.sendall(data[start:start + 7])
            time.sleep(0.002)

    def request(self, data: bytes, split: bool = False) -> tuple[int, dict[int, bytes]]:
        if split:
            self.send_in_pieces(data)
        else:
            self.sock.sendall(data)
        return decode(self.frame())


def ice_credentials(emu: Emulator) -> tuple[str, str]:
    signaling = boto3.client("kinesis-video-signaling", **emu.boto3_kwargs())
    server = signaling.get_ice_server_config(ChannelARN=emu.channel_arn("demo-channel"))["IceServerList"][0]
    return server["Username"], server["Password"]


@pytest.fixture()
def turn_stream(emu: Emulator, request: pytest.FixtureRequest) -> Iterator[StreamClient]:
    """A TCP connection to the TURN server's TCP port; with the "tls" parameter, TLS on it, verified
    against the emulator's CA (as a ``turns:`` client, and the KVS C SDK, do)."""
    raw = socket.create_connection(("127.0.0.1", emu.ready["turn"]["tcp_port"]), timeout=10)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock = raw
    if request.param == "tls":
        sock = ssl.create_default_context(cafile=emu.ca_bundle).wrap_socket(raw, server_hostname="127.0.0.1")
    try:
        yield StreamClient(sock)
    finally:
        sock.close()


def error_code(attributes: dict[int, bytes]) -> int:
    value = struct.unpack("!I", attributes[ERROR_CODE][:4])[0]
    return (value >> 8 & 0x7) * 100 + (value & 0xFF)  # class in bits 8-10, number in the low byte


def allocate(client: StreamClient, username: str, password: str, transport: int = 17, split: bool = True
             ) -> tuple[bytes, list[tuple[int, bytes]], int, dict[int, bytes]]:
    """The long-term credential dance, as the KVS C SDK does it: an unauthenticated Allocate
    (401 with realm and nonce), then the signed one. Returns the key, the USERNAME/REALM/NONCE
    attributes for later requests, and the second answer."""
    lifetime = (LIFETIME, struct.pack("!I", 600))
    requested = (REQUESTED_TRANSPORT, bytes([transport, 0, 0, 0]))
    kind, attributes = client.request(encode(ALLOCATE, [lifetime, requested]))
    assert kind == ALLOCATE | ERROR and error_code(attributes) == 401
    realm, nonce = attributes[REALM], attributes[NONCE]
    key = hashlib.md5(f"{username}:{realm.decode()}:{password}".encode()).digest()
    credentials = [(USERNAME, username.encode()), (REALM, realm), (NONCE, nonce)]
    kind, attributes = client.request(encode(ALLOCATE, [lifetime, requested, *credentials], key), split=split)
    return key, credentials, kind, attributes


@pytest.mark.parametrize("turn_stream", ["tcp", "tls"], indirect=True)
def test_a_raw_client_allocates_and_relays_over_a_stream(emu: Emulator, turn_stream: StreamClient) -> None:
    username, password = ice_credentials(emu)
    key, credentials, kind, answer = allocate(turn_stream, username, password)  # the signed one in small pieces
    assert kind == ALLOCATE | SUCCESS, answer.get(ERROR_CODE)
    relay = parse_xor_address(answer[XOR_RELAYED_ADDRESS])
    assert relay[0] == "127.0.0.1" and struct.unpack("!I", answer[LIFETIME])[0] == 600

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.settimeout(5)
        peer_address = xor_address(*peer.getsockname())
        # CreatePermission and ChannelBind coalesced into one write: two answers, in order.
        permission = encode(CREATE_PERMISSION, [(XOR_PEER_ADDRESS, peer_address), *credentials], key)
        bind = encode(CHANNEL_BIND, [(CHANNEL_NUMBER, struct.pack("!HH", CHANNEL, 0)),
                                     (XOR_PEER_ADDRESS, peer_address), *credentials], key)
        turn_stream.sock.sendall(permission + bind)
        assert decode(turn_stream.frame())[0] == CREATE_PERMISSION | SUCCESS
        assert decode(turn_stream.frame())[0] == CHANNEL_BIND | SUCCESS

        # Client -> peer: two ChannelData of odd lengths (padded) in one write, then one split up.
        turn_stream.sock.sendall(channel_data(b"hello") + channel_data(b"abc"))
        turn_stream.send_in_pieces(channel_data(b"split across writes"))
        received = [peer.recvfrom(2048) for _ in range(3)]
        assert [data for data, _ in received] == [b"hello", b"abc", b"split across writes"]
        assert all(source == relay for _, source in received)

        # Peer -> client: ChannelData padded to 4 over the stream, so the next frame still lines up.
        for payload in (b"back!", b"x", b"four"):
            peer.sendto(payload, relay)
        frames = [turn_stream.frame() for _ in range(3)]
    assert [(f[:2], f[4:]) for f in frames] == [(struct.pack("!H", CHANNEL), p) for p in (b"back!", b"x", b"four")]
    allocations: list[dict[str, Any]] = emu.turn_state()["builtin"]["allocations"]
    mine = next(a for a in allocations if a["relayed_address"] == f"{relay[0]}:{relay[1]}")
    assert mine["transport"] == ("tls" if isinstance(turn_stream.sock, ssl.SSLSocket) else "tcp")
    assert mine["to_peer"]["packets"] == 3 and mine["to_client"]["packets"] == 3


@pytest.mark.parametrize("turn_stream", ["tcp"], indirect=True)
def test_a_tcp_relay_request_gets_a_clear_442(emu: Emulator, turn_stream: StreamClient) -> None:
    """RFC 6062 TCP allocations are not emulated: REQUESTED-TRANSPORT TCP is refused, with a reason."""
    username, password = ice_credentials(emu)
    _, _, kind, answer = allocate(turn_stream, username, password, transport=6, split=False)
    assert kind == ALLOCATE | ERROR and error_code(answer) == 442
    assert b"RFC 6062" in answer[ERROR_CODE][4:]

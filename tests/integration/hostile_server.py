# SPDX-License-Identifier: Apache-2.0
"""A hostile KVS signaling server on loopback: real TLS, raw RFC 6455 frames written by hand.

It answers the HTTPS calls a storage session makes (describe, endpoints, ICE servers, join) just
well enough, accepts the signaling WebSocket, and on every JoinStorageSession does what the
channel's name asks: flood, misbehave, or send a message a client must refuse. It is not the
emulator (which speaks the protocol correctly through aiohttp): nothing here stops it from
sending what RFC 6455 and the KVS wire format forbid.

    with HostileServer(tmp_path) as server:
        env = server.env()                  # AWS_* for the client, CA bundle included
        arn = server.channel_arn("ping-flood")
        ...
        server.stats("ping-flood").joins   # what the server saw for that channel
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import struct
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from kvsws_emulator import tlsgen

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
REGION = "us-west-2"
ACCOUNT = "123456789012"
# What a well-behaved message carries: the application must get exactly these, whole.
GOOD_SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
            "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\na=recvonly\r\n"
            "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=recvonly\r\n")
GOOD_CANDIDATE = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"
GOOD_SENDER = "good-sender.1"


def frame(op: int, payload: bytes = b"", fin: bool = True) -> bytes:
    """A server frame: never masked."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | op
    if n < 126:
        head = bytes([b0, n])
    elif n < 65536:
        head = bytes([b0, 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, 127]) + struct.pack("!Q", n)
    return head + payload


def text(obj: dict[str, Any]) -> bytes:
    return frame(0x1, json.dumps(obj, separators=(",", ":")).encode())


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def offer(sdp: str = GOOD_SDP, sender: str | None = None) -> bytes:
    msg: dict[str, Any] = {"messageType": "SDP_OFFER",
                           "messagePayload": b64(json.dumps({"type": "offer", "sdp": sdp}).encode())}
    if sender is not None:
        msg["senderClientId"] = sender
    return text(msg)


def candidate(cand: str = GOOD_CANDIDATE, sender: str | None = None) -> bytes:
    payload = {"candidate": cand, "sdpMid": "0", "sdpMLineIndex": 0}
    msg: dict[str, Any] = {"messageType": "ICE_CANDIDATE", "messagePayload": b64(json.dumps(payload).encode())}
    if sender is not None:
        msg["senderClientId"] = sender
    return text(msg)


def raw_payload_message(kind: str, payload_json: bytes) -> bytes:
    """A message whose base64 payload is exactly these bytes (valid JSON or not, UTF-8 or not)."""
    return text({"messageType": kind, "messagePayload": b64(payload_json)})


# Messages a client must refuse whole, in the KVS wire format (issue 10 items 4 and 5).
BAD_UTF8_SDP = raw_payload_message(
    "SDP_OFFER", b'{"type":"offer","sdp":"v=0\\r\\ns=\xff\xfe\xc0\xaf\\r\\n"}')
BAD_UTF8_CANDIDATE = raw_payload_message("ICE_CANDIDATE", b'{"candidate":"candidate:1 \xed\xa0\x80"}')
NUL_SDP = raw_payload_message(
    "SDP_OFFER", b'{"type":"offer","sdp":"v=0\\u0000\\r\\nm=video 9 UDP/TLS/RTP/SAVPF 96\\r\\n"}')
NUL_CANDIDATE = raw_payload_message("ICE_CANDIDATE", b'{"candidate":"candidate:1 1 udp\\u0000 1.2.3.4"}')
NUL_SENDER = b'{"messageType":"SDP_OFFER","senderClientId":"ab\\u0000cd","messagePayload":"' + \
    b64(json.dumps({"type": "offer", "sdp": GOOD_SDP}).encode()).encode() + b'"}'
BAD_SENDER = offer(sender="not a valid id!")


@dataclass
class ChannelStats:
    """What the server saw and did for one channel (read by the test after the driver ends)."""

    joins: int = 0
    connections: int = 0
    frames_sent: int = 0
    close_codes: list[int | None] = field(default_factory=list)  # the client's close frames
    answers: list[dict[str, Any]] = field(default_factory=list)  # what the client sent


class Connection:
    """One signaling WebSocket: we write raw frames; a task reads the client's."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stats: ChannelStats) -> None:
        self.reader = reader
        self.writer = writer
        self.stats = stats
        self.closed = asyncio.Event()

    async def send(self, data: bytes, frames: int = 1) -> None:
        if self.closed.is_set() or self.writer.transport.is_closing():
            self.closed.set()
            raise ConnectionError("closed")
        self.writer.write(data)
        self.stats.frames_sent += frames
        await self.writer.drain()

    async def read_frames(self) -> None:
        """The client's frames: answers recorded, close recorded (and the connection ended)."""
        try:
            while True:
                head = await self.reader.readexactly(2)
                n = head[1] & 0x7F
                if n == 126:
                    n = struct.unpack("!H", await self.reader.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
                key = await self.reader.readexactly(4) if head[1] & 0x80 else b"\0\0\0\0"
                data = bytes(b ^ key[i % 4] for i, b in enumerate(await self.reader.readexactly(n)))
                op = head[0] & 0x0F
                if op == 0x1:
                    self.stats.answers.append(json.loads(data))
                elif op == 0x8:
                    self.stats.close_codes.append(struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None)
                    break
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self.closed.set()
            with contextlib.suppress(Exception):
                self.writer.close()


async def flood(conn: Connection, one: bytes) -> None:
    """The same frame, as fast as the client takes it, until the connection ends."""
    batch_frames = max(1, 16384 // len(one))
    batch = one * batch_frames
    with contextlib.suppress(ConnectionError, OSError):
        while not conn.closed.is_set():
            await conn.send(batch, batch_frames)
            await asyncio.sleep(0)  # drain() does not yield once the peer is gone: let the loop see it


async def message_flood(conn: Connection) -> None:
    await conn.send(offer())
    await flood(conn, candidate())


async def continuation_flood(conn: Connection) -> None:
    await conn.send(frame(0x1, b"", fin=False))
    await flood(conn, frame(0x0, b"", fin=False))


async def ping_flood(conn: Connection) -> None:
    await flood(conn, frame(0x9, b"ping"))


async def refused_then_good(conn: Connection) -> None:
    """Every message a client must refuse, then a good offer and candidate: only those arrive."""
    for bad in (BAD_UTF8_SDP, BAD_UTF8_CANDIDATE, NUL_SDP, NUL_CANDIDATE, frame(0x1, NUL_SENDER), BAD_SENDER,
                candidate(sender="bad/sender")):
        await conn.send(bad)
    await conn.send(offer(sender=GOOD_SENDER) + candidate(sender=GOOD_SENDER), 2)


async def bad_utf8_frame(conn: Connection) -> None:
    """First connection: a text frame that is not UTF-8 (1007); then a good offer."""
    if conn.stats.connections == 1:
        await conn.send(frame(0x1, b'{"messageType":"SDP_OFFER","x":"\xff\xfe\xc0\xaf"}'))
    else:
        await conn.send(offer())


async def close_1005(conn: Connection) -> None:
    """First connection: a close frame with the reserved code 1005 (1002); then a good offer."""
    if conn.stats.connections == 1:
        await conn.send(frame(0x8, struct.pack("!H", 1005)))
    else:
        await conn.send(offer())


async def well_behaved(conn: Connection) -> None:
    await conn.send(offer())


MODES: dict[str, Callable[[Connection], Awaitable[None]]] = {
    "good": well_behaved,
    "message-flood": message_flood,
    "continuation-flood": continuation_flood,
    "ping-flood": ping_flood,
    "refused-messages": refused_then_good,
    "bad-utf8-frame": bad_utf8_frame,
    "close-1005": close_1005,
}


class HostileServer:
    """HTTPS + WSS on one loopback port, in a thread of its own."""

    def __init__(self, state_dir: Path) -> None:
        self.tls = tlsgen.generate(state_dir)
        self.port = 0
        self.stats_by_channel: dict[str, ChannelStats] = {}
        self.latest: dict[str, Connection] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- what the tests use ---------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": "AKIDHOSTILETEST00000", "AWS_SECRET_ACCESS_KEY": "hostile/secret+key=",
                "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_ENDPOINT_URL_KINESIS_VIDEO": self.endpoint, "AWS_CA_BUNDLE": str(self.tls.ca_cert)}

    @staticmethod
    def channel_arn(channel: str) -> str:
        """The channel's name is its mode, optionally with a tag after a dot ("ping-flood.3")."""
        return f"arn:aws:kinesisvideo:{REGION}:{ACCOUNT}:channel/{channel}/1700000000000"

    def stats(self, channel: str) -> ChannelStats:
        return self.stats_by_channel.setdefault(channel, ChannelStats())

    # -- the server -----------------------------------------------------------------------------
    async def _start(self) -> None:
        ctx = tlsgen.server_context(self.tls)
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=ctx)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin1").split("\r\n")
                method, target, _ = head[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in head[1:] if ":" in h)}
                if headers.get("upgrade", "").lower() == "websocket":
                    await self._websocket(target, headers, reader, writer)
                    return
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, answer = self._call(urlsplit(target).path, json.loads(body or b"{}"))
                data = json.dumps(answer).encode() if answer is not None else b""
                writer.write(f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                             f"x-amzn-RequestId: hostile-1\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
                await writer.drain()

    def _call(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        arn = body.get("ChannelARN") or body.get("channelArn") or ""
        if path == "/describeMediaStorageConfiguration":
            return 200, {"MediaStorageConfiguration": {"StreamARN": None, "Status": "ENABLED"}}
        if path == "/getSignalingChannelEndpoint":
            return 200, {"ResourceEndpointList": [
                {"Protocol": "WSS", "ResourceEndpoint": f"wss://127.0.0.1:{self.port}"},
                {"Protocol": "HTTPS", "ResourceEndpoint": self.endpoint},
                {"Protocol": "WEBRTC", "ResourceEndpoint": self.endpoint}]}
        if path == "/v1/get-ice-server-config":
            return 200, {"IceServerList": []}
        if path == "/joinStorageSession":
            channel = arn.split("/")[1] if arn.count("/") == 2 else ""
            mode = channel.split(".")[0]
            self.stats(channel).joins += 1
            conn = self.latest.get(channel)
            if mode in MODES and conn is not None and not conn.closed.is_set():
                self._spawn(MODES[mode](conn))
            return 200, None
        return 400, {"__type": "InvalidArgumentException", "message": f"hostile server: no {path}"}

    async def _websocket(self, target: str, headers: dict[str, str], reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        arn = parse_qs(urlsplit(target).query).get("X-Amz-ChannelARN", [""])[0]
        channel = arn.split("/")[1] if arn.count("/") == 2 else ""
        accept = base64.b64encode(hashlib.sha1(headers.get("sec-websocket-key", "").encode() + GUID).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        await writer.drain()
        stats = self.stats(channel)
        stats.connections += 1
        conn = Connection(reader, writer, stats)
        self.latest[channel] = conn
        await conn.read_frames()


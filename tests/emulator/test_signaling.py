# SPDX-License-Identifier: Apache-2.0
"""The emulator's signaling WebSocket, its storage-session peer and its TURN server, driven by
independent clients: URLs presigned by botocore's SigV4QueryAuth, aiohttp's WebSocket client, and
an aiortc master that answers the offer and sends real H.264 + Opus made from generated frames.

One emulator for the module; every test resets it. Tests are plain functions running their own
event loop (``asyncio.run``); blocking calls (boto3, the admin API) go through ``asyncio.to_thread``
so the client peer keeps answering ICE meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import aioice.ice
import av
import boto3
import pytest
import yarl
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.sdp import candidate_from_sdp
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

# isort: split
from kvsws_emulator.media import Bars, Tone
from kvsws_emulator.testing import Emulator, EmulatorError

# The emulator only talks to loopback addresses, and aioice leaves 127.0.0.1 out by default: this
# client gathers its host candidates on 127.0.0.1 (one test puts the stock behaviour back).
STOCK_HOST_ADDRESSES = aioice.ice.get_host_addresses
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []

CHANNEL = "demo-channel"
STORAGE = "kinesis-video-webrtc-storage"
WIDTH, HEIGHT = 320, 240


# -- fixtures -------------------------------------------------------------------------------------------

# The emulator is tests/conftest.py's `emu`: one per run, reset before each test.


@pytest.fixture(scope="module")
def storage(emulator: Emulator) -> Any:
    return boto3.client(STORAGE, config=Config(retries={"total_max_attempts": 1}), **emulator.boto3_kwargs())


@pytest.fixture(scope="module")
def arn(emulator: Emulator) -> str:
    return emulator.channel_arn(CHANNEL)


# -- the client side ----------------------------------------------------------------------------------

def presign(emu: Emulator, channel_arn: str, client_id: str | None = None, expires: int = 299,
            credentials: Credentials | None = None, region: str | None = None, service: str = "kinesisvideo") -> str:
    """The WSS URL presigned by botocore (an implementation independent of kvsws and the emulator)."""
    query = {"X-Amz-ChannelARN": channel_arn}
    if client_id is not None:
        query["X-Amz-ClientId"] = client_id
    request = AWSRequest(method="GET", url=f"{emu.wss_endpoint}/?{urllib.parse.urlencode(query)}")
    creds = credentials or Credentials(emu.access_key_id, emu.secret_access_key)
    SigV4QueryAuth(creds, service, region or emu.region, expires=expires).add_auth(request)
    return str(request.url)


def ssl_context(emu: Emulator) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=emu.ca_bundle)


def b64(obj: Any) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


def unb64(payload: str) -> Any:
    return json.loads(base64.b64decode(payload))


class Signaling:
    """A WebSocket client that keeps every frame it gets, in order."""

    def __init__(self, emu: Emulator, url: str) -> None:
        self.emu = emu
        self.url = url
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.frames: list[aiohttp.WSMessage] = []
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Signaling:
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(yarl.URL(self.url, encoded=True), ssl=ssl_context(self.emu),
                                                autoping=True)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
        if self.session is not None:
            await self.session.close()

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for msg in self.ws:
                self.frames.append(msg)
                if msg.type == aiohttp.WSMsgType.TEXT:
                    try:
                        obj = json.loads(msg.data)
                    except ValueError:
                        continue
                    if isinstance(obj, dict):
                        await self.messages.put(obj)
        finally:
            self.closed.set()

    async def send(self, obj: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(obj))

    async def next(self, message_type: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {message_type or 'message'} within {timeout}s")
            obj = await asyncio.wait_for(self.messages.get(), remaining)
            if message_type is None or obj.get("messageType") == message_type:
                return obj


AnswerHook = Callable[[str], str]


class Master:
    """A storage-session master: aiortc answering the emulator's offer with H.264 + Opus, candidates
    applied whenever they come (buffered until the offer), its own candidates trickled back."""

    def __init__(self, signaling: Signaling, ice_servers: list[RTCIceServer] | None = None,
                 relay_only: bool = False, answer_hook: AnswerHook | None = None,
                 correlation: bool = True) -> None:
        self.sig = signaling
        self.ice_servers = ice_servers or []
        self.relay_only = relay_only
        self.answer_hook = answer_hook
        self.correlation = correlation
        self.pc: RTCPeerConnection | None = None
        self.offers: list[dict[str, Any]] = []
        self.candidates_before_offer: list[dict[str, Any]] = []
        self.candidates: list[dict[str, Any]] = []
        self.other: list[dict[str, Any]] = []
        self.answered = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._counter = 0

    def start(self) -> Master:
        self._task = asyncio.create_task(self._run())
        return self

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self.pc is not None:
            await self.pc.close()

    async def _run(self) -> None:
        while True:
            msg = await self.sig.messages.get()
            kind = msg.get("messageType")
            if kind == "SDP_OFFER":
                self.offers.append(msg)
                await self._answer(unb64(msg["messagePayload"]))
            elif kind == "ICE_CANDIDATE":
                if self.pc is None or self.pc.remoteDescription is None:
                    self.candidates_before_offer.append(msg)
                else:
                    self.candidates.append(msg)
                    await self._add(unb64(msg["messagePayload"]))
            else:
                self.other.append(msg)

    async def _add(self, payload: dict[str, Any]) -> None:
        assert self.pc is not None
        candidate = candidate_from_sdp(payload["candidate"].split(":", 1)[1])
        candidate.sdpMid, candidate.sdpMLineIndex = payload.get("sdpMid"), payload.get("sdpMLineIndex")
        await self.pc.addIceCandidate(candidate)

    def correlation_id(self) -> str | None:
        self._counter += 1
        return f"{int(time.time() * 1000)}{self._counter}" if self.correlation else None

    async def _answer(self, offer: dict[str, Any]) -> None:
        if self.pc is not None:
            await self.pc.close()
        config = RTCConfiguration(iceServers=self.ice_servers,
                                  iceTransportPolicy=RTCIceTransportPolicy.RELAY if self.relay_only
                                  else RTCIceTransportPolicy.ALL)
        pc = self.pc = RTCPeerConnection(config)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type=offer["type"]))
        pc.addTrack(Bars(WIDTH, HEIGHT))
        pc.addTrack(Tone())
        await pc.setLocalDescription(await pc.createAnswer())
        sdp = pc.localDescription.sdp
        if self.answer_hook is not None:
            sdp = self.answer_hook(sdp)
        message: dict[str, Any] = {"action": "SDP_ANSWER", "messagePayload": b64({"type": "answer", "sdp": sdp})}
        corr = self.correlation_id()
        if corr:
            message["correlationId"] = corr
        await self.sig.send(message)
        self.answered.set()
        for line in sdp.splitlines():
            if line.startswith("a=candidate:"):
                candidate: dict[str, Any] = {"action": "ICE_CANDIDATE", "messagePayload": b64(
                    {"candidate": line[2:], "sdpMid": "0", "sdpMLineIndex": 0})}
                corr = self.correlation_id()
                if corr:
                    candidate["correlationId"] = corr
                await self.sig.send(candidate)
        for early in self.candidates_before_offer:
            await self._add(unb64(early["messagePayload"]))


async def join(storage: Any, channel_arn: str) -> float:
    """JoinStorageSession from a thread; returns when it was sent (time.time())."""
    sent = time.time()
    await asyncio.to_thread(storage.join_storage_session, channelArn=channel_arn)
    return sent


async def poll(fn: Callable[[], Any], predicate: Callable[[Any], bool], timeout: float = 10.0,
               interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await asyncio.to_thread(fn)
        if predicate(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {json.dumps(value, default=str)[:3000]}")
        await asyncio.sleep(interval)


def run(coro_fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coro_fn())  # type: ignore[arg-type]


# -- the full flow ------------------------------------------------------------------------------------------

def test_full_flow_media_reaches_the_storage_peer(emu: Emulator, storage: Any, arn: str) -> None:
    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as sig:
            master = Master(sig).start()
            try:
                await join(storage, arn)
                session = await poll(lambda: emu.sessions(CHANNEL)[-1] if emu.sessions(CHANNEL) else None,
                                     lambda s: s is not None and s["video"]["frames"] >= 30
                                     and max(s["audio"]["frames"], s["rtp"].get("audio", {}).get("packets", 0)) >= 30,
                                     timeout=12)
            finally:
                await master.close()
        offer = master.offers[0]
        assert "senderClientId" not in offer  # like the storage service
        sdp = unb64(offer["messagePayload"])["sdp"]
        assert "a=recvonly" in sdp and "H264/90000" in sdp and "opus/48000/2" in sdp
        assert "VP8" not in sdp and "rtx" not in sdp.lower()
        assert session["status"] == "connected" and session["connection_state"] == "connected"
        assert session["codecs"]["video"]["mime"].lower() == "video/h264"
        assert session["codecs"]["audio"]["mime"].lower() == "audio/opus"
        assert session["video"]["width"] == WIDTH and session["video"]["height"] == HEIGHT
        t = session["timings_ms"]
        assert t["offer_sent"] <= t["answer_received"] <= t["ice_connected"] <= t["first_video_frame"]
        assert session["candidates"]["sent"] >= 2 and session["candidates"]["received"] >= 1
        print(f"\njoin->offer {t['offer_sent']} ms, offer->first video frame "
              f"{t['first_video_frame'] - t['offer_sent']:.1f} ms, first audio {t['first_audio_frame']} ms")
        conns = emu.connections(CHANNEL)
        assert conns[-1]["role"] == "MASTER" and conns[-1]["received"].get("SDP_ANSWER") == 1

    run(scenario)


def latest(emu: Emulator) -> Callable[[], dict[str, Any] | None]:
    def get() -> dict[str, Any] | None:
        sessions = emu.sessions(CHANNEL)
        return sessions[-1] if sessions else None
    return get


def flowing(min_video: int = 1, min_audio: int = 1) -> Callable[[dict[str, Any] | None], bool]:
    def ok(s: dict[str, Any] | None) -> bool:
        return bool(s and s["video"]["frames"] >= min_video and s["audio"]["frames"] >= min_audio)
    return ok


def test_latest_join_wins(emu: Emulator, storage: Any, arn: str) -> None:
    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as sig:
            master = Master(sig).start()
            try:
                await join(storage, arn)
                await poll(latest(emu), flowing())
                await join(storage, arn)
                await poll(lambda: emu.sessions(CHANNEL), lambda s: len(s) == 2 and flowing()(s[1]))
            finally:
                await master.close()
        first, second = emu.sessions(CHANNEL)
        assert len(master.offers) == 2
        assert first["status"] == "superseded" and not first["active"] and first["close_reason"] == "superseded"
        assert first["video"]["frames"] >= 1  # what it got before it was replaced stays on record
        assert second["active"] and second["status"] == "connected" and second["n"] == 2
        assert unb64(master.offers[0]["messagePayload"])["sdp"] != unb64(master.offers[1]["messagePayload"])["sdp"]

    run(scenario)


def test_no_master_connected_loses_the_offer(emu: Emulator, storage: Any, arn: str) -> None:
    async def scenario() -> None:
        await join(storage, arn)
        session = await poll(latest(emu), lambda s: s is not None and s["status"] == "offer_lost")
        assert session["offer_lost"] and "no master connected" in session["errors"][0]
        assert "offer_sent" not in session["timings_ms"]

    run(scenario)


def test_no_offer_fault(emu: Emulator, storage: Any, arn: str) -> None:
    emu.fault(operation="JoinStorageSession", no_offer=True, count=1)

    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as sig:
            await join(storage, arn)  # accepted: 200
            with pytest.raises(TimeoutError):
                await sig.next(timeout=1.0)
            assert (await asyncio.to_thread(latest(emu)))["status"] == "no_offer"  # type: ignore[index]
            await join(storage, arn)  # the fault was used up: this one gets its offer
            offer = await sig.next("SDP_OFFER", timeout=5)
            assert "senderClientId" not in offer

    run(scenario)
    first, second = emu.sessions(CHANNEL)
    assert first["fault"] == {"no_offer": True} and second["status"] == "offer_sent"
    assert emu.requests("JoinStorageSession")[0]["fault"]["kind"] == "session"


def test_candidates_first_and_trickle_only(emu: Emulator, storage: Any, arn: str) -> None:
    emu.fault(operation="JoinStorageSession", candidates_first=True, trickle_only=True)

    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as sig:
            master = Master(sig).start()
            try:
                await join(storage, arn)
                session = await poll(latest(emu), flowing())
            finally:
                await master.close()
        # Every candidate came before the offer, and the offer's SDP has none: the client had to
        # buffer them and apply them after setRemoteDescription.
        assert len(master.candidates_before_offer) >= 1 and master.candidates == []
        frames = [json.loads(f.data) for f in sig.frames if f.type == aiohttp.WSMsgType.TEXT]
        kinds = [f["messageType"] for f in frames]
        assert kinds.index("SDP_OFFER") == len(master.candidates_before_offer)
        assert "a=candidate" not in unb64(master.offers[0]["messagePayload"])["sdp"]
        assert session["fault"] == {"candidates_first": True, "trickle_only": True}
        assert session["status"] == "connected"

    run(scenario)


def test_sender_client_id_and_offer_delay_faults(emu: Emulator, storage: Any, arn: str) -> None:
    emu.fault(operation="JoinStorageSession", sender_client_id="storage-x", offer_delay_ms=700)

    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as sig:
            sent = await join(storage, arn)
            offer = await sig.next("SDP_OFFER", timeout=5)
            assert time.time() - sent >= 0.7
            candidate = await sig.next("ICE_CANDIDATE", timeout=2)
        assert offer["senderClientId"] == "storage-x" and candidate["senderClientId"] == "storage-x"
        session = emu.sessions(CHANNEL)[-1]
        assert session["timings_ms"]["offer_sent"] >= 700 and session["sender_client_id"] == "storage-x"

    run(scenario)


def test_session_faults_are_validated(emu: Emulator) -> None:
    for bad in ({"operation": "GetIceServerConfig", "no_offer": True}, {"operation": "*", "candidates_first": True},
                {"operation": "JoinStorageSession", "no_offer": True, "status": 503},
                {"operation": "JoinStorageSession", "offer_delay_ms": -1},
                {"operation": "JoinStorageSession", "sender_client_id": "bad id"}):
        with pytest.raises(EmulatorError, match="HTTP 400"):
            emu.admin("POST", "faults", bad)


# -- the answer and the candidates ------------------------------------------------------------------------

def test_malformed_answers_get_a_status_response(emu: Emulator, storage: Any, arn: str) -> None:
    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as sig:
            await join(storage, arn)
            await sig.next("SDP_OFFER")
            bad_payloads = {
                "c1": "%%% not base64 %%%",
                "c2": base64.b64encode(b"not json").decode(),
                "c3": b64({"type": "offer", "sdp": "v=0"}),
                "c4": b64({"type": "answer"}),
            }
            for corr, payload in bad_payloads.items():
                await sig.send({"action": "SDP_ANSWER", "messagePayload": payload, "correlationId": corr})
                status = await sig.next("STATUS_RESPONSE")
                response = status["statusResponse"]
                assert response["correlationId"] == corr
                assert response["errorType"] == "InvalidArgumentException" and response["statusCode"] == "400"
                assert response["description"]
            # Without a correlationId the service says nothing (as documented).
            await sig.send({"action": "SDP_ANSWER", "messagePayload": "%%%"})
            with pytest.raises(TimeoutError):
                await sig.next("STATUS_RESPONSE", timeout=0.5)
            # Not a valid client message at all.
            await sig.send({"action": "NOPE", "messagePayload": "e30=", "correlationId": "c5"})
            assert (await sig.next("STATUS_RESPONSE"))["statusResponse"]["correlationId"] == "c5"
            await sig.send({"action": "ICE_CANDIDATE", "messagePayload": b64({"candidate": "garbage"}),
                            "correlationId": "c6"})
            assert (await sig.next("STATUS_RESPONSE"))["statusResponse"]["correlationId"] == "c6"

    run(scenario)
    session = emu.sessions(CHANNEL)[-1]
    assert session["status"] == "offer_sent" and session["answers_received"] == 5
    assert len(session["errors"]) == 0  # malformed messages are the connection's errors
    assert len(emu.connections(CHANNEL)[-1]["errors"]) >= 6


def vp8_only(sdp: str) -> str:
    out = []
    for line in sdp.splitlines():
        if line.startswith("a=fmtp:") and "profile-level-id" in line:
            continue
        out.append(line.replace("H264/90000", "VP8/90000"))
    return "\r\n".join(out) + "\r\n"


def test_vp8_only_answer_is_a_failed_negotiation(emu: Emulator, storage: Any, arn: str) -> None:
    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as sig:
            master = Master(sig, answer_hook=vp8_only).start()
            try:
                await join(storage, arn)
                await poll(lambda: master.other, lambda other: any(m["messageType"] == "STATUS_RESPONSE"
                                                                   for m in other), timeout=5)
                status = master.other[-1]
                session = await poll(latest(emu), lambda s: s is not None and s["status"] == "negotiation_failed")
                # The emulator is fine: the next join negotiates normally.
                master.answer_hook = None
                await join(storage, arn)
                await poll(latest(emu), lambda s: s is not None and s["n"] == 2 and flowing()(s))
            finally:
                await master.close()
        assert status["statusResponse"]["errorType"] == "InvalidArgumentException"
        assert "no H.264 video" in status["statusResponse"]["description"]
        assert session["codecs"]["audio"]["mime"].lower() == "audio/opus" and "video" not in session["codecs"]
        assert not session["active"]

    run(scenario)


def test_non_loopback_candidates_are_ignored(emu: Emulator, storage: Any, arn: str) -> None:
    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as sig:
            await join(storage, arn)
            await sig.next("SDP_OFFER")
            for line in ("candidate:1 1 udp 2130706431 192.0.2.10 5000 typ host",
                         "candidate:2 1 udp 2130706431 abcd.local 5000 typ host",
                         "candidate:3 1 tcp 2130706431 127.0.0.1 9 typ host tcptype active", ""):
                await sig.send({"action": "ICE_CANDIDATE", "messagePayload": b64(
                    {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0})})
        session = await poll(latest(emu), lambda s: s is not None and s["candidates"]["end_of_candidates"])
        ignored = session["candidates"]["ignored"]
        assert len(ignored) == 3 and "not loopback" in ignored[0] and "mDNS" in ignored[1] and "not UDP" in ignored[2]

    run(scenario)


# -- the WebSocket's front door -----------------------------------------------------------------------------

async def handshake(emu: Emulator, url: str) -> tuple[int, dict[str, str], bytes]:
    """The upgrade request as a plain GET with WebSocket headers: status, headers, body."""
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode()}
    async with aiohttp.ClientSession() as session, session.get(yarl.URL(url.replace("wss://", "https://", 1),
                                                                        encoded=True),
                                                               headers=headers, ssl=ssl_context(emu)) as resp:
        body = await resp.read() if resp.status != 101 else b""
        return resp.status, dict(resp.headers), body


def test_presigned_url_is_checked_before_the_upgrade(emu: Emulator, arn: str) -> None:
    good = presign(emu, arn)
    wrong_secret = presign(emu, arn, credentials=Credentials(emu.access_key_id, "not-the-secret"))
    unknown_key = presign(emu, arn, credentials=Credentials("AKIDNOBODY", "x"))
    wrong_service = presign(emu, arn, service="kinesis")
    tampered = good.replace("demo-channel", "demo-channe1")
    unsigned = f"{emu.wss_endpoint}/?X-Amz-ChannelARN={urllib.parse.quote(arn, safe='')}"
    too_long = presign(emu, arn, expires=604801)
    token = emu.session_credentials
    assert token is not None
    with_token = presign(emu, arn, credentials=Credentials(token["access_key_id"], token["secret_access_key"],
                                                           token["session_token"]))
    without_token = presign(emu, arn, credentials=Credentials(token["access_key_id"], token["secret_access_key"]))

    async def scenario() -> None:
        for url, code, text in (
            (wrong_secret, "InvalidSignatureException", "does not match"),
            (tampered, "InvalidSignatureException", "does not match"),
            (wrong_service, "InvalidSignatureException", "correct service"),
            (unknown_key, "UnrecognizedClientException", "security token"),
            (without_token, "UnrecognizedClientException", "security token"),
            (unsigned, "MissingAuthenticationTokenException", "Missing Authentication Token"),
            (too_long, "IncompleteSignatureException", "604800"),
        ):
            status, headers, body = await handshake(emu, url)
            assert status == 403, (url, status, body)
            assert headers["x-amzn-ErrorType"].split(":", 1)[0] == code
            assert text in json.loads(body)["message"] and headers.get("x-amzn-RequestId")
        # The client's own view: the handshake fails with the status.
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            async with Signaling(emu, wrong_secret):
                pass
        assert info.value.status == 403
        for url in (good, with_token):
            async with Signaling(emu, url) as sig:
                assert sig.ws is not None and not sig.ws.closed

    run(scenario)
    records = emu.requests("ConnectAsMaster")
    assert [r["status"] for r in records].count(101) == 2 and emu.calls("ConnectAsMaster") == len(records)
    mismatch = next(r for r in records if r["auth_error"] == "InvalidSignatureException" and r["canonical_request"])
    canonical = mismatch["canonical_request"]
    assert canonical.startswith("GET\n/\n") and "X-Amz-Signature" not in canonical


def test_expired_presigned_url(emu: Emulator, arn: str) -> None:
    url = presign(emu, arn, expires=299)

    async def scenario() -> None:
        await asyncio.to_thread(emu.clock, 600)  # ten minutes later: 299 s have long run out
        status, headers, body = await handshake(emu, url)
        assert status == 403 and headers["x-amzn-ErrorType"].startswith("InvalidSignatureException:")
        assert "Signature expired" in json.loads(body)["message"]
        await asyncio.to_thread(emu.clock, 200)  # within X-Amz-Expires (beyond the 5-minute header window)
        assert (await handshake(emu, url))[0] == 101
        await asyncio.to_thread(emu.clock, -400)  # dated in the future
        status, _, body = await handshake(emu, url)
        assert status == 403 and "not yet current" in json.loads(body)["message"]

    run(scenario)


def test_unknown_channel_and_bad_parameters(emu: Emulator, arn: str) -> None:
    missing = arn.replace("demo-channel", "no-such-channel")
    other_region = arn.replace("us-west-2", "eu-west-1")

    async def scenario() -> None:
        status, headers, body = await handshake(emu, presign(emu, missing))
        assert status == 404 and headers["x-amzn-ErrorType"].startswith("ResourceNotFoundException:")
        assert json.loads(body) == {"Message": "The requested channel is not found or not active."}
        assert (await handshake(emu, presign(emu, other_region, region="eu-west-1")))[0] == 404
        status, _, body = await handshake(emu, presign(emu, "arn:aws:kinesisvideo:nope"))
        assert status == 400 and "channelARN" in json.loads(body)["Message"]
        status, _, body = await handshake(emu, presign(emu, arn, client_id="bad id!"))
        assert status == 400 and "clientId" in json.loads(body)["Message"]
        # A viewer of a channel without storage is fine: peer-to-peer signaling needs none.
        no_storage = emu.channel_arn("no-storage-channel")
        assert (await handshake(emu, presign(emu, no_storage, client_id="viewer-1")))[0] == 101

    run(scenario)


def test_connect_faults(emu: Emulator, arn: str) -> None:
    emu.fault(operation="ConnectAsMaster", status=503)
    emu.fault(operation="ConnectAsMaster", throttle=True)
    emu.fault(operation="JoinStorageSession", status=500)  # not for the WebSocket
    emu.fault(operation="*", status=502)  # "*" faults are the HTTPS calls' only

    async def scenario() -> None:
        url = presign(emu, arn)
        assert (await handshake(emu, url))[0] == 503
        status, headers, body = await handshake(emu, url)
        assert status == 400 and headers["x-amzn-ErrorType"].startswith("ClientLimitExceededException:")
        assert "ConnectAsMaster" in json.loads(body)["Message"]
        assert (await handshake(emu, url))[0] == 101

    run(scenario)
    assert [f["operation"] for f in emu.state()["faults"]] == ["JoinStorageSession", "*"]


# -- what the service does to a connection ---------------------------------------------------------------------

def test_go_away_reconnect_and_malformed_frames_are_delivered(emu: Emulator, arn: str) -> None:
    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as sig:
            await asyncio.to_thread(emu.signal, CHANNEL, "go_away")
            assert await sig.next() == {"messageType": "GO_AWAY"}
            await asyncio.to_thread(emu.signal, CHANNEL, "reconnect_ice_server")
            assert await sig.next() == {"messageType": "RECONNECT_ICE_SERVER"}
            result = await asyncio.to_thread(emu.signal, CHANNEL, "malformed")
            await poll(lambda: len(sig.frames), lambda n: n >= 2 + len(result["frames"]), timeout=3)
            got = sig.frames[2:]
            assert [f.type for f in got] == [aiohttp.WSMsgType.TEXT] * 6 + [aiohttp.WSMsgType.BINARY]
            assert [f.data for f in got[:6]] == result["frames"][:6]
            assert any('"Endpoint request timed out"' in f.data for f in got[:6])
            assert not sig.closed.is_set()  # still connected after all that
            await asyncio.to_thread(emu.signal, CHANNEL, "send", text='{"messageType":"GO_AWAY"}')
            assert await sig.next("GO_AWAY") == {"messageType": "GO_AWAY"}

    run(scenario)


def test_close_and_drop(emu: Emulator, arn: str) -> None:
    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as sig:
            await asyncio.to_thread(emu.signal, CHANNEL, "close")
            await asyncio.wait_for(sig.closed.wait(), 3)
            assert sig.ws is not None and sig.ws.close_code == 1000
        async with Signaling(emu, presign(emu, arn)) as sig:
            await asyncio.to_thread(emu.signal, CHANNEL, "drop")
            await asyncio.wait_for(sig.closed.wait(), 3)
            assert not any(f.type == aiohttp.WSMsgType.CLOSE for f in sig.frames)  # no close frame
            assert sig.ws is not None and sig.ws.close_code in (None, 1006)
        with pytest.raises(EmulatorError, match="409"):  # nobody to act on
            await asyncio.to_thread(emu.signal, CHANNEL, "go_away")

    run(scenario)
    first, second = emu.connections(CHANNEL)
    assert first["closed_by"] == "server" and first["close_code"] == 1000
    assert second["closed_by"] == "drop" and not second["open"]


def test_pings_are_answered_idle_close_and_silence(emu: Emulator, arn: str) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(yarl.URL(presign(emu, arn), encoded=True), ssl=ssl_context(emu),
                                          autoping=False)
            await ws.ping(b"hello")
            msg = await ws.receive(timeout=2)
            assert msg.type == aiohttp.WSMsgType.PONG and msg.data == b"hello"
            await asyncio.to_thread(emu.signal, CHANNEL, "silence")
            await ws.ping(b"again")
            with pytest.raises(asyncio.TimeoutError):
                await ws.receive(timeout=0.5)
            await ws.close()
            ws = await session.ws_connect(yarl.URL(presign(emu, arn), encoded=True), ssl=ssl_context(emu),
                                          autoping=False)
            started = time.monotonic()
            await asyncio.to_thread(emu.signal, CHANNEL, "idle_close", idle_close_after_ms=400)
            msg = await ws.receive(timeout=3)
            assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1001
            assert 0.3 < time.monotonic() - started < 2
            await ws.close()

    run(scenario)
    first, second = emu.connections(CHANNEL)
    assert first["pings"] == 1 and second["closed_by"] == "idle" and second["idle_timeout_ms"] == 400


def test_rate_limits(emu: Emulator, arn: str) -> None:
    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as sig:
            for i in range(25):
                await sig.send({"action": "ICE_CANDIDATE", "correlationId": f"c{i}", "messagePayload": b64(
                    {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"})})
            limited = await sig.next("STATUS_RESPONSE")
            assert limited["statusResponse"]["errorType"] == "ClientLimitExceededException"
            assert limited["statusResponse"]["correlationId"] == "c20"

    run(scenario)


def test_viewers_relay_to_the_master_and_viewer_joins_are_recorded(emu: Emulator, storage: Any, arn: str) -> None:
    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as master, \
                Signaling(emu, presign(emu, arn, client_id="viewer-7")) as viewer:
            await viewer.send({"action": "SDP_OFFER", "messagePayload": b64({"type": "offer", "sdp": "v=0"})})
            got = await master.next("SDP_OFFER")
            assert got["senderClientId"] == "viewer-7"
            await master.send({"action": "SDP_ANSWER", "recipientClientId": "viewer-7",
                               "messagePayload": b64({"type": "answer", "sdp": "v=0"})})
            answer = await viewer.next("SDP_ANSWER")
            assert unb64(answer["messagePayload"]) == {"type": "answer", "sdp": "v=0"}
        await asyncio.to_thread(storage.join_storage_session_as_viewer, channelArn=arn, clientId="viewer-7")

    run(scenario)
    # The viewer had gone when it joined: its storage session's offer had nowhere to go.
    lost = emu.sessions(CHANNEL)[-1]
    assert lost["kind"] == "viewer" and lost["client_id"] == "viewer-7" and lost["status"] == "offer_lost"
    assert {c["role"] for c in emu.connections(CHANNEL)} == {"MASTER", "VIEWER"}


def test_a_viewer_join_sends_the_viewer_an_offer(emu: Emulator, storage: Any, arn: str) -> None:
    """JoinStorageSessionAsViewer: the storage session offers the viewer's own connection H.264
    video to receive and Opus audio both ways, with no senderClientId; the master gets nothing."""
    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as master, \
                Signaling(emu, presign(emu, arn, client_id="viewer-8")) as viewer:
            await asyncio.to_thread(storage.join_storage_session_as_viewer, channelArn=arn, clientId="viewer-8")
            offer = await viewer.next("SDP_OFFER", timeout=15)
            assert "senderClientId" not in offer
            sdp = unb64(offer["messagePayload"])["sdp"]
            video, audio = sdp.split("m=audio")
            assert "H264/90000" in video and "a=sendonly" in video and "VP8" not in video
            assert "opus/48000" in audio and "a=sendrecv" in audio
            with pytest.raises(asyncio.TimeoutError):
                await master.next("SDP_OFFER", timeout=0.5)

    run(scenario)
    session = emu.sessions(CHANNEL)[-1]
    assert session["kind"] == "viewer" and session["status"] == "offer_sent"


# -- ICE servers: the built-in TURN ----------------------------------------------------------------------------

def ice_servers(emu: Emulator, channel_arn: str, password: str | None = None) -> list[RTCIceServer]:
    signaling = boto3.client("kinesis-video-signaling", config=Config(retries={"total_max_attempts": 1}),
                             **emu.boto3_kwargs())
    servers = signaling.get_ice_server_config(ChannelARN=channel_arn, Service="TURN")["IceServerList"]
    return [RTCIceServer(urls=s["Uris"], username=s["Username"], credential=password or s["Password"])
            for s in servers]


@pytest.mark.parametrize("relay_only", [False, True], ids=["all", "relay-only"])
def test_a_client_given_the_emulators_ice_servers_connects(emu: Emulator, storage: Any, arn: str,
                                                           relay_only: bool) -> None:
    servers = ice_servers(emu, arn)
    assert servers[0].urls == emu.turn_uris

    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as sig:
            master = Master(sig, ice_servers=servers, relay_only=relay_only).start()
            try:
                sent = await join(storage, arn)
                session = await poll(latest(emu), flowing(), timeout=6)
                elapsed = time.time() - sent
            finally:
                await master.close()
        assert elapsed < 4, f"join -> media took {elapsed:.1f}s"
        remote = session["selected_candidate_pair"]["remote"]
        allocations = emu.turn_state()["builtin"]["allocations"]
        assert allocations and allocations[-1]["credential_for"] == f"v1:{arn}"
        if relay_only:
            assert remote.endswith(" relay")
            assert allocations[-1]["to_peer"]["packets"] > 10 and allocations[-1]["to_client"]["packets"] > 0
        print(f"\n{'relay-only' if relay_only else 'all'}: join -> first frame {elapsed * 1000:.0f} ms via {remote}")

    run(scenario)


def test_a_stock_client_without_loopback_candidates_connects_through_turn(
        emu: Emulator, storage: Any, arn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """aiortc as it comes gathers this machine's other addresses, which the emulator never sends
    to; the relay on 127.0.0.1 that the emulator's TURN server gives it is the way in."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", STOCK_HOST_ADDRESSES)
    servers = ice_servers(emu, arn)

    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as sig:
            master = Master(sig, ice_servers=servers).start()
            try:
                await join(storage, arn)
                session = await poll(latest(emu), flowing(), timeout=8)
            finally:
                await master.close()
        assert session["selected_candidate_pair"]["remote"].endswith(" relay")
        for ignored in session["candidates"]["ignored"]:
            assert "not loopback" in ignored

    run(scenario)


def test_turn_rejects_wrong_credentials_fast(emu: Emulator, arn: str) -> None:
    servers = ice_servers(emu, arn, password="wrong")

    async def scenario() -> None:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy.RELAY))
        pc.addTransceiver("video", direction="sendonly")
        started = time.monotonic()
        await pc.setLocalDescription(await pc.createOffer())
        assert time.monotonic() - started < 2  # an answer (401), not a time-out
        assert "a=candidate" not in pc.localDescription.sdp
        await pc.close()

    run(scenario)
    failures = emu.turn_state()["builtin"]["auth_failures"]
    assert failures and "MESSAGE-INTEGRITY" in failures[-1]["problem"]


# -- the admin side ---------------------------------------------------------------------------------------------

def test_recording_and_reset(emu: Emulator, storage: Any, arn: str) -> None:
    async def scenario() -> None:
        async with Signaling(emu, presign(emu, arn)) as sig:
            master = Master(sig).start()
            try:
                await join(storage, arn)
                await poll(latest(emu), flowing(20, 20))
            finally:
                await master.close()
            await asyncio.to_thread(emu.reset)  # stops the peer: the recording is closed
            await poll(lambda: emu.sessions(CHANNEL), lambda s: s == [])
            assert emu.connections(CHANNEL)[-1]["open"]  # open connections survive a reset

    run(scenario)
    recordings = list(Path(emu.ready["recordings"]).glob("demo-channel-*.mkv"))
    assert recordings
    with av.open(str(max(recordings, key=lambda p: p.stat().st_mtime))) as container:
        kinds = sorted(s.type for s in container.streams)
        packets = {"video": 0, "audio": 0}
        for packet in container.demux():
            if packet.size:
                packets[packet.stream.type] += 1
    assert kinds == ["audio", "video"] and packets["video"] >= 10 and packets["audio"] >= 10


def test_presign_verifier_golden_vector() -> None:
    """The DESIGN's public golden vector, through the emulator's verifier (botocore underneath)."""
    from kvsws_emulator.sigv4 import verify_presigned_url
    from kvsws_emulator.state import build_state

    state = build_state()
    state.add_credential("AKIA4F7WJQR7FMMWMNXI", "FakeSecretKey", "FakeSessionToken")
    state.clock_skew = 1575158400 + 60 - time.time()  # 2019-12-01T00:01:00Z
    query = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA4F7WJQR7FMMWMNXI%2F20191201%2Fus-west-2"
             "%2Fkinesisvideo%2Faws4_request&X-Amz-Date=20191201T000000Z&X-Amz-Expires=299"
             "&X-Amz-Security-Token=FakeSessionToken&X-Amz-SignedHeaders=host&X-Amz-TestParam=test-param-value")
    good = "fc268038be276315822b4f73eafd28ee3a5632a2a35fdb0a88db9a42b13d6c92"
    assert verify_presigned_url(state, "GET", "kvs.awsamazon.com", "/", f"{query}&X-Amz-Signature={good}").verified
    # Order and percent-encoding of the query do not matter; the signature does.
    shuffled = "&".join(reversed(query.split("&"))).replace("%2F", "%2f")
    assert verify_presigned_url(state, "GET", "kvs.awsamazon.com", "/", f"X-Amz-Signature={good}&{shuffled}").verified
    bad = verify_presigned_url(state, "GET", "kvs.awsamazon.com", "/", f"{query}&X-Amz-Signature={good[::-1]}")
    assert bad.error is not None and bad.error.code == "InvalidSignatureException"


def test_the_emulator_logged_no_errors(emu: Emulator) -> None:
    """Last: nothing above made the emulator log a traceback or an unhandled task error."""
    log = emu.log_text()
    assert "Traceback" not in log and "Task exception was never retrieved" not in log, log[-5000:]

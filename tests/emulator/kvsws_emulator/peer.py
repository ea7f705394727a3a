# SPDX-License-Identifier: Apache-2.0
"""The storage service's WebRTC peer: one ``StorageSession`` per accepted JoinStorageSession or
JoinStorageSessionAsViewer.

Imported lazily by ``signaling.SignalingHub`` (aiortc and PyAV take a moment to load). For the
master, the peer offers what the storage service takes, ``recvonly``: H.264 video (codec
preferences set to H.264 only) and Opus audio. For a viewer it offers what the service gives
viewers: H.264 video ``sendonly`` (the master's video in the service; generated bars here) and Opus
audio ``sendrecv`` (the viewer may talk back). It gathers host candidates on 127.0.0.1 only (see
``_loopback_host_addresses``), sends the offer to the master's (or the viewer's) connection with no
senderClientId (like the service), trickles every candidate of its SDP as an ICE_CANDIDATE message
as well, applies the answer and candidates, then decodes what arrives (aiortc decodes H.264 and
Opus through PyAV), counts it and, unless turned off, records it to
``STATE_DIR/recordings/<channel>-<n>.mkv``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aioice.ice
import av
import ifaddr
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import SessionDescription, candidate_from_sdp

from .media import Bars, Tone
from .signaling import b64json, decode_payload, session_key
from .state import JoinEvent, SessionFault

if TYPE_CHECKING:
    from .signaling import Connection, SignalingHub

log = logging.getLogger("kvsws_emulator.peer")

VIDEO_MIME = "video/h264"
AUDIO_MIME = "audio/opus"
MAX_ERRORS = 50
MARKS = ("offer_sent", "answer_received", "ice_connected", "connected", "first_video_frame", "first_audio_frame",
         "closed")


def _loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """The emulator serves loopback only, so its peer's host candidates are on 127.0.0.1 (aioice
    leaves loopback out by default and would gather this machine's other addresses instead)."""
    return ["127.0.0.1"] if use_ipv4 else []


aioice.ice.get_host_addresses = _loopback_host_addresses


def _local_addresses() -> set[str]:
    out: set[str] = set()
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            out.add(ip.ip if isinstance(ip.ip, str) else ip.ip[0])
    return out


class SendPolicy:
    """Where the peer's ICE agent may send: loopback only, or ("local") also this machine's own
    addresses. Enforced on every datagram (aioice's StunProtocol below), so neither a remote
    candidate nor a peer-reflexive one learnt from an incoming check can make the emulator send
    anywhere else; such sends are counted and dropped."""

    allow_local = False
    blocked = 0
    blocked_to: set[str] = set()
    _local: set[str] | None = None

    @classmethod
    def allowed(cls, host: str) -> bool:
        try:
            if ipaddress.ip_address(host.split("%")[0]).is_loopback:
                return True
        except ValueError:
            return False
        if cls.allow_local:
            if cls._local is None:
                cls._local = _local_addresses()
            return host in cls._local
        return False

    @classmethod
    def block(cls, host: str) -> None:
        cls.blocked += 1
        if len(cls.blocked_to) < 20:
            cls.blocked_to.add(host)


_send_stun = aioice.ice.StunProtocol.send_stun
_send_data = aioice.ice.StunProtocol.send_data


def _guarded_send_stun(self: aioice.ice.StunProtocol, message: Any, addr: tuple[str, int]) -> None:
    if SendPolicy.allowed(addr[0]):
        _send_stun(self, message, addr)
    else:
        SendPolicy.block(addr[0])


async def _guarded_send_data(self: aioice.ice.StunProtocol, data: bytes, addr: tuple[str, int]) -> None:
    if SendPolicy.allowed(addr[0]):
        await _send_data(self, data, addr)
    else:
        SendPolicy.block(addr[0])


aioice.ice.StunProtocol.send_stun = _guarded_send_stun  # type: ignore[method-assign]
aioice.ice.StunProtocol.send_data = _guarded_send_data  # type: ignore[method-assign]


def sdp_candidates(sdp: str) -> list[tuple[str, int, str]]:
    """(sdpMid, sdpMLineIndex, "candidate:...") for every a=candidate line of an SDP."""
    sections: list[tuple[list[str], list[str]]] = []  # ([mid], [candidates]) per m-section
    for line in sdp.splitlines():
        if line.startswith("m="):
            sections.append(([str(len(sections))], []))
        elif sections and line.startswith("a=mid:"):
            sections[-1][0][0] = line[len("a=mid:"):].strip()
        elif sections and line.startswith("a=candidate:"):
            sections[-1][1].append(line[2:].strip())
    return [(mid[0], index, c) for index, (mid, cands) in enumerate(sections) for c in cands]


def strip_candidates(sdp: str) -> str:
    lines = [line for line in sdp.splitlines()
             if not line.startswith("a=candidate:") and not line.startswith("a=end-of-candidates")]
    return "\r\n".join(lines) + "\r\n"


def _codec_json(codec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"mime": codec.mimeType, "clock_rate": codec.clockRate, "payload_type": codec.payloadType}
    if getattr(codec, "channels", None):
        out["channels"] = codec.channels
    params = getattr(codec, "parameters", None)
    if params:
        out["parameters"] = {str(k): v for k, v in params.items()}
    return out


VIEWER_VIDEO_SIZE = (320, 240)  # what a viewer is sent: small, cheap to encode


def _sends(media: Any) -> bool:
    return media.port != 0 and (media.direction or "sendrecv") in ("sendrecv", "sendonly")


def check_viewer_answer(sdp: str) -> tuple[dict[str, Any], str | None]:
    """A viewer's answer, by the service's documented rules: viewers send no video, and audio only
    as Opus; the video they receive is H.264. Raises ValueError if it does not parse."""
    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises whatever it trips on
        raise ValueError(f"the answer's SDP does not parse: {exc!r}") from None
    codecs: dict[str, Any] = {}
    problems = []
    for media in description.media:
        wanted = VIDEO_MIME if media.kind == "video" else AUDIO_MIME if media.kind == "audio" else None
        if wanted is None or media.port == 0:
            continue
        match = next((c for c in media.rtp.codecs if c.mimeType.lower() == wanted), None)
        if match is not None:
            codecs[media.kind] = _codec_json(match)
        if media.kind == "video" and _sends(media):
            problems.append("the viewer sends video (viewers may send Opus audio only)")
        elif media.kind == "video" and match is None:
            problems.append("the viewer's video is not H.264")
        elif media.kind == "audio" and _sends(media) and match is None:
            problems.append("the viewer sends audio that is not Opus")
    if problems:
        return codecs, "The storage session cannot accept the viewer's answer: " + "; ".join(problems) + "."
    return codecs, None


def check_answer(sdp: str) -> tuple[dict[str, Any], str | None]:
    """Parse an answer; returns the first codec of each kind and, if the storage service could not
    take it, why (no H.264 video or no Opus audio). Raises ValueError if it does not parse."""
    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises whatever it trips on
        raise ValueError(f"the answer's SDP does not parse: {exc!r}") from None
    codecs: dict[str, Any] = {}
    offered: dict[str, list[str]] = {}
    for media in description.media:
        names = [c.mimeType for c in media.rtp.codecs if c.mimeType.lower().split("/")[-1] not in ("rtx", "red",
                                                                                              "ulpfec")]
        offered[media.kind] = names
        wanted = VIDEO_MIME if media.kind == "video" else AUDIO_MIME if media.kind == "audio" else None
        if wanted is None or media.port == 0:
            continue
        for codec in media.rtp.codecs:
            if codec.mimeType.lower() == wanted:
                codecs[media.kind] = _codec_json(codec)
                break
    problems = []
    if "video" not in codecs:
        problems.append(f"no H.264 video (answer's video codecs: {offered.get('video') or 'none'})")
    if "audio" not in codecs:
        problems.append(f"no Opus audio (answer's audio codecs: {offered.get('audio') or 'none'})")
    if problems:
        return codecs, "The storage session cannot accept the answer's codecs: " + "; ".join(problems) + "."
    return codecs, None


class Recorder:
    """Writes decoded frames to a Matroska file (H.264 via libx264 ultrafast, Opus via libopus) on
    one worker thread, so encoding never blocks the event loop. The streams are laid out when the
    first video frame gives the size; audio that comes first waits for it (up to AUDIO_WAIT s)."""

    AUDIO_WAIT = 3.0
    MAX_PENDING = 120

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kvsws-recorder")
        self._container: Any = None
        self._video: Any = None
        self._audio: Any = None
        self._t0: float | None = None
        self._first_audio_at: float | None = None
        self._held_audio: list[av.AudioFrame] = []
        self._last_video_pts = -1
        self._audio_pts = 0
        self.pending = 0
        self.dropped = 0
        self.video_frames = 0
        self.audio_frames = 0
        self.error: str | None = None
        self.closed = False

    def write(self, kind: str, frame: av.VideoFrame | av.AudioFrame, now: float) -> None:
        if self.closed or self.error is not None:
            return
        if self.pending >= self.MAX_PENDING:
            self.dropped += 1
            return
        self.pending += 1
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._write, kind, frame, now)
        future.add_done_callback(self._done)

    def _done(self, future: asyncio.Future[None]) -> None:
        self.pending -= 1
        if not future.cancelled() and future.exception() is not None and self.error is None:
            self.error = repr(future.exception())
            log.warning("recording %s failed: %s", self.path, self.error)

    # -- on the worker thread ----------------------------------------------------------------------
    def _open(self, first_video: av.VideoFrame | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(self.path), mode="w", format="matroska")
        if first_video is not None:
            video = container.add_stream("libx264", rate=30, options={"preset": "ultrafast", "tune": "zerolatency"})
            video.width, video.height = first_video.width, first_video.height
            video.pix_fmt = "yuv420p"
            video.codec_context.time_base = Fraction(1, 1000)
            self._video = video
        audio = container.add_stream("libopus", rate=48000)
        audio.codec_context.layout = "stereo"
        audio.codec_context.format = "s16"
        self._audio = audio
        self._container = container
        held, self._held_audio = self._held_audio, []
        for frame in held:
            self._write_audio(frame)

    def _write(self, kind: str, frame: Any, now: float) -> None:
        if self._t0 is None:
            self._t0 = now
        if kind == "video":
            if self._container is None:
                self._open(frame)
            if self._video is None:
                return  # the file was laid out audio-only
            pts = max(int((now - self._t0) * 1000), self._last_video_pts + 1)
            self._last_video_pts = pts
            if frame.width != self._video.width or frame.height != self._video.height or frame.format.name != "yuv420p":
                frame = frame.reformat(width=self._video.width, height=self._video.height, format="yuv420p")
            frame.pts = pts
            frame.time_base = Fraction(1, 1000)
            for packet in self._video.encode(frame):
                self._container.mux(packet)
            self.video_frames += 1
            return
        if self._container is None:
            if self._first_audio_at is None:
                self._first_audio_at = now
            if now - self._first_audio_at < self.AUDIO_WAIT:
                self._held_audio.append(frame)
                return
            self._open(None)
        self._write_audio(frame)

    def _write_audio(self, frame: av.AudioFrame) -> None:
        frame.pts = self._audio_pts
        frame.time_base = Fraction(1, frame.sample_rate)
        self._audio_pts += frame.samples
        for packet in self._audio.encode(frame):
            self._container.mux(packet)
        self.audio_frames += 1

    def _close(self) -> None:
        if self._container is None:
            return
        for stream in (self._video, self._audio):
            if stream is not None:
                for packet in stream.encode(None):
                    self._container.mux(packet)
        self._container.close()
        self._container = None

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(self._executor, self._close), timeout=10)
        except Exception as exc:  # a broken recording must not break the session's teardown
            self.error = self.error or repr(exc)
        self._executor.shutdown(wait=False)

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "exists": self.path.exists(), "video_frames": self.video_frames,
                "audio_frames": self.audio_frames, "dropped": self.dropped, "error": self.error}


class StorageSession:
    """What the storage service does for one accepted JoinStorageSession."""

    def __init__(self, hub: SignalingHub, event: JoinEvent, n: int, recording: Path | None) -> None:
        self.hub = hub
        self.event = event
        self.n = n
        self.channel = event.channel
        self.client_id = event.client_id  # None: the master's session; else this viewer's
        self.key = session_key(event.channel.arn, event.client_id)
        self.outgoing: dict[str, Bars | Tone] = {}  # what a viewer is sent
        self.fault = event.fault or SessionFault()
        self.status = "joined"
        self.close_reason: str | None = None
        self.closed = False
        self.lost = False
        self.marks: dict[str, float] = {}
        self.errors: list[str] = []
        self.pc: RTCPeerConnection | None = None
        self.conn: Connection | None = None
        self.offer_sdp: str | None = None
        self.answer_sdp: str | None = None
        self.bundle = False
        self.answers_received = 0
        self.candidates_sent = 0
        self.candidates_received = 0
        self.candidates_ignored: list[str] = []
        self.end_of_candidates = False
        self.pending_candidates: list[RTCIceCandidate] = []
        self.codecs: dict[str, Any] = {}
        self.video: dict[str, Any] = {"frames": 0, "width": None, "height": None, "sizes": {}}
        self.audio: dict[str, Any] = {"frames": 0, "samples": 0, "sample_rate": None, "channels": None}
        self.rtp: dict[str, dict[str, int]] = {}
        self.selected_pair: dict[str, str] | None = None
        self.recorder = Recorder(recording) if recording is not None else None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    # -- bookkeeping ---------------------------------------------------------------------------------------
    def mark(self, name: str) -> None:
        self.marks.setdefault(name, time.time())

    def error(self, text: str) -> None:
        log.info("session %s-%d: %s", self.channel.name, self.n, text)
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(text)

    def offer_lost(self, why: str) -> None:
        self.lost = True
        self.status = "offer_lost"
        self.error(f"offer lost: {why}")

    def _detach(self) -> None:
        if self.hub.active.get(self.key) is self:
            self.hub.active.pop(self.key, None)

    def connection(self) -> Connection | None:
        """The WebSocket the offer goes to: the master's, or this viewer's."""
        if self.client_id is None:
            return self.hub.master_for(self.channel.arn)
        return self.hub.viewer_for(self.channel.arn, self.client_id)

    def _add_transceivers(self, pc: RTCPeerConnection) -> None:
        """What the service offers: to the master, H.264 + Opus to receive; to a viewer, H.264 to
        send and Opus both ways. Codec preferences keep the offer to those codecs only."""
        for kind, mime in (("video", VIDEO_MIME), ("audio", AUDIO_MIME)):
            if self.client_id is None:
                capabilities = RTCRtpReceiver.getCapabilities(kind)
                transceiver = pc.addTransceiver(kind, direction="recvonly")
            else:
                capabilities = RTCRtpSender.getCapabilities(kind)
                track = Bars(*VIEWER_VIDEO_SIZE) if kind == "video" else Tone(330.0)
                self.outgoing[kind] = track
                transceiver = pc.addTransceiver(track, direction="sendonly" if kind == "video" else "sendrecv")
            assert capabilities is not None
            transceiver.setCodecPreferences([c for c in capabilities.codecs if c.mimeType.lower() == mime])

    # -- the offer ---------------------------------------------------------------------------------------------
    async def start(self) -> None:
        fault = self.fault
        if fault.no_offer:
            self.status = "no_offer"
            self.error("no_offer fault: the join was accepted and no offer is sent")
            return
        if fault.offer_delay_ms:
            await asyncio.sleep(fault.offer_delay_ms / 1000)
        if self.closed:
            return
        try:
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            self.pc = pc
            self._watch(pc)
            self._add_transceivers(pc)
            await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers here
        except Exception as exc:
            self.status = "failed"
            self.error(f"could not make the offer: {exc!r}")
            self._detach()
            return
        if self.closed:
            return
        sdp = pc.localDescription.sdp
        candidates = sdp_candidates(sdp)
        if fault.trickle_only:
            sdp = strip_candidates(sdp)
        self.offer_sdp = sdp
        conn = self.connection()
        if conn is None:
            self.offer_lost(f"the {'master' if self.client_id is None else 'viewer'} disconnected before the offer "
                            "was ready")
            self._detach()
            await self._close_pc()
            return
        self.conn = conn
        base: dict[str, Any] = {}
        if fault.sender_client_id is not None:
            base["senderClientId"] = fault.sender_client_id
        offer = {**base, "messageType": "SDP_OFFER", "messagePayload": b64json({"type": "offer", "sdp": sdp})}
        trickle = [
            {**base, "messageType": "ICE_CANDIDATE",
             "messagePayload": b64json({"candidate": line, "sdpMid": mid, "sdpMLineIndex": index})}
            for mid, index, line in candidates
        ]
        for message in (trickle + [offer]) if fault.candidates_first else ([offer] + trickle):
            if not await conn.send_json(message):
                self.offer_lost("the connection closed while the offer was being sent")
                self._detach()
                await self._close_pc()
                return
            if message is offer:
                self.mark("offer_sent")
                if self.status == "joined":
                    self.status = "offer_sent"
            else:
                self.candidates_sent += 1
        log.info("session %s-%d: offer sent to conn=%d (%d candidates%s)", self.channel.name, self.n, conn.id,
                 len(trickle), ", first" if fault.candidates_first else "")

    def _watch(self, pc: RTCPeerConnection) -> None:
        @pc.on("iceconnectionstatechange")
        def _ice_state() -> None:
            if pc.iceConnectionState == "completed":
                self.mark("ice_connected")
                self._note_selected_pair()
            elif pc.iceConnectionState == "failed":
                self.error("ICE failed")

        @pc.on("connectionstatechange")
        def _state() -> None:
            state = pc.connectionState
            if state == "connected":
                self.mark("connected")
                if self.status in ("offer_sent", "answered"):
                    self.status = "connected"
            elif state == "failed" and not self.closed:
                self.status = "failed"
                self.error("the peer connection failed")

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            task = asyncio.get_running_loop().create_task(self._consume(track))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _note_selected_pair(self) -> None:
        with contextlib.suppress(Exception):  # aioice internals: best effort
            assert self.pc is not None
            transport = self.pc.getTransceivers()[0].receiver.transport.transport
            pair = next(iter(transport._connection._nominated.values()))
            local, remote = pair.local_candidate, pair.remote_candidate
            self.selected_pair = {"local": f"{local.host}:{local.port} {local.type}",
                                  "remote": f"{remote.host}:{remote.port} {remote.type}"}

    # -- what the master sends ------------------------------------------------------------------------------
    async def on_answer(self, conn: Connection, payload: str, correlation_id: Any) -> None:
        async with self._lock:
            await self._on_answer(conn, payload, correlation_id)

    async def _on_answer(self, conn: Connection, payload: str, correlation_id: Any) -> None:
        self.answers_received += 1
        pc = self.pc
        if pc is None or self.closed or "offer_sent" not in self.marks:
            self.error("an answer arrived with no offer outstanding: ignored")
            return
        if self.answer_sdp is not None:
            self.error("a second answer arrived: ignored")
            return
        try:
            obj = decode_payload(payload)
            if obj.get("type") != "answer":
                raise ValueError(f"the payload's type must be 'answer', not {obj.get('type')!r}")
            sdp = obj.get("sdp")
            if not isinstance(sdp, str) or not sdp.strip():
                raise ValueError("the payload has no sdp")
            codecs, problem = check_answer(sdp) if self.client_id is None else check_viewer_answer(sdp)
        except ValueError as exc:
            await conn.status_response(correlation_id, "InvalidArgumentException", "400", f"Malformed answer: {exc}")
            return
        self.mark("answer_received")
        self.answer_sdp = sdp
        self.codecs = codecs
        if problem is not None:
            await self._negotiation_failed(conn, correlation_id, problem)
            return
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=self._filter_sdp_candidates(sdp), type="answer"))
        except Exception as exc:
            await self._negotiation_failed(conn, correlation_id, f"The answer could not be applied: {exc}")
            return
        self.bundle = "a=group:BUNDLE" in sdp
        if self.status == "offer_sent":
            self.status = "answered"
        pending, self.pending_candidates = self.pending_candidates, []
        for candidate in pending:
            await self._add_candidate(candidate)

    async def _negotiation_failed(self, conn: Connection, correlation_id: Any, problem: str) -> None:
        self.status = "negotiation_failed"
        self.error(problem)
        await conn.status_response(correlation_id, "InvalidArgumentException", "400", problem)
        self._detach()
        await self._close_pc()

    async def on_candidate(self, conn: Connection, payload: str, correlation_id: Any) -> None:
        async with self._lock:
            await self._on_candidate(conn, payload, correlation_id)

    async def _on_candidate(self, conn: Connection, payload: str, correlation_id: Any) -> None:
        try:
            obj = decode_payload(payload)
        except ValueError as exc:
            await conn.status_response(correlation_id, "InvalidArgumentException", "400", f"Malformed candidate: {exc}")
            return
        line = obj.get("candidate")
        if line is None or line == "" or (isinstance(line, str) and "end-of-candidates" in line):
            self.end_of_candidates = True
            return
        try:
            if not isinstance(line, str):
                raise ValueError("candidate must be a string")
            line = line.strip()
            if line.startswith("a="):
                line = line[2:]
            if not line.startswith("candidate:"):
                raise ValueError("candidate must start with 'candidate:'")
            candidate = candidate_from_sdp(line[len("candidate:"):])
        except (ValueError, AssertionError, IndexError) as exc:
            await conn.status_response(correlation_id, "InvalidArgumentException", "400",
                                       f"Malformed candidate: {exc or 'cannot parse it'}")
            return
        mid, index = obj.get("sdpMid"), obj.get("sdpMLineIndex")
        candidate.sdpMid = mid if isinstance(mid, str) else None
        candidate.sdpMLineIndex = index if isinstance(index, int) and not isinstance(index, bool) else None
        self.candidates_received += 1
        why = self._unacceptable(candidate)
        if why is not None:
            self._ignore(candidate, why)
            return
        if self.pc is None or self.closed:
            return
        if self.answer_sdp is None:
            self.pending_candidates.append(candidate)  # they may come before the answer is applied
            return
        await self._add_candidate(candidate)

    def _unacceptable(self, candidate: RTCIceCandidate) -> str | None:
        if candidate.protocol.lower() != "udp":
            return "not UDP"
        try:
            ipaddress.ip_address(candidate.ip)
        except ValueError:
            return "not an IP address (mDNS?)"
        if SendPolicy.allowed(candidate.ip):
            return None
        return "not loopback: the emulator only sends to loopback addresses"

    def _ignore(self, candidate: RTCIceCandidate, why: str) -> None:
        entry = f"{candidate.ip}:{candidate.port} {candidate.type} ({why})"
        if entry not in self.candidates_ignored and len(self.candidates_ignored) < MAX_ERRORS:
            self.candidates_ignored.append(entry)

    def _filter_sdp_candidates(self, sdp: str) -> str:
        """The answer's own a=candidate lines go through the same filter as trickled ones."""
        kept = []
        for line in sdp.splitlines():
            if line.startswith("a=candidate:"):
                try:
                    candidate = candidate_from_sdp(line[len("a=candidate:"):])
                except (ValueError, AssertionError, IndexError):
                    continue
                self.candidates_received += 1
                why = self._unacceptable(candidate)
                if why is not None:
                    self._ignore(candidate, f"{why}; in the answer")
                    continue
            kept.append(line)
        return "\r\n".join(kept) + "\r\n"

    async def _add_candidate(self, candidate: RTCIceCandidate) -> None:
        assert self.pc is not None
        if self.bundle:
            # Everything rides the first m-section's transport; aiortc drops candidates addressed to a
            # bundled m-section, so address them all to the first one.
            transceivers = self.pc.getTransceivers()
            candidate.sdpMid, candidate.sdpMLineIndex = (transceivers[0].mid if transceivers else "0"), 0
        elif candidate.sdpMid is None and candidate.sdpMLineIndex is None:
            candidate.sdpMLineIndex = 0
        try:
            await self.pc.addIceCandidate(candidate)
        except Exception as exc:
            self.error(f"addIceCandidate failed: {exc!r}")

    # -- the media ---------------------------------------------------------------------------------------
    async def _consume(self, track: MediaStreamTrack) -> None:
        kind = track.kind
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            except Exception as exc:
                self.error(f"{kind} track: {exc!r}")
                return
            now = time.time()
            if kind == "video" and isinstance(frame, av.VideoFrame):
                self.mark("first_video_frame")
                self.video["frames"] += 1
                self.video["width"], self.video["height"] = frame.width, frame.height
                size = f"{frame.width}x{frame.height}"
                self.video["sizes"][size] = self.video["sizes"].get(size, 0) + 1
            elif kind == "audio" and isinstance(frame, av.AudioFrame):
                self.mark("first_audio_frame")
                self.audio["frames"] += 1
                self.audio["samples"] += frame.samples
                self.audio["sample_rate"] = frame.sample_rate
                self.audio["channels"] = len(frame.layout.channels)
            else:
                continue
            if self.recorder is not None:
                self.recorder.write(kind, frame, now)
            if self.status == "answered":
                self.status = "connected"

    async def refresh_stats(self) -> None:
        pc = self.pc
        if pc is None or self.closed:
            return
        try:
            report = await pc.getStats()
        except Exception:
            return
        for stats in report.values():
            if getattr(stats, "type", None) == "inbound-rtp":
                self.rtp[stats.kind] = {"packets": stats.packetsReceived, "lost": stats.packetsLost,
                                        "jitter": stats.jitter}

    # -- the end -------------------------------------------------------------------------------------------------
    async def _close_pc(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self.pc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.pc.close(), timeout=5)
        if self.recorder is not None:
            await self.recorder.close()

    async def close(self, reason: str) -> None:
        if self.closed:
            return
        await self.refresh_stats()
        self.closed = True
        self.close_reason = reason
        self.mark("closed")
        if self.status not in ("offer_lost", "no_offer", "negotiation_failed", "failed"):
            self.status = "superseded" if reason == "superseded" else "closed"
        self._detach()
        await self._close_pc()
        log.info("session %s-%d closed (%s): video=%d audio=%d", self.channel.name, self.n, reason,
                 self.video["frames"], self.audio["frames"])

    async def to_json(self) -> dict[str, Any]:
        await self.refresh_stats()
        pc = self.pc
        t0 = self.event.time
        return {
            "n": self.n,
            "kind": "master" if self.client_id is None else "viewer",
            "client_id": self.client_id,
            "channel": self.channel.name,
            "channel_arn": self.channel.arn,
            "request_id": self.event.request_id,
            "joined_at": t0,
            "status": self.status,
            "close_reason": self.close_reason,
            "active": self.hub.active.get(self.key) is self,
            "sent": {"video_frames": getattr(self.outgoing.get("video"), "frames", 0),
                     "audio_frames": getattr(self.outgoing.get("audio"), "sent", 0) // Tone.SAMPLES},
            "offer_lost": self.lost,
            "fault": self.fault.to_json(),
            "connection": self.conn.id if self.conn is not None else None,
            "sender_client_id": self.fault.sender_client_id,
            "timings_ms": {k: round((self.marks[k] - t0) * 1000, 1) for k in MARKS if k in self.marks},
            "codecs": self.codecs,
            "connection_state": pc.connectionState if pc is not None else None,
            "ice_connection_state": pc.iceConnectionState if pc is not None else None,
            "selected_candidate_pair": self.selected_pair,
            "video": {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.video.items()},
            "audio": dict(self.audio),
            "rtp": {k: dict(v) for k, v in self.rtp.items()},
            "candidates": {"sent": self.candidates_sent, "received": self.candidates_received,
                           "ignored": list(self.candidates_ignored), "end_of_candidates": self.end_of_candidates},
            "answers_received": self.answers_received,
            "offer_sdp": self.offer_sdp,
            "answer_sdp": self.answer_sdp,
            "errors": list(self.errors),
            "recording": self.recorder.to_json() if self.recorder is not None else None,
        }

"""The application's side of a storage session in the Python tests: an aiortc peer that answers the
storage service's offer with generated H.264 video and Opus audio, given kvsws's events. This is
what a user's own WebRTC stack does; kvsws hands it the offer and carries its answer back."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

import kvsws
from kvsws_emulator.media import Bars, Tone


class AppPeer:
    """One RTCPeerConnection per offer; the latest offer replaces the previous peer."""

    def __init__(self, video_codec: str = "H264", send_audio: bool = True) -> None:
        self.ice_servers: list[RTCIceServer] = []
        self.pc: RTCPeerConnection | None = None
        self.video_codec = video_codec
        self.send_audio = send_audio

    def set_ice_servers(self, servers: list[dict[str, Any]]) -> None:
        self.ice_servers = [RTCIceServer(**server) for server in servers]  # RTCIceServer-shaped as they come

    async def answer(self, offer_sdp: str) -> str:
        await self.close()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self.ice_servers))
        self.pc = pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video":
                transceiver.sender.replaceTrack(Bars(320, 240))
                transceiver.direction = "sendonly"
            elif transceiver.kind == "audio" and self.send_audio:
                transceiver.sender.replaceTrack(Tone())
                transceiver.direction = "sendonly"
        await pc.setLocalDescription(await pc.createAnswer())
        assert pc.localDescription is not None
        sdp = pc.localDescription.sdp
        if self.video_codec != "H264":  # a deliberately wrong answer, for the negative tests
            sdp = sdp.replace("H264/90000", f"{self.video_codec}/90000")
        if not self.send_audio:
            sdp = sdp.replace("opus/48000", "PCMU/8000")
        return sdp

    async def add_candidate(self, candidate: str, sdp_mid: str | None, index: int | None) -> None:
        if self.pc is None or not candidate:
            return
        ice = candidate_from_sdp(candidate.split(":", 1)[1] if candidate.startswith("candidate:") else candidate)
        ice.sdpMid, ice.sdpMLineIndex = sdp_mid, index
        await self.pc.addIceCandidate(ice)

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
            self.pc = None


@dataclass
class Recorder:
    """What the application saw: every event with its time, the offers, failures to answer."""

    events: list[kvsws.Event] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    offers: list[float] = field(default_factory=list)
    answer_errors: list[Exception] = field(default_factory=list)

    def add(self, event: kvsws.Event) -> None:
        self.events.append(event)
        self.times.append(time.monotonic())

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]

    def states(self) -> list[str]:
        return [e.state for e in self.events if isinstance(e, kvsws.StateChanged)]


async def handle(session: kvsws.StorageSession, peer: AppPeer, rec: Recorder, event: kvsws.Event) -> None:
    """The application's reaction to one event."""
    rec.add(event)
    if isinstance(event, kvsws.IceServers):
        peer.set_ice_servers(event.servers)
    elif isinstance(event, kvsws.Offer):
        rec.offers.append(time.monotonic())
        sdp = await peer.answer(event.sdp)
        try:
            session.send_answer(sdp)
        except kvsws.exceptions.KvswsError as exc:
            rec.answer_errors.append(exc)
    elif isinstance(event, kvsws.IceCandidate):
        await peer.add_candidate(event.candidate, event.sdp_mid, event.sdp_mline_index)


async def serve(session: kvsws.StorageSession, peer: AppPeer, rec: Recorder) -> None:
    """The asyncio application: ``async for event in session``, until Closed."""
    async for event in session:
        await handle(session, peer, rec, event)


async def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)

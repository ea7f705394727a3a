# SPDX-License-Identifier: Apache-2.0
"""The application's side of a storage session in the end-to-end tests: an aiortc peer that answers
the storage service's offer with generated H.264 video and Opus audio. kvsws (the C driver, the
Python package) hands it the offer and carries its answer back; this is what a user's own WebRTC
stack does. The tests of every binding use this one peer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiortc import MediaStreamTrack, RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

from .media import Bars, Tone


class AppPeer:
    """One RTCPeerConnection per offer; the latest offer replaces the previous peer.

    ``video_codec`` other than "H264" and ``send_audio=False`` make deliberately wrong answers (the
    codec renamed, Opus replaced by PCMU), for the tests that expect kvsws to refuse them."""

    def __init__(self, video_codec: str = "H264", send_audio: bool = True,
                 video_size: tuple[int, int] = (640, 480)) -> None:
        self.ice_servers: list[RTCIceServer] = []
        self.pc: RTCPeerConnection | None = None
        self.video_codec = video_codec
        self.send_audio = send_audio
        self.video_size = video_size

    def set_ice_servers(self, servers: list[dict[str, Any]]) -> None:
        """``servers`` as kvsws gives them: RTCIceServer-shaped dicts (urls, username, credential)."""
        self.ice_servers = [RTCIceServer(urls=s["urls"], username=s.get("username"),
                                         credential=s.get("credential")) for s in servers]

    async def answer(self, offer_sdp: str) -> str:
        await self.close()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self.ice_servers))
        self.pc = pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video":
                transceiver.sender.replaceTrack(Bars(*self.video_size))
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
        """A remote candidate ("candidate:..." or without the prefix); ignored before the first
        offer and for the empty end-of-candidates one."""
        if self.pc is None or not candidate:
            return
        ice = candidate_from_sdp(candidate.removeprefix("candidate:"))
        ice.sdpMid, ice.sdpMLineIndex = sdp_mid, index
        await self.pc.addIceCandidate(ice)

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
            self.pc = None


class ViewerPeer(AppPeer):
    """A viewer's application: receives the storage session's H.264 video and Opus audio (counting
    the decoded frames) and, with ``talk=True``, talks back with Opus audio; sends no video."""

    def __init__(self, talk: bool = True) -> None:
        super().__init__()
        self.talk = talk
        self.received = {"video": 0, "audio": 0}
        self._readers: set[asyncio.Task[None]] = set()

    async def answer(self, offer_sdp: str) -> str:
        await self.close()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self.ice_servers))
        self.pc = pc

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            task = asyncio.get_running_loop().create_task(self._count(track))
            self._readers.add(task)
            task.add_done_callback(self._readers.discard)

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video":
                transceiver.direction = "recvonly"
            elif transceiver.kind == "audio":
                if self.talk:
                    transceiver.sender.replaceTrack(Tone(550.0))
                transceiver.direction = "sendrecv" if self.talk else "recvonly"
        await pc.setLocalDescription(await pc.createAnswer())
        assert pc.localDescription is not None
        return pc.localDescription.sdp

    async def _count(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            self.received[track.kind] += 1

    async def close(self) -> None:
        for task in list(self._readers):
            task.cancel()
        await super().close()


async def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    """Poll ``predicate`` on the running loop until it is true; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)

"""The application's side of a storage session in tests: an aiortc peer that answers the storage
service's offer with generated H.264 video and Opus audio. kvsws hands it the offer and carries
its answer back; this is what a user's own WebRTC stack does."""

from __future__ import annotations

from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from kvsws_emulator.media import Bars, Tone


class AppPeer:
    """One RTCPeerConnection per offer; the latest offer replaces the previous peer."""

    def __init__(self, video_codec: str = "H264", send_audio: bool = True) -> None:
        self.ice_servers: list[RTCIceServer] = []
        self.pc: RTCPeerConnection | None = None
        self.video_codec = video_codec
        self.send_audio = send_audio

    def set_ice_servers(self, servers: list[dict[str, Any]]) -> None:
        self.ice_servers = [RTCIceServer(urls=s["urls"], username=s.get("username"),
                                         credential=s.get("credential")) for s in servers]

    async def answer(self, offer_sdp: str) -> str:
        await self.close()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self.ice_servers))
        self.pc = pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video":
                transceiver.sender.replaceTrack(Bars())
                transceiver.direction = "sendonly"
            elif transceiver.kind == "audio" and self.send_audio:
                transceiver.sender.replaceTrack(Tone())
                transceiver.direction = "sendonly"
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
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
        line = candidate[len("candidate:"):] if candidate.startswith("candidate:") else candidate
        ice = candidate_from_sdp(line)
        ice.sdpMid = sdp_mid
        ice.sdpMLineIndex = index
        await self.pc.addIceCandidate(ice)

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
            self.pc = None

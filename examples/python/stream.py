#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Streams H.264 video and Opus audio into a Kinesis Video Streams WebRTC storage session, with
kvsws for the session (signaling, joins, reconnects) and aiortc for the WebRTC::

    python examples/python/stream.py --channel-name my-channel --region us-west-2 --duration 30

The media is generated (a moving test pattern and a 440 Hz tone) unless ``--file`` names a media
file for aiortc's MediaPlayer, played in a loop (any container/codec PyAV reads; aiortc encodes it
to H.264/Opus; the tone stands in for a file without audio).
Credentials, region and endpoints are found as boto3 finds them, so the same command runs against
the local emulator once ``AWS_ENDPOINT_URL_KINESIS_VIDEO`` and ``AWS_CA_BUNDLE`` point at it.

Every offer gets a new RTCPeerConnection (a GO_AWAY or a rejoin brings a new offer), with the ICE
servers kvsws delivered; remote candidates are applied as they come. It prints each event, then how
long it took from the start to the offer and from the offer to a connected peer.
Exit status: 0 when media flowed, 1 when no peer connected, 2 when the session failed.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import logging
import math
import signal
import struct
import sys
import time
from typing import Any

import av
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.contrib.media import MediaPlayer
from aiortc.sdp import candidate_from_sdp

import kvsws

# --- generated media (PyAV only, no numpy), paced in real time like a camera and a microphone ---

# SMPTE-ish bars as (Y, U, V): white, yellow, cyan, green, magenta, red, blue.
BARS = ((235, 128, 128), (210, 16, 146), (170, 166, 16), (145, 54, 34), (106, 202, 222), (81, 90, 240), (41, 240, 110))


class TestPattern(VideoStreamTrack):
    """Colour bars with a black square bouncing across them, YUV 4:2:0, 30 fps."""

    def __init__(self, width: int = 640, height: int = 480) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.frames = 0
        bar = [min(len(BARS) - 1, x * len(BARS) // width) for x in range(width)]
        self.rows = [bytes(BARS[bar[x]][0] for x in range(width)),
                     bytes(BARS[bar[2 * x]][1] for x in range(width // 2)),
                     bytes(BARS[bar[2 * x]][2] for x in range(width // 2))]

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        size = self.height // 4
        span = self.width - size
        x = abs((self.frames * 6) % (2 * span) - span) & ~1  # bounce; even, for the half-width chroma
        top = (self.height - size) // 2
        for index, plane in enumerate(frame.planes):
            scale = 1 if index == 0 else 2
            row = self.rows[index]
            width, height = self.width // scale, self.height // scale
            boxed = bytearray(row)
            boxed[x // scale:(x + size) // scale] = bytes([16 if index == 0 else 128]) * (size // scale)
            pad = b"\0" * (plane.line_size - width)
            plain, box = row + pad, bytes(boxed) + pad
            plane.update(plain * (top // scale) + box * (size // scale)
                         + plain * (height - top // scale - size // scale))
        frame.pts, frame.time_base = pts, time_base
        self.frames += 1
        return frame


class Tone(AudioStreamTrack):
    """A 440 Hz sine, 48 kHz mono, in 20 ms frames."""

    RATE, SAMPLES = 48000, 960

    def __init__(self, hz: float = 440.0) -> None:
        super().__init__()
        self.step = 2 * math.pi * hz / self.RATE
        self.sent = 0
        self.start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.sent / self.RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        samples = [int(8000 * math.sin(self.step * (self.sent + i))) for i in range(self.SAMPLES)]
        frame = av.AudioFrame(format="s16", layout="mono", samples=self.SAMPLES)
        frame.planes[0].update(struct.pack(f"<{self.SAMPLES}h", *samples))
        frame.sample_rate = self.RATE
        frame.pts = self.sent
        frame.time_base = fractions.Fraction(1, self.RATE)
        self.sent += self.SAMPLES
        return frame


# --- the application: one peer connection per offer ---


class Streamer:
    def __init__(self, session: kvsws.StorageSession, media_file: str | None) -> None:
        self.session = session
        self.media_file = media_file
        self.ice_servers: list[RTCIceServer] = []
        self.pc: RTCPeerConnection | None = None
        self.player: MediaPlayer | None = None
        self.start = time.monotonic()
        self.offers = 0
        self.first_offer: float | None = None
        self.connects: list[float] = []  # offer -> connected, per peer
        self.failed: kvsws.Closed | None = None

    def log(self, text: str) -> None:
        print(f"[{time.monotonic() - self.start:7.3f}s] {text}", flush=True)

    async def run(self) -> None:
        async for event in self.session:  # waits on session.fileno(): no thread per session
            match event:
                case kvsws.StateChanged(state, error):
                    self.log(f"state {state}" + (f" ({error})" if error else ""))
                case kvsws.IceServers(servers, ttl):
                    self.ice_servers = [RTCIceServer(**server) for server in servers]
                    urls = [url for server in servers for url in server["urls"]]
                    self.log(f"ice servers: {len(servers)} ({', '.join(urls[:3])}{', ...' if len(urls) > 3 else ''})"
                             + (f", credentials for {ttl:.0f} s" if ttl else ""))
                case kvsws.Offer(sdp):
                    await self.answer(sdp)
                case kvsws.IceCandidate(candidate, sdp_mid, index):
                    await self.add_candidate(candidate, sdp_mid, index)
                case kvsws.ServiceStatus(error):
                    self.log(f"the service refused a message: {error}")
                case kvsws.Closed(error):
                    self.log("session closed" + (f": {error}" if error else ""))
                    if error:
                        self.failed = event

    def tracks(self) -> tuple[MediaStreamTrack, MediaStreamTrack]:
        if self.media_file is None:
            return TestPattern(), Tone()
        self.player = MediaPlayer(self.media_file, loop=True)  # played in a loop, restarted per offer
        if self.player.video is None:
            raise SystemExit(f"{self.media_file} has no video stream")
        return self.player.video, self.player.audio or Tone()

    async def answer(self, sdp: str) -> None:
        self.offers += 1
        offered = time.monotonic()
        if self.first_offer is None:
            self.first_offer = offered
        self.log(f"offer #{self.offers} ({len(sdp)} bytes of SDP)" + (": replacing the peer" if self.pc else ""))
        await self.close_peer()
        pc = self.pc = RTCPeerConnection(RTCConfiguration(iceServers=self.ice_servers))

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc is not self.pc:
                return
            if pc.connectionState == "connected":
                self.connects.append(time.monotonic() - offered)
                self.log(f"peer connected: {self.connects[-1]:.3f} s after the offer; media is flowing")
            else:
                self.log(f"peer {pc.connectionState}")

        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        video, audio = self.tracks()
        h264 = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/H264"]
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video":
                transceiver.setCodecPreferences(h264)  # the storage service records H.264 only
                transceiver.sender.replaceTrack(video)
            elif transceiver.kind == "audio":
                transceiver.sender.replaceTrack(audio)
            transceiver.direction = "sendonly"
        await pc.setLocalDescription(await pc.createAnswer())  # gathers candidates into the SDP
        assert pc.localDescription is not None
        try:
            self.session.send_answer(pc.localDescription.sdp)
        except kvsws.exceptions.ParamValidationError as exc:  # no H.264 or no Opus in the answer
            self.log(f"answer refused: {exc}")
            raise
        self.log(f"answer sent ({time.monotonic() - offered:.3f} s after the offer)")

    async def add_candidate(self, candidate: str, sdp_mid: str | None, index: int | None) -> None:
        if self.pc is None or not candidate.strip():
            return
        ice = candidate_from_sdp(candidate.split(":", 1)[1] if candidate.startswith("candidate:") else candidate)
        ice.sdpMid, ice.sdpMLineIndex = sdp_mid, index
        await self.pc.addIceCandidate(ice)
        self.log(f"remote candidate {ice.type} {ice.protocol} {ice.ip}:{ice.port}")

    async def sent(self) -> dict[str, Any]:
        """What the peer sent so far, per kind: packets and bytes (outbound RTP stats)."""
        out: dict[str, Any] = {}
        if self.pc is not None:
            for stats in (await self.pc.getStats()).values():
                if getattr(stats, "type", None) == "outbound-rtp":
                    out[stats.kind] = {"packets": stats.packetsSent, "bytes": stats.bytesSent}
        return out

    async def close_peer(self) -> None:
        pc, self.pc = self.pc, None
        if pc is not None:
            await pc.close()
        if self.player is not None:
            for track in (self.player.video, self.player.audio):
                if track is not None:
                    track.stop()
            self.player = None


async def main(args: argparse.Namespace) -> int:
    client = kvsws.Client(region_name=args.region, profile_name=args.profile)
    session = client.storage_session(channel_arn=args.channel_arn, channel_name=args.channel_name,
                                     offer_timeout=args.offer_timeout)
    streamer = Streamer(session, args.file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    streamer.log(f"kvsws {kvsws.__version__}: storage session on {args.channel_arn or args.channel_name} "
                 f"in {client.meta.region_name}" + (f" via {client.meta.endpoint_url}" if client.meta.endpoint_url
                                                    else ""))
    async with session:
        reader = asyncio.create_task(streamer.run())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({reader, stopped}, timeout=args.duration, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        sent = await streamer.sent()
        if not reader.done():
            await session.aclose()  # the reader gets Closed and ends
        await reader  # re-raises what failed in the application
    await streamer.close_peer()
    client.close()

    print()
    print(f"offers: {streamer.offers}")
    if streamer.first_offer is not None:
        print(f"start -> first offer: {streamer.first_offer - streamer.start:.3f} s")
    if streamer.connects:
        print("offer -> connected:   " + ", ".join(f"{t:.3f} s" for t in streamer.connects))
    for kind, numbers in sorted(sent.items()):
        print(f"sent {kind}: {numbers['packets']} RTP packets, {numbers['bytes']} bytes")
    if streamer.failed is not None:
        return 2
    return 0 if streamer.connects else 1


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    channel = parser.add_mutually_exclusive_group(required=True)
    channel.add_argument("--channel-name", help="the signaling channel (with media storage enabled)")
    channel.add_argument("--channel-arn", help="the signaling channel's ARN, instead of its name")
    parser.add_argument("--region", help="AWS region (default: as boto3 finds it)")
    parser.add_argument("--profile", help="AWS profile (default: as boto3 finds it)")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds "
                        "(default: until Ctrl-C)")
    parser.add_argument("--file", help="stream this media file (aiortc's MediaPlayer) instead of the generated "
                        "test pattern and tone")
    parser.add_argument("--offer-timeout", type=float, default=6.0, help="join again when no offer came within "
                        "this many seconds (default 6)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what kvsws does (the 'kvsws' logger)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args(sys.argv[1:])
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if arguments.verbose:
        logging.getLogger("kvsws").setLevel(logging.INFO)
    try:
        sys.exit(asyncio.run(main(arguments)))
    except kvsws.exceptions.KvswsError as exc:  # bad input, no credentials, no region, ...
        sys.exit(f"error: {exc}")

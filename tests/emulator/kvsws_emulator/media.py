# SPDX-License-Identifier: Apache-2.0
"""Generated media for tests and the demo: moving bars (video) and a tone (audio), made with
PyAV alone (no numpy), paced in real time like a camera and a microphone."""

from __future__ import annotations

import asyncio
import fractions
import math
import struct
import time

import av
from aiortc import AudioStreamTrack, VideoStreamTrack


class Bars(VideoStreamTrack):
    """Moving vertical bars, YUV 4:2:0, at aiortc's default 30 fps."""

    def __init__(self, width: int = 640, height: int = 480) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.frames = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        shift = (self.frames * 4) % self.width
        row = bytes(((x + shift) * 255 // self.width) & 0xFF for x in range(self.width))
        luma = frame.planes[0]
        luma.update(row.ljust(luma.line_size, b"\0") * self.height)
        for plane, value in ((frame.planes[1], 90), (frame.planes[2], 200)):
            plane.update(bytes([value]) * (plane.line_size * (self.height // 2)))
        frame.pts, frame.time_base = pts, time_base
        self.frames += 1
        return frame


class Tone(AudioStreamTrack):
    """A 440 Hz sine, 48 kHz mono, in 20 ms frames."""

    RATE = 48000
    SAMPLES = 960

    def __init__(self, hz: float = 440.0) -> None:
        super().__init__()
        self.hz = hz
        self.sent = 0
        self.start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.sent / self.RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        step = 2 * math.pi * self.hz / self.RATE
        samples = [int(8000 * math.sin(step * (self.sent + i))) for i in range(self.SAMPLES)]
        frame = av.AudioFrame(format="s16", layout="mono", samples=self.SAMPLES)
        frame.planes[0].update(struct.pack(f"<{self.SAMPLES}h", *samples))
        frame.sample_rate = self.RATE
        frame.pts = self.sent
        frame.time_base = fractions.Fraction(1, self.RATE)
        self.sent += self.SAMPLES
        return frame

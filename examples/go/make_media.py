# SPDX-License-Identifier: Apache-2.0
"""Writes the example's test media: an H.264 Annex-B file and an Ogg/Opus file.

    python make_media.py OUT_DIR [--seconds 5]

writes OUT_DIR/video.h264 (640x480, 30 fps, constrained baseline, a keyframe with SPS/PPS every
second, no B-frames) and OUT_DIR/audio.ogg (Opus, 48 kHz stereo, 20 ms frames, one packet per Ogg
page as pion's oggreader wants). Needs PyAV (``pip install av``; the repository's .venv has it).
The same with ffmpeg:

    ffmpeg -f lavfi -i testsrc=size=640x480:rate=30 -t 5 -c:v libx264 -profile:v baseline \
        -pix_fmt yuv420p -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 -f h264 video.h264
    ffmpeg -f lavfi -i sine=frequency=440:sample_rate=48000 -t 5 -c:a libopus -ac 2 \
        -frame_duration 20 -page_duration 20000 audio.ogg
"""

from __future__ import annotations

import argparse
import math
from array import array
from fractions import Fraction
from pathlib import Path

import av

WIDTH, HEIGHT, FPS = 640, 480, 30
RATE, FRAME_SAMPLES = 48000, 960  # 20 ms


def write_video(path: Path, seconds: float) -> int:
    frames = int(seconds * FPS)
    with av.open(str(path), mode="w", format="h264") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        # Constrained baseline, no B-frames, an IDR (with SPS/PPS in band) every second, one slice
        # per frame (no "zerolatency": it turns on sliced threads).
        stream.options = {"profile": "baseline", "preset": "veryfast", "g": str(FPS),
                          "keyint_min": str(FPS), "sc_threshold": "0", "bf": "0",
                          "x264-params": "repeat-headers=1:aud=0:sliced-threads=0:slices=1"}
        stream.codec_context.time_base = Fraction(1, FPS)
        luma_row = bytes((x * 3) % 256 for x in range(WIDTH * 3))
        for i in range(frames):
            frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            shift = (i * 8) % (WIDTH * 2)
            y = b"".join(luma_row[(shift + r // 4) % WIDTH:][:WIDTH] for r in range(HEIGHT))
            # A bar that moves down one line per frame, so every frame differs.
            bar = (i * 4) % (HEIGHT - 40)
            y = y[:bar * WIDTH] + b"\xeb" * (40 * WIDTH) + y[(bar + 40) * WIDTH:]
            u = bytes([(64 + i) % 256]) * (WIDTH * HEIGHT // 4)
            v = bytes([(192 - i) % 256]) * (WIDTH * HEIGHT // 4)
            for plane, data, row in ((frame.planes[0], y, WIDTH), (frame.planes[1], u, WIDTH // 2),
                                     (frame.planes[2], v, WIDTH // 2)):
                if plane.line_size == row:
                    plane.update(data)
                else:  # padded lines
                    lines = len(data) // row
                    plane.update(b"".join(data[k * row:(k + 1) * row].ljust(plane.line_size, b"\0")
                                          for k in range(lines)))
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return frames


def write_audio(path: Path, seconds: float) -> int:
    chunks = int(seconds * RATE / FRAME_SAMPLES)
    # page_duration is in microseconds: one 20 ms Opus packet per Ogg page.
    with av.open(str(path), mode="w", format="ogg", options={"page_duration": "20000"}) as out:
        stream = out.add_stream("libopus", rate=RATE)
        stream.codec_context.layout = "stereo"
        stream.codec_context.format = "s16"
        stream.options = {"frame_duration": "20", "application": "audio"}
        for i in range(chunks):
            samples = array("h")
            for n in range(FRAME_SAMPLES):
                t = (i * FRAME_SAMPLES + n) / RATE
                s = int(8000 * math.sin(2 * math.pi * 440 * t))
                samples.extend((s, s))
            frame = av.AudioFrame(format="s16", layout="stereo", samples=FRAME_SAMPLES)
            frame.planes[0].update(samples.tobytes())
            frame.sample_rate = RATE
            frame.pts = i * FRAME_SAMPLES
            frame.time_base = Fraction(1, RATE)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return chunks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    frames = write_video(args.out_dir / "video.h264", args.seconds)
    chunks = write_audio(args.out_dir / "audio.ogg", args.seconds)
    print(f"{args.out_dir / 'video.h264'}: {frames} frames; {args.out_dir / 'audio.ogg'}: {chunks} Opus frames")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The C example (examples/c/storage_session: kvsws signaling + GStreamer webrtcbin) end to end
# against the local emulator:
#   - installs the GStreamer packages it needs from Debian (if missing);
#   - builds libkvsws (scripts/build.sh build, incremental), installs it into
#     build-c-example/prefix, builds the example against it with find_package(kvsws) and again
#     with pkg-config;
#   - streams for ~8 s into a fresh channel and checks with the emulator's admin API that the
#     storage peer decoded >= 30 H.264 frames and got >= 30 Opus frames, and that the TURN
#     credentials (URL-escaped into webrtcbin's turn:// URIs) were accepted;
#   - GO_AWAY while media flows: a second offer must be answered and media flow again;
#   - a channel without media storage: the example must fail with the core's clear error.
# Prints the emulator's timings, and "N passed, N failed" last.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
root=$PWD
export AWS_EC2_METADATA_DISABLED=true
work="$root/build-c-example"

finished=0
on_exit() {
  local rc=$?
  if [ "$finished" -eq 0 ]; then
    echo "test-c-example: failed before the end-to-end tests (exit $rc)" >&2
    echo "0 passed, 1 failed"
  fi
}
trap on_exit EXIT

# -- Debian packages (only the ones missing; no recommends) --------------------------------------
apt_install test-c-example build-essential cmake pkg-config libcurl4-openssl-dev libssl-dev libcjson-dev \
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev \
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
  gstreamer1.0-plugins-ugly gstreamer1.0-nice libjson-glib-dev

# .venv with the emulator's dependencies, unless scripts/test.sh (setup.sh) made it already.
[ -x .venv/bin/python ] || scripts/setup.sh

start=$(date +%s)
# -- the library, installed where the example finds it ------------------------------------------
echo "== C example: build libkvsws, install it into build-c-example/prefix"
scripts/build.sh build
prefix="$work/prefix"
rm -rf "$prefix"
cmake --install build --prefix "$prefix" >/dev/null
pcdir=$(dirname "$(find "$prefix" -name kvsws.pc -print -quit)")
libdir=$(dirname "$(find "$prefix" -name 'libkvsws.so.0' -print -quit)")

echo "== C example: build examples/c (find_package(kvsws CONFIG), then pkg-config)"
cmake -S examples/c -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; exit 1; }
grep -q "kvsws: CMake package" "$work/cmake.log" || { cat "$work/cmake.log"; exit 1; }
cmake --build "$work/build" -j "$(nproc)" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
  cmake -S examples/c -B "$work/build-pc" -DCMAKE_DISABLE_FIND_PACKAGE_kvsws=ON \
  >"$work/cmake-pc.log" 2>&1 || { cat "$work/cmake-pc.log"; exit 1; }
grep -q "kvsws: pkg-config" "$work/cmake-pc.log" || { cat "$work/cmake-pc.log"; exit 1; }
cmake --build "$work/build-pc" -j "$(nproc)" >"$work/build-pc.log" 2>&1 \
  || { cat "$work/build-pc.log"; exit 1; }
echo "test-c-example: built $work/build/storage_session (and the pkg-config build)"

# -- end to end against the emulator -----------------------------------------------------------
echo "== C example: stream into the emulator's storage session"
mkdir -p "$work/logs"
finished=1
set +e
EXAMPLE="$work/build/storage_session" EXAMPLE_LIBDIR="$libdir" LOGS="$work/logs" \
GST_REGISTRY="$work/gst-registry.bin" PYTHONPATH="$root/tests/emulator" \
  .venv/bin/python - <<'PY'
import json
import os
import signal
import subprocess
import sys
import time

from kvsws_emulator.testing import Emulator, EmulatorError

EXAMPLE = os.environ["EXAMPLE"]
LOGS = os.environ["LOGS"]
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {name}{': ' + detail if detail else ''}", flush=True)
    else:
        failed += 1
        print(f"FAIL  {name}{': ' + detail if detail else ''}", flush=True)
    return ok


def env_for(emu):
    env = emu.subprocess_env()
    env["LD_LIBRARY_PATH"] = os.environ["EXAMPLE_LIBDIR"]
    return env


def start_example(emu, channel, duration, *extra):
    log = open(os.path.join(LOGS, f"{channel}.log"), "w")
    args = [EXAMPLE, "--channel-name", channel, "--duration", str(duration),
            "--ice-local-address", "127.0.0.1", *extra]
    proc = subprocess.Popen(args, env=env_for(emu), stdout=log, stderr=subprocess.STDOUT)
    proc.log_path = log.name
    proc.log_file = log
    return proc


def finish(proc, timeout):
    try:
        rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    proc.log_file.close()
    with open(proc.log_path) as f:
        return rc, f.read()


def wait_for(emu, channel, predicate, timeout):
    """The channel's latest session once predicate(session) holds. Like emu.wait_for_session, but
    a transient admin API error (an HTTP 500 while a session is being replaced) is retried."""
    deadline = time.monotonic() + timeout
    last, error = None, None
    while time.monotonic() < deadline:
        try:
            sessions = emu.sessions(channel)
            error = None
        except EmulatorError as exc:
            sessions, error = [], exc
        if sessions:
            last = sessions[-1]
            if predicate(last):
                return last
        time.sleep(0.1)
    raise EmulatorError(f"not within {timeout} s; last error: {str(error)[:300]}; "
                        f"last session: {json.dumps(last)[:1500]}")


def media(n=30):
    return lambda s: s["video"]["frames"] >= n and audio_frames(s) >= n


def audio_frames(s):
    return max(s["audio"]["frames"], s.get("rtp", {}).get("audio", {}).get("packets", 0))


def timings(s):
    t = s["timings_ms"]
    keys = ("offer_sent", "answer_received", "connected", "first_video_frame", "first_audio_frame")
    return ", ".join(f"{k} {t[k]:.0f} ms" for k in keys if k in t) + " (since JoinStorageSession)"


def show_tail(output, n=40):
    print("\n".join("      | " + line for line in output.splitlines()[-n:]))


def summary_lines(output):
    return [line.split("] ", 1)[-1] for line in output.splitlines() if "summary:" in line]


with Emulator() as emu:
    # 1. Media flows: >= 30 decoded H.264 frames and >= 30 Opus frames within ~8 s.
    ch = "c-example-media"
    emu.add_channel(ch, storage=True)
    t0 = time.monotonic()
    proc = start_example(emu, ch, 8)
    rc, out = finish(proc, 40)
    elapsed = time.monotonic() - t0
    sessions = emu.sessions(ch)
    s = sessions[-1] if sessions else None
    ok = check("media: the example exits 0", rc == 0, f"exit {rc} after {elapsed:.1f} s")
    if s is not None:
        ok &= check("media: >= 30 H.264 frames decoded", s["video"]["frames"] >= 30,
                    f"{s['video']['frames']} frames {s['video']['width']}x{s['video']['height']}")
        ok &= check("media: >= 30 Opus frames", audio_frames(s) >= 30, f"{audio_frames(s)} frames")
        codecs = s.get("codecs", {})
        ok &= check("media: answer codecs H.264 + Opus",
                    codecs.get("video", {}).get("mime", "").lower() == "video/h264"
                    and codecs.get("audio", {}).get("mime", "").lower() == "audio/opus",
                    f"{codecs.get('video', {}).get('mime')} pt {codecs.get('video', {}).get('payload_type')}, "
                    f"{codecs.get('audio', {}).get('mime')} pt {codecs.get('audio', {}).get('payload_type')}")
        answer = s.get("answer_sdp") or ""
        ok &= check("media: the answer is sendonly on both m-lines, with SSRCs",
                    answer.count("a=sendonly") == 2 and answer.count(" cname:") == 2,
                    f"{answer.count('a=sendonly')} sendonly, {answer.count(' cname:')} SSRCs")
        print(f"      emulator timings: {timings(s)}")
        print(f"      selected pair: {s.get('selected_candidate_pair')}")
    else:
        ok = check("media: a storage session was joined", False)
    for line in summary_lines(out):
        print(f"      example {line}")
    turn = emu.turn_state()
    builtin = turn.get("builtin") or {}
    allocations = [a for a in builtin.get("allocations", []) if ch in a.get("credential_for", "")]
    ok &= check("media: TURN credentials escaped into turn:// URIs are accepted",
                len(allocations) >= 1 and not builtin.get("auth_failures"),
                f"{len(allocations)} allocation(s), {len(builtin.get('auth_failures', []))} auth failure(s)")
    if not ok:
        show_tail(out)

    # 2. GO_AWAY while media flows: reconnect, a second offer answered, media again.
    ch = "c-example-goaway"
    emu.add_channel(ch, storage=True)
    proc = start_example(emu, ch, 30)
    ok = True
    try:
        first = wait_for(emu, ch, media(), 15)
        ok &= check("go_away: media flows before GO_AWAY", True,
                    f"{first['video']['frames']} video, {audio_frames(first)} audio frames")
        emu.signal(ch, "go_away")
        t_go = time.monotonic()
        second = wait_for(
            emu, ch, lambda x: x["n"] > first["n"] and "answer_received" in x["timings_ms"], 15)
        answered = time.monotonic() - t_go
        second = wait_for(emu, ch, lambda x: x["n"] > first["n"] and media()(x), 15)
        again = time.monotonic() - t_go
        ok &= check("go_away: a second offer was answered", True,
                    f"{answered * 1000:.0f} ms after GO_AWAY")
        ok &= check("go_away: media flows again", second["n"] > first["n"],
                    f"{second['video']['frames']} video, {audio_frames(second)} audio frames, "
                    f"{again:.1f} s after GO_AWAY")
        print(f"      emulator timings (second session): {timings(second)}")
    except EmulatorError as exc:
        ok &= check("go_away: recovered", False, str(exc)[:500])
    proc.send_signal(signal.SIGTERM)  # the example closes the session and exits 0
    rc, out = finish(proc, 20)
    ok &= check("go_away: the example saw 'reconnecting' and answered twice, exits 0",
                rc == 0 and "state: reconnecting" in out and out.count("answer sent") >= 2,
                f"exit {rc}, {out.count('answer sent')} answers")
    for line in summary_lines(out):
        print(f"      example {line}")
    if not ok:
        show_tail(out)

    # 3. A channel without media storage: a clear error, exit 1, no join.
    ch = "c-example-nostorage"
    emu.add_channel(ch, storage=False)
    joins = emu.calls("JoinStorageSession")
    proc = start_example(emu, ch, 10)
    rc, out = finish(proc, 30)
    ok = check("no storage: the example fails with the core's clear error",
               rc == 1 and "no media storage" in out and emu.calls("JoinStorageSession") == joins,
               next((line.split("] ", 1)[-1] for line in out.splitlines() if "closed:" in line),
                    f"exit {rc}"))
    if not ok:
        show_tail(out)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
rc=$?
set -e
echo "test-c-example: $(( $(date +%s) - start )) s (build and tests; logs in build-c-example/logs)"
exit $rc

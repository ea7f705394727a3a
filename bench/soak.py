# SPDX-License-Identifier: Apache-2.0
"""Soak: N kvsws storage sessions in one process, driven by one thread, through rotating emulator
faults for M minutes, sampling the process's RSS, open fds and threads every second.

Run it through ``bench/soak.sh [SESSIONS] [MINUTES]`` (which sets ``PYTHONPATH`` for the
emulator's ``kvsws_emulator`` package and uses the repository's ``.venv``), or directly::

    PYTHONPATH=tests/emulator .venv/bin/python bench/soak.py --sessions 20 --minutes 3

The sessions share one ``kvsws.Client``; the main thread waits on every ``session.fileno()`` with a
selector and calls ``next_event(0)`` on the readable ones (a sweep over all sessions once a second
catches anything the fds would not have said, and is counted). Each offer is answered with a canned
SDP built from it (H.264 + Opus, ``sendonly``, no candidates): the soak is about the session's
lifecycle, not media, so the emulator's storage peer never gets ICE through and no media flows.

Every ``--interval`` seconds the next fault of the rotation hits the next session's channel:
GO_AWAY, a TCP drop, a close with 1011, an idle close, a 503 on JoinStorageSession (then GO_AWAY so
that session joins again), a throttle on ConnectAsMaster (then a drop so that it connects again),
malformed frames, RECONNECT_ICE_SERVER. A disruption has recovered when the session is
"connected" again with a new offer (malformed frames: still connected and offered after
``--settle`` seconds; RECONNECT_ICE_SERVER: new ICE servers, still connected). The exit status is 1
when a disruption did not recover within ``--bound`` seconds, a session closed, or the fds or
threads at the end (after the faults stop and the sessions settle) exceed the value after warm-up
by more than a small margin.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import selectors
import sys
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field

import kvsws
from kvsws.type_defs import SessionStats
from kvsws_emulator.testing import Emulator, EmulatorError

# The rotation, in order. Each entry: what is done to the target session's channel.
FAULTS = ("go_away", "drop", "close_1011", "idle_close", "join_503", "connect_throttle", "malformed",
          "reconnect_ice_server")
RECONNECTING = {"go_away", "drop", "close_1011", "idle_close", "join_503", "connect_throttle"}

FD_MARGIN = 2       # fds: end may exceed the warm-up value by this much (a socket in flight)
THREAD_MARGIN = 0   # threads: the client's extra workers leave after 10 s idle; the end waits longer
RSS_MARGIN = 0.10   # RSS: "flat" when the end is within 10 % (+ 2 MiB) of the warm-up value


# --- the canned answer --------------------------------------------------------------------------------

FINGERPRINT = ":".join(f"{b:02X}" for b in range(0x40, 0x60))  # 32 bytes: the format, not a real cert


def canned_answer(offer: str) -> str:
    """A valid answer to the storage service's offer without a WebRTC stack: per offered m-section
    its mid, the offer's H.264 (packetization-mode 1) or Opus payload type, ``sendonly``, DTLS
    ``setup:active``, made-up ICE credentials and fingerprint, no candidates; other kinds rejected."""
    sections: list[list[str]] = []
    session_lines: list[str] = []
    for line in offer.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        else:
            session_lines.append(line)
    ufrag = f"soak{random.randrange(16**4):04x}"
    pwd = f"{random.getrandbits(128):032x}"
    media: list[str] = []
    mids: list[str] = []
    for section in sections:
        kind = section[0][2:].split()[0]
        mid = next((ln[6:] for ln in section if ln.startswith("a=mid:")), str(len(mids)))
        rtpmap: dict[str, str] = {}
        fmtp: dict[str, str] = {}
        for ln in section:
            if ln.startswith("a=rtpmap:"):
                pt, _, enc = ln[9:].partition(" ")
                rtpmap[pt] = enc
            elif ln.startswith("a=fmtp:"):
                pt, _, params = ln[7:].partition(" ")
                fmtp[pt] = params
        if kind == "video":
            chosen = [pt for pt, enc in rtpmap.items()
                      if enc.upper() == "H264/90000" and "packetization-mode=1" in fmtp.get(pt, "")]
        elif kind == "audio":
            chosen = [pt for pt, enc in rtpmap.items() if enc.lower().startswith("opus/48000")]
        else:
            chosen = []
        if not chosen:
            media += [f"m={kind} 0 {' '.join(section[0].split()[2:])}", "c=IN IP4 0.0.0.0", f"a=mid:{mid}",
                      "a=inactive"]
            continue
        pt = chosen[0]
        mids.append(mid)
        media += [f"m={kind} 9 UDP/TLS/RTP/SAVPF {pt}", "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
                  f"a=ice-ufrag:{ufrag}", f"a=ice-pwd:{pwd}", f"a=fingerprint:sha-256 {FINGERPRINT}",
                  "a=setup:active", f"a=mid:{mid}", "a=sendonly", "a=rtcp-mux", f"a=rtpmap:{pt} {rtpmap[pt]}"]
        if pt in fmtp:
            media.append(f"a=fmtp:{pt} {fmtp[pt]}")
        media.append(f"a=ssrc:{random.randrange(1, 2**32)} cname:kvsws-soak")
    head = ["v=0", f"o=- {random.randrange(10**15, 10**16)} 2 IN IP4 127.0.0.1", "s=-", "t=0 0"]
    if any(ln.startswith("a=group:BUNDLE") for ln in session_lines):
        head.append("a=group:BUNDLE " + " ".join(mids))
    return "\r\n".join(head + media) + "\r\n"


# --- the process's resources --------------------------------------------------------------------------


@dataclass
class Sample:
    t: float
    rss_kib: int
    fds: int
    threads: int


def sample(t0: float) -> Sample:
    rss = 0
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
                break
    # listdir itself holds one fd while it reads: the same +1 in every sample.
    return Sample(time.monotonic() - t0, rss, len(os.listdir("/proc/self/fd")), len(os.listdir("/proc/self/task")))


# --- the sessions and the disruptions ---------------------------------------------------------------


@dataclass
class Tracked:
    index: int
    channel: str
    session: kvsws.StorageSession
    fd: int = -1
    state: str = "new"
    offers: int = 0
    answers: int = 0
    ice_servers: int = 0
    candidates: int = 0
    states: list[tuple[float, str, str]] = field(default_factory=list)  # (t, state, error)
    answer_errors: list[str] = field(default_factory=list)
    status_errors: list[str] = field(default_factory=list)
    closed: str | None = None


@dataclass
class Disruption:
    number: int
    kind: str
    target: Tracked
    at: float
    offers_before: int
    ice_before: int
    states_before: int
    detail: str = ""
    recovered_at: float | None = None
    failed: str | None = None
    injection_error: str | None = None
    inject_ms: float = 0.0
    job: futures.Future[None] | None = None

    states_end: int | None = None  # the session's states up to when this disruption was decided

    def states_since(self) -> list[str]:
        return [s for _, s, _ in self.target.states[self.states_before:self.states_end]]

    def errors_since(self) -> list[str]:
        return [e for _, _, e in self.target.states[self.states_before:self.states_end] if e]


class Soak:
    def __init__(self, emu: Emulator, args: argparse.Namespace) -> None:
        self.emu = emu
        self.args = args
        self.t0 = time.monotonic()
        self.samples: list[Sample] = [sample(self.t0)]
        self.selector = selectors.DefaultSelector()
        self.tracked: list[Tracked] = []
        self.disruptions: list[Disruption] = []
        self.sweep_events = 0
        self.fd_changes = 0
        self.events = 0
        self.max_step_ms = 0.0
        self.client: kvsws.Client | None = None
        # One thread makes the admin calls; started now, so it is in every sample.
        self.injector = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="soak-injector")
        self.injector.submit(lambda: None).result()
        self.samples = [sample(self.t0)]

    def now(self) -> float:
        return time.monotonic() - self.t0

    # -- driving ------------------------------------------------------------------------------------
    def start_sessions(self) -> None:
        self.client = kvsws.Client(region_name=self.emu.region, endpoint_url=self.emu.endpoint,
                                   aws_access_key_id=self.emu.access_key_id,
                                   aws_secret_access_key=self.emu.secret_access_key, verify=self.emu.ca_bundle)
        for i in range(self.args.sessions):
            channel = f"soak-{i}"
            self.emu.add_channel(channel, storage=True)
            session = self.client.storage_session(channel_name=channel).start()
            t = Tracked(i, channel, session)
            t.fd = session.fileno()
            self.selector.register(t.fd, selectors.EVENT_READ, t)
            self.tracked.append(t)

    def drain(self, t: Tracked, from_sweep: bool = False) -> None:
        if t.closed is not None:
            return
        for _ in range(64):
            started = time.monotonic()
            event = t.session.next_event(0)
            self.max_step_ms = max(self.max_step_ms, (time.monotonic() - started) * 1000)
            if event is None:
                return
            self.events += 1
            if from_sweep:
                self.sweep_events += 1
            self.handle(t, event)
            if t.closed is not None:
                return

    def handle(self, t: Tracked, event: kvsws.Event) -> None:
        if isinstance(event, kvsws.Offer):
            t.offers += 1
            try:
                t.session.send_answer(canned_answer(event.sdp))
                t.answers += 1
            except Exception as exc:  # noqa: BLE001 - counted and reported
                t.answer_errors.append(f"{type(exc).__name__}: {exc}")
        elif isinstance(event, kvsws.StateChanged):
            t.state = event.state
            t.states.append((self.now(), event.state, str(event.error) if event.error else ""))
        elif isinstance(event, kvsws.IceServers):
            t.ice_servers += 1
        elif isinstance(event, kvsws.IceCandidate):
            t.candidates += 1
        elif isinstance(event, kvsws.ServiceStatus):
            t.status_errors.append(str(event.error))
        elif isinstance(event, kvsws.Closed):
            t.closed = str(event.error)
            t.state = "closed"
            self.selector.unregister(t.fd)

    def pump(self, seconds: float, until: Callable[[], bool] | None = None) -> None:
        """Drives every session for ``seconds`` (or until ``until()``), sampling once a second and
        checking the disruptions in flight."""
        end = time.monotonic() + seconds
        while True:
            now = time.monotonic()
            if now >= end or (until is not None and until()):
                return
            for key, _ in self.selector.select(timeout=min(0.2, end - now)):
                self.drain(key.data)
            if self.now() - self.samples[-1].t >= 1.0:
                self.samples.append(sample(self.t0))
                self.sweep()
            self.check_disruptions()

    def sweep(self) -> None:
        for t in self.tracked:
            if t.closed is None:
                fd = t.session.fileno()
                if fd != t.fd:  # the session's fd is meant to last as long as the session
                    self.fd_changes += 1
                    self.selector.unregister(t.fd)
                    t.fd = fd
                    self.selector.register(fd, selectors.EVENT_READ, t)
                self.drain(t, from_sweep=True)

    # -- faults ---------------------------------------------------------------------------------------
    def inject(self, kind: str, t: Tracked) -> Disruption:
        """Starts the fault on the injector thread: an admin call may wait for the session (the
        emulator's close handshake waits for the client's close frame), so the thread that drives
        the sessions must never make it."""
        d = Disruption(len(self.disruptions) + 1, kind, t, self.now(), t.offers, t.ice_servers, len(t.states))
        d.job = self.injector.submit(self.apply, d)
        self.disruptions.append(d)
        return d

    def apply(self, d: Disruption) -> None:
        """On the injector thread."""
        ch = d.target.channel
        started = time.monotonic()
        try:
            if d.kind == "go_away":
                self.emu.signal(ch, "go_away")
            elif d.kind == "drop":
                self.emu.signal(ch, "drop")
            elif d.kind == "close_1011":
                self.emu.signal(ch, "close", code=1011, reason="soak")
            elif d.kind == "idle_close":
                self.emu.signal(ch, "idle_close", idle_close_after_ms=1500)
            elif d.kind == "join_503":
                self.emu.fault(operation="JoinStorageSession", status=503, count=1)
                self.emu.signal(ch, "go_away")
                d.detail = "503 queued, then GO_AWAY"
            elif d.kind == "connect_throttle":
                self.emu.fault(operation="ConnectAsMaster", throttle=True, count=1)
                self.emu.signal(ch, "drop")
                d.detail = "throttle queued, then a drop"
            elif d.kind == "malformed":
                sent = self.emu.signal(ch, "malformed")
                d.detail = f"{len(sent.get('frames', []))} frames"
            elif d.kind == "reconnect_ice_server":
                self.emu.signal(ch, "reconnect_ice_server")
        except EmulatorError as exc:
            d.injection_error = str(exc)
        d.inject_ms = (time.monotonic() - started) * 1000

    def check_disruptions(self) -> None:
        now = self.now()
        for d in self.disruptions:
            if d.recovered_at is not None or d.failed is not None:
                continue
            t = d.target
            if d.job is not None and d.job.done() and d.injection_error is not None:
                d.failed = f"injection failed: {d.injection_error}"
                continue
            if t.closed is not None:
                d.failed = f"the session closed: {t.closed}"
                continue
            connected = t.state == "connected"
            if d.kind in RECONNECTING:
                ok = connected and t.offers > d.offers_before and t.answers >= t.offers
            elif d.kind == "reconnect_ice_server":
                ok = connected and t.ice_servers > d.ice_before
            else:  # malformed: nothing should happen; if it reconnected, it needs its new offer
                left = any(s != "connected" for s in d.states_since())
                ok = now - d.at >= self.args.settle and connected and (not left or t.offers > d.offers_before)
            if ok:
                d.recovered_at = now
                d.states_end = len(t.states)
                if self.args.verbose:
                    print(f"soak: {now:7.1f} s  #{d.number:<3} recovered in {now - d.at:.2f} s: "
                          f"{' -> '.join(d.states_since())}, errors {d.errors_since()}; {d.detail} "
                          f"(admin call {d.inject_ms:.0f} ms)", flush=True)
            elif now - d.at > self.args.bound:
                d.states_end = len(t.states)
                d.failed = (f"not recovered within {self.args.bound:g} s: state {t.state}, offers "
                            f"{d.offers_before}->{t.offers}, ICE servers {d.ice_before}->{t.ice_servers}, "
                            f"states since {d.states_since()}, errors {d.errors_since()[-2:]}, "
                            f"stats {json.dumps(t.session.stats().get('last_error'))}")

    def pending(self) -> list[Disruption]:
        return [d for d in self.disruptions if d.recovered_at is None and d.failed is None]

    # -- the run ------------------------------------------------------------------------------------
    def run(self) -> int:
        args = self.args
        self.start_sessions()
        self.pump(args.connect_bound, lambda: all(t.state == "connected" and t.offers for t in self.tracked))
        not_up = [t for t in self.tracked if not (t.state == "connected" and t.offers)]
        setup_s = self.now()
        after_setup = sample(self.t0)
        self.samples.append(after_setup)
        print(f"soak: {len(self.tracked) - len(not_up)}/{len(self.tracked)} sessions connected with an offer "
              f"after {setup_s:.1f} s", flush=True)

        fault_end = time.monotonic() + args.minutes * 60
        warmup_at = self.now() + args.warmup
        warmup: Sample | None = None
        rotation = 0
        next_target = 0
        while time.monotonic() < fault_end:
            busy = {id(d.target) for d in self.pending()}
            for step in range(len(self.tracked)):  # the next session that is up and not disrupted now
                t = self.tracked[(next_target + step) % len(self.tracked)]
                if t.closed is None and t.state == "connected" and id(t) not in busy:
                    next_target = (next_target + step + 1) % len(self.tracked)
                    d = self.inject(args.faults[rotation % len(args.faults)], t)
                    rotation += 1
                    print(f"soak: {self.now():7.1f} s  #{d.number:<3} {d.kind:<21} {t.channel}", flush=True)
                    break
            self.pump(min(args.interval, max(0.0, fault_end - time.monotonic())))
            if warmup is None and self.now() >= warmup_at:
                warmup = self.samples[-1]
        if warmup is None:
            warmup = self.samples[-1]

        # Let the last disruptions finish, then the client's extra workers leave (10 s idle).
        self.pump(args.bound + 1, lambda: not self.pending())
        self.pump(args.bound + 1)  # bound: the check marks what is still pending
        self.pump(args.quiet)
        end = sample(self.t0)
        self.samples.append(end)
        faulted = self.faulted_requests()
        stats = [t.session.stats() for t in self.tracked if t.closed is None]
        assert self.client is not None
        for t in self.tracked:
            t.session.close()
        self.client.close()
        self.injector.shutdown()
        return self.report(not_up, setup_s, after_setup, warmup, end, stats, faulted)

    def faulted_requests(self) -> dict[str, list[str]]:
        """Which channel each injected HTTP / connect fault actually hit (faults are global in the
        emulator: another session connecting or joining at that moment may take it)."""
        out: dict[str, list[str]] = {}
        try:
            requests = self.emu.requests()
        except EmulatorError as exc:
            return {"error": [str(exc)]}
        for r in requests:
            if r.get("fault") and r["operation"] in ("JoinStorageSession", "ConnectAsMaster"):
                params = json.dumps(r.get("params"))
                hit = next((t.channel for t in self.tracked if f"/{t.channel}/" in params), "?")
                out.setdefault(r["operation"], []).append(hit)
        return out

    def report(self, not_up: list[Tracked], setup_s: float, after_setup: Sample, warmup: Sample, end: Sample,
               stats: list[SessionStats], faulted: dict[str, list[str]]) -> int:
        args = self.args
        failures: list[str] = []
        recovered = [d for d in self.disruptions if d.recovered_at is not None]
        failed = [d for d in self.disruptions if d.failed is not None]
        print()
        print(f"== soak: {args.sessions} sessions, {args.minutes:g} min of faults every {args.interval:g} s, "
              f"pid {os.getpid()}, kvsws {getattr(kvsws, '__version__', '?')}")
        print(f"setup: all connected with an offer after {setup_s:.1f} s"
              if not not_up else f"setup: {len(not_up)} sessions never connected: {[t.channel for t in not_up]}")
        if not_up:
            failures.append(f"{len(not_up)} sessions did not connect within {args.connect_bound:g} s")
        print(f"disruptions injected: {len(self.disruptions)}, recovered: {len(recovered)}, "
              f"not recovered: {len(failed)} (bound {args.bound:g} s)")
        print("| fault | injected | recovered | not recovered | recovery median / max (s) |")
        print("|---|---|---|---|---|")
        for kind in FAULTS:
            ds = [d for d in self.disruptions if d.kind == kind]
            times = sorted(d.recovered_at - d.at for d in ds if d.recovered_at is not None)
            median = f"{times[len(times) // 2]:.2f} / {times[-1]:.2f}" if times else "-"
            print(f"| {kind} | {len(ds)} | {len(times)} | {sum(d.failed is not None for d in ds)} | {median} |")
        for d in failed:
            print(f"NOT RECOVERED #{d.number} {d.kind} on {d.target.channel} at {d.at:.1f} s: {d.failed}")
            failures.append(f"#{d.number} {d.kind} on {d.target.channel}: {d.failed}")
        closed = [t for t in self.tracked if t.closed is not None]
        for t in closed:
            failures.append(f"{t.channel} closed: {t.closed}")
        left = [d for d in self.disruptions
                if d.kind == "malformed" and any(s != "connected" for s in d.states_since())]
        if left:
            print(f"note: {len(left)} malformed-frame disruptions made the session leave 'connected' (it came back):")
            for d in left:
                print(f"  #{d.number} {d.target.channel}: {' -> '.join(d.states_since())}, errors {d.errors_since()}")
        if self.disruptions:
            print(f"admin calls (injector thread): longest {max(d.inject_ms for d in self.disruptions):.0f} ms")
        if faulted:
            print("faults taken (operation: channels): " + "; ".join(
                f"{op}: {', '.join(chs)}" for op, chs in faulted.items()))
        offers = sum(t.offers for t in self.tracked)
        answer_errors = sum(len(t.answer_errors) for t in self.tracked)
        status_errors = sum(len(t.status_errors) for t in self.tracked)
        reconnects: dict[str, int] = {}
        for s in stats:
            for cause, n in s["reconnects"].items():
                reconnects[cause] = reconnects.get(cause, 0) + (n if isinstance(n, int) else 0)
        print(f"sessions: offers {offers}, answers refused by kvsws {answer_errors}, STATUS_RESPONSE errors "
              f"{status_errors}, joins {sum(int(s['joins_sent']) for s in stats)}, reconnects {reconnects}")
        print(f"loop: {self.events} events, {self.sweep_events} found by the 1 s sweep (not signalled by the fd), "
              f"fd changes {self.fd_changes}, longest next_event(0) {self.max_step_ms:.1f} ms")
        if answer_errors:
            failures.append(f"{answer_errors} canned answers refused: {self.tracked[0].answer_errors[:1]}")

        rows = (("RSS (MiB)", "rss_kib", 1 / 1024), ("fds", "fds", 1.0), ("threads", "threads", 1.0))
        print("| | start | all connected | after warm-up | max | end | flat |")
        print("|---|---|---|---|---|---|---|")
        start = self.samples[0]
        for name, attr, scale in rows:
            values = [getattr(s, attr) for s in self.samples]
            w, e = getattr(warmup, attr), getattr(end, attr)
            if attr == "rss_kib":
                flat = e <= w * (1 + RSS_MARGIN) + 2048
            elif attr == "fds":
                flat = e <= w + FD_MARGIN
            else:
                flat = e <= w + THREAD_MARGIN
            if not flat and attr != "rss_kib":
                failures.append(f"{name} grew: {w} after warm-up, {e} at the end")

            def fmt(v: int, scale: float = scale) -> str:
                return f"{v * scale:.1f}" if scale != 1.0 else str(v)

            print(f"| {name} | {fmt(getattr(start, attr))} | {fmt(getattr(after_setup, attr))} | {fmt(w)} | "
                  f"{fmt(max(values))} | {fmt(e)} | {'yes' if flat else 'NO'} |")
        print(f"(samples: {len(self.samples)}, one a second; warm-up sample at {warmup.t:.0f} s, end at {end.t:.0f} s)")
        if failures:
            print("\nFAIL:\n  " + "\n  ".join(failures))
            return 1
        print("\nPASS")
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--interval", type=float, default=4.0, help="seconds between faults")
    parser.add_argument("--bound", type=float, default=15.0, help="seconds a disruption has to recover")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds a malformed-frame fault is watched")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds of faults before the baseline sample")
    parser.add_argument("--quiet", type=float, default=12.0, help="seconds without faults before the end sample")
    parser.add_argument("--connect-bound", type=float, default=60.0)
    parser.add_argument("--faults", default=",".join(FAULTS), help="the rotation (comma-separated)")
    parser.add_argument("--keep-state-dir", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="a line per recovery")
    args = parser.parse_args()
    args.faults = args.faults.split(",")
    if not args.faults or set(args.faults) - set(FAULTS):
        parser.error(f"--faults: choose from {', '.join(FAULTS)}")
    with Emulator(keep_state_dir=args.keep_state_dir, log_level="WARNING") as emu:
        print(f"soak: emulator at {emu.endpoint} (state {emu.state_dir})", flush=True)
        return Soak(emu, args).run()


if __name__ == "__main__":
    sys.exit(main())

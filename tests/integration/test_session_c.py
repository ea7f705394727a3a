# SPDX-License-Identifier: Apache-2.0
"""The C core's storage session end to end: the it_session driver (kvsws_session_fd + poll)
against the emulator, with an aiortc app peer streaming real H.264 + Opus to the emulator's
storage peer; faults survived with media flowing again."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from kvsws_emulator.app_peer import AppPeer, ViewerPeer, wait_until
from kvsws_emulator.testing import Emulator

from .helpers import clean_env


class Driver:
    """it_session as an asyncio subprocess: events in, commands out."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self.stderr = ""  # what it wrote there, once stopped

    @classmethod
    async def start(cls, binary: Path, env: dict[str, str], *args: str) -> Driver:
        proc = await asyncio.create_subprocess_exec(
            str(binary), *args, env=env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        return cls(proc)

    async def next(self, timeout: float = 15.0) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            err = await self.proc.stderr.read() if self.proc.stderr else b""
            raise AssertionError(f"it_session ended: {err.decode()[-2000:]}")
        event = json.loads(line)
        self.events.append(event)
        return event

    async def until(self, kind: str, timeout: float = 15.0, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            event = await self.next(max(0.1, deadline - time.monotonic()))
            if event["type"] == kind and all(event.get(k) == v for k, v in match.items()):
                return event

    async def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()

    async def stop(self) -> None:
        """Closes the session; the driver must exit cleanly (sanitizer reports fail the test)."""
        if self.proc.returncode is None:
            try:
                await self.send(cmd="close")
            except ConnectionError:
                pass  # the driver exits by itself after a closed event: its stdin may be gone already
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
                raise AssertionError("it_session did not exit after close") from None
        stderr = (await self.proc.stderr.read()).decode(errors="replace") if self.proc.stderr else ""
        self.stderr = stderr
        assert self.proc.returncode == 0, stderr[-4000:]
        assert "Sanitizer" not in stderr and "runtime error" not in stderr, stderr[-4000:]


async def serve(driver: Driver, peer: AppPeer, offers: list[float], stop: asyncio.Event) -> None:
    """The application's loop: ICE servers, offers answered, candidates applied."""
    while not stop.is_set():
        try:
            event = await driver.next(timeout=0.5)
        except TimeoutError:
            continue
        if event["type"] == "ice_servers":
            peer.set_ice_servers(event["ice_servers"])
        elif event["type"] == "offer":
            offers.append(time.monotonic())
            await driver.send(cmd="answer", sdp=await peer.answer(event["sdp"]))
        elif event["type"] == "ice_candidate":
            await peer.add_candidate(event["candidate"], event.get("sdp_mid"),
                                     event.get("sdp_mline_index"))
        elif event["type"] == "closed":
            return


async def ask_stats(driver: Driver) -> dict[str, Any]:
    """kvsws_session_stats_json through the driver, while serve() reads its output."""
    asked = sum(e["type"] == "session_stats" for e in driver.events)
    await driver.send(cmd="stats")
    deadline = time.monotonic() + 10
    while sum(e["type"] == "session_stats" for e in driver.events) == asked:
        assert time.monotonic() < deadline, "no stats"
        await asyncio.sleep(0.05)
    stats: dict[str, Any] = [e for e in driver.events if e["type"] == "session_stats"][-1]["stats"]
    return stats


def session_env(emu: Emulator) -> dict[str, str]:
    return clean_env(emu)


@pytest.fixture(scope="module")
def it_session_bin(it_api_bin: Path) -> Path:
    return it_api_bin.parent / "it_session"


async def run_streaming(emu: Emulator, binary: Path, channel: str, during: Any = None,
                        frames: int = 30) -> tuple[Driver, list[float]]:
    driver = await Driver.start(binary, session_env(emu), "--channel-name", channel,
                                "--offer-timeout", "3000", "--ping-interval", "1000")
    peer = AppPeer()
    offers: list[float] = []
    stop = asyncio.Event()
    task = asyncio.create_task(serve(driver, peer, offers, stop))
    try:
        await asyncio.to_thread(emu.wait_for_media, channel, frames, frames, 30.0)
        if during is not None:
            await during(driver, offers)
    finally:
        stop.set()
        await task
        await peer.close()
        await driver.stop()
    return driver, offers


def test_media_flows_end_to_end(emu: Emulator, it_session_bin: Path) -> None:
    emu.add_channel("e2e-c", storage=True)
    driver, offers = asyncio.run(run_streaming(emu, it_session_bin, "e2e-c"))
    kinds = [e["type"] for e in driver.events]
    assert kinds[:2] == ["state", "ice_servers"] and "offer" in kinds
    session = emu.sessions("e2e-c")[-1]
    assert session["video"]["frames"] >= 30
    assert "h264" in json.dumps(session).lower() and "opus" in json.dumps(session).lower()
    # Nobody asked for the offer twice: one join, one offer.
    assert emu.calls("JoinStorageSession") == 1 and len(offers) == 1


def test_early_candidates_follow_their_offer(emu: Emulator, it_session_bin: Path) -> None:
    emu.add_channel("e2e-early", storage=True)
    emu.fault(operation="JoinStorageSession", candidates_first=True, count=1)
    driver, _ = asyncio.run(run_streaming(emu, it_session_bin, "e2e-early"))
    kinds = [e["type"] for e in driver.events]
    first_offer = kinds.index("offer")
    assert "ice_candidate" in kinds[first_offer:]
    assert "ice_candidate" not in kinds[:first_offer]


def test_no_offer_rejoins(emu: Emulator, it_session_bin: Path) -> None:
    emu.add_channel("e2e-nooffer", storage=True)
    emu.fault(operation="JoinStorageSession", no_offer=True, count=1)
    asyncio.run(run_streaming(emu, it_session_bin, "e2e-nooffer"))
    assert emu.calls("JoinStorageSession") == 2


@pytest.mark.parametrize("action", ["go_away", "drop", "close"])
def test_session_comes_back(emu: Emulator, it_session_bin: Path, action: str) -> None:
    channel = f"e2e-{action}"
    emu.add_channel(channel, storage=True)

    async def fault_then_recover(driver: Driver, offers: list[float]) -> None:
        before = len(emu.sessions(channel))
        emu.signal(channel, action)
        deadline = time.monotonic() + 30
        while len(offers) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert len(offers) >= 2, f"no new offer after {action}"
        await asyncio.to_thread(emu.wait_for_session, channel,
                                lambda s: s["video"]["frames"] >= 20, 30.0)
        assert len(emu.sessions(channel)) > before
        await ask_stats(driver)

    driver, _ = asyncio.run(run_streaming(emu, it_session_bin, channel, fault_then_recover))
    assert any(e["type"] == "state" and e["state"] == "reconnecting" for e in driver.events)
    # The reconnect is counted under its cause: a closed or dropped socket is a drop.
    stats = next(e["stats"] for e in driver.events if e["type"] == "session_stats")
    cause = "go_away" if action == "go_away" else "drop"
    assert stats["reconnects"][cause] == 1, stats
    assert sum(stats["reconnects"].values()) == 1 + stats["reconnects"]["error"], stats


def test_a_skewed_clock_is_corrected_for_the_websocket(emu: Emulator, it_session_bin: Path) -> None:
    """The service's clock an hour ahead: the calls learn it, the presigned WSS URL uses it. Then
    the clock moves again and GO_AWAY forces a reconnect with no call before it: the refused
    upgrade's Date header corrects the clock and the WebSocket connects on the second try."""
    emu.add_channel("e2e-skew", storage=True)
    emu.clock(3600)

    async def jump_then_go_away(driver: Driver, offers: list[float]) -> None:
        emu.clock(-1800)
        emu.signal("e2e-skew", "go_away")
        deadline = time.monotonic() + 30
        while len(offers) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert len(offers) >= 2, "no new offer after the clock moved"
        await asyncio.to_thread(emu.wait_for_session, "e2e-skew",
                                lambda s: s["video"]["frames"] >= 20, 30.0)

    driver, _ = asyncio.run(run_streaming(emu, it_session_bin, "e2e-skew", jump_then_go_away))
    assert not any(e["type"] == "closed" and e.get("error") for e in driver.events), driver.events
    upgrades = emu.requests("ConnectAsMaster")
    assert [r["status"] for r in upgrades].count(403) == 1, upgrades  # one refusal, then corrected
    assert upgrades[-1]["verified"], upgrades


def test_reconnect_ice_server_refreshes(emu: Emulator, it_session_bin: Path) -> None:
    emu.add_channel("e2e-ice", storage=True)

    async def refresh(driver: Driver, offers: list[float]) -> None:
        emu.signal("e2e-ice", "reconnect_ice_server")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if sum(e["type"] == "ice_servers" for e in driver.events) >= 2:
                return
            await asyncio.sleep(0.1)
        raise AssertionError("no refreshed ICE servers")

    driver, _ = asyncio.run(run_streaming(emu, it_session_bin, "e2e-ice", refresh))
    assert emu.calls("GetIceServerConfig") == 2
    # Fresh TURN credentials for the running peer, on the same WebSocket and storage session.
    fresh = [e for e in driver.events if e["type"] == "ice_servers"][-1]["ice_servers"]
    assert [s for s in fresh if s.get("username") and s.get("credential") and s.get("ttl")], fresh
    assert emu.calls("ConnectAsMaster") == 1 and emu.calls("JoinStorageSession") == 1


def test_malformed_frames_are_survived(emu: Emulator, it_session_bin: Path) -> None:
    emu.add_channel("e2e-garbage", storage=True)

    async def garbage(driver: Driver, offers: list[float]) -> None:
        emu.signal("e2e-garbage", "malformed")
        before = emu.sessions("e2e-garbage")[-1]["video"]["frames"]
        await asyncio.sleep(1.5)
        assert emu.sessions("e2e-garbage")[-1]["video"]["frames"] > before
        assert not any(e["type"] in ("closed", "state") and e.get("state") in
                       ("reconnecting", "closed") for e in driver.events)

    asyncio.run(run_streaming(emu, it_session_bin, "e2e-garbage", garbage))


@pytest.mark.parametrize(("codec", "audio", "words"), [("VP8", True, "H.264"),
                                                        ("H264", False, "Opus")])
def test_wrong_answer_is_refused(emu: Emulator, it_session_bin: Path, codec: str, audio: bool,
                                 words: str) -> None:
    emu.add_channel("e2e-wrong", storage=True)

    async def go() -> dict[str, Any]:
        driver = await Driver.start(it_session_bin, session_env(emu), "--channel-name", "e2e-wrong")
        peer = AppPeer(video_codec=codec, send_audio=audio)
        try:
            offer = await driver.until("offer")
            await driver.send(cmd="answer", sdp=await peer.answer(offer["sdp"]))
            return await driver.until("command_error")
        finally:
            await peer.close()
            await driver.stop()

    result = asyncio.run(go())
    assert result["status_name"] == "KVSWS_E_PARAM_VALIDATION"
    assert words in result["message"]
    assert "H.264" in result["message"] and "Opus" in result["message"]


def test_viewer_session_end_to_end(emu: Emulator, it_session_bin: Path) -> None:
    """The viewer role: JoinStorageSessionAsViewer, the storage session's offer to the viewer's
    connection, the viewer's answer (receives H.264 video, talks back with Opus) through the
    viewer rules of the answer check, and media both ways."""
    emu.add_channel("e2e-viewer", storage=True)
    arn = emu.channel_arn("e2e-viewer")

    async def go() -> Driver:
        driver = await Driver.start(it_session_bin, session_env(emu), "--channel-arn", arn,
                                    "--viewer", "viewer-1", "--offer-timeout", "3000")
        peer = ViewerPeer(talk=True)
        offers: list[float] = []
        stop = asyncio.Event()
        task = asyncio.create_task(serve(driver, peer, offers, stop))
        try:
            await wait_until(lambda: peer.received["video"] >= 20 or task.done(), 30,
                             "video frames at the viewer")
            assert peer.received["video"] >= 20, driver.events
            await asyncio.to_thread(emu.wait_for_session, "e2e-viewer",
                                    lambda s: s["kind"] == "viewer" and s["audio"]["frames"] >= 20, 30.0)
        finally:
            stop.set()
            await task
            await peer.close()
            await driver.stop()
        return driver

    driver = asyncio.run(go())
    assert not [e for e in driver.events if e["type"] == "command_error"], driver.events
    viewer = emu.sessions("e2e-viewer")[-1]
    assert viewer["kind"] == "viewer" and viewer["client_id"] == "viewer-1"
    assert viewer["sent"]["video_frames"] >= 20 and "h264" in json.dumps(viewer["codecs"]).lower()
    assert emu.calls("JoinStorageSessionAsViewer") == 1 and emu.calls("JoinStorageSession") == 0


def test_storage_disabled_is_a_clear_error(emu: Emulator, it_session_bin: Path) -> None:
    emu.add_channel("e2e-nostorage", storage=False)

    async def go() -> tuple[dict[str, Any], dict[str, Any]]:
        driver = await Driver.start(it_session_bin, session_env(emu), "--channel-name",
                                    "e2e-nostorage")
        try:
            return await driver.until("closed"), await driver.next()
        finally:
            await driver.stop()

    closed, detail = asyncio.run(go())
    error = closed["error"]
    # not an AWS error line: the message itself, which says what to do
    assert detail["type"] == "error_detail" and detail["describe"] == error["message"], detail
    assert error["status_name"] == "KVSWS_E_STORAGE_NOT_ENABLED" and error["status"] == 300, error
    assert error["code"] == "StorageNotEnabledError" and not error["retryable"], error
    assert error["operation"] == "DescribeMediaStorageConfiguration", error
    assert "no media storage" in error["message"] and "UpdateMediaStorageConfiguration" in error["message"]
    assert emu.calls("JoinStorageSession") == 0 and emu.calls("ConnectAsMaster") == 0


def test_status_response_names_what_was_sent(emu: Emulator, it_session_bin: Path) -> None:
    """The service refusing our answer (a STATUS_RESPONSE for its correlation id) is a status event
    named after the SDP_ANSWER, with the correlation id in its own field; a STATUS_RESPONSE for an id
    this session never sent, or a success, is dropped."""
    emu.add_channel("e2e-status", storage=True)

    def status_response(correlation_id: str, code: str = "400") -> str:
        return json.dumps({"messageType": "STATUS_RESPONSE", "statusResponse": {
            "correlationId": correlation_id, "errorType": "InvalidArgumentException", "statusCode": code,
            "description": "not ours"}})

    async def go() -> Driver:
        driver = await Driver.start(it_session_bin, session_env(emu), "--channel-name", "e2e-status",
                                    "--check-answer", "0")
        try:
            offer = await driver.until("offer")
            await driver.until("state", state="connected")
            emu.signal("e2e-status", "send", text=status_response("kvsws-999"))   # never sent
            emu.signal("e2e-status", "send", text=status_response("someone-else.1"))
            await driver.send(cmd="answer", sdp=offer["sdp"].replace("H264/90000", "VP8/90000"))
            await driver.until("command_ok", cmd="answer")
            emu.signal("e2e-status", "send", text=status_response("kvsws-1", "200"))  # a success
            await driver.until("status")
            detail = await driver.next()
            assert detail["type"] == "error_detail", detail
            await asyncio.sleep(0.5)  # room for a wrongly delivered foreign one
        finally:
            await driver.stop()
        return driver

    driver = asyncio.run(go())
    statuses = [e for e in driver.events if e["type"] == "status"]
    assert len(statuses) == 1, driver.events
    error = statuses[0]["error"]
    assert error["code"] == "InvalidArgumentException" and error["operation"] == "SDP_ANSWER", error
    assert error["correlation_id"] == "kvsws-1" and error["request_id"] == "", error
    assert error["http_status"] == 400 and "H.264" in error["message"], error
    detail = driver.events[driver.events.index(statuses[0]) + 1]
    assert detail["correlation_id"] == "kvsws-1" and detail["operation"] == "SDP_ANSWER", detail
    assert detail["describe"].startswith(
        "An error occurred (InvalidArgumentException) when sending the SDP_ANSWER: "), detail


def test_status_response_for_a_candidate(emu: Emulator, it_session_bin: Path) -> None:
    """A candidate the service cannot parse: a status event named after the ICE_CANDIDATE."""
    emu.add_channel("e2e-status-cand", storage=True)

    async def go() -> dict[str, Any]:
        driver = await Driver.start(it_session_bin, session_env(emu), "--channel-name", "e2e-status-cand")
        peer = AppPeer()
        try:
            offer = await driver.until("offer")
            peer.set_ice_servers(next(e for e in driver.events if e["type"] == "ice_servers")["ice_servers"])
            await driver.send(cmd="answer", sdp=await peer.answer(offer["sdp"]))
            await driver.until("command_ok", cmd="answer")
            await driver.send(cmd="candidate", candidate="candidate:garbage", sdp_mid="0", sdp_mline_index=0)
            return await driver.until("status")
        finally:
            await peer.close()
            await driver.stop()

    error = asyncio.run(go())["error"]
    assert error["operation"] == "ICE_CANDIDATE" and error["correlation_id"] == "kvsws-2", error
    assert error["code"] == "InvalidArgumentException" and "candidate" in error["message"], error


def test_refused_websocket_names_connect_as_master(emu: Emulator, it_session_bin: Path) -> None:
    """The signaling WebSocket's upgrade is ConnectAsMaster: its refusal says so, with its request id."""
    emu.add_channel("e2e-refused", storage=True)
    emu.fault(operation="ConnectAsMaster", error="NotAuthorizedException", count=1)

    async def go() -> Driver:
        driver = await Driver.start(it_session_bin, session_env(emu), "--channel-name", "e2e-refused")
        try:
            await driver.until("closed")
            await driver.next()
        finally:
            await driver.stop()
        return driver

    driver = asyncio.run(go())
    closed = next(e for e in driver.events if e["type"] == "closed")
    assert closed["error"]["code"] == "NotAuthorizedException", closed
    assert closed["error"]["operation"] == "ConnectAsMaster", closed
    upgrade = emu.requests("ConnectAsMaster")[-1]
    assert closed["error"]["request_id"] == upgrade["request_id"], (closed, upgrade)
    assert "when calling the ConnectAsMaster operation" in driver.events[-1]["describe"], driver.events
    assert emu.calls("JoinStorageSession") == 0


def test_throttled_join_waits_the_join_interval(emu: Emulator, it_session_bin: Path) -> None:
    """A join still throttled after the call's own attempts is tried again on the same WebSocket, no
    sooner than the join interval (the offer timeout), and the offer then comes."""
    emu.add_channel("e2e-throttle", storage=True)
    emu.fault(operation="JoinStorageSession", throttle=True, message="Rate exceeded", count=3)

    async def go() -> Driver:
        driver = await Driver.start(it_session_bin, session_env(emu), "--channel-name", "e2e-throttle",
                                    "--offer-timeout", "1500")
        try:
            await driver.until("offer", timeout=20)
        finally:
            await driver.stop()
        return driver

    driver = asyncio.run(go())
    waiting = [e for e in driver.events if e["type"] == "state" and e["state"] == "reconnecting"]
    assert len(waiting) == 1 and waiting[0]["error"]["code"] == "ClientLimitExceededException", driver.events
    assert not [e for e in driver.events if e["type"] == "closed" and e.get("error")], driver.events
    joins = emu.requests("JoinStorageSession")
    assert len(joins) == 4 and emu.calls("ConnectAsMaster") == 1, joins
    assert joins[3]["time"] - joins[2]["time"] >= 1.5, [j["time"] for j in joins]


def test_maximum_viewers_is_never_retried(emu: Emulator, it_session_bin: Path) -> None:
    """ClientLimitExceededException for the number of viewers is a limit, not a rate: one join, and
    the session ends with it."""
    arn = emu.add_channel("e2e-viewers", storage=True)
    emu.fault(operation="JoinStorageSessionAsViewer", throttle=True, count=5,
              message="The storage session already has the maximum number of viewers (3).")

    async def go() -> dict[str, Any]:
        driver = await Driver.start(it_session_bin, session_env(emu), "--channel-arn", arn,
                                    "--viewer", "viewer-4", "--offer-timeout", "500")
        try:
            return await driver.until("closed", timeout=20)
        finally:
            await driver.stop()

    closed = asyncio.run(go())
    assert closed["error"]["code"] == "ClientLimitExceededException" and not closed["error"]["retryable"], closed
    assert emu.calls("JoinStorageSessionAsViewer") == 1


def test_a_viewer_names_no_recipient(emu: Emulator, it_session_bin: Path) -> None:
    """A viewer's answer goes to its storage session: a recipient is refused before anything is sent."""
    arn = emu.add_channel("e2e-viewer-to", storage=True)

    async def go() -> dict[str, Any]:
        driver = await Driver.start(it_session_bin, session_env(emu), "--channel-arn", arn,
                                    "--viewer", "viewer-5", "--check-answer", "0")
        try:
            offer = await driver.until("offer")
            await driver.send(cmd="answer", sdp=offer["sdp"], recipient="MASTER")
            return await driver.until("command_error")
        finally:
            await driver.stop()

    refused = asyncio.run(go())
    assert refused["status_name"] == "KVSWS_E_PARAM_VALIDATION" and "recipient" in refused["message"], refused
    assert emu.connections("e2e-viewer-to")[-1]["received_log"] == [], "the refused answer went out"


async def until_stats(driver: Driver) -> dict[str, Any]:
    """The driver's last line, after the main session closed: how long next_event(s, 0) took."""
    return await driver.until("stats", timeout=10.0)


def test_a_slow_connect_blocks_neither_next_event_nor_another_session(
        emu: Emulator, it_session_bin: Path) -> None:
    """DescribeSignalingChannel takes 3 s for the first session: its connect runs on the client's
    workers, so next_event(s, 0) keeps returning at once and a second session on the same loop
    gets its offer meanwhile; the slow one joins when the call comes back."""
    emu.add_channel("nb-slow", storage=True)
    fast_arn = emu.add_channel("nb-fast", storage=True)
    emu.fault(operation="DescribeSignalingChannel", delay_ms=3000, count=1)

    async def go() -> tuple[Driver, dict[str, Any]]:
        started = time.monotonic()
        driver = await Driver.start(it_session_bin, session_env(emu), "--channel-name", "nb-slow",
                                    "--also-channel-arn", fast_arn)
        try:
            await driver.until("offer", session=1)
            main = [e for e in driver.events if "session" not in e]
            assert [e.get("state") for e in main] == ["connecting"], driver.events
            assert time.monotonic() - started < 3.0
            await driver.until("offer", timeout=15.0)  # the slow one, once its call is back
            assert time.monotonic() - started >= 3.0
            await driver.send(cmd="close")
            await driver.until("closed")
            return driver, await until_stats(driver)
        finally:
            await driver.stop()

    driver, stats = asyncio.run(go())
    assert stats["max_next_event_ms"] < 100, stats
    kinds = [e["type"] for e in driver.events if "session" not in e]
    assert kinds[:4] == ["state", "ice_servers", "state", "offer"], kinds  # the order of old
    assert emu.calls("JoinStorageSession") == 2


def test_close_stops_a_slow_connect_promptly(emu: Emulator, it_session_bin: Path) -> None:
    """close() while the connect waits on a slow call: the worker's call is cancelled, the closed
    event comes within a fraction of a second, and the driver frees everything and exits."""
    emu.add_channel("nb-close", storage=True)
    emu.fault(operation="DescribeSignalingChannel", delay_ms=5000, count=1)

    async def go() -> tuple[dict[str, Any], float, dict[str, Any]]:
        driver = await Driver.start(it_session_bin, session_env(emu), "--channel-name", "nb-close")
        try:
            await driver.until("state", state="connecting")
            await asyncio.sleep(0.5)  # the call is out, waiting on the emulator
            sent = time.monotonic()
            await driver.send(cmd="close")
            closed = await driver.until("closed", timeout=5.0)
            took = time.monotonic() - sent
            return closed, took, await until_stats(driver)
        finally:
            await driver.stop()

    closed, took, stats = asyncio.run(go())
    assert took < 1.0, took
    assert closed["error"]["status_name"] == "KVSWS_E_CANCELLED", closed
    assert stats["max_next_event_ms"] < 100, stats
    assert emu.calls("JoinStorageSession") == 0


def test_stats_after_go_away(emu: Emulator, it_session_bin: Path) -> None:
    """kvsws_session_stats_json after a GO_AWAY: one reconnect, caused by GO_AWAY, two joins and
    two offers, the answers and candidates the app sent, and the WebSocket's traffic."""
    channel = "e2e-stats"
    emu.add_channel(channel, storage=True)
    got: dict[str, Any] = {}

    async def go_away_then_stats(driver: Driver, offers: list[float]) -> None:
        got["before"] = await ask_stats(driver)
        emu.signal(channel, "go_away")
        deadline = time.monotonic() + 30
        while len(offers) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert len(offers) == 2, "no new offer after GO_AWAY"
        await asyncio.to_thread(emu.wait_for_session, channel,
                                lambda s: s["video"]["frames"] >= 10, 30.0)
        # aiortc puts its candidates in the SDP: send one by hand, as a trickling app would.
        await driver.send(cmd="candidate", sdp_mid="0", sdp_mline_index=0,
                          candidate="candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host")
        deadline = time.monotonic() + 10
        while not any(e["type"] == "command_ok" and e["cmd"] == "candidate"
                      for e in driver.events):
            assert time.monotonic() < deadline, "the candidate was not sent"
            await asyncio.sleep(0.1)
        got["after"] = await ask_stats(driver)

    asyncio.run(run_streaming(emu, it_session_bin, channel, go_away_then_stats))
    before, after = got["before"], got["after"]
    assert before["joins_sent"] == 1 and before["offers_received"] == 1, before
    assert sum(before["reconnects"].values()) == 0 and before["last_error"] is None, before
    assert after["state"] == "connected", after
    assert after["joins_sent"] == 2 == emu.calls("JoinStorageSession"), after
    assert after["offers_received"] == 2 and after["answers_sent"] == 2, after
    assert after["reconnects"] == {"go_away": 1, "drop": 0, "idle": 0, "session_limit": 0,
                                   "ice_refresh": 0, "error": 0}, after
    assert after["last_error"]["code"] == "GoAway", after
    assert after["last_error"]["status_name"] == "KVSWS_E_SERVICE_UNAVAILABLE", after
    assert after["candidates_sent"] == 1 and after["candidates_received"] >= 1, after
    ws = after["websocket"]
    # In: at least the offers and the candidates received plus GO_AWAY; out: answers + candidates.
    assert ws["messages_in"] >= 3 + after["candidates_received"], after
    assert ws["messages_out"] == after["answers_sent"] + after["candidates_sent"], after
    assert ws["bytes_in"] > before["websocket"]["bytes_in"] > 0, (before, after)
    assert ws["bytes_out"] > before["websocket"]["bytes_out"] > 0, (before, after)
    assert 0 <= after["offer_from_join_ms"] <= after["offer_from_start_ms"] <= after["uptime_ms"]
    assert after["offer_from_start_ms"] > before["offer_from_start_ms"], (before, after)
    assert after["state_ms"] <= after["uptime_ms"] and after["backoff_ms"] == 0, after


def test_a_session_holds_at_most_four_fds_and_leaks_none(emu: Emulator, it_session_bin: Path) -> None:
    """Connected (the offer delivered), a session holds its epoll fd (the one the app polls), one
    timerfd (deadlines and wake-ups) and the WebSocket's socket (libcurl only connects it: no
    handle, and no socketpair beside it, outlives the connect); after close nothing is left,
    after the client neither."""
    channel = "fds-count"
    emu.add_channel(channel, storage=True)

    async def go() -> list[dict[str, Any]]:
        driver = await Driver.start(it_session_bin, session_env(emu), "--channel-name", channel)
        try:
            await driver.until("offer")
            await driver.send(cmd="fds")
            asked = await driver.until("fds", when="asked")
            await driver.send(cmd="close")
            freed = await driver.until("fds", when="session_freed")
            gone = await driver.until("fds", when="client_freed")
            return [asked, freed, gone]
        finally:
            await driver.stop()

    asked, freed, gone = asyncio.run(go())
    print("FDS", asked, freed, gone)
    assert asked["count"] - freed["count"] <= 4, (asked, freed)
    held = list(asked["fds"])
    for fd in freed["fds"]:
        if fd in held:
            held.remove(fd)
    assert sum(fd == "anon_inode:[eventpoll]" for fd in held) == 1, held
    assert sum(fd == "anon_inode:[timerfd]" for fd in held) == 1, held
    assert gone["count"] == gone["before_client"], gone


@pytest.mark.parametrize("sender", [None, "storage-peer"])
def test_candidates_before_the_answer_wait_for_it(emu: Emulator, it_session_bin: Path,
                                                  sender: str | None) -> None:
    """A candidate handed over before the answer (pion's OnICECandidate may fire first) is held
    and sent right after the answer: the service gets SDP_ANSWER, then ICE_CANDIDATE. A master's
    messages go to the offer's sender when it names one, else to no recipient."""
    emu.add_channel("e2e-order", storage=True)
    if sender is not None:
        emu.fault(operation="JoinStorageSession", sender_client_id=sender, count=1)
    candidate = "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"

    def received() -> list[dict[str, Any]]:
        log: list[dict[str, Any]] = emu.connections("e2e-order")[-1]["received_log"]
        return log

    async def go() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        driver = await Driver.start(it_session_bin, session_env(emu), "--channel-name", "e2e-order")
        peer = AppPeer()
        try:
            offer = await driver.until("offer")
            peer.set_ice_servers(next(e for e in driver.events if e["type"] == "ice_servers")["ice_servers"])
            await driver.send(cmd="candidate", candidate=candidate, sdp_mid="0", sdp_mline_index=0)
            await driver.until("command_ok", cmd="candidate")
            await asyncio.sleep(0.3)
            before = received()
            await driver.send(cmd="answer", sdp=await peer.answer(offer["sdp"]))
            await driver.until("command_ok", cmd="answer")
            await wait_until(lambda: len(received()) >= 2, 10, "the answer and the held candidate")
            return before, received()
        finally:
            await peer.close()
            await driver.stop()

    before, after = asyncio.run(go())
    assert before == [], before
    assert [m["action"] for m in after] == ["SDP_ANSWER", "ICE_CANDIDATE"], after
    assert all(m["recipientClientId"] == sender for m in after), after


def test_viewer_on_a_channel_without_storage(emu: Emulator, it_session_bin: Path) -> None:
    """A viewer does not ask DescribeMediaStorageConfiguration (README: Behaviour and divergences): its
    one endpoint lookup, asking for WEBRTC, is refused, and the error names that call and its id."""
    arn = emu.add_channel("e2e-viewer-nostorage", storage=False)

    async def go() -> dict[str, Any]:
        driver = await Driver.start(it_session_bin, session_env(emu), "--channel-arn", arn,
                                    "--viewer", "viewer-6")
        try:
            return await driver.until("closed")
        finally:
            await driver.stop()

    error = asyncio.run(go())["error"]
    lookups = emu.requests("GetSignalingChannelEndpoint")
    assert error["code"] == "InvalidArgumentException" and error["operation"] == "GetSignalingChannelEndpoint", error
    assert len(lookups) == 1 and error["request_id"] == lookups[0]["request_id"], (error, lookups)
    assert emu.calls("DescribeMediaStorageConfiguration") == 0 and emu.calls("ConnectAsViewer") == 0

# SPDX-License-Identifier: Apache-2.0
"""kvsws.StorageSession end to end against the emulator: the blocking iterator and the asyncio
interface, with an aiortc app peer streaming real H.264 + Opus to the emulator's storage peer; the
faults survived; the loop kept responsive; many sessions on one loop without a thread each."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import kvsws
from kvsws.exceptions import (
    ClientClosedError,
    ClientError,
    InvalidArgumentException,
    InvalidConfigError,
    KvswsError,
    ParamValidationError,
    ResourceNotFoundException,
    SessionClosedError,
    StorageNotEnabledError,
)
from kvsws.type_defs import SessionStats
from kvsws_emulator.app_peer import AppPeer, ViewerPeer, wait_until
from kvsws_emulator.testing import Emulator

from .conftest import ROOT
from .helpers import VIDEO_SIZE, Recorder, handle, make_client, serve

FRAMES = 30


def media(session: dict[str, Any]) -> tuple[int, int]:
    audio = max(session["audio"]["frames"], session.get("rtp", {}).get("audio", {}).get("packets", 0))
    return session["video"]["frames"], audio


async def stream(emu: Emulator, channel: str, during: Callable[[kvsws.StorageSession, Recorder], Awaitable[None]]
                 | None = None, frames: int = FRAMES, peer: AppPeer | None = None,
                 **options: Any) -> Recorder:
    """An asyncio application streaming on ``channel`` until the emulator decoded ``frames`` video
    frames and audio packets, then ``during`` (a fault and its recovery); closes everything."""
    peer = peer or AppPeer(video_size=VIDEO_SIZE)
    rec = Recorder()
    options.setdefault("offer_timeout", 3.0)
    with make_client(emu) as client:
        async with client.storage_session(channel_name=channel, **options) as session:
            task = asyncio.create_task(serve(session, peer, rec))
            try:
                await wait_until(lambda: rec.offers or task.done(), 30, "the offer")
                await asyncio.to_thread(emu.wait_for_media, channel, frames, frames, 30.0)
                if during is not None:
                    await during(session, rec)
            finally:
                await session.aclose()
                await asyncio.wait_for(task, 10)
                await peer.close()
    assert isinstance(rec.events[-1], kvsws.Closed) and rec.events[-1].error is None
    return rec


# --- before any I/O ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "words"), [
    ({}, "exactly one of channel ARN"),
    ({"channel_name": "a", "channel_arn": "arn:aws:kinesisvideo:us-west-2:123456789012:channel/a/1"},
     "exactly one of channel ARN"),
    ({"channel_arn": "not-an-arn"}, "channelArn"),
    ({"channel_name": ""}, "ChannelName"),
    ({"channel_name": "a", "role": "VIEWER"}, "client id"),
    ({"channel_name": "a", "client_id": "me"}, "VIEWER role only"),
])
def test_start_validates_before_io(emu: Emulator, kwargs: dict[str, Any], words: str) -> None:
    with make_client(emu) as client:
        session = client.storage_session(**kwargs)
        with pytest.raises(ParamValidationError) as info:
            session.start()
        assert words in str(info.value)
        session.close()
    assert emu.calls() == 0


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"role": "PRODUCER"}, ParamValidationError),
    ({"channel_name": 7}, ParamValidationError),
    ({"offer_timeout": 0.01}, InvalidConfigError),
    ({"offer_timeout": "6"}, InvalidConfigError),
    ({"max_join_attempts": 0}, InvalidConfigError),
    ({"ping_interval": 10_000}, InvalidConfigError),
    ({"check_answer": "yes"}, InvalidConfigError),
    ({"flood_limit": -1}, InvalidConfigError),
    ({"flood_limit": 2_000_000}, InvalidConfigError),
    ({"flood_limit": "200"}, InvalidConfigError),
])
def test_bad_options_raise_at_once(emu: Emulator, kwargs: dict[str, Any], error: type[Exception]) -> None:
    with make_client(emu) as client:
        kwargs.setdefault("channel_name", "a")
        with pytest.raises(error):
            kvsws.StorageSession(client, **kwargs)
    assert emu.calls() == 0


def test_closed_session_and_client(emu: Emulator) -> None:
    client = make_client(emu)
    session = client.storage_session(channel_name="nowhere")
    session.close()
    assert session.closed and session.state == "closed"
    with pytest.raises(SessionClosedError):
        session.send_answer("v=0")
    with pytest.raises(SessionClosedError):
        session.start()
    client.close()
    with pytest.raises(ClientClosedError):
        client.storage_session(channel_name="nowhere")
    assert emu.calls() == 0


def test_send_before_the_offer_is_refused(emu: Emulator) -> None:
    with make_client(emu) as client, client.storage_session(channel_name="nowhere") as session:
        with pytest.raises(kvsws.exceptions.KvswsError, match="not connected"):
            session.send_candidate("candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", "0", 0)


# --- errors arrive as Closed ------------------------------------------------------------------------


def test_missing_channel_closes_with_the_aws_error(emu: Emulator) -> None:
    with make_client(emu) as client, client.storage_session(channel_name="no-such-channel") as session:
        events = list(session.events(timeout=20))
    assert [type(e) for e in events] == [kvsws.StateChanged, kvsws.Closed]
    closed = events[-1]
    assert isinstance(closed, kvsws.Closed) and isinstance(closed.error, ResourceNotFoundException)
    assert closed.error.response["Error"]["Code"] == "ResourceNotFoundException"
    assert closed.error.operation_name == "DescribeSignalingChannel"
    assert session.next_event(0) is None and session.closed


def test_storage_disabled_is_a_clear_error(emu: Emulator) -> None:
    emu.add_channel("py-nostorage", storage=False)
    with make_client(emu) as client, client.storage_session(channel_name="py-nostorage") as session:
        closed = list(session.events(timeout=20))[-1]
    assert isinstance(closed, kvsws.Closed) and isinstance(closed.error, StorageNotEnabledError)
    assert isinstance(closed.error, KvswsError) and not isinstance(closed.error, ParamValidationError)
    assert closed.error.status == 300 and closed.error.code == "StorageNotEnabledError"
    assert closed.error.operation_name == "DescribeMediaStorageConfiguration" and not closed.error.retryable
    assert "no media storage" in str(closed.error)
    assert emu.calls("JoinStorageSession") == 0


def test_refused_websocket_names_connect_as_master(emu: Emulator) -> None:
    emu.add_channel("py-refused", storage=True)
    emu.fault(operation="ConnectAsMaster", error="NotAuthorizedException", count=1)
    with make_client(emu) as client, client.storage_session(channel_name="py-refused") as session:
        closed = list(session.events(timeout=20))[-1]
    assert isinstance(closed, kvsws.Closed) and isinstance(closed.error, ClientError)
    assert closed.error.operation_name == "ConnectAsMaster"
    assert "when calling the ConnectAsMaster operation" in str(closed.error)
    assert closed.error.response["ResponseMetadata"]["RequestId"] == emu.requests("ConnectAsMaster")[-1]["request_id"]


def test_service_status_names_the_answer(emu: Emulator) -> None:
    """The service refusing our answer: a ServiceStatus named after the SDP_ANSWER, the correlation id
    in response["Error"]["CorrelationId"]; a STATUS_RESPONSE for an id we never sent is dropped."""
    emu.add_channel("py-status", storage=True)
    foreign = json.dumps({"messageType": "STATUS_RESPONSE", "statusResponse": {
        "correlationId": "kvsws-77", "errorType": "InvalidArgumentException", "statusCode": "400",
        "description": "not ours"}})
    statuses: list[kvsws.ServiceStatus] = []
    with make_client(emu) as client, client.storage_session(channel_name="py-status", check_answer=False) as session:
        for event in session.events(timeout=20):
            if isinstance(event, kvsws.Offer):
                emu.signal("py-status", "send", text=foreign)
                session.send_answer(event.sdp.replace("H264/90000", "VP8/90000"))
            elif isinstance(event, kvsws.ServiceStatus):
                statuses.append(event)
                deadline = time.monotonic() + 0.5  # room for a wrongly delivered foreign one
                while (late := session.next_event(max(0.0, deadline - time.monotonic()))) is not None \
                        or time.monotonic() < deadline:
                    if isinstance(late, kvsws.ServiceStatus):
                        statuses.append(late)
                break
    assert len(statuses) == 1, statuses
    error = statuses[0].error
    assert isinstance(error, InvalidArgumentException) and isinstance(error, ClientError)
    assert error.operation_name == "SDP_ANSWER"
    assert str(error).startswith("An error occurred (InvalidArgumentException) when sending the SDP_ANSWER: ")
    assert error.response["Error"]["CorrelationId"] == "kvsws-1"
    assert error.response["ResponseMetadata"]["RequestId"] == ""
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# --- the blocking iterator ----------------------------------------------------------------------------


def test_blocking_iterator_streams_media(emu: Emulator) -> None:
    """``for event in session.events()`` on a thread of its own; the aiortc peer on an asyncio loop."""
    emu.add_channel("py-sync", storage=True)
    peer, rec = AppPeer(video_size=VIDEO_SIZE), Recorder()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with make_client(emu) as client:
            session = client.storage_session(channel_name="py-sync")

            def read() -> None:
                with session:
                    for event in session.events():
                        asyncio.run_coroutine_threadsafe(handle(session, peer, rec, event), loop).result()

            reader = threading.Thread(target=read)
            reader.start()
            try:
                await wait_until(lambda: rec.offers or not reader.is_alive(), 30, "the offer")
                await asyncio.to_thread(emu.wait_for_media, "py-sync", FRAMES, FRAMES, 30.0)
            finally:
                session.close()  # from another thread: the reader gets Closed at once
                await asyncio.to_thread(reader.join, 10)
                await peer.close()
            assert not reader.is_alive()

    asyncio.run(main())
    kinds = rec.kinds()
    assert kinds[:3] == ["StateChanged", "IceServers", "StateChanged"], kinds
    assert rec.states()[:3] == ["connecting", "joining", "connected"]
    assert kinds.count("Offer") == 1 and kinds[-1] == "Closed"
    ice = next(e for e in rec.events if isinstance(e, kvsws.IceServers))
    assert ice.servers and all(set(s) <= {"urls", "username", "credential"} for s in ice.servers)
    assert ice.ttl is not None and ice.ttl > 0
    offer = next(e for e in rec.events if isinstance(e, kvsws.Offer))
    assert offer.sender_id is None and "H264" in offer.sdp  # the storage service sends no sender id
    session = emu.sessions("py-sync")[-1]
    video, audio = media(session)
    assert video >= FRAMES and audio >= FRAMES
    assert session["codecs"]["video"]["mime"].lower() == "video/h264"
    assert session["codecs"]["audio"]["mime"].lower() == "audio/opus"
    assert emu.calls("JoinStorageSession") == 1


# --- the asyncio interface -------------------------------------------------------------------------------


def test_asyncio_streams_media_and_the_loop_stays_responsive(emu: Emulator) -> None:
    """The connect step makes blocking HTTPS calls (slowed down here to ~1.5 s in all): the loop
    must keep ticking meanwhile, since next_event runs off the loop."""
    emu.add_channel("py-async", storage=True)
    for operation in ("DescribeSignalingChannel", "DescribeMediaStorageConfiguration",
                      "GetSignalingChannelEndpoint", "GetIceServerConfig", "JoinStorageSession"):
        emu.fault(operation=operation, delay_ms=300, count=1)
    ticks: list[float] = []

    async def main() -> Recorder:
        stop = asyncio.Event()

        async def heartbeat() -> None:
            while not stop.is_set():
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        beat = asyncio.create_task(heartbeat())
        try:
            return await stream(emu, "py-async")
        finally:
            stop.set()
            await beat

    start = time.monotonic()
    rec = asyncio.run(main())
    offer_at = rec.times[rec.kinds().index("Offer")]
    assert offer_at - start >= 1.4, f"the slowed connect took only {offer_at - start:.2f} s: no faults?"
    connecting = [t for t in ticks if t <= offer_at]
    gap = max(b - a for a, b in zip(connecting, connecting[1:], strict=False))
    assert len(connecting) > 50 and gap <= 0.1, f"the event loop stalled for {gap * 1000:.0f} ms while connecting"
    assert rec.states()[:3] == ["connecting", "joining", "connected"]


def test_asyncio_next_event_with_timeout_and_cancel(emu: Emulator) -> None:
    emu.add_channel("py-timeout", storage=True)
    emu.fault(operation="JoinStorageSession", no_offer=True, count=1)

    async def main() -> list[kvsws.Event | None]:
        seen: list[kvsws.Event | None] = []
        with make_client(emu) as client:
            async with client.storage_session(channel_name="py-timeout", offer_timeout=30) as session:
                for _ in range(3):  # connecting, ice servers, joining
                    seen.append(await session.next_event_async(timeout=10))
                start = time.monotonic()
                seen.append(await session.next_event_async(timeout=0.3))  # no offer: nothing
                assert 0.25 <= time.monotonic() - start < 1.0
                waiter = asyncio.create_task(session.next_event_async())
                await asyncio.sleep(0.1)
                waiter.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiter
                assert session.state == "joining"
                await session.aclose()
                seen.append(await session.next_event_async(timeout=5))
                seen.append(await session.next_event_async(timeout=5))
        return seen

    seen = asyncio.run(main())
    assert [type(e).__name__ for e in seen] == ["StateChanged", "IceServers", "StateChanged", "NoneType",
                                                 "Closed", "NoneType"]


@pytest.mark.parametrize("action", ["go_away", "drop"])
def test_session_comes_back_with_a_new_offer(emu: Emulator, action: str) -> None:
    channel = f"py-{action}"
    emu.add_channel(channel, storage=True)

    async def fault(session: kvsws.StorageSession, rec: Recorder) -> None:
        before = len(emu.sessions(channel))
        emu.signal(channel, action)
        await wait_until(lambda: len(rec.offers) >= 2, 30, f"a new offer after {action}")
        await asyncio.to_thread(emu.wait_for_media, channel, 20, 20, 30.0)
        assert len(emu.sessions(channel)) > before

    rec = stream(emu, channel, fault)
    result = asyncio.run(rec)
    reconnecting = [e for e in result.events if isinstance(e, kvsws.StateChanged) and e.state == "reconnecting"]
    assert reconnecting and reconnecting[0].error is not None
    if action == "go_away":
        assert "GO_AWAY" in str(reconnecting[0].error)
    assert result.kinds().count("Offer") >= 2


def test_stats_after_go_away(emu: Emulator) -> None:
    """session.stats() after GO_AWAY: one reconnect caused by GO_AWAY, two joins, two offers and
    two answers; read from another thread while the loop runs; the final numbers after close."""
    channel = "py-stats"
    emu.add_channel(channel, storage=True)
    seen: dict[str, SessionStats] = {}
    holder: list[kvsws.StorageSession] = []

    async def fault(session: kvsws.StorageSession, rec: Recorder) -> None:
        holder.append(session)
        seen["before"] = await asyncio.to_thread(session.stats)  # any thread
        emu.signal(channel, "go_away")
        await wait_until(lambda: len(rec.offers) >= 2, 30, "a new offer after GO_AWAY")
        await asyncio.to_thread(emu.wait_for_media, channel, 10, 10, 30.0)
        seen["after"] = session.stats()

    asyncio.run(stream(emu, channel, fault))
    before, after = seen["before"], seen["after"]
    assert before["state"] == "connected" and before["joins_sent"] == 1 and before["offers_received"] == 1
    assert before["last_error"] is None and sum(before["reconnects"].values()) == 0
    assert after["state"] == "connected", after
    assert after["joins_sent"] == 2 == emu.calls("JoinStorageSession"), after
    assert after["offers_received"] == 2 and after["answers_sent"] == 2, after
    assert after["reconnects"] == {"go_away": 1, "drop": 0, "idle": 0, "session_limit": 0,
                                   "ice_refresh": 0, "error": 0}, after
    assert after["last_error"] is not None and after["last_error"]["code"] == "GoAway", after
    assert after["websocket"]["messages_out"] == 2 and after["websocket"]["bytes_in"] > 0, after
    assert after["offer_from_join_ms"] is not None and after["offer_from_start_ms"] is not None
    assert 0 <= after["offer_from_join_ms"] <= after["offer_from_start_ms"] <= after["uptime_ms"]
    final = holder[0].stats()  # closed and freed: what it had then
    assert final["offers_received"] == 2 and final["reconnects"]["go_away"] == 1, final


def test_stats_count_a_retried_join(emu: Emulator) -> None:
    """A JoinStorageSession the client retried after a 503 is two joins in the stats: each
    request may have reached the service (and cost an offer); no retry is hidden."""
    emu.add_channel("py-stats-retry", storage=True)
    emu.fault(operation="JoinStorageSession", status=503, count=1)
    with make_client(emu) as client, client.storage_session(channel_name="py-stats-retry") as session:
        for event in session.events(timeout=15):
            if isinstance(event, kvsws.Offer):
                break
        stats = session.stats()
    assert emu.calls("JoinStorageSession") == 2
    assert stats["joins_sent"] == 2 and stats["offers_received"] == 1, stats
    assert sum(stats["reconnects"].values()) == 0 and stats["last_error"] is None, stats


def test_stats_before_start(emu: Emulator) -> None:
    with make_client(emu) as client:
        session = client.storage_session(channel_name="py-stats-new")
        stats = session.stats()
        assert stats["state"] == "new" and stats["joins_sent"] == 0 and stats["last_error"] is None
        assert stats["offer_from_start_ms"] is None and stats["backoff_ms"] == 0
        session.close()
        assert session.stats()["state"] == "new"


def test_early_candidates_follow_their_offer(emu: Emulator) -> None:
    emu.add_channel("py-early", storage=True)
    emu.fault(operation="JoinStorageSession", candidates_first=True, count=1)
    rec = asyncio.run(stream(emu, "py-early"))
    kinds = rec.kinds()
    first_offer = kinds.index("Offer")
    assert "IceCandidate" in kinds[first_offer:] and "IceCandidate" not in kinds[:first_offer]
    candidate = next(e for e in rec.events if isinstance(e, kvsws.IceCandidate))
    assert candidate.candidate.startswith("candidate:") and candidate.sdp_mline_index is not None


def test_no_offer_means_join_again(emu: Emulator) -> None:
    emu.add_channel("py-nooffer", storage=True)
    emu.fault(operation="JoinStorageSession", no_offer=True, count=1)
    rec = asyncio.run(stream(emu, "py-nooffer", offer_timeout=1.0))
    assert emu.calls("JoinStorageSession") == 2
    assert rec.kinds().count("Offer") == 1


def test_give_up_after_max_join_attempts(emu: Emulator) -> None:
    emu.add_channel("py-giveup", storage=True)
    emu.fault(operation="JoinStorageSession", no_offer=True, count=2)
    with make_client(emu) as client:
        with client.storage_session(channel_name="py-giveup", offer_timeout=0.3, max_join_attempts=2) as session:
            closed = list(session.events(timeout=20))[-1]
    assert isinstance(closed, kvsws.Closed) and isinstance(closed.error, kvsws.exceptions.ClientError)
    assert closed.error.response["Error"]["Code"] == "NoOfferReceived"
    assert emu.calls("JoinStorageSession") == 2


def test_malformed_frames_are_ignored(emu: Emulator) -> None:
    emu.add_channel("py-garbage", storage=True)

    async def garbage(session: kvsws.StorageSession, rec: Recorder) -> None:
        before = emu.sessions("py-garbage")[-1]["video"]["frames"]
        emu.signal("py-garbage", "malformed")
        await asyncio.sleep(1.0)
        assert emu.sessions("py-garbage")[-1]["video"]["frames"] > before
        assert session.state == "connected"

    rec = asyncio.run(stream(emu, "py-garbage", garbage))
    assert "reconnecting" not in rec.states()


def test_reconnect_ice_server_delivers_new_servers(emu: Emulator) -> None:
    emu.add_channel("py-ice", storage=True)

    async def refresh(session: kvsws.StorageSession, rec: Recorder) -> None:
        emu.signal("py-ice", "reconnect_ice_server")
        await wait_until(lambda: rec.kinds().count("IceServers") >= 2, 10, "refreshed ICE servers")

    asyncio.run(stream(emu, "py-ice", refresh))
    assert emu.calls("GetIceServerConfig") == 2


def test_send_candidate_reaches_the_service(emu: Emulator) -> None:
    emu.add_channel("py-trickle", storage=True)

    async def trickle(session: kvsws.StorageSession, rec: Recorder) -> None:
        before = emu.sessions("py-trickle")[-1]["candidates"]["received"]
        session.send_candidate("candidate:9 1 udp 2130706431 127.0.0.1 9 typ host", "0", 0)
        await asyncio.to_thread(emu.wait_for_session, "py-trickle",
                                lambda s: s["candidates"]["received"] > before, 10.0)

    asyncio.run(stream(emu, "py-trickle", trickle))


@pytest.mark.parametrize(("codec", "audio", "words"), [("VP8", True, "H.264"), ("H264", False, "Opus")])
def test_wrong_answer_is_refused(emu: Emulator, codec: str, audio: bool, words: str) -> None:
    emu.add_channel("py-wrong", storage=True)
    peer, rec = AppPeer(video_codec=codec, send_audio=audio, video_size=VIDEO_SIZE), Recorder()

    async def main() -> None:
        with make_client(emu) as client:
            async with client.storage_session(channel_name="py-wrong") as session:
                async for event in session:
                    await handle(session, peer, rec, event)
                    if rec.answer_errors:
                        break
            await peer.close()

    asyncio.run(main())
    error = rec.answer_errors[0]
    assert isinstance(error, ParamValidationError)
    assert words in str(error) and "H.264" in str(error) and "Opus" in str(error)
    assert emu.sessions("py-wrong")[-1]["answers_received"] == 0


@pytest.mark.parametrize("talk", [True, False])
def test_viewer_session_receives_video_and_talks_back(emu: Emulator, talk: bool) -> None:
    """role="VIEWER": the storage session's offer goes to the viewer, whose answer (H.264 video to
    receive; Opus audio back, or listening only) passes the viewer rules; media flows."""
    emu.add_channel("py-viewer", storage=True)
    arn = emu.channel_arn("py-viewer")
    peer, rec = ViewerPeer(talk=talk), Recorder()

    async def main() -> None:
        with make_client(emu) as client:
            async with client.storage_session(channel_arn=arn, role="VIEWER", client_id="py-viewer-1",
                                              offer_timeout=3.0) as session:
                task = asyncio.create_task(serve(session, peer, rec))
                try:
                    await wait_until(lambda: peer.received["video"] >= 20 or task.done(), 30, "video at the viewer")
                    if talk:
                        await asyncio.to_thread(emu.wait_for_session, "py-viewer",
                                                lambda s: s["audio"]["frames"] >= 20, 30.0)
                finally:
                    await session.aclose()
                    await asyncio.wait_for(task, 10)
                    await peer.close()

    asyncio.run(main())
    assert not rec.answer_errors, rec.answer_errors
    assert peer.received["video"] >= 20
    viewer = emu.sessions("py-viewer")[-1]
    assert viewer["kind"] == "viewer" and viewer["client_id"] == "py-viewer-1" and not viewer["errors"]
    assert (viewer["audio"]["frames"] > 0) == talk


class VideoSendingViewer(ViewerPeer):
    """A wrong viewer: its answer claims to send video."""

    async def answer(self, offer_sdp: str) -> str:
        sdp = await super().answer(offer_sdp)
        video, audio = sdp.split("m=audio", 1)
        return video.replace("a=recvonly", "a=sendrecv") + "m=audio" + audio


def test_viewer_answer_that_sends_video_is_refused(emu: Emulator) -> None:
    """A viewer answering that it sends video gets the core's clear error, not the service's."""
    emu.add_channel("py-viewer-wrong", storage=True)
    arn = emu.channel_arn("py-viewer-wrong")
    peer, rec = VideoSendingViewer(), Recorder()

    async def main() -> None:
        with make_client(emu) as client:
            async with client.storage_session(channel_arn=arn, role="VIEWER", client_id="v2") as session:
                async for event in session:
                    await handle(session, peer, rec, event)
                    if rec.answer_errors:
                        break
            await peer.close()

    asyncio.run(asyncio.wait_for(main(), 60))
    error = rec.answer_errors[0]
    assert isinstance(error, ParamValidationError) and "sends video" in str(error) and "viewer" in str(error)
    assert emu.sessions("py-viewer-wrong")[-1]["answers_received"] == 0


# --- many sessions, one loop ---------------------------------------------------------------------------


def test_many_sessions_on_one_loop_without_a_thread_each(emu: Emulator) -> None:
    count = 20
    for i in range(count):
        emu.add_channel(f"py-many-{i}", storage=True)
    threads_before = threading.active_count()
    peak = 0

    async def one(session: kvsws.StorageSession, seen: list[str]) -> None:
        async for event in session:
            nonlocal peak
            peak = max(peak, threading.active_count())
            if isinstance(event, kvsws.StateChanged):
                seen.append(event.state)
            elif isinstance(event, kvsws.Offer):
                seen.append("offer")
                return

    async def main() -> list[list[str]]:
        with make_client(emu) as client:
            sessions = [client.storage_session(channel_name=f"py-many-{i}") for i in range(count)]
            seen: list[list[str]] = [[] for _ in range(count)]
            await asyncio.wait_for(asyncio.gather(*(one(s.start(), seen[i]) for i, s in enumerate(sessions))), 60)
            for session in sessions:
                await session.aclose()
        return seen

    seen = asyncio.run(main())
    assert all(s[:2] == ["connecting", "joining"] and "offer" in s for s in seen), seen
    assert peak - threads_before <= kvsws.session.POOL_THREADS and peak < count, (threads_before, peak)
    assert emu.calls("JoinStorageSession") == count


# --- lifecycle -------------------------------------------------------------------------------------------


def test_closing_the_client_closes_its_sessions(emu: Emulator) -> None:
    emu.add_channel("py-clientclose", storage=True)
    emu.fault(operation="JoinStorageSession", no_offer=True, count=1)
    client = make_client(emu)
    session = client.storage_session(channel_name="py-clientclose", offer_timeout=30)
    events = [session.next_event(10) for _ in range(3)]
    assert session.state == "joining", events
    client.close()  # the session holds the client's handle: nothing is freed under it
    closed = session.next_event(5)
    assert isinstance(closed, kvsws.Closed) and closed.error is None
    session.close()
    del session
    gc.collect()


def test_unclosed_session_is_freed_by_gc(emu: Emulator) -> None:
    emu.add_channel("py-gc", storage=True)
    with make_client(emu) as client:
        session = client.storage_session(channel_name="py-gc")
        assert isinstance(session.next_event(10), kvsws.StateChanged)
        del session
        gc.collect()
        assert not client._sessions


# --- the example ----------------------------------------------------------------------------------------


def test_example_streams_to_the_emulator(emu: Emulator) -> None:
    emu.add_channel("py-example", storage=True)
    script = ROOT / "examples" / "python" / "stream.py"
    proc = subprocess.run([sys.executable, str(script), "--channel-name", "py-example", "--duration", "4"],
                          env=emu.subprocess_env(), capture_output=True, text=True, timeout=60, cwd=Path("/"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "offer #1" in proc.stdout and "peer connected" in proc.stdout and "start -> first offer" in proc.stdout
    session = emu.sessions("py-example")[-1]
    video, audio = media(session)
    assert video >= FRAMES and audio >= FRAMES, json.dumps({k: session[k] for k in ("video", "audio", "rtp")})
    assert (session["video"]["width"], session["video"]["height"]) == (640, 480)


# --- the README's storage session snippet -------------------------------------------------------------


def test_readme_snippet_runs(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's blocking storage-session snippet, as written, with its two placeholders (the
    application's WebRTC stack) filled by the aiortc app peer; closed once media flowed."""
    from aiortc import RTCIceServer

    from .test_py_readme import python_blocks

    block = next(b for b in python_blocks() if "session.events()" in b)
    emu.add_channel("my-channel", storage=True)
    for name, value in emu.env().items():
        monkeypatch.setenv(name, value)
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    peer = AppPeer(video_size=VIDEO_SIZE)
    sessions: list[kvsws.StorageSession] = []
    printed: list[str] = []
    enter = kvsws.StorageSession.__enter__

    def remember(self: kvsws.StorageSession) -> kvsws.StorageSession:
        sessions.append(self)
        return enter(self)

    def answer_for(sdp: str, ice: list[RTCIceServer]) -> str:
        peer.ice_servers = ice
        return asyncio.run_coroutine_threadsafe(peer.answer(sdp), loop).result(30)

    def add_remote_candidate(candidate: str, sdp_mid: str | None, index: int | None) -> None:
        asyncio.run_coroutine_threadsafe(peer.add_candidate(candidate, sdp_mid, index), loop).result(30)

    def close_when_media_flowed() -> None:
        emu.wait_for_media("my-channel", FRAMES, FRAMES, 30.0)
        sessions[0].close()

    monkeypatch.setattr(kvsws.StorageSession, "__enter__", remember)
    watcher = threading.Thread(target=close_when_media_flowed)
    try:
        watcher.start()
        exec(block, {"RTCIceServer": RTCIceServer, "answer_for": answer_for,  # noqa: S102 - the README's code
                     "add_remote_candidate": add_remote_candidate,
                     "print": lambda *args: printed.append(" ".join(map(str, args)).strip())})
        watcher.join(30)
    finally:
        asyncio.run_coroutine_threadsafe(peer.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        runner.join(10)
        loop.close()
    assert printed[:3] == ["connecting", "joining", "connected"] and printed[-1] == "closed", printed

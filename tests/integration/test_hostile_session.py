# SPDX-License-Identifier: Apache-2.0
"""A storage session against a hostile signaling server (issue 10): the it_hostile driver (public C
API, next_event(s, 200) in a loop) against hostile_server.py (real TLS on loopback, raw frames).

The bounds asserted are the issue's "done when": under a message flood, an endless-continuation
flood and a ping flood the longest next_event(s, 200) is at most 1 s and the peak RSS at most
256 MB; close() from another thread during a flood delivers CLOSED within 1 s; invalid UTF-8 and
NUL never reach the application. The floods run with the flood limit off (0), so the bounds come
from the bounded work per call and not from the limit; one test runs with the default limit."""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import clean_env
from .hostile_server import GOOD_CANDIDATE, GOOD_SDP, GOOD_SENDER, ChannelStats, HostileServer

RUNS = itertools.count(1)  # each run its own channel, so the server's counts are that run's
LONGEST_NEXT_EVENT_MS = 1000
PEAK_RSS_MB = 256
CLOSE_LATENCY_MS = 1000


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileServer]:
    with HostileServer(tmp_path_factory.mktemp("hostile")) as server:
        yield server


@pytest.fixture(scope="module")
def it_hostile_bin(it_api_bin: Path) -> Path:
    return it_api_bin.parent / "it_hostile"


def run(server: HostileServer, binary: Path, mode: str, *args: str) -> tuple[dict[str, Any], ChannelStats, str]:
    """The driver's report, what the server saw for the channel, and the driver's stderr (logs)."""
    channel = f"{mode}.{next(RUNS)}"
    env = clean_env(None, **server.env(), KVSWS_IT_LOG_LEVEL="2")
    # On the ASan build: a smaller quarantine of freed memory, so the RSS bound measures kvsws.
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "quarantine_size_mb=32"]))
    proc = subprocess.run([str(binary), "--channel-arn", server.channel_arn(channel), *args], env=env,
                          capture_output=True, text=True, errors="replace", timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Sanitizer" not in proc.stderr and "runtime error" not in proc.stderr, proc.stderr[-4000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    print(mode, {k: report[k] for k in ("longest_next_event_ms", "peak_rss_mb", "close_latency_ms", "also_offer_ms",
                                        "events")})
    return report, server.stats(channel), proc.stderr


def assert_bounded(report: dict[str, Any]) -> None:
    assert report["longest_next_event_ms"] <= LONGEST_NEXT_EVENT_MS, report
    assert 0 < report["peak_rss_mb"] <= PEAK_RSS_MB, report
    assert report["bad_utf8"] == 0


def assert_closed_promptly(report: dict[str, Any]) -> None:
    """close() came from the other thread during the flood, and CLOSED followed within the bound."""
    assert report["closed_by_thread"], report["states"]
    assert 0 <= report["close_latency_ms"] <= CLOSE_LATENCY_MS, report
    assert report["states"][-1]["state"] == "closed"


def reconnect_reasons(report: dict[str, Any]) -> list[str]:
    return [s["message"] for s in report["states"] if s["state"] == "reconnecting"]


def test_message_flood(hostile: HostileServer, it_hostile_bin: Path) -> None:
    report, stats, _ = run(hostile, it_hostile_bin, "message-flood", "--flood-limit", "0", "--close-at-ms", "2000",
                           "--run-ms", "4000")
    assert_bounded(report)
    assert_closed_promptly(report)
    # The flood was real and reached the application, whole, while the session stayed up.
    assert report["events"]["ice_candidate"] >= 1000, report["events"]
    assert set(report["candidates"]) == {GOOD_CANDIDATE}
    assert reconnect_reasons(report) == [] and stats.connections == 1


def test_flooded_session_does_not_starve_its_neighbour(hostile: HostileServer, it_hostile_bin: Path) -> None:
    """Two sessions on one thread and one client: the first is flooded (no limit), the second's
    server behaves. The second gets its offer as soon as it would alone."""
    report, _, _ = run(hostile, it_hostile_bin, "message-flood", "--flood-limit", "0", "--run-ms", "2500",
                       "--also-channel-arn", hostile.channel_arn("good"))
    assert_bounded(report)
    assert report["events"]["ice_candidate"] >= 1000, report["events"]  # the flood was on
    assert 0 < report["also_offer_ms"] <= 2000, report
    assert report["also_longest_next_event_ms"] <= LONGEST_NEXT_EVENT_MS, report


def test_slow_application_gets_backpressure_not_a_queue(hostile: HostileServer, it_hostile_bin: Path) -> None:
    """The application takes 2 ms per event: nothing is read while events wait, so the server's
    writes block (TCP backpressure) instead of kvsws queueing the flood."""
    report, stats, _ = run(hostile, it_hostile_bin, "message-flood", "--flood-limit", "0", "--event-delay-ms", "2",
                           "--close-at-ms", "1500", "--run-ms", "3000")
    assert_bounded(report)
    assert_closed_promptly(report)
    delivered = report["events"].get("ice_candidate", 0)
    assert 0 < delivered <= 1000, report["events"]  # 1.5 s at 2 ms an event, at most
    # What the server could write beyond that is what the socket buffers hold, not the flood.
    assert stats.frames_sent - delivered < 200_000, (stats.frames_sent, delivered)


def test_endless_continuation_frames(hostile: HostileServer, it_hostile_bin: Path) -> None:
    report, stats, _ = run(hostile, it_hostile_bin, "continuation-flood", "--flood-limit", "0", "--close-at-ms",
                           "2000", "--run-ms", "4000")
    assert_bounded(report)
    assert_closed_promptly(report)
    reasons = reconnect_reasons(report)
    assert reasons and all("fragmented message spans more frames than the limit" in r and
                           "1008 Policy Violation" in r for r in reasons), reasons
    assert stats.close_codes and set(stats.close_codes) <= {1008, 1000}, stats.close_codes


def test_ping_flood_leaves_timers_running(hostile: HostileServer, it_hostile_bin: Path) -> None:
    """The server only pings, as fast as it can: no offer comes, and the offer timer must still fire
    (JoinStorageSession again) and close() still work."""
    report, stats, _ = run(hostile, it_hostile_bin, "ping-flood", "--flood-limit", "0", "--offer-timeout", "1000",
                           "--close-at-ms", "2600", "--run-ms", "4000")
    assert_bounded(report)
    assert_closed_promptly(report)
    assert stats.joins >= 2, "the rejoin timer did not run during the ping flood"
    assert stats.connections == 1 and reconnect_reasons(report) == []


def test_flood_limit_closes_1008_and_backs_off(hostile: HostileServer, it_hostile_bin: Path) -> None:
    """With the default flood limit (200 frames/s, bursts of 2000) a flood ends the connection with
    1008, and the reconnects back off instead of feeding the flood (offer or not)."""
    report, stats, _ = run(hostile, it_hostile_bin, "message-flood", "--close-at-ms", "3500", "--run-ms", "5000")
    assert_bounded(report)
    assert_closed_promptly(report)
    reasons = reconnect_reasons(report)
    assert reasons and all("faster than the flood limit" in r and "1008 Policy Violation" in r for r in reasons)
    assert set(stats.close_codes) <= {1008, 1000} and 1008 in stats.close_codes, stats.close_codes
    # Without the growing backoff (an offer resets the ordinary one) this would be 7 or more.
    assert 2 <= stats.connections <= 5, stats.connections


def test_refused_messages_never_reach_the_application(hostile: HostileServer, it_hostile_bin: Path) -> None:
    """Invalid UTF-8 in the SDP and a candidate, \\u0000 in the SDP, a candidate and the
    senderClientId, and invalid senderClientIds: each refused whole with a WARN line; the good
    offer and candidate after them arrive intact and the answer goes to their sender."""
    report, stats, logs = run(hostile, it_hostile_bin, "refused-messages", "--answer", "--run-ms", "1500")
    assert report["offers"] == [GOOD_SDP]
    assert report["candidates"] == [GOOD_CANDIDATE]
    assert set(report["senders"]) == {GOOD_SENDER}
    assert report["bad_utf8"] == 0
    assert [s["state"] for s in report["states"]] == ["connecting", "joining", "connected", "closed"]
    assert report["answer_status"] == "KVSWS_OK"
    assert [a.get("recipientClientId") for a in stats.answers if a.get("action") == "SDP_ANSWER"] == [GOOD_SENDER]
    for says in ("the messagePayload is not valid UTF-8",
                 "a NUL character (\\u0000) in a string of the messagePayload",
                 "a NUL character (\\u0000) in a string of the message",
                 "senderClientId must be 1-256 characters of [a-zA-Z0-9_.-]"):
        assert f"refused a signaling message: {says}" in logs, logs[-3000:]
    assert "\ufffd" not in logs  # no raw invalid byte was printed


def test_invalid_utf8_text_frame_fails_1007(hostile: HostileServer, it_hostile_bin: Path) -> None:
    report, stats, logs = run(hostile, it_hostile_bin, "bad-utf8-frame", "--run-ms", "2500")
    reasons = reconnect_reasons(report)
    assert len(reasons) == 1 and "a text message is not valid UTF-8" in reasons[0] and \
        "1007 Invalid Payload Data" in reasons[0], reasons
    assert stats.close_codes[0] == 1007
    assert report["offers"] == [GOOD_SDP]  # the next connection's offer: the session recovered
    assert report["bad_utf8"] == 0 and "\ufffd" not in logs


def test_reserved_close_code_1005_is_a_protocol_error(hostile: HostileServer, it_hostile_bin: Path) -> None:
    report, stats, _ = run(hostile, it_hostile_bin, "close-1005", "--run-ms", "2500")
    reasons = reconnect_reasons(report)
    assert len(reasons) == 1 and "carries 1005" in reasons[0] and "1002 Protocol Error" in reasons[0], reasons
    assert stats.close_codes[0] == 1002
    assert report["offers"] == [GOOD_SDP]

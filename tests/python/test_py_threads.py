# SPDX-License-Identifier: Apache-2.0
"""One client shared by many threads: the GIL is released around every call, so blocking calls run
in parallel; closing the client cancels what is still running and never frees it under a call."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import kvsws
from kvsws.exceptions import CallCancelledError, ClientClosedError
from kvsws_emulator.testing import Emulator

from .helpers import make_client

DELAY_S = 0.5


def test_blocking_calls_run_in_parallel(emu: Emulator, client: kvsws.Client, arn: str) -> None:
    """8 calls that each wait 0.5 s on the server, from 8 threads: about one call's time if the
    GIL is released, 4 s if it is not."""
    threads = 8
    client.describe_signaling_channel(ChannelARN=arn)  # warm: connections and credentials
    emu.fault(operation="DescribeSignalingChannel", delay_ms=int(DELAY_S * 1000), count=threads)
    barrier = threading.Barrier(threads)

    def one(_: int) -> float:
        barrier.wait()
        start = time.monotonic()
        client.describe_signaling_channel(ChannelARN=arn)
        return time.monotonic() - start

    start = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        each = list(pool.map(one, range(threads)))
    elapsed = time.monotonic() - start
    assert min(each) >= DELAY_S * 0.9  # the delay really happened to every call
    assert elapsed < 2.0, f"{threads} calls of {DELAY_S} s took {elapsed:.2f} s: the GIL was held"


def test_python_runs_while_a_call_blocks(emu: Emulator, client: kvsws.Client, arn: str) -> None:
    """The calling thread waits in C; the interpreter keeps running Python elsewhere meanwhile."""
    emu.fault(operation="DescribeSignalingChannel", delay_ms=1000, count=1)
    worker = threading.Thread(target=client.describe_signaling_channel, kwargs={"ChannelARN": arn})
    worker.start()
    time.sleep(0.1)
    ticks, start = 0, time.monotonic()
    while worker.is_alive() and time.monotonic() - start < 0.5:
        ticks += 1
    worker.join()
    assert ticks > 10_000  # the loop ran freely: the GIL was not held by the call


def test_sixteen_threads_share_one_client(emu: Emulator, client: kvsws.Client, arn: str) -> None:
    threads, per_thread = 16, 10
    ops = ["DescribeSignalingChannel", "DescribeMediaStorageConfiguration", "GetIceServerConfig",
           "JoinStorageSession"]

    def worker(i: int) -> int:
        done = 0
        for j in range(per_thread):
            op = ops[(i + j) % len(ops)]
            if op == "DescribeSignalingChannel":
                assert client.describe_signaling_channel(ChannelARN=arn)["ChannelInfo"]["ChannelARN"] == arn
            elif op == "DescribeMediaStorageConfiguration":
                assert client.describe_media_storage_configuration(ChannelARN=arn)
            elif op == "GetIceServerConfig":
                assert client.get_ice_server_config(ChannelARN=arn)["IceServerList"]
            else:
                assert client.join_storage_session(channelArn=arn) is None
            done += 1
        return done

    with ThreadPoolExecutor(threads) as pool:
        assert sum(pool.map(worker, range(threads))) == threads * per_thread
    # endpoint_url names the control plane only: the join's WEBRTC and the ICE call's HTTPS
    # endpoints are looked up (threads that miss the cache at once may each look up)
    assert emu.calls() - emu.calls("GetSignalingChannelEndpoint") == threads * per_thread
    assert emu.calls("GetSignalingChannelEndpoint") >= 2


def test_errors_stay_with_their_call(emu: Emulator, client: kvsws.Client, arn: str) -> None:
    """Each call's error is its own (never thread-local state): half the threads fail, half not."""
    emu.fault(operation="DescribeMediaStorageConfiguration", error="ResourceNotFoundException",
              message="per-call", count=8)

    def failing(_: int) -> str:
        with pytest.raises(kvsws.exceptions.ResourceNotFoundException) as info:
            client.describe_media_storage_configuration(ChannelARN=arn)
        return str(info.value.response["Error"]["Message"])

    def passing(_: int) -> str:
        return client.describe_signaling_channel(ChannelARN=arn)["ChannelInfo"]["ChannelName"]

    with ThreadPoolExecutor(16) as pool:
        bad = [pool.submit(failing, i) for i in range(8)]
        good = [pool.submit(passing, i) for i in range(8)]
        assert {f.result() for f in bad} == {"per-call"}
        assert {f.result() for f in good} == {"py-channel"}


def test_context_manager_and_close(emu: Emulator, arn: str) -> None:
    with make_client(emu) as c:
        assert not c.closed
        c.describe_signaling_channel(ChannelARN=arn)
    assert c.closed and "closed" in repr(c)
    with pytest.raises(ClientClosedError, match="closed"):
        c.describe_signaling_channel(ChannelARN=arn)
    c.close()  # twice is fine
    assert emu.calls() == 1


def test_close_cancels_running_calls(emu: Emulator, arn: str) -> None:
    emu.fault(operation="DescribeSignalingChannel", delay_ms=2500, count=4)
    c = make_client(emu)
    c.describe_media_storage_configuration(ChannelARN=arn)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            c.describe_signaling_channel(ChannelARN=arn)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=call) for _ in range(4)]
    for w in workers:
        w.start()
    time.sleep(0.3)
    start = time.monotonic()
    c.close()
    for w in workers:
        w.join(timeout=5)
    assert time.monotonic() - start < 2.0
    assert len(errors) == 4 and all(isinstance(e, CallCancelledError) for e in errors), errors
    with pytest.raises(ClientClosedError):
        c.describe_signaling_channel(ChannelARN=arn)


def test_garbage_collected_client(emu: Emulator, arn: str) -> None:
    import gc

    for _ in range(50):
        make_client(emu).describe_media_storage_configuration(ChannelARN=arn)
    gc.collect()
    assert emu.calls() == 50


INTERRUPT = """
import os, signal, sys, threading, time
import kvsws
signal.signal(signal.SIGINT, signal.default_int_handler)  # Python leaves SIGINT ignored when started in the background
client = kvsws.Client()
sent = []
def interrupt():
    sent.append(time.monotonic())
    os.kill(os.getpid(), signal.SIGINT)
threading.Timer(0.5, interrupt).start()
try:
    client.describe_signaling_channel(ChannelARN=sys.argv[1])
    print("not interrupted")
except KeyboardInterrupt:
    print("interrupted after", round(time.monotonic() - sent[0], 3))
client.describe_media_storage_configuration(ChannelARN=sys.argv[1])  # the client still works
client.close()
print("ok")
"""


def test_ctrl_c_cancels_a_call_on_the_main_thread(emu: Emulator, arn: str) -> None:
    """A call on the main thread waits in a way Ctrl-C interrupts: the call is cancelled at once
    (the core's wait runs Python's signal handlers every time it wakes, at least every 50 ms)
    instead of running to the end of the server's 5 s delay."""
    emu.fault(operation="DescribeSignalingChannel", delay_ms=5000, count=1)
    proc = subprocess.run([sys.executable, "-c", INTERRUPT, arn], env=emu.subprocess_env(), capture_output=True,
                          text=True, timeout=60, check=False)
    said = f"stdout: {proc.stdout!r}, stderr: {proc.stderr[-2000:]!r}"
    assert proc.returncode == 0, said
    first, second = proc.stdout.split("\n")[:2]
    assert first.startswith("interrupted after"), said
    assert float(first.split()[-1]) < 1.0, f"the call ended {first.split()[-1]} s after SIGINT: {said}"
    assert second == "ok", said


HANDLED = """
import os, signal, sys, threading
import kvsws
seen = []
signal.signal(signal.SIGUSR1, lambda signum, frame: seen.append(threading.current_thread().name))
client = kvsws.Client()
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGUSR1)).start()
out = client.describe_signaling_channel(ChannelARN=sys.argv[1])
print(out["ChannelInfo"]["ChannelName"], seen, threading.active_count())
"""


def test_a_signal_handler_that_returns_lets_the_call_finish(emu: Emulator, arn: str) -> None:
    """A handler that does not raise runs during the call (on the main thread, as Python runs
    every handler) and the call goes on to its answer."""
    emu.fault(operation="DescribeSignalingChannel", delay_ms=1000, count=1)
    proc = subprocess.run([sys.executable, "-c", HANDLED, arn], env=emu.subprocess_env(), capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["py-channel", "['MainThread']", "1"], proc.stdout


def test_a_main_thread_call_runs_on_the_main_thread(emu: Emulator, client: kvsws.Client, arn: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """No helper thread: the core's log lines of a call made on the main thread come from it, and
    no thread is started for it."""
    assert threading.current_thread() is threading.main_thread()
    before = {t.ident for t in threading.enumerate()}
    with caplog.at_level(logging.DEBUG, logger="kvsws"):
        client.describe_signaling_channel(ChannelARN=arn)
    threads = {r.threadName for r in caplog.records if r.name == "kvsws"}
    assert threads == {"MainThread"}, threads
    assert {t.ident for t in threading.enumerate()} == before


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_an_interrupt_inside_a_log_line_ends_the_call(emu: Emulator, client: kvsws.Client, arn: str) -> None:
    """Signal handlers also run inside Python code the call runs on the main thread (the "kvsws"
    logger's handlers): a KeyboardInterrupt there ends the call too, instead of being swallowed
    as a broken log handler's error."""

    class Interrupting(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise KeyboardInterrupt

    logger = logging.getLogger("kvsws")
    handler = Interrupting(logging.DEBUG)
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with pytest.raises(KeyboardInterrupt):
            client.describe_signaling_channel(ChannelARN=arn)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert client.describe_signaling_channel(ChannelARN=arn)["ChannelInfo"]["ChannelName"] == "py-channel"

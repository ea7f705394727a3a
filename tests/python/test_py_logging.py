# SPDX-License-Identifier: Apache-2.0
"""Logging through the standard logging module (logger "kvsws"): the core's lines arrive on the
calling thread, and a secret never appears, even at DEBUG."""

from __future__ import annotations

import logging
import threading

import pytest

from kvsws_emulator.testing import Emulator

from .helpers import make_client

SECRET = "py-logging-secret-DO-NOT-PRINT-0123456789"
TOKEN = "py-logging-token-DO-NOT-PRINT+/="


def test_debug_shows_signing_but_never_a_secret(emu: Emulator, arn: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="kvsws"):
        emu.add_credentials("ASIAPYLOGGING", SECRET, TOKEN)
        client = make_client(emu, aws_access_key_id="ASIAPYLOGGING", aws_secret_access_key=SECRET,
                             aws_session_token=TOKEN)
        with client:
            client.describe_signaling_channel(ChannelARN=arn)
            client.join_storage_session(channelArn=arn)
            emu.fault(operation="GetIceServerConfig", error="NotAuthorizedException", count=1)
            with pytest.raises(client.exceptions.NotAuthorizedException):
                client.get_ice_server_config(ChannelARN=arn)
    records = [r for r in caplog.records if r.name == "kvsws"]
    text = "\n".join(r.getMessage() for r in records)
    assert "CanonicalRequest" in text and "StringToSign" in text  # DEBUG really reached the core
    assert "DescribeSignalingChannel: HTTP 200" in text and "NotAuthorizedException" in text
    calls = [r for r in records if ": HTTP " in r.getMessage()]
    assert calls and {r.levelno for r in calls} == {logging.DEBUG}  # per call: DEBUG, as botocore
    assert SECRET not in text and TOKEN not in text
    assert SECRET not in caplog.text and TOKEN not in caplog.text


def test_quiet_by_default(emu: Emulator, arn: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kvsws"):
        with make_client(emu) as client:
            client.describe_signaling_channel(ChannelARN=arn)
    assert [r for r in caplog.records if r.name == "kvsws"] == []


def test_lines_arrive_on_the_calling_thread(emu: Emulator, arn: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="kvsws"):
        client = make_client(emu)
        worker = threading.Thread(target=client.describe_signaling_channel, kwargs={"ChannelARN": arn},
                                  name="kvsws-log-test")
        worker.start()
        worker.join()
        client.close()
    calls = [r for r in caplog.records if r.name == "kvsws" and "DescribeSignalingChannel" in r.getMessage()]
    assert calls and all(r.threadName == "kvsws-log-test" for r in calls)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_broken_handler_never_breaks_a_call(emu: Emulator, arn: str) -> None:
    class Broken(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise RuntimeError("broken handler")

        def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
            raise RuntimeError("broken handler")

    logger = logging.getLogger("kvsws")
    handler, old_level = Broken(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with make_client(emu) as client:
            assert client.describe_signaling_channel(ChannelARN=arn)["ChannelInfo"]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)

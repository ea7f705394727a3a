# SPDX-License-Identifier: Apache-2.0
"""Logging through the standard logging module (logger "kvsws"): the core's lines arrive on the
calling thread, a secret never appears, even at DEBUG; a NullHandler keeps an unconfigured app's
stderr clean; the logger's level is followed on every call; calls log at DEBUG, as botocore's.
And a ClientError's ResponseMetadata.HTTPHeaders."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading

import pytest

import kvsws
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


# --- library etiquette: a NullHandler, the level followed on every call, botocore's levels -----------


def test_import_attaches_a_null_handler() -> None:
    handlers = logging.getLogger("kvsws").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_an_unconfigured_app_gets_no_kvsws_warning_on_stderr() -> None:
    # Without a handler on the way, logging's last resort prints a WARNING to stderr.
    code = ("import logging, kvsws\n"
            "logging.getLogger('kvsws').warning('clock skew corrected: probe')\n"
            "logging.getLogger('kvsws-other').warning('unhandled: probe')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "clock skew" not in proc.stderr
    assert "unhandled: probe" in proc.stderr  # the same line on a logger without one does land there


def test_logging_imported_after_kvsws_still_gets_every_line(emu: Emulator, arn: str) -> None:
    """kvsws does not import logging; an application that imports and configures it later (even
    after creating its client) gets the core's lines, and the NullHandler is in place by then."""
    code = (f"import sys, kvsws\n"
            f"client = kvsws.Client(region_name={emu.region!r}, endpoint_url={emu.endpoint!r}, "
            f"aws_access_key_id={emu.access_key_id!r}, aws_secret_access_key={emu.secret_access_key!r}, "
            f"verify={emu.ca_bundle!r})\n"
            "assert 'logging' not in sys.modules\n"
            "client.describe_signaling_channel(ChannelARN=" + repr(arn) + ")\n"
            "import logging\n"
            "logging.basicConfig(level=logging.DEBUG, format='%(name)s %(levelname)s %(message)s')\n"
            "client.describe_signaling_channel(ChannelARN=" + repr(arn) + ")\n"
            "print([type(h).__name__ for h in logging.getLogger('kvsws').handlers])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['NullHandler']"
    lines = [line for line in proc.stderr.splitlines() if "DescribeSignalingChannel: HTTP 200" in line]
    assert lines == [lines[0]] and lines[0].startswith("kvsws DEBUG ")  # the second call only


def test_level_raised_after_the_client_exists(emu: Emulator, arn: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="kvsws")
    with make_client(emu) as client:
        client.describe_signaling_channel(ChannelARN=arn)
        assert [r for r in caplog.records if r.name == "kvsws"] == []
        with caplog.at_level(logging.DEBUG, logger="kvsws"):
            client.describe_signaling_channel(ChannelARN=arn)
            raised = [r for r in caplog.records if r.name == "kvsws"]
        assert any(r.levelno == logging.DEBUG and "DescribeSignalingChannel: HTTP 200" in r.getMessage()
                   for r in raised)
        assert any(r.levelno == logging.DEBUG and r.getMessage().startswith("CanonicalRequest") for r in raised)
        caplog.clear()
        client.describe_signaling_channel(ChannelARN=arn)  # back at WARNING: quiet again
        assert [r for r in caplog.records if r.name == "kvsws"] == []


def test_a_call_is_quiet_at_info(emu: Emulator, arn: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="kvsws"), make_client(emu) as client:
        client.describe_signaling_channel(ChannelARN=arn)
        client.join_storage_session(channelArn=arn)
        client.sign_request("kinesisvideo", "GET", "https://example.com/")
    assert [r.getMessage() for r in caplog.records if r.name == "kvsws"] == []


def test_a_session_logs_states_at_info_and_its_end_on_an_error_at_error(
        emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="kvsws")
    with make_client(emu) as client, client.storage_session(channel_name="nowhere") as session:
        caplog.set_level(logging.DEBUG, logger="kvsws")  # raised after the client and session exist
        closed = None
        for event in session.events(timeout=30):
            if isinstance(event, kvsws.Closed):
                closed = event
                break
    assert closed is not None and closed.error is not None
    records = [r for r in caplog.records if r.name == "kvsws"]
    assert any(r.levelno == logging.INFO and r.getMessage().endswith(": connecting") for r in records)
    assert any(r.levelno == logging.ERROR and ": closed: " in r.getMessage()
               and "ResourceNotFoundException" in r.getMessage() for r in records)
    assert any(r.levelno == logging.DEBUG and "DescribeSignalingChannel: HTTP 404" in r.getMessage()
               for r in records)


# --- ClientError.response["ResponseMetadata"]["HTTPHeaders"], as botocore fills it ---------------------


def test_client_error_carries_the_http_headers(emu: Emulator, arn: str) -> None:
    emu.fault(operation="DescribeSignalingChannel", error="ResourceNotFoundException", message="gone", count=1)
    with make_client(emu) as client, pytest.raises(client.exceptions.ResourceNotFoundException) as info:
        client.describe_signaling_channel(ChannelARN=arn)
    metadata = info.value.response["ResponseMetadata"]
    headers = metadata["HTTPHeaders"]
    assert metadata["RequestId"] and headers["x-amzn-requestid"] == metadata["RequestId"]
    assert headers["content-type"].startswith("application/")
    assert int(headers["content-length"]) > 0
    assert headers["date"].endswith(" GMT")
    assert all(name == name.lower() for name in headers)
    assert all(isinstance(value, str) for value in headers.values())


def test_a_response_carries_the_http_headers(emu: Emulator, arn: str) -> None:
    with make_client(emu) as client:
        metadata = client.describe_signaling_channel(ChannelARN=arn)["ResponseMetadata"]
    headers = metadata["HTTPHeaders"]
    assert metadata["RequestId"] and headers["x-amzn-requestid"] == metadata["RequestId"]
    assert headers["content-type"].startswith("application/") and int(headers["content-length"]) > 0

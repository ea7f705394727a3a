# SPDX-License-Identifier: Apache-2.0
"""AWS IoT X.509 credentials in Python, against the emulator's mutual TLS stand-in: a client and a
storage session with real media configured only by the six variables the KVS C SDK's samples use;
the same through the client's iot_* arguments; short-lived credentials fetched again before they
expire; errors as the credential exceptions, naming the file or the HTTP answer, never a secret."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

import kvsws
from kvsws.exceptions import CredentialRetrievalError, ParamValidationError
from kvsws_emulator.app_peer import AppPeer, wait_until
from kvsws_emulator.testing import Emulator

from .helpers import VIDEO_SIZE, Recorder, quick, serve

ALIAS = "PyCameraRoleAlias"
FETCH = "AssumeRoleWithCertificate"
REFRESH_MARGIN = 300  # seconds before expiry the client asks again (call.c)


@pytest.fixture()
def thing(emu: Emulator, request: pytest.FixtureRequest) -> dict[str, str]:
    emu.add_iot_role_alias(ALIAS)
    return emu.add_iot_thing("py-" + request.node.name[5:60].replace("[", "-").replace("]", ""))


@pytest.fixture()
def iot_env(emu: Emulator, thing: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The region, the control plane's endpoint, and the six IoT variables: no keys, no CA bundle."""
    env = {"AWS_REGION": emu.region, "AWS_ENDPOINT_URL_KINESIS_VIDEO": emu.endpoint, **emu.iot_env(thing, ALIAS)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def call_key(emu: Emulator, client: kvsws.Client, arn: str) -> str:
    client.describe_signaling_channel(ChannelARN=arn)
    record = emu.requests("DescribeSignalingChannel")[-1]
    assert record["verified"] and record["status"] == 200, record
    return str(record["access_key_id"])


def test_iot_credentials_from_the_six_variables_refreshed(emu: Emulator, iot_env: dict[str, str],
                                                          thing: dict[str, str], arn: str) -> None:
    lifetime = REFRESH_MARGIN + 3
    emu.add_iot_role_alias(ALIAS, lifetime_seconds=lifetime)
    with kvsws.Client(config=quick()) as client:
        first = call_key(emu, client, arn)
        issued_at = time.time()
        assert call_key(emu, client, arn) == first  # still fresh: no second fetch
        assert emu.calls(FETCH) == 1
        time.sleep(max(0.0, issued_at + lifetime - REFRESH_MARGIN + 0.5 - time.time()))
        second = call_key(emu, client, arn)
        assert second != first
        assert emu.calls(FETCH) == 2
    principals = {i["access_key_id"]: i["principal"] for i in emu.iot_state()["issued"]}
    assert principals[first] == principals[second] == f"{thing['thing_name']}/{ALIAS}"
    assert [r["params"]["thing_name"] for r in emu.requests(FETCH)] == [thing["thing_name"]] * 2


def test_iot_arguments(emu: Emulator, thing: dict[str, str], arn: str) -> None:
    with kvsws.Client(region_name=emu.region, endpoint_url=emu.endpoint, verify=emu.ca_bundle,
                      iot_credential_endpoint=f"https://{emu.iot_endpoint}", iot_cert_file=Path(thing["cert_file"]),
                      iot_private_key_file=thing["key_file"], iot_role_alias=ALIAS,
                      iot_thing_name=thing["thing_name"]) as client:
        key = call_key(emu, client, arn)
    assert key in {i["access_key_id"] for i in emu.iot_state()["issued"]}


def test_arguments_given_in_part_are_refused_before_io(emu: Emulator, thing: dict[str, str]) -> None:
    with pytest.raises(ParamValidationError) as err:
        kvsws.Client(region_name=emu.region, iot_credential_endpoint=emu.iot_endpoint,
                     iot_thing_name=thing["thing_name"])
    assert "Missing KVSWS_OPT_IOT_CERT_FILE" in str(err.value)
    assert emu.calls() == 0


def test_errors_name_the_file_or_the_answer(emu: Emulator, iot_env: dict[str, str], thing: dict[str, str],
                                            arn: str, monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG, logger="kvsws")
    emu.iot_fault("ForbiddenException")
    with kvsws.Client(config=quick()) as client, pytest.raises(CredentialRetrievalError) as denied:
        client.describe_signaling_channel(ChannelARN=arn)
    assert "AWS IoT credentials provider" in str(denied.value) and "HTTP 403: Access Denied" in str(denied.value)

    missing = tmp_path / "private.key"
    monkeypatch.setenv("AWS_IOT_CORE_PRIVATE_KEY", str(missing))
    with kvsws.Client(config=quick()) as client, pytest.raises(ParamValidationError) as unreadable:
        client.describe_signaling_channel(ChannelARN=arn)
    assert f'Cannot read the private key (AWS_IOT_CORE_PRIVATE_KEY) "{missing}"' in str(unreadable.value)
    assert emu.calls(FETCH) == 1 and emu.calls("DescribeSignalingChannel") == 0
    key_line = Path(thing["key_file"]).read_text().splitlines()[1]
    assert key_line not in caplog.text and key_line not in str(denied.value)


def test_storage_session_on_iot_credentials(emu: Emulator, iot_env: dict[str, str]) -> None:
    """A storage session streaming real H.264 + Opus, on credentials from the IoT stand-in alone."""
    emu.add_channel("py-iot-session", storage=True)
    peer, rec = AppPeer(video_size=VIDEO_SIZE), Recorder()

    async def main() -> None:
        with kvsws.Client(config=quick()) as client:
            async with client.storage_session(channel_name="py-iot-session", offer_timeout=3.0) as session:
                task = asyncio.create_task(serve(session, peer, rec))
                try:
                    await wait_until(lambda: rec.offers or task.done(), 30, "the offer")
                    await asyncio.to_thread(emu.wait_for_media, "py-iot-session", 10, 10, 30.0)
                finally:
                    await session.aclose()
                    await asyncio.wait_for(task, 10)
                    await peer.close()

    asyncio.run(main())
    assert emu.calls(FETCH) == 1
    issued = {i["access_key_id"] for i in emu.iot_state()["issued"]}
    upgrade = emu.requests("ConnectAsMaster")[-1]
    assert upgrade["verified"] and upgrade["access_key_id"] in issued

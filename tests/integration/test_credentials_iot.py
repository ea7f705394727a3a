# SPDX-License-Identifier: Apache-2.0
"""The AWS IoT credentials provider from the C core, against the emulator's mutual TLS stand-in
(``--iot-port``), configured only by the six variables the KVS C SDK's samples use: the kvsws CLI's
calls and a C storage session with real media on IoT credentials; a certificate from another CA, a
403, short-lived credentials refreshed, a key file that cannot be read (before any I/O), a partial
configuration; no secret in any output."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from kvsws_emulator import tlsgen
from kvsws_emulator.app_peer import AppPeer, wait_until
from kvsws_emulator.testing import Emulator

from .helpers import clean_env, run_api, run_cli
from .test_session_c import Driver, serve

ALIAS = "KvsCameraIoTRoleAlias"
FETCH = "AssumeRoleWithCertificate"  # what the stand-in records each credentials request as
REFRESH_MARGIN = 300  # seconds before expiry the core asks again (call.c)


@pytest.fixture()
def thing(emu: Emulator, request: pytest.FixtureRequest) -> dict[str, str]:
    """A thing named after the test, with a device certificate and key from the emulator's CA."""
    emu.add_iot_role_alias(ALIAS)
    return emu.add_iot_thing("cam-" + re.sub(r"[^a-zA-Z0-9_-]", "-", request.node.name[5:60]))


def iot_env(emu: Emulator, thing: dict[str, str], **extra: str) -> dict[str, str]:
    """The region and the control plane's endpoint, then only the six IoT variables: no keys, no
    profile, no AWS_CA_BUNDLE (AWS_KVS_CACERT_PATH is the CA file, as in the KVS C SDK)."""
    env = clean_env(None, AWS_REGION=emu.region, AWS_ENDPOINT_URL_KINESIS_VIDEO=emu.endpoint,
                    AWS_MAX_ATTEMPTS="1")
    env.update(emu.iot_env(thing, ALIAS))
    env.update(extra)
    return env


def describe(kvsws: Path, env: dict[str, str], *args: str) -> Any:
    return run_cli(kvsws, [*args, "describe-signaling-channel", "--channel-name", "demo-channel"], env)


def fetches(emu: Emulator) -> list[dict[str, Any]]:
    return emu.requests(FETCH)


def assert_no_secret(emu: Emulator, thing: dict[str, str], *outputs: str) -> None:
    """Neither the device's private key nor any secret or token the stand-in issued appears."""
    secrets = [Path(thing["key_file"]).read_text().splitlines()[1]]
    for issued in emu.iot_state(secrets=True)["secrets"].values():
        secrets += [issued["secret_access_key"], issued["session_token"]]
    assert len(secrets) >= 3
    for text in outputs:
        for secret in secrets:
            assert secret[:16] not in text and secret[-16:] not in text


def test_cli_calls_run_on_iot_credentials(emu: Emulator, kvsws_bin: Path, thing: dict[str, str]) -> None:
    out = describe(kvsws_bin, iot_env(emu, thing), "--debug")
    assert out.returncode == 0, out.stderr
    assert '"ChannelName": "demo-channel"' in out.stdout
    [fetch] = fetches(emu)
    assert fetch["status"] == 200 and fetch["path"] == f"/role-aliases/{ALIAS}/credentials"
    # The device's certificate on the TLS connection, its thing name in the header.
    assert fetch["params"] == {"role_alias": ALIAS, "thing_name": thing["thing_name"],
                               "certificate": thing["thing_name"]}
    call = emu.requests("DescribeSignalingChannel")[-1]
    assert call["verified"] and call["status"] == 200
    issued = {i["access_key_id"]: i for i in emu.iot_state()["issued"]}
    assert issued[call["access_key_id"]]["principal"] == f"{thing['thing_name']}/{ALIAS}"
    assert_no_secret(emu, thing, out.stdout, out.stderr)


@pytest.mark.parametrize("form", ["host:port", "https URL"])
def test_the_endpoint_as_a_url(emu: Emulator, kvsws_bin: Path, thing: dict[str, str], form: str) -> None:
    endpoint = emu.iot_endpoint if form == "host:port" else f"https://{emu.iot_endpoint}/"
    out = describe(kvsws_bin, iot_env(emu, thing, AWS_IOT_CORE_CREDENTIAL_ENDPOINT=endpoint))
    assert out.returncode == 0, out.stderr
    assert len(fetches(emu)) == 1


def test_iot_wins_over_environment_keys(emu: Emulator, kvsws_bin: Path, thing: dict[str, str]) -> None:
    env = iot_env(emu, thing, AWS_ACCESS_KEY_ID=emu.access_key_id, AWS_SECRET_ACCESS_KEY=emu.secret_access_key)
    assert describe(kvsws_bin, env).returncode == 0
    assert emu.requests("DescribeSignalingChannel")[-1]["access_key_id"] != emu.access_key_id
    assert len(fetches(emu)) == 1


def test_a_certificate_from_another_ca_is_refused(emu: Emulator, kvsws_bin: Path, thing: dict[str, str],
                                                  tmp_path: Path) -> None:
    other = tlsgen.generate(tmp_path)  # a CA the stand-in does not trust
    cert, key = tmp_path / "rogue.pem", tmp_path / "rogue.key"
    tlsgen.client_certificate(other.ca_cert, other.ca_key, thing["thing_name"], cert, key)
    out = describe(kvsws_bin, iot_env(emu, thing, AWS_IOT_CORE_CERT=str(cert), AWS_IOT_CORE_PRIVATE_KEY=str(key)))
    assert out.returncode == 253, out.stderr
    assert "AWS IoT credentials provider" in out.stderr and emu.iot_endpoint in out.stderr
    assert ("the endpoint ended the connection without an answer, as it does for a device certificate it "
            f'did not accept (AWS_IOT_CORE_CERT "{cert}": is it registered with AWS IoT and active?)') in out.stderr
    assert fetches(emu) == [] and emu.calls("DescribeSignalingChannel") == 0
    assert key.read_text().splitlines()[1] not in out.stderr


def test_403_names_the_http_answer(emu: Emulator, kvsws_bin: Path, thing: dict[str, str]) -> None:
    emu.iot_fault("ForbiddenException")
    out = describe(kvsws_bin, iot_env(emu, thing))
    assert out.returncode == 253, out.stderr
    [fetch] = fetches(emu)
    assert (f"Error when retrieving credentials from the AWS IoT credentials provider (https://{emu.iot_endpoint}"
            f"/role-aliases/{ALIAS}/credentials, thing {thing['thing_name']}): HTTP 403: Access Denied "
            f"(role alias {ALIAS}, request id {fetch['request_id']}, 1 attempt)") in out.stderr
    assert emu.calls("DescribeSignalingChannel") == 0


def test_a_5xx_is_tried_again_and_stays_retryable(emu: Emulator, kvsws_bin: Path, it_api_bin: Path,
                                                  thing: dict[str, str]) -> None:
    emu.iot_fault("ServiceUnavailableException", count=3)
    out = describe(kvsws_bin, iot_env(emu, thing))
    assert out.returncode == 253, out.stderr
    assert [f["status"] for f in fetches(emu)] == [503] * 3
    assert (f"): HTTP 503: Service unavailable (role alias {ALIAS}, request id {fetches(emu)[-1]['request_id']}, "
            "3 attempts)") in out.stderr
    # The error object keeps the last answer's status and says it may pass.
    emu.iot_fault("ServiceUnavailableException", count=3)
    r = run_api(it_api_bin, "call", "DescribeSignalingChannel", {"ChannelARN": emu.add_channel("demo-channel")},
                iot_env(emu, thing))
    assert (r["status_name"], r["http_status"], r["retryable"]) == ("KVSWS_E_CREDENTIAL_RETRIEVAL", 503, True), r


def test_a_wrong_thing_name_is_the_services_answer(emu: Emulator, kvsws_bin: Path, thing: dict[str, str]) -> None:
    out = describe(kvsws_bin, iot_env(emu, thing, AWS_IOT_CORE_THING_NAME="not-this-thing"))
    assert out.returncode == 253
    assert "HTTP 400: Invalid thing name passed" in out.stderr


def test_an_unreadable_key_fails_before_any_io(emu: Emulator, kvsws_bin: Path, thing: dict[str, str],
                                                tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "private.key"
    out = describe(kvsws_bin, iot_env(emu, thing, AWS_IOT_CORE_PRIVATE_KEY=str(missing)))
    assert out.returncode == 252, out.stderr
    assert (f'Cannot read the private key (AWS_IOT_CORE_PRIVATE_KEY) "{missing}": No such file or directory'
            in out.stderr)
    assert emu.calls() == 0  # not even the credentials endpoint


def test_a_partial_configuration_names_what_is_missing(emu: Emulator, kvsws_bin: Path,
                                                       thing: dict[str, str]) -> None:
    env = iot_env(emu, thing)
    del env["AWS_IOT_CORE_ROLE_ALIAS"], env["AWS_IOT_CORE_CREDENTIAL_ENDPOINT"]
    out = describe(kvsws_bin, env)
    assert out.returncode == 253
    assert ("Partial AWS IoT credentials configuration in the environment, missing: "
            "AWS_IOT_CORE_CREDENTIAL_ENDPOINT, AWS_IOT_CORE_ROLE_ALIAS") in out.stderr
    assert emu.calls() == 0


async def stream_then_go_away(emu: Emulator, binary: Path, env: dict[str, str], channel: str,
                              wait_before_go_away: float) -> Driver:
    """it_session streaming on ``channel``; after ``wait_before_go_away`` s a GO_AWAY, and media again."""
    driver = await Driver.start(binary, env, "--channel-name", channel, "--offer-timeout", "3000")
    peer, offers, stop = AppPeer(), [], asyncio.Event()
    task = asyncio.create_task(serve(driver, peer, offers, stop))
    try:
        await asyncio.to_thread(emu.wait_for_media, channel, 10, 10, 30.0)
        await asyncio.sleep(wait_before_go_away)
        emu.signal(channel, "go_away")
        await wait_until(lambda: len(offers) >= 2, 30, "a new offer after GO_AWAY")
        await asyncio.to_thread(emu.wait_for_session, channel, lambda s: s["video"]["frames"] >= 10, 30.0)
    finally:
        stop.set()
        await task
        await peer.close()
        await driver.stop()
    return driver


def test_c_session_on_iot_credentials_refreshed(emu: Emulator, it_api_bin: Path, thing: dict[str, str]) -> None:
    """A C storage session on IoT credentials that are due for a refresh 3 s after they are issued:
    media flows; after GO_AWAY the reconnect presigns the WebSocket with a second set, fetched again
    over mutual TLS, and media flows again."""
    lifetime = REFRESH_MARGIN + 3
    emu.add_iot_role_alias(ALIAS, lifetime_seconds=lifetime)
    emu.add_channel("iot-c-session", storage=True)
    env = iot_env(emu, thing)
    t0 = time.time()
    driver = asyncio.run(stream_then_go_away(emu, it_api_bin.parent / "it_session",
                                             dict(env, KVSWS_IT_LOG_LEVEL="4"), "iot-c-session",
                                             max(0.0, t0 + 3.5 - time.time())))
    got = fetches(emu)
    assert len(got) >= 2 and all(f["status"] == 200 for f in got), got
    upgrades = emu.requests("ConnectAsMaster")
    assert len(upgrades) >= 2 and all(u["verified"] for u in upgrades)
    assert upgrades[0]["access_key_id"] != upgrades[-1]["access_key_id"]
    issued = {i["access_key_id"]: i for i in emu.iot_state()["issued"]}
    assert {issued[u["access_key_id"]]["principal"] for u in upgrades} == {f"{thing['thing_name']}/{ALIAS}"}
    assert_no_secret(emu, thing, driver.stderr, json.dumps(driver.events))

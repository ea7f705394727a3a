# SPDX-License-Identifier: Apache-2.0
"""Assume-role, web identity and SSO credentials in a long-lived Python client: they expire, and the
client gets new ones through the credential chain before the next call needs them (300 s early, as
the SDKs do), re-reading a rotated web identity token file each time. Against the emulator's STS and
SSO portal stand-ins; every file lives under tmp_path."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path

import pytest

import kvsws
from kvsws.exceptions import CredentialRetrievalError, InvalidConfigError
from kvsws_emulator.app_peer import AppPeer, wait_until
from kvsws_emulator.testing import Emulator

from .helpers import VIDEO_SIZE, Recorder, quick, serve

ROLE = "arn:aws:iam::123456789012:role/py-camera"
REFRESH_MARGIN = 300  # seconds before expiry the client asks again (call.c)


@pytest.fixture()
def sts_env(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Endpoints and CA at the emulator, the AWS files and HOME in tmp_path, no keys anywhere."""
    for name, value in {"AWS_REGION": emu.region, "AWS_CA_BUNDLE": emu.ca_bundle,
                        "AWS_ENDPOINT_URL_KINESIS_VIDEO": emu.endpoint, "AWS_ENDPOINT_URL_STS": emu.endpoint,
                        "AWS_ENDPOINT_URL_SSO": emu.endpoint, "HOME": str(tmp_path),
                        "AWS_CONFIG_FILE": str(tmp_path / "config"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")}.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "credentials").write_text(f"[base]\naws_access_key_id = {emu.access_key_id}\n"
                                          f"aws_secret_access_key = {emu.secret_access_key}\n")
    (tmp_path / "config").write_text(f"[profile camera]\nrole_arn = {ROLE}\nsource_profile = base\n")
    return tmp_path


def call_key(emu: Emulator, client: kvsws.Client, arn: str) -> str:
    client.describe_signaling_channel(ChannelARN=arn)
    record = emu.requests("DescribeSignalingChannel")[-1]
    assert record["verified"] and record["status"] == 200, record
    return str(record["access_key_id"])


def principal(emu: Emulator, key: str) -> str:
    return str(next(i for i in emu.issued() if i["access_key_id"] == key)["principal"])


def test_role_credentials_are_reused_then_refreshed(emu: Emulator, sts_env: Path, arn: str) -> None:
    lifetime = REFRESH_MARGIN + 3
    emu.add_role(ROLE, trusted=[emu.access_key_id], lifetime_seconds=lifetime)
    with kvsws.Client(profile_name="camera") as client:
        first = call_key(emu, client, arn)
        issued_at = time.time()
        assert principal(emu, first) == ROLE
        assert call_key(emu, client, arn) == first  # still fresh: no second AssumeRole
        assert emu.calls("AssumeRole") == 1
        time.sleep(max(0.0, issued_at + lifetime - REFRESH_MARGIN + 0.5 - time.time()))
        second = call_key(emu, client, arn)
        assert second != first and principal(emu, second) == ROLE
        assert emu.calls("AssumeRole") == 2


def test_expired_credentials_are_replaced(emu: Emulator, sts_env: Path, arn: str) -> None:
    emu.add_role(ROLE, trusted=[emu.access_key_id], lifetime_seconds=2)
    with kvsws.Client(profile_name="camera") as client:
        first = call_key(emu, client, arn)
        time.sleep(2.5)  # the emulator now refuses `first` (ExpiredTokenException)
        second = call_key(emu, client, arn)
        assert second != first and principal(emu, second) == ROLE
    assert all(r["verified"] for r in emu.requests("DescribeSignalingChannel"))


def test_web_identity_token_file_is_read_again(emu: Emulator, sts_env: Path, arn: str) -> None:
    token = sts_env / "token"
    token.write_text("eyJ.first-token.sig")
    emu.add_role(ROLE, web_identity_token="eyJ.first-token.sig", lifetime_seconds=2)
    (sts_env / "config").write_text(f"[profile pod]\nrole_arn = {ROLE}\nweb_identity_token_file = {token}\n")
    with kvsws.Client(profile_name="pod") as client:
        first = call_key(emu, client, arn)
        # The kubelet rotates the token; the old one stops working.
        token.write_text("eyJ.second-token.sig")
        emu.add_role(ROLE, web_identity_token="eyJ.second-token.sig", lifetime_seconds=2)
        time.sleep(2.5)
        second = call_key(emu, client, arn)
        assert second != first
    tokens = [r["params"]["WebIdentityToken"] for r in emu.requests("AssumeRoleWithWebIdentity")]
    assert tokens == ["eyJ.first-token.sig", "eyJ.second-token.sig"]


def test_sso_profile(emu: Emulator, sts_env: Path, arn: str) -> None:
    emu.add_sso_assignment("py-sso-token", "111122223333", "PyCamera")
    (sts_env / "config").write_text(
        "[profile sso]\nsso_session = py\nsso_account_id = 111122223333\nsso_role_name = PyCamera\n"
        "[sso-session py]\nsso_start_url = https://py.awsapps.com/start\nsso_region = us-east-1\n")
    cache = sts_env / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    (cache / f"{hashlib.sha1(b'py').hexdigest()}.json").write_text(json.dumps(
        {"accessToken": "py-sso-token", "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                    time.gmtime(time.time() + 600))}))
    with kvsws.Client(profile_name="sso") as client:
        assert principal(emu, call_key(emu, client, arn)) == "111122223333/PyCamera"


def test_errors_are_the_credential_exceptions(emu: Emulator, sts_env: Path, arn: str) -> None:
    emu.add_role(ROLE, trusted=[emu.access_key_id])
    emu.sts_fault("AccessDenied", operation="AssumeRole", message="not this time")
    with kvsws.Client(profile_name="camera") as client, pytest.raises(CredentialRetrievalError) as err:
        client.describe_signaling_channel(ChannelARN=arn)
    assert f"assume-role (profile camera, role {ROLE}): An error occurred (AccessDenied)" in str(err.value)
    (sts_env / "config").write_text(f"[profile camera]\nrole_arn = {ROLE}\nsource_profile = camera\n")
    with kvsws.Client(profile_name="camera") as client, pytest.raises(InvalidConfigError) as loop:
        client.describe_signaling_channel(ChannelARN=arn)
    assert "Infinite loop in credential configuration detected" in str(loop.value)


def test_storage_session_reconnects_with_fresh_credentials(emu: Emulator, sts_env: Path) -> None:
    """A storage session on short-lived role credentials: after they expired (the emulator refuses
    them), a GO_AWAY's reconnect presigns the WebSocket with new ones and media flows again."""
    emu.add_role(ROLE, trusted=[emu.access_key_id], lifetime_seconds=3)
    emu.add_channel("py-sts-session", storage=True)
    peer, rec = AppPeer(video_size=VIDEO_SIZE), Recorder()

    async def main() -> None:
        with kvsws.Client(profile_name="camera", config=quick()) as client:
            async with client.storage_session(channel_name="py-sts-session", offer_timeout=3.0) as session:
                task = asyncio.create_task(serve(session, peer, rec))
                try:
                    await asyncio.to_thread(emu.wait_for_media, "py-sts-session", 10, 10, 30.0)
                    await asyncio.sleep(3.5)  # the credentials that signed the WebSocket have expired
                    emu.signal("py-sts-session", "go_away")
                    await wait_until(lambda: len(rec.offers) >= 2 or task.done(), 30, "a new offer")
                    await asyncio.to_thread(emu.wait_for_session, "py-sts-session",
                                            lambda s: s["video"]["frames"] >= 10, 30.0)
                finally:
                    await session.aclose()
                    await asyncio.wait_for(task, 10)
                    await peer.close()

    asyncio.run(main())
    upgrades = emu.requests("ConnectAsMaster")
    assert len(upgrades) >= 2 and all(u["verified"] for u in upgrades), upgrades
    first, last = upgrades[0], upgrades[-1]
    issued = {i["access_key_id"]: i for i in emu.issued()}
    # The reconnect came after the first key had expired, and was signed (and accepted) with a key
    # that was still valid then: the old one would have been refused.
    assert last["time"] > issued[first["access_key_id"]]["expiration"]
    assert issued[last["access_key_id"]]["expiration"] > last["time"]
    assert issued[last["access_key_id"]]["principal"] == ROLE

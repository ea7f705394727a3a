# SPDX-License-Identifier: Apache-2.0
"""Credential and region sources, as boto3 finds them: explicit arguments, the environment, the
shared credentials file and its profiles, the config file's credential_process. Every test writes
its own files under tmp_path; the developer's ~/.aws never takes part (see conftest)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

import kvsws
from kvsws.exceptions import CredentialRetrievalError, InvalidConfigError, NoCredentialsError
from kvsws_emulator.testing import Emulator


@pytest.fixture()
def emu_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Region, control-plane endpoint and CA from the environment, but no keys."""
    monkeypatch.setenv("AWS_REGION", emu.region)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emu.endpoint)
    monkeypatch.setenv("AWS_CA_BUNDLE", emu.ca_bundle)
    return emu


def used_key(emu: Emulator) -> str:
    return str(emu.requests()[-1]["access_key_id"])


def describe(arn: str, **kwargs: object) -> None:
    with kvsws.Client(**kwargs) as client:  # type: ignore[arg-type]
        client.describe_signaling_channel(ChannelARN=arn)


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_environment_keys(emu_env: Emulator, arn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", emu_env.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", emu_env.secret_access_key)
    describe(arn)
    assert used_key(emu_env) == emu_env.access_key_id


def test_default_region_variable(emu_env: Emulator, arn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", emu_env.region)
    with kvsws.Client(aws_access_key_id=emu_env.access_key_id,
                      aws_secret_access_key=emu_env.secret_access_key) as client:
        assert client.meta.region_name == emu_env.region


def test_session_token_from_environment(emu_env: Emulator, arn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    key, secret, token = "ASIAPYTHONTEST", "python-test-secret-0123456789", "IQoJb3JpZ2luX2VjE+/=token"
    emu_env.add_credentials(key, secret, token)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    describe(arn)
    assert used_key(emu_env) == key and "x-amz-security-token" in emu_env.requests()[-1]["signed_headers"]
    monkeypatch.setenv("AWS_SESSION_TOKEN", "wrong")
    with pytest.raises(kvsws.exceptions.UnrecognizedClientException):
        describe(arn, config=kvsws.Config(retries={"total_max_attempts": 1}))


def test_explicit_keys_beat_the_environment(emu_env: Emulator, arn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDNOTKNOWN")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    describe(arn, aws_access_key_id=emu_env.access_key_id, aws_secret_access_key=emu_env.secret_access_key)
    assert used_key(emu_env) == emu_env.access_key_id


def test_shared_credentials_file_profiles(emu_env: Emulator, arn: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    emu_env.add_credentials("AKIDPROFILECAM", "profile-cam-secret")
    creds = write(tmp_path / "credentials", f"""
        [default]
        aws_access_key_id = {emu_env.access_key_id}
        aws_secret_access_key = {emu_env.secret_access_key}

        [cam]
        aws_access_key_id = AKIDPROFILECAM
        aws_secret_access_key = profile-cam-secret
        """)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    describe(arn)
    assert used_key(emu_env) == emu_env.access_key_id  # [default]
    describe(arn, profile_name="cam")
    assert used_key(emu_env) == "AKIDPROFILECAM"
    monkeypatch.setenv("AWS_PROFILE", "cam")
    describe(arn)
    assert used_key(emu_env) == "AKIDPROFILECAM"
    # As in boto3: a profile given to the client beats keys in the environment.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDNOTKNOWN")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    describe(arn, profile_name="cam")
    assert used_key(emu_env) == "AKIDPROFILECAM"


def test_unknown_profile(emu_env: Emulator, arn: str) -> None:
    with pytest.raises(InvalidConfigError, match="no-such-profile"):
        describe(arn, profile_name="no-such-profile")


def credential_process_script(tmp_path: Path, payload: dict[str, object] | None, exit_code: int = 0) -> str:
    script = tmp_path / "creds.py"
    script.write_text(textwrap.dedent(f"""
        import json, sys
        payload = {payload!r}
        if payload is not None:
            print(json.dumps(payload))
        print("credential helper says no", file=sys.stderr)
        sys.exit({exit_code})
        """), encoding="utf-8")
    return f"{sys.executable} {script}"


def test_credential_process_and_profile_region(emu: Emulator, arn: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    emu.add_credentials("ASIAPROCESS", "process-secret-0123", "process-token/+=")
    command = credential_process_script(tmp_path, {"Version": 1, "AccessKeyId": "ASIAPROCESS",
                                                   "SecretAccessKey": "process-secret-0123",
                                                   "SessionToken": "process-token/+=",
                                                   "Expiration": "2999-01-01T00:00:00Z"})
    config = write(tmp_path / "config", f"""
        [profile proc]
        region = {emu.region}
        credential_process = {command}
        """)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_ENDPOINT_URL", emu.endpoint)
    with kvsws.Client(profile_name="proc", verify=emu.ca_bundle) as client:
        assert client.meta.region_name == emu.region  # from the profile
        client.describe_signaling_channel(ChannelARN=arn)
        client.describe_media_storage_configuration(ChannelARN=arn)
    assert [r["access_key_id"] for r in emu.requests()] == ["ASIAPROCESS", "ASIAPROCESS"]


def test_credential_process_failure(emu: Emulator, arn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    command = credential_process_script(tmp_path, None, exit_code=3)
    config = write(tmp_path / "config", f"""
        [default]
        credential_process = {command}
        """)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    with kvsws.Client(region_name=emu.region, endpoint_url=emu.endpoint, verify=emu.ca_bundle) as client:
        with pytest.raises(CredentialRetrievalError) as info:
            client.describe_signaling_channel(ChannelARN=arn)
    assert "exited with status 3" in str(info.value) and info.value.code == "CredentialRetrievalError"
    assert emu.state()["requests"] == []


def test_credential_process_bad_json(emu: Emulator, arn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    command = credential_process_script(tmp_path, {"Version": 1, "AccessKeyId": "ASIAONLY"})
    config = write(tmp_path / "config", f"[default]\ncredential_process = {command}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    with kvsws.Client(region_name=emu.region, endpoint_url=emu.endpoint, verify=emu.ca_bundle) as client:
        with pytest.raises(CredentialRetrievalError):
            client.describe_signaling_channel(ChannelARN=arn)


def test_nothing_anywhere(emu_env: Emulator, arn: str) -> None:
    with pytest.raises(NoCredentialsError) as info:
        describe(arn)
    message = str(info.value)
    assert "environment" in message and "credentials file" in message and "config file" in message


def test_session_token_in_the_json_is_never_in_an_error(emu: Emulator, arn: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A credential_process whose output is rejected: the error does not quote what it printed."""
    secret = "SECRET-NEVER-SHOWN-123"
    command = credential_process_script(tmp_path, {"Version": 2, "AccessKeyId": "ASIAX", "SecretAccessKey": secret})
    config = write(tmp_path / "config", f"[default]\ncredential_process = {command}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    with kvsws.Client(region_name=emu.region, endpoint_url=emu.endpoint, verify=emu.ca_bundle) as client:
        with pytest.raises(CredentialRetrievalError) as info:
            client.describe_signaling_channel(ChannelARN=arn)
    assert secret not in str(info.value) and secret not in json.dumps(vars(info.value))

# SPDX-License-Identifier: Apache-2.0
"""The credential providers that call AWS, end to end with the kvsws CLI over TLS: assume-role
(source_profile chains, credential_source), web identity and IAM Identity Center, against the
emulator's STS and SSO portal stand-ins, with the AWS files in a scratch HOME. Where botocore has the
same provider it runs on the same files, and both must reach the emulator the same way."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kvsws_emulator.testing import PACKAGE_PARENT, Emulator

from .helpers import clean_env, run_api, run_cli

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/kvs-camera"
SECOND = f"arn:aws:iam::{ACCOUNT}:role/kvs-second"
WEB_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6a3ZzIn0.c2lnbmF0dXJl"
SSO_TOKEN = "aoaAAAAAGkvsws-sso-access-token"
START_URL = "https://kvsws-test.awsapps.com/start"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def aws_env(emu: Emulator, home: Path, **extra: str) -> dict[str, str]:
    """No keys: only the files in home, the region, the CA and every endpoint at the emulator."""
    env = clean_env(None)
    env.update(HOME=str(home), AWS_CONFIG_FILE=str(home / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"), AWS_REGION=emu.region,
               AWS_DEFAULT_REGION=emu.region, AWS_CA_BUNDLE=emu.ca_bundle,
               AWS_ENDPOINT_URL_KINESIS_VIDEO=emu.endpoint, AWS_ENDPOINT_URL_STS=emu.endpoint,
               AWS_ENDPOINT_URL_SSO=emu.endpoint, AWS_MAX_ATTEMPTS="1")
    env.update(extra)
    return env


def describe(kvsws: Path, env: dict[str, str], *global_args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(kvsws, [*global_args, "describe-signaling-channel", "--channel-name", "demo-channel"], env)


def used_key(emu: Emulator) -> str:
    """The key that signed the last DescribeSignalingChannel (verified by the emulator)."""
    record = emu.requests("DescribeSignalingChannel")[-1]
    assert record["verified"] and record["status"] == 200, record
    return str(record["access_key_id"])


def issued(emu: Emulator, key: str) -> dict[str, Any]:
    return next(i for i in emu.issued() if i["access_key_id"] == key)


def botocore_key(emu: Emulator, env: dict[str, str], profile: str | None) -> str:
    """boto3, in a child process with the same environment, makes the same call; returns its key."""
    script = ("import boto3, sys\n"
              "c = boto3.Session(profile_name=sys.argv[1] or None).client('kinesisvideo')\n"
              "c.describe_signaling_channel(ChannelName='demo-channel')\n"
              "print(c._request_signer._credentials.get_frozen_credentials().access_key)\n")
    child = dict(env, PYTHONPATH=os.pathsep.join(p for p in (str(PACKAGE_PARENT), os.environ.get("PYTHONPATH"))
                                                 if p))
    out = subprocess.run([sys.executable, "-c", script, profile or ""], env=child, capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def sts_params(emu: Emulator, operation: str) -> list[dict[str, str]]:
    return [dict(r["params"]) for r in emu.requests(operation)]


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    write(tmp_path / "credentials", "")
    write(tmp_path / "config", "")
    return tmp_path


def base_keys(emu: Emulator, home: Path, name: str = "base") -> None:
    write(home / "credentials", f"[{name}]\naws_access_key_id = {emu.access_key_id}\n"
                                f"aws_secret_access_key = {emu.secret_access_key}\n")


# -- assume-role ---------------------------------------------------------------------------------

def test_assume_role_from_a_source_profile(emu: Emulator, kvsws_bin: Path, home: Path) -> None:
    emu.add_role(ROLE, trusted=[emu.access_key_id])
    base_keys(emu, home)
    write(home / "config", f"[profile camera]\nrole_arn = {ROLE}\nsource_profile = base\n")
    out = describe(kvsws_bin, aws_env(emu, home, AWS_PROFILE="camera"))
    assert out.returncode == 0, out.stderr
    call = emu.requests("AssumeRole")[-1]
    # Signed for sts with the source profile's key, checked by botocore's signer in the emulator.
    assert (call["verified"], call["service"], call["region"], call["access_key_id"]) == (
        True, "sts", emu.region, emu.access_key_id)
    assert call["signed_headers"] == ["content-type", "host", "x-amz-date"]
    assert re.fullmatch(r"kvsws-session-\d{10}", call["params"].pop("RoleSessionName"))
    assert call["params"] == {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": ROLE}
    # The call itself used the assumed role's credentials and session token.
    key = used_key(emu)
    assert issued(emu, key)["principal"] == ROLE
    assert "x-amz-security-token" in emu.requests("DescribeSignalingChannel")[-1]["signed_headers"]


def test_role_options_are_sent(emu: Emulator, kvsws_bin: Path, home: Path) -> None:
    emu.add_role(ROLE, trusted=[emu.access_key_id], external_id="cam-ext-7")
    base_keys(emu, home)
    write(home / "config", f"[profile camera]\nrole_arn = {ROLE}\nsource_profile = base\n"
                           "external_id = cam-ext-7\nrole_session_name = camera-42\nduration_seconds = 900\n")
    out = describe(kvsws_bin, aws_env(emu, home), "--profile", "camera")
    assert out.returncode == 0, out.stderr
    assert sts_params(emu, "AssumeRole") == [{
        "Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": ROLE, "RoleSessionName": "camera-42",
        "ExternalId": "cam-ext-7", "DurationSeconds": "900"}]
    assert issued(emu, used_key(emu))["session_name"] == "camera-42"


def test_chained_roles(emu: Emulator, kvsws_bin: Path, home: Path) -> None:
    emu.add_role(ROLE, trusted=[emu.access_key_id])
    emu.add_role(SECOND, trusted=[ROLE])  # only credentials of the first role may assume it
    base_keys(emu, home)
    write(home / "config", f"[profile first]\nrole_arn = {ROLE}\nsource_profile = base\n"
                           f"[profile second]\nrole_arn = {SECOND}\nsource_profile = first\n")
    out = describe(kvsws_bin, aws_env(emu, home, AWS_PROFILE="second"))
    assert out.returncode == 0, out.stderr
    calls = emu.requests("AssumeRole")
    assert [c["params"]["RoleArn"] for c in calls] == [ROLE, SECOND]
    first_key = issued(emu, calls[1]["access_key_id"])
    assert first_key["principal"] == ROLE and calls[0]["access_key_id"] == emu.access_key_id
    assert issued(emu, used_key(emu))["principal"] == SECOND


def test_credential_source_environment(emu: Emulator, kvsws_bin: Path, home: Path) -> None:
    emu.add_role(ROLE, trusted=[emu.access_key_id])
    write(home / "config", f"[profile camera]\nrole_arn = {ROLE}\ncredential_source = Environment\n")
    env = aws_env(emu, home, AWS_ACCESS_KEY_ID=emu.access_key_id, AWS_SECRET_ACCESS_KEY=emu.secret_access_key)
    # Named by the option, the profile wins over the environment's keys, which then sign AssumeRole.
    out = describe(kvsws_bin, env, "--profile", "camera")
    assert out.returncode == 0, out.stderr
    assert emu.requests("AssumeRole")[-1]["access_key_id"] == emu.access_key_id
    assert issued(emu, used_key(emu))["principal"] == ROLE
    # Through AWS_PROFILE the environment's keys come first, as in botocore: no role.
    emu.reset()
    out = describe(kvsws_bin, dict(env, AWS_PROFILE="camera"))
    assert out.returncode == 0 and used_key(emu) == emu.access_key_id and emu.calls("AssumeRole") == 0


def test_profile_mistakes_fail_before_any_call(emu: Emulator, kvsws_bin: Path, home: Path) -> None:
    base_keys(emu, home)
    write(home / "config", f"[profile a]\nrole_arn = {ROLE}\nsource_profile = b\n"
                           f"[profile b]\nrole_arn = {SECOND}\nsource_profile = a\n"
                           f"[profile both]\nrole_arn = {ROLE}\nsource_profile = base\n"
                           "credential_source = Environment\n"
                           f"[profile mfa]\nrole_arn = {ROLE}\nsource_profile = base\n"
                           f"mfa_serial = arn:aws:iam::{ACCOUNT}:mfa/me\n")
    env = aws_env(emu, home)
    cases = {"a": "Infinite loop in credential configuration detected. Attempting to load from profile a "
                  "which has already been visited. Visited profiles: ['a', 'b']",
             "both": 'The profile "both" contains both source_profile and credential_source.',
             "mfa": "not supported: it needs an MFA token prompt"}
    for profile, message in cases.items():
        out = describe(kvsws_bin, env, "--profile", profile)
        assert out.returncode != 0 and message in out.stderr, out.stderr
    assert emu.calls() == 0


@pytest.mark.parametrize(("code", "status"), [("AccessDenied", 403), ("ExpiredToken", 403),
                                              ("RegionDisabledException", 403)])
def test_sts_errors_name_the_provider_and_role(emu: Emulator, kvsws_bin: Path, home: Path, code: str,
                                               status: int) -> None:
    emu.add_role(ROLE, trusted=[emu.access_key_id])
    base_keys(emu, home)
    write(home / "config", f"[profile camera]\nrole_arn = {ROLE}\nsource_profile = base\n")
    emu.sts_fault(code, operation="AssumeRole", message=f"STS says no: {code} <&>")
    out = describe(kvsws_bin, aws_env(emu, home, AWS_PROFILE="camera"))
    assert out.returncode == 253
    line = out.stderr.strip()
    assert line.startswith(f"Error when retrieving credentials from assume-role (profile camera, role {ROLE}): "
                           f"An error occurred ({code}) when calling the AssumeRole operation: "
                           f"STS says no: {code} <&> (endpoint {emu.endpoint}, HTTP {status}, request id "), line
    assert emu.secret_access_key not in line and emu.calls("DescribeSignalingChannel") == 0


def test_the_emulator_checks_the_source_credentials(emu: Emulator, kvsws_bin: Path, home: Path) -> None:
    emu.add_role(ROLE, trusted=["AKIDSOMEONEELSE"])
    base_keys(emu, home)
    write(home / "config", f"[profile camera]\nrole_arn = {ROLE}\nsource_profile = base\n")
    out = describe(kvsws_bin, aws_env(emu, home, AWS_PROFILE="camera"))
    assert "An error occurred (AccessDenied)" in out.stderr
    assert f"user/kvsws-emulator is not authorized to perform: sts:AssumeRole on resource: {ROLE}" in out.stderr
    write(home / "credentials", f"[base]\naws_access_key_id = {emu.access_key_id}\n"
                                "aws_secret_access_key = not-the-secret\n")
    out = describe(kvsws_bin, aws_env(emu, home, AWS_PROFILE="camera"))
    assert "An error occurred (SignatureDoesNotMatch) when calling the AssumeRole operation" in out.stderr


# -- web identity ------------------------------------------------------------------------------------

def test_web_identity_from_the_environment(emu: Emulator, kvsws_bin: Path, home: Path) -> None:
    """EKS (IRSA): the pod's AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE."""
    emu.add_role(ROLE, web_identity_token=WEB_TOKEN)
    token = write(home / "token", WEB_TOKEN)
    env = aws_env(emu, home, AWS_ROLE_ARN=ROLE, AWS_WEB_IDENTITY_TOKEN_FILE=str(token),
                  AWS_ROLE_SESSION_NAME="camera-pod")
    out = describe(kvsws_bin, env)
    assert out.returncode == 0, out.stderr
    call = emu.requests("AssumeRoleWithWebIdentity")[-1]
    assert call["access_key_id"] is None  # unsigned
    assert call["params"] == {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": ROLE,
                              "RoleSessionName": "camera-pod", "WebIdentityToken": WEB_TOKEN}
    assert issued(emu, used_key(emu))["operation"] == "AssumeRoleWithWebIdentity"
    # botocore, same environment: the same request.
    botocore_key(emu, env, None)
    assert sts_params(emu, "AssumeRoleWithWebIdentity")[0] == sts_params(emu, "AssumeRoleWithWebIdentity")[1]


def test_web_identity_from_a_profile(emu: Emulator, kvsws_bin: Path, home: Path) -> None:
    emu.add_role(ROLE, web_identity_token=WEB_TOKEN)
    token = write(home / "token", WEB_TOKEN)
    write(home / "config", f"[profile pod]\nrole_arn = {ROLE}\nweb_identity_token_file = {token}\n"
                           "role_session_name = from-profile\n")
    out = describe(kvsws_bin, aws_env(emu, home), "--profile", "pod")
    assert out.returncode == 0, out.stderr
    assert emu.requests("AssumeRoleWithWebIdentity")[-1]["params"]["RoleSessionName"] == "from-profile"


@pytest.mark.parametrize("code", ["InvalidIdentityToken", "ExpiredTokenException", "AccessDenied"])
def test_web_identity_errors(emu: Emulator, kvsws_bin: Path, home: Path, code: str) -> None:
    emu.add_role(ROLE, web_identity_token=WEB_TOKEN)
    token = write(home / "token", WEB_TOKEN)
    emu.sts_fault(code, operation="AssumeRoleWithWebIdentity")
    out = describe(kvsws_bin, aws_env(emu, home, AWS_ROLE_ARN=ROLE, AWS_WEB_IDENTITY_TOKEN_FILE=str(token)))
    assert out.returncode == 253
    assert out.stderr.strip().startswith(
        "Error when retrieving credentials from assume-role-with-web-identity (from the environment, role "
        f"{ROLE}): An error occurred ({code}) when calling the AssumeRoleWithWebIdentity operation: "), out.stderr
    assert WEB_TOKEN not in out.stderr


def test_wrong_web_identity_token(emu: Emulator, kvsws_bin: Path, home: Path) -> None:
    emu.add_role(ROLE, web_identity_token=WEB_TOKEN)
    token = write(home / "token", "eyJ.not-the-token.sig")
    out = describe(kvsws_bin, aws_env(emu, home, AWS_ROLE_ARN=ROLE, AWS_WEB_IDENTITY_TOKEN_FILE=str(token)))
    assert "An error occurred (InvalidIdentityToken)" in out.stderr and "not-the-token" not in out.stderr


# -- IAM Identity Center -----------------------------------------------------------------------------

def cache_token(home: Path, key: str, expires_in: float = 3600, fmt: str = "%Y-%m-%dT%H:%M:%SZ",
                token: str = SSO_TOKEN) -> Path:
    """The file `aws sso login` writes: ~/.aws/sso/cache/<sha1(key)>.json."""
    cache = home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{hashlib.sha1(key.encode()).hexdigest()}.json"
    path.write_text(json.dumps({"startUrl": START_URL, "region": "eu-west-1", "accessToken": token,
                                "expiresAt": time.strftime(fmt, time.gmtime(time.time() + expires_in))}))
    return path


SSO_CONFIG = ("[profile sso]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = KvsCamera\n"
              f"[sso-session corp]\nsso_start_url = {START_URL}\nsso_region = eu-west-1\n"
              "sso_registration_scopes = sso:account:access\n"
              f"[profile legacy]\nsso_start_url = {START_URL}\nsso_region = eu-west-1\n"
              "sso_account_id = 111122223333\nsso_role_name = KvsCamera\n")


def test_sso_session_profile(emu: Emulator, kvsws_bin: Path, home: Path) -> None:
    emu.add_sso_assignment(SSO_TOKEN, "111122223333", "KvsCamera")
    write(home / "config", SSO_CONFIG)
    cache_token(home, "corp")
    env = aws_env(emu, home)
    out = describe(kvsws_bin, env, "--profile", "sso")
    assert out.returncode == 0, out.stderr
    call = emu.requests("GetRoleCredentials")[-1]
    assert call["params"] == {"role_name": "KvsCamera", "account_id": "111122223333"} and call["status"] == 200
    assert issued(emu, used_key(emu))["principal"] == "111122223333/KvsCamera"
    # botocore finds the same cached token and asks for the same role.
    assert issued(emu, botocore_key(emu, env, "sso"))["principal"] == "111122223333/KvsCamera"
    assert [c["params"] for c in emu.requests("GetRoleCredentials")] == [call["params"]] * 2


def test_sso_legacy_profile(emu: Emulator, kvsws_bin: Path, home: Path) -> None:
    emu.add_sso_assignment(SSO_TOKEN, "111122223333", "KvsCamera")
    write(home / "config", SSO_CONFIG)
    cache_token(home, START_URL, fmt="%Y-%m-%dT%H:%M:%SUTC")  # older CLIs wrote "UTC"
    out = describe(kvsws_bin, aws_env(emu, home, AWS_PROFILE="legacy"))
    assert out.returncode == 0, out.stderr
    assert emu.calls("GetRoleCredentials") == 1


def test_sso_without_a_valid_login(emu: Emulator, kvsws_bin: Path, home: Path) -> None:
    write(home / "config", SSO_CONFIG)
    env = aws_env(emu, home)
    out = describe(kvsws_bin, env, "--profile", "sso")
    assert out.returncode == 253
    assert "Token for corp does not exist" in out.stderr
    assert "To refresh this SSO session run: aws sso login --profile sso" in out.stderr
    path = cache_token(home, "corp", expires_in=-60)
    out = describe(kvsws_bin, env, "--profile", "sso")
    assert f"has expired or is otherwise invalid (the token in {path} expired at" in out.stderr
    assert "aws sso login --profile sso" in out.stderr and SSO_TOKEN not in out.stderr
    assert emu.calls("GetRoleCredentials") == 0  # nothing was sent with a token known to be stale
    # A token the portal refuses says the same.
    cache_token(home, "corp", token="aoaAAAAAG-a-token-the-portal-never-issued")
    out = describe(kvsws_bin, env, "--profile", "sso")
    assert "has expired or is otherwise invalid (GetRoleCredentials said: Session token not found or invalid)" \
        in out.stderr
    assert "aws sso login --profile sso" in out.stderr


@pytest.mark.parametrize(("code", "status", "retryable"), [("ForbiddenException", 403, False),
                                                           ("InternalServerException", 500, True)])
def test_sso_portal_errors_in_the_aws_cli_words(emu: Emulator, kvsws_bin: Path, it_api_bin: Path, home: Path,
                                                code: str, status: int, retryable: bool) -> None:
    emu.add_sso_assignment(SSO_TOKEN, "111122223333", "KvsCamera")
    write(home / "config", SSO_CONFIG)
    cache_token(home, "corp")
    env = aws_env(emu, home, AWS_PROFILE="sso")
    tries = 3 if retryable else 1
    emu.sso_fault(code, message="No <access> here", count=tries)
    out = describe(kvsws_bin, env)
    assert out.returncode == 253, out.stderr
    calls = emu.requests("GetRoleCredentials")
    assert len(calls) == tries
    assert (f"Error when retrieving credentials from sso (profile sso): An error occurred ({code}) when calling "
            f"the GetRoleCredentials operation: No <access> here (account 111122223333, role KvsCamera, endpoint "
            f"{emu.endpoint}, HTTP {status}, request id {calls[-1]['request_id']})") in out.stderr
    assert "aws sso login" not in out.stderr and SSO_TOKEN not in out.stderr
    emu.sso_fault(code, count=tries)
    r = run_api(it_api_bin, "call", "DescribeSignalingChannel", {"ChannelARN": emu.add_channel("demo-channel")}, env)
    assert (r["status_name"], r["http_status"], r["retryable"]) == ("KVSWS_E_CREDENTIAL_RETRIEVAL", status,
                                                                    retryable), r


# -- the same files, botocore's view ---------------------------------------------------------------

def test_botocore_resolves_the_same_roles(emu: Emulator, kvsws_bin: Path, home: Path) -> None:
    """For one set of files with a role chain, botocore and kvsws make the same STS requests, signed
    with the same keys, and end up calling with credentials of the same role."""
    emu.add_role(ROLE, trusted=[emu.access_key_id], external_id="e-1")
    emu.add_role(SECOND, trusted=[ROLE])
    base_keys(emu, home)
    write(home / "config", f"[profile first]\nrole_arn = {ROLE}\nsource_profile = base\nexternal_id = e-1\n"
                           "role_session_name = cam\nduration_seconds = 1800\n"
                           f"[profile second]\nrole_arn = {SECOND}\nsource_profile = first\n")
    env = aws_env(emu, home)
    out = describe(kvsws_bin, env, "--profile", "second")
    assert out.returncode == 0, out.stderr
    ours = emu.requests("AssumeRole")
    assert issued(emu, used_key(emu))["principal"] == SECOND
    emu.reset()
    assert issued(emu, botocore_key(emu, env, "second"))["principal"] == SECOND
    theirs = emu.requests("AssumeRole")

    def shape(calls: list[dict[str, Any]]) -> list[tuple[str | None, dict[str, str]]]:
        # The signing key of the first call; the chained one signs with a fresh key each time.
        out = []
        for i, c in enumerate(calls):
            params = dict(c["params"])
            if params["RoleArn"] == SECOND:  # no role_session_name there: each SDK's default name
                assert re.fullmatch(r"(kvsws|botocore)-session-\d{10}", params.pop("RoleSessionName"))
            out.append((c["access_key_id"] if i == 0 else None, params))
        return out

    assert shape(ours) == shape(theirs)
    assert [c["verified"] for c in ours + theirs] == [True] * 4

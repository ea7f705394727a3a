# SPDX-License-Identifier: Apache-2.0
"""The STS and SSO portal stand-ins against boto3: AWS's own SDK must get what STS and the portal
give it (credentials it can use on the emulated calls, the errors as it parses them), and botocore's
own credential providers must work against them unchanged (assume-role, web identity, SSO)."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

# isort: split
from kvsws_emulator import tlsgen
from kvsws_emulator.testing import PACKAGE_PARENT, Emulator, EmulatorError

ROLE = "arn:aws:iam::123456789012:role/emulated-role"


def sts(emu: Emulator, unsigned: bool = False, **creds: Any) -> Any:
    config = Config(retries={"total_max_attempts": 1}, signature_version=UNSIGNED if unsigned else None)
    return boto3.client("sts", **emu.boto3_kwargs(config=config, **creds))


def kinesisvideo(emu: Emulator, c: dict[str, Any]) -> Any:
    return boto3.client("kinesisvideo", **emu.boto3_kwargs(
        aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"], config=Config(retries={"total_max_attempts": 1})))


def test_assume_role_gives_working_credentials(emu: Emulator) -> None:
    emu.add_role(ROLE, trusted=[emu.access_key_id])
    out = sts(emu).assume_role(RoleArn=ROLE, RoleSessionName="s-1", DurationSeconds=900)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::123456789012:assumed-role/emulated-role/s-1"
    left = creds["Expiration"].timestamp() - time.time()
    assert 890 < left <= 900
    kinesisvideo(emu, creds).describe_signaling_channel(ChannelName="demo-channel")
    record = emu.requests("AssumeRole")[-1]
    assert record["verified"] and record["service"] == "sts" and record["access_key_id"] == emu.access_key_id
    assert record["params"] == {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": ROLE,
                                "RoleSessionName": "s-1", "DurationSeconds": "900"}
    issued = emu.issued()[-1]
    assert (issued["access_key_id"], issued["principal"], issued["source_access_key_id"]) == (
        creds["AccessKeyId"], ROLE, emu.access_key_id)


def test_assume_role_checks_the_caller(emu: Emulator) -> None:
    emu.add_role(ROLE, trusted=["AKIDSOMEONEELSE"])
    with pytest.raises(ClientError) as denied:
        sts(emu).assume_role(RoleArn=ROLE, RoleSessionName="s-1")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "not authorized to perform: sts:AssumeRole on resource: " + ROLE in str(denied.value)
    with pytest.raises(ClientError) as bad:
        sts(emu, aws_secret_access_key="not-the-secret").assume_role(RoleArn=ROLE, RoleSessionName="s-1")
    assert bad.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    emu.add_role(ROLE, external_id="ext-42")
    with pytest.raises(ClientError):
        sts(emu).assume_role(RoleArn=ROLE, RoleSessionName="s-1", ExternalId="ext-41")
    sts(emu).assume_role(RoleArn=ROLE, RoleSessionName="s-1", ExternalId="ext-42")
    with pytest.raises(ClientError) as invalid:
        sts(emu).assume_role(RoleArn=ROLE, RoleSessionName="has space", ExternalId="ext-42")
    assert invalid.value.response["Error"]["Code"] == "ValidationError"


def test_roles_chain_and_credentials_expire(emu: Emulator) -> None:
    second = "arn:aws:iam::123456789012:role/second"
    emu.add_role(ROLE, trusted=[emu.access_key_id], lifetime_seconds=1)
    emu.add_role(second, trusted=[ROLE])
    first = sts(emu).assume_role(RoleArn=ROLE, RoleSessionName="one")["Credentials"]
    creds = {"aws_access_key_id": first["AccessKeyId"], "aws_secret_access_key": first["SecretAccessKey"],
             "aws_session_token": first["SessionToken"]}
    sts(emu, **creds).assume_role(RoleArn=second, RoleSessionName="two")
    with pytest.raises(ClientError) as direct:  # the second role trusts the first, not the base key
        sts(emu).assume_role(RoleArn=second, RoleSessionName="two")
    assert direct.value.response["Error"]["Code"] == "AccessDenied"
    time.sleep(1.2)
    with pytest.raises(ClientError) as expired:
        kinesisvideo(emu, first).describe_signaling_channel(ChannelName="demo-channel")
    assert expired.value.response["Error"]["Code"] == "ExpiredTokenException"
    with pytest.raises(ClientError) as sts_expired:
        sts(emu, **creds).assume_role(RoleArn=second, RoleSessionName="two")
    assert sts_expired.value.response["Error"]["Code"] == "ExpiredToken"


def test_web_identity(emu: Emulator) -> None:
    emu.add_role(ROLE, web_identity_token="jwt.header.payload")
    out = sts(emu, unsigned=True).assume_role_with_web_identity(
        RoleArn=ROLE, RoleSessionName="pod", WebIdentityToken="jwt.header.payload")
    assert out["Provider"] and out["SubjectFromWebIdentityToken"]
    kinesisvideo(emu, out["Credentials"]).describe_signaling_channel(ChannelName="demo-channel")
    record = emu.requests("AssumeRoleWithWebIdentity")[-1]
    assert record["access_key_id"] is None and record["params"]["WebIdentityToken"] == "jwt.header.payload"
    with pytest.raises(ClientError) as bad:
        sts(emu, unsigned=True).assume_role_with_web_identity(
            RoleArn=ROLE, RoleSessionName="pod", WebIdentityToken="jwt.other.token")
    assert bad.value.response["Error"]["Code"] == "InvalidIdentityToken"


@pytest.mark.parametrize(("code", "status"), [("AccessDenied", 403), ("ExpiredTokenException", 400),
                                              ("InvalidIdentityToken", 400), ("IDPCommunicationError", 400)])
def test_sts_faults_parse_as_sts_errors(emu: Emulator, code: str, status: int) -> None:
    emu.add_role(ROLE, web_identity_token="jwt.header.payload")
    emu.sts_fault(code, operation="AssumeRoleWithWebIdentity", message=f"injected <{code}> & more")
    with pytest.raises(ClientError) as err:
        sts(emu, unsigned=True).assume_role_with_web_identity(
            RoleArn=ROLE, RoleSessionName="pod", WebIdentityToken="jwt.header.payload")
    error = err.value.response["Error"]
    assert (error["Code"], error["Message"], error["Type"]) == (code, f"injected <{code}> & more", "Sender")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert err.value.response["ResponseMetadata"]["RequestId"]


def test_sso_portal(emu: Emulator) -> None:
    emu.add_sso_assignment("portal-token", "111122223333", "KvsRole", lifetime_seconds=120)
    sso = boto3.client("sso", region_name="eu-west-1", endpoint_url=emu.endpoint, verify=emu.ca_bundle,
                       config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}))
    rc = sso.get_role_credentials(roleName="KvsRole", accountId="111122223333",
                                  accessToken="portal-token")["roleCredentials"]
    assert 110_000 < rc["expiration"] - time.time() * 1000 <= 120_000
    kinesisvideo(emu, {"AccessKeyId": rc["accessKeyId"], "SecretAccessKey": rc["secretAccessKey"],
                       "SessionToken": rc["sessionToken"]}).describe_signaling_channel(ChannelName="demo-channel")
    with pytest.raises(sso.exceptions.UnauthorizedException):
        sso.get_role_credentials(roleName="KvsRole", accountId="111122223333", accessToken="stale")
    with pytest.raises(ClientError) as forbidden:
        sso.get_role_credentials(roleName="Admin", accountId="111122223333", accessToken="portal-token")
    assert forbidden.value.response["Error"]["Code"] == "ForbiddenException"
    emu.sso_fault("TooManyRequestsException")
    with pytest.raises(sso.exceptions.TooManyRequestsException):
        sso.get_role_credentials(roleName="KvsRole", accountId="111122223333", accessToken="portal-token")
    assert emu.requests("GetRoleCredentials")[0]["params"] == {"role_name": "KvsRole", "account_id": "111122223333"}


def test_admin_rejects_bad_settings(emu: Emulator) -> None:
    with pytest.raises(EmulatorError, match="role_arn"):
        emu.add_role("not-an-arn")
    with pytest.raises(EmulatorError, match="code must be one of"):
        emu.sts_fault("NoSuchCode")
    with pytest.raises(EmulatorError, match="required"):
        emu.admin("POST", "sso/assignments", {"access_token": "t"})


def test_botocore_providers_work_against_the_stand_ins(emu: Emulator, tmp_path: Path) -> None:
    """botocore's own assume-role, web identity and SSO providers, unchanged, in a child process
    (its SSO cache directory is fixed from HOME at import)."""
    web = "arn:aws:iam::123456789012:role/web"
    emu.add_role(ROLE, trusted=[emu.access_key_id])
    emu.add_role(web, web_identity_token="jwt.from.file")
    emu.add_sso_assignment("cached-token", "111122223333", "KvsRole")
    (tmp_path / "token").write_text("jwt.from.file")
    (tmp_path / "config").write_text(
        f"[profile role]\nrole_arn = {ROLE}\nsource_profile = base\n"
        f"[profile web]\nrole_arn = {web}\nweb_identity_token_file = {tmp_path / 'token'}\n"
        "[profile sso]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = KvsRole\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n")
    (tmp_path / "credentials").write_text(
        f"[base]\naws_access_key_id = {emu.access_key_id}\naws_secret_access_key = {emu.secret_access_key}\n")
    cache = tmp_path / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    (cache / f"{hashlib.sha1(b'corp').hexdigest()}.json").write_text(json.dumps(
        {"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1", "accessToken": "cached-token",
         "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))}))
    env = emu.subprocess_env()
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(k)
    env.update(HOME=str(tmp_path), AWS_CONFIG_FILE=str(tmp_path / "config"), AWS_DEFAULT_REGION=emu.region,
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
               AWS_ENDPOINT_URL_STS=emu.endpoint, AWS_ENDPOINT_URL_SSO=emu.endpoint,
               PYTHONPATH=os.pathsep.join([str(PACKAGE_PARENT), env.get("PYTHONPATH", "")]))
    script = ("import boto3, sys\n"
              "for p in sys.argv[1:]:\n"
              "    c = boto3.Session(profile_name=p).client('kinesisvideo')\n"
              "    c.describe_signaling_channel(ChannelName='demo-channel')\n"
              "    print(p, c._request_signer._credentials.get_frozen_credentials().access_key)\n")
    out = subprocess.run([sys.executable, "-c", script, "role", "web", "sso"], env=env, capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    keys = dict(line.split() for line in out.stdout.splitlines())
    issued = {i["access_key_id"]: i for i in emu.issued()}
    assert issued[keys["role"]]["principal"] == ROLE
    assert issued[keys["web"]]["operation"] == "AssumeRoleWithWebIdentity"
    assert issued[keys["sso"]]["principal"] == "111122223333/KvsRole"


def iot_get(emu: Emulator, path: str, cert: tuple[str, str] | None, thing_name: str | None) -> tuple[int, Any]:
    """GET on the IoT stand-in with Python's own TLS client (a client certificate if given)."""
    ctx = ssl.create_default_context(cafile=emu.ca_bundle)
    if cert is not None:
        ctx.load_cert_chain(*cert)
    host, port = emu.iot_endpoint.rsplit(":", 1)
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
    try:
        conn.request("GET", path, headers={"x-amzn-iot-thingname": thing_name} if thing_name else {})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_iot_credentials_provider(emu: Emulator, tmp_path: Path) -> None:
    thing = emu.add_iot_thing("emu-camera")
    emu.add_iot_role_alias("EmuAlias", lifetime_seconds=900)
    cert = (thing["cert_file"], thing["key_file"])
    status, body = iot_get(emu, "/role-aliases/EmuAlias/credentials", cert, "emu-camera")
    assert status == 200, body
    c = body["credentials"]
    assert c["accessKeyId"].startswith("ASIA") and c["expiration"].endswith("Z")
    # The credentials work on the emulated calls (boto3 signs with them).
    kv = kinesisvideo(emu, {"AccessKeyId": c["accessKeyId"], "SecretAccessKey": c["secretAccessKey"],
                            "SessionToken": c["sessionToken"]})
    assert kv.describe_signaling_channel(ChannelName="demo-channel")["ChannelInfo"]["ChannelName"] == "demo-channel"

    assert iot_get(emu, "/role-aliases/EmuAlias/credentials", cert, "other-thing") == (
        400, {"message": "Invalid thing name passed"})
    assert iot_get(emu, "/role-aliases/Nope/credentials", cert, "emu-camera") == (
        404, {"message": "Role alias does not exist"})
    emu.iot_fault("ForbiddenException")
    assert iot_get(emu, "/role-aliases/EmuAlias/credentials", cert, "emu-camera") == (
        403, {"message": "Access Denied"})
    # No client certificate, or one from another CA: the TLS handshake fails.
    other = tlsgen.generate(tmp_path)
    tlsgen.client_certificate(other.ca_cert, other.ca_key, "emu-camera", tmp_path / "c.pem", tmp_path / "k.pem")
    for bad in (None, (str(tmp_path / "c.pem"), str(tmp_path / "k.pem"))):
        with pytest.raises((OSError, ConnectionError)):
            iot_get(emu, "/role-aliases/EmuAlias/credentials", bad, "emu-camera")
    assert [r["status"] for r in emu.requests("AssumeRoleWithCertificate")] == [200, 400, 404, 403]

# SPDX-License-Identifier: Apache-2.0
"""No secret in any output: every CLI command (with --debug, and `sign` in both modes and both
output formats), a C storage session at DEBUG and the Python logger "kvsws" at DEBUG through a
whole storage session, with a sentinel secret key and session token holding `/ + =`. Every stdout,
stderr and log is searched for the raw, base64, percent-encoded and JSON-escaped forms of both."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from kvsws_emulator.app_peer import AppPeer
from kvsws_emulator.testing import Emulator

from .helpers import clean_env, run_cli
from .test_session_c import Driver, serve

ROOT = Path(__file__).resolve().parents[2]
ACCESS_KEY = "ASIANOSECRETSTEST"
# Long enough that every base64 alignment leaves a long run to find; each holds / + =.
SECRET = "kvsws/Sentinel+Secret=Key/3f9c+71ab/e2=Zq8"
TOKEN = "IQoJb3JpZ2luX2VjE/kvsws+Sentinel=Session/Token+9d4e=/a1b2c3d4e5f6+g7h8=="


def forms(value: str) -> dict[str, str]:
    """Every way the value could be written out: raw, percent-encoded (upper and lower hex, '/'
    kept or not), JSON-escaped, and base64 at each of the three byte alignments (only the
    characters that depend on the value alone)."""
    out = {"raw": value, "json": value.replace("/", "\\/"), "json-dumps": json.dumps(value)[1:-1]}
    for safe in ("", "/"):
        upper = quote(value, safe=safe)
        out[f"percent-upper{safe}"] = upper
        out[f"percent-lower{safe}"] = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), upper)
    raw = value.encode()
    for pad in range(3):
        for alphabet, encode in (("std", base64.b64encode), ("url", base64.urlsafe_b64encode)):
            text = encode(b"\0" * pad + raw).decode().rstrip("=")
            # Skip the characters mixed with the padding bytes and the last, partial group.
            start = (pad * 8 + 5) // 6 if pad else 0
            out[f"base64-{alphabet}-{pad}"] = text[start:len(text) - 2]
    return out


SECRET_FORMS = forms(SECRET)
TOKEN_FORMS = forms(TOKEN)


def leaks(text: str, token_too: bool = True) -> list[str]:
    """The forms of the sentinels found in text."""
    found = [f"secret key ({name})" for name, f in SECRET_FORMS.items() if f in text]
    if token_too:
        found += [f"session token ({name})" for name, f in TOKEN_FORMS.items() if f in text]
    return found


def assert_clean(what: str, text: str) -> None:
    found = leaks(text)
    assert not found, f"{what} shows {', '.join(found)}:\n{text[-3000:]}"


def test_the_forms_are_found() -> None:
    """The search itself: each form of the sentinels embedded in other text is found."""
    assert set(SECRET_FORMS) == set(TOKEN_FORMS) and len(SECRET_FORMS) >= 10
    for name, form in {**SECRET_FORMS, **TOKEN_FORMS}.items():
        assert len(form) >= 20, name
        assert leaks(f"before {form} after"), name
    for prefix in (b"", b"x", b"xy"):
        blob = base64.b64encode(prefix + TOKEN.encode() + b"tail").decode()
        assert leaks(json.dumps({"messagePayload": blob}))
    lower_hex = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(SECRET, safe=""))
    assert lower_hex != quote(SECRET, safe="") and leaks(f"?k={lower_hex}&")
    assert not leaks("kvsws/Sentinel other text")


@pytest.fixture()
def secret_env(emu: Emulator) -> dict[str, str]:
    emu.add_credentials(ACCESS_KEY, SECRET, TOKEN)
    return clean_env(emu, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET,
                     AWS_SESSION_TOKEN=TOKEN, AWS_MAX_ATTEMPTS="1")


def test_every_cli_call_with_debug(emu: Emulator, kvsws_bin: Path, secret_env: dict[str, str]) -> None:
    arn = emu.add_channel("no-secrets-cli", storage=True)
    calls = [
        ["describe-signaling-channel", "--channel-name", "no-secrets-cli"],
        ["describe-signaling-channel", "--channel-arn", arn],
        ["describe-media-storage-configuration", "--channel-arn", arn],
        ["get-signaling-channel-endpoint", "--channel-arn", arn],
        ["get-signaling-channel-endpoint", "--channel-arn", arn, "--role", "VIEWER",
         "--protocols", "WSS,HTTPS"],
        ["get-ice-server-config", "--channel-arn", arn],
        ["get-ice-server-config", "--channel-arn", arn, "--client-id", "viewer-1"],
        ["join-storage-session", "--channel-arn", arn],
        ["join-storage-session-as-viewer", "--channel-arn", arn, "--client-id", "viewer-1"],
    ]
    for args in calls:
        out = run_cli(kvsws_bin, ["--debug", *args], secret_env)
        assert out.returncode == 0, out.stderr
        assert "CanonicalRequest" in out.stderr, args  # --debug really showed the signing
        assert_clean(f"kvsws --debug {args[0]}", out.stdout + out.stderr)
    # An AWS error, a refused signature and a request refused before any I/O.
    emu.fault(operation="GetIceServerConfig", error="NotAuthorizedException", count=1)
    out = run_cli(kvsws_bin, ["--debug", "get-ice-server-config", "--channel-arn", arn], secret_env)
    assert out.returncode == 254 and "NotAuthorizedException" in out.stderr
    assert_clean("kvsws --debug on an AWS error", out.stdout + out.stderr)
    wrong = dict(secret_env, AWS_SECRET_ACCESS_KEY=SECRET[::-1])
    out = run_cli(kvsws_bin, ["--debug", "describe-signaling-channel", "--channel-arn", arn], wrong)
    assert out.returncode == 254 and "signature we calculated does not match" in out.stderr
    assert_clean("kvsws --debug on SignatureDoesNotMatch", out.stdout + out.stderr)
    out = run_cli(kvsws_bin, ["--debug", "join-storage-session", "--channel-arn", "bad"], secret_env)
    assert out.returncode == 252
    assert_clean("kvsws --debug on a bad argument", out.stdout + out.stderr)
    out = run_cli(kvsws_bin, ["--debug", "help"], secret_env)
    assert_clean("kvsws --debug help", out.stdout + out.stderr)


def without_signed_token(text: str, where: str) -> str:
    """The signing result itself must carry the token: remove it from exactly that one place."""
    if where == "header":
        line = f"X-Amz-Security-Token: {TOKEN}\n"
        assert line in text + "\n", text
        return (text + "\n").replace(line, "", 1)
    part = f"X-Amz-Security-Token={quote(TOKEN, safe='')}"
    assert part in text, text
    return text.replace(part, "", 1)


@pytest.mark.parametrize("presign", [False, True], ids=["header", "presign"])
@pytest.mark.parametrize("output", ["text", "json"])
@pytest.mark.parametrize("debug", [False, True], ids=["quiet", "debug"])
def test_sign(kvsws_bin: Path, secret_env: dict[str, str], presign: bool, output: str,
              debug: bool) -> None:
    args = [*(["--debug"] if debug else []), "sign", "--method", "GET", "--url",
            "https://example.amazonaws.com/a%20b/?X-Amz-ChannelARN=arn&Param=a%2Fb+c",
            "--service", "kinesisvideo", "--region", "us-west-2", "--output", output,
            "--header", "X-Custom: some value"]
    if presign:
        args += ["--presign", "--expires", "300"]
    out = run_cli(kvsws_bin, args, secret_env)
    assert out.returncode == 0, out.stderr
    assert_clean("kvsws sign's stderr", out.stderr)
    if debug:
        assert "CanonicalRequest:" in out.stderr and "x-custom:some value" in out.stderr
        # What is left of the token helps compare two canonical requests, nothing more.
        assert f"<redacted: {len(TOKEN)} chars, sha256 " in out.stderr
    if output == "json":
        doc = json.loads(out.stdout)
        assert_clean("kvsws sign's canonical_request", doc["canonical_request"])
        assert_clean("kvsws sign's string_to_sign", doc["string_to_sign"])
        if presign:
            assert_clean("kvsws sign's url", without_signed_token(doc.pop("url"), "presign"))
        else:
            assert doc["headers"].pop("X-Amz-Security-Token") == TOKEN
        assert_clean("kvsws sign --output json", json.dumps(doc))
    else:
        assert_clean("kvsws sign's output",
                     without_signed_token(out.stdout, "presign" if presign else "header"))
    # Whatever the token, the secret key never shows, not even beside it.
    assert not leaks(out.stdout + out.stderr, token_too=False)


def test_c_session_at_debug(emu: Emulator, it_api_bin: Path, secret_env: dict[str, str],
                            tmp_path: Path) -> None:
    emu.add_channel("no-secrets-c", storage=True)
    env = dict(secret_env, KVSWS_IT_LOG_LEVEL="4")
    log = tmp_path / "it_session.stderr"

    async def run() -> list[dict[str, object]]:
        with log.open("wb") as stderr:
            proc = await asyncio.create_subprocess_exec(
                str(it_api_bin.parent / "it_session"), "--channel-name", "no-secrets-c",
                "--offer-timeout", "3000", "--ping-interval", "500", env=env,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=stderr)
        driver, peer, stop = Driver(proc), AppPeer(), asyncio.Event()
        offers: list[float] = []
        task = asyncio.create_task(serve(driver, peer, offers, stop))
        try:
            await asyncio.to_thread(emu.wait_for_media, "no-secrets-c", 30, 30, 30.0)
            # An ICE refresh and a reconnect sign (and log) their own requests.
            emu.signal("no-secrets-c", "reconnect_ice_server")
            emu.signal("no-secrets-c", "go_away")
            deadline = time.monotonic() + 30
            while len(offers) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert len(offers) >= 2, "no new offer after GO_AWAY"
        finally:
            stop.set()
            await task
            await peer.close()
            await driver.stop()
        return driver.events

    events = asyncio.run(run())
    text = log.read_text(errors="replace")
    assert "CanonicalRequest" in text and "StringToSign" in text, text[-2000:]
    assert any(e["type"] == "offer" for e in events)
    assert_clean("the C session's DEBUG log", text)
    assert_clean("the C session's events", json.dumps(events))


PY_SESSION = textwrap.dedent("""
    import asyncio, logging, sys
    import kvsws
    from kvsws_emulator.app_peer import AppPeer

    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s %(message)s")
    logging.getLogger("kvsws").setLevel(logging.DEBUG)

    async def main() -> None:
        peer = AppPeer()
        answered = 0
        with kvsws.Client() as client:
            async with client.storage_session(channel_name=sys.argv[1], offer_timeout=3.0) as s:
                async for event in s:
                    print(repr(event), flush=True)
                    if isinstance(event, kvsws.IceServers):
                        peer.set_ice_servers(event.servers)
                    elif isinstance(event, kvsws.Offer):
                        s.send_answer(await peer.answer(event.sdp))
                        answered += 1
                        asyncio.get_running_loop().call_later(6, s.close)
                    elif isinstance(event, kvsws.IceCandidate):
                        await peer.add_candidate(event.candidate, event.sdp_mid, event.sdp_mline_index)
        await peer.close()
        assert answered, "no offer"

    asyncio.run(main())
""")


def test_python_logger_at_debug(emu: Emulator, secret_env: dict[str, str], tmp_path: Path) -> None:
    """The installed kvsws package (scripts/test-python.sh installs it into this interpreter)."""
    channel = "no-secrets-py"
    emu.add_channel(channel, storage=True)
    env = dict(secret_env, PYTHONPATH=str(ROOT / "tests" / "emulator"))
    env.pop("PYTHONSAFEPATH", None)
    proc = subprocess.run([sys.executable, "-c", PY_SESSION, channel], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=90, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "kvsws CanonicalRequest" in proc.stderr and "Offer(" in proc.stdout
    assert emu.sessions(channel)[-1]["video"]["frames"] > 0  # media really flowed
    assert_clean("the Python logger at DEBUG", proc.stdout + proc.stderr)


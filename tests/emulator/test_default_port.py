# SPDX-License-Identifier: Apache-2.0
"""Port-less endpoints, as AWS's are: the emulator on port 443 (in a private network namespace, so
no root is needed) with kvsws as its client, and ``--advertise HOST[:PORT]`` for a proxy or a
hostname in front of it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography import x509

from kvsws_emulator.endpoints import advertised_authority, parse_advertise
from kvsws_emulator.state import build_state
from kvsws_emulator.testing import PACKAGE_PARENT, Emulator

PROBE = Path(__file__).resolve().parent / "port443_probe.py"


def endpoints(emu: Emulator) -> dict[str, str]:
    client = boto3.client("kinesisvideo", **emu.boto3_kwargs())
    answer = client.get_signaling_channel_endpoint(
        ChannelARN=emu.channel_arn("demo-channel"),
        SingleMasterChannelEndpointConfiguration={"Protocols": ["WSS", "HTTPS", "WEBRTC"], "Role": "MASTER"})
    return {e["Protocol"]: e["ResourceEndpoint"] for e in answer["ResourceEndpointList"]}


def certificate_names(emu: Emulator) -> list[str]:
    assert emu.state_dir is not None
    cert = x509.load_pem_x509_certificate((emu.state_dir / "server.pem").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(name.value) for name in sans]


@pytest.fixture(scope="module")
def on_443(kvsws_bin: Path) -> dict[str, Any]:
    """The probe's report: the emulator on 127.0.0.1:443 advertising kvs.emulator.test, in a private
    user + network + mount namespace (kvsws_emulator.on443), kvsws's CLI and C session driver against it."""
    paths = [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
    proc = subprocess.run([sys.executable, "-m", "kvsws_emulator.on443", "--advertise", "kvs.emulator.test", "--",
                           sys.executable, str(PROBE), str(kvsws_bin), str(kvsws_bin.parent / "it_session")],
                          env=env, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


def test_on_443_the_endpoints_carry_no_port(on_443: dict[str, Any]) -> None:
    ready = on_443["ready"]
    assert ready["port"] == 443 and ready["endpoint"] == "https://127.0.0.1"
    assert (ready["wss_endpoint"], ready["data_plane_endpoint"]) == ("wss://kvs.emulator.test",
                                                                     "https://kvs.emulator.test")
    assert on_443["endpoint_env"] == "https://kvs.emulator.test"  # the control plane by name, on 443 too
    cli = on_443["endpoints"]
    assert cli["returncode"] == 0, cli["stderr"]
    listed = {e["Protocol"]: e["ResourceEndpoint"] for e in json.loads(cli["stdout"])["ResourceEndpointList"]}
    assert listed == {"WSS": "wss://kvs.emulator.test", "HTTPS": "https://kvs.emulator.test",
                      "WEBRTC": "https://kvs.emulator.test"}


def test_kvsws_calls_and_session_reach_port_less_endpoints(on_443: dict[str, Any]) -> None:
    """kvsws connects to 443 for a URL without a port, verifies the certificate by the name, and
    signs the host as sent (no ':443'): every call and the WebSocket pass botocore's SigV4 check,
    and the offer arrives."""
    for step in ("join", "ice"):
        assert on_443[step]["returncode"] == 0, on_443[step]["stderr"]
    assert "turn:127.0.0.1:443?transport=udp" in json.loads(on_443["ice"]["stdout"])["IceServerList"][0]["Uris"]
    session = on_443["session"]
    assert session["events"][-1] == "offer", session
    assert session["returncode"] == 0, session["stderr"]
    requests = on_443["requests"]
    ops = {r["operation"] for r in requests}
    assert {"GetSignalingChannelEndpoint", "JoinStorageSession", "GetIceServerConfig", "ConnectAsMaster"} <= ops
    assert all(r["verified"] and r["status"] in (200, 101) for r in requests), requests


def test_on443_passes_the_commands_exit_status(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_PARENT))
    proc = subprocess.run([sys.executable, "-m", "kvsws_emulator.on443", "--state-dir", str(tmp_path), "--",
                           "sh", "-c", 'test -s "$AWS_KVS_CACERT_PATH" && test "$AWS_DEFAULT_REGION" = us-west-2 '
                           '&& exit 7'], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 7, proc.stderr
    assert (tmp_path / "ca.pem").exists()  # a given state dir is kept: the CA an SDK was given stays


def test_advertise_names_a_proxy_host_without_port() -> None:
    with Emulator(extra_args=["--advertise", "kvs.emulator.test:443"]) as emu:
        assert endpoints(emu) == {"WSS": "wss://kvs.emulator.test", "HTTPS": "https://kvs.emulator.test",
                                  "WEBRTC": "https://kvs.emulator.test"}
        assert emu.ready["advertised"] == "kvs.emulator.test"
        assert emu.wss_endpoint == "wss://kvs.emulator.test"
        assert emu.endpoint == f"https://127.0.0.1:{emu.port}"  # the listener itself is unchanged
        assert "kvs.emulator.test" in certificate_names(emu)  # so an SDK verifies it under that name


@pytest.mark.parametrize(("port", "data_plane_port", "advertise", "wss"), [
    (443, None, None, "wss://127.0.0.1"), (8443, None, None, "wss://127.0.0.1:8443"),
    (8443, 443, None, "wss://127.0.0.1"), (8443, 9443, None, "wss://127.0.0.1:9443"),
    (8443, None, "localhost:8443", "wss://localhost:8443"), (8443, 9443, "kvs.emulator.test", "wss://kvs.emulator.test"),
])
def test_channel_endpoints_leave_out_443_only(port: int, data_plane_port: int | None, advertise: str | None,
                                              wss: str) -> None:
    state = build_state()
    state.port, state.data_plane_port = port, data_plane_port
    state.advertised = advertised_authority(advertise) if advertise else None
    assert state.channel_endpoint("wss") == wss
    assert state.channel_endpoint("https") == wss.replace("wss://", "https://")


@pytest.mark.parametrize(("value", "rule"), [
    ("https://kvs.emulator.test", "not a URL"),
    ("kvs.emulator.test:https", "port must be a number from 1 to 65535"),
    ("kvs.emulator.test:70000", "port must be a number from 1 to 65535"),
    ("kvs_emulator!", "DNS name or an IPv4 address"),
    ("[not-v6]:443", "is not an IPv6 address"),
])
def test_bad_advertise_values_name_the_rule(value: str, rule: str) -> None:
    with pytest.raises(ValueError, match=re.escape(rule)) as info:
        parse_advertise(value)
    assert "--advertise" in str(info.value)


def test_bad_advertise_stops_the_emulator_before_it_listens(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_PARENT))
    proc = subprocess.run([sys.executable, "-m", "kvsws_emulator", "--state-dir", str(tmp_path),
                           "--advertise", "https://kvs.emulator.test"], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 2
    assert "--advertise 'https://kvs.emulator.test': give HOST or HOST:PORT, not a URL" in proc.stderr, proc.stderr
    assert not (tmp_path / "ready.json").exists()


@pytest.mark.parametrize(("value", "authority"), [
    ("kvs.emulator.test", "kvs.emulator.test"), ("kvs.emulator.test:443", "kvs.emulator.test"),
    ("127.0.0.1:8443", "127.0.0.1:8443"), ("[::1]", "[::1]"), ("[::1]:8443", "[::1]:8443"),
])
def test_advertise_values_as_they_go_into_urls(value: str, authority: str) -> None:
    assert advertised_authority(value) == authority


def test_port_443_without_privileges_says_how_to_get_them(tmp_path: Path) -> None:
    """As an unprivileged user (uid 'nobody' in a fresh user and network namespace): a clear error
    that lists the ways, not a traceback."""
    tmp_path.chmod(0o777)
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_PARENT))
    proc = subprocess.run(["unshare", "--user", "--net", sys.executable, "-m", "kvsws_emulator", "--port", "443",
                           "--state-dir", str(tmp_path / "state")], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "cannot listen on 127.0.0.1 port 443: Permission denied" in proc.stderr
    for way in ("kvsws_emulator.on443", "setcap", "authbind", "ip_unprivileged_port_start"):
        assert way in proc.stderr
    assert "Traceback" not in proc.stderr


def readme_block(heading: str) -> str:
    """The first ```sh block after ``heading`` in the top-level README."""
    text = (PACKAGE_PARENT.parent.parent / "README.md").read_text(encoding="utf-8")
    section = text[text.index(f"\n{heading}\n"):]
    return section[section.index("```sh\n") + len("```sh\n"):section.index("\n```", section.index("```sh\n"))]


def test_the_readme_command_runs_as_written() -> None:
    """README, "Pointing other SDKs at the emulator": its command, exactly as written, from the
    checkout's root (where scripts/setup.sh made .venv and the build made build/kvsws)."""
    block = readme_block("## Pointing other SDKs at the emulator")
    assert "kvsws_emulator.on443" in block
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=PACKAGE_PARENT.parent.parent, env=env,
                          capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    listed = {e["Protocol"]: e["ResourceEndpoint"] for e in json.loads(proc.stdout)["ResourceEndpointList"]}
    assert listed == {"WSS": "wss://kvs.emulator.test", "HTTPS": "https://kvs.emulator.test",
                      "WEBRTC": "https://kvs.emulator.test"}

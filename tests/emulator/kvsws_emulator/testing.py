# SPDX-License-Identifier: Apache-2.0
"""Run the emulator from tests: ``with Emulator() as emu: ...``.

The emulator runs as a subprocess (``python3 -m kvsws_emulator``) in a temporary state dir; this
module only uses the standard library, so any test (pytest fixture, unittest, a script) can use it::

    @pytest.fixture(scope="session")
    def emulator():
        with Emulator() as emu:
            yield emu

    def test_x(emulator):
        emulator.fault(operation="JoinStorageSession", status=503, count=2)
        subprocess.run([...], env=emulator.subprocess_env(), check=True)
        assert emulator.calls("JoinStorageSession") == 3
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

PACKAGE_PARENT = Path(__file__).resolve().parent.parent  # tests/emulator
TEST_REGION = "us-west-2"


class EmulatorError(RuntimeError):
    pass


class Emulator:
    """The emulator as a subprocess, plus a client for its admin API."""

    def __init__(
        self,
        *,
        config: Mapping[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        state_dir: str | Path | None = None,
        keep_state_dir: bool = False,
        startup_timeout: float = 20.0,
        log_level: str = "INFO",
        extra_args: Sequence[str] = (),
        python: str = sys.executable,
    ) -> None:
        self._config = dict(config) if config is not None else None
        self._host = host
        self._port = port
        self._state_dir_arg = Path(state_dir) if state_dir is not None else None
        self._keep_state_dir = keep_state_dir or state_dir is not None
        self._startup_timeout = startup_timeout
        self._log_level = log_level
        self._extra_args = list(extra_args)
        self._python = python
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready: dict[str, Any] | None = None
        self._ssl: ssl.SSLContext | None = None
        self.state_dir: Path | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Self:
        if self._proc is not None:
            raise EmulatorError("already started")
        self.state_dir = self._state_dir_arg or Path(tempfile.mkdtemp(prefix="kvsws-emulator-"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        ready_path = self.state_dir / "ready.json"
        ready_path.unlink(missing_ok=True)
        cmd = [self._python, "-m", "kvsws_emulator", "--host", self._host, "--port", str(self._port),
               "--state-dir", str(self.state_dir), "--log-level", self._log_level, *self._extra_args]
        if self._config is not None:
            config_path = self.state_dir / "config.json"
            config_path.write_text(json.dumps(self._config), encoding="utf-8")
            cmd += ["--config", str(config_path)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_PARENT), env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        with open(self.log_path, "ab") as log_file:  # the child keeps its own copy of the fd
            self._proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                          stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self._startup_timeout
        while True:
            returncode = self._proc.poll()
            if returncode is not None:
                log = self.log_text()
                self.stop()
                raise EmulatorError(f"the emulator exited with {returncode}:\n{log[-4000:]}")
            try:
                ready = json.loads(ready_path.read_text(encoding="utf-8"))
                if ready.get("pid") == self._proc.pid:
                    self._ready = ready
                    break
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                log = self.log_text()
                self.stop()
                raise EmulatorError(f"the emulator was not ready within {self._startup_timeout}s:\n{log[-4000:]}")
            time.sleep(0.02)
        self._ssl = ssl.create_default_context(cafile=self.ca_bundle)
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.state_dir is not None and not self._keep_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- what ready.json says ------------------------------------------------------------------
    @property
    def ready(self) -> dict[str, Any]:
        if self._ready is None:
            raise EmulatorError("the emulator is not running")
        return self._ready

    @property
    def endpoint(self) -> str:
        return str(self.ready["endpoint"])

    @property
    def port(self) -> int:
        return int(self.ready["port"])

    @property
    def data_plane_endpoint(self) -> str:
        """What GetSignalingChannelEndpoint advertises (HTTPS, WEBRTC): the endpoint itself unless
        the emulator runs with ``--data-plane-port``."""
        return str(self.ready.get("data_plane_endpoint", self.endpoint))

    @property
    def ca_bundle(self) -> str:
        return str(self.ready["ca_bundle"])

    @property
    def region(self) -> str:
        return str(self.ready.get("region", TEST_REGION))

    @property
    def access_key_id(self) -> str:
        return str(self.ready["access_key_id"])

    @property
    def secret_access_key(self) -> str:
        return str(self.ready["secret_access_key"])

    @property
    def session_credentials(self) -> dict[str, str] | None:
        """The default key pair that needs a session token (absent with a custom config)."""
        return self.ready.get("session_credentials")

    @property
    def pid(self) -> int:
        return int(self.ready["pid"])

    @property
    def log_path(self) -> Path:
        assert self.state_dir is not None
        return self.state_dir / "emulator.log"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def channel_arn(self, name: str, region: str | None = None) -> str:
        for channel in self.state()["channels"]:
            if channel["name"] == name and channel["region"] == (region or self.region):
                return str(channel["arn"])
        raise KeyError(name)

    # -- environment for code under test ----------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The AWS_* variables that point an SDK (or kvsws) at the emulator."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL_KINESIS_VIDEO": self.endpoint,
            "AWS_CA_BUNDLE": self.ca_bundle,
        }

    def subprocess_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default os.environ) without any other AWS_* setting, plus ``env()``: a child
        process cannot pick up a real profile, session token or endpoint by accident."""
        source = os.environ if base is None else base
        out = {k: v for k, v in source.items() if not k.startswith("AWS_")}
        out["AWS_CONFIG_FILE"] = os.devnull
        out["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        out.update(self.env())
        return out

    def boto3_kwargs(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``boto3.client(service, **emu.boto3_kwargs())``."""
        kwargs: dict[str, Any] = {
            "endpoint_url": self.endpoint,
            "verify": self.ca_bundle,
            "region_name": self.region,
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
        }
        kwargs.update(overrides)
        return kwargs

    # -- the admin API ------------------------------------------------------------------------------
    def admin(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.endpoint}/_emulator/{path.lstrip('/')}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self._ssl, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise EmulatorError(f"admin {method} {path}: HTTP {exc.code}: {detail}") from None

    def state(self) -> dict[str, Any]:
        return dict(self.admin("GET", "state"))

    def fault(self, **spec: Any) -> dict[str, Any]:
        """Queue a fault: ``fault(operation="JoinStorageSession", count=2, status=503)``."""
        return dict(self.admin("POST", "faults", spec)["fault"])

    def reset(self) -> None:
        self.admin("POST", "reset", {})

    def add_channel(self, name: str, storage: bool = True, region: str | None = None) -> str:
        """Create the channel (or set the storage flag of an existing one); returns its ARN."""
        body: dict[str, Any] = {"name": name, "storage": storage}
        if region is not None:
            body["region"] = region
        return str(self.admin("POST", "channels", body)["arn"])

    def add_credentials(self, access_key_id: str, secret_access_key: str, session_token: str | None = None) -> None:
        body = {"access_key_id": access_key_id, "secret_access_key": secret_access_key}
        if session_token is not None:
            body["session_token"] = session_token
        self.admin("POST", "credentials", body)

    def clock(self, skew_seconds: float) -> None:
        """Move the emulator's clock (signature checks and the Date header) by ``skew_seconds``."""
        self.admin("POST", "clock", {"skew_seconds": skew_seconds})

    def allow_regions(self, regions: Sequence[str] | None) -> None:
        self.admin("POST", "regions", {"allowed_regions": list(regions) if regions is not None else None})

    def calls(self, operation: str | None = None) -> int:
        counts: dict[str, int] = self.state()["calls"]
        return sum(counts.values()) if operation is None else int(counts.get(operation, 0))

    def requests(self, operation: str | None = None) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self.state()["requests"]
        return [r for r in records if operation is None or r["operation"] == operation]

    # -- the STS and SSO portal stand-ins (sts.py, sso_portal.py) -----------------------------------
    def add_role(self, role_arn: str, *, trusted: Sequence[str] | None = None, web_identity_token: str | None = None,
                 external_id: str | None = None, lifetime_seconds: float | None = None) -> None:
        """Register (or replace) a role STS lets ``trusted`` keys or role ARNs assume (None: any key)."""
        self.admin("POST", "sts/roles", {
            "role_arn": role_arn, "trusted": list(trusted) if trusted is not None else None,
            "web_identity_token": web_identity_token, "external_id": external_id,
            "lifetime_seconds": lifetime_seconds})

    def sts_fault(self, code: str, **spec: Any) -> dict[str, Any]:
        """Queue an STS error answer: ``sts_fault("AccessDenied", operation="AssumeRole", count=1)``."""
        return dict(self.admin("POST", "sts/faults", {"code": code, **spec}))

    def add_sso_assignment(self, access_token: str, account_id: str, role_name: str,
                           lifetime_seconds: float | None = None) -> None:
        """Let the SSO portal's GetRoleCredentials give ``role_name`` in ``account_id`` for that token."""
        self.admin("POST", "sso/assignments", {"access_token": access_token, "account_id": account_id,
                                               "role_name": role_name, "lifetime_seconds": lifetime_seconds})

    def sso_fault(self, code: str, **spec: Any) -> dict[str, Any]:
        return dict(self.admin("POST", "sso/faults", {"code": code, **spec}))

    def issued(self) -> list[dict[str, Any]]:
        """Credentials the STS and SSO stand-ins issued since the last reset, oldest first."""
        return list(self.admin("GET", "sts")["issued"])

    # -- the AWS IoT credentials provider stand-in (iot.py; needs extra_args=["--iot-port", "0"]) ---
    @property
    def iot_endpoint(self) -> str:
        """host:port, as ``aws iot describe-endpoint --endpoint-type iot:CredentialProvider`` prints a host."""
        if "iot_endpoint" not in self.ready:
            raise EmulatorError("the emulator runs without --iot-port")
        return str(self.ready["iot_endpoint"])

    def add_iot_thing(self, thing_name: str) -> dict[str, str]:
        """A thing with a device certificate and key from the emulator's CA: {thing_name, cert_file, key_file}."""
        return dict(self.admin("POST", "iot/things", {"thing_name": thing_name}))

    def add_iot_role_alias(self, role_alias: str, lifetime_seconds: float | None = None) -> None:
        self.admin("POST", "iot/role-aliases", {"role_alias": role_alias, "lifetime_seconds": lifetime_seconds})

    def iot_fault(self, code: str, **spec: Any) -> dict[str, Any]:
        """Queue an error answer: ``iot_fault("ForbiddenException")`` (403 {"message": "Access Denied"})."""
        return dict(self.admin("POST", "iot/faults", {"code": code, **spec}))

    def iot_state(self, secrets: bool = False) -> dict[str, Any]:
        """Things, role aliases, issued credentials, faults; with ``secrets`` each issued key's
        secret and token too (to check that no output shows them)."""
        return dict(self.admin("GET", "iot?secrets=1" if secrets else "iot"))

    def iot_env(self, thing: Mapping[str, str], role_alias: str) -> dict[str, str]:
        """The six variables the KVS C SDK's samples read, for ``thing`` (from add_iot_thing)."""
        return {
            "AWS_IOT_CORE_CREDENTIAL_ENDPOINT": self.iot_endpoint,
            "AWS_IOT_CORE_CERT": thing["cert_file"],
            "AWS_IOT_CORE_PRIVATE_KEY": thing["key_file"],
            "AWS_IOT_CORE_ROLE_ALIAS": role_alias,
            "AWS_IOT_CORE_THING_NAME": thing["thing_name"],
            "AWS_KVS_CACERT_PATH": self.ca_bundle,
        }

    # -- signaling and storage sessions -------------------------------------------------------------
    @property
    def wss_endpoint(self) -> str:
        return str(self.ready.get("wss_endpoint", self.endpoint.replace("https://", "wss://", 1)))

    @property
    def turn_uris(self) -> list[str]:
        return list(self.ready.get("turn_uris", []))

    def sessions(self, channel: str) -> list[dict[str, Any]]:
        """The storage sessions (one per accepted JoinStorageSession) of a channel, oldest first, with
        their status, ``timings_ms`` since the join, codecs, frame and packet counts, candidates."""
        data = self.admin("GET", f"sessions?channel={urllib.parse.quote(channel, safe='')}")
        return list(next(iter(data["channels"].values()))["sessions"])

    def connections(self, channel: str) -> list[dict[str, Any]]:
        """The signaling WebSocket connections of a channel (open and closed), oldest first."""
        data = self.admin("GET", f"sessions?channel={urllib.parse.quote(channel, safe='')}")
        return list(next(iter(data["channels"].values()))["connections"])

    def signal(self, channel: str, action: str, **options: Any) -> dict[str, Any]:
        """Act on the channel's open master connection (``client_id=`` for a viewer's):
        go_away, reconnect_ice_server, close (code=, reason=), drop, malformed, silence, send (text=),
        idle_close (idle_close_after_ms=)."""
        return dict(self.admin("POST", "signaling", {"channel": channel, "action": action, **options}))

    def turn_state(self) -> dict[str, Any]:
        """The built-in TURN server: ports, requests, allocations (with relayed packet counts)."""
        return dict(self.state()["turn"])

    def wait_for_session(self, channel: str, predicate: Any = None, timeout: float = 10.0,
                         index: int = -1) -> dict[str, Any]:
        """Poll until the channel's session ``index`` (default: the latest) exists and satisfies
        ``predicate(session)``; returns it. Raises EmulatorError on timeout, with the last state."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        while True:
            sessions = self.sessions(channel)
            if sessions and -len(sessions) <= index < len(sessions):
                last = sessions[index]
                if predicate is None or predicate(last):
                    return last
            if time.monotonic() > deadline:
                raise EmulatorError(f"session condition not met within {timeout}s; last: {json.dumps(last)[:2000]}")
            time.sleep(0.1)

    def wait_for_media(self, channel: str, min_video_frames: int = 30, min_audio: int = 30,
                       timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the latest session decoded ``min_video_frames`` video frames and received
        ``min_audio`` audio packets (decoded Opus frames); returns that session."""
        def enough(s: dict[str, Any]) -> bool:
            audio = max(s["audio"]["frames"], s.get("rtp", {}).get("audio", {}).get("packets", 0))
            return bool(s["video"]["frames"] >= min_video_frames and audio >= min_audio)

        return self.wait_for_session(channel, enough, timeout)

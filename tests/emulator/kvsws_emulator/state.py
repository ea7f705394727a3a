# SPDX-License-Identifier: Apache-2.0
"""In-memory state: credentials, channels, faults, call counts and the recorded requests."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .endpoints import endpoint_url

DEFAULT_REGION = "us-west-2"
DEFAULT_ACCOUNT = "123456789012"
# Fixed test keys: not secrets, safe to print. The second pair needs its session token.
DEFAULT_ACCESS_KEY_ID = "AKIDEMULATOR"
DEFAULT_SECRET_ACCESS_KEY = "emulator/SecretAccessKey/K7MDENGbPxRfiCYEXAMPLE"
TOKEN_ACCESS_KEY_ID = "ASIAEMULATORTOKEN"
TOKEN_SECRET_ACCESS_KEY = "emulator/SessionSecret/wJalrXUtnFEMIK7MDENGEXAMPLE"
TOKEN_SESSION_TOKEN = "emulator-session-token-FwoGZXIvYXdzEXAMPLE"
# Default channels get a fixed ARN suffix so their ARNs are stable across runs.
DEFAULT_CHANNEL_SUFFIX = 1234567890123
CHANNEL_NAME_RE = re.compile(r"[a-zA-Z0-9_.-]{1,256}")
REGION_RE = re.compile(r"[a-z0-9-]+")
MAX_RECORDS = 10_000


@dataclass
class Credential:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    expiration: float | None = None  # issued by the STS / SSO stand-ins: refused after this time

    def public(self) -> dict[str, Any]:
        return {"access_key_id": self.access_key_id, "needs_session_token": self.session_token is not None,
                "expiration": self.expiration}


@dataclass
class Channel:
    name: str
    region: str
    account_id: str
    storage: bool
    creation_time: float
    arn_suffix: int
    version: str = field(default_factory=lambda: secrets.token_hex(10))
    join_count: int = 0
    viewer_join_count: int = 0

    @property
    def arn(self) -> str:
        return f"arn:aws:kinesisvideo:{self.region}:{self.account_id}:channel/{self.name}/{self.arn_suffix}"

    @property
    def stream_arn(self) -> str | None:
        if not self.storage:
            return None
        return (
            f"arn:aws:kinesisvideo:{self.region}:{self.account_id}:stream/"
            f"{self.name}-storage/{self.arn_suffix}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "region": self.region,
            "storage": self.storage,
            "stream_arn": self.stream_arn,
            "creation_time": self.creation_time,
            "version": self.version,
            "join_count": self.join_count,
            "viewer_join_count": self.viewer_join_count,
        }


@dataclass
class Fault:
    """One queued fault, applied to the next ``remaining`` matching calls."""

    id: int
    operation: str  # an operation name or "*"
    remaining: int
    delay_ms: int = 0
    trickle_ms: int = 0  # the answer's body goes out one byte every trickle_ms (never quiet)
    error: str | None = None
    message: str | None = None
    status: int | None = None
    body: str = "json"
    throttle: bool = False
    drop: bool = False
    signature_expired: bool = False
    # Storage-session faults (JoinStorageSession): the join is accepted, the offer misbehaves.
    session: SessionFault | None = None

    def kind(self) -> str:
        for k in ("error", "status"):
            if getattr(self, k) is not None:
                return k
        for k in ("throttle", "drop", "signature_expired"):
            if getattr(self, k):
                return k
        if self.session is not None:
            return "session"
        return "trickle" if self.trickle_ms else "delay"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "operation": self.operation, "remaining": self.remaining,
                               "kind": self.kind()}
        if self.delay_ms:
            out["delay_ms"] = self.delay_ms
        if self.trickle_ms:
            out["trickle_ms"] = self.trickle_ms
        if self.error is not None:
            out["error"] = self.error
        if self.message is not None:
            out["message"] = self.message
        if self.status is not None:
            out["status"] = self.status
            out["body"] = self.body
        if self.session is not None:
            out.update(self.session.to_json())
        return out


@dataclass
class SessionFault:
    """What the storage service's peer does wrong for one accepted join."""

    no_offer: bool = False  # the join is accepted, no offer is ever sent
    candidates_first: bool = False  # the ICE candidates go out before the offer
    trickle_only: bool = False  # the offer's SDP carries no candidates: they come only as ICE_CANDIDATE
    offer_delay_ms: int = 0  # a slow peer: wait this long before making the offer
    sender_client_id: str | None = None  # add senderClientId to the offer and candidates

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in ("no_offer", "candidates_first", "trickle_only"):
            if getattr(self, k):
                out[k] = True
        if self.offer_delay_ms:
            out["offer_delay_ms"] = self.offer_delay_ms
        if self.sender_client_id is not None:
            out["sender_client_id"] = self.sender_client_id
        return out


@dataclass
class RequestRecord:
    request_id: str
    time: float
    method: str
    path: str
    operation: str | None
    verified: bool = False
    auth_error: str | None = None
    region: str | None = None
    service: str | None = None
    access_key_id: str | None = None
    user_agent: str | None = None
    signed_headers: list[str] = field(default_factory=list)
    params: Any = None
    fault: dict[str, Any] | None = None
    status: int | None = None
    error: str | None = None
    # On a signature mismatch: what the emulator (botocore) computed, to compare with the client.
    canonical_request: str | None = None
    string_to_sign: str | None = None
    # Which listener served it: "control" (the emulator's endpoint) or "data" (--data-plane-port).
    listener: str = "control"

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["time_iso"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.time))
        return out


@dataclass
class JoinEvent:
    """One accepted JoinStorageSession(AsViewer)."""

    channel: Channel
    client_id: str | None  # the viewer's client id; None for JoinStorageSession (the master)
    request_id: str
    time: float
    fault: SessionFault | None = None


# Called (as a task) when JoinStorageSession(AsViewer) is accepted: the signaling half hooks the
# WebRTC peer that sends the offer here.
StorageSessionHook = Callable[[JoinEvent], Coroutine[Any, Any, None]]
ResetHook = Callable[[], None]


class ConfigError(ValueError):
    pass


@dataclass
class TurnConfig:
    # None: the emulator's own TURN server (UDP on the emulator's port number, TCP on its own port),
    # filled in once it listens. A list: those URIs, as they are (e.g. a coturn sharing ``secret``).
    uris: list[str] | None = None
    secret: str = "emulator-turn-secret"
    ttl: int = 300
    builtin: bool = True  # run the built-in TURN server (only used when uris is None)


class State:
    def __init__(self, *, region: str = DEFAULT_REGION, account_id: str = DEFAULT_ACCOUNT) -> None:
        self.region = region
        self.account_id = account_id
        self.credentials: dict[str, Credential] = {}
        self.channels: dict[str, Channel] = {}  # by ARN
        self.allowed_regions: list[str] | None = None  # None: any region
        self.turn = TurnConfig()
        self.clock_skew: float = 0.0
        self.faults: dict[str, deque[Fault]] = {}
        self.calls: Counter[str] = Counter()
        self.records: deque[RequestRecord] = deque(maxlen=MAX_RECORDS)
        self.storage_session_hooks: list[StorageSessionHook] = []
        self.reset_hooks: list[ResetHook] = []
        self.record_media = True  # write what the storage peer receives to STATE_DIR/recordings
        # Remote ICE candidates the storage peer accepts: "loopback" (127.0.0.0/8, ::1) or "local"
        # (also this machine's own interface addresses). Anything else is recorded and ignored.
        self.ice_remote_candidates = "loopback"
        self.idle_timeout_seconds = 600.0  # the signaling WebSocket closes after this much silence
        self.turn_uris: list[str] = []  # what GetIceServerConfig returns, once known
        self.background_tasks: set[asyncio.Task[None]] = set()
        self.endpoint_host = "127.0.0.1"
        self.port = 0
        # With --data-plane-port: the port GetSignalingChannelEndpoint advertises, which alone
        # serves the storage calls, GetIceServerConfig and the WebSocket (None: one listener).
        self.data_plane_port: int | None = None
        # With --advertise HOST[:PORT]: the host (and port) the channels' endpoints name instead of
        # the listener's, e.g. a port-443 proxy or a hostname in /etc/hosts (None: the listener).
        self.advertised: str | None = None
        # With --iot-port: the AWS IoT credentials provider's host:port (iot.py), else None.
        self.iot_endpoint: str | None = None
        self._next_fault_id = 1

    # -- endpoints ---------------------------------------------------------------------------
    def listener_url(self, scheme: str, port: int) -> str:
        return endpoint_url(scheme, self.endpoint_host, port)

    def channel_endpoint(self, scheme: str) -> str:
        """What GetSignalingChannelEndpoint returns for WSS ("wss") or HTTPS/WEBRTC ("https")."""
        if self.advertised is not None:
            return f"{scheme}://{self.advertised}"
        return self.listener_url(scheme, self.data_plane_port if self.data_plane_port is not None else self.port)

    # -- clock -----------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_skew

    # -- credentials -------------------------------------------------------------------------
    def add_credential(
        self, access_key_id: str, secret_access_key: str, session_token: str | None = None
    ) -> Credential:
        if not access_key_id or not secret_access_key:
            raise ConfigError("access_key_id and secret_access_key are required")
        if not re.fullmatch(r"[A-Za-z0-9]{3,128}", access_key_id):
            raise ConfigError("access_key_id must be 3-128 letters or digits")
        cred = Credential(access_key_id, secret_access_key, session_token or None)
        self.credentials[access_key_id] = cred
        return cred

    def default_credential(self) -> Credential:
        return next(iter(self.credentials.values()))

    # -- channels ----------------------------------------------------------------------------
    def add_channel(self, name: str, storage: bool = True, region: str | None = None,
                    arn_suffix: int | None = None) -> Channel:
        region = region or self.region
        if not isinstance(name, str) or not CHANNEL_NAME_RE.fullmatch(name):
            raise ConfigError("channel name must match [a-zA-Z0-9_.-]+ (1-256 characters)")
        if not REGION_RE.fullmatch(region):
            raise ConfigError(f"invalid region {region!r}")
        if self.find_channel_by_name(name, region) is not None:
            raise ConfigError(f"channel {name!r} already exists in {region}")
        created = time.time()
        suffix = arn_suffix if arn_suffix is not None else int(created * 1000)
        channel = Channel(name=name, region=region, account_id=self.account_id, storage=bool(storage),
                          creation_time=round(created, 3), arn_suffix=suffix)
        self.channels[channel.arn] = channel
        return channel

    def put_channel(self, name: str, storage: bool = True, region: str | None = None) -> tuple[Channel, bool]:
        """Create the channel, or set the storage flag of the existing one (same name and region).
        Returns the channel and whether it was created."""
        existing = self.find_channel_by_name(name, region or self.region)
        if existing is not None:
            existing.storage = bool(storage)
            return existing, False
        return self.add_channel(name, storage=storage, region=region), True

    def find_channel_by_name(self, name: str, region: str) -> Channel | None:
        for c in self.channels.values():
            if c.name == name and c.region == region:
                return c
        return None

    # -- faults --------------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> Fault:
        fault.id = self._next_fault_id
        self._next_fault_id += 1
        self.faults.setdefault(fault.operation, deque()).append(fault)
        return fault

    def take_fault(self, operation: str, wildcard: bool = True) -> Fault | None:
        """Consume one use of the first fault queued for ``operation``, else (if ``wildcard``) for "*"."""
        for key in (operation, "*") if wildcard else (operation,):
            queue = self.faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault
        return None

    def pending_faults(self) -> list[dict[str, Any]]:
        return [f.to_json() for q in self.faults.values() for f in q]

    def reset(self) -> None:
        self.faults.clear()
        self.calls.clear()
        self.records.clear()
        self.clock_skew = 0.0
        for hook in self.reset_hooks:
            hook()

    # -- admin view ------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "account_id": self.account_id,
            "allowed_regions": self.allowed_regions,
            "clock_skew_seconds": self.clock_skew,
            "now": self.now(),
            "credentials": [c.public() for c in self.credentials.values()],
            "channels": [c.to_json() for c in self.channels.values()],
            "calls": dict(self.calls),
            "faults": self.pending_faults(),
            "requests": [r.to_json() for r in self.records],
        }


_CONFIG_KEYS = {"region", "account_id", "credentials", "channels", "allowed_regions", "turn", "record",
                "ice_remote_candidates", "idle_timeout_seconds"}


def build_state(config: Mapping[str, Any] | None = None) -> State:
    """The default state, or the one a --config JSON document describes.

    ``credentials`` and ``channels``, when present, replace the defaults (not add to them).
    """
    config = dict(config or {})
    unknown = set(config) - _CONFIG_KEYS
    if unknown:
        raise ConfigError(f"unknown config keys: {sorted(unknown)}")
    region = config.get("region", DEFAULT_REGION)
    account = str(config.get("account_id", DEFAULT_ACCOUNT))
    if not isinstance(region, str) or not REGION_RE.fullmatch(region):
        raise ConfigError("region must be a region name")
    if not re.fullmatch(r"[0-9]{12}", account):
        raise ConfigError("account_id must be 12 digits")
    state = State(region=region, account_id=account)

    creds = config.get("credentials")
    if creds is None:
        state.add_credential(DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY)
        state.add_credential(TOKEN_ACCESS_KEY_ID, TOKEN_SECRET_ACCESS_KEY, TOKEN_SESSION_TOKEN)
    else:
        if not isinstance(creds, list) or not creds:
            raise ConfigError("credentials must be a non-empty list")
        for c in creds:
            if not isinstance(c, dict):
                raise ConfigError("each credential must be an object")
            state.add_credential(c.get("access_key_id", ""), c.get("secret_access_key", ""), c.get("session_token"))

    channels = config.get("channels")
    if channels is None:
        state.add_channel("demo-channel", storage=True, arn_suffix=DEFAULT_CHANNEL_SUFFIX)
        state.add_channel("no-storage-channel", storage=False, arn_suffix=DEFAULT_CHANNEL_SUFFIX)
    else:
        if not isinstance(channels, list):
            raise ConfigError("channels must be a list")
        for ch in channels:
            if not isinstance(ch, dict) or "name" not in ch:
                raise ConfigError("each channel must be an object with a name")
            suffix = ch.get("arn_suffix", DEFAULT_CHANNEL_SUFFIX)
            if not isinstance(suffix, int) or suffix < 0:
                raise ConfigError("arn_suffix must be a non-negative integer")
            state.add_channel(ch["name"], storage=bool(ch.get("storage", True)), region=ch.get("region"),
                              arn_suffix=suffix)

    allowed = config.get("allowed_regions")
    if allowed is not None:
        if not isinstance(allowed, list) or not all(isinstance(r, str) for r in allowed):
            raise ConfigError("allowed_regions must be a list of region names or null")
        state.allowed_regions = list(allowed)

    turn = config.get("turn")
    if turn is not None:
        if not isinstance(turn, dict) or set(turn) - {"uris", "secret", "ttl", "builtin"}:
            raise ConfigError("turn must be an object with uris, secret, ttl, builtin")
        uris = turn.get("uris")
        if uris is not None and (not isinstance(uris, list) or not all(isinstance(u, str) for u in uris)):
            raise ConfigError("turn.uris must be a list of turn:/turns:/stun: URIs or null (the built-in server)")
        state.turn = TurnConfig(
            uris=list(uris) if uris is not None else None,
            secret=str(turn.get("secret", TurnConfig().secret)),
            ttl=int(turn.get("ttl", 300)),
            builtin=bool(turn.get("builtin", True)),
        )
    if "record" in config:
        state.record_media = bool(config["record"])
    remote = config.get("ice_remote_candidates", "loopback")
    if remote not in ("loopback", "local"):
        raise ConfigError("ice_remote_candidates must be 'loopback' or 'local'")
    state.ice_remote_candidates = remote
    idle = config.get("idle_timeout_seconds", 600)
    if not isinstance(idle, (int, float)) or isinstance(idle, bool) or idle <= 0:
        raise ConfigError("idle_timeout_seconds must be a positive number")
    state.idle_timeout_seconds = float(idle)
    return state


def load_config(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ConfigError("the config file must hold a JSON object")
    return data

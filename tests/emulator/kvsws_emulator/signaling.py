# SPDX-License-Identifier: Apache-2.0
"""The signaling WebSocket (ConnectAsMaster / ConnectAsViewer) and the storage sessions behind it.

``server.signaling_handler`` authenticates the upgrade request (presigned URL, botocore) and hands
the open WebSocket to ``SignalingHub.serve_connection``. The hub keeps every connection's record,
routes what clients send (a master's SDP_ANSWER / ICE_CANDIDATE go to the channel's storage
session; viewer <-> master messages are relayed as the service does for peer-to-peer), and on each
accepted JoinStorageSession starts the storage service's WebRTC peer (``peer.StorageSession``,
imported lazily: aiortc and PyAV are only loaded when a session is used).

Wire format (AWS docs, "Asynchronous message reception"): the service sends
``{"senderClientId"?, "messageType", "messagePayload"?, "statusResponse"?}``; clients send
``{"action", "recipientClientId"?, "messagePayload", "correlationId"?}``. A STATUS_RESPONSE is only
sent for a failed message that carried a correlationId.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib
import json
import logging
import re
import socket
import struct
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .state import Channel, ConfigError, JoinEvent, State

if TYPE_CHECKING:
    from .peer import StorageSession

log = logging.getLogger("kvsws_emulator.signaling")

WSS_OPERATIONS = ("ConnectAsMaster", "ConnectAsViewer")
CHANNEL_ARN_RE = re.compile(r"arn:aws:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+")
NAME_RE = re.compile(r"[a-zA-Z0-9_.-]{1,256}")
CLIENT_ACTIONS = ("SDP_OFFER", "SDP_ANSWER", "ICE_CANDIDATE")
MAX_PAYLOAD_CHARS = 10 * 1024
# Per connection, as the service documents them: 5 answers/offers and 20 candidates per second.
RATE_LIMITS = {"SDP_OFFER": 5, "SDP_ANSWER": 5, "ICE_CANDIDATE": 20}
MAX_CONNECTION_RECORDS = 1000
MAX_SESSIONS_PER_CHANNEL = 100
MAX_ERRORS = 50
MAX_RECEIVED_LOG = 50
ADMIN_ACTIONS = ("go_away", "reconnect_ice_server", "close", "drop", "malformed", "idle_close", "silence",
                 "send")


def session_key(arn: str, client_id: str | None) -> str:
    """Where a live storage session is kept: the master's under the channel ARN, each viewer's
    under the ARN and its client id."""
    return arn if client_id is None else f"{arn}#viewer:{client_id}"


def b64json(obj: Any) -> str:
    return base64.b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode()


def malformed_frames() -> list[str | bytes]:
    """What the "malformed" admin action sends, in order: a client must survive every one."""
    return [
        "this is not JSON",
        json.dumps({"messagePayload": b64json({"type": "offer", "sdp": "v=0"})}),  # no messageType
        json.dumps({"messageType": "SDP_PRANSWER", "messagePayload": b64json({"sdp": "v=0"})}),  # unknown type
        json.dumps({"messageType": "SDP_OFFER", "messagePayload": "%%% not base64 %%%"}),  # bad base64
        json.dumps({"messageType": "ICE_CANDIDATE", "messagePayload": base64.b64encode(b"not json").decode()}),
        json.dumps({"message": "Endpoint request timed out", "connectionId": "x", "requestId": "y"}),
        b"\x00\x01binary frame\xff",
    ]


# -- records -----------------------------------------------------------------------------------------

@dataclass
class ConnectionRecord:
    id: int
    channel_arn: str
    channel_name: str
    role: str  # "MASTER" or "VIEWER"
    client_id: str | None
    remote: str | None
    request_id: str
    connected_at: float
    idle_timeout: float
    closed_at: float | None = None
    close_code: int | None = None
    closed_by: str | None = None  # client | server | idle | drop | shutdown | error
    pings: int = 0
    received: Counter[str] = field(default_factory=Counter)  # by action (or "invalid", "binary")
    sent: Counter[str] = field(default_factory=Counter)  # by messageType (or "raw", "binary")
    errors: list[str] = field(default_factory=list)
    # the first client messages in arrival order: what tests check of order and addressing
    received_log: list[dict[str, Any]] = field(default_factory=list)
    last_activity: float = 0.0

    @property
    def open(self) -> bool:
        return self.closed_at is None

    def error(self, text: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(text)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "channel_arn": self.channel_arn, "channel": self.channel_name, "role": self.role,
            "client_id": self.client_id, "remote": self.remote, "request_id": self.request_id,
            "connected_at": self.connected_at, "closed_at": self.closed_at, "open": self.open,
            "close_code": self.close_code, "closed_by": self.closed_by,
            "idle_timeout_ms": int(self.idle_timeout * 1000),
            "pings": self.pings, "messages_received": sum(self.received.values()), "received": dict(self.received),
            "messages_sent": sum(self.sent.values()), "sent": dict(self.sent), "errors": list(self.errors),
            "received_log": list(self.received_log),
        }


class Connection:
    """One open signaling WebSocket."""

    def __init__(self, record: ConnectionRecord, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.record = record
        self.ws = ws
        self.request = request
        self.stalled = False  # "silence": read and drop everything, answer nothing (no pongs)
        self.idle_changed = asyncio.Event()
        self.close_requested = asyncio.Event()
        self.close_args: tuple[int, bytes] = (1000, b"")
        self.finished = asyncio.Event()  # serve_connection is done with it
        self._send_lock = asyncio.Lock()
        self._rate: dict[str, deque[float]] = {}

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def is_master(self) -> bool:
        return self.record.role == "MASTER"

    @property
    def open(self) -> bool:
        return self.record.open and not self.ws.closed

    async def send_json(self, message: dict[str, Any]) -> bool:
        ok = await self.send_raw(json.dumps(message, separators=(",", ":")), count=False)
        if ok:
            self.record.sent[str(message.get("messageType", "raw"))] += 1
        return ok

    async def send_raw(self, data: str | bytes, count: bool = True) -> bool:
        if not self.open:
            return False
        try:
            async with self._send_lock:
                if isinstance(data, bytes):
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(data)
        except (ConnectionError, RuntimeError) as exc:
            self.record.error(f"send failed: {exc}")
            return False
        if count:
            self.record.sent["binary" if isinstance(data, bytes) else "raw"] += 1
        return True

    async def status_response(self, correlation_id: Any, error_type: str, status: str, description: str) -> None:
        """A failed client message: answered only when it carried a correlationId (as the service)."""
        self.record.error(f"{error_type}: {description}")
        if not isinstance(correlation_id, str) or not correlation_id:
            return
        await self.send_json({
            "messageType": "STATUS_RESPONSE",
            "statusResponse": {"correlationId": correlation_id, "errorType": error_type, "statusCode": status,
                               "description": description, "success": False},
        })

    def rate_limited(self, action: str, now: float) -> bool:
        limit = RATE_LIMITS.get(action)
        if limit is None:
            return False
        window = self._rate.setdefault(action, deque())
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= limit:
            return True
        window.append(now)
        return False

    async def close(self, code: int, reason: bytes, by: str, timeout: float = 10.0) -> None:
        """Close from the server side, with a full close handshake: the reader task does it
        (aiohttp's close() from another task drops the TCP connection without waiting for the
        client's close frame), this waits until it is done."""
        if not self.close_requested.is_set():
            self.record.closed_by = self.record.closed_by or by
            self.close_args = (code, reason)
            self.close_requested.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.finished.wait(), timeout)

    def abort(self) -> None:
        """Drop the TCP connection: no close frame, no TLS close_notify, an RST."""
        transport = self.request.transport
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()


# -- the hub ---------------------------------------------------------------------------------------------

class SignalingHub:
    def __init__(self, state: State, state_dir: Path | None) -> None:
        self.state = state
        self.state_dir = state_dir
        self.connections: dict[int, Connection] = {}  # open ones
        self.records: deque[ConnectionRecord] = deque(maxlen=MAX_CONNECTION_RECORDS)
        self.sessions: dict[str, deque[StorageSession | dict[str, Any]]] = {}  # by channel ARN, oldest first
        self.active: dict[str, StorageSession] = {}  # the live storage peers, by session_key()
        self._next_connection_id = 1
        self._session_counter: Counter[str] = Counter()  # by channel name, for recording file names
        self._tasks: set[asyncio.Task[Any]] = set()
        self._warmed = False
        state.storage_session_hooks.append(self.on_join)
        state.reset_hooks.append(self.reset)

    # -- lookups -------------------------------------------------------------------------------------
    def master_for(self, arn: str) -> Connection | None:
        """The newest open master connection of the channel ("the most recent request takes precedence")."""
        masters = [c for c in self.connections.values() if c.record.channel_arn == arn and c.is_master and c.open]
        return max(masters, key=lambda c: c.id) if masters else None

    def viewer_for(self, arn: str, client_id: str) -> Connection | None:
        viewers = [c for c in self.connections.values()
                   if c.record.channel_arn == arn and c.record.client_id == client_id and c.open]
        return max(viewers, key=lambda c: c.id) if viewers else None

    def find_channel(self, name_or_arn: str) -> Channel | None:
        channel = self.state.channels.get(name_or_arn)
        if channel is not None:
            return channel
        matches = [c for c in self.state.channels.values() if c.name == name_or_arn]
        if len(matches) > 1:
            matches = [c for c in matches if c.region == self.state.region] or matches
        return matches[0] if matches else None

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _warm_up(self) -> None:
        """A master is here, so a join (and an offer) may follow: load aiortc and PyAV now, on a
        thread, rather than on the join's clock (~0.3 s)."""
        if self._warmed:
            return
        self._warmed = True

        def load() -> None:
            with contextlib.suppress(ImportError):
                importlib.import_module(f"{__package__}.peer")

        asyncio.get_running_loop().run_in_executor(None, load)

    def _remember(self, arn: str, item: StorageSession | dict[str, Any]) -> None:
        self.sessions.setdefault(arn, deque(maxlen=MAX_SESSIONS_PER_CHANNEL)).append(item)

    # -- the WebSocket -------------------------------------------------------------------------------------
    async def serve_connection(self, request: web.Request, ws: web.WebSocketResponse, channel: Channel,
                               client_id: str | None, request_id: str) -> None:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        now = time.time()
        record = ConnectionRecord(
            id=self._next_connection_id, channel_arn=channel.arn, channel_name=channel.name,
            role="VIEWER" if client_id is not None else "MASTER", client_id=client_id,
            remote=f"{peer[0]}:{peer[1]}" if peer else None, request_id=request_id, connected_at=now,
            idle_timeout=self.state.idle_timeout_seconds, last_activity=now,
        )
        self._next_connection_id += 1
        if client_id is None:
            self._warm_up()
        conn = Connection(record, ws, request)
        self.connections[conn.id] = conn
        self.records.append(record)
        log.info("WSS %s connected: channel=%s client_id=%s conn=%d", record.role, channel.name, client_id or "-",
                 conn.id)
        watchdog = self._spawn(self._idle_watchdog(conn))
        close_wait = asyncio.ensure_future(conn.close_requested.wait())
        receive: asyncio.Future[Any] | None = None
        try:
            while True:
                receive = asyncio.ensure_future(ws.receive())
                done, _ = await asyncio.wait({receive, close_wait}, return_when=asyncio.FIRST_COMPLETED)
                if receive not in done:  # the server closes: stop reading, close from this task
                    receive.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await receive
                    code, reason = conn.close_args
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await ws.close(code=code, message=reason)
                    break
                msg = receive.result()
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                    if record.closed_by is None:
                        record.closed_by = "client"
                    break
                if msg.type == WSMsgType.ERROR:
                    record.error(f"receive error: {ws.exception()}")
                    record.closed_by = record.closed_by or "error"
                    break
                if conn.stalled:
                    continue
                record.last_activity = time.time()
                if msg.type == WSMsgType.PING:
                    record.pings += 1
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await ws.pong(msg.data)
                elif msg.type == WSMsgType.PONG:
                    record.received["pong"] += 1
                elif msg.type == WSMsgType.BINARY:
                    record.received["binary"] += 1
                    record.error("binary frame ignored")
                elif msg.type == WSMsgType.TEXT:
                    await self._on_text(conn, msg.data)
        except (ConnectionError, asyncio.CancelledError) as exc:
            record.closed_by = record.closed_by or ("shutdown" if isinstance(exc, asyncio.CancelledError) else "error")
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            watchdog.cancel()
            close_wait.cancel()
            if receive is not None and not receive.done():
                receive.cancel()
            conn.finished.set()
            record.closed_at = time.time()
            record.close_code = ws.close_code
            self.connections.pop(conn.id, None)
            log.info("WSS %s closed: channel=%s conn=%d by=%s code=%s", record.role, channel.name, conn.id,
                     record.closed_by, record.close_code)

    async def _idle_watchdog(self, conn: Connection) -> None:
        record = conn.record
        while conn.open:
            remaining = record.last_activity + record.idle_timeout - time.time()
            if remaining <= 0:
                log.info("WSS conn=%d idle for %.1fs: closing", conn.id, record.idle_timeout)
                await conn.close(1001, b"Going away: idle timeout", "idle")
                return
            conn.idle_changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(conn.idle_changed.wait(), timeout=remaining)

    async def _on_text(self, conn: Connection, text: str) -> None:
        record = conn.record
        try:
            message = json.loads(text)
        except ValueError:
            record.received["invalid"] += 1
            record.error("text frame is not JSON")
            return
        if not isinstance(message, dict):
            record.received["invalid"] += 1
            record.error("text frame is not a JSON object")
            return
        action = message.get("action")
        correlation_id = message.get("correlationId")
        record.received[str(action) if action in CLIENT_ACTIONS else "invalid"] += 1
        if len(record.received_log) < MAX_RECEIVED_LOG:
            record.received_log.append({"action": str(action), "recipientClientId": message.get("recipientClientId"),
                                        "correlationId": correlation_id})
        problem = _validate_client_message(message)
        if problem is not None:
            await conn.status_response(correlation_id, "InvalidArgumentException", "400", problem)
            return
        assert isinstance(action, str)
        if conn.rate_limited(action, time.monotonic()):
            await conn.status_response(correlation_id, "ClientLimitExceededException", "400",
                                       f"Rate exceeded for {action} on this connection.")
            return
        payload: str = message["messagePayload"]
        recipient = message.get("recipientClientId")
        arn = record.channel_arn
        if conn.is_master:
            viewer = self.viewer_for(arn, recipient) if isinstance(recipient, str) else None
            if viewer is not None:  # peer-to-peer: master -> viewer
                await viewer.send_json({"messageType": action, "messagePayload": payload})
                return
            session = self.active.get(arn)
            if session is None or action == "SDP_OFFER":
                record.error(f"{action} from the master with no storage session (or viewer) to take it: ignored")
                return
            if action == "SDP_ANSWER":
                await session.on_answer(conn, payload, correlation_id)
            else:
                await session.on_candidate(conn, payload, correlation_id)
            return
        viewer_session = self.active.get(session_key(arn, record.client_id))
        if viewer_session is not None and action in ("SDP_ANSWER", "ICE_CANDIDATE"):
            if action == "SDP_ANSWER":  # the viewer answers its storage session's offer
                await viewer_session.on_answer(conn, payload, correlation_id)
            else:
                await viewer_session.on_candidate(conn, payload, correlation_id)
            return
        # A viewer's messages go to the master (peer-to-peer signaling), with the viewer's client id.
        master = self.master_for(arn)
        if master is None:
            record.error(f"{action} from viewer {record.client_id}: no master connected, dropped")
            return
        await master.send_json({"senderClientId": record.client_id, "messageType": action, "messagePayload": payload})

    # -- storage sessions ------------------------------------------------------------------------------------
    async def on_join(self, event: JoinEvent) -> None:
        channel = event.channel
        arn = channel.arn
        kind = "master" if event.client_id is None else "viewer"
        key = session_key(arn, event.client_id)
        previous = self.active.pop(key, None)
        self._session_counter[channel.name] += 1
        n = self._session_counter[channel.name]
        try:
            peer = importlib.import_module(".peer", __package__)  # aiortc + PyAV: loaded on first use
        except ImportError as exc:
            log.error("no storage peer: %s (pip install aiortc)", exc)
            self._remember(arn, {"n": n, "kind": kind, "client_id": event.client_id, "request_id": event.request_id,
                                 "joined_at": event.time, "status": "failed",
                                 "errors": [f"aiortc is not installed: {exc}"]})
            return
        peer.SendPolicy.allow_local = self.state.ice_remote_candidates == "local"
        recording = None
        if self.state.record_media and self.state_dir is not None:
            recording = self.state_dir / "recordings" / f"{channel.name}-{n}.mkv"
        session: StorageSession = peer.StorageSession(self, event, n, recording)
        self._remember(arn, session)
        if previous is not None:
            await previous.close("superseded")
        if session.connection() is None:
            session.offer_lost(f"no {kind} connected to the channel when the join arrived"
                               if kind == "master" else f"viewer {event.client_id!r} is not connected to the channel")
            return
        self.active[key] = session
        await session.start()

    async def close_sessions(self, reason: str) -> None:
        sessions = list(self.active.values())
        self.active.clear()
        await asyncio.gather(*(s.close(reason) for s in sessions), return_exceptions=True)

    def reset(self) -> None:
        """/_emulator/reset (after close_sessions): forget sessions and closed connections."""
        if self.active:
            self._spawn(self.close_sessions("reset"))
        self.sessions.clear()
        self._session_counter.clear()
        open_records = [c.record for c in self.connections.values()]
        self.records.clear()
        self.records.extend(open_records)

    async def shutdown(self) -> None:
        await self.close_sessions("shutdown")
        for conn in list(self.connections.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(1001, b"Server shutting down", "shutdown"), timeout=2)
        for task in list(self._tasks):
            task.cancel()

    # -- the admin API -------------------------------------------------------------------------------------------
    async def snapshot(self, channel: Channel | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        channels = [channel] if channel is not None else list(self.state.channels.values())
        for ch in channels:
            sessions = []
            # a copy: a join may append while we await to_json()
            for item in list(self.sessions.get(ch.arn, ())):
                sessions.append(item if isinstance(item, dict) else await item.to_json())
            out[ch.name] = {
                "arn": ch.arn,
                "sessions": sessions,
                "connections": [r.to_json() for r in list(self.records) if r.channel_arn == ch.arn],
            }
        result: dict[str, Any] = {"channels": out}
        # peer may be half-imported by the loader thread: read it only once it has SendPolicy
        policy = getattr(sys.modules.get(f"{__package__}.peer"), "SendPolicy", None)
        if policy is not None:
            result["ice_send_policy"] = {"allow": "loopback and this machine's addresses" if policy.allow_local
                                         else "loopback", "blocked_sends": policy.blocked,
                                         "blocked_to": sorted(policy.blocked_to)}
        return result

    async def admin_action(self, data: dict[str, Any]) -> dict[str, Any]:
        """POST /_emulator/signaling. Raises ConfigError for a bad request."""
        name = data.get("channel")
        if not isinstance(name, str):
            raise ConfigError("channel (a name or an ARN) is required")
        channel = self.find_channel(name)
        if channel is None:
            raise ConfigError(f"no channel {name!r}")
        action = data.get("action")
        if (action is None and "idle_close_after_ms" in data) or action == "idle_close_after_ms":
            action = "idle_close"
        if action not in ADMIN_ACTIONS:
            raise ConfigError(f"action must be one of {list(ADMIN_ACTIONS)}")
        client_id = data.get("client_id")
        if client_id is not None and not isinstance(client_id, str):
            raise ConfigError("client_id must be a string")
        conn = self.viewer_for(channel.arn, client_id) if client_id else self.master_for(channel.arn)
        if conn is None:
            who = f"viewer {client_id!r}" if client_id else "master"
            raise LookupError(f"no open {who} connection on channel {channel.name}")
        result: dict[str, Any] = {"channel": channel.name, "connection": conn.id, "action": action}
        if action == "go_away":
            await conn.send_json({"messageType": "GO_AWAY"})
        elif action == "reconnect_ice_server":
            await conn.send_json({"messageType": "RECONNECT_ICE_SERVER"})
        elif action == "close":
            code = data.get("code", 1000)
            if not isinstance(code, int) or isinstance(code, bool) or not (code == 1000 or 1001 <= code <= 4999):
                raise ConfigError("code must be a WebSocket close code")
            reason = str(data.get("reason", ""))
            await conn.close(code, reason.encode()[:120], "server")
            result["code"] = code
        elif action == "drop":
            conn.record.closed_by = "drop"
            conn.abort()
        elif action == "malformed":
            frames = malformed_frames()
            for frame in frames:
                await conn.send_raw(frame)
            result["frames"] = [f if isinstance(f, str) else base64.b64encode(f).decode() for f in frames]
        elif action == "idle_close":
            ms = data.get("idle_close_after_ms")
            if not isinstance(ms, int) or isinstance(ms, bool) or not 0 < ms <= 86_400_000:
                raise ConfigError("idle_close_after_ms must be a positive integer (milliseconds)")
            conn.record.idle_timeout = ms / 1000
            conn.idle_changed.set()
            result["idle_close_after_ms"] = ms
        elif action == "silence":
            conn.stalled = True
        elif action == "send":
            text = data.get("text")
            if not isinstance(text, str):
                raise ConfigError("send needs text (the raw frame to send)")
            await conn.send_raw(text)
        return result


def _validate_client_message(message: dict[str, Any]) -> str | None:
    """The service's checks on a client message; a description of the first problem, or None."""
    action = message.get("action")
    if not isinstance(action, str) or action not in CLIENT_ACTIONS:
        return f"Invalid action: {action!r}. Valid values: {', '.join(CLIENT_ACTIONS)}."
    payload = message.get("messagePayload")
    if not isinstance(payload, str) or not 1 <= len(payload) <= MAX_PAYLOAD_CHARS:
        return f"messagePayload must be a base64 string of 1 to {MAX_PAYLOAD_CHARS} characters."
    for key in ("recipientClientId", "correlationId"):
        value = message.get(key)
        if value is not None and (not isinstance(value, str) or not NAME_RE.fullmatch(value)):
            return f"{key} must match [a-zA-Z0-9_.-]+ (1 to 256 characters)."
    return None


def decode_payload(payload: str) -> dict[str, Any]:
    """base64(JSON object) -> the object; ValueError with a description otherwise."""
    try:
        raw = base64.b64decode(payload, validate=True)
    except ValueError:
        raise ValueError("messagePayload is not valid base64") from None
    try:
        obj = json.loads(raw)
    except ValueError:
        raise ValueError("messagePayload is not base64 of a JSON object") from None
    if not isinstance(obj, dict):
        raise ValueError("messagePayload is not base64 of a JSON object")
    return obj

# SPDX-License-Identifier: Apache-2.0
"""Storage sessions: the WebRTC handoff of a Kinesis Video Streams storage session.

::

    import kvsws

    with kvsws.Client() as client, client.storage_session(channel_name="my-channel") as session:
        for event in session.events():
            match event:
                case kvsws.IceServers(servers):
                    ice_servers = servers                    # [{"urls": [...], "username", "credential"}]
                case kvsws.Offer(sdp):
                    session.send_answer(my_webrtc_stack_answer(sdp, ice_servers))
                case kvsws.IceCandidate(candidate, sdp_mid, sdp_mline_index):
                    my_webrtc_stack_add_candidate(candidate, sdp_mid, sdp_mline_index)
                case kvsws.Closed(error):
                    print("closed:", error)

The C core does the whole flow (describe the channel and check its storage, find its endpoints,
fetch the TURN servers, connect the signaling WebSocket, JoinStorageSession and join again when no
offer comes, hold back ICE candidates until their offer, check the answer for H.264 and Opus, and
come back after GO_AWAY, a dropped socket or the 1 hour limit). Your WebRTC stack (aiortc, ...)
answers the offers. The events are this package's own small dataclasses, not AWS messages.

Two ways to read the events, with no thread per session either way:

- blocking: ``for event in session.events()`` or ``session.next_event(timeout)``, which does the
  session's work with the GIL released;
- asyncio: ``async for event in session`` or ``await session.next_event_async()``, which waits on
  ``session.fileno()`` with ``loop.add_reader`` and takes the event on a small shared thread pool,
  so the event loop never waits (the core runs its network steps on its own workers; what is left,
  applying a step's result or sending a frame, is short but still C work without the GIL).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent import futures
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self, TypeAlias

from . import _core, exceptions
from .config import _milliseconds
from .exceptions import (
    ClientError,
    InvalidConfigError,
    KvswsError,
    ParamValidationError,
    SessionClosedError,
    _from_core,
)
from .type_defs import SessionStats

if TYPE_CHECKING:
    import asyncio

    from ._session_host import SessionHost

__all__ = [
    "Closed",
    "Event",
    "IceCandidate",
    "IceServers",
    "Offer",
    "ServiceStatus",
    "SessionState",
    "StateChanged",
    "StorageSession",
]

#: The session's states, in the order a session usually goes through them.
SessionState: TypeAlias = Literal["new", "connecting", "joining", "connected", "reconnecting", "closed"]

SessionError: TypeAlias = ClientError | KvswsError


# --- the events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offer:
    """The storage service's SDP offer: create a peer connection (with the latest
    :class:`IceServers`), answer it with :meth:`StorageSession.send_answer`. A new offer (after a
    GO_AWAY, a dropped socket, a rejoin) replaces the previous peer connection."""

    sdp: str
    #: The sender's client id; None for the storage service, which sends none.
    sender_id: str | None = None


@dataclass(frozen=True, slots=True)
class IceCandidate:
    """A remote ICE candidate (``"candidate:..."``), always delivered after its offer, even when
    the service sent it first. For aiortc: ``candidate_from_sdp(candidate.split(":", 1)[1])``."""

    candidate: str
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None
    sender_id: str | None = None


@dataclass(frozen=True, slots=True)
class IceServers:
    """The STUN/TURN servers to give the next peer connection (first, and again when refreshed).

    ``servers`` are RTCIceServer-shaped dicts (``urls``, ``username``, ``credential``), usable as
    they are: ``[aiortc.RTCIceServer(**s) for s in event.servers]``, or in a browser's
    ``RTCPeerConnection({iceServers})``. ``ttl`` is how long the TURN credentials last, in seconds
    (the shortest; None when the service said nothing)."""

    servers: list[dict[str, Any]]
    ttl: float | None = None


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The session's state changed: ``connecting``, ``joining`` (JoinStorageSession sent, waiting
    for the offer), ``connected`` (the offer was delivered), ``reconnecting`` (``error`` says why:
    GO_AWAY, a dropped socket, the session limit; the session comes back by itself)."""

    state: SessionState
    error: SessionError | None = None


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """The signaling service refused a message this session sent (a STATUS_RESPONSE): ``error`` is
    a :class:`ClientError` with its code and description, its ``operation_name`` the message
    (``"SDP_ANSWER"`` or ``"ICE_CANDIDATE"``; ``str(error)`` reads "An error occurred (CODE) when
    sending the SDP_ANSWER: ..."), ``response["Error"]["CorrelationId"]`` the message's correlation
    id and ``response["ResponseMetadata"]["HTTPStatusCode"]`` the status code. Only for messages
    this session sent: a STATUS_RESPONSE for another id is logged and dropped."""

    error: SessionError


@dataclass(frozen=True, slots=True)
class Closed:
    """The session ended for good, always the last event: ``error`` says why (the same exception
    classes as the calls raise, e.g. ``ResourceNotFoundException``, ``AccessDeniedException``), or
    None when it was closed with :meth:`StorageSession.close`."""

    error: SessionError | None = None


#: What :meth:`StorageSession.next_event` returns.
Event: TypeAlias = Offer | IceCandidate | IceServers | StateChanged | ServiceStatus | Closed

_STATES: Final = frozenset({"new", "connecting", "joining", "connected", "reconnecting", "closed"})
_ROLES: Final = {"MASTER": 0, "VIEWER": 1}
# One code for a service status the core reports without an AWS error code (GO_AWAY, ...).
_CODE_BY_STATUS: Final = {cls.default_status: cls.__name__ for cls in reversed([
    exceptions.AccessDeniedException, exceptions.ClientLimitExceededException,
    exceptions.InvalidArgumentException, exceptions.ResourceNotFoundException, exceptions.ResourceInUseException,
    exceptions.NotAuthorizedException, exceptions.InvalidClientException, exceptions.SessionExpiredException,
    exceptions.ThrottlingException, exceptions.InternalFailure, exceptions.ServiceUnavailableException])}


def _error(data: Any, operation: str) -> SessionError | None:
    """The exception for an event's ``error`` member (the core's kvsws_error as JSON)."""
    if not isinstance(data, dict) or not data.get("status"):
        return None
    status = int(data["status"])
    code = str(data.get("code") or "") or (_CODE_BY_STATUS.get(status, "SessionError") if 200 <= status < 300 else "")
    message, operation = str(data.get("message", "")), str(data.get("operation") or operation)
    exc = _from_core((status, str(data.get("status_name", "")), code, message, operation,
                      str(data.get("request_id", "")), int(data.get("http_status") or 0),
                      bool(data.get("retryable")), 1 if 200 <= status < 300 else 0, ""))
    if not isinstance(exc, ClientError | KvswsError):  # MemoryError: out of memory in the core
        raise exc
    correlation_id = data.get("correlation_id")
    if isinstance(exc, ClientError) and isinstance(correlation_id, str) and correlation_id:
        # a STATUS_RESPONSE: named after the message that was sent, as the core's describe line
        exc.response["Error"]["CorrelationId"] = correlation_id
        exc.args = (f"An error occurred ({code}) when sending the {operation}: {message}",)
    return exc


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _ice_servers(data: Any) -> IceServers:
    servers: list[dict[str, Any]] = []
    ttls: list[float] = []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict):
            continue
        server: dict[str, Any] = {"urls": list(item.get("urls") or [])}
        for key in ("username", "credential"):
            if isinstance(item.get(key), str):
                server[key] = item[key]
        if isinstance(item.get("ttl"), int | float):
            ttls.append(float(item["ttl"]))
        servers.append(server)
    return IceServers(servers=servers, ttl=min(ttls) if ttls else None)


def _parse(text: str) -> Event:
    """One event from kvsws_event_json."""
    data = json.loads(text)
    kind = data.get("type")
    if kind == "offer":
        return Offer(sdp=data.get("sdp", ""), sender_id=_optional_str(data.get("sender_id")))
    if kind == "ice_candidate":
        index = data.get("sdp_mline_index")
        return IceCandidate(candidate=data.get("candidate", ""), sdp_mid=_optional_str(data.get("sdp_mid")),
                            sdp_mline_index=index if isinstance(index, int) else None,
                            sender_id=_optional_str(data.get("sender_id")))
    if kind == "ice_servers":
        return _ice_servers(data.get("ice_servers"))
    if kind == "status":
        return ServiceStatus(error=_error(data.get("error"), "StorageSession")
                             or exceptions.ClientError({"Error": {"Code": "Unknown", "Message": text}},
                                                       "StorageSession"))
    # the core names the operation of every error; "StorageSession" only stands in for none
    if kind == "closed":
        return Closed(error=_error(data.get("error"), "StorageSession"))
    state = data.get("state")
    return StateChanged(state=state if state in _STATES else "new",
                        error=_error(data.get("error"), "StorageSession"))


# --- the thread pool for the asyncio interface ------------------------------------------------------


class _Pool:
    lock = threading.Lock()
    executor: futures.ThreadPoolExecutor | None = None
    pid = 0


#: Threads shared by every session's asyncio interface: a bound, not one per session.
POOL_THREADS: Final = 8


def _default_executor() -> futures.Executor:
    with _Pool.lock:
        if _Pool.executor is None or _Pool.pid != os.getpid():  # threads do not survive fork()
            _Pool.executor = futures.ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="kvsws-session")
            _Pool.pid = os.getpid()
        return _Pool.executor


def _seconds_option(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InvalidConfigError(f"{name} must be a number of seconds, got {value!r}")
    return _milliseconds(value)


# --- the session --------------------------------------------------------------------------------------


class StorageSession:
    """A WebRTC storage session on one signaling channel, as a pull-based event source.

    ``kvsws.StorageSession(client, channel_name="cam")`` or ``client.storage_session(...)``:

    - ``channel_arn`` or ``channel_name`` (exactly one);
    - ``role``: ``"MASTER"`` (JoinStorageSession, the default) or ``"VIEWER"`` (with
      ``client_id``: JoinStorageSessionAsViewer);
    - ``offer_timeout``: seconds to wait for the offer before joining again (default 6);
      ``max_join_attempts``: joins without an offer before giving up (default 5);
    - ``ping_interval``: seconds of silence before a WebSocket ping (default 10);
      ``max_duration``: seconds before rejoining ahead of the service's 1 hour limit (default 3300);
      ``reconnect_max``: the cap of the reconnect backoff in seconds (default 30);
    - ``check_answer``: refuse an answer without H.264 video and Opus audio (default True);
    - ``flood_limit``: frames a second the signaling server may sustain (default 200, bursts of
      10 s worth); more closes the WebSocket with 1008 and the session reconnects. 0: no limit;
    - ``executor``: the threads the asyncio interface does the session's work on (default: a
      pool of :data:`POOL_THREADS` shared by every session of the process).

    :meth:`start` checks the options before any I/O (``ParamValidationError``); iterating or
    ``with`` starts the session if you did not. Read events from one thread (or task) at a time;
    :meth:`send_answer`, :meth:`send_candidate`, :meth:`wake` and :meth:`close` are safe from any
    thread. The session keeps its client alive; closing the client closes its sessions.
    """

    def __init__(self, client: SessionHost, *, channel_arn: str | None = None, channel_name: str | None = None,
                 role: Literal["MASTER", "VIEWER"] = "MASTER", client_id: str | None = None,
                 offer_timeout: float | None = 6.0, ping_interval: float | None = None,
                 max_join_attempts: int | None = None, max_duration: float | None = None,
                 check_answer: bool = True, reconnect_max: float | None = None,
                 flood_limit: int | None = None, executor: futures.Executor | None = None) -> None:
        self._handle: Any = None
        self._final_stats: str | None = None
        self._lock = threading.Lock()
        self._users = 0
        self._close_requested = False
        self._reading = False
        self._started = False
        self._finished = False  # Closed was returned
        self._job: futures.Future[Event | None] | None = None  # the asyncio interface's step in flight
        self._waiting = False
        self._key = object()
        self._executor = executor
        self.client = client
        if role not in _ROLES:
            raise ParamValidationError(f"Invalid value for parameter role: {role!r}; valid values: MASTER, VIEWER",
                                       operation_name="JoinStorageSession")
        for name, value in (("channel_arn", channel_arn), ("channel_name", channel_name), ("client_id", client_id)):
            if value is not None and not isinstance(value, str):
                raise ParamValidationError(f"Invalid type for parameter {name}: expected str, got "
                                           f"{type(value).__name__}", operation_name="JoinStorageSession")
        ints: list[tuple[str, int, int]] = [("role", _core.KVSWS_SESSION_OPT_ROLE, _ROLES[role])]
        for name, opt, seconds in (("offer_timeout", _core.KVSWS_SESSION_OPT_OFFER_TIMEOUT_MS, offer_timeout),
                                   ("ping_interval", _core.KVSWS_SESSION_OPT_PING_INTERVAL_MS, ping_interval),
                                   ("max_duration", _core.KVSWS_SESSION_OPT_MAX_DURATION_MS, max_duration),
                                   ("reconnect_max", _core.KVSWS_SESSION_OPT_RECONNECT_MAX_MS, reconnect_max)):
            if seconds is not None:
                ints.append((name, opt, _seconds_option(name, seconds)))
        if max_join_attempts is not None:
            if isinstance(max_join_attempts, bool) or not isinstance(max_join_attempts, int):
                raise InvalidConfigError(f"max_join_attempts must be a whole number, got {max_join_attempts!r}")
            ints.append(("max_join_attempts", _core.KVSWS_SESSION_OPT_MAX_JOIN_ATTEMPTS, max_join_attempts))
        if flood_limit is not None:
            if isinstance(flood_limit, bool) or not isinstance(flood_limit, int):
                raise InvalidConfigError(f"flood_limit must be a whole number, got {flood_limit!r}")
            ints.append(("flood_limit", _core.KVSWS_SESSION_OPT_FLOOD_LIMIT, flood_limit))
        if not isinstance(check_answer, bool):
            raise InvalidConfigError(f"check_answer must be True or False, got {check_answer!r}")
        ints.append(("check_answer", _core.KVSWS_SESSION_OPT_CHECK_ANSWER, int(check_answer)))

        handle = client._attach_session(self._key, _core.session_new)
        try:
            for opt, text in ((_core.KVSWS_SESSION_OPT_CHANNEL_ARN, channel_arn),
                              (_core.KVSWS_SESSION_OPT_CHANNEL_NAME, channel_name),
                              (_core.KVSWS_SESSION_OPT_CLIENT_ID, client_id)):
                if text is not None:
                    _core.session_set_str(handle, opt, text)
            for int_name, int_opt, number in ints:
                try:
                    _core.session_set_int(handle, int_opt, number)
                except _core.CoreError as exc:
                    raise InvalidConfigError(f"{int_name}: {exc.args[3]}") from None
        except BaseException as exc:
            self._free(handle)
            if isinstance(exc, _core.CoreError):
                raise _from_core(exc.args) from None
            raise
        self._handle = handle
        self._channel = channel_arn or channel_name

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> Self:
        """Checks the options (exactly one of channel ARN and name, their format, the client id
        for a viewer) before any I/O and starts; the work happens as events are read. Raises
        ``ParamValidationError``; starting twice is fine."""
        with self._lock:
            if self._started:
                return self
            if self._handle is None:
                raise SessionClosedError("Cannot start the storage session: it is closed")
            try:
                _core.session_start(self._handle)
            except _core.CoreError as exc:
                raise _from_core(exc.args) from None
            self._started = True
        return self

    def close(self) -> None:
        """Stops the session: a reader waiting in another thread or task gets :class:`Closed` at
        once; the WebSocket is closed politely (which may take up to ~1 s: in asyncio, use
        ``await session.aclose()`` or ``async with``). Closing twice is fine."""
        handle = self._request_close()
        if handle is not None:
            self._free(handle)

    async def aclose(self) -> None:
        """:meth:`close` for asyncio: the polite WebSocket close happens off the event loop."""
        import asyncio  # on first async use: it is a third of `import kvsws`

        handle = self._request_close()
        if handle is not None:
            await asyncio.get_running_loop().run_in_executor(self._pool(), self._free, handle)

    def _request_close(self) -> Any:
        """Asks the core to stop (quick, any thread); returns the handle to free when no one uses it."""
        with self._lock:
            self._close_requested = True
            if self._handle is None:
                return None
            _core.session_close(self._handle)  # under the lock: never on a freed handle
            if self._users:
                return None  # the last user frees it
            return self._take_handle()

    def _take_handle(self) -> Any:
        """Under the lock: the handle, to free; stats() keeps its last numbers from here on."""
        handle, self._handle = self._handle, None
        with contextlib.suppress(_core.CoreError):
            self._final_stats = _core.session_stats_json(handle)
        return handle

    def _free(self, handle: Any) -> None:
        client_handle = self.client._detach_session(self._key)
        _core.session_free(handle)
        if client_handle is not None:  # the client was closed and this session was its last user
            _core.client_free(client_handle)

    def _acquire(self) -> Any:
        with self._lock:
            if self._handle is None:
                return None
            self._users += 1
            return self._handle

    def _release(self, free: bool = True) -> None:
        with self._lock:
            self._users -= 1
            if not (free and self._close_requested and self._users == 0 and self._handle is not None):
                return
            handle = self._take_handle()
        self._free(handle)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called or the session ended (:class:`Closed` was read)."""
        return self._close_requested or self._finished

    @property
    def state(self) -> SessionState:
        """The session's state now: ``new``, ``connecting``, ``joining``, ``connected``,
        ``reconnecting`` or ``closed``. Any thread."""
        with self._lock:
            if self._handle is None:
                return "closed"
            state = _core.session_state(self._handle)
        return state if state in _STATES else "new"  # type: ignore[return-value]

    def stats(self) -> SessionStats:
        """The session's metrics as a dict (the core's ``kvsws_session_stats_json``): ``state``
        and ``state_ms`` (time in it), ``uptime_ms``, ``joins_sent``, ``offers_received``,
        ``answers_sent``, ``candidates_sent``, ``candidates_received``, ``reconnects`` by cause
        (``go_away``, ``drop``, ``idle``, ``session_limit``, ``ice_refresh``, ``error``),
        ``offer_from_start_ms`` and ``offer_from_join_ms`` (to the last offer, None before one),
        ``websocket`` messages and bytes in and out, ``backoff_ms`` and ``retry_in_ms`` (the wait
        before the next connect), ``last_error`` (None, or its status, code, message, ...).
        Cheap and safe from any thread; after :meth:`close`, the numbers it had then."""
        with self._lock:
            text = self._final_stats if self._handle is None else _core.session_stats_json(self._handle)
        if text is None:  # only a session whose options were refused in __init__
            raise SessionClosedError("The storage session has no stats")
        stats: SessionStats = json.loads(text)
        return stats

    def fileno(self) -> int:
        """A file descriptor that is readable when the session has work or events (never read
        it): wait on it in your own loop, then call ``next_event(0)``."""
        with self._lock:
            if self._handle is None:
                raise SessionClosedError("The storage session is closed: it has no file descriptor")
            return _core.session_fd(self._handle)

    def wake(self) -> None:
        """Makes a :meth:`next_event` that is waiting return at once (any thread)."""
        handle = self._acquire()
        if handle is not None:
            try:
                _core.session_wake(handle)
            finally:
                self._release()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # never raise from a finalizer
            if getattr(self, "_handle", None) is not None:
                self.close()

    def __repr__(self) -> str:
        return f"<kvsws.StorageSession {getattr(self, '_channel', None)!r} {self.state}>"

    # -- blocking interface ----------------------------------------------------------------------------
    def next_event(self, timeout: float | None = None) -> Event | None:
        """Does the session's work and returns the next event, waiting up to ``timeout`` seconds
        (None: until there is one; 0: not at all). Returns None when nothing happened in time, and
        after :class:`Closed`. The GIL is released while it waits and works; a (re)connect step
        (HTTPS calls, the WebSocket handshake) may take up to the client's timeouts."""
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0):
            raise ValueError(f"timeout must be None or a number of seconds >= 0, got {timeout!r}")
        self._ensure_started()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            # In slices of at most 1 s, so that Ctrl-C (a signal handler) gets its turn.
            event = self._next(1000 if left is None or left > 1.0 else _milliseconds(left))
            if event is not None or self._finished or (deadline is not None and time.monotonic() >= deadline):
                return event

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """The events, until :class:`Closed` (included); with a ``timeout``, also stops when that
        many seconds pass without an event. ``for event in session.events(): ...``"""
        while True:
            event = self.next_event(timeout)
            if event is None:
                return
            yield event
            if isinstance(event, Closed):
                return

    def __iter__(self) -> Iterator[Event]:
        return self.events()

    def _ensure_started(self) -> None:
        if not self._started and not self._close_requested:
            self.start()

    def _next(self, timeout_ms: int) -> Event | None:
        """One call of kvsws_session_next_event; the one place events come from."""
        with self._lock:
            if self._finished:
                return None
            if self._handle is None:  # closed (and freed) before the core's Closed was read
                self._finished = True
                return Closed(None)
            if self._reading:
                raise RuntimeError("Another thread or task is reading this storage session's events: "
                                   "read them from one at a time")
            self._reading = True
            self._users += 1
            handle = self._handle
        try:
            self.client._follow_log_level_now()  # the session's steps log through its client
            text = _core.session_next_event_json(handle, timeout_ms)
        except _core.CoreError as exc:
            raise _from_core(exc.args) from None
        finally:
            with self._lock:
                self._reading = False
            self._release()
        if text is None:
            return None
        event = _parse(text)
        if isinstance(event, Closed):
            self._finished = True
        return event

    # -- asyncio interface -------------------------------------------------------------------------------
    def _pool(self) -> futures.Executor:
        return self._executor if self._executor is not None else _default_executor()

    async def next_event_async(self, timeout: float | None = None) -> Event | None:
        """The next event, as :meth:`next_event`, without blocking the event loop: it waits for
        :meth:`fileno` with ``loop.add_reader`` (no thread waits), then does the work due."""
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0):
            raise ValueError(f"timeout must be None or a number of seconds >= 0, got {timeout!r}")
        import asyncio  # on first async use: it is a third of `import kvsws`

        loop = asyncio.get_running_loop()
        self._ensure_started()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            event = await self._step_async()
            if event is not None or self._finished:
                return event
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return None
            await self._readable(loop, left)

    async def _step_async(self) -> Event | None:
        import asyncio  # on first async use: it is a third of `import kvsws`

        # Off the loop, on a bounded shared pool: the core's network steps run on its own workers, but a pool hop
        # (~0.1 ms) keeps the loop safe from what remains (and from the core's inline fallback without workers).
        job = self._job
        if job is None or job.cancelled():
            job = self._job = self._pool().submit(self._next, 0)
        try:
            # Shielded: a cancelled caller leaves the step running; its event is the next caller's.
            event = await asyncio.shield(asyncio.wrap_future(job))
        except asyncio.CancelledError:
            raise
        except BaseException:
            self._job = None
            raise
        self._job = None
        return event

    async def _readable(self, loop: asyncio.AbstractEventLoop, timeout: float | None) -> None:
        """Until the session's fd is readable (or timeout seconds pass)."""
        import asyncio  # on first async use: it is a third of `import kvsws`

        handle = self._acquire()
        if handle is None:
            return  # closed: the next step says so
        if self._waiting:
            self._release(free=False)
            raise RuntimeError("Another task is reading this storage session's events: read them from one at a time")
        self._waiting = True
        fd = _core.session_fd(handle)
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_reader(fd, _set_ready, ready)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready, timeout)
        finally:
            loop.remove_reader(fd)
            self._waiting = False
            self._release(free=False)  # the next step (off the loop) frees a closed session

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        event = await self.next_event_async()
        if event is None:
            raise StopAsyncIteration
        return event

    # -- sending (any thread) -------------------------------------------------------------------------------
    def send_answer(self, sdp: str, recipient: str | None = None) -> None:
        """Sends the SDP answer to the last offer (``recipient``: another sender's id). With
        ``check_answer`` (the default) an answer without H.264 video or Opus audio raises
        ``ParamValidationError`` saying what is missing. One WebSocket frame: quick, any thread."""
        if not isinstance(sdp, str):
            raise ParamValidationError(f"Invalid type for parameter sdp: expected str, got {type(sdp).__name__}")
        self._send(_core.session_send_answer, sdp, recipient)

    def send_candidate(self, candidate: str, sdp_mid: str | None = None, sdp_mline_index: int | None = None,
                       recipient: str | None = None) -> None:
        """Sends a local ICE candidate (``"candidate:..."``) for trickle ICE. Stacks that put
        their candidates in the answer's SDP (aiortc) need not call it. Quick, any thread."""
        if not isinstance(candidate, str):
            raise ParamValidationError("Invalid type for parameter candidate: expected str, got "
                                       f"{type(candidate).__name__}")
        if sdp_mline_index is not None and (isinstance(sdp_mline_index, bool) or not isinstance(sdp_mline_index, int)):
            raise ParamValidationError("Invalid type for parameter sdp_mline_index: expected int, got "
                                       f"{type(sdp_mline_index).__name__}")
        self._send(_core.session_send_candidate, candidate, sdp_mid,
                   -1 if sdp_mline_index is None else sdp_mline_index, recipient)

    def _send(self, function: Any, *args: Any) -> None:
        handle = self._acquire()
        if handle is None:
            raise SessionClosedError("Cannot send: the storage session is closed")
        try:
            function(handle, *args)
        except _core.CoreError as exc:
            raise _from_core(exc.args) from None
        finally:
            self._release()


def _set_ready(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)

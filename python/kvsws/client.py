# SPDX-License-Identifier: Apache-2.0
"""The client: the Kinesis Video Streams calls a WebRTC storage session needs, boto3-style."""

from __future__ import annotations

import os
import sys
from _thread import allocate_lock, get_ident

from . import _core
from ._logging import core_log_level
from .exceptions import ClientClosedError, ClientExceptions, ParamValidationError, _from_core

# typing.TYPE_CHECKING without importing typing at run time (an import costs a few ms; mypy takes
# any TYPE_CHECKING as true). What only annotations need is imported for the type checker alone.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from concurrent import futures
    from types import TracebackType
    from typing import Any, Literal, Self, cast

    from .config import ClientMeta, Config
    from .session import StorageSession
    from .type_defs import (
        DescribeMediaStorageConfigurationOutput,
        DescribeSignalingChannelOutput,
        GetIceServerConfigOutput,
        GetSignalingChannelEndpointOutput,
        SingleMasterChannelEndpointConfiguration,
    )
else:
    def cast(_type: object, value: object) -> object:
        """typing.cast, without importing typing."""
        return value


def __getattr__(name: str) -> object:
    """ClientMeta lives in kvsws.config (a dataclass: imported when first used, not at import)."""
    if name == "ClientMeta":
        from .config import ClientMeta

        return ClientMeta
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Client", "ClientMeta"]

def _fspath(value: str | os.PathLike[str] | None) -> str | None:
    return None if value is None else os.fspath(value)


def _main_thread_ident() -> int:
    """The main thread, where Python runs signal handlers: threading's, else the importing one
    (threading is not imported for it). After a fork, the forking thread is the child's."""
    threading = sys.modules.get("threading")
    return threading.main_thread().ident if threading is not None else get_ident()


_main_thread = _main_thread_ident()


def _after_fork_in_child() -> None:
    global _main_thread
    _main_thread = get_ident()


os.register_at_fork(after_in_child=_after_fork_in_child)


class Client:
    """A client for the Kinesis Video Streams calls of a WebRTC storage session.

    ::

        import kvsws

        with kvsws.Client(region_name="us-west-2") as client:
            info = client.describe_signaling_channel(ChannelName="my-channel")["ChannelInfo"]
            client.join_storage_session(channelArn=info["ChannelARN"])

    Credentials, region and endpoints are found as boto3 finds them (explicit arguments,
    ``AWS_*`` variables, assume-role profiles, web identity, IAM Identity Center (SSO), the shared
    files and their profiles, ``credential_process``, container and instance roles). TLS is
    always verified: ``verify`` names a CA bundle to trust instead of the system's, and
    ``verify=False`` is refused. ``endpoint_url`` (like ``AWS_ENDPOINT_URL_KINESIS_VIDEO`` and
    ``AWS_ENDPOINT_URL``) is the control plane's, as for boto3's ``kinesisvideo`` client. Unlike
    boto3, the per-channel endpoints that JoinStorageSession and GetIceServerConfig need are looked
    up (once per channel and role) by the client itself, unless
    ``AWS_ENDPOINT_URL_KINESIS_VIDEO_WEBRTC_STORAGE`` / ``AWS_ENDPOINT_URL_KINESIS_VIDEO_SIGNALING``
    name them.

    Devices with an AWS IoT X.509 certificate get credentials from the AWS IoT credentials
    provider: ``iot_credential_endpoint`` (as ``aws iot describe-endpoint --endpoint-type
    iot:CredentialProvider`` prints it, a host:port or an https URL), ``iot_cert_file`` and
    ``iot_private_key_file`` (PEM), ``iot_role_alias``, ``iot_thing_name`` and optionally
    ``iot_ca_file`` (else ``verify``). Or, with none of them given, the KVS C SDK's variables
    ``AWS_IOT_CORE_CREDENTIAL_ENDPOINT``, ``AWS_IOT_CORE_CERT``, ``AWS_IOT_CORE_PRIVATE_KEY``,
    ``AWS_IOT_CORE_ROLE_ALIAS``, ``AWS_IOT_CORE_THING_NAME`` and ``AWS_KVS_CACERT_PATH``. Either
    way they come before the environment's keys and the profile (explicit keys still win).

    A client is safe to share between threads: calls release the GIL and run in parallel. A call
    made on the main thread stops at once on Ctrl-C (it is cancelled). Close the client (or use
    ``with``) to free its connections; ``close()`` cancels calls still running elsewhere.
    Service errors raise ``client.exceptions.<Name>`` (subclasses of
    :class:`kvsws.exceptions.ClientError`); errors on this side raise the botocore-named
    subclasses of :class:`kvsws.exceptions.KvswsError`.

    The core's log lines go to the ``logging`` logger ``"kvsws"`` (never a secret), which has a
    ``NullHandler`` so nothing reaches stderr unless the application configures logging (kvsws
    does not import logging itself: until something does, nothing can be configured). Its
    effective level is read on every call (and every storage session event read), so raising it
    later takes effect at once: DEBUG has each call's answer and retries, as botocore's, and the
    canonical requests and strings to sign; INFO a storage session's state changes; WARNING
    recoveries (clock skew corrected, reconnects, a refused signaling message); ERROR a session
    that ended on an error. KVSWS_LOG_LEVEL is for C programs and the CLI: here the logger decides.
    """

    exceptions: ClientExceptions = ClientExceptions()

    def __init__(self, *, region_name: str | None = None, endpoint_url: str | None = None,
                 profile_name: str | None = None, aws_access_key_id: str | None = None,
                 aws_secret_access_key: str | None = None, aws_session_token: str | None = None,
                 verify: str | os.PathLike[str] | bool | None = None, config: Config | None = None,
                 iot_credential_endpoint: str | None = None,
                 iot_cert_file: str | os.PathLike[str] | None = None,
                 iot_private_key_file: str | os.PathLike[str] | None = None,
                 iot_role_alias: str | None = None, iot_thing_name: str | None = None,
                 iot_ca_file: str | os.PathLike[str] | None = None) -> None:
        self._handle: Any = None
        self._lock = allocate_lock()
        self._inflight: dict[int, Any] = {}  # the cancel tokens of calls running now, by id()
        self._idle_tokens: list[Any] = []  # tokens of finished calls, for the next ones
        self._sessions: dict[object, Any] = {}  # the live storage sessions' core handles
        self._closed = False
        self._log_level = _core.KVSWS_LOG_OFF
        if verify is False:
            raise ValueError("verify=False is refused: kvsws always verifies TLS. To trust a private CA, "
                             "pass the path of its PEM bundle (verify='/path/to/ca.pem') or set AWS_CA_BUNDLE.")
        if config is not None:
            from .config import Config  # already imported by whoever made the config

            if not isinstance(config, Config):
                raise TypeError(f"config must be a kvsws.Config, got {type(config).__name__}")
        ca_bundle = None if verify is None or verify is True else os.fspath(verify)
        # The AWS IoT credentials provider's options: name for messages, value (paths as str).
        iot_options = {
            _core.KVSWS_OPT_IOT_CREDENTIAL_ENDPOINT: ("iot_credential_endpoint", iot_credential_endpoint),
            _core.KVSWS_OPT_IOT_CERT_FILE: ("iot_cert_file", _fspath(iot_cert_file)),
            _core.KVSWS_OPT_IOT_PRIVATE_KEY_FILE: ("iot_private_key_file", _fspath(iot_private_key_file)),
            _core.KVSWS_OPT_IOT_ROLE_ALIAS: ("iot_role_alias", iot_role_alias),
            _core.KVSWS_OPT_IOT_THING_NAME: ("iot_thing_name", iot_thing_name),
            _core.KVSWS_OPT_IOT_CA_FILE: ("iot_ca_file", _fspath(iot_ca_file)),
        }
        strings = {"region_name": region_name, "endpoint_url": endpoint_url, "profile_name": profile_name,
                   "aws_access_key_id": aws_access_key_id, "aws_secret_access_key": aws_secret_access_key,
                   "aws_session_token": aws_session_token, "verify": ca_bundle,
                   **dict(iot_options.values())}
        for name, value in strings.items():
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str or None, got {type(value).__name__}")

        # sys.version's first word is platform.python_version(), without importing platform.
        user_agent = f"lang/python#{sys.version.split()[0]} md/kvsws-python"
        if config is not None and config.user_agent_extra:
            user_agent += " " + config.user_agent_extra
        options: list[tuple[int, int | str | None]] = [
            (_core.KVSWS_OPT_REGION, region_name),
            (_core.KVSWS_OPT_ENDPOINT_URL, endpoint_url),
            (_core.KVSWS_OPT_PROFILE, profile_name),
            (_core.KVSWS_OPT_ACCESS_KEY_ID, aws_access_key_id),
            (_core.KVSWS_OPT_SECRET_ACCESS_KEY, aws_secret_access_key),
            (_core.KVSWS_OPT_SESSION_TOKEN, aws_session_token),
            (_core.KVSWS_OPT_CA_BUNDLE, ca_bundle),
            (_core.KVSWS_OPT_USER_AGENT_EXTRA, user_agent),
            *((key, value) for key, (_, value) in iot_options.items()),
        ]
        if config is not None:  # without one, the core's defaults are Config()'s
            options += _config_options(config)
        self._log_level = core_log_level()  # followed on every call (_begin)
        try:
            self._handle = _core.client_new(options, self._log_level)
        except _core.CoreError as exc:
            raise _from_core(exc.args) from None
        self._region: str = _core.client_region(self._handle)
        self._endpoint_url = endpoint_url
        self._config = config
        self._meta: ClientMeta | None = None

    @property
    def meta(self) -> ClientMeta:
        """``client.meta``, as in boto3: the resolved region, the explicit endpoint, the config."""
        if self._meta is None:  # built when first asked for: its dataclass is not imported before
            from .config import ClientMeta, Config

            self._meta = ClientMeta(region_name=self._region, endpoint_url=self._endpoint_url,
                                    config=self._config if self._config is not None else Config())
        return self._meta

    def _follow_log_level(self, handle: Any) -> None:
        """Passes the "kvsws" logger's effective level to the core when it changed since the last
        call, so raising it to DEBUG on a live client (or lowering it) takes effect at once. A
        race between two threads at most sets the same level twice."""
        level = core_log_level()
        if level != self._log_level:
            self._log_level = level
            _core.client_set_log_level(handle, level)

    def _follow_log_level_now(self) -> None:
        """As _follow_log_level, for a storage session reading events (it holds the client open)."""
        with self._lock:
            handle = self._handle
        if handle is not None:
            self._follow_log_level(handle)

    # -- lifecycle ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Frees the client. Calls still running in other threads are cancelled (they raise
        :class:`~kvsws.exceptions.CallCancelledError`); later calls raise
        :class:`~kvsws.exceptions.ClientClosedError`; its storage sessions are closed (their
        readers get :class:`~kvsws.Closed`). Closing twice is fine."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for token in self._inflight.values():
                _core.cancel_trigger(token)
            idle, self._idle_tokens = self._idle_tokens, []
            for session in self._sessions.values():
                _core.session_close(session)  # quick and thread-safe; each session frees its own handle
            busy = self._inflight or self._sessions
            handle, self._handle = (self._handle, None) if not busy else (None, self._handle)
        for token in idle:
            _core.cancel_free(token)
        if handle is not None:
            _core.client_free(handle)  # else the last running call frees it

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: S110 - never raise from a finalizer (e.g. at interpreter exit)
            pass

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<kvsws.Client region_name={getattr(self, '_region', None)!r}{state}>"

    # -- storage sessions ---------------------------------------------------------------------------
    def storage_session(self, *, channel_arn: str | None = None, channel_name: str | None = None,
                        role: Literal["MASTER", "VIEWER"] = "MASTER", client_id: str | None = None,
                        offer_timeout: float | None = 6.0, ping_interval: float | None = None,
                        max_join_attempts: int | None = None, max_duration: float | None = None,
                        check_answer: bool = True, reconnect_max: float | None = None,
                        flood_limit: int | None = None,
                        executor: futures.Executor | None = None) -> StorageSession:
        """A :class:`kvsws.StorageSession` on this client (not started yet): ``with
        client.storage_session(channel_name="cam") as session: for event in session: ...``.
        See :class:`kvsws.StorageSession` for the options."""
        from .session import StorageSession

        return StorageSession(self, channel_arn=channel_arn, channel_name=channel_name, role=role,
                              client_id=client_id, offer_timeout=offer_timeout, ping_interval=ping_interval,
                              max_join_attempts=max_join_attempts, max_duration=max_duration,
                              check_answer=check_answer, reconnect_max=reconnect_max, flood_limit=flood_limit,
                              executor=executor)

    def _attach_session(self, key: object, factory: Callable[[Any], Any]) -> Any:
        """A new core session on this client's handle, which then outlives it (see _detach_session)."""
        with self._lock:
            if self._closed:
                raise ClientClosedError("Cannot start a storage session: the client is closed")
            try:
                session = factory(self._handle)
            except _core.CoreError as exc:
                raise _from_core(exc.args) from None
            self._sessions[key] = session
            return session

    def _detach_session(self, key: object) -> Any:
        """Forgets a session about to be freed; returns the client handle for the caller to free
        after it when the client was closed and this was its last user, else None."""
        with self._lock:
            self._sessions.pop(key, None)
            if self._closed and not self._inflight and not self._sessions and self._handle is not None:
                handle, self._handle = self._handle, None
                return handle
        return None

    # -- the operations -----------------------------------------------------------------------------
    def join_storage_session(self, *, channelArn: str) -> None:
        """JoinStorageSession: asks the storage service to send an SDP offer on the channel's
        signaling WebSocket, as the master. Returns None (the service answers 200 with no body).

        Not idempotent: every accepted call makes the service send one more offer. It is retried
        on 5xx, throttling and connection errors unless ``Config(retry_join=False)``."""
        self._call("JoinStorageSession", {"channelArn": channelArn})

    def join_storage_session_as_viewer(self, *, channelArn: str, clientId: str) -> None:
        """JoinStorageSessionAsViewer: as :meth:`join_storage_session`, for a viewer. Returns None."""
        self._call("JoinStorageSessionAsViewer", {"channelArn": channelArn, "clientId": clientId})

    def get_signaling_channel_endpoint(
            self, *, ChannelARN: str,
            SingleMasterChannelEndpointConfiguration: SingleMasterChannelEndpointConfiguration | None = None,
    ) -> GetSignalingChannelEndpointOutput:
        """GetSignalingChannelEndpoint: the channel's endpoints per protocol (WSS, HTTPS, WEBRTC).

        ``SingleMasterChannelEndpointConfiguration={"Protocols": ["WSS", "HTTPS", "WEBRTC"],
        "Role": "MASTER"}``; WEBRTC needs a channel with media storage."""
        params: dict[str, Any] = {"ChannelARN": ChannelARN}
        if SingleMasterChannelEndpointConfiguration is not None:
            params["SingleMasterChannelEndpointConfiguration"] = SingleMasterChannelEndpointConfiguration
        return cast("GetSignalingChannelEndpointOutput", self._call("GetSignalingChannelEndpoint", params))

    def describe_signaling_channel(self, *, ChannelName: str | None = None,
                                   ChannelARN: str | None = None) -> DescribeSignalingChannelOutput:
        """DescribeSignalingChannel: the channel's ``ChannelInfo``, by name or ARN (one of them).
        ``CreationTime`` is a timezone-aware datetime, as in boto3."""
        out = self._call("DescribeSignalingChannel", {"ChannelName": ChannelName, "ChannelARN": ChannelARN})
        info = out.get("ChannelInfo")
        if isinstance(info, dict) and isinstance(info.get("CreationTime"), int | float):
            from datetime import UTC, datetime

            info["CreationTime"] = datetime.fromtimestamp(info["CreationTime"], tz=UTC)
        return cast("DescribeSignalingChannelOutput", out)

    def describe_media_storage_configuration(
            self, *, ChannelName: str | None = None, ChannelARN: str | None = None,
    ) -> DescribeMediaStorageConfigurationOutput:
        """DescribeMediaStorageConfiguration: whether the channel has media storage (``Status``
        ENABLED or DISABLED) and its stream, by name or ARN (one of them)."""
        return cast("DescribeMediaStorageConfigurationOutput",
                    self._call("DescribeMediaStorageConfiguration", {"ChannelName": ChannelName,
                                                                      "ChannelARN": ChannelARN}))

    def get_ice_server_config(self, *, ChannelARN: str, ClientId: str | None = None, Service: str | None = None,
                              Username: str | None = None) -> GetIceServerConfigOutput:
        """GetIceServerConfig: TURN servers and their credentials for the channel
        (``Service`` is "TURN", the default)."""
        return cast("GetIceServerConfigOutput", self._call("GetIceServerConfig", {
            "ChannelARN": ChannelARN, "ClientId": ClientId, "Service": Service, "Username": Username}))

    # -- signing for your own transport --------------------------------------------------------------
    def sign_request(self, service: str, method: str, url: str, *, headers: Sequence[str] = (),
                     body: bytes = b"", expires: int = 0, timestamp: int = 0) -> str:
        """SigV4-signs a request with this client's credentials and region, for sending it (or
        opening a WebSocket) with another HTTP stack. ``headers`` are ``"Name: value"`` strings to
        sign (Host comes from the URL). Returns the headers to add, one ``"Name: value"`` per line,
        or with ``expires`` (1 to 604800 seconds) the presigned URL. ``timestamp`` pins the
        signing time (Unix seconds; 0 is now)."""
        token, handle = self._begin(None)  # registered like a call, so close() waits for it
        try:
            signed = str(_core.sign_request(handle, service, method, url, list(headers), bytes(body),
                                            int(expires), int(timestamp)))
        except _core.CoreError as exc:
            self._end(token, handle, reuse=False)
            raise _from_core(exc.args) from None
        except BaseException:
            self._end(token, handle, reuse=False)
            raise
        self._end(token, handle, reuse=True)
        return signed

    # -- the one path to the core -------------------------------------------------------------------
    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Runs one operation in the core (which validates, signs, sends and retries) with the GIL
        released; returns its output with boto3's ResponseMetadata, or raises the mapped error.
        params may hold None for an argument not given: the core leaves it out."""
        token, handle = self._begin(operation)
        try:
            # The core takes the dict and gives back dicts: no JSON text is written or read here.
            # On the main thread, its waits run pending signal handlers: Ctrl-C cancels the call.
            output, http_status, request_id, attempts, headers = _core.call(
                handle, operation, params, _jsonable, token, get_ident() == _main_thread)
        except _core.CoreError as exc:
            self._end(token, handle, reuse=False)
            raise _from_core(exc.args) from None
        except (TypeError, ValueError) as exc:  # a value JSON cannot hold, found before any I/O
            self._end(token, handle, reuse=False)
            raise ParamValidationError(f"Invalid input for {operation}: {exc}", operation_name=operation) from None
        except BaseException:  # Ctrl-C's KeyboardInterrupt: its token was triggered, never reused
            self._end(token, handle, reuse=False)
            raise
        self._end(token, handle, reuse=True)
        output["ResponseMetadata"] = {"RequestId": request_id, "HTTPStatusCode": http_status,
                                      "HTTPHeaders": headers, "RetryAttempts": attempts - 1 if attempts > 0 else 0}
        return output

    def _begin(self, operation: str | None) -> tuple[Any, Any]:
        """Registers a call (None: a signature): its cancel token (close() triggers it) and the
        handle to use."""
        tokens = self._idle_tokens
        try:
            token = tokens.pop()  # atomic under the GIL, as append
        except IndexError:
            token = _core.cancel_new()
        with self._lock:
            if self._closed:
                _core.cancel_free(token)
                what = f"call {operation}" if operation else "sign"
                raise ClientClosedError(f"Cannot {what}: the client is closed", operation_name=operation)
            self._inflight[id(token)] = token
            handle = self._handle
        self._follow_log_level(handle)
        return token, handle

    def _end(self, token: Any, handle: Any, *, reuse: bool) -> None:
        """After a call: keeps its token for the next call (one that may have been triggered is
        freed), and frees the client too if it was closed meanwhile and this was its last user."""
        with self._lock:
            del self._inflight[id(token)]
            closed = self._closed
            last = closed and not self._inflight and not self._sessions and self._handle is not None
            if last:
                self._handle = None
            if reuse and not closed:
                self._idle_tokens.append(token)
                token = None
        if token is not None:
            _core.cancel_free(token)
        if last:
            _core.client_free(handle)


def _config_options(config: Config) -> list[tuple[int, int | str | None]]:
    """The core options a Config sets (its user_agent_extra is in the User-Agent option)."""
    from .config import _milliseconds

    options: list[tuple[int, int | str | None]] = [(_core.KVSWS_OPT_RETRY_JOIN, int(config.retry_join))]
    if config.connect_timeout is not None:
        options.append((_core.KVSWS_OPT_CONNECT_TIMEOUT_MS, _milliseconds(config.connect_timeout)))
    if config.read_timeout is not None:
        options.append((_core.KVSWS_OPT_READ_TIMEOUT_MS, _milliseconds(config.read_timeout)))
    if config.request_timeout is not None:
        options.append((_core.KVSWS_OPT_REQUEST_TIMEOUT_MS, _milliseconds(config.request_timeout)))
    attempts = config.total_max_attempts()
    if attempts is not None:
        options.append((_core.KVSWS_OPT_MAX_ATTEMPTS, attempts))
    if config.retry_base_delay is not None:
        options.append((_core.KVSWS_OPT_RETRY_BASE_DELAY_MS, round(config.retry_base_delay * 1000)))
    if config.use_fips_endpoint is not None:
        options.append((_core.KVSWS_OPT_USE_FIPS_ENDPOINT, int(config.use_fips_endpoint)))
    return options


def _jsonable(value: object) -> object:
    """Mappings and other sequences as JSON objects and arrays (the core converts dicts, lists,
    tuples and scalars itself and asks this for anything else); the core checks the types."""
    from collections.abc import Mapping  # only for values that are not dicts, lists or scalars

    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


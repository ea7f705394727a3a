# SPDX-License-Identifier: Apache-2.0
"""Types of the SWIG extension kvsws._core (bindings/python/kvsws_core.i). Private: use kvsws.Client."""

from collections.abc import Callable, Sequence
from typing import Any, NewType

ClientHandle = NewType("ClientHandle", object)
CancelHandle = NewType("CancelHandle", object)
SessionHandle = NewType("SessionHandle", object)

class CoreError(Exception):
    """args: (status, status_name, code, message, operation, request_id, http_status, retryable,
    attempts, describe, http_headers: a dict of lower-case names)."""

def version() -> str: ...
def status_name(status: int, /) -> str: ...
def set_log_handler(handler: Callable[[int, str], object] | None, /) -> None: ...
def client_new(options: Sequence[tuple[int, int | str | None]], log_level: int, /) -> ClientHandle: ...
def client_set_log_level(handle: ClientHandle, level: int, /) -> None: ...
def client_free(client: ClientHandle, /) -> None: ...
def client_region(client: ClientHandle, /) -> str: ...
def call(
    client: ClientHandle, operation: str, params: dict[str, Any], fallback: Callable[[object], object],
    cancel: CancelHandle | None, interruptible: bool, /
) -> tuple[dict[str, Any], int, str, int, dict[str, str]]: ...
def sign_request(
    client: ClientHandle, service: str, method: str, url: str, headers: list[str], body: bytes,
    expires: int, timestamp: int,
) -> str: ...
def cancel_new() -> CancelHandle: ...
def cancel_free(cancel: CancelHandle, /) -> None: ...
def cancel_trigger(cancel: CancelHandle, /) -> None: ...
def session_new(client: ClientHandle, /) -> SessionHandle: ...
def session_set_str(session: SessionHandle, option: int, value: str | None, /) -> None: ...
def session_set_int(session: SessionHandle, option: int, value: int, /) -> None: ...
def session_start(session: SessionHandle, /) -> None: ...
def session_fd(session: SessionHandle, /) -> int: ...
def session_state(session: SessionHandle, /) -> str: ...
def session_stats_json(session: SessionHandle, /) -> str: ...
def session_next_event_json(session: SessionHandle, timeout_ms: int, /) -> str | None: ...
def session_send_answer(session: SessionHandle, sdp: str, recipient: str | None, /) -> None: ...
def session_send_candidate(
    session: SessionHandle, candidate: str, sdp_mid: str | None, sdp_mline_index: int, recipient: str | None, /
) -> None: ...
def session_wake(session: SessionHandle, /) -> None: ...
def session_close(session: SessionHandle, /) -> None: ...
def session_free(session: SessionHandle, /) -> None: ...

KVSWS_OK: int
KVSWS_E_PARAM_VALIDATION: int
KVSWS_E_NO_CREDENTIALS: int
KVSWS_E_NO_REGION: int
KVSWS_E_NO_MEMORY: int
KVSWS_E_CREDENTIAL_RETRIEVAL: int
KVSWS_E_CANCELLED: int
KVSWS_E_INTERNAL: int
KVSWS_E_CONFIG: int
KVSWS_E_CONNECT: int
KVSWS_E_CONNECT_TIMEOUT: int
KVSWS_E_READ_TIMEOUT: int
KVSWS_E_TLS: int
KVSWS_E_BAD_RESPONSE: int
KVSWS_E_TRANSPORT: int
KVSWS_E_ACCESS_DENIED: int
KVSWS_E_CLIENT_LIMIT_EXCEEDED: int
KVSWS_E_INVALID_ARGUMENT: int
KVSWS_E_RESOURCE_NOT_FOUND: int
KVSWS_E_RESOURCE_IN_USE: int
KVSWS_E_NOT_AUTHORIZED: int
KVSWS_E_INVALID_CLIENT: int
KVSWS_E_SESSION_EXPIRED: int
KVSWS_E_THROTTLING: int
KVSWS_E_INVALID_SIGNATURE: int
KVSWS_E_UNRECOGNIZED_CLIENT: int
KVSWS_E_EXPIRED_TOKEN: int
KVSWS_E_MISSING_AUTHENTICATION: int
KVSWS_E_INTERNAL_FAILURE: int
KVSWS_E_SERVICE_UNAVAILABLE: int
KVSWS_E_REQUEST_TIMEOUT: int
KVSWS_E_SERVICE_OTHER: int

KVSWS_OPT_REGION: int
KVSWS_OPT_PROFILE: int
KVSWS_OPT_ENDPOINT_URL: int
KVSWS_OPT_ACCESS_KEY_ID: int
KVSWS_OPT_SECRET_ACCESS_KEY: int
KVSWS_OPT_SESSION_TOKEN: int
KVSWS_OPT_CA_BUNDLE: int
KVSWS_OPT_CONNECT_TIMEOUT_MS: int
KVSWS_OPT_READ_TIMEOUT_MS: int
KVSWS_OPT_REQUEST_TIMEOUT_MS: int
KVSWS_OPT_MAX_ATTEMPTS: int
KVSWS_OPT_RETRY_JOIN: int
KVSWS_OPT_USER_AGENT_EXTRA: int
KVSWS_OPT_LOG_LEVEL: int
KVSWS_OPT_CONFIG_FILE: int
KVSWS_OPT_CREDENTIALS_FILE: int
KVSWS_OPT_RETRY_BASE_DELAY_MS: int
KVSWS_OPT_USE_FIPS_ENDPOINT: int
KVSWS_OPT_IOT_CREDENTIAL_ENDPOINT: int
KVSWS_OPT_IOT_CERT_FILE: int
KVSWS_OPT_IOT_PRIVATE_KEY_FILE: int
KVSWS_OPT_IOT_ROLE_ALIAS: int
KVSWS_OPT_IOT_THING_NAME: int
KVSWS_OPT_IOT_CA_FILE: int

KVSWS_LOG_OFF: int
KVSWS_LOG_ERROR: int
KVSWS_LOG_WARN: int
KVSWS_LOG_INFO: int
KVSWS_LOG_DEBUG: int

KVSWS_SESSION_OPT_CHANNEL_ARN: int
KVSWS_SESSION_OPT_CHANNEL_NAME: int
KVSWS_SESSION_OPT_ROLE: int
KVSWS_SESSION_OPT_CLIENT_ID: int
KVSWS_SESSION_OPT_OFFER_TIMEOUT_MS: int
KVSWS_SESSION_OPT_PING_INTERVAL_MS: int
KVSWS_SESSION_OPT_MAX_JOIN_ATTEMPTS: int
KVSWS_SESSION_OPT_MAX_DURATION_MS: int
KVSWS_SESSION_OPT_CHECK_ANSWER: int
KVSWS_SESSION_OPT_RECONNECT_MAX_MS: int
KVSWS_SESSION_OPT_FLOOD_LIMIT: int

KVSWS_ROLE_MASTER: int
KVSWS_ROLE_VIEWER: int
def cli_run(argv: Sequence[bytes], /) -> int: ...

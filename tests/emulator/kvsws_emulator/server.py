# SPDX-License-Identifier: Apache-2.0
"""The aiohttp application: the AWS API routes, the signaling WebSocket, faults, and the unsigned
admin API.

Routing: ``/_emulator/*`` is the admin API; a GET of ``/`` that carries ``X-Amz-ChannelARN`` or asks
for a WebSocket upgrade is the signaling endpoint (``signaling_handler``: presigned-URL check, faults,
channel lookup, upgrade, then ``signaling.SignalingHub``); every other request goes through
``api_handler`` (authentication, fault injection, validation, the operation).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import socket
import time
import uuid
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import tlsgen
from .endpoints import advertised_authority, certificate_name
from .errors import (
    COMMON_ERRORS,
    SERVICES,
    SIGNALING,
    ApiError,
    ServiceSpec,
    error_shape,
    error_type_header,
    known_error,
)
from .iot import IotCredentialsProvider
from .iot import server_context as iot_server_context
from .issuer import Issuer
from .operations import NOT_FOUND, OPERATIONS, OPERATIONS_BY_PATH, CallContext, invoke
from .signaling import CHANNEL_ARN_RE, NAME_RE, WSS_OPERATIONS, SignalingHub
from .sigv4 import (
    expired_message,
    format_amz_date,
    parse_amz_date,
    parse_raw_query,
    verify_header_auth,
    verify_presigned_url,
)
from .sso_portal import SsoPortal
from .state import ConfigError, Fault, RequestRecord, SessionFault, State
from .sts import StsService

if TYPE_CHECKING:
    from .turn import TurnServer

log = logging.getLogger("kvsws_emulator")

STATE_KEY = web.AppKey("state", State)
HUB_KEY = web.AppKey("signaling", SignalingHub)
IOT_KEY = web.AppKey("iot", IotCredentialsProvider)
TURN_KEY: web.AppKey[Any] = web.AppKey("turn")  # the TurnServer, or None when the built-in one is off
ADMIN_PREFIX = "/_emulator"
FAULT_STATUSES = (500, 502, 503, 504)
FAULT_BODIES = ("json", "html", "empty")


class _Dropped(Exception):
    """The connection was closed on purpose (a "drop" fault): there is no response to send."""


# -- responses ----------------------------------------------------------------------------------

def error_response(service: ServiceSpec | None, err: ApiError) -> web.Response:
    shape = error_shape(service, err.code)
    resp = web.Response(
        status=err.status or shape.status,
        body=json.dumps({shape.member: err.message}).encode(),
        content_type="application/json",
    )
    resp.headers["x-amzn-ErrorType"] = error_type_header(service, err.code)
    return resp


def _html_page(status: int, reason: str) -> str:
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    )


def status_response(service: ServiceSpec | None, status: int, body: str) -> web.Response:
    """A bare 5xx as a load balancer or gateway would send it (json, html or empty body)."""
    reason = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
              504: "Gateway Time-out"}[status]
    if body == "html":
        return web.Response(status=status, text=_html_page(status, reason), content_type="text/html")
    if body == "empty":
        resp = web.Response(status=status, body=b"")
        resp.content_type = "application/json"
        return resp
    if status == 500:
        return error_response(
            service, ApiError("InternalFailure", "We encountered an internal error. Please try again.", 500)
        )
    if status == 503:
        return error_response(service, ApiError("ServiceUnavailableException", "Service Unavailable", 503))
    # 502/504 come from the gateway in front of the service: a message, no x-amzn-ErrorType.
    message = "Internal server error" if status == 502 else "Endpoint request timed out"
    return web.Response(status=status, body=json.dumps({"message": message}).encode(), content_type="application/json")


def _resource(params: Any) -> str:
    if isinstance(params, dict):
        for key in ("channelArn", "ChannelARN", "ChannelName"):
            value = params.get(key)
            if isinstance(value, str):
                return value
    return "*"


def _channel_label(params: Any) -> str:
    resource = _resource(params)
    parts = resource.split("/")
    return parts[1] if resource.startswith("arn:") and len(parts) >= 3 else resource


def default_fault_message(state: State, op: str, code: str, params: Any) -> str:
    if code == "ClientLimitExceededException":
        return f"Limit exceeded on number of requests for {op} API for resource '{_channel_label(params)}'"
    if code == "AccessDeniedException":
        return (f"User: arn:aws:iam::{state.account_id}:user/kvsws-emulator is not authorized to perform: "
                f"kinesisvideo:{op} on resource: {_resource(params)}")
    return {
        "ThrottlingException": "Rate exceeded",
        "ResourceNotFoundException": NOT_FOUND,
        "InvalidArgumentException": "The value for this input parameter is invalid.",
        "NotAuthorizedException": "The caller is not authorized to perform this operation.",
        "ResourceInUseException": "The resource is in use and cannot be used by this operation now.",
        "InvalidClientException": "The specified client is invalid.",
        "SessionExpiredException": "The client session is expired.",
        "UnrecognizedClientException": "The security token included in the request is invalid.",
        "ExpiredTokenException": "The security token included in the request is expired",
        "InternalFailure": "We encountered an internal error. Please try again.",
        "ServiceUnavailableException": "Service Unavailable",
    }.get(code, f"{code} injected by the kvsws emulator.")


# -- the API ------------------------------------------------------------------------------------

def _parse_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError("SerializationException", f"Malformed JSON request body: {exc}") from None
    if not isinstance(params, dict):
        raise ApiError("SerializationException", "The request body must be a JSON object.")
    return params


def _lenient_params(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else {}
    except ValueError:
        return None


async def _apply_fault(request: web.Request, state: State, fault: Fault, op: str, body: bytes,
                       service: ServiceSpec) -> web.Response | None:
    """Carry out one fault. Returns a response, raises, or returns None to answer normally."""
    if fault.delay_ms:
        await asyncio.sleep(fault.delay_ms / 1000)
    params = _lenient_params(body)
    if fault.drop:
        transport = request.transport
        if transport is not None:
            transport.close()
        raise _Dropped()
    if fault.signature_expired:
        amz_date = request.headers.get("X-Amz-Date") or format_amz_date(state.now())
        # The message is AWS's, as if the server's clock were 10 minutes ahead of the request; the
        # Date header stays the emulator's own clock (use /_emulator/clock for a real skew).
        sent = parse_amz_date(amz_date) or state.now()
        raise ApiError("InvalidSignatureException", expired_message(amz_date, sent + 600))
    if fault.throttle:
        raise ApiError("ClientLimitExceededException",
                       fault.message or default_fault_message(state, op, "ClientLimitExceededException", params))
    if fault.error is not None:
        raise ApiError(fault.error, fault.message or default_fault_message(state, op, fault.error, params))
    if fault.status is not None:
        return status_response(service, fault.status, fault.body)
    return None


async def _trickle(request: web.Request, resp: web.Response, every_ms: int) -> web.StreamResponse:
    """Sends resp's status and headers at once, then its body one byte every every_ms: a peer that
    is never quiet long enough for an inactivity timeout, only a total deadline stops it."""
    body = resp.body if isinstance(resp.body, bytes) else b""
    out = web.StreamResponse(status=resp.status, headers=resp.headers)
    out.content_length = len(body)
    out.headers.setdefault("x-amzn-RequestId", request["request_id"])
    out.headers["Server"] = "kvsws-emulator"
    out.headers["Date"] = formatdate(request.app[STATE_KEY].now(), usegmt=True)
    await out.prepare(request)
    try:
        for i in range(len(body)):
            await out.write(body[i:i + 1])
            await asyncio.sleep(every_ms / 1000)
        await out.write_eof()
    except (ConnectionError, RuntimeError):
        pass  # the client gave up, as it should
    return out


def _listener(request: web.Request) -> str:
    """"data" when the request came in on the --data-plane-port listener, else "control"."""
    state = request.app[STATE_KEY]
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    port = sockname[1] if isinstance(sockname, tuple) and len(sockname) >= 2 else None
    return "data" if state.data_plane_port is not None and port == state.data_plane_port else "control"


def _check_listener(request: web.Request, listener: str, data_plane: bool) -> None:
    """With a separate data-plane listener, each side serves only its own operations, as AWS's
    control plane host knows no JoinStorageSession and a channel's endpoints no control calls."""
    if request.app[STATE_KEY].data_plane_port is None or data_plane == (listener == "data"):
        return
    where = "the channel's endpoint (GetSignalingChannelEndpoint)" if data_plane else "the control plane endpoint"
    raise ApiError("UnknownOperationException",
                   f"No operation at {request.method} {request.path} on this endpoint: it is served by {where}")


async def api_handler(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    request_id: str = request["request_id"]
    op = OPERATIONS_BY_PATH.get(request.path) if request.method == "POST" else None
    service = op.service if op is not None else None
    body = await request.read()
    record = RequestRecord(
        request_id=request_id, time=time.time(), method=request.method, path=request.path_qs,
        operation=op.name if op else None, user_agent=request.headers.get("User-Agent"),
        listener=_listener(request),
    )
    state.records.append(record)
    if op is not None:
        state.calls[op.name] += 1

    host = request.headers.get("Host") or f"{state.endpoint_host}:{state.port}"
    auth = verify_header_auth(state, request.method, host, request.raw_path, list(request.headers.items()), body)
    record.verified = auth.verified
    record.auth_error = auth.error.code if auth.error else None
    record.region, record.service, record.access_key_id = auth.region, auth.service, auth.access_key_id
    record.signed_headers = auth.signed_headers
    record.canonical_request, record.string_to_sign = auth.canonical_request, auth.string_to_sign
    record.params = _lenient_params(body)

    fault: Fault | None = None
    try:
        if auth.error is not None:
            raise auth.error
        if op is None:
            raise ApiError("UnknownOperationException", f"No operation at {request.method} {request.path}")
        _check_listener(request, record.listener, op.service.key != "control")
        fault = state.take_fault(op.name)
        resp: web.Response | None = None
        if fault is not None:
            record.fault = fault.to_json()
            resp = await _apply_fault(request, state, fault, op.name, body, op.service)
        if resp is None:
            params = _parse_body(body)
            assert auth.region is not None
            result = await invoke(CallContext(state, auth.region, op, request_id, fault), params)
            if result is None:
                resp = web.Response(status=200, body=b"", content_type="application/json")
            else:
                resp = web.Response(status=200, body=json.dumps(result).encode(), content_type="application/json")
    except ApiError as err:
        record.error = err.code
        resp = error_response(service, err)
    except _Dropped:
        # The transport is closed: aiohttp fails to write this placeholder and quietly moves on
        # (it treats that as a client disconnect), so the client sees a connection closed
        # without any HTTP response.
        record.error = "ConnectionDropped"
        log.info("%s %s op=%s DROPPED (fault) rid=%s", request.method, request.path, record.operation,
                 request_id)
        return web.Response(status=500)
    record.status = resp.status
    if fault is not None and fault.trickle_ms:
        log.info("%s %s op=%s TRICKLED every %d ms rid=%s", request.method, request.path,
                 record.operation, fault.trickle_ms, request_id)
        return await _trickle(request, resp, fault.trickle_ms)
    if resp.status >= 400 and record.error is None:
        error_type = resp.headers.get("x-amzn-ErrorType")
        record.error = error_type.split(":", 1)[0] if error_type else str(resp.status)
    log.info(
        "%s %s op=%s status=%s error=%s ak=%s region=%s auth=%s fault=%s rid=%s",
        request.method, request.path, record.operation, resp.status, record.error or "-",
        record.access_key_id or "-", record.region or "-", "ok" if auth.verified else record.auth_error,
        record.fault["kind"] if record.fault else "-", request_id,
    )
    return resp


# -- the signaling WebSocket ---------------------------------------------------------------------

# WebSocket subprotocols the signaling endpoint selects when a client offers them (RFC 6455 4.2.2:
# the first of the client's that the server supports, else none). The KVS C SDK offers "wss" (its
# libwebsockets protocol name); the JS SDK and kvsws offer none and get none.
SUBPROTOCOLS = ("wss",)


def is_signaling_request(request: web.Request) -> bool:
    if request.method != "GET" or request.path != "/":
        return False
    return "X-Amz-ChannelARN" in request.query or request.headers.get("Upgrade", "").lower() == "websocket"


async def signaling_handler(request: web.Request) -> web.StreamResponse:
    """ConnectAsMaster / ConnectAsViewer: ``GET /?X-Amz-ChannelARN=...[&X-Amz-ClientId=...]&X-Amz-...``.

    Everything is decided before the upgrade, with an AWS JSON error body (as the gateway does):
    403 for the signature, 400 for bad parameters, 404 for an unknown channel."""
    if not is_signaling_request(request):
        return await api_handler(request)
    state = request.app[STATE_KEY]
    hub = request.app[HUB_KEY]
    request_id: str = request["request_id"]
    _, _, raw_query = request.raw_path.partition("?")
    query: dict[str, str] = {}
    for key, value in parse_raw_query(raw_query):
        query.setdefault(key, value)
    client_id = query.get("X-Amz-ClientId")
    op = "ConnectAsViewer" if client_id is not None else "ConnectAsMaster"
    record = RequestRecord(request_id=request_id, time=time.time(), method=request.method, path=request.path_qs,
                           operation=op, user_agent=request.headers.get("User-Agent"), listener=_listener(request))
    state.records.append(record)
    state.calls[op] += 1
    host = request.headers.get("Host") or f"{state.endpoint_host}:{state.port}"
    headers = list(request.headers.items())
    if "X-Amz-Signature" not in query and request.headers.get("Authorization"):
        auth = verify_header_auth(state, "GET", host, request.raw_path, headers, b"")
    else:
        auth = verify_presigned_url(state, "GET", host, request.path, raw_query, headers)
    record.verified = auth.verified
    record.auth_error = auth.error.code if auth.error else None
    record.region, record.service, record.access_key_id = auth.region, auth.service, auth.access_key_id
    record.signed_headers = auth.signed_headers
    record.canonical_request, record.string_to_sign = auth.canonical_request, auth.string_to_sign
    record.params = {k: v for k, v in query.items() if not k.startswith("X-Amz-") or k in
                     ("X-Amz-ChannelARN", "X-Amz-ClientId")}
    resp: web.Response | None = None
    try:
        if auth.error is not None:
            raise auth.error
        _check_listener(request, record.listener, True)
        fault = state.take_fault(op, wildcard=False)
        if fault is not None:
            record.fault = fault.to_json()
            resp = await _apply_fault(request, state, fault, op, b"", SIGNALING)
        if resp is None:
            arn = query.get("X-Amz-ChannelARN")
            if not arn:
                raise ApiError("InvalidArgumentException", "X-Amz-ChannelARN is required.")
            if len(arn) > 1024 or not CHANNEL_ARN_RE.fullmatch(arn):
                raise ApiError("InvalidArgumentException",
                               f"1 validation error detected: Value '{arn}' at 'channelARN' failed to satisfy "
                               f"constraint: Member must satisfy regular expression pattern: {CHANNEL_ARN_RE.pattern}")
            if client_id is not None and not NAME_RE.fullmatch(client_id):
                raise ApiError("InvalidArgumentException",
                               f"1 validation error detected: Value '{client_id}' at 'clientId' failed to satisfy "
                               f"constraint: Member must satisfy regular expression pattern: {NAME_RE.pattern}")
            channel = state.channels.get(arn)
            if channel is None or channel.region != auth.region:
                raise ApiError("ResourceNotFoundException", NOT_FOUND)
            ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20, protocols=SUBPROTOCOLS)
            if not ws.can_prepare(request).ok:
                raise ApiError("InvalidArgumentException",
                               "The signaling endpoint takes a WebSocket upgrade (Upgrade: websocket).")
            ws.headers["x-amzn-RequestId"] = request_id
            ws.headers["Date"] = formatdate(state.now(), usegmt=True)
            await ws.prepare(request)
            record.status = 101
            log.info("GET / op=%s status=101 ak=%s region=%s channel=%s subprotocol=%s rid=%s", op,
                     auth.access_key_id, auth.region, channel.name, ws.ws_protocol or "-", request_id)
            await hub.serve_connection(request, ws, channel, client_id, request_id)
            return ws
    except ApiError as err:
        record.error = err.code
        resp = error_response(SIGNALING, err)
    except _Dropped:
        record.error = "ConnectionDropped"
        return web.Response(status=500)
    record.status = resp.status
    if resp.status >= 400 and record.error is None:
        error_type = resp.headers.get("x-amzn-ErrorType")
        record.error = error_type.split(":", 1)[0] if error_type else str(resp.status)
    log.info("GET / op=%s status=%s error=%s ak=%s auth=%s fault=%s rid=%s", op, resp.status, record.error or "-",
             record.access_key_id or "-", "ok" if auth.verified else record.auth_error,
             record.fault["kind"] if record.fault else "-", request_id)
    return resp


# -- the admin API --------------------------------------------------------------------------------

def _admin_error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"message": message}, status=status)


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json() if (await request.read()).strip() else {}
    except ValueError:
        raise ConfigError("the body must be JSON") from None
    if not isinstance(data, dict):
        raise ConfigError("the body must be a JSON object")
    return data


async def admin_state(request: web.Request) -> web.Response:
    snapshot = request.app[STATE_KEY].snapshot()
    snapshot["signaling"] = await request.app[HUB_KEY].snapshot()
    turn_server = request.app[TURN_KEY]
    snapshot["turn"] = {"uris": request.app[STATE_KEY].turn_uris,
                        "builtin": turn_server.snapshot() if turn_server is not None else None}
    return web.json_response(snapshot)


async def admin_sessions(request: web.Request) -> web.Response:
    """GET /_emulator/sessions[?channel=NAME-OR-ARN]: storage sessions and WebSocket connections."""
    hub = request.app[HUB_KEY]
    name = request.query.get("channel")
    channel = None
    if name is not None:
        channel = hub.find_channel(name)
        if channel is None:
            return _admin_error(f"no channel {name!r}", 404)
    return web.json_response(await hub.snapshot(channel))


async def admin_signaling(request: web.Request) -> web.Response:
    """POST /_emulator/signaling {"channel", "action", ...}: act on the channel's open connection."""
    hub = request.app[HUB_KEY]
    try:
        result = await hub.admin_action(await _json_object(request))
    except ConfigError as exc:
        return _admin_error(str(exc))
    except LookupError as exc:
        return _admin_error(str(exc.args[0]), 409)
    return web.json_response(result)


async def admin_channels(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        data = await _json_object(request)
        name = data.get("name")
        if not isinstance(name, str):
            raise ConfigError("name is required")
        storage = data.get("storage", True)
        if not isinstance(storage, bool):
            raise ConfigError("storage must be true or false")
        region = data.get("region")
        if region is not None and not isinstance(region, str):
            raise ConfigError("region must be a string")
        channel, created = state.put_channel(name, storage=storage, region=region)
    except ConfigError as exc:
        return _admin_error(str(exc))
    return web.json_response(channel.to_json(), status=201 if created else 200)


async def admin_credentials(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        data = await _json_object(request)
        cred = state.add_credential(str(data.get("access_key_id", "")), str(data.get("secret_access_key", "")),
                                    data.get("session_token"))
    except ConfigError as exc:
        return _admin_error(str(exc))
    return web.json_response(cred.public())


SESSION_FAULT_KEYS = ("no_offer", "candidates_first", "trickle_only", "offer_delay_ms", "sender_client_id")
JOIN_OPERATIONS = ("JoinStorageSession", "JoinStorageSessionAsViewer")


def _service_for(operation: str) -> ServiceSpec:
    return SIGNALING if operation in WSS_OPERATIONS else OPERATIONS[operation].service


def _parse_session_fault(data: dict[str, Any], operation: str) -> SessionFault | None:
    given = [k for k in SESSION_FAULT_KEYS if k in data]
    if not given:
        return None
    if operation != "JoinStorageSession":
        raise ConfigError(f"{', '.join(given)}: storage-session faults apply to operation JoinStorageSession only")
    session = SessionFault()
    for key in ("no_offer", "candidates_first", "trickle_only"):
        value = data.get(key, False)
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false")
        setattr(session, key, value)
    delay = data.get("offer_delay_ms", 0)
    if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= 600_000:
        raise ConfigError("offer_delay_ms must be an integer from 0 to 600000")
    session.offer_delay_ms = delay
    sender = data.get("sender_client_id")
    if sender is not None and (not isinstance(sender, str) or not NAME_RE.fullmatch(sender)):
        raise ConfigError("sender_client_id must match [a-zA-Z0-9_.-]+ (1-256 characters)")
    session.sender_client_id = sender
    return session


def parse_fault(data: dict[str, Any]) -> Fault:
    allowed = {"operation", "count", "error", "message", "status", "body", "throttle", "delay_ms", "drop",
               "signature_expired", "trickle_ms", *SESSION_FAULT_KEYS}
    unknown = set(data) - allowed
    if unknown:
        raise ConfigError(f"unknown fault keys: {sorted(unknown)}")
    operation = data.get("operation", "*")
    if operation != "*" and operation not in OPERATIONS and operation not in WSS_OPERATIONS:
        raise ConfigError(f"operation must be '*' or one of {sorted([*OPERATIONS, *WSS_OPERATIONS])}")
    count = data.get("count", 1)
    delay_ms = data.get("delay_ms", 0)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ConfigError("count must be a positive integer")
    if not isinstance(delay_ms, int) or isinstance(delay_ms, bool) or not 0 <= delay_ms <= 600_000:
        raise ConfigError("delay_ms must be an integer from 0 to 600000")
    trickle_ms = data.get("trickle_ms", 0)
    if not isinstance(trickle_ms, int) or isinstance(trickle_ms, bool) or not 0 <= trickle_ms <= 60_000:
        raise ConfigError("trickle_ms must be an integer from 0 to 60000")
    actions = [k for k in ("error", "status") if data.get(k) is not None]
    actions += [k for k in ("throttle", "drop", "signature_expired") if data.get(k)]
    if len(actions) > 1:
        raise ConfigError(f"give one of error, status, throttle, drop, signature_expired (got {actions})")
    session = _parse_session_fault(data, operation)
    if session is not None and actions:
        raise ConfigError(f"storage-session faults make the join succeed: they do not combine with {actions[0]}")
    if trickle_ms and ("drop" in actions or operation in WSS_OPERATIONS):
        raise ConfigError("trickle_ms slows an HTTPS answer: it does not combine with drop or a WebSocket connect")
    if not actions and not delay_ms and not trickle_ms and session is None:
        raise ConfigError("a fault needs one of error, status, throttle, drop, signature_expired, delay_ms, "
                          f"trickle_ms, or (JoinStorageSession) one of {', '.join(SESSION_FAULT_KEYS)}")
    if operation in WSS_OPERATIONS and "signature_expired" in actions:
        raise ConfigError("signature_expired applies to the HTTPS calls; for the WebSocket use /_emulator/clock")
    fault = Fault(id=0, operation=operation, remaining=count, delay_ms=delay_ms, trickle_ms=trickle_ms,
                  session=session)
    message = data.get("message")
    if message is not None and not isinstance(message, str):
        raise ConfigError("message must be a string")
    if "error" in actions:
        error = data["error"]
        if not isinstance(error, str) or not known_error(error):
            raise ConfigError(f"unknown error {error!r}")
        if operation != "*":
            svc = _service_for(operation)
            if error not in svc.errors and error not in COMMON_ERRORS:
                raise ConfigError(f"{operation} ({svc.service_id}) has no error {error!r}")
        fault.error, fault.message = error, message
    elif "status" in actions:
        status, body = data["status"], data.get("body", "json")
        if status not in FAULT_STATUSES:
            raise ConfigError(f"status must be one of {FAULT_STATUSES}")
        if body not in FAULT_BODIES:
            raise ConfigError(f"body must be one of {FAULT_BODIES}")
        fault.status, fault.body = status, body
    elif "throttle" in actions:
        fault.throttle, fault.message = True, message
    elif "drop" in actions:
        fault.drop = True
    elif "signature_expired" in actions:
        fault.signature_expired = True
    return fault


async def admin_faults(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        fault = state.add_fault(parse_fault(await _json_object(request)))
    except ConfigError as exc:
        return _admin_error(str(exc))
    return web.json_response({"fault": fault.to_json(), "pending": state.pending_faults()})


async def admin_reset(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    await request.app[HUB_KEY].close_sessions("reset")  # peers stopped, recordings finished
    state.reset()
    return web.json_response({"reset": True})


async def admin_clock(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        data = await _json_object(request)
        skew = data.get("skew_seconds")
        if not isinstance(skew, (int, float)) or isinstance(skew, bool):
            raise ConfigError("skew_seconds must be a number")
    except ConfigError as exc:
        return _admin_error(str(exc))
    state.clock_skew = float(skew)
    return web.json_response({"skew_seconds": state.clock_skew, "now": state.now()})


async def admin_regions(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        data = await _json_object(request)
        allowed = data.get("allowed_regions")
        if allowed is not None and (not isinstance(allowed, list) or not all(isinstance(r, str) for r in allowed)):
            raise ConfigError("allowed_regions must be a list of region names or null")
    except ConfigError as exc:
        return _admin_error(str(exc))
    state.allowed_regions = allowed
    return web.json_response({"allowed_regions": state.allowed_regions})


async def admin_not_found(request: web.Request) -> web.Response:
    return _admin_error(f"no admin route {request.method} {request.path}", 404)


# -- the application ---------------------------------------------------------------------------------

@web.middleware
async def common_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    """x-amzn-RequestId and Date (the emulator's clock, skew included) on every response."""
    request_id = str(uuid.uuid4())
    request["request_id"] = request_id
    try:
        resp: web.StreamResponse = await handler(request)
    except web.HTTPException as exc:
        resp = exc
    if not resp.prepared:  # a WebSocket has sent its headers already (it sets its own)
        resp.headers.setdefault("x-amzn-RequestId", request_id)
        resp.headers["Server"] = "kvsws-emulator"
        resp.headers["Date"] = formatdate(request.app[STATE_KEY].now(), usegmt=True)
    return resp


def create_iot_app(state: State, iot: IotCredentialsProvider) -> web.Application:
    """The AWS IoT credentials provider's own listener (mutual TLS): its one path, nothing else."""
    app = web.Application(middlewares=[common_headers])
    app[STATE_KEY] = state
    app.add_routes(iot.endpoint_routes())
    return app


def create_app(state: State, state_dir: Path | None = None, turn_server: TurnServer | None = None) -> web.Application:
    app = web.Application(middlewares=[common_headers])
    app[STATE_KEY] = state
    hub = SignalingHub(state, state_dir)
    app[HUB_KEY] = hub
    app[TURN_KEY] = turn_server
    if turn_server is not None:
        state.reset_hooks.append(turn_server.reset)

    async def _shutdown(_app: web.Application) -> None:
        await hub.shutdown()

    app.on_shutdown.append(_shutdown)
    app.router.add_get(f"{ADMIN_PREFIX}/sessions", admin_sessions)
    app.router.add_post(f"{ADMIN_PREFIX}/signaling", admin_signaling)
    app.router.add_get(f"{ADMIN_PREFIX}/state", admin_state)
    app.router.add_post(f"{ADMIN_PREFIX}/channels", admin_channels)
    app.router.add_post(f"{ADMIN_PREFIX}/credentials", admin_credentials)
    app.router.add_post(f"{ADMIN_PREFIX}/faults", admin_faults)
    app.router.add_post(f"{ADMIN_PREFIX}/reset", admin_reset)
    app.router.add_post(f"{ADMIN_PREFIX}/clock", admin_clock)
    app.router.add_post(f"{ADMIN_PREFIX}/regions", admin_regions)
    # STS (POST / with a form body) and the SSO portal, issuing credentials the calls then accept.
    issuer = Issuer(state)
    app.add_routes(StsService(state, issuer, api_handler).routes(ADMIN_PREFIX))
    app.add_routes(SsoPortal(state, issuer).routes(ADMIN_PREFIX))
    iot = IotCredentialsProvider(state, issuer, state_dir)
    app[IOT_KEY] = iot
    app.add_routes(iot.admin_routes(ADMIN_PREFIX))
    app.router.add_route("*", ADMIN_PREFIX + "{tail:(/.*)?}", admin_not_found)
    app.router.add_get("/", signaling_handler)  # falls through to api_handler unless it is signaling
    app.router.add_route("*", "/{tail:.*}", api_handler)
    return app


# -- running it ---------------------------------------------------------------------------------------

LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


PRIVILEGED_PORT_HINT = (
    "ports below 1024 need privileges: run it with your program through python3 -m kvsws_emulator.on443 "
    "(a user and network namespace, no root), give python CAP_NET_BIND_SERVICE (setcap), use authbind, or "
    "lower net.ipv4.ip_unprivileged_port_start (tests/emulator/README.md, 'Port 443')")


def _bind(host: str, port: int) -> socket.socket:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except PermissionError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host} port {port}: {exc.strerror}; {PRIVILEGED_PORT_HINT}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def write_ready(state_dir: Path, info: dict[str, Any]) -> Path:
    path = state_dir / "ready.json"
    tmp = state_dir / f".ready.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


async def serve(state: State, host: str, port: int, state_dir: Path, keep_ca: bool = False,
                stop: asyncio.Event | None = None, data_plane_port: int | None = None,
                advertise: str | None = None, iot_port: int | None = None) -> None:
    if not _is_loopback(host):
        raise ConfigError(f"refusing to listen on {host!r}: the emulator serves loopback only")
    extra_names: tuple[str, ...] = ()
    if advertise is not None:
        try:
            state.advertised = advertised_authority(advertise)
            extra_names = (certificate_name(advertise),)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    state_dir.mkdir(parents=True, exist_ok=True)
    files = tlsgen.generate(state_dir, keep_ca=keep_ca, extra_names=extra_names)
    sock = _bind(host, port)
    state.port = sock.getsockname()[1]
    data_sock = _bind(host, data_plane_port) if data_plane_port is not None else None
    if data_sock is not None:
        state.data_plane_port = data_sock.getsockname()[1]
    state.endpoint_host = f"[{host}]" if ":" in host else host
    bound_ip = sock.getsockname()[0]
    turn_server: TurnServer | None = None
    if state.turn.uris is not None:
        state.turn_uris = list(state.turn.uris)
    elif state.turn.builtin:
        try:
            from .turn import TurnServer  # aioice (comes with aiortc): only when the TURN server runs
        except ImportError as exc:
            log.warning("no built-in TURN server (%s): pip install aiortc", exc)
        else:
            turn_server = TurnServer(bound_ip, lambda: state.turn.secret, state.now, tls=tlsgen.stream_context(files))
            await turn_server.start(udp_port=state.port)
            uri_host = f"[{bound_ip}]" if ":" in bound_ip else bound_ip
            state.turn_uris = turn_server.uris(uri_host)
    runner = web.AppRunner(create_app(state, state_dir, turn_server), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.SockSite(runner, sock, ssl_context=tlsgen.server_context(files))
    await site.start()
    if data_sock is not None:
        await web.SockSite(runner, data_sock, ssl_context=tlsgen.server_context(files)).start()
    iot_runner: web.AppRunner | None = None
    if iot_port is not None:
        iot_sock = _bind(host, iot_port)
        state.iot_endpoint = f"{state.endpoint_host}:{iot_sock.getsockname()[1]}"
        iot_runner = web.AppRunner(create_iot_app(state, runner.app[IOT_KEY]), access_log=None,
                                   handle_signals=False)
        await iot_runner.setup()
        await web.SockSite(iot_runner, iot_sock, ssl_context=iot_server_context(files)).start()
    endpoint = state.listener_url("https", state.port)
    cred = state.default_credential()
    info: dict[str, Any] = {
        "endpoint": endpoint,
        "port": state.port,
        "host": host,
        "ca_bundle": str(files.ca_cert.resolve()),
        "pid": os.getpid(),
        "region": state.region,
        "access_key_id": cred.access_key_id,
        "secret_access_key": cred.secret_access_key,
        "channels": {c.name: c.arn for c in state.channels.values()},
        "wss_endpoint": state.channel_endpoint("wss"),
        "data_plane_endpoint": state.channel_endpoint("https"),
        "advertised": state.advertised,
        "turn_uris": state.turn_uris,
        "recordings": str((state_dir / "recordings").resolve()) if state.record_media else None,
    }
    if turn_server is not None:
        info["turn"] = {"udp_port": turn_server.udp_port, "tcp_port": turn_server.tcp_port}
    if state.iot_endpoint is not None:
        info["iot_endpoint"] = state.iot_endpoint
    if cred.session_token:
        info["session_token"] = cred.session_token
    token_cred = next((c for c in state.credentials.values() if c.session_token), None)
    if token_cred is not None:
        info["session_credentials"] = {
            "access_key_id": token_cred.access_key_id,
            "secret_access_key": token_cred.secret_access_key,
            "session_token": token_cred.session_token,
        }
    ready = write_ready(state_dir, info)
    print(f"kvsws emulator listening on {endpoint}", flush=True)
    log.info("state dir %s; services: %s", state_dir, ", ".join(s.service_id for s in SERVICES.values()))
    stop = stop or asyncio.Event()
    try:
        await stop.wait()
    finally:
        try:
            ready.unlink()
        except FileNotFoundError:
            pass
        await runner.cleanup()
        if iot_runner is not None:
            await iot_runner.cleanup()
        if turn_server is not None:
            await turn_server.stop()

# SPDX-License-Identifier: Apache-2.0
"""What the STS and IAM Identity Center stand-ins share: temporary credentials they issue (the emulator
then accepts them on every call until they expire), a record of each call, and queued faults."""

from __future__ import annotations

import base64
import json
import os
import secrets
import string
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .state import ConfigError, Credential, RequestRecord, State

DEFAULT_LIFETIME = 3600  # STS's default DurationSeconds, and what the SSO portal hands out
_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass
class Issued:
    """One set of temporary credentials, and what it was issued for."""

    access_key_id: str
    operation: str  # AssumeRole, AssumeRoleWithWebIdentity, GetRoleCredentials
    principal: str  # the role ARN, or ACCOUNT/ROLE_NAME for the SSO portal
    session_name: str | None
    source_access_key_id: str | None  # the key that signed AssumeRole
    request_id: str
    expiration: float

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class IdentityFault:
    """A queued error answer for the next ``remaining`` calls of ``operation`` ("*": any)."""

    operation: str
    code: str
    message: str | None
    status: int | None
    remaining: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Issuer:
    """Issues credentials into the emulator's state, with an expiry the SigV4 check enforces."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.issued: list[Issued] = []
        self.by_key: dict[str, Issued] = {}
        state.reset_hooks.append(self.reset)

    def reset(self) -> None:
        # Issued keys stay valid until they expire (like the real ones); only the log is cleared.
        self.issued.clear()

    def issue(self, *, operation: str, principal: str, lifetime: float, request_id: str,
              session_name: str | None = None, source: str | None = None) -> Credential:
        access_key_id = "ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
        # Real secrets and tokens carry '/', '+' and '=': so do these, to exercise encoders.
        secret = base64.b64encode(os.urandom(30)).decode()
        token = "IQoJb3JpZ2luX2Vj" + base64.b64encode(os.urandom(96)).decode()
        cred = self.state.add_credential(access_key_id, secret, token)
        cred.expiration = self.state.now() + lifetime
        entry = Issued(access_key_id, operation, principal, session_name, source, request_id, cred.expiration)
        self.issued.append(entry)
        self.by_key[access_key_id] = entry
        return cred

    def snapshot(self) -> list[dict[str, Any]]:
        return [i.to_json() for i in self.issued]


class FaultQueue:
    """Faults for one stand-in; ``codes`` maps each error code it knows to its default HTTP status."""

    def __init__(self, operations: tuple[str, ...], codes: dict[str, int]) -> None:
        self.operations = operations
        self.codes = codes
        self.queue: deque[IdentityFault] = deque()

    def add(self, spec: dict[str, Any]) -> IdentityFault:
        unknown = set(spec) - {"operation", "code", "message", "status", "count"}
        if unknown:
            raise ConfigError(f"unknown fault keys: {sorted(unknown)}")
        operation = spec.get("operation", "*")
        if operation != "*" and operation not in self.operations:
            raise ConfigError(f"operation must be '*' or one of {list(self.operations)}")
        code = spec.get("code")
        if code not in self.codes:
            raise ConfigError(f"code must be one of {sorted(self.codes)}")
        status = spec.get("status")
        if status is not None and (not isinstance(status, int) or isinstance(status, bool)
                                   or not 400 <= status <= 599):
            raise ConfigError("status must be an HTTP error status (400-599)")
        message = spec.get("message")
        if message is not None and not isinstance(message, str):
            raise ConfigError("message must be a string")
        count = spec.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ConfigError("count must be a positive integer")
        fault = IdentityFault(operation, code, message, status, count)
        self.queue.append(fault)
        return fault

    async def admin_add(self, request: web.Request) -> web.Response:
        """POST /_emulator/{sts,sso,iot}/faults {"operation"?, "code", "message"?, "status"?, "count"?}."""
        try:
            fault = self.add(await admin_body(request))
        except ConfigError as exc:
            return web.json_response({"message": str(exc)}, status=400)
        return web.json_response(fault.to_json())

    def take(self, operation: str) -> IdentityFault | None:
        for fault in self.queue:
            if fault.operation in (operation, "*"):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.queue.remove(fault)
                return fault
        return None

    def status_of(self, fault: IdentityFault) -> int:
        return fault.status or self.codes[fault.code]


def new_record(state: State, request: web.Request, operation: str) -> RequestRecord:
    """A request record (and a call count) for an identity call, as api_handler keeps them."""
    record = RequestRecord(request_id=request["request_id"], time=time.time(), method=request.method,
                           path=request.path_qs, operation=operation,
                           user_agent=request.headers.get("User-Agent"))
    state.records.append(record)
    state.calls[operation] += 1
    return record


async def admin_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ConfigError("the body must be JSON") from None
    if not isinstance(data, dict):
        raise ConfigError("the body must be a JSON object")
    return data


def optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{key} must be a string")
    return value


def optional_lifetime(data: dict[str, Any]) -> float | None:
    value = data.get("lifetime_seconds")
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 129600:
        raise ConfigError("lifetime_seconds must be a number of seconds (0 < s <= 129600)")
    return float(value)

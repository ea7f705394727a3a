# SPDX-License-Identifier: Apache-2.0
"""A stand-in for the IAM Identity Center (SSO) portal's ``GetRoleCredentials``: ``GET
/federation/credentials?role_name=..&account_id=..`` with the access token `aws sso login` cached in the
``x-amz-sso_bearer_token`` header (restJson1, unsigned). Tokens and the account roles they may use are
registered through the admin API (``POST /_emulator/sso/assignments``); errors are the portal's JSON
ones (``UnauthorizedException`` 401 for a bad token, ``ForbiddenException`` 403 for a role not
assigned)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .issuer import DEFAULT_LIFETIME, FaultQueue, Issuer, admin_body, new_record, optional_lifetime
from .state import ConfigError, State

OPERATION = "GetRoleCredentials"
PATH = "/federation/credentials"
TOKEN_HEADER = "x-amz-sso_bearer_token"
# The portal's service namespace, as its x-amzn-ErrorType shows it.
ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/"
SSO_CODES = {
    "UnauthorizedException": 401,
    "ForbiddenException": 403,
    "ResourceNotFoundException": 404,
    "InvalidRequestException": 400,
    "TooManyRequestsException": 429,
    "InternalServerException": 500,
}
DEFAULT_MESSAGES = {
    "UnauthorizedException": "Session token not found or invalid",
    "ForbiddenException": "No access",
    "TooManyRequestsException": "Too many requests",
}


@dataclass
class Assignment:
    access_token: str
    account_id: str
    role_name: str
    lifetime_seconds: float | None

    def to_json(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "role_name": self.role_name,
                "lifetime_seconds": self.lifetime_seconds}


def error_response(code: str, message: str, status: int) -> web.Response:
    resp = web.Response(status=status, body=json.dumps({"message": message}).encode(),
                        content_type="application/json")
    resp.headers["x-amzn-ErrorType"] = f"{code}:{ERROR_NAMESPACE}"
    return resp


class SsoPortal:
    def __init__(self, state: State, issuer: Issuer) -> None:
        self.state = state
        self.issuer = issuer
        self.assignments: list[Assignment] = []
        self.faults = FaultQueue((OPERATION,), SSO_CODES)
        state.reset_hooks.append(self.faults.queue.clear)

    async def handle(self, request: web.Request) -> web.Response:
        record = new_record(self.state, request, OPERATION)
        role_name = request.query.get("role_name")
        account_id = request.query.get("account_id")
        record.params = {"role_name": role_name, "account_id": account_id}
        token = request.headers.get(TOKEN_HEADER)
        record.verified = token is not None
        fault = self.faults.take(OPERATION)
        if fault is not None:
            resp = error_response(fault.code, fault.message or DEFAULT_MESSAGES.get(fault.code, "injected"),
                                  self.faults.status_of(fault))
        elif not token or not any(a.access_token == token for a in self.assignments):
            resp = error_response("UnauthorizedException", DEFAULT_MESSAGES["UnauthorizedException"], 401)
        elif not role_name or not account_id:
            resp = error_response("InvalidRequestException", "role_name and account_id are required", 400)
        else:
            match = next((a for a in self.assignments if (a.access_token, a.account_id, a.role_name)
                          == (token, account_id, role_name)), None)
            if match is None:
                resp = error_response("ForbiddenException", DEFAULT_MESSAGES["ForbiddenException"], 403)
            else:
                cred = self.issuer.issue(operation=OPERATION, principal=f"{account_id}/{role_name}",
                                         lifetime=match.lifetime_seconds or DEFAULT_LIFETIME,
                                         request_id=record.request_id)
                assert cred.expiration is not None
                resp = web.json_response({"roleCredentials": {
                    "accessKeyId": cred.access_key_id, "secretAccessKey": cred.secret_access_key,
                    "sessionToken": cred.session_token, "expiration": int(cred.expiration * 1000)}})
        record.status = resp.status
        if resp.status >= 400:
            record.error = resp.headers["x-amzn-ErrorType"].split(":", 1)[0]
        return resp

    async def admin_assignments(self, request: web.Request) -> web.Response:
        """POST /_emulator/sso/assignments {"access_token", "account_id", "role_name", "lifetime_seconds"?}."""
        try:
            data = await admin_body(request)
            unknown = set(data) - {"access_token", "account_id", "role_name", "lifetime_seconds"}
            if unknown:
                raise ConfigError(f"unknown assignment keys: {sorted(unknown)}")
            values = [data.get(k) for k in ("access_token", "account_id", "role_name")]
            if not all(isinstance(v, str) and v for v in values):
                raise ConfigError("access_token, account_id and role_name are required strings")
            assignment = Assignment(str(values[0]), str(values[1]), str(values[2]), optional_lifetime(data))
        except ConfigError as exc:
            return web.json_response({"message": str(exc)}, status=400)
        self.assignments.append(assignment)
        return web.json_response(assignment.to_json())

    async def admin_state(self, request: web.Request) -> web.Response:
        return web.json_response({"assignments": [a.to_json() for a in self.assignments],
                                  "issued": [i for i in self.issuer.snapshot() if i["operation"] == OPERATION],
                                  "faults": [f.to_json() for f in self.faults.queue]})

    def routes(self, admin_prefix: str) -> list[web.RouteDef]:
        return [
            web.post(f"{admin_prefix}/sso/assignments", self.admin_assignments),
            web.post(f"{admin_prefix}/sso/faults", self.faults.admin_add),
            web.get(f"{admin_prefix}/sso", self.admin_state),
            web.get(PATH, self.handle),
        ]

# SPDX-License-Identifier: Apache-2.0
"""A stand-in for the AWS IoT credentials provider: ``GET /role-aliases/<alias>/credentials`` on a
listener of its own (``--iot-port``) that requires a client certificate issued by the emulator's CA
(mutual TLS, as the real endpoint does), with the ``x-amzn-iot-thingname`` header naming the thing
the certificate was issued for. Answers ``{"credentials": {accessKeyId, secretAccessKey,
sessionToken, expiration}}`` (ISO 8601), issued like STS's so every emulated call accepts them until
they expire. Things (a certificate and key written into the state dir), role aliases (with an
optional short credential lifetime, to test refreshing) and faults come through the admin API
(``/_emulator/iot/...``); errors are the endpoint's ``{"message": ...}`` bodies."""

from __future__ import annotations

import datetime
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from . import tlsgen
from .issuer import DEFAULT_LIFETIME, FaultQueue, Issuer, admin_body, new_record, optional_lifetime
from .state import ConfigError, State

OPERATION = "AssumeRoleWithCertificate"  # the IAM action a role alias's policy allows
THING_HEADER = "x-amzn-iot-thingname"
ROLE_ALIAS_RE = re.compile(r"[\w=,@-]{1,128}")
THING_NAME_RE = re.compile(r"[a-zA-Z0-9:_-]{1,128}")
IOT_CODES = {
    "ForbiddenException": 403,
    "InvalidRequestException": 400,
    "ResourceNotFoundException": 404,
    "ThrottlingException": 429,
    "InternalFailureException": 500,
    "ServiceUnavailableException": 503,
}
DEFAULT_MESSAGES = {
    "ForbiddenException": "Access Denied",
    "InvalidRequestException": "Invalid thing name passed",
    "ResourceNotFoundException": "Role alias does not exist",
    "ThrottlingException": "Rate exceeded",
    "InternalFailureException": "Internal failure",
    "ServiceUnavailableException": "Service unavailable",
}


@dataclass
class Thing:
    thing_name: str
    cert_file: str
    key_file: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RoleAlias:
    alias: str
    lifetime_seconds: float | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def error_response(message: str, status: int) -> web.Response:
    return web.json_response({"message": message}, status=status)


def _iso8601(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _peer_common_name(request: web.Request) -> str | None:
    """The CN of the verified client certificate (the TLS layer already checked its issuer)."""
    cert = request.transport.get_extra_info("peercert") if request.transport is not None else None
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def server_context(files: tlsgen.TlsFiles) -> ssl.SSLContext:
    """The emulator's server certificate, and a client certificate from its CA required."""
    ctx = tlsgen.server_context(files)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=str(files.ca_cert))
    return ctx


class IotCredentialsProvider:
    def __init__(self, state: State, issuer: Issuer, state_dir: Path | None) -> None:
        self.state = state
        self.issuer = issuer
        self.state_dir = state_dir
        self.things: dict[str, Thing] = {}
        self.role_aliases: dict[str, RoleAlias] = {}
        # What it issued, for tests that check no output shows them (GET /_emulator/iot?secrets=1).
        self.issued_secrets: dict[str, dict[str, str | None]] = {}
        self.faults = FaultQueue((OPERATION,), IOT_CODES)
        state.reset_hooks.append(self.faults.queue.clear)

    # -- the endpoint (the --iot-port listener) ---------------------------------------------------
    async def handle(self, request: web.Request) -> web.Response:
        record = new_record(self.state, request, OPERATION)
        alias = request.match_info["alias"]
        thing_name = request.headers.get(THING_HEADER)
        common_name = _peer_common_name(request)
        record.params = {"role_alias": alias, "thing_name": thing_name, "certificate": common_name}
        record.verified = common_name is not None
        fault = self.faults.take(OPERATION)
        role = self.role_aliases.get(alias)
        if fault is not None:
            resp = error_response(fault.message or DEFAULT_MESSAGES[fault.code], self.faults.status_of(fault))
            record.error = fault.code
        elif common_name is None or common_name not in self.things:
            resp = error_response(DEFAULT_MESSAGES["ForbiddenException"], 403)
            record.error = "ForbiddenException"
        elif not thing_name or thing_name != common_name:
            # The thing must be attached to the certificate: here, the one it was issued for.
            resp = error_response(DEFAULT_MESSAGES["InvalidRequestException"], 400)
            record.error = "InvalidRequestException"
        elif role is None:
            resp = error_response(DEFAULT_MESSAGES["ResourceNotFoundException"], 404)
            record.error = "ResourceNotFoundException"
        else:
            cred = self.issuer.issue(operation=OPERATION, principal=f"{thing_name}/{alias}",
                                     lifetime=role.lifetime_seconds or DEFAULT_LIFETIME,
                                     request_id=record.request_id)
            assert cred.expiration is not None
            self.issued_secrets[cred.access_key_id] = {"secret_access_key": cred.secret_access_key,
                                                       "session_token": cred.session_token}
            resp = web.json_response({"credentials": {
                "accessKeyId": cred.access_key_id, "secretAccessKey": cred.secret_access_key,
                "sessionToken": cred.session_token, "expiration": _iso8601(cred.expiration)}})
        record.status = resp.status
        return resp

    # -- the admin API (on the main listener) -------------------------------------------------------
    async def admin_things(self, request: web.Request) -> web.Response:
        """POST /_emulator/iot/things {"thing_name"}: a device certificate and key from the emulator's CA."""
        try:
            data = await admin_body(request)
            unknown = set(data) - {"thing_name"}
            if unknown:
                raise ConfigError(f"unknown thing keys: {sorted(unknown)}")
            name = data.get("thing_name")
            if not isinstance(name, str) or not THING_NAME_RE.fullmatch(name):
                raise ConfigError("thing_name must be 1 to 128 characters of a-z, A-Z, 0-9 and :_-")
            if self.state_dir is None:
                raise ConfigError("the emulator runs without a state dir: no place for certificates")
            out_dir = self.state_dir / "iot"
            out_dir.mkdir(exist_ok=True)
            files = tlsgen.TlsFiles(self.state_dir / "ca.pem", self.state_dir / "ca.key",
                                    self.state_dir / "server.pem", self.state_dir / "server.key")
            safe = name.replace(":", "_")
            cert_file, key_file = out_dir / f"{safe}.cert.pem", out_dir / f"{safe}.private.key"
            tlsgen.client_certificate(files.ca_cert, files.ca_key, name, cert_file, key_file)
        except ConfigError as exc:
            return web.json_response({"message": str(exc)}, status=400)
        thing = Thing(name, str(cert_file.resolve()), str(key_file.resolve()))
        self.things[name] = thing
        return web.json_response(thing.to_json())

    async def admin_role_aliases(self, request: web.Request) -> web.Response:
        """POST /_emulator/iot/role-aliases {"role_alias", "lifetime_seconds"?}."""
        try:
            data = await admin_body(request)
            unknown = set(data) - {"role_alias", "lifetime_seconds"}
            if unknown:
                raise ConfigError(f"unknown role alias keys: {sorted(unknown)}")
            alias = data.get("role_alias")
            if not isinstance(alias, str) or not ROLE_ALIAS_RE.fullmatch(alias):
                raise ConfigError("role_alias must be 1 to 128 characters of \\w=,@-")
            role = RoleAlias(alias, optional_lifetime(data))
        except ConfigError as exc:
            return web.json_response({"message": str(exc)}, status=400)
        self.role_aliases[alias] = role
        return web.json_response(role.to_json())

    async def admin_state(self, request: web.Request) -> web.Response:
        """GET /_emulator/iot[?secrets=1]: with secrets=1 also each issued key's secret and token."""
        body: dict[str, Any] = {
            "endpoint": self.state.iot_endpoint,
            "things": [t.to_json() for t in self.things.values()],
            "role_aliases": [r.to_json() for r in self.role_aliases.values()],
            "issued": [i for i in self.issuer.snapshot() if i["operation"] == OPERATION],
            "faults": [f.to_json() for f in self.faults.queue],
        }
        if request.query.get("secrets") == "1":
            body["secrets"] = self.issued_secrets
        return web.json_response(body)

    def admin_routes(self, admin_prefix: str) -> list[web.RouteDef]:
        return [
            web.post(f"{admin_prefix}/iot/things", self.admin_things),
            web.post(f"{admin_prefix}/iot/role-aliases", self.admin_role_aliases),
            web.post(f"{admin_prefix}/iot/faults", self.faults.admin_add),
            web.get(f"{admin_prefix}/iot", self.admin_state),
        ]

    def endpoint_routes(self) -> list[web.RouteDef]:
        return [web.get("/role-aliases/{alias}/credentials", self.handle)]

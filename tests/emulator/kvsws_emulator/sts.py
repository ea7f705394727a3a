# SPDX-License-Identifier: Apache-2.0
"""A stand-in for AWS STS: ``AssumeRole`` (SigV4 for service ``sts``, checked by botocore's signer like
every other call) and ``AssumeRoleWithWebIdentity`` (unsigned, the token checked), over the AWS query
protocol (``POST /``, a form body, XML answers and ``<ErrorResponse>`` errors as STS writes them).

Roles are registered through the admin API (``POST /_emulator/sts/roles``): which principals may assume
them (access key ids, or the ARNs of roles whose credentials may chain on), the web identity token they
accept, the external id they require, and optionally how long issued credentials live (shorter than STS
allows, to test refreshing). Issued credentials are accepted on every emulated call until they expire.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from aiohttp import web

from .issuer import (
    DEFAULT_LIFETIME,
    FaultQueue,
    Issuer,
    admin_body,
    new_record,
    optional_lifetime,
    optional_str,
)
from .sigv4 import verify_header_auth
from .state import ConfigError, RequestRecord, State

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
VERSION = "2011-06-15"
OPERATIONS = ("AssumeRole", "AssumeRoleWithWebIdentity")
ROLE_ARN_RE = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}")
SESSION_NAME_RE = re.compile(r"[\w+=,.@-]{2,64}")
CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/")
# The codes STS sends for these calls (the models' and the common ones) and their HTTP statuses.
STS_CODES = {
    "AccessDenied": 403,
    "ExpiredTokenException": 400,
    "ExpiredToken": 403,
    "InvalidIdentityToken": 400,
    "IDPCommunicationError": 400,
    "IDPRejectedClaim": 403,
    "RegionDisabledException": 403,
    "MalformedPolicyDocument": 400,
    "PackedPolicyTooLarge": 400,
    "ValidationError": 400,
    "InvalidClientTokenId": 403,
    "SignatureDoesNotMatch": 403,
    "IncompleteSignature": 400,
    "MissingAuthenticationToken": 403,
    "Throttling": 400,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
}
DEFAULT_MESSAGES = {
    "ExpiredTokenException": "Token expired: current date/time 1700000000 must be before the expiration "
                             "date/time 1600000000",
    "InvalidIdentityToken": "Couldn't retrieve verification key from your identity provider,  please reference "
                            "AssumeRoleWithWebIdentity documentation for requirements",
    "IDPCommunicationError": "The IdP is not reachable.",
    "Throttling": "Rate exceeded",
    "InternalFailure": "An internal error occurred.",
    "ServiceUnavailable": "Service unavailable.",
}
# The SigV4 check's codes (the JSON services' names) as STS spells them.
AUTH_CODES = {
    "MissingAuthenticationTokenException": "MissingAuthenticationToken",
    "IncompleteSignatureException": "IncompleteSignature",
    "InvalidSignatureException": "SignatureDoesNotMatch",
    "UnrecognizedClientException": "InvalidClientTokenId",
    "ExpiredTokenException": "ExpiredToken",
}
BAD_WEB_IDENTITY_TOKEN = ("The web identity token that was passed could not be validated by AWS. Get a new "
                          "identity token from the identity provider and then retry the request.")


@dataclass
class Role:
    arn: str
    trusted: list[str] | None  # access key ids or role ARNs that may assume it; None: any valid key
    web_identity_token: str | None  # what AssumeRoleWithWebIdentity must present; None: not allowed
    external_id: str | None
    lifetime_seconds: float | None  # overrides DurationSeconds, for short-lived test credentials

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class StsError(Exception):
    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message
        self.status = status or STS_CODES.get(code, 400)


def _x(value: str) -> str:
    return escape(value, {'"': "&quot;", "'": "&apos;"})


def error_response(err: StsError, request_id: str) -> web.Response:
    kind = "Receiver" if err.status >= 500 else "Sender"
    body = (f'<ErrorResponse xmlns="{NAMESPACE}">\n  <Error>\n    <Type>{kind}</Type>\n'
            f"    <Code>{_x(err.code)}</Code>\n    <Message>{_x(err.message)}</Message>\n  </Error>\n"
            f"  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n")
    return web.Response(status=err.status, text=body, content_type="text/xml")


def success_response(action: str, result: str, request_id: str) -> web.Response:
    body = (f'<{action}Response xmlns="{NAMESPACE}">\n  <{action}Result>\n{result}  </{action}Result>\n'
            f"  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n"
            f"</{action}Response>\n")
    return web.Response(status=200, text=body, content_type="text/xml")


def _validation(value: str, member: str, constraint: str) -> StsError:
    return StsError("ValidationError",
                    f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
                    f"{constraint}")


class StsService:
    def __init__(self, state: State, issuer: Issuer,
                 fallback: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> None:
        self.state = state
        self.issuer = issuer
        self.fallback = fallback  # what POST / is when it is not an STS call
        self.roles: dict[str, Role] = {}
        self.faults = FaultQueue(OPERATIONS, STS_CODES)
        state.reset_hooks.append(self.faults.queue.clear)

    # -- the API --------------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        content_type = request.headers.get("Content-Type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return await self.fallback(request)
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            return await self.fallback(request)
        action = form.get("Action", "")
        if action not in OPERATIONS:
            return await self.fallback(request)
        record = new_record(self.state, request, action)
        record.params = form
        request_id: str = request["request_id"]
        try:
            if form.get("Version") != VERSION:
                raise StsError("InvalidAction", f"Could not find operation {action} for version "
                                                f"{form.get('Version')}", 400)
            if action == "AssumeRole":
                result = self._assume_role(request, body, form, record)
            else:
                result = self._assume_role_with_web_identity(request, form, record)
            resp = success_response(action, result, request_id)
        except StsError as err:
            record.error = err.code
            resp = error_response(err, request_id)
        record.status = resp.status
        return resp

    def _take_fault(self, action: str) -> None:
        fault = self.faults.take(action)
        if fault is not None:
            raise StsError(fault.code, fault.message or DEFAULT_MESSAGES.get(fault.code, f"{fault.code} injected "
                                                                                        "by the kvsws emulator."),
                           self.faults.status_of(fault))

    def _check_common(self, form: dict[str, str]) -> tuple[Role | None, str, int]:
        arn = form.get("RoleArn", "")
        if not 20 <= len(arn) <= 2048:
            raise _validation(arn, "roleArn", "Member must have length greater than or equal to 20")
        session = form.get("RoleSessionName", "")
        if not SESSION_NAME_RE.fullmatch(session):
            raise _validation(session, "roleSessionName",
                              r"Member must satisfy regular expression pattern: [\w+=,.@-]*")
        duration = DEFAULT_LIFETIME
        if "DurationSeconds" in form:
            raw = form["DurationSeconds"]
            if not raw.isdigit() or not 900 <= int(raw) <= 43200:
                raise _validation(raw, "durationSeconds", "Member must have value greater than or equal to 900")
            duration = int(raw)
        return self.roles.get(arn), session, duration

    def _credentials_xml(self, role_arn: str, session: str, access_key_id: str, secret: str, token: str,
                         expiration: float) -> str:
        account = role_arn.split(":")[4]
        name = role_arn.rsplit("/", 1)[-1]
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expiration))
        return (f"    <AssumedRoleUser>\n      <Arn>arn:aws:sts::{account}:assumed-role/{_x(name)}/{_x(session)}"
                f"</Arn>\n      <AssumedRoleId>AROAEMULATOR{len(name):04d}:{_x(session)}</AssumedRoleId>\n"
                f"    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{access_key_id}</AccessKeyId>\n"
                f"      <SecretAccessKey>{_x(secret)}</SecretAccessKey>\n"
                f"      <SessionToken>{_x(token)}</SessionToken>\n      <Expiration>{expires}</Expiration>\n"
                f"    </Credentials>\n")

    def _assume_role(self, request: web.Request, body: bytes, form: dict[str, str], record: RequestRecord) -> str:
        host = request.headers.get("Host") or f"{self.state.endpoint_host}:{self.state.port}"
        auth = verify_header_auth(self.state, request.method, host, request.raw_path, list(request.headers.items()),
                                  body, service="sts")
        record.verified = auth.verified
        record.auth_error = auth.error.code if auth.error else None
        record.region, record.service, record.access_key_id = auth.region, auth.service, auth.access_key_id
        record.signed_headers = auth.signed_headers
        record.canonical_request, record.string_to_sign = auth.canonical_request, auth.string_to_sign
        if auth.error is not None:
            raise StsError(AUTH_CODES.get(auth.error.code, auth.error.code), auth.error.message)
        self._take_fault("AssumeRole")
        role, session, duration = self._check_common(form)
        caller = auth.access_key_id or ""
        source = self.issuer.by_key.get(caller)
        caller_arn = (f"arn:aws:sts::{self.state.account_id}:assumed-role/{source.principal.rsplit('/', 1)[-1]}/"
                      f"{source.session_name}" if source is not None
                      else f"arn:aws:iam::{self.state.account_id}:user/kvsws-emulator")
        denied = StsError("AccessDenied", f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on "
                                          f"resource: {form.get('RoleArn', '')}")
        if role is None:
            raise denied
        if role.trusted is not None and caller not in role.trusted and (
                source is None or source.principal not in role.trusted):
            raise denied
        if role.external_id is not None and form.get("ExternalId") != role.external_id:
            raise denied
        lifetime = role.lifetime_seconds or duration
        cred = self.issuer.issue(operation="AssumeRole", principal=role.arn, lifetime=lifetime,
                                 request_id=record.request_id, session_name=session, source=caller)
        assert cred.session_token is not None and cred.expiration is not None
        return self._credentials_xml(role.arn, session, cred.access_key_id, cred.secret_access_key,
                                     cred.session_token, cred.expiration)

    def _assume_role_with_web_identity(self, request: web.Request, form: dict[str, str], record: RequestRecord) -> str:
        # Unsigned: nothing to verify but the token. A signature, if any, is recorded, not required.
        signed = CREDENTIAL_RE.search(request.headers.get("Authorization", ""))
        record.access_key_id = signed.group(1) if signed else None
        record.verified = True
        self._take_fault("AssumeRoleWithWebIdentity")
        role, session, duration = self._check_common(form)
        token = form.get("WebIdentityToken", "")
        if not 4 <= len(token) <= 20000:
            raise _validation("***", "webIdentityToken", "Member must have length greater than or equal to 4")
        if role is None:
            raise StsError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
        if role.web_identity_token is None or token != role.web_identity_token:
            raise StsError("InvalidIdentityToken", BAD_WEB_IDENTITY_TOKEN)
        cred = self.issuer.issue(operation="AssumeRoleWithWebIdentity", principal=role.arn,
                                 lifetime=role.lifetime_seconds or duration, request_id=record.request_id,
                                 session_name=session)
        assert cred.session_token is not None and cred.expiration is not None
        return ("    <SubjectFromWebIdentityToken>system:serviceaccount:default:kvsws</SubjectFromWebIdentityToken>\n"
                "    <Audience>sts.amazonaws.com</Audience>\n"
                + self._credentials_xml(role.arn, session, cred.access_key_id, cred.secret_access_key,
                                        cred.session_token, cred.expiration)
                + f"    <Provider>arn:aws:iam::{self.state.account_id}:oidc-provider/oidc.kvsws-emulator.local"
                  "</Provider>\n")

    # -- the admin API --------------------------------------------------------------------------------
    async def admin_roles(self, request: web.Request) -> web.Response:
        """POST /_emulator/sts/roles {"role_arn", "trusted"?, "web_identity_token"?, "external_id"?,
        "lifetime_seconds"?}: registers (or replaces) a role."""
        try:
            data = await admin_body(request)
            unknown = set(data) - {"role_arn", "trusted", "web_identity_token", "external_id", "lifetime_seconds"}
            if unknown:
                raise ConfigError(f"unknown role keys: {sorted(unknown)}")
            arn = data.get("role_arn")
            if not isinstance(arn, str) or not ROLE_ARN_RE.fullmatch(arn):
                raise ConfigError("role_arn must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
            trusted = data.get("trusted")
            if trusted is not None and (not isinstance(trusted, list) or not all(isinstance(t, str) for t in trusted)):
                raise ConfigError("trusted must be a list of access key ids and role ARNs, or null (any key)")
            role = Role(arn, trusted, optional_str(data, "web_identity_token"), optional_str(data, "external_id"),
                        optional_lifetime(data))
        except ConfigError as exc:
            return web.json_response({"message": str(exc)}, status=400)
        self.roles[arn] = role
        return web.json_response(role.to_json())

    async def admin_state(self, request: web.Request) -> web.Response:
        return web.json_response({"roles": [r.to_json() for r in self.roles.values()],
                                  "issued": self.issuer.snapshot(),
                                  "faults": [f.to_json() for f in self.faults.queue]})

    def routes(self, admin_prefix: str) -> list[web.RouteDef]:
        return [
            web.post(f"{admin_prefix}/sts/roles", self.admin_roles),
            web.post(f"{admin_prefix}/sts/faults", self.faults.admin_add),
            web.get(f"{admin_prefix}/sts", self.admin_state),
            web.post("/", self.handle),
        ]

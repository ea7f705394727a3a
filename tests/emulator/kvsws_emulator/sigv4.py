# SPDX-License-Identifier: Apache-2.0
"""SigV4 verification (header mode and presigned URLs) with botocore's own signer.

The emulator must not share code with the signer it tests (core/src/sigv4.c), so it rebuilds the
request as a ``botocore.awsrequest.AWSRequest`` and lets ``botocore.auth.SigV4Auth`` compute the
canonical request, the string to sign and the signature; the only thing changed is which headers go
into the canonical request (see ``ExactSignedHeadersSigV4``). Error codes and messages follow what
AWS sends for each failure.

Presigned URLs (the signaling WebSocket) are checked the way ``botocore.auth.SigV4QueryAuth`` builds
them: the canonical query is every query parameter except ``X-Amz-Signature`` (percent-decoded, then
re-encoded and sorted by botocore), the payload hash is SHA-256 of the empty body.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from .errors import ApiError
from .state import Credential, State

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "kinesisvideo"
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
MAX_SKEW_SECONDS = 300
TOKEN_INVALID = "The security token included in the request is invalid."
TOKEN_EXPIRED = "The security token included in the request is expired"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)


class ExactSignedHeadersSigV4(SigV4Auth):  # type: ignore[misc,unused-ignore]  # botocore is untyped
    """botocore's SigV4Auth, told exactly which headers the client signed.

    ``SigV4Auth.headers_to_sign()`` is written for a *signer*: it takes every header of the request
    except a blacklist (``user-agent``, ``expect``, ``x-amzn-trace-id``, ...) and adds ``host`` from
    the URL when it is missing. A *verifier* must instead rebuild the canonical request from exactly
    the client's ``SignedHeaders`` list: clients may legitimately sign ``user-agent`` (the KVS WebRTC
    C SDK does) and must not be charged for headers they did not sign (proxies add some). Everything
    else — canonical URI, query string, header value trimming, payload hash, string to sign, key
    derivation — stays botocore's.
    """

    def __init__(
        self, credentials: Credentials, service_name: str, region_name: str, signed_headers: Sequence[str]
    ) -> None:
        super().__init__(credentials, service_name, region_name)
        self._signed_header_names = list(signed_headers)

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        header_map = HTTPHeaders()
        for name in self._signed_header_names:
            for value in request.headers.get_all(name) or []:
                header_map[name] = value  # HTTPHeaders appends: repeated headers are kept in order
        return header_map


@dataclass
class AuthResult:
    access_key_id: str | None = None
    region: str | None = None
    service: str | None = None
    signed_headers: list[str] = field(default_factory=list)
    error: ApiError | None = None
    canonical_request: str | None = None
    string_to_sign: str | None = None

    @property
    def verified(self) -> bool:
        return self.error is None


def format_amz_date(ts: float) -> str:
    return time.strftime(SIGV4_TIMESTAMP, time.gmtime(ts))


def parse_amz_date(value: str) -> float | None:
    try:
        return float(calendar.timegm(time.strptime(value, SIGV4_TIMESTAMP)))
    except ValueError:
        return None


def expired_message(amz_date: str, now: float) -> str:
    """AWS's wording for a request dated more than 5 minutes before the server's clock."""
    return (
        f"Signature expired: {amz_date} is now earlier than {format_amz_date(now - MAX_SKEW_SECONDS)} "
        f"({format_amz_date(now)} - 5 min.)"
    )


def not_yet_current_message(amz_date: str, now: float) -> str:
    return (
        f"Signature not yet current: {amz_date} is still later than {format_amz_date(now + MAX_SKEW_SECONDS)} "
        f"({format_amz_date(now)} + 5 min.)"
    )


def _get(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


# -- what both modes check ------------------------------------------------------------------------

def _check_scope(state: State, result: AuthResult, credential: str, signed_headers: str, token: str | None,
                 amz_date: str, expected_service: str = SERVICE) -> Credential | ApiError:
    """The credential scope, the key and its session token, the signed headers: the same checks, in
    the same order, for the Authorization header and for a presigned URL. Fills in ``result``'s key,
    region, service and signed headers; returns the key's credential, or the error to answer with."""
    scope = credential.split("/")
    if len(scope) != 5:
        return ApiError(
            "IncompleteSignatureException",
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
            f"got '{credential}'",
        )
    access_key_id, scope_date, region, service, terminator = scope
    result.access_key_id, result.region, result.service = access_key_id, region, service
    result.signed_headers = [h for h in signed_headers.lower().split(";") if h]

    cred = state.credentials.get(access_key_id)
    if cred is None:
        return ApiError("UnrecognizedClientException", TOKEN_INVALID)
    if cred.session_token is not None:
        if token is None or not hmac.compare_digest(token.encode(), cred.session_token.encode()):
            return ApiError("UnrecognizedClientException", TOKEN_INVALID)
    elif token is not None:
        return ApiError("UnrecognizedClientException", TOKEN_INVALID)
    if cred.expiration is not None and state.now() >= cred.expiration:
        return ApiError("ExpiredTokenException", TOKEN_EXPIRED)

    if terminator != "aws4_request":
        return ApiError(
            "InvalidSignatureException",
            f"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. ",
        )
    if scope_date != amz_date[:8]:
        return ApiError(
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope_date}' != '{amz_date[:8]}', from '{amz_date}'.",
        )
    if service != expected_service:
        return ApiError("InvalidSignatureException",
                        f"Credential should be scoped to correct service: '{expected_service}'. ")
    if state.allowed_regions is not None and region not in state.allowed_regions:
        return ApiError("InvalidSignatureException", f"Credential should be scoped to a valid region, not '{region}'. ")
    if "host" not in result.signed_headers:
        return ApiError(
            "InvalidSignatureException",
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        )
    return cred


def _signed_headers(headers: Sequence[tuple[str, str]], names: Sequence[str]) -> HTTPHeaders:
    """The request's headers named in ``names`` (lower-cased, repeats kept in order)."""
    wanted = set(names)
    out = HTTPHeaders()
    for k, v in headers:
        if k.lower() in wanted:
            out[k.lower()] = v
    return out


def _check_signature(result: AuthResult, request: AWSRequest, amz_date: str, cred: Credential,
                     signature: str) -> AuthResult:
    """botocore's signature of ``request`` against the client's; on a mismatch, ``result`` keeps the
    canonical request and string to sign the emulator computed."""
    request.context["timestamp"] = amz_date
    assert result.access_key_id is not None and result.service is not None and result.region is not None
    signer = ExactSignedHeadersSigV4(
        Credentials(result.access_key_id, cred.secret_access_key, cred.session_token), result.service,
        result.region, result.signed_headers,
    )
    canonical_request = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical_request)
    expected = signer.signature(string_to_sign, request)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        result.canonical_request = canonical_request
        result.string_to_sign = string_to_sign
        result.error = ApiError("InvalidSignatureException", SIGNATURE_MISMATCH)
    return result


def verify_header_auth(
    state: State,
    method: str,
    host: str,
    raw_path: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    service: str = SERVICE,
) -> AuthResult:
    """Check the Authorization header of one request. ``raw_path`` is the path and query as sent;
    ``service`` is the one the credential scope must name (``sts`` for the STS stand-in)."""
    result = AuthResult()

    def fail(code: str, message: str) -> AuthResult:
        result.error = ApiError(code, message)
        return result

    authorization = _get(headers, "authorization")
    if authorization is None:
        return fail("MissingAuthenticationTokenException", "Missing Authentication Token")

    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        return fail("IncompleteSignatureException", f"Unsupported AWS 'algorithm': '{algorithm}'")
    parts: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts[key] = value
    missing = [
        f"Authorization header requires '{p}' parameter."
        for p in ("Credential", "Signature", "SignedHeaders")
        if not parts.get(p)
    ]
    amz_date = _get(headers, "x-amz-date")
    if amz_date is None:
        date_header = _get(headers, "date")
        if date_header is not None:
            try:
                amz_date = format_amz_date(parsedate_to_datetime(date_header).timestamp())
            except (TypeError, ValueError):
                amz_date = None
        if amz_date is None:
            missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if missing:
        return fail("IncompleteSignatureException", " ".join(missing) + f" Authorization={authorization}")
    assert amz_date is not None
    request_time = parse_amz_date(amz_date)
    if request_time is None:
        return fail(
            "IncompleteSignatureException",
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601",
        )

    cred = _check_scope(state, result, parts["Credential"], parts["SignedHeaders"],
                        _get(headers, "x-amz-security-token"), amz_date, service)
    if isinstance(cred, ApiError):
        result.error = cred
        return result

    now = state.now()
    if request_time < now - MAX_SKEW_SECONDS:
        return fail("InvalidSignatureException", expired_message(amz_date, now))
    if request_time > now + MAX_SKEW_SECONDS:
        return fail("InvalidSignatureException", not_yet_current_message(amz_date, now))

    content_sha = _get(headers, "x-amz-content-sha256")
    if content_sha is not None and not hmac.compare_digest(
        content_sha.lower().encode(), hashlib.sha256(body).hexdigest().encode()
    ):
        return fail(
            "InvalidSignatureException",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )

    request = AWSRequest(method=method, url=f"https://{host}{raw_path}", data=body)
    request.headers = _signed_headers(headers, result.signed_headers)
    return _check_signature(result, request, amz_date, cred, parts["Signature"])


# -- presigned URLs (query mode) ------------------------------------------------------------------

MAX_PRESIGN_EXPIRES = 604800  # seven days, as for every SigV4 presigned URL
_QUERY_AUTH_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")


def parse_raw_query(raw_query: str) -> list[tuple[str, str]]:
    """``a=1&b=%2F`` -> [("a", "1"), ("b", "/")]: percent-decoded, ``+`` kept literal, order and
    duplicates kept (botocore re-encodes and sorts them for the canonical query)."""
    pairs: list[tuple[str, str]] = []
    for item in raw_query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return pairs


def presigned_expired_message(amz_date: str, expires: int, now: float) -> str:
    """Not observed from AWS: modelled on the header-mode wording."""
    return (
        f"Signature expired: {amz_date} is now earlier than {format_amz_date(now - expires)} "
        f"({format_amz_date(now)} - {expires} sec.)"
    )


def verify_presigned_url(
    state: State,
    method: str,
    host: str,
    path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]] = (),
) -> AuthResult:
    """Check a SigV4 presigned URL (``X-Amz-Signature`` in the query), as the signaling WebSocket
    endpoint does before it upgrades the connection. ``raw_query`` is the query as sent."""
    result = AuthResult()

    def fail(code: str, message: str) -> AuthResult:
        result.error = ApiError(code, message)
        return result

    pairs = parse_raw_query(raw_query)
    first: dict[str, str] = {}
    for k, v in pairs:
        first.setdefault(k, v)
    if not any(k in first for k in _QUERY_AUTH_PARAMS):
        return fail("MissingAuthenticationTokenException", "Missing Authentication Token")
    missing = [p for p in _QUERY_AUTH_PARAMS if not first.get(p)]
    if missing:
        return fail(
            "IncompleteSignatureException",
            "AWS query-string parameters must include " + ", ".join(f"'{p}'" for p in _QUERY_AUTH_PARAMS)
            + ". Re-examine the query-string parameters.",
        )
    duplicated = sorted({k for k, _ in pairs if k.startswith("X-Amz-") and sum(1 for x, _ in pairs if x == k) > 1})
    if duplicated:
        return fail("IncompleteSignatureException", f"Query-string parameters repeated: {', '.join(duplicated)}.")
    if first["X-Amz-Algorithm"] != ALGORITHM:
        return fail("IncompleteSignatureException", f"Unsupported AWS 'algorithm': '{first['X-Amz-Algorithm']}'")
    amz_date = first["X-Amz-Date"]
    request_time = parse_amz_date(amz_date)
    if request_time is None:
        return fail(
            "IncompleteSignatureException",
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601",
        )
    expires: int | None = None
    if "X-Amz-Expires" in first:
        raw_expires = first["X-Amz-Expires"]
        if not raw_expires.isdigit():
            return fail("IncompleteSignatureException", "X-Amz-Expires should be a number")
        expires = int(raw_expires)
        if expires > MAX_PRESIGN_EXPIRES:
            return fail(
                "IncompleteSignatureException",
                f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGN_EXPIRES}",
            )

    cred = _check_scope(state, result, first["X-Amz-Credential"], first["X-Amz-SignedHeaders"],
                        first.get("X-Amz-Security-Token"), amz_date)
    if isinstance(cred, ApiError):
        result.error = cred
        return result

    now = state.now()
    if request_time > now + MAX_SKEW_SECONDS:
        return fail("InvalidSignatureException", not_yet_current_message(amz_date, now))
    if expires is None:
        if request_time < now - MAX_SKEW_SECONDS:
            return fail("InvalidSignatureException", expired_message(amz_date, now))
    elif request_time + expires < now:
        return fail("InvalidSignatureException", presigned_expired_message(amz_date, expires, now))

    request = AWSRequest(method=method, url=f"https://{host}{path}", data=b"")
    request.params = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
    request.headers = _signed_headers(headers, [h for h in result.signed_headers if h != "host"])
    request.headers["host"] = host
    return _check_signature(result, request, amz_date, cred, first["X-Amz-Signature"].lower())

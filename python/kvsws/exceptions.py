# SPDX-License-Identifier: Apache-2.0
"""Exceptions, named and shaped as botocore's.

Two families, as in botocore:

- :class:`ClientError`: AWS answered with an error. One subclass per error the operations model
  (``ResourceNotFoundException``, ...) and per common front-door error (``ThrottlingException``,
  ...); any other code raises a plain ``ClientError``. ``e.response["Error"]["Code"]``,
  ``["Error"]["Message"]``, ``["ResponseMetadata"]["RequestId"]`` and ``["HTTPStatusCode"]``
  are there as in boto3, and ``str(e)`` is the AWS CLI's line.
- :class:`KvswsError` (botocore's ``BotoCoreError``): raised on this side, before or without an
  answer from AWS: ``ParamValidationError``, ``NoCredentialsError``, ``NoRegionError``,
  ``EndpointConnectionError``, ``ConnectTimeoutError``, ``ReadTimeoutError``, ``SSLError``, ...,
  and ``StorageNotEnabledError`` (a storage session found the channel's media storage disabled).

The class is chosen from the stable status number and the AWS error code the C core reports,
never from the text of a message.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see kvsws.client)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, ClassVar

__all__ = [
    "AccessDeniedException",
    "CallCancelledError",
    "ClientClosedError",
    "ClientError",
    "ClientLimitExceededException",
    "ConnectTimeoutError",
    "ConnectionError",
    "CredentialRetrievalError",
    "EndpointConnectionError",
    "ExpiredTokenException",
    "HTTPClientError",
    "IncompleteSignatureException",
    "InternalError",
    "InternalFailure",
    "InvalidArgumentException",
    "InvalidClientException",
    "InvalidConfigError",
    "InvalidSignatureException",
    "KvswsError",
    "MissingAuthenticationTokenException",
    "NoCredentialsError",
    "NoRegionError",
    "NotAuthorizedException",
    "ParamValidationError",
    "ReadTimeoutError",
    "ResourceInUseException",
    "ResourceNotFoundException",
    "ResponseParserError",
    "SSLError",
    "SerializationException",
    "ServiceUnavailableException",
    "SessionClosedError",
    "SessionExpiredException",
    "StorageNotEnabledError",
    "ThrottlingException",
    "UnknownOperationException",
    "UnrecognizedClientException",
    "from_code",
]


# --- raised on this side -----------------------------------------------------------------------


class KvswsError(Exception):
    """An error raised on this side, before or without an answer from AWS (botocore's
    ``BotoCoreError``). ``str(e)`` is the message; the other attributes come from the core."""

    #: The core's stable status number (``kvsws.h``: 1..99 local, 100..199 transport).
    default_status: ClassVar[int] = 7
    #: botocore's name for the error.
    default_code: ClassVar[str] = "InternalError"

    def __init__(self, message: str = "", *, status: int | None = None, code: str | None = None,
                 operation_name: str | None = None, request_id: str | None = None,
                 http_status: int | None = None, retryable: bool = False, attempts: int = 0) -> None:
        super().__init__(message)
        self.message: str = message
        self.status: int = self.default_status if status is None else status
        self.code: str = code or self.default_code
        self.operation_name: str | None = operation_name
        self.request_id: str | None = request_id
        self.http_status: int | None = http_status
        self.retryable: bool = retryable
        self.attempts: int = attempts

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_kvsws_error, (type(self), self.message, dict(self.__dict__)))


def _rebuild_kvsws_error(cls: type[KvswsError], message: str, state: dict[str, Any]) -> KvswsError:
    exc = cls(message)
    exc.__dict__.update(state)
    return exc


class ParamValidationError(KvswsError):
    """Bad input, found before any network I/O; the message names the parameter and the rule."""

    default_status = 1
    default_code = "ParamValidationError"


class NoCredentialsError(KvswsError):
    """No credentials were found; the message says where kvsws looked."""

    default_status = 2
    default_code = "NoCredentialsError"


class NoRegionError(KvswsError):
    """No region was given or found; the message says where kvsws looked."""

    default_status = 3
    default_code = "NoRegionError"


class CredentialRetrievalError(KvswsError):
    """A credential source was found but failed (credential_process, a shared file)."""

    default_status = 5
    default_code = "CredentialRetrievalError"


class CallCancelledError(KvswsError):
    """The call was cancelled: the client was closed while it ran."""

    default_status = 6
    default_code = "Cancelled"


class InternalError(KvswsError):
    """A bug in kvsws: please report it."""

    default_status = 7
    default_code = "InternalError"


class InvalidConfigError(KvswsError):
    """A bad client option (a timeout, a retry setting, AWS_MAX_ATTEMPTS, ...)."""

    default_status = 8
    default_code = "InvalidConfigError"


class ClientClosedError(KvswsError):
    """The client was closed: create a new one."""

    default_status = 7
    default_code = "ClientClosedError"


class SessionClosedError(KvswsError):
    """The storage session was closed: start a new one."""

    default_status = 7
    default_code = "SessionClosedError"


class HTTPClientError(KvswsError):
    """A transport failure other than those below (connection reset, ...)."""

    default_status = 105
    default_code = "HTTPClientError"


class ConnectionError(KvswsError):  # botocore's name (shadows the builtin), on purpose
    """Could not establish a connection (base of the connection errors, as in botocore)."""

    default_status = 100
    default_code = "ConnectionError"


class EndpointConnectionError(ConnectionError):
    """Could not connect to the endpoint (DNS, refused, proxy)."""

    default_status = 100
    default_code = "EndpointConnectionError"


class ConnectTimeoutError(ConnectionError):
    """Connecting took longer than the connect timeout."""

    default_status = 101
    default_code = "ConnectTimeoutError"


class SSLError(ConnectionError):
    """The TLS handshake or the certificate check failed (TLS is always verified)."""

    default_status = 103
    default_code = "SSLError"


class ReadTimeoutError(HTTPClientError):
    """No bytes came back for longer than the read timeout."""

    default_status = 102
    default_code = "ReadTimeoutError"


class ResponseParserError(KvswsError):
    """A 2xx answer whose body is not what the operation returns."""

    default_status = 104
    default_code = "ResponseParserError"


class StorageNotEnabledError(KvswsError):
    """A master's storage session found the channel's media storage not ``ENABLED``
    (DescribeMediaStorageConfiguration, its ``operation_name``): final, nothing was joined. Enable
    it with UpdateMediaStorageConfiguration (``StreamARN`` and ``Status="ENABLED"``)."""

    default_status = 300
    default_code = "StorageNotEnabledError"


# --- AWS answered with an error ----------------------------------------------------------------


class ClientError(Exception):
    """AWS answered with an error, as botocore's ``ClientError``.

    ``response`` holds ``{"Error": {"Code", "Message"}, "ResponseMetadata": {"RequestId",
    "HTTPStatusCode", "HTTPHeaders", "RetryAttempts"}}``; ``HTTPHeaders`` holds the error answer's
    headers with lower-case names, as botocore's (``x-amzn-requestid``, ``content-type``, ``date``,
    ...; empty for an error raised by a storage session's event). ``retryable`` says whether a
    retry makes sense; ``attempts`` counts the requests sent, retries included.
    """

    MSG_TEMPLATE: ClassVar[str] = ("An error occurred ({error_code}) when calling the {operation_name} "
                                   "operation: {error_message}")
    #: The core's stable status number (``kvsws.h``: 200..299).
    default_status: ClassVar[int] = 299

    def __init__(self, error_response: Mapping[str, Any], operation_name: str) -> None:
        error = error_response.get("Error", {})
        super().__init__(self.MSG_TEMPLATE.format(error_code=error.get("Code", "Unknown"),
                                                  operation_name=operation_name,
                                                  error_message=error.get("Message", "Unknown")))
        self.response: dict[str, Any] = dict(error_response)
        self.operation_name: str = operation_name
        self.status: int = self.default_status
        self.retryable: bool = False
        attempts = self.response.get("ResponseMetadata", {}).get("RetryAttempts")
        self.attempts: int = attempts + 1 if isinstance(attempts, int) else 1

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_client_error, (type(self), self.response, self.operation_name, dict(self.__dict__)))


def _rebuild_client_error(cls: type[ClientError], response: Mapping[str, Any], operation_name: str,
                          state: dict[str, Any]) -> ClientError:
    exc = cls(response, operation_name)
    exc.__dict__.update(state)
    return exc


# Modelled by the operations (kinesis-video-webrtc-storage, kinesisvideo, kinesis-video-signaling).
class AccessDeniedException(ClientError):
    """No permission for the call (403 on the storage calls, 401 on the control plane)."""

    default_status = 200


class ClientLimitExceededException(ClientError):
    """Too many calls per second (retryable), or too many viewers on the channel (not)."""

    default_status = 201


class InvalidArgumentException(ClientError):
    """The service refused a value (also: WEBRTC asked for on a channel without media storage)."""

    default_status = 202


class ResourceNotFoundException(ClientError):
    """No such channel (in this account and region)."""

    default_status = 203


class ResourceInUseException(ClientError):
    """The channel is in use or being changed."""

    default_status = 204


class NotAuthorizedException(ClientError):
    """The caller is not authorized for the call."""

    default_status = 205


class InvalidClientException(ClientError):
    """GetIceServerConfig: the client id is not valid."""

    default_status = 206


class SessionExpiredException(ClientError):
    """GetIceServerConfig: the client's session expired."""

    default_status = 207


# Front-door errors any AWS service may send (authentication, throttling, availability).
class ThrottlingException(ClientError):
    """Rate exceeded; retried by kvsws (standard retry mode) before it reaches you."""

    default_status = 230


class InvalidSignatureException(ClientError):
    """The request signature does not match (a wrong secret, or a clock far off)."""

    default_status = 231


class UnrecognizedClientException(ClientError):
    """The access key, or its session token, is not valid."""

    default_status = 232


class ExpiredTokenException(ClientError):
    """The session token has expired."""

    default_status = 233


class MissingAuthenticationTokenException(ClientError):
    """The request was not signed."""

    default_status = 234


class IncompleteSignatureException(ClientError):
    """The request signature is missing parts."""

    default_status = 234


class InternalFailure(ClientError):
    """The service failed (5xx); retried by kvsws before it reaches you."""

    default_status = 235


class ServiceUnavailableException(ClientError):
    """The service is unavailable (503); retried by kvsws before it reaches you."""

    default_status = 236


class SerializationException(ClientError):
    """The service could not read the request body."""

    default_status = 299


class UnknownOperationException(ClientError):
    """The endpoint does not know the operation (a wrong endpoint URL?)."""

    default_status = 299


# Statuses 200..207 stand for exactly one AWS error name each (matched case-insensitively by the
# core, so "AccessDenied" lands here too); the other service errors go by their exact code.
_SERVICE_BY_STATUS: Mapping[int, type[ClientError]] = {
    cls.default_status: cls
    for cls in (AccessDeniedException, ClientLimitExceededException, InvalidArgumentException,
                ResourceNotFoundException, ResourceInUseException, NotAuthorizedException,
                InvalidClientException, SessionExpiredException)
}
_SERVICE_BY_CODE: Mapping[str, type[ClientError]] = {
    cls.__name__: cls
    for cls in (*_SERVICE_BY_STATUS.values(), ThrottlingException, InvalidSignatureException,
                UnrecognizedClientException, ExpiredTokenException, MissingAuthenticationTokenException,
                IncompleteSignatureException, InternalFailure, ServiceUnavailableException,
                SerializationException, UnknownOperationException)
}
_LOCAL_BY_STATUS: Mapping[int, type[KvswsError]] = {
    cls.default_status: cls
    for cls in (ParamValidationError, NoCredentialsError, NoRegionError, CredentialRetrievalError,
                CallCancelledError, InternalError, InvalidConfigError, EndpointConnectionError,
                ConnectTimeoutError, ReadTimeoutError, SSLError, ResponseParserError, HTTPClientError,
                StorageNotEnabledError)
}


def from_code(code: str) -> type[ClientError]:
    """The exception class for an AWS error code (``ClientError`` for a code without one), like
    boto3's ``client.exceptions.from_code``."""
    return _SERVICE_BY_CODE.get(code, ClientError)


def _headers(args: tuple[Any, ...]) -> dict[str, str]:
    """The answer's headers as botocore keeps them (lower-case names): the core's dict."""
    headers = args[10] if len(args) > 10 else None
    return headers if isinstance(headers, dict) else {}


def _from_core(args: tuple[Any, ...]) -> Exception:
    """The exception for a failed call, from ``kvsws._core.CoreError.args``."""
    (status, _status_name, code, message, operation, request_id, http_status, retryable, attempts,
     _describe) = args[:10]
    if 200 <= status < 300:
        response = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": http_status,
                                 "HTTPHeaders": _headers(args),
                                 "RetryAttempts": max(attempts - 1, 0)},
        }
        cls = _SERVICE_BY_STATUS.get(status) or _SERVICE_BY_CODE.get(code, ClientError)
        exc = cls(response, operation)
        exc.status, exc.retryable, exc.attempts = status, bool(retryable), attempts
        return exc
    if status == 4:
        return MemoryError(message)
    local = _LOCAL_BY_STATUS.get(status, KvswsError)
    return local(message, status=status, code=code or None, operation_name=operation or None,
                 request_id=request_id or None, http_status=http_status or None, retryable=bool(retryable),
                 attempts=attempts)


class ClientExceptions:
    """``client.exceptions``: the exception classes by name, as boto3 has them on a client."""

    ClientError = ClientError
    AccessDeniedException = AccessDeniedException
    ClientLimitExceededException = ClientLimitExceededException
    InvalidArgumentException = InvalidArgumentException
    ResourceNotFoundException = ResourceNotFoundException
    ResourceInUseException = ResourceInUseException
    NotAuthorizedException = NotAuthorizedException
    InvalidClientException = InvalidClientException
    SessionExpiredException = SessionExpiredException
    ThrottlingException = ThrottlingException
    InvalidSignatureException = InvalidSignatureException
    UnrecognizedClientException = UnrecognizedClientException
    ExpiredTokenException = ExpiredTokenException
    MissingAuthenticationTokenException = MissingAuthenticationTokenException
    IncompleteSignatureException = IncompleteSignatureException
    InternalFailure = InternalFailure
    ServiceUnavailableException = ServiceUnavailableException
    SerializationException = SerializationException
    UnknownOperationException = UnknownOperationException

    #: The exception class for an AWS error code (``ClientError`` for a code without one).
    from_code = staticmethod(from_code)

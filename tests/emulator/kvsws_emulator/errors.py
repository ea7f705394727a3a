# SPDX-License-Identifier: Apache-2.0
"""The three AWS services the emulator stands in for, and their errors as sent on the wire.

All three speak restJson1 and sign as ``kinesisvideo``. An error response is
``HTTP <status>`` with ``x-amzn-ErrorType: <Name>:<namespace>``, ``x-amzn-RequestId``,
``Content-Type: application/json`` and a body ``{"message": ...}`` or ``{"Message": ...}``: the
member name and the status are the ones in the service model (botocore's
``data/<service>/<version>/service-2.json``; ``test_error_tables_match_botocore_models`` checks
these tables against them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorShape:
    status: int
    member: str  # "message" or "Message": the casing of the message member in the model


@dataclass(frozen=True)
class ServiceSpec:
    key: str  # "storage" | "control" | "signaling"
    boto_name: str  # boto3.client(<boto_name>)
    service_id: str  # the model's metadata.serviceId
    error_namespace: str  # what follows "<Name>:" in x-amzn-ErrorType
    errors: Mapping[str, ErrorShape]


class ApiError(Exception):
    """An AWS error response. ``status`` overrides the status from the model, if given."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


# Front-door errors (authentication, throttling, serialization) are not in any model; AWS sends
# them with a lower-case "message" and a Coral namespace.
CORAL_SERVICE_NS = "http://internal.amazon.com/coral/com.amazon.coral.service/"
CORAL_AVAILABILITY_NS = "http://internal.amazon.com/coral/com.amazon.coral.availability/"

COMMON_ERRORS: Mapping[str, ErrorShape] = {
    "MissingAuthenticationTokenException": ErrorShape(403, "message"),
    "IncompleteSignatureException": ErrorShape(403, "message"),
    "InvalidSignatureException": ErrorShape(403, "message"),
    "UnrecognizedClientException": ErrorShape(403, "message"),
    "ExpiredTokenException": ErrorShape(403, "message"),
    "ThrottlingException": ErrorShape(400, "message"),
    "SerializationException": ErrorShape(400, "message"),
    "UnknownOperationException": ErrorShape(404, "message"),
    "InternalFailure": ErrorShape(500, "message"),
    "ServiceUnavailableException": ErrorShape(503, "message"),
}
COMMON_NAMESPACES: Mapping[str, str] = {"ThrottlingException": CORAL_AVAILABILITY_NS}

_M = "Message"
_m = "message"

# kinesis-video-webrtc-storage 2018-05-10: every error uses "message"; AccessDenied is 403.
STORAGE = ServiceSpec(
    key="storage",
    boto_name="kinesis-video-webrtc-storage",
    service_id="Kinesis Video WebRTC Storage",
    # Not verified against the live service: shaped after the Smithy service shape name
    # (AWSAcuityRoutingServiceLambda). Clients must cut the code at the first ':' anyway.
    error_namespace="http://internal.amazon.com/coral/com.amazonaws.acuityroutingservicelambda/",
    errors={
        "AccessDeniedException": ErrorShape(403, _m),
        "ClientLimitExceededException": ErrorShape(400, _m),
        "InvalidArgumentException": ErrorShape(400, _m),
        "ResourceNotFoundException": ErrorShape(404, _m),
    },
)

# kinesisvideo 2017-09-30 (the control plane): every error uses "Message"; AccessDenied is 401.
CONTROL = ServiceSpec(
    key="control",
    boto_name="kinesisvideo",
    service_id="Kinesis Video",
    # The AWS iOS SDK reports the real header of this service as
    # "ResourceInUseException:https://kinesisvideo.amazonaws.com/doc/2017-09-30/" (its xmlNamespace).
    error_namespace="https://kinesisvideo.amazonaws.com/doc/2017-09-30/",
    errors={
        "AccessDeniedException": ErrorShape(401, _M),
        "AccountChannelLimitExceededException": ErrorShape(400, _M),
        "AccountStreamLimitExceededException": ErrorShape(400, _M),
        "ClientLimitExceededException": ErrorShape(400, _M),
        "DeviceStreamLimitExceededException": ErrorShape(400, _M),
        "InvalidArgumentException": ErrorShape(400, _M),
        "InvalidDeviceException": ErrorShape(400, _M),
        "InvalidResourceFormatException": ErrorShape(400, _M),
        "NoDataRetentionException": ErrorShape(400, _M),
        "NotAuthorizedException": ErrorShape(401, _M),
        "ResourceInUseException": ErrorShape(400, _M),
        "ResourceNotFoundException": ErrorShape(404, _M),
        "StreamEdgeConfigurationNotFoundException": ErrorShape(404, _M),
        "TagsPerResourceExceededLimitException": ErrorShape(400, _M),
        "VersionMismatchException": ErrorShape(400, _M),
    },
)

# kinesis-video-signaling 2019-12-04: mixed casing — InvalidClient and SessionExpired use "message".
SIGNALING = ServiceSpec(
    key="signaling",
    boto_name="kinesis-video-signaling",
    service_id="Kinesis Video Signaling",
    # Not verified against the live service (Smithy service shape: AWSAcuitySignalingService).
    error_namespace="http://internal.amazon.com/coral/com.amazonaws.acuitysignalingservice/",
    errors={
        "ClientLimitExceededException": ErrorShape(400, _M),
        "InvalidArgumentException": ErrorShape(400, _M),
        "InvalidClientException": ErrorShape(400, _m),
        "NotAuthorizedException": ErrorShape(401, _M),
        "ResourceNotFoundException": ErrorShape(404, _M),
        "SessionExpiredException": ErrorShape(400, _m),
    },
)

SERVICES: Mapping[str, ServiceSpec] = {s.key: s for s in (STORAGE, CONTROL, SIGNALING)}


def error_shape(service: ServiceSpec | None, code: str) -> ErrorShape:
    if service is not None and code in service.errors:
        return service.errors[code]
    return COMMON_ERRORS.get(code, ErrorShape(400, "message"))


def error_type_header(service: ServiceSpec | None, code: str) -> str:
    if service is not None and code in service.errors:
        return f"{code}:{service.error_namespace}"
    return f"{code}:{COMMON_NAMESPACES.get(code, CORAL_SERVICE_NS)}"


def error_body(service: ServiceSpec | None, code: str, message: str) -> dict[str, str]:
    return {error_shape(service, code).member: message}


def known_error(code: str) -> bool:
    return code in COMMON_ERRORS or any(code in s.errors for s in SERVICES.values())

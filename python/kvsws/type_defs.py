# SPDX-License-Identifier: Apache-2.0
"""Typed shapes of the inputs and outputs, as boto3's type stubs name them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Required, TypedDict

__all__ = [
    "ChannelInfo",
    "ChannelProtocol",
    "ChannelRole",
    "DescribeMediaStorageConfigurationOutput",
    "DescribeSignalingChannelOutput",
    "GetIceServerConfigOutput",
    "GetSignalingChannelEndpointOutput",
    "IceServer",
    "MediaStorageConfiguration",
    "ResourceEndpointListItem",
    "ResponseMetadata",
    "SessionLastError",
    "SessionReconnects",
    "SessionStats",
    "SessionWebSocketStats",
    "SingleMasterChannelEndpointConfiguration",
    "SingleMasterConfiguration",
]

ChannelProtocol = Literal["WSS", "HTTPS", "WEBRTC"]
ChannelRole = Literal["MASTER", "VIEWER"]


class ResponseMetadata(TypedDict):
    """What every output carries, as in boto3 (``HTTPHeaders``: the answer's headers, lower-case names)."""

    RequestId: str
    HTTPStatusCode: int
    HTTPHeaders: dict[str, str]
    RetryAttempts: int


class SingleMasterChannelEndpointConfiguration(TypedDict, total=False):
    """Input of GetSignalingChannelEndpoint. The service's defaults apply to what is left out."""

    Protocols: Sequence[ChannelProtocol]
    Role: ChannelRole


class ResourceEndpointListItem(TypedDict, total=False):
    Protocol: ChannelProtocol
    ResourceEndpoint: str


class GetSignalingChannelEndpointOutput(TypedDict, total=False):
    ResourceEndpointList: list[ResourceEndpointListItem]
    ResponseMetadata: Required[ResponseMetadata]


class SingleMasterConfiguration(TypedDict, total=False):
    MessageTtlSeconds: int


class ChannelInfo(TypedDict, total=False):
    ChannelName: str
    ChannelARN: str
    ChannelType: Literal["SINGLE_MASTER", "FULL_MESH"]
    ChannelStatus: Literal["CREATING", "ACTIVE", "UPDATING", "DELETING"]
    CreationTime: datetime
    SingleMasterConfiguration: SingleMasterConfiguration
    Version: str


class DescribeSignalingChannelOutput(TypedDict, total=False):
    ChannelInfo: ChannelInfo
    ResponseMetadata: Required[ResponseMetadata]


class MediaStorageConfiguration(TypedDict, total=False):
    StreamARN: str
    Status: Literal["ENABLED", "DISABLED"]


class DescribeMediaStorageConfigurationOutput(TypedDict, total=False):
    MediaStorageConfiguration: MediaStorageConfiguration
    ResponseMetadata: Required[ResponseMetadata]


class IceServer(TypedDict, total=False):
    Uris: list[str]
    Username: str
    Password: str
    Ttl: int


class GetIceServerConfigOutput(TypedDict, total=False):
    IceServerList: list[IceServer]
    ResponseMetadata: Required[ResponseMetadata]


class SessionReconnects(TypedDict):
    """How often a storage session went to "reconnecting", by cause (``ice_refresh``: the ICE
    servers fetched again after RECONNECT_ICE_SERVER, on the same WebSocket)."""

    go_away: int
    drop: int
    idle: int
    session_limit: int
    ice_refresh: int
    error: int


class SessionWebSocketStats(TypedDict):
    """Signaling text messages and their payload bytes (not framing or pings)."""

    messages_in: int
    bytes_in: int
    messages_out: int
    bytes_out: int


class SessionLastError(TypedDict):
    """The last error the session reported, ``ms_ago`` milliseconds ago."""

    status: int
    status_name: str
    code: str
    message: str
    operation: str
    http_status: int
    request_id: str
    ms_ago: int


class SessionStats(TypedDict):
    """:meth:`kvsws.StorageSession.stats`: the C core's ``kvsws_session_stats_json``. Times in ms."""

    state: str
    state_ms: int
    uptime_ms: int
    joins_sent: int
    offers_received: int
    answers_sent: int
    candidates_sent: int
    candidates_received: int
    reconnects: SessionReconnects
    offer_from_start_ms: int | None
    offer_from_join_ms: int | None
    websocket: SessionWebSocketStats
    backoff_ms: int
    retry_in_ms: int
    last_error: SessionLastError | None

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

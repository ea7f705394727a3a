# SPDX-License-Identifier: Apache-2.0
"""The six operations: their paths, input constraints, modelled errors and behaviour."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import CONTROL, SIGNALING, STORAGE, ApiError, ServiceSpec
from .state import Channel, Fault, JoinEvent, State
from .validation import Member, validate

# Patterns and lengths exactly as in the service models (they differ between the services).
STORAGE_CHANNEL_ARN = r"^arn:(aws[a-zA-Z-]*):kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+$"
STORAGE_CLIENT_ID = r"^[a-zA-Z0-9_.-]+$"
CONTROL_RESOURCE_ARN = r"arn:[a-z\d-]+:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+"
CONTROL_CHANNEL_NAME = r"[a-zA-Z0-9_.-]+"
SIGNALING_RESOURCE_ARN = r"arn:aws:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+"
SIGNALING_NAME = r"[a-zA-Z0-9_.-]+"

NOT_FOUND = "The requested channel is not found or not active."
PROTOCOLS = ("WSS", "HTTPS", "WEBRTC")


@dataclass
class CallContext:
    state: State
    region: str  # the region the request was signed for
    op: OperationSpec
    request_id: str = ""
    fault: Fault | None = None  # the fault taken for this call, if it lets the call go on


Handler = Callable[[CallContext, dict[str, Any]], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class OperationSpec:
    name: str
    path: str
    service: ServiceSpec
    input: tuple[Member, ...]
    errors: tuple[str, ...]  # the errors the model lists for this operation
    handler: Handler


# -- helpers ------------------------------------------------------------------------------------

def _by_arn(ctx: CallContext, arn: str) -> Channel:
    channel = ctx.state.channels.get(arn)
    # Channels are regional: a channel is only found through an endpoint (signing region) of its own.
    if channel is None or channel.region != ctx.region:
        raise ApiError("ResourceNotFoundException", NOT_FOUND)
    return channel


def _by_name_or_arn(ctx: CallContext, params: Mapping[str, Any]) -> Channel:
    arn, name = params.get("ChannelARN"), params.get("ChannelName")
    if arn is None and name is None:
        raise ApiError("InvalidArgumentException", "Either ChannelName or ChannelARN must be specified.")
    if arn is not None:
        channel = _by_arn(ctx, arn)
        if name is not None and channel.name != name:
            raise ApiError("ResourceNotFoundException", NOT_FOUND)
        return channel
    found = ctx.state.find_channel_by_name(str(name), ctx.region)
    if found is None:
        raise ApiError("ResourceNotFoundException", NOT_FOUND)
    return found


def _no_storage_message(channel: Channel) -> str:
    return (
        f"The signaling channel {channel.arn} has no media storage configured "
        "(DescribeMediaStorageConfiguration Status is DISABLED), so it has no WEBRTC endpoint and "
        "cannot join a storage session."
    )


def _spawn_hooks(ctx: CallContext, channel: Channel, client_id: str | None) -> None:
    event = JoinEvent(channel=channel, client_id=client_id, request_id=ctx.request_id, time=time.time(),
                      fault=ctx.fault.session if ctx.fault is not None else None)
    state = ctx.state
    for hook in state.storage_session_hooks:
        task = asyncio.get_running_loop().create_task(hook(event))
        state.background_tasks.add(task)
        task.add_done_callback(state.background_tasks.discard)


# -- handlers -----------------------------------------------------------------------------------

async def join_storage_session(ctx: CallContext, params: dict[str, Any]) -> None:
    channel = _by_arn(ctx, params["channelArn"])
    if not channel.storage:
        raise ApiError("InvalidArgumentException", _no_storage_message(channel))
    channel.join_count += 1
    _spawn_hooks(ctx, channel, None)


async def join_storage_session_as_viewer(ctx: CallContext, params: dict[str, Any]) -> None:
    channel = _by_arn(ctx, params["channelArn"])
    if not channel.storage:
        raise ApiError("InvalidArgumentException", _no_storage_message(channel))
    channel.viewer_join_count += 1
    _spawn_hooks(ctx, channel, params["clientId"])


async def get_signaling_channel_endpoint(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    channel = _by_arn(ctx, params["ChannelARN"])
    config = params.get("SingleMasterChannelEndpointConfiguration") or {}
    protocols = list(dict.fromkeys(config.get("Protocols") or ["WSS", "HTTPS"]))
    if "WEBRTC" in protocols and not channel.storage:
        raise ApiError("InvalidArgumentException", _no_storage_message(channel))
    urls = {"WSS": ctx.state.channel_endpoint("wss"), "HTTPS": ctx.state.channel_endpoint("https"),
            "WEBRTC": ctx.state.channel_endpoint("https")}
    return {"ResourceEndpointList": [{"Protocol": p, "ResourceEndpoint": urls[p]} for p in protocols]}


async def describe_signaling_channel(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    channel = _by_name_or_arn(ctx, params)
    return {
        "ChannelInfo": {
            "ChannelName": channel.name,
            "ChannelARN": channel.arn,
            "ChannelType": "SINGLE_MASTER",
            "ChannelStatus": "ACTIVE",
            "CreationTime": channel.creation_time,
            "SingleMasterConfiguration": {"MessageTtlSeconds": 60},
            "Version": channel.version,
        }
    }


async def describe_media_storage_configuration(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    channel = _by_name_or_arn(ctx, params)
    return {
        "MediaStorageConfiguration": {
            "StreamARN": channel.stream_arn,
            "Status": "ENABLED" if channel.storage else "DISABLED",
        }
    }


def turn_credentials(state: State, channel: Channel) -> tuple[str, str]:
    """TURN REST API style (as coturn's use-auth-secret): username "<expiry>:<id>", password
    base64(HMAC-SHA1(secret, username)), so a TURN server sharing the secret can check them."""
    expiry = int(state.now()) + state.turn.ttl
    ident = base64.b64encode(f"v1:{channel.arn}".encode()).decode()
    username = f"{expiry}:{ident}"
    digest = hmac.new(state.turn.secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


async def get_ice_server_config(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    channel = _by_arn(ctx, params["ChannelARN"])
    username, password = turn_credentials(ctx.state, channel)
    return {
        "IceServerList": [
            {"Uris": list(ctx.state.turn_uris), "Username": username, "Password": password,
             "Ttl": ctx.state.turn.ttl}
        ]
    }


# -- the table ----------------------------------------------------------------------------------

_STORAGE_ERRORS = ("ClientLimitExceededException", "InvalidArgumentException", "AccessDeniedException",
                   "ResourceNotFoundException")
_storage_arn = Member("channelArn", required=True, pattern=STORAGE_CHANNEL_ARN)
_control_arn = Member("ChannelARN", pattern=CONTROL_RESOURCE_ARN, min=1, max=1024)
_control_name = Member("ChannelName", pattern=CONTROL_CHANNEL_NAME, min=1, max=256)

OPERATIONS: Mapping[str, OperationSpec] = {
    op.name: op
    for op in (
        OperationSpec("JoinStorageSession", "/joinStorageSession", STORAGE, (_storage_arn,), _STORAGE_ERRORS,
                      join_storage_session),
        OperationSpec(
            "JoinStorageSessionAsViewer", "/joinStorageSessionAsViewer", STORAGE,
            (_storage_arn, Member("clientId", required=True, pattern=STORAGE_CLIENT_ID, min=1, max=256)),
            _STORAGE_ERRORS, join_storage_session_as_viewer,
        ),
        OperationSpec(
            "GetSignalingChannelEndpoint", "/getSignalingChannelEndpoint", CONTROL,
            (
                Member("ChannelARN", required=True, pattern=CONTROL_RESOURCE_ARN, min=1, max=1024),
                Member("SingleMasterChannelEndpointConfiguration", kind="structure", members=(
                    Member("Protocols", kind="list", min=1, max=5, item=Member("member", enum=PROTOCOLS)),
                    Member("Role", enum=("MASTER", "VIEWER")),
                )),
            ),
            ("InvalidArgumentException", "ClientLimitExceededException", "ResourceNotFoundException",
             "ResourceInUseException", "AccessDeniedException"),
            get_signaling_channel_endpoint,
        ),
        OperationSpec(
            "DescribeSignalingChannel", "/describeSignalingChannel", CONTROL, (_control_name, _control_arn),
            ("InvalidArgumentException", "ClientLimitExceededException", "ResourceNotFoundException",
             "AccessDeniedException"),
            describe_signaling_channel,
        ),
        OperationSpec(
            "DescribeMediaStorageConfiguration", "/describeMediaStorageConfiguration", CONTROL,
            (_control_name, _control_arn),
            ("ResourceNotFoundException", "InvalidArgumentException", "AccessDeniedException",
             "ClientLimitExceededException"),
            describe_media_storage_configuration,
        ),
        OperationSpec(
            "GetIceServerConfig", "/v1/get-ice-server-config", SIGNALING,
            (
                Member("ChannelARN", required=True, pattern=SIGNALING_RESOURCE_ARN, min=1, max=1024),
                Member("ClientId", pattern=SIGNALING_NAME, min=1, max=256),
                Member("Service", enum=("TURN",)),
                Member("Username", pattern=SIGNALING_NAME, min=1, max=256),
            ),
            ("InvalidClientException", "SessionExpiredException", "ClientLimitExceededException",
             "ResourceNotFoundException", "InvalidArgumentException", "NotAuthorizedException"),
            get_ice_server_config,
        ),
    )
}
OPERATIONS_BY_PATH: Mapping[str, OperationSpec] = {op.path: op for op in OPERATIONS.values()}


async def invoke(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any] | None:
    validate(ctx.op.input, params, "InvalidArgumentException")
    return await ctx.op.handler(ctx, params)

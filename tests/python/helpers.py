"""Helpers shared by the Python package's tests."""

from __future__ import annotations

from typing import Any

import kvsws
from kvsws_emulator.testing import Emulator


def quick(**overrides: Any) -> kvsws.Config:
    """A Config whose retries and timeouts do not slow tests down."""
    settings: dict[str, Any] = {"retry_base_delay": 0.01, "connect_timeout": 5, "read_timeout": 10}
    settings.update(overrides)
    return kvsws.Config(**settings)


def make_client(emu: Emulator, **overrides: Any) -> kvsws.Client:
    """A client for the emulator: explicit endpoint, keys and CA bundle, quick retries."""
    kwargs: dict[str, Any] = {
        "region_name": emu.region,
        "endpoint_url": emu.endpoint,
        "aws_access_key_id": emu.access_key_id,
        "aws_secret_access_key": emu.secret_access_key,
        "verify": emu.ca_bundle,
        "config": quick(),
    }
    kwargs.update(overrides)
    return kvsws.Client(**kwargs)


def inputs(arn: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each operation: the client method and valid keyword arguments."""
    return {
        "JoinStorageSession": ("join_storage_session", {"channelArn": arn}),
        "JoinStorageSessionAsViewer": ("join_storage_session_as_viewer", {"channelArn": arn, "clientId": "viewer-1"}),
        "GetSignalingChannelEndpoint": ("get_signaling_channel_endpoint", {
            "ChannelARN": arn,
            "SingleMasterChannelEndpointConfiguration": {"Protocols": ["WSS", "HTTPS", "WEBRTC"], "Role": "MASTER"}}),
        "DescribeSignalingChannel": ("describe_signaling_channel", {"ChannelARN": arn}),
        "DescribeMediaStorageConfiguration": ("describe_media_storage_configuration", {"ChannelARN": arn}),
        "GetIceServerConfig": ("get_ice_server_config", {"ChannelARN": arn, "ClientId": "me"}),
    }


def call(client: kvsws.Client, operation: str, arn: str) -> Any:
    method, kwargs = inputs(arn)[operation]
    return getattr(client, method)(**kwargs)

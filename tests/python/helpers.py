# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the Python package's tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import kvsws
from kvsws_emulator.app_peer import AppPeer
from kvsws_emulator.testing import Emulator

# The app peer's video in these tests: small frames, cheap to encode and decode.
VIDEO_SIZE = (320, 240)


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


# --- the application around the app peer (kvsws_emulator.app_peer): kvsws's events in, answers out ---


@dataclass
class Recorder:
    """What the application saw: every event with its time, the offers, failures to answer."""

    events: list[kvsws.Event] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    offers: list[float] = field(default_factory=list)
    answer_errors: list[Exception] = field(default_factory=list)

    def add(self, event: kvsws.Event) -> None:
        self.events.append(event)
        self.times.append(time.monotonic())

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]

    def states(self) -> list[str]:
        return [e.state for e in self.events if isinstance(e, kvsws.StateChanged)]


async def handle(session: kvsws.StorageSession, peer: AppPeer, rec: Recorder, event: kvsws.Event) -> None:
    """The application's reaction to one event."""
    rec.add(event)
    if isinstance(event, kvsws.IceServers):
        peer.set_ice_servers(event.servers)
    elif isinstance(event, kvsws.Offer):
        rec.offers.append(time.monotonic())
        sdp = await peer.answer(event.sdp)
        try:
            session.send_answer(sdp)
        except kvsws.exceptions.KvswsError as exc:
            rec.answer_errors.append(exc)
    elif isinstance(event, kvsws.IceCandidate):
        await peer.add_candidate(event.candidate, event.sdp_mid, event.sdp_mline_index)


async def serve(session: kvsws.StorageSession, peer: AppPeer, rec: Recorder) -> None:
    """The asyncio application: ``async for event in session``, until Closed."""
    async for event in session:
        await handle(session, peer, rec, event)

# SPDX-License-Identifier: Apache-2.0
"""kvsws: the Amazon Kinesis Video Streams calls of a WebRTC storage session, from a small C core.

::

    import kvsws

    client = kvsws.Client(region_name="us-west-2")
    client.join_storage_session(channelArn="arn:aws:kinesisvideo:us-west-2:123456789012:channel/cam/1")

    # or the whole storage session, its offer answered by your WebRTC stack (aiortc, ...):
    async with client.storage_session(channel_name="cam") as session:
        async for event in session:
            ...  # kvsws.IceServers, kvsws.Offer -> session.send_answer(sdp), kvsws.IceCandidate, kvsws.Closed

The calls, their inputs and outputs, and the exceptions are named as in boto3; see
:class:`kvsws.Client` and :mod:`kvsws.exceptions`.
"""

from __future__ import annotations

from . import _core, exceptions
from .client import Client, ClientMeta
from .config import Config
from .session import (
    Closed,
    Event,
    IceCandidate,
    IceServers,
    Offer,
    ServiceStatus,
    SessionState,
    StateChanged,
    StorageSession,
)

__all__ = ["Client", "ClientMeta", "Closed", "Config", "Event", "IceCandidate", "IceServers", "Offer",
           "ServiceStatus", "SessionState", "StateChanged", "StorageSession", "__version__", "exceptions"]

#: The version of kvsws (that of the C core compiled into this package: one source, kvsws.h).
__version__: str = _core.version()

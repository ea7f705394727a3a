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
from .client import Client

# What a call does not need is imported when first used (kvsws.Config, kvsws.StorageSession, ...):
# `import kvsws` stays quick. The type checker sees them all (it takes TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .config import ClientMeta, Config
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

_LAZY = {"ClientMeta": "config", "Config": "config", "Closed": "session", "Event": "session",
         "IceCandidate": "session", "IceServers": "session", "Offer": "session", "ServiceStatus": "session",
         "SessionState": "session", "StateChanged": "session", "StorageSession": "session"}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


#: The version of kvsws (that of the C core compiled into this package: one source, kvsws.h).
__version__: str = _core.version()

"""kvsws: the Amazon Kinesis Video Streams calls of a WebRTC storage session, from a small C core.

::

    import kvsws

    client = kvsws.Client(region_name="us-west-2")
    client.join_storage_session(channelArn="arn:aws:kinesisvideo:us-west-2:123456789012:channel/cam/1")

The calls, their inputs and outputs, and the exceptions are named as in boto3; see
:class:`kvsws.Client` and :mod:`kvsws.exceptions`.
"""

from __future__ import annotations

from . import _core, exceptions
from .client import Client, ClientMeta
from .config import Config

__all__ = ["Client", "ClientMeta", "Config", "__version__", "exceptions"]

#: The version of kvsws (that of the C core compiled into this package: one source, kvsws.h).
__version__: str = _core.version()

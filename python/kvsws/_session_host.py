# SPDX-License-Identifier: Apache-2.0
"""What a storage session needs from the client that made it.

client.py creates sessions (so it imports session.py); session.py only names this protocol, so the
two modules do not import each other. ``kvsws.Client`` is the one implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class SessionHost(Protocol):
    """The client side of a session: its core handle's lifetime and its logger's level."""

    def _attach_session(self, key: object, factory: Callable[[Any], Any]) -> Any:
        """Registers a session under key and returns the core session ``factory`` made from the
        client's handle (the client stays open while the session lives)."""
        ...

    def _detach_session(self, key: object) -> Any:
        """Forgets the session; returns the client's handle when the session was its last user
        after the client was closed (the caller frees it), else None."""
        ...

    def _follow_log_level_now(self) -> None:
        """Passes the "kvsws" logger's current level to the core before a session step logs."""
        ...

# SPDX-License-Identifier: Apache-2.0
"""kvsws_emulator: a local stand-in for the Kinesis Video Streams WebRTC storage APIs.

Run it with ``python3 -m kvsws_emulator --state-dir DIR``; drive it from tests with
``kvsws_emulator.testing.Emulator``. See tests/emulator/README.md.
"""

from .errors import CONTROL, SERVICES, SIGNALING, STORAGE, ApiError
from .operations import OPERATIONS
from .state import State, build_state

__all__ = ["CONTROL", "OPERATIONS", "SERVICES", "SIGNALING", "STORAGE", "ApiError", "State", "build_state"]
__version__ = "0.1.0"

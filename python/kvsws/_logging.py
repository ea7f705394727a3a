# SPDX-License-Identifier: Apache-2.0
"""The core's log lines on the ``logging`` logger "kvsws", without importing logging.

An application that never imported ``logging`` cannot have configured it, so until something
imports it the core stays quiet and ``import kvsws`` does not pay for it (it was half of the
import). Once it is imported, the "kvsws" logger gets its ``NullHandler`` (the logging HOWTO's
advice for libraries, as botocore's) and its effective level decides what the core writes."""

from __future__ import annotations

import sys
from _thread import allocate_lock

from . import _core

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see kvsws.client)
if TYPE_CHECKING:
    from logging import Logger

# logging's levels (their documented values), so that reading them does not import logging.
DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40

_attach_lock = allocate_lock()
_logger: Logger | None = None  # the "kvsws" logger, once it has its NullHandler


def kvsws_logger() -> Logger | None:
    """The "kvsws" logger (with its NullHandler) once logging is imported, else None."""
    if _logger is not None:
        return _logger
    if "logging" not in sys.modules:
        return None
    return _attach()


def _attach() -> Logger:
    global _logger
    import logging  # already imported: this only waits for another thread still running its body

    with _attach_lock:
        if _logger is None:
            logger = logging.getLogger("kvsws")
            # An application that configured no logging never sees kvsws's warnings on stderr.
            logger.addHandler(logging.NullHandler())
            _logger = logger
    return _logger


def core_log_level() -> int:
    """The most detailed core level the "kvsws" logger lets through right now (isEnabledFor is
    cached by the logging module; the default WARNING is found in two asks)."""
    logger = _logger
    if logger is None:
        if "logging" not in sys.modules:
            return _core.KVSWS_LOG_OFF
        logger = _attach()
    if logger.isEnabledFor(WARNING):
        if not logger.isEnabledFor(INFO):
            return _core.KVSWS_LOG_WARN
        return _core.KVSWS_LOG_DEBUG if logger.isEnabledFor(DEBUG) else _core.KVSWS_LOG_INFO
    return _core.KVSWS_LOG_ERROR if logger.isEnabledFor(ERROR) else _core.KVSWS_LOG_OFF


# The core's log levels (kvsws_log_level) and logging's.
_CORE_TO_PY = {_core.KVSWS_LOG_ERROR: ERROR, _core.KVSWS_LOG_WARN: WARNING, _core.KVSWS_LOG_INFO: INFO,
               _core.KVSWS_LOG_DEBUG: DEBUG}


def log_from_core(level: int, line: str) -> None:
    """Receives the core's log lines (never a secret), on the thread running the call. The core
    writes only at a level core_log_level allowed, so logging is imported by then."""
    logger = kvsws_logger()
    if logger is not None:
        logger.log(_CORE_TO_PY.get(level, DEBUG), "%s", line)


_core.set_log_handler(log_from_core)
kvsws_logger()  # logging imported before kvsws: the NullHandler is there from the start, as before

# SPDX-License-Identifier: Apache-2.0
"""Client options, named as ``botocore.config.Config`` names them, and ``client.meta``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .exceptions import InvalidConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see kvsws.client)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ClientMeta", "Config"]

_MAX_TIMEOUT_S = 3600
_MAX_ATTEMPTS = 20
_MAX_BASE_DELAY_S = 20
_RETRY_KEYS = frozenset({"max_attempts", "total_max_attempts", "mode"})


@dataclass(frozen=True, kw_only=True)
class Config:
    """Advanced client options; every one is optional.

    ``Config(connect_timeout=5, read_timeout=10, retries={"total_max_attempts": 5})``

    - ``connect_timeout``, ``read_timeout``: seconds (default 10 and 60). The connect timeout
      bounds TCP + TLS; the read timeout is the longest wait for the next bytes of an answer.
    - ``request_timeout``: seconds (default 30), the total deadline of one request (an attempt),
      from connecting to the answer's last byte, however steadily the bytes come: a trickling
      server ends in ``ReadTimeoutError`` (``ConnectTimeoutError`` if still connecting). Each
      attempt has its own, so a call ends within attempts x this plus the backoff. botocore has
      no such option; it is urllib3's ``Timeout(total=...)``, and it also bounds credential
      fetches from STS and the SSO portal and the signaling WebSocket's upgrade.
    - ``retries``: as botocore takes it: ``{"total_max_attempts": N}`` (requests in all, 1..20)
      or ``{"max_attempts": N}`` (retries after the first request), and ``"mode": "standard"``,
      the only mode kvsws has. Default: 3 attempts, or ``AWS_MAX_ATTEMPTS``.
    - ``retry_join``: retry JoinStorageSession on 5xx, throttling and connection errors
      (default True, as boto3 does). Every retried join makes the service send one more offer.
    - ``retry_base_delay``: seconds, the base of the exponential backoff (default 1).
    - ``user_agent_extra``: appended to the User-Agent header.
    - ``use_fips_endpoint``: use the FIPS endpoints (default: ``AWS_USE_FIPS_ENDPOINT``, the
      profile's ``use_fips_endpoint``, else False).
    """

    connect_timeout: float | None = None
    read_timeout: float | None = None
    request_timeout: float | None = None
    retries: Mapping[str, Any] | None = None
    retry_join: bool = True
    retry_base_delay: float | None = None
    user_agent_extra: str | None = None
    use_fips_endpoint: bool | None = None

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "request_timeout"):
            _check_seconds(name, getattr(self, name), minimum_exclusive=0, maximum=_MAX_TIMEOUT_S)
        _check_seconds("retry_base_delay", self.retry_base_delay, minimum_exclusive=None,
                       maximum=_MAX_BASE_DELAY_S)
        self.total_max_attempts()  # validates retries
        if not isinstance(self.retry_join, bool):
            raise InvalidConfigError(f"retry_join must be True or False, got {self.retry_join!r}")
        if self.use_fips_endpoint is not None and not isinstance(self.use_fips_endpoint, bool):
            raise InvalidConfigError(f"use_fips_endpoint must be True, False or None, got {self.use_fips_endpoint!r}")
        if self.user_agent_extra is not None and not isinstance(self.user_agent_extra, str):
            raise InvalidConfigError(f"user_agent_extra must be a string, got {self.user_agent_extra!r}")

    def total_max_attempts(self) -> int | None:
        """The number of requests a call may send in all, from ``retries``; None for the default."""
        if self.retries is None:
            return None
        if not isinstance(self.retries, Mapping):
            raise InvalidConfigError(f"retries must be a dict, got {self.retries!r}")
        unknown = sorted(set(self.retries) - _RETRY_KEYS)
        if unknown:
            raise InvalidConfigError(f"Unknown key(s) in retries: {', '.join(map(str, unknown))}; "
                                     f"valid keys: {', '.join(sorted(_RETRY_KEYS))}")
        mode = self.retries.get("mode", "standard")
        if mode != "standard":
            raise InvalidConfigError(f"retries mode {mode!r} is not supported: kvsws retries in 'standard' mode")
        if "total_max_attempts" in self.retries:
            total = _check_int("retries['total_max_attempts']", self.retries["total_max_attempts"], 1)
        elif "max_attempts" in self.retries:
            total = _check_int("retries['max_attempts']", self.retries["max_attempts"], 0) + 1
        else:
            return None
        if total > _MAX_ATTEMPTS:
            raise InvalidConfigError(f"retries allow at most {_MAX_ATTEMPTS} attempts in all, got {total}")
        return total


@dataclass(frozen=True)
class ClientMeta:
    """``client.meta``, as in boto3: the resolved region, the explicit endpoint, the config."""

    region_name: str
    endpoint_url: str | None
    config: Config


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidConfigError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return value


def _check_seconds(name: str, value: Any, *, minimum_exclusive: float | None, maximum: float) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidConfigError(f"{name} must be a number of seconds, got {value!r}")
    if minimum_exclusive is not None and value <= minimum_exclusive:
        raise InvalidConfigError(f"{name} must be more than {minimum_exclusive} seconds, got {value!r}")
    if value < 0 or value > maximum:
        raise InvalidConfigError(f"{name} must be from 0 to {maximum} seconds, got {value!r}")


def _milliseconds(seconds: float) -> int:
    """Seconds to whole milliseconds, never rounding a positive time down to zero."""
    return max(1, math.ceil(seconds * 1000)) if seconds > 0 else 0

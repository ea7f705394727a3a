# SPDX-License-Identifier: Apache-2.0
"""The URLs the emulator hands out: port-less on 443, as real AWS endpoints are.

Why: AWS endpoints (``https://kinesisvideo.us-west-2.amazonaws.com``,
``wss://m-1234abcd.kinesisvideo.us-west-2.amazonaws.com``) carry no port, and some SDKs (the KVS
WebRTC C SDK) always connect to 443 and refuse an endpoint with a port. So a listener on 443, or an
``--advertise HOST[:PORT]`` naming a port-443 proxy, yields ``https://HOST`` and ``wss://HOST``.
"""

from __future__ import annotations

import ipaddress
import re

DEFAULT_PORT = 443  # https and wss alike
# A DNS name (letters, digits, hyphens, dots) or an IPv4 address; IPv6 in brackets.
_HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def endpoint_url(scheme: str, host: str, port: int) -> str:
    """``scheme://host[:port]``, the port left out when it is 443 (``host`` bracketed if IPv6)."""
    return f"{scheme}://{host}" if port == DEFAULT_PORT else f"{scheme}://{host}:{port}"


def parse_advertise(value: str) -> tuple[str, int]:
    """``HOST`` or ``HOST:PORT`` (``[v6]`` or ``[v6]:PORT``) -> (host as written in a URL, port).

    Raises ValueError naming the rule that was broken."""
    text = value.strip()
    if "://" in text or "/" in text:
        raise ValueError(f"--advertise {value!r}: give HOST or HOST:PORT, not a URL")
    port = DEFAULT_PORT
    if text.startswith("["):
        host, _, rest = text.partition("]")
        host += "]"
        if rest and not rest.startswith(":"):
            raise ValueError(f"--advertise {value!r}: expected [IPv6] or [IPv6]:PORT")
        port_text = rest[1:] if rest else None
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"--advertise {value!r}: {host} is not an IPv6 address") from None
    else:
        host, sep, port_text_raw = text.partition(":")
        port_text = port_text_raw if sep else None
        if not _HOST_RE.fullmatch(host):
            raise ValueError(f"--advertise {value!r}: the host must be a DNS name or an IPv4 address")
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"--advertise {value!r}: the port must be a number from 1 to 65535")
        port = int(port_text)
    return host, port


def advertised_authority(value: str) -> str:
    """The ``HOST[:PORT]`` of an --advertise value as it goes into URLs: no ``:443``."""
    host, port = parse_advertise(value)
    return host if port == DEFAULT_PORT else f"{host}:{port}"


def certificate_name(value: str) -> str:
    """The host of an --advertise value as the server certificate must name it (no brackets)."""
    host, _ = parse_advertise(value)
    return host[1:-1] if host.startswith("[") else host

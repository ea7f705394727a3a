# SPDX-License-Identifier: Apache-2.0
"""Bring loopback up, then run a command: ``unshare -rn python3 -m kvsws_emulator.netns CMD [ARG...]``.

Why: port 443 needs privileges, but in a new user and network namespace (``unshare -rn``, no root
needed where unprivileged user namespaces are allowed, as on Debian 12) the caller is root of its
own network stack, so the emulator can listen on 127.0.0.1:443 and an SDK that insists on port 443
(the KVS WebRTC C SDK) can reach it. A new network namespace starts with loopback down; this brings
it up without needing iproute2's ``ip`` (``ip link set lo up`` does the same).
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import sys

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFREQ = "16sH14x"  # struct ifreq: the name, then ifr_flags in the union


def loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack(IFREQ, b"lo", 0)
        _, flags = struct.unpack(IFREQ, fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request))
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack(IFREQ, b"lo", flags | IFF_UP))


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: unshare -rn python3 -m kvsws_emulator.netns CMD [ARG...]", file=sys.stderr)
        return 2
    try:
        loopback_up()
    except OSError as exc:
        print(f"kvsws_emulator.netns: cannot bring loopback up ({exc.strerror}): run it under unshare -rn",
              file=sys.stderr)
        return 1
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

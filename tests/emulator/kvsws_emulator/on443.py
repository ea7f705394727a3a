# SPDX-License-Identifier: Apache-2.0
"""Run a program against the emulator on port 443, without root:
``python3 -m kvsws_emulator.on443 [--state-dir DIR] [--advertise HOST] [--config FILE] -- CMD [ARG...]``.

Why: AWS endpoints carry no port, and the KVS WebRTC C SDK connects to 443 only. This runs itself
again in a new user, network and mount namespace (``unshare -rnm``: no root needed where
unprivileged user namespaces are allowed, as on Debian 12), where it is root of its own loopback.
There it brings lo up, maps an --advertise hostname to 127.0.0.1 in the namespace's own /etc/hosts
(a bind mount no one outside sees), starts the emulator on 127.0.0.1:443, runs CMD with the
environment pointing at it, and exits with CMD's status. Nothing outside the namespace reaches the
emulator, and CMD reaches nothing but the emulator.
"""

from __future__ import annotations

import argparse
import fcntl
import ipaddress
import os
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

from .endpoints import certificate_name
from .testing import PACKAGE_PARENT, Emulator, EmulatorError

INSIDE = "KVSWS_EMULATOR_ON443_INSIDE"  # set once we run in the namespace
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
IFREQ = "16sH14x"  # struct ifreq: the interface name, then ifr_flags in the union


def loopback_up() -> None:
    """A new network namespace starts with lo down (what ``ip link set lo up`` does, without iproute2)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        _, flags = struct.unpack(IFREQ, fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, struct.pack(IFREQ, b"lo", 0)))
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack(IFREQ, b"lo", flags | IFF_UP))


def map_to_loopback(name: str, state_dir: Path) -> None:
    """``name`` resolves to 127.0.0.1 inside the namespace (its own /etc/hosts, bind-mounted)."""
    hosts = state_dir / "hosts"
    hosts.write_text(f"127.0.0.1 localhost {name}\n::1 localhost\n", encoding="utf-8")
    subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)


def is_dns_name(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host != "localhost"
    return False


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m kvsws_emulator.on443", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", type=Path, help="the emulator's state dir (default: a new temporary one)")
    parser.add_argument("--advertise", metavar="HOST", help="the hostname the endpoints name, mapped to 127.0.0.1")
    parser.add_argument("--config", type=Path, help="the emulator's --config")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARG...]")
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("give the command to run after --")
    return args


def run_inside(args: argparse.Namespace) -> int:
    loopback_up()
    extra = ["--advertise", args.advertise] if args.advertise else []
    if args.config is not None:
        extra += ["--config", str(args.config.resolve())]
    state_dir = args.state_dir.resolve() if args.state_dir is not None else None
    with Emulator(port=443, state_dir=state_dir, extra_args=extra) as emu:
        assert emu.state_dir is not None
        host = certificate_name(args.advertise) if args.advertise else "127.0.0.1"
        if is_dns_name(host):
            map_to_loopback(host, emu.state_dir)
        env = emu.subprocess_env()
        env.update({
            "AWS_ENDPOINT_URL_KINESIS_VIDEO": f"https://{host}" if args.advertise else emu.endpoint,
            "AWS_DEFAULT_REGION": emu.region,  # what the KVS C SDK's samples read
            "AWS_KVS_CACERT_PATH": emu.ca_bundle,
            "KVSWS_EMULATOR_STATE_DIR": str(emu.state_dir),  # ready.json, emulator.log, the admin API's CA
        })
        print(f"on443: emulator on https://{host} (state dir {emu.state_dir}); running {args.command[0]}",
              file=sys.stderr, flush=True)
        try:
            return subprocess.run(args.command, env=env, check=False).returncode
        except FileNotFoundError:
            print(f"on443: no such command: {args.command[0]}", file=sys.stderr)
            return 127


def main(argv: list[str]) -> int:
    args = parse(argv)
    if os.environ.get(INSIDE) == "1":
        try:
            return run_inside(args)
        except (OSError, subprocess.CalledProcessError, EmulatorError) as exc:
            print(f"on443: {exc}", file=sys.stderr)
            return 1
    unshare = shutil.which("unshare")
    if unshare is None:
        print("on443: unshare (util-linux) is missing", file=sys.stderr)
        return 1
    paths = [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p), **{INSIDE: "1"})
    proc = subprocess.run([unshare, "--user", "--map-root-user", "--net", "--mount", sys.executable, "-m",
                           "kvsws_emulator.on443", *argv], env=env, check=False)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

# SPDX-License-Identifier: Apache-2.0
"""``python3 -m kvsws_emulator [--host 127.0.0.1] [--port 0] [--data-plane-port N] [--advertise HOST[:PORT]]
[--iot-port N] --state-dir DIR [--config FILE]``"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from .server import serve
from .state import ConfigError, build_state, load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kvsws_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default 0: any free port)")
    parser.add_argument("--state-dir", required=True, type=Path,
                        help="where ca.pem, server.pem, server.key and ready.json are written")
    parser.add_argument("--config", type=Path, help="JSON file with credentials, channels, ... (see README)")
    parser.add_argument("--data-plane-port", type=int, default=None,
                        help="serve the channels' endpoints (storage calls, GetIceServerConfig, the WebSocket) on "
                             "this second port (0: any free port), as GetSignalingChannelEndpoint then advertises; "
                             "the main port keeps the control plane only")
    parser.add_argument("--advertise", metavar="HOST[:PORT]",
                        help="name this host (and port) in the endpoints GetSignalingChannelEndpoint returns, "
                             "e.g. a port-443 proxy or a hostname mapped to loopback; port 443 (the default) "
                             "is left out of the URLs, as on AWS; the server certificate names HOST too")
    parser.add_argument("--iot-port", type=int, default=None,
                        help="serve the AWS IoT credentials provider (mutual TLS: a client certificate from the "
                             "emulator's CA) on this port (0: any free port); ready.json's iot_endpoint says where")
    parser.add_argument("--keep-ca", action="store_true", help="reuse a valid CA already in --state-dir")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)

    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.log_level != "DEBUG":  # every ICE check and DTLS step at INFO: only with --log-level DEBUG
        for noisy in ("aioice", "aiortc"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        state = build_state(load_config(args.config) if args.config else None)
    except (OSError, ValueError) as exc:
        print(f"kvsws emulator: bad config: {exc}", file=sys.stderr)
        return 2

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(state, args.host, args.port, args.state_dir, keep_ca=args.keep_ca, stop=stop,
                    data_plane_port=args.data_plane_port, advertise=args.advertise,
                    iot_port=args.iot_port)

    try:
        asyncio.run(run())
    except ConfigError as exc:
        print(f"kvsws emulator: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

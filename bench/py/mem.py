# SPDX-License-Identifier: Apache-2.0
"""Memory per idle client in Python: RSS growth per kvsws.Client / boto3 client, N clients kept
alive in one process (after the first, so that imports and shared data are not counted).

    python mem.py kvsws|boto3 [--clients N]"""

from __future__ import annotations

import gc
import sys

from common import arg, emit, fixtures, rss_kb

FX = fixtures()


def main() -> None:
    impl = sys.argv[1]
    n = int(arg("--clients", "200"))
    creds = dict(region_name=FX["region"], aws_access_key_id=FX["access_key_id"],
                 aws_secret_access_key=FX["secret_access_key"], aws_session_token=FX["session_token"])
    if impl == "kvsws":
        import kvsws

        def make() -> object:
            return kvsws.Client(**creds)
        name = "kvsws-py"
    else:
        import boto3

        session = boto3.session.Session()

        def make() -> object:
            return session.client("kinesis-video-webrtc-storage", **creds)
        name = "boto3"
    keep = [make()]
    gc.collect()
    before = rss_kb()
    keep += [make() for _ in range(n)]
    gc.collect()
    after = rss_kb()
    emit(kind="memory", impl=name, what="idle client", clients=n, bytes_per_client=(after - before) * 1024 / n)


if __name__ == "__main__":
    main()

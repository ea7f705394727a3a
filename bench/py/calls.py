# SPDX-License-Identifier: Apache-2.0
"""Round trips against the local nginx, keep-alive, one thread: kvsws (the package) and boto3.

    python calls.py kvsws|boto3 join|describe ENDPOINT CA [--calls N] [--runs R]

boto3 gets the same explicit endpoint, CA bundle and credentials as kvsws; JoinStorageSession goes
through the kinesis-video-webrtc-storage client, DescribeMediaStorageConfiguration through the
kinesisvideo one. Prints one JSON line: per run, median and p99 latency and CPU per call."""

from __future__ import annotations

import sys
import time

from common import arg, cpu_ns, emit, fixtures, threads

FX = fixtures()


def main() -> None:
    impl, op, endpoint, ca = sys.argv[1:5]
    calls, runs, warmup = int(arg("--calls", "2000")), int(arg("--runs", "5")), int(arg("--warmup", "200"))
    arn = FX["channel_arn"]
    creds = dict(region_name=FX["region"], aws_access_key_id=FX["access_key_id"],
                 aws_secret_access_key=FX["secret_access_key"], aws_session_token=FX["session_token"])
    if impl == "kvsws":
        import kvsws

        client = kvsws.Client(endpoint_url=endpoint, verify=ca, **creds)
        name = "kvsws-py"
    elif impl == "boto3":
        import boto3

        service = "kinesis-video-webrtc-storage" if op == "join" else "kinesisvideo"
        client = boto3.client(service, endpoint_url=endpoint, verify=ca, **creds)
        name = "boto3"
    else:
        raise SystemExit(f"unknown implementation {impl}")

    if op == "join":
        def call() -> None:
            client.join_storage_session(channelArn=arn)
    else:
        def call() -> None:
            out = client.describe_media_storage_configuration(ChannelARN=arn)
            assert out["MediaStorageConfiguration"]["Status"] == "ENABLED"

    for _ in range(warmup):
        call()
    p50, p99, cpu, wall = [], [], [], []
    lat = [0] * calls
    for _ in range(runs):
        c0, w0 = cpu_ns(), time.perf_counter_ns()
        for i in range(calls):
            t0 = time.perf_counter_ns()
            call()
            lat[i] = time.perf_counter_ns() - t0
        wall.append((time.perf_counter_ns() - w0) / calls)
        cpu.append((cpu_ns() - c0) / calls)
        lat.sort()
        p50.append(lat[calls // 2])
        p99.append(lat[int((calls - 1) * 0.99 + 0.5)])
    emit(kind="calls", impl=name, op=op, calls=calls, p50_ns=p50, p99_ns=p99, cpu_ns=cpu, wall_ns=wall,
         threads=threads())


if __name__ == "__main__":
    main()

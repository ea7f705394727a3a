# SPDX-License-Identifier: Apache-2.0
"""SigV4 signing from Python: kvsws (the package), botocore (SigV4Auth / SigV4QueryAuth), awscrt
(aws-c-auth). The same request, credentials and time as every other signer (bench/fixtures.json).

    python sign.py [--iterations-scale X] [--runs R]

Each signer works from the request's parts (method, URL, headers, body) to the signed result, as a
program that signs a request would: botocore and awscrt build their request object each time,
kvsws takes the URL. Prints one JSON line per (implementation, operation)."""

from __future__ import annotations

import io
import sys
from urllib.parse import urlsplit

from common import arg, emit, fixtures, signature_of, time_runs

FX = fixtures()
RUNS = int(arg("--runs", "7"))
SCALE = float(arg("--iterations-scale", "1"))
JOIN, WSS = FX["join"], FX["wss"]
BODY = JOIN["body"].encode()
HEADERS = {name: value for name, value in JOIN["headers"]}
HEADER_LINES = [f"{name}: {value}" for name, value in JOIN["headers"]]


def report(impl: str, op: str, fn, iterations: int) -> None:
    iterations = max(int(iterations * SCALE), 10)
    signature = signature_of(fn())
    emit(kind="sign", impl=impl, op=op, iterations=iterations, runs_ns=time_runs(fn, iterations, RUNS),
         signature=signature)


def bench_botocore() -> None:
    import botocore.auth
    from botocore.auth import SigV4Auth, SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    fixed = FX["datetime"].replace(tzinfo=None)
    botocore.auth.get_current_datetime = lambda: fixed  # the signing time, pinned
    creds = Credentials(FX["access_key_id"], FX["secret_access_key"], FX["session_token"])
    header_signer = SigV4Auth(creds, FX["service"], FX["region"])
    query_signer = SigV4QueryAuth(creds, FX["service"], FX["region"], expires=WSS["expires"])

    def header() -> str:
        request = AWSRequest(method=JOIN["method"], url=JOIN["url"], data=BODY, headers=HEADERS)
        header_signer.add_auth(request)
        return request.headers["Authorization"]

    def presign() -> str:
        request = AWSRequest(method=WSS["method"], url=WSS["url"])
        query_signer.add_auth(request)
        return request.url

    report("botocore", "header", header, 5000)
    report("botocore", "presign", presign, 5000)


def bench_awscrt() -> None:
    from awscrt.auth import (
        AwsCredentialsProvider,
        AwsSignatureType,
        AwsSigningAlgorithm,
        AwsSigningConfig,
        aws_sign_request,
    )
    from awscrt.http import HttpHeaders, HttpRequest

    provider = AwsCredentialsProvider.new_static(FX["access_key_id"], FX["secret_access_key"], FX["session_token"])
    header_config = AwsSigningConfig(AwsSigningAlgorithm.V4, AwsSignatureType.HTTP_REQUEST_HEADERS,
                                     credentials_provider=provider, region=FX["region"], service=FX["service"],
                                     date=FX["datetime"])
    query_config = AwsSigningConfig(AwsSigningAlgorithm.V4, AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS,
                                    credentials_provider=provider, region=FX["region"], service=FX["service"],
                                    date=FX["datetime"], expiration_in_seconds=WSS["expires"])
    join_url, wss_url = urlsplit(JOIN["url"]), urlsplit(WSS["url"])
    join_headers = [("Host", join_url.netloc)] + [tuple(h) for h in JOIN["headers"]]
    wss_path = f"{wss_url.path}?{wss_url.query}"

    def header() -> str:
        request = HttpRequest(JOIN["method"], join_url.path, HttpHeaders(join_headers), io.BytesIO(BODY))
        aws_sign_request(request, header_config).result()
        return request.headers.get("Authorization")

    def presign() -> str:
        request = HttpRequest(WSS["method"], wss_path, HttpHeaders([("Host", wss_url.netloc)]))
        aws_sign_request(request, query_config).result()
        return request.path

    report("awscrt", "header", header, 5000)
    report("awscrt", "presign", presign, 5000)


def bench_kvsws() -> None:
    import kvsws

    client = kvsws.Client(region_name=FX["region"], aws_access_key_id=FX["access_key_id"],
                          aws_secret_access_key=FX["secret_access_key"], aws_session_token=FX["session_token"])
    sign_request = getattr(client, "sign_request", None)
    if sign_request is None:
        emit(kind="sign", impl="kvsws-py", op="header", missing="kvsws.Client has no sign_request yet")
        emit(kind="sign", impl="kvsws-py", op="presign", missing="kvsws.Client has no sign_request yet")
        return
    ts = FX["timestamp"]

    def header() -> str:
        return sign_request(FX["service"], JOIN["method"], JOIN["url"], headers=HEADER_LINES, body=BODY,
                            timestamp=ts)

    def presign() -> str:
        return sign_request(FX["service"], WSS["method"], WSS["url"], expires=WSS["expires"], timestamp=ts)

    report("kvsws-py", "header", header, 20000)
    report("kvsws-py", "presign", presign, 20000)


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else "all"
    failed = False
    for name, fn in (("kvsws", bench_kvsws), ("botocore", bench_botocore), ("awscrt", bench_awscrt)):
        if which in ("all", name):
            try:
                fn()
            except Exception as exc:  # one signer failing must not hide the others' figures
                emit(kind="error", message=f"signing: {name}: {type(exc).__name__}: {exc}")
                failed = True
    sys.exit(1 if failed else 0)

# SPDX-License-Identifier: Apache-2.0
"""Client.sign_request: SigV4 for the caller's own transport, checked against published vectors
and against botocore's signer (an independent implementation) on a JoinStorageSession request."""

from __future__ import annotations

import datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import kvsws
from kvsws.exceptions import ClientClosedError, ParamValidationError

WSS = "wss://kvs.awsamazon.com/?X-Amz-TestParam=test-param-value"
DEC_2019 = 1575158400


def client(region: str, key: str, secret: str, token: str | None = None) -> kvsws.Client:
    return kvsws.Client(region_name=region, aws_access_key_id=key, aws_secret_access_key=secret,
                        aws_session_token=token)


def test_header_mode_matches_the_aws_suite() -> None:
    with client("us-east-1", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY") as c:
        headers = c.sign_request("service", "GET", "https://example.amazonaws.com/",
                                 timestamp=1440938160)
    lines = dict(line.split(": ", 1) for line in headers.splitlines())
    assert lines["X-Amz-Date"] == "20150830T123600Z"
    assert lines["Authorization"].endswith(
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")


@pytest.mark.parametrize(("token", "signature"), [
    ("FakeSessionToken", "fc268038be276315822b4f73eafd28ee3a5632a2a35fdb0a88db9a42b13d6c92"),
    (None, "be1e78950d956a8a9a1997417099ddbd7455619f3d08c4ad20e1e272179ca695"),
])
def test_presigned_wss_url_matches_the_kvs_golden_vector(token: str | None, signature: str) -> None:
    with client("us-west-2", "AKIA4F7WJQR7FMMWMNXI", "FakeSecretKey", token) as c:
        url = c.sign_request("kinesisvideo", "GET", WSS, expires=299, timestamp=DEC_2019)
    assert url.startswith("wss://kvs.awsamazon.com/?")
    assert f"X-Amz-Signature={signature}" in url


def test_join_request_matches_botocore() -> None:
    url = "https://r-1234abcd.kinesisvideo.us-west-2.amazonaws.com/joinStorageSession"
    body = b'{"channelArn":"arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo/1234567890123"}'
    creds = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session/token+with=chars")
    with client("us-west-2", *creds) as c:
        ours = c.sign_request("kinesisvideo", "POST", url, headers=["Content-Type: application/json"],
                              body=body, timestamp=DEC_2019)
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": "application/json"})
    request.context["timestamp"] = datetime.datetime.fromtimestamp(
        DEC_2019, datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    signer = SigV4Auth(Credentials(*creds), "kinesisvideo", "us-west-2")
    signer._modify_request_before_signing(request)  # adds X-Amz-Date and the token
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)),
                                request)
    assert f"Signature={expected}" in ours


def test_bad_input_names_the_parameter() -> None:
    with client("us-west-2", "AKIDEXAMPLE", "secret") as c:
        with pytest.raises(ParamValidationError, match="expires_s"):
            c.sign_request("kinesisvideo", "GET", WSS, expires=604801)
        with pytest.raises(ParamValidationError, match="url"):
            c.sign_request("kinesisvideo", "GET", "no-scheme/")
    with pytest.raises(ClientClosedError):
        c.sign_request("kinesisvideo", "GET", WSS)

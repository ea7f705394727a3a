# SPDX-License-Identifier: Apache-2.0
"""Every modelled error of every operation, and the common front-door ones, as boto3 raises them:
the class, response["Error"], response["ResponseMetadata"], operation_name and the AWS CLI line."""

from __future__ import annotations

import pickle

import pytest

import kvsws
from kvsws.exceptions import ClientError
from kvsws_emulator.models import modelled_errors
from kvsws_emulator.testing import Emulator

from .helpers import call, make_client, quick

# Every modelled error of every operation, with the HTTP status the service models give it.
MODELLED = modelled_errors()

# Errors any service may send at its front door: (name, HTTP status, kvsws status number).
FRONT_DOOR = [("ThrottlingException", 400, 230), ("InvalidSignatureException", 403, 231),
              ("UnrecognizedClientException", 403, 232), ("ExpiredTokenException", 403, 233),
              ("MissingAuthenticationTokenException", 403, 234), ("IncompleteSignatureException", 403, 234),
              ("InternalFailure", 500, 235), ("ServiceUnavailableException", 503, 236)]


@pytest.fixture()
def once(emu: Emulator) -> kvsws.Client:
    """A client that sends every request once: no retry hides what the emulator answered."""
    return make_client(emu, config=quick(retries={"total_max_attempts": 1}))


@pytest.mark.parametrize(("operation", "error", "status"), MODELLED)
def test_modelled_error(emu: Emulator, once: kvsws.Client, arn: str, operation: str, error: str,
                        status: int) -> None:
    emu.fault(operation=operation, error=error, message=f"injected {error}", count=1)
    with pytest.raises(ClientError) as info:
        call(once, operation, arn)
    exc = info.value
    assert type(exc) is getattr(once.exceptions, error) is getattr(kvsws.exceptions, error)
    assert isinstance(exc, once.exceptions.ClientError)
    assert exc.response["Error"] == {"Code": error, "Message": f"injected {error}"}
    meta = exc.response["ResponseMetadata"]
    recorded = emu.requests(operation)[-1]
    assert meta["HTTPStatusCode"] == status == recorded["status"]
    assert meta["RequestId"] == recorded["request_id"] and meta["RetryAttempts"] == 0
    assert exc.operation_name == operation and exc.attempts == 1
    assert str(exc) == f"An error occurred ({error}) when calling the {operation} operation: injected {error}"
    assert exc.retryable is (error == "ClientLimitExceededException")  # a TPS throttle is worth a retry


@pytest.mark.parametrize(("error", "http_status", "status"), FRONT_DOOR)
def test_front_door_error(emu: Emulator, once: kvsws.Client, arn: str, error: str, http_status: int,
                          status: int) -> None:
    emu.fault(operation="DescribeSignalingChannel", error=error, count=1)
    with pytest.raises(ClientError) as info:
        once.describe_signaling_channel(ChannelARN=arn)
    exc = info.value
    assert type(exc) is once.exceptions.from_code(error) is getattr(kvsws.exceptions, error)
    assert exc.response["Error"]["Code"] == error and exc.response["Error"]["Message"]
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == http_status
    assert exc.status == status


def test_an_unknown_code_is_a_plain_client_error() -> None:
    from kvsws.exceptions import _from_core

    exc = _from_core((299, "KVSWS_E_SERVICE_OTHER", "SomethingNewException", "new", "JoinStorageSession",
                      "rid-1", 400, False, 1, "ignored"))
    assert type(exc) is ClientError and kvsws.exceptions.from_code("SomethingNewException") is ClientError
    assert exc.response["Error"]["Code"] == "SomethingNewException"
    assert str(exc) == "An error occurred (SomethingNewException) when calling the JoinStorageSession operation: new"


def test_an_alias_code_maps_by_status() -> None:
    """The core matches error names case-insensitively and knows aliases; the status decides."""
    from kvsws.exceptions import _from_core

    exc = _from_core((200, "KVSWS_E_ACCESS_DENIED", "AccessDenied", "no", "JoinStorageSession", "r", 403, False,
                      1, ""))
    assert type(exc) is kvsws.exceptions.AccessDeniedException and exc.response["Error"]["Code"] == "AccessDenied"


def test_retries_are_counted(emu: Emulator, client: kvsws.Client, arn: str) -> None:
    emu.fault(operation="DescribeSignalingChannel", status=503, body="html", count=2)
    out = client.describe_signaling_channel(ChannelARN=arn)
    assert out["ResponseMetadata"]["RetryAttempts"] == 2
    assert emu.calls("DescribeSignalingChannel") == 3


def test_gives_up_after_max_attempts(emu: Emulator, arn: str) -> None:
    emu.fault(operation="DescribeSignalingChannel", status=500, body="empty", count=5)
    with make_client(emu, config=quick(retries={"max_attempts": 1})) as c:  # botocore: 1 retry
        with pytest.raises(ClientError) as info:
            c.describe_signaling_channel(ChannelARN=arn)
    exc = info.value
    assert exc.retryable and exc.attempts == 2 and exc.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert emu.calls("DescribeSignalingChannel") == 2


def test_join_is_not_retried_when_asked(emu: Emulator, arn: str) -> None:
    emu.fault(operation="JoinStorageSession", status=503, count=1)
    with make_client(emu, config=quick(retry_join=False)) as c:
        with pytest.raises(ClientError) as info:
            c.join_storage_session(channelArn=arn)
    assert info.value.attempts == 1 and emu.calls("JoinStorageSession") == 1
    emu.reset()
    emu.fault(operation="JoinStorageSession", status=503, count=1)
    with make_client(emu) as c:
        assert c.join_storage_session(channelArn=arn) is None  # retried once, by default
    assert emu.calls("JoinStorageSession") == 2


def test_errors_pickle(emu: Emulator, once: kvsws.Client, arn: str) -> None:
    emu.fault(operation="JoinStorageSession", error="ResourceNotFoundException", message="gone", count=1)
    with pytest.raises(ClientError) as info:
        once.join_storage_session(channelArn=arn)
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is kvsws.exceptions.ResourceNotFoundException
    assert (copy.response, copy.operation_name, str(copy)) == (info.value.response, "JoinStorageSession",
                                                               str(info.value))
    local = kvsws.exceptions.ParamValidationError("bad", operation_name="X")
    again = pickle.loads(pickle.dumps(local))
    assert (type(again), str(again), again.operation_name, again.status) == (type(local), "bad", "X", 1)


def test_client_error_built_by_hand_reads_like_botocore() -> None:
    """Code that builds a ClientError itself (tests, wrappers) gets botocore's message."""
    exc = kvsws.exceptions.ThrottlingException({"Error": {"Code": "ThrottlingException", "Message": "slow down"}},
                                               "GetIceServerConfig")
    assert str(exc) == ("An error occurred (ThrottlingException) when calling the GetIceServerConfig operation: "
                        "slow down")
    assert exc.response["Error"]["Code"] == "ThrottlingException" and exc.operation_name == "GetIceServerConfig"


def test_hierarchy_mirrors_botocore() -> None:
    e = kvsws.exceptions
    assert issubclass(e.EndpointConnectionError, e.ConnectionError)
    assert issubclass(e.ConnectTimeoutError, e.ConnectionError) and issubclass(e.SSLError, e.ConnectionError)
    assert issubclass(e.ReadTimeoutError, e.HTTPClientError)
    for name in ("ParamValidationError", "NoCredentialsError", "NoRegionError", "CredentialRetrievalError",
                 "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "SSLError"):
        assert issubclass(getattr(e, name), e.KvswsError) and not issubclass(getattr(e, name), ClientError)
    for name in {*(e for _, e, _ in MODELLED), *(n for n, _, _ in FRONT_DOOR)}:
        assert issubclass(getattr(e, name), ClientError) and getattr(kvsws.Client.exceptions, name) is getattr(e, name)

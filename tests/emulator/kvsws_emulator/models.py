# SPDX-License-Identifier: Apache-2.0
"""What the AWS service models (botocore's ``data/<service>/<version>/service-2.json``) say about the
operations the emulator serves: each operation's modelled errors, their HTTP status and message
member. Tests take their (operation, error, status) tables from here instead of restating them."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import botocore.session

from .operations import OPERATIONS


@cache
def service_model(service: str) -> Any:
    """botocore's model of ``service`` ("kinesisvideo", "kinesis-video-webrtc-storage",
    "kinesis-video-signaling")."""
    return botocore.session.get_session().get_service_model(service)


def model_error(service: str, code: str) -> tuple[int, str]:
    """(HTTP status, message member name) of an error shape, from botocore's model."""
    shape = service_model(service).shape_for(code)
    return int(shape.metadata["error"]["httpStatusCode"]), next(iter(shape.members))


def modelled_errors(operations: Iterable[str] = OPERATIONS) -> list[tuple[str, str, int]]:
    """(operation, error, HTTP status) for every error the service model lists for each operation
    (by default the six the emulator serves, which are kvsws's), in the model's order."""
    table: list[tuple[str, str, int]] = []
    for name in operations:
        model = service_model(OPERATIONS[name].service.boto_name).operation_model(name)
        table += [(name, shape.name, int(shape.metadata["error"]["httpStatusCode"])) for shape in model.error_shapes]
    return table

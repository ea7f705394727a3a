# SPDX-License-Identifier: Apache-2.0
"""Input validation with the constraints of the service models and Coral's wording.

AWS answers a constraint violation with the operation's InvalidArgumentException (none of these
models has a ValidationException) and a message such as::

    1 validation error detected: Value 'x' at 'channelArn' failed to satisfy constraint:
    Member must satisfy regular expression pattern: ^arn:...$

The member path is the model's member name with its first letter lower-cased ("ChannelARN" ->
"channelARN"). A member of the wrong JSON type is a SerializationException.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .errors import ApiError


@dataclass(frozen=True)
class Member:
    name: str
    kind: Literal["string", "list", "structure"] = "string"
    required: bool = False
    pattern: str | None = None
    min: int | None = None
    max: int | None = None
    enum: tuple[str, ...] | None = None
    members: tuple[Member, ...] = ()
    item: Member | None = None


def _path_name(name: str) -> str:
    return name[:1].lower() + name[1:]


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "'[" + ", ".join(str(v) for v in value) + "]'"
    return f"'{value}'"


def _violations(member: Member, value: Any, path: str) -> list[str]:
    """Constraint messages for one value (assumed present and of the right type)."""
    out: list[str] = []
    if member.kind in ("string", "list"):
        length = len(value)
        if member.min is not None and length < member.min:
            out.append(f"Member must have length greater than or equal to {member.min}")
        if member.max is not None and length > member.max:
            out.append(f"Member must have length less than or equal to {member.max}")
    if member.kind == "string":
        if member.enum is not None and value not in member.enum:
            out.append("Member must satisfy enum value set: [" + ", ".join(member.enum) + "]")
        if member.pattern is not None and re.fullmatch(member.pattern, value) is None:
            out.append(f"Member must satisfy regular expression pattern: {member.pattern}")
    return [f"Value {_describe(value)} at '{path}' failed to satisfy constraint: {v}" for v in out]


def _check_type(member: Member, value: Any, path: str) -> None:
    expected = {"string": str, "list": list, "structure": dict}[member.kind]
    if not isinstance(value, expected):
        raise ApiError(
            "SerializationException",
            f"Expected a JSON {member.kind} for '{path}', got {type(value).__name__}",
        )


def _validate_struct(
    members: Sequence[Member], params: Mapping[str, Any], prefix: str
) -> list[str]:
    errors: list[str] = []
    for m in members:
        path = prefix + _path_name(m.name)
        value = params.get(m.name)
        if value is None:
            if m.required:
                errors.append(
                    f"Value null at '{path}' failed to satisfy constraint: Member must not be null"
                )
            continue
        _check_type(m, value, path)
        errors.extend(_violations(m, value, path))
        if m.kind == "structure":
            errors.extend(_validate_struct(m.members, value, path + "."))
        elif m.kind == "list" and m.item is not None:
            item_errors: list[str] = []
            for element in value:
                _check_type(m.item, element, path + ".member")
                for v in _violations(m.item, element, path + ".member"):
                    item_errors.append(v.split("failed to satisfy constraint: ", 1)[1])
            if item_errors:
                errors.append(
                    f"Value {_describe(value)} at '{path}' failed to satisfy constraint: "
                    "Member must satisfy constraint: [" + ", ".join(dict.fromkeys(item_errors)) + "]"
                )
    return errors


def validate(members: Sequence[Member], params: Mapping[str, Any], error_code: str) -> None:
    """Raise ``error_code`` (the operation's InvalidArgumentException) on any violation."""
    errors = _validate_struct(members, params, "")
    if errors:
        n = len(errors)
        plural = "s" if n > 1 else ""
        raise ApiError(error_code, f"{n} validation error{plural} detected: " + "; ".join(errors))

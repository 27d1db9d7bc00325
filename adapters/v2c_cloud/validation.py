"""Checking arguments against the spec before anything is sent.

A bad value must never cost one of the 1000 daily calls, so every query value
and body field is converted to what the wire carries and checked against
`openapi.yaml` (required, enum, pattern, length, numeric bounds) first.
Messages name the operation, the parameter and the problem in one line, and
never echo a secret value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, TypeVar

from adapters.v2c_cloud.endpoints import BodyField, Endpoint, Parameter
from adapters.v2c_cloud.errors import V2CValidationError
from adapters.v2c_cloud.redaction import MASK

F = TypeVar("F", Parameter, BodyField)


def format_number(value: float) -> str:
    """A number as the API writes it: `16`, `7.5` (no exponent, no trailing zeros)."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def to_query_string(value: object) -> str:
    """Write one Python value as a query string value.

    bool -> "1"/"0"; int and enums -> digits; float -> `format_number`;
    date -> YYYY-MM-DD; datetime (tz-aware) -> UTC `YYYY-MM-DDTHH:MM:SSZ`.
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Enum):
        return to_query_string(value.value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetime must be timezone-aware")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise ValueError(f"unsupported type {type(value).__name__}")


_PATTERN_WORDS = {
    r"^[0-9]+$": "a non-negative whole number{unit}",
    r"^[0-9]+(\.[0-9]+)?$": "a non-negative number{unit}",
    r"^\S+$": "free of whitespace",
    r"^wss?://\S+$": "a ws:// or wss:// URL",
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "a date YYYY-MM-DD",
}
"""Plain words for the spec's patterns, so errors read as sentences."""


def _pattern_words(pattern: str) -> str:
    if pattern.startswith("^((25[0-5]"):
        return "an IPv4 address"
    if pattern.startswith("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"):
        return "an ISO 8601 date-time"
    return _PATTERN_WORDS.get(pattern, f"of the form {pattern}")


def _shown(param: Parameter, text: str) -> str:
    return MASK if param.secret else repr(text)


def check_parameter(endpoint: Endpoint, param: Parameter, text: str) -> None:
    """Raise V2CValidationError if `text` is not a valid value of `param`."""
    where = f"{endpoint.operation_id}: {param.name}"
    unit = f" {param.unit}" if param.unit else ""
    if param.enum is not None and text not in param.enum:
        raise V2CValidationError(
            f"{where} must be one of {', '.join(param.enum)}, got {_shown(param, text)}"
        )
    if param.min_length is not None and len(text) < param.min_length:
        raise V2CValidationError(f"{where} must not be empty")
    if param.max_length is not None and len(text) > param.max_length:
        raise V2CValidationError(f"{where} must be at most {param.max_length} characters")
    if param.pattern is not None and re.search(param.pattern, text) is None:
        what = _pattern_words(param.pattern).replace("{unit}", unit)
        raise V2CValidationError(f"{where} must be {what}, got {_shown(param, text)}")
    if param.minimum is not None or param.maximum is not None:
        number = float(text)
        low = -math.inf if param.minimum is None else param.minimum
        high = math.inf if param.maximum is None else param.maximum
        if not low <= number <= high:
            bounds = (
                f"between {format_number(low)} and {format_number(high)}{unit}"
                if math.isfinite(high)
                else f"at least {format_number(low)}{unit}"
            )
            raise V2CValidationError(f"{where} must be {bounds}, got {_shown(param, text)}")


def _given(
    endpoint: Endpoint, fields: Sequence[F], values: Mapping[str, object], kind: str
) -> Iterator[tuple[F, object]]:
    """Each of `fields` with its value, in the spec's order; None values are omitted.

    Refuses names the spec does not know and missing required values; `kind`
    ("parameter" or "body field") names them in messages, bare for parameters.
    """
    names = {f.name for f in fields}
    unknown = sorted(set(values) - names)
    if unknown:
        raise V2CValidationError(
            f"{endpoint.operation_id}: unknown {kind} {unknown[0]!r} "
            f"(expected {', '.join(sorted(names)) or 'none'})"
        )
    label = "" if kind == "parameter" else f"{kind} "
    for field in fields:
        value = values.get(field.name)
        if value is not None:
            yield field, value
        elif field.required:
            raise V2CValidationError(f"{endpoint.operation_id}: {label}{field.name} is required")


def build_query(endpoint: Endpoint, values: Mapping[str, object]) -> dict[str, str]:
    """The validated query of one call, in the spec's parameter order; None values are omitted."""
    query: dict[str, str] = {}
    for param, value in _given(endpoint, endpoint.parameters, values, "parameter"):
        try:
            text = to_query_string(value)
        except ValueError as exc:
            raise V2CValidationError(f"{endpoint.operation_id}: {param.name}: {exc}") from None
        check_parameter(endpoint, param, text)
        query[param.name] = text
    return query


def _check_body_field(endpoint: Endpoint, field: BodyField, value: Any) -> None:
    where = f"{endpoint.operation_id}: body field {field.name}"
    if field.type == "boolean":
        if not isinstance(value, bool):
            raise V2CValidationError(f"{where} must be true or false, got {value!r}")
    elif field.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise V2CValidationError(f"{where} must be a whole number, got {value!r}")
        if field.minimum is not None and value < field.minimum:
            raise V2CValidationError(
                f"{where} must be at least {format_number(field.minimum)}, got {value!r}"
            )
    elif field.type == "string":
        if not isinstance(value, str):
            raise V2CValidationError(f"{where} must be a string, got {value!r}")
        if field.min_length is not None and len(value) < field.min_length:
            raise V2CValidationError(f"{where} must not be empty")
        if field.pattern is not None and re.search(field.pattern, value) is None:
            hint = "HH:MM (00:00..23:59)" if "[0-5][0-9]$" in field.pattern else field.pattern
            raise V2CValidationError(f"{where} must be {hint}, got {value!r}")


def build_body(endpoint: Endpoint, body: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The validated JSON body of one call; None values are omitted, unknown keys refused."""
    if endpoint.body_fields is None:
        if body:
            raise V2CValidationError(f"{endpoint.operation_id}: takes no request body")
        return None
    out: dict[str, Any] = {}
    for field, value in _given(endpoint, endpoint.body_fields, body or {}, "body field"):
        _check_body_field(endpoint, field, value)
        out[field.name] = value
    return out

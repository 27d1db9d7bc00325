"""Time normalisation shared by the stores: everything is tz-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime, what: str) -> datetime:
    """Return `value` converted to UTC; naive datetimes are refused.

    A naive time is ambiguous (local? UTC?) and would silently shift the call
    ledger by the UTC offset, so it is an error naming the field (`what`).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} is a naive datetime: v2c-solar stores tz-aware UTC times only")
    return value.astimezone(UTC)

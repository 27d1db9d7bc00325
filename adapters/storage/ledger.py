"""Pure aggregations over recorded rows, shared by the SQL and in-memory stores."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from adapters.storage.utc import as_utc
from optimizer.interfaces import SessionRecord


def calls_per_day(times: Iterable[datetime], start: datetime, end: datetime) -> dict[date, int]:
    """Count call times per UTC calendar day on the half-open window [start, end).

    Every UTC date the window touches is a key, with 0 for days without calls,
    so a caller can take `max()` or plot the result without filling gaps.
    """
    start, end = as_utc(start, "start"), as_utc(end, "end")
    counts: dict[date, int] = {}
    if end <= start:
        return counts
    day = start.date()
    last = (end - timedelta(microseconds=1)).date()
    while day <= last:
        counts[day] = 0
        day += timedelta(days=1)
    for time in times:
        if start <= time < end:
            counts[time.astimezone(UTC).date()] += 1
    return counts


def select_sessions(
    sessions: Iterable[SessionRecord], device_id: str | None, since: datetime | None
) -> list[SessionRecord]:
    """Sessions of `device_id` (all devices when None) started at or after `since`, by start."""
    since_utc = None if since is None else as_utc(since, "since")
    chosen = [
        s
        for s in sessions
        if (device_id is None or s.device_id == device_id)
        and (since_utc is None or s.start >= since_utc)
    ]
    chosen.sort(key=lambda s: (s.start, s.device_id))
    return chosen

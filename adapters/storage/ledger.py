"""Pure aggregations over recorded rows, shared by the SQL and in-memory stores."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from adapters.storage.utc import as_utc
from optimizer.interfaces import ApiCall, SessionRecord


def quota_date(call: ApiCall) -> date:
    """The UTC date of the quota day `call` counts in: the server's, where it said.

    The date of the day's middle (`ApiCall.quota_day_anchor`): for a server day
    from UTC midnight to midnight exactly that day, however far (< 12 h) our
    clock was off; a call without an answer falls on the UTC date of its time.
    """
    return call.quota_day_anchor.astimezone(UTC).date()


def calls_per_day(calls: Iterable[ApiCall], start: datetime, end: datetime) -> dict[date, int]:
    """Count the calls made on [start, end) per quota day (`quota_date`), dates ascending.

    Every UTC date the window touches is a key, with 0 for days without calls,
    so a caller can take `max()` or plot the result without filling gaps; a
    call the server counted in the day after the window (our clock was behind)
    adds that day.
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
    for call in calls:
        if start <= call.time < end:
            day = quota_date(call)
            counts[day] = counts.get(day, 0) + 1
    return dict(sorted(counts.items()))


def open_session(sessions: Iterable[SessionRecord], device_id: str) -> SessionRecord | None:
    """The latest session of `device_id` if it is still open (no end), else None."""
    mine = select_sessions(sessions, device_id, None)
    return mine[-1] if mine and mine[-1].end is None else None


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

"""The account's call ledger: what was spent in the current quota day.

The cloud counts calls per account in fixed daily windows. The ledger keeps
the time of every attempted call of the last two days, so the spend of any
window can be recounted when the window's boundary is learned (from the
`RateLimit-Reset` header). The day a call counts in is the server's: a call
whose answer carried `RateLimit-Reset` belongs to the day ending at that reset
(`ApiCall.quota_day_anchor`), whatever our clock said when it was made; only a
call without an answer is placed by its own time in the learned window.

The server's own count (`RateLimit-Remaining`) is followed whenever it says
more was spent than we saw (the user's app, another tool, calls we lost track
of); it is never trusted to give back calls our own ledger says are spent, so
a call the server did not count (a timeout) still counts here.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from optimizer.budget.epoch import delta_us
from optimizer.interfaces import QUOTA_DAY, ApiCall, Quota

DAY = QUOTA_DAY
DAY_US = delta_us(DAY)
RETENTION = timedelta(hours=50)
"""How long call times are kept: enough to recount a window whose boundary moves."""


@dataclass(slots=True)
class _WindowCount:
    """Running counts for one quota window [start, end), kept in step with the ledger.

    `ours`: our calls in the window (by `ApiCall.quota_day_anchor`); `since`: those
    of them made after the server's last count (`seq >= ServerCount.seq`). Recounted
    from the calls only when the window moves (a new quota day, a learned boundary)
    or after `clear`.
    """

    start: datetime
    end: datetime
    ours: int
    since: int


@dataclass(frozen=True, slots=True)
class ServerCount:
    """The server's count as of one answer: `spent` calls by then, `seq` = our calls so far.

    `anchor` is an instant inside the quota day the count is of (`Quota.day_anchor`).
    """

    at: datetime
    anchor: datetime
    spent: int
    limit: int
    seq: int


def require_utc(t: datetime, what: str) -> datetime:
    """Reject naive datetimes (the whole product works in tz-aware UTC)."""
    if t.tzinfo is UTC:
        return t  # the common case, on every cycle: already UTC
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {t.isoformat()}")
    return t.astimezone(UTC)


class CallLedger:
    """Every call against the account's daily quota, and the server's view of it."""

    def __init__(self, limit: int, day_start_utc_hour: int = 0) -> None:
        self._limit = limit
        self._offset_s = float(day_start_utc_hour * 3600)
        self._boundary_learned = False
        self._calls: deque[tuple[int, datetime, ApiCall]] = deque()  # seq, day anchor, call
        self._seq = 0
        self._server: ServerCount | None = None
        self._blocked_until: datetime | None = None
        self._version = 0
        self._window: tuple[datetime, datetime] | None = None
        self._window_us: tuple[int, int] | None = None
        self._count: _WindowCount | None = None

    @property
    def version(self) -> int:
        """Changes whenever a call or a server count is recorded (for callers' caches)."""
        return self._version

    # ---- the quota day -------------------------------------------------
    @property
    def boundary_learned(self) -> bool:
        """True once `RateLimit-Reset` told us where the server's day starts."""
        return self._boundary_learned

    @property
    def day_start_offset_s(self) -> float:
        """Seconds after UTC midnight at which the quota day starts."""
        return self._offset_s

    def window(self, t: datetime) -> tuple[datetime, datetime]:
        """The quota day [start, end) containing `t`."""
        t = require_utc(t, "time")
        cached = self._window
        if cached is not None and cached[0] <= t < cached[1]:
            return cached
        midnight = t.replace(hour=0, minute=0, second=0, microsecond=0)
        start = midnight + timedelta(seconds=self._offset_s)
        if start > t:
            start -= DAY
        self._window = (start, start + DAY)
        return self._window

    def window_us(self, t_us: int) -> tuple[int, int]:
        """`window` in microseconds since the epoch (see `optimizer.budget.epoch`): the
        same quota day, found on the integers (a UTC day is 86,400 s from the epoch on)."""
        cached = self._window_us
        if cached is not None and cached[0] <= t_us < cached[1]:
            return cached
        start = t_us - t_us % DAY_US + delta_us(timedelta(seconds=self._offset_s))
        if start > t_us:
            start -= DAY_US
        self._window_us = (start, start + DAY_US)
        return self._window_us

    # ---- recording -----------------------------------------------------
    def record(self, call: ApiCall) -> None:
        """Count one attempted call; a 429 blocks further calls until its
        `Retry-After`, else until the quota's reset."""
        at = require_utc(call.time, "ApiCall.time")
        self._version += 1
        self._seq += 1
        anchor = require_utc(call.quota_day_anchor, "ApiCall.time")
        self._calls.append((self._seq, anchor, call))
        count = self._count
        if count is not None and count.start <= anchor < count.end:
            count.ours += 1
            if self._server is not None:
                count.since += 1  # every call after the server's last count is "since"
        self._prune(at)
        if call.quota is not None:
            self._observe(call.quota, at, anchor)
        if call.status == 429:
            reset_s = call.quota.reset_s if call.quota is not None else None
            self._block(at, reset_s if call.retry_after_s is None else call.retry_after_s)

    def observe(self, quota: Quota, at: datetime) -> None:
        """Take in the server's count, as of an answer received at `at`.

        Call this after recording the call the answer belongs to (or pass the
        quota inside the `ApiCall`): the count then covers exactly our calls so far.
        """
        at = require_utc(at, "quota time")
        self._observe(quota, at, quota.day_anchor(at))

    def _observe(self, quota: Quota, at: datetime, anchor: datetime) -> None:
        """`observe` at a UTC `at`, the count's day `anchor` known (`Quota.day_anchor(at)`:
        a recorded call carrying its quota has just computed it)."""
        self._version += 1
        if quota.limit < 0 or quota.remaining < 0:
            raise ValueError(f"quota must not be negative, got {quota}")
        if quota.reset_s is not None and 0 < quota.reset_s <= DAY.total_seconds():
            reset_at = at + timedelta(seconds=quota.reset_s)
            midnight = reset_at.replace(hour=0, minute=0, second=0, microsecond=0)
            offset_s = float(round((reset_at - midnight).total_seconds() / 60) * 60 % 86400)
            if offset_s != self._offset_s:
                self._offset_s = offset_s
                self._window = self._window_us = None
                self._count = None  # the day moved: recount at the next query
            self._boundary_learned = True
        spent = max(0, quota.limit - quota.remaining)
        self._server = ServerCount(
            at=at, anchor=anchor, spent=spent, limit=quota.limit, seq=self._seq + 1
        )
        if self._count is not None:
            self._count.since = 0  # no call recorded so far comes after this count
        if quota.remaining <= 0:
            self._block(at, quota.reset_s)

    def clear(self) -> None:
        """Forget everything (before a restore replays the stored ledger)."""
        self._version += 1
        self._calls.clear()
        self._server = None
        self._blocked_until = None
        self._count = None

    # ---- queries -------------------------------------------------------
    def limit(self, now: datetime) -> int:
        """The day's limit: ours, or the server's when it reports a lower one."""
        server = self._current_server(now)
        return min(self._limit, server.limit) if server is not None else self._limit

    def spent(self, now: datetime) -> int:
        """Calls spent in the quota day of `now`: ours, or the server's count if higher."""
        return self._spent_and_limit(now)[0]

    def left(self, now: datetime) -> int:
        """Calls left in the quota day of `now`: `max(0, limit(now) - spent(now))`, the day
        looked up once (the budget planner asks after every call)."""
        spent, limit = self._spent_and_limit(now)
        return max(0, limit - spent)

    def _spent_and_limit(self, now: datetime) -> tuple[int, int]:
        """`spent(now)` and `limit(now)`: the server's count and limit where it counted
        this quota day (and more than we did, or a lower limit), else ours."""
        start, end = self.window(now)
        count = self._count
        if count is None or count.start != start:
            count = self._count = self._recount(start, end)
        server = self._server
        if server is None or not start <= server.anchor < end:
            return count.ours, self._limit
        return max(count.ours, server.spent + count.since), min(self._limit, server.limit)

    def _recount(self, start: datetime, end: datetime) -> _WindowCount:
        """Count the window's calls from scratch (when the window moves; O(calls kept))."""
        server_seq = self._server.seq if self._server is not None else None
        ours = since = 0
        for seq, anchor, _ in self._calls:
            if start <= anchor < end:
                ours += 1
                if server_seq is not None and seq >= server_seq:
                    since += 1
        return _WindowCount(start, end, ours, since)

    def server_remaining(self, now: datetime) -> tuple[datetime, int] | None:
        """The last `RateLimit-Remaining` heard in this quota day, with its time."""
        server = self._current_server(now)
        return None if server is None else (server.at, server.limit - server.spent)

    def blocked_until(self, now: datetime) -> datetime | None:
        """When a 429 or remaining=0 forbids calls: the time of the reset, else None."""
        if self._blocked_until is not None and now < self._blocked_until:
            return self._blocked_until
        return None

    def read_bounds(self, now: datetime) -> tuple[datetime | None, datetime]:
        """`(blocked_until(now), end of the quota day of now)`: while blocked the next read
        is at the reset, else it is at the latest at the day's end (when the budget resets)."""
        return self.blocked_until(now), self.window(now)[1]

    def calls(self, now: datetime) -> list[ApiCall]:
        """The calls counted in the quota day of `now` (the server's day where it said)."""
        start, end = self.window(now)
        return [c for _, anchor, c in self._calls if start <= anchor < end]

    def window_of(self, call: ApiCall) -> tuple[datetime, datetime]:
        """The quota day [start, end) `call` counts in: the server's, else by its time."""
        return self.window(call.quota_day_anchor)

    # ---- internals -----------------------------------------------------
    def _current_server(self, now: datetime) -> ServerCount | None:
        if self._server is None:
            return None
        start, end = self.window(now)
        return self._server if start <= self._server.anchor < end else None

    def _block(self, at: datetime, reset_s: float | None) -> None:
        if reset_s is not None and reset_s > 0:
            until = at + timedelta(seconds=reset_s)
        else:
            until = self.window(at)[1]
        if self._blocked_until is None or until > self._blocked_until:
            self._blocked_until = until

    def _prune(self, now: datetime) -> None:
        horizon = now - RETENTION
        calls, count, server = self._calls, self._count, self._server
        while calls and calls[0][2].time < horizon:
            seq, anchor, _ = calls.popleft()
            if count is not None and count.start <= anchor < count.end:
                count.ours -= 1
                if server is not None and seq >= server.seq:
                    count.since -= 1

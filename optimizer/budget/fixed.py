"""Baseline schedules: read at a fixed interval, or never.

Used by backtests to compare the planner with what existing controllers do:
an evcc-style 30 s loop (2880 reads a day, far past the quota), a 90 s loop
held to the daily limit, and `never` for the charger's own PV modes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from optimizer.budget.ledger import CallLedger, require_utc
from optimizer.budget.scheduler import LedgeredScheduler, ReadContext
from optimizer.interfaces import ApiCall, Quota

UNLIMITED = 10**9
"""What `remaining` reports for a schedule without a daily limit."""


class FixedIntervalSchedule(LedgeredScheduler):
    """Reads every `interval_s` seconds (None: never); a `LedgeredScheduler`.

    With `daily_limit`, no call is allowed past that many in a quota day (UTC
    midnight unless `RateLimit-Reset` says otherwise). Without it the schedule
    reads blindly, as existing controllers do, but it still stops after a 429
    or remaining=0 until the reset, as the cloud would refuse anyway.
    """

    def __init__(self, interval_s: float | None, daily_limit: int | None = None) -> None:
        if interval_s is not None and not interval_s > 0:
            raise ValueError(f"interval_s must be positive or None, got {interval_s}")
        if daily_limit is not None and daily_limit < 1:
            raise ValueError(f"daily_limit must be at least 1 or None, got {daily_limit}")
        self.interval_s = interval_s
        self.daily_limit = daily_limit
        self._ledger = CallLedger(daily_limit if daily_limit is not None else UNLIMITED)

    @property
    def ledger(self) -> CallLedger:
        """The call ledger (read-only use: windows, server count, calls of the day)."""
        return self._ledger

    @classmethod
    def never(cls) -> FixedIntervalSchedule:
        """Never read: the charger's own modes do the work."""
        return cls(None)

    def record_call(self, call: ApiCall) -> None:
        self._ledger.record(call)

    def observe_quota(self, quota: Quota, at: datetime) -> None:
        self._ledger.observe(quota, at)

    def spent(self, now: datetime) -> int:
        return self._ledger.spent(now)

    def remaining(self, now: datetime) -> int:
        if self._ledger.blocked_until(now) is not None:
            return 0
        if self.daily_limit is None:
            return UNLIMITED
        return max(0, self._ledger.limit(now) - self._ledger.spent(now))

    def can_write(self, now: datetime, n: int = 1) -> bool:
        if n < 1:
            raise ValueError(f"can_write needs n >= 1, got {n}")
        return self.remaining(now) >= n

    def nearly_out(self, now: datetime) -> bool:
        """Only when no call is left (a baseline does not plan a handover)."""
        return self.remaining(now) < 1

    def read_due(self, now: datetime, ctx: ReadContext) -> bool:
        if self.interval_s is None or self.remaining(now) < 1:
            return False
        if ctx.last_read is None:
            return True
        return (now - ctx.last_read).total_seconds() >= self.interval_s

    def next_read_at(self, now: datetime, ctx: ReadContext) -> datetime:
        now = require_utc(now, "now")
        blocked, end = self._ledger.read_bounds(now)
        if blocked is not None:
            return blocked
        if self.interval_s is None or self.remaining(now) < 1:
            return end
        if ctx.last_read is None:
            return now
        return max(now, ctx.last_read + timedelta(seconds=self.interval_s))

    def check_ins_shared(self) -> bool:
        """False: each charger reads on its own rhythm from its own last read; the shared
        limit moves with calls only, never with a check-in."""
        return False

    def steady_until(self, now: datetime, ctx: ReadContext, dark_until: datetime) -> datetime:
        """The end of the quota day: reads come every `interval_s` whatever happens."""
        now = require_utc(now, "now")
        if self._ledger.blocked_until(now) is not None:
            return now
        return self._ledger.window(now)[1]

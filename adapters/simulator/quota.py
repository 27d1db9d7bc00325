"""The per-key daily call quota, as the V2C cloud's gateway enforces it.

Each API key may make `limit` calls per simulated UTC day (1000 on the real
cloud). Every call the gateway lets through counts, whatever its outcome
(a 400, a 404 or an injected 5xx cost a call just like a success); refused
calls (429) are not counted against the limit but are remembered as attempts.
The counter resets when the simulated clock crosses UTC midnight.

The one model of the quota: the HTTP simulator keeps one per key, the
in-process `WorldCharger`s of one account share one (`inprocess.account_quota`).

Keys are held only as opaque dictionary keys here; nothing is logged.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

DEFAULT_DAILY_LIMIT = 1000
"""Calls per key per day on the real V2C cloud."""


@dataclass(frozen=True, slots=True)
class QuotaState:
    """One key's quota after a call: what the `RateLimit-*` headers say.

    `reset_s` is whole seconds until the simulated day boundary (rounded up,
    so it is never 0 while the old day lasts).
    """

    allowed: bool
    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> dict[str, str]:
        """The `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` headers."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }


def seconds_to_utc_midnight(t: datetime) -> float:
    """Seconds from `t` (tz-aware) to the next UTC midnight, the quota's day boundary."""
    if t.tzinfo is None:
        raise ValueError(f"time must be timezone-aware (UTC), got naive {t.isoformat()}")
    t = t.astimezone(UTC)
    return (_utc_midnight_ending(t.date()) - t).total_seconds()


@lru_cache(maxsize=8)
def _utc_midnight_ending(day: date) -> datetime:
    """The UTC midnight that ends `day`: kept, since every call of a simulated day (each
    of a backtest's ~30,000 reads a year, twice) asks for the same one."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


class DailyQuota:
    """Counts calls per key and simulated UTC day; thread-safe."""

    def __init__(self, limit: int = DEFAULT_DAILY_LIMIT) -> None:
        if limit < 0:
            raise ValueError(f"daily limit must be >= 0 calls, got {limit!r}")
        self.limit = limit
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[date, int, int]] = {}  # day, counted, refused

    def __getstate__(self) -> dict[str, object]:
        with self._lock:
            return {"limit": self.limit, "counts": dict(self._counts)}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["limit"])  # type: ignore[misc]
        self._counts.update(state["counts"])  # type: ignore[call-overload]

    def _day_locked(self, key: str, day: date) -> tuple[int, int]:
        counted_day, used, refused = self._counts.get(key, (day, 0, 0))
        return (used, refused) if counted_day == day else (0, 0)

    def _used_locked(self, key: str, day: date) -> int:
        return self._day_locked(key, day)[0]

    @staticmethod
    def _reset_s(now: datetime) -> int:
        return math.ceil(seconds_to_utc_midnight(now))

    def consume(self, key: str, now: datetime) -> QuotaState:
        """Count one call for `key` at simulated time `now`, if any is left.

        Past the limit the call is refused (`allowed` False) and not counted.
        """
        day = now.astimezone(UTC).date()
        with self._lock:
            used, refused = self._day_locked(key, day)
            allowed = used < self.limit
            if allowed:
                used += 1
            else:
                refused += 1
            self._counts[key] = (day, used, refused)
        return QuotaState(allowed, self.limit, self.limit - used, self._reset_s(now))

    def attempts(self, key: str, now: datetime) -> int:
        """Calls `key` tried in the UTC day of `now`, refused ones included."""
        with self._lock:
            used, refused = self._day_locked(key, now.astimezone(UTC).date())
        return used + refused

    def peek(self, key: str | None, now: datetime) -> QuotaState:
        """The quota of `key` without counting a call (a fresh one for None)."""
        with self._lock:
            used = 0 if key is None else self._used_locked(key, now.astimezone(UTC).date())
        return QuotaState(True, self.limit, self.limit - used, self._reset_s(now))

"""The simulator's own count of the API requests it received, per simulated UTC day.

The ground truth a client's call ledger is checked against: every request that
reached an API route is tallied under its outcome, whether or not the daily
quota counted it (an outage's 503, a revoked key's 401 and a throttle window's
429 are answered before the quota counts anything).
"""

from __future__ import annotations

import enum
import threading
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any


class Outcome(enum.Enum):
    """How the gateway answered one request (before any injected drop or 5xx)."""

    COUNTED = "counted"
    """Counted against the daily quota (answered, dropped, timed out or 5xx after)."""
    OVER_LIMIT = "over_limit"
    """The daily quota was spent: 429, not counted."""
    OUTAGE = "outage"
    """The gateway was down: 503, not counted."""
    REFUSED_KEY = "refused_key"
    """Missing, wrong or revoked key: 401, not counted."""
    THROTTLED = "throttled"
    """A throttle window's 429, not counted."""


class CallTally:
    """Requests per simulated UTC day and outcome; thread-safe."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[date, Outcome]] = Counter()
        self._lock = threading.Lock()

    def add(self, outcome: Outcome, now: datetime) -> None:
        """Tally one request answered at simulated time `now`."""
        with self._lock:
            self._counts[(now.astimezone(UTC).date(), outcome)] += 1

    @property
    def per_day(self) -> dict[date, int]:
        """Calls the quota counted, per simulated UTC day (the days with any)."""
        return self.days(Outcome.COUNTED)

    def days(self, *outcomes: Outcome) -> dict[date, int]:
        """Requests with one of `outcomes` (all without any), per simulated UTC day."""
        wanted = set(outcomes or Outcome)
        out: Counter[date] = Counter()
        with self._lock:
            for (day, outcome), n in self._counts.items():
                if outcome in wanted:
                    out[day] += n
        return dict(sorted(out.items()))

    def as_json(self) -> dict[str, dict[str, int]]:
        """{day ISO: {outcome: requests}}, days in order."""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for (day, outcome), n in sorted(self._counts.items(), key=lambda kv: kv[0][0]):
                out.setdefault(day.isoformat(), {})[outcome.value] = n
        return out

    def __getstate__(self) -> dict[str, object]:
        return {"counts": dict(self._counts)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        self._counts.update(state["counts"])

"""Clocks for the live worlds: the wall clock and a scaled, simulated clock.

The controller only asks `clock.now()`. At home that is the wall clock; in the
demo, simulated time runs `speed` times faster than real time, anchored to
the monotonic clock so it never jumps backwards when the system clock is set.
The backtest uses `adapters.simulator.inprocess.SimClock`, which is moved by
the backtest loop instead of by time passing.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class WallClock:
    """Real time, UTC."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        """Block for `seconds` of real time."""
        if seconds > 0:
            time.sleep(seconds)

    @property
    def speed(self) -> float:
        """Simulated seconds per real second: 1 for the wall clock."""
        return 1.0


class ScaledClock:
    """Simulated time running `speed` times faster than real time.

    `now()` is `start + speed * (monotonic elapsed)`. Both the HTTP simulator
    and the demo daemon use one of these anchored at the same start, so they
    agree on simulated time without talking about it; `resync` re-anchors to a
    time the simulator reports.
    """

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("ScaledClock start must be timezone-aware")
        if not speed > 0:
            raise ValueError(f"clock speed must be > 0 (got {speed})")
        self._start = start.astimezone(UTC)
        self._speed = float(speed)
        self._anchor = time.monotonic()

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    def now(self) -> datetime:
        """Current simulated time, UTC."""
        elapsed = (time.monotonic() - self._anchor) * self._speed
        return self._start + timedelta(seconds=elapsed)

    def resync(self, simulated_now: datetime) -> None:
        """Re-anchor so that `now()` returns `simulated_now` at this instant."""
        self._start = simulated_now.astimezone(UTC)
        self._anchor = time.monotonic()

    def jump(self, seconds: float) -> None:
        """Move simulated time forward by `seconds` at once (tests, day-boundary checks)."""
        self._start += timedelta(seconds=seconds)

    def sleep(self, simulated_seconds: float) -> None:
        """Block for `simulated_seconds` of simulated time."""
        if simulated_seconds > 0:
            time.sleep(simulated_seconds / self._speed)

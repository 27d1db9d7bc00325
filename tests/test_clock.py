"""Clocks: simulated time runs at its speed, stays aware of zones, and can be re-anchored."""

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from optimizer.clock import ScaledClock, WallClock

START = datetime(2026, 6, 21, 0, 0, tzinfo=UTC)


def test_scaled_clock_runs_at_its_speed() -> None:
    clock = ScaledClock(START, speed=1000.0)
    t0 = clock.now()
    time.sleep(0.05)
    elapsed = (clock.now() - t0).total_seconds()
    assert 45 <= elapsed <= 1000  # 0.05 s real at 1000x, generous for a loaded machine


def test_scaled_clock_jump_and_resync() -> None:
    clock = ScaledClock(START, speed=1.0)
    clock.jump(3600)
    assert clock.now() - START >= timedelta(hours=1)
    clock.resync(START)
    assert abs((clock.now() - START).total_seconds()) < 1.0


def test_scaled_clock_returns_utc_and_rejects_bad_arguments() -> None:
    plus2 = timezone(timedelta(hours=2))
    clock = ScaledClock(datetime(2026, 6, 21, 2, 0, tzinfo=plus2))
    assert clock.now().tzinfo is UTC
    assert abs((clock.now() - START).total_seconds()) < 1.0
    with pytest.raises(ValueError, match="timezone-aware"):
        ScaledClock(datetime(2026, 6, 21))
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(START, speed=0)


def test_wall_clock_is_utc() -> None:
    now = WallClock().now()
    assert now.tzinfo is UTC
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5

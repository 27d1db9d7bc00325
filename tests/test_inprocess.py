"""WorldCharger counts calls as the daemon does and refuses call 1001; SimClock moves on demand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.simulator.inprocess import SimClock, WorldCharger
from adapters.simulator.world import World, default_scenario
from optimizer.interfaces import ApiCall, Charger, ChargerError, ChargerRateLimited, PvMode


def _setup(limit: int | None = 1000) -> tuple[World, SimClock, WorldCharger, list[ApiCall]]:
    world = World(default_scenario(), seed=1, step_s=60)
    clock = SimClock(world.now)
    calls: list[ApiCall] = []
    charger = WorldCharger(world, "SIM0001", clock, calls.append, daily_limit=limit)
    return world, clock, charger, calls


def test_sim_clock_moves_only_when_told() -> None:
    start = datetime(2026, 6, 21, tzinfo=UTC)
    clock = SimClock(start)
    assert clock.now() == start
    clock.advance(90)
    assert clock.now() == start + timedelta(seconds=90)
    clock.set(start + timedelta(hours=2))
    assert clock.now() == start + timedelta(hours=2)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        SimClock(datetime(2026, 6, 21))


def test_world_charger_is_a_charger_and_reports_one_call_per_method() -> None:
    world, clock, charger, calls = _setup()
    assert isinstance(charger, Charger)
    clock.advance(8.5 * 3600)  # 08:30 local: the car arrived at 08:00
    charger.set_pv_mode(PvMode.MAX_POWER)
    charger.set_current(10)
    charger.start()
    clock.advance(300)
    reading = charger.read()
    charger.pause()
    assert [c.endpoint for c in calls] == [
        "chargefvmode",
        "intensity",
        "startcharge",
        "currentstatecharge",
        "pausecharge",
    ]
    assert all(c.status == 200 and c.latency_s == 0.0 for c in calls)
    assert [c.quota.remaining for c in calls if c.quota] == [999, 998, 997, 996, 995]
    assert reading.time == clock.now() == world.now
    assert reading.car_power_w == pytest.approx(10 * 3 * 230.0)


def test_call_1001_is_refused_with_429_and_the_day_boundary_resets() -> None:
    _, clock, charger, calls = _setup()
    for _ in range(1000):
        charger.read()
    assert calls[-1].quota is not None and calls[-1].quota.remaining == 0
    with pytest.raises(ChargerRateLimited) as info:
        charger.read()
    assert calls[-1].status == 429
    assert len(calls) == 1001
    assert info.value.reset_s is not None and 0 < info.value.reset_s <= 86400
    clock.set(datetime(2026, 6, 22, 0, 0, 30, tzinfo=UTC))
    charger.read()
    assert calls[-1].status == 200
    assert calls[-1].quota is not None and calls[-1].quota.remaining == 999


def test_unlimited_quota_reports_no_quota() -> None:
    _, _, charger, calls = _setup(limit=None)
    for _ in range(1200):
        charger.read()
    assert all(c.status == 200 and c.quota is None for c in calls)


def test_bad_current_is_a_non_retryable_charger_error() -> None:
    _, _, charger, _ = _setup()
    with pytest.raises(ChargerError) as info:
        charger.set_current(40)
    assert info.value.retryable is False

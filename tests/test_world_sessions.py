"""The world's random sessions are the shared sampler's: the same as `sample_sessions`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.simulator.world import (
    CarConfig,
    RandomSessions,
    World,
    default_scenario,
    load_scenario,
)
from adapters.simulator.world.sessions import PlannedSession, plan_from_config, session_seed
from optimizer.backtest.sessions import sample_sessions
from optimizer.sessions import (
    CommuterPattern,
    HomeOfficePattern,
    Pattern,
    TripEnergy,
    WeekendTripsPattern,
)

SCENARIOS = Path(__file__).resolve().parents[1] / "config" / "scenarios"
PATTERNS: list[Pattern] = [
    CommuterPattern(),
    CommuterPattern(leave=time(6, 0), back=time(15, 0), jitter_min=5, workdays=frozenset({1, 3})),
    HomeOfficePattern(trip_probability=0.5),
    WeekendTripsPattern(trip=TripEnergy(km_mean=200, battery_kwh=40)),
]


def _planned(
    pattern: Pattern, start: datetime, end: datetime, seed: int, device_id: str, tz: str
) -> list[PlannedSession]:
    """The world's plan for one device from `start`, the sessions arriving before `end`."""
    config = RandomSessions(kind="random", pattern=pattern)
    car = CarConfig(battery_kwh=50.0, departure_soc=0.9)
    plan = plan_from_config(config, car, default_scenario().site.tz, start, seed, device_id)
    assert str(default_scenario().site.tz) == tz
    sessions, t = [], start
    while (session := plan.first_ending_after(t)) is not None and session.arrival < end:
        sessions.append(session)
        t = session.departure
    return sessions


@settings(max_examples=40, deadline=None)
@given(
    which=st.integers(0, len(PATTERNS) - 1),
    seed=st.integers(0, 2**31),
    device_id=st.sampled_from(["SIM0001", "SIM0002", "garage-left"]),
    first=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    hour=st.integers(0, 23),
    days=st.integers(1, 40),
)
def test_world_plan_is_sample_sessions_for_the_same_pattern_seed_and_window(
    which: int, seed: int, device_id: str, first: date, hour: int, days: int
) -> None:
    tz = "Europe/Vienna"
    pattern = PATTERNS[which]
    start = pd.Timestamp(first, tz=tz) + pd.Timedelta(hours=hour)
    end = pd.Timestamp(first + timedelta(days=days), tz=tz)  # a local midnight
    planned = _planned(pattern, start.to_pydatetime(), end.to_pydatetime(), seed, device_id, tz)
    window = sample_sessions(pattern, start, end, tz=tz, seed=session_seed(seed, device_id))
    assert [s.arrival for s in planned] == list(window["arrival"])
    assert [min(s.departure, end) for s in planned] == list(window["departure"])
    assert [s.energy_wh for s in planned] == [kwh * 1000.0 for kwh in window["energy_kwh"]]
    assert all(s.arrival_soc == max(0.0, 0.9 - s.energy_wh / 50_000.0) for s in planned)
    assert all(s.max_current_a is None and s.phases is None for s in planned)  # the car's


def test_world_plugs_the_car_in_for_the_sampled_sessions() -> None:
    scenario = load_scenario(SCENARIOS / "commuter.toml")
    device = scenario.devices[0]
    assert isinstance(device.sessions, RandomSessions)
    world = World(scenario, seed=3, step_s=60)
    start, tz = world.now, scenario.site.timezone
    end = start + timedelta(days=10)
    world.advance_to(end)
    logs = world.sessions(device.device_id)
    window = sample_sessions(
        device.sessions.pattern, start, end, tz=tz, seed=session_seed(3, device.device_id)
    )
    assert len(logs) == len(window) >= 6  # about one a workday
    for log, row in zip(logs, window.itertuples(), strict=True):
        assert timedelta(0) <= log.start - row.arrival < timedelta(seconds=60)
        assert log.target_wh == row.energy_kwh * 1000.0
        if log.end is not None:  # the last one is still plugged in at `end`
            assert log.planned_departure == row.departure
    leaving = pd.DatetimeIndex(window["departure"].iloc[:-1]).tz_convert(tz)
    assert set(leaving.day_of_week) <= {0, 1, 2, 3, 4}


def test_devices_have_their_own_sessions_and_a_seed_repeats_them() -> None:
    start = datetime(2026, 6, 22, tzinfo=UTC)
    end = start + timedelta(days=21)
    pattern = HomeOfficePattern(trip_probability=0.5)

    def arrivals(seed: int, device_id: str) -> list[datetime]:
        return [s.arrival for s in _planned(pattern, start, end, seed, device_id, "Europe/Vienna")]

    assert arrivals(1, "SIM0001") == arrivals(1, "SIM0001")
    assert arrivals(1, "SIM0001") != arrivals(2, "SIM0001")
    assert arrivals(1, "SIM0001") != arrivals(1, "SIM0002")


def test_a_pattern_without_trips_gives_one_open_ended_session() -> None:
    start = datetime(2026, 6, 22, tzinfo=UTC)
    pattern = HomeOfficePattern(trip_probability=0.0)
    planned = _planned(pattern, start, datetime(9999, 1, 1, tzinfo=UTC), 1, "X", "Europe/Vienna")
    assert len(planned) == 1
    assert planned[0].arrival == start and planned[0].departure.year == 9999


def test_scenario_names_a_pattern_or_overrides_its_fields() -> None:
    named = RandomSessions.model_validate({"kind": "random", "pattern": "weekend_trips"})
    assert named.pattern == WeekendTripsPattern()
    table = RandomSessions.model_validate(
        {"kind": "random", "pattern": {"kind": "commuter", "leave": "06:45", "jitter_min": 10}}
    )
    assert table.pattern == CommuterPattern(leave=time(6, 45), jitter_min=10)
    assert RandomSessions(kind="random").pattern == CommuterPattern()

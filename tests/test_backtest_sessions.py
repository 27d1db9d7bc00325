"""Sampled plug-in sessions: reproducible, shaped like their pattern, never overlapping."""

from __future__ import annotations

from datetime import time

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from optimizer.backtest.sessions import (
    SESSION_COLUMNS,
    CommuterPattern,
    HomeOfficePattern,
    SessionSamplerConfig,
    TripEnergy,
    WeekendTripsPattern,
    sample_sessions,
)

TZ = "Europe/Madrid"
PATTERNS: list[CommuterPattern | HomeOfficePattern | WeekendTripsPattern] = [
    CommuterPattern(),
    HomeOfficePattern(),
    WeekendTripsPattern(),
]


def test_same_seed_same_sessions_other_seed_other_sessions() -> None:
    a = sample_sessions(CommuterPattern(), "2024-03-01", "2024-05-01", tz=TZ, seed=7)
    b = sample_sessions(CommuterPattern(), "2024-03-01", "2024-05-01", tz=TZ, seed=7)
    c = sample_sessions(CommuterPattern(), "2024-03-01", "2024-05-01", tz=TZ, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["energy_kwh"].equals(c["energy_kwh"])


def test_commuter_is_away_on_workdays_within_the_jitter() -> None:
    pattern = CommuterPattern(jitter_min=20, home_day_probability=0.0)
    sessions = sample_sessions(pattern, "2024-03-04", "2024-04-29", tz=TZ, seed=3)
    leaves = sessions["departure"].iloc[:-1].dt.tz_convert(TZ)  # the last ends the window
    backs = sessions["arrival"].iloc[1:].dt.tz_convert(TZ)
    workdays = pd.date_range("2024-03-04", "2024-04-28", freq="B").date
    assert sorted(leaves.dt.date) == sorted(backs.dt.date) == list(workdays)
    leave_min = leaves.dt.hour * 60 + leaves.dt.minute
    back_min = backs.dt.hour * 60 + backs.dt.minute
    assert leave_min.between(7 * 60 + 30 - 20, 7 * 60 + 30 + 20).all()
    assert back_min.between(17 * 60 + 30 - 20, 17 * 60 + 30 + 20).all()
    # Home through every weekend: some session spans Saturday noon to Sunday noon.
    saturday = pd.Timestamp("2024-03-09 12:00", tz=TZ)
    assert (
        (sessions["arrival"] <= saturday)
        & (sessions["departure"] >= saturday + pd.Timedelta(days=1))
    ).any()


def test_weekend_trips_only_leave_at_weekends() -> None:
    sessions = sample_sessions(WeekendTripsPattern(), "2024-01-01", "2024-07-01", tz=TZ, seed=1)
    leaves = sessions["departure"].iloc[:-1].dt.tz_convert(TZ)
    assert len(leaves) > 20
    assert leaves.dt.day_of_week.isin([5, 6]).all()


def test_home_office_trips_are_occasional() -> None:
    days = 366
    sessions = sample_sessions(HomeOfficePattern(), "2024-01-01", "2025-01-01", tz=TZ, seed=2)
    trips = len(sessions) - 1
    assert 0.12 * days < trips < 0.28 * days  # trip_probability 0.2


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), which=st.integers(0, 2), days=st.integers(1, 60))
def test_sessions_never_overlap_and_energy_stays_in_bounds(
    seed: int, which: int, days: int
) -> None:
    pattern = PATTERNS[which]
    start = pd.Timestamp("2024-03-20", tz=TZ)  # spans the change to summer time
    end = start + pd.Timedelta(days=days)
    sessions = sample_sessions(pattern, start, end, tz=TZ, seed=seed)
    assert list(sessions.columns) == SESSION_COLUMNS
    assert (sessions["departure"] > sessions["arrival"]).all()
    assert (
        sessions["arrival"].iloc[1:].to_numpy() >= sessions["departure"].iloc[:-1].to_numpy()
    ).all()
    assert sessions["arrival"].iloc[0] == start and sessions["departure"].iloc[-1] == end
    low, high = pattern.trip.bounds_kwh()
    assert sessions["energy_kwh"].between(low, high).all()
    assert str(sessions["arrival"].dt.tz) == "UTC"


def test_car_limits_are_carried_into_the_sessions() -> None:
    pattern = CommuterPattern(max_current_a=16, phases=3)
    sessions = sample_sessions(pattern, "2024-06-03", "2024-06-10", seed=0)
    assert (sessions["max_current_a"] == 16.0).all()
    assert (sessions["phases"] == 3).all()


def test_configs_forbid_unknown_fields_and_inconsistent_values() -> None:
    with pytest.raises(ValidationError):
        CommuterPattern.model_validate({"leave_time": "07:00"})
    with pytest.raises(ValidationError):
        CommuterPattern(leave=time(12, 0), back=time(12, 30), jitter_min=30)
    with pytest.raises(ValidationError):
        TripEnergy(km_min=50, km_max=10)
    config = SessionSamplerConfig.model_validate({"pattern": {"kind": "home_office"}})
    assert isinstance(config.pattern, HomeOfficePattern)
    with pytest.raises(ValidationError):
        SessionSamplerConfig.model_validate({"pattern": {"kind": "nomad"}})


def test_energy_bounds_respect_the_battery() -> None:
    trip = TripEnergy(km_min=100, km_max=600, battery_kwh=50)
    assert trip.bounds_kwh() == pytest.approx((14.0, 50.0))

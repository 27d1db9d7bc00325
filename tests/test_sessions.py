"""The shared session sampler: lazy day by day, in bounds, ordered, seeded, the same as a window."""

from __future__ import annotations

import itertools
from datetime import date, time, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.backtest.sessions import sample_sessions
from optimizer.sessions import (
    CommuterPattern,
    HomeOfficePattern,
    Pattern,
    SampledSession,
    SessionSampler,
    TripEnergy,
    WeekendTripsPattern,
)

TIME_ZONES = ["UTC", "Europe/Vienna", "America/New_York", "Australia/Sydney"]


@st.composite
def trip_energies(draw: st.DrawFn) -> TripEnergy:
    km_min = draw(st.floats(0, 100))
    consumption_min = draw(st.floats(0.05, 0.3))
    return TripEnergy(
        km_mean=draw(st.floats(1, 300)),
        km_sd=draw(st.floats(0, 100)),
        km_min=km_min,
        km_max=km_min + draw(st.floats(1, 400)),
        consumption_min=consumption_min,
        consumption_max=consumption_min + draw(st.floats(0, 0.2)),
        battery_kwh=draw(st.floats(5, 120)),
    )


@st.composite
def patterns(
    draw: st.DrawFn, kinds: tuple[str, ...] = ("commuter", "home_office", "weekend")
) -> Pattern:
    """Any pattern whose jittered trips stay within their local day."""
    jitter = draw(st.integers(0, 120))
    leave = draw(st.integers(jitter, 12 * 60))
    back = draw(st.integers(leave + 2 * jitter + 1, 24 * 60 - 1 - jitter))
    fields: dict[str, object] = {
        "leave": time(leave // 60, leave % 60),
        "back": time(back // 60, back % 60),
        "jitter_min": float(jitter),
        "trip": draw(trip_energies()),
    }
    days = frozenset(draw(st.sets(st.integers(0, 6))))
    probability = draw(st.floats(0, 1))
    kind = draw(st.sampled_from(kinds))
    if kind == "commuter":
        return CommuterPattern.model_validate(
            {**fields, "workdays": days, "home_day_probability": probability}
        )
    if kind == "home_office":
        return HomeOfficePattern.model_validate({**fields, "trip_probability": probability})
    return WeekendTripsPattern.model_validate(
        {**fields, "trip_days": days, "trip_probability": probability}
    )


starts = st.builds(
    lambda day, minute, tz: pd.Timestamp(day, tz=tz) + pd.Timedelta(minutes=minute),
    st.dates(date(2015, 1, 1), date(2035, 12, 31)),
    st.integers(0, 24 * 60 - 1),
    st.sampled_from(TIME_ZONES),
)


def _lazily(sampler: SessionSampler, tz: str, until: pd.Timestamp) -> list[SampledSession]:
    """Sessions sampled a day at a time through `until`'s local day; the open stay ends then."""
    sessions: list[SampledSession] = []
    while sampler.next_day <= until.tz_convert(tz).date():
        session = sampler.next_session(max_days=1)
        if session is not None:
            sessions.append(session)
    assert sampler.home_since is not None  # without an end it never closes
    return [*sessions, SampledSession(sampler.home_since, until, sampler.energy_kwh)]


@settings(max_examples=60, deadline=None)
@given(pattern=patterns(), start=starts, seed=st.integers(0, 2**32), days=st.integers(1, 45))
def test_lazy_sessions_are_ordered_in_bounds_and_a_window_holds_the_same(
    pattern: Pattern, start: pd.Timestamp, seed: int, days: int
) -> None:
    tz = str(start.tz)
    end = pd.Timestamp((start + pd.Timedelta(days=days)).date(), tz=tz)  # a local midnight
    *lazy, still_home = _lazily(SessionSampler(pattern, start, tz=tz, seed=seed), tz, end)
    low, high = pattern.trip.bounds_kwh()
    assert all(low <= s.energy_kwh <= high for s in [*lazy, still_home])
    assert all(s.departure > s.arrival for s in lazy)
    assert all(a.departure <= b.arrival for a, b in itertools.pairwise([*lazy, still_home]))
    assert [*lazy, still_home][0].arrival >= start  # later only when a trip leaves at `start`

    # The window [start, end) holds the same sessions, the last one cut at `end`.
    window = sample_sessions(pattern, start, end, tz=tz, seed=seed)
    expected = [s for s in [*lazy, still_home] if s.arrival < end]
    assert list(window["arrival"]) == [s.arrival for s in expected]
    assert list(window["departure"]) == [min(s.departure, end) for s in expected]
    assert list(window["energy_kwh"]) == [s.energy_kwh for s in expected]


@settings(max_examples=30, deadline=None)
@given(pattern=patterns(), start=starts, seed=st.integers(0, 2**32))
def test_same_seed_same_sessions_however_they_are_asked_for(
    pattern: Pattern, start: pd.Timestamp, seed: int
) -> None:
    tz, until = str(start.tz), start + pd.Timedelta(days=30)
    *day_by_day, still_home = _lazily(SessionSampler(pattern, start, tz=tz, seed=seed), tz, until)
    greedy = SessionSampler(pattern, start, tz=tz, seed=seed)
    at_once = []
    while (session := greedy.next_session(max_days=60)) is not None and session.arrival < until:
        at_once.append(session)
    assert at_once[: len(day_by_day)] == day_by_day
    if len(at_once) > len(day_by_day):
        assert at_once[len(day_by_day)].arrival == still_home.arrival
        assert at_once[len(day_by_day)].energy_kwh == still_home.energy_kwh


def test_another_seed_gives_other_sessions() -> None:
    start = pd.Timestamp("2024-03-01", tz="Europe/Vienna")
    until = start + pd.Timedelta(days=30)

    def energies(seed: int) -> list[float]:
        sampler = SessionSampler(CommuterPattern(), start, tz="Europe/Vienna", seed=seed)
        return [s.energy_kwh for s in _lazily(sampler, "Europe/Vienna", until)]

    assert energies(1) == energies(1)
    assert energies(1) != energies(2)


@settings(max_examples=40, deadline=None)
@given(pattern=patterns(kinds=("commuter",)), start=starts, seed=st.integers(0, 2**32))
def test_commuter_is_away_on_its_workdays_in_its_window_and_home_otherwise(
    pattern: Pattern, start: pd.Timestamp, seed: int
) -> None:
    assert isinstance(pattern, CommuterPattern)
    pattern = pattern.model_copy(update={"home_day_probability": 0.0})
    tz = str(start.tz)
    first = start.date() + timedelta(days=1)  # whole days after the start
    until = pd.Timestamp(first + timedelta(days=14), tz=tz)
    *sessions, still_home = _lazily(SessionSampler(pattern, start, tz=tz, seed=seed), tz, until)
    leaves = [s.departure.tz_convert(tz) for s in sessions]
    backs = [s.arrival.tz_convert(tz) for s in [*sessions, still_home][1:]]
    days = [first + timedelta(days=n) for n in range(14)]
    workdays = [d for d in days if d.weekday() in pattern.workdays]
    in_days = set(days)
    assert [t.date() for t in leaves if t.date() in in_days] == workdays
    assert [t.date() for t in backs if t.date() in in_days] == workdays

    for times, at in ((leaves, pattern.leave), (backs, pattern.back)):
        for t in times:
            if t.date() in in_days and not _near_dst_change(t):
                wall = t.tz_localize(None) - pd.Timestamp.combine(t.date(), at)
                assert abs(wall.total_seconds()) <= pattern.jitter_min * 60 + 1


def _near_dst_change(t: pd.Timestamp) -> bool:
    """Whether the local UTC offset changes within a day of `t` (the clock jumps then)."""
    return (t - pd.Timedelta(days=1)).utcoffset() != (t + pd.Timedelta(days=1)).utcoffset()


def test_without_trips_the_sampler_reports_no_session_within_max_days_then_goes_on() -> None:
    start = pd.Timestamp("2024-01-01", tz="UTC")
    sampler = SessionSampler(HomeOfficePattern(trip_probability=0.0), start, tz="UTC", seed=0)
    assert sampler.next_session(max_days=30) is None
    assert sampler.home_since == start
    bounded = SessionSampler(
        HomeOfficePattern(trip_probability=0.0),
        start,
        tz="UTC",
        seed=0,
        end=start + pd.Timedelta(days=3),
    )
    assert bounded.next_session() == SampledSession(
        start, start + pd.Timedelta(days=3), sampler.energy_kwh
    )
    assert bounded.next_session() is None and bounded.home_since is None


def test_sampler_refuses_naive_or_reversed_windows() -> None:
    start = pd.Timestamp("2024-01-01", tz="UTC")
    with pytest.raises(ValueError, match="tz-aware"):
        SessionSampler(CommuterPattern(), pd.Timestamp("2024-01-01"), tz="UTC", seed=0)
    with pytest.raises(ValueError, match="must be after"):
        SessionSampler(CommuterPattern(), start, tz="UTC", seed=0, end=start)

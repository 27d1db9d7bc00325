"""The budget planner's integer clock gives what its datetime arithmetic gave, to the bit.

The planner works inside on microseconds since the epoch (`optimizer.budget.epoch`):
the quota window, the grid's next edge, the current cell's length and the future
cells' count and last length. Each is checked here against the datetime formula the
planner used before, on times with microseconds, learned day boundaries and moments
one microsecond around a grid edge or a day's end.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.budget import BudgetConfig, BudgetPlanner, CallLedger, ReadContext
from optimizer.budget.epoch import from_us, to_us
from optimizer.interfaces import Quota

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=300.0)

instant = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
near_an_edge = st.builds(
    lambda edge, us: EPOCH + STEP * edge + timedelta(microseconds=us),
    st.integers(3_000_000, 7_000_000),  # 5-minute edges from 1998 to 2036
    st.sampled_from([-1, 0, 1]),
)
moment = st.one_of(instant, near_an_edge)


def _pv(t: datetime) -> float:
    """A clear-sky-shaped PV profile (W), sun from 4:00 to 20:00 UTC."""
    hours = t.hour + t.minute / 60 + t.second / 3600
    return max(0.0, 7000.0 * math.sin(math.pi * (hours - 4) / 16))


@settings(max_examples=300, deadline=None)
@given(t=moment, offset_h=st.integers(-12, 12))
def test_microseconds_round_trip_in_any_time_zone(t: datetime, offset_h: int) -> None:
    local = t.astimezone(timezone(timedelta(hours=offset_h)))
    assert to_us(local) == to_us(t)
    assert from_us(to_us(local)) == t
    assert (to_us(t) - to_us(EPOCH)) / 1_000_000 == (t - EPOCH).total_seconds()


@settings(max_examples=300, deadline=None)
@given(t=moment, hour=st.integers(0, 23), reset_s=st.one_of(st.none(), st.floats(1, 86400)))
def test_the_windows_on_microseconds_are_the_ledgers_windows(
    t: datetime, hour: int, reset_s: float | None
) -> None:
    ledger = CallLedger(1000, hour)
    if reset_s is not None:  # a learned boundary, on the minute
        ledger.observe(Quota(1000, 900, reset_s), t - timedelta(hours=3))
    for probe in (t, t - timedelta(hours=13), t + timedelta(microseconds=1)):
        start, end = ledger.window(probe)
        assert ledger.window_us(to_us(probe)) == (to_us(start), to_us(end))


@settings(max_examples=200, deadline=None)
@given(
    t=moment,
    hour=st.integers(0, 23),
    plugged=st.sampled_from([True, False, None]),
    devices=st.integers(1, 2),
)
def test_a_moment_on_microseconds_is_the_datetime_moment(
    t: datetime, hour: int, plugged: bool | None, devices: int
) -> None:
    """The moment's quota day end, current cell length `d0` (s) and future length (s)
    are the datetime arithmetic's floats, with `==`: float epoch seconds (which keep
    ~0.2 us near 2017) would give another `d0` for most times with microseconds."""
    config = BudgetConfig(daily_limit=1000, reserve=10, day_start_utc_hour=hour)
    planner = BudgetPlanner(config, devices=devices, pv_profile=_pv)
    planner.read_interval_s(t, ReadContext("D0", plugged, False, _pv(t), 0.3, None))
    got = planner._moment
    assert got is not None
    _, end = planner.ledger.window(t)
    first = EPOCH + STEP * ((t - EPOCH) // STEP + 1)
    tail0 = min(first, end)
    cells = -((tail0 - end) // STEP)
    future_s = 0.0
    if cells:
        last = (end - tail0).total_seconds() - (cells - 1) * 300.0
        future_s = (cells - 1) * 300.0 + last
    assert got.end == to_us(end)
    assert got.d0 == (tail0 - t).total_seconds()
    assert got.seconds == got.d0 + future_s

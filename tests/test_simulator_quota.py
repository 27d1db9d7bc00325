"""The simulator's daily quota: counts down per key, refuses past the limit, resets at 0:00 UTC."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.simulator.quota import DailyQuota, seconds_to_utc_midnight

times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(times, st.integers(0, 30), st.integers(0, 40))
def test_quota_counts_down_and_refuses_past_the_limit(t: datetime, limit: int, calls: int) -> None:
    quota = DailyQuota(limit)
    states = [quota.consume("k", t) for _ in range(calls)]
    assert [s.allowed for s in states] == [i < limit for i in range(calls)]
    assert [s.remaining for s in states] == [max(0, limit - i - 1) for i in range(calls)]
    for s in states:
        assert 0 < s.reset_s <= 86400
        assert s.reset_s == math.ceil(seconds_to_utc_midnight(t))
    assert quota.attempts("k", t) == calls  # refused calls are remembered, not counted
    assert quota.attempts("other", t) == 0
    next_day = datetime(t.year, t.month, t.day, tzinfo=UTC) + timedelta(days=1)
    assert quota.attempts("k", next_day) == 0


@given(times)
def test_quota_resets_exactly_at_utc_midnight(t: datetime) -> None:
    quota = DailyQuota(1)
    quota.consume("k", t)
    midnight = datetime(t.year, t.month, t.day, tzinfo=UTC) + timedelta(days=1)
    just_before = max(t, midnight - timedelta(microseconds=1))
    assert not quota.consume("k", just_before).allowed
    assert quota.consume("k", midnight).allowed
    assert quota.peek("other", midnight).remaining == 1


@given(
    st.lists(
        st.datetimes(
            min_value=datetime(2020, 1, 1),
            max_value=datetime(2030, 1, 1),
            timezones=st.sampled_from(
                [UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5.5))]
            ),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_seconds_to_midnight_is_the_distance_to_the_end_of_the_utc_day(ts: list[datetime]) -> None:
    """The UTC midnight is kept per day: the distance still is the datetime arithmetic's,
    to the microsecond, for any offset and any order of days."""
    for t in ts:
        utc = t.astimezone(UTC)
        midnight = datetime(utc.year, utc.month, utc.day, tzinfo=UTC) + timedelta(days=1)
        assert seconds_to_utc_midnight(t) == (midnight - utc).total_seconds()


def test_quota_day_is_utc_even_for_other_offsets() -> None:
    vienna_late = datetime(2025, 6, 21, 1, 30, tzinfo=UTC).astimezone()
    assert seconds_to_utc_midnight(vienna_late) == 22.5 * 3600
    with pytest.raises(ValueError, match="timezone-aware"):
        seconds_to_utc_midnight(datetime(2025, 1, 1))

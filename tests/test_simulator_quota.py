"""The simulator's daily quota: counts down per key, refuses past the limit, resets at 0:00 UTC."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

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


def test_quota_day_is_utc_even_for_other_offsets() -> None:
    vienna_late = datetime(2025, 6, 21, 1, 30, tzinfo=UTC).astimezone()
    assert seconds_to_utc_midnight(vienna_late) == 22.5 * 3600
    with pytest.raises(ValueError, match="timezone-aware"):
        seconds_to_utc_midnight(datetime(2025, 1, 1))

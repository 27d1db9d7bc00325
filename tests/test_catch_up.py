"""A sleep's skipped check-ins show the planner exactly what they would have shown.

`Controller._catch_up` replays the read contexts of the check-ins it slept past. With
a forecaster that depends only on its observations it takes their expected PV from
one short forecast over just their steps (`_replay_contexts`) instead of refreshing
the 36 h forecast at each of them. These tests pin that shortcut to the long way,
float for float.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.backtest.engine import run_backtest
from optimizer.budget import BudgetPlanner
from optimizer.budget.scheduler import ReadContext
from optimizer.controller import Controller
from optimizer.forecast.forecaster import PvForecaster
from optimizer.site import GRAZ
from tests.test_perf_idle import _contender, _days

Replayed = list[tuple[datetime, ReadContext]]


def _replayed(policy: str, seed: int, shortcut: bool, monkeypatch: pytest.MonkeyPatch) -> Replayed:
    seen: Replayed = []
    original = BudgetPlanner.replay_context

    def recording(self: BudgetPlanner, now: datetime, ctx: ReadContext) -> None:
        seen.append((now, ctx))
        original(self, now, ctx)

    with monkeypatch.context() as patch:
        patch.setattr(BudgetPlanner, "replay_context", recording)
        if not shortcut:
            patch.setattr(Controller, "_replay_contexts", lambda *args: False)
        run_backtest(_days(2, seed), _contender(policy))
    return seen


@pytest.mark.parametrize("policy", ["solar_only", "min_solar", "target"])
@pytest.mark.parametrize("seed", [3, 4])
def test_short_forecast_replays_the_same_contexts_as_full_refreshes(
    policy: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_way = _replayed(policy, seed, shortcut=False, monkeypatch=monkeypatch)
    shortcut = _replayed(policy, seed, shortcut=True, monkeypatch=monkeypatch)
    assert len(long_way) > 50  # the sleeps did skip check-ins
    assert any(ctx.pv_expected_w > 0.0 for _, ctx in long_way)  # daylight ones too
    assert shortcut == long_way  # exact: dataclass equality compares the floats


def test_the_shortcut_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = [0]
    original = Controller._replay_contexts

    def counted(self: Controller, *args: object) -> bool:
        result = original(self, *args)  # type: ignore[arg-type]
        taken[0] += bool(result)
        return result

    monkeypatch.setattr(Controller, "_replay_contexts", counted)
    run_backtest(_days(2, 3), _contender("solar_only"))
    assert taken[0] > 10


START_S = datetime(2026, 6, 1, tzinfo=UTC).timestamp()


@settings(max_examples=40, deadline=None)
@given(
    observations=st.lists(
        st.tuples(st.integers(0, 86_400), st.floats(0.0, 9000.0)), min_size=0, max_size=30
    ),
    since_last=st.integers(0, 6 * 3600),
    offset_steps=st.integers(0, 400),
    n=st.integers(1, 20),
)
def test_a_short_forecast_equals_the_same_steps_of_a_long_one(
    observations: list[tuple[int, float]], since_last: int, offset_steps: int, n: int
) -> None:
    forecaster = PvForecaster(GRAZ)
    last_s = START_S
    for t_s, pv_w in sorted(observations):
        last_s = START_S + t_s
        forecaster.observe(datetime.fromtimestamp(last_s, tz=UTC), pv_w)
    step_s = 300.0
    long_start_s = last_s + since_last
    long_start_s -= long_start_s % step_s
    long_start = datetime.fromtimestamp(long_start_s, tz=UTC)
    full = forecaster.forecast(long_start, long_start + timedelta(hours=36), step_s)
    short_start = long_start + timedelta(seconds=offset_steps * step_s)
    short = forecaster.forecast(short_start, short_start + timedelta(seconds=n * step_s), step_s)
    part = full.central_w[offset_steps : offset_steps + n]
    assert np.array_equal(short.central_w, part)
    assert short.variability == full.variability

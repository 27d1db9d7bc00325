"""`target` with the window planner promises its decision between replans (issue 13 item 4).

With a car plugged in, the window plan is recomputed at every check-in from that moment's
clock, so the grid start it quotes moves; but no plan puts the car on the grid before
`grid_not_before`, whatever the sun. The controller sleeps past those check-ins and shows
the policy the last one (`Policy.slept_past`), so every cycle it keeps decides, and gives
the reason, exactly as a controller checking in all along.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.backtest.engine import BacktestResult, BacktestSetup, contender_named, run_backtest
from optimizer.controller import ControllerSettings
from optimizer.interfaces import PvForecast
from optimizer.limits import ChargerLimits
from optimizer.policies.base import FOREVER, PolicyContext
from optimizer.policies.solar_only import SolarOnlyParams
from optimizer.policies.target import TargetParams, TargetPolicy, grid_not_before
from optimizer.policies.tariff import TariffConfig
from tests.test_perf_idle import _days
from tests.test_policies import LIMITS, T0
from tests.test_policies import ctx as policy_ctx

STEP_S = 300.0


_FORECASTS: dict[bytes, PvForecast] = {}


def _forecast(pv_w: np.ndarray) -> PvForecast:
    """One forecast object per series: the plan is kept per forecast object."""
    key = pv_w.tobytes()
    if key not in _FORECASTS:
        _FORECASTS[key] = PvForecast(T0, STEP_S, pv_w, pv_w, np.full(pv_w.shape, 1000.0), 0.0)
    return _FORECASTS[key]


def _ctx(
    t_s: float, pv_w: np.ndarray, *, energy_wh: float = 0.0, limits: ChargerLimits = LIMITS
) -> PolicyContext:
    """A plugged-in car at `t_s` after T0, no reading this cycle, the forecast `pv_w`."""
    c = policy_ctx(t_s, 0.0, energy_wh=energy_wh, forecast=_forecast(pv_w), limits=limits)
    return replace(c, fresh=False, reading_age_s=60.0)


def _window(target_kwh: float = 10.0, departure: str = "07:30") -> TargetPolicy:
    return TargetPolicy(TargetParams(target_kwh=target_kwh, departure=departure, planner="window"))


@settings(max_examples=60, deadline=None)
@given(
    pv=st.lists(st.floats(0.0, 8000.0), min_size=200, max_size=200),
    target_kwh=st.floats(0.5, 40.0),
    made_s=st.floats(0.0, 30000.0),
    import_cap_w=st.one_of(st.none(), st.floats(500.0, 5000.0)),
)
def test_no_plan_made_before_the_promise_charges_from_the_grid(
    pv: list[float], target_kwh: float, made_s: float, import_cap_w: float | None
) -> None:
    """Whatever the sun, a plan made at or after `made_s` and asked at any time before
    `grid_not_before` (at its own making or later, as a read reuses it) stays off the grid."""
    limits = LIMITS.model_copy(update={"max_grid_import_w": import_cap_w})
    pv_w = np.array(pv)
    policy = _window(target_kwh)
    first = _ctx(made_s, pv_w, limits=limits)
    promise = grid_not_before(
        first, policy.target_wh(first), policy.departure(first), policy.params.margin_s
    )
    assert promise is not None
    for made in np.arange(made_s, made_s + 36000.0, 397.0):
        plan = policy._compute_plan(_ctx(float(made), pv_w, limits=limits))
        for asked in (plan.start, plan.start + timedelta(seconds=250.0)):
            if asked < promise:
                assert not plan.charge_at(asked), (made, asked, promise)


def test_the_promise_is_the_last_slots_of_a_sunless_night() -> None:
    """10 kWh at 3680 W are 2.7 h: with no sun the grid starts 33 slots before the
    07:15 deadline (07:30 less the margin); the promise is 2 slots earlier."""
    pv = np.zeros(200)
    policy = _window(10.0)
    c = _ctx(0.0, pv)
    decision = policy.decide(c)
    assert not decision.charging or decision.pv_mode.name != "MAX_POWER"
    deadline = policy.departure(c) - timedelta(seconds=900.0)
    promise = policy.next_decision_at(c)
    assert promise == deadline - timedelta(seconds=(34 + 1) * STEP_S)
    start = policy._compute_plan(replace(c, now=promise + timedelta(seconds=STEP_S))).latest_start
    assert start is not None and start > promise


def test_no_promise_while_on_the_grid_with_a_cheap_window_or_the_least_cost_plan() -> None:
    pv = np.zeros(200)
    late = _ctx(12.5 * 3600.0, pv)  # 06:30 local: inside the grid run
    policy = _window(10.0)
    assert policy.decide(late).charging
    assert policy.next_decision_at(late) is None
    cheap = TariffConfig(import_price_per_kwh=0.3, cheap_start="22:00", cheap_end="06:00")
    windowed = TargetPolicy(TargetParams(planner="window"), cheap)
    windowed.decide(_ctx(0.0, pv))
    assert windowed.next_decision_at(_ctx(0.0, pv)) is None
    least = TargetPolicy(TargetParams(planner="least_cost"))
    least.decide(_ctx(0.0, pv))
    assert least.next_decision_at(_ctx(0.0, pv)) is None


def test_a_promise_needs_the_solar_parts_and_a_missing_energy() -> None:
    pv = np.zeros(200)
    met = _window(10.0)
    c = _ctx(0.0, pv, energy_wh=10_000.0)
    met.decide(c)
    assert met.next_decision_at(c) == FOREVER  # nothing missing: only a reading changes it
    bridging = TargetPolicy(
        TargetParams(planner="window", solar=SolarOnlyParams(bridge_surplus_ratio=1.5))
    )
    bridging.decide(_ctx(0.0, pv))
    assert bridging.next_decision_at(_ctx(0.0, pv)) is None


def test_slept_past_leaves_the_plan_the_skipped_check_in_made() -> None:
    """After a sleep, the plan is the one the last skipped check-in computed, so a read
    that leaves the energy missing unchanged reuses it, as it would have."""
    pv = np.linspace(0.0, 3000.0, 200)
    awake, asleep = _window(), _window()
    for t_s in (0.0, 300.0, 600.0, 900.0):
        awake.decide(_ctx(t_s, pv))
    asleep.decide(_ctx(0.0, pv))
    asleep.slept_past(lambda: _ctx(900.0, pv))
    read = replace(_ctx(1000.0, pv), fresh=True)
    assert asleep.decide(read) == awake.decide(read)
    woken = _window()  # without being told of the sleep, the plan is the first one's
    woken.decide(_ctx(0.0, pv))
    assert woken.decide(read).reason != awake.decide(read).reason
    assert asleep._plan is not None and asleep._plan.start == T0 + timedelta(seconds=900.0)


def _kept(result: BacktestResult) -> list[tuple[object, ...]]:
    return [
        (d.time, d.charging, d.current_a, d.pv_mode, d.reason, d.surplus_w)
        for d in result.decisions
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_target_window_sleeps_past_replans_changing_no_call_command_or_kept_decision(
    seed: int,
) -> None:
    """The same backtest with sleeping off (`idle_max_interval_s` at the check-in) and on:
    fewer cycles, the same calls, per-step truth and sessions, and every kept cycle's
    decision and reason one the awake run made at that time."""
    inputs = _days(2, seed)
    awake = run_backtest(
        inputs,
        contender_named("target_window"),
        BacktestSetup(controller=ControllerSettings(idle_max_interval_s=300.0)),
    )
    asleep = run_backtest(inputs, contender_named("target_window"))
    assert asleep.cycles < awake.cycles
    assert [(c.time, c.endpoint, c.status) for c in asleep.calls] == [
        (c.time, c.endpoint, c.status) for c in awake.calls
    ]
    pd.testing.assert_frame_equal(asleep.steps, awake.steps, check_exact=True)
    pd.testing.assert_frame_equal(asleep.sessions, awake.sessions)
    kept, all_awake = _kept(asleep), _kept(awake)
    assert len(kept) < len(all_awake)
    assert set(kept) <= set(all_awake)


def test_the_promise_ends_with_the_sessions_own_departure() -> None:
    """A target set for the session ends at its departure (the backtest's user clears
    it then without a reading): the default target may then need the grid at once."""
    pv = np.zeros(200)
    policy = _window(10.0)
    leaving = T0 + timedelta(hours=2)
    c = replace(_ctx(0.0, pv, energy_wh=5000.0), target_wh=5000.0, departure=leaving)
    policy.decide(c)
    assert policy.next_decision_at(c) == leaving  # met: FOREVER but for the departure

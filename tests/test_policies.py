"""Each policy on scripted surplus sequences and known forecasts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.simulator.world.scenario import CarConfig
from optimizer.backtest.engine import (
    BacktestInputs,
    BacktestSetup,
    baseline_contender,
    policy_contender,
    run_backtest,
)
from optimizer.interfaces import PvForecast, PvMode
from optimizer.limits import ChargerLimits
from optimizer.policies import Policy, PolicyContext, make_policy
from optimizer.policies.base import FOREVER, CommandedState
from optimizer.policies.solar_only import SolarOnlyParams, SolarOnlyPolicy, offered_w
from optimizer.policies.target import TargetParams, TargetPolicy, choose_latest_slots
from optimizer.policies.tariff import TariffConfig
from optimizer.site import GRAZ

T0 = datetime(2024, 6, 1, 18, 0, tzinfo=UTC)
LIMITS = ChargerLimits(min_current_a=6, max_current_a=16, phases=1, voltage_v=230.0)
MIN_W = 6 * 230.0  # 1380 W


def ctx(
    t: float,
    surplus: float | None,
    *,
    plugged: bool | None = True,
    energy_wh: float = 0.0,
    forecast: PvForecast | None = None,
    household: float = 500.0,
    charging: bool = False,
    limits: ChargerLimits = LIMITS,
) -> PolicyContext:
    """A context `t` seconds after T0."""
    return PolicyContext(
        now=T0 + timedelta(seconds=t),
        device_id="dev1",
        limits=limits,
        plugged_in=plugged,
        charging=charging,
        car_power_w=0.0,
        surplus_w=surplus,
        pv_w=None if surplus is None else surplus + household,
        household_w=household,
        fresh=True,
        reading_age_s=0.0,
        session_energy_wh=energy_wh,
        commanded=CommandedState(),
        forecast=forecast,
    )


def run(policy: Policy, script: Sequence[tuple[float, float]]) -> list[tuple[bool, int]]:
    """Feed (time s, surplus W) samples; return (charging, current) per sample."""
    out = []
    for t, surplus in script:
        d = policy.decide(ctx(t, surplus))
        out.append((d.charging, d.current_a if d.charging else 0))
    return out


# ----- solar_only ---------------------------------------------------------------------


def test_solar_only_waits_the_enable_delay_before_starting() -> None:
    policy = SolarOnlyPolicy(
        SolarOnlyParams(regulation="controller", enable_delay_s=60.0, deficit_budget_wh=None)
    )
    states = run(policy, [(0, 2000.0), (30, 2000.0), (59, 2000.0), (60, 2000.0)])
    assert [on for on, _ in states] == [False, False, False, True]
    assert states[-1][1] == 8  # floor(2000 / 230)


def test_solar_only_restarts_the_enable_delay_after_a_dip() -> None:
    policy = SolarOnlyPolicy(SolarOnlyParams(regulation="controller", enable_delay_s=60.0))
    states = run(policy, [(0, 2000.0), (40, 1000.0), (50, 2000.0), (100, 2000.0), (110, 2000.0)])
    assert [on for on, _ in states] == [False, False, False, False, True]


def test_solar_only_threshold_raises_the_start_power() -> None:
    policy = SolarOnlyPolicy(
        SolarOnlyParams(regulation="controller", enable_delay_s=0.0, threshold_w=300.0)
    )
    assert run(policy, [(0, MIN_W + 200.0)]) == [(False, 0)]
    assert run(policy, [(10, MIN_W + 300.0)]) == [(True, 7)]


def test_solar_only_keeps_the_minimum_through_the_disable_delay_then_stops() -> None:
    params = SolarOnlyParams(
        regulation="controller", enable_delay_s=0.0, disable_delay_s=180.0, deficit_budget_wh=None
    )
    policy = SolarOnlyPolicy(params)
    script = [(0, 3000.0), (60, 800.0), (120, 800.0), (200, 800.0), (240, 800.0)]
    assert run(policy, script) == [(True, 13), (True, 6), (True, 6), (True, 6), (False, 0)]


def test_solar_only_short_cloud_does_not_stop_charging() -> None:
    params = SolarOnlyParams(
        regulation="controller", enable_delay_s=0.0, disable_delay_s=180.0, deficit_budget_wh=None
    )
    policy = SolarOnlyPolicy(params)
    script = [(0, 3000.0), (60, 500.0), (180, 500.0), (200, 3000.0), (300, 500.0), (420, 500.0)]
    assert all(on for on, _ in run(policy, script))


def test_solar_only_deep_dip_stops_early_on_the_deficit_budget() -> None:
    params = SolarOnlyParams(
        regulation="controller", enable_delay_s=0.0, disable_delay_s=600.0, deficit_budget_wh=20.0
    )
    policy = SolarOnlyPolicy(params)
    # at 0 W surplus the minimum draws 1380 W from the grid: 23 Wh per minute
    script = [(0, 3000.0), (60, 0.0), (90, 0.0), (120, 0.0), (150, 0.0)]
    assert [on for on, _ in run(policy, script)] == [True, True, True, False, False]


def test_solar_only_shallow_dip_uses_the_whole_delay() -> None:
    params = SolarOnlyParams(
        regulation="controller", enable_delay_s=0.0, disable_delay_s=600.0, deficit_budget_wh=20.0
    )
    policy = SolarOnlyPolicy(params)
    # 1300 W surplus: 80 W short, 1.3 Wh per minute, 13 Wh over 10 minutes < 20 Wh
    script = [(0, 3000.0)] + [(60 * k, 1300.0) for k in range(1, 11)] + [(661, 1300.0)]
    states = run(policy, script)
    assert all(on for on, _ in states[:-1]) and states[-1] == (False, 0)


def test_solar_only_window_minimum_follows_drops_at_once_and_rises_late() -> None:
    params = SolarOnlyParams(regulation="controller", enable_delay_s=0.0, current_window_s=120.0)
    policy = SolarOnlyPolicy(params)
    script = [(0, 3000.0), (30, 2300.0), (60, 3000.0), (151, 3000.0), (200, 3000.0)]
    assert [a for _, a in run(policy, script)] == [13, 10, 10, 13, 13]


def test_solar_only_current_is_clamped_to_the_limits() -> None:
    policy = SolarOnlyPolicy(SolarOnlyParams(regulation="controller", enable_delay_s=0.0))
    assert run(policy, [(0, 10_000.0)]) == [(True, 16)]


def test_solar_only_waits_in_exclusive_pv_without_a_car() -> None:
    policy = SolarOnlyPolicy()
    for plugged in (False, None):
        d = policy.decide(ctx(0, 3000.0, plugged=plugged))
        assert d.charging and d.pv_mode is PvMode.EXCLUSIVE_PV


def test_solar_only_hands_over_on_a_steady_sky_and_reads_rarely() -> None:
    params = SolarOnlyParams(
        regulation="controller", handover_max_variability=0.1, handover_read_interval_s=1200.0
    )
    policy = SolarOnlyPolicy(params)
    steady = _forecast(np.full(100, 3000.0), variability=0.05)
    d = policy.decide(ctx(0, 2500.0, forecast=steady))
    assert d.pv_mode is PvMode.EXCLUSIVE_PV and "steady" in d.reason
    assert policy.preferred_read_interval_s(ctx(0, 2500.0)) == 1200.0
    broken = _forecast(np.full(100, 3000.0), variability=0.6)
    d = policy.decide(ctx(60, 2500.0, forecast=broken, charging=True))
    assert d.pv_mode is PvMode.MAX_POWER and d.charging  # resumes from what the charger did
    assert policy.preferred_read_interval_s(ctx(60, 2500.0)) is None


def test_solar_only_by_default_lets_the_charger_follow_the_sun_and_reads_rarely() -> None:
    policy = SolarOnlyPolicy(SolarOnlyParams(handover_read_interval_s=600.0))
    for t, surplus in [(0, 3000.0), (60, 500.0), (120, -800.0), (180, 9000.0)]:
        d = policy.decide(ctx(t, surplus, forecast=_forecast(np.full(100, 3000.0))))
        assert d.charging and d.pv_mode is PvMode.EXCLUSIVE_PV
        assert d.current_a == LIMITS.max_current_a  # the cap, the charger picks the current
        assert policy.preferred_read_interval_s(ctx(t, surplus)) == 600.0
    assert not policy.bridging  # bridging is off by default


def _bridging_policy(**overrides: float | bool) -> SolarOnlyPolicy:
    params = {
        "bridge_surplus_ratio": 1.5,
        "bridge_min_variability": 0.3,
        "bridge_max_deficit_wh": 30.0,
        "bridge_read_interval_s": 120.0,
        "bridge_cooldown_s": 900.0,
        "handover_read_interval_s": 900.0,
        **overrides,
    }
    return SolarOnlyPolicy(SolarOnlyParams.model_validate(params))


def test_solar_only_bridges_broken_clouds_over_a_bright_sky_in_pv_min() -> None:
    policy = _bridging_policy()
    bright = _forecast(np.full(100, 3000.0), variability=0.6)  # central 3600 W - 500 W house
    d = policy.decide(ctx(0, 2500.0, forecast=bright))
    assert d.pv_mode is PvMode.PV_MIN and policy.bridging and "shadows" in d.reason
    assert policy.preferred_read_interval_s(ctx(0, 2500.0)) == 120.0
    # a short shadow (one read at 800 W short of the minimum for 2 min: ~27 Wh) is bridged
    d = policy.decide(ctx(120, MIN_W - 800.0, forecast=bright))
    assert d.pv_mode is PvMode.PV_MIN
    d = policy.decide(ctx(240, 2500.0, forecast=bright))
    assert d.pv_mode is PvMode.PV_MIN and policy.bridging


def test_solar_only_ends_a_bridge_after_a_long_shadow_and_cools_down() -> None:
    policy = _bridging_policy()
    bright = _forecast(np.full(100, 3000.0), variability=0.6)
    policy.decide(ctx(0, 2500.0, forecast=bright))
    policy.decide(ctx(120, 0.0, forecast=bright))  # 2 min x 1380 W = 46 Wh > 30 Wh
    d = policy.decide(ctx(240, 0.0, forecast=bright))
    assert d.pv_mode is PvMode.EXCLUSIVE_PV and not policy.bridging
    assert policy.preferred_read_interval_s(ctx(240, 0.0)) == 900.0
    d = policy.decide(ctx(600, 2500.0, forecast=bright))  # within the cooldown
    assert d.pv_mode is PvMode.EXCLUSIVE_PV
    d = policy.decide(ctx(240 + 901, 2500.0, forecast=bright))
    assert d.pv_mode is PvMode.PV_MIN


@pytest.mark.parametrize(
    ("pv_w", "variability", "energy_wh", "why"),
    [
        (3000.0, 0.1, 0.0, "steady sky"),
        (1500.0, 0.6, 0.0, "too small"),  # central 1800 - 500 W house < 1.5 x 1380 W
        (3000.0, 0.6, 12_000.0, "has its energy"),
    ],
)
def test_solar_only_does_not_bridge_when_it_would_only_buy_grid(
    pv_w: float, variability: float, energy_wh: float, why: str
) -> None:
    policy = _bridging_policy()
    fc = _forecast(np.full(100, pv_w), variability=variability)
    c = replace(ctx(0, 2500.0, forecast=fc, energy_wh=energy_wh), target_wh=10_000.0)
    d = policy.decide(c)
    assert d.pv_mode is PvMode.EXCLUSIVE_PV and why in d.reason and not policy.bridging


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=-2000, max_value=8000), min_size=1, max_size=60))
def test_solar_only_never_leaves_the_current_limits(surpluses: list[float]) -> None:
    policy = SolarOnlyPolicy(
        SolarOnlyParams(regulation="controller", enable_delay_s=30.0, disable_delay_s=60.0)
    )
    for i, s in enumerate(surpluses):
        d = policy.decide(ctx(30.0 * i, s))
        if d.charging:
            assert LIMITS.min_current_a <= d.current_a <= LIMITS.max_current_a
            assert d.pv_mode is PvMode.MAX_POWER


# ----- solar_only: following the car's taper ------------------------------------------

EXCLUSIVE = CommandedState(current_a=16, pv_mode=PvMode.EXCLUSIVE_PV, charging=True)
PV_MIN = CommandedState(current_a=16, pv_mode=PvMode.PV_MIN, charging=True)


def reading(
    t: float, surplus: float, car_w: float, commanded: CommandedState = EXCLUSIVE
) -> PolicyContext:
    """A fresh reading `t` s after T0: the car drew `car_w` under `commanded`."""
    return replace(ctx(t, surplus, charging=car_w > 0.0), car_power_w=car_w, commanded=commanded)


def _tapering_policy() -> SolarOnlyPolicy:
    """A default solar_only that has seen the car draw 920 W (4 A) of a 10 A offer."""
    policy = SolarOnlyPolicy()
    d = policy.decide(reading(0, 2500.0, 920.0))
    assert policy.acceptance.bound_w == 920.0
    # PV+min at once: up here it charges as exclusive PV would, and is ready for a dip
    assert d.charging and d.pv_mode is PvMode.PV_MIN and policy.following_taper
    assert d.current_a == LIMITS.max_current_a
    assert policy.preferred_read_interval_s(ctx(0, 2500.0)) == 120.0
    return policy


def _left_taper_policy() -> SolarOnlyPolicy:
    """A tapering car (880 W) whose last reading showed the grid paying: exclusive PV."""
    policy = _tapering_policy()
    d = policy.decide(reading(60, 500.0, 880.0, PV_MIN))  # the grid paid 380 W: leave
    assert d.pv_mode is PvMode.EXCLUSIVE_PV and not policy.following_taper
    assert "grid paid" in d.reason and policy.acceptance.bound_w == 880.0
    assert policy.preferred_read_interval_s(ctx(60, 500.0)) == 120.0  # still watching
    return policy


def test_solar_only_follows_a_taper_below_the_minimum_in_pv_min() -> None:
    policy = _left_taper_policy()
    # 1100 W cannot pay the 1380 W minimum (exclusive PV stops) but covers the car's 880 W
    d = policy.decide(reading(120, 1100.0, 0.0))
    assert d.charging and d.pv_mode is PvMode.PV_MIN and policy.following_taper
    assert policy.preferred_read_interval_s(ctx(120, 1100.0)) == 60.0  # below the minimum
    d = policy.decide(reading(180, 900.0, 860.0, PV_MIN))  # it drew less: the bound follows
    assert d.pv_mode is PvMode.PV_MIN and policy.acceptance.bound_w == 860.0
    d = policy.decide(reading(240, 3000.0, 850.0, PV_MIN))  # bright: PV+min charges the same
    assert d.pv_mode is PvMode.PV_MIN
    assert policy.preferred_read_interval_s(ctx(240, 3000.0)) == 120.0


def test_solar_only_enters_the_taper_only_with_a_margin_over_the_draw() -> None:
    policy = _left_taper_policy()
    d = policy.decide(reading(120, 880.0 + 49.0, 0.0))
    assert d.pv_mode is PvMode.EXCLUSIVE_PV and "below the 930 W" in d.reason
    d = policy.decide(reading(180, 880.0 + 50.0, 0.0))
    assert d.pv_mode is PvMode.PV_MIN
    d = policy.decide(reading(240, 880.0, 870.0, PV_MIN))  # stays while the surplus covers it
    assert d.pv_mode is PvMode.PV_MIN


def test_solar_only_keeps_its_taper_mode_between_readings() -> None:
    """Only a reading changes the taper decision, so `next_decision_at` may promise FOREVER."""
    policy = _tapering_policy()
    for t, extrapolated in [(120, -500.0), (180, 5000.0), (240, 0.0)]:
        c = replace(ctx(t, extrapolated), fresh=False)
        assert policy.decide(c).pv_mode is PvMode.PV_MIN
        assert policy.next_decision_at(c) == FOREVER
    policy = _left_taper_policy()
    c = replace(ctx(120, 1100.0), fresh=False)  # an extrapolated surplus in reach: no switch
    assert policy.decide(c).pv_mode is PvMode.EXCLUSIVE_PV
    assert policy.next_decision_at(c) == FOREVER


@pytest.mark.parametrize(
    ("car_w", "why"),
    [
        (1380.0, "at least the minimum"),  # draws the whole minimum offer: not tapering below
        (1300.0, "at least the minimum"),  # within the tolerance of the minimum
        (0.0, "at least the minimum"),  # never seen charging: nothing known
    ],
)
def test_solar_only_does_not_follow_a_taper_it_has_not_seen(car_w: float, why: str) -> None:
    policy = SolarOnlyPolicy()
    policy.decide(reading(0, MIN_W, car_w))
    d = policy.decide(reading(60, 1100.0, 0.0))
    assert d.pv_mode is PvMode.EXCLUSIVE_PV and why in d.reason
    assert policy.preferred_read_interval_s(ctx(60, 1100.0)) == 900.0


def test_solar_only_taper_ends_when_full_unplugged_or_accepting_more() -> None:
    policy = _tapering_policy()
    d = policy.decide(reading(60, 1100.0, 0.0, PV_MIN))  # offered 6 A, took nothing: full
    assert d.pv_mode is PvMode.EXCLUSIVE_PV and "full" in d.reason
    assert policy.preferred_read_interval_s(ctx(60, 1100.0)) == 900.0
    policy = _tapering_policy()
    policy.decide(ctx(60, 1100.0, plugged=False))
    assert policy.acceptance.bound_w is None and not policy.following_taper
    assert policy.decide(reading(120, 1100.0, 0.0)).pv_mode is PvMode.EXCLUSIVE_PV
    policy = _tapering_policy()
    policy.decide(reading(60, 2500.0, 2300.0, PV_MIN))  # takes the whole 10 A offer
    assert policy.acceptance.bound_w is None
    assert policy.decide(reading(120, 1100.0, 0.0)).pv_mode is PvMode.EXCLUSIVE_PV


def test_solar_only_taper_following_can_be_switched_off() -> None:
    policy = SolarOnlyPolicy(SolarOnlyParams(taper_follow=False))
    policy.decide(reading(0, 2500.0, 920.0))
    d = policy.decide(reading(60, 1100.0, 0.0))
    assert d.pv_mode is PvMode.EXCLUSIVE_PV and "off" in d.reason


def test_offered_power_follows_the_commanded_mode() -> None:
    assert offered_w(reading(0, 2500.0, 0.0)) == 10 * 230.0  # floor(2500 / 230)
    assert offered_w(reading(0, 500.0, 0.0, PV_MIN)) == MIN_W  # never below the minimum
    assert offered_w(reading(0, 9000.0, 0.0)) == 16 * 230.0  # never above the cap
    fixed = CommandedState(current_a=8, pv_mode=PvMode.MAX_POWER, charging=True)
    assert offered_w(reading(0, 500.0, 0.0, fixed)) == 8 * 230.0
    assert offered_w(reading(0, 2500.0, 0.0, CommandedState())) == MIN_W


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(min_value=-1500, max_value=6000), st.floats(0.0, 1.0)),
        min_size=1,
        max_size=40,
    ),
    st.floats(min_value=300.0, max_value=3680.0),
)
def test_solar_only_picks_pv_min_only_when_the_reading_covers_a_sub_minimum_car(
    samples: list[tuple[float, float]], accepts_w: float
) -> None:
    """A car whose acceptance only falls: PV+min is chosen only at readings whose surplus
    covers what the car was last seen to accept, and only while that is below the minimum."""
    policy = SolarOnlyPolicy()
    commanded = EXCLUSIVE
    for i, (surplus, fill) in enumerate(samples):
        accepts_w *= 1.0 - 0.05 * fill  # the taper: acceptance falls as the car fills
        offer_w = offered_w(reading(0, surplus, 0.0, commanded))
        charging = commanded.pv_mode is PvMode.PV_MIN or surplus >= MIN_W
        car_w = min(offer_w, accepts_w) if charging else 0.0
        d = policy.decide(reading(60.0 * i, surplus, car_w, commanded))
        if d.pv_mode is PvMode.PV_MIN:
            bound = policy.acceptance.bound_w
            assert bound is not None and bound >= accepts_w - 1e-6
            assert bound < MIN_W and surplus >= bound
        commanded = replace(commanded, pv_mode=d.pv_mode)


def _taper_day(drop_minutes: int) -> BacktestInputs:
    """A car arriving at 95 % (it accepts 4 A, 920 W, and less as it fills) in half an
    hour of 2500 W surplus, then 1100 W for 5 h, with a `drop_minutes` shadow at noon."""
    start = datetime(2026, 6, 1, 22, 0, tzinfo=UTC)
    index = pd.date_range(start, periods=1440, freq="min")
    hours = (index - start).total_seconds().to_numpy() / 3600.0
    surplus = np.where(hours < 10.5, 2500.0, 1100.0)
    surplus[(hours < 10.0) | (hours >= 15.5)] = 0.0
    surplus[(hours >= 12.0) & (hours < 12.0 + drop_minutes / 60.0)] = -300.0
    sessions = pd.DataFrame(
        {
            "arrival": [start + timedelta(hours=9.9)],
            "departure": [start + timedelta(hours=17)],
            "energy_kwh": [3.0],
        }
    )
    return BacktestInputs(
        pv_w=pd.Series(surplus + 400.0, index=index),
        house_w=pd.Series(400.0, index=index),
        sessions=sessions,
        start=start,
        end=start + timedelta(days=1),
        site=GRAZ,
    )


@pytest.mark.parametrize("drop_minutes", [0, 10])
def test_solar_only_takes_the_taper_the_charger_alone_leaves(drop_minutes: int) -> None:
    inputs = _taper_day(drop_minutes)
    setup = BacktestSetup(car=CarConfig(departure_soc=1.0))  # arrival SoC 1 - 3/60
    device = run_backtest(inputs, baseline_contender("device_exclusive_pv"), setup)
    policy = run_backtest(inputs, policy_contender("solar_only"), setup)
    assert device.totals["grid_wh"] == 0.0
    assert device.totals["solar_wh"] < 500.0  # only the bright half hour
    assert policy.totals["solar_wh"] > device.totals["solar_wh"] + 1500.0
    # a shadow costs at most the car's draw until the next reading (60 s) plus a step
    assert policy.totals["grid_wh"] <= (920.0 * 2.0 / 60.0 if drop_minutes else 0.0)
    assert len(policy.calls) < 600


# ----- baselines and simple policies ---------------------------------------------------


def test_evcc_style_uses_its_delays_and_truncates_at_230_v() -> None:
    policy = make_policy("evcc_style")
    script = [(0, 2000.0), (30, 2000.0), (60, 2000.0), (90, 1000.0), (240, 1000.0), (270, 1000.0)]
    assert run(policy, script) == [
        (False, 0),
        (False, 0),
        (True, 8),
        (True, 6),
        (True, 6),
        (False, 0),
    ]


def test_evcc_style_waits_paused_without_a_car() -> None:
    d = make_policy("evcc_style").decide(ctx(0, 3000.0, plugged=False))
    assert not d.charging


def test_min_solar_keeps_the_minimum_and_adds_surplus() -> None:
    policy = make_policy("min_solar", {"regulation": "controller"})
    assert run(policy, [(0, -500.0), (60, 2500.0), (120, 9000.0)]) == [
        (True, 6),
        (True, 10),
        (True, 16),
    ]


def test_min_solar_by_default_hands_the_charger_its_pv_min_mode() -> None:
    policy = make_policy("min_solar", {"handover_read_interval_s": 1200.0})
    for t, surplus in [(0, -500.0), (60, 2500.0)]:
        d = policy.decide(ctx(t, surplus))
        assert d.charging and d.pv_mode is PvMode.PV_MIN
        assert policy.preferred_read_interval_s(ctx(t, surplus)) == 1200.0


@pytest.mark.parametrize(
    ("regulation", "plugged", "surplus", "promise"),
    [
        ("charger", True, 2500.0, FOREVER),  # the charger's PV+min, whatever the clock
        ("charger", False, 2500.0, FOREVER),
        ("controller", False, 2500.0, FOREVER),  # no car: waits in PV+min
        ("controller", True, None, FOREVER),  # nothing read yet: only a reading helps
        ("controller", True, 2500.0, None),  # follows the extrapolated surplus
    ],
)
def test_min_solar_promises_its_decision_only_where_a_reading_alone_changes_it(
    regulation: str, plugged: bool, surplus: float | None, promise: datetime | None
) -> None:
    """`next_decision_at` (see `Policy.next_decision_at`); the backtest equivalence with and
    without it is in benchmarks/policy_results.md (trace_backtest, identical calls)."""
    policy = make_policy("min_solar", {"regulation": regulation})
    c = replace(ctx(0, surplus, plugged=plugged), fresh=False)
    first = policy.decide(c)
    assert policy.next_decision_at(c) == promise
    if promise is FOREVER:  # the same decision at any later time and extrapolated surplus
        for t, later in [(300, -900.0), (3600, 7000.0)]:
            extrapolated = None if surplus is None else later  # still nothing read
            d = policy.decide(replace(ctx(t, extrapolated, plugged=plugged), fresh=False))
            assert (d.charging, d.current_a, d.pv_mode) == (
                first.charging,
                first.current_a,
                first.pv_mode,
            )


def test_fast_and_off() -> None:
    fast = make_policy("fast").decide(ctx(0, -1000.0))
    assert fast.charging and fast.current_a == 16 and fast.pv_mode is PvMode.MAX_POWER
    off = make_policy("off").decide(ctx(0, 5000.0))
    assert not off.charging


def test_fast_and_off_read_rarely_but_fast_watches_the_fuse() -> None:
    fused = ChargerLimits(min_current_a=6, max_current_a=16, phases=1, main_fuse_w=5750.0)
    fast = make_policy("fast", {"read_interval_s": 600.0})
    assert fast.preferred_read_interval_s(ctx(0, 0.0)) == 600.0
    assert fast.preferred_read_interval_s(ctx(0, 0.0, limits=fused)) is None
    assert make_policy("off").preferred_read_interval_s(ctx(0, 0.0)) == 1800.0
    with pytest.raises(ValueError, match="read_interval_s"):
        make_policy("off", {"read_interval_s": 0})


def test_device_native_uses_its_mode_and_never_reads() -> None:
    policy = make_policy("device_native", {"mode": "exclusive_pv"})
    d = policy.decide(ctx(0, None, plugged=None))
    assert d.charging and d.pv_mode is PvMode.EXCLUSIVE_PV
    assert policy.preferred_read_interval_s(ctx(0, None)) == math.inf
    assert policy.name == "device_exclusive_pv"


def test_unknown_policy_and_bad_params_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown policy 'turbo'"):
        make_policy("turbo")
    with pytest.raises(ValueError, match="enable_delay_s"):
        make_policy("solar_only", {"enable_delay_s": -1})


# ----- target ---------------------------------------------------------------------------


def _forecast(
    pessimistic: np.ndarray, variability: float = 0.5, step_s: float = 900.0
) -> PvForecast:
    return PvForecast(
        start=T0,
        step_s=step_s,
        central_w=pessimistic * 1.2,
        pessimistic_w=pessimistic.astype(float),
        clear_sky_w=pessimistic * 1.5,
        variability=variability,
    )


def test_choose_latest_slots_takes_the_last_slots_first() -> None:
    chosen = choose_latest_slots(np.full(10, 100.0), 250.0)
    assert chosen.tolist() == [False] * 7 + [True] * 3


def test_choose_latest_slots_prefers_the_cheap_window() -> None:
    cheap = np.zeros(10, dtype=bool)
    cheap[2:4] = True
    chosen = choose_latest_slots(np.full(10, 100.0), 250.0, cheap)
    assert np.flatnonzero(chosen).tolist() == [2, 3, 9]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=1000), min_size=1, max_size=50),
    st.floats(min_value=0, max_value=20_000),
)
def test_choose_latest_slots_covers_the_need_with_the_latest_slots(
    caps: list[float], needed: float
) -> None:
    capacity = np.array(caps)
    chosen = choose_latest_slots(capacity, needed)
    total = capacity[chosen].sum()
    if needed <= 0:
        assert not chosen.any()
    elif capacity.sum() < needed:
        assert chosen.all()
    else:
        assert total >= needed * (1 - 1e-9)
        # contiguous at the end, and dropping the earliest chosen slot would fall short
        first = int(np.flatnonzero(chosen)[0])
        assert chosen[first:].all()
        assert capacity[first + 1 :].sum() < needed * (1 + 1e-9)


def _night_then_sun() -> np.ndarray:
    """Quarter-hours from 18:00 UTC: dark until 04:00 UTC (40 slots), then 3 kW PV."""
    pv = np.zeros(96)
    pv[40:] = 3000.0
    return pv


def test_target_draws_only_the_missing_energy_as_late_as_possible() -> None:
    # departure 07:30 UTC, 15 min margin -> deadline 07:15 = 53 quarter-hours from 18:00
    params = TargetParams(
        target_kwh=10.0, departure="07:30", margin_s=900.0, household_w=500.0, planner="window"
    )
    policy = TargetPolicy(params)
    fc = _forecast(_night_then_sun())
    c = ctx(0, -500.0, forecast=fc, household=500.0)
    plan = policy.plan(c)
    # sun from 04:00 to 07:15: 13 slots of (3000 - 500) W = 8.125 kWh
    assert plan.solar_expected_wh == pytest.approx(13 * 2500.0 * 0.25)
    assert plan.grid_wh == pytest.approx(10_000.0 - 8125.0)
    # the latest slots are sunny: at 16 A (3680 W) the grid adds 1180 W = 295 Wh per slot,
    # so 1875 Wh need the last 7 slots before the deadline (06:00 .. 07:15 UTC)
    chosen = np.flatnonzero(plan.chosen).tolist()
    assert chosen == list(range(46, 53))
    assert plan.latest_start == T0 + timedelta(minutes=15 * 46)
    # now (18:00) is not a grid slot: solar-only (dark: the charger's exclusive-PV mode,
    # which draws nothing without surplus; it used to be an explicit pause when the
    # controller regulated the solar part itself)
    d = policy.decide(c)
    assert (not d.charging or d.pv_mode is PvMode.EXCLUSIVE_PV) and "grid 1.9 kWh" in d.reason
    # at 05:30 UTC it is
    late = policy.decide(ctx(46 * 900.0, 2500.0, forecast=fc))
    assert late.charging and late.current_a == 16 and late.pv_mode is PvMode.MAX_POWER


def test_target_with_enough_sun_draws_nothing_from_the_grid() -> None:
    policy = TargetPolicy(
        TargetParams(target_kwh=5.0, departure="07:30", household_w=500.0, planner="window")
    )
    plan = policy.plan(ctx(0, -500.0, forecast=_forecast(_night_then_sun())))
    assert plan.grid_wh == 0.0 and not plan.chosen.any()


def test_target_counts_energy_already_in_the_car() -> None:
    policy = TargetPolicy(
        TargetParams(target_kwh=10.0, departure="07:30", household_w=500.0, planner="window")
    )
    plan = policy.plan(ctx(0, -500.0, energy_wh=9000.0, forecast=_forecast(_night_then_sun())))
    assert plan.missing_wh == 1000.0 and plan.grid_wh == 0.0


def test_target_past_the_deadline_charges_now() -> None:
    policy = TargetPolicy(
        TargetParams(target_kwh=10.0, departure="18:10", margin_s=900.0, planner="window")
    )
    d = policy.decide(ctx(0, -500.0, forecast=_forecast(np.zeros(96))))
    assert d.charging and d.current_a == 16


def test_target_uses_the_cheap_window_first() -> None:
    tariff = TariffConfig(
        import_price_per_kwh=0.30, cheap_price_per_kwh=0.10, cheap_start="22:00", cheap_end="23:00"
    )
    params = TargetParams(target_kwh=10.0, departure="07:30", household_w=500.0, planner="window")
    policy = TargetPolicy(params, tariff)
    c = ctx(0, -500.0, forecast=_forecast(_night_then_sun()))
    chosen = np.flatnonzero(policy.plan(c).chosen).tolist()
    # cheap 22:00-23:00 UTC = slots 16..19 at 920 Wh each: 1875 Wh takes the latest three
    assert chosen == [17, 18, 19]

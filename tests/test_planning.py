"""The least-cost planner: hand-checked small cases, limits, and the optimum's cost."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from optimizer.backtest.optimum import ChargeLimits, solve_session
from optimizer.highs_milp import FloatArray, Milp, MilpSolution, OptionValue, solve_milp
from optimizer.limits import ChargerLimits
from optimizer.planning import (
    ChargerNow,
    PlanRequest,
    SlotMode,
    TaperLine,
    least_cost_schedule,
    taper_caps_w,
)
from optimizer.planning.least_cost import _OBJECTIVE_SCALE, _Model
from optimizer.planning.slots import slot_means, slot_prices
from optimizer.prices.series import PriceSeries

T0 = datetime(2025, 6, 1, 0, 0, tzinfo=UTC)
HOUR = 3600.0
LIMITS = ChargerLimits(min_current_a=6, max_current_a=16, phases=1, voltage_v=230.0)
FULL_W = 16 * 230.0  # 3680 W
MIN_W = 6 * 230.0  # 1380 W


def hourly(
    imports: list[float],
    wanted_wh: float,
    *,
    exports: list[float] | None = None,
    surplus: list[float] | None = None,
    **options: object,
) -> PlanRequest:
    """A request of 1-hour slots and blocks, no sun unless given, export price 0."""
    n = len(imports)
    return PlanRequest(
        start=T0,
        import_eur_per_kwh=np.array(imports, dtype=float),
        export_eur_per_kwh=np.zeros(n) if exports is None else np.array(exports, dtype=float),
        surplus_w=np.zeros(n) if surplus is None else np.array(surplus, dtype=float),
        energy_wanted_wh=wanted_wh,
        limits=options.pop("limits", LIMITS),  # type: ignore[arg-type]
        step_s=HOUR,
        block_s=HOUR,
        **options,  # type: ignore[arg-type]
    )


def lp_relaxation(request: PlanRequest) -> tuple[_Model, FloatArray, float]:
    """The least-cost model of `request`, its LP relaxation's solution (no whole numbers)
    and objective (EUR), solved by HiGHS as the planner calls it."""
    model = _Model(request)
    relaxed = replace(model.milp(), integer=np.zeros(model.n_vars, dtype=bool))
    lp = solve_milp(relaxed, {})
    assert lp.x is not None and lp.status == "optimal"
    return model, lp.x, lp.objective / _OBJECTIVE_SCALE


def powers(request: PlanRequest) -> list[float]:
    return [round(s.power_w, 3) for s in least_cost_schedule(request).slots]


def test_buys_in_the_cheapest_hour() -> None:
    plan = least_cost_schedule(hourly([0.3, 0.1, 0.2, 0.4], FULL_W))
    assert [round(s.power_w) for s in plan.slots] == [0, 3680, 0, 0]
    assert plan.cost_eur == pytest.approx(0.368)
    assert plan.shortfall_wh == 0.0
    assert plan.status == "optimal"
    assert plan.grid_wh == pytest.approx(FULL_W)


def test_the_minimum_current_moves_energy_into_the_dearer_hour() -> None:
    # 5000 Wh: the cheapest hour full leaves 1320 Wh, below the 1380 W minimum; the
    # cheapest split is 3620 Wh at 0.1 and the minimum 1380 Wh at 0.2.
    plan = least_cost_schedule(hourly([0.3, 0.1, 0.2, 0.4], 5000.0))
    assert [round(s.power_w) for s in plan.slots] == [0, 3620, 1380, 0]
    assert plan.cost_eur == pytest.approx(0.362 + 0.276)
    assert plan.energy_wh == pytest.approx(5000.0)


def test_a_remainder_below_a_block_at_the_minimum_is_still_planned() -> None:
    plan = least_cost_schedule(hourly([0.3, 0.1], 100.0))
    assert [round(s.power_w) for s in plan.slots] == [0, 1380]
    assert plan.shortfall_wh == 0.0


def test_a_small_remainder_is_not_bought_early_for_the_clocks_short_first_block() -> None:
    """1 kWh from 15:30: the first block ends at 16:00 and can hold exactly 1 kWh, each
    later hour at least 1.38 kWh at the minimum current, of which the car draws only the
    1 kWh it needs. Counted whole, a later hour looked dearer than a dearer first half hour
    (1.38 x 0.209 against 1 x 0.217): a home-office car bought on a Saturday afternoon
    what the night would have sold cheaper, before the sun covered it."""
    n = 2 + 4 * 10
    prices = np.full(n, 0.209)
    prices[:2] = 0.217
    request = PlanRequest(
        T0 + timedelta(hours=15, minutes=30), prices, np.zeros(n), np.zeros(n), 1000.0,
        LIMITS, step_s=900.0,
    )  # fmt: skip
    plan = least_cost_schedule(request)
    assert plan.shortfall_wh == 0.0
    assert [s.from_grid_wh for s in plan.slots[:2]] == [0.0, 0.0]
    assert plan.grid_wh >= 1000.0 - 1e-6
    assert max(s.power_w for s in plan.slots) == pytest.approx(MIN_W)  # one hour at 6 A


def test_negative_prices_are_used_and_earn_money() -> None:
    plan = least_cost_schedule(hourly([0.2, -0.05, 0.2], 3000.0))
    assert [round(s.power_w) for s in plan.slots] == [0, 3000, 0]
    assert plan.cost_eur == pytest.approx(-0.15)
    assert "negative price" in plan.slots[1].reason


def test_solar_first_at_its_export_value_then_the_cheapest_grid() -> None:
    # 3000 W of sun in the first hour, worth 0.05 exported; the grid costs 0.3 then 0.25.
    request = hourly([0.3, 0.25], 5000.0, exports=[0.05, 0.05], surplus=[3000.0, 0.0])
    plan = least_cost_schedule(request)
    first, second = plan.slots
    # The sun hour at full power (3000 Wh sun + 680 grid at 0.30) would cost 0.354;
    # 3000 sun + 2000 in the second hour costs 0.15 + 0.5 = 0.65 against
    # 3680 (0.15 + 0.204) + 1380 ... the planner must find the cheapest of these.
    assert plan.energy_wh == pytest.approx(5000.0)
    assert first.from_solar_wh == pytest.approx(3000.0)
    best = min(
        0.15 + 0.680 * 0.3 + 1.320 * 0.25,  # full in the sun hour, the rest next hour
        0.15 + 2.000 * 0.25,  # sun only, then 2000 Wh at 0.25
    )
    assert plan.cost_eur == pytest.approx(best)
    assert second.from_solar_wh == 0.0


def test_sun_only_hours_use_the_chargers_own_pv_mode() -> None:
    request = hourly([0.3, 0.3, 0.3], 4000.0, exports=[0.05] * 3, surplus=[2000.0, 2500.0, 0.0])
    plan = least_cost_schedule(request)
    assert [s.mode for s in plan.slots[:2]] == [SlotMode.SOLAR, SlotMode.SOLAR]
    assert plan.grid_wh == pytest.approx(0.0)
    assert plan.solar_wh == pytest.approx(4000.0)
    # One command: into the PV mode; following the sun needs none.
    assert [s.command for s in plan.slots] == [True, False, True]


def test_grid_cheaper_than_export_takes_all_the_sun_before_the_grid() -> None:
    # Import 0.02 < export 0.08: charging at full power in the sun hour is cheapest,
    # and physically the car still takes the 2000 W of sun first.
    request = hourly([0.02, 0.3], FULL_W, exports=[0.08, 0.08], surplus=[2000.0, 0.0])
    slot = least_cost_schedule(request).slots[0]
    assert slot.power_w == pytest.approx(FULL_W)
    assert slot.from_solar_wh == pytest.approx(2000.0)
    assert slot.from_grid_wh == pytest.approx(1680.0)
    assert slot.cost_eur == pytest.approx(2.0 * 0.08 + 1.68 * 0.02)


def test_an_impossible_target_gives_the_most_deliverable_and_the_shortfall() -> None:
    plan = least_cost_schedule(hourly([0.3, 0.2], 10_000.0))
    assert plan.energy_wh == pytest.approx(2 * FULL_W)
    assert plan.shortfall_wh == pytest.approx(10_000.0 - 2 * FULL_W)
    assert "cheaper" not in plan.slots[0].reason


def test_the_fuse_caps_the_car_and_blocks_hours_below_the_minimum() -> None:
    limits = replace_limits(main_fuse_w=9000.0)
    house = np.array([8000.0, 6500.0, 1000.0])
    request = hourly([0.1, 0.1, 0.3], 6000.0, limits=limits, house_w=house)
    plan = least_cost_schedule(request)
    # Hour 0: 1000 W headroom < 1380 W minimum; hour 1: 2500 W; the rest at 0.3.
    assert [round(s.power_w) for s in plan.slots] == [0, 2500, 3500]
    for slot, load in zip(plan.slots, house, strict=True):
        assert slot.power_w + load <= 9000.0 + 1e-6


def test_grid_import_limit_caps_the_grid_part() -> None:
    limits = replace_limits(max_grid_import_w=2000.0)
    plan = least_cost_schedule(hourly([0.1, 0.3], 3000.0, limits=limits))
    # 2000 + 1000 would do, but 1000 W is below the 1380 W minimum: 1620 + 1380.
    assert [round(s.from_grid_wh) for s in plan.slots] == [1620, 1380]


def test_three_phases_and_the_voltage_set_the_power() -> None:
    limits = replace_limits(phases=3, max_current_a=16)
    plan = least_cost_schedule(hourly([0.1, 0.3], 20_000.0, limits=limits))
    assert plan.slots[0].power_w == pytest.approx(16 * 3 * 230.0)
    assert plan.slots[0].current_a == pytest.approx(16.0)


def test_a_per_slot_cap_and_a_taper_line_limit_the_power() -> None:
    capped = least_cost_schedule(hourly([0.1, 0.2], 5000.0, max_power_w=np.array([2000.0, 4000.0])))
    assert [round(s.power_w) for s in capped.slots] == [2000, 3000]
    # Taper: at most 3680 - 0.5 x energy so far: after 3680 Wh only 1840 W.
    taper = (TaperLine(power_w=FULL_W, w_per_wh=0.5),)
    tapered = least_cost_schedule(hourly([0.1, 0.1, 0.1], 20_000.0, taper=taper))
    delivered = 0.0
    for slot in tapered.slots:
        assert slot.power_w <= FULL_W - 0.5 * delivered + 1e-6
        delivered += slot.energy_wh
    assert tapered.shortfall_wh > 0.0


def test_taper_caps_are_the_lines_along_full_power_charging() -> None:
    taper = (TaperLine(power_w=FULL_W, w_per_wh=0.5),)
    caps = taper_caps_w(taper, np.full(3, FULL_W), 1.0)
    assert caps.tolist() == pytest.approx([FULL_W, FULL_W - 0.5 * FULL_W, FULL_W - 0.75 * FULL_W])
    # Conservative: the plan under those caps keeps below the exact lines.
    plan = least_cost_schedule(hourly([0.1, 0.1, 0.1], 20_000.0, max_power_w=caps))
    delivered = 0.0
    for slot in plan.slots:
        assert slot.power_w <= FULL_W - 0.5 * delivered + 1e-6
        delivered += slot.energy_wh


def test_fixed_power_changes_only_at_block_boundaries() -> None:
    n = 8  # two hours of 15-minute slots
    prices = np.array([0.3, 0.3, 0.1, 0.1, 0.2, 0.2, 0.2, 0.2])
    request = PlanRequest(T0, prices, np.zeros(n), np.zeros(n), 3000.0, LIMITS, step_s=900.0)
    plan = least_cost_schedule(request)
    first, second = plan.slots[:4], plan.slots[4:]
    assert len({round(s.power_w, 6) for s in first}) == 1
    assert len({round(s.power_w, 6) for s in second}) == 1
    assert plan.energy_wh == pytest.approx(3000.0)


def test_a_charger_already_at_the_planned_power_needs_no_command() -> None:
    now = ChargerNow(charging=True, power_w=FULL_W)
    plan = least_cost_schedule(hourly([0.1, 0.3], 2 * FULL_W, now=now))
    assert [s.command for s in plan.slots] == [False, False]
    cold = least_cost_schedule(hourly([0.1, 0.3], 2 * FULL_W))
    assert [s.command for s in cold.slots] == [True, False]
    assert [s.switch for s in cold.slots] == [True, False]


def test_command_costs_keep_a_run_together() -> None:
    # Without a command cost the cheapest hours 0 and 2 are used; each start costs
    # 0.05 here, more than the 0.01 EUR/kWh saved, so one run of two hours wins.
    prices = [0.10, 0.11, 0.10, 0.30]
    free = least_cost_schedule(hourly(prices, 2 * FULL_W, command_cost_eur=0.0))
    assert [round(s.power_w) for s in free.slots] == [3680, 0, 3680, 0]
    dear = least_cost_schedule(hourly(prices, 2 * FULL_W, command_cost_eur=0.05))
    assert dear.commands == 2  # start, stop
    assert dear.switches == 2


def test_nothing_wanted_is_an_idle_plan() -> None:
    plan = least_cost_schedule(hourly([0.1, 0.2], 0.0))
    assert plan.energy_wh == 0.0
    assert plan.commands == 0
    assert all(s.mode is SlotMode.OFF for s in plan.slots)
    assert plan.slot_at(T0 + timedelta(hours=1)) is plan.slots[1]
    assert plan.slot_at(T0 + timedelta(hours=2)) is None


def test_bad_requests_are_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="surplus_w has 2 slots"):
        PlanRequest(T0, np.zeros(3), np.zeros(3), np.zeros(2), 1.0, LIMITS)
    with pytest.raises(ValueError, match="main fuse needs the household load"):
        PlanRequest(T0, np.zeros(3), np.zeros(3), np.zeros(3), 1.0, replace_limits(main_fuse_w=9e3))
    with pytest.raises(ValueError, match="whole multiple"):
        PlanRequest(T0, np.zeros(3), np.zeros(3), np.zeros(3), 1.0, LIMITS, block_s=1000.0)
    with pytest.raises(ValueError, match="not finite at slot 1"):
        PlanRequest(T0, np.array([0.1, np.nan]), np.zeros(2), np.zeros(2), 1.0, LIMITS)


@pytest.mark.parametrize("seed", range(6))
def test_never_dearer_than_the_whole_amp_optimum(seed: int) -> None:
    """The backtest optimum (`target`, prices >= 0, solar free) on the same hourly instance.

    Its currents are whole amps, the planner's continuous: with no command cost and no
    export value the planner's cost is a lower bound of the optimum's, and close to it.
    """
    rng = np.random.default_rng(seed)
    n = 12
    prices = rng.uniform(0.05, 0.4, n)
    surplus = np.maximum(rng.uniform(-2000.0, 5000.0, n), -500.0)
    wanted = float(rng.uniform(2000.0, 20_000.0))
    optimum = solve_session(
        surplus,
        wanted,
        objective="target",
        step_s=HOUR,
        price_per_kwh=prices,
        limits=ChargeLimits(phases=1, min_current_a=6, max_current_a=16),
    )
    request = hourly(list(prices), wanted, surplus=list(surplus), command_cost_eur=0.0)
    plan = least_cost_schedule(request)
    assert plan.shortfall_wh == pytest.approx(optimum.shortfall_wh, abs=230.0)
    assert optimum.cost is not None
    if optimum.shortfall_wh == 0.0:
        assert plan.cost_eur <= optimum.cost + 1e-9
        assert plan.cost_eur >= optimum.cost - 0.23 * prices.max()  # under one amp-hour a slot


def test_slot_prices_sample_the_series_and_hold_the_last_known_price() -> None:
    series = PriceSeries.from_slots([T0, T0 + timedelta(hours=1)], [0.2, 0.3], [0.05, 0.04])
    imports, exports = slot_prices(series, T0 - timedelta(minutes=15), 10, 900.0)
    assert imports.tolist() == [0.2] * 5 + [0.3] * 4 + [0.3]
    assert exports.tolist() == [0.05] * 5 + [0.04] * 5
    no_export = PriceSeries.from_slots([T0], [0.2])
    assert slot_prices(no_export, T0, 2, 900.0, export_eur_per_kwh=0.07)[1].tolist() == [0.07] * 2
    with pytest.raises(ValueError, match="empty"):
        slot_prices(PriceSeries.empty(), T0, 2, 900.0)


def test_slot_means_average_a_finer_power_series() -> None:
    values = np.arange(8, dtype=float) * 100.0  # 5-minute steps
    means = slot_means(values, T0, 300.0, T0, 3, 900.0)
    assert means.tolist() == [100.0, 400.0, 650.0]


def test_slot_means_take_every_step_a_slot_overlaps_and_nothing_outside() -> None:
    values = np.arange(8, dtype=float) * 100.0  # 5-minute steps from T0
    # from 10 minutes before the series: the first slot holds step 0 only, the fourth
    # the last step only, the fifth nothing (0)
    means = slot_means(values, T0, 300.0, T0 - timedelta(minutes=10), 5, 900.0)
    assert means.tolist() == [0.0, 200.0, 500.0, 700.0, 0.0]
    # from 2.5 minutes in: each slot straddles four steps
    means = slot_means(values, T0, 300.0, T0 + timedelta(seconds=150), 2, 900.0)
    assert means.tolist() == [150.0, 450.0]
    assert slot_means(values, T0, 300.0, T0, 0, 900.0).shape == (0,)


def test_slot_prices_switch_exactly_at_the_interval_boundary() -> None:
    series = PriceSeries.from_slots([T0, T0 + timedelta(hours=1)], [0.2, 0.3])
    before = T0 + timedelta(hours=1) - timedelta(microseconds=1)
    assert slot_prices(series, before, 2, 1e-6)[0].tolist() == [0.2, 0.3]
    assert slot_prices(series, T0 - timedelta(microseconds=1), 1, 900.0)[0].tolist() == [0.2]


def test_the_relaxation_takes_no_more_sun_than_its_share_of_a_fixed_block() -> None:
    """HiGHS's LP relaxation (fractional `fix`) counts at most `S fix` of sun per slot.

    Winter sun below the minimum power, a cheap and a dear grid hour: taken for free
    at a fractional `fix`, it made the relaxation's bound far too low and the solves
    slow. Checked on the model's relaxation directly (the schedule is the same).
    """
    request = hourly([0.3, 0.3, 0.1, 0.4], 4000.0, surplus=[600.0, 900.0, 0.0, 300.0])
    model, x, relaxed_eur = lp_relaxation(request)
    fix = x[model.idx["fix"]][model.block]
    sun_in_fixed_wh = model.h * x[model.idx["P"]][model.block] - x[model.idx["g"]]
    assert np.all(sun_in_fixed_wh <= model.solar * fix + 1e-6)
    assert least_cost_schedule(request).objective_eur >= relaxed_eur - 1e-9


def replace_limits(**changes: object) -> ChargerLimits:
    return LIMITS.model_copy(update=changes)


def test_taper_rows_only_for_taper_lines() -> None:
    """One row per slot and line, none without lines (the model used to build the dense
    triangle of the lines' sums in any case)."""

    def rows(request: PlanRequest) -> int:
        return int(_Model(request).constraints()[0].shape[0])

    plain = hourly([0.1, 0.2, 0.3], 5000.0)
    line = TaperLine(power_w=FULL_W, w_per_wh=0.5)
    assert rows(hourly([0.1, 0.2, 0.3], 5000.0, taper=(line,))) == rows(plain) + 3
    assert rows(hourly([0.1, 0.2, 0.3], 5000.0, taper=(line, line))) == rows(plain) + 6


def test_a_plan_warns_nobody() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = least_cost_schedule(hourly([0.3, 0.1, 0.2], 3000.0))
    assert [str(w.message) for w in caught] == []
    assert [round(s.power_w) for s in plan.slots] == [0, 3000, 0]


def test_highs_never_restarts_its_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """The planner hands HiGHS `mip_allow_restart` off: root restarts were most of the
    slowest solves of a replayed year (BENCHMARKS.md 42)."""
    import optimizer.planning.least_cost as module

    handed: list[dict[str, object]] = []
    solve = module.solve_milp

    def spy(problem: Milp, options: Mapping[str, OptionValue]) -> MilpSolution:
        handed.append(dict(options))
        return solve(problem, options)

    monkeypatch.setattr(module, "solve_milp", spy)
    least_cost_schedule(hourly([0.3, 0.1, 0.2], 3000.0))
    assert [options["mip_allow_restart"] for options in handed] == [False]


def test_no_schedule_in_time_is_a_failed_idle_plan() -> None:
    """HiGHS stopped before any schedule (no time at all): the plan does nothing, all
    the energy wanted is short, the objective unknown."""
    plan = least_cost_schedule(hourly([0.3, 0.1, 0.2], 3000.0), time_limit_s=0.0)
    assert plan.status == "failed"
    assert [s.power_w for s in plan.slots] == [0.0, 0.0, 0.0]
    assert plan.shortfall_wh == pytest.approx(3000.0)
    assert np.isnan(plan.objective_eur)


@pytest.mark.parametrize("seed", range(8))
def test_without_the_dropped_heuristics_no_plan_is_dearer(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random quarter-hour instances (sun, prices, a fixed current in force), at the
    planner's own gap: the objective without HiGHS's feasibility-jump and reduced-cost
    heuristics is within that gap of the one with them."""
    import optimizer.planning.least_cost as module

    rng = np.random.default_rng(seed)
    n = int(rng.integers(24, 120))
    request = PlanRequest(
        start=T0,
        import_eur_per_kwh=np.round(rng.uniform(-0.02, 0.4, n), 3),
        export_eur_per_kwh=np.full(n, float(rng.choice([0.0, 0.06]))),
        surplus_w=rng.uniform(-2000.0, 5000.0, n) * (rng.random(n) < 0.5),
        energy_wanted_wh=float(rng.uniform(1000.0, 25_000.0)),
        limits=LIMITS,
        switch_cost_eur=0.01,
        now=ChargerNow(charging=True, power_w=2300.0),
    )
    without = least_cost_schedule(request, time_limit_s=30.0)
    monkeypatch.setattr(module, "HEURISTICS_OFF", {})
    with_them = least_cost_schedule(request, time_limit_s=30.0)
    tolerance = module.DEFAULT_MIP_GAP * abs(with_them.objective_eur) + 1e-6
    assert without.objective_eur <= with_them.objective_eur + tolerance


def sunny_request(seed: int) -> PlanRequest:
    """A random quarter-hour plan with days of sun (some above the minimum power), a
    need the sun may or may not cover, the car off or at a fixed current now."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(48, 160))
    day = np.clip(np.sin(np.arange(n) * 2 * np.pi / 96.0), 0.0, None)
    charging = bool(rng.random() < 0.5)
    return PlanRequest(
        start=T0,
        import_eur_per_kwh=np.round(rng.uniform(0.05, 0.4, n), 3),
        export_eur_per_kwh=np.full(n, float(rng.choice([0.0, 0.06]))),
        surplus_w=day * rng.uniform(500.0, 6000.0) - rng.uniform(0.0, 800.0, n),
        energy_wanted_wh=float(rng.uniform(300.0, 20_000.0)),
        limits=LIMITS,
        block_s=HOUR * float(rng.choice([1, 3])),
        switch_cost_eur=0.01,
        now=ChargerNow(charging=charging, power_w=2300.0 if charging else 0.0),
    )


@pytest.mark.parametrize("seed", range(10))
def test_the_sun_bound_rows_cut_off_no_optimum(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Proven optima (gap 1e-7) of random sunny plans, with and without the rows that
    bound the PV mode's energy and ask for a start: the same objective."""
    request = sunny_request(seed)
    with_rows = least_cost_schedule(request, time_limit_s=60.0, mip_gap=1e-7, node_limit=None)
    monkeypatch.setattr(_Model, "_sun_bound_rows", lambda self, rows: None)
    without = least_cost_schedule(request, time_limit_s=60.0, mip_gap=1e-7, node_limit=None)
    assert (with_rows.status, without.status) == ("optimal", "optimal")
    assert with_rows.objective_eur == pytest.approx(without.objective_eur, rel=1e-6, abs=1e-7)


def test_the_relaxation_of_a_plan_the_sun_covers_pays_for_a_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """20 kWh of followable sun, 2 kWh wanted, the car off: every schedule starts the car
    (0.01 EUR a start beside its command). The LP relaxation now pays at least that;
    without the rows it paid about a third of it, following the sun at `sol` 0.4."""
    request = hourly([0.3] * 8, 2000.0, surplus=[0, 0, 5000, 5000, 5000, 5000, 0, 0])
    request = replace(request, switch_cost_eur=0.01)

    def relaxed_eur() -> float:
        return lp_relaxation(request)[2]

    tight = relaxed_eur()
    assert tight >= request.switch_cost_eur - 1e-9
    assert least_cost_schedule(request).objective_eur >= tight - 1e-9
    monkeypatch.setattr(_Model, "_sun_bound_rows", lambda self, rows: None)
    assert relaxed_eur() < 0.5 * request.switch_cost_eur


@pytest.mark.parametrize("seed", range(10))
def test_the_stop_rows_cut_off_no_optimum(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Proven optima (gap 1e-7) of random sunny plans over days and nights, the car off
    now, with and without the rows that ask for a stop before each night: the same."""
    request = replace(sunny_request(seed), now=ChargerNow(charging=False, power_w=0.0))
    with_rows = least_cost_schedule(request, time_limit_s=60.0, mip_gap=1e-7, node_limit=None)
    monkeypatch.setattr(_Model, "_stop_rows", lambda self, rows, sunny: None)
    without = least_cost_schedule(request, time_limit_s=60.0, mip_gap=1e-7, node_limit=None)
    assert (with_rows.status, without.status) == ("optimal", "optimal")
    assert with_rows.objective_eur == pytest.approx(without.objective_eur, rel=1e-6, abs=1e-7)


def test_the_relaxation_of_a_plan_the_sun_covers_pays_for_the_stop_before_the_night(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sun in the afternoon, a night to departure, 2 kWh wanted, the car off: every
    schedule that follows the sun starts the car and stops it before the night (the PV
    mode has no sun to follow there). The LP relaxation now pays most of both switches
    and both commands (0.019 of 0.024 EUR: a fractional fixed power into the night,
    credited as `over`, buys off the rest); without the stop rows it paid 0.010, about
    the start alone."""
    request = hourly([0.3] * 8, 2000.0, surplus=[0, 0, 5000, 5000, 5000, 5000, 0, 0])
    request = replace(request, switch_cost_eur=0.01)
    both = 2 * (request.switch_cost_eur + request.command_cost_eur)

    def relaxed_eur() -> float:
        return lp_relaxation(request)[2]

    tight = relaxed_eur()
    assert tight >= 0.75 * both
    assert least_cost_schedule(request).objective_eur >= tight - 1e-9
    monkeypatch.setattr(_Model, "_stop_rows", lambda self, rows, sunny: None)
    assert relaxed_eur() < 0.5 * both


@pytest.mark.parametrize("seed", range(4))
def test_buys_grid_from_is_whether_the_rest_of_the_plan_sums_any_grid(seed: int) -> None:
    """`ChargePlan.buys_grid_from` (the last grid slot, found once) against summing the
    grid of `slots_from` at every slot's start and middle, before the plan and after it."""
    dull = replace(sunny_request(seed), energy_wanted_wh=25_000.0)
    plan = least_cost_schedule(replace(dull, surplus_w=dull.surplus_w * 0.3), time_limit_s=30.0)
    assert 0 < sum(slot.from_grid_wh > 0.0 for slot in plan.slots) < len(plan.slots)
    step = timedelta(seconds=plan.step_s)
    times = [plan.start - step, plan.end, plan.end + step]
    times += [
        plan.start + i * step + d for i in range(len(plan.slots)) for d in (0 * step, step / 2)
    ]
    for when in times:
        summed = sum(slot.from_grid_wh for slot in plan.slots_from(when))
        assert plan.buys_grid_from(when) == (summed > 0.0)

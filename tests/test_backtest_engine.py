"""The backtest engine: energy accounting from the world, calls as the daemon counts them,
and the optimum as an upper bound of every policy's grid-free solar energy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.storage.ledger import calls_per_day
from optimizer.backtest.compare import compare, solve_optimum
from optimizer.backtest.engine import (
    BASELINE_NAMES,
    CYCLE_COLUMNS,
    STEP_COLUMNS,
    BacktestInputs,
    BacktestSetup,
    baseline_contender,
    contender_named,
    policy_contender,
    run_backtest,
)
from optimizer.backtest.metrics import compute_metrics, current_changes, starts
from optimizer.site import GRAZ

START = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def _inputs(levels_w: list[float], *, block_min: int = 5, house_w: float = 300.0) -> BacktestInputs:
    """PV held constant for blocks of `block_min` minutes; one session covering the window."""
    pv = np.repeat(np.asarray(levels_w, dtype=float), block_min)
    index = pd.date_range(START, periods=pv.size, freq="min")
    end = START + timedelta(minutes=int(pv.size))
    sessions = pd.DataFrame(
        {"arrival": [pd.Timestamp(START)], "departure": [pd.Timestamp(end)], "energy_kwh": [10.0]}
    )
    return BacktestInputs(
        pv_w=pd.Series(pv, index=index),
        house_w=pd.Series(house_w, index=index),
        sessions=sessions,
        start=START,
        end=end,
        site=GRAZ,
    )


def _sunny(hours: int = 6) -> BacktestInputs:
    rng = np.random.default_rng(3)
    blocks = hours * 12
    shape = np.sin(np.linspace(0.2, np.pi - 0.2, blocks)) * 5000.0
    return _inputs(list(shape * rng.uniform(0.3, 1.0, blocks)))


@pytest.mark.parametrize(
    "contender",
    [policy_contender("solar_only"), *(baseline_contender(n) for n in BASELINE_NAMES)],
    ids=lambda c: c.name,
)
def test_rows_sum_to_the_worlds_totals_and_energy_is_conserved(contender: object) -> None:
    result = run_backtest(_sunny(), contender)  # type: ignore[arg-type]
    steps, totals = result.steps, result.totals
    assert list(steps.columns) == STEP_COLUMNS
    assert steps["car_wh"].sum() == pytest.approx(totals["energy_wh"], abs=1e-6)
    assert steps["solar_wh"].sum() == pytest.approx(totals["solar_wh"], abs=1e-6)
    assert steps["grid_wh"].sum() == pytest.approx(totals["grid_wh"], abs=1e-6)
    assert totals["energy_wh"] == pytest.approx(totals["solar_wh"] + totals["grid_wh"])
    # PV goes to the household, the car or the grid: nothing is created or lost.
    self_used_by_house = np.minimum(steps["pv_w"], steps["house_w"]) * steps["duration_s"] / 3600
    assert totals["pv_wh"] == pytest.approx(
        totals["solar_wh"] + totals["pv_exported_wh"] + self_used_by_house.sum(), rel=0.02
    )
    assert steps["duration_s"].sum() == pytest.approx((result.inputs.end - START).total_seconds())
    assert totals["pv_wh"] == pytest.approx(
        result.inputs.pv_w.sum() / 60.0, rel=1e-9
    )  # the world saw exactly the input PV
    # One row per world step, and the per-step truth sums to the world's totals.
    step_h = result.setup.step_s / 3600.0
    assert len(steps) == (result.inputs.end - START).total_seconds() / result.setup.step_s
    assert (steps["time"].diff().dropna() == pd.Timedelta(seconds=result.setup.step_s)).all()
    assert steps["exported_wh"].sum() == pytest.approx(totals["pv_exported_wh"], abs=1e-6)
    assert steps["pv_w"].sum() * step_h == pytest.approx(totals["pv_wh"], rel=1e-12)
    assert steps["house_w"].sum() * step_h == pytest.approx(totals["household_wh"], rel=1e-12)
    assert steps["car_w"].to_numpy() * step_h == pytest.approx(steps["car_wh"].to_numpy())
    assert steps["car_w"].max() <= 32 * 3 * 230.0 + 1e-6  # no aliasing spikes
    assert (steps["current_a"] <= steps["setpoint_a"] + 1e-9).all()
    assert not steps.loc[~steps["plugged_in"], "charging"].any()


def test_calls_are_the_controllers_ledger_one_per_attempt() -> None:
    result = run_backtest(_sunny(), policy_contender("solar_only"))
    steps = result.steps
    assert int(steps["calls"].sum()) == len(result.calls) > 0
    metrics = compute_metrics(result)
    per_day = calls_per_day(result.calls, result.inputs.start, result.inputs.end)
    assert metrics["calls_per_day_max"] == max(per_day.values())
    assert metrics["calls"] == len(result.calls)
    endpoints = {c.endpoint for c in result.calls}
    assert "currentstatecharge" in endpoints
    writes = sum(1 for c in result.calls if c.endpoint == "intensity")
    assert writes == int(steps["set_current"].sum())
    # The per-cycle log holds the same calls and commands, binned by cycle.
    log = result.cycle_log
    assert list(log.columns) == CYCLE_COLUMNS
    assert len(log) == result.cycles
    assert int(log["calls"].sum()) == len(result.calls)
    assert int(log["commands"].sum()) == int(steps["commands"].sum()) >= writes
    assert log["duration_s"].sum() == pytest.approx((result.inputs.end - START).total_seconds())
    # Each call lands in the step its time falls in.
    step_of_call = pd.Series([c.time for c in result.calls]).dt.floor("min").value_counts()
    per_step = steps.set_index("time")["calls"]
    assert (per_step[step_of_call.index] == step_of_call).all()
    assert metrics["commands_per_day"] == pytest.approx(
        steps["commands"].sum() / result.inputs.days, abs=0.01
    )


def test_baselines_spend_the_calls_they_are_built_for() -> None:
    inputs = _sunny(hours=3)
    native = run_backtest(inputs, baseline_contender("device_exclusive_pv"))
    assert {c.endpoint for c in native.calls} <= {"chargefvmode", "intensity", "startcharge"}
    evcc = run_backtest(inputs, baseline_contender("evcc_style"))
    reads = [c for c in evcc.calls if c.endpoint == "currentstatecharge"]
    assert len(reads) == pytest.approx(3 * 3600 / 30, abs=2)
    held = run_backtest(inputs, baseline_contender("evcc_style_budget"))
    reads = [c for c in held.calls if c.endpoint == "currentstatecharge"]
    assert len(reads) == pytest.approx(3 * 3600 / 90, abs=2)


def test_compare_fills_ratios_against_the_optimum() -> None:
    comparison = compare(_sunny(hours=4), ["solar_only"])
    assert set(comparison.metrics) == {"solar_only", *BASELINE_NAMES, "optimum"}
    best = comparison.metrics["optimum"]["solar_kwh"]
    for name, metrics in comparison.metrics.items():
        solar = metrics["solar_kwh"]
        assert solar is not None and best is not None
        assert metrics["ratio_to_optimum"] == pytest.approx(float(solar) / float(best), abs=1e-3), (
            name
        )


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    levels=st.lists(st.floats(0.0, 6000.0), min_size=6, max_size=18),
    policy=st.sampled_from(["solar_only", "evcc_style", "device_exclusive_pv", "device_pv_min"]),
)
def test_optimum_bounds_every_policys_grid_free_solar(levels: list[float], policy: str) -> None:
    """PV constant per 5-min block: any interval in which a policy drew no grid could
    have been charged by the optimum at the same whole amps, so the optimum's solar
    energy is at least the solar energy a policy got in its grid-free intervals."""
    inputs = _inputs(levels)
    contender = contender_named(policy)
    setup = BacktestSetup()
    result = run_backtest(inputs, contender, setup)
    optimum = solve_optimum(result)
    steps = result.steps
    grid_free = steps.loc[steps["grid_wh"].abs() < 1e-6, "solar_wh"].sum()
    assert optimum.totals["solar_wh"] >= grid_free - 1e-6
    assert optimum.totals["grid_wh"] == pytest.approx(0.0, abs=1e-6)


def test_flapping_is_counted_on_the_truth_by_hand() -> None:
    steps = pd.DataFrame(
        {
            "car_w": [0.0, 4140.0, 4140.0, 4830.0, 5106.0, 0.0, 0.0, 5520.0],
            "current_a": [0.0, 6.0, 6.0, 7.0, 7.4, 0.0, 0.0, 8.0],
        }
    )
    # 0->6, 6->7, 7.4->0, 0->8 change by >= 1 A; 7->7.4 (a taper-like drift) does not.
    assert current_changes(steps) == 4
    assert starts(steps) == 2
    assert starts(steps.iloc[1:]) == 2  # charging at the window's start counts as a start
    assert current_changes(steps.iloc[1:]) == 4


def test_the_chargers_own_restarts_are_counted_without_any_command() -> None:
    """Exclusive PV on a sky flipping between 10 A and 1 A of surplus every 10 minutes:
    the charger stops and restarts by itself; the controller sends only its set-up."""
    limits = BacktestSetup().limits
    wpa = limits.phases * limits.voltage_v
    high, low = 300.0 + 10.5 * wpa, 300.0 + 1.0 * wpa
    inputs = _inputs([high, low] * 12, block_min=10)
    result = run_backtest(inputs, baseline_contender("device_exclusive_pv"))
    metrics = compute_metrics(result)
    steps = result.steps
    high_blocks = 12
    assert starts(steps) == high_blocks
    assert metrics["start_stop_cycles_per_day"] == pytest.approx(
        high_blocks / inputs.days, abs=0.01
    )
    # Each start goes 0 -> 6 A (minimum, within the restart) or straight to 10 A, and each stop
    # 10 -> 6 -> 0 A: at least two changes per high block, none of them ours.
    assert current_changes(steps) >= 2 * high_blocks
    assert int(steps["commands"].sum()) <= 3
    assert metrics["commands_per_day"] == pytest.approx(steps["commands"].sum() / inputs.days)
    assert set(steps.loc[steps["charging"], "current_a"]) <= {6.0, 10.0}


def test_plot_day_draws_a_simulated_day_and_names_a_missing_one(tmp_path: Path) -> None:
    from optimizer.backtest.plots import monthly_energy, plot_day

    result = run_backtest(_sunny(hours=3), policy_contender("solar_only"))
    out = plot_day(result, START.astimezone(GRAZ.tz).date(), tmp_path / "day.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="2026-07-01 is not in the run"):
        plot_day(result, datetime(2026, 7, 1).date(), tmp_path / "none.png")
    table = monthly_energy({"solar_only": result})
    assert table[("solar_only", "solar_kwh")].sum() == pytest.approx(
        result.totals["solar_wh"] / 1000.0
    )


def test_a_setup_with_phases_the_world_cannot_simulate_is_refused() -> None:
    from optimizer.limits import ChargerLimits

    with pytest.raises(ValueError, match=r"^limits\.phases: backtests simulate 1 or 3 phases"):
        BacktestSetup(limits=ChargerLimits(phases=2))
    assert BacktestSetup(limits=ChargerLimits(phases=3)).limits.phases == 3

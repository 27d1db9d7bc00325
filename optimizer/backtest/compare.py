"""Policies, baselines and the perfect-foresight optimum side by side, on the same data.

`compare` runs every chosen policy and every baseline through `run_backtest`
(each in its own world built from the same inputs), then solves the optimum
(`optimizer.backtest.optimum`, solar-only objective, on the world's 1-minute
steps rather than the module's 5-minute default, see `solve_optimum`) for the
very sessions the world simulated: same plug-in and unplug steps, the same car
(battery capacity, arrival SoC, taper start, taper stop current, charge
efficiency, maximum current and phases, so the optimum's car tapers above
its taper start exactly as the world's does), and as energy wanted the AC energy the
car could take from its arrival SoC to full. `ratio_to_optimum` = policy solar
kWh / optimum solar kWh.

The optimum forbids grid energy for the car; a policy that draws from the grid
during transients gets the solar part of those steps credited (the world counts
min(car power, surplus) as solar), so on rare cases a grid-using baseline such as
`device_pv_min` can show a ratio slightly above 1: its grid kWh stands beside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.backtest.cost_optimum import least_cost_optimum
from optimizer.backtest.engine import (
    BASELINE_NAMES,
    PRICE_BASELINE_NAMES,
    BacktestInputs,
    BacktestResult,
    BacktestSetup,
    Contender,
    baseline_contender,
    policy_contender,
    run_backtest,
)
from optimizer.backtest.metrics import Metrics, compute_metrics, ratio
from optimizer.backtest.optimum import (
    DEFAULT_STEP_S,
    ChargeLimits,
    SessionsOptimum,
    optimum_for_sessions,
)
from optimizer.policies.registry import POLICY_NAMES

OPTIMUM_NAME = "optimum"
COST_OPTIMUM_NAME = "optimum_cost"
"""The perfect-foresight least-cost optimum's row (with prices; `cost_optimum`)."""

LABELS: dict[str, str] = {
    OPTIMUM_NAME: "perfect foresight, most solar (no grid)",
    COST_OPTIMUM_NAME: "perfect foresight, least cost (target's objective)",
    "target_window": "old target: planner window (grid as late as possible)",
    "evcc_plan": "evcc-style: surplus + cheapest slots for all missing energy",
    "evcc_style": "evcc-style surplus loop, 30 s, no call limit",
    "evcc_style_budget": "evcc-style surplus loop, 90 s, 1000 calls/day",
    "device_exclusive_pv": "the charger's own exclusive-PV mode, no cloud control",
    "device_pv_min": "the charger's own PV+min mode, no cloud control",
}
"""What each baseline and optimum row is, for tables and `--json`."""

PRODUCT_POLICIES: tuple[str, ...] = tuple(
    name for name in POLICY_NAMES if name not in ("evcc_style", "device_native")
)
"""Policies `--policy all` runs (the baselines' policies run as baselines)."""


@dataclass
class Comparison:
    """Every run's result and metrics, and the optimum, keyed by name (policies first)."""

    results: dict[str, BacktestResult]
    optimum: SessionsOptimum
    metrics: dict[str, Metrics] = field(default_factory=dict)
    optimum_runtime_s: float = 0.0


def contenders(policies: Sequence[str], *, priced: bool = False) -> list[Contender]:
    """The chosen policies (validated by name) followed by the four baselines; with
    prices and `target` chosen also the old `target`, the evcc-style planner and `fast`
    (`PRICE_BASELINE_NAMES`)."""
    unknown = [p for p in policies if p not in PRODUCT_POLICIES]
    if unknown:
        raise ValueError(
            f"unknown policy {unknown[0]!r}; known: {', '.join(PRODUCT_POLICIES)} or 'all'"
        )
    chosen = list(dict.fromkeys(policies))
    extra: list[Contender] = []
    if priced and "target" in chosen:
        extra = [baseline_contender(name) for name in PRICE_BASELINE_NAMES]
        if "fast" not in chosen:
            chosen.append("fast")
    return (
        [policy_contender(p) for p in chosen]
        + [baseline_contender(name) for name in BASELINE_NAMES]
        + extra
    )


def optimum_sessions(result: BacktestResult) -> pd.DataFrame:
    """The sessions the world simulated, as the optimum reads them.

    Energy wanted is the car's headroom to full; the car's current and phases are
    the session's if the input gave them, else the car's, and never more phases
    than the charger has. The battery (capacity_kwh, taper_start_soc, taper_stop_a,
    charge_efficiency) is the world's car and arrival_soc the SoC the world's session
    began with, so the optimum's car tapers as the world's (`CarBattery`).
    """
    world = result.sessions
    setup = result.setup
    car = setup.car
    given = result.inputs.sessions.copy()
    given["departure"] = pd.to_datetime(given["departure"], utc=True)
    by_departure = given.drop_duplicates("departure").set_index("departure")
    rows = []
    for row in world.itertuples(index=False):
        planned = pd.Timestamp(row.planned_departure)
        max_a = float(setup.car.max_current_a)
        phases: int = setup.car.phases
        if planned in by_departure.index:
            source = by_departure.loc[planned]
            if "max_current_a" in source and pd.notna(source["max_current_a"]):
                max_a = float(source["max_current_a"])
            if "phases" in source and pd.notna(source["phases"]):
                phases = int(source["phases"])
        phases = 1 if phases == 2 else phases  # as the world simulates it
        rows.append(
            {
                "arrival": pd.Timestamp(row.start),
                "departure": pd.Timestamp(row.end),
                "energy_kwh": float(row.headroom_wh) / 1000.0,
                "max_current_a": max_a,
                "phases": min(phases, setup.limits.phases),
                "capacity_kwh": float(car.battery_kwh),
                "arrival_soc": float(row.arrival_soc),
                "taper_start_soc": float(car.taper_start_soc),
                "taper_stop_a": float(car.taper_stop_a),
                "charge_efficiency": float(car.charge_efficiency),
            }
        )
    return pd.DataFrame(rows, columns=_OPTIMUM_SESSION_COLUMNS)


_OPTIMUM_SESSION_COLUMNS = [
    "arrival",
    "departure",
    "energy_kwh",
    "max_current_a",
    "phases",
    "capacity_kwh",
    "arrival_soc",
    "taper_start_soc",
    "taper_stop_a",
    "charge_efficiency",
]


def solve_optimum(result: BacktestResult, step_s: float | None = None) -> SessionsOptimum:
    """The solar-only optimum over the sessions `result`'s world simulated.

    `step_s` defaults to the world's own step (1 minute): on the optimum module's
    default 5-minute grid the optimum loses up to 5 minutes at each plug-in and its
    block-mean surplus is coarser than what a policy sees, so it would not bound the
    policies from above. At 1-minute steps a session-day still solves in well under
    a second (see benchmarks/backtest_results.md).
    """
    inputs, limits = result.inputs, result.setup.limits
    step_s = step_s or result.setup.step_s
    grid = pd.date_range(
        inputs.start, inputs.end, freq=f"{int(result.setup.step_s)}s", inclusive="left"
    )
    pv = _on(inputs.pv_w, grid)
    house = _on(inputs.house_w, grid)
    return optimum_for_sessions(
        pv - house,
        optimum_sessions(result),
        objective="solar_only",
        limits=ChargeLimits(
            phases=limits.phases,
            voltage_v=limits.voltage_v,
            min_current_a=limits.min_current_a,
            max_current_a=limits.max_current_a,
            fuse_w=limits.main_fuse_w,
        ),
        step_s=step_s,
        house_w=house if limits.main_fuse_w is not None else None,
    )


def _on(series: pd.Series, grid: pd.DatetimeIndex) -> pd.Series:
    """The series on the world's grid, the way the world reads it (linear in time)."""
    values = series.astype("float64").dropna().sort_index()
    t = values.index.tz_convert("UTC").as_unit("ns").asi8.astype(float)
    g = grid.tz_convert("UTC").as_unit("ns").asi8.astype(float)
    return pd.Series(np.interp(g, t, values.to_numpy()), index=grid)


def solve_cost_optimum(result: BacktestResult, export_per_kwh: float | None = None) -> pd.DataFrame:
    """The least-cost optimum per session (`optimizer.backtest.cost_optimum`) of the
    sessions `result`'s world simulated, each wanting its target (at most the car's
    headroom), on the world's steps and prices; export at `export_per_kwh` (None:
    `[policy.target] export_price_per_kwh`, what the planner values the sun at)."""
    steps = result.steps
    index = pd.DatetimeIndex(steps["time"])
    limits = result.setup.limits
    if export_per_kwh is None:
        export_per_kwh = result.setup.policies.target.export_price_per_kwh
    house = pd.Series(steps["house_w"].to_numpy(float), index=index)
    surplus = pd.Series(steps["pv_w"].to_numpy(float), index=index) - house
    prices = pd.Series(np.nan_to_num(steps["price_per_kwh"].to_numpy(float)), index=index)
    sessions = optimum_sessions(result)
    targets = result.sessions["target_wh"].to_numpy(float)
    wanted_kwh = np.where(np.isnan(targets), 0.0, targets) / 1000.0
    sessions["energy_kwh"] = np.minimum(wanted_kwh, sessions["energy_kwh"].to_numpy(float))
    return least_cost_optimum(
        surplus,
        house,
        prices,
        pd.Series(export_per_kwh, index=index),
        sessions,
        ChargeLimits(
            phases=limits.phases,
            voltage_v=limits.voltage_v,
            min_current_a=limits.min_current_a,
            max_current_a=limits.max_current_a,
            fuse_w=limits.main_fuse_w,
        ),
        result.setup.step_s,
    )


def cost_optimum_metrics(table: pd.DataFrame) -> Metrics:
    """The least-cost optimum's row: its cost (the lower bound), energy and the sessions
    whose target no schedule can meet (`target_misses`, `unmet_kwh`)."""
    short = np.maximum(table["wanted_wh"] - table["deliverable_wh"], 0.0)
    grid, solar = float(table["grid_wh"].sum()), float(table["solar_wh"].sum())
    return {
        "ev_kwh": round((grid + solar) / 1000.0, 4),
        "solar_kwh": round(solar / 1000.0, 4),
        "grid_kwh": round(grid / 1000.0, 4),
        "sessions": len(table),
        "target_misses": int((~table["feasible"]).sum()),
        "unmet_kwh": round(float(short.sum()) / 1000.0, 4),
        "cost": round(float(table["cost"].sum()), 4),
        "cost_upper": round(float(table["upper_eur"].sum()), 4),
        "cost_ratio": 1.0,
        "calls_per_day_mean": 0.0,
        "calls_per_day_max": 0,
    }


def add_cost_ratios(metrics: dict[str, Metrics], results: dict[str, BacktestResult],
                    table: pd.DataFrame) -> None:  # fmt: skip
    """Each run's `cost_ratio` (cost over the optimum's) and `feasible_misses` (targets
    missed that some schedule could meet)."""
    best = float(table["cost"].sum())
    feasible = table["feasible"].to_numpy(bool)
    for name, result in results.items():
        m = metrics[name]
        cost = m.get("cost")
        m["cost_ratio"] = round(float(cost) / best, 4) if cost is not None and best > 0 else None
        sessions = result.sessions
        lacking = sessions["target_wh"].to_numpy(float) - sessions["energy_wh"].to_numpy(float)
        missed = np.nan_to_num(lacking) > 1e-6
        m["feasible_misses"] = int((missed[: feasible.size] & feasible[: missed.size]).sum())


def optimum_metrics(optimum: SessionsOptimum, inputs: BacktestInputs) -> Metrics:
    """The optimum's row in the comparison (no calls: it is not a controller)."""
    totals = optimum.totals
    energy, solar = totals["energy_wh"], totals["solar_wh"]
    return {
        "ev_kwh": round(energy / 1000.0, 4),
        "solar_kwh": round(solar / 1000.0, 4),
        "grid_kwh": round(totals["grid_wh"] / 1000.0, 4),
        "solar_share": round(solar / energy, 4) if energy > 0 else 0.0,
        "sessions": int(totals["sessions"]),
        "ratio_to_optimum": 1.0 if solar > 0 else None,
        "calls_per_day_mean": 0.0,
        "calls_per_day_max": 0,
        "target_misses": None,
        "unmet_kwh": None,
        "current_changes_per_day": None,
        "step_s": float(optimum.sessions["steps"].size and _step_s(optimum)),
    }


def _step_s(optimum: SessionsOptimum) -> float:
    index = optimum.steps.index
    if len(index) < 2:
        return DEFAULT_STEP_S
    return float(pd.Series(index).diff().dropna().min().total_seconds())


def compare(
    inputs: BacktestInputs,
    policies: Sequence[str],
    setup: BacktestSetup | None = None,
    *,
    progress: Callable[[str, float], None] | None = None,
) -> Comparison:
    """Run `policies` and the baselines, solve the optimum, fill in the ratios.

    `progress(name, fraction)` reports each run's simulated fraction done.
    """
    import time as wall

    setup = setup or BacktestSetup()
    results: dict[str, BacktestResult] = {}
    for contender in contenders(policies, priced=inputs.prices is not None):
        report = None
        if progress is not None:
            name = contender.name

            def report(fraction: float, name: str = name) -> None:
                progress(name, fraction)

        results[contender.name] = run_backtest(inputs, contender, setup, progress=report)
    first = next(iter(results.values()))
    started = wall.perf_counter()
    optimum = solve_optimum(first)
    elapsed = wall.perf_counter() - started
    if progress is not None:
        progress(OPTIMUM_NAME, 1.0)
    metrics: dict[str, Metrics] = {}
    best = optimum_metrics(optimum, inputs)
    for name, result in results.items():
        m = compute_metrics(result)
        m["ratio_to_optimum"] = ratio(m["solar_kwh"], best["solar_kwh"])
        result.metrics = m
        metrics[name] = m
    best["runtime_s"] = round(elapsed, 3)
    metrics[OPTIMUM_NAME] = best
    if inputs.prices is not None:
        started = wall.perf_counter()
        table = solve_cost_optimum(first)
        metrics[COST_OPTIMUM_NAME] = cost_optimum_metrics(table)
        metrics[COST_OPTIMUM_NAME]["runtime_s"] = round(wall.perf_counter() - started, 3)
        add_cost_ratios(metrics, results, table)
    return Comparison(results, optimum, metrics, elapsed)

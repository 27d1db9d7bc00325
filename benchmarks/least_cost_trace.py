"""Where `target` (least cost) loses: each session against the optimum and the old target,
and with `--plans` every plan it made and the grid and sun it took hour by hour.

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.least_cost_trace --pattern home_office \\
        --start 2017-01-01 --days 31 [--plans]

Runs `target` with `planner = "least_cost"` and with `planner = "window"` on real-2017 (its
day-ahead prices, the offline forecast unless `--forecast` says otherwise) and solves the
perfect-foresight optimum for the sessions; prints one line per session (arrival,
departure, energy wanted; cost, grid and sun of each; the optimum's cost). `--plans` adds
each plan (when, why, the energy wanted, its sun, grid and cost, its first and last grid
slot) and the hours the car took energy.
The lines of BENCHMARKS.md "Least-cost target: cost, second round" were found this way.
"""

from __future__ import annotations

import argparse
import logging
from datetime import date

import pandas as pd

import optimizer.policies.least_cost_plan as least_cost_plan
from benchmarks.least_cost_year import PATTERNS, session_costs
from optimizer.backtest.compare import solve_cost_optimum
from optimizer.backtest.dataset import load_real_2017
from optimizer.backtest.engine import BacktestResult, BacktestSetup, policy_contender, run_backtest
from optimizer.cli.backtest_options import forecast_mode
from optimizer.planning.record import PlanRecord
from optimizer.policies import PolicyConfig
from optimizer.policies.target import TargetParams


def run(
    pattern: str, start: date, days: int, forecast: str = "offline"
) -> tuple[dict[str, BacktestResult], list[PlanRecord]]:
    """Both planners' runs and every plan the least-cost one made, on `forecast`
    (`offline`, `oracle` or `file:PATH`, as `backtest --forecast` reads it)."""
    inputs = load_real_2017(start, days, pattern=PATTERNS[pattern]())
    mode = forecast_mode(forecast, inputs)
    plans: list[PlanRecord] = []
    offer = least_cost_plan.LeastCostPlanner._offer

    def kept(self: least_cost_plan.LeastCostPlanner, record: PlanRecord) -> None:
        plans.append(record)
        offer(self, record)

    least_cost_plan.LeastCostPlanner._offer = kept  # type: ignore[method-assign]
    try:
        results = {
            planner: run_backtest(
                inputs,
                policy_contender("target"),
                BacktestSetup(
                    policies=PolicyConfig(target=TargetParams(planner=planner)), forecast=mode
                ),
            )
            for planner in ("least_cost", "window")
        }
    finally:
        least_cost_plan.LeastCostPlanner._offer = offer  # type: ignore[method-assign]
    return results, plans


def report(results: dict[str, BacktestResult], plans: list[PlanRecord], show_plans: bool) -> None:
    lc, win = results["least_cost"], results["window"]
    tz = lc.inputs.site.timezone
    optimum = solve_cost_optimum(lc)
    cost, cost_win = session_costs(lc), session_costs(win)
    print(
        f"total: least_cost {cost.sum():.2f} EUR, window {cost_win.sum():.2f}, "
        f"optimum {optimum['cost'].sum():.2f}"
    )
    s, w = lc.sessions, win.sessions
    for i in range(len(s)):
        arrive = pd.Timestamp(s["start"][i]).tz_convert(tz)
        leave = pd.Timestamp(s["end"][i]).tz_convert(tz)
        print(
            f"#{i} {arrive:%a %m-%d %H:%M} -> {leave:%a %m-%d %H:%M} "
            f"want {s['target_wh'][i] / 1000:.2f} kWh | least_cost {cost[i]:.3f} EUR grid "
            f"{s['grid_wh'][i] / 1000:.2f} sun {s['solar_wh'][i] / 1000:.2f} | window "
            f"{cost_win[i]:.3f} grid {w['grid_wh'][i] / 1000:.2f} sun {w['solar_wh'][i] / 1000:.2f}"
            f" | optimum {optimum['cost'][i]:.3f}"
        )
    if show_plans:
        for record in plans:
            print("  " + _plan_line(record, tz))
        print(_hours(lc, tz))


def _plan_line(record: PlanRecord, tz: object) -> str:
    plan = record.plan
    grid = [slot.start for slot in plan.slots if slot.from_grid_wh > 1.0]
    when = ""
    if grid:
        first, last = (pd.Timestamp(t).tz_convert(tz) for t in (grid[0], grid[-1]))
        when = f" grid {first:%a %H:%M}..{last:%a %H:%M} ({len(grid)} slots)"
    made = pd.Timestamp(plan.start).tz_convert(tz)
    return (
        f"plan {made:%a %m-%d %H:%M} {record.reason.value}: want "
        f"{plan.energy_wanted_wh / 1000:.2f} sun {plan.solar_wh / 1000:.2f} grid "
        f"{plan.grid_wh / 1000:.2f} kWh {plan.cost_eur:.3f} EUR{when}"
    )


def _hours(result: BacktestResult, tz: object) -> str:
    steps = result.steps
    hour = pd.DatetimeIndex(steps["time"]).floor("h").tz_convert(tz)
    table = steps.groupby(hour).agg(
        grid_kwh=("grid_wh", "sum"), sun_kwh=("solar_wh", "sum"), pv_w=("pv_w", "mean"),
        price=("price_per_kwh", "mean"),
    )  # fmt: skip
    table[["grid_kwh", "sun_kwh"]] /= 1000.0
    taken = table[(table.grid_kwh > 0.001) | (table.sun_kwh > 0.001)]
    return str(taken.round(3).to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pattern", choices=sorted(PATTERNS), default="commuter")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2017, 1, 1))
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--plans", action="store_true", help="print every plan and hour")
    parser.add_argument(
        "--forecast",
        default="offline",
        help="offline (default), oracle (an upper bound) or file:PATH (archived forecasts)",
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    results, plans = run(args.pattern, args.start, args.days, args.forecast)
    report(results, plans, args.plans)


if __name__ == "__main__":
    main()

"""`target` (planner least_cost) under each `--forecast` mode on real-2017, repeatably.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/backtest_forecast_modes.py \\
        --start 2017-06-01 --days 14 --archive /tmp/graz_2017-06.jsonl [--time-limit 5]

Runs `target` alone (no baselines) through `run_backtest` with `[policy.target] planner =
"least_cost"`, the real-2017 prices, and the forecast modes offline, oracle and
file:ARCHIVE (make the archive with `optimizer.backtest.persistence_forecasts`). The
product's solves stop at HiGHS's node limit, with a wall-clock guard
(`DEFAULT_TIME_LIMIT_S`); `--time-limit` sets that guard for every solve of this
benchmark (section 12 ran it when the limit was 0.4 s and the load moved the costs).
Prints one row per mode and the solver's verdicts.
"""

from __future__ import annotations

import argparse
import collections
import functools
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

import optimizer.planning.least_cost as least_cost
from adapters.weather.archive import read_archive
from optimizer.backtest.dataset import load_real_2017
from optimizer.backtest.engine import BacktestSetup, policy_contender, run_backtest
from optimizer.backtest.forecast_modes import OFFLINE, ForecastMode, archived, oracle
from optimizer.backtest.metrics import compute_metrics
from optimizer.policies import PolicyConfig
from optimizer.policies.target import TargetParams

KEYS = (
    "cost",
    "unmet_kwh",
    "target_misses",
    "solar_kwh",
    "grid_kwh",
    "calls_per_day_mean",
    "calls_per_day_max",
    "commands_per_day",
    "start_stop_cycles_per_day",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2017, 6, 1))
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--archive", type=Path, required=True)
    parser.add_argument("--time-limit", type=float, default=least_cost.DEFAULT_TIME_LIMIT_S)
    parser.add_argument("--modes", default="offline,oracle,file")
    args = parser.parse_args()

    verdicts: collections.Counter[str] = collections.Counter()
    solve_s: list[float] = []
    solve = functools.partial(least_cost.least_cost_schedule, time_limit_s=args.time_limit)

    def counted(request: least_cost.PlanRequest) -> least_cost.ChargePlan:
        plan = solve(request)
        verdicts[plan.status] += 1
        solve_s.append(plan.solve_s)
        return plan

    least_cost.least_cost_schedule = counted  # type: ignore[assignment]
    inputs = load_real_2017(args.start, args.days)
    modes: dict[str, ForecastMode] = {
        "offline": OFFLINE,
        "oracle": oracle(inputs.pv_w),
        "file": archived(f"file:{args.archive}", read_archive(args.archive, inputs.site)),
    }
    base = BacktestSetup(policies=PolicyConfig(target=TargetParams(planner="least_cost")))
    print(f"time limit per solve: {args.time_limit:g} s")
    print(
        "| forecast | "
        + " | ".join(KEYS)
        + " | solves (time_limit) | solve s median / max | wall s |"
    )
    for name in args.modes.split(","):
        verdicts.clear()
        solve_s.clear()
        began = time.perf_counter()
        result = run_backtest(
            inputs, policy_contender("target"), replace(base, forecast=modes[name])
        )
        metrics = compute_metrics(result)
        wall = time.perf_counter() - began
        cells = " | ".join(str(metrics[k]) for k in KEYS)
        times = np.asarray(solve_s)
        print(
            f"| {modes[name].label} | {cells} | {sum(verdicts.values())} "
            f"({verdicts['time_limit']}, failed {verdicts['failed']}) | "
            f"{np.median(times):.3f} / {times.max():.2f} | {wall:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

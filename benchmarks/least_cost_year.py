"""`target` (least cost by departure) against its baselines, month by month, on real-2017.

Runs, each through the real controller (`run_backtest`): `target` with the planner
given (default: least_cost), the old `target` (planner window), the evcc-style
planner (`evcc_plan`), `fast` and the charger's own exclusive-PV mode
(`device_exclusive_pv`, the reference for start/stop cycles), then solves the
perfect-foresight least-cost optimum (`optimizer.backtest.cost_optimum`) for the
sessions the world simulated. Prints per local month and for the whole period:
cost (EUR) of each, target/optimum, missed targets that were feasible, the most calls
in a UTC day, deferred writes and start/stop cycles a day; plus the least-cost
planner's solve count and solve time.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/least_cost_year.py --pattern commuter \\
        --start 2017-01-01 --days 365 --json out.json

Costs are counted per session, by the local month of its arrival (so a month's cost
of a policy and of the optimum cover the same sessions).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from optimizer.backtest.compare import solve_cost_optimum
from optimizer.backtest.dataset import load_real_2017
from optimizer.backtest.engine import (
    BacktestResult,
    BacktestSetup,
    baseline_contender,
    policy_contender,
    run_backtest,
)
from optimizer.backtest.metrics import compute_metrics, starts
from optimizer.backtest.sessions import CommuterPattern, HomeOfficePattern
from optimizer.cli.backtest_options import forecast_mode
from optimizer.policies import PolicyConfig
from optimizer.policies.target import TargetParams

RUNS = ("target", "target_window", "evcc_plan", "fast", "device_exclusive_pv")
PATTERNS = {"commuter": CommuterPattern, "home_office": HomeOfficePattern}


class SolveTimer:
    """Counts and times the least-cost planner's solves (wraps the module function): wall
    time (`seconds`) and this process's CPU time (`cpu_seconds`, what a shared machine's
    load does not inflate)."""

    def __init__(self) -> None:
        import optimizer.planning.least_cost as module

        self.module = module
        self.original: Callable[..., Any] = module.least_cost_schedule
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []

    def __enter__(self) -> SolveTimer:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began, cpu = time.perf_counter(), time.process_time()
            plan = self.original(*args, **kwargs)
            self.seconds.append(time.perf_counter() - began)
            self.cpu_seconds.append(time.process_time() - cpu)
            return plan

        self.module.least_cost_schedule = timed
        return self

    def __exit__(self, *exc: object) -> None:
        self.module.least_cost_schedule = self.original


def session_costs(result: BacktestResult) -> pd.Series:
    """Each world session's grid cost (EUR), by session (index: the session's row)."""
    steps = result.steps
    t = pd.DatetimeIndex(steps["time"]).as_unit("ns").asi8
    cost = steps["grid_wh"].to_numpy(float) / 1000.0 * np.nan_to_num(steps["price_per_kwh"])
    begin = pd.DatetimeIndex(result.sessions["start"]).as_unit("ns").asi8
    end = pd.DatetimeIndex(result.sessions["end"]).as_unit("ns").asi8
    owner = np.searchsorted(begin, t, side="right") - 1
    inside = (owner >= 0) & (t < end[np.clip(owner, 0, None)])
    sums = np.bincount(owner[inside], weights=cost[inside], minlength=len(begin))
    return pd.Series(sums)


def monthly(result: BacktestResult, tz: str) -> pd.DataFrame:
    """Per local month: calls max per UTC day, deferred writes, starts/day, days."""
    steps = result.steps
    times = pd.DatetimeIndex(steps["time"])
    month = times.tz_convert(tz).strftime("%Y-%m")
    day = times.floor("D")
    calls = steps.groupby([month, day])["calls"].sum().groupby(level=0).max()
    cycles = result.cycle_log
    cmonth = pd.DatetimeIndex(cycles["time"]).tz_convert(tz).strftime("%Y-%m")
    deferred = cycles.groupby(cmonth)["deferred"].sum()
    rows = {}
    for m in sorted(set(month)):
        part = steps[month == m]
        days = len(part) * float(result.setup.step_s) / 86400.0
        rows[m] = {
            "calls_max": int(calls.get(m, 0)),
            "deferred": int(deferred.get(m, 0)),
            "starts_per_day": starts(part) / days,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def run(
    pattern: str,
    start: date,
    days: int,
    planner: str,
    runs: tuple[str, ...],
    forecast: str = "offline",
) -> dict:
    inputs = load_real_2017(start, days, pattern=PATTERNS[pattern]())
    policies = PolicyConfig(target=TargetParams(planner=planner))  # type: ignore[arg-type]
    mode = forecast_mode(forecast, inputs)  # as `backtest --forecast` reads it
    setup = BacktestSetup(policies=policies, forecast=mode)
    tz = inputs.site.timezone
    results: dict[str, BacktestResult] = {}
    cpu_s: dict[str, float] = {}
    solves: list[float] = []
    solves_cpu: list[float] = []
    for name in runs:
        contender = (
            policy_contender(name) if name in ("target", "fast") else baseline_contender(name)
        )
        began = time.process_time()
        with SolveTimer() as timer:
            results[name] = run_backtest(inputs, contender, setup)
        cpu_s[name] = time.process_time() - began
        if name == "target":
            solves, solves_cpu = timer.seconds, timer.cpu_seconds
        print(f"{name}: {results[name].runtime_s:.1f} s, CPU {cpu_s[name]:.1f} s", flush=True)
    first = results[runs[0]]
    began = time.perf_counter()
    optimum = solve_cost_optimum(first)
    optimum_s = time.perf_counter() - began
    arrival_month = pd.DatetimeIndex(optimum["arrival"]).tz_convert(tz).strftime("%Y-%m")
    feasible = optimum["feasible"].to_numpy(bool)
    table: dict[str, dict[str, Any]] = {}
    for name, result in results.items():
        sessions = result.sessions
        lacking = sessions["target_wh"].to_numpy(float) - sessions["energy_wh"].to_numpy(float)
        missed = (np.nan_to_num(lacking) > 1.0) & feasible
        by_month = session_costs(result).groupby(arrival_month).sum()
        per = monthly(result, tz)
        m = compute_metrics(result)
        table[name] = {
            "total": {
                "cost": float(session_costs(result).sum()),
                "feasible_misses": int(missed.sum()),
                "calls_max": m["calls_per_day_max"],
                "deferred": m["deferred_writes"],
                "starts_per_day": m["start_stop_cycles_per_day"],
                "commands_per_day": m["commands_per_day"],
                "runtime_s": round(result.runtime_s, 1),
                "cpu_s": round(cpu_s[name], 1),
            },
            "months": {
                month: {
                    "cost": float(by_month.get(month, 0.0)),
                    "feasible_misses": int(missed[arrival_month == month].sum()),
                    **per.loc[month].to_dict(),
                }
                for month in per.index
            },
        }
    opt_month = optimum.groupby(arrival_month)["cost"].sum()
    solve = np.asarray(solves) if solves else np.zeros(1)
    solve_cpu = np.asarray(solves_cpu) if solves_cpu else np.zeros(1)
    return {
        "pattern": pattern,
        "start": str(start),
        "days": days,
        "planner": planner,
        "forecast": mode.label,
        "sessions": len(optimum),
        "feasible_sessions": int(feasible.sum()),
        "optimum": {
            "total": float(optimum["cost"].sum()),
            "upper": float(optimum["upper_eur"].sum()),
            "months": {k: float(v) for k, v in opt_month.items()},
            "runtime_s": round(optimum_s, 2),
        },
        "runs": table,
        "solves": {
            "count": len(solves),
            "median_s": float(np.median(solve)),
            "max_s": float(solve.max()),
            "total_s": float(solve.sum()),
            "cpu_median_s": float(np.median(solve_cpu)),
            "cpu_max_s": float(solve_cpu.max()),
            "cpu_total_s": float(solve_cpu.sum()),
        },
    }


def sampled(
    pattern: str, days: int, planner: str, runs: tuple[str, ...], forecast: str = "offline"
) -> dict:
    """`run` on the first `days` days of each month of 2017, merged into one report whose
    months are those runs and whose total is their sum (calls max: the largest)."""
    parts = [run(pattern, date(2017, m, 1), days, planner, runs, forecast) for m in range(1, 13)]
    merged = dict(parts[0], start="2017-MM-01", days=f"{days} a month x 12")
    merged["sessions"] = sum(p["sessions"] for p in parts)
    merged["feasible_sessions"] = sum(p["feasible_sessions"] for p in parts)
    merged["optimum"] = {
        "total": sum(p["optimum"]["total"] for p in parts),
        "upper": sum(p["optimum"]["upper"] for p in parts),
        "months": {k: v for p in parts for k, v in p["optimum"]["months"].items()},
        "runtime_s": round(sum(p["optimum"]["runtime_s"] for p in parts), 2),
    }
    merged["runs"] = {}
    for name in runs:
        months = {k: v for p in parts for k, v in p["runs"][name]["months"].items()}
        totals = [p["runs"][name]["total"] for p in parts]
        merged["runs"][name] = {
            "months": months,
            "total": {
                "cost": sum(t["cost"] for t in totals),
                "feasible_misses": sum(t["feasible_misses"] for t in totals),
                "calls_max": max(t["calls_max"] for t in totals),
                "deferred": sum(t["deferred"] for t in totals),
                "starts_per_day": sum(t["starts_per_day"] for t in totals) / len(totals),
                "commands_per_day": sum(t["commands_per_day"] for t in totals) / len(totals),
                "runtime_s": round(sum(t["runtime_s"] for t in totals), 1),
                "cpu_s": round(sum(t["cpu_s"] for t in totals), 1),
            },
        }
    solves = [p["solves"] for p in parts]
    count = sum(s["count"] for s in solves)
    merged["solves"] = {
        "count": count,
        "median_s": float(np.median([s["median_s"] for s in solves])),
        "max_s": max(s["max_s"] for s in solves),
        "total_s": sum(s["total_s"] for s in solves),
        "cpu_median_s": float(np.median([s["cpu_median_s"] for s in solves])),
        "cpu_max_s": max(s["cpu_max_s"] for s in solves),
        "cpu_total_s": sum(s["cpu_total_s"] for s in solves),
    }
    return merged


def example(day: date, kwh: float, runs: tuple[str, ...]) -> dict[str, float]:
    """One session, `kwh` wanted from 17:30 on `day` to 07:30 the next morning (local):
    each run's cost and the optimum's (EUR)."""
    from dataclasses import replace

    inputs = load_real_2017(day, 2)
    tz = inputs.site.timezone
    arrival = pd.Timestamp(f"{day} 17:30", tz=tz).tz_convert("UTC")
    departure = pd.Timestamp(f"{day + timedelta(days=1)} 07:30", tz=tz).tz_convert("UTC")
    sessions = pd.DataFrame(
        {"arrival": [arrival], "departure": [departure], "energy_kwh": [kwh],
         "max_current_a": [float("nan")], "phases": [1]}
    )  # fmt: skip
    inputs = replace(inputs, sessions=sessions)
    setup = BacktestSetup(policies=PolicyConfig(target=TargetParams(planner="least_cost")))
    costs: dict[str, float] = {}
    first = None
    for name in runs:
        contender = (
            policy_contender(name) if name in ("target", "fast") else baseline_contender(name)
        )
        result = run_backtest(inputs, contender, setup)
        first = first or result
        costs[name] = float(session_costs(result).sum())
        costs[f"{name}_kwh"] = float(result.sessions["energy_wh"].sum() / 1000.0)
    assert first is not None
    costs["optimum"] = float(solve_cost_optimum(first)["cost"].sum())
    return costs


def markdown(report: dict) -> str:
    """The per-month table and the totals as Markdown."""
    runs = report["runs"]
    opt = report["optimum"]
    lines = [
        f"pattern {report['pattern']}, {report['start']} + {report['days']} days, "
        f"{report['sessions']} sessions ({report['feasible_sessions']} feasible), "
        f"target planner {report['planner']}, forecast {report.get('forecast', 'offline')}",
        "",
        "| month | target EUR | optimum EUR | target/opt | evcc_plan EUR (target cheaper by) "
        "| old target EUR (cheaper by) | fast EUR | misses | calls max | deferred "
        "| starts/d target / device |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    months = sorted(runs["target"]["months"])
    for month in [*months, "total"]:

        def pick(run: dict, month: str = month) -> dict:
            return run["total"] if month == "total" else run["months"][month]

        t = pick(runs["target"])
        o = opt["total"] if month == "total" else opt["months"].get(month, 0.0)
        cells = [month, f"{t['cost']:.2f}", f"{o:.2f}", _ratio(t["cost"], o)]
        for other in ("evcc_plan", "target_window"):
            c = pick(runs[other])["cost"] if other in runs else float("nan")
            cells.append(f"{c:.2f} ({_pct(c, t['cost'])})")
        cells.append(f"{pick(runs['fast'])['cost']:.2f}" if "fast" in runs else "-")
        dev = pick(runs["device_exclusive_pv"]) if "device_exclusive_pv" in runs else None
        cells += [
            str(t["feasible_misses"]),
            str(t["calls_max"]),
            str(t["deferred"]),
            f"{t['starts_per_day']:.2f} / {dev['starts_per_day']:.2f}" if dev else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    s = report["solves"]
    lines += [
        "",
        f"least-cost solves: {s['count']}, median {s['median_s']:.3f} s, max {s['max_s']:.3f} s, "
        f"total {s['total_s']:.1f} s (CPU: median {s['cpu_median_s']:.3f} s, "
        f"max {s['cpu_max_s']:.3f} s, total {s['cpu_total_s']:.1f} s); run times (s): "
        + ", ".join(
            f"{k} {v['total']['runtime_s']} (CPU {v['total']['cpu_s']})" for k, v in runs.items()
        )
        + f"; optimum {opt['runtime_s']} s (lower bound {opt['total']:.2f}, "
        f"a whole-amp schedule {opt['upper']:.2f} EUR)",
    ]
    return "\n".join(lines)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b > 0 else "-"


def _pct(other: float, mine: float) -> str:
    if other <= 0:
        return "-"
    return f"{(other - mine) / other * 100:+.1f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pattern", choices=sorted(PATTERNS), default="commuter")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2017, 1, 1))
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--planner", choices=("least_cost", "window"), default="least_cost")
    parser.add_argument("--runs", default=",".join(RUNS), help="comma-separated runs")
    parser.add_argument(
        "--forecast",
        default="offline",
        help="offline (default), oracle (an upper bound) or file:PATH (archived forecasts)",
    )
    parser.add_argument("--json", dest="json_out", default=None, help="write the report here")
    parser.add_argument(
        "--sample-days",
        type=int,
        default=None,
        help="instead of one run: the first N days of every month of 2017, one run each",
    )
    parser.add_argument(
        "--example",
        type=date.fromisoformat,
        default=None,
        help="one session instead: 20 kWh from 17:30 on this day to 07:30 the next morning",
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the budget-held evcc loop logs every deferred write
    runs = tuple(args.runs.split(","))
    if args.example:
        print(json.dumps(example(args.example, 20.0, runs), indent=1))
        return
    try:
        if args.sample_days:
            report = sampled(args.pattern, args.sample_days, args.planner, runs, args.forecast)
        else:
            report = run(args.pattern, args.start, args.days, args.planner, runs, args.forecast)
    except ValueError as exc:  # OptionError, or a --start/--days the data lacks: one line
        raise SystemExit(f"error: {exc}") from None
    if args.json_out:
        with open(args.json_out, "w") as handle:
            json.dump(report, handle, indent=1)
    print(markdown(report))


if __name__ == "__main__":
    main()

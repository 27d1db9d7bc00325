"""Record the least-cost planner's requests of a `target` run, then replay them with HiGHS
options: the same inputs, so only the solver differs (BENCHMARKS.md "Least-cost target:
faster solves").

    PYTHONPATH=$PWD .venv/bin/python benchmarks/least_cost_replay.py record \\
        --pattern commuter --start 2017-01-09 --days 14 --out comm_jan.pkl
    PYTHONPATH=$PWD .venv/bin/python benchmarks/least_cost_replay.py options comm_jan.pkl \\
        '{}' '{"mip_heuristic_run_feasibility_jump": false}'

Two trees on the same requests (BENCHMARKS.md "Least-cost target: fewer and faster
solves, fourth round"): record once, `solve` with each tree (run from its root), compare:

    PYTHONPATH=$PWD .venv/bin/python benchmarks/least_cost_replay.py record \\
        --pattern commuter --start 2017-01-01 --days 365 --out year.pkl
    PYTHONPATH=$PWD .venv/bin/python benchmarks/least_cost_replay.py solve year.pkl main.pkl
    PYTHONPATH=$PWD .venv/bin/python benchmarks/least_cost_replay.py compare main.pkl branch.pkl

`record` runs `target` (planner least_cost, real-2017, offline forecast) and pickles each
`PlanRequest` with the options it was solved with. `solve` solves every request again with
this tree's `least_cost_schedule` and pickles per request its CPU seconds, objective (EUR)
and status; `compare` prints both files' CPU (total, median, p95, max, count over 0.25 s)
and the objectives' differences request by request. `options` solves every request that
wants energy once per option set (each a JSON object added to the planner's own options,
the first the reference) and prints per set: CPU seconds (`time.process_time`, which a
shared machine's load inflates less than wall time), median and max per solve, and the
objective against the first set's (EUR: sum, worst, best).
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from datetime import date
from typing import Any

import numpy as np

import optimizer.planning.least_cost as least_cost
from benchmarks.least_cost_year import PATTERNS, SolveTimer
from optimizer.backtest.dataset import load_real_2017
from optimizer.backtest.engine import BacktestSetup, policy_contender, run_backtest
from optimizer.highs_milp import solve_milp
from optimizer.planning.request import PlanRequest
from optimizer.policies import PolicyConfig
from optimizer.policies.target import TargetParams


def record(pattern: str, start: date, days: int) -> list[tuple[PlanRequest, dict[str, Any]]]:
    """Every request the planner solved in a `target` run, with its keyword options."""
    inputs = load_real_2017(start, days, pattern=PATTERNS[pattern]())
    requests: list[tuple[PlanRequest, dict[str, Any]]] = []
    with SolveTimer() as timer:
        timed = least_cost.least_cost_schedule

        def kept(request: PlanRequest, **options: Any) -> Any:
            requests.append((request, options))
            return timed(request, **options)

        least_cost.least_cost_schedule = kept
        setup = BacktestSetup(policies=PolicyConfig(target=TargetParams(planner="least_cost")))
        run_backtest(inputs, policy_contender("target"), setup)
    print(f"{len(requests)} requests, solve CPU {sum(timer.cpu_seconds):.2f} s")
    return requests


def replay(requests: list[tuple[PlanRequest, dict[str, Any]]], variants: list[str]) -> None:
    """Solve each request under each option set; print time and objective per set."""
    sets = [json.loads(v) for v in variants]
    cpu: list[list[float]] = [[] for _ in sets]
    objective: list[list[float]] = [[] for _ in sets]
    for request, options in requests:
        if request.slots == 0 or request.energy_wanted_wh <= 0.0:
            continue
        problem = least_cost._Model(request).milp()
        limit = options.get("time_limit_s", least_cost.DEFAULT_TIME_LIMIT_S)
        for i, extra in enumerate(sets):
            chosen = least_cost._options(
                limit, least_cost.DEFAULT_MIP_GAP, least_cost.DEFAULT_NODE_LIMIT
            )
            chosen.update(extra)
            began = time.process_time()
            result = solve_milp(problem, chosen)
            cpu[i].append(time.process_time() - began)
            objective[i].append(result.objective / least_cost._OBJECTIVE_SCALE)
    reference = np.array(objective[0])
    for i, variant in enumerate(variants):
        seconds, diff = np.array(cpu[i]), np.array(objective[i]) - reference
        print(
            f"{variant}: {len(seconds)} solves, CPU {seconds.sum():.2f} s, median "
            f"{np.median(seconds) * 1000:.1f} ms, max {seconds.max() * 1000:.0f} ms; objective "
            f"vs first: sum {diff.sum():+.5f} EUR, worst {diff.max():+.5f}, best {diff.min():+.5f}"
        )


def solve_all(requests: list[tuple[PlanRequest, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each request solved by this tree's planner: CPU (s), objective (EUR), status."""
    solved = []
    for request, options in requests:
        began = time.process_time()
        plan = least_cost.least_cost_schedule(request, **options)
        solved.append(
            {
                "cpu_s": time.process_time() - began,
                "objective_eur": plan.objective_eur,
                "status": plan.status,
                "wants": request.slots > 0 and request.energy_wanted_wh > 0.0,
            }
        )
    return solved


def compare(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
    """Print both runs' CPU per solve and the objectives' differences (after - before)."""
    for name, solved in (("before", before), ("after", after)):
        cpu = np.array([s["cpu_s"] for s in solved])
        print(
            f"{name}: {len(cpu)} requests ({sum(s['wants'] for s in solved)} wanting energy), "
            f"CPU {cpu.sum():.2f} s, median {np.median(cpu) * 1000:.1f} ms, p95 "
            f"{np.percentile(cpu, 95) * 1000:.0f} ms, max {cpu.max() * 1000:.0f} ms, "
            f"over 0.25 s: {int((cpu > 0.25).sum())}, not optimal: "
            f"{sum(s['status'] != 'optimal' for s in solved)}"
        )
    diff = np.array(
        [b["objective_eur"] - a["objective_eur"] for a, b in zip(before, after, strict=True)]
    )
    print(
        f"objective after - before: sum {np.nansum(diff):+.5f} EUR, worst {np.nanmax(diff):+.5f}, "
        f"best {np.nanmin(diff):+.5f}; dearer by > 0.1 ct: {int((diff > 1e-3).sum())}, "
        f"by > 0.01 ct: {int((diff > 1e-4).sum())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record")
    rec.add_argument("--pattern", choices=sorted(PATTERNS), default="commuter")
    rec.add_argument("--start", type=date.fromisoformat, default=date(2017, 1, 9))
    rec.add_argument("--days", type=int, default=14)
    rec.add_argument("--out", required=True)
    rep = commands.add_parser("options")
    rep.add_argument("requests")
    rep.add_argument("variants", nargs="+", help="JSON objects of HiGHS options")
    sol = commands.add_parser("solve")
    sol.add_argument("requests")
    sol.add_argument("out")
    cmp = commands.add_parser("compare")
    cmp.add_argument("before")
    cmp.add_argument("after")
    args = parser.parse_args()
    if args.command == "record":
        with open(args.out, "wb") as out:
            pickle.dump(record(args.pattern, args.start, args.days), out)
    elif args.command == "solve":
        with open(args.requests, "rb") as source, open(args.out, "wb") as out:
            pickle.dump(solve_all(pickle.load(source)), out)
    elif args.command == "compare":
        with open(args.before, "rb") as first, open(args.after, "rb") as second:
            compare(pickle.load(first), pickle.load(second))
    else:
        with open(args.requests, "rb") as source:
            replay(pickle.load(source), args.variants)


if __name__ == "__main__":
    main()

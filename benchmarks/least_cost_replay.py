"""Record the least-cost planner's requests of a `target` run, then replay them with HiGHS
options: the same inputs, so only the solver differs (BENCHMARKS.md "Least-cost target:
faster solves").

    PYTHONPATH=$PWD .venv/bin/python benchmarks/least_cost_replay.py record \\
        --pattern commuter --start 2017-01-09 --days 14 --out comm_jan.pkl
    PYTHONPATH=$PWD .venv/bin/python benchmarks/least_cost_replay.py options comm_jan.pkl \\
        '{}' '{"mip_heuristic_run_feasibility_jump": false}'

`record` runs `target` (planner least_cost, real-2017, offline forecast) and pickles each
`PlanRequest` with the options it was solved with. `options` solves every request that
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
import warnings
from datetime import date
from typing import Any

import numpy as np
from scipy.optimize import milp

import optimizer.planning.least_cost as least_cost
from benchmarks.least_cost_year import PATTERNS, SolveTimer
from optimizer.backtest.dataset import load_real_2017
from optimizer.backtest.engine import BacktestSetup, policy_contender, run_backtest
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
        model = least_cost._Model(request)
        problem = {
            "c": model.objective() * least_cost._OBJECTIVE_SCALE,
            "integrality": model.integrality(),
            "bounds": model.bounds(),
            "constraints": [model.constraints()],
        }
        limit = options.get("time_limit_s", least_cost.DEFAULT_TIME_LIMIT_S)
        for i, extra in enumerate(sets):
            chosen = least_cost._options(
                limit, least_cost.DEFAULT_MIP_GAP, least_cost.DEFAULT_NODE_LIMIT
            )
            chosen.update(extra)
            began = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                result = milp(options=chosen, **problem)
            cpu[i].append(time.process_time() - began)
            objective[i].append(float(result.fun) / least_cost._OBJECTIVE_SCALE)
    reference = np.array(objective[0])
    for i, variant in enumerate(variants):
        seconds, diff = np.array(cpu[i]), np.array(objective[i]) - reference
        print(
            f"{variant}: {len(seconds)} solves, CPU {seconds.sum():.2f} s, median "
            f"{np.median(seconds) * 1000:.1f} ms, max {seconds.max() * 1000:.0f} ms; objective "
            f"vs first: sum {diff.sum():+.5f} EUR, worst {diff.max():+.5f}, best {diff.min():+.5f}"
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
    args = parser.parse_args()
    if args.command == "record":
        with open(args.out, "wb") as out:
            pickle.dump(record(args.pattern, args.start, args.days), out)
    else:
        with open(args.requests, "rb") as source:
            replay(pickle.load(source), args.variants)


if __name__ == "__main__":
    main()

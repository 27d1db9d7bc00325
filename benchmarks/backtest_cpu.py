"""CPU seconds of one backtest run, for side-by-side speed comparisons on a shared box.

    PYTHONPATH=TREE .venv/bin/python benchmarks/backtest_cpu.py POLICY [--start 2017-01-01]
        [--days 365] [--profile out.prof]

Runs `run_backtest` once on real-2017 and prints the contender, cycles, CPU seconds
(`time.process_time`, less disturbed by other processes than wall time), wall seconds
and the EV energy (Wh, to see at a glance that two trees did the same run).
`target` runs target with its configured planner (`least_cost`, the default since
issue 10); `target_window` is target with `planner = "window"`, the planner issue 13's
"<= 10 s a year for target" was set for (section 15 of BENCHMARKS.md measured it).
Data loading is not timed. To compare two source trees, run it from each tree's
root in turn (before, after, before, after, ...) and compare the ratios: on a
shared machine a whole-year figure moves by 20 % or more between runs.
"""

from __future__ import annotations

import argparse
import cProfile
import time
from datetime import date
from pathlib import Path

from optimizer.backtest.dataset import load_real_2017
from optimizer.backtest.engine import contender_named, run_backtest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "policy",
        help="contender name (a policy or a baseline; target_window: target, window planner)",
    )
    parser.add_argument("--start", type=date.fromisoformat, default=date(2017, 1, 1))
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile here")
    args = parser.parse_args()
    inputs = load_real_2017(args.start, args.days)
    contender = contender_named(args.policy)
    profiler = cProfile.Profile() if args.profile is not None else None
    if profiler is not None:
        profiler.enable()
    cpu, wall = time.process_time(), time.perf_counter()
    result = run_backtest(inputs, contender)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    print(
        f"{args.policy} {args.start} {args.days}d cycles={result.cycles} "
        f"cpu={cpu:.2f}s wall={wall:.2f}s ev_wh={result.totals['energy_wh']:.6f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

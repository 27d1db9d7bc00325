"""Backtest speed of two source trees, measured side by side on the same machine.

    .venv/bin/python benchmarks/side_by_side.py --before /path/to/old/tree --after . \
        [--contenders solar_only,min_solar,target] [--start 2017-01-01] [--days 365] [--repeats 2]

Each (tree, contender) run is a fresh interpreter with the tree first on `sys.path`,
so the two trees never share imported code. The runs alternate before/after per
contender and repeat; the figure is the smallest CPU time (`time.process_time`,
seconds) of `run_backtest` alone over the repeats, after a one-day warm-up run in the
same interpreter: data loading and one-time imports (a tree that imports pvlib lazily
would otherwise pay ~0.6 s of imports inside the timed run) are excluded. The
machine is shared and noisy: compare the ratio of two figures measured in the same
run, not figures from different runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, sys, time
from datetime import date
from optimizer.backtest.compare import contenders
BASELINES = {"device_exclusive_pv", "device_pv_min", "evcc_style", "evcc_style_budget"}
from optimizer.backtest.dataset import load_real_2017
from optimizer.backtest.engine import run_backtest

name, start, days = sys.argv[1], date.fromisoformat(sys.argv[2]), int(sys.argv[3])
inputs = load_real_2017(start, days)
policies = [] if name in BASELINES else [name]
(contender,) = [c for c in contenders(policies) if c.name == name]
run_backtest(load_real_2017(date(2017, 6, 1), 1), contender)  # warm-up: one-time imports
t0 = time.process_time()
result = run_backtest(inputs, contender)
cpu = time.process_time() - t0
print(json.dumps({"cpu_s": cpu, "cycles": result.cycles}))
"""


def run_once(tree: Path, contender: str, start: str, days: int) -> dict[str, float]:
    """One backtest of `contender` with `tree`'s code: CPU seconds and cycles."""
    env = {**os.environ, "PYTHONPATH": str(tree.resolve()), "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, contender, start, str(days)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the old source tree")
    parser.add_argument("--after", type=Path, default=Path("."), help="the new source tree")
    parser.add_argument("--contenders", default="solar_only,min_solar,target")
    parser.add_argument("--start", default="2017-01-01", help="first local day of real-2017")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print("| contender | cycles before -> after | CPU s before | CPU s after | after / before |")
    print("|---|---|---|---|---|")
    for name in args.contenders.split(","):
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.repeats):
            for label, tree in (("before", args.before), ("after", args.after)):
                got = run_once(tree, name, args.start, args.days)
                if label not in best or got["cpu_s"] < best[label]["cpu_s"]:
                    best[label] = got
        b, a = best["before"], best["after"]
        print(
            f"| {name} | {b['cycles']:,.0f} -> {a['cycles']:,.0f} | {b['cpu_s']:.1f} | "
            f"{a['cpu_s']:.1f} | {a['cpu_s'] / b['cpu_s']:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

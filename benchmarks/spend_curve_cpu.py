"""CPU microseconds of the budget planner's per-cell work: one future spend curve built,
solved and asked for the current rate, as the planner does once per 5-minute grid cell.

    PYTHONPATH=TREE .venv/bin/python benchmarks/spend_curve_cpu.py [--cells 200] [--repeat 2000]

A day-shaped weight row (zero at night, a bell over the day, as `read_weights` gives for
one plugged-in charger) of `cells` 5-minute cells; prints the mean CPU time per curve
(`time.process_time`). Run it from each source tree in turn and compare the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from optimizer.budget.spend_curve import SpendCurve, current_rates

MIN_RATE = 1.0 / 1800.0
"""Reads per second at the floor (one per 30 min)."""
MAX_RATE = 1.0 / 31.0
"""Reads per second at the ceiling."""


def day_weights(cells: int) -> np.ndarray:
    """(1, cells) weights: 0 for the first 40 % of cells (night), a sine bell after."""
    night = int(cells * 0.4)
    bell = np.sin(np.linspace(0.0, np.pi, cells - night)) + 0.05
    return np.concatenate((np.zeros(night), bell))[None, :]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    weights, durations = day_weights(args.cells), np.full(args.cells, 300.0)
    budget = 0.5 * MAX_RATE * float(durations.sum())  # between floor and ceiling: a real solve
    cpu = time.process_time()
    for _ in range(args.repeat):
        curve = SpendCurve(weights, durations, min_rate=MIN_RATE, max_rate=MAX_RATE)
        current_rates(curve, [0.5], 120.0, budget, min_rate=MIN_RATE, max_rate=MAX_RATE)
    cpu = time.process_time() - cpu
    print(f"cells={args.cells} per_curve_us={cpu / args.repeat * 1e6:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

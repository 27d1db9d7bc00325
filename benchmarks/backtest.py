"""Benchmark: every policy vs the baselines and the optimum on real-2017.

    .venv/bin/python benchmarks/backtest.py [--days N] [--periods summer,spring,winter,year]
        [--policies solar_only,...] [--out benchmarks/backtest_results.md]

Periods: summer = June 2017, spring = May 2017 (April has 47 % logger gaps), winter =
January 2017, year = all of 2017. `--days N` cuts each period to its first N days
(the table says so). Reports solar kWh, ratio to optimum, grid kWh, target misses,
calls/day mean and max, current changes/day, and runtime per simulated year per
policy (wall time of the run scaled to 365 days, one core).
Goals: solar_only >= 97 % of the optimum with <= 600 calls/day mean and never
> 1000; better than device-native and budget-held evcc-style; <= 5 s per simulated
year at 1-minute steps.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from optimizer.backtest.compare import PRODUCT_POLICIES, compare
from optimizer.backtest.dataset import load_real_2017

PERIODS = {
    "summer": (date(2017, 6, 1), 30),
    "spring": (date(2017, 5, 1), 31),
    "winter": (date(2017, 1, 1), 31),
    "year": (date(2017, 1, 1), 365),
}
COLUMNS = [
    ("solar_kwh", "solar kWh"),
    ("ratio_to_optimum", "ratio"),
    ("grid_kwh", "grid kWh"),
    ("target_misses", "misses"),
    ("calls_per_day_mean", "calls/d mean"),
    ("calls_per_day_max", "calls/d max"),
    ("current_changes_per_day", "I changes/d"),
    ("runtime_s", "run s"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--periods", default="summer,spring,winter,year")
    parser.add_argument("--policies", default=",".join(PRODUCT_POLICIES))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/backtest_results.md"))
    args = parser.parse_args()
    command = "python benchmarks/backtest.py " + " ".join(sys.argv[1:])
    lines = [
        "# Backtest benchmark (real-2017)",
        "",
        f"Command: `{command.strip()}`",
        "",
        "World step 60 s, optimum on the same 60 s steps (solar-only MILP, HiGHS).",
        "`s/year` = wall time of the run scaled to 365 simulated days (one core).",
        "",
    ]
    for period in args.periods.split(","):
        first, days = PERIODS[period]
        if args.days is not None:
            days = min(days, args.days)
        inputs = load_real_2017(first, days)
        started = time.perf_counter()
        comparison = compare(inputs, args.policies.split(","))
        total = time.perf_counter() - started
        lines += [f"## {period}: {first} + {days} days ({total:.0f} s wall)", ""]
        lines += [f"_{note}_  " for note in inputs.notes] + [""]
        header = ["policy", *(h for _, h in COLUMNS), "s/year"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for name, m in comparison.metrics.items():
            cells = [name]
            for key, _ in COLUMNS:
                value = m.get(key)
                cells.append(
                    "-"
                    if value is None
                    else f"{value:g}"
                    if isinstance(value, float)
                    else str(value)
                )
            runtime = m.get("runtime_s")
            cells.append("-" if runtime is None else f"{float(runtime) * 365 / days:.0f}")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        print("\n".join(lines[-len(comparison.metrics) - 3 :]), flush=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: every policy vs the baselines and the optimum on real-2017.

    .venv/bin/python benchmarks/backtest.py [--days N] [--periods summer,spring,winter,year]
        [--policies solar_only,...] [--out benchmarks/backtest_results.md] [--runtime]

Periods: summer = June 2017, spring = May 2017 (April has 47 % logger gaps), winter =
January 2017, year = all of 2017. `--days N` cuts each period to its first N days
(the table says so). Reports solar kWh, ratio to optimum, grid kWh, target misses,
calls/day mean and max, current changes/day, and runtime per simulated year per
policy (wall time of the run scaled to 365 days, one core).
Goals: solar_only >= 97 % of the optimum with <= 600 calls/day mean and never
> 1000; better than device-native and budget-held evcc-style; <= 5 s per simulated
year at 1-minute steps.

`--runtime` times only the controller runs (no optimum, no metrics table): wall
seconds and cycles per contender, scaled to a simulated year, printed and written
as the "Latest `--runtime` run" at the end of the file's "## Runtime" section (the
section's earlier notes and before/after tables and the rest of the file are kept;
a full run keeps an existing Runtime section too).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from optimizer.backtest.compare import PRODUCT_POLICIES, compare, contenders
from optimizer.backtest.dataset import load_real_2017
from optimizer.backtest.engine import run_backtest

RUNTIME_HEADING = "## Runtime"

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
    ("start_stop_cycles_per_day", "starts/d"),
    ("runtime_s", "run s"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--periods", default="summer,spring,winter,year")
    parser.add_argument("--policies", default=",".join(PRODUCT_POLICIES))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/backtest_results.md"))
    parser.add_argument("--runtime", action="store_true", help="time the controller runs only")
    args = parser.parse_args()
    command = "python benchmarks/backtest.py " + " ".join(sys.argv[1:])
    if args.runtime:
        section = runtime_section(args.periods.split(","), args.policies.split(","), args.days)
        text = args.out.read_text() if args.out.exists() else ""
        args.out.write_text(
            _with_runtime(_without_runtime(text), section, command, _runtime_of(text))
        )
        print(f"wrote {args.out}")
        return 0
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
    kept = _runtime_of(args.out.read_text()) if args.out.exists() else ""
    args.out.write_text("\n".join(lines) + "\n" + (f"\n{kept}" if kept else ""))
    print(f"wrote {args.out}")
    return 0


def runtime_section(periods: list[str], policies: list[str], days: int | None) -> list[str]:
    """Time `run_backtest` per contender and period: s/year = wall s * 365 / days."""
    lines = ["| period | contender | cycles | wall s | s/year |", "|---|---|---|---|---|"]
    for period in periods:
        first, n = PERIODS[period]
        n = min(n, days) if days is not None else n
        inputs = load_real_2017(first, n)
        for contender in contenders(policies):
            started = time.perf_counter()
            result = run_backtest(inputs, contender)
            wall = time.perf_counter() - started
            row = f"| {period} {first}+{n}d | {contender.name} | {result.cycles} | {wall:.2f} | "
            lines.append(row + f"{wall * 365 / n:.1f} |")
            print(lines[-1], flush=True)
    return lines


def _runtime_of(text: str) -> str:
    """The Runtime section of a results file ('' if none)."""
    start = text.find(RUNTIME_HEADING)
    return "" if start < 0 else text[start:]


def _without_runtime(text: str) -> str:
    start = text.find(RUNTIME_HEADING)
    return text if start < 0 else text[:start].rstrip() + "\n"


LATEST_HEADING = "### Latest `--runtime` run"


def _with_runtime(text: str, table: list[str], command: str, kept: str = "") -> str:
    """`text` with a Runtime section: the `kept` notes of earlier rounds (the section
    as it was, less its previous latest run), then the latest table."""
    notes = kept[: kept.find(LATEST_HEADING)] if LATEST_HEADING in kept else kept
    notes = notes.removeprefix(RUNTIME_HEADING).strip()
    section = [
        RUNTIME_HEADING,
        "",
        *([notes, ""] if notes else []),
        LATEST_HEADING,
        "",
        f"Command: `{command.strip()}`",
        "",
        "Controller runs only (world, controller, policy, forecaster, budget planner), one core;",
        "`s/year` = wall seconds scaled to 365 simulated days.",
        "",
        *table,
    ]
    return (text.rstrip() + "\n\n" if text.strip() else "") + "\n".join(section) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

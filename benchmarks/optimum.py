"""Time the perfect-foresight optimum for one session-day (goal: <= 1 s).

TIMING ONLY: the surplus is synthetic (a clear-sky bell with seeded random clouds and a
noisy household), used to measure solver time, not to report energy results.

Run: .venv/bin/python benchmarks/optimum.py [--repeats N] [--step-s S]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import numpy as np

from optimizer.backtest.optimum import ChargeLimits, Objective, solve_session


def synthetic_day(step_s: float, seed: int, peak_w: float = 7000.0) -> np.ndarray:
    """Timing-only surplus for one day (W): PV bell with clouds minus a household."""
    rng = np.random.default_rng(seed)
    hours = np.arange(0.0, 24.0, step_s / 3600.0)
    pv = peak_w * np.clip(np.sin(np.pi * (hours - 6.0) / 14.0), 0.0, None) ** 1.5
    clouds = np.clip(1.0 - 0.6 * (rng.random(hours.size) < 0.3) * rng.random(hours.size), 0, 1)
    house = 300.0 + 700.0 * rng.random(hours.size) ** 3
    return pv * clouds - house


def time_case(
    objective: Objective, phases: int, energy_wh: float, step_s: float, repeats: int
) -> tuple[float, float, float]:
    """Median and worst seconds per session-day, and the median solar kWh."""
    seconds, solar = [], []
    for seed in range(repeats):
        surplus = synthetic_day(step_s, seed)
        prices = 0.10 + 0.20 * (np.arange(surplus.size) * step_s / 3600 % 24 > 17)
        start = time.perf_counter()
        result = solve_session(
            surplus,
            energy_wh,
            objective=objective,
            limits=ChargeLimits(phases=phases),
            step_s=step_s,
            price_per_kwh=prices if objective == "target" else None,
        )
        seconds.append(time.perf_counter() - start)
        solar.append(result.total_solar_wh / 1000)
    return float(np.median(seconds)), float(np.max(seconds)), float(np.median(solar))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="days per case (seeds)")
    parser.add_argument("--step-s", type=float, default=300.0, help="optimum step (s)")
    args = parser.parse_args()
    print("command: " + shlex.join([".venv/bin/python", *sys.argv]))
    print(f"synthetic surplus, TIMING ONLY; {args.repeats} days per case, step {args.step_s} s")
    print(
        f"{'objective':<11} {'phases':>6} {'want kWh':>8} {'median s':>9} {'max s':>7} {'goal':>6}"
    )
    cases: list[tuple[Objective, int, float]] = [
        ("solar_only", 1, 40_000.0),
        ("solar_only", 3, 40_000.0),
        ("target", 1, 20_000.0),
        ("target", 3, 30_000.0),
    ]
    for objective, phases, energy in cases:
        median, worst, _ = time_case(objective, phases, energy, args.step_s, args.repeats)
        verdict = "ok" if worst <= 1.0 else "MISS"
        print(
            f"{objective:<11} {phases:>6} {energy / 1000:>8.0f} {median:>9.3f} "
            f"{worst:>7.3f} {verdict:>6}"
        )


if __name__ == "__main__":
    main()

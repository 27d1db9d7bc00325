"""Time the least-cost planner (`optimizer.planning`) on random 24 h problems (goal: <= 0.5 s).

TIMING ONLY: synthetic instances (a PV bell with seeded clouds, a noisy household,
day-ahead-shaped prices with evening peaks and sometimes negative hours, a flat,
zero or spot-like export price, 1 or 3 phases, 16 or 32 A, a fuse, a taper for a third
of them (`--taper caps`: the conservative per-slot caps of `taper_caps_w`, the
default; `--taper lines`: the exact energy-dependent lines), a random charger state
and 0-60 kWh wanted), 96 slots of 15 minutes from a random quarter hour, decisions
per clock hour (the defaults).

For every solve that stops at the time limit the same instance is solved again with
10 s and a 1e-6 gap, and the objective lost to the limit is reported.

Run: .venv/bin/python benchmarks/plan_solve.py [--instances 500] [--seed 0]
"""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import UTC, datetime, timedelta

import numpy as np

from optimizer.limits import ChargerLimits
from optimizer.planning import (
    ChargerNow,
    PlanRequest,
    TaperLine,
    least_cost_schedule,
    taper_caps_w,
)

SLOTS = 96
STEP_S = 900.0


def instance(rng: np.random.Generator, taper_as: str = "caps") -> PlanRequest:
    """One random 24 h planning problem (see the module docstring)."""
    start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(
        minutes=15 * int(rng.integers(0, 96 * 365))
    )
    hours = (start.hour + start.minute / 60 + np.arange(SLOTS) * STEP_S / 3600) % 24
    hourly = np.repeat(rng.normal(0.0, 0.03, SLOTS // 4 + 1), 4)[:SLOTS]
    spot = 0.08 + 0.06 * np.exp(-((hours - 19) ** 2) / 4) + 0.03 * np.exp(-((hours - 8) ** 2) / 3)
    spot = spot + hourly - (0.12 if rng.random() < 0.15 else 0.0) * np.exp(-((hours - 13) ** 2) / 3)
    imports = spot * 1.2 + 0.12
    export_kind = rng.integers(0, 3)
    exports = [np.zeros(SLOTS), np.full(SLOTS, 0.07), spot][export_kind]
    peak = rng.uniform(0.0, 10_000.0)
    bell = np.clip(np.sin((hours - 6) / 14 * np.pi), 0.0, None) * peak
    clouds = np.repeat(rng.uniform(0.2, 1.0, SLOTS // 4 + 1), 4)[:SLOTS]
    house = rng.uniform(200.0, 3000.0, SLOTS)
    phases = int(rng.choice([1, 3]))
    limits = ChargerLimits(
        max_current_a=int(rng.choice([16, 32])),
        phases=phases,
        main_fuse_w=float(rng.choice([9200.0, 14_000.0, 25_000.0])),
    )
    full_w = limits.max_current_a * limits.watts_per_amp
    taper = (TaperLine(full_w * 1.5, full_w / 20_000.0),) if rng.random() < 1 / 3 else ()
    charging = bool(rng.random() < 0.5)
    cap = None
    if taper and taper_as == "caps":
        cap, taper = taper_caps_w(taper, np.full(SLOTS, full_w), STEP_S / 3600.0), ()
    return PlanRequest(
        start=start,
        import_eur_per_kwh=imports,
        export_eur_per_kwh=exports,
        surplus_w=bell * clouds - house,
        energy_wanted_wh=float(rng.uniform(0.0, 60_000.0)),
        limits=limits,
        step_s=STEP_S,
        house_w=house,
        taper=taper,
        max_power_w=cap,
        now=ChargerNow(charging, limits.min_power_w if charging else 0.0, bool(rng.random() < 0.5)),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--taper",
        choices=("caps", "lines"),
        default="caps",
        help="a third of the cars taper: as per-slot caps (taper_caps_w) or as exact lines",
    )
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    times, limited, losses, commands, shortfalls = [], 0, [], [], 0
    for _ in range(args.instances):
        request = instance(rng, args.taper)
        plan = least_cost_schedule(request)
        times.append(plan.solve_s)
        commands.append(plan.commands)
        shortfalls += plan.shortfall_wh > 0.0
        if plan.status != "optimal":
            limited += 1
            best = least_cost_schedule(request, time_limit_s=10.0, mip_gap=1e-6)
            losses.append(plan.objective_eur - best.objective_eur)
    t = np.array(times)
    print(f"$ {shlex.join(['python', 'benchmarks/plan_solve.py', *sys.argv[1:]])}")
    print(f"instances {args.instances}: 96 slots of 15 min, 24 hour blocks")
    print(
        f"solve s: median {np.median(t):.3f}  p95 {np.quantile(t, 0.95):.3f}  max {t.max():.3f}"
        f"  goal 0.5 s {'ok' if t.max() <= 0.5 else 'MISS'}"
    )
    print(f"stopped at the time limit: {limited}")
    if losses:
        print(
            f"objective lost to the limit (EUR): median {np.median(losses):.4f}"
            f"  max {max(losses):.4f}"
        )
    print(f"commands per plan: median {np.median(commands):.0f}  max {max(commands)}")
    print(f"plans with a shortfall (target beyond the limits): {shortfalls}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

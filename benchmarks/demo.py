"""Wall time of `v2c-solar demo --hours 24` (goal: well under 2 minutes on 2 cores).

Runs the real command in a subprocess, as a user would (interpreter start and
imports included), and reports the wall time, the command's own run time
(daemon and simulator only) and the call counts from its JSON summary.

    .venv/bin/python benchmarks/demo.py [--hours 24] [--speed N] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

GOAL_S = 120.0


def run_once(hours: float, speed: float | None) -> tuple[float, dict[str, object]]:
    """One `demo --json` run: (wall seconds, its summary)."""
    cmd = [sys.executable, "-m", "optimizer.cli.main", "demo", "--hours", f"{hours:g}", "--json"]
    if speed is not None:
        cmd += ["--speed", f"{speed:g}"]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    summary: dict[str, object] = json.loads(done.stdout)
    return wall, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--speed", type=float, default=None, help="default: the demo's")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    for i in range(args.repeat):
        wall, s = run_once(args.hours, args.speed)
        verdict = "OK" if wall < GOAL_S else "TOO SLOW"
        print(
            f"run {i + 1}: demo --hours {args.hours:g}: {wall:.1f} s wall "
            f"(daemon {s['wall_s']} s at {s['speed']}x), {s['calls_used']} calls, "
            f"max {s['calls_per_day_max']}/day, EV {s['ev_kwh']} kWh "
            f"(solar {s['solar_kwh']}), goal < {GOAL_S:.0f} s: {verdict}"
        )


if __name__ == "__main__":
    main()

"""How fast the world model simulates: a day at 1 s steps, a year at 1-min steps.

Run: `.venv/bin/python benchmarks/world.py` (prints a table and the command).
The backtest target is <= 5 s per simulated year per policy including the
controller, so the world alone should take a small part of that. Each row
advances the world the way a caller would: a read (and, every 10th read, a
new setpoint) every `poll` seconds of simulated time through `WorldCharger`.
Each case runs plain (the HTTP simulator's way) and with the per-step record on
(`World.record`, what a backtest uses), alternately `REPEAT` times; the table
shows the least CPU time (process time: other processes on a shared machine
disturb it far less than wall time) of each and the record's overhead.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import timedelta

from adapters.simulator.inprocess import SimClock, WorldCharger
from adapters.simulator.world import RandomSessions, World, default_scenario, load_scenario
from optimizer.interfaces import PvMode
from optimizer.sessions import HomeOfficePattern


@dataclass(frozen=True)
class Case:
    name: str
    scenario: str | None
    step_s: int
    days: int
    poll_s: float
    mode: PvMode


CASES = (
    Case("day, 1 s steps, poll 30 s", "broken_clouds", 1, 1, 30.0, PvMode.EXCLUSIVE_PV),
    Case("day, 1 s steps, poll 1 s", "broken_clouds", 1, 1, 1.0, PvMode.EXCLUSIVE_PV),
    Case(
        "year, 1 min, exclusive PV, poll 90 s", "home_all_day", 60, 365, 90.0, PvMode.EXCLUSIVE_PV
    ),
    Case("year, 1 min, PV+min, poll 90 s", "home_all_day", 60, 365, 90.0, PvMode.PV_MIN),
    Case("year, 1 min, max power, poll 90 s", "home_all_day", 60, 365, 90.0, PvMode.MAX_POWER),
    Case("year, 1 min, exclusive PV, commuter", "commuter", 60, 365, 90.0, PvMode.EXCLUSIVE_PV),
)


REPEAT = 2
"""Runs of each case with and without the record; the least time of each is shown."""


def run(case: Case, record: bool = False) -> tuple[float, float, int]:
    """Seconds for the world setup + run, the simulated kWh into the car, and calls made."""
    scenario = load_scenario(f"config/scenarios/{case.scenario}.toml") if case.scenario else None
    scenario = scenario or default_scenario()
    if case.days > 1:  # one device, random sessions, a long horizon
        device = scenario.devices[0]
        if not isinstance(device.sessions, RandomSessions):
            device = device.model_copy(
                update={"sessions": RandomSessions(kind="random", pattern=HomeOfficePattern())}
            )
        scenario = scenario.model_copy(update={"devices": (device,)})
    began = time.process_time()
    world = World(scenario, seed=1, step_s=case.step_s)
    end = world.now + timedelta(days=case.days)
    if record:
        world.record(until=end)
    clock = SimClock(world.now)
    charger = WorldCharger(world, world.device_ids[0], clock, daily_limit=None)
    charger.set_pv_mode(case.mode)
    n = 0
    while clock.now() < end:
        clock.advance(case.poll_s)
        charger.read()
        n += 1
        if n % 10 == 0:
            charger.set_current(6 + n % 11)
    if record:
        world.recorded(world.device_ids[0])
    elapsed = time.process_time() - began
    return elapsed, world.totals(world.device_ids[0]).energy_wh / 1000.0, n


def main() -> None:
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    head = f"{'case':40s} {'seconds':>8s} {'car kWh':>9s} {'reads':>8s}"
    print(f"{head} {'recording':>10s} {'overhead':>9s}")
    for case in CASES:
        plain, recording = [], []
        for _ in range(REPEAT):
            seconds, kwh, reads = run(case)
            recorded, kwh_recorded, _ = run(case, record=True)
            assert kwh_recorded == kwh, "recording changed the physics"
            plain.append(seconds)
            recording.append(recorded)
        seconds, recorded = min(plain), min(recording)
        overhead = 100.0 * (recorded - seconds) / seconds
        row = f"{case.name:40s} {seconds:8.2f} {kwh:9.0f} {reads:8d}"
        print(f"{row} {recorded:10.2f} {overhead:8.1f}%")


if __name__ == "__main__":
    main()

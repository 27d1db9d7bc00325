"""A fleet of accounts in one process: CPU and memory per charger-day (issue 13).

Two ways to run it:

- `--speed N` (default 288): what `v2c-solar demo --fleet A:C --hours H --speed N`
  does, against the wall clock; on a loaded machine the daemon falls behind
  (fewer cycles, fewer calls) and its CPU per charger-day looks better than it is;
- `--stepped S`: the simulator frozen, every account driven through each S
  simulated seconds in turn (`FleetRunner.settle`): all the work of the day is
  done whatever the machine's load, so the CPU seconds are the day's cost.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/fleet.py --fleet 100:10 --hours 24 --stepped 60

Prints one JSON line: the fleet demo's summary (`adapters.simulator.fleet_summary`)
plus `cycles` (every site's daemon's) and `setup_cpu_s` (building the fleet).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from adapters.simulator.fleet import generate_fleet, start_fleet_simulator
from adapters.simulator.fleet_summary import ProcessCost, summarize_fleet
from adapters.storage import SqlStore
from adapters.v2c_cloud.pool import HttpPool
from optimizer.daemon.cloud import fleet_daemons
from optimizer.daemon.fleet import FleetRunner

FROZEN = 0.001


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", default="100:10", help="ACCOUNTS:CHARGERS")
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--speed", type=float, default=288.0)
    parser.add_argument("--stepped", type=float, default=None, help="simulated s per step")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    accounts, chargers = (int(x) for x in args.fleet.split(":"))
    cpu0 = ProcessCost.now().cpu_s
    fleet = generate_fleet(accounts, chargers, seed=args.seed)
    stepped = args.stepped is not None
    running = start_fleet_simulator(fleet, speed=FROZEN if stepped else args.speed)
    store = SqlStore(f"sqlite:///{Path(tempfile.mkdtemp(prefix='v2c-fleet-')) / 'fleet.db'}")
    pool = HttpPool()
    clock = running.simulator.clock
    wired = fleet_daemons(fleet.accounts, pool, running.base_url, clock, store)
    runner = FleetRunner(wired, clock)
    setup_cpu_s = ProcessCost.now().cpu_s - cpu0
    start = clock.now()
    until = start + timedelta(hours=args.hours)
    wall0 = time.monotonic()
    runner.start()
    if stepped:
        t = start
        while t < until:
            t = min(t + timedelta(seconds=args.stepped), until)
            running.simulator.jump_to(t)
            runner.wake()
            if not runner.settle(t, timeout_s=600):
                raise SystemExit(f"the fleet did not settle at {t}")
    else:
        runner.wait(until=until)
    outcomes = runner.stop()
    ended = clock.now()
    cost = ProcessCost.now()
    summary = summarize_fleet(
        store=store,
        running=running,
        fleet=fleet,
        outcomes=outcomes,
        window=(start, ended),
        hours=args.hours,
        speed=args.speed,
        wall_s=time.monotonic() - wall0,
        cost=cost,
    )
    out = summary.as_json()
    out.pop("accounts")
    out["cycles"] = sum(d.stats.cycles for w in wired for d in w.daemons)
    out["setup_cpu_s"] = round(setup_cpu_s, 2)
    out["stepped_s"] = args.stepped
    pool.close()
    running.stop()
    store.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

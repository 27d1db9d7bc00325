"""A daemon killed in the plan's last grid block, after it wrote the session energy limit,
started again with the same or another `[policy]`: what the car gets by its departure.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/restart_limit.py [--crashes 03:10,03:30]
        [--policies target,fast,target_30,target_no_stop,solar_only]

The demo's home on an overcast midsummer night (`config/scenarios/cheap_night.toml`: a
car home 18:00-08:00 local wanting 20 kWh, cheap import 22:00-06:00), its daemon
recording into an SQLite file as `run` does (`build_daemon`: the budget, policy and
sessions restored from the store). The first run is the least-cost `target` (20 kWh by
07:30): it writes the 20 kWh limit at 05:06 local. At each crash time (UTC) it is
dropped without a shutdown (a `kill -9`: nothing lifted, nothing handed over) and a new
daemon is built on the same file with the policy named (`target_30`: 30 kWh wanted;
`target_no_stop`: `stop_at_target = false`). Prints per run the energy the world's car
got, the limit the charger holds at the departure, the `limit_energy` writes the
restarted daemon made (None: lifted) and the API calls from its first cycle on (the
killed one's calls of that instant included). Uses only what main had before the
restore, so a tree without it runs it too.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from adapters.simulator.inprocess import SimClock, WorldCharger, account_quota
from adapters.simulator.world import World, load_scenario
from adapters.storage import SqlStore
from optimizer.composition import build_site, live_inputs
from optimizer.config import AppConfig, parse_config
from optimizer.daemon import Daemon, build_daemon
from optimizer.interfaces import CallListener

DEVICE = "SIM0001"
DEPARTED = datetime(2026, 6, 22, 5, 55, tzinfo=UTC)  # the car leaves at 06:00 UTC
POLICIES: dict[str, dict[str, Any]] = {
    "target": {"name": "target"},
    "fast": {"name": "fast"},
    "target_30": {"name": "target", "target": {"target_kwh": 30.0}},
    "target_no_stop": {"name": "target", "target": {"stop_at_target": False}},
    "solar_only": {"name": "solar_only"},
}
SCENARIO = Path(__file__).resolve().parents[1] / "config" / "scenarios" / "cheap_night.toml"
"""The night, from this tree (a tree without the restore loads it too)."""


class Home:
    """The world, its clock and an SQLite file; `daemon(policy)` starts a daemon on them."""

    def __init__(self, folder: Path) -> None:
        scenario = load_scenario(SCENARIO)
        assert scenario.prices is not None
        self.prices = scenario.prices.model_dump(exclude_none=True)
        (device,) = scenario.devices
        self.limits = {
            "min_current_a": device.min_current_a,
            "max_current_a": device.max_current_a,
            "phases": device.phases,
            "voltage_v": device.voltage_v,
        }
        self.world = World(scenario, seed=1)
        self.clock = SimClock(self.world.now)
        self.quota = account_quota(1000)
        self.url = f"sqlite:///{folder / 'home.db'}"
        self.folder = folder
        self.store: SqlStore | None = None

    def config(self, policy: dict[str, Any]) -> AppConfig:
        data = {
            "site": self.world.scenario.site.model_dump(),
            "chargers": [{"device_id": DEVICE, "limits": self.limits}],
            "policy": policy,
            "storage": {"url": self.url},
            "prices": self.prices | {"cache_dir": str(self.folder / "prices")},
        }
        return parse_config(data, "restart_limit")

    def daemon(self, policy: dict[str, Any]) -> Daemon:
        if self.store is not None:
            self.store.close()
        self.store = store = SqlStore(self.url)
        config = self.config(policy)

        def charger(device_id: str, listener: CallListener) -> WorldCharger:
            return WorldCharger(self.world, device_id, self.clock, listener, quota=self.quota)

        live = live_inputs(config, self.clock, {})
        site = build_site(config, charger, self.clock, store, prices=live.prices, jobs=live.jobs)
        return build_daemon(site)

    def advance(self, t: datetime) -> None:
        self.clock.set(t)
        self.world.advance_to(t)

    def rows(self, sql: str, since: datetime) -> list[tuple[Any, ...]]:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                found = conn.execute(sa.text(sql), {"since": since.replace(tzinfo=None)})
                return [tuple(r) for r in found]
        finally:
            engine.dispose()


def run(crash: datetime, policy: str) -> dict[str, Any]:
    """Kill the first daemon at `crash`, restart with `policy`, drive to the departure."""
    with tempfile.TemporaryDirectory() as folder:
        home = Home(Path(folder))
        home.daemon(POLICIES["target"]).run_cycles(crash, home.advance)
        since = home.clock.now()  # the last cycle before `crash`: the restart's first
        ((before,),) = home.rows("SELECT COALESCE(MAX(id), 0) FROM commands", since)
        restarted = home.daemon(POLICIES[policy])
        restarted.run_cycles(DEPARTED, home.advance)
        held = home.world.charger(DEVICE).until_energy_wh
        night = home.world.sessions(DEVICE)[-1]
        limits = home.rows(
            f"SELECT value FROM commands WHERE kind = 'limit_energy' AND id > {before}", since
        )
        calls = home.rows("SELECT COUNT(*) FROM api_calls WHERE time >= :since", since)
        assert home.store is not None
        home.store.close()
    return {
        "crash": f"{since:%H:%M:%S}",
        "policy": policy,
        "kwh": round(night.energy_wh / 1000, 2),
        "held_at_departure": None if held is None else round(held),
        "limit_writes": [v for (v,) in limits],
        "calls": calls[0][0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crashes", default="03:10,03:30,03:50,04:10,04:30")
    parser.add_argument("--policies", default=",".join(POLICIES))
    args = parser.parse_args()
    for hhmm in args.crashes.split(","):
        hour, minute = (int(x) for x in hhmm.split(":"))
        crash = datetime(2026, 6, 22, hour, minute, tzinfo=UTC)
        for policy in args.policies.split(","):
            print(run(crash, policy), flush=True)


if __name__ == "__main__":
    main()

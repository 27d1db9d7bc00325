"""The demo's summary: the simulator's ground truth over the daemon's span only."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.simulator.demo import start_demo_simulator
from adapters.simulator.demo_summary import summarize
from adapters.simulator.server import RunningSimulator
from adapters.simulator.server.tally import CallTally
from adapters.simulator.world import default_scenario
from adapters.storage import SqlStore
from optimizer.daemon.serve import RunOutcome


def _ground_truth(
    tmp_path: Path,
    running: RunningSimulator,
    counter: CallTally,
    started: datetime,
    ended: datetime,
) -> dict[str, Any]:
    """The summary's ground truth of a daemon that ran from `started` to `ended`."""
    with SqlStore(f"sqlite:///{tmp_path / 's.db'}") as store:
        summary = summarize(
            store=store,
            running=running,
            counter=counter,
            outcome=RunOutcome(started=started, ended=ended),
            hours=12.0,
            speed=running.simulator.config.speed,
            wall_s=0.2,
            policy="solar_only",
            tz=UTC,
        )
    return summary.ground_truth


def test_ground_truth_is_the_world_as_of_the_daemon_end_not_later(tmp_path: Path) -> None:
    """The world runs on after the daemon stopped; a plugged-in car's later energy is not its."""
    scenario = default_scenario()
    running, counter = start_demo_simulator(scenario, seed=1, speed=36_000)
    try:
        sim = running.simulator
        ended = sim.jump_to(datetime(2026, 6, 21, 10, tzinfo=UTC))  # a car charging at noon
        with sim.world_as_of(ended) as world:
            at_end_wh = sum(log.energy_wh for log in world.sessions("SIM0001"))
        time.sleep(0.2)  # two simulated hours at 36,000x
        truth = _ground_truth(tmp_path, running, counter, scenario.start_utc, ended)
        assert datetime.fromisoformat(truth["until"]) <= ended
        assert truth["ev_kwh"] == round(at_end_wh / 1000, 3) > 0
        assert sim.now() > ended + timedelta(hours=1)
        with sim.locked_world() as world:  # meanwhile the car took more
            assert sum(log.energy_wh for log in world.sessions("SIM0001")) > at_end_wh + 100
    finally:
        running.stop()


def test_ground_truth_stops_at_the_key_revocation(tmp_path: Path) -> None:
    """No client can read a charger after the key is revoked: the truth the daemon's
    record is held against stops there, and what the car took after is given apart."""
    from adapters.simulator.server import FaultConfig

    scenario = default_scenario()
    revoked = datetime(2026, 6, 21, 7, tzinfo=UTC)  # a car charging in the morning
    running, counter = start_demo_simulator(
        scenario, seed=1, speed=1.0, faults=FaultConfig(revoke_keys_at=revoked)
    )
    try:
        sim = running.simulator
        with sim.world_as_of(revoked) as world:
            at_revocation_wh = sum(log.energy_wh for log in world.sessions("SIM0001"))
        ended = sim.jump_to(revoked + timedelta(hours=2))  # the daemon noticed late
        with sim.world_as_of(ended) as world:
            at_end_wh = sum(log.energy_wh for log in world.sessions("SIM0001"))
        truth = _ground_truth(tmp_path, running, counter, scenario.start_utc, ended)
        assert at_end_wh > at_revocation_wh + 1000
        assert datetime.fromisoformat(truth["until"]) == revoked
        assert truth["ev_kwh"] == round(at_revocation_wh / 1000, 3) > 0
        assert truth["after_revocation_kwh"] == round((at_end_wh - at_revocation_wh) / 1000, 3)
    finally:
        running.stop()

"""A session energy limit (`charger_until_energy`) written before a restart is known after
it: the restarted daemon takes what it last wrote from the store's commands and lifts a
limit its first charging decision does not ask for (a crash, then a config with another
policy, must not leave the car stopped at the old limit until the unplug)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.simulator.world import load_scenario
from tests.test_daemon_targets import DEVICE, Home

SCENARIO = Path(__file__).resolve().parents[1] / "config" / "scenarios" / "cheap_night.toml"
"""Cheap nights: the least-cost plan buys the car's 20 kWh before the 07:30 departure."""

LIMITED = datetime(2026, 6, 22, 3, 30, tzinfo=UTC)
"""05:30 in Vienna: in the plan's last grid block, the 20 kWh limit written (03:06 UTC)."""

GONE = datetime(2026, 6, 22, 5, 55, tzinfo=UTC)
"""Just before the car leaves at 08:00 local (the policy's departure: 07:30)."""


def _overnight_home(tmp_path: Path) -> Home:
    """An overcast midsummer night: a car home 18:00-08:00 that wants 20 kWh."""
    scenario = load_scenario(SCENARIO)
    assert scenario.prices is not None
    prices = scenario.prices.model_dump(exclude_none=True) | {"cache_dir": str(tmp_path / "prices")}
    return Home(f"sqlite:///{tmp_path / 'home.db'}", prices=prices, scenario=scenario)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    h = _overnight_home(tmp_path)
    yield h
    h.store.close()


def _limits_written(home: Home) -> list[int | None]:
    rows = home.store.commands_since(DEVICE, datetime(2026, 6, 21, tzinfo=UTC))
    return [c.value for c in rows if c.kind == "limit_energy" and c.ok]


def _lifted_at(home: Home) -> datetime:
    rows = home.store.commands_since(DEVICE, datetime(2026, 6, 21, tzinfo=UTC))
    return next(c.time for c in rows if c.kind == "limit_energy" and c.value is None)


def _crash_then_restart(home: Home, policy: dict[str, Any]) -> None:
    """Run to `LIMITED`, die there (no shutdown: nothing lifted, nothing handed over),
    start again with `policy` (the config edited meanwhile)."""
    home.daemon().run_cycles(LIMITED, home.advance)
    assert _limits_written(home) == [20_000]
    assert home.world.charger(DEVICE).until_energy_wh == 20_000.0
    home.config = home.config.model_copy(
        update={"policy": type(home.config.policy).model_validate(policy)}
    )


def test_a_crash_then_fast_lifts_the_limit_and_fills_the_car(home: Home) -> None:
    _crash_then_restart(home, {"name": "fast"})
    restarted = home.daemon()
    assert restarted.controllers[DEVICE].commanded.energy_cap_wh == 20_000  # from the store
    restarted.run_cycles(GONE, home.advance)
    restarted.shutdown()
    (*_, night) = home.world.sessions(DEVICE)
    # Before: the charger stopped the car at 20 kWh and the new process, knowing of no
    # limit, never lifted it: 20.0 kWh at the departure, `fast` or not.
    assert night.energy_wh > 25_000.0
    assert _limits_written(home) == [20_000, None]  # lifted once, at the first cycle:
    assert _lifted_at(home) < LIMITED + timedelta(minutes=1)


def test_a_restart_that_wants_the_same_limit_sends_nothing_again(home: Home) -> None:
    _crash_then_restart(home, {"name": "target", "target": {"planner": "least_cost"}})
    restarted = home.daemon()
    restarted.run_cycles(GONE, home.advance)
    restarted.shutdown()
    (*_, night) = home.world.sessions(DEVICE)
    assert night.energy_wh == pytest.approx(20_000.0, abs=50.0)
    # the shutdown hands the charger to its PV mode: that lifts it, once
    assert _limits_written(home) == [20_000, None]

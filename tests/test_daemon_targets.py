"""A target stated with `v2c-solar target` reaches the running daemon, survives a restart,
and ends with its session; the least-cost plans it causes go to the store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.simulator.inprocess import SimClock, WorldCharger, account_quota
from adapters.simulator.world import Scenario, World, default_scenario
from adapters.storage import SqlStore
from optimizer.cli.target import state_target
from optimizer.composition import build_site, live_inputs
from optimizer.config import AppConfig, parse_config
from optimizer.daemon import Daemon, build_daemon
from optimizer.daemon.targets import TARGET_POLL_S
from optimizer.interfaces import CallListener
from optimizer.planning.record import ReplanReason
from optimizer.status.board import StatusBoard
from optimizer.status.plan import plan_status
from optimizer.status.target import ENDED_KEY, load_target

DEVICE = "SIM0001"
MORNING = datetime(2026, 6, 21, 9, 0, tzinfo=UTC)  # 11:00 in Vienna; the car came at 08:00


class Home:
    """The demo's home on a simulated clock, its daemon recording into an SQLite file
    (`prices`: a `[prices]` table; default none, a flat price; `scenario`: the world,
    default the demo's; `policy`: the `[policy]` table, default `target`, least cost)."""

    def __init__(
        self,
        url: str,
        prices: dict[str, Any] | None = None,
        scenario: Scenario | None = None,
        policy: dict[str, Any] | None = None,
    ) -> None:
        scenario = scenario or default_scenario()
        self.world = World(scenario, seed=1)
        self.clock = SimClock(self.world.now)
        self.quota = account_quota(1000)
        self.url = url
        device = scenario.devices[0]
        limits = {
            "min_current_a": device.min_current_a,
            "max_current_a": device.max_current_a,
            "phases": device.phases,
            "voltage_v": device.voltage_v,
        }
        data: dict[str, Any] = {
            "site": scenario.site.model_dump(),
            "chargers": [{"device_id": DEVICE, "limits": limits}],
            "policy": policy or {"name": "target", "target": {"planner": "least_cost"}},
            "storage": {"url": url},
        }
        if prices is not None:
            data["prices"] = prices
        self.config: AppConfig = parse_config(data, "test home")
        self.store = SqlStore(url)

    def daemon(self, board: StatusBoard | None = None) -> Daemon:
        """A daemon as `run` starts one (a restart: a new store on the same file),
        publishing its status on `board` if given (as `run --web` does)."""
        self.store.close()
        self.store = SqlStore(self.url)

        def charger(device_id: str, listener: CallListener) -> WorldCharger:
            return WorldCharger(self.world, device_id, self.clock, listener, quota=self.quota)

        live = live_inputs(self.config, self.clock, {})  # day_night prices: no network
        site = build_site(
            self.config, charger, self.clock, self.store, prices=live.prices, jobs=live.jobs
        )
        return build_daemon(site, target_poll_s=TARGET_POLL_S, board=board)

    def advance(self, t: datetime) -> None:
        self.clock.set(t)
        self.world.advance_to(t)

    def target_from_the_shell(self, kwh: float, by: str) -> list[str]:
        return state_target(self.config, self.url, DEVICE, kwh, by, False, self.clock.now())


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    h = Home(f"sqlite:///{tmp_path / 'home.db'}")
    yield h
    h.store.close()


def test_a_target_from_the_shell_is_applied_within_a_poll_and_replans(home: Home) -> None:
    daemon = home.daemon()
    daemon.run_cycles(MORNING, home.advance)
    controller = daemon.controllers[DEVICE]
    assert controller.sessions.open is not None  # the car is plugged in
    first = home.store.latest_plan(DEVICE)
    assert first is not None and first.plan.energy_wanted_wh > 5000  # the config's 20 kWh
    said = home.target_from_the_shell(5.0, "17:00")
    assert said[0].startswith(f"{DEVICE}: 5 kWh by Sun 21 Jun 17:00")
    daemon.run_cycles(MORNING + timedelta(seconds=TARGET_POLL_S + 1), home.advance)
    assert controller.sessions.target_wh == 5000.0
    assert controller.sessions.departure == datetime(2026, 6, 21, 15, 0, tzinfo=UTC)
    plan = home.store.latest_plan(DEVICE)
    assert plan is not None and plan.reason is ReplanReason.TARGET
    assert plan.departure == controller.sessions.departure
    assert plan.plan.energy_wanted_wh <= 5000.0
    (shown,) = plan_status(daemon).chargers  # what GET /api/plan answers
    assert shown.least_cost == plan


def test_a_restart_applies_the_target_again_until_its_session_ends(home: Home) -> None:
    daemon = home.daemon()
    daemon.run_cycles(MORNING, home.advance)
    home.target_from_the_shell(5.0, "17:00")
    daemon.shutdown()
    restarted = home.daemon()
    restarted.run_due(home.clock.now())
    sessions = restarted.controllers[DEVICE].sessions
    assert sessions.target_wh == 5000.0  # the first poll, at start
    evening = datetime(2026, 6, 21, 18, 30, tzinfo=UTC)  # the car left at 20:00 local
    restarted.run_cycles(evening, home.advance)
    assert sessions.target_wh is None
    target = load_target(home.store, DEVICE)
    assert target is not None
    assert home.store.setting(ENDED_KEY.format(device_id=DEVICE)) == target.set_at.isoformat()
    restarted.shutdown()
    again = home.daemon()
    again.run_due(home.clock.now())
    assert again.controllers[DEVICE].sessions.target_wh is None  # ended: not applied again

"""What a policy learned survives a restart (issue 10, "nothing recorded is lost"): the
least-cost `target` policy's household profile is kept in the store when an hour folds,
given back to the policy after a restart, and a kept value it does not recognise is one
warning and a fresh profile."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from adapters.simulator.demo import demo_config, start_demo_simulator
from adapters.simulator.world import default_scenario
from adapters.storage import MemoryStore, SqlStore
from adapters.v2c_cloud import V2CClient
from optimizer.daemon.cloud import cloud_daemon
from optimizer.daemon.core import Daemon
from optimizer.daemon.learned import LEARNED_KEY, LearnedSync
from optimizer.policies.least_cost_plan import HouseholdProfile
from optimizer.policies.target import TargetParams, TargetPolicy
from tests.test_least_cost_waiting import _context

KEY = LEARNED_KEY.format(policy="target", device_id="dev1")


def _learned(profile: HouseholdProfile, loads: dict[int, float], days: int = 2) -> None:
    """Feed `days` days of a reading at minute 0 and 30 of each hour in `loads` (W)."""
    for day in range(days):
        for hour, load in loads.items():
            for minute in (0, 30):
                profile.observe(_context(day * 86400 + hour * 3600 + minute * 60, load))
    profile.observe(_context(days * 86400 + 23.5 * 3600, 300.0))  # closes the last hour


def test_a_profile_restored_from_its_state_plans_the_same_hours() -> None:
    learned = HouseholdProfile(default_w=400.0)
    _learned(learned, {7: 1500.0, 19: 2000.0})
    fresh = HouseholdProfile(default_w=400.0)
    fresh.restore(json.loads(json.dumps(learned.state())))
    assert fresh.state() == learned.state()  # every folded hour; not the hour in progress
    assert fresh.by_hour()[7] == pytest.approx(1500.0)
    assert fresh.by_hour()[19] == pytest.approx(2000.0)
    fresh.observe(_context(3 * 86400 + 19 * 3600, 1000.0))  # it learns on from there
    fresh.observe(_context(3 * 86400 + 20 * 3600, 1000.0))
    assert 1000.0 < fresh.by_hour()[19] < 2000.0


def test_the_state_changes_only_when_an_hour_folds() -> None:
    profile = HouseholdProfile(default_w=400.0)
    profile.observe(_context(7 * 3600, 1500.0))
    before = profile.state()
    profile.observe(_context(7 * 3600 + 600, 1700.0))  # same hour: nothing folded
    assert profile.state() is before
    profile.observe(_context(8 * 3600, 900.0))  # 07:00 folds
    assert profile.state() != before
    assert profile.state()["mean_w"][7] == pytest.approx(1600.0)  # type: ignore[index]


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[1, 2]",
        '{"v": 99, "mean_w": [], "days": []}',
        json.dumps({"v": 1, "mean_w": [500.0] * 23, "days": [1.0] * 23}),
        json.dumps({"v": 1, "mean_w": ["x"] * 24, "days": [1.0] * 24}),
        json.dumps({"v": 1, "mean_w": [500.0] * 24, "days": [0.0] * 24}),
    ],
)
def test_a_corrupt_or_foreign_kept_state_is_one_warning_and_a_fresh_profile(
    text: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore()
    store.record_setting(KEY, text)
    policy = TargetPolicy(TargetParams(household_w=400.0))
    with caplog.at_level(logging.WARNING, logger="optimizer.daemon.learned"):
        LearnedSync(store).before_cycle("dev1", policy)
    assert len(caplog.records) == 1 and "\n" not in caplog.records[0].getMessage()
    assert KEY in caplog.records[0].getMessage()
    assert np.all(policy.least_cost.house.by_hour() == 400.0)


def test_the_daemon_keeps_the_state_once_per_fold_and_gives_it_to_a_new_policy() -> None:
    store = MemoryStore()
    sync = LearnedSync(store)
    policy = TargetPolicy(TargetParams())
    sync.before_cycle("dev1", policy)  # nothing kept yet: nothing to restore
    policy.decide(_context(7 * 3600, 1500.0))
    sync.after_cycle("dev1", policy)  # no hour folded yet: the state of no hour
    written = store.settings[KEY]
    policy.decide(_context(7 * 3600 + 300, 1500.0))
    store.settings[KEY] = "untouched"
    sync.after_cycle("dev1", policy)  # the same state: not written again
    assert store.settings[KEY] == "untouched"
    store.settings[KEY] = written
    policy.decide(_context(8 * 3600, 900.0))  # 07:00 folds: kept
    sync.after_cycle("dev1", policy)
    assert json.loads(store.settings[KEY])["mean_w"][7] == pytest.approx(1500.0)
    switched = TargetPolicy(TargetParams())  # a switch from home: a new policy object
    sync.before_cycle("dev1", switched)
    assert switched.least_cost.house.by_hour()[7] == pytest.approx(1500.0)


@pytest.fixture
def sim_url(tmp_path: Path) -> Iterator[tuple[object, str]]:
    running, _ = start_demo_simulator(default_scenario(), seed=1, speed=0.001)
    yield running, f"sqlite:///{tmp_path / 'daemon.db'}"
    running.stop()


def _daemon(running: object, url: str) -> tuple[Daemon, V2CClient, SqlStore]:
    clock = running.simulator.clock  # type: ignore[attr-defined]
    client = V2CClient(
        api_key="demo-key",
        base_url=running.base_url,  # type: ignore[attr-defined]
        clock=clock.now,
        sleep=lambda s: None,
    )
    store = SqlStore(url)
    return (
        cloud_daemon(demo_config(default_scenario(), "target"), client, clock, store),
        client,
        store,
    )


def test_a_restarted_daemon_plans_with_the_learned_household_profile(
    sim_url: tuple[object, str],
) -> None:
    running, url = sim_url
    jump = running.simulator.jump_to  # type: ignore[attr-defined]
    daemon, client, store = _daemon(running, url)
    daemon.run_cycles(daemon.clock.now() + timedelta(hours=30), jump)
    policy = daemon.controllers["SIM0001"].policy
    assert isinstance(policy, TargetPolicy)
    learned = policy.least_cost.house.state()
    by_hour = policy.least_cost.house.by_hour()
    assert by_hour.max() - by_hour.min() > 100.0  # a real day's profile, not one load
    daemon.shutdown()
    client.close()
    store.close()

    again, client, store = _daemon(running, url)
    restarted = again.controllers["SIM0001"].policy
    assert isinstance(restarted, TargetPolicy)
    assert np.all(restarted.least_cost.house.by_hour() == 400.0)  # before its first cycle
    again.run_due(again.clock.now())
    assert restarted.least_cost.house.state() == learned
    assert restarted.least_cost.house.by_hour().max() - 400.0 > 100.0
    again.shutdown()
    client.close()
    store.close()


def test_each_account_keeps_its_own_profile_in_one_database(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'fleet.db'}")
    homes = {name: store.for_account(name) for name in ("anna", "ben")}
    for load, home in zip((800.0, 2400.0), homes.values(), strict=True):
        policy = TargetPolicy(TargetParams())
        policy.decide(_context(19 * 3600, load))
        policy.decide(_context(20 * 3600, load))  # 19:00 folds
        LearnedSync(home).after_cycle("dev1", policy)
        home.commit()
    assert set(store.committed_settings()) >= {f"anna:{KEY}", f"ben:{KEY}"}
    for load, home in zip((800.0, 2400.0), homes.values(), strict=True):
        restarted = TargetPolicy(TargetParams())
        LearnedSync(home).before_cycle("dev1", restarted)
        assert restarted.least_cost.house.by_hour()[19] == pytest.approx(load)
    store.close()

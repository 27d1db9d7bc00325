"""A fleet in one process: one account's 401, 429 or hanging requests never delay another.

Two accounts, each against a simulator of its own on 127.0.0.1 (the simulator's
faults are per server), their requests through one shared `HttpPool`, each
account on its worker thread (`FleetRunner`). The simulators run frozen: the
test moves both clocks to account b's next due time, wakes the workers and
waits until b has run everything due (`settle`): no wall-clock sleeps. Account
b's cycle times with a faulty account a beside it are those of b alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from adapters.simulator.demo import demo_config, start_demo_simulator
from adapters.simulator.server import DEMO_API_KEY, FaultConfig, RunningSimulator
from adapters.simulator.world import DeviceConfig, Scenario, default_scenario
from adapters.storage import SqlStore
from adapters.v2c_cloud.pool import HttpPool, PooledV2CClient
from optimizer.accounts import Account
from optimizer.daemon.cloud import account_daemons
from optimizer.daemon.fleet import AccountOutcome, FleetRunner

FROZEN = 0.001
"""Simulator speed: time moves only when the test jumps it."""
T0 = default_scenario().start_utc
UNTIL = T0 + timedelta(hours=14)
HANG_S = 600.0
"""How long account a's simulator holds each request (wall s): longer than the test."""


def _scenario(device_id: str) -> Scenario:
    return default_scenario().model_copy(update={"devices": (DeviceConfig(device_id=device_id),)})


@dataclass
class FleetRun:
    decisions: dict[str, list[datetime]]
    outcomes: list[AccountOutcome]
    calls_of_a: int


def _run_fleet(tmp_path: Path, faults_of_a: FaultConfig | None) -> FleetRun:
    """Account b (healthy) and, with `faults_of_a`, account a beside it, up to UNTIL."""
    names = ["b"] if faults_of_a is None else ["a", "b"]
    sims: dict[str, RunningSimulator] = {}
    for name in names:
        faults = faults_of_a if name == "a" else None
        sims[name], _ = start_demo_simulator(
            _scenario(f"SIM{name.upper()}"), seed=1, speed=FROZEN, faults=faults
        )
    clock = sims["b"].simulator.clock
    url = f"sqlite:///{tmp_path / ('fleet.db' if len(names) > 1 else 'alone.db')}"
    store = SqlStore(url)
    pool = HttpPool(timeout=HANG_S * 2)
    try:
        wired = []
        for name in names:
            account = Account(
                name, SecretStr(DEMO_API_KEY), (demo_config(_scenario(f"SIM{name.upper()}"), None),)
            )
            client = PooledV2CClient(
                pool,
                account.api_key,
                base_url=sims[name].base_url,
                clock=clock.now,
                sleep=lambda s: None,
                timeout=HANG_S * 2,
            )
            wired.append(account_daemons(account, client, clock, store))
        runner = FleetRunner(wired, clock)
        runner.start()
        b = runner.workers[-1]
        while (t := b.next_wakeup()) is not None and t < UNTIL:
            for sim in sims.values():
                sim.simulator.jump_to(t)
            runner.wake()
            assert b.settle(t, timeout_s=60), f"account b did not run its jobs due at {t}"
        runner.request_stop()
        pool.close()  # ends account a's request in flight, if any
        outcomes = runner.stop(timeout_s=60)
        calls_of_a = sum(sims["a"].simulator.tally.per_day.values()) if "a" in sims else 0
    finally:
        for sim in sims.values():
            sim.stop()
        pool.close()
        store.close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT account, time FROM decisions ORDER BY id")).all()
    engine.dispose()
    decisions: dict[str, list[datetime]] = {}
    for account, time in rows:
        decisions.setdefault(account, []).append(
            datetime.fromisoformat(str(time)).replace(tzinfo=UTC)
        )
    return FleetRun(decisions, outcomes, calls_of_a)


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetRun]:
    yield _run_fleet(tmp_path_factory.mktemp("alone"), None)


FAULTS = {
    "key revoked": FaultConfig(revoke_keys_at=T0 + timedelta(hours=9)),
    "429 for hours": FaultConfig(
        throttle_start=T0 + timedelta(hours=8), throttle_end=T0 + timedelta(hours=12)
    ),
    "every request hangs": FaultConfig(timeout_rate=1.0, timeout_s=HANG_S),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_one_accounts_fault_never_delays_another(
    tmp_path: Path, alone: FleetRun, fault: str
) -> None:
    run = _run_fleet(tmp_path, FAULTS[fault])
    reference = alone.decisions["b"]
    beside = run.decisions["b"]
    assert len(reference) > 20, "account b must have cycled all day"
    assert len(beside) == len(reference)
    drift = max(abs((x - y).total_seconds()) for x, y in zip(beside, reference, strict=True))
    assert drift < 1.0, "account b's cycles moved while account a failed"
    a, b = run.outcomes
    assert b.fatal is None and b.account == "b"
    assert b.late_s_max < 1.0  # every round of b's ran when its first job was due
    if fault == "key revoked":
        assert a.fatal is not None and "account a (401)" in a.fatal
        assert len(run.decisions["a"]) < len(reference)
    elif fault == "every request hangs":
        # Stuck in its first read all along: its first cycle ends when the pool closes,
        # then the shutdown's decision; nothing in between.
        first, shutdown = run.decisions["a"]
        assert first < T0 + timedelta(minutes=1) and shutdown >= UNTIL - timedelta(hours=1)
        assert 1 <= run.calls_of_a <= 3
    else:
        assert a.fatal is None

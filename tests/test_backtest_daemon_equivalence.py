"""The backtest and the daemon make the same decisions on the same inputs.

One side is `run_backtest`: the controller with the in-process `WorldCharger`.
The other is the daemon's world: the same controller, built by the same
function, driven by the same daemon core, but talking real HTTP on 127.0.0.1 to
the V2C Cloud simulator through `V2CClient` and `CloudCharger`, over an
identical world. Every read goes through the wire format (strings, kW) and back,
every call through the simulator's quota and headers. If the backtest cut any
corner the daemon does not, the decisions, commands or calls would differ.
"""

from __future__ import annotations

from datetime import date

import pytest

pytest.importorskip("sunpeek_exampledata", reason="needs the data extra: pip install -e '.[data]'")

from adapters.simulator.inprocess import SimClock
from adapters.simulator.server import SimulatorConfig, start_simulator
from adapters.storage.memory import MemoryStore
from adapters.v2c_cloud import V2CClient
from optimizer.backtest.dataset import load_real_2017
from optimizer.backtest.engine import (
    BASELINE_NAMES,
    BacktestSetup,
    Contender,
    baseline_contender,
    build_contender_site,
    build_world,
    drive,
    policy_contender,
    run_backtest,
)
from optimizer.daemon.cloud import cloud_chargers
from optimizer.interfaces import ApiCall

pytestmark = [pytest.mark.data, pytest.mark.slow]

KEY = "equivalence-test-key"


def _contender(name: str) -> Contender:
    return baseline_contender(name) if name in BASELINE_NAMES else policy_contender(name)


def _over_http(contender: Contender, setup: BacktestSetup, start: date, days: int) -> MemoryStore:
    """Run the contender as the daemon would: HTTP to a simulator over the same world."""
    inputs = load_real_2017(start, days)
    world = build_world(inputs, setup)
    limit = contender.quota_limit if contender.quota_limit is not None else 100_000
    # The simulator's own clock nearly stands still; the daemon's driver jumps it.
    config = SimulatorConfig.for_keys([KEY], daily_limit=limit, speed=1e-6)
    clock = SimClock(inputs.start)
    store = MemoryStore()
    with start_simulator(world, config) as running:
        client = V2CClient(KEY, base_url=running.base_url, clock=clock.now)
        chargers = cloud_chargers(client, clock)
        site = build_contender_site(inputs, contender, setup, chargers, clock, store)
        drive(inputs, site, clock, running.simulator.jump_to)
        client.close()
    return store


@pytest.mark.parametrize("name", ["solar_only", "evcc_style_budget"])
def test_backtest_and_daemon_over_http_decide_the_same(name: str) -> None:
    start, days = date(2017, 6, 10), 2
    setup = BacktestSetup()
    contender = _contender(name)
    backtest = run_backtest(load_real_2017(start, days), contender, setup)
    daemon = _over_http(contender, setup, start, days)

    def decided(decisions: list) -> list[tuple]:  # type: ignore[type-arg]
        return [(d.time, d.charging, d.current_a, d.pv_mode) for d in decisions]

    def sent(commands: list) -> list[tuple]:  # type: ignore[type-arg]
        return [(c.time, c.kind, c.value, c.ok) for c in commands]

    def called(calls: list[ApiCall]) -> list[tuple]:  # type: ignore[type-arg]
        return [(c.time, c.endpoint, c.status) for c in calls]

    assert len(backtest.decisions) > 100  # two days of real decisions, not a trivial run
    assert sent(backtest.commands), "the contender never acted: nothing was compared"
    assert decided(daemon.decisions) == decided(backtest.decisions)
    assert sent(daemon.commands) == sent(backtest.commands)
    assert called(daemon.calls) == called(backtest.calls)

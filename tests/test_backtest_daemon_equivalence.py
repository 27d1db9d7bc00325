"""The backtest and the daemon make the same decisions on the same inputs.

One side is `run_backtest`: what the composition root builds for a backtest,
with the in-process `WorldCharger`. The other is what the same root builds for
the daemon: `build_site` over `cloud_chargers`, as `v2c-solar run` and `demo` wire it, from the
app config alone for a product policy (no contender in it), driven by the
same daemon core but talking real HTTP on 127.0.0.1 to the V2C Cloud
simulator through `V2CClient` and `CloudCharger`, over an identical world.
Every read goes through the wire format (strings, kW) and back, every call
through the simulator's quota and headers. If the backtest wired anything the
daemon does not (another planner, PV profile, policy or listener) or cut a
corner, the decisions, commands or calls would differ. The daemon's daily
statistics reconcile is left out: the in-process world has no statistics.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

pytest.importorskip("sunpeek_exampledata", reason="needs the data extra: pip install -e '.[data]'")

from adapters.simulator.inprocess import SimClock
from adapters.simulator.server import SimulatorConfig, start_simulator
from adapters.storage.memory import MemoryStore
from adapters.v2c_cloud import V2CClient
from optimizer.backtest.dataset import load_real_2017
from optimizer.backtest.engine import (
    BASELINE_NAMES,
    BacktestInputs,
    BacktestSetup,
    Contender,
    backtest_config,
    build_world,
    contender_named,
    drive,
    run_backtest,
)
from optimizer.composition import SiteParts, build_site, with_policy
from optimizer.daemon.cloud import cloud_chargers
from optimizer.interfaces import ApiCall, Clock

pytestmark = [pytest.mark.data, pytest.mark.slow]

KEY = "equivalence-test-key"


def _daemon_site(
    contender: Contender,
    inputs: BacktestInputs,
    setup: BacktestSetup,
    client: V2CClient,
    clock: Clock,
    store: MemoryStore,
) -> SiteParts:
    """What the root builds for the daemon: from the config alone for a product policy
    (nothing of the contender's); only a baseline, which the daemon never runs at
    home, brings its own schedule and policy."""
    config = backtest_config(inputs, setup)
    chargers = cloud_chargers(client, clock)
    if contender.name not in BASELINE_NAMES:
        return build_site(with_policy(config, contender.name), chargers, clock, store)
    assert contender.make_schedule is not None
    return build_site(
        config,
        chargers,
        clock,
        store,
        policy=lambda: contender.make_policy(setup),
        scheduler=contender.make_schedule(setup),
    )


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
        site = _daemon_site(contender, inputs, setup, client, clock, store)
        drive(inputs, site, clock, running.simulator.jump_to)
        client.close()
    return store


TIME_SLACK = timedelta(milliseconds=1)
"""Decision and call times may differ by float noise: the wire carries powers in kW
with 6 decimals, so the planner's rates (and the read times they give) can differ
in the last bits. Anything wired differently moves them by seconds or more."""


def _assert_same(daemon: list[tuple], backtest: list[tuple], what: str) -> None:  # type: ignore[type-arg]
    """The same events in the same order: equal fields, times within `TIME_SLACK`."""
    for i, (d, b) in enumerate(zip(daemon, backtest, strict=False)):
        assert d[1:] == b[1:] and abs(d[0] - b[0]) < TIME_SLACK, f"{what}[{i}]: {d} != {b}"
    assert len(daemon) == len(backtest), f"{what}: {len(daemon)} != {len(backtest)}"


@pytest.mark.parametrize("name", ["solar_only", "evcc_style_budget"])
def test_backtest_and_daemon_over_http_decide_the_same(name: str) -> None:
    start, days = date(2017, 6, 10), 2
    setup = BacktestSetup()
    contender = contender_named(name)
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
    _assert_same(decided(daemon.decisions), decided(backtest.decisions), "decisions")
    _assert_same(sent(daemon.commands), sent(backtest.commands), "commands")
    _assert_same(called(daemon.calls), called(backtest.calls), "calls")

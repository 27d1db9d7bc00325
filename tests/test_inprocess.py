"""WorldCharger counts calls as the daemon does and refuses the account's call 1001.

All chargers of one account share its quota (the cloud counts per API key);
SimClock moves on demand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.simulator.inprocess import SimClock, WorldCharger, account_quota
from adapters.simulator.quota import DailyQuota
from adapters.simulator.world import DeviceConfig, World, default_scenario
from optimizer.interfaces import ApiCall, Charger, ChargerError, ChargerRateLimited, PvMode


def _setup(limit: int | None = 1000) -> tuple[World, SimClock, WorldCharger, list[ApiCall]]:
    world = World(default_scenario(), seed=1, step_s=60)
    clock = SimClock(world.now)
    calls: list[ApiCall] = []
    charger = WorldCharger(world, "SIM0001", clock, calls.append, daily_limit=limit)
    return world, clock, charger, calls


def test_sim_clock_moves_only_when_told() -> None:
    start = datetime(2026, 6, 21, tzinfo=UTC)
    clock = SimClock(start)
    assert clock.now() == start
    clock.advance(90)
    assert clock.now() == start + timedelta(seconds=90)
    clock.set(start + timedelta(hours=2))
    assert clock.now() == start + timedelta(hours=2)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        SimClock(datetime(2026, 6, 21))


def test_world_charger_is_a_charger_and_reports_one_call_per_method() -> None:
    world, clock, charger, calls = _setup()
    assert isinstance(charger, Charger)
    clock.advance(8.5 * 3600)  # 08:30 local: the car arrived at 08:00
    charger.set_pv_mode(PvMode.MAX_POWER)
    charger.set_current(10)
    charger.start()
    clock.advance(300)
    reading = charger.read()
    charger.pause()
    assert [c.endpoint for c in calls] == [
        "chargefvmode",
        "intensity",
        "startcharge",
        "currentstatecharge",
        "pausecharge",
    ]
    assert all(c.status == 200 and c.latency_s == 0.0 for c in calls)
    assert [c.quota.remaining for c in calls if c.quota] == [999, 998, 997, 996, 995]
    assert reading.time == clock.now() == world.now
    assert reading.car_power_w == pytest.approx(10 * 3 * 230.0)


def test_call_1001_is_refused_with_429_and_the_day_boundary_resets() -> None:
    _, clock, charger, calls = _setup()
    for _ in range(1000):
        charger.read()
    assert calls[-1].quota is not None and calls[-1].quota.remaining == 0
    with pytest.raises(ChargerRateLimited) as info:
        charger.read()
    assert calls[-1].status == 429
    assert len(calls) == 1001
    assert info.value.reset_s is not None and 0 < info.value.reset_s <= 86400
    clock.set(datetime(2026, 6, 22, 0, 0, 30, tzinfo=UTC))
    charger.read()
    assert calls[-1].status == 200
    assert calls[-1].quota is not None and calls[-1].quota.remaining == 999


def test_unlimited_quota_reports_no_quota() -> None:
    _, _, charger, calls = _setup(limit=None)
    for _ in range(1200):
        charger.read()
    assert all(c.status == 200 and c.quota is None for c in calls)


def test_bad_current_is_a_non_retryable_charger_error() -> None:
    _, _, charger, _ = _setup()
    with pytest.raises(ChargerError) as info:
        charger.set_current(40)
    assert info.value.retryable is False


# ----- one account, several chargers: one quota, as the cloud counts per API key ---------


def _account_world(devices: tuple[str, ...], seed: int = 1) -> tuple[World, SimClock]:
    """A world whose chargers `devices` belong to one account, and its clock."""
    scenario = default_scenario().model_copy(
        update={"devices": tuple(DeviceConfig(device_id=d) for d in devices)}
    )
    world = World(scenario, seed=seed, step_s=60)
    return world, SimClock(world.now)


def _two_chargers_on_one_account(
    limit: int = 1000,
) -> tuple[SimClock, dict[str, WorldCharger], list[ApiCall]]:
    world, clock = _account_world(("G1", "G2"))
    calls: list[ApiCall] = []
    chargers = WorldCharger.for_account(world, clock, calls.append, daily_limit=limit)
    return clock, chargers, calls


def test_call_1001_of_the_account_is_refused_whichever_charger_makes_it() -> None:
    clock, chargers, calls = _two_chargers_on_one_account()
    g1, g2 = chargers["G1"], chargers["G2"]
    for _ in range(600):
        g1.read()
    for _ in range(400):
        g2.read()
    assert all(c.status == 200 for c in calls)
    # Each caller sees the account's count, not its charger's own share.
    assert [c.quota.remaining for c in calls if c.quota] == list(range(999, -1, -1))
    assert g1.calls_today == g2.calls_today == 1000
    for charger in (g1, g2):
        with pytest.raises(ChargerRateLimited) as info:
            charger.set_current(10)
        assert calls[-1].status == 429 and calls[-1].device_id == charger.device_id
        assert calls[-1].quota is not None and calls[-1].quota.remaining == 0
        assert info.value.reset_s is not None and 0 < info.value.reset_s <= 86400
    assert g1.calls_today == g2.calls_today == 1002  # refused attempts count as attempts
    clock.set(datetime(2026, 6, 22, 0, 0, 30, tzinfo=UTC))
    g2.read()
    g1.read()
    assert [c.status for c in calls[-2:]] == [200, 200]
    assert [c.quota.remaining for c in calls[-2:] if c.quota] == [999, 998]
    assert g1.calls_today == g2.calls_today == 2


def test_chargers_given_one_quota_share_it_and_others_do_not() -> None:
    world, clock = _account_world(("G1", "G2"))
    shared = account_quota(3)
    a = WorldCharger(world, "G1", clock, daily_limit=3, quota=shared)
    b = WorldCharger(world, "G2", clock, daily_limit=3, quota=shared)
    own = WorldCharger(world, "G2", clock, daily_limit=3)  # another account
    a.read()
    b.read()
    a.read()
    with pytest.raises(ChargerRateLimited):
        b.read()
    own.read()
    assert own.calls_today == 1 and a.calls_today == b.calls_today == 4


def test_a_shared_quota_must_match_the_daily_limit() -> None:
    world = World(default_scenario(), seed=1)
    clock = SimClock(world.now)
    with pytest.raises(ValueError, match="does not match the shared account quota"):
        WorldCharger(world, "SIM0001", clock, daily_limit=1000, quota=account_quota(500))
    with pytest.raises(ValueError, match="does not match the shared account quota"):
        WorldCharger(world, "SIM0001", clock, daily_limit=None, quota=account_quota(1000))
    with pytest.raises(ValueError, match="daily_limit must be >= 0"):
        account_quota(-1)


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(min_value=0, max_value=12),
    script=st.lists(
        st.tuples(st.sampled_from(["G1", "G2", "G3"]), st.floats(0, 4 * 3600)),
        max_size=40,
    ),
)
def test_the_account_quota_matches_the_http_simulators_per_key_count(
    limit: int, script: list[tuple[str, float]]
) -> None:
    """Any interleaving of calls across an account's chargers: the in-process world
    allows, refuses and reports exactly what the HTTP simulator does for one key."""
    world, clock = _account_world(("G1", "G2", "G3"), seed=2)
    calls: list[ApiCall] = []
    chargers = WorldCharger.for_account(world, clock, calls.append, daily_limit=limit)
    http = DailyQuota(limit)  # the HTTP simulator's model, one entry per API key
    for device, wait_s in script:
        clock.advance(wait_s)
        expected = http.consume("the-key", clock.now())
        try:
            chargers[device].read()
            refused = False
        except ChargerRateLimited:
            refused = True
        assert refused is not expected.allowed
        assert calls[-1].status == (200 if expected.allowed else 429)
        assert calls[-1].quota is not None
        assert (calls[-1].quota.limit, calls[-1].quota.remaining) == (
            expected.limit,
            expected.remaining,
        )
        attempts = http.attempts("the-key", clock.now())
        assert all(ch.calls_today == attempts for ch in chargers.values())

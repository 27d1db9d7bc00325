"""The daemon end to end against the HTTP simulator on 127.0.0.1, over real HTTP.

The real `V2CClient`, `CloudCharger`, `SqlStore`, planner and controllers,
wired by `cloud_daemon` (the composition root). Simulated time is driven by `Daemon.run_cycles`,
which jumps the simulator's clock (running at a negligible speed) from one
due time to the next: deterministic, several simulated days in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.simulator.demo import demo_config, start_demo_simulator
from adapters.simulator.server import FaultConfig, OfflineWindow, RunningSimulator
from adapters.simulator.server.tally import CallTally
from adapters.simulator.world import Scenario, default_scenario, load_scenario
from adapters.storage import SqlStore
from adapters.v2c_cloud import V2CClient
from optimizer.budget import BudgetConfig, BudgetPlanner
from optimizer.daemon import ROLL_JOB, Daemon
from optimizer.daemon.cloud import cloud_daemon
from optimizer.interfaces import ChargerAuthError, Clock, PvMode
from tests.conftest import sunny_pv

DEVICE = "SIM0001"
KEY = "demo-key"
FROZEN = 0.001
"""Simulator speed: time moves only when the test jumps it."""
DAY = timedelta(days=1)


@dataclass(frozen=True)
class SkewedClock:
    """The daemon's clock `skew` ahead of (behind, when negative) the simulator's."""

    inner: Clock
    skew: timedelta

    def now(self) -> datetime:
        return self.inner.now() + self.skew


@dataclass
class Rig:
    running: RunningSimulator
    counter: CallTally
    client: V2CClient
    store: SqlStore
    daemon: Daemon
    url: str
    skew: timedelta = timedelta(0)

    def advance(self, t: datetime) -> None:
        """Move the simulator to the instant the daemon's clock reads `t`."""
        self.running.simulator.jump_to(t - self.skew)

    def run_for(self, hours: float) -> None:
        until = self.daemon.clock.now() + timedelta(hours=hours)
        self.daemon.run_cycles(until, self.advance)


@pytest.fixture
def make_rig(tmp_path: Path) -> Iterator[object]:
    rigs: list[Rig] = []

    def make(
        faults: FaultConfig | None = None,
        policy: str | None = None,
        skew: timedelta = timedelta(0),
        scenario: Scenario | None = None,
    ) -> Rig:
        scenario = scenario or default_scenario()
        running, counter = start_demo_simulator(scenario, seed=1, speed=FROZEN, faults=faults)
        clock = SkewedClock(running.simulator.clock, skew)
        url = f"sqlite:///{tmp_path / f'daemon{len(rigs)}.db'}"
        store = SqlStore(url)
        client = V2CClient(
            api_key=KEY, base_url=running.base_url, clock=clock.now, sleep=lambda s: None
        )
        daemon = cloud_daemon(demo_config(scenario, policy), client, clock, store)
        rig = Rig(running, counter, client, store, daemon, url, skew)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.client.close()
        rig.store.close()
        rig.running.stop()


def _commands(url: str) -> list[tuple[str, int | None, bool]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT kind, value, ok FROM commands ORDER BY id")).all()
    engine.dispose()
    return [(r[0], r[1], bool(r[2])) for r in rows]


def test_three_days_within_quota_sessions_recorded_and_safe_state(make_rig: object) -> None:
    # evcc_style takes every read the planner allows (solar_only hands regulation to
    # the charger and reads rarely), so the quota is really under pressure here.
    rig: Rig = make_rig(policy="evcc_style")  # type: ignore[operator]
    start = rig.daemon.clock.now()
    rig.run_for(72)
    end = rig.daemon.clock.now()

    # The simulator's own counter, per simulated UTC day: never past the limit.
    server_days = dict(rig.counter.per_day)
    assert len(server_days) >= 3
    assert max(server_days.values()) <= 1000
    assert sum(server_days.values()) > 1000  # the daemon did use its budget
    # The DB ledger agrees with the server exactly (nothing lost, nothing invented).
    ledger = rig.store.calls_per_day(start - timedelta(days=1), end + timedelta(seconds=1))
    assert {d: n for d, n in ledger.items() if n} == server_days
    # The daily roll saw each closed day with the store's count.
    rolled = {s.day_start.date(): s.calls for s in rig.daemon.stats.days}
    for day, calls in rolled.items():
        assert calls == server_days.get(day, 0)
    assert len(rolled) >= 3

    # Sessions: the world's three daily sessions are in the DB with their energy.
    with rig.running.simulator.locked_world() as world:
        truth = [s for s in world.sessions(DEVICE) if s.end is not None]
    recorded = [s for s in rig.store.sessions(DEVICE) if s.end is not None]
    assert len(truth) == 3
    assert len(recorded) == len(truth)
    for got, want in zip(recorded, truth, strict=True):
        assert abs((got.start - want.start).total_seconds()) < 3600
        assert got.energy_wh == pytest.approx(want.energy_wh, rel=0.05)
        assert got.solar_wh + got.grid_wh == pytest.approx(got.energy_wh, abs=1e-6)

    # The daily reconcile asked stadistic/device once a day, through the ledger.
    stats_calls = [c for c in rig.store.calls_between(start, end) if "stadistic" in c.endpoint]
    assert len(stats_calls) == rig.daemon.stats.reconciles >= 2

    # Shutdown leaves the charger itself in exclusive-PV mode (the world says so).
    rig.daemon.shutdown()
    with rig.running.simulator.locked_world() as world:
        assert world.charger(DEVICE).pv_mode is PvMode.EXCLUSIVE_PV
    assert rig.daemon.stopped


def test_fast_policy_shutdown_sends_exclusive_pv_and_commits(make_rig: object) -> None:
    rig: Rig = make_rig(policy="fast")  # type: ignore[operator]
    rig.run_for(12)  # the car is plugged in at 08:00 local: fast charges at MAX_POWER
    with rig.running.simulator.locked_world() as world:
        assert world.charger(DEVICE).pv_mode is PvMode.MAX_POWER
    commands = rig.daemon.shutdown()
    assert [(c.kind, c.value, c.ok) for c in commands] == [("set_pv_mode", 1, True)]
    assert _commands(rig.url)[-1] == ("set_pv_mode", 1, True)  # committed, readable elsewhere
    with rig.running.simulator.locked_world() as world:
        assert world.charger(DEVICE).pv_mode is PvMode.EXCLUSIVE_PV


def test_revoked_key_stops_the_daemon_with_an_auth_error(make_rig: object) -> None:
    t0 = default_scenario().start_utc
    revoke = t0 + timedelta(hours=10)
    rig: Rig = make_rig(faults=FaultConfig(revoke_keys_at=revoke))  # type: ignore[operator]
    with pytest.raises(ChargerAuthError):
        rig.run_for(24)
    assert rig.daemon.stopped
    assert isinstance(rig.daemon.fatal, ChargerAuthError)
    assert revoke <= rig.daemon.clock.now() < revoke + timedelta(minutes=31)
    # No further job runs, and shutdown makes no call against a refused key.
    calls_before = rig.client.calls_made
    rig.daemon.run_cycles(revoke + timedelta(hours=5), rig.advance)
    assert rig.daemon.shutdown() == []
    assert rig.client.calls_made == calls_before


def test_outage_backs_off_without_spinning_and_resumes(make_rig: object) -> None:
    t0 = default_scenario().start_utc
    out_start, out_end = t0 + timedelta(hours=10), t0 + timedelta(hours=14)
    faults = FaultConfig(outage_start=out_start, outage_end=out_end)
    rig: Rig = make_rig(faults=faults)  # type: ignore[operator]
    cycles_before: list[int] = []

    def run_until(t: datetime) -> None:
        rig.daemon.run_cycles(t, rig.advance)
        cycles_before.append(rig.daemon.stats.cycles)

    run_until(out_start)
    run_until(out_end)
    run_until(out_end + timedelta(hours=2))
    calls = rig.store.calls_between(out_start, out_end)
    # Backoff 60 s doubling to 30 min: about a dozen attempts (x3 client retries) in 4 h.
    assert calls, "the daemon must keep probing during an outage"
    assert all(c.status == 503 for c in calls)
    attempts_per_hour = len(calls) / 4
    assert attempts_per_hour < 15
    cycles_in_outage = cycles_before[1] - cycles_before[0]
    assert cycles_in_outage < 4 * 3600 / 60  # never more than one cycle a minute
    # After the outage, reads succeed again within the longest backoff.
    after = [
        c for c in rig.store.calls_between(out_end, out_end + timedelta(hours=2)) if c.status == 200
    ]
    assert after and after[0].time < out_end + timedelta(minutes=31)
    # The ledger kept the failed attempts: the planner counts them as spent.
    day_spent = rig.daemon.planner.spent(out_end)
    assert day_spent >= len(calls)


def test_restart_restores_the_days_ledger(make_rig: object, tmp_path: Path) -> None:
    rig: Rig = make_rig(policy="evcc_style")  # type: ignore[operator]  # a read-hungry policy
    rig.run_for(12)
    now = rig.daemon.clock.now()
    spent = rig.daemon.planner.spent(now)
    assert spent > 100
    config = demo_config(default_scenario(), "evcc_style")
    clock = rig.running.simulator.clock
    again = cloud_daemon(config, rig.client, clock, SqlStore(rig.url))
    assert again.planner.spent(now) == spent
    assert again.planner.remaining(now) == 1000 - spent


def _per_day_of_planners(rig: Rig, days: list[date], now: datetime) -> list[dict[date, int]]:
    """Per-day spend of the daemon's live planner and of one restored from the store.

    The restored one is what `v2c-solar budget` builds: the store's last 48 h
    replayed into a fresh planner; each day's count is its `plan()`'s spend.
    """
    restored = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    restored.restore(rig.store.calls_between(now - timedelta(days=2), now), now)
    views: list[dict[date, int]] = []
    for planner in (rig.daemon.planner, restored):
        assert isinstance(planner, BudgetPlanner)
        counts: dict[date, int] = {}
        for day in days:
            noon = datetime.combine(day, time(12), UTC)
            plan = planner.plan(planner.ledger.window(noon)[0].date(), {}, now=now)
            assert plan.spent == sum(plan.spent_by_endpoint.values())
            counts[day] = len(planner.ledger.calls(noon))
            assert plan.spent == counts[day]
        views.append(counts)
    return views


@pytest.mark.parametrize("skew_s", [20.0, -20.0, 150.0, -150.0])
def test_calls_count_in_the_servers_quota_day_whatever_the_daemons_clock_says(
    make_rig: object, skew_s: float
) -> None:
    """Our clock off the server's across midnight: every per-day count is the server's.

    The daemon's clock runs `skew_s` ahead of (or behind) the simulator's, as a
    wall clock at home may; calls are made every few seconds of the server's
    time around its midnight, so some of them fall in the gap where the two
    clocks disagree on the day. Attributed by our clock they would land in the
    wrong day in the store and the ledger (whose learned boundary is rounded
    to the minute); attributed by `RateLimit-Reset` they land where the server
    counted them.
    """
    rig: Rig = make_rig(skew=timedelta(seconds=skew_s))  # type: ignore[operator]
    midnight = datetime.combine(default_scenario().start_utc.date(), time(0), UTC) + DAY
    for offset_s in range(-200, 200, 7):  # server seconds around its midnight
        rig.running.simulator.jump_to(midnight + timedelta(seconds=offset_s))
        rig.client.currentstatecharge(DEVICE)
    rig.store.commit()
    now = rig.daemon.clock.now()
    server_days = dict(rig.counter.per_day)
    assert list(server_days.values()) == [29, 29]  # 58 calls, 200 s either side

    stored = rig.store.calls_per_day(now - DAY, now + timedelta(seconds=1))
    assert {d: n for d, n in stored.items() if n} == server_days
    live, restored = _per_day_of_planners(rig, list(server_days), now)
    assert live == restored == server_days


@pytest.mark.parametrize("skew_s", [180.0, -180.0])
def test_the_daily_roll_closes_the_servers_day(make_rig: object, skew_s: float) -> None:
    """The roll waits for the day boundary learned from `RateLimit-Reset`, not our midnight.

    The scenario starts at 22:00 UTC, so four hours cross the simulator's midnight.
    """
    rig: Rig = make_rig(policy="evcc_style", skew=timedelta(seconds=skew_s))  # type: ignore[operator]
    rig.run_for(4)
    server_days = dict(rig.counter.per_day)
    first = min(server_days)
    assert len(server_days) == 2
    # On our clock the server's first day starts `skew_s` after our midnight.
    first_start = datetime.combine(first, time(0), UTC) + timedelta(seconds=skew_s)
    assert [(s.day_start, s.calls) for s in rig.daemon.stats.days] == [
        (first_start, server_days[first])
    ]
    assert rig.daemon.due_at(ROLL_JOB) == first_start + 2 * DAY
    now = rig.daemon.clock.now()
    live, restored = _per_day_of_planners(rig, list(server_days), now)
    assert live == restored == server_days


def test_charger_offline_for_hours_backs_off_resumes_and_keeps_the_session(
    make_rig: object,
) -> None:
    """Six hours without the charger in the middle of a session (the cloud itself stays up)."""
    t0 = default_scenario().start_utc  # local midnight; the car is at the charger 08:00-20:00
    off_start, off_end = t0 + timedelta(hours=9), t0 + timedelta(hours=15)
    window = OfflineWindow(device_id=DEVICE, start=off_start, end=off_end)
    rig: Rig = make_rig(faults=FaultConfig(offline=(window,)))  # type: ignore[operator]
    cycles: list[int] = []
    world_wh: list[float] = []  # the world's session energy at each stop

    def run_until(t: datetime) -> None:
        rig.daemon.run_cycles(t, rig.advance)
        cycles.append(rig.daemon.stats.cycles)
        with rig.running.simulator.locked_world() as world:
            world_wh.append(sum(s.energy_wh for s in world.sessions(DEVICE)))

    run_until(off_start)
    run_until(off_end)
    run_until(t0 + timedelta(hours=30))  # past departure, the next day's reconcile included
    assert world_wh[1] - world_wh[0] > 5000.0  # the car charged on while nobody could read

    assert not rig.daemon.stopped and rig.daemon.fatal is None  # no crash
    during = rig.store.calls_between(off_start, off_end)
    assert during, "the daemon must keep probing an offline charger"
    assert {c.status for c in during} == {504}
    # Backoff 60 s doubling to 30 min: a bounded trickle, no burst.
    assert len(during) / 6 < 15
    assert cycles[1] - cycles[0] < 6 * 60  # never more than one cycle a minute
    busiest_minute = max(
        sum(1 for c in during if abs((c.time - d.time).total_seconds()) < 30) for d in during
    )
    assert busiest_minute <= 3  # one read and the client's bounded retries
    # Reads resume within the longest backoff after the charger is back.
    after = rig.store.calls_between(off_end, off_end + timedelta(hours=1))
    assert after and after[0].status == 200
    assert after[0].time < off_end + timedelta(minutes=31)
    # The session's energy, partly charged while offline, is the world's.
    with rig.running.simulator.locked_world() as world:
        truth = [s for s in world.sessions(DEVICE) if s.end is not None]
    recorded = [s for s in rig.store.sessions(DEVICE) if s.end is not None]
    assert len(truth) == 1 and truth[0].start < off_start and truth[0].end > off_end
    assert len(recorded) == 1
    assert recorded[0].energy_wh == pytest.approx(truth[0].energy_wh, rel=1e-3)


# ----- 429: Retry-After, RateLimit-Reset, no burst, every 429 in the ledger ------------------

TWO_CHARGERS = Path(__file__).parents[1] / "config" / "scenarios" / "home_all_day.toml"


def _throttled_rig(make_rig: object, *, retry_after: bool) -> tuple[Rig, datetime, datetime]:
    scenario = load_scenario(TWO_CHARGERS)
    start = scenario.start_utc + timedelta(hours=10)
    end = start + timedelta(minutes=20)
    faults = FaultConfig(throttle_start=start, throttle_end=end, throttle_retry_after=retry_after)
    rig: Rig = make_rig(faults=faults, scenario=scenario)  # type: ignore[operator]
    assert len(rig.daemon.controllers) == 2
    return rig, start, end


def _ledger_holds_every_call(rig: Rig, now: datetime) -> None:
    """The planner's spend is the store's calls of the quota day, 429s included."""
    day_start, _ = rig.daemon.planner.ledger.window(now)
    stored = rig.store.calls_between(day_start, now + timedelta(seconds=1))
    assert rig.daemon.planner.spent(now) == len(stored)


def test_429_with_retry_after_no_call_of_any_charger_before_it(make_rig: object) -> None:
    rig, start, end = _throttled_rig(make_rig, retry_after=True)
    rig.daemon.run_cycles(end + timedelta(hours=1), rig.advance)
    calls = rig.store.calls_between(start, end + timedelta(hours=1))
    refused = [c for c in calls if c.status == 429]
    # One 429, then silence from both chargers (and the daily jobs) until Retry-After.
    assert len(refused) == 1 == rig.running.simulator.faults.throttled
    assert not [c for c in calls if refused[0].time < c.time < end]
    after = [c for c in calls if c.time >= end]
    assert after and after[0].status == 200 and after[0].time < end + timedelta(minutes=10)
    # No burst when the block ends: the calls of the first minute are one per charger at most.
    assert len([c for c in after if c.time < after[0].time + timedelta(minutes=1)]) <= 2
    _ledger_holds_every_call(rig, rig.daemon.clock.now())


def test_429_without_retry_after_waits_for_the_quota_reset(make_rig: object) -> None:
    rig, start, _ = _throttled_rig(make_rig, retry_after=False)
    reset, _ = rig.daemon.planner.ledger.window(start + DAY)  # RateLimit-Reset: the next day
    rig.daemon.run_cycles(start + timedelta(minutes=30), rig.advance)
    _ledger_holds_every_call(rig, rig.daemon.clock.now())
    cycles = rig.daemon.stats.cycles
    rig.daemon.run_cycles(reset + timedelta(hours=1), rig.advance)
    calls = rig.store.calls_between(start, reset + timedelta(hours=1))
    refused = [c for c in calls if c.status == 429]
    assert len(refused) == 1 == rig.running.simulator.faults.throttled
    assert not [c for c in calls if refused[0].time < c.time < reset]
    assert [c for c in calls if c.time >= reset and c.status == 200]
    hours_blocked = (reset - start).total_seconds() / 3600
    assert rig.daemon.stats.cycles - cycles < hours_blocked * 60  # waiting, not spinning


# ----- a full or read-only disk ---------------------------------------------------------------


@pytest.mark.parametrize(
    "failure", ["database or disk is full", "attempt to write a readonly database"]
)
def test_a_failing_disk_is_logged_once_control_goes_on_and_no_row_is_lost(
    make_rig: object, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Root ignores chmod, so the failure is the driver's own error, raised for every write."""
    import sqlite3

    rig: Rig = make_rig()  # type: ignore[operator]
    failing = [False]

    def disk(conn: object, cursor: object, statement: str, *args: object) -> None:
        if failing[0] and statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            raise sqlite3.OperationalError(failure)

    sa.event.listen(rig.store._engine, "before_cursor_execute", disk)
    rig.run_for(8)
    failing[0] = True
    reads = rig.daemon.stats.reads
    rig.run_for(4)
    assert rig.daemon.stats.reads > reads  # charging control went on
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and failure in errors[0].getMessage(), caplog.text
    assert "\n" not in errors[0].getMessage()
    assert _query_count(rig.url, "api_calls") < rig.client.calls_made  # nothing written meanwhile
    failing[0] = False
    rig.run_for(1)
    assert "writable again" in caplog.text
    assert _query_count(rig.url, "api_calls") == rig.client.calls_made
    assert _query_count(rig.url, "decisions") == rig.daemon.stats.cycles


def _query_count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return int(count)

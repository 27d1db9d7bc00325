"""The daemon's scheduling core and its APScheduler runner, without HTTP.

Scheduling is checked with scripted controllers (whose wishes we know) on a
`SimClock`; the wiring with the real controllers against the in-process world.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.simulator.demo import demo_config
from adapters.simulator.inprocess import SimClock, WorldCharger, account_quota
from adapters.simulator.world import DeviceConfig, World, default_scenario
from adapters.storage import MemoryStore
from optimizer.budget import BudgetConfig, BudgetPlanner, FixedIntervalSchedule
from optimizer.clock import FileClock, ScaledClock
from optimizer.composition import build_site
from optimizer.controller import Controller, CycleResult
from optimizer.daemon import (
    RECONCILE_BACKLOG_DAYS,
    RECONCILE_PREFIX,
    ROLL_JOB,
    Daemon,
    DaemonStopped,
    SchedulerRunner,
    build_daemon,
    missing_sessions,
)
from optimizer.interfaces import (
    ApiCall,
    CallListener,
    ChargerAuthError,
    Command,
    Decision,
    PvMode,
    Quota,
    SessionRecord,
)
from optimizer.policies.base import Policy
from optimizer.status import StatusBoard
from tests.conftest import BarePolicy, sunny_pv

T0 = datetime(2026, 6, 21, 4, 0, tzinfo=UTC)


class ScriptedController:
    """Stands in for a `Controller`: asks for its next cycle `wish(now)` later."""

    def __init__(
        self,
        device_id: str,
        clock: Any,
        wish: Callable[[datetime], datetime],
        fail_at: datetime | None = None,
    ) -> None:
        self.device_id = device_id
        self.clock = clock
        self.timezone = UTC
        self.wish = wish
        self.fail_at = fail_at
        self.cycle_times: list[datetime] = []
        self.asked: list[datetime] = []
        self.shutdowns: list[PvMode] = []
        self.policy: Policy = BarePolicy("scripted")
        """What the daemon reads of the policy: its name (the status), what it learned."""
        self.targets: list[tuple[float | None, datetime | None, int]] = []
        """Each session target set: energy (Wh), departure, the thread that set it."""
        self.sessions = SimpleNamespace(target_wh=None)
        """What the daemon reads of the session: the target in force."""

    def cycle(self) -> CycleResult:
        now = self.clock.now()
        if self.fail_at is not None and now >= self.fail_at:
            raise ChargerAuthError("401 Invalid authentication credentials")
        self.cycle_times.append(now)
        nxt = self.wish(now)
        self.asked.append(nxt)
        decision = Decision(now, self.device_id, "scripted", False, 0, PvMode.EXCLUSIVE_PV, "x")
        return CycleResult(now, self.device_id, False, None, None, decision, (), (), nxt)

    def set_session_target(self, target_wh: float | None, departure: datetime | None) -> None:
        self.targets.append((target_wh, departure, threading.get_ident()))
        self.sessions.target_wh = target_wh

    def shutdown(self, safe_mode: PvMode = PvMode.EXCLUSIVE_PV) -> list[Command]:
        self.shutdowns.append(safe_mode)
        return [Command(self.clock.now(), self.device_id, "set_pv_mode", int(safe_mode), True)]


def make_daemon(
    controllers: list[ScriptedController],
    clock: Any,
    store: MemoryStore | None = None,
    **kwargs: Any,
) -> Daemon:
    planner = BudgetPlanner(BudgetConfig(), devices=len(controllers), pv_profile=sunny_pv)
    return Daemon(
        cast(list[Controller], controllers), planner, store or MemoryStore(), clock, **kwargs
    )


def test_each_cycle_runs_exactly_when_its_controller_asked() -> None:
    clock = SimClock(T0)
    a = ScriptedController("A", clock, lambda t: t + timedelta(seconds=45))
    b = ScriptedController("B", clock, lambda t: t + timedelta(seconds=70 + t.minute))
    daemon = make_daemon([a, b], clock)
    daemon.run_cycles(T0 + timedelta(hours=2), clock.set)
    for c in (a, b):
        assert c.cycle_times[0] == T0
        assert c.cycle_times[1:] == c.asked[:-1]  # each cycle at the previous wish
        assert len(c.cycle_times) > 60
    assert daemon.stats.cycles == len(a.cycle_times) + len(b.cycle_times)


def test_wakeups_are_bounded_below_so_nothing_spins() -> None:
    clock = SimClock(T0)
    eager = ScriptedController("A", clock, lambda t: t - timedelta(minutes=5))  # in the past
    daemon = make_daemon([eager], clock, min_interval_s=2.0)
    daemon.run_cycles(T0 + timedelta(minutes=10), clock.set)
    gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(eager.cycle_times)}
    assert gaps == {2.0}
    assert len(eager.cycle_times) == 300


def test_min_interval_must_be_positive() -> None:
    clock = SimClock(T0)
    with pytest.raises(ValueError, match="min_interval_s"):
        make_daemon([ScriptedController("A", clock, lambda t: t)], clock, min_interval_s=0)


def test_budget_roll_runs_at_each_quota_day_boundary_with_the_stores_count() -> None:
    clock = SimClock(T0)
    store = MemoryStore()
    ctl = ScriptedController("A", clock, lambda t: t + timedelta(minutes=30))
    daemon = make_daemon([ctl], clock, store)
    midnight = datetime(2026, 6, 22, tzinfo=UTC)
    assert daemon.due_at(ROLL_JOB) == midnight
    for k in range(7):  # seven calls on the first day, recorded through the ledger
        call = ApiCall(T0 + timedelta(minutes=k), "A", "currentstatecharge", 200, 0.1)
        daemon.planner.record_call(call)
        store.record_call(call)
    daemon.run_cycles(midnight + timedelta(days=1, hours=1), clock.set)
    assert [(d.day_start, d.calls) for d in daemon.stats.days] == [
        (datetime(2026, 6, 21, tzinfo=UTC), 7),
        (midnight, 0),
    ]
    assert daemon.due_at(ROLL_JOB) == midnight + timedelta(days=2)
    assert midnight in ctl.cycle_times  # every charger re-planned at the new day


def test_a_fixed_schedule_runs_the_same_daemon_with_utc_quota_days() -> None:
    """Backtest baselines use a fixed read interval instead of the planner."""
    clock = SimClock(T0)
    store = MemoryStore()
    ctl = ScriptedController("A", clock, lambda t: t + timedelta(minutes=30))
    daemon = Daemon(cast(list[Controller], [ctl]), FixedIntervalSchedule(90.0, 1000), store, clock)
    midnight = datetime(2026, 6, 22, tzinfo=UTC)
    assert daemon.due_at(ROLL_JOB) == midnight
    assert daemon.restore_budget() == 0  # nothing to restore, no error
    store.record_call(ApiCall(T0, "A", "currentstatecharge", 200, 0.1))
    daemon.run_cycles(midnight + timedelta(hours=1), clock.set)
    assert [(d.day_start, d.calls) for d in daemon.stats.days] == [
        (datetime(2026, 6, 21, tzinfo=UTC), 1)
    ]
    assert midnight in ctl.cycle_times


def test_reconcile_runs_daily_for_the_previous_local_day_and_retries_a_failure() -> None:
    clock = SimClock(T0)
    seen: list[tuple[str, date]] = []

    def reconciler(device: str, day: date, now: datetime) -> None:
        seen.append((device, day))
        if len(seen) == 1:
            raise RuntimeError("statistics answer unreadable")

    ctl = ScriptedController("A", clock, lambda t: t + timedelta(minutes=30))
    daemon = make_daemon([ctl], clock, reconciler=reconciler)
    assert RECONCILE_PREFIX + "A" in daemon.jobs
    daemon.run_cycles(T0 + timedelta(days=3), clock.set)
    # The failed day is fetched again half an hour later, not given up for the next one.
    assert seen == [
        ("A", date(2026, 6, 21)),
        ("A", date(2026, 6, 21)),
        ("A", date(2026, 6, 22)),
        ("A", date(2026, 6, 23)),
    ]
    assert daemon.stats.reconciles == 3
    assert not daemon.stopped


def _down_until(outage_ends: datetime, seen: list[date]) -> Callable[[str, date, datetime], None]:
    """A reconciler whose cloud fails until `outage_ends`, then notes each day fetched."""

    def reconciler(device: str, day: date, now: datetime) -> None:
        if now < outage_ends:
            raise RuntimeError("cloud down")
        seen.append(day)

    return reconciler


def test_reconcile_fetches_back_every_day_an_outage_of_days_kept_it_from() -> None:
    clock = SimClock(T0)
    seen: list[date] = []
    reconciler = _down_until(T0 + timedelta(days=3, hours=6), seen)
    ctl = ScriptedController("A", clock, lambda t: t + timedelta(minutes=30))
    daemon = make_daemon([ctl], clock, reconciler=reconciler)
    daemon.run_cycles(T0 + timedelta(days=5), clock.set)
    # The three days the outage covered come back oldest first, then each day as usual.
    assert seen == [date(2026, 6, d) for d in (21, 22, 23, 24, 25)]
    assert daemon.stats.reconciles == 5


def test_reconcile_owes_at_most_a_backlog_of_days() -> None:
    clock = SimClock(T0)
    seen: list[date] = []
    outage_ends = T0 + timedelta(days=RECONCILE_BACKLOG_DAYS + 3, hours=6)
    reconciler = _down_until(outage_ends, seen)
    ctl = ScriptedController("A", clock, lambda t: t + timedelta(hours=2))
    daemon = make_daemon([ctl], clock, reconciler=reconciler)
    daemon.run_cycles(outage_ends + timedelta(hours=1), clock.set)
    assert len(seen) == RECONCILE_BACKLOG_DAYS
    assert seen == sorted(seen) and seen[-1] == (outage_ends - timedelta(days=1)).date()


def test_auth_error_stops_the_daemon_and_shutdown_sends_nothing() -> None:
    clock = SimClock(T0)
    ctl = ScriptedController(
        "A", clock, lambda t: t + timedelta(minutes=1), fail_at=T0 + timedelta(minutes=10)
    )
    daemon = make_daemon([ctl], clock)
    with pytest.raises(ChargerAuthError):
        daemon.run_cycles(T0 + timedelta(hours=1), clock.set)
    assert daemon.stopped and daemon.fatal is not None
    with pytest.raises(DaemonStopped):
        daemon.run_job("A")
    assert daemon.shutdown() == []
    assert ctl.shutdowns == []


def test_shutdown_leaves_every_charger_in_the_safe_mode_once() -> None:
    clock = SimClock(T0)
    a = ScriptedController("A", clock, lambda t: t + timedelta(minutes=1))
    b = ScriptedController("B", clock, lambda t: t + timedelta(minutes=1))
    daemon = make_daemon([a, b], clock)
    daemon.run_cycles(T0 + timedelta(minutes=5), clock.set)
    commands = daemon.shutdown()
    assert [c.device_id for c in commands] == ["A", "B"]
    assert a.shutdowns == b.shutdowns == [PvMode.EXCLUSIVE_PV]
    assert daemon.stopped
    assert daemon.run_cycles(T0 + timedelta(hours=1), clock.set) == []


def test_duplicate_devices_are_refused() -> None:
    clock = SimClock(T0)
    same = [ScriptedController("A", clock, lambda t: t) for _ in range(2)]
    with pytest.raises(ValueError, match="duplicate"):
        make_daemon(same, clock)


# ----- the APScheduler runner ----------------------------------------------------------------


class FrozenSpeedClock:
    """Simulated time that stands still at `T0` but claims a speed: exact mapping tests."""

    speed = 600.0

    def now(self) -> datetime:
        return T0


def test_runner_maps_simulated_due_times_to_wall_time() -> None:
    clock = FrozenSpeedClock()
    ctl = ScriptedController("A", clock, lambda t: t + timedelta(seconds=60))
    runner = SchedulerRunner(make_daemon([ctl], clock), clock, min_wall_s=0.001)
    before = datetime.now(UTC)
    wall = runner.wall_time(T0 + timedelta(seconds=600))  # 600 s at 600x: 1 wall second
    past = runner.wall_time(T0 - timedelta(hours=1))  # overdue: as soon as allowed
    after = datetime.now(UTC)
    assert before + timedelta(seconds=1) <= wall <= after + timedelta(seconds=1)
    assert before + timedelta(seconds=0.001) <= past <= after + timedelta(seconds=0.001)


def test_runner_runs_cycles_in_a_worker_and_stops_cleanly() -> None:
    clock = ScaledClock(T0, speed=600.0)  # a cycle every 60 simulated s = every 0.1 wall s
    ctl = ScriptedController("A", clock, lambda t: t + timedelta(seconds=60))
    daemon = make_daemon([ctl], clock)
    runner = SchedulerRunner(daemon, clock)
    runner.start()
    deadline = time.monotonic() + 30  # a hang detector: ~0.3 wall s unloaded
    while len(ctl.cycle_times) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.stop()
    daemon.shutdown()
    assert len(ctl.cycle_times) >= 3
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ctl.cycle_times)]
    assert min(gaps) >= 60.0  # never before the controller asked
    assert ctl.shutdowns == [PvMode.EXCLUSIVE_PV]
    assert threading.active_count() < 50


def test_a_held_clock_holds_the_jobs_and_resumed_runs_them(tmp_path: Path) -> None:
    """A `FileClock` held while a process starts: jobs wake, find it short of their
    time, and wait again instead of running early."""
    path = tmp_path / "clock.json"
    FileClock.write(path, T0, 600.0, running=False)
    clock = FileClock(path)
    ctl = ScriptedController("A", clock, lambda t: t + timedelta(seconds=60))
    daemon = make_daemon([ctl], clock)
    runner = SchedulerRunner(daemon, clock)
    runner.start()
    deadline = time.monotonic() + 30
    while not ctl.cycle_times and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # three cycles' worth at 600x, had the clock run
    held = list(ctl.cycle_times)
    clock.resume()
    while len(ctl.cycle_times) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.stop()
    daemon.shutdown()
    assert held == [T0]  # the first, due at once; none while held
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ctl.cycle_times)]
    assert len(ctl.cycle_times) >= 3 and min(gaps) >= 60.0


class BlockingController(ScriptedController):
    """A controller whose first cycle holds until the test lets it go."""

    def __init__(self, clock: Any) -> None:
        super().__init__("A", clock, lambda t: t + timedelta(seconds=60))
        self.entered = threading.Event()
        self.release = threading.Event()

    def cycle(self) -> CycleResult:
        self.entered.set()
        self.release.wait(5.0)
        return super().cycle()


def test_stop_while_a_cycle_runs_does_not_deadlock() -> None:
    # APScheduler's shutdown(wait=True) holds its job-store lock while the job
    # in flight finishes; the job used to re-add itself and wait for that lock.
    clock = ScaledClock(T0, speed=600.0)
    ctl = BlockingController(clock)
    runner = SchedulerRunner(make_daemon([ctl], clock), clock)
    runner.start()
    assert ctl.entered.wait(5.0)
    stopper = threading.Thread(target=runner.stop, daemon=True)
    stopper.start()
    time.sleep(0.2)  # shutdown has begun and waits for the cycle in flight
    ctl.release.set()
    stopper.join(5.0)
    assert not stopper.is_alive(), "stop() deadlocked with the running cycle"
    assert len(ctl.cycle_times) == 1


def test_runner_sets_the_stop_event_on_a_401() -> None:
    clock = ScaledClock(T0, speed=600.0)
    ctl = ScriptedController(
        "A", clock, lambda t: t + timedelta(seconds=60), fail_at=T0 + timedelta(seconds=100)
    )
    daemon = make_daemon([ctl], clock)
    runner = SchedulerRunner(daemon, clock)
    runner.start()
    assert runner.stop_event.wait(5.0)
    runner.stop()
    assert isinstance(daemon.fatal, ChargerAuthError)
    time.sleep(0.3)
    assert len(ctl.cycle_times) <= 2  # nothing ran after the refusal


# ----- wiring with the real controllers, in-process world ---------------------------------


@dataclass
class AccountRun:
    """The daemon over two in-process chargers G1, G2 of one account (one quota)."""

    world: World
    clock: SimClock
    store: MemoryStore
    chargers: dict[str, WorldCharger]
    daemon: Daemon

    def run(self, duration: timedelta) -> list[ApiCall]:
        """Run the daemon's cycles for `duration` of simulated time; the calls made."""

        def advance(t: datetime) -> None:
            self.clock.set(t)
            self.world.advance_to(t)

        start = self.clock.now()
        self.daemon.run_cycles(start + duration, advance)
        return self.store.calls_between(start, self.clock.now() + timedelta(seconds=1))


def _account_run(
    seed: int,
    limit: int = 1000,
    budget: BudgetConfig | None = None,
    board: StatusBoard | None = None,
) -> AccountRun:
    scenario = default_scenario().model_copy(
        update={"devices": (DeviceConfig(device_id="G1"), DeviceConfig(device_id="G2"))}
    )
    world = World(scenario, seed=seed)
    clock = SimClock(world.now)
    store = MemoryStore()
    config = demo_config(scenario, "solar_only")
    if budget is not None:
        config = config.model_copy(update={"budget": budget})
    quota = account_quota(limit)
    chargers: dict[str, WorldCharger] = {}

    def charger(device_id: str, listener: CallListener) -> WorldCharger:
        chargers[device_id] = WorldCharger(
            world, device_id, clock, listener, daily_limit=limit, quota=quota
        )
        return chargers[device_id]

    daemon = build_daemon(build_site(config, charger, clock, store), board=board)
    return AccountRun(world, clock, store, chargers, daemon)


def test_build_daemon_shares_one_planner_and_store_across_chargers() -> None:
    run = _account_run(seed=3)
    controllers = list(run.daemon.controllers.values())
    assert controllers[0].scheduler is controllers[1].scheduler is run.daemon.planner
    assert controllers[0].store is controllers[1].store is run.store
    calls = run.run(timedelta(hours=12))
    assert {c.device_id for c in calls} == {"G1", "G2"}
    today = [c for c in calls if c.time >= datetime(2026, 6, 21, tzinfo=UTC)]
    assert run.daemon.planner.spent(run.clock.now()) == len(today)
    # The world counts the account's calls, as the cloud does per key: both chargers
    # see the same count, the one the planner keeps, and it stays within the quota.
    g1, g2 = run.chargers["G1"], run.chargers["G2"]
    assert g1.calls_today == g2.calls_today == len(today) <= 1000
    assert [c.quota.remaining if c.quota else None for c in today] == [
        1000 - i for i in range(1, 1 + len(today))
    ]


def test_chargers_of_one_account_stay_within_its_quota_day_after_day() -> None:
    """A tight account quota binds across both chargers: the planner's plan must fit
    it, or the world refuses the excess with a 429 as the cloud would."""
    limit = 160
    run = _account_run(seed=5, limit=limit, budget=BudgetConfig(daily_limit=limit, reserve=20))
    calls = run.run(timedelta(days=3))
    assert {c.device_id for c in calls} == {"G1", "G2"}
    assert all(c.status == 200 for c in calls), "the world refused a call the plan made"
    per_day = Counter(c.time.astimezone(UTC).date() for c in calls)
    assert len(per_day) >= 3 and max(per_day.values()) <= limit
    today = per_day[run.clock.now().astimezone(UTC).date()]
    assert run.chargers["G1"].calls_today == run.chargers["G2"].calls_today == today
    # The quota binds: without sharing, each charger alone would have had `limit`.
    assert max(per_day.values()) > limit // 2


def test_the_site_listener_records_every_call_into_the_shared_planner_and_store() -> None:
    run = _account_run(seed=2)
    asked = sorted(run.chargers)
    assert asked == ["G1", "G2"]  # one charger per configured entry, by its device id
    call = ApiCall(T0, "G1", "currentstatecharge", 200, 0.1, Quota(1000, 900, None))
    run.chargers["G2"]._on_call(call)  # type: ignore[misc]
    assert run.store.calls == [call]
    assert run.daemon.planner.spent(T0) == 100  # the server's count, learned from the call


# ----- reconciling the charger's statistics ----------------------------------------------


def _session(device: str, start_h: float, hours: float | None, wh: float = 5000.0) -> SessionRecord:
    start = T0 + timedelta(hours=start_h)
    end = None if hours is None else start + timedelta(hours=hours)
    return SessionRecord(device, start, end, wh, wh / 2, wh / 2)


def test_missing_sessions_adds_only_finished_sessions_no_read_saw() -> None:
    recorded = [_session("A", 2, 5)]
    reported = [
        _session("A", 2.1, 4.8),  # the same session, times a little off
        _session("A", 10, 1),  # came and went between reads
        _session("B", 2, 5),  # another charger
        _session("A", 20, None),  # still open: the controller follows it
    ]
    assert missing_sessions(reported, recorded) == [reported[1], reported[2]]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 48), st.floats(0.1, 10)), max_size=6),
    st.lists(st.tuples(st.floats(0, 48), st.floats(0.1, 10)), max_size=6),
)
def test_missing_sessions_never_duplicate_a_recorded_session(
    rec: list[tuple[float, float]], rep: list[tuple[float, float]]
) -> None:
    recorded = [_session("A", s, h) for s, h in rec]
    reported = [_session("A", s, h) for s, h in rep]
    added = missing_sessions(reported, recorded)
    slack = timedelta(minutes=10)
    everything = recorded + added
    for new in added:
        assert new in reported
        for other in everything:
            if other is new:
                continue
            assert new.end is not None and other.end is not None
            assert new.start > other.end + slack or other.start > new.end + slack
    for r in reported:  # every reported session is now covered
        assert any(r.start <= o.end + slack and o.start <= r.end + slack for o in everything)  # type: ignore[operator]


# ----- status and control ------------------------------------------------------------------


def test_a_policy_switch_from_another_thread_takes_effect_on_the_next_cycle() -> None:
    board = StatusBoard()
    run = _account_run(seed=3, board=board)
    run.run(timedelta(hours=2))
    assert board.current().policy == "solar_only"
    assert {d.policy for d in run.store.decisions[-4:]} == {"solar_only"}
    worker = threading.Thread(target=run.daemon.control.set_policy, args=["fast"])
    worker.start()
    worker.join()
    now = run.clock.now()
    assert all(run.daemon.due_at(d) > now for d in ("G1", "G2"))  # only queued so far
    run.daemon.apply_control()
    assert all(run.daemon.due_at(d) == now for d in ("G1", "G2"))  # both run at once
    assert all(c.policy.name == "fast" for c in run.daemon.controllers.values())
    assert board.current().policy == "fast"
    before = len(run.store.decisions)
    run.run(timedelta(minutes=1))
    new = run.store.decisions[before:]
    assert {d.device_id for d in new[:2]} == {"G1", "G2"}
    assert {d.policy for d in new} == {"fast"}
    assert new[0].time == now


def test_the_board_gets_the_status_after_every_job() -> None:
    board = StatusBoard()
    run = _account_run(seed=3, board=board)
    assert board.version == 1  # published once when built
    assert [c.device_id for c in board.current().chargers] == ["G1", "G2"]
    assert board.current().chargers[0].state == "unknown"
    run.run(timedelta(hours=3))
    status = board.current()
    assert board.version >= 1 + run.daemon.stats.cycles  # and a roll, a reconcile
    assert status.time == run.clock.now()
    assert status.calls_today == run.daemon.planner.spent(run.clock.now()) > 0
    assert status.decisions_made == run.daemon.stats.cycles
    assert status.decisions[0].time >= status.decisions[-1].time  # newest first
    assert all(c.last_read_at is not None for c in status.chargers)
    assert status.pv_w is not None


def test_a_session_target_is_applied_in_the_daemon_thread_and_runs_the_cycle_at_once() -> None:
    clock = ScaledClock(T0, speed=600.0)  # an hour between cycles: 6 wall seconds
    ctl = ScriptedController("A", clock, lambda t: t + timedelta(hours=1))
    daemon = make_daemon([ctl], clock)
    runner = SchedulerRunner(daemon, clock)
    runner.start()
    try:
        deadline = time.monotonic() + 5.0
        while not ctl.cycle_times and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(ctl.cycle_times) == 1
        departure = clock.now() + timedelta(hours=8)
        daemon.control.set_target("A", 20_000.0, departure)
        while len(ctl.cycle_times) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        runner.stop()
    assert len(ctl.cycle_times) == 2, "the charger's next cycle did not run at once"
    assert ctl.cycle_times[1] - ctl.cycle_times[0] < timedelta(minutes=30)
    ((energy, when, thread),) = ctl.targets
    assert (energy, when) == (20_000.0, departure)
    assert thread != threading.get_ident()  # applied by the daemon's worker, not the caller
    assert ctl.asked[0] > ctl.cycle_times[1]  # it ran before its planned time


def test_a_daemon_without_a_policy_factory_offers_only_its_running_policy() -> None:
    clock = SimClock(T0)
    daemon = make_daemon([ScriptedController("A", clock, lambda t: t)], clock)
    assert daemon.control.policies == ("scripted",)
    assert daemon.board is None
    daemon.publish_status()  # no board: nothing to do, no error


def _site_daemon(store: MemoryStore, policy: str) -> Daemon:
    """The daemon of the demo's home with `policy` configured, over `store` (a restart
    reuses the store)."""
    scenario = default_scenario()
    world = World(scenario, seed=1)
    clock = SimClock(world.now)
    quota = account_quota(1000)

    def charger(device_id: str, listener: CallListener) -> WorldCharger:
        return WorldCharger(world, device_id, clock, listener, quota=quota)

    config = demo_config(scenario, policy)
    return build_daemon(build_site(config, charger, clock, store))


def test_a_policy_chosen_from_home_survives_a_restart_until_the_config_changes() -> None:
    store = MemoryStore()
    first = _site_daemon(store, "solar_only")
    first.control.set_policy("target")
    first.apply_control()
    assert first.policy_name == "target"
    restarted = _site_daemon(store, "solar_only")
    assert restarted.policy_name == "target"
    assert all(c.policy.name == "target" for c in restarted.controllers.values())
    assert restarted.configured_policy == "solar_only"
    edited = _site_daemon(store, "min_solar")  # the file names another policy now: it wins
    assert edited.policy_name == "min_solar"
    back = _site_daemon(store, "solar_only")  # the choice was made under solar_only
    assert back.policy_name == "target"


def test_an_unreadable_policy_choice_is_ignored() -> None:
    store = MemoryStore()
    store.record_setting("policy", "not json")
    assert _site_daemon(store, "solar_only").policy_name == "solar_only"
    store.record_setting("policy", '{"chosen": "turbo", "configured": "solar_only"}')
    assert _site_daemon(store, "solar_only").policy_name == "solar_only"


def test_publishing_the_status_changes_no_decision_command_or_call() -> None:
    """The board reads the planner's day plan every 15 minutes: a read, never a change."""
    plain = _account_run(seed=4)
    watched = _account_run(seed=4, board=StatusBoard())
    calls = plain.run(timedelta(days=2))
    assert [(c.time, c.device_id, c.endpoint) for c in watched.run(timedelta(days=2))] == [
        (c.time, c.device_id, c.endpoint) for c in calls
    ]
    assert watched.store.decisions == plain.store.decisions
    assert watched.store.commands == plain.store.commands
    assert watched.daemon.board is not None
    assert watched.daemon.board.version > watched.daemon.stats.cycles > 100  # every job published


def test_a_restart_while_a_car_charges_keeps_one_session_row() -> None:
    """`kill -9` mid-session, a new daemon on the same store: the plug-in stays one
    row whose energy is the world's, not the killed run's row plus a second one."""
    scenario = default_scenario()
    world = World(scenario, seed=1)
    clock = SimClock(world.now)
    store = MemoryStore()
    config = demo_config(scenario, "solar_only")
    quota = account_quota(1000)

    def charger(device_id: str, listener: CallListener) -> WorldCharger:
        return WorldCharger(world, device_id, clock, listener, daily_limit=1000, quota=quota)

    def advance(t: datetime) -> None:
        clock.set(t)
        world.advance_to(t)

    noon = datetime(2026, 6, 21, 10, tzinfo=UTC)  # the car is plugged in from 06:00 UTC
    build_daemon(build_site(config, charger, clock, store)).run_cycles(noon, advance)
    assert [s.end for s in store.sessions()] == [None]
    advance(noon + timedelta(minutes=20))  # the restart takes a while
    restarted = build_daemon(build_site(config, charger, clock, store))
    restarted.run_cycles(datetime(2026, 6, 22, 4, tzinfo=UTC), advance)
    truth = [log for log in world.sessions("SIM0001") if log.end is not None]
    recorded = store.sessions()
    assert [s.start for s in recorded] == [store.sessions()[0].start]
    assert recorded[0].end is not None and len(truth) == 1
    assert abs(recorded[0].energy_wh - truth[0].energy_wh) < 0.01 * truth[0].energy_wh


def test_after_shutdown_the_control_refuses_requests_it_could_never_apply() -> None:
    from optimizer.status import ControlError

    clock = SimClock(T0)
    daemon = make_daemon(
        [ScriptedController("A", clock, lambda t: t + timedelta(minutes=5))], clock
    )
    daemon.control.clear_target("A")  # accepted while the daemon runs
    daemon.shutdown()
    with pytest.raises(ControlError, match=r"^daemon: the daemon has stopped \(shut down\)$"):
        daemon.control.clear_target("A")

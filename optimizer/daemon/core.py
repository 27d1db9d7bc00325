"""The daemon's scheduling core: which job runs when, in simulated or real time.

The daemon is wiring plus scheduling, never control logic. It owns a set of
jobs, each with the (clock) time it is due next:

- one cycle job per charger: runs `Controller.cycle()` and is due again at
  the `CycleResult.next_cycle_at` the controller asked for;
- a daily budget roll: closes the quota day in the call ledger (the calls the
  store holds for it) and re-plans;
- a daily session reconcile per charger (optional): asks the charger's
  statistics (`stadistic/device`) through a callback the wiring provides;
- a targets poll (optional, `run` and `demo`): the session targets another process
  wrote into the store (`optimizer.daemon.targets`).

Beside them, `BackgroundJob`s (`optimizer.background`: the price and weather
refreshes) fetch what the cycles read. They never take the cycles' lock: the
runner gives them their own thread, so a provider hanging for its whole timeout
delays no decision; `run_due` runs them inline (simulated time).

`Daemon.run_due(now)` runs every job due at `now`; `Daemon.run_cycles(until,
advance)` drives the whole thing deterministically by jumping a clock from
one due time to the next (a `SimClock`, or the HTTP simulator's clock). The
APScheduler runner (`optimizer.daemon.runner`) runs the very same jobs at
wall-clock times. Wake-ups are bounded below (`min_interval_s`), so nothing
that goes wrong can make the daemon spin.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from optimizer.background import BackgroundJob, BackgroundJobs
from optimizer.budget.plan import BudgetPlan
from optimizer.budget.scheduler import LedgeredScheduler
from optimizer.controller import Controller, CycleResult
from optimizer.daemon.learned import LearnedSync
from optimizer.daemon.policy_choice import remember_policy, remembered_policy
from optimizer.daemon.targets import TargetSync
from optimizer.interfaces import ChargerAuthError, Clock, Command, PvMode, Store
from optimizer.policies.registry import POLICY_NAMES, PolicyByName
from optimizer.status.board import StatusBoard
from optimizer.status.build import decision_status, site_status
from optimizer.status.control import ControlRequest, SetPolicy, SiteControl
from optimizer.status.errors import error_kind
from optimizer.status.snapshot import MAX_DECISIONS, DecisionStatus
from optimizer.status.target import SessionTarget

log = logging.getLogger(__name__)

DAY = timedelta(days=1)

ROLL_JOB = "budget-roll"
"""Key of the daily budget-roll job."""

PLAN_REFRESH = timedelta(minutes=15)
"""How often (clock time) the status re-asks the read scheduler for the day's plan."""

TARGETS_JOB = "targets"
"""Key of the job that polls the store for targets written by another process."""

RECONCILE_PREFIX = "reconcile:"
"""Keys of the daily reconcile jobs are this prefix plus the device id."""
RECONCILE_RETRY = timedelta(minutes=30)
"""How soon a failed reconcile tries its days again (one read a day each time)."""
RECONCILE_BACKLOG_DAYS = 7
"""The most local days a charger's reconcile keeps owing (oldest dropped first, logged):
a cloud outage of several days is fetched back day by day once it ends."""

Reconciler = Callable[[str, date, datetime], None]
"""`(device_id, local day to reconcile, now)`: fetch the charger's statistics of that
day and merge them into the store. Makes API calls through the ledgered client."""


@dataclass(frozen=True, slots=True)
class DaySpend:
    """Calls spent in one quota day, from the store's ledger (the numbers the budget trusts)."""

    day_start: datetime
    calls: int
    by_endpoint: dict[str, int]


@dataclass(slots=True)
class DaemonStats:
    """Counters for the status line and the tests."""

    cycles: int = 0
    reads: int = 0
    commands: int = 0
    cycle_errors: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    """The cycles' errors counted by `optimizer.status.errors.error_kind`."""
    reconciles: int = 0
    days: list[DaySpend] = field(default_factory=list)


class DaemonStopped(Exception):
    """Raised by `run_due` after the daemon stopped (fatal error or shutdown)."""


class Daemon:
    """Schedules the controllers' cycles and the daily jobs over one clock.

    All controllers share one read scheduler and one `Store` (the wiring makes
    sure of it). At home that is the `BudgetPlanner`; the backtest runs its
    baselines through this same daemon with a `FixedIntervalSchedule`. Either
    keeps the call ledger whose window is the quota day. Jobs run one at a time
    (`SqlStore` is single-threaded): the APScheduler runner uses one worker and
    `run_due` holds a lock.

    `min_interval_s` (simulated s) bounds every job's next wake-up below, on
    top of the controller's own minimum. `reconcile_at` is the local time of
    day the reconcile jobs run (for the previous local day); `tz` the local zone.
    `on_cycle` sees every `CycleResult` (the live status line).

    Other threads see and steer it only through `optimizer.status`: with a
    `board`, a `SiteStatus` is published after every job and applied request;
    `control` (one is made when none is given) queues the requests, which
    `run_job` applies before its job (`apply_control`). `make_policy` builds a
    policy by name for a switch (without one, the running policy is the only
    choice); `charger_names` are the configured labels. `background` are the refreshes
    run beside the cycles (`run_background`), each due at once on start.

    What a policy learned (the household's usual load) is kept in the store and given
    to each new policy before its first cycle (`optimizer.daemon.learned`).

    Session targets applied from `control` are kept in the store; with
    `target_poll_s` the store is also polled that often (clock s) for targets
    another process wrote (`v2c-solar target`), the first poll at once (a restart).
    """

    def __init__(
        self,
        controllers: Sequence[Controller],
        planner: LedgeredScheduler,
        store: Store,
        clock: Clock,
        *,
        reconciler: Reconciler | None = None,
        reconcile_at: time = time(0, 20),
        safe_mode: PvMode = PvMode.EXCLUSIVE_PV,
        min_interval_s: float = 1.0,
        on_cycle: Callable[[CycleResult], None] | None = None,
        board: StatusBoard | None = None,
        control: SiteControl | None = None,
        make_policy: PolicyByName | None = None,
        charger_names: Mapping[str, str | None] | None = None,
        background: Sequence[BackgroundJob] = (),
        target_poll_s: float | None = None,
    ) -> None:
        if not controllers:
            raise ValueError("the daemon needs at least one controller")
        ids = [c.device_id for c in controllers]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate charger device ids: {ids}")
        if not min_interval_s > 0:
            raise ValueError(f"min_interval_s must be > 0, got {min_interval_s!r}")
        self.controllers = {c.device_id: c for c in controllers}
        self.planner = planner
        self.store = store
        self.clock = clock
        self.safe_mode = safe_mode
        self.min_interval = timedelta(seconds=min_interval_s)
        self.on_cycle = on_cycle
        self.stats = DaemonStats()
        self.last_results: dict[str, CycleResult] = {}
        self.fatal: ChargerAuthError | None = None
        self._reconciler = reconciler
        self._reconcile_at = reconcile_at
        self._tz = next(iter(self.controllers.values())).timezone
        self.policy_name = next(iter(self.controllers.values())).policy.name
        """The active policy's name (every charger runs the same policy)."""
        self.configured_policy = self.policy_name
        """The policy the daemon was started with (the config, or `--policy`)."""
        self.make_policy = make_policy
        self.board = board
        self.control = control or SiteControl(
            ids, POLICY_NAMES if make_policy is not None else (self.policy_name,), now=clock.now
        )
        self.charger_names = dict(charger_names or {})
        self.recent_decisions: deque[DecisionStatus] = deque(maxlen=MAX_DECISIONS)
        """The last decisions, oldest first; kept only with a board (nobody else reads them)."""
        self.targets = TargetSync(store, ids)
        self.learned = LearnedSync(store)
        self._target_poll = None if target_poll_s is None else timedelta(seconds=target_poll_s)
        self._day_plan: tuple[datetime, BudgetPlan | None] | None = None
        self._lock = threading.Lock()
        self._stopped = False
        now = clock.now()
        self._due: dict[str, datetime] = {device: now for device in self.controllers}
        self._due[ROLL_JOB] = self._day_end(now)
        self._unreconciled: dict[str, list[date]] = {device: [] for device in self.controllers}
        """Local days each charger's reconcile still owes, oldest first."""
        if reconciler is not None:
            for device in self.controllers:
                self._due[RECONCILE_PREFIX + device] = self._next_reconcile(now)
        if self._target_poll is not None:
            self._due[TARGETS_JOB] = now
        self._background = BackgroundJobs(background, now, min_interval=self.min_interval)

    @property
    def timezone(self) -> tzinfo:
        """The site's local zone (the controllers')."""
        return self._tz

    # ----- restore --------------------------------------------------------------------

    def restore_budget(self, now: datetime | None = None) -> int:
        """Rebuild the planner's ledger from the store's calls of the last 48 h.

        Returns the calls spent in the current quota day after the restore.
        """
        now = now or self.clock.now()
        calls = self.store.calls_between(now - 2 * DAY, now + self.min_interval)
        self.planner.restore(calls, now)
        return self.planner.spent(now)

    def restore_policy(self) -> str | None:
        """Switch to the policy chosen from home before a restart, if it still applies
        (`optimizer.daemon.policy_choice`); the policy restored, else None."""
        chosen = remembered_policy(self.store, self.configured_policy, self.control.policies)
        if chosen is None or chosen == self.policy_name:
            return None
        self._switch_policy(chosen)
        log.warning(
            "policy %s, as chosen from home before the restart (configured: %s)",
            chosen,
            self.configured_policy,
        )
        return chosen

    def restore_sessions(self) -> int:
        """Go on with each charger's session the store holds open (a restart while a car
        is plugged in: without it the next read opens a second row for the same
        plug-in, and the charger's session counter is counted twice), with the session
        energy limit written in it (`Controller.resume`).

        Returns how many sessions were taken over.
        """
        resumed = 0
        for device, controller in self.controllers.items():
            session = self.store.open_session(device)
            if session is not None:
                controller.resume(session)
                resumed += 1
        return resumed

    # ----- schedule -------------------------------------------------------------------

    @property
    def jobs(self) -> dict[str, datetime]:
        """Every job's key and the clock time it is due next (a copy)."""
        return dict(self._due)

    def due_at(self, key: str) -> datetime:
        """When job `key` is due next (clock time)."""
        return self._due[key]

    def next_wakeup(self) -> datetime:
        """The earliest due time of any job, background jobs included."""
        return min([*self._due.values(), *self._background.due.values()])

    @property
    def background_jobs(self) -> dict[str, datetime]:
        """Every background job's name and the clock time it is due next (a copy)."""
        return self._background.due

    def run_background(self, name: str, now: datetime | None = None) -> datetime:
        """Run background job `name` now, without the cycles' lock (it may block on the
        network while cycles go on: call it from its own thread); when it is due next.

        Whatever it raises is logged in one line (then quietly until it runs through) and
        it runs again after `BACKGROUND_RETRY`: what it filled before stays in use
        (`optimizer.background.BackgroundJobs.run`).
        """
        return self._background.run(name, now or self.clock.now())

    @property
    def stopped(self) -> bool:
        """True after a fatal error or `shutdown()`."""
        return self._stopped

    def run_job(self, key: str, now: datetime | None = None) -> datetime:
        """Run job `key` now (whether due or not) and return when it is due next.

        A `ChargerAuthError` stops the daemon (`fatal` is set) and is re-raised.
        """
        with self._lock:
            if self._stopped:
                raise DaemonStopped("the daemon has stopped")
            now = now or self.clock.now()
            applied = self._apply_requests(now)
            if key == TARGETS_JOB:
                return self._poll_targets(now, publish=applied)
            try:
                nxt = self._run_locked(key, now)
            except ChargerAuthError as exc:
                self.fatal = exc
                self._stopped = True
                self.control.close("the cloud refused the API key")
                self.publish_status()
                raise
            nxt = max(nxt, now + self.min_interval)
            self._due[key] = nxt
            self.publish_status()
            return nxt

    def _poll_targets(self, now: datetime, *, publish: bool) -> datetime:
        """Apply the targets another process wrote (`TargetSync.poll`); the status is
        published only when something changed (a poll is cheap and frequent)."""
        assert self._target_poll is not None
        found = self.targets.poll(now)
        for target in found:
            self._set_target(target, now)
            log.info(
                "%s: session target from the database: %s",
                target.device_id,
                "cleared" if target.cleared else f"{target.energy_wh} Wh by {target.departure}",
            )
        if found or publish:
            self.publish_status()
        nxt = now + max(self._target_poll, self.min_interval)
        self._due[TARGETS_JOB] = nxt
        return nxt

    # ----- status and control ---------------------------------------------------------

    def apply_control(self, now: datetime | None = None) -> None:
        """Apply the requests `control` queued (in the daemon's thread); the chargers
        they touch are due at once. A no-op when nothing is queued or after a stop."""
        with self._lock:
            if self._stopped:
                return
            if self._apply_requests(now or self.clock.now()):
                self.publish_status()

    def day_plan(self, now: datetime) -> BudgetPlan | None:
        """The read scheduler's plan for the rest of the quota day, re-asked every
        `PLAN_REFRESH` and when its day has ended (for the status only)."""
        cached = self._day_plan
        if cached is not None:
            asked, plan = cached
            fresh = asked <= now < asked + PLAN_REFRESH
            if fresh and (plan is None or now < plan.window_end):
                return plan
        plan = self.planner.day_plan(now)
        self._day_plan = (now, plan)
        return plan

    def publish_status(self) -> None:
        """Publish the site's status on the board (a no-op without one)."""
        if self.board is not None:
            self.board.publish(site_status(self))

    def _apply_requests(self, now: datetime) -> bool:
        """Apply every queued request, in order; True when there were any."""
        requests = self.control.take()
        for request in requests:
            self._apply(request, now)
        return bool(requests)

    def _apply(self, request: ControlRequest, now: datetime) -> None:
        if isinstance(request, SetPolicy):
            devices = self._switch_policy(request.name)
        else:
            target = SessionTarget(request.device_id, request.energy_wh, request.departure, now)
            self.targets.saved(target)
            self._set_target(target, now)
            log.info(
                "%s: session target %s Wh by %s",
                request.device_id,
                request.energy_wh,
                request.departure,
            )
            devices = []
        for device in devices:
            self._due[device] = min(self._due[device], now)

    def _set_target(self, target: SessionTarget, now: datetime) -> None:
        """Give the charger `target` and run its cycle now."""
        self.controllers[target.device_id].set_session_target(target.energy_wh, target.departure)
        self._due[target.device_id] = min(self._due[target.device_id], now)

    def _switch_policy(self, name: str) -> list[str]:
        """Every charger on a fresh `name` policy; the chargers whose cycle must run now."""
        if name == self.policy_name:
            return []
        if self.make_policy is None:
            raise ValueError(f"this daemon cannot switch policies (asked for {name!r})")
        for controller in self.controllers.values():
            controller.set_policy(self.make_policy(name))
        log.info("policy switched from %s to %s", self.policy_name, name)
        self.policy_name = name
        remember_policy(self.store, name, self.configured_policy)
        return list(self.controllers)

    def run_due(self, now: datetime | None = None) -> list[CycleResult]:
        """Run every job due at `now` (clock time): background jobs first, then the
        cycles in device order."""
        now = now or self.clock.now()
        if not self._stopped:
            self._background.run_due(now)
        results: list[CycleResult] = []
        for key in sorted(self._due, key=lambda k: (self._due[k], k)):
            if self._due[key] <= now:
                self.run_job(key, now)
                if key in self.controllers:
                    results.append(self.last_results[key])
        return results

    def run_cycles(self, until: datetime, advance: Callable[[datetime], None]) -> list[CycleResult]:
        """Drive the daemon up to `until` (exclusive) without wall-clock waits.

        `advance(t)` must move the clock (and the world behind the chargers)
        to `t`; it is called with each next due time in turn. Deterministic for
        a deterministic world: this is how tests run several simulated days.
        """
        results: list[CycleResult] = []
        while not self._stopped:
            t = self.next_wakeup()
            if t >= until:
                break
            advance(t)
            results.extend(self.run_due(max(self.clock.now(), t)))
        return results

    def shutdown(self, safe_mode: PvMode | None = None) -> list[Command]:
        """Stop: leave every charger in `safe_mode` (default the daemon's) and commit.

        Waits for a job in flight (the lock). Skips the chargers after a 401:
        the cloud refuses us, further calls only burn quota. Idempotent.
        """
        mode = self.safe_mode if safe_mode is None else safe_mode
        commands: list[Command] = []
        with self._lock:
            fatal = self.fatal is not None
            self._stopped = True
            self.control.close("shut down")
            if not fatal:
                for controller in self.controllers.values():
                    commands.extend(controller.shutdown(mode))
            self.store.commit()
            self.publish_status()
        return commands

    # ----- the jobs -------------------------------------------------------------------

    def _run_locked(self, key: str, now: datetime) -> datetime:
        if key in self.controllers:
            return self._cycle(self.controllers[key])
        if key == ROLL_JOB:
            return self._roll(now)
        if key.startswith(RECONCILE_PREFIX):
            return self._reconcile(key.removeprefix(RECONCILE_PREFIX), now)
        raise KeyError(f"unknown daemon job {key!r}")

    def _cycle(self, controller: Controller) -> datetime:
        self.learned.before_cycle(controller.device_id, controller.policy)
        try:
            result = controller.cycle()
        except ChargerAuthError:
            self.stats.cycle_errors += 1
            raise
        self.stats.cycles += 1
        self.stats.reads += int(result.reading is not None)
        self.stats.commands += sum(1 for c in result.commands if c.ok)
        self.stats.cycle_errors += int(bool(result.errors))
        self.last_results[controller.device_id] = result
        self.targets.after_cycle(controller)
        self.learned.after_cycle(controller.device_id, controller.policy)
        if result.errors:
            log.warning("%s: %s", controller.device_id, "; ".join(result.errors))
            by_kind = self.stats.errors_by_kind
            for error in result.errors:
                kind = error_kind(error)
                by_kind[kind] = by_kind.get(kind, 0) + 1
        if self.board is not None:
            self.recent_decisions.append(decision_status(result.decision))
        if self.on_cycle is not None:
            self.on_cycle(result)
        return result.next_cycle_at

    def _roll(self, now: datetime) -> datetime:
        """Close the quota day that just ended: its spend from the store, then re-plan.

        The planner's ledger moves to the new day by itself (its window follows
        the clock); what the roll adds is the day's spend as the store has it
        and a cycle of every charger at once, so the fresh budget is spread
        from the first minute of the day instead of after the last long sleep.

        The day is the server's: the boundary the ledger learned from
        `RateLimit-Reset` may have moved since the roll was scheduled, so a roll
        in the second half of a day finds nothing ended yet and waits for that
        day's end. A call counts in the day the server counted it in
        (`CallLedger.window_of`), so the store is searched half a day beyond
        either edge: our clock may be off the server's.
        """
        ledger = self.planner.ledger
        start, end = ledger.window(now)
        if now - start >= DAY / 2:
            return end
        closed = start - DAY
        nearby = self.store.calls_between(closed - DAY / 2, start + DAY / 2)
        calls = [c for c in nearby if ledger.window_of(c)[0] == closed]
        by_endpoint: dict[str, int] = {}
        for call in calls:
            by_endpoint[call.endpoint] = by_endpoint.get(call.endpoint, 0) + 1
        self.stats.days.append(DaySpend(closed, len(calls), by_endpoint))
        log.info("quota day %s closed: %d calls %s", f"{closed:%F}", len(calls), by_endpoint)
        for device in self.controllers:
            self._due[device] = min(self._due[device], now)  # re-plan every charger at once
        return end

    def _reconcile(self, device_id: str, now: datetime) -> datetime:
        """Fetch yesterday and every earlier day still owed, oldest first; the next run."""
        owed = self._owe(device_id, (now.astimezone(self._tz) - DAY).date())
        while owed:
            if self._reads_left(now) < 1:
                log.info("reconcile %s skipped: no call budget left for reads", device_id)
                break
            if not self._reconcile_day(device_id, owed[0], now):
                return self._retry_reconcile(now)
            owed.pop(0)
        return self._next_reconcile(now + self.min_interval)

    def _owe(self, device_id: str, day: date) -> list[date]:
        """Add `day` to what the charger's reconcile owes (kept to the last
        `RECONCILE_BACKLOG_DAYS`); the owed days, oldest first."""
        owed = self._unreconciled[device_id]
        if day not in owed:
            owed.append(day)
            owed.sort()
        while len(owed) > RECONCILE_BACKLOG_DAYS:
            log.warning("reconcile %s: %s given up (older than the backlog)", device_id, owed[0])
            owed.pop(0)
        return owed

    def _reconcile_day(self, device_id: str, day: date, now: datetime) -> bool:
        """Fetch one day's statistics into the store; False if the fetch failed."""
        assert self._reconciler is not None
        try:
            self._reconciler(device_id, day, now)
            self.stats.reconciles += 1
        except ChargerAuthError:
            raise
        except Exception as exc:  # a statistics failure never stops charging
            log.warning("reconcile %s %s failed: %s", device_id, day, exc)
            self.store.commit()
            return False
        self.store.commit()
        return True

    # ----- day arithmetic -------------------------------------------------------------

    def _reads_left(self, now: datetime) -> int:
        """Calls a read may use now: the planner keeps its reserve for commands."""
        return self.planner.reads_left(now)

    def _day_end(self, t: datetime) -> datetime:
        _, end = self.planner.ledger.window(t)
        return end

    def _retry_reconcile(self, now: datetime) -> datetime:
        """After a failed reconcile: again in `RECONCILE_RETRY`, or at the next regular run
        if that comes first. The failed day stays owed, so one cut answer (a 5xx, a
        dropped connection) or an outage of days never loses the sessions no read saw.
        """
        return min(now + RECONCILE_RETRY, self._next_reconcile(now + self.min_interval))

    def _next_reconcile(self, after: datetime) -> datetime:
        local = after.astimezone(self._tz)
        candidate = datetime.combine(local.date(), self._reconcile_at, tzinfo=self._tz)
        if candidate <= local:
            candidate = datetime.combine(local.date() + DAY, self._reconcile_at, tzinfo=self._tz)
        return candidate.astimezone(UTC)

"""Many accounts in one process: each account's sites on a worker thread of its own.

A fleet is a set of accounts (`optimizer.accounts`), each a set of sites, each
site a `Daemon` over the controllers the composition root built (one read
scheduler per account, shared by its sites). One `AccountWorker` thread per
account runs its sites' due jobs in time order and sleeps (in wall time, through
the clock's speed) until the next one. What isolates the accounts from each
other is that they share nothing that blocks: an account's slow or hanging
request, its 401 or its 429 holds only its own worker; every other worker keeps
its cycle times. (The HTTP requests of all accounts go through one asynchronous
pool, `adapters.v2c_cloud.pool`: the waiting is the worker's, not the pool's.)

The sites' price and weather refreshes (`BackgroundJob`s of the fleet's shared
feeds, `optimizer.composition.SharedLiveInputs`) run on a `FleetBackground` of
their own, each job once however many sites read its feed: never on an account's
worker, so a provider hanging for its whole timeout delays no account's cycles;
and on a small pool (`REFRESH_WORKERS` threads), so it delays no other feed's
refresh either (while it hangs, its own feed keeps what it had).

A 401 stops the account it came from (every site: the key is the account's)
and no other. `FleetRunner.run` serves until a stop event or a clock time, then
each worker leaves its chargers in the safe mode and commits.

Tests drive it without wall-clock waits: a frozen clock that the test moves, a
`wake()` after each move and `settle(t)` to wait until the workers have run
everything due by `t`.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from optimizer.background import BackgroundJob, BackgroundJobs
from optimizer.daemon.core import Daemon, DaemonStopped
from optimizer.daemon.runner import SpeedClock
from optimizer.interfaces import ChargerAuthError, Command

log = logging.getLogger(__name__)

MAX_WAIT_S = 1.0
"""Longest a worker sleeps (wall s) before it looks at the clock again (a re-anchored clock)."""
MIN_WAIT_S = 0.001
"""Shortest wall wait between two rounds: nothing that goes wrong makes a worker spin."""
REFRESH_WORKERS = 4
"""Threads running the fleet's price and weather refreshes at once (`FleetBackground`):
a few hanging providers hold as many, the other feeds keep refreshing on time."""


class AccountJobs(Protocol):
    """One account as the runner takes it: its name, its sites' daemons, and how to write
    what a round recorded (`optimizer.daemon.cloud.AccountDaemons` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def daemons(self) -> Sequence[Daemon]: ...

    @property
    def flush(self) -> Callable[[], None]: ...


@dataclass(slots=True)
class AccountOutcome:
    """How one account's run ended."""

    account: str
    fatal: str | None = None
    safe_commands: int = 0
    not_safe: tuple[str, ...] = ()
    late_s_mean: float = 0.0
    """How late (clock s) the account's rounds ran after their first due job, on average:
    near 0 while the process keeps up, growing when it falls behind the clock."""
    late_s_max: float = 0.0


@dataclass
class AccountWorker:
    """The thread that runs one account's site daemons (see the module doc)."""

    account: str
    daemons: tuple[Daemon, ...]
    clock: SpeedClock
    stop: threading.Event
    flush: Callable[[], None] = lambda: None
    """Writes the round's records (the store's commits wait for it); after every round."""
    fatal: str | None = None
    error: BaseException | None = None
    commands: list[Command] = field(default_factory=list)
    late_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    """Lateness of the rounds that ran jobs: [sum, count, max] (clock s)."""
    _wake: threading.Event = field(default_factory=threading.Event)
    _idle: threading.Condition = field(default_factory=threading.Condition)
    _ran_until: datetime | None = None
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        for daemon in self.daemons:
            daemon.control.add_waker(self.wake)

    def start(self) -> None:
        """Start the worker thread."""
        self._thread = threading.Thread(target=self._main, name=f"account-{self.account}")
        self._thread.daemon = True
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (after `stop` was set and the worker woken)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Look at the clock and the queued requests now (any thread)."""
        self._wake.set()

    def next_wakeup(self) -> datetime | None:
        """The earliest due job of the account's running sites (None: all stopped)."""
        due = [d.next_wakeup() for d in self.daemons if not d.stopped]
        return min(due) if due else None

    def settle(self, until: datetime, timeout_s: float = 60.0) -> bool:
        """Wait until the worker has run every job due by `until` (clock time), or has
        stopped; False when `timeout_s` (wall) passed first. For tests and benchmarks."""
        with self._idle:
            return self._idle.wait_for(lambda: self._settled(until), timeout_s)

    def _settled(self, until: datetime) -> bool:
        if self._finished():
            return True
        due = self.next_wakeup()
        ran = self._ran_until
        return ran is not None and ran >= until and (due is None or due > until)

    def _finished(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def _main(self) -> None:
        try:
            while not self.stop.is_set() and self.next_wakeup() is not None:
                self._round()
        except BaseException as exc:  # a bug in one account must not take the others down
            log.exception("account %s: worker failed", self.account)
            self.error = exc
        finally:
            self._shutdown()
            with self._idle:
                self._idle.notify_all()

    def _round(self) -> None:
        """Apply queued requests, run every job due now, then sleep until the next one."""
        now = self.clock.now()
        for daemon in self.daemons:
            if not daemon.stopped:
                daemon.apply_control(now)
        due = self.next_wakeup()
        if due is not None and due <= now:
            self._count_lateness((now - due).total_seconds())
        for daemon in self.daemons:
            if not daemon.stopped and daemon.next_wakeup() <= now:
                self._run(daemon, now)
        self.flush()
        with self._idle:
            self._ran_until = now
            self._idle.notify_all()
        due = self.next_wakeup()
        if due is None:
            return
        delay_s = (due - self.clock.now()).total_seconds() / self.clock.speed
        if delay_s > 0:
            self._wake.wait(min(max(delay_s, MIN_WAIT_S), MAX_WAIT_S))
            self._wake.clear()

    def _count_lateness(self, late_s: float) -> None:
        total, count, worst = self.late_s
        self.late_s = [total + late_s, count + 1, max(worst, late_s)]

    def _run(self, daemon: Daemon, now: datetime) -> None:
        try:
            daemon.run_due(now)
        except DaemonStopped:
            return
        except ChargerAuthError as exc:
            self._refused(exc)

    def _refused(self, exc: ChargerAuthError) -> None:
        """The account's key was refused: every site of the account stops, no other."""
        self.fatal = f"the V2C Cloud refused the API key of account {self.account} (401): {exc}"
        log.error("%s; its %d site(s) stop", self.fatal, len(self.daemons))
        for daemon in self.daemons:
            if daemon.fatal is None:
                daemon.fatal = exc  # its shutdown sends nothing: the key is refused
            daemon.shutdown()  # the account's other sites stop too, without a refused call

    def _shutdown(self) -> None:
        """Leave the account's chargers in the safe mode and commit (each site)."""
        for daemon in self.daemons:
            try:
                self.commands.extend(daemon.shutdown())
            except Exception:  # one site's failing shutdown must not skip the others
                log.exception("account %s: shutdown failed", self.account)
        self.flush()

    def outcome(self) -> AccountOutcome:
        """How the account's run ended (after `join`)."""
        not_safe = tuple(
            device
            for daemon in self.daemons
            for device, controller in daemon.controllers.items()
            if controller.commanded.pv_mode is not daemon.safe_mode
        )
        fatal = self.fatal
        if fatal is None and self.error is not None:
            fatal = f"account {self.account}: {type(self.error).__name__}: {self.error}"
        safe = sum(1 for c in self.commands if c.ok)
        total, count, worst = self.late_s
        mean = total / count if count else 0.0
        return AccountOutcome(self.account, fatal, safe, not_safe, round(mean, 1), round(worst, 1))


class FleetBackground:
    """The fleet's background jobs, each run whenever due on a small pool of threads
    (see the module doc).

    One scheduling thread hands every due job to `workers` refresh threads, so a
    provider hanging until its HTTP timeout holds one of them and the other feeds
    keep their times. A job is never run twice at once: while it runs it is not
    handed out again, however long ago it fell due. A job that raises is logged in one
    line per outage (`BackgroundJobs.run`). Every thread is a daemon thread and touches
    no store: `stop` does not wait for a fetch in flight, nor does the process's exit
    (why not `concurrent.futures.ThreadPoolExecutor`: its threads are joined at exit,
    which a hanging fetch would hold up until its timeout).
    """

    def __init__(
        self, jobs: Sequence[BackgroundJob], clock: SpeedClock, *, workers: int = REFRESH_WORKERS
    ) -> None:
        if workers < 1:
            raise ValueError(f"background workers must be >= 1, got {workers!r}")
        self.clock = clock
        self.jobs = BackgroundJobs(jobs, clock.now())
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._ran_until: datetime | None = None
        self._running: set[str] = set()
        self._queue: queue.SimpleQueue[tuple[str, datetime] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name="fleet-refresh", daemon=True)
        self._pool = tuple(
            threading.Thread(target=self._work, name=f"fleet-refresh-{i + 1}", daemon=True)
            for i in range(min(workers, len(self.jobs.jobs)))
        )

    def start(self) -> None:
        """Start the threads (nothing to do without jobs)."""
        if self.jobs.jobs:
            for thread in (*self._pool, self._thread):
                thread.start()

    def stop(self) -> None:
        """Tell the threads to stop after the jobs in flight (without waiting for them)."""
        self._stop.set()
        self._wake.set()
        for _ in self._pool:
            self._queue.put(None)

    def wake(self) -> None:
        """Look at the clock now (after a test moved it)."""
        self._wake.set()

    def settle(
        self, until: datetime, timeout_s: float = 60.0, *, hanging: Collection[str] = ()
    ) -> bool:
        """Wait until every job due by `until` (clock time) has run, but the `hanging`
        ones (names: not waited for); False when `timeout_s` (wall) passed first. For tests."""
        with self._idle:
            return self._idle.wait_for(lambda: self._settled(until, hanging), timeout_s)

    def _settled(self, until: datetime, hanging: Collection[str]) -> bool:
        if not self.jobs.jobs:
            return True
        if self._ran_until is None or self._ran_until < until:
            return False
        due = self.jobs.due
        return all(
            name in hanging or (name not in self._running and due[name] > until) for name in due
        )

    def _main(self) -> None:
        while not self._stop.is_set():
            now = self.clock.now()
            with self._idle:
                ready = [
                    name
                    for name, due in sorted(self.jobs.due.items())
                    if due <= now and name not in self._running
                ]
                self._running.update(ready)
                self._ran_until = now
                self._idle.notify_all()
            for name in ready:
                self._queue.put((name, now))
            self._sleep()

    def _sleep(self) -> None:
        """Until the next job not running is due, or a job finishes, or a wake."""
        with self._idle:
            due = [t for name, t in self.jobs.due.items() if name not in self._running]
        delay_s = MAX_WAIT_S
        if due:
            delay_s = (min(due) - self.clock.now()).total_seconds() / self.clock.speed
        if delay_s > 0:
            self._wake.wait(min(max(delay_s, MIN_WAIT_S), MAX_WAIT_S))
            self._wake.clear()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None and not self._stop.is_set():
            name, now = item
            try:
                self.jobs.run(name, now)
            finally:
                with self._idle:
                    self._running.discard(name)
                    self._idle.notify_all()
                self._wake.set()


class FleetRunner:
    """Every account's worker over one clock, and the fleet's background jobs
    (`background`, on a `FleetBackground`): start, serve until told, stop cleanly."""

    def __init__(
        self,
        accounts: Sequence[AccountJobs],
        clock: SpeedClock,
        *,
        stop_event: threading.Event | None = None,
        background: Sequence[BackgroundJob] = (),
    ) -> None:
        if not clock.speed > 0:
            raise ValueError(f"clock speed must be > 0, got {clock.speed!r}")
        self.clock = clock
        self.stop_event = stop_event or threading.Event()
        self._stop_workers = threading.Event()
        self.workers = tuple(
            AccountWorker(a.name, tuple(a.daemons), clock, self._stop_workers, a.flush)
            for a in accounts
        )
        self.background = FleetBackground(background, clock)

    def start(self) -> None:
        """Start the background jobs' thread and every account's worker."""
        self.background.start()
        for worker in self.workers:
            worker.start()

    def wake(self) -> None:
        """Every worker looks at the clock now (after a test moved it), the background too."""
        self.background.wake()
        for worker in self.workers:
            worker.wake()

    def settle(self, until: datetime, timeout_s: float = 60.0) -> bool:
        """Wait until every worker ran what was due by `until` (see `AccountWorker.settle`)."""
        return all(w.settle(until, timeout_s) for w in self.workers)

    def wait(
        self,
        *,
        until: datetime | None = None,
        tick: Callable[[], None] | None = None,
        poll_s: float = 0.2,
    ) -> None:
        """Block the calling thread until the stop event, `until` (clock) or every
        account has stopped (all refused); `tick` runs every `poll_s` wall seconds."""
        while not self.stop_event.wait(poll_s):
            if tick is not None:
                tick()
            if until is not None and self.clock.now() >= until:
                return
            if all(w.next_wakeup() is None for w in self.workers):
                return

    def request_stop(self) -> None:
        """Tell every worker to stop after its round (without waiting for it)."""
        self.background.stop()
        self._stop_workers.set()
        self.wake()

    def stop(self, timeout_s: float | None = None) -> list[AccountOutcome]:
        """Stop every worker (each leaves its chargers safe and commits); the outcomes."""
        self.request_stop()
        for worker in self.workers:
            worker.join(timeout_s)
        return [worker.outcome() for worker in self.workers]


__all__ = ["AccountJobs", "AccountOutcome", "AccountWorker", "FleetBackground", "FleetRunner"]

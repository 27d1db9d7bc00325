"""Run a `Daemon`'s jobs at wall-clock times with APScheduler 3 (BackgroundScheduler).

Each job (a charger's cycle, the daily roll and reconciles) is one APScheduler
date job at the wall time its due time maps to: `wall = now_wall + (due -
clock.now()) / speed`, so a `ScaledClock` running 1440x faster than real time
(the demo) and the `WallClock` (live) are driven the same way. After a job
runs it is added again at its next due time. One worker thread runs the jobs,
so they never overlap (the store is single-threaded); the main thread only
waits, shows status and handles signals.

Misfires are never dropped (`misfire_grace_time=None`): a late cycle still
runs, reading the clock when it does. A wake-up is at least `min_wall_s`
away, on top of the daemon's own lower bound in simulated time. A job that
wakes before the clock shows its due time (a `FileClock` its driver held while
a process started) waits again instead of running early.

The daemon's background jobs (price and weather refreshes, which may block on a
provider for its whole timeout) each run in a thread of their own, never in the
worker: a hanging fetch delays no cycle, and `stop` does not wait for it (the
threads are daemon threads and touch no store).

A request from another thread (`optimizer.status.SiteControl`) wakes the
runner: a control job applies it in the worker thread at once, and every job
whose due time the daemon moved earlier is rescheduled to it (the charger's
next cycle runs now, not at its planned time). Each key has one live
APScheduler job: a rescheduled key's older job, already handed to the worker,
finds itself superseded and does nothing.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from optimizer.daemon.core import Daemon, DaemonStopped
from optimizer.interfaces import ChargerAuthError

log = logging.getLogger(__name__)

CONTROL_JOB = "control"
"""Name of the job that applies the requests other threads queued."""
NOT_YET_WALL_S = 0.02
"""Least wall time before a job that woke before its clock time looks again: a held
clock (`FileClock`) stands still, and a job must not spin on it."""


class SpeedClock(Protocol):
    """A clock that knows how fast it runs (`WallClock`, `ScaledClock`)."""

    def now(self) -> datetime: ...

    @property
    def speed(self) -> float: ...


class SchedulerRunner:
    """APScheduler on top of `Daemon`: start, wait until told to stop, stop cleanly.

    `stop_event` is set when the daemon must stop by itself: after a 401
    (`daemon.fatal`) or an unexpected error (`error`). Signal handlers set it too.
    """

    def __init__(
        self,
        daemon: Daemon,
        clock: SpeedClock,
        *,
        min_wall_s: float = 0.001,
        stop_event: threading.Event | None = None,
    ) -> None:
        if not clock.speed > 0:
            raise ValueError(f"clock speed must be > 0, got {clock.speed!r}")
        self.daemon = daemon
        self.clock = clock
        self.min_wall_s = min_wall_s
        self.stop_event = stop_event or threading.Event()
        self.error: BaseException | None = None
        self._ids = itertools.count()
        # Guards "stopping" against a job re-adding itself: APScheduler's shutdown
        # holds its job-store lock while it waits for the running job, and that
        # job's add_job needs the same lock, so a job must never add itself once
        # shutdown has begun (a deadlock seen on a loaded CI machine).
        self._reschedule_lock = threading.Lock()
        self._stopping = False
        self._live: dict[str, tuple[int, datetime]] = {}
        """Per key, the one live APScheduler job's number and the due time it is for."""
        self._remove_waker = daemon.control.add_waker(self.wake)
        self._background_stop = threading.Event()
        self._background = [
            threading.Thread(
                target=self._run_background, args=(name,), name=f"refresh-{name}", daemon=True
            )
            for name in daemon.background_jobs
        ]
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
            timezone=UTC,
        )

    def wall_time(self, due: datetime) -> datetime:
        """The wall-clock time at which the clock will show `due` (never in the past)."""
        return datetime.now(UTC) + timedelta(seconds=self._wall_delay_s(due))

    def start(self) -> None:
        """Schedule every job of the daemon and start the background scheduler."""
        for key, due in self.daemon.jobs.items():
            self._schedule(key, due)
        self._scheduler.start()
        for thread in self._background:
            thread.start()

    def wait(
        self,
        *,
        until: datetime | None = None,
        tick: Callable[[], None] | None = None,
        poll_s: float = 0.1,
    ) -> None:
        """Block the calling (main) thread until the stop event, or the clock reaches `until`.

        `tick` runs every `poll_s` wall seconds (the live status line).
        """
        while not self.stop_event.wait(poll_s):
            if tick is not None:
                tick()
            if until is not None and self.clock.now() >= until:
                break

    def stop(self) -> None:
        """Stop scheduling and wait for the job in flight to finish (idempotent)."""
        self._remove_waker()
        self._background_stop.set()
        with self._reschedule_lock:
            self._stopping = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def wake(self) -> None:
        """Apply the queued requests in the worker thread now (any thread may call it)."""
        with self._reschedule_lock:
            if self._stopping or self.stop_event.is_set() or not self._scheduler.running:
                return
            self._scheduler.add_job(
                self._control,
                trigger=DateTrigger(run_date=datetime.now(UTC)),
                id=f"{CONTROL_JOB}#{next(self._ids)}",
                name=CONTROL_JOB,
            )

    def _run_background(self, name: str) -> None:
        """Run background job `name` whenever due until `stop` (its own thread)."""
        due = self.daemon.background_jobs[name]
        delay_s = self._wall_delay_s(due)
        while not self._background_stop.wait(delay_s):
            if self.stop_event.is_set():
                return
            if self._not_yet(due):
                delay_s = max(self._wall_delay_s(due), NOT_YET_WALL_S)
            else:
                due = self.daemon.run_background(name)
                delay_s = self._wall_delay_s(due)

    def _not_yet(self, due: datetime) -> bool:
        """The clock is short of `due` by more than `min_wall_s` of its time: it was held
        (a `FileClock` while a process starts). Within that margin the job runs: the
        wall clock APScheduler waits on and the monotonic one a `ScaledClock` reads
        may drift apart by that much."""
        margin = timedelta(seconds=self.min_wall_s * self.clock.speed)
        return self.clock.now() < due - margin

    def _wall_delay_s(self, due: datetime) -> float:
        """Wall seconds until the clock shows `due` (at least `min_wall_s`)."""
        return max((due - self.clock.now()).total_seconds() / self.clock.speed, self.min_wall_s)

    def _schedule(self, key: str, due: datetime, floor_s: float = 0.0) -> None:
        number = next(self._ids)
        self._live[key] = (number, due)
        wall = datetime.now(UTC) + timedelta(seconds=max(self._wall_delay_s(due), floor_s))
        self._scheduler.add_job(
            self._run,
            trigger=DateTrigger(run_date=wall),
            args=[key, number],
            id=f"{key}#{number}",
            name=key,
        )

    def _control(self) -> None:
        if self.stop_event.is_set():
            return
        self.daemon.apply_control()
        self._follow_daemon()

    def _follow_daemon(self) -> None:
        """Reschedule every job the daemon now wants earlier than it is scheduled."""
        with self._reschedule_lock:
            if self._stopping or self.stop_event.is_set():
                return
            for key, due in self.daemon.jobs.items():
                live = self._live.get(key)
                if live is not None and due < live[1]:
                    self._schedule(key, due)

    def _run(self, key: str, number: int) -> None:
        live, due = self._live[key]
        if self.stop_event.is_set() or live != number:
            return  # stopping, or superseded by a reschedule
        if self._not_yet(due):
            with self._reschedule_lock:
                if not self._stopping and not self.stop_event.is_set():
                    self._schedule(key, due, floor_s=NOT_YET_WALL_S)
            return
        try:
            nxt = self.daemon.run_job(key)
        except DaemonStopped:
            return
        except ChargerAuthError as exc:
            log.error("stopping: the cloud refused the API key: %s", exc)
            self.stop_event.set()
            return
        except Exception as exc:
            log.exception("stopping: job %s failed", key)
            self.error = exc
            self.stop_event.set()
            return
        with self._reschedule_lock:
            if not self._stopping and not self.stop_event.is_set():
                self._schedule(key, nxt)
        self._follow_daemon()

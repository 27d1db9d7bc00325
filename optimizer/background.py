"""Background jobs: fetching what the control cycles read, beside them, never inside one.

A price provider or a weather service may take seconds to answer, or hang until its
timeout. A `BackgroundJob` does that work (`PriceFeed.refresh`, `WeatherFeed.refresh`)
and fills what the cycles read from memory; the daemon runs it on its own thread,
outside the lock its cycles hold (`optimizer.daemon.core.Daemon.run_background`), so
a slow provider never delays a decision. `run(now)` returns when it is due next (clock
time): a price feed at the next publication, a weather feed when its forecast ages.

`BackgroundJobs` keeps when each job is due and runs one with the failure handling
every runner shares: one daemon's jobs (`Daemon`) and a fleet's (`FleetBackground`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

log = logging.getLogger(__name__)

BACKGROUND_RETRY = timedelta(minutes=15)
"""How soon a background job that raised runs again."""


@dataclass(frozen=True, slots=True)
class BackgroundJob:
    """One refresh the daemon runs beside the cycles: `run(now)` -> when it is due next (UTC).

    `run` may block on the network; it should log its own failures (once per outage)
    and keep what it had: the daemon logs anything it raises in one line and tries
    again later.
    """

    name: str
    run: Callable[[datetime], datetime]


class BackgroundJobs:
    """Named jobs and when each is due next (clock time), every one due at once at `now`.

    `run(name, now)` runs one: whatever it raises is logged in one line (then quietly
    until it runs through) and it runs again after `BACKGROUND_RETRY`; what it filled
    before stays in use. Its next due time is at least `min_interval` away (no spinning).
    Jobs of different names may run on different threads at the same time.
    """

    def __init__(
        self,
        jobs: Sequence[BackgroundJob],
        now: datetime,
        *,
        min_interval: timedelta = timedelta(seconds=1),
    ) -> None:
        self.jobs = {job.name: job for job in jobs}
        if len(self.jobs) != len(jobs):
            raise ValueError(f"background job names must be unique: {[j.name for j in jobs]}")
        self.min_interval = min_interval
        self._due = dict.fromkeys(self.jobs, now)
        self._failing: set[str] = set()

    @property
    def due(self) -> dict[str, datetime]:
        """Every job's name and the clock time it is due next (a copy)."""
        return dict(self._due)

    def run(self, name: str, now: datetime) -> datetime:
        """Run job `name` now (it may block on the network); when it is due next."""
        try:
            nxt = self.jobs[name].run(now)
        except Exception as exc:  # a refresh never stops the control
            if name not in self._failing:
                log.warning("%s refresh failed: %s: %s", name, type(exc).__name__, exc)
            self._failing.add(name)
            nxt = now + BACKGROUND_RETRY
        else:
            self._failing.discard(name)
        nxt = max(nxt, now + self.min_interval)
        self._due[name] = nxt
        return nxt

    def run_due(self, now: datetime) -> None:
        """Run every job due at `now`, in name order."""
        for name, due in sorted(self._due.items()):
            if due <= now:
                self.run(name, now)


__all__ = ["BACKGROUND_RETRY", "BackgroundJob", "BackgroundJobs"]

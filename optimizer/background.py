"""Background jobs: fetching what the control cycles read, beside them, never inside one.

A price provider or a weather service may take seconds to answer, or hang until its
timeout. A `BackgroundJob` does that work (`PriceFeed.refresh`, `WeatherFeed.refresh`)
and fills what the cycles read from memory; the daemon runs it on its own thread,
outside the lock its cycles hold (`optimizer.daemon.core.Daemon.run_background`), so
a slow provider never delays a decision. `run(now)` returns when it is due next (clock
time): a price feed at the next publication, a weather feed when its forecast ages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class BackgroundJob:
    """One refresh the daemon runs beside the cycles: `run(now)` -> when it is due next (UTC).

    `run` may block on the network; it should log its own failures (once per outage)
    and keep what it had: the daemon logs anything it raises in one line and tries
    again later.
    """

    name: str
    run: Callable[[datetime], datetime]

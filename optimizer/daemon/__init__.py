"""The control daemon: scheduling and wiring around the controllers, never control logic.

- `Daemon` (core): the jobs (each charger's cycle, the daily budget roll and
  session reconcile) and when each is due; `run_cycles` drives them without
  wall-clock waits (tests, simulated days);
- `SchedulerRunner` (runner): the same jobs under APScheduler at wall times;
- `build_daemon` (wiring): the daemon over a site the composition root wired;
- `cloud_daemon` (cloud, imported on its own: it needs the V2C client): the
  wiring of `run` and `demo`; `serve` (serve): running it until a signal.

Names are imported on first access (`optimizer.lazy_exports`), so importing one
submodule does not load the forecaster's pvlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from optimizer.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from optimizer.daemon.core import (
        RECONCILE_BACKLOG_DAYS,
        RECONCILE_PREFIX,
        ROLL_JOB,
        Daemon,
        DaemonStats,
        DaemonStopped,
        DaySpend,
        Reconciler,
    )
    from optimizer.daemon.reconcile import missing_sessions
    from optimizer.daemon.runner import SchedulerRunner, SpeedClock
    from optimizer.daemon.wiring import build_daemon

__getattr__ = lazy_exports(__name__, __file__)

__all__ = [
    "RECONCILE_BACKLOG_DAYS",
    "RECONCILE_PREFIX",
    "ROLL_JOB",
    "Daemon",
    "DaemonStats",
    "DaemonStopped",
    "DaySpend",
    "Reconciler",
    "SchedulerRunner",
    "SpeedClock",
    "build_daemon",
    "missing_sessions",
]

"""Serving the daemon until a signal, a deadline or a fatal error, and how that ended.

`v2c-solar run` and `demo` both serve their daemon under the APScheduler
runner here: SIGINT/SIGTERM let the cycle in flight finish, then every charger
is put in the safe mode and the store committed. `RunOutcome` says which
chargers did not acknowledge the safe mode (a supervisor must learn of them).

SIGHUP (a supervisor's "reload") is refused with one log line and the daemon
goes on: the config is read once, at start. Python's default for SIGHUP would
kill the process without the shutdown above, leaving the chargers on the
daemon's last setting.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import FrameType

from optimizer.daemon.core import Daemon
from optimizer.daemon.runner import SchedulerRunner

log = logging.getLogger(__name__)

RELOAD_REFUSED = "SIGHUP: reload not supported, restart the daemon"
"""The one line logged for each SIGHUP."""


@contextmanager
def stop_on_signals(stop: threading.Event, hangup: threading.Event | None = None) -> Iterator[None]:
    """SIGINT and SIGTERM set `stop` (the main thread then shuts down cleanly);
    SIGHUP sets `hangup` (ignored without one), the main thread reports it."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            if hangup is not None:
                hangup.set()
            return
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    old = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@dataclass(slots=True)
class RunOutcome:
    """How a daemon run ended."""

    started: datetime
    ended: datetime
    fatal: str | None = None
    safe_commands: int = 0
    not_safe: tuple[str, ...] = ()
    """Chargers whose safe mode was not acknowledged (failed, deferred or skipped writes)."""
    safe_mode: str = "EXCLUSIVE_PV"
    shutdown_error: str | None = None
    """The first failed shutdown write's error, if any (for the message)."""

    def safe_state_problem(self) -> str | None:
        """One line naming the chargers not left in the safe mode, or None when all are."""
        if not self.not_safe:
            return None
        why = f" ({self.shutdown_error})" if self.shutdown_error else ""
        return (
            f"could not put charger(s) {', '.join(self.not_safe)} in their own "
            f"{self.safe_mode} mode on shutdown{why}; they keep their last setting"
        )


def serve(
    daemon: Daemon,
    runner: SchedulerRunner,
    *,
    until: datetime | None = None,
    tick: Callable[[], None] | None = None,
    key_env: str = "V2C_API_KEY",
) -> RunOutcome:
    """Run under APScheduler until a signal, `until` (clock time) or a fatal error.

    Then: stop scheduling (the cycle in flight finishes), leave the chargers in
    the safe mode (unless the cloud refused our key), commit the store. A charger
    counts as left in the safe mode only when the daemon's commanded state says
    so afterwards: an acknowledged write, or a reading that already showed it.
    `tick` runs on the main thread while waiting (the status line); `key_env`
    is the variable the message of a refused key points at. A SIGHUP is
    refused with one log line (`RELOAD_REFUSED`) and serving goes on.
    """
    started = daemon.clock.now()
    hangup = threading.Event()

    def tick_and_refuse_reload() -> None:
        if hangup.is_set():  # logged here, not in the handler: logging is not reentrant
            hangup.clear()
            log.warning(RELOAD_REFUSED)
        if tick is not None:
            tick()

    with stop_on_signals(runner.stop_event, hangup):
        runner.start()
        try:
            runner.wait(until=until, tick=tick_and_refuse_reload)
        finally:
            runner.stop()
            commands = daemon.shutdown()
    fatal = None
    if daemon.fatal is not None:
        fatal = f"the V2C Cloud refused the API key (401): {daemon.fatal}; check {key_env}"
    elif runner.error is not None:
        fatal = f"daemon stopped: {type(runner.error).__name__}: {runner.error}"
    not_safe = tuple(
        device
        for device, controller in daemon.controllers.items()
        if controller.commanded.pv_mode is not daemon.safe_mode
    )
    failed = next((c.error for c in commands if not c.ok and c.error), None)
    return RunOutcome(
        started,
        daemon.clock.now(),
        fatal,
        sum(1 for c in commands if c.ok),
        not_safe=not_safe,
        safe_mode=daemon.safe_mode.name,
        shutdown_error=failed,
    )


__all__ = ["RELOAD_REFUSED", "RunOutcome", "serve", "stop_on_signals"]

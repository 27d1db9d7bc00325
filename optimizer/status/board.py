"""The status board: one place polls, everyone reads (Home Assistant's update coordinator).

The daemon's worker thread publishes a `SiteStatus` after every cycle, roll and
applied command; the web server and the MQTT bridge, in their own threads, read
the latest one (`current`), wait for the next (`wait_for_change`, for server-sent
events and long polls) or subscribe to every publish. Nobody but the daemon
thread touches the controllers, so nobody else needs their locks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from optimizer.status.callbacks import Callbacks
from optimizer.status.snapshot import SiteStatus

log = logging.getLogger(__name__)

Listener = Callable[[SiteStatus], None]
"""Called with each published status, in the daemon thread: it must not block
(the MQTT bridge hands off to its asyncio loop with `loop.call_soon_threadsafe`)."""


class StatusBoard:
    """The latest `SiteStatus`, thread-safe; `version` counts the publishes.

    `current()` never waits for the daemon: it returns the last published
    snapshot, before the first publish `initial` (default: an empty site).
    """

    def __init__(self, initial: SiteStatus | None = None) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._status = replace(initial or SiteStatus.empty(), version=0)
        self._listeners: Callbacks[Listener] = Callbacks()

    @property
    def version(self) -> int:
        """How many statuses were published (0 before the first)."""
        return self._status.version

    def current(self) -> SiteStatus:
        """The last published status (frozen: safe to keep and read in any thread)."""
        return self._status

    def publish(self, status: SiteStatus) -> None:
        """Make `status` the current one, wake the waiters, call the listeners.

        Called by the daemon thread only. A listener that raises is logged and
        never stops the daemon.
        """
        with self._changed:
            published = replace(status, version=self._status.version + 1)
            self._status = published
            self._changed.notify_all()
        for listener in self._listeners.snapshot():
            try:
                listener(published)
            except Exception:
                log.exception("status listener %r failed", listener)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` with every published status from now on; returns the unsubscribe.

        Unsubscribing twice is harmless.
        """
        return self._listeners.add(listener)

    def wait_for_change(self, version: int, timeout_s: float) -> SiteStatus:
        """The first status published after `version`, or the current one after `timeout_s`.

        Returns at once when the board is already past `version`.
        """
        with self._changed:
            self._changed.wait_for(lambda: self._status.version > version, timeout=timeout_s)
            return self._status


__all__ = ["Listener", "StatusBoard"]

"""Session targets between the daemon and the store: kept, polled, ended.

A target stated from home (web, MQTT) is applied by the daemon's thread and kept in the
store (`optimizer.status.target.save_target`); one written by another process
(`v2c-solar target`, into the same database) is found by polling: every `poll_s` of
clock time the daemon reads one settings row per charger (a primary-key lookup, tens of
microseconds on SQLite; nothing else is read and nothing is published unless a row
changed), so a target from the command line takes effect within a minute at home
without a restart, and the first poll after a start applies the target a restart
interrupted. A target ends with its session (`SessionTracker` drops it when the car
leaves or its departure passes): the daemon then notes it as ended (its own settings
row, so it never overwrites a target another process has just written), and a restart
does not apply it again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from optimizer.controller import Controller
from optimizer.interfaces import Store
from optimizer.status.target import (
    TARGET_KEY,
    SessionTarget,
    ended,
    mark_ended,
    save_target,
)

log = logging.getLogger(__name__)

TARGET_POLL_S = 60.0
"""How often (clock s) `run` and `demo` look for targets written by another process."""


class TargetSync:
    """What each charger's target row held when last seen, and the target applied."""

    def __init__(self, store: Store, devices: Iterable[str]) -> None:
        self.store = store
        self._seen: dict[str, str | None] = dict.fromkeys(devices)
        self._applied: dict[str, SessionTarget | None] = dict.fromkeys(self._seen)

    def saved(self, target: SessionTarget) -> None:
        """Keep `target`, applied by the daemon (from the web or MQTT), in the store."""
        save_target(self.store, target)
        self._seen[target.device_id] = target.to_setting()
        self._applied[target.device_id] = None if target.cleared else target

    def poll(self, now: datetime) -> list[SessionTarget]:
        """The targets (or clearings) written since the last poll that still apply at
        `now`: not ended with a session, departure not passed. A row that is no target
        is logged and skipped."""
        found = []
        for device, seen in self._seen.items():
            text = self.store.setting(TARGET_KEY.format(device_id=device))
            if text is None or text == seen:
                continue
            self._seen[device] = text
            try:
                target = SessionTarget.from_setting(device, text)
            except ValueError as exc:
                log.warning("%s; ignored", exc)
                continue
            if target.cleared or (not ended(self.store, target) and _ahead(target, now)):
                found.append(target)
                self._applied[device] = None if target.cleared else target
        return found

    def after_cycle(self, controller: Controller) -> None:
        """Note the charger's target as ended when its session dropped it."""
        applied = self._applied.get(controller.device_id)
        if applied is not None and controller.sessions.target_wh is None:
            mark_ended(self.store, applied)
            self._applied[controller.device_id] = None


def _ahead(target: SessionTarget, now: datetime) -> bool:
    return target.departure is not None and target.departure > now


__all__ = ["TARGET_POLL_S", "TargetSync"]

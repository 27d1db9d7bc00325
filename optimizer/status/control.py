"""Steering the site from other threads: validated at once, applied by the daemon's thread.

The web server and the MQTT bridge call `SiteControl` from their own threads.
Each request is checked there (a bad one raises `ControlError`, one line naming
the field) and queued; the daemon's worker thread takes the queue before it runs
its next job (`Daemon.apply_control`), applies it to the controllers and runs the
touched chargers' cycles at once. So only the daemon thread ever touches a
controller, and a command from a phone takes effect within one job, not at the
next planned cycle.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from optimizer.status.callbacks import Callbacks
from optimizer.status.refusal import STOPPED_FIELD, ControlError
from optimizer.status.target import (
    MAX_DEPARTURE_AHEAD,
    MAX_TARGET_WH,
    check_device,
    check_target,
)


@dataclass(frozen=True, slots=True)
class SetPolicy:
    """Switch every charger to the policy `name` (a fresh instance each)."""

    name: str


@dataclass(frozen=True, slots=True)
class SetTarget:
    """The open (or next) session of `device_id` wants `energy_wh` (Wh) by `departure`
    (UTC); both None clears the target (the policy's default applies again)."""

    device_id: str
    energy_wh: float | None
    departure: datetime | None


ControlRequest = SetPolicy | SetTarget
"""One queued request; the daemon thread applies them in order."""


class SiteControl:
    """The only way other threads change the running site.

    `devices` are the site's charger ids, `policies` the names a user may choose;
    `now` (the daemon's clock) lets a departure in the past be refused. Requests
    are queued in order; each queued request calls the wakers (the APScheduler
    runner's `wake`: run a job in the daemon thread now), in the caller's thread.
    """

    def __init__(
        self,
        devices: Sequence[str],
        policies: Sequence[str],
        *,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.devices = tuple(devices)
        self.policies = tuple(policies)
        self._now = now
        self._lock = threading.Lock()
        self._pending: deque[ControlRequest] = deque()
        self._wakers: Callbacks[Callable[[], None]] = Callbacks()
        self._closed: str | None = None

    # ----- the callers' side (any thread) -----------------------------------------------

    def set_policy(self, name: str) -> None:
        """Switch the site to policy `name`; raises `ControlError` naming `policy`."""
        if name not in self.policies:
            raise ControlError(
                "policy", f"unknown name {name!r} (one of {', '.join(self.policies)})"
            )
        self._queue(SetPolicy(name))

    def set_target(self, device_id: str, energy_wh: float, departure: datetime) -> None:
        """`energy_wh` (Wh) into the car at `device_id` by `departure` (tz-aware), checked
        by `optimizer.status.target.check_target` (the rules `v2c-solar target` keeps);
        the daemon keeps it in the store when it applies it.

        Raises `ControlError` naming `device_id`, `energy_wh` or `departure`.
        """
        now = None if self._now is None else self._now()
        target = check_target(device_id, energy_wh, departure, devices=self.devices, now=now)
        self._queue(SetTarget(device_id, target.energy_wh, departure))

    def clear_target(self, device_id: str) -> None:
        """Forget the target set for `device_id`'s session; raises `ControlError` naming it."""
        self._check_device(device_id)
        self._queue(SetTarget(device_id, None, None))

    def add_waker(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call `wake` after each queued request; returns the function that removes it."""
        return self._wakers.add(wake)

    # ----- the daemon's side ----------------------------------------------------------

    def close(self, reason: str) -> None:
        """Refuse every later request with `reason` (the daemon stopped: a request queued
        now would be accepted and never applied)."""
        with self._lock:
            self._closed = reason

    def take(self) -> list[ControlRequest]:
        """Every queued request, oldest first, and an empty queue (daemon thread)."""
        with self._lock:
            if not self._pending:
                return []
            requests = list(self._pending)
            self._pending.clear()
        return requests

    @property
    def pending(self) -> int:
        """Requests queued and not yet taken."""
        return len(self._pending)

    def _check_device(self, device_id: str) -> None:
        check_device(device_id, self.devices)

    def _queue(self, request: ControlRequest) -> None:
        with self._lock:
            if self._closed is not None:
                raise ControlError(STOPPED_FIELD, f"the daemon has stopped ({self._closed})")
            self._pending.append(request)
        for wake in self._wakers.snapshot():
            wake()


__all__ = [
    "MAX_DEPARTURE_AHEAD",
    "MAX_TARGET_WH",
    "STOPPED_FIELD",
    "ControlError",
    "ControlRequest",
    "SetPolicy",
    "SetTarget",
    "SiteControl",
]

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

import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from optimizer.status.callbacks import Callbacks

MAX_TARGET_WH = 200_000.0
"""Largest session target accepted (Wh): more than any car's battery."""

MAX_DEPARTURE_AHEAD = timedelta(days=7)
"""Farthest departure accepted: a per-session target ends with the session anyway."""


class ControlError(ValueError):
    """A refused request: `field` is what was wrong, `str()` one line naming it.

    `field == "device_id"` means a charger the site does not have (HTTP 404).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


STOPPED_FIELD = "daemon"
"""`ControlError.field` of a request refused because the daemon has stopped (HTTP 503)."""


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
        """`energy_wh` (Wh) into the car at `device_id` by `departure` (tz-aware).

        Raises `ControlError` naming `device_id`, `energy_wh` or `departure`.
        """
        self._check_device(device_id)
        if not math.isfinite(energy_wh) or not 0.0 < energy_wh <= MAX_TARGET_WH:
            raise ControlError(
                "energy_wh", f"must be > 0 and <= {MAX_TARGET_WH:g} Wh (got {energy_wh!r})"
            )
        if departure.tzinfo is None or departure.utcoffset() is None:
            raise ControlError("departure", f"needs a time zone (got {departure.isoformat()})")
        if self._now is not None:
            now = self._now()
            if departure <= now:
                raise ControlError(
                    "departure", f"must be in the future (got {departure.isoformat()})"
                )
            if departure - now > MAX_DEPARTURE_AHEAD:
                raise ControlError(
                    "departure",
                    f"must be within {MAX_DEPARTURE_AHEAD.days} days (got {departure.isoformat()})",
                )
        self._queue(SetTarget(device_id, float(energy_wh), departure))

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
        if device_id not in self.devices:
            raise ControlError(
                "device_id", f"unknown charger {device_id!r} (one of {', '.join(self.devices)})"
            )

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

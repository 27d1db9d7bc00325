"""Home Assistant's commands, applied through `SiteControl`.

- `<prefix>/site/policy/set`, payload a policy name: `SiteControl.set_policy`.
- `<prefix>/<device_id>/target_kwh/set`, payload kWh: the session's energy target;
  `0` clears the target.
- `<prefix>/<device_id>/departure/set`, payload `HH:MM` (the next such time in the
  site's zone, counted from the daemon's clock, simulated in the demo) or an ISO
  date and time (without a zone: the site's); empty clears the target.

A target needs both halves. Home Assistant sends them one at a time, so the half
that comes first is kept until the other one comes, unless the charger already
has a target whose other half is reused. `SiteControl` validates in this thread
and queues the change for the daemon's; the daemon then publishes a status and
the bridge the new state, which is Home Assistant's acknowledgement (its entities
are not optimistic). A bad payload raises `CommandError` (one line naming the
field); the bridge publishes it to `<prefix>/site/error` and goes on.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from adapters.mqtt.topics import Command, Topics
from optimizer.status.refusal import ControlError
from optimizer.status.target import parse_departure as shared_parse_departure

if TYPE_CHECKING:
    from optimizer.status.control import SiteControl
    from optimizer.status.snapshot import ChargerStatus, SiteStatus

log = logging.getLogger(__name__)


class CommandError(ValueError):
    """A command that cannot be applied; the message is one line naming the field."""


@dataclass(slots=True)
class _PendingTarget:
    """The half of a target that came first."""

    energy_wh: float | None = None
    departure: datetime | None = None


def parse_target_kwh(text: str) -> float:
    """The target's energy in Wh from a payload in kWh (>= 0, finite)."""
    try:
        kwh = float(text)
    except ValueError:
        raise CommandError(f"target_kwh: not a number of kWh: {text[:40]!r}") from None
    if not math.isfinite(kwh) or kwh < 0:
        raise CommandError(f"target_kwh: must be a finite number >= 0 (got {text[:40]!r})")
    return kwh * 1000.0


def parse_departure(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """A departure payload as a UTC datetime, as every front end reads one
    (`optimizer.status.target.parse_departure`: `HH:MM` is the next such local time)."""
    try:
        return shared_parse_departure(text, now, tz).at
    except ControlError as exc:
        raise CommandError(str(exc)) from None


class CommandHandler:
    """Turns command messages into `SiteControl` calls."""

    def __init__(
        self,
        control: SiteControl,
        topics: Topics,
        tz: ZoneInfo,
        current: Callable[[], SiteStatus],
    ) -> None:
        self.control = control
        self.topics = topics
        self.tz = tz
        self.current = current
        self._pending: dict[str, _PendingTarget] = {}

    def handle(self, topic: str, payload: bytes) -> None:
        """Apply one message; `CommandError` (or `SiteControl`'s `ControlError`) when refused."""
        parsed = self.topics.parse_command(topic)
        if parsed is None:
            return
        try:
            text = payload.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise CommandError(f"{parsed.command.value}: payload is not UTF-8 text") from None
        if parsed.command is Command.POLICY:
            self.control.set_policy(text)
            log.info("mqtt: policy %s asked", text)
            return
        charger = self._charger(parsed.scope)
        if parsed.command is Command.TARGET_KWH:
            self._set_energy(charger, parse_target_kwh(text))
        elif text == "":
            self._clear(charger.device_id)
        else:
            status = self.current()
            self._set_departure(charger, parse_departure(text, status.time, self.tz))

    def _charger(self, device_id: str) -> ChargerStatus:
        charger = self.current().charger(device_id)
        if charger is None:
            raise CommandError(f"device_id: no charger {device_id[:40]!r}")
        return charger

    def _clear(self, device_id: str) -> None:
        self._pending.pop(device_id, None)
        self.control.clear_target(device_id)
        log.info("mqtt: target of %s cleared", device_id)

    def _set_energy(self, charger: ChargerStatus, energy_wh: float) -> None:
        if energy_wh == 0:
            self._clear(charger.device_id)
            return
        pending = self._pending.setdefault(charger.device_id, _PendingTarget())
        pending.energy_wh = energy_wh
        self._apply(charger, pending)

    def _set_departure(self, charger: ChargerStatus, departure: datetime) -> None:
        pending = self._pending.setdefault(charger.device_id, _PendingTarget())
        pending.departure = departure
        self._apply(charger, pending)

    def _apply(self, charger: ChargerStatus, pending: _PendingTarget) -> None:
        energy_wh = pending.energy_wh if pending.energy_wh is not None else charger.target_wh
        departure = pending.departure if pending.departure is not None else charger.departure
        if energy_wh is None or departure is None:
            missing = "departure" if departure is None else "target_kwh"
            log.info("mqtt: %s: half a target kept until %s comes", charger.device_id, missing)
            return
        del self._pending[charger.device_id]  # a refused target is not retried
        self.control.set_target(charger.device_id, energy_wh, departure)
        log.info(
            "mqtt: target of %s: %.1f kWh by %s", charger.device_id, energy_wh / 1000, departure
        )


__all__ = ["CommandError", "CommandHandler", "parse_departure", "parse_target_kwh"]

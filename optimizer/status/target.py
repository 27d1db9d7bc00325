"""A session's target ("20 kWh by 07:30"): parsed, checked and kept the same way everywhere.

The web API, the MQTT bridge, `v2c-solar target` and the dashboard state a target in
their own syntax, but every one goes through `parse_departure` (the departure's text in
the site's zone) and `check_target` (the limits), and is kept by `save_target` in the
store's settings (`target/<device_id>`, JSON), where the daemon finds it at its next
poll and after a restart (`optimizer.daemon.targets`). Energies in Wh, times UTC.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from optimizer.interfaces import Store
from optimizer.status.refusal import ControlError

MAX_TARGET_WH = 200_000.0
"""Largest session target accepted (Wh): more than any car's battery."""

MAX_DEPARTURE_AHEAD = timedelta(days=7)
"""Farthest departure accepted: a per-session target ends with the session anyway."""

TARGET_KEY = "target/{device_id}"
"""The setting holding a charger's target (the latest one stated, or its clearing)."""

ENDED_KEY = "target-ended/{device_id}"
"""The setting holding `set_at` of the charger's last target that ended with its session
(written by the daemon only, so it never races a target written by another process)."""

_CLOCK_TIME = re.compile(r"^(?:(today|tomorrow)\s+)?(\d{1,2}):(\d{2})$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Departure:
    """A departure parsed from text: `at` (UTC) and `note`, a sentence when `HH:MM` had
    passed today and so means tomorrow (None otherwise)."""

    at: datetime
    note: str | None = None


@dataclass(frozen=True, slots=True)
class SessionTarget:
    """`energy_wh` (Wh) into the car at `device_id` by `departure` (UTC), stated at
    `set_at` (UTC); both None: the target is cleared (the policy's default applies)."""

    device_id: str
    energy_wh: float | None
    departure: datetime | None
    set_at: datetime

    @property
    def cleared(self) -> bool:
        """No target: the policy's default applies."""
        return self.energy_wh is None

    def to_setting(self) -> str:
        """The JSON kept under `TARGET_KEY`."""
        return json.dumps(
            {
                "energy_wh": self.energy_wh,
                "departure": None if self.departure is None else self.departure.isoformat(),
                "set_at": self.set_at.isoformat(),
            }
        )

    @classmethod
    def from_setting(cls, device_id: str, text: str) -> SessionTarget:
        """The target kept as `text`; `ValueError` (one line) when it is not one."""
        try:
            raw = json.loads(text)
            energy = raw["energy_wh"]
            departure = raw["departure"]
            return cls(
                device_id,
                None if energy is None else float(energy),
                None if departure is None else _utc(datetime.fromisoformat(departure)),
                _utc(datetime.fromisoformat(raw["set_at"])),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"setting {TARGET_KEY.format(device_id=device_id)}: {exc}") from None


def parse_departure(text: object, now: datetime, tz: tzinfo) -> Departure:
    """A departure as people write it, in the site's zone `tz`, counted from `now`.

    `HH:MM` is the next such local time (tomorrow when it has passed today, said in
    `note`); `today HH:MM` and `tomorrow HH:MM` are that day's; an ISO-8601 date and time
    without a zone is local, with one as given. Raises `ControlError` naming `departure`.
    """
    if not isinstance(text, str):
        raise ControlError("departure", "must be HH:MM, 'tomorrow HH:MM' or an ISO date and time")
    value = text.strip()
    match = _CLOCK_TIME.match(value)
    if match is not None:
        return _clock_time(match, value, now, tz)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ControlError(
            "departure",
            f"expected HH:MM, 'tomorrow HH:MM' or an ISO date and time, got {value[:40]!r}",
        ) from None
    return Departure(_utc(parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed))


def _clock_time(match: re.Match[str], value: str, now: datetime, tz: tzinfo) -> Departure:
    day, hour, minute = (match[1] or "").lower(), int(match[2]), int(match[3])
    if hour > 23 or minute > 59:
        raise ControlError("departure", f"no such time of day: {value[:40]!r}")
    local = now.astimezone(tz)
    at = time(hour, minute)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if day == "tomorrow":
        return Departure(_utc(datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)))
    if candidate > local or day == "today":
        return Departure(_utc(candidate))
    tomorrow = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    note = f"{at:%H:%M} has passed today: tomorrow {tomorrow:%a %d %b %H:%M}"
    return Departure(_utc(tomorrow), note)


def check_target(
    device_id: str,
    energy_wh: float,
    departure: datetime,
    *,
    devices: Sequence[str],
    now: datetime | None,
) -> SessionTarget:
    """The target if the site can take it: a charger of `devices`, 0 < energy <=
    `MAX_TARGET_WH`, a zoned departure after `now` and within `MAX_DEPARTURE_AHEAD`
    (`now` None: not checked against a clock). Raises `ControlError` naming
    `device_id`, `energy_wh` or `departure`."""
    check_device(device_id, devices)
    if isinstance(energy_wh, bool) or not isinstance(energy_wh, int | float):
        raise ControlError("energy_wh", f"must be a number of Wh (got {energy_wh!r})")
    if not math.isfinite(energy_wh) or not 0.0 < energy_wh <= MAX_TARGET_WH:
        raise ControlError(
            "energy_wh", f"must be > 0 and <= {MAX_TARGET_WH:g} Wh (got {energy_wh!r})"
        )
    if departure.tzinfo is None or departure.utcoffset() is None:
        raise ControlError("departure", f"needs a time zone (got {departure.isoformat()})")
    if now is not None:
        if departure <= now:
            raise ControlError("departure", f"must be in the future (got {departure.isoformat()})")
        if departure - now > MAX_DEPARTURE_AHEAD:
            raise ControlError(
                "departure",
                f"must be within {MAX_DEPARTURE_AHEAD.days} days (got {departure.isoformat()})",
            )
    set_at = _utc(now) if now is not None else datetime.now(UTC)
    return SessionTarget(device_id, float(energy_wh), _utc(departure), set_at)


def check_device(device_id: str, devices: Sequence[str]) -> None:
    """Raises `ControlError` naming `device_id` unless it is one of `devices`."""
    if device_id not in devices:
        raise ControlError(
            "device_id", f"unknown charger {device_id!r} (one of {', '.join(devices)})"
        )


def cleared_target(device_id: str, now: datetime) -> SessionTarget:
    """The clearing of `device_id`'s target, stated at `now`."""
    return SessionTarget(device_id, None, None, _utc(now))


def save_target(store: Store, target: SessionTarget) -> None:
    """Keep `target` in `store` (durable with its next commit), replacing the last one."""
    store.record_setting(TARGET_KEY.format(device_id=target.device_id), target.to_setting())


def load_target(store: Store, device_id: str) -> SessionTarget | None:
    """The target last kept for `device_id` (maybe a clearing); None if never one.
    Raises `ValueError` (one line) when the setting is not a target."""
    text = store.setting(TARGET_KEY.format(device_id=device_id))
    return None if text is None else SessionTarget.from_setting(device_id, text)


def ended(store: Store, target: SessionTarget) -> bool:
    """Whether `target` ended with its session (see `ENDED_KEY`)."""
    done = store.setting(ENDED_KEY.format(device_id=target.device_id))
    return done == target.set_at.isoformat()


def mark_ended(store: Store, target: SessionTarget) -> None:
    """Note that `target` ended with its session: a restart does not apply it again."""
    store.record_setting(ENDED_KEY.format(device_id=target.device_id), target.set_at.isoformat())


def _utc(when: datetime) -> datetime:
    return when.astimezone(UTC)


__all__ = [
    "ENDED_KEY",
    "MAX_DEPARTURE_AHEAD",
    "MAX_TARGET_WH",
    "TARGET_KEY",
    "Departure",
    "SessionTarget",
    "check_device",
    "check_target",
    "cleared_target",
    "ended",
    "load_target",
    "mark_ended",
    "parse_departure",
    "save_target",
]

"""The V2C cloud's wire format: the world's SI values written as the cloud writes them.

The cloud answers numbers as strings and power in kW (`"power": "1.380000"` at
6 A on one phase); statistics carry energy in kWh as JSON numbers and charger
local times without an offset. Everything in this module is a pure function
of world values, so the format is tested once, here.

Assumptions where V2C documents nothing:
- `cp_level` (control pilot level) is 248 while charging (the reference's
  example), 250 with a car connected and not charging, 0 without a car.
- `battery` (home battery power) is always 0: the simulated home has none.
- statistics `cost` and `coCost` are the session energy times a flat price
  and a flat CO2 factor (`Tariff`); `costFv` is 0 (solar energy is free).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Protocol

from optimizer.interfaces import ChargerReading, ChargeState

_CP_LEVEL = {ChargeState.CHARGING: 248.0, ChargeState.CONNECTED: 250.0}


def kw(watts: float) -> str:
    """Power in W as the cloud's kW string with six decimals."""
    return f"{watts / 1000.0:.6f}"


def current_state_body(reading: ChargerReading, *, pv_mode_on: bool) -> dict[str, str]:
    """The `currentstatecharge` answer for one reading (the reference's field names)."""
    return {
        "error": str(reading.error_code),
        "battery": f"{0.0:.6f}",
        "voltage": f"{reading.voltage_v:.2f}",
        "intensity": str(round(reading.current_setpoint_a)),
        "seconds": str(int(reading.session_seconds)),
        "photovoltaic_on": "1" if pv_mode_on else "0",
        "house_power": kw(reading.house_power_w),
        "charge_state": str(reading.charge_state_code),
        "power": kw(reading.car_power_w),
        "sun_power": kw(reading.pv_power_w),
        "phases": str(reading.phases),
        "cp_level": f"{_CP_LEVEL.get(reading.charge_state, 0.0):.6f}",
        "energy": f"{reading.session_energy_wh / 1000.0:.6f}",
    }


class SessionLike(Protocol):
    """What the statistics need of a world session (the world's `SessionLog`)."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime | None: ...
    @property
    def energy_wh(self) -> float: ...
    @property
    def solar_wh(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Tariff:
    """Flat price (per kWh from the grid) and CO2 factor (kg per kWh) for the statistics."""

    price_per_kwh: float = 0.15
    co2_kg_per_kwh: float = 0.31


def _local(t: datetime, tz: tzinfo) -> datetime:
    return t.astimezone(tz).replace(tzinfo=None, microsecond=0)


def _utc_stamp(t: datetime) -> str:
    u = t.astimezone(UTC)
    return u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}+00:00"


def session_statistic(
    number: int,
    device_id: str,
    session: SessionLike,
    *,
    tz: tzinfo,
    now: datetime,
    tariff: Tariff,
) -> dict[str, object]:
    """One `stadistic/device` entry (the reference's field names; energy in kWh)."""
    start_local = _local(session.start, tz)
    energy_kwh = session.energy_wh / 1000.0
    grid_kwh = max(0.0, session.energy_wh - session.solar_wh) / 1000.0
    end = session.end
    return {
        "id": number,
        "deviceId": device_id,
        "startChargeDate": start_local.isoformat(),
        "endChargeDate": None if end is None else _local(end, tz).isoformat(),
        "idCharge": start_local.isoformat(sep=" "),
        "energy": round(energy_kwh, 3),
        "cost": round(grid_kwh * tariff.price_per_kwh, 3),
        "coCost": round(grid_kwh * tariff.co2_kg_per_kwh, 3),
        "costFv": 0,
        "energyByHour": None,
        "energyByHourFv": None,
        "rfidCode": None,
        "rfidName": None,
        "message": None,
        "warning": False,
        "finished": end is not None,
        "createdAt": _utc_stamp(session.start),
        "updatedAt": _utc_stamp(now if end is None else end),
    }


def in_date_range(day: date, first: date | None, last: date | None) -> bool:
    """`day` lies within [first, last], either bound optional."""
    return (first is None or day >= first) and (last is None or day <= last)


def last_sessions(
    sessions: Sequence[SessionLike],
    *,
    tz: tzinfo,
    first: date | None,
    last: date | None,
    limit: int = 5,
) -> list[tuple[int, SessionLike]]:
    """The `limit` latest sessions starting (local date) within [first, last], newest first.

    Each comes with its 1-based number in the device's history, used as `id`.
    """
    numbered = [
        (i + 1, s)
        for i, s in enumerate(sessions)
        if in_date_range(s.start.astimezone(tz).date(), first, last)
    ]
    return list(reversed(numbered[-limit:]))


def global_statistics(
    sessions: Iterable[SessionLike], *, tz: tzinfo, first: date | None, last: date | None
) -> dict[str, object]:
    """`stadistic/global/me`: total kWh and count of finished sessions ending in [first, last]."""
    ended = [
        s
        for s in sessions
        if s.end is not None and in_date_range(s.end.astimezone(tz).date(), first, last)
    ]
    return {
        "totalEnergy": round(sum(s.energy_wh for s in ended) / 1000.0, 3),
        "totalCharges": len(ended),
    }

"""The V2C cloud's wire format: the world's SI values written as the cloud writes them.

The cloud answers numbers as strings and power in kW (`"power": "1.380000"` at
6 A on one phase); statistics carry energy in kWh as JSON numbers and charger
local times without an offset. Everything in this module is a pure function
of world values, so the format is tested once, here.

Assumptions where V2C documents nothing:
- `cp_level` (control pilot level) is 248 while charging (the reference's
  example), 250 with a car connected and not charging, 0 without a car.
- `battery` (home battery power, kW) is positive while the battery discharges
  into the home and negative while it charges; 0 without a battery. V2C documents
  neither the sign nor how `house_power` treats the battery: we assume the meter's
  view, `house_power` = household + car - battery (see
  `adapters.simulator.world.home_battery`).
- statistics `cost` and `coCost` are the session energy times a flat price
  and a flat CO2 factor (`Tariff`); `costFv` is 0 (solar energy is free).

`device/reported` is the charger's shadow under the Trydan's register names,
as the public Home Assistant client reads it (`adapters.v2c_cloud.shadow`),
every value a string like the rest of the cloud's answers, powers in kW and
energy in kWh like `currentstatecharge`. Each value is the one
`currentstatecharge` reports at the same instant: `ChargeState` =
`charge_state`, `ChargePower` = `power`, `HousePower` = `house_power`,
`FVPower` = `sun_power`, `BatteryPower` = `battery`, `ChargeEnergy` =
`energy`, `ChargeTime` = `seconds`, `Intensity` = `intensity`,
`VoltageInstallation` = `voltage`, `Phases` = `phases`, `SlaveError` =
`error`. The rest is the charger's state behind them: `Paused`, `Locked`,
`Dynamic` (the load balancing `device/dynamic` sets), `DynamicPowerMode`
(the `chargefvmode`, in the Trydan's codes), `PauseDynamic` (1 while the
charger does not follow PV, i.e. maximum power), `Timer` (1 if a timer slot
is active), `FirmwareVersion`, `ID` (the device id). Assumed where nothing
says: `ReadyState` is 1 while the charger can charge a car (not locked, no
error code).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Protocol

from adapters.v2c_cloud.shadow import DYNAMIC_POWER_MODE
from optimizer.interfaces import ChargerReading, ChargeState, PvMode

_CP_LEVEL = {ChargeState.CHARGING: 248.0, ChargeState.CONNECTED: 250.0}


def kw(watts: float) -> str:
    """Power in W as the cloud's kW string with six decimals."""
    return f"{watts / 1000.0:.6f}"


def kwh(wh: float) -> str:
    """Energy in Wh as the cloud's kWh string with six decimals."""
    return f"{wh / 1000.0:.6f}"


def current_state_body(reading: ChargerReading, *, pv_mode_on: bool) -> dict[str, str]:
    """The `currentstatecharge` answer for one reading (the reference's field names)."""
    return {
        "error": str(reading.error_code),
        "battery": kw(reading.battery_w),
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
        "energy": kwh(reading.session_energy_wh),
    }


@dataclass(frozen=True, slots=True)
class ChargerFlags:
    """What the shadow reports beyond a reading: the charger's switches and identity."""

    device_id: str
    paused: bool
    locked: bool
    dynamic: bool
    pv_mode: PvMode
    timer_on: bool
    firmware_version: str


def _bit(on: bool) -> str:
    return "1" if on else "0"


def shadow_body(reading: ChargerReading, flags: ChargerFlags) -> dict[str, str]:
    """The `device/reported` shadow for one reading (see the module doc for each field)."""
    return {
        "ID": flags.device_id,
        "FirmwareVersion": flags.firmware_version,
        "ChargeState": str(reading.charge_state_code),
        "ReadyState": _bit(not flags.locked and reading.error_code == 0),
        "ChargePower": kw(reading.car_power_w),
        "ChargeEnergy": kwh(reading.session_energy_wh),
        "SlaveError": str(reading.error_code),
        "ChargeTime": str(int(reading.session_seconds)),
        "HousePower": kw(reading.house_power_w),
        "FVPower": kw(reading.pv_power_w),
        "BatteryPower": kw(reading.battery_w),
        "Paused": _bit(flags.paused),
        "Locked": _bit(flags.locked),
        "Timer": _bit(flags.timer_on),
        "Intensity": str(round(reading.current_setpoint_a)),
        "Dynamic": _bit(flags.dynamic),
        "PauseDynamic": _bit(flags.pv_mode is PvMode.MAX_POWER),
        "DynamicPowerMode": str(DYNAMIC_POWER_MODE[flags.pv_mode]),
        "VoltageInstallation": f"{reading.voltage_v:.2f}",
        "Phases": str(reading.phases),
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

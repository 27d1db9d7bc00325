"""Typed results of the V2C Cloud API, in SI units.

The API answers numbers as strings, power in kW and energy in kWh. Each
`from_api` converts at this boundary: power in W, energy in Wh, current in A,
voltage in V, durations in s. Fields the answer lacks become None; fields this
module does not know are kept (under their API names) as pydantic extras; a
value that cannot be read raises `V2CResponseError` naming the field.
"""

from __future__ import annotations

import json
import math
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, field_serializer

from adapters.v2c_cloud.errors import V2CResponseError
from adapters.v2c_cloud.redaction import excerpt
from adapters.v2c_cloud.shadow import PV_MODE_OF_DYNAMIC_POWER_MODE
from optimizer.interfaces import ChargeState, PvMode

KILO = 1000.0
"""kW -> W and kWh -> Wh."""


@dataclass(frozen=True, slots=True)
class RawText:
    """A response body that is not JSON (kept so lenient parsers can use the text)."""

    text: str


def _bad(where: str, key: str, raw: object, expected: str) -> V2CResponseError:
    shown = excerpt(repr(raw), 60)
    return V2CResponseError(f"{where}: field {key!r} is not {expected}: {shown}", field=key)


def _number(payload: Mapping[str, Any], key: str, where: str, scale: float = 1.0) -> float | None:
    """`payload[key]` as a float times `scale`; None if missing, null or empty."""
    raw = payload.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _bad(where, key, raw, "a number")
    try:
        value = float(raw)
    except ValueError:
        raise _bad(where, key, raw, "a number") from None
    if not math.isfinite(value):
        raise _bad(where, key, raw, "a finite number")
    return value * scale


def _integer(payload: Mapping[str, Any], key: str, where: str) -> int | None:
    value = _number(payload, key, where)
    if value is None:
        return None
    if not value.is_integer():
        raise _bad(where, key, payload.get(key), "a whole number")
    return int(value)


def _flag(payload: Mapping[str, Any], key: str, where: str) -> bool | None:
    raw = payload.get(key)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "1.0", "1.000000", "true"}:
        return True
    if text in {"0", "0.0", "0.000000", "false"}:
        return False
    raise _bad(where, key, raw, "a flag (0/1, true/false)")


def _text(payload: Mapping[str, Any], key: str, where: str) -> str | None:
    raw = payload.get(key)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _bad(where, key, raw, "a string")
    return str(raw)


def _datetime(payload: Mapping[str, Any], key: str, where: str, *, utc: bool) -> datetime | None:
    """ISO 8601 from the API; `utc=True`: must have an offset, returned in UTC."""
    raw = payload.get(key)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise _bad(where, key, raw, "an ISO 8601 date-time")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise _bad(where, key, raw, "an ISO 8601 date-time") from None
    if utc:
        if value.tzinfo is None:
            raise _bad(where, key, raw, "a date-time with a UTC offset")
        return value.astimezone(UTC)
    return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(UTC)


def _object(payload: object, where: str) -> Mapping[str, Any]:
    if isinstance(payload, RawText):
        raise V2CResponseError(f"{where}: body is not JSON: {excerpt(repr(payload.text), 60)}")
    if not isinstance(payload, Mapping):
        raise V2CResponseError(
            f"{where}: expected a JSON object, got {type(payload).__name__}: "
            f"{excerpt(repr(payload), 60)}"
        )
    return payload


def _array(payload: object, where: str) -> list[Mapping[str, Any]]:
    if isinstance(payload, RawText):
        raise V2CResponseError(f"{where}: body is not JSON: {excerpt(repr(payload.text), 60)}")
    if payload is None:
        return []
    if not isinstance(payload, list):
        raise V2CResponseError(
            f"{where}: expected a JSON array, got {type(payload).__name__}: "
            f"{excerpt(repr(payload), 60)}"
        )
    return [_object(item, f"{where}[{i}]") for i, item in enumerate(payload)]


def _extras(payload: Mapping[str, Any], known: set[str]) -> dict[str, Any]:
    return {str(k): v for k, v in payload.items() if k not in known}


class V2CModel(BaseModel):
    """Base of the typed results: immutable, unknown API fields kept as extras."""

    model_config = ConfigDict(extra="allow", frozen=True)


class ListedResult(V2CModel):
    """A result the API answers as a JSON array of objects.

    `list_operation` names the array in errors; item i is `list_operation[i]`.
    """

    list_operation: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_object(cls, o: Mapping[str, Any], where: str) -> Self:
        """Convert one object of the array."""

    @classmethod
    def list_from_api(cls, payload: object, where: str | None = None) -> list[Self]:
        """Parse the array."""
        where = where or cls.list_operation
        return [cls.from_object(o, f"{where}[{i}]") for i, o in enumerate(_array(payload, where))]


class TextRecord(ListedResult):
    """A result whose fields are all text, under the same names as in the API."""

    @classmethod
    def from_object(cls, o: Mapping[str, Any], where: str) -> Self:
        """Convert one object."""
        names = set(cls.model_fields)
        return cls(**{n: _text(o, n, where) for n in cls.model_fields}, **_extras(o, names))


class CommandResult(V2CModel):
    """Answer of a command (a POST/PUT/DELETE action): `{"message": ...}`.

    Lenient on purpose: a command the server accepted must not be reported as
    failed (and re-sent, spending calls) because its answer was plain text.
    """

    message: str | None = None

    @classmethod
    def from_api(cls, payload: object, where: str = "command") -> Self:
        """Parse a command answer: an object, plain text, or an empty body."""
        if payload is None:
            return cls()
        if isinstance(payload, RawText):
            return cls(message=payload.text.strip() or None)
        if isinstance(payload, str):
            return cls(message=payload)
        obj = _object(payload, where)
        return cls(message=_text(obj, "message", where), **_extras(obj, {"message"}))


@dataclass(frozen=True, slots=True)
class ApiField:
    """One typed field, read from the first of its API names (`keys`) the answer has.

    `kind` is "num" (a float times `scale`), "int", "flag" or "text".
    """

    name: str
    kind: Literal["num", "int", "flag", "text"]
    keys: tuple[str, ...]
    scale: float = 1.0


def _present_key(obj: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    """The first of `keys` with a non-empty value in `obj` (the first key if none has one)."""
    for key in keys:
        value = obj.get(key)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return key
    return keys[0]


def _read(obj: Mapping[str, Any], f: ApiField, where: str) -> object:
    key = _present_key(obj, f.keys)
    if f.kind == "num":
        return _number(obj, key, where, f.scale)
    if f.kind == "int":
        return _integer(obj, key, where)
    if f.kind == "flag":
        return _flag(obj, key, where)
    return _text(obj, key, where)


_STATE_FIELDS = (
    ApiField("charge_state_code", "int", ("charge_state",)),
    ApiField("error_code", "int", ("error",)),
    ApiField("battery_power_w", "num", ("battery",), KILO),
    ApiField("voltage_v", "num", ("voltage",)),
    ApiField("current_setpoint_a", "num", ("intensity",)),
    ApiField("session_seconds", "num", ("seconds",)),
    ApiField("pv_regulation_on", "flag", ("photovoltaic_on",)),
    ApiField("house_power_w", "num", ("house_power",), KILO),
    ApiField("car_power_w", "num", ("power",), KILO),
    ApiField("pv_power_w", "num", ("sun_power",), KILO),
    ApiField("phases", "int", ("phases",)),
    ApiField("cp_level", "num", ("cp_level",)),
    ApiField("session_energy_wh", "num", ("energy",), KILO),
)
"""`currentstatecharge`: one API name per field (the reference's)."""


class DeviceState(V2CModel):
    """A charger's state in SI units (the fields `currentstatecharge` reports).

    `house_power_w` is the consumption at the grid connection *including the
    car*: the Trydan's clamp sits at the main supply. `charge_state` is the
    mapped enum (codes beyond 0..2 are FAULT), `charge_state_code` the raw code.
    """

    api_fields: ClassVar[tuple[ApiField, ...]] = _STATE_FIELDS

    charge_state: ChargeState | None = None
    charge_state_code: int | None = None
    car_power_w: float | None = None
    pv_power_w: float | None = None
    house_power_w: float | None = None
    battery_power_w: float | None = None
    current_setpoint_a: float | None = None
    voltage_v: float | None = None
    phases: int | None = None
    session_energy_wh: float | None = None
    session_seconds: float | None = None
    error_code: int | None = None
    pv_regulation_on: bool | None = None
    cp_level: float | None = None

    @field_serializer("charge_state", "pv_mode", when_used="json", check_fields=False)
    def _enum_name(self, value: IntEnum | None) -> str | None:
        """Enums by name in JSON (`CHARGING`, `EXCLUSIVE_PV`), not by code."""
        return None if value is None else value.name

    @classmethod
    def from_fields(cls, obj: Mapping[str, Any], where: str) -> Self:
        """Convert an object of API fields (strings, kW, kWh) to SI."""
        values = cls._typed_values(obj, where)
        known = {key for f in cls.api_fields for key in f.keys}
        extras = {k: v for k, v in _extras(obj, known).items() if k not in cls.model_fields}
        return cls(**values, **extras)

    @classmethod
    def _typed_values(cls, obj: Mapping[str, Any], where: str) -> dict[str, Any]:
        values: dict[str, Any] = {f.name: _read(obj, f, where) for f in cls.api_fields}
        code = values["charge_state_code"]
        values["charge_state"] = None if code is None else ChargeState.from_code(code)
        return values


class CurrentStateCharge(DeviceState):
    """`currentstatecharge`: the live state."""

    @classmethod
    def from_api(cls, payload: object, where: str = "currentstatecharge") -> Self:
        """Parse the answer (an object of numeric strings)."""
        return cls.from_fields(_object(payload, where), where)


_SHADOW_FIELDS = (
    ApiField("charge_state_code", "int", ("ChargeState", "charge_state")),
    ApiField("error_code", "int", ("SlaveError", "error")),
    ApiField("battery_power_w", "num", ("BatteryPower", "battery"), KILO),
    ApiField("voltage_v", "num", ("VoltageInstallation", "voltage")),
    ApiField("current_setpoint_a", "num", ("Intensity", "intensity")),
    ApiField("session_seconds", "num", ("ChargeTime", "seconds")),
    ApiField("pv_regulation_on", "flag", ("photovoltaic_on",)),
    ApiField("house_power_w", "num", ("HousePower", "house_power"), KILO),
    ApiField("car_power_w", "num", ("ChargePower", "power"), KILO),
    ApiField("pv_power_w", "num", ("FVPower", "sun_power"), KILO),
    ApiField("phases", "int", ("Phases", "phases")),
    ApiField("cp_level", "num", ("cp_level",)),
    ApiField("session_energy_wh", "num", ("ChargeEnergy", "energy"), KILO),
    ApiField("paused", "flag", ("Paused", "pause", "paused")),
    ApiField("locked", "flag", ("Locked", "locked")),
    ApiField("timer_on", "flag", ("Timer", "timer")),
    ApiField("dynamic", "flag", ("Dynamic", "dynamic")),
    ApiField("pause_dynamic", "flag", ("PauseDynamic",)),
    ApiField("dynamic_power_mode", "int", ("DynamicPowerMode",)),
    ApiField("ready", "flag", ("ReadyState", "ready_state")),
    ApiField("firmware_version", "text", ("FirmwareVersion", "version")),
    ApiField("device_id", "text", ("ID", "device_id", "deviceId")),
)
"""`device/reported`: the shadow's register names first, then the cloud's snake_case ones."""


class Reported(DeviceState):
    """`device/reported`: the last state the device reported (its "shadow"), in SI units.

    Two shapes are read into this one result (see `adapters.v2c_cloud.shadow`):
    the shadow as the public client reads it (`ChargeState`, `ChargePower` in
    kW, `Paused`, `DynamicPowerMode`, ...) and an object of `currentstatecharge`
    fields (`charge_state`, `power`, ...). Where both name a value, the
    shadow's name wins. The cloud sometimes sends the object serialized inside
    a JSON string; both forms are accepted.

    `pv_mode` is the `chargefvmode` the `DynamicPowerMode` code stands for
    (None for codes 0, 1, 5, kept raw in `dynamic_power_mode`); `pv_regulation_on`
    follows from it when `photovoltaic_on` is absent. `ready` is `ReadyState`,
    `timer_on` is `Timer`, `pause_dynamic` is `PauseDynamic` (on: not modulating).
    """

    api_fields: ClassVar[tuple[ApiField, ...]] = _SHADOW_FIELDS

    paused: bool | None = None
    locked: bool | None = None
    timer_on: bool | None = None
    dynamic: bool | None = None
    pause_dynamic: bool | None = None
    dynamic_power_mode: int | None = None
    pv_mode: PvMode | None = None
    ready: bool | None = None
    firmware_version: str | None = None
    device_id: str | None = None

    @classmethod
    def _typed_values(cls, obj: Mapping[str, Any], where: str) -> dict[str, Any]:
        values = super()._typed_values(obj, where)
        code = values["dynamic_power_mode"]
        mode = None if code is None else PV_MODE_OF_DYNAMIC_POWER_MODE.get(code)
        values["pv_mode"] = mode
        if values["pv_regulation_on"] is None and mode is not None:
            values["pv_regulation_on"] = mode is not PvMode.MAX_POWER
        return values

    @classmethod
    def from_api(cls, payload: object, where: str = "reported") -> Self:
        """Parse an object, or a JSON string holding one."""
        for _ in range(2):
            if not isinstance(payload, str):
                break
            try:
                payload = json.loads(payload)
            except ValueError:
                raise V2CResponseError(
                    f"{where}: string body is not JSON: {excerpt(repr(payload), 60)}"
                ) from None
        return cls.from_fields(_object(payload, where), where)


CONNECTED_WORDS: Mapping[str, bool] = MappingProxyType(
    {
        "true": True, "1": True, "online": True, "yes": True, "on": True,
        "false": False, "0": False, "offline": False, "no": False, "off": False,
    }
)  # fmt: skip
"""The strings `device/connected` may answer (case and surrounding blanks ignored)."""


def _connected_value(raw: object, where: str) -> bool:
    """A bool, 0/1, or one of `CONNECTED_WORDS`; V2CResponseError naming `connected` otherwise."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return raw == 1
    if isinstance(raw, str) and raw.strip().lower() in CONNECTED_WORDS:
        return CONNECTED_WORDS[raw.strip().lower()]
    raise _bad(where, "connected", raw, "a boolean, 0/1 or true/false/online/offline")


class Connected(V2CModel):
    """`device/connected`: whether the charger is online at the cloud.

    Accepted answers: a JSON boolean; the whole numbers 0 and 1; the strings
    (JSON or plain text, any case) true/false, 1/0, online/offline, yes/no,
    on/off; or an object whose `connected` field is any of these. Anything
    else (null, 2, 0.5, a list, an object without `connected`) is a
    `V2CResponseError` naming the field `connected`.
    """

    connected: bool

    @classmethod
    def from_api(cls, payload: object, where: str = "connected") -> Self:
        """Parse one of the accepted answers (see the class doc)."""
        if isinstance(payload, RawText):
            payload = payload.text
        if isinstance(payload, Mapping):
            return cls(
                connected=_connected_value(payload.get("connected"), where),
                **_extras(payload, {"connected"}),
            )
        return cls(connected=_connected_value(payload, where))


class WifiNetwork(ListedResult):
    """One network of `wifilist`; `rssi_dbm` is the signal strength (dBm)."""

    list_operation = "wifilist"

    ssid: str | None = None
    rssi_dbm: float | None = None

    @classmethod
    def from_object(cls, o: Mapping[str, Any], where: str) -> Self:
        """Convert one network object."""
        return cls(
            ssid=_text(o, "ssid", where),
            rssi_dbm=_number(o, "rssi", where),
            **_extras(o, {"ssid", "rssi"}),
        )


class RfidCard(TextRecord):
    """One registered RFID card: its UID `code` and its name `tag`."""

    list_operation = "rfid_list"

    code: str | None = None
    tag: str | None = None


def _hourly_wh(obj: Mapping[str, Any], key: str, where: str) -> list[float] | None:
    raw = obj.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise _bad(where, key, raw, "kWh values joined by '|'")
    parts = [p for p in raw.split("|") if p.strip()]
    try:
        return [float(p) * KILO for p in parts]
    except ValueError:
        raise _bad(where, key, raw, "kWh values joined by '|'") from None


_STAT_KEYS = {
    "id", "deviceId", "startChargeDate", "endChargeDate", "idCharge", "energy", "cost", "coCost",
    "costFv", "energyByHour", "energyByHourFv", "rfidCode", "rfidName", "message", "warning",
    "finished", "createdAt", "updatedAt",
}  # fmt: skip


class ChargeStatistic(ListedResult):
    """One charging session of `stadistic/device`, in Wh.

    `start_local`/`end_local` are naive: the API writes them in the charger's
    local time without an offset (compare `createdAt`, which is UTC). `created_at`
    and `updated_at` are tz-aware UTC. `energy_by_hour_wh` is the energy per
    hour of the session (Wh). Costs are in the account's currency.
    """

    list_operation = "stadistic_device"

    id: int | None = None
    device_id: str | None = None
    start_local: datetime | None = None
    end_local: datetime | None = None
    id_charge: str | None = None
    energy_wh: float | None = None
    cost: float | None = None
    co_cost: float | None = None
    cost_fv: float | None = None
    energy_by_hour_wh: list[float] | None = None
    energy_by_hour_fv_wh: list[float] | None = None
    rfid_code: str | None = None
    rfid_name: str | None = None
    message: str | None = None
    warning: bool | None = None
    finished: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_object(cls, o: Mapping[str, Any], where: str) -> Self:
        """Convert one statistics object."""
        return cls(
            id=_integer(o, "id", where),
            device_id=_text(o, "deviceId", where),
            start_local=_datetime(o, "startChargeDate", where, utc=False),
            end_local=_datetime(o, "endChargeDate", where, utc=False),
            id_charge=_text(o, "idCharge", where),
            energy_wh=_number(o, "energy", where, KILO),
            cost=_number(o, "cost", where),
            co_cost=_number(o, "coCost", where),
            cost_fv=_number(o, "costFv", where),
            energy_by_hour_wh=_hourly_wh(o, "energyByHour", where),
            energy_by_hour_fv_wh=_hourly_wh(o, "energyByHourFv", where),
            rfid_code=_text(o, "rfidCode", where),
            rfid_name=_text(o, "rfidName", where),
            message=_text(o, "message", where),
            warning=_flag(o, "warning", where),
            finished=_flag(o, "finished", where),
            created_at=_datetime(o, "createdAt", where, utc=True),
            updated_at=_datetime(o, "updatedAt", where, utc=True),
            **_extras(o, _STAT_KEYS),
        )


class GlobalStatistic(ListedResult):
    """Account totals of `stadistic/global/me`: energy (Wh) and number of charges."""

    list_operation = "stadistic_global_me"

    total_energy_wh: float | None = None
    total_charges: int | None = None

    @classmethod
    def from_object(cls, o: Mapping[str, Any], where: str) -> Self:
        """Convert one totals object."""
        return cls(
            total_energy_wh=_number(o, "totalEnergy", where, KILO),
            total_charges=_integer(o, "totalCharges", where),
            **_extras(o, {"totalEnergy", "totalCharges"}),
        )


class PowerProfile(ListedResult):
    """A personalized power profile; `updated_at` is its `updateAt` key.

    `updated_at` is tz-aware UTC when the API writes an offset, naive otherwise.
    """

    list_operation = "personalicepower_all"

    name: str | None = None
    mode: str | None = None
    value: int | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_object(cls, o: Mapping[str, Any], where: str) -> Self:
        """Convert one profile object."""
        return cls(
            name=_text(o, "name", where),
            mode=_text(o, "mode", where),
            value=_integer(o, "value", where),
            updated_at=_datetime(o, "updateAt", where, utc=False),
            **_extras(o, {"name", "mode", "value", "updateAt"}),
        )

    @classmethod
    def from_api(cls, payload: object, where: str = "personalicepower_get") -> Self:
        """Parse one profile object."""
        return cls.from_object(_object(payload, where), where)


class FirmwareVersion(V2CModel):
    """`version`: the firmware version string."""

    version: str | None = None

    @classmethod
    def from_api(cls, payload: object, where: str = "version") -> Self:
        """Parse a JSON string, plain text, or `{"version": ...}`."""
        if isinstance(payload, RawText):
            return cls(version=payload.text.strip() or None)
        if isinstance(payload, str | int | float) and not isinstance(payload, bool):
            return cls(version=str(payload))
        obj = _object(payload, where)
        return cls(version=_text(obj, "version", where), **_extras(obj, {"version"}))


class Pairing(TextRecord):
    """One device pairing of the account."""

    list_operation = "pairings_me"

    id: str | None = None
    name: str | None = None

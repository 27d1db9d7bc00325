"""What each operation of the spec does to the simulated world: operationId -> handler.

A handler gets a `CallContext` (the world, the device's settings store, the
validated query and body, the simulated time) and returns the JSON-able body
of a 200 answer, or raises `ApiError`. Writes that matter to the physics go to
the world's `SimCharger` (converted to SI: kWh -> Wh, minutes -> s); the rest
go to `DeviceSettings`, so later reads reflect them.

`HANDLERS` must cover every operationId of the spec; the app refuses to start
otherwise, so the simulator cannot silently drift from the spec.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, Protocol

from adapters.simulator.server.settings import (
    LATEST_FIRMWARE_VERSION,
    DeviceSettings,
    PowerProfile,
    Timer,
)
from adapters.simulator.server.wire import (
    ChargerFlags,
    SessionLike,
    Tariff,
    current_state_body,
    global_statistics,
    last_sessions,
    session_statistic,
    shadow_body,
)
from optimizer.interfaces import ChargerReading, PvMode

COMMAND_OK = {"message": "Command executed successfully"}
"""The answer of every successful command (the reference's example)."""


class SimChargerLike(Protocol):
    """The part of the world's `SimCharger` the HTTP simulator drives."""

    pv_mode: PvMode
    paused: bool
    locked: bool
    dynamic: bool

    def reading(self) -> ChargerReading: ...
    def set_intensity(self, amps: int) -> None: ...
    def set_pv_mode(self, mode: PvMode) -> None: ...
    def start(self) -> None: ...
    def pause(self) -> None: ...
    def set_locked(self, on: bool) -> None: ...
    def set_dynamic(self, on: bool) -> None: ...
    def set_min_car_current(self, amps: int) -> None: ...
    def set_max_car_current(self, amps: int) -> None: ...
    def set_max_power(self, watts: float) -> None: ...
    def charge_until_energy(self, wh: float) -> None: ...
    def lift_energy_limit(self) -> None: ...
    def charge_until_seconds(self, s: float) -> None: ...
    def start_charge_energy(self, wh: float) -> None: ...
    def start_charge_seconds(self, s: float) -> None: ...


class WorldLike(Protocol):
    """The part of the world model (`adapters.simulator.world.World`) the simulator uses."""

    @property
    def now(self) -> datetime: ...
    @property
    def device_ids(self) -> list[str]: ...
    def advance_to(self, t: datetime) -> None: ...
    def charger(self, device_id: str) -> Any: ...
    def sessions(self, device_id: str) -> Sequence[Any]: ...


class ApiError(Exception):
    """An error answer: HTTP `status` with JSON body {"message": message}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class CallContext:
    """One validated API call against the world.

    `device_id` is the device named by the query (`deviceId` or `id`), already
    checked to exist; None for account-level operations. `online` is False
    while that device is offline (an offline fault window). `device_ids` are
    the devices of the caller's account, which account-level operations list.
    """

    world: WorldLike
    settings: Mapping[str, DeviceSettings]
    device_id: str | None
    query: Mapping[str, str]
    body: Mapping[str, Any] | None
    now: datetime
    tz: tzinfo
    tariff: Tariff
    rng: random.Random
    online: bool = True
    device_ids: Sequence[str] = ()

    @property
    def charger(self) -> SimChargerLike:
        """The named device's charger in the world."""
        charger: SimChargerLike = self.world.charger(self._device())
        return charger

    @property
    def device(self) -> DeviceSettings:
        """The named device's settings store."""
        return self.settings[self._device()]

    def _device(self) -> str:
        if self.device_id is None:
            raise RuntimeError("operation has no device parameter")
        return self.device_id

    def number(self, name: str) -> float:
        """A numeric query value (already validated against the spec's pattern)."""
        return float(self.query[name])

    def whole(self, name: str) -> int:
        """A whole-number query value (already validated against the spec's pattern)."""
        return int(self.query[name])

    def optional_date(self, name: str) -> date | None:
        """A YYYY-MM-DD query value, or None if absent; 400 if not a real date."""
        text = self.query.get(name)
        if text is None:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ApiError(400, f"{name} is not a valid date: {text!r}") from None


Handler = Callable[[CallContext], object]
HANDLERS: dict[str, Handler] = {}


def handles(operation_id: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of `operation_id`."""

    def register(fn: Handler) -> Handler:
        if operation_id in HANDLERS:
            raise ValueError(f"two handlers for {operation_id!r}")
        HANDLERS[operation_id] = fn
        return fn

    return register


def _world_write(action: Callable[[], None]) -> object:
    """Run a world write; the world's ValueError (a value it refuses) becomes a 400."""
    try:
        action()
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return COMMAND_OK


def _set_setting(ctx: CallContext, attribute: str, value: object) -> object:
    setattr(ctx.device, attribute, value)
    return COMMAND_OK


# --- charging: writes that change the physics -------------------------------------------


@handles("startcharge")
def _startcharge(ctx: CallContext) -> object:
    return _world_write(ctx.charger.start)


@handles("pausecharge")
def _pausecharge(ctx: CallContext) -> object:
    return _world_write(ctx.charger.pause)


@handles("intensity")
def _intensity(ctx: CallContext) -> object:
    return _world_write(lambda: ctx.charger.set_intensity(ctx.whole("value")))


@handles("locked")
def _locked(ctx: CallContext) -> object:
    return _world_write(lambda: ctx.charger.set_locked(ctx.query["value"] == "1"))


@handles("dynamic")
def _dynamic(ctx: CallContext) -> object:
    return _world_write(lambda: ctx.charger.set_dynamic(ctx.query["value"] == "1"))


@handles("chargefvmode")
def _chargefvmode(ctx: CallContext) -> object:
    return _world_write(lambda: ctx.charger.set_pv_mode(PvMode(ctx.whole("value"))))


@handles("maxpower")
def _maxpower(ctx: CallContext) -> object:
    return _world_write(lambda: ctx.charger.set_max_power(ctx.number("value")))


@handles("max_car_int")
def _max_car_int(ctx: CallContext) -> object:
    return _world_write(lambda: ctx.charger.set_max_car_current(ctx.whole("value")))


@handles("min_car_int")
def _min_car_int(ctx: CallContext) -> object:
    return _world_write(lambda: ctx.charger.set_min_car_current(ctx.whole("value")))


@handles("charger_until_energy")
def _charger_until_energy(ctx: CallContext) -> object:
    kwh = ctx.number("value")
    if kwh == 0.0:  # 0 kWh: no limit (the simulator's assumption, see world.charger)
        return _world_write(ctx.charger.lift_energy_limit)
    return _world_write(lambda: ctx.charger.charge_until_energy(kwh * 1000.0))


@handles("charger_until_minutes")
def _charger_until_minutes(ctx: CallContext) -> object:
    return _world_write(lambda: ctx.charger.charge_until_seconds(ctx.number("value") * 60.0))


@handles("startchargekw")
def _startchargekw(ctx: CallContext) -> object:
    return _world_write(lambda: ctx.charger.start_charge_energy(ctx.number("kw") * 1000.0))


@handles("startchargeminutes")
def _startchargeminutes(ctx: CallContext) -> object:
    return _world_write(lambda: ctx.charger.start_charge_seconds(ctx.number("minutes") * 60.0))


# --- configuration kept in the settings store -------------------------------------------


@handles("timer")
def _timer(ctx: CallContext) -> object:
    body = ctx.body or {}
    timer = Timer(str(body["start_time"]), str(body["end_time"]), bool(body["active"]))
    ctx.device.timers[ctx.whole("timerId")] = timer
    return COMMAND_OK


@handles("thirdparty_mode")
def _thirdparty_mode(ctx: CallContext) -> object:
    ctx.device.thirdparty_modes[ctx.whole("mode")] = ctx.whole("value")
    return COMMAND_OK


@handles("inst_type")
def _inst_type(ctx: CallContext) -> object:
    return _set_setting(ctx, "inst_type", ctx.whole("value"))


@handles("ocpp")
def _ocpp(ctx: CallContext) -> object:
    return _set_setting(ctx, "ocpp_on", ctx.query["value"] == "1")


@handles("ocpp_id")
def _ocpp_id(ctx: CallContext) -> object:
    return _set_setting(ctx, "ocpp_id", ctx.query["value"])


@handles("ocpp_addr")
def _ocpp_addr(ctx: CallContext) -> object:
    return _set_setting(ctx, "ocpp_addr", ctx.query["value"])


@handles("denka_max_power")
def _denka_max_power(ctx: CallContext) -> object:
    return _set_setting(ctx, "denka_max_power_w", ctx.whole("value"))


@handles("inverter_ip")
def _inverter_ip(ctx: CallContext) -> object:
    return _set_setting(ctx, "inverter_ip", ctx.query["value"])


@handles("wifi")
def _wifi(ctx: CallContext) -> object:
    ctx.device.wifi_ssid = ctx.query["ssid"]
    ctx.device.wifi_password_set = True
    return COMMAND_OK


@handles("slave_type")
def _slave_type(ctx: CallContext) -> object:
    return _set_setting(ctx, "slave_type", ctx.whole("value"))


@handles("language")
def _language(ctx: CallContext) -> object:
    return _set_setting(ctx, "language", ctx.whole("value"))


@handles("logo_led")
def _logo_led(ctx: CallContext) -> object:
    return _set_setting(ctx, "logo_led", ctx.query["value"] == "1")


@handles("reboot")
def _reboot(ctx: CallContext) -> object:
    ctx.device.reboots += 1
    return COMMAND_OK


@handles("firmware_update")
def _firmware_update(ctx: CallContext) -> object:
    return _set_setting(ctx, "firmware_version", LATEST_FIRMWARE_VERSION)


# --- status reads -----------------------------------------------------------------------


def _state(ctx: CallContext) -> dict[str, str]:
    charger = ctx.charger
    reading = charger.reading()
    pv_on = reading.pv_regulation_on
    if pv_on is None:
        pv_on = charger.pv_mode in (PvMode.PV_MIN, PvMode.EXCLUSIVE_PV)
    return current_state_body(reading, pv_mode_on=pv_on)


@handles("currentstatecharge")
def _currentstatecharge(ctx: CallContext) -> object:
    return _state(ctx)


@handles("reported")
def _reported(ctx: CallContext) -> object:
    """The shadow (`wire.shadow_body`) and the configuration the settings store keeps."""
    charger, device = ctx.charger, ctx.device
    flags = ChargerFlags(
        device_id=device.device_id,
        paused=charger.paused,
        locked=charger.locked,
        dynamic=charger.dynamic,
        pv_mode=charger.pv_mode,
        timer_on=any(t.active for t in device.timers.values()),
        firmware_version=device.firmware_version,
    )
    return {**shadow_body(charger.reading(), flags), **device.reported_fields()}


@handles("connected")
def _connected(ctx: CallContext) -> object:
    """A bare JSON boolean: false while the device is offline (fault), true otherwise."""
    return ctx.online


@handles("wifilist")
def _wifilist(ctx: CallContext) -> object:
    return [
        {"ssid": ctx.device.wifi_ssid, "rssi": "-48"},
        {"ssid": "Neighbour-5G", "rssi": "-77"},
        {"ssid": "Garage-IoT", "rssi": "-83"},
    ]


# --- RFID -------------------------------------------------------------------------------


@handles("rfid_learn")
def _rfid_learn(ctx: CallContext) -> object:
    ctx.device.learn_rfid(ctx.query["tag"], ctx.rng)
    return COMMAND_OK


@handles("rfid_delete")
def _rfid_delete(ctx: CallContext) -> object:
    if ctx.device.rfid_cards.pop(ctx.query["code"], None) is None:
        raise ApiError(404, f"no RFID card {ctx.query['code']!r} on device {ctx.device_id}")
    return COMMAND_OK


@handles("rfid_list")
def _rfid_list(ctx: CallContext) -> object:
    return [{"code": code, "tag": tag} for code, tag in ctx.device.rfid_cards.items()]


@handles("rfid_tag_add")
def _rfid_tag_add(ctx: CallContext) -> object:
    ctx.device.rfid_cards[ctx.query["code"]] = ctx.query["tag"]
    return COMMAND_OK


@handles("rfid_tag_update")
def _rfid_tag_update(ctx: CallContext) -> object:
    code = ctx.query["code"]
    if code not in ctx.device.rfid_cards:
        raise ApiError(404, f"no RFID card {code!r} on device {ctx.device_id}")
    ctx.device.rfid_cards[code] = ctx.query["tag"]
    return COMMAND_OK


@handles("set_rfid")
def _set_rfid(ctx: CallContext) -> object:
    return _set_setting(ctx, "rfid_reader_on", ctx.query["value"] == "1")


# --- statistics -------------------------------------------------------------------------


@handles("stadistic_device")
def _stadistic_device(ctx: CallContext) -> object:
    device_id = ctx._device()
    sessions: Sequence[SessionLike] = ctx.world.sessions(device_id)
    chosen = last_sessions(
        sessions,
        tz=ctx.tz,
        first=ctx.optional_date("chargeDateStart"),
        last=ctx.optional_date("chargeDateEnd"),
    )
    return [
        session_statistic(n, device_id, s, tz=ctx.tz, now=ctx.now, tariff=ctx.tariff)
        for n, s in chosen
    ]


@handles("stadistic_global_me")
def _stadistic_global_me(ctx: CallContext) -> object:
    sessions = [s for d in ctx.device_ids for s in ctx.world.sessions(d)]
    totals = global_statistics(
        sessions,
        tz=ctx.tz,
        first=ctx.optional_date("endChargeDateStart"),
        last=ctx.optional_date("endChargeDateEnd"),
    )
    return [totals]


# --- power profiles ---------------------------------------------------------------------


def _profile_from(ctx: CallContext, name: str) -> PowerProfile:
    body = ctx.body or {}
    mode, value = body.get("mode"), body.get("value")
    return PowerProfile(
        name=name,
        update_at=ctx.query["updateAt"],
        mode=None if mode is None else str(mode),
        value=None if value is None else int(value),
    )


@handles("personalicepower_create")
def _personalicepower_create(ctx: CallContext) -> object:
    """Save a profile; saving under an existing name replaces that profile."""
    name = ctx.query["name"]
    index = ctx.device.find_profile(name=name)
    if index is None:
        ctx.device.profiles.append(_profile_from(ctx, name))
    else:
        ctx.device.profiles[index] = _profile_from(ctx, name)
    return COMMAND_OK


@handles("personalicepower_update")
def _personalicepower_update(ctx: CallContext) -> object:
    name = ctx.query["name"]
    index = ctx.device.find_profile(name=name)
    if index is None:
        raise ApiError(404, f"no power profile named {name!r} on device {ctx.device_id}")
    ctx.device.profiles[index] = _profile_from(ctx, name)
    return COMMAND_OK


@handles("personalicepower_get")
def _personalicepower_get(ctx: CallContext) -> object:
    index = ctx.device.find_profile(update_at=ctx.query["updateAt"])
    if index is None:
        raise ApiError(404, f"no power profile saved at {ctx.query['updateAt']}")
    return ctx.device.profiles[index].as_json()


@handles("personalicepower_delete")
def _personalicepower_delete(ctx: CallContext) -> object:
    index = ctx.device.find_profile(name=ctx.query["name"], update_at=ctx.query["updateAt"])
    if index is None:
        raise ApiError(404, f"no power profile {ctx.query['name']!r} saved at that time")
    del ctx.device.profiles[index]
    return COMMAND_OK


@handles("personalicepower_all")
def _personalicepower_all(ctx: CallContext) -> object:
    return [p.as_json() for p in ctx.device.profiles]


# --- firmware and account ---------------------------------------------------------------


@handles("version")
def _version(ctx: CallContext) -> object:
    return {"version": ctx.device.firmware_version}


@handles("pairings_me")
def _pairings_me(ctx: CallContext) -> object:
    return [
        {"id": device_id, "name": f"Trydan {device_id}", "deviceId": device_id}
        for device_id in ctx.device_ids
    ]

"""The 46 operations as typed builders of `Call`s, in SI units (sans-IO).

Each method validates its arguments and returns a `Call`; the async and the
sync client expose the same methods and only execute them, so the two can
never diverge. Arguments are SI (W, Wh, A) or name their unit (`minutes`);
conversion to the API's units (kWh) happens here.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from adapters.v2c_cloud.calls import Call, typed_call, typed_call_with_body
from adapters.v2c_cloud.errors import V2CValidationError
from adapters.v2c_cloud.models import (
    ChargeStatistic,
    CommandResult,
    Connected,
    CurrentStateCharge,
    FirmwareVersion,
    GlobalStatistic,
    Pairing,
    PowerProfile,
    Reported,
    RfidCard,
    WifiNetwork,
)
from optimizer.interfaces import PvMode

_command = CommandResult.from_api


def _kwh(operation: str, energy_wh: float) -> float:
    """Wh -> kWh for the API, refusing negative or non-finite energies."""
    if isinstance(energy_wh, bool) or not isinstance(energy_wh, int | float):
        raise V2CValidationError(f"{operation}: energy_wh must be a number of Wh")
    if not 0 <= energy_wh < float("inf"):
        raise V2CValidationError(f"{operation}: energy_wh must be >= 0 Wh, got {energy_wh!r}")
    return energy_wh / 1000.0


def _hhmm(operation: str, name: str, value: str | time) -> str:
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if not isinstance(value, str):
        raise V2CValidationError(f"{operation}: body field {name} must be HH:MM, got {value!r}")
    return value


def _profile_body(mode: str | None, value: int | None) -> dict[str, Any]:
    return {"mode": mode, "value": value}


class Operations:
    """Typed builders of every V2C Cloud call; stateless, so one instance serves all."""

    # --- charging control and configuration ---

    def startcharge(self, device_id: str) -> Call[CommandResult]:
        """Start or resume charging."""
        return typed_call("startcharge", _command, deviceId=device_id)

    def pausecharge(self, device_id: str) -> Call[CommandResult]:
        """Pause charging."""
        return typed_call("pausecharge", _command, deviceId=device_id)

    def intensity(self, device_id: str, amps: int) -> Call[CommandResult]:
        """Set the charging current setpoint (A, whole amps 6..32)."""
        return typed_call("intensity", _command, deviceId=device_id, value=amps)

    def locked(self, device_id: str, locked: bool) -> Call[CommandResult]:
        """Lock (True) or unlock (False) the charging point."""
        return typed_call("locked", _command, deviceId=device_id, value=locked)

    def dynamic(self, device_id: str, enabled: bool) -> Call[CommandResult]:
        """Switch dynamic power control (load balancing) on or off."""
        return typed_call("dynamic", _command, deviceId=device_id, value=enabled)

    def chargefvmode(self, device_id: str, mode: PvMode | int) -> Call[CommandResult]:
        """Set the PV mode: 0 PV + minimum, 1 exclusive PV, 2 maximum power."""
        return typed_call("chargefvmode", _command, deviceId=device_id, value=mode)

    def maxpower(self, device_id: str, power_w: float) -> Call[CommandResult]:
        """Set the installation's maximum power (W, whole watts >= 0)."""
        return typed_call("maxpower", _command, deviceId=device_id, value=power_w)

    def max_car_int(self, device_id: str, amps: int) -> Call[CommandResult]:
        """Set the car's maximum current (A, 6..32)."""
        return typed_call("max_car_int", _command, deviceId=device_id, value=amps)

    def min_car_int(self, device_id: str, amps: int) -> Call[CommandResult]:
        """Set the car's minimum current (A, 6..32)."""
        return typed_call("min_car_int", _command, deviceId=device_id, value=amps)

    def charger_until_energy(self, device_id: str, energy_wh: float) -> Call[CommandResult]:
        """Stop charging after `energy_wh` (Wh; sent to the API in kWh)."""
        kwh = _kwh("charger_until_energy", energy_wh)
        return typed_call("charger_until_energy", _command, deviceId=device_id, value=kwh)

    def charger_until_minutes(self, device_id: str, minutes: int) -> Call[CommandResult]:
        """Stop charging after `minutes` (whole minutes >= 0)."""
        return typed_call("charger_until_minutes", _command, deviceId=device_id, value=minutes)

    def startchargekw(self, device_id: str, energy_wh: float) -> Call[CommandResult]:
        """Start charging and stop after `energy_wh` (Wh; the API's `kw` is kWh)."""
        kwh = _kwh("startchargekw", energy_wh)
        return typed_call("startchargekw", _command, deviceId=device_id, kw=kwh)

    def startchargeminutes(self, device_id: str, minutes: int) -> Call[CommandResult]:
        """Start charging and stop after `minutes` (whole minutes >= 0)."""
        return typed_call("startchargeminutes", _command, deviceId=device_id, minutes=minutes)

    def timer(
        self,
        device_id: str,
        timer_id: int,
        start_time: str | time,
        end_time: str | time,
        active: bool,
    ) -> Call[CommandResult]:
        """Configure timer `timer_id` from `start_time` to `end_time` (HH:MM, local)."""
        body = {
            "start_time": _hhmm("timer", "start_time", start_time),
            "end_time": _hhmm("timer", "end_time", end_time),
            "active": active,
        }
        return typed_call_with_body("timer", _command, body, deviceId=device_id, timerId=timer_id)

    def thirdparty_mode(self, device_id: str, mode: int, value: int) -> Call[CommandResult]:
        """Set the third-party API control `mode` to `value`."""
        return typed_call("thirdparty_mode", _command, deviceId=device_id, mode=mode, value=value)

    def inst_type(self, device_id: str, installation_type: int) -> Call[CommandResult]:
        """Set the installation type: 0 monophase, 1 three-phase, 2 photovoltaic."""
        return typed_call("inst_type", _command, deviceId=device_id, value=installation_type)

    def ocpp(self, device_id: str, enabled: bool) -> Call[CommandResult]:
        """Switch OCPP on or off."""
        return typed_call("ocpp", _command, id=device_id, value=enabled)

    def ocpp_id(self, device_id: str, charge_point_id: str) -> Call[CommandResult]:
        """Set the OCPP charge point identifier."""
        return typed_call("ocpp_id", _command, id=device_id, value=charge_point_id)

    def ocpp_addr(self, device_id: str, url: str) -> Call[CommandResult]:
        """Set the central OCPP server's URL (ws:// or wss://)."""
        return typed_call("ocpp_addr", _command, id=device_id, value=url)

    def denka_max_power(self, device_id: str, power_w: float) -> Call[CommandResult]:
        """Set a Denka device's maximum power (W, whole watts >= 0)."""
        return typed_call("denka_max_power", _command, deviceId=device_id, value=power_w)

    def inverter_ip(self, device_id: str, ip: str) -> Call[CommandResult]:
        """Set the solar inverter's IPv4 address."""
        return typed_call("inverter_ip", _command, id=device_id, value=ip)

    def wifi(self, device_id: str, ssid: str, password: str) -> Call[CommandResult]:
        """Set the WiFi credentials; the password is redacted from all text."""
        return typed_call("wifi", _command, deviceId=device_id, ssid=ssid, password=password)

    def slave_type(self, device_id: str, meter_type: int) -> Call[CommandResult]:
        """Set the energy meter type (0 Shelly, 1 V2C v2, 3 Huawei, 4 Solax, ...)."""
        return typed_call("slave_type", _command, deviceId=device_id, value=meter_type)

    def language(self, device_id: str, language: int) -> Call[CommandResult]:
        """Set the display language (0 English, 1 Spanish, 2 Portuguese, ... 6)."""
        return typed_call("language", _command, deviceId=device_id, value=language)

    def logo_led(self, device_id: str, on: bool) -> Call[CommandResult]:
        """Switch the logo LED on or off."""
        return typed_call("logo_led", _command, deviceId=device_id, value=on)

    def reboot(self, device_id: str) -> Call[CommandResult]:
        """Reboot the charger."""
        return typed_call("reboot", _command, deviceId=device_id)

    # --- status ---

    def currentstatecharge(self, device_id: str) -> Call[CurrentStateCharge]:
        """Read the live state (SI units)."""
        return typed_call("currentstatecharge", CurrentStateCharge.from_api, deviceId=device_id)

    def reported(self, device_id: str) -> Call[Reported]:
        """Read the last reported ("shadow") state (SI units)."""
        return typed_call("reported", Reported.from_api, deviceId=device_id)

    def connected(self, device_id: str) -> Call[Connected]:
        """Ask whether the charger is connected to the cloud."""
        return typed_call("connected", Connected.from_api, deviceId=device_id)

    def wifilist(self, device_id: str) -> Call[list[WifiNetwork]]:
        """Scan the WiFi networks the charger sees."""
        return typed_call("wifilist", WifiNetwork.list_from_api, id=device_id)

    # --- RFID ---

    def rfid_learn(self, device_id: str, tag: str) -> Call[CommandResult]:
        """Learn the next card presented, naming it `tag`."""
        return typed_call("rfid_learn", _command, deviceId=device_id, tag=tag)

    def rfid_delete(self, device_id: str, code: str) -> Call[CommandResult]:
        """Delete the card with UID `code`."""
        return typed_call("rfid_delete", _command, deviceId=device_id, code=code)

    def rfid_list(self, device_id: str) -> Call[list[RfidCard]]:
        """List the registered cards."""
        return typed_call("rfid_list", RfidCard.list_from_api, deviceId=device_id)

    def rfid_tag_add(self, device_id: str, code: str, tag: str) -> Call[CommandResult]:
        """Register card `code` under the name `tag`."""
        return typed_call("rfid_tag_add", _command, deviceId=device_id, code=code, tag=tag)

    def rfid_tag_update(self, device_id: str, code: str, tag: str) -> Call[CommandResult]:
        """Rename card `code` to `tag`."""
        return typed_call("rfid_tag_update", _command, deviceId=device_id, code=code, tag=tag)

    def set_rfid(self, device_id: str, enabled: bool) -> Call[CommandResult]:
        """Switch the RFID reader on or off."""
        return typed_call("set_rfid", _command, deviceId=device_id, value=enabled)

    # --- statistics ---

    def stadistic_device(
        self, device_id: str, start: date | None = None, end: date | None = None
    ) -> Call[list[ChargeStatistic]]:
        """The device's last 5 sessions, optionally between two charge dates."""
        return typed_call(
            "stadistic_device",
            ChargeStatistic.list_from_api,
            deviceId=device_id,
            chargeDateStart=start,
            chargeDateEnd=end,
        )

    def stadistic_global_me(
        self, start: date | None = None, end: date | None = None
    ) -> Call[list[GlobalStatistic]]:
        """Account totals, optionally between two charge end dates."""
        return typed_call(
            "stadistic_global_me",
            GlobalStatistic.list_from_api,
            endChargeDateStart=start,
            endChargeDateEnd=end,
        )

    # --- personalized power profiles ---

    def personalicepower_create(
        self,
        device_id: str,
        name: str,
        updated_at: datetime | str,
        mode: str | None = None,
        value: int | None = None,
    ) -> Call[CommandResult]:
        """Create profile `name`, stamped `updated_at` (tz-aware datetime or ISO string)."""
        return typed_call_with_body(
            "personalicepower_create",
            _command,
            _profile_body(mode, value),
            deviceId=device_id,
            name=name,
            updateAt=updated_at,
        )

    def personalicepower_update(
        self,
        device_id: str,
        name: str,
        updated_at: datetime | str,
        mode: str | None = None,
        value: int | None = None,
    ) -> Call[CommandResult]:
        """Update profile `name`, stamped `updated_at`."""
        return typed_call_with_body(
            "personalicepower_update",
            _command,
            _profile_body(mode, value),
            id=device_id,
            name=name,
            updateAt=updated_at,
        )

    def personalicepower_get(
        self, device_id: str, updated_at: datetime | str
    ) -> Call[PowerProfile]:
        """The profile stamped `updated_at`."""
        return typed_call(
            "personalicepower_get", PowerProfile.from_api, deviceId=device_id, updateAt=updated_at
        )

    def personalicepower_delete(
        self, device_id: str, name: str, updated_at: datetime | str
    ) -> Call[CommandResult]:
        """Delete profile `name` stamped `updated_at`."""
        return typed_call(
            "personalicepower_delete",
            _command,
            deviceId=device_id,
            name=name,
            updateAt=updated_at,
        )

    def personalicepower_all(self, device_id: str) -> Call[list[PowerProfile]]:
        """Every profile of the device."""
        return typed_call("personalicepower_all", PowerProfile.list_from_api, deviceId=device_id)

    # --- firmware and account ---

    def firmware_update(self, device_id: str) -> Call[CommandResult]:
        """Search for and install the latest firmware."""
        return typed_call("firmware_update", _command, deviceId=device_id)

    def version(self, device_id: str) -> Call[FirmwareVersion]:
        """The firmware version."""
        return typed_call("version", FirmwareVersion.from_api, deviceId=device_id)

    def pairings_me(self) -> Call[list[Pairing]]:
        """The account's device pairings."""
        return typed_call("pairings_me", Pairing.list_from_api)


OPERATIONS = Operations()
"""The shared, stateless builder."""

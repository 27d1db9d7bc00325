"""The 46 operations, each declared once: typed SI arguments, docstring, result parser.

`Operations` is the one place an operation's Python face is written; both
clients inherit it, so `client.intensity(device_id, 16)` exists once for the
sync and the async client and the two can never diverge (see
`calls.Operation`). Path, method and every check come from `openapi.yaml` by
`operationId` (the attribute's name). Arguments are SI (W, Wh, A) or name
their unit (`minutes`); conversion to the API's units (kWh) happens here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from typing import Any, ParamSpec, TypeVar

from adapters.v2c_cloud import models as m
from adapters.v2c_cloud.calls import ApiArguments, Call, Operation, api_args
from adapters.v2c_cloud.endpoints import endpoint
from adapters.v2c_cloud.errors import V2CValidationError
from optimizer.interfaces import PvMode

P = ParamSpec("P")
T = TypeVar("T")


def command(arguments: Callable[P, ApiArguments]) -> Operation[P, m.CommandResult]:
    """Declare an operation that acts and answers `{"message": ...}`."""
    return Operation(arguments, m.CommandResult.from_api)


def returns(
    parse: Callable[[object], T],
) -> Callable[[Callable[P, ApiArguments]], Operation[P, T]]:
    """Declare an operation that answers data, read by `parse`."""

    def declare(arguments: Callable[P, ApiArguments]) -> Operation[P, T]:
        return Operation(arguments, parse)

    return declare


def device_command(doc: str) -> Operation[[str], m.CommandResult]:
    """Declare a command whose only argument is the device."""
    return device_only(m.CommandResult.from_api, doc)


def device_only(parse: Callable[[object], T], doc: str) -> Operation[[str], T]:
    """Declare an operation whose only argument is the device; `parse` reads the answer."""

    def arguments(device_id: str) -> ApiArguments:
        return api_args(device_id)

    arguments.__doc__ = doc
    return Operation(arguments, parse)


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
    """Every V2C Cloud operation, inherited by both clients.

    Each attribute is an `Operation`: one line for those whose only argument
    is the device, otherwise a function without `self` that maps its typed
    arguments to the API's. `Operations.intensity(device_id, 16)` builds the
    `Call`; `client.intensity(device_id, 16)` runs it.
    """

    # --- charging control and configuration ---

    startcharge = device_command("Start or resume charging.")
    pausecharge = device_command("Pause charging.")

    @command
    def intensity(device_id: str, amps: int) -> ApiArguments:
        """Set the charging current setpoint (A, whole amps 6..32)."""
        return api_args(device_id, value=amps)

    @command
    def locked(device_id: str, locked: bool) -> ApiArguments:
        """Lock (True) or unlock (False) the charging point."""
        return api_args(device_id, value=locked)

    @command
    def dynamic(device_id: str, enabled: bool) -> ApiArguments:
        """Switch dynamic power control (load balancing) on or off."""
        return api_args(device_id, value=enabled)

    @command
    def chargefvmode(device_id: str, mode: PvMode | int) -> ApiArguments:
        """Set the PV mode: 0 PV + minimum, 1 exclusive PV, 2 maximum power."""
        return api_args(device_id, value=mode)

    @command
    def maxpower(device_id: str, power_w: float) -> ApiArguments:
        """Set the installation's maximum power (W, whole watts >= 0)."""
        return api_args(device_id, value=power_w)

    @command
    def max_car_int(device_id: str, amps: int) -> ApiArguments:
        """Set the car's maximum current (A, 6..32)."""
        return api_args(device_id, value=amps)

    @command
    def min_car_int(device_id: str, amps: int) -> ApiArguments:
        """Set the car's minimum current (A, 6..32)."""
        return api_args(device_id, value=amps)

    @command
    def charger_until_energy(device_id: str, energy_wh: float) -> ApiArguments:
        """Stop charging after `energy_wh` (Wh; sent to the API in kWh)."""
        return api_args(device_id, value=_kwh("charger_until_energy", energy_wh))

    @command
    def charger_until_minutes(device_id: str, minutes: int) -> ApiArguments:
        """Stop charging after `minutes` (whole minutes >= 0)."""
        return api_args(device_id, value=minutes)

    @command
    def startchargekw(device_id: str, energy_wh: float) -> ApiArguments:
        """Start charging and stop after `energy_wh` (Wh; the API's `kw` is kWh)."""
        return api_args(device_id, kw=_kwh("startchargekw", energy_wh))

    @command
    def startchargeminutes(device_id: str, minutes: int) -> ApiArguments:
        """Start charging and stop after `minutes` (whole minutes >= 0)."""
        return api_args(device_id, minutes=minutes)

    @command
    def timer(
        device_id: str, timer_id: int, start_time: str | time, end_time: str | time, active: bool
    ) -> ApiArguments:
        """Configure timer `timer_id` from `start_time` to `end_time` (HH:MM, local)."""
        body = {
            "start_time": _hhmm("timer", "start_time", start_time),
            "end_time": _hhmm("timer", "end_time", end_time),
            "active": active,
        }
        return api_args(device_id, timerId=timer_id, body=body)

    @command
    def thirdparty_mode(device_id: str, mode: int, value: int) -> ApiArguments:
        """Set the third-party API control `mode` to `value`."""
        return api_args(device_id, mode=mode, value=value)

    @command
    def inst_type(device_id: str, installation_type: int) -> ApiArguments:
        """Set the installation type: 0 monophase, 1 three-phase, 2 photovoltaic."""
        return api_args(device_id, value=installation_type)

    @command
    def ocpp(device_id: str, enabled: bool) -> ApiArguments:
        """Switch OCPP on or off."""
        return api_args(device_id, value=enabled)

    @command
    def ocpp_id(device_id: str, charge_point_id: str) -> ApiArguments:
        """Set the OCPP charge point identifier."""
        return api_args(device_id, value=charge_point_id)

    @command
    def ocpp_addr(device_id: str, url: str) -> ApiArguments:
        """Set the central OCPP server's URL (ws:// or wss://)."""
        return api_args(device_id, value=url)

    @command
    def denka_max_power(device_id: str, power_w: float) -> ApiArguments:
        """Set a Denka device's maximum power (W, whole watts >= 0)."""
        return api_args(device_id, value=power_w)

    @command
    def inverter_ip(device_id: str, ip: str) -> ApiArguments:
        """Set the solar inverter's IPv4 address."""
        return api_args(device_id, value=ip)

    @command
    def wifi(device_id: str, ssid: str, password: str) -> ApiArguments:
        """Set the WiFi credentials; the password is redacted from all text."""
        return api_args(device_id, ssid=ssid, password=password)

    @command
    def slave_type(device_id: str, meter_type: int) -> ApiArguments:
        """Set the energy meter type (0 Shelly, 1 V2C v2, 3 Huawei, 4 Solax, ...)."""
        return api_args(device_id, value=meter_type)

    @command
    def language(device_id: str, language: int) -> ApiArguments:
        """Set the display language (0 English, 1 Spanish, 2 Portuguese, ... 6)."""
        return api_args(device_id, value=language)

    @command
    def logo_led(device_id: str, on: bool) -> ApiArguments:
        """Switch the logo LED on or off."""
        return api_args(device_id, value=on)

    reboot = device_command("Reboot the charger.")

    # --- status ---

    currentstatecharge = device_only(
        m.CurrentStateCharge.from_api, "Read the live state (SI units)."
    )

    reported = device_only(
        m.Reported.from_api, 'Read the last reported ("shadow") state (SI units).'
    )

    connected = device_only(
        m.Connected.from_api, "Ask whether the charger is connected to the cloud."
    )

    wifilist = device_only(m.WifiNetwork.list_from_api, "Scan the WiFi networks the charger sees.")

    # --- RFID ---

    @command
    def rfid_learn(device_id: str, tag: str) -> ApiArguments:
        """Learn the next card presented, naming it `tag`."""
        return api_args(device_id, tag=tag)

    @command
    def rfid_delete(device_id: str, code: str) -> ApiArguments:
        """Delete the card with UID `code`."""
        return api_args(device_id, code=code)

    rfid_list = device_only(m.RfidCard.list_from_api, "List the registered cards.")

    @command
    def rfid_tag_add(device_id: str, code: str, tag: str) -> ApiArguments:
        """Register card `code` under the name `tag`."""
        return api_args(device_id, code=code, tag=tag)

    @command
    def rfid_tag_update(device_id: str, code: str, tag: str) -> ApiArguments:
        """Rename card `code` to `tag`."""
        return api_args(device_id, code=code, tag=tag)

    @command
    def set_rfid(device_id: str, enabled: bool) -> ApiArguments:
        """Switch the RFID reader on or off."""
        return api_args(device_id, value=enabled)

    # --- statistics ---

    @returns(m.ChargeStatistic.list_from_api)
    def stadistic_device(
        device_id: str, start: date | None = None, end: date | None = None
    ) -> ApiArguments:
        """The device's last 5 sessions, optionally between two charge dates."""
        return api_args(device_id, chargeDateStart=start, chargeDateEnd=end)

    @returns(m.GlobalStatistic.list_from_api)
    def stadistic_global_me(start: date | None = None, end: date | None = None) -> ApiArguments:
        """Account totals, optionally between two charge end dates."""
        return api_args(endChargeDateStart=start, endChargeDateEnd=end)

    # --- personalized power profiles ---

    @command
    def personalicepower_create(
        device_id: str,
        name: str,
        updated_at: datetime | str,
        mode: str | None = None,
        value: int | None = None,
    ) -> ApiArguments:
        """Create profile `name`, stamped `updated_at` (tz-aware datetime or ISO string)."""
        body = _profile_body(mode, value)
        return api_args(device_id, name=name, updateAt=updated_at, body=body)

    @command
    def personalicepower_update(
        device_id: str,
        name: str,
        updated_at: datetime | str,
        mode: str | None = None,
        value: int | None = None,
    ) -> ApiArguments:
        """Update profile `name`, stamped `updated_at`."""
        body = _profile_body(mode, value)
        return api_args(device_id, name=name, updateAt=updated_at, body=body)

    @returns(m.PowerProfile.from_api)
    def personalicepower_get(device_id: str, updated_at: datetime | str) -> ApiArguments:
        """The profile stamped `updated_at`."""
        return api_args(device_id, updateAt=updated_at)

    @command
    def personalicepower_delete(
        device_id: str, name: str, updated_at: datetime | str
    ) -> ApiArguments:
        """Delete profile `name` stamped `updated_at`."""
        return api_args(device_id, name=name, updateAt=updated_at)

    personalicepower_all = device_only(m.PowerProfile.list_from_api, "Every profile of the device.")

    # --- firmware and account ---

    firmware_update = device_command("Search for and install the latest firmware.")

    version = device_only(m.FirmwareVersion.from_api, "The firmware version.")

    @returns(m.Pairing.list_from_api)
    def pairings_me() -> ApiArguments:
        """The account's device pairings."""
        return api_args()


OPERATIONS: Mapping[str, Operation[..., Any]] = {
    name: op for name, op in vars(Operations).items() if isinstance(op, Operation)
}
"""Every declared operation by `operationId`."""


def build_call(
    operation_id: str,
    query: Mapping[str, object] | None = None,
    body: Mapping[str, Any] | None = None,
) -> Call[Any]:
    """Validate arguments (API names and units) for `operation_id` and return the call.

    Raises V2CValidationError for anything the spec refuses; KeyError for an
    unknown operation.
    """
    endpoint(operation_id)  # an unknown id raises KeyError naming it
    return OPERATIONS[operation_id].from_api_args(ApiArguments(query or {}, body))

"""`V2CClient`: the synchronous twin of `AsyncV2CClient` (notebooks, the CLI, the daemon).

Same methods, same arguments, same results and errors: both drive the same
sans-IO `Engine` and build calls with the same `Operations`; only the I/O
(`httpx.Client`, `time.sleep`) differs.

    with V2CClient() as client:                     # key from V2C_API_KEY
        state = client.currentstatecharge("DEVICE")
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import SecretStr

from adapters.v2c_cloud.base import DEFAULT_TIMEOUT_S, ClientBase
from adapters.v2c_cloud.calls import Call, build_call
from adapters.v2c_cloud.endpoints import DEFAULT_BASE_URL
from adapters.v2c_cloud.engine import (
    HttpRequest,
    HttpResponse,
    RetryPolicy,
    Sleep,
    TransportFailure,
)
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
from optimizer.interfaces import CallListener, PvMode

T = TypeVar("T")


class V2CClient(ClientBase):
    """Synchronous V2C Cloud client; see `AsyncV2CClient` for the arguments.

    `sleep` is how retries wait (s); tests inject a recorder.
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        on_call: CallListener | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = _time.sleep,
    ) -> None:
        super().__init__(
            api_key, base_url=base_url, timeout=timeout, retry=retry, on_call=on_call, clock=clock
        )
        self._sleep = sleep
        self._http = httpx.Client(base_url=self.base_url, timeout=self.timeout, transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def send(self, call: Call[T]) -> T:
        """Execute a prepared call (from `client.ops` or `build_call`) and return its result."""
        steps = self._engine.run(call)
        action = next(steps)
        while True:
            try:
                if isinstance(action, Sleep):
                    self._sleep(action.seconds)
                    action = steps.send(None)
                else:
                    action = steps.send(self._exchange(action))
            except StopIteration as done:
                result: T = done.value
                return result

    def request(
        self,
        operation_id: str,
        query: Mapping[str, object] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call any operation by `operationId`; arguments in API names and units (the CLI)."""
        return self.send(build_call(operation_id, query, body))

    def _exchange(self, request: HttpRequest) -> HttpResponse | TransportFailure:
        started = _time.monotonic()
        try:
            response = self._http.request(
                request.method,
                request.path,
                params=request.params,
                json=request.json,
                headers=request.headers,
            )
        except httpx.TimeoutException as exc:
            return TransportFailure(
                True, f"{type(exc).__name__}: {exc}", _time.monotonic() - started
            )
        except httpx.TransportError as exc:
            return TransportFailure(
                False, f"{type(exc).__name__}: {exc}", _time.monotonic() - started
            )
        return HttpResponse(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=response.content,
            latency_s=_time.monotonic() - started,
        )

    def startcharge(self, device_id: str) -> CommandResult:
        """Start or resume charging."""
        return self.send(self.ops.startcharge(device_id))

    def pausecharge(self, device_id: str) -> CommandResult:
        """Pause charging."""
        return self.send(self.ops.pausecharge(device_id))

    def intensity(self, device_id: str, amps: int) -> CommandResult:
        """Set the charging current setpoint (A, whole amps 6..32)."""
        return self.send(self.ops.intensity(device_id, amps))

    def locked(self, device_id: str, locked: bool) -> CommandResult:
        """Lock (True) or unlock (False) the charging point."""
        return self.send(self.ops.locked(device_id, locked))

    def dynamic(self, device_id: str, enabled: bool) -> CommandResult:
        """Switch dynamic power control (load balancing) on or off."""
        return self.send(self.ops.dynamic(device_id, enabled))

    def chargefvmode(self, device_id: str, mode: PvMode | int) -> CommandResult:
        """Set the PV mode: 0 PV + minimum, 1 exclusive PV, 2 maximum power."""
        return self.send(self.ops.chargefvmode(device_id, mode))

    def maxpower(self, device_id: str, power_w: float) -> CommandResult:
        """Set the installation's maximum power (W, whole watts >= 0)."""
        return self.send(self.ops.maxpower(device_id, power_w))

    def max_car_int(self, device_id: str, amps: int) -> CommandResult:
        """Set the car's maximum current (A, 6..32)."""
        return self.send(self.ops.max_car_int(device_id, amps))

    def min_car_int(self, device_id: str, amps: int) -> CommandResult:
        """Set the car's minimum current (A, 6..32)."""
        return self.send(self.ops.min_car_int(device_id, amps))

    def charger_until_energy(self, device_id: str, energy_wh: float) -> CommandResult:
        """Stop charging after `energy_wh` (Wh; sent to the API in kWh)."""
        return self.send(self.ops.charger_until_energy(device_id, energy_wh))

    def charger_until_minutes(self, device_id: str, minutes: int) -> CommandResult:
        """Stop charging after `minutes` (whole minutes >= 0)."""
        return self.send(self.ops.charger_until_minutes(device_id, minutes))

    def startchargekw(self, device_id: str, energy_wh: float) -> CommandResult:
        """Start charging and stop after `energy_wh` (Wh; the API's `kw` is kWh)."""
        return self.send(self.ops.startchargekw(device_id, energy_wh))

    def startchargeminutes(self, device_id: str, minutes: int) -> CommandResult:
        """Start charging and stop after `minutes` (whole minutes >= 0)."""
        return self.send(self.ops.startchargeminutes(device_id, minutes))

    def timer(
        self,
        device_id: str,
        timer_id: int,
        start_time: str | time,
        end_time: str | time,
        active: bool,
    ) -> CommandResult:
        """Configure timer `timer_id` from `start_time` to `end_time` (HH:MM, local)."""
        return self.send(self.ops.timer(device_id, timer_id, start_time, end_time, active))

    def thirdparty_mode(self, device_id: str, mode: int, value: int) -> CommandResult:
        """Set the third-party API control `mode` to `value`."""
        return self.send(self.ops.thirdparty_mode(device_id, mode, value))

    def inst_type(self, device_id: str, installation_type: int) -> CommandResult:
        """Set the installation type: 0 monophase, 1 three-phase, 2 photovoltaic."""
        return self.send(self.ops.inst_type(device_id, installation_type))

    def ocpp(self, device_id: str, enabled: bool) -> CommandResult:
        """Switch OCPP on or off."""
        return self.send(self.ops.ocpp(device_id, enabled))

    def ocpp_id(self, device_id: str, charge_point_id: str) -> CommandResult:
        """Set the OCPP charge point identifier."""
        return self.send(self.ops.ocpp_id(device_id, charge_point_id))

    def ocpp_addr(self, device_id: str, url: str) -> CommandResult:
        """Set the central OCPP server's URL (ws:// or wss://)."""
        return self.send(self.ops.ocpp_addr(device_id, url))

    def denka_max_power(self, device_id: str, power_w: float) -> CommandResult:
        """Set a Denka device's maximum power (W, whole watts >= 0)."""
        return self.send(self.ops.denka_max_power(device_id, power_w))

    def inverter_ip(self, device_id: str, ip: str) -> CommandResult:
        """Set the solar inverter's IPv4 address."""
        return self.send(self.ops.inverter_ip(device_id, ip))

    def wifi(self, device_id: str, ssid: str, password: str) -> CommandResult:
        """Set the WiFi credentials; the password is redacted from all text."""
        return self.send(self.ops.wifi(device_id, ssid, password))

    def slave_type(self, device_id: str, meter_type: int) -> CommandResult:
        """Set the energy meter type (0 Shelly, 1 V2C v2, 3 Huawei, 4 Solax, ...)."""
        return self.send(self.ops.slave_type(device_id, meter_type))

    def language(self, device_id: str, language: int) -> CommandResult:
        """Set the display language (0 English, 1 Spanish, 2 Portuguese, ... 6)."""
        return self.send(self.ops.language(device_id, language))

    def logo_led(self, device_id: str, on: bool) -> CommandResult:
        """Switch the logo LED on or off."""
        return self.send(self.ops.logo_led(device_id, on))

    def reboot(self, device_id: str) -> CommandResult:
        """Reboot the charger."""
        return self.send(self.ops.reboot(device_id))

    def currentstatecharge(self, device_id: str) -> CurrentStateCharge:
        """Read the live state (SI units)."""
        return self.send(self.ops.currentstatecharge(device_id))

    def reported(self, device_id: str) -> Reported:
        """Read the last reported ("shadow") state (SI units)."""
        return self.send(self.ops.reported(device_id))

    def connected(self, device_id: str) -> Connected:
        """Ask whether the charger is connected to the cloud."""
        return self.send(self.ops.connected(device_id))

    def wifilist(self, device_id: str) -> list[WifiNetwork]:
        """Scan the WiFi networks the charger sees."""
        return self.send(self.ops.wifilist(device_id))

    def rfid_learn(self, device_id: str, tag: str) -> CommandResult:
        """Learn the next card presented, naming it `tag`."""
        return self.send(self.ops.rfid_learn(device_id, tag))

    def rfid_delete(self, device_id: str, code: str) -> CommandResult:
        """Delete the card with UID `code`."""
        return self.send(self.ops.rfid_delete(device_id, code))

    def rfid_list(self, device_id: str) -> list[RfidCard]:
        """List the registered cards."""
        return self.send(self.ops.rfid_list(device_id))

    def rfid_tag_add(self, device_id: str, code: str, tag: str) -> CommandResult:
        """Register card `code` under the name `tag`."""
        return self.send(self.ops.rfid_tag_add(device_id, code, tag))

    def rfid_tag_update(self, device_id: str, code: str, tag: str) -> CommandResult:
        """Rename card `code` to `tag`."""
        return self.send(self.ops.rfid_tag_update(device_id, code, tag))

    def set_rfid(self, device_id: str, enabled: bool) -> CommandResult:
        """Switch the RFID reader on or off."""
        return self.send(self.ops.set_rfid(device_id, enabled))

    def stadistic_device(
        self, device_id: str, start: date | None = None, end: date | None = None
    ) -> list[ChargeStatistic]:
        """The device's last 5 sessions, optionally between two charge dates."""
        return self.send(self.ops.stadistic_device(device_id, start, end))

    def stadistic_global_me(
        self, start: date | None = None, end: date | None = None
    ) -> list[GlobalStatistic]:
        """Account totals, optionally between two charge end dates."""
        return self.send(self.ops.stadistic_global_me(start, end))

    def personalicepower_create(
        self,
        device_id: str,
        name: str,
        updated_at: datetime | str,
        mode: str | None = None,
        value: int | None = None,
    ) -> CommandResult:
        """Create profile `name`, stamped `updated_at` (tz-aware datetime or ISO string)."""
        return self.send(self.ops.personalicepower_create(device_id, name, updated_at, mode, value))

    def personalicepower_update(
        self,
        device_id: str,
        name: str,
        updated_at: datetime | str,
        mode: str | None = None,
        value: int | None = None,
    ) -> CommandResult:
        """Update profile `name`, stamped `updated_at`."""
        return self.send(self.ops.personalicepower_update(device_id, name, updated_at, mode, value))

    def personalicepower_get(self, device_id: str, updated_at: datetime | str) -> PowerProfile:
        """The profile stamped `updated_at`."""
        return self.send(self.ops.personalicepower_get(device_id, updated_at))

    def personalicepower_delete(
        self, device_id: str, name: str, updated_at: datetime | str
    ) -> CommandResult:
        """Delete profile `name` stamped `updated_at`."""
        return self.send(self.ops.personalicepower_delete(device_id, name, updated_at))

    def personalicepower_all(self, device_id: str) -> list[PowerProfile]:
        """Every profile of the device."""
        return self.send(self.ops.personalicepower_all(device_id))

    def firmware_update(self, device_id: str) -> CommandResult:
        """Search for and install the latest firmware."""
        return self.send(self.ops.firmware_update(device_id))

    def version(self, device_id: str) -> FirmwareVersion:
        """The firmware version."""
        return self.send(self.ops.version(device_id))

    def pairings_me(self) -> list[Pairing]:
        """The account's device pairings."""
        return self.send(self.ops.pairings_me())

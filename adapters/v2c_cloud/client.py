"""`AsyncV2CClient`: the V2C Cloud API over `httpx.AsyncClient`, one method per operation.

Every method validates its arguments before sending (a bad value costs no
call), sends the `apikey` header, and returns a typed result in SI units.
All logic (retries, path fallback, quota, ledger, errors) lives in the sans-IO
`Engine`; this class only moves bytes. Use it as an async context manager, or
call `aclose()`.

    async with AsyncV2CClient() as client:          # key from V2C_API_KEY
        state = await client.currentstatecharge("DEVICE")
        await client.intensity("DEVICE", 16)
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
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


class AsyncV2CClient(ClientBase):
    """Asynchronous V2C Cloud client.

    `transport` replaces the network (`httpx.MockTransport`, respx, the
    simulator's ASGI app); `timeout` is per request (s); `retry` bounds the
    retries of reads; `on_call` receives an `ApiCall` for every attempt.
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        on_call: CallListener | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(
            api_key, base_url=base_url, timeout=timeout, retry=retry, on_call=on_call, clock=clock
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=self.timeout, transport=transport
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def send(self, call: Call[T]) -> T:
        """Execute a prepared call (from `client.ops` or `build_call`) and return its result."""
        steps = self._engine.run(call)
        action = next(steps)
        while True:
            try:
                if isinstance(action, Sleep):
                    await anyio.sleep(action.seconds)
                    action = steps.send(None)
                else:
                    action = steps.send(await self._exchange(action))
            except StopIteration as done:
                result: T = done.value
                return result

    async def request(
        self,
        operation_id: str,
        query: Mapping[str, object] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call any operation by `operationId`; arguments in API names and units (the CLI)."""
        return await self.send(build_call(operation_id, query, body))

    async def _exchange(self, request: HttpRequest) -> HttpResponse | TransportFailure:
        started = _time.monotonic()
        try:
            response = await self._http.request(
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

    async def startcharge(self, device_id: str) -> CommandResult:
        """Start or resume charging."""
        return await self.send(self.ops.startcharge(device_id))

    async def pausecharge(self, device_id: str) -> CommandResult:
        """Pause charging."""
        return await self.send(self.ops.pausecharge(device_id))

    async def intensity(self, device_id: str, amps: int) -> CommandResult:
        """Set the charging current setpoint (A, whole amps 6..32)."""
        return await self.send(self.ops.intensity(device_id, amps))

    async def locked(self, device_id: str, locked: bool) -> CommandResult:
        """Lock (True) or unlock (False) the charging point."""
        return await self.send(self.ops.locked(device_id, locked))

    async def dynamic(self, device_id: str, enabled: bool) -> CommandResult:
        """Switch dynamic power control (load balancing) on or off."""
        return await self.send(self.ops.dynamic(device_id, enabled))

    async def chargefvmode(self, device_id: str, mode: PvMode | int) -> CommandResult:
        """Set the PV mode: 0 PV + minimum, 1 exclusive PV, 2 maximum power."""
        return await self.send(self.ops.chargefvmode(device_id, mode))

    async def maxpower(self, device_id: str, power_w: float) -> CommandResult:
        """Set the installation's maximum power (W, whole watts >= 0)."""
        return await self.send(self.ops.maxpower(device_id, power_w))

    async def max_car_int(self, device_id: str, amps: int) -> CommandResult:
        """Set the car's maximum current (A, 6..32)."""
        return await self.send(self.ops.max_car_int(device_id, amps))

    async def min_car_int(self, device_id: str, amps: int) -> CommandResult:
        """Set the car's minimum current (A, 6..32)."""
        return await self.send(self.ops.min_car_int(device_id, amps))

    async def charger_until_energy(self, device_id: str, energy_wh: float) -> CommandResult:
        """Stop charging after `energy_wh` (Wh; sent to the API in kWh)."""
        return await self.send(self.ops.charger_until_energy(device_id, energy_wh))

    async def charger_until_minutes(self, device_id: str, minutes: int) -> CommandResult:
        """Stop charging after `minutes` (whole minutes >= 0)."""
        return await self.send(self.ops.charger_until_minutes(device_id, minutes))

    async def startchargekw(self, device_id: str, energy_wh: float) -> CommandResult:
        """Start charging and stop after `energy_wh` (Wh; the API's `kw` is kWh)."""
        return await self.send(self.ops.startchargekw(device_id, energy_wh))

    async def startchargeminutes(self, device_id: str, minutes: int) -> CommandResult:
        """Start charging and stop after `minutes` (whole minutes >= 0)."""
        return await self.send(self.ops.startchargeminutes(device_id, minutes))

    async def timer(
        self,
        device_id: str,
        timer_id: int,
        start_time: str | time,
        end_time: str | time,
        active: bool,
    ) -> CommandResult:
        """Configure timer `timer_id` from `start_time` to `end_time` (HH:MM, local)."""
        return await self.send(self.ops.timer(device_id, timer_id, start_time, end_time, active))

    async def thirdparty_mode(self, device_id: str, mode: int, value: int) -> CommandResult:
        """Set the third-party API control `mode` to `value`."""
        return await self.send(self.ops.thirdparty_mode(device_id, mode, value))

    async def inst_type(self, device_id: str, installation_type: int) -> CommandResult:
        """Set the installation type: 0 monophase, 1 three-phase, 2 photovoltaic."""
        return await self.send(self.ops.inst_type(device_id, installation_type))

    async def ocpp(self, device_id: str, enabled: bool) -> CommandResult:
        """Switch OCPP on or off."""
        return await self.send(self.ops.ocpp(device_id, enabled))

    async def ocpp_id(self, device_id: str, charge_point_id: str) -> CommandResult:
        """Set the OCPP charge point identifier."""
        return await self.send(self.ops.ocpp_id(device_id, charge_point_id))

    async def ocpp_addr(self, device_id: str, url: str) -> CommandResult:
        """Set the central OCPP server's URL (ws:// or wss://)."""
        return await self.send(self.ops.ocpp_addr(device_id, url))

    async def denka_max_power(self, device_id: str, power_w: float) -> CommandResult:
        """Set a Denka device's maximum power (W, whole watts >= 0)."""
        return await self.send(self.ops.denka_max_power(device_id, power_w))

    async def inverter_ip(self, device_id: str, ip: str) -> CommandResult:
        """Set the solar inverter's IPv4 address."""
        return await self.send(self.ops.inverter_ip(device_id, ip))

    async def wifi(self, device_id: str, ssid: str, password: str) -> CommandResult:
        """Set the WiFi credentials; the password is redacted from all text."""
        return await self.send(self.ops.wifi(device_id, ssid, password))

    async def slave_type(self, device_id: str, meter_type: int) -> CommandResult:
        """Set the energy meter type (0 Shelly, 1 V2C v2, 3 Huawei, 4 Solax, ...)."""
        return await self.send(self.ops.slave_type(device_id, meter_type))

    async def language(self, device_id: str, language: int) -> CommandResult:
        """Set the display language (0 English, 1 Spanish, 2 Portuguese, ... 6)."""
        return await self.send(self.ops.language(device_id, language))

    async def logo_led(self, device_id: str, on: bool) -> CommandResult:
        """Switch the logo LED on or off."""
        return await self.send(self.ops.logo_led(device_id, on))

    async def reboot(self, device_id: str) -> CommandResult:
        """Reboot the charger."""
        return await self.send(self.ops.reboot(device_id))

    async def currentstatecharge(self, device_id: str) -> CurrentStateCharge:
        """Read the live state (SI units)."""
        return await self.send(self.ops.currentstatecharge(device_id))

    async def reported(self, device_id: str) -> Reported:
        """Read the last reported ("shadow") state (SI units)."""
        return await self.send(self.ops.reported(device_id))

    async def connected(self, device_id: str) -> Connected:
        """Ask whether the charger is connected to the cloud."""
        return await self.send(self.ops.connected(device_id))

    async def wifilist(self, device_id: str) -> list[WifiNetwork]:
        """Scan the WiFi networks the charger sees."""
        return await self.send(self.ops.wifilist(device_id))

    async def rfid_learn(self, device_id: str, tag: str) -> CommandResult:
        """Learn the next card presented, naming it `tag`."""
        return await self.send(self.ops.rfid_learn(device_id, tag))

    async def rfid_delete(self, device_id: str, code: str) -> CommandResult:
        """Delete the card with UID `code`."""
        return await self.send(self.ops.rfid_delete(device_id, code))

    async def rfid_list(self, device_id: str) -> list[RfidCard]:
        """List the registered cards."""
        return await self.send(self.ops.rfid_list(device_id))

    async def rfid_tag_add(self, device_id: str, code: str, tag: str) -> CommandResult:
        """Register card `code` under the name `tag`."""
        return await self.send(self.ops.rfid_tag_add(device_id, code, tag))

    async def rfid_tag_update(self, device_id: str, code: str, tag: str) -> CommandResult:
        """Rename card `code` to `tag`."""
        return await self.send(self.ops.rfid_tag_update(device_id, code, tag))

    async def set_rfid(self, device_id: str, enabled: bool) -> CommandResult:
        """Switch the RFID reader on or off."""
        return await self.send(self.ops.set_rfid(device_id, enabled))

    async def stadistic_device(
        self, device_id: str, start: date | None = None, end: date | None = None
    ) -> list[ChargeStatistic]:
        """The device's last 5 sessions, optionally between two charge dates."""
        return await self.send(self.ops.stadistic_device(device_id, start, end))

    async def stadistic_global_me(
        self, start: date | None = None, end: date | None = None
    ) -> list[GlobalStatistic]:
        """Account totals, optionally between two charge end dates."""
        return await self.send(self.ops.stadistic_global_me(start, end))

    async def personalicepower_create(
        self,
        device_id: str,
        name: str,
        updated_at: datetime | str,
        mode: str | None = None,
        value: int | None = None,
    ) -> CommandResult:
        """Create profile `name`, stamped `updated_at` (tz-aware datetime or ISO string)."""
        return await self.send(
            self.ops.personalicepower_create(device_id, name, updated_at, mode, value)
        )

    async def personalicepower_update(
        self,
        device_id: str,
        name: str,
        updated_at: datetime | str,
        mode: str | None = None,
        value: int | None = None,
    ) -> CommandResult:
        """Update profile `name`, stamped `updated_at`."""
        return await self.send(
            self.ops.personalicepower_update(device_id, name, updated_at, mode, value)
        )

    async def personalicepower_get(
        self, device_id: str, updated_at: datetime | str
    ) -> PowerProfile:
        """The profile stamped `updated_at`."""
        return await self.send(self.ops.personalicepower_get(device_id, updated_at))

    async def personalicepower_delete(
        self, device_id: str, name: str, updated_at: datetime | str
    ) -> CommandResult:
        """Delete profile `name` stamped `updated_at`."""
        return await self.send(self.ops.personalicepower_delete(device_id, name, updated_at))

    async def personalicepower_all(self, device_id: str) -> list[PowerProfile]:
        """Every profile of the device."""
        return await self.send(self.ops.personalicepower_all(device_id))

    async def firmware_update(self, device_id: str) -> CommandResult:
        """Search for and install the latest firmware."""
        return await self.send(self.ops.firmware_update(device_id))

    async def version(self, device_id: str) -> FirmwareVersion:
        """The firmware version."""
        return await self.send(self.ops.version(device_id))

    async def pairings_me(self) -> list[Pairing]:
        """The account's device pairings."""
        return await self.send(self.ops.pairings_me())

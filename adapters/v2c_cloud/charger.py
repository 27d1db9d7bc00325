"""`CloudCharger`: the controller's `Charger` port over the synchronous V2C client.

Each method is exactly one client call (plus the client's own bounded read
retries); every attempt reaches the client's `on_call` ledger. Client errors
become the port's `ChargerError` family, so the controller never sees httpx
or V2C types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from adapters.v2c_cloud.errors import (
    V2CAuthError,
    V2CError,
    V2CHTTPError,
    V2CRateLimited,
    V2CResponseError,
    V2CTransportError,
    V2CValidationError,
)
from adapters.v2c_cloud.models import CurrentStateCharge
from adapters.v2c_cloud.sync import V2CClient
from optimizer.interfaces import (
    NOMINAL_VOLTAGE_V,
    Charger,
    ChargerAuthError,
    ChargerError,
    ChargerRateLimited,
    ChargerReading,
    PvMode,
)


@contextmanager
def charger_errors() -> Iterator[None]:
    """Translate V2C client errors into the `Charger` port's errors.

    401 -> ChargerAuthError; 429 -> ChargerRateLimited (with the reset delay
    when known); bad arguments and other 4xx -> not retryable; 5xx, transport
    failures and unreadable answers -> retryable.
    """
    try:
        yield
    except V2CAuthError as exc:
        raise ChargerAuthError(str(exc)) from exc
    except V2CRateLimited as exc:
        raise ChargerRateLimited(str(exc), reset_s=exc.retry_after_s) from exc
    except V2CHTTPError as exc:
        raise ChargerError(str(exc), retryable=exc.status >= 500) from exc
    except V2CValidationError as exc:
        raise ChargerError(str(exc), retryable=False) from exc
    except (V2CTransportError, V2CResponseError) as exc:
        raise ChargerError(str(exc), retryable=True) from exc
    except V2CError as exc:
        raise ChargerError(str(exc), retryable=True) from exc


def to_reading(state: CurrentStateCharge, device_id: str, time: datetime) -> ChargerReading:
    """A `ChargerReading` from a parsed `currentstatecharge`.

    `charge_state` and the powers are essential: without them the controller
    would act on invented numbers, so their absence is an error. Voltage
    defaults to the nominal 230 V, phases to 1, counters, error code and the home
    battery's power (`battery`, + discharging) to 0.
    """
    missing = [
        api_name
        for api_name, value in (
            ("charge_state", state.charge_state),
            ("power", state.car_power_w),
            ("sun_power", state.pv_power_w),
            ("house_power", state.house_power_w),
        )
        if value is None
    ]
    if missing or state.charge_state is None or state.charge_state_code is None:
        raise V2CResponseError(
            f"currentstatecharge: field {missing[0]!r} is missing", field=missing[0]
        )
    return ChargerReading(
        time=time,
        device_id=device_id,
        charge_state=state.charge_state,
        charge_state_code=state.charge_state_code,
        car_power_w=state.car_power_w or 0.0,
        pv_power_w=state.pv_power_w or 0.0,
        house_power_w=state.house_power_w or 0.0,
        current_setpoint_a=state.current_setpoint_a or 0.0,
        phases=state.phases or 1,
        voltage_v=state.voltage_v or NOMINAL_VOLTAGE_V,
        session_energy_wh=state.session_energy_wh or 0.0,
        session_seconds=state.session_seconds or 0.0,
        error_code=state.error_code or 0,
        pv_regulation_on=state.pv_regulation_on,
        battery_w=state.battery_power_w or 0.0,
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


NO_LIMIT_WH = 250_000
"""The energy limit (Wh) that lifts one: 250 kWh, more than any car's battery takes in a
session."""


class CloudCharger(Charger):
    """One Trydan reached through the V2C Cloud (implements `optimizer.interfaces.Charger`).

    `clock` stamps readings (tz-aware UTC); pass the world's clock in simulations.
    """

    def __init__(
        self,
        client: V2CClient,
        device_id: str,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not device_id or not device_id.strip():
            raise ValueError("CloudCharger: device_id must not be empty")
        self._client = client
        self._device_id = device_id
        self._clock = clock or _utc_now

    def __repr__(self) -> str:
        return f"CloudCharger(device_id={self._device_id!r})"

    @property
    def device_id(self) -> str:
        """The charger's V2C device ID."""
        return self._device_id

    def read(self) -> ChargerReading:
        """The live state (`currentstatecharge`), in SI units."""
        with charger_errors():
            state = self._client.currentstatecharge(self._device_id)
            return to_reading(state, self._device_id, self._clock())

    def set_current(self, amps: int) -> None:
        """Set the current setpoint (A, whole amps 6..32; `intensity`)."""
        with charger_errors():
            self._client.intensity(self._device_id, amps)

    def set_pv_mode(self, mode: PvMode) -> None:
        """Set the charger's own sun-following mode (`chargefvmode`)."""
        with charger_errors():
            self._client.chargefvmode(self._device_id, mode)

    def start(self) -> None:
        """Start or resume charging (`startcharge`)."""
        with charger_errors():
            self._client.startcharge(self._device_id)

    def pause(self) -> None:
        """Pause charging (`pausecharge`)."""
        with charger_errors():
            self._client.pausecharge(self._device_id)

    @property
    def limits_session_energy(self) -> bool:
        """The Trydan stops a session at an energy limit (`charger_until_energy`)."""
        return True

    def limit_session_energy(self, wh: int | None) -> None:
        """Stop the session at `wh` (Wh) of it (`charger_until_energy`, sent in kWh);
        None lifts the limit by raising it to `NO_LIMIT_WH`, which no session reaches.

        V2C documents no way to clear the limit, nor what 0 kWh means (it might stop
        the car at once), so a limit is lifted with a value that can never bite.
        """
        with charger_errors():
            self._client.charger_until_energy(self._device_id, NO_LIMIT_WH if wh is None else wh)

"""What the simulated world is made of: a scenario, validated and loaded from TOML.

A scenario describes one site (its PV arrays), the weather over it, a household,
optionally a home battery (`[home_battery]`), and one or more chargers, each with
its car and plug-in sessions. Every device is modelled as its own home under the
same sky: the PV and the weather are shared, the household load is drawn per device
from its own seeded stream, and each home has its own battery of that config.

Units: W, Wh (kWh where a field says so), A, V, seconds; local clock times
("17:30") are in the site's time zone.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, time
from datetime import date as Date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from optimizer.interfaces import MAX_CURRENT_A, MIN_CURRENT_A, NOMINAL_VOLTAGE_V, PvMode
from optimizer.prices.config import PricesConfig
from optimizer.sessions import CommuterPattern, Pattern, SessionPattern
from optimizer.site import GRAZ, SiteConfig


class ScenarioError(ValueError):
    """A scenario file is missing, not TOML, or has a bad value (one line, names the key)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CarConfig(_Model):
    """The car's battery and what its on-board charger accepts.

    Above `taper_start_soc` the car draws linearly less current, down to 0 A at
    100 %; it stops (is full) when the accepted current falls below
    `taper_stop_a`. `charge_efficiency` converts AC energy into battery energy
    (SoC only; the bookkeeping counts AC energy at the charger).
    """

    battery_kwh: float = Field(default=60.0, gt=0, le=300)
    max_current_a: int = Field(default=16, ge=MIN_CURRENT_A, le=MAX_CURRENT_A)
    phases: Literal[1, 3] = 3
    taper_start_soc: float = Field(default=0.8, gt=0, lt=1)
    taper_stop_a: float = Field(default=1.0, ge=0, le=MIN_CURRENT_A)
    charge_efficiency: float = Field(default=0.92, gt=0, le=1)
    departure_soc: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="SoC the car usually leaves with; arrival SoC = this - energy used / battery",
    )


class ScheduledSession(_Model):
    """One plug-in session at fixed times (tz-aware, or naive = site local time)."""

    arrival: datetime
    departure: datetime
    energy_kwh: float = Field(ge=0, le=300)
    arrival_soc: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> ScheduledSession:
        if self.departure <= self.arrival:
            raise ValueError("departure must be after arrival")
        return self


class ScheduleSessions(_Model):
    """An explicit list of sessions."""

    kind: Literal["schedule"]
    sessions: tuple[ScheduledSession, ...] = ()


class DailySessions(_Model):
    """The same session every listed weekday: arrive at `arrive`, leave at `depart`.

    When `depart` is not after `arrive` the car stays overnight and leaves the
    next day. Weekdays: 0 = Monday .. 6 = Sunday.
    """

    kind: Literal["daily"]
    arrive: time
    depart: time
    energy_kwh: float = Field(ge=0, le=300)
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)

    @field_validator("weekdays")
    @classmethod
    def _days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(d < 0 or d > 6 for d in value):
            raise ValueError("weekdays must be a non-empty list of 0..6 (Monday = 0)")
        return tuple(sorted(set(value)))


class RandomSessions(_Model):
    """Sessions sampled from a day pattern of `optimizer.sessions`, the backtests' sampler.

    `pattern` names a pattern with its defaults (`"commuter"`, `"home_office"`,
    `"weekend_trips"`) or is a table with `kind` and any of that pattern's fields to
    override (`leave`, `back`, `jitter_min`, `trip_probability`, `trip.km_mean`, ...;
    see `optimizer.sessions` for the distributions). Each device samples from its own
    stream per (seed, device), day by day as the world reaches it. What the car
    accepts (current, phases) is `[devices.car]`'s, so the pattern may not set
    `max_current_a` or `phases`.
    """

    kind: Literal["random"]
    pattern: SessionPattern = CommuterPattern()

    @field_validator("pattern", mode="before")
    @classmethod
    def _named(cls, value: object) -> object:
        return {"kind": value} if isinstance(value, str) else value

    @field_validator("pattern")
    @classmethod
    def _car_limits_stay_with_the_car(cls, value: Pattern) -> Pattern:
        for key in ("max_current_a", "phases"):
            if key in value.model_fields_set:
                raise ValueError(f"{key} belongs in [devices.car], not in the session pattern")
        return value


SessionsConfig = Annotated[
    ScheduleSessions | DailySessions | RandomSessions, Field(discriminator="kind")
]


class DeviceConfig(_Model):
    """One Trydan: its wiring, its initial settings, and the car that uses it."""

    device_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    phases: Literal[1, 3] = 3
    voltage_v: float = Field(default=NOMINAL_VOLTAGE_V, ge=100, le=260)
    min_current_a: int = Field(default=MIN_CURRENT_A, ge=MIN_CURRENT_A, le=MAX_CURRENT_A)
    max_current_a: int = Field(default=MAX_CURRENT_A, ge=MIN_CURRENT_A, le=MAX_CURRENT_A)
    main_fuse_w: float | None = Field(default=None, gt=0, description="maxpower (W)")
    dynamic: bool = False
    initial_current_a: int = Field(default=16, ge=MIN_CURRENT_A, le=MAX_CURRENT_A)
    initial_pv_mode: PvMode = PvMode.MAX_POWER
    car: CarConfig = CarConfig()
    sessions: SessionsConfig = DailySessions(
        kind="daily", arrive=time(8, 0), depart=time(20, 0), energy_kwh=15.0
    )

    @model_validator(mode="after")
    def _min_below_max(self) -> DeviceConfig:
        if self.min_current_a > self.max_current_a:
            raise ValueError("min_current_a must not exceed max_current_a")
        return self


class WeatherConfig(_Model):
    """The cloud process that modulates clear-sky PV (see `weather.py`).

    `clear`: no clouds. `broken_clouds`: alternating clear and cloudy spells
    with exponential durations (means `clear_mean_s`, `cloud_mean_s`); each
    cloud lets through a fraction drawn uniformly from `cloud_transmittance`;
    edges ramp over `ramp_s` seconds. `overcast`: a slowly varying
    transmittance within `overcast_transmittance`.
    """

    kind: Literal["clear", "broken_clouds", "overcast"] = "clear"
    clear_mean_s: float = Field(default=300.0, gt=0)
    cloud_mean_s: float = Field(default=180.0, gt=0)
    cloud_transmittance: tuple[float, float] = (0.2, 0.5)
    overcast_transmittance: tuple[float, float] = (0.1, 0.35)
    ramp_s: float = Field(default=30.0, ge=0, le=3600)

    @field_validator("cloud_transmittance", "overcast_transmittance")
    @classmethod
    def _range(cls, value: tuple[float, float]) -> tuple[float, float]:
        lo, hi = value
        if not 0 <= lo <= hi <= 1:
            raise ValueError("must be [low, high] with 0 <= low <= high <= 1")
        return value


class HouseholdConfig(_Model):
    """Household consumption without the car (see `household.py`).

    A base load plus Gaussian noise, and appliance spikes arriving as a Poisson
    process (`spikes_per_day`, twice as likely 06-09 and 17-22 local time) with
    power uniform in `spike_w` and exponential duration of mean `spike_mean_s`.
    """

    base_w: float = Field(default=300.0, ge=0, le=20000)
    noise_w: float = Field(default=30.0, ge=0, le=2000)
    spikes_per_day: float = Field(default=25.0, ge=0, le=1000)
    spike_w: tuple[float, float] = (500.0, 2500.0)
    spike_mean_s: float = Field(default=600.0, gt=0, le=86400)

    @field_validator("spike_w")
    @classmethod
    def _range(cls, value: tuple[float, float]) -> tuple[float, float]:
        lo, hi = value
        if not 0 <= lo <= hi:
            raise ValueError("must be [low, high] with 0 <= low <= high")
        return value


class HomeBatteryConfig(_Model):
    """A home battery in self-consumption mode (see `home_battery.py` for how it behaves).

    `capacity_kwh` is the usable capacity; it never discharges below `min_soc` (the
    reserve the inverter keeps) and starts at `initial_soc`. `round_trip_efficiency` is
    AC in to AC out, split evenly between charging and discharging.
    """

    capacity_kwh: float = Field(default=10.0, gt=0, le=200)
    max_charge_w: float = Field(default=5000.0, gt=0, le=50000)
    max_discharge_w: float = Field(default=5000.0, gt=0, le=50000)
    min_soc: float = Field(default=0.1, ge=0, lt=1)
    round_trip_efficiency: float = Field(default=0.9, gt=0, le=1)
    initial_soc: float = Field(default=0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _starts_above_reserve(self) -> HomeBatteryConfig:
        if self.initial_soc < self.min_soc:
            raise ValueError("initial_soc must not be below min_soc")
        return self


class Scenario(_Model):
    """A whole simulated world: site, sky, household and chargers."""

    name: str = "default"
    description: str = ""
    site: SiteConfig = GRAZ
    devices: tuple[DeviceConfig, ...] = Field(default=(DeviceConfig(device_id="SIM0001"),))
    weather: WeatherConfig = WeatherConfig()
    household: HouseholdConfig = HouseholdConfig()
    home_battery: HomeBatteryConfig | None = Field(
        default=None, description="every home's battery; None: no battery"
    )
    date: Date = Field(default=Date(2026, 6, 21), description="first simulated local day")
    start: datetime | None = Field(default=None, description="simulated start; tz-aware")
    pv_mode_delay_s: float = Field(default=60.0, ge=0, le=3600)
    pv_regulation_interval_s: float = Field(default=5.0, gt=0, le=300)
    prices: PricesConfig | None = Field(
        default=None, description="the home's `[prices]` (demo: the daemon plans with them)"
    )

    @field_validator("devices")
    @classmethod
    def _unique_devices(cls, value: tuple[DeviceConfig, ...]) -> tuple[DeviceConfig, ...]:
        if not value:
            raise ValueError("at least one device is needed")
        ids = [d.device_id for d in value]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate device_id {', '.join(dupes)}")
        return value

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("start must carry a time zone (e.g. 2026-06-21T00:00:00Z)")
        return value

    @property
    def start_utc(self) -> datetime:
        """Simulated start: `start`, or `date` at 00:00 site-local time, in UTC."""
        if self.start is not None:
            return self.start.astimezone(UTC)
        return datetime.combine(self.date, time(0, 0), tzinfo=self.site.tz).astimezone(UTC)

    def device(self, device_id: str) -> DeviceConfig:
        """The device's config; KeyError naming it when unknown."""
        for device in self.devices:
            if device.device_id == device_id:
                return device
        raise KeyError(f"unknown device {device_id!r}")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err["loc"])
    return f"{loc or '<root>'}: {err['msg']}"


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file.

    Raises `ScenarioError` with one line naming the file and the offending key
    (e.g. ``winter.toml: devices.0.car.battery_kwh: Input should be greater than 0``).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: scenario file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: invalid TOML: {exc}") from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ScenarioError(f"{path}: {_first_error(exc)}{extra}") from None


def default_scenario() -> Scenario:
    """One device `SIM0001` at the Graz site on a clear summer day, car home 08:00-20:00."""
    return Scenario(name="default", description="Sunny summer day at Graz, one Trydan SIM0001")

"""Sampled EV plug-in sessions, for backtests when the user has no record of their own.

The car is at home except during *trips*; each stay at home is one plug-in session
(the car is plugged in whenever it is home). A pattern decides, day by day in the local
time zone, whether there is a trip and when it leaves and comes back:

``commuter``
    On workdays (Mon-Fri by default) the car leaves around 07:30 and is back around 17:30,
    each time jittered uniformly by up to `jitter_min` minutes; with probability
    `home_day_probability` a workday is spent at home (holiday, sick day). Home in the
    evenings and at weekends.
``home_office``
    Home most days; on any day, with probability `trip_probability`, a day trip leaving
    around 10:00 and back around 15:00 (jittered).
``weekend_trips``
    Home on weekdays; on Saturdays and Sundays, each with probability `trip_probability`,
    a day trip leaving around 09:00 and back around 19:00 (jittered).

Energy wanted: a session wants back the energy of the trip that just ended (the first
session, of a trip before the sampled period). A trip's distance is normal
(`km_mean`, `km_sd`) clipped to [`km_min`, `km_max`] km; its consumption is uniform in
[`consumption_min`, `consumption_max`] kWh/km; the energy is their product, capped at
`battery_kwh`. So every `energy_kwh` lies within `TripEnergy.bounds_kwh()`.

Sampling is deterministic for a given seed. The first session starts at `start` and the
last ends at `end` (the sampled window), so they may be shorter than a real stay.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

SESSION_COLUMNS = ["arrival", "departure", "energy_kwh", "max_current_a", "phases"]


class TripEnergy(BaseModel):
    """How much energy a trip uses: distance (km) times consumption (kWh/km)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    km_mean: float = Field(default=40.0, gt=0)
    km_sd: float = Field(default=15.0, ge=0)
    km_min: float = Field(default=5.0, ge=0)
    km_max: float = Field(default=120.0, gt=0)
    consumption_min: float = Field(default=0.14, gt=0, description="kWh/km")
    consumption_max: float = Field(default=0.22, gt=0, description="kWh/km")
    battery_kwh: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> TripEnergy:
        if not self.km_min <= self.km_max:
            raise ValueError("km_min must not exceed km_max")
        if not self.consumption_min <= self.consumption_max:
            raise ValueError("consumption_min must not exceed consumption_max")
        return self

    def bounds_kwh(self) -> tuple[float, float]:
        """Smallest and largest energy a trip can use (kWh)."""
        low = self.km_min * self.consumption_min
        return min(low, self.battery_kwh), min(self.km_max * self.consumption_max, self.battery_kwh)

    def sample_kwh(self, rng: np.random.Generator) -> float:
        """One trip's energy (kWh); always draws two numbers so streams stay aligned."""
        km = float(np.clip(rng.normal(self.km_mean, self.km_sd), self.km_min, self.km_max))
        per_km = float(rng.uniform(self.consumption_min, self.consumption_max))
        return min(km * per_km, self.battery_kwh)


class _PatternBase(BaseModel):
    """Fields every pattern has: trip times, jitter, the car's charging limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    leave: time
    back: time
    jitter_min: float = Field(default=30.0, ge=0, le=180)
    max_current_a: int | None = Field(default=None, ge=6, le=32)
    phases: Literal[1, 2, 3] = 1
    trip: TripEnergy = TripEnergy()

    @model_validator(mode="after")
    def _trip_fits_in_a_day(self) -> _PatternBase:
        leave = self.leave.hour * 60 + self.leave.minute + self.jitter_min
        back = self.back.hour * 60 + self.back.minute - self.jitter_min
        if leave >= back:
            raise ValueError("leave + jitter must be before back - jitter")
        return self

    def has_trip(self, day: date, draw: float) -> bool:
        """Whether the car goes out on `day`, given a uniform draw in [0, 1)."""
        raise NotImplementedError


class CommuterPattern(_PatternBase):
    """Out on workdays roughly `leave`-`back`; home evenings and weekends."""

    kind: Literal["commuter"] = "commuter"
    leave: time = time(7, 30)
    back: time = time(17, 30)
    workdays: frozenset[int] = Field(default=frozenset({0, 1, 2, 3, 4}), description="0 = Monday")
    home_day_probability: float = Field(default=0.05, ge=0, le=1)

    def has_trip(self, day: date, draw: float) -> bool:
        return day.weekday() in self.workdays and draw >= self.home_day_probability


class HomeOfficePattern(_PatternBase):
    """Home most days; an occasional day trip."""

    kind: Literal["home_office"] = "home_office"
    leave: time = time(10, 0)
    back: time = time(15, 0)
    jitter_min: float = Field(default=60.0, ge=0, le=180)
    trip_probability: float = Field(default=0.2, ge=0, le=1)
    trip: TripEnergy = TripEnergy(km_mean=30.0, km_sd=20.0, km_min=3.0, km_max=150.0)

    def has_trip(self, day: date, draw: float) -> bool:
        return draw < self.trip_probability


class WeekendTripsPattern(_PatternBase):
    """Home on weekdays; day trips at weekends."""

    kind: Literal["weekend_trips"] = "weekend_trips"
    leave: time = time(9, 0)
    back: time = time(19, 0)
    jitter_min: float = Field(default=60.0, ge=0, le=180)
    trip_days: frozenset[int] = Field(default=frozenset({5, 6}), description="0 = Monday")
    trip_probability: float = Field(default=0.8, ge=0, le=1)
    trip: TripEnergy = TripEnergy(km_mean=120.0, km_sd=60.0, km_min=20.0, km_max=350.0)

    def has_trip(self, day: date, draw: float) -> bool:
        return day.weekday() in self.trip_days and draw < self.trip_probability


SessionPattern = Annotated[
    CommuterPattern | HomeOfficePattern | WeekendTripsPattern, Field(discriminator="kind")
]


class SessionSamplerConfig(BaseModel):
    """A pattern chosen by `kind`, e.g. from a TOML table `{kind = "commuter"}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: SessionPattern = CommuterPattern()


def sample_sessions(
    pattern: CommuterPattern | HomeOfficePattern | WeekendTripsPattern,
    start: datetime | pd.Timestamp | str,
    end: datetime | pd.Timestamp | str,
    *,
    tz: str = "UTC",
    seed: int = 0,
) -> pd.DataFrame:
    """Plug-in sessions on [start, end) following `pattern`, reproducible by `seed`.

    Trip times are local times in `tz`; naive `start`/`end` are local too. Returns the
    columns `SESSION_COLUMNS`: arrival and departure (UTC), energy_kwh, max_current_a
    (A, NaN when the pattern sets none) and phases, sorted and never overlapping.
    """
    window_start, window_end = _as_utc(start, tz), _as_utc(end, tz)
    if window_end <= window_start:
        raise ValueError(f"end {window_end} must be after start {window_start}")
    rng = np.random.default_rng(seed)
    first_energy = pattern.trip.sample_kwh(rng)
    trips = _trips(pattern, window_start, window_end, tz, rng)
    homes_start = [window_start, *(back for _, back, _ in trips)]
    homes_end = [*(leave for leave, _, _ in trips), window_end]
    energies = [first_energy, *(kwh for _, _, kwh in trips)]
    frame = pd.DataFrame(
        {
            "arrival": pd.DatetimeIndex(homes_start),
            "departure": pd.DatetimeIndex(homes_end),
            "energy_kwh": np.asarray(energies, dtype=np.float64),
            "max_current_a": float("nan")
            if pattern.max_current_a is None
            else float(pattern.max_current_a),
            "phases": pattern.phases,
        },
        columns=SESSION_COLUMNS,
    )
    return frame[frame["departure"] > frame["arrival"]].reset_index(drop=True)


def _trips(
    pattern: CommuterPattern | HomeOfficePattern | WeekendTripsPattern,
    window_start: pd.Timestamp,
    window_end: pd.Timestamp,
    tz: str,
    rng: np.random.Generator,
) -> list[tuple[pd.Timestamp, pd.Timestamp, float]]:
    """(leave, back, energy kWh) of every trip lying entirely within the window."""
    trips = []
    first_day = window_start.tz_convert(tz).date()
    last_day = window_end.tz_convert(tz).date()
    for offset in range((last_day - first_day).days + 1):
        day = first_day + timedelta(days=offset)
        draw, leave_j, back_j = rng.random(), rng.uniform(-1, 1), rng.uniform(-1, 1)
        energy = pattern.trip.sample_kwh(rng)  # drawn every day: streams stay aligned
        if not pattern.has_trip(day, draw):
            continue
        leave = _local(day, pattern.leave, leave_j * pattern.jitter_min, tz)
        back = _local(day, pattern.back, back_j * pattern.jitter_min, tz)
        if window_start <= leave and back <= window_end:
            trips.append((leave, back, energy))
    return trips


def _local(day: date, at: time, shift_min: float, tz: str) -> pd.Timestamp:
    """`day` at local time `at` shifted by minutes, in UTC (DST gaps shift forward)."""
    naive = pd.Timestamp(datetime.combine(day, at)) + pd.Timedelta(minutes=shift_min)
    local = naive.floor("s").tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return local.tz_convert("UTC")


def _as_utc(value: datetime | pd.Timestamp | str, tz: str) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return stamp.tz_convert("UTC")

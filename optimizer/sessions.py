"""EV plug-in sessions sampled from day patterns: one model for backtests and the simulator.

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

`SessionSampler` draws the days lazily, in order, from one seeded stream: the backtests
run it over a window (`optimizer.backtest.sessions.sample_sessions`), the simulator's
world (`adapters.simulator.world.sessions`) asks it for the next session as simulated
time reaches it. Both see the same sessions for the same pattern, seed and window.
This module depends on numpy, pandas and pydantic only, so adapters may import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator


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


Pattern = CommuterPattern | HomeOfficePattern | WeekendTripsPattern
"""Any one day pattern (the plain union; `SessionPattern` is its tagged form for configs)."""


@dataclass(frozen=True, slots=True)
class SampledSession:
    """One stay at home, plugged in on [arrival, departure) (UTC), wanting `energy_kwh` back."""

    arrival: pd.Timestamp
    departure: pd.Timestamp
    energy_kwh: float


class SessionSampler:
    """A pattern's sessions from `start` on, sampled lazily one local day at a time.

    Every day, sampled or not, draws the same five numbers from one stream
    (`np.random.default_rng(seed)`, after two for the first session's energy), so the
    sessions depend only on the pattern, `start`, `tz` and `seed`: never on how far
    ahead anyone asked. With `end`, trips that are not back by `end` are left out
    and the last session ends at `end`; without it the sampler runs forever.

    A day's trip counts only when it leaves at or after `start`. Sessions with no
    duration (a trip leaving at `start`) are skipped with the energy they wanted.
    """

    def __init__(
        self,
        pattern: Pattern,
        start: pd.Timestamp,
        *,
        tz: str,
        seed: int | Sequence[int],
        end: pd.Timestamp | None = None,
    ) -> None:
        if start.tzinfo is None or (end is not None and end.tzinfo is None):
            raise ValueError("start and end must be tz-aware")
        if end is not None and end <= start:
            raise ValueError(f"end {end} must be after start {start}")
        self._pattern = pattern
        self._start = start.tz_convert("UTC")
        self._end = None if end is None else end.tz_convert("UTC")
        self._tz = tz
        self._rng = np.random.default_rng(seed)
        self._energy_kwh = pattern.trip.sample_kwh(self._rng)
        self._home_since: pd.Timestamp | None = self._start
        self._day = self._start.tz_convert(tz).date()
        self._last_day = None if self._end is None else self._end.tz_convert(tz).date()

    @property
    def home_since(self) -> pd.Timestamp | None:
        """Start (UTC) of the session in progress; None once the window is done."""
        return self._home_since

    @property
    def next_day(self) -> date:
        """The local day the next sampling step draws."""
        return self._day

    @property
    def energy_kwh(self) -> float:
        """The energy the session in progress wants back (kWh)."""
        return self._energy_kwh

    def next_session(self, max_days: int | None = None) -> SampledSession | None:
        """The next session, or None when the window is done.

        With `max_days`, also None when that many days passed without a trip (the car
        is still at home since `home_since`; calling again samples on from there).
        """
        days = 0
        while self._home_since is not None:
            if self._last_day is not None and self._day > self._last_day:
                return self._close_window(self._home_since)
            if max_days is not None and days >= max_days:
                return None
            days += 1
            trip = self._sample_day()
            if trip is None:
                continue
            leave, back, energy_kwh = trip
            session = SampledSession(self._home_since, leave, self._energy_kwh)
            self._home_since, self._energy_kwh = back, energy_kwh
            if session.departure > session.arrival:
                return session
        return None

    def _close_window(self, home_since: pd.Timestamp) -> SampledSession | None:
        assert self._end is not None
        self._home_since = None
        if self._end > home_since:
            return SampledSession(home_since, self._end, self._energy_kwh)
        return None

    def _sample_day(self) -> tuple[pd.Timestamp, pd.Timestamp, float] | None:
        """The next day's trip (leave, back UTC, energy kWh), if there is one in the window."""
        pattern, day = self._pattern, self._day
        self._day += timedelta(days=1)
        draw, leave_j, back_j = (
            self._rng.random(),
            self._rng.uniform(-1, 1),
            self._rng.uniform(-1, 1),
        )
        energy = pattern.trip.sample_kwh(self._rng)  # drawn every day: streams stay aligned
        if not pattern.has_trip(day, draw):
            return None
        leave = _local(day, pattern.leave, leave_j * pattern.jitter_min, self._tz)
        back = _local(day, pattern.back, back_j * pattern.jitter_min, self._tz)
        if leave < self._start or (self._end is not None and back > self._end):
            return None
        return leave, back, energy


def _local(day: date, at: time, shift_min: float, tz: str) -> pd.Timestamp:
    """`day` at local time `at` shifted by minutes, in UTC (DST gaps shift forward)."""
    naive = pd.Timestamp(datetime.combine(day, at)) + pd.Timedelta(minutes=shift_min)
    local = naive.floor("s").tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return local.tz_convert("UTC")

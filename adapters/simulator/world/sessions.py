"""When the car is plugged in: arrival, departure and the energy the driver needs.

Three sources, one interface (`SessionPlan.first_ending_after`):

- a fixed schedule (scenario list, or a pandas DataFrame with columns
  `arrival, departure, energy_kwh` and optional `max_current_a, phases, arrival_soc`);
- a daily pattern (same hours on given weekdays);
- a seeded random generator (`RandomSessions`): the car is at home except for
  outings; see `RandomSessions` for the distributions. Each local day draws
  from its own stream `(seed, device, day)`, so a day's outings do not depend
  on how far the world was simulated before.

A session's `energy_wh` is what the driver used on the outing before it and
wants back; the car arrives at `departure_soc - energy / battery` unless the
session says otherwise, and accepts energy until it is full.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from adapters.simulator.world.scenario import (
    WEEKDAYS,
    CarConfig,
    DailySessions,
    RandomSessions,
    ScheduleSessions,
    SessionsConfig,
)

MAX_LOOKAHEAD_DAYS = 366
"""How far the random generator looks for the next outing before calling the session open-ended."""

_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PlannedSession:
    """One plug-in: the car is at the charger on [arrival, departure) (UTC)."""

    arrival: datetime
    departure: datetime
    energy_wh: float
    arrival_soc: float | None = None
    max_current_a: float | None = None
    phases: int | None = None


class SessionPlan:
    """The sessions of one device, sorted and non-overlapping, possibly generated lazily."""

    def __init__(self, sessions: Sequence[PlannedSession] = ()) -> None:
        ordered = sorted(sessions, key=lambda s: s.arrival)
        for before, after in itertools.pairwise(ordered):
            if after.arrival < before.departure:
                raise ValueError(
                    f"sessions overlap: {before.arrival.isoformat()} - "
                    f"{before.departure.isoformat()} and {after.arrival.isoformat()}"
                )
        self._sessions: list[PlannedSession] = ordered
        self._cursor = 0

    def _generate_more(self) -> bool:
        """Append more sessions; False when the plan is complete."""
        return False

    def first_ending_after(self, t: datetime) -> PlannedSession | None:
        """The session in progress at `t`, else the next one; None when there is none.

        Calls must come with non-decreasing `t` (the world only moves forward).
        """
        while True:
            while self._cursor < len(self._sessions):
                session = self._sessions[self._cursor]
                if session.departure > t:
                    return session
                self._cursor += 1
            if not self._generate_more():
                return None

    def all_known(self) -> list[PlannedSession]:
        """The sessions generated so far (for reporting)."""
        return list(self._sessions)


def _local(value: datetime, tz: ZoneInfo) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)


def _arrival_soc(car: CarConfig, energy_wh: float) -> float:
    return max(0.0, car.departure_soc - energy_wh / (car.battery_kwh * 1000.0))


def schedule_plan(config: ScheduleSessions, car: CarConfig, tz: ZoneInfo) -> SessionPlan:
    """A plan from the scenario's explicit list (naive times are site-local)."""
    sessions = [
        PlannedSession(
            arrival=_local(s.arrival, tz),
            departure=_local(s.departure, tz),
            energy_wh=s.energy_kwh * 1000.0,
            arrival_soc=(
                s.arrival_soc
                if s.arrival_soc is not None
                else _arrival_soc(car, s.energy_kwh * 1000.0)
            ),
        )
        for s in config.sessions
    ]
    return SessionPlan(sessions)


class _DailyPlan(SessionPlan):
    def __init__(self, config: DailySessions, car: CarConfig, tz: ZoneInfo, start: datetime):
        super().__init__()
        self._config = config
        self._car = car
        self._tz = tz
        self._day = start.astimezone(tz).date() - timedelta(days=1)
        self._start = start

    def _generate_more(self) -> bool:
        for _ in range(8):
            self._day += timedelta(days=1)
            if self._day.weekday() not in self._config.weekdays:
                continue
            arrival = datetime.combine(self._day, self._config.arrive, tzinfo=self._tz)
            departure = datetime.combine(self._day, self._config.depart, tzinfo=self._tz)
            if departure <= arrival:
                departure += timedelta(days=1)
            arrival, departure = arrival.astimezone(UTC), departure.astimezone(UTC)
            if self._sessions and arrival < self._sessions[-1].departure:
                arrival = self._sessions[-1].departure
            energy = self._config.energy_kwh * 1000.0
            self._sessions.append(
                PlannedSession(arrival, departure, energy, _arrival_soc(self._car, energy))
            )
            return True
        return False


def _day_rng(seed: int, device_id: str, day: date) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(device_id.encode()), day.toordinal(), 7])


class _RandomPlan(SessionPlan):
    """Home except for outings (see `RandomSessions` for the distributions)."""

    def __init__(
        self,
        config: RandomSessions,
        car: CarConfig,
        tz: ZoneInfo,
        start: datetime,
        seed: int,
        device_id: str,
    ) -> None:
        super().__init__()
        self._config = config
        self._car = car
        self._tz = tz
        self._seed = seed
        self._device_id = device_id
        self._day = start.astimezone(tz).date() - timedelta(days=1)
        self._home_since = start
        first_rng = _day_rng(seed, device_id, self._day)
        self._pending_energy_wh = self._outing_energy_wh(first_rng)

    def _outing_energy_wh(self, rng: np.random.Generator) -> float:
        c = self._config
        return max(0.5, float(rng.normal(c.energy_kwh_mean, c.energy_kwh_sd))) * 1000.0

    def _outing(self, day: date) -> tuple[datetime, datetime, float] | None:
        c = self._config
        rng = _day_rng(self._seed, self._device_id, day)
        workday = c.pattern == "commuter" and day.weekday() in WEEKDAYS
        if workday:
            leave_h = rng.normal(c.leave_h, c.leave_sd_min / 60.0)
            return_h = rng.normal(c.return_h, c.return_sd_min / 60.0)
        elif rng.random() < c.trip_probability:
            leave_h = rng.normal(10.0, 1.0)
            return_h = leave_h + 1.0 + rng.exponential(c.trip_mean_h)
        else:
            return None
        leave_h = float(np.clip(leave_h, 0.25, 22.0))
        return_h = float(np.clip(return_h, leave_h + 0.25, 23.75))
        midnight = datetime.combine(day, time(0, 0), tzinfo=self._tz)
        leave = (midnight + timedelta(hours=leave_h)).astimezone(UTC)
        back = (midnight + timedelta(hours=return_h)).astimezone(UTC)
        return leave, back, self._outing_energy_wh(rng)

    def _generate_more(self) -> bool:
        for _ in range(MAX_LOOKAHEAD_DAYS):
            self._day += timedelta(days=1)
            outing = self._outing(self._day)
            if outing is None:
                continue
            leave, back, energy = outing
            if leave > self._home_since:
                self._sessions.append(
                    PlannedSession(
                        self._home_since,
                        leave,
                        self._pending_energy_wh,
                        _arrival_soc(self._car, self._pending_energy_wh),
                    )
                )
            self._home_since = max(back, self._home_since)
            self._pending_energy_wh = energy
            return True
        if self._home_since < _FAR_FUTURE:  # no outing for a year: one open-ended session
            energy = self._pending_energy_wh
            self._sessions.append(
                PlannedSession(
                    self._home_since, _FAR_FUTURE, energy, _arrival_soc(self._car, energy)
                )
            )
            self._home_since = _FAR_FUTURE
            return True
        return False


def plan_from_config(
    config: SessionsConfig,
    car: CarConfig,
    tz: ZoneInfo,
    start: datetime,
    seed: int,
    device_id: str,
) -> SessionPlan:
    """The session plan a device's scenario entry describes."""
    if isinstance(config, ScheduleSessions):
        return schedule_plan(config, car, tz)
    if isinstance(config, DailySessions):
        return _DailyPlan(config, car, tz, start)
    return _RandomPlan(config, car, tz, start, seed, device_id)


REQUIRED_COLUMNS = ("arrival", "departure", "energy_kwh")
_NUMERIC_COLUMNS = (
    ("energy_kwh", 0.0, 300.0),
    ("max_current_a", 1.0, 80.0),
    ("phases", 1.0, 3.0),
    ("arrival_soc", 0.0, 1.0),
)


def plan_from_frame(frame: pd.DataFrame, car: CarConfig, tz: ZoneInfo) -> SessionPlan:
    """A plan from a DataFrame of `arrival, departure, energy_kwh` sessions.

    Optional columns: `max_current_a, phases, arrival_soc`.

    Naive timestamps are site-local. Raises ValueError with one line naming the
    row and column of the first bad value.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"sessions: missing column(s) {', '.join(missing)}")
    sessions = []
    for row, record in enumerate(frame.to_dict("records")):
        times: dict[str, datetime] = {}
        for column in ("arrival", "departure"):
            try:
                stamp = pd.Timestamp(record[column])
            except (ValueError, TypeError):
                raise ValueError(
                    f"sessions row {row}, column {column}: not a timestamp: {record[column]!r}"
                ) from None
            if pd.isna(stamp):
                raise ValueError(f"sessions row {row}, column {column}: missing")
            times[column] = _local(stamp.to_pydatetime(), tz)
        numbers: dict[str, float] = {}
        for column, lo, hi in _NUMERIC_COLUMNS:
            if column not in record or (column != "energy_kwh" and pd.isna(record[column])):
                continue
            try:
                number = float(record[column])
            except (ValueError, TypeError):
                number = float("nan")
            if not lo <= number <= hi:
                raise ValueError(
                    f"sessions row {row}, column {column}: {record[column]!r} not in {lo:g}..{hi:g}"
                )
            numbers[column] = number
        if times["departure"] <= times["arrival"]:
            raise ValueError(f"sessions row {row}, column departure: not after arrival")
        phases = numbers.get("phases")
        if phases is not None and phases not in (1.0, 3.0):
            raise ValueError(f"sessions row {row}, column phases: must be 1 or 3")
        energy_wh = numbers["energy_kwh"] * 1000.0
        soc = numbers.get("arrival_soc")
        sessions.append(
            PlannedSession(
                arrival=times["arrival"],
                departure=times["departure"],
                energy_wh=energy_wh,
                arrival_soc=soc if soc is not None else _arrival_soc(car, energy_wh),
                max_current_a=numbers.get("max_current_a"),
                phases=int(phases) if phases is not None else None,
            )
        )
    return SessionPlan(sessions)

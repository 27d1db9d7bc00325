"""When the car is plugged in: arrival, departure and the energy the driver needs.

Three sources, one interface (`SessionPlan.first_ending_after`):

- a fixed schedule (scenario list, or a pandas DataFrame with columns
  `arrival, departure, energy_kwh` and optional `max_current_a, phases, arrival_soc`);
- a daily pattern (same hours on given weekdays);
- a seeded random day pattern (`RandomSessions`): the car is at home except for
  trips, sampled day by day by `optimizer.sessions.SessionSampler` (the same
  sampler as the backtests' `sample_sessions`) from one stream per
  (seed, device), so the sessions do not depend on how far the world was
  simulated before.

A session's `energy_wh` is what the driver used on the trip before it and
wants back; the car arrives at `departure_soc - energy / battery` unless the
session says otherwise, and accepts energy until it is full.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from adapters.simulator.world.scenario import (
    CarConfig,
    DailySessions,
    RandomSessions,
    ScheduleSessions,
    SessionsConfig,
)
from optimizer.sessions import SampledSession, SessionSampler

MAX_LOOKAHEAD_DAYS = 366
"""How far the random sampler looks for the next trip before calling the session open-ended."""

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


def session_seed(seed: int, device_id: str) -> tuple[int, int, int]:
    """The seed of one device's random sessions: its own stream per (world seed, device)."""
    return (seed, zlib.crc32(device_id.encode()), 7)


class _RandomPlan(SessionPlan):
    """Sessions of `optimizer.sessions.SessionSampler`, sampled as the world reaches them."""

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
        self._car = car
        self._sampler = SessionSampler(
            config.pattern, pd.Timestamp(start), tz=tz.key, seed=session_seed(seed, device_id)
        )
        self._complete = False

    def _generate_more(self) -> bool:
        if self._complete:
            return False
        sampled = self._sampler.next_session(max_days=MAX_LOOKAHEAD_DAYS)
        if sampled is None:  # no trip for a year: one open-ended session
            home_since = self._sampler.home_since
            assert home_since is not None  # a sampler without an end never closes
            sampled = SampledSession(
                home_since, pd.Timestamp(_FAR_FUTURE), self._sampler.energy_kwh
            )
            self._complete = True
        energy_wh = sampled.energy_kwh * 1000.0
        self._sessions.append(
            PlannedSession(
                sampled.arrival.to_pydatetime(),
                sampled.departure.to_pydatetime(),
                energy_wh,
                _arrival_soc(self._car, energy_wh),
            )
        )
        return True


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

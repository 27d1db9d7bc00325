"""What the controller last saw of its charger, and taking the next reading.

A read is one API call out of a daily budget, so it is made only when the read
scheduler says one is due, the policy's read-interval hint agrees and no back-off or
429 block runs. The last reading stays the controller's view of the charger until
the next one: its plug state, and the clear-sky power at its time so the estimate
can scale its PV to the clock between reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from optimizer.budget.scheduler import ReadContext, ReadScheduler
from optimizer.cycle.backoff import Backoff
from optimizer.cycle.forecast_cache import value_at
from optimizer.frozen import quick_init
from optimizer.interfaces import (
    Charger,
    ChargerAuthError,
    ChargerError,
    ChargerReading,
    ChargeState,
    PvForecast,
)


@quick_init
@dataclass(frozen=True, slots=True)
class LastReading:
    """The most recent successful reading and what was known when it was taken.

    `read_at` is the cycle's clock time of the read; `plugged_in` None in a fault
    state; `charging` whether the charger reported charging; `clear_sky_w` the
    forecast clear-sky power (W) at the reading's time, None without a forecast
    covering it.
    """

    reading: ChargerReading
    read_at: datetime
    plugged_in: bool | None
    charging: bool
    clear_sky_w: float | None

    @classmethod
    def of(cls, now: datetime, reading: ChargerReading, forecast: PvForecast | None) -> LastReading:
        """`reading`, read at `now`, with the plug state and clear sky derived from it."""
        state = reading.charge_state
        return cls(
            reading=reading,
            read_at=now,
            plugged_in=None if state is ChargeState.FAULT else state.plugged_in,
            charging=state is ChargeState.CHARGING,
            clear_sky_w=None
            if forecast is None
            else value_at(forecast.clear_sky_w, forecast, reading.time),
        )


@quick_init
@dataclass(frozen=True, slots=True)
class ReadOutcome:
    """One cycle's read: the reading (None if none), whether one was tried, its error.

    `plugged_in` is the reading's plug state (None also in a fault state);
    `car_arrived`: this reading is the first to see a car plugged in.
    """

    reading: ChargerReading | None = None
    attempted: bool = False
    error: str | None = None
    plugged_in: bool | None = None
    car_arrived: bool = False


NOT_TRIED = ReadOutcome()


class Observation:
    """One charger's last reading; reads when due (its failures through the `Backoff`)."""

    def __init__(self, charger: Charger, scheduler: ReadScheduler, backoff: Backoff) -> None:
        self.charger = charger
        self.scheduler = scheduler
        self.backoff = backoff
        self.device_id = charger.device_id
        self.last: LastReading | None = None
        self.read_at: datetime | None = None
        """Clock time of the last successful read, None before the first."""
        self._read_context: (
            tuple[datetime, PvForecast | None, LastReading | None, datetime | None, ReadContext]
            | None
        ) = None
        """The last read context with what it was built from (`read_context`)."""

    def read_context(self, now: datetime, forecast: PvForecast | None) -> ReadContext:
        """What the read scheduler is told about this charger at `now`.

        A cycle asks up to three times (the read gate, the next read, the sleep); the
        context is a function of `now`, the forecast and the last reading, so while
        those are the same objects the one built first is handed out again.
        """
        memo = self._read_context
        if (
            memo is not None
            and memo[0] == now
            and memo[1] is forecast
            and memo[2] is self.last
            and memo[3] == self.read_at
        ):
            return memo[4]
        ctx = self._build_read_context(now, forecast)
        self._read_context = (now, forecast, self.last, self.read_at, ctx)
        return ctx

    def _build_read_context(self, now: datetime, forecast: PvForecast | None) -> ReadContext:
        pv_expected = 0.0
        variability = 0.0
        if forecast is not None:
            pv_expected = value_at(forecast.central_w, forecast, now) or 0.0
            variability = forecast.variability
        last = self.last
        return ReadContext(
            device_id=self.device_id,
            plugged_in=None if last is None else last.plugged_in,
            charging=last is not None and last.charging,
            pv_expected_w=pv_expected,
            variability=variability,
            last_read=self.read_at,
        )

    def read_wanted(self, now: datetime, forecast: PvForecast | None, hint: float | None) -> bool:
        """The scheduler says a read is due and the policy's hint (s) does not object."""
        if hint is not None:
            if hint == math.inf:
                return False
            last = self.read_at
            if last is not None and (now - last).total_seconds() < hint:
                return False
        return self.scheduler.read_due(now, self.read_context(now, forecast))

    def read(self, now: datetime, forecast: PvForecast | None, hint: float | None) -> ReadOutcome:
        """Read the charger if due and allowed; a refused login (`ChargerAuthError`) raises."""
        if not self.backoff.allows(now) or not self.read_wanted(now, forecast, hint):
            return NOT_TRIED
        try:
            reading = self.charger.read()
        except ChargerAuthError:
            raise
        except ChargerError as exc:
            return ReadOutcome(attempted=True, error=self.backoff.failed(now, exc, "read"))
        self.backoff.succeeded()
        was_plugged = None if self.last is None else self.last.plugged_in
        self.last = last = LastReading.of(now, reading, forecast)
        self.read_at = now
        arrived = last.plugged_in is True and was_plugged is not True
        return ReadOutcome(reading, True, None, last.plugged_in, arrived)

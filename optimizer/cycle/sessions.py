"""Plug-in sessions of one charger: what they got, from where, and what they wanted.

`SessionTracker` turns readings into `SessionRecord`s and owns the per-session target
and departure the user sets (`Controller.set_session_target`), so they end with the
session they were set for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from optimizer.interfaces import ChargerReading, SessionRecord
from optimizer.policies.tariff import TariffConfig


@dataclass(slots=True)
class _OpenSession:
    """Running totals of a plug-in session, integrated between reads."""

    start: datetime
    last_time: datetime
    last_car_w: float
    last_surplus_w: float
    energy_int_wh: float = 0.0
    solar_int_wh: float = 0.0
    cost_int: float = 0.0
    charger_energy_wh: float = 0.0
    target_wh: float | None = None
    resumed: bool = False
    """Taken over from the store on a restart: `last_*` are unknown until the next read."""


class SessionTracker:
    """Turns readings into `SessionRecord`s: plug-in opens, unplug closes.

    Energy is the charger's own session counter when it reports one, else car
    power integrated between reads. The solar part is min(car power, surplus)
    integrated the same way (each interval at the values of its first read),
    scaled to the session energy; the grid part is the rest.
    """

    def __init__(
        self,
        device_id: str,
        tariff: TariffConfig | None = None,
        timezone: tzinfo = UTC,
        met_tolerance: float = 0.99,
    ) -> None:
        self.device_id = device_id
        self.tariff = tariff
        self.timezone = timezone
        self.met_tolerance = met_tolerance
        self.open: _OpenSession | None = None
        self.target_wh: float | None = None
        """Energy the user wants in this session (Wh), None: the policy's default."""
        self.departure: datetime | None = None
        """When the car leaves (UTC), None: unknown."""

    def set_target(self, target_wh: float | None, departure: datetime | None) -> None:
        """Per-session energy wanted (Wh) and departure (UTC); cleared when the car leaves.

        Set while no car is plugged in (from home, before arriving), it waits for the
        next session, unless its departure passes first.
        """
        self.target_wh = target_wh
        self.departure = departure

    @property
    def energy_wh(self) -> float:
        """Energy into the car in the open session so far (Wh), 0 without one."""
        s = self.open
        if s is None:
            return 0.0
        return s.charger_energy_wh if s.charger_energy_wh > 0.0 else s.energy_int_wh

    def resume(self, record: SessionRecord) -> None:
        """Go on with a session a previous run left open (restart while a car is plugged in).

        The first reading then continues it, with the same start, while the
        charger's session counter (the Trydan's `chargeenergy`) has not gone
        back; the time the daemon was down is not integrated (its car power is
        unknown: the counter holds the energy, the solar split leaves the gap
        out). A counter that went back means that car left and another came
        meanwhile: the old session is closed at that reading, the new one opens
        at the next.
        """
        self.open = _OpenSession(
            start=record.start,
            last_time=record.start,
            last_car_w=0.0,
            last_surplus_w=0.0,
            energy_int_wh=record.energy_wh,
            solar_int_wh=record.solar_wh,
            cost_int=record.cost or 0.0,
            charger_energy_wh=record.energy_wh,
            target_wh=record.target_wh,
            resumed=True,
        )

    def update(
        self, reading: ChargerReading, plugged_in: bool | None, default_target_wh: float | None
    ) -> SessionRecord | None:
        """Take in one reading; the session record to store (opened, updated or closed).

        The session's target is the one set for it, else `default_target_wh` (the
        policy's). The per-session target and departure end with the session they were
        set for (the car left), or, set while no car was plugged in, at their departure.
        """
        target_wh = self.target_wh if self.target_wh is not None else default_target_wh
        s = self.open
        if plugged_in is False and (s is not None or self._departed(reading.time)):
            self.set_target(None, None)
        if plugged_in is None:
            return None
        if not plugged_in:
            if s is None:
                return None
            self.open = None
            return self._record(s, end=reading.time)
        if s is not None and s.resumed:
            if _went_back(s, reading):  # another plug-in meanwhile
                self.open = None  # the new session opens at the next reading
                return self._record(s, end=reading.time)
            s.resumed = False
            s.last_time = reading.time
            s.last_car_w = reading.car_power_w
            s.last_surplus_w = reading.surplus_w
        elif s is None:
            s = _OpenSession(
                start=reading.time,
                last_time=reading.time,
                last_car_w=reading.car_power_w,
                last_surplus_w=reading.surplus_w,
                target_wh=target_wh,
            )
            self.open = s
        else:
            self._integrate(s, reading)
        if target_wh is not None:
            s.target_wh = target_wh
        s.charger_energy_wh = max(reading.session_energy_wh, 0.0)
        return self._record(s, end=None)

    def continues(self, reading: ChargerReading) -> bool:
        """Whether `reading` goes on with the session taken over from the store
        (`resume`): the first reading since, a car plugged in, its counter not gone back.
        The plug-in is then the one the earlier run saw, not a new car."""
        s = self.open
        return (
            s is not None
            and s.resumed
            and reading.charge_state.plugged_in
            and not _went_back(s, reading)
        )

    def _departed(self, now: datetime) -> bool:
        """The departure set is past (a target set for a car that never came)."""
        return self.departure is None or now >= self.departure

    def current(self) -> SessionRecord | None:
        """The open session as a record, if any."""
        return None if self.open is None else self._record(self.open, end=None)

    def _integrate(self, s: _OpenSession, reading: ChargerReading) -> None:
        hours = max((reading.time - s.last_time).total_seconds(), 0.0) / 3600.0
        energy = s.last_car_w * hours
        solar = min(s.last_car_w, max(s.last_surplus_w, 0.0)) * hours
        s.energy_int_wh += energy
        s.solar_int_wh += solar
        if self.tariff is not None:
            price = self.tariff.price_per_kwh(s.last_time, self.timezone)
            s.cost_int += (energy - solar) / 1000.0 * price
        s.last_time = reading.time
        s.last_car_w = reading.car_power_w
        s.last_surplus_w = reading.surplus_w

    def _record(self, s: _OpenSession, end: datetime | None) -> SessionRecord:
        energy = s.charger_energy_wh if s.charger_energy_wh > 0.0 else s.energy_int_wh
        share = s.solar_int_wh / s.energy_int_wh if s.energy_int_wh > 0.0 else 0.0
        solar = energy * share
        grid = energy - solar
        cost: float | None = None
        if self.tariff is not None:
            grid_int = s.energy_int_wh - s.solar_int_wh
            cost = s.cost_int * (grid / grid_int) if grid_int > 0.0 else 0.0
        met: bool | None = None
        if end is not None and s.target_wh is not None:
            met = energy >= s.target_wh * self.met_tolerance
        return SessionRecord(
            device_id=self.device_id,
            start=s.start,
            end=end,
            energy_wh=energy,
            solar_wh=solar,
            grid_wh=grid,
            cost=cost,
            target_wh=s.target_wh,
            target_met=met,
        )


def _went_back(s: _OpenSession, reading: ChargerReading) -> bool:
    """The charger's session counter fell below what the session had: another plug-in."""
    return reading.session_energy_wh < s.charger_energy_wh

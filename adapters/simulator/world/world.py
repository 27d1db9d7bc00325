"""The simulated world: time, sky, households, cars and chargers, stepped together.

Time runs on a grid of `step_s` seconds (1..60, dividing a day) anchored at
UTC midnight; each step's PV, household and car power hold for the whole step.
`advance_to(t)` simulates every whole step before `t`; commands sent between
calls take effect from the current step on. Between two calls the commands are
constant, so the chargers simulate whole segments at once (vectorized) and
only split them at UTC midnight and at arrivals and departures.

`clear_sky_chunk_days` is how many days of clear sky one pvlib call computes
(`inputs`): 32 suits a world that runs for months, 1 a fleet's many homes.

A scenario's `home_battery` gives every home a battery (`home_battery.HomeBattery`);
such a home runs one step at a time, because the battery answers the car's draw and
the charger's PV modes answer the battery's (see `home_battery` for the assumptions).
`home_flows(device_id)` reads the home's energy flows with the battery in place.

`record()` turns on a per-step record of every charger (`recorded()` reads it as
a `StepSeries`): the car's actual power and current, the offer cap, the PV mode,
paused and plugged in, beside the PV and household inputs. Off by default (the
HTTP simulator has no use for it); a backtest turns it on for its plots and
flapping metrics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import pandas as pd

from adapters.simulator.world.bookkeeping import EnergyTotals, SessionLog
from adapters.simulator.world.car import Car
from adapters.simulator.world.charger import SHORT_SEGMENT_STEPS, FloatArray, SimCharger
from adapters.simulator.world.home_battery import HomeBattery, HomeFlows
from adapters.simulator.world.inputs import CLEAR_SKY_CHUNK_DAYS, DAY_S, DayInputs
from adapters.simulator.world.recording import StepRecorder, StepSeries
from adapters.simulator.world.scenario import Scenario
from adapters.simulator.world.sessions import (
    PlannedSession,
    SessionPlan,
    plan_from_config,
    plan_from_frame,
)

_NEVER = 2**62
"""A step index beyond any simulation: no event pending."""


def _validate_step(step_s: float) -> float:
    if not isinstance(step_s, int | float) or not math.isfinite(step_s):
        raise ValueError(f"step_s must be a number of seconds, got {step_s!r}")
    if not 1 <= step_s <= 60 or DAY_S % step_s != 0 or step_s != int(step_s):
        raise ValueError(f"step_s must be whole seconds in 1..60 dividing a day, got {step_s!r}")
    return float(step_s)


class _Device:
    """A charger with its session plan and where it stands in it."""

    def __init__(self, charger: SimCharger, plan: SessionPlan, battery: HomeBattery | None) -> None:
        self.charger = charger
        self.plan = plan
        self.battery = battery
        self.next: PlannedSession | None = None
        self.arrival_k = _NEVER
        self.departure_k = 0


class World:
    """Several homes under one sky, each with a Trydan and a car (see the module doc)."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int = 0,
        step_s: float = 1.0,
        pv_w: pd.Series | None = None,
        house_w: pd.Series | None = None,
        sessions: pd.DataFrame | None = None,
        clear_sky_chunk_days: int = CLEAR_SKY_CHUNK_DAYS,
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.step_s = _validate_step(step_s)
        self._steps_per_day = int(DAY_S // self.step_s)
        start = scenario.start_utc
        self._origin = datetime.combine(start.date(), datetime.min.time(), tzinfo=UTC)
        self._k = int((start - self._origin).total_seconds() // self.step_s)
        self._inputs = DayInputs(
            scenario, seed, self.step_s, pv_w, house_w, clear_sky_chunk_days=clear_sky_chunk_days
        )
        self._devices: dict[str, _Device] = {}
        self._cached_day_index = -1
        self._cached_day = self._origin.date()
        tz = scenario.site.tz
        for config in scenario.devices:
            charger = SimCharger(
                config,
                start=self.now,
                pv_mode_delay_s=scenario.pv_mode_delay_s,
                regulation_interval_s=scenario.pv_regulation_interval_s,
            )
            if sessions is not None:
                frame = sessions
                if "device_id" in sessions.columns:
                    frame = sessions[sessions["device_id"] == config.device_id]
                plan = plan_from_frame(frame, config.car, tz)
            else:
                plan = plan_from_config(
                    config.sessions, config.car, tz, self.now, seed, config.device_id
                )
            battery = None if scenario.home_battery is None else HomeBattery(scenario.home_battery)
            self._devices[config.device_id] = _Device(charger, plan, battery)
        for device in self._devices.values():
            self._update_plug(device, self._k)

    # -- the contract -------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """Simulated time (tz-aware UTC), always on the step grid."""
        return self._time(self._k)

    @property
    def device_ids(self) -> list[str]:
        """The scenario's devices, in scenario order."""
        return list(self._devices)

    def charger(self, device_id: str) -> SimCharger:
        """The device's charger; KeyError naming an unknown device."""
        return self._device(device_id).charger

    def sessions(self, device_id: str) -> list[SessionLog]:
        """Finished sessions and the current one (if a car is plugged in), oldest first."""
        charger = self._device(device_id).charger
        current = [charger.session] if charger.session is not None else []
        return [*charger.finished, *current]

    def totals(self, device_id: str) -> EnergyTotals:
        """Energy sums since the start (Wh): car, solar and grid parts, PV exported."""
        return self._device(device_id).charger.totals

    def home_flows(self, device_id: str) -> HomeFlows | None:
        """The energy flows of the device's home with its battery (Wh); None without one."""
        battery = self._device(device_id).battery
        return None if battery is None else battery.flows

    def home_battery(self, device_id: str) -> HomeBattery | None:
        """The device's home battery, None without one."""
        return self._device(device_id).battery

    def record(self, until: datetime | None = None) -> None:
        """Record every charger's steps from now on (`recorded` reads them).

        `until` sizes the preallocated arrays (default: to the end of the UTC day);
        they grow when the world runs past it. Calling it again restarts the record at
        the current step.
        """
        end_k = self._k + 1
        if until is not None:
            if until.tzinfo is None:
                raise ValueError(f"record needs a tz-aware time, got {until.isoformat()}")
            end_k = max(end_k, self._k_at(until))
        per_day = self._steps_per_day
        end_k = -(-end_k // per_day) * per_day  # whole days: inputs are copied by the day
        for device in self._devices.values():
            recorder = StepRecorder(self._k, end_k - self._k)
            recorder.mark(self._k, device.charger.recorded_state())
            device.charger.recorder = recorder

    def recorded(self, device_id: str) -> StepSeries:
        """The device's steps from `record()` up to now; ValueError when not recording."""
        recorder = self._device(device_id).charger.recorder
        if recorder is None:
            raise ValueError(f"world is not recording {device_id!r}: call World.record() first")
        first, last = recorder.first_k, self._k
        recorder.fill_to(last)
        n = last - first
        return StepSeries(
            start=self._time(first),
            step_s=self.step_s,
            pv_w=recorder.pv_w[:n].copy(),
            household_w=recorder.household_w[:n].copy(),
            car_w=recorder.car_w[:n].copy(),
            current_a=recorder.current_a[:n].copy(),
            setpoint_a=recorder.setpoint_a[:n].copy(),
            pv_mode=recorder.pv_mode[:n].copy(),
            paused=recorder.paused[:n].copy(),
            plugged=recorder.plugged[:n].copy(),
        )

    def advance_to(self, t: datetime) -> None:
        """Simulate every whole step that ends at or before `t` (no-op if `t` <= now)."""
        if t.tzinfo is None:
            raise ValueError(f"advance_to needs a tz-aware time, got {t.isoformat()}")
        target = int((t - self._origin).total_seconds() // self.step_s)
        if target <= self._k:
            return
        for device in self._devices.values():
            recorder = device.charger.recorder
            if recorder is not None:
                if target - recorder.first_k > recorder.car_w.shape[0]:
                    per_day = self._steps_per_day  # room for whole days of inputs
                    recorder.reserve(-(-target // per_day) * per_day)
                state = device.charger.recorded_state()
                if state != recorder.state:
                    recorder.mark(self._k, state)
            self._advance_device(device, self._k, target)
        self._k = target
        now = self.now
        for device in self._devices.values():
            device.charger.now = now

    # -- internals ----------------------------------------------------------------------

    def _device(self, device_id: str) -> _Device:
        try:
            return self._devices[device_id]
        except KeyError:
            raise KeyError(f"unknown device {device_id!r}") from None

    def _time(self, k: int) -> datetime:
        return self._origin + timedelta(seconds=k * self.step_s)

    def _k_at(self, t: datetime) -> int:
        """First grid step starting at or after `t`."""
        return math.ceil((t - self._origin).total_seconds() / self.step_s)

    def _update_plug(self, device: _Device, k: int) -> None:
        """Plug a car in or out when step `k` is its arrival or departure."""
        charger = device.charger
        if charger.car is not None:
            if k >= device.departure_k:
                charger.unplug(self._time(k))
            else:
                return
        while True:
            session = device.plan.first_ending_after(self._time(k))
            if session is None:
                device.next = None
                device.arrival_k = _NEVER
                return
            arrival_k, departure_k = self._k_at(session.arrival), self._k_at(session.departure)
            if departure_k <= max(arrival_k, k):
                continue  # shorter than a step, or already over at the grid: skipped
            device.next = session
            device.arrival_k = arrival_k
            if arrival_k > k:
                return
            self._plug_in(device, session, k, departure_k)
            return

    def _plug_in(self, device: _Device, session: PlannedSession, k: int, departure_k: int) -> None:
        config = device.charger.config
        soc = session.arrival_soc if session.arrival_soc is not None else config.car.departure_soc
        car = Car.from_config(config.car, soc, session.max_current_a, session.phases)
        log = SessionLog(
            device_id=config.device_id,
            start=self._time(k),
            end=None,
            target_wh=session.energy_wh,
            arrival_soc=car.soc,
            soc=car.soc,
            planned_departure=session.departure,
        )
        device.charger.plug_in(car, log)
        device.departure_k = departure_k
        device.next = None
        device.arrival_k = _NEVER

    def _advance_device(self, device: _Device, k: int, target: int) -> None:
        charger = device.charger
        per_day = self._steps_per_day
        dt = self.step_s
        inputs = self._inputs
        while k < target:
            day_index = k // per_day
            end = min(target, (day_index + 1) * per_day)
            event = device.departure_k if charger.car is not None else device.arrival_k
            end = min(end, event)
            day = self._day_of_index(day_index)
            lo, hi = k - day_index * per_day, end - day_index * per_day
            recorder = charger.recorder
            if recorder is not None and recorder.input_day != day_index:
                recorder.input_day = day_index
                recorder.copy_inputs(
                    day_index * per_day, inputs.pv(day), inputs.household(charger.device_id, day)
                )
            if device.battery is not None:
                pv_l = inputs.as_list(None, day)[lo:hi]
                house_l = inputs.as_list(charger.device_id, day)[lo:hi]
                _run_with_battery(charger, device.battery, pv_l, house_l, k, dt)
            elif hi - lo <= SHORT_SEGMENT_STEPS:  # Python floats: numpy's per-call cost dominates
                pv_l = inputs.as_list(None, day)[lo:hi]
                house_l = inputs.as_list(charger.device_id, day)[lo:hi]
                _run(charger, pv_l, house_l, k, dt, charger.charge_short, charger.idle_short)
            else:
                pv = inputs.pv(day)[lo:hi]
                house = inputs.household(charger.device_id, day)[lo:hi]
                _run(charger, pv, house, k, dt, charger.charge, charger.idle)
            k = end
            if k >= event:
                self._plug_event(device, k)

    def _plug_event(self, device: _Device, k: int) -> None:
        """An arrival or departure at step `k` (and its mark in the per-step record)."""
        self._update_plug(device, k)
        recorder = device.charger.recorder
        if recorder is not None:
            recorder.mark(k, device.charger.recorded_state())

    def _day_of_index(self, day_index: int) -> date:
        if day_index != self._cached_day_index:
            self._cached_day_index = day_index
            self._cached_day = (self._origin + timedelta(days=day_index)).date()
        return self._cached_day


_Steps = TypeVar("_Steps", list[float], FloatArray)


def _run(
    charger: SimCharger,
    pv: _Steps,
    house: _Steps,
    k: int,
    dt: float,
    charge: Callable[[_Steps, _Steps, int, float], None],
    idle: Callable[[_Steps, _Steps, float], None],
) -> None:
    """Steps from `k` with the commands constant: `charge` the plugged-in car (its session
    keeps the car's SoC) or `idle`; PV and household power in W per step."""
    if charger.car is not None:
        charge(pv, house, k, dt)
        if charger.session is not None:
            charger.session.soc = charger.car.soc
    else:
        idle(pv, house, dt)


def _run_with_battery(
    charger: SimCharger,
    battery: HomeBattery,
    pv: list[float],
    house: list[float],
    k: int,
    dt: float,
) -> None:
    """Steps from `k` of a home with a battery, one at a time: the charger regulates on its
    meter, where the battery answers this step's household and PV and the car's draw of
    the previous step, and the battery then answers the household and the car's draw of
    this step (W per step)."""
    for i, p in enumerate(pv):
        h = house[i]
        if charger.car is not None:
            seen = h - battery.answer_w(h + charger.car_power_w - p, dt)
            charger.charge_short([p], [h], k + i, dt, meter_house=[seen])
        else:
            charger.idle_short([p], [h], dt)
        charger.battery_w = battery.step(p, h, charger.car_power_w, dt)
    if charger.session is not None and charger.car is not None:
        charger.session.soc = charger.car.soc

"""One Trydan: the state the cloud's write endpoints change, and how it drives the car.

Assumptions where V2C documents nothing (all stated, all in one place):

- Setpoint (`intensity`) 6..32 A in whole amps; reported as 0 while paused.
- `chargefvmode` 2 (maximum power): offers the setpoint.
- 1 (exclusive PV): every `regulation_interval_s` the charger measures the
  surplus (PV minus household, its clamp sees both) and offers
  floor(surplus / (phases * V)) whole amps, at least the minimum current,
  at most the setpoint. When that falls below the minimum current for
  `pv_mode_delay_s` (counted at each regulation) it stops; while stopped it
  restarts once the surplus covers the minimum for `pv_mode_delay_s`. During the
  stop delay it keeps the minimum current (drawing the shortfall from the
  grid). At plug-in it starts at once if the surplus covers the minimum.
- 0 (PV + minimum): the same regulation, never below the minimum current
  and never stopping.
- With a home battery the PV modes regulate on the household as the meter shows
  it, net of the battery (`meter_house` of `charge_short`; see `home_battery`).
- `min_car_int` is the minimum current of the PV modes; `max_car_int` caps
  every offer. With `dynamic` on and `maxpower` set, the offer is also capped
  so household + car stay within `maxpower`; below the minimum it offers 0.
- `locked` blocks charging; `pausecharge` stops until `startcharge`; both
  persist across sessions. `charger_until_energy` / `charger_until_minutes`
  stop the session once its energy / charging time reaches the limit; the
  limits apply to the current (or next) session and clear at unplug.
  `charger_until_energy` of 0 kWh lifts the energy limit (and lets a session it
  stopped charge on). The energy limit stops the car within the step that reaches
  it, at the limit (the Trydan counts energy continuously; a whole last minute at
  16 A on three phases would be up to 184 Wh past it); the time limit at whole steps.
- The car draws min(offer, what it accepts): see `car.Car`. Phases used are
  min(charger phases, car phases). Power = amps * phases * voltage.
- Counters: `session_energy_wh`, `session_seconds` (seconds with power flowing).

Every energy sum is folded one step at a time (`bookkeeping`), on the numpy path as on
the step-by-step one, from per-step values both paths compute with the same float
operations: so the car, the sessions and the totals after a step are the same to the
bit however the steps before it were split into segments (when the controller woke up).
"""

from __future__ import annotations

import math
from datetime import datetime
from operator import sub

import numpy as np
import numpy.typing as npt

from adapters.simulator.world.bookkeeping import (
    EnergyTotals,
    SessionLog,
    fold,
    fold_array,
    running,
)
from adapters.simulator.world.car import Car
from adapters.simulator.world.recording import ChargerState, StepRecorder
from adapters.simulator.world.scenario import DeviceConfig
from optimizer.charging import drawn_current_a
from optimizer.interfaces import (
    MAX_CURRENT_A,
    MIN_CURRENT_A,
    ChargerReading,
    ChargeState,
    PvMode,
)

FloatArray = npt.NDArray[np.float64]

SHORT_SEGMENT_STEPS = 48
"""Segments up to this many steps run in plain Python (numpy's per-call cost dominates there)."""


LIMIT_TOL_WH = 1e-6
"""A session this close to its energy limit (Wh) has reached it (float rounding)."""


def _whole_amps(amps: int, what: str) -> int:
    if isinstance(amps, bool) or not isinstance(amps, int | np.integer):
        raise ValueError(f"{what} must be whole amps, got {amps!r}")
    if not MIN_CURRENT_A <= amps <= MAX_CURRENT_A:
        raise ValueError(f"{what} must be {MIN_CURRENT_A}..{MAX_CURRENT_A} A, got {amps}")
    return int(amps)


def exclusive_pv_gate(
    enough: bool, on: bool, timer_s: float, dt_s: float, delay_s: float
) -> tuple[bool, float]:
    """One regulation tick of exclusive PV's stop/restart delay: `(on, timer_s)` after it.

    `enough` says the surplus covers the minimum current. Charging stops once the
    surplus has been short for `delay_s` and restarts once it has been back for
    `delay_s` (the timer counts the time the wish differs from the state, in s).
    """
    if enough == on:
        return on, 0.0
    timer_s += dt_s
    if timer_s >= delay_s:
        return enough, 0.0
    return on, timer_s


def pv_mode_current(amps: float, minimum: float, cap: float) -> float:
    """Current (A) a PV mode holds for `amps` of surplus: at least the minimum, at most the cap."""
    held = amps if amps > minimum else minimum
    return held if held < cap else cap


class SimCharger:
    """One simulated Trydan and the car plugged into it (if any)."""

    def __init__(
        self,
        config: DeviceConfig,
        *,
        start: datetime,
        pv_mode_delay_s: float,
        regulation_interval_s: float,
    ) -> None:
        self.device_id = config.device_id
        self.config = config
        self.phases = config.phases
        self.voltage_v = config.voltage_v
        self.setpoint_a = config.initial_current_a
        self.pv_mode = PvMode(config.initial_pv_mode)
        self.paused = False
        self.locked = False
        self.dynamic = config.dynamic
        self.min_car_a = config.min_current_a
        self.max_car_a = config.max_current_a
        self.max_power_w: float | None = config.main_fuse_w
        self.until_energy_wh: float | None = None
        self.until_seconds: float | None = None
        self.limit_reached = False
        self.pv_mode_delay_s = pv_mode_delay_s
        self.regulation_interval_s = regulation_interval_s
        self.car: Car | None = None
        self.session: SessionLog | None = None
        self.finished: list[SessionLog] = []
        self.totals = EnergyTotals()
        self.now = start
        self.car_power_w = 0.0
        self.pv_w = 0.0
        self.household_w = 0.0
        self.battery_w = 0.0
        """The home battery's power at the last step (W, + discharging; 0 without one)."""
        self._pv_on = False
        self._pv_timer_s = 0.0
        self._regulated_a = 0.0
        self._fresh_plug = False
        self.recorder: StepRecorder | None = None
        """Per-step record the physics writes into, when the world records (see `World.record`)."""

    def recorded_state(self) -> ChargerState:
        """(offer cap A, PV mode, paused, plugged in) for the world's per-step record."""
        if self.paused or self.locked:
            cap = 0
        else:
            cap = self.setpoint_a if self.setpoint_a < self.max_car_a else self.max_car_a
        return (cap, self.pv_mode, self.paused, self.car is not None)

    # -- what the cloud's endpoints do --------------------------------------------------

    def reading(self, at: datetime | None = None) -> ChargerReading:
        """The `currentstatecharge` snapshot of the last simulated step (SI units),
        stamped `at` (default: the step's own time).

        `house_power_w` includes the car; `pv_power_w` is the PV (`sun_power`). With a
        home battery the meter's view: `house_power_w` = household + car - battery power
        (grid + PV, see `home_battery`), and `battery_w` the battery's power.
        """
        if self.car is None:
            state = ChargeState.DISCONNECTED
        elif self.car_power_w > 0:
            state = ChargeState.CHARGING
        else:
            state = ChargeState.CONNECTED
        session = self.session
        return ChargerReading(
            time=self.now if at is None else at,
            device_id=self.device_id,
            charge_state=state,
            charge_state_code=int(state),
            car_power_w=self.car_power_w,
            pv_power_w=self.pv_w,
            house_power_w=self.household_w + self.car_power_w - self.battery_w,
            current_setpoint_a=0.0 if self.paused else float(self.setpoint_a),
            phases=self.phases,
            voltage_v=self.voltage_v,
            session_energy_wh=session.energy_wh if session else 0.0,
            session_seconds=session.seconds if session else 0.0,
            pv_regulation_on=self.pv_mode != PvMode.MAX_POWER,
            battery_w=self.battery_w,
        )

    def set_intensity(self, amps: int) -> None:
        """Setpoint current, 6..32 whole amps (ValueError otherwise)."""
        self.setpoint_a = _whole_amps(amps, "intensity")

    def set_pv_mode(self, mode: PvMode) -> None:
        """`chargefvmode` 0, 1 or 2; switching into a PV mode restarts its regulation."""
        mode = PvMode(int(mode))
        if mode != self.pv_mode:
            self._pv_timer_s = 0.0
            self._fresh_plug = True
        self.pv_mode = mode

    def start(self) -> None:
        """Resume charging (`startcharge`); also clears a reached energy/time limit."""
        self.paused = False
        self.limit_reached = False

    def pause(self) -> None:
        """Pause charging (`pausecharge`) until `start`."""
        self.paused = True

    def set_locked(self, on: bool) -> None:
        """Lock (no charging) or unlock the charging point."""
        self.locked = bool(on)

    def set_dynamic(self, on: bool) -> None:
        """Dynamic power control: keep household + car within `max_power_w`."""
        self.dynamic = bool(on)

    def set_min_car_current(self, amps: int) -> None:
        """Minimum current of the PV modes (`min_car_int`)."""
        self.min_car_a = _whole_amps(amps, "min_car_int")

    def set_max_car_current(self, amps: int) -> None:
        """Cap on every offer (`max_car_int`)."""
        self.max_car_a = _whole_amps(amps, "max_car_int")

    def set_max_power(self, watts: float) -> None:
        """Installation limit (W, `maxpower`), used with dynamic power control."""
        if not math.isfinite(watts) or watts <= 0:
            raise ValueError(f"maxpower must be a positive number of watts, got {watts!r}")
        self.max_power_w = float(watts)

    def charge_until_energy(self, wh: float) -> None:
        """Stop the session once it has delivered `wh` (`charger_until_energy`)."""
        if not math.isfinite(wh) or wh <= 0:
            raise ValueError(f"energy limit must be positive, got {wh!r}")
        self.until_energy_wh = float(wh)
        self.limit_reached = False

    def lift_energy_limit(self) -> None:
        """No energy limit any more (`charger_until_energy` of 0): a session the limit
        stopped charges on (unless paused, locked or stopped by its time limit)."""
        self.until_energy_wh = None
        self.limit_reached = self._time_limit_reached()

    def _time_limit_reached(self) -> bool:
        session = self.session
        return (
            session is not None
            and self.until_seconds is not None
            and session.seconds >= self.until_seconds
        )

    def charge_until_seconds(self, s: float) -> None:
        """Stop the session after `s` seconds of charging (`charger_until_minutes`)."""
        if not math.isfinite(s) or s <= 0:
            raise ValueError(f"time limit must be positive, got {s!r}")
        self.until_seconds = float(s)
        self.limit_reached = False

    def start_charge_energy(self, wh: float) -> None:
        """`startchargekw`: start now and stop after `wh`."""
        self.charge_until_energy(wh)
        self.start()

    def start_charge_seconds(self, s: float) -> None:
        """`startchargeminutes`: start now and stop after `s` seconds of charging."""
        self.charge_until_seconds(s)
        self.start()

    # -- plug-in and unplug (called by the world) ---------------------------------------

    def plug_in(self, car: Car, log: SessionLog) -> None:
        """A car arrives: a new session with zeroed counters."""
        self.car = car
        self.session = log
        self.limit_reached = False
        self._pv_timer_s = 0.0
        self._fresh_plug = True

    def unplug(self, when: datetime) -> None:
        """The car leaves: close the session, clear the per-session limits."""
        if self.session is not None:
            self.session.end = when
            if self.car is not None:
                self.session.soc = self.car.soc
            self.finished.append(self.session)
        self.car = None
        self.session = None
        self.until_energy_wh = None
        self.until_seconds = None
        self.limit_reached = False
        self.car_power_w = 0.0

    # -- physics ------------------------------------------------------------------------

    def idle(self, pv: FloatArray, house: FloatArray, dt: float) -> None:
        """Steps without charging: everything above the household is exported."""
        n = pv.shape[0]
        if n == 0:
            return
        if n <= SHORT_SEGMENT_STEPS:
            self.idle_short(pv.tolist(), house.tolist(), dt)
            return
        h = dt / 3600.0
        exported = np.maximum(pv - house, 0.0) * h
        totals = self.totals
        totals.pv_exported_wh = fold_array(totals.pv_exported_wh, exported)
        totals.pv_wh = fold_array(totals.pv_wh, pv * h)
        totals.household_wh = fold_array(totals.household_wh, house * h)
        if self.session is not None:
            self.session.pv_exported_wh = fold_array(self.session.pv_exported_wh, exported)
        self.car_power_w = 0.0
        self.pv_w = float(pv[-1])
        self.household_w = float(house[-1])

    def idle_short(self, pv: list[float], house: list[float], dt: float) -> None:
        """`idle` over Python floats, for short segments (the same per-step values)."""
        h = dt / 3600.0
        # the steps that export; the others add exactly 0.0 to the running sums
        exported = [(p - q) * h for p, q in zip(pv, house, strict=True) if p > q]
        totals = self.totals
        totals.pv_exported_wh = fold(totals.pv_exported_wh, exported)
        totals.pv_wh = fold(totals.pv_wh, [p * h for p in pv])
        totals.household_wh = fold(totals.household_wh, [q * h for q in house])
        if self.session is not None:
            self.session.pv_exported_wh = fold(self.session.pv_exported_wh, exported)
        self.car_power_w = 0.0
        self.pv_w = pv[-1]
        self.household_w = house[-1]

    def _blocked(self) -> bool:
        car = self.car
        return car is None or self.paused or self.locked or self.limit_reached or car.full

    def _offer(self, surplus: FloatArray, house: FloatArray, k0: int, dt: float) -> FloatArray:
        """Current offered per step (A, whole amps) before the car's own limit."""
        n = surplus.shape[0]
        cap = float(min(self.setpoint_a, self.max_car_a))
        car = self.car
        assert car is not None
        wpa = min(self.phases, car.phases) * self.voltage_v
        if self.pv_mode == PvMode.MAX_POWER:
            offer = np.full(n, cap)
        else:
            available = np.floor(surplus / wpa)
            minimum = float(self.min_car_a)
            if self.pv_mode == PvMode.PV_MIN:
                offer = np.minimum(np.maximum(available, minimum), cap)
                offer = self._hold_between_regulations(offer, k0, dt)
            else:
                offer = self._exclusive_pv(available, minimum, cap, k0, dt)
        if self.dynamic and self.max_power_w is not None:
            room = np.floor((self.max_power_w - house) / wpa)
            offer = np.where(room >= self.min_car_a, np.minimum(offer, room), 0.0)
        return offer

    def _regulation_every(self, dt: float) -> int:
        return max(1, round(self.regulation_interval_s / dt))

    def _hold_between_regulations(self, offer: FloatArray, k0: int, dt: float) -> FloatArray:
        every = self._regulation_every(dt)
        if every == 1:
            self._regulated_a = float(offer[-1])
            return offer
        n = offer.shape[0]
        idx = np.arange(n)
        last_tick = idx - (k0 + idx) % every
        held = np.where(last_tick >= 0, offer[np.maximum(last_tick, 0)], self._regulated_a)
        self._regulated_a = float(held[-1])
        return held

    def _exclusive_pv(
        self, available: FloatArray, minimum: float, cap: float, k0: int, dt: float
    ) -> FloatArray:
        """The stop/restart state machine of exclusive PV, one regulation at a time."""
        every = self._regulation_every(dt)
        reg_dt = dt * every
        delay = self.pv_mode_delay_s
        on, timer, held = self._pv_on, self._pv_timer_s, self._regulated_a
        if self._fresh_plug:
            on, timer, self._fresh_plug = bool(available[0] >= minimum), 0.0, False
        avail = available.tolist()
        out = [0.0] * len(avail)
        phase = k0 % every
        for i, a in enumerate(avail):
            if every == 1 or (phase + i) % every == 0:
                on, timer = exclusive_pv_gate(a >= minimum, on, timer, reg_dt, delay)
                held = pv_mode_current(a, minimum, cap) if on else 0.0
            out[i] = held
        self._pv_on, self._pv_timer_s, self._regulated_a = on, timer, held
        return np.asarray(out, dtype=float)

    def charge(self, pv: FloatArray, house: FloatArray, k0: int, dt: float) -> None:
        """Simulate steps with the car plugged in and the commands constant.

        Vectorized while the car is below its taper and no limit is near; the
        taper and the step that reaches a limit run one step at a time.
        """
        n = pv.shape[0]
        if n == 0:
            return
        if self._blocked():
            self.idle(pv, house, dt)
            return
        if n <= SHORT_SEGMENT_STEPS:
            self.charge_short(pv.tolist(), house.tolist(), k0, dt)
            return
        car, session = self.car, self.session
        assert car is not None and session is not None
        surplus = pv - house
        offer = self._offer(surplus, house, k0, dt)
        wpa = min(self.phases, car.phases) * self.voltage_v
        h = dt / 3600.0
        amps = np.minimum(offer, car.max_current_a)
        power = amps * wpa
        energy = power * h
        # Bulk: the steps that start at SoC <= taper start, where the car takes its
        # maximum current; the SoC and the session's energy run as `_draw` adds them.
        soc = running(car.soc, energy * car.soc_per_wh())
        bulk = int(np.searchsorted(soc[:-1], car.taper_start_soc, "right"))
        if self.until_energy_wh is not None:  # the step crossing the limit: in `_draw`
            session_wh = running(session.energy_wh, energy)[1:]  # after each step
            bulk = min(bulk, int(np.searchsorted(session_wh, self.until_energy_wh, "right")))
        if self.until_seconds is not None:
            charging_s = np.concatenate(([0.0], np.cumsum(energy > 0)[:-1])) * dt
            bulk = min(
                bulk, int(np.searchsorted(charging_s, self.until_seconds - session.seconds, "left"))
            )
        if bulk:
            self._account(power[:bulk], energy[:bulk], surplus[:bulk], pv[:bulk], house[:bulk], dt)
            if self.recorder is not None:
                i = k0 - self.recorder.first_k
                self.recorder.current_a[i : i + bulk] = amps[:bulk]
                self.recorder.car_w[i : i + bulk] = power[:bulk]
            car.soc = min(1.0, float(soc[bulk]))  # below the taper start before: no clamp
        if bulk < n:
            # the taper, and the step reaching a limit, one step at a time
            tail = (offer[bulk:].tolist(), pv[bulk:].tolist(), house[bulk:].tolist())
            self._draw(*tail, k0 + bulk, dt)

    def _account(
        self,
        power: FloatArray,
        energy: FloatArray,
        surplus: FloatArray,
        pv: FloatArray,
        house: FloatArray,
        dt: float,
    ) -> None:
        """Fold charging steps into the session and the totals: per step what `_draw`
        computes (W in, Wh per step folded)."""
        h = dt / 3600.0
        solar = np.minimum(power, np.maximum(surplus, 0.0)) * h
        exported = np.maximum(surplus - power, 0.0) * h
        session, totals = self.session, self.totals
        assert session is not None
        session.add_steps(energy, solar, exported)
        # whole seconds (`dt` is whole), so the product is the sum of the steps, exactly
        session.seconds += float(np.count_nonzero(power > 0)) * dt
        totals.add_steps(energy, solar, exported)
        totals.pv_wh = fold_array(totals.pv_wh, pv * h)
        totals.household_wh = fold_array(totals.household_wh, house * h)
        self.car_power_w = float(power[-1])
        self.pv_w = float(pv[-1])
        self.household_w = float(house[-1])

    def _draw(
        self, offer: list[float], pv: list[float], house: list[float], k0: int, dt: float
    ) -> None:
        """The car draws the offers (A) one step at a time, until it is full or a limit is
        reached (the step at which the session's energy or charging time has got there);
        the steps after that idle."""
        if not any(offer):  # nothing offered (a PV mode without sun): the steps idle
            self._draw_nothing(pv, house, dt)
            return
        self._draw_steps(offer, pv, house, k0, dt)

    def _draw_steps(
        self, offer: list[float], pv: list[float], house: list[float], k0: int, dt: float
    ) -> None:
        """`_draw`'s per-step loop, for any offers (A): what `_draw_nothing` must equal
        where they are all 0 A."""
        car, session, totals = self.car, self.session, self.totals
        assert car is not None and session is not None
        rec_w, rec_a, i0 = _record_arrays(self.recorder, k0)
        wpa = min(self.phases, car.phases) * self.voltage_v
        h = dt / 3600.0
        per_wh = car.soc_per_wh()
        until_e = self.until_energy_wh
        power = 0.0
        # running sums, one step at a time (see `bookkeeping`): session, then totals
        se, ss, sg, sx, secs = (
            session.energy_wh,
            session.solar_wh,
            session.grid_wh,
            session.pv_exported_wh,
            session.seconds,
        )
        te, ts, tg, tx = totals.energy_wh, totals.solar_wh, totals.grid_wh, totals.pv_exported_wh
        tp, th = totals.pv_wh, totals.household_wh
        stop = len(offer)
        for i, offered in enumerate(offer):
            if self._at_limit(se, secs):
                self.limit_reached = True
                stop = i
                break
            accepted = car.accepted_current_a()
            if accepted <= 0.0:
                stop = i
                break
            amps = drawn_current_a(offered, accepted)
            power = amps * wpa
            if until_e is not None and se + power * h > until_e:
                power = (until_e - se) / h  # stops at the limit
                amps = power / wpa
            if rec_w is not None and rec_a is not None:
                rec_w[i0 + i] = power
                rec_a[i0 + i] = amps
            p, q = pv[i], house[i]
            surplus = p - q
            pos = surplus if surplus > 0.0 else 0.0
            e = power * h
            s = (power if power < pos else pos) * h
            x = (surplus - power if surplus > power else 0.0) * h
            g = e - s
            se += e
            ss += s
            sg += g
            sx += x
            te += e
            ts += s
            tg += g
            tx += x
            tp += p * h
            th += q * h
            if power > 0.0:
                secs += dt
                car.soc = min(1.0, car.soc + e * per_wh)
        session.energy_wh, session.solar_wh, session.grid_wh = se, ss, sg
        session.pv_exported_wh, session.seconds = sx, secs
        totals.energy_wh, totals.solar_wh, totals.grid_wh, totals.pv_exported_wh = te, ts, tg, tx
        totals.pv_wh, totals.household_wh = tp, th
        if stop:
            self.car_power_w = power
            self.pv_w = pv[stop - 1]
            self.household_w = house[stop - 1]
        if stop < len(offer):
            self.idle_short(pv[stop:], house[stop:], dt)

    def _at_limit(self, session_wh: float, session_s: float) -> bool:
        """Whether a session at `session_wh` (Wh) and `session_s` (s of charging) has
        reached its energy or time limit: the car takes nothing more."""
        until_e, until_s = self.until_energy_wh, self.until_seconds
        return (until_e is not None and session_wh >= until_e - LIMIT_TOL_WH) or (
            until_s is not None and session_s >= until_s
        )

    def _draw_nothing(self, pv: list[float], house: list[float], dt: float) -> None:
        """`_draw` of offers that are all 0 A, without its per-step work.

        The car draws nothing, so its SoC and the session's counters stay and every
        step adds exactly 0.0 to the car's energy sums (left out, see `bookkeeping`):
        the steps idle, as `idle_short` folds them, and the recorder's steps stay 0.
        A session already at its limit is noted as `_draw`'s first step notes it.
        """
        session = self.session
        assert session is not None
        if self._at_limit(session.energy_wh, session.seconds):
            self.limit_reached = True
        self.idle_short(pv, house, dt)

    def charge_short(
        self,
        pv: list[float],
        house: list[float],
        k0: int,
        dt: float,
        meter_house: list[float] | None = None,
    ) -> None:
        """The same physics as `charge`, one step at a time over Python floats.

        A controller polling every minute or two makes segments of one or two
        steps, where this is several times faster than the numpy path. Tested
        to agree with it. `meter_house` is the household as the charger's meter
        sees it where that differs from the household itself (a home battery
        offsets it, see `home_battery`): the PV modes regulate on it.
        """
        if not pv:
            return
        if self._blocked():
            self.idle_short(pv, house, dt)
            return
        seen = house if meter_house is None else meter_house
        self._draw(self._offer_short(pv, seen, k0, dt), pv, house, k0, dt)

    def _offer_short(self, pv: list[float], house: list[float], k0: int, dt: float) -> list[float]:
        """`_offer` over Python floats: the current offered per step (A, whole amps)."""
        car = self.car
        assert car is not None
        floor = math.floor
        wpa = min(self.phases, car.phases) * self.voltage_v
        mode = self.pv_mode
        cap = float(min(self.setpoint_a, self.max_car_a))
        minimum = float(self.min_car_a)
        room_w = self.max_power_w if self.dynamic else None
        every = self._regulation_every(dt)
        reg_dt, delay = dt * every, self.pv_mode_delay_s
        on, timer, held = self._pv_on, self._pv_timer_s, self._regulated_a
        if self._fresh_plug and mode == PvMode.EXCLUSIVE_PV:
            on, timer, self._fresh_plug = floor((pv[0] - house[0]) / wpa) >= minimum, 0.0, False
        offers = [0.0] * len(pv)
        # Stopped, and no step's surplus covers the minimum (floor is monotonic): each
        # regulation keeps it stopped with its timer at 0 (`exclusive_pv_gate`) and offers
        # 0 A, whatever the room. The night of a car left in exclusive PV.
        stopped = mode == PvMode.EXCLUSIVE_PV and not on and every == 1
        if stopped and floor(max(map(sub, pv, house)) / wpa) < minimum:
            self._pv_on, self._pv_timer_s, self._regulated_a = False, 0.0, 0.0
            return offers
        for i, p in enumerate(pv):
            hh = house[i]
            if mode == PvMode.MAX_POWER:
                offer = cap
            else:
                if every == 1 or (k0 + i) % every == 0:
                    a = float(floor((p - hh) / wpa))
                    if mode == PvMode.EXCLUSIVE_PV:
                        on, timer = exclusive_pv_gate(a >= minimum, on, timer, reg_dt, delay)
                    held = pv_mode_current(a, minimum, cap) if mode == PvMode.PV_MIN or on else 0.0
                offer = held
            if room_w is not None:
                room = float(floor((room_w - hh) / wpa))
                offer = (offer if offer < room else room) if room >= minimum else 0.0
            offers[i] = offer
        if mode == PvMode.EXCLUSIVE_PV:
            self._pv_on, self._pv_timer_s = on, timer
        if mode != PvMode.MAX_POWER:
            self._regulated_a = held
        return offers


def _record_arrays(
    recorder: StepRecorder | None, k0: int
) -> tuple[FloatArray | None, FloatArray | None, int]:
    """The recorder's power and current arrays and the index of step `k0` in them."""
    if recorder is None:
        return None, None, 0
    return recorder.car_w, recorder.current_a, k0 - recorder.first_k

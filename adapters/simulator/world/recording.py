"""Per-step series of one charger as the world simulated it (off by default).

The world's `EnergyTotals` are sums; a backtest's plots and flapping metrics need
the steps themselves: what the car actually drew each step, at what current, in
which mode. `StepRecorder` keeps them in preallocated numpy arrays indexed by the
world's step number, cheaply enough for a year at 1-min steps:

* the car's power and current are written by the charger's physics, step by step
  (idle steps stay 0, the arrays start zeroed);
* the charger's state (offer cap, PV mode, paused, plugged in) only changes between
  two `advance_to` calls or at an arrival or departure, so the world reports it at
  those points and the recorder fills the steps in between only when it changes;
* PV and household power are the world's inputs, copied a whole UTC day at a
  time when the world first simulates a step of that day.

`StepSeries` is what a caller gets: one element per step, with the per-step
energies computed exactly as the world's bookkeeping does, so they sum to its
totals (up to float summation order). Units: W, A, Wh, seconds; times UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

ChargerState = tuple[float, int, bool, bool]
"""(offer cap A, PV mode, paused, plugged in): what `StepRecorder.mark` records."""

_MIN_CAPACITY = 1024


class StepRecorder:
    """Per-step arrays of one charger from world step `first_k` on (see the module doc).

    The charger writes `car_w[k - first_k]` and `current_a[k - first_k]`; the
    world calls `reserve` before simulating up to a step and `mark` whenever the
    charger's state may have changed.
    """

    __slots__ = (
        "_state_k",
        "car_w",
        "current_a",
        "first_k",
        "household_w",
        "input_day",
        "paused",
        "plugged",
        "pv_mode",
        "pv_w",
        "setpoint_a",
        "state",
    )

    def __init__(self, first_k: int, capacity: int) -> None:
        capacity = max(int(capacity), _MIN_CAPACITY)
        self.first_k = first_k
        self.input_day = -1
        """Index of the last UTC day whose inputs were copied (-1: none yet)."""
        self.pv_w: FloatArray = np.zeros(capacity)
        self.household_w: FloatArray = np.zeros(capacity)
        self.car_w: FloatArray = np.zeros(capacity)
        self.current_a: FloatArray = np.zeros(capacity)
        self.setpoint_a: FloatArray = np.zeros(capacity)
        self.pv_mode: IntArray = np.zeros(capacity, dtype=np.int8)
        self.paused: BoolArray = np.zeros(capacity, dtype=np.bool_)
        self.plugged: BoolArray = np.zeros(capacity, dtype=np.bool_)
        self.state: ChargerState | None = None
        """The charger's state from the last mark on (None before the first)."""
        self._state_k = first_k

    @property
    def capacity(self) -> int:
        """Steps the arrays hold now (they grow on `reserve`)."""
        return int(self.car_w.shape[0])

    def reserve(self, k_end: int) -> None:
        """Make room for every step before `k_end` (doubling, so growth is amortized)."""
        needed = k_end - self.first_k
        if needed <= self.capacity:
            return
        size = max(needed, 2 * self.capacity)
        names = ("pv_w", "household_w", "car_w", "current_a", "setpoint_a", "pv_mode", "paused")
        for name in (*names, "plugged"):
            old = getattr(self, name)
            new = np.zeros(size, dtype=old.dtype)
            new[: old.shape[0]] = old
            setattr(self, name, new)

    def copy_inputs(self, k_day: int, pv_w: FloatArray, household_w: FloatArray) -> None:
        """Copy one day's inputs starting at world step `k_day` (the part from `first_k` on)."""
        skip = max(0, self.first_k - k_day)
        lo = k_day + skip - self.first_k
        n = min(pv_w.shape[0] - skip, self.capacity - lo)
        self.pv_w[lo : lo + n] = pv_w[skip : skip + n]
        self.household_w[lo : lo + n] = household_w[skip : skip + n]

    def mark(self, k: int, state: ChargerState) -> None:
        """The charger is in `state` from step `k` on (steps before keep the previous one)."""
        if state == self.state:
            return
        self.fill_to(k)
        self.state = state

    def fill_to(self, k: int) -> None:
        """Write the current state into every step from the last mark up to `k`."""
        state = self.state
        lo, hi = self._state_k - self.first_k, k - self.first_k
        if state is not None and hi > lo:
            cap, mode, paused, plugged = state
            self.setpoint_a[lo:hi] = cap
            self.pv_mode[lo:hi] = mode
            self.paused[lo:hi] = paused
            self.plugged[lo:hi] = plugged
        self._state_k = max(self._state_k, k)


@dataclass(frozen=True)
class StepSeries:
    """One charger's simulated steps: element i covers [start + i step, start + (i+1) step).

    `setpoint_a` is the most the charger would offer (intensity capped by
    `max_car_int`; 0 while paused or locked), `current_a` what the car actually
    drew (A) and `car_w` its power (W); `pv_mode` is `chargefvmode` (0 PV+min,
    1 exclusive PV, 2 maximum power).
    """

    start: datetime
    step_s: float
    pv_w: FloatArray
    household_w: FloatArray
    car_w: FloatArray
    current_a: FloatArray
    setpoint_a: FloatArray
    pv_mode: IntArray
    paused: BoolArray
    plugged: BoolArray

    def __len__(self) -> int:
        return int(self.car_w.shape[0])

    @property
    def end(self) -> datetime:
        """End of the last step (UTC)."""
        return self.start + timedelta(seconds=len(self) * self.step_s)

    def times(self) -> pd.DatetimeIndex:
        """Start of every step (tz-aware UTC)."""
        return pd.date_range(self.start, periods=len(self), freq=f"{int(self.step_s)}s")

    def car_wh(self) -> FloatArray:
        """Energy into the car per step (Wh)."""
        return self.car_w * (self.step_s / 3600.0)

    def solar_wh(self) -> FloatArray:
        """Solar part of the car's energy per step (Wh): min(car, max(PV - household, 0))."""
        surplus = np.maximum(self.pv_w - self.household_w, 0.0)
        return np.minimum(self.car_w, surplus) * (self.step_s / 3600.0)

    def exported_wh(self) -> FloatArray:
        """PV exported per step (Wh): max(PV - household - car, 0)."""
        return np.maximum(self.pv_w - self.household_w - self.car_w, 0.0) * (self.step_s / 3600.0)

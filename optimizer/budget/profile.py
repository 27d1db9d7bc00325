"""A PV-power hint for the rest of the day, learned from what the controller says."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import numpy.typing as npt

BUCKET_S = 900
"""Time-of-day resolution of the learned profile (s)."""


class LearnedPvProfile:
    """Expected PV power (W) by time of day, from the contexts seen so far.

    Each 15-minute slot of the UTC day keeps the last `pv_expected_w` seen in
    it (yesterday's value until today's arrives). A slot never seen falls back
    to the most recent value (persistence), which spreads reads evenly until a
    day has been seen. Used when no forecast callable is given to the planner.
    """

    def __init__(self) -> None:
        self._slots = [math.nan] * (86400 // BUCKET_S)
        self._array = np.full(len(self._slots), math.nan)  # the same, for `at_utc_seconds`
        self._latest = 0.0
        self.version = 0
        """Changes whenever an expected value changes (for callers' caches)."""

    def observe(self, at: datetime, pv_w: float) -> None:
        """Remember the PV power expected at `at` (W)."""
        if not math.isfinite(pv_w):
            raise ValueError(f"pv_expected_w must be finite, got {pv_w}")
        value = max(pv_w, 0.0)
        slot = self._slot(at)
        if self._slots[slot] != value or self._latest != value:
            self._slots[slot] = value
            self._array[slot] = value
            self._latest = value
            self.version += 1

    def __call__(self, at: datetime) -> float:
        """Expected PV power at `at` (W)."""
        value = self._slots[self._slot(at)]
        return self._latest if math.isnan(value) else value

    @staticmethod
    def _slot(at: datetime) -> int:
        return (at.hour * 3600 + at.minute * 60 + at.second) // BUCKET_S

    def at_utc_seconds(self, epoch_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """`self(t)` for many times at once, given as UTC epoch seconds (W).

        Same slot as `__call__` for whole-second times (the planner's grid edges).
        """
        values = self._array[((epoch_s % 86400.0) // BUCKET_S).astype(np.int64)]
        return np.where(np.isnan(values), self._latest, values)

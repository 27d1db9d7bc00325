"""Sampled EV plug-in sessions as a backtest's sessions table.

The day patterns and the trip-energy model live in `optimizer.sessions` (shared with
the simulator's world); they are re-exported here for the backtest's callers.
`sample_sessions` runs `optimizer.sessions.SessionSampler` over a fixed window.

Sampling is deterministic for a given seed. The first session starts at `start` and the
last ends at `end` (the sampled window), so they may be shorter than a real stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from optimizer.sessions import (
    CommuterPattern,
    HomeOfficePattern,
    Pattern,
    SessionPattern,
    SessionSampler,
    SessionSamplerConfig,
    TripEnergy,
    WeekendTripsPattern,
)

__all__ = [
    "SESSION_COLUMNS",
    "CommuterPattern",
    "HomeOfficePattern",
    "SessionPattern",
    "SessionSamplerConfig",
    "TripEnergy",
    "WeekendTripsPattern",
    "sample_sessions",
]

SESSION_COLUMNS = ["arrival", "departure", "energy_kwh", "max_current_a", "phases"]


def sample_sessions(
    pattern: Pattern,
    start: datetime | pd.Timestamp | str,
    end: datetime | pd.Timestamp | str,
    *,
    tz: str = "UTC",
    seed: int | Sequence[int] = 0,
) -> pd.DataFrame:
    """Plug-in sessions on [start, end) following `pattern`, reproducible by `seed`.

    Trip times are local times in `tz`; naive `start`/`end` are local too. Returns the
    columns `SESSION_COLUMNS`: arrival and departure (UTC), energy_kwh, max_current_a
    (A, NaN when the pattern sets none) and phases, sorted and never overlapping.
    """
    window_start, window_end = _as_utc(start, tz), _as_utc(end, tz)
    if window_end <= window_start:
        raise ValueError(f"end {window_end} must be after start {window_start}")
    sampler = SessionSampler(pattern, window_start, tz=tz, seed=seed, end=window_end)
    sessions = list(iter(sampler.next_session, None))
    return pd.DataFrame(
        {
            "arrival": pd.DatetimeIndex([s.arrival for s in sessions]),
            "departure": pd.DatetimeIndex([s.departure for s in sessions]),
            "energy_kwh": np.asarray([s.energy_kwh for s in sessions], dtype=np.float64),
            "max_current_a": float("nan")
            if pattern.max_current_a is None
            else float(pattern.max_current_a),
            "phases": pattern.phases,
        },
        columns=SESSION_COLUMNS,
    )


def _as_utc(value: datetime | pd.Timestamp | str, tz: str) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return stamp.tz_convert("UTC")

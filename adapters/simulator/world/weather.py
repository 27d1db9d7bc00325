"""The sky: a seeded stochastic cloud process that modulates clear-sky PV.

`transmittance` returns, for one day on a regular grid, the fraction of the
clear-sky PV power that reaches the panels (0..1). Broken clouds are an
alternating renewal process: clear spells and cloud spells with exponential
durations, each cloud with its own transmittance, edges ramped linearly over
`ramp_s` seconds (a cloud edge crossing an array takes tens of seconds, so PV
ramps by several kW per minute, which is what a solar charger must follow).
Pure numpy, vectorized: a day at 1 s steps costs well under a millisecond or two.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from adapters.simulator.world.scenario import WeatherConfig

FloatArray = npt.NDArray[np.float64]

DAY_S = 86400.0


def transmittance(
    config: WeatherConfig, rng: np.random.Generator, n_steps: int, step_s: float
) -> FloatArray:
    """Fraction of clear-sky PV reaching the array per step (dimensionless, 0..1)."""
    if config.kind == "clear":
        return np.ones(n_steps)
    if config.kind == "overcast":
        return _overcast(config, rng, n_steps, step_s)
    return _broken_clouds(config, rng, n_steps, step_s)


def _broken_clouds(
    config: WeatherConfig, rng: np.random.Generator, n_steps: int, step_s: float
) -> FloatArray:
    horizon_s = n_steps * step_s
    mean_pair = config.clear_mean_s + config.cloud_mean_s
    n_pairs = int(horizon_s / mean_pair * 2) + 16
    clear = rng.exponential(config.clear_mean_s, n_pairs)
    cloud = rng.exponential(config.cloud_mean_s, n_pairs)
    lo, hi = config.cloud_transmittance
    depth = rng.uniform(lo, hi, n_pairs)
    # Spell boundaries in seconds: clear_0, cloud_0, clear_1, cloud_1, ...
    durations = np.column_stack([clear, cloud]).ravel()
    levels = np.column_stack([np.ones(n_pairs), depth]).ravel()
    ends = np.cumsum(durations)
    ends = ends - rng.uniform(0, mean_pair)  # random phase at the start of the day
    mid = (np.arange(n_steps) + 0.5) * step_s
    spell = np.searchsorted(ends, mid, side="right")
    spell = np.minimum(spell, len(levels) - 1)
    raw = levels[spell]
    return _ramp(raw, config.ramp_s, step_s)


def _overcast(
    config: WeatherConfig, rng: np.random.Generator, n_steps: int, step_s: float
) -> FloatArray:
    lo, hi = config.overcast_transmittance
    knots_s = 900.0  # a new level every 15 minutes, linearly interpolated
    n_knots = int(n_steps * step_s / knots_s) + 2
    knots = rng.uniform(lo, hi, n_knots)
    t = np.arange(n_steps) * step_s / knots_s
    return np.interp(t, np.arange(n_knots), knots)


def _ramp(raw: FloatArray, ramp_s: float, step_s: float) -> FloatArray:
    """Linear edges over `ramp_s`: a moving average whose window spans the ramp."""
    width = round(ramp_s / step_s)
    if width <= 1:
        return raw
    kernel = np.full(width, 1.0 / width)
    padded = np.concatenate(
        [np.full(width // 2, raw[0]), raw, np.full(width - 1 - width // 2, raw[-1])]
    )
    return np.convolve(padded, kernel, mode="valid")

"""The household: consumption without the car, one day at a time, seeded.

Base load with Gaussian noise (fridge, standby, heating pump idling) plus
appliance spikes (kettle, oven, washing machine, dishwasher): a Poisson
process of `spikes_per_day` events, twice as likely between 06-09 and 17-22
local time, each with power uniform in `spike_w` and an exponential duration of
mean `spike_mean_s`. Spikes may overlap (two appliances at once). Vectorized:
events are added with a difference array and one cumulative sum.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from adapters.simulator.world.scenario import HouseholdConfig

FloatArray = npt.NDArray[np.float64]

PEAK_HOURS = ((6.0, 9.0), (17.0, 22.0))
PEAK_FACTOR = 2.0


def household_load(
    config: HouseholdConfig, rng: np.random.Generator, local_hour: FloatArray, step_s: float
) -> FloatArray:
    """Household power per step (W, >= 0) on a grid whose local hour of day is `local_hour`."""
    n = local_hour.shape[0]
    load = np.full(n, config.base_w)
    if config.noise_w > 0:
        load += rng.normal(0.0, config.noise_w, n)
    weight = np.ones(n)
    for start_h, end_h in PEAK_HOURS:
        weight[(local_hour >= start_h) & (local_hour < end_h)] = PEAK_FACTOR
    expected = config.spikes_per_day * n * step_s / 86400.0
    n_events = int(rng.poisson(expected))
    if n_events:
        p = weight / weight.sum()
        starts = rng.choice(n, size=n_events, p=p)
        lengths = np.maximum(1, np.rint(rng.exponential(config.spike_mean_s, n_events) / step_s))
        ends = np.minimum(starts + lengths.astype(np.int64), n)
        power = rng.uniform(config.spike_w[0], config.spike_w[1], n_events)
        delta = np.zeros(n + 1)
        np.add.at(delta, starts, power)
        np.add.at(delta, ends, -power)
        load += np.cumsum(delta[:-1])
    return np.maximum(load, 0.0)

"""Blend the nowcast with a weather forecast: the nowcast for the first hours, the weather beyond.

The nowcast knows the sky of the last minutes (it beats smart persistence at an hour
ahead); a weather model knows the fronts of tomorrow but not the cloud over the roof
now. The nowcast's weight is 1 up to `nowcast_full_s` after the last observation,
falls along a raised cosine (smooth, no step in the forecast) and is 0 from
`weather_full_s` on. Where the weather has nothing (NaN: beyond its horizon, a
provider down) the nowcast keeps its full weight.

Both quantiles blend with the same weights; the pessimistic result never exceeds the
central one, so the quantiles stay ordered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Crossover:
    """Where the nowcast hands over to the weather (seconds after the last observation)."""

    nowcast_full_s: float = 3600.0
    weather_full_s: float = 4 * 3600.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.nowcast_full_s < self.weather_full_s:
            raise ValueError(
                "crossover needs 0 <= nowcast_full_s < weather_full_s, got "
                f"{self.nowcast_full_s} and {self.weather_full_s}"
            )

    def nowcast_weight(self, horizon_s: FloatArray) -> FloatArray:
        """The nowcast's weight (1..0) at each horizon (s): a raised cosine between the ends."""
        span = self.weather_full_s - self.nowcast_full_s
        x = np.clip((horizon_s - self.nowcast_full_s) / span, 0.0, 1.0)
        return 0.5 * (1.0 + np.cos(np.pi * x))


@dataclass(frozen=True, slots=True)
class Blended:
    """Central and pessimistic PV power (W) after the blend."""

    central_w: FloatArray
    pessimistic_w: FloatArray


def blend(
    nowcast_w: tuple[FloatArray, FloatArray],
    weather_w: tuple[FloatArray, FloatArray],
    nowcast_weight: FloatArray,
) -> Blended:
    """Blend (central, pessimistic) of the nowcast and of the weather with the nowcast's weights.

    NaN in the weather's central values gives the nowcast full weight there.
    """
    now_c, now_p = nowcast_w
    weather_c, weather_p = weather_w
    known = np.isfinite(weather_c) & np.isfinite(weather_p)
    w = np.where(known, nowcast_weight, 1.0)
    central = w * now_c + (1.0 - w) * np.where(known, weather_c, 0.0)
    pessimistic = w * now_p + (1.0 - w) * np.where(known, weather_p, 0.0)
    return Blended(central, np.minimum(pessimistic, central))

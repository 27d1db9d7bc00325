"""The car's side of charging, one step at a time: the rules the simulator's world and
the optimum (`optimizer.backtest.optimum`) share, so the optimum scores schedules by
the very physics the world runs.

The on-board charger draws `min(offered, accepted)` (A per phase), where `accepted`
is the car's maximum AC current, reduced linearly above `taper_start_soc` to 0 A at
100 % (the constant-current / constant-voltage taper of a Li-ion pack seen at the AC
side). Below `taper_stop_a` the car considers itself full and stops.
"""

from __future__ import annotations


def accepted_current_a(
    soc: float, max_current_a: float, taper_start_soc: float, taper_stop_a: float
) -> float:
    """Current per phase (A) a car at `soc` (0..1) accepts: the taper rule of the model.

    `max_current_a` up to `taper_start_soc`, then falling linearly to 0 A at a full
    battery; below `taper_stop_a` the car considers itself full and takes nothing.
    """
    if soc <= taper_start_soc:
        return max_current_a
    amps = max_current_a * (1.0 - soc) / (1.0 - taper_start_soc)
    return amps if amps >= taper_stop_a else 0.0


def drawn_current_a(offered_a: float, accepted_a: float) -> float:
    """Current per phase (A) the car draws: the lesser of the offer and what it accepts."""
    return offered_a if offered_a < accepted_a else accepted_a

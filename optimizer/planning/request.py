"""`PlanRequest`: everything the least-cost planner needs, per slot, in SI units.

The caller (a policy, a benchmark, a test) turns its world into arrays of equal
length, one value per slot of `step_s` seconds from `start` to departure: the
prices (EUR/kWh), the solar surplus to count on (W: the *pessimistic* forecast
quantile minus the household, so the deadline holds when the sun disappoints)
and, for the fuse, the household load (W). The planner itself never looks at a
clock, a forecaster or a price provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from optimizer.limits import ChargerLimits

FloatArray = npt.NDArray[np.float64]

DEFAULT_STEP_S = 900.0
"""Slot length (s): 15 minutes, the day-ahead markets' interval since 2025."""

DEFAULT_BLOCK_S = 3600.0
"""Length of a decision block (s): the charger's mode (off, its own PV mode, a fixed
current) and the fixed current change only at block boundaries (clock hours by
default), so a day has at most 24 commands and the MILP stays small."""

DEFAULT_COMMAND_COST_EUR = 0.002
"""What one command is charged in the objective (EUR): a start, a stop, a new current.

Each costs one V2C Cloud call out of 1000 a day; 0.2 cent is enough to stop the
schedule from flickering between equal-cost slots, and small beside a slot's
energy (a kWh's price differences are cents)."""

DEFAULT_SHORTFALL_EUR_PER_KWH = 10.0
"""Penalty per kWh the car lacks at departure (EUR/kWh): far above any retail price,
so the planner delivers as much as it physically can before it saves money."""


@dataclass(frozen=True, slots=True)
class TaperLine:
    """One line of a car's taper: power allowed after `E` Wh delivered <= `power_w - w_per_wh * E`.

    A concave, piecewise-linear taper is the minimum of several lines (W, W/Wh).
    """

    power_w: float
    w_per_wh: float


def taper_caps_w(
    taper: tuple[TaperLine, ...], cap_w: FloatArray, hours_per_slot: float
) -> FloatArray:
    """A per-slot power cap (W) from taper lines, as if the car charged at the cap from now.

    Conservative: any real schedule has delivered at most that much before each slot,
    so the taper allows it at least this power. Much cheaper for HiGHS than the lines
    themselves (`PlanRequest.taper`), which couple every slot to all earlier ones.
    """
    caps = np.array(cap_w, dtype=np.float64)
    delivered = 0.0
    for t in range(caps.shape[0]):
        for line in taper:
            caps[t] = min(caps[t], max(line.power_w - line.w_per_wh * delivered, 0.0))
        delivered += caps[t] * hours_per_slot
    return caps


@dataclass(frozen=True, slots=True)
class ChargerNow:
    """What the charger is doing when the plan is made, so the first slot's commands count.

    `following_sun` True: the charger's own PV mode is regulating (`power_w` is then
    what it draws now). Powers in W.
    """

    charging: bool = False
    power_w: float = 0.0
    following_sun: bool = False


@dataclass(frozen=True)
class PlanRequest:
    """One planning problem: slots of `step_s` s from `start`, the last ending at departure.

    Arrays (all of one length n, the number of slots):

    * `import_eur_per_kwh`: what a kWh from the grid costs in each slot (may be negative);
    * `export_eur_per_kwh`: what a kWh fed in earns (may be negative); solar the car
      takes is worth exactly that;
    * `surplus_w`: PV minus household, car excluded (W), from the pessimistic forecast;
      negative values mean no solar for the car;
    * `house_w`: household load (W), needed only for the fuse (`limits.main_fuse_w`);
    * `max_power_w`: a per-slot cap on the car's power (W), e.g. the taper the caller
      computed; None: no cap beyond the limits.

    Decisions are made per block of `block_s` seconds aligned on the clock (UTC
    multiples of `block_s`): in each the charger is off, in its own PV mode (it follows
    the surplus by itself, slot by slot, no grid), or at one fixed power. `start` is
    expected on a slot boundary of the clock too. The last `tail_s` seconds before the
    end are decided in blocks of `tail_block_s` instead (clock-aligned too): a long plan
    keeps hour blocks where its grid usually goes, before departure, while far blocks
    are long (a fixed power over a long block is a lot of energy: such blocks mostly
    follow the sun).

    `energy_wanted_wh` is the energy the car still needs by departure (Wh); `taper`
    optionally caps the power by the energy delivered so far (see `TaperLine`): exact,
    but it couples every slot to all earlier ones and HiGHS needs seconds where the taper
    binds; `taper_caps_w` turns the lines into a conservative `max_power_w` instead.
    `command_cost_eur` is charged per command (start, stop, new current, into or out of
    the charger's own PV mode), `switch_cost_eur` in addition per start or stop.
    `grid_premium_eur_per_kwh` (per slot, None: none) is added to the import price of
    grid energy in the objective only, never to the plan's costs: a caller that replans
    charges it on grid bought early, while sun the forecast may underrate can still come.
    """

    start: datetime
    import_eur_per_kwh: FloatArray
    export_eur_per_kwh: FloatArray
    surplus_w: FloatArray
    energy_wanted_wh: float
    limits: ChargerLimits
    step_s: float = DEFAULT_STEP_S
    block_s: float = DEFAULT_BLOCK_S
    tail_s: float = 0.0
    tail_block_s: float = DEFAULT_BLOCK_S
    house_w: FloatArray | None = None
    max_power_w: FloatArray | None = None
    taper: tuple[TaperLine, ...] = ()
    now: ChargerNow = field(default_factory=ChargerNow)
    command_cost_eur: float = DEFAULT_COMMAND_COST_EUR
    switch_cost_eur: float = 0.0
    shortfall_eur_per_kwh: float = DEFAULT_SHORTFALL_EUR_PER_KWH
    grid_premium_eur_per_kwh: FloatArray | None = None
    fixed_surplus_w: FloatArray | None = None
    """The surplus (W) a block at a fixed power counts on, per slot; None: `surplus_w`.
    The charger's own PV mode takes whatever sun comes, so it is planned on `surplus_w`;
    a fixed current takes its power whatever the sun does and buys from the grid all the
    sun fails to give, so a caller can plan it on a surer surplus."""

    def __post_init__(self) -> None:
        n = _length("import_eur_per_kwh", self.import_eur_per_kwh)
        names = ("export_eur_per_kwh", "surplus_w", "house_w", "max_power_w")
        for name in (*names, "grid_premium_eur_per_kwh", "fixed_surplus_w"):
            values = getattr(self, name)
            if values is not None and _length(name, values) != n:
                raise ValueError(f"{name} has {len(values)} slots, import_eur_per_kwh has {n}")
        if self.step_s <= 0.0:
            raise ValueError(f"step_s must be positive, got {self.step_s}")
        for name in ("block_s", "tail_block_s"):
            block_s = getattr(self, name)
            if block_s < self.step_s or (block_s / self.step_s) % 1.0:
                raise ValueError(
                    f"{name} ({block_s:g} s) must be a whole multiple of step_s ({self.step_s:g} s)"
                )
        if not self.tail_s >= 0.0:
            raise ValueError(f"tail_s must be >= 0, got {self.tail_s}")
        if not self.energy_wanted_wh >= 0.0 or not np.isfinite(self.energy_wanted_wh):
            raise ValueError(
                f"energy_wanted_wh must be finite and >= 0, got {self.energy_wanted_wh}"
            )
        if self.limits.main_fuse_w is not None and self.house_w is None:
            raise ValueError("a main fuse needs the household load house_w per slot")
        if min(self.command_cost_eur, self.switch_cost_eur, self.shortfall_eur_per_kwh) < 0.0:
            raise ValueError("command, switch and shortfall costs must be >= 0")

    @property
    def slots(self) -> int:
        """Number of slots to departure."""
        return int(self.import_eur_per_kwh.shape[0])

    @property
    def hours_per_slot(self) -> float:
        """Slot length in hours (h): Wh per W over one slot."""
        return self.step_s / 3600.0

    def power_cap_w(self) -> FloatArray:
        """Most power the car may draw in each slot (W): charger, fuse headroom, caller's cap.

        A cap below the minimum charging power means the car cannot charge in that slot.
        """
        limits = self.limits
        cap = np.full(self.slots, limits.max_current_a * limits.watts_per_amp)
        if limits.main_fuse_w is not None and self.house_w is not None:
            cap = np.minimum(cap, limits.main_fuse_w - self.house_w)
        if self.max_power_w is not None:
            cap = np.minimum(cap, self.max_power_w)
        return np.maximum(cap, 0.0)

    def block_of_slot(self) -> npt.NDArray[np.int64]:
        """The decision block (0, 1, ...) each slot belongs to, blocks aligned on the clock
        (`block_s`, then `tail_block_s` in the last `tail_s` seconds)."""
        t = self.start.timestamp() + np.arange(self.slots) * self.step_s
        if not self.slots:
            return t.astype(np.int64)
        in_tail = np.arange(self.slots) * self.step_s >= self.slots * self.step_s - self.tail_s
        head = np.floor(t[~in_tail] / self.block_s + 1e-9)
        tail = np.floor(t[in_tail] / self.tail_block_s + 1e-9)
        head = head - head[0] if head.size else head
        after = head[-1] + 1.0 if head.size else 0.0
        tail = tail - tail[0] + after if tail.size else tail
        return np.concatenate([head, tail]).astype(np.int64)

    def solar_wh(self) -> FloatArray:
        """Solar energy a fixed power takes in each slot before the grid (Wh): the
        positive `fixed_surplus_w`, else `surplus_w`."""
        surplus = self.surplus_w if self.fixed_surplus_w is None else self.fixed_surplus_w
        return np.maximum(surplus, 0.0) * self.hours_per_slot


def _length(name: str, values: FloatArray) -> int:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise ValueError(f"{name} is not finite at slot {bad}")
    return int(array.shape[0])

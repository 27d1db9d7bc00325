"""The perfect-foresight optimum: the upper bound every charging policy is reported against.

For one plug-in session, knowing the whole future (PV surplus, household load, prices),
choose a charging current per step. The problem is a mixed-integer program solved with
`scipy.optimize.milp` (HiGHS):

* the charger's offer is constant within a step of `step_s` seconds (**5-minute steps by
  default**, `DEFAULT_STEP_S`; the backtest comparison solves on the world's own 1-minute
  steps, see `optimizer.backtest.compare.solve_optimum`);
* the offer is 0 or a whole number of amps in `[min_current_a, cap_t]`, a semi-integer
  variable (HiGHS's native form of "integer variable with an on/off binary");
  `cap_t` is the smallest of the charger's maximum, the car's maximum current, the car's
  maximum power and the main fuse's headroom `fuse_w - house_w[t]`, all in whole amps;
* car power is `drawn current * phases * voltage_v` (W).

The car (`CarBattery`, optional) is modelled exactly as the world's car (both use
`optimizer/charging.py`) and with the world's discretisation: in step t the car
draws `min(offer_t, accepted_t)`, where `accepted_t` is computed from the SoC **at the step
start**, `soc_t = arrival_soc + charge_efficiency * E_t / capacity_wh`, `E_t` the AC energy
delivered before step t. Above `taper_start_soc` the car accepts
`max_current_a * (1 - soc_t) / (1 - taper_start_soc) = a - b * E_t`, linear in `E_t`, so the
model stays a MILP: with `c_t` the drawn current, a binary `z_t` picks which of the two
bounds the car is at (`z_t = 0`: `c_t = offer_t <= a - b E_t`; `z_t = 1`:
`c_t = a - b E_t <= offer_t`), and `E_{t+1} = E_t + e_t` chains the steps. Below the taper
start `a - b E_t >= max_current_a`, so the line never binds there; binaries exist only in
steps the taper can reach at all (every earlier step at its largest current).

For `solar_only` with a car that MILP has a structure HiGHS cannot see: the energy after a
step, `E + k * g_t(E)` with `g_t(E)` the most current the car can draw without grid, is
nondecreasing in the energy before it, so taking the most grid-free energy in every step
in order is optimal (`_Problem.most_each_step`, proof in its docstring). HiGHS's
relaxation of the whole-amp x taper choice is weak (10 % gap on a sunny weekend,
> 10 s per session), so `solve_session` uses that one-pass solution by default
(`method="auto"`, milliseconds) and keeps the MILP as `method="milp"`; the tests check
that both give the same energy, and that it equals the world's own best grid-free
follower. `target` and car-less sessions are solved by HiGHS.

`taper_stop_a` (below it the car is full for good) makes the feasible set non-convex.
It is modelled as a cap on the session's energy: any world trajectory ends at most one
step after its acceptance reached `taper_stop_a`, so it delivers at most
`stop_wh + one step at taper_stop_a` (`CarBattery.full_after_wh`, a bound valid for every
schedule because `E + k * accepted(E)` grows with `E`). The solution is then **replayed
through the world's physics** (`replay`: `min(offer, accepted)` per step from the step-start
SoC, stopping below `taper_stop_a`), and the replay's energies are what is reported, so the
optimum's energy is one the world can deliver. The replay delivers at least the MILP's
energy minus that one step at `taper_stop_a` (at 60 s steps, 1 phase: 3.8 Wh per session;
3 phases: 11.5 Wh), i.e. the reported optimum is exact to within that.

Two objectives (`Objective`):

``solar_only``
    Maximise solar energy into the car with no grid energy for the car: in every step
    the car's drawn power must not exceed `max(surplus_w, 0)`. Above 6 A the drawn
    current is the surplus truncated to whole amps, or nothing, unless the tapering car
    takes less than the offer: then a tapering car can be filled from a surplus below
    the charger's minimum current.
``target``
    Deliver the energy wanted by departure (or, if that is impossible, as much as the
    limits allow; the rest is `shortfall_wh`) with the least grid energy, or the least
    grid cost when prices are given. Solar is used first: the solar energy of a step is
    `min(car power, max(surplus, 0)) * dt`, the rest is grid. Grid energy is costed at
    `max(price, 0)` (a negative price cannot make the car prefer grid over its own solar).
    The objective counts whole steps; the last, partly charged step is then cut, so the
    reported grid energy is at most that of the exact optimum plus one step's part.

Charging stops when the energy wanted is reached: the step in which it is reached is
charged only partly, so the delivered energy never exceeds what was wanted.

All powers in W, energies in Wh, currents in A, times in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from optimizer.charging import accepted_current_a, drawn_current_a
from optimizer.interfaces import MAX_CURRENT_A, MIN_CURRENT_A, NOMINAL_VOLTAGE_V
from optimizer.limits import AMP_SLACK
from optimizer.milp_rows import SparseRows

DEFAULT_STEP_S = 300.0
"""Step of the optimum's time grid (s): 5 minutes."""

Objective = Literal["solar_only", "target"]
Status = Literal["optimal", "time_limit", "infeasible", "no_steps"]
Method = Literal["auto", "milp"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_ENERGY_EPS_WH = 1e-6


@dataclass(frozen=True, slots=True)
class ChargeLimits:
    """Electrical limits of the charger, the car and the house.

    `max_current_a` is the charger's setpoint maximum, `car_max_current_a` and
    `car_max_power_w` the car's on-board charger limits (None: no extra limit).
    `fuse_w` limits household plus car power at the grid connection (W); it needs the
    household load `house_w` to be given to the solver.
    """

    phases: int = 1
    voltage_v: float = NOMINAL_VOLTAGE_V
    min_current_a: int = MIN_CURRENT_A
    max_current_a: int = MAX_CURRENT_A
    car_max_current_a: float | None = None
    car_max_power_w: float | None = None
    fuse_w: float | None = None

    def __post_init__(self) -> None:
        if self.phases not in (1, 2, 3):
            raise ValueError(f"phases must be 1, 2 or 3, got {self.phases}")
        if self.voltage_v <= 0:
            raise ValueError(f"voltage_v must be positive, got {self.voltage_v}")
        if not 0 < self.min_current_a <= self.max_current_a:
            raise ValueError(
                f"need 0 < min_current_a <= max_current_a, got "
                f"{self.min_current_a} and {self.max_current_a}"
            )

    @property
    def watts_per_amp(self) -> float:
        """Car power per amp of setpoint (W/A)."""
        return self.phases * self.voltage_v


@dataclass(frozen=True, slots=True)
class CarBattery:
    """The plugged-in car's battery and the current it accepts, as the world models it.

    Uses the world car's own taper rule (`optimizer.charging.accepted_current_a`):
    at the start of each step the car accepts
    `max_current_a` (A) while its SoC is at most `taper_start_soc`, above it
    `max_current_a * (1 - soc) / (1 - taper_start_soc)`, and nothing once that is below
    `taper_stop_a` (the car is full and stays so). SoC (0..1) rises by
    `charge_efficiency / capacity_wh` per Wh of AC energy delivered at the charger.
    """

    capacity_wh: float
    arrival_soc: float
    max_current_a: float
    taper_start_soc: float = 0.8
    taper_stop_a: float = 1.0
    charge_efficiency: float = 1.0

    def __post_init__(self) -> None:
        checks = (
            ("capacity_wh", self.capacity_wh > 0, "must be positive"),
            ("arrival_soc", 0.0 <= self.arrival_soc <= 1.0, "must be in 0..1"),
            ("max_current_a", self.max_current_a > 0, "must be positive"),
            ("taper_start_soc", 0.0 < self.taper_start_soc < 1.0, "must be in (0, 1)"),
            ("taper_stop_a", self.taper_stop_a >= 0, "must be >= 0"),
            ("charge_efficiency", 0.0 < self.charge_efficiency <= 1.0, "must be in (0, 1]"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"CarBattery.{name} {rule}, got {getattr(self, name)!r}")

    @property
    def soc_per_wh(self) -> float:
        """SoC gained per Wh of AC energy (1/Wh)."""
        return self.charge_efficiency / self.capacity_wh

    @property
    def taper_line(self) -> tuple[float, float]:
        """`(a, b)`: above the taper start the car accepts `a - b * E` amps, E in Wh (A, A/Wh)."""
        scale = self.max_current_a / (1.0 - self.taper_start_soc)
        return scale * (1.0 - self.arrival_soc), scale * self.soc_per_wh

    @property
    def taper_starts_after_wh(self) -> float:
        """AC energy (Wh) after which the SoC is above the taper start (negative: already)."""
        return (self.taper_start_soc - self.arrival_soc) / self.soc_per_wh

    def accepted_current_a(self, delivered_wh: float) -> float:
        """Current (A) the car accepts after `delivered_wh` of AC energy; 0 when full."""
        soc = min(1.0, self.arrival_soc + delivered_wh * self.soc_per_wh)
        return accepted_current_a(soc, self.max_current_a, self.taper_start_soc, self.taper_stop_a)

    def full_after_wh(self, wh_per_amp: float) -> float:
        """Most AC energy (Wh) any schedule can put in the car with steps of `wh_per_amp`.

        The car accepts at least `taper_stop_a` up to `stop_wh`; a schedule's last
        charging step starts at or below it and adds at most one step at the current
        accepted there, since `E + wh_per_amp * accepted(E)` grows with E. 0 if the car
        arrives full.
        """
        stop_soc = 1.0 - self.taper_stop_a * (1.0 - self.taper_start_soc) / self.max_current_a
        stop_soc = max(self.taper_start_soc, stop_soc)
        if self.accepted_current_a(0.0) <= 0.0:
            return 0.0
        stop_wh = max(0.0, stop_soc - self.arrival_soc) / self.soc_per_wh
        return stop_wh + wh_per_amp * min(self.max_current_a, max(self.taper_stop_a, 0.0))


@dataclass(frozen=True)
class SessionOptimum:
    """The optimal schedule of one session, per step, and its totals.

    `current_a` is the setpoint (A), `power_w` the mean car power over the step (lower
    than `current_a * phases * V` only in the step where the energy wanted is reached),
    `energy_wh`, `solar_wh`, `grid_wh` the energy into the car per step and its split.
    `shortfall_wh` is how much of the energy wanted was not delivered. `cost` is the grid
    cost of the car (currency of the prices) or None without prices.
    """

    objective: Objective
    status: Status
    step_s: float
    energy_wanted_wh: float
    current_a: IntArray
    power_w: FloatArray
    energy_wh: FloatArray
    solar_wh: FloatArray
    grid_wh: FloatArray
    shortfall_wh: float
    cost: float | None = None

    @property
    def total_energy_wh(self) -> float:
        """Energy into the car over the session (Wh)."""
        return float(self.energy_wh.sum())

    @property
    def total_solar_wh(self) -> float:
        """Solar part of the energy into the car (Wh)."""
        return float(self.solar_wh.sum())

    @property
    def total_grid_wh(self) -> float:
        """Grid part of the energy into the car (Wh)."""
        return float(self.grid_wh.sum())

    @property
    def target_met(self) -> bool:
        """The energy wanted was delivered (within 1 Wh)."""
        return self.shortfall_wh <= 1.0


def current_caps_a(
    n_steps: int, limits: ChargeLimits, house_w: FloatArray | None = None
) -> IntArray:
    """Highest whole-amp current allowed in each step by charger, car and fuse (A).

    A cap below `limits.min_current_a` means the car cannot charge in that step.
    """
    cap = float(limits.max_current_a)
    if limits.car_max_current_a is not None:
        cap = min(cap, limits.car_max_current_a)
    if limits.car_max_power_w is not None:
        cap = min(cap, limits.car_max_power_w / limits.watts_per_amp)
    caps = np.full(n_steps, cap, dtype=np.float64)
    if limits.fuse_w is not None:
        if house_w is None:
            raise ValueError("a fuse limit needs the household load house_w")
        caps = np.minimum(caps, (limits.fuse_w - house_w) / limits.watts_per_amp)
    caps = np.floor(caps + AMP_SLACK)
    caps[caps < limits.min_current_a] = 0
    return caps.astype(np.int64)


def solve_session(
    surplus_w: npt.ArrayLike,
    energy_wanted_wh: float,
    *,
    objective: Objective = "solar_only",
    limits: ChargeLimits | None = None,
    car: CarBattery | None = None,
    step_s: float = DEFAULT_STEP_S,
    house_w: npt.ArrayLike | None = None,
    price_per_kwh: npt.ArrayLike | None = None,
    time_limit_s: float = 10.0,
    method: Method = "auto",
) -> SessionOptimum:
    """Optimal charging schedule of one session over its steps (see the module docstring).

    `surplus_w[t]` is PV minus household (car excluded) in step t (W, may be negative);
    the session runs from the first step to departure at the end of the array.
    `energy_wanted_wh` is the energy the car wants (Wh; `math.inf` for "as much as
    possible"). `car` adds the battery's taper (None: the car takes any current up to
    the limits until the energy wanted is in). `house_w` (W) is needed only for the fuse
    limit; `price_per_kwh` only makes `target` minimise cost instead of grid energy.
    `method="milp"` solves `solar_only` with a car by HiGHS too (slow on multi-day
    sessions: the whole-amp x taper binaries leave a weak relaxation); `"auto"` uses the
    exact one-pass solution of that MILP (`_Problem.most_each_step`).
    """
    limits = limits or ChargeLimits()
    if method not in ("auto", "milp"):
        raise ValueError(f"method must be 'auto' or 'milp', got {method!r}")
    surplus = _as_array("surplus_w", surplus_w)
    n = surplus.shape[0]
    house = None if house_w is None else _as_array("house_w", house_w, n)
    price = None if price_per_kwh is None else _as_array("price_per_kwh", price_per_kwh, n)
    if step_s <= 0:
        raise ValueError(f"step_s must be positive, got {step_s}")
    if not energy_wanted_wh >= 0:
        raise ValueError(f"energy_wanted_wh must be >= 0, got {energy_wanted_wh}")
    if objective not in ("solar_only", "target"):
        raise ValueError(f"objective must be 'solar_only' or 'target', got {objective!r}")

    if car is not None and (limits.car_max_current_a or math.inf) > car.max_current_a:
        limits = replace(limits, car_max_current_a=car.max_current_a)
    problem = _Problem.build(surplus, energy_wanted_wh, objective, limits, car, step_s, house)
    if n == 0 or problem.upper_wh <= _ENERGY_EPS_WH:
        offers = np.zeros(n, dtype=np.int64)
        status: Status = "no_steps" if n == 0 else "optimal"
    else:
        costs = np.ones(n) if price is None else np.maximum(price, 0.0) / 1000.0 + 1e-9
        offers, status = problem.solve(costs, time_limit_s, method)
    return _account(offers, problem, energy_wanted_wh, objective, status, price)


def _as_array(name: str, values: npt.ArrayLike, n: int | None = None) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if n is not None and array.shape[0] != n:
        raise ValueError(f"{name} has {array.shape[0]} steps, surplus_w has {n}")
    if not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise ValueError(f"{name} is not finite at step {bad}: {array[bad]}")
    return array


@dataclass(frozen=True)
class Replay:
    """A schedule of offers run through the world's physics (see `replay`), per step.

    `current_a` is the current the car drew (A), `full_wh` the energy of the whole step
    at that current, `energy_wh` what was delivered (less than `full_wh` only in the step
    where the energy wanted was reached).
    """

    current_a: FloatArray
    full_wh: FloatArray
    energy_wh: FloatArray


def replay(
    offers_a: npt.ArrayLike,
    wh_per_amp: float,
    car: CarBattery | None,
    energy_wanted_wh: float = math.inf,
) -> Replay:
    """Run whole-amp offers through the world's physics, one step at a time.

    As `adapters/simulator/world/charger.py` does: in each step the car draws
    `min(offer, accepted)` with `accepted` from the SoC at the step start
    (`CarBattery.accepted_current_a`; without a car, any offer), adds
    `current * wh_per_amp` Wh, and is full for good once it accepts nothing. The step in
    which `energy_wanted_wh` is reached is charged only partly.
    """
    offers = np.asarray(offers_a, dtype=np.float64)
    n = offers.shape[0]
    drawn, full, delivered = np.zeros(n), np.zeros(n), np.zeros(n)
    energy = 0.0
    for t, offer in enumerate(offers.tolist()):
        if offer <= 0.0:
            continue
        accepted = math.inf if car is None else car.accepted_current_a(energy)
        if accepted <= 0.0 or energy >= energy_wanted_wh:
            break
        amps = drawn_current_a(offer, accepted)
        drawn[t], full[t] = amps, amps * wh_per_amp
        delivered[t] = min(full[t], energy_wanted_wh - energy)
        energy += delivered[t]
    return Replay(drawn, full, delivered)


@dataclass(frozen=True)
class _Problem:
    """One session's data in the solver's units (per step: amps and Wh per step).

    `offer_cap` is the highest whole-amp offer (0: no charging), `draw_cap` the highest
    current the car may draw (also the grid-free cap for `solar_only`), `upper_wh` the
    most energy the session can take (wanted, car full, and every step at its cap).
    """

    objective: Objective
    limits: ChargeLimits
    car: CarBattery | None
    step_s: float
    wh_per_amp: float
    solar_w: FloatArray
    offer_cap: IntArray
    draw_cap: FloatArray
    upper_wh: float

    @classmethod
    def build(
        cls,
        surplus: FloatArray,
        energy_wanted_wh: float,
        objective: Objective,
        limits: ChargeLimits,
        car: CarBattery | None,
        step_s: float,
        house: FloatArray | None,
    ) -> _Problem:
        n = surplus.shape[0]
        wh_per_amp = limits.watts_per_amp * step_s / 3600.0
        solar_w = np.maximum(surplus, 0.0)
        offer_cap = current_caps_a(n, limits, house)
        draw_cap = offer_cap.astype(np.float64)
        if objective == "solar_only":
            draw_cap = np.minimum(draw_cap, solar_w / limits.watts_per_amp)
            if car is None:  # the car always takes the offer: whole amps only
                draw_cap = np.floor(draw_cap + AMP_SLACK)
                draw_cap[draw_cap < limits.min_current_a] = 0.0
        upper = min(energy_wanted_wh, float(draw_cap.sum()) * wh_per_amp)
        if car is not None:
            upper = min(upper, car.full_after_wh(wh_per_amp))
        return cls(objective, limits, car, step_s, wh_per_amp, solar_w, offer_cap, draw_cap, upper)

    def solve(
        self, costs: FloatArray, time_limit_s: float, method: Method
    ) -> tuple[IntArray, Status]:
        """The optimal whole-amp offers per step, and the solver's status."""
        if self.objective == "solar_only":
            if self.car is not None and method == "auto":
                return self.most_each_step(), "optimal"
            return self._milp_solar_only(time_limit_s)
        most = replay(self.offer_cap, self.wh_per_amp, self.car, self.upper_wh)
        deliverable = float(most.energy_wh.sum())
        if deliverable <= _ENERGY_EPS_WH:
            return np.zeros_like(self.offer_cap), "optimal"
        if self.car is None:
            return self._target_without_taper(costs, deliverable, time_limit_s)
        return self._milp(costs, deliverable - _ENERGY_EPS_WH, self.upper_wh, time_limit_s, 1e-6)

    def _target_without_taper(
        self, costs: FloatArray, energy_wh: float, time_limit_s: float
    ) -> tuple[IntArray, Status]:
        """`target` when the car takes every offer: steps couple only through the total.

        Variables: offers I (semi-integer) and grid energies g (Wh) with
        g_t >= k I_t - solar_wh_t and sum(k I) >= energy_wh (known deliverable).
        """
        n = self.offer_cap.shape[0]
        k = self.wh_per_amp
        minimum = self.limits.min_current_a
        upper = np.where(self.offer_cap >= minimum, self.offer_cap, 0).astype(np.float64)
        lower = np.where(upper > 0, float(minimum), 0.0)
        eye = sparse.identity(n, format="csr")
        solar_wh = self.solar_w * self.step_s / 3600.0
        grid_split = LinearConstraint(sparse.hstack([k * eye, -eye]), -np.inf, solar_wh)
        enough = LinearConstraint(
            np.concatenate([np.full(n, k), np.zeros(n)])[None, :],
            energy_wh - _ENERGY_EPS_WH,
            np.inf,
        )
        result = milp(
            c=np.concatenate([np.zeros(n), costs]),
            integrality=np.concatenate([np.full(n, 3), np.zeros(n)]),
            bounds=Bounds(np.concatenate([lower, np.zeros(n)]), np.concatenate([upper, upper * k])),
            constraints=[grid_split, enough],
            options={"time_limit": time_limit_s, "mip_rel_gap": 1e-6},
        )
        return _offers_from(result, self, n, first=0)

    def most_each_step(self) -> IntArray:
        """Solar-only offers taking the most grid-free energy in every step, in order.

        In step t with `E` delivered before it, the car can draw without grid at most
        `g_t(E)`: its accepted current if that is within the grid-free cap (offering at
        least that, and at least the minimum current), else the surplus in whole amps
        (or nothing below the minimum). `E + k * g_t(E)` is nondecreasing in E (slope 1,
        or `1 - k b > 0` along the taper, and a jump up where the taper current falls
        under the cap), so by induction no schedule has more energy after any step: this
        is the MILP's optimum (checked against `method="milp"` in the tests), found in
        one pass. The only exception is the stop below `taper_stop_a`, which costs at
        most one step at that current (see the module docstring).
        """
        assert self.car is not None
        n = self.offer_cap.shape[0]
        minimum = self.limits.min_current_a
        cap = np.where(self.offer_cap >= minimum, self.draw_cap, 0.0)
        whole = np.floor(cap + AMP_SLACK)
        whole[whole < minimum] = 0.0
        offers = np.zeros(n, dtype=np.int64)
        energy = 0.0
        for t in range(n):
            if cap[t] <= 0.0:
                continue
            accepted = self.car.accepted_current_a(energy)
            if accepted <= 0.0 or energy >= self.upper_wh:
                break
            if accepted <= cap[t] + AMP_SLACK:
                offer = min(int(self.offer_cap[t]), max(minimum, math.ceil(accepted - AMP_SLACK)))
                drawn = drawn_current_a(offer, accepted)
            else:
                offer = int(whole[t])
                drawn = whole[t]
            offers[t] = offer
            energy += drawn * self.wh_per_amp
        return offers

    def _milp_solar_only(self, time_limit_s: float) -> tuple[IntArray, Status]:
        """Most grid-free energy, as a MILP with one binary per step the taper can reach.

        Blocks of n variables: drawn current c, car-limited z (binary), delivered energy e,
        energy before the step E. In step t the car draws at most `whole_t`, the surplus
        truncated to whole amps (0 below the minimum current), unless it is at its taper
        (`z_t = 1`, allowed only once `a - b E_t <= cap_t`, the grid-free cap): then up
        to its taper current `a - b E_t`, however small. This is the set of currents the
        world's car can draw without grid, except that it also allows drawing less; since
        `E + k * accepted(E)` grows with E, drawing less never gains energy later, so the
        optimum is the world's (the offers are `ceil(c)`, replayed by `_account`).
        """
        n = self.offer_cap.shape[0]
        k = self.wh_per_amp
        drawn, limited, delivered, before = (np.arange(n) + i * n for i in range(4))
        cap = np.where(self.offer_cap >= self.limits.min_current_a, self.draw_cap, 0.0)
        whole = np.floor(cap + AMP_SLACK)
        whole[whole < self.limits.min_current_a] = 0.0
        taper = self._taper_steps() if self.car is not None else np.zeros(0, dtype=np.int64)
        taper = taper[cap[taper] > whole[taper] + AMP_SLACK]  # a fraction or a small surplus
        z_hi = np.zeros(n)
        z_hi[taper] = 1.0
        upper_before = np.full(n, self.upper_wh)
        upper_before[0] = 0.0  # nothing delivered before the first step
        rows = SparseRows(4 * n)
        rows.add([(drawn, 1.0), (limited, -(cap - whole))], -np.inf, whole)  # c <= whole + z
        rows.add([(delivered, 1.0), (drawn, -k)], -np.inf, 0.0)  # e <= k c
        chain = [(before[1:], 1.0), (before[:-1], -1.0), (delivered[:-1], -1.0)]
        rows.add(chain, 0.0, 0.0)  # E_{t+1} = E_t + e_t
        rows.add([(before[-1:], 1.0), (delivered[-1:], 1.0)], -np.inf, self.upper_wh)
        if self.car is not None:
            a, b = self.car.taper_line
            line = self._taper_steps()
            rows.add([(drawn[line], 1.0), (before[line], b)], -np.inf, a)  # c <= a - b E
            # z = 1 only where the taper current is within the grid-free cap:
            # a - b E_t <= cap_t  <=>  (a - cap_t) z_t <= b E_t.
            rows.add([(limited[taper], a - cap[taper]), (before[taper], -b)], -np.inf, 0.0)
        result = milp(
            c=np.concatenate([np.zeros(2 * n), -np.ones(n), np.zeros(n)]),
            integrality=np.concatenate([np.zeros(n), np.ones(n), np.zeros(2 * n)]),
            bounds=Bounds(np.zeros(4 * n), np.concatenate([cap, z_hi, cap * k, upper_before])),
            constraints=[rows.constraint()],
            options={"time_limit": time_limit_s, "mip_rel_gap": 1e-7},
        )
        return _offers_from(result, self, n, first=0)

    def _milp(
        self,
        costs: FloatArray | None,
        least_wh: float,
        most_wh: float,
        time_limit_s: float,
        gap: float,
    ) -> tuple[IntArray, Status]:
        """Variables per step, in blocks of n: offer J, drawn current c, car-limited z,
        delivered energy e, energy before the step E, and for `target` grid energy g."""
        n = self.offer_cap.shape[0]
        k = self.wh_per_amp
        blocks = 6 if costs is not None else 5
        offer, drawn, limited, delivered, before, grid = (np.arange(n) + i * n for i in range(6))
        lower, upper, integrality = _variable_bounds(self, blocks)
        rows = SparseRows(blocks * n)
        rows.add([(drawn, 1.0), (offer, -1.0)], -np.inf, 0.0)  # c <= J
        cap = self.offer_cap.astype(np.float64)
        rows.add([(offer, 1.0), (drawn, -1.0), (limited, -cap)], -np.inf, 0.0)  # z = 0: c >= J
        rows.add([(delivered, 1.0), (drawn, -k)], -np.inf, 0.0)  # e <= k c
        chain = [(before[1:], 1.0), (before[:-1], -1.0), (delivered[:-1], -1.0)]
        rows.add(chain, 0.0, 0.0)  # E_{t+1} = E_t + e_t
        rows.add([(before[-1:], 1.0), (delivered[-1:], 1.0)], least_wh, most_wh)  # session total
        if self.car is not None:
            taper = self._taper_steps()
            a, b = self.car.taper_line
            line = [(drawn[taper], 1.0), (before[taper], b)]
            rows.add(line, -np.inf, a)  # c <= a - b E: the taper
            rows.add([*line, (limited[taper], -a)], 0.0, np.inf)  # z = 1: c >= a - b E
        if costs is not None:
            solar_wh = self.solar_w * self.step_s / 3600.0
            rows.add([(drawn, k), (grid, -1.0)], -np.inf, solar_wh)  # g >= k c - solar
            objective = np.concatenate([np.zeros(5 * n), costs])
        else:
            objective = np.concatenate([np.zeros(3 * n), -np.ones(n), np.zeros(n)])
        result = milp(
            c=objective,
            integrality=integrality,
            bounds=Bounds(lower, upper),
            constraints=[rows.constraint()],
            options={"time_limit": time_limit_s, "mip_rel_gap": gap},
        )
        return _offers_from(result, self, n, first=n)

    def _taper_steps(self) -> IntArray:
        """Steps that could start above the taper (every earlier step at its cap)."""
        assert self.car is not None
        reachable = np.concatenate([[0.0], np.cumsum(self.draw_cap * self.wh_per_amp)[:-1]])
        can = (reachable > self.car.taper_starts_after_wh - 1e-9) & (self.draw_cap > 0)
        return np.flatnonzero(can)


def _variable_bounds(problem: _Problem, blocks: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bounds and integrality of the blocks J (semi-integer), c, z (binary), e, E, g."""
    n = problem.offer_cap.shape[0]
    k = problem.wh_per_amp
    can = problem.draw_cap > 0
    offer_hi = np.where(can, problem.offer_cap, 0).astype(np.float64)
    offer_lo = np.where(offer_hi >= problem.limits.min_current_a, problem.limits.min_current_a, 0)
    offer_hi[offer_lo == 0] = 0.0
    draw_hi = np.where(offer_hi > 0, problem.draw_cap, 0.0)
    z_hi = np.zeros(n)
    if problem.car is not None:
        z_hi[problem._taper_steps()] = 1.0
    z_hi[draw_hi <= 0] = 0.0
    lower = [offer_lo.astype(np.float64), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)]
    upper = [offer_hi, draw_hi, z_hi, draw_hi * k, np.full(n, problem.upper_wh)]
    upper[4][0] = 0.0  # nothing delivered before the first step
    kinds = [np.full(n, 3), np.zeros(n), np.ones(n), np.zeros(n), np.zeros(n)]
    if blocks == 6:
        lower.append(np.zeros(n))
        upper.append(draw_hi * k)
        kinds.append(np.zeros(n))
    return np.concatenate(lower), np.concatenate(upper), np.concatenate(kinds)


def _offers_from(result: object, problem: _Problem, n: int, first: int) -> tuple[IntArray, Status]:
    """Whole-amp offers from the solution: the drawn current rounded up, at least the minimum.

    Where the car is at its offer the drawn current is that offer; where it is at its
    taper, any offer at or above the taper current gives the same physics, so the
    smallest is reported.
    """
    x = getattr(result, "x", None)
    code = getattr(result, "status", -1)
    if x is None:
        return np.zeros(n, dtype=np.int64), "infeasible"
    status: Status = "optimal" if code == 0 else "time_limit"
    drawn = np.asarray(x[first : first + n])  # the block of drawn currents
    offers = np.maximum(np.ceil(drawn - 1e-6), problem.limits.min_current_a)
    offers = np.minimum(offers, problem.offer_cap)
    return np.where(drawn > 1e-6, offers, 0).astype(np.int64), status


def _account(
    offers: IntArray,
    problem: _Problem,
    energy_wanted_wh: float,
    objective: Objective,
    status: Status,
    price: FloatArray | None,
) -> SessionOptimum:
    """Energies of the offers as the world's physics delivers them (`replay`)."""
    step_s = problem.step_s
    run = replay(offers, problem.wh_per_amp, problem.car, energy_wanted_wh)
    full_power_w = run.current_a * problem.limits.watts_per_amp
    energy_wh = run.energy_wh
    currents = np.where(energy_wh > 0, offers, 0).astype(np.int64)
    solar_part = np.divide(
        problem.solar_w, full_power_w, out=np.ones_like(energy_wh), where=full_power_w > 0
    )
    solar_wh = energy_wh * np.minimum(solar_part, 1.0)  # exactly the energy when all solar
    grid_wh = energy_wh - solar_wh
    delivered = float(energy_wh.sum())
    shortfall = 0.0 if math.isinf(energy_wanted_wh) else max(0.0, energy_wanted_wh - delivered)
    return SessionOptimum(
        objective=objective,
        status=status,
        step_s=step_s,
        energy_wanted_wh=energy_wanted_wh,
        current_a=currents,
        power_w=energy_wh * 3600.0 / step_s,
        energy_wh=energy_wh,
        solar_wh=solar_wh,
        grid_wh=grid_wh,
        shortfall_wh=shortfall,
        cost=None if price is None else float((grid_wh * price).sum() / 1000.0),
    )


@dataclass(frozen=True)
class SessionsOptimum:
    """The optimum over many sessions.

    `sessions`: one row per session (arrival, departure, steps, energy_wanted_wh,
    energy_wh, solar_wh, grid_wh, shortfall_wh, cost, status).
    `steps`: per-step schedule of all sessions (current_a, power_w, energy_wh, solar_wh,
    grid_wh), indexed by step start (UTC).
    `totals`: sums over sessions (Wh; `cost` only when prices were given) and counts
    (`sessions`, `target_met`).
    """

    sessions: pd.DataFrame
    steps: pd.DataFrame
    totals: dict[str, float]


def optimum_for_sessions(
    surplus_w: pd.Series,
    sessions: pd.DataFrame,
    *,
    objective: Objective = "solar_only",
    limits: ChargeLimits | None = None,
    step_s: float = DEFAULT_STEP_S,
    house_w: pd.Series | None = None,
    price_per_kwh: pd.Series | None = None,
    time_limit_s: float = 10.0,
) -> SessionsOptimum:
    """Solve every session of `sessions` against a surplus time series.

    `surplus_w` (W) is indexed by tz-aware time at any step; it is averaged onto a grid of
    `step_s` seconds (as are `house_w` and `price_per_kwh`). A session uses the steps
    lying entirely within [arrival, departure), so energy is never credited outside the
    plug-in window. `sessions` has columns arrival, departure, energy_kwh and optionally
    max_current_a and phases (missing or NaN: the values of `limits`, whose
    `max_current_a` stays the charger's maximum). With the columns capacity_kwh and
    arrival_soc (and optionally taper_start_soc, taper_stop_a, charge_efficiency; missing:
    the `CarBattery` defaults) a session's car tapers as the world's car does
    (`CarBattery`); its maximum current is the session's max_current_a, else
    `limits.car_max_current_a`, else `limits.max_current_a`. Raises ValueError if a
    session's steps are not covered by the series.
    """
    limits = limits or ChargeLimits()
    step = pd.Timedelta(seconds=step_s)
    surplus = _on_grid("surplus_w", surplus_w, step)
    house = None if house_w is None else _on_grid("house_w", house_w, step)
    price = None if price_per_kwh is None else _on_grid("price_per_kwh", price_per_kwh, step)
    _check_sessions_frame(sessions)

    rows: list[dict[str, object]] = []
    step_frames: list[pd.DataFrame] = []
    for session in sessions.itertuples(index=False):
        arrival = pd.Timestamp(session.arrival).tz_convert("UTC")
        departure = pd.Timestamp(session.departure).tz_convert("UTC")
        index = pd.date_range(arrival.ceil(step), departure - step, freq=step)
        session_limits = _session_limits(limits, session)
        result = solve_session(
            _window("surplus_w", surplus, index, arrival),
            float(session.energy_kwh) * 1000.0,
            objective=objective,
            limits=session_limits,
            car=_session_car(session_limits, session),
            step_s=step_s,
            house_w=None if house is None else _window("house_w", house, index, arrival),
            price_per_kwh=None if price is None else _window("price", price, index, arrival),
            time_limit_s=time_limit_s,
        )
        rows.append(_session_row(arrival, departure, result))
        step_frames.append(_step_frame(index, result))

    table = pd.DataFrame(rows, columns=_SESSION_COLUMNS)
    steps = pd.concat(step_frames) if step_frames else _step_frame(pd.DatetimeIndex([], tz="UTC"))
    return SessionsOptimum(sessions=table, steps=steps, totals=_totals(table))


_SESSION_COLUMNS = [
    "arrival",
    "departure",
    "steps",
    "energy_wanted_wh",
    "energy_wh",
    "solar_wh",
    "grid_wh",
    "shortfall_wh",
    "cost",
    "status",
]


def _on_grid(name: str, series: pd.Series, step: pd.Timedelta) -> pd.Series:
    if not isinstance(series.index, pd.DatetimeIndex) or series.index.tz is None:
        raise ValueError(f"{name} needs a tz-aware DatetimeIndex")
    series = series.astype("float64")
    series.index = series.index.tz_convert("UTC")
    return series.sort_index().resample(step).mean()


def _check_sessions_frame(sessions: pd.DataFrame) -> None:
    missing = {"arrival", "departure", "energy_kwh"} - set(sessions.columns)
    if missing:
        raise ValueError(f"sessions lack columns: {', '.join(sorted(missing))}")


def _session_limits(limits: ChargeLimits, session: object) -> ChargeLimits:
    phases = getattr(session, "phases", None)
    car_max = getattr(session, "max_current_a", None)
    return ChargeLimits(
        phases=limits.phases if phases is None or pd.isna(phases) else int(phases),
        voltage_v=limits.voltage_v,
        min_current_a=limits.min_current_a,
        max_current_a=limits.max_current_a,
        car_max_current_a=(
            limits.car_max_current_a if car_max is None or pd.isna(car_max) else float(car_max)
        ),
        car_max_power_w=limits.car_max_power_w,
        fuse_w=limits.fuse_w,
    )


def _session_car(limits: ChargeLimits, session: object) -> CarBattery | None:
    """The session's car battery, if the session gives capacity_kwh and arrival_soc."""
    capacity = getattr(session, "capacity_kwh", None)
    soc = getattr(session, "arrival_soc", None)
    if capacity is None or soc is None or pd.isna(capacity) or pd.isna(soc):
        return None
    options: dict[str, float] = {}
    for name in ("taper_start_soc", "taper_stop_a", "charge_efficiency"):
        value = getattr(session, name, None)
        if value is not None and not pd.isna(value):
            options[name] = float(value)
    max_a = limits.car_max_current_a
    return CarBattery(
        capacity_wh=float(capacity) * 1000.0,
        arrival_soc=float(soc),
        max_current_a=float(limits.max_current_a if max_a is None else max_a),
        **options,
    )


def _window(
    name: str, series: pd.Series, index: pd.DatetimeIndex, arrival: pd.Timestamp
) -> FloatArray:
    values = series.reindex(index).to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        missing = index[np.isnan(values)][0]
        raise ValueError(f"{name} has no data at {missing} in the session arriving at {arrival}")
    return values


def _session_row(
    arrival: pd.Timestamp, departure: pd.Timestamp, result: SessionOptimum
) -> dict[str, object]:
    return {
        "arrival": arrival,
        "departure": departure,
        "steps": len(result.current_a),
        "energy_wanted_wh": result.energy_wanted_wh,
        "energy_wh": result.total_energy_wh,
        "solar_wh": result.total_solar_wh,
        "grid_wh": result.total_grid_wh,
        "shortfall_wh": result.shortfall_wh,
        "cost": result.cost,
        "status": result.status,
    }


def _step_frame(index: pd.DatetimeIndex, result: SessionOptimum | None = None) -> pd.DataFrame:
    columns = ["current_a", "power_w", "energy_wh", "solar_wh", "grid_wh"]
    if result is None:
        return pd.DataFrame(columns=columns, index=index, dtype="float64")
    return pd.DataFrame({name: getattr(result, name) for name in columns}, index=index)


def _totals(table: pd.DataFrame) -> dict[str, float]:
    cost = table["cost"].dropna()
    totals = {
        "sessions": float(len(table)),
        "target_met": float((table["shortfall_wh"] <= 1.0).sum()),
        "energy_wanted_wh": float(table["energy_wanted_wh"].sum()),
        "energy_wh": float(table["energy_wh"].sum()),
        "solar_wh": float(table["solar_wh"].sum()),
        "grid_wh": float(table["grid_wh"].sum()),
        "shortfall_wh": float(table["shortfall_wh"].sum()),
    }
    if len(cost):
        totals["cost"] = float(cost.sum())
    return totals

"""The perfect-foresight optimum: the upper bound every charging policy is reported against.

For one plug-in session, knowing the whole future (PV surplus, household load, prices),
choose a charging current per step. The problem is a mixed-integer program solved with
`scipy.optimize.milp` (HiGHS):

* the current is constant within a step of `step_s` seconds (**5-minute steps by default**,
  `DEFAULT_STEP_S`; the backtested policies may run at finer steps, the optimum's coarser
  grid is a documented approximation made for speed);
* the current is 0 or a whole number of amps in `[min_current_a, cap_t]`, a semi-integer
  variable (HiGHS's native form of "integer variable with an on/off binary");
  `cap_t` is the smallest of the charger's maximum, the car's maximum current, the car's
  maximum power and the main fuse's headroom `fuse_w - house_w[t]`, all in whole amps;
* car power is `current * phases * voltage_v` (W);
* the session ends at departure (the end of the arrays); charging stops when the energy
  wanted is reached: the step in which it is reached is charged only partly, so the
  delivered energy never exceeds what was wanted.

Two objectives (`Objective`):

``solar_only``
    Maximise solar energy into the car with no grid energy for the car: in every step
    the car power must not exceed `max(surplus_w, 0)`. With whole amps above 6 A this is
    an integer problem (the current is the surplus truncated to whole amps, or nothing).
``target``
    Deliver the energy wanted by departure (or, if that is impossible, as much as the
    limits allow; the rest is `shortfall_wh`) with the least grid energy, or the least
    grid cost when prices are given. Solar is used first: the solar energy of a step is
    `min(car power, max(surplus, 0)) * dt`, the rest is grid. Grid energy is costed at
    `max(price, 0)` (a negative price cannot make the car prefer grid over its own solar).
    The objective counts whole steps; the last, partly charged step is then cut, so the
    reported grid energy is at most that of the exact optimum plus one step's part.

All powers in W, energies in Wh, currents in A, times in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from optimizer.interfaces import MAX_CURRENT_A, MIN_CURRENT_A, NOMINAL_VOLTAGE_V

DEFAULT_STEP_S = 300.0
"""Step of the optimum's time grid (s): 5 minutes."""

Objective = Literal["solar_only", "target"]
Status = Literal["optimal", "time_limit", "infeasible", "no_steps"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_AMP_EPS = 1e-9  # a cap of 15.9999999 A is 16 A, not 15 A
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
    caps = np.floor(caps + _AMP_EPS)
    caps[caps < limits.min_current_a] = 0
    return caps.astype(np.int64)


def solve_session(
    surplus_w: npt.ArrayLike,
    energy_wanted_wh: float,
    *,
    objective: Objective = "solar_only",
    limits: ChargeLimits | None = None,
    step_s: float = DEFAULT_STEP_S,
    house_w: npt.ArrayLike | None = None,
    price_per_kwh: npt.ArrayLike | None = None,
    time_limit_s: float = 10.0,
) -> SessionOptimum:
    """Optimal charging schedule of one session over its steps (see the module docstring).

    `surplus_w[t]` is PV minus household (car excluded) in step t (W, may be negative);
    the session runs from the first step to departure at the end of the array.
    `energy_wanted_wh` is the energy the car wants (Wh; `math.inf` for "as much as
    possible"). `house_w` (W) is needed only for the fuse limit; `price_per_kwh` only
    makes `target` minimise cost instead of grid energy.
    """
    limits = limits or ChargeLimits()
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

    solar_w = np.maximum(surplus, 0.0)
    caps = current_caps_a(n, limits, house)
    if objective == "solar_only":
        caps = np.minimum(caps, np.floor(solar_w / limits.watts_per_amp + _AMP_EPS))
        caps[caps < limits.min_current_a] = 0
    wh_per_amp = limits.watts_per_amp * step_s / 3600.0
    deliverable_wh = min(energy_wanted_wh, float(caps.sum()) * wh_per_amp)

    if n == 0 or deliverable_wh <= _ENERGY_EPS_WH:
        currents = np.zeros(n, dtype=np.int64)
        status: Status = "no_steps" if n == 0 else "optimal"
    elif objective == "solar_only":
        currents, status = _solve_solar_only(caps, limits, wh_per_amp, deliverable_wh, time_limit_s)
    else:
        costs = np.ones(n) if price is None else np.maximum(price, 0.0) / 1000.0 + 1e-9
        currents, status = _solve_target(
            caps, limits, wh_per_amp, solar_w * step_s / 3600.0, costs, deliverable_wh,
            time_limit_s,
        )  # fmt: skip
    return _account(currents, solar_w, limits, step_s, energy_wanted_wh, objective, status, price)


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


def _current_bounds(caps: IntArray, limits: ChargeLimits) -> tuple[FloatArray, FloatArray]:
    """Semi-integer bounds: 0 or [min, cap]; steps with no room are fixed at 0."""
    can_charge = caps >= limits.min_current_a
    lower = np.where(can_charge, float(limits.min_current_a), 0.0)
    upper = np.where(can_charge, caps.astype(np.float64), 0.0)
    return lower, upper


def _solve_solar_only(
    caps: IntArray,
    limits: ChargeLimits,
    wh_per_amp: float,
    energy_wh: float,
    time_limit_s: float,
) -> tuple[IntArray, Status]:
    """Maximise energy into the car, every step within its solar cap.

    Variables: currents I (semi-integer) and delivered energies e (Wh, continuous) with
    e_t <= wh_per_amp * I_t and sum(e) <= energy wanted.
    """
    n = caps.shape[0]
    lower, upper = _current_bounds(caps, limits)
    eye = sparse.identity(n, format="csr")
    per_step = LinearConstraint(sparse.hstack([-wh_per_amp * eye, eye]), -np.inf, 0.0)
    total = LinearConstraint(np.concatenate([np.zeros(n), np.ones(n)])[None, :], 0.0, energy_wh)
    result = milp(
        c=np.concatenate([np.zeros(n), -np.ones(n)]),
        integrality=np.concatenate([np.full(n, 3), np.zeros(n)]),
        bounds=Bounds(
            np.concatenate([lower, np.zeros(n)]), np.concatenate([upper, upper * wh_per_amp])
        ),
        constraints=[per_step, total],
        options={"time_limit": time_limit_s, "mip_rel_gap": 1e-7},
    )
    return _currents_from(result, n)


def _solve_target(
    caps: IntArray,
    limits: ChargeLimits,
    wh_per_amp: float,
    solar_wh: FloatArray,
    costs: FloatArray,
    energy_wh: float,
    time_limit_s: float,
) -> tuple[IntArray, Status]:
    """Deliver `energy_wh` (known to be deliverable) with least grid cost.

    Variables: currents I (semi-integer) and grid energies g (Wh) with
    g_t >= wh_per_amp * I_t - solar_wh_t and sum(wh_per_amp * I) >= energy_wh.
    """
    n = caps.shape[0]
    lower, upper = _current_bounds(caps, limits)
    eye = sparse.identity(n, format="csr")
    grid_split = LinearConstraint(sparse.hstack([wh_per_amp * eye, -eye]), -np.inf, solar_wh)
    enough = LinearConstraint(
        np.concatenate([np.full(n, wh_per_amp), np.zeros(n)])[None, :],
        energy_wh - _ENERGY_EPS_WH,
        np.inf,
    )
    result = milp(
        c=np.concatenate([np.zeros(n), costs]),
        integrality=np.concatenate([np.full(n, 3), np.zeros(n)]),
        bounds=Bounds(
            np.concatenate([lower, np.zeros(n)]), np.concatenate([upper, upper * wh_per_amp])
        ),
        constraints=[grid_split, enough],
        options={"time_limit": time_limit_s, "mip_rel_gap": 1e-6},
    )
    return _currents_from(result, n)


def _currents_from(result: object, n: int) -> tuple[IntArray, Status]:
    x = getattr(result, "x", None)
    code = getattr(result, "status", -1)
    if x is None:
        return np.zeros(n, dtype=np.int64), "infeasible"
    status: Status = "optimal" if code == 0 else "time_limit"
    return np.rint(np.asarray(x[:n])).astype(np.int64), status


def _account(
    currents: IntArray,
    solar_w: FloatArray,
    limits: ChargeLimits,
    step_s: float,
    energy_wanted_wh: float,
    objective: Objective,
    status: Status,
    price: FloatArray | None,
) -> SessionOptimum:
    """Turn setpoints into energies, stopping when the energy wanted is reached."""
    full_power_w = currents * limits.watts_per_amp
    full_wh = full_power_w * step_s / 3600.0
    before = np.concatenate([[0.0], np.cumsum(full_wh)[:-1]])
    energy_wh = np.clip(energy_wanted_wh - before, 0.0, full_wh)
    fraction = np.divide(energy_wh, full_wh, out=np.zeros_like(full_wh), where=full_wh > 0)
    currents = np.where(fraction > 0, currents, 0)
    solar_wh = fraction * np.minimum(full_power_w, solar_w) * step_s / 3600.0
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
    `max_current_a` stays the charger's maximum). Raises ValueError if a session's steps
    are not covered by the series.
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

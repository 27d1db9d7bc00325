"""The perfect-foresight least-cost optimum: what `target`'s least-cost planner aims at.

Same objective as `optimizer.planning.least_cost` (import price x grid energy + export
price x the sun the car takes, i.e. the change the car makes to the household's bill),
same car, limits and targets as the world simulated, but knowing the true PV, household
and prices, on the world's own 1-minute steps, from plug-in to departure.

Per session and step t (k Wh per amp of a step, `S_t` the true surplus in Wh): the
charger offers 0 or a whole number of amps `I` in [min current, cap_t] (cap_t: the
charger, the car, the fuse headroom), costing
`f_t(I) = pe_t min(k I, S_t) + pi_t max(k I - S_t, 0)` (EUR, prices per Wh). The
energy wanted `W` (the session's target, at most the car's headroom and what the
steps can deliver) is reached by departure:

    min sum_t f_t(I_t)  subject to  sum_t k I_t = W.

Steps couple only through that one sum (a multiple-choice knapsack), so its
Lagrangian dual is exact up to one step: for a price `lam` (EUR/Wh) each step
picks `argmin_I f_t(I) - lam k I` on its own, and
`g(lam) = sum_t min_I (f_t(I) - lam k I) + lam W` is a lower bound on the optimum
for every `lam` (weak duality); its maximum is the LP relaxation's value (the
convex hull of each `f_t`), which no whole-amp schedule beats. The bisection on
`lam` also yields a whole-amp schedule delivering at least `W` (`upper_eur`): the
true optimum lies between the two, and they differ by less than one step at most
(about 1 cent a session at 3.7 kW and 0.3 EUR/kWh). `cost` reports the lower bound.

Left out, all in the optimum's favour (so `target` is held to a bound at least as
hard as the true optimum): the car's taper (`CarConfig.departure_soc` 0.8 puts
every target at the taper's start), the time a mode change takes, and `target`'s
`margin_s` before departure. Grid energy at a step without a price costs nothing,
as in the backtest's `cost` metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.backtest.optimum import ChargeLimits, current_caps_a

FloatArray = npt.NDArray[np.float64]

_BISECTIONS = 60
_ENERGY_EPS_WH = 1e-6


@dataclass(frozen=True)
class SessionCost:
    """One session's least cost: energy wanted and deliverable (Wh), the lower bound and
    a whole-amp schedule's cost (EUR), its grid and solar split (Wh)."""

    wanted_wh: float
    deliverable_wh: float
    cost: float
    upper_eur: float
    grid_wh: float
    solar_wh: float

    @property
    def feasible(self) -> bool:
        """The target can be met at all (within 1 Wh)."""
        return self.deliverable_wh >= self.wanted_wh - 1.0


def session_least_cost(
    surplus_w: npt.ArrayLike,
    wanted_wh: float,
    import_per_kwh: npt.ArrayLike,
    export_per_kwh: npt.ArrayLike,
    *,
    limits: ChargeLimits,
    step_s: float,
    house_w: npt.ArrayLike | None = None,
) -> SessionCost:
    """The least cost of `wanted_wh` over the session's steps (see the module docstring).

    `surplus_w` is PV minus household per step (W); prices in EUR/kWh per step.
    """
    surplus = np.asarray(surplus_w, dtype=np.float64)
    n = surplus.shape[0]
    house = None if house_w is None else np.asarray(house_w, dtype=np.float64)
    caps = current_caps_a(n, limits, house) if n else np.zeros(0, dtype=np.int64)
    k = limits.watts_per_amp * step_s / 3600.0
    amps = np.arange(limits.min_current_a, max(int(caps.max(initial=0)), limits.min_current_a) + 1)
    energy = np.concatenate([[0.0], k * amps])[None, :]  # options: off, then each amp
    allowed = np.concatenate([np.ones((n, 1), bool), amps[None, :] <= caps[:, None]], axis=1)
    sun = np.maximum(surplus, 0.0)[:, None] * step_s / 3600.0
    pi = np.asarray(import_per_kwh, dtype=np.float64)[:, None] / 1000.0
    pe = np.asarray(export_per_kwh, dtype=np.float64)[:, None] / 1000.0
    cost = pe * np.minimum(energy, sun) + pi * np.maximum(energy - sun, 0.0)
    cost = np.where(allowed, cost, np.inf)
    deliverable = float((energy * allowed).max(axis=1).sum())
    wanted = min(max(wanted_wh, 0.0), deliverable)
    if wanted <= _ENERGY_EPS_WH:
        return SessionCost(max(wanted_wh, 0.0), deliverable, 0.0, 0.0, 0.0, 0.0)

    def pick(lam: float) -> npt.NDArray[np.int64]:
        return np.argmin(cost - lam * energy, axis=1)  # ties: the smallest option

    rows = np.arange(n)
    spread = float(np.abs(np.concatenate([pi, pe])).max(initial=0.0)) + 1e-3
    lo, hi = -spread, 2.0 * spread  # energy(lo) <= wanted, energy(hi) = all deliverable
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        if float(energy[0, pick(mid)].sum()) >= wanted - _ENERGY_EPS_WH:
            hi = mid
        else:
            lo = mid
    bounds = []
    for lam in (lo, hi):
        choice = pick(lam)
        bounds.append(float((cost[rows, choice] - lam * energy[0, choice]).sum()) + lam * wanted)
    lower = max(bounds)
    upper, taken = _fill(pick(lo), pick(hi), cost, energy[0], wanted)
    grid = np.maximum(taken - sun[:, 0], 0.0)
    return SessionCost(
        wanted_wh=max(wanted_wh, 0.0),
        deliverable_wh=deliverable,
        cost=lower,
        upper_eur=upper,
        grid_wh=float(grid.sum()),
        solar_wh=float((taken - grid).sum()),
    )


def _fill(
    below: npt.NDArray[np.int64],
    above: npt.NDArray[np.int64],
    cost: FloatArray,
    energy: FloatArray,
    wanted: float,
) -> tuple[float, FloatArray]:
    """A whole-amp schedule's cost (EUR) and its energy per step (Wh, exactly `wanted`).

    From the choice `below` (short of `wanted`), the steps where `above` takes more are
    moved up, cheapest per Wh first, until `wanted` is reached; the last one only in
    part of the step (the car stops at its target), costed as the whole step.
    """
    rows = np.arange(below.shape[0])
    taken = energy[below].copy()
    total = float(cost[rows, below].sum())
    gain = energy[above] - taken
    extra = cost[rows, above] - cost[rows, below]
    missing = wanted - float(taken.sum())
    for t in np.flatnonzero(gain > 0)[np.argsort(extra[gain > 0] / gain[gain > 0])]:
        if missing <= _ENERGY_EPS_WH:
            break
        part = min(gain[t], missing)
        taken[t] += part
        total += float(extra[t])
        missing -= part
    return total, taken


def least_cost_optimum(
    surplus_w: pd.Series,
    house_w: pd.Series,
    import_per_kwh: pd.Series,
    export_per_kwh: pd.Series,
    sessions: pd.DataFrame,
    limits: ChargeLimits,
    step_s: float,
) -> pd.DataFrame:
    """One row per session: arrival, departure, wanted/deliverable Wh, cost (the lower
    bound), upper_eur, grid_wh, solar_wh, feasible.

    The series are on the world's grid of `step_s` (UTC index); `sessions` has arrival,
    departure, energy_kwh (the target), max_current_a and phases (see
    `optimizer.backtest.compare.optimum_sessions`). A session uses the steps lying
    within [arrival, departure).
    """
    index = surplus_w.index
    rows = []
    for s in sessions.itertuples(index=False):
        lo = index.searchsorted(pd.Timestamp(s.arrival), side="left")
        hi = index.searchsorted(pd.Timestamp(s.departure) - pd.Timedelta(seconds=step_s), "right")
        part = slice(lo, max(hi, lo))
        session_limits = ChargeLimits(
            phases=int(s.phases),
            voltage_v=limits.voltage_v,
            min_current_a=limits.min_current_a,
            max_current_a=limits.max_current_a,
            car_max_current_a=float(s.max_current_a),
            fuse_w=limits.fuse_w,
        )
        result = session_least_cost(
            surplus_w.to_numpy()[part],
            float(s.energy_kwh) * 1000.0,
            import_per_kwh.to_numpy()[part],
            export_per_kwh.to_numpy()[part],
            limits=session_limits,
            step_s=step_s,
            house_w=house_w.to_numpy()[part] if limits.fuse_w is not None else None,
        )
        rows.append(
            {
                "arrival": s.arrival,
                "departure": s.departure,
                "wanted_wh": result.wanted_wh,
                "deliverable_wh": result.deliverable_wh,
                "cost": result.cost,
                "upper_eur": result.upper_eur,
                "grid_wh": result.grid_wh,
                "solar_wh": result.solar_wh,
                "feasible": result.feasible,
            }
        )
    return pd.DataFrame(rows, columns=SESSION_COST_COLUMNS)


SESSION_COST_COLUMNS = [
    "arrival",
    "departure",
    "wanted_wh",
    "deliverable_wh",
    "cost",
    "upper_eur",
    "grid_wh",
    "solar_wh",
    "feasible",
]

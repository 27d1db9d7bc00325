"""`least_cost_schedule`: the cheapest way to put the energy wanted in the car by departure.

A mixed-integer program solved by HiGHS (`optimizer.highs_milp`, `highspy`). Slots t of
`h = step_s / 3600` hours carry the data (`S_t` the solar energy the pessimistic
surplus offers, Wh; `pi_t`/`pe_t` the import/export prices, EUR/kWh); decisions are
made per block b of `block_s` seconds (an hour by default), because each change
of the charger's state is a command, i.e. one of the 1000 V2C Cloud calls a day.

variables
    per block: `fix_b` (binary) a fixed power `P_b` (W), 0 or in [min power, the
    block's smallest cap] (semi-continuous); `sol_b` (binary) the charger's own PV
    mode, which follows the surplus by itself; `cmd_b`, `sw_b` (>= 0) a command, a
    start or stop at the block's start; `chg_b` (binary) a new fixed power. Per slot:
    `q_t` (W) what the PV mode draws, at most the surplus (nothing below the minimum
    power: the charger idles by itself); `g_t` (Wh) the grid part of a fixed power;
    `y_t` (binary, only where importing is cheaper than exporting) grid only once all
    the sun is taken.
    `short` (Wh) the energy missing at departure.
objective (EUR)
    `sum_t pe_t h (P_b(t) + q_t) + (pi_t - pe_t) g_t` (grid at the import price,
    solar at what exporting it would have earned: the change the car makes to the
    household's bill, up to the constant export value of all the surplus;
    equivalently import x grid minus export x the surplus still exported)
    `+ command_cost sum cmd_b + switch_cost sum sw_b + penalty short`.
constraints
    * `sum h p_t - over + short >= wanted`, `sum h p_t - over <= wanted`
      (`p_t = P_b(t) + q_t`): the target, soft, so an infeasible one gives the most
      deliverable and its shortfall; `over` (less than one block at the minimum
      power, at most the grid bought, credited at the plan's cheapest grid price)
      lets a remainder smaller than that be planned: the car stops at the target, so
      the last block's energy and cost are an upper bound; a remainder whose penalty
      is below that block's price is left short (at
      10 EUR/kWh against 4.1 kWh at 0.5 EUR/kWh: up to 0.2 kWh, reported as the
      shortfall; a replan nearer the end sees the same remainder);
    * `g_t >= h P_b - S_t fix_b`, `0 <= g_t <= h P_b`: the sun comes first (written
      with `fix_b`, the same for a whole `fix_b` but much tighter in HiGHS's LP
      relaxation, which at a fractional `fix_b` took sun below the minimum power for
      free: a solve of a winter weekend went from 2 s to 0.25 s); `y_t` keeps that
      physical where the grid is cheaper than exporting (`g_t > 0` only if `y_t`,
      which makes the solar part `S_t`);
    * caps: the charger's maximum current x phases x voltage, the fuse headroom
      `main_fuse_w - house_w_t`, the caller's per-slot cap (a taper), and
      `p_t <= P_j - w_j E_t` for each `TaperLine` (E_t: energy before slot t);
      `g_t <= max_grid_import_w h`;
    * `fix_b + sol_b <= 1`; `cmd_b >= |fix_b - fix_{b-1}|, |sol_b - sol_{b-1}|`, `chg_b`,
      `sw_b >= |on_b - on_{b-1}|` with `on = fix + sol`; before block 0 the charger
      is as `ChargerNow` says.
    * with sun to follow, rows that cut no optimum off but tighten the relaxation
      (`_Model._sun_bound_rows`): the PV mode's energy at most the energy wanted, per
      block at most `min(S_b, wanted) sol_b`, and a start if the car is off now, then a
      stop before each night unless all the energy comes after it (`_stop_rows`).

A new fixed power between two fixed blocks is a command too: a binary `chg_b`
with `|P_b - P_{b-1}| <= M (chg_b + 2 - fix_b - fix_{b-1})` and `cmd_b >= chg_b`.
Fixed powers are continuous: the caller floors them to whole amps. Decisions per
15-minute slot instead of per hour made HiGHS 10x slower (seconds) on days of free
solar, where every schedule costs nearly the same and only the command count
differs. A 24 h horizon (96 slots, 24 blocks) solves in tens of milliseconds, the
worst cases stop at `DEFAULT_NODE_LIMIT` (BENCHMARKS.md, "Least-cost plan").
"""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
import numpy.typing as npt
from scipy import sparse

from optimizer.highs_milp import Milp, OptionValue, solve_milp
from optimizer.milp_rows import SparseRows
from optimizer.planning.plan import ChargePlan, PlannedSlot, SlotMode
from optimizer.planning.request import PlanRequest

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_TIME_LIMIT_S = 5.0
"""A guard against a stuck solve (s of wall time): HiGHS then returns the best schedule
found (status "time_limit"). The node limit and the gap end every solve well before it
(a year's slowest: 0.4 s of CPU); a tighter wall-clock limit made plans depend on how
busy the machine was (at 0.4 s, a test's 36-hour plan came out different at a load of 10
on two cores, and a backtest's February week cost 12.27 EUR against 10.21 alone)."""

DEFAULT_NODE_LIMIT = 300
"""HiGHS stops after this many branch-and-bound nodes too: unlike the time limit, the
same problem then gives the same plan however busy the machine is (backtests repeat)."""

OVER_CREDIT_MARGIN_EUR_PER_KWH = 0.01
"""How much less than the plan's cheapest grid a Wh of `over` is credited (EUR/kWh): at
the cheapest price itself, drawing past the need in the cheapest hour cost nothing, and
HiGHS's gap let plans overshoot at random."""

DEFAULT_MIP_GAP = 1e-3
"""Relative optimality gap at which HiGHS stops: of a plan costing 1 EUR, 0.1 cent, half
a command; the solution is usually optimal well before HiGHS proves it."""

HEURISTICS_OFF = {
    "mip_heuristic_run_feasibility_jump": False,
    "mip_heuristic_run_root_reduced_cost": False,
}
"""HiGHS's primal heuristics the planner does without: feasibility jump and the root's
reduced-cost heuristic found nothing its rounding and sub-MIP heuristics did not find
as well, and were a third of the solve time of a commuter's nights (replayed requests of
real-2017: the same objective in every one of 206 + 179 + 134 solves; 30-47 % less CPU
for the commuter, 13 % for the home office; BENCHMARKS.md "Least-cost target: faster
solves"). RENS off too was faster again but dearer by up to 0.18 cent a plan."""

ALLOW_RESTART = False
"""HiGHS does not restart its root (presolve again after fixing columns by reduced cost):
on the slowest plans of a replayed real-2017 year the restarts were most of the solve
(max per solve 510 -> 245 ms home office, 524 -> 213 ms commuter; CPU 0.92x / 0.90x),
for plans that differ within the MIP gap (BENCHMARKS.md 42). Only settable since the
planner calls highspy itself."""

_OBJECTIVE_SCALE = 1000.0
"""The objective is handed to HiGHS in milli-EUR: EUR per W of a slot are 1e-6 small."""

_EPS_W = 1e-3
_TIE_EUR_PER_WH = 1e-8
_SLOT_BLOCKS = ("q", "g", "y")
_BLOCK_BLOCKS = ("fix", "sol", "P", "cmd", "sw", "chg")


def least_cost_schedule(
    request: PlanRequest,
    *,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    mip_gap: float = DEFAULT_MIP_GAP,
    node_limit: int | None = DEFAULT_NODE_LIMIT,
) -> ChargePlan:
    """The least-cost `ChargePlan` for `request` (see the module docstring)."""
    began = time.perf_counter()
    model = _Model(request)
    if request.slots == 0 or request.energy_wanted_wh <= 0.0:
        return _plan(model, model.idle(), 0.0, "optimal", time.perf_counter() - began)
    solution = solve_milp(model.milp(), _options(time_limit_s, mip_gap, node_limit))
    elapsed = time.perf_counter() - began
    if solution.x is None:
        return _plan(model, model.idle(), float("nan"), "failed", elapsed)
    objective = solution.objective / _OBJECTIVE_SCALE
    return _plan(model, solution.x, objective, solution.status, elapsed)


def _options(time_limit_s: float, mip_gap: float, node_limit: int | None) -> dict[str, OptionValue]:
    """HiGHS's options for one solve (HiGHS's own names)."""
    options: dict[str, OptionValue] = {"time_limit": time_limit_s, "mip_rel_gap": mip_gap}
    options.update(HEURISTICS_OFF)
    options["mip_allow_restart"] = ALLOW_RESTART
    if node_limit is not None:
        options["mip_max_nodes"] = int(node_limit)
    return options


class _Model:
    """The MILP's arrays for one request: n-blocks per slot, B-blocks per block, `short`."""

    def __init__(self, request: PlanRequest) -> None:
        self.r = request
        n = request.slots
        self.n = n
        self.block = request.block_of_slot()
        self.nb = int(self.block[-1]) + 1 if n else 0
        names = [(k, n) for k in _SLOT_BLOCKS] + [(k, self.nb) for k in _BLOCK_BLOCKS]
        self.idx: dict[str, IntArray] = {}
        offset = 0
        for name, size in names:
            self.idx[name] = np.arange(offset, offset + size)
            offset += size
        self.short, self.over = offset, offset + 1
        self.n_vars = offset + 2
        self.h = request.hours_per_slot
        self.min_w = request.limits.min_power_w
        cap = request.power_cap_w()
        self.cap = np.where(cap >= self.min_w - _EPS_W, cap, 0.0)
        self.solar = request.solar_wh()
        solar_w = np.maximum(request.surplus_w, 0.0)
        self.follow_cap = np.where(
            solar_w >= self.min_w - _EPS_W, np.minimum(solar_w, self.cap), 0.0
        )
        self.block_cap = np.full(self.nb, np.inf)
        np.minimum.at(self.block_cap, self.block, self.cap)
        self.block_cap[self.block_cap < self.min_w - _EPS_W] = 0.0
        grid_cap = self.block_cap[self.block] * self.h
        if request.limits.max_grid_import_w is not None:
            grid_cap = np.minimum(grid_cap, request.limits.max_grid_import_w * self.h)
        self.grid_cap = grid_cap
        self.takes_all_sun = (
            (self.block_cap[self.block] > 0.0)
            & (request.import_eur_per_kwh < request.export_eur_per_kwh)
            & (self.solar > 0.0)
        )

    def idle(self) -> FloatArray:
        """The do-nothing solution (everything wanted is short)."""
        x = np.zeros(self.n_vars)
        x[self.short] = self.r.energy_wanted_wh
        return x

    def objective(self) -> FloatArray:
        r, c = self.r, np.zeros(self.n_vars)
        solar_value = r.export_eur_per_kwh * self.h / 1000.0  # EUR per W over a slot
        c[self.idx["q"]] = solar_value
        np.add.at(c, self.idx["P"][self.block], solar_value)
        c[self.idx["g"]] = (r.import_eur_per_kwh - r.export_eur_per_kwh) / 1000.0
        if r.grid_premium_eur_per_kwh is not None:
            c[self.idx["g"]] += r.grid_premium_eur_per_kwh / 1000.0
        self._add_tie_breaks(c)
        c[self.idx["cmd"]] = r.command_cost_eur
        c[self.idx["sw"]] = r.switch_cost_eur
        c[self.short] = r.shortfall_eur_per_kwh / 1000.0
        earns = max(0.0, -float(r.import_eur_per_kwh.min()), -float(r.export_eur_per_kwh.min()))
        c[self.over] = (earns - self._over_credit()) / 1000.0 + 1e-9
        return c

    def _over_credit(self) -> float:
        """What a Wh of `over` is credited (EUR/kWh): the plan's cheapest grid (with its
        premium) less `OVER_CREDIT_MARGIN_EUR_PER_KWH`, never below 0.

        `over` is grid energy never drawn (the car stops at the target; `_energy_rows`
        bounds it by the grid bought). Without the credit a later block at the minimum
        power counted its whole hour of grid, while the block in progress, cut short by
        the clock, counted only what was missing: a home-office car bought 1 kWh on a
        Saturday afternoon at 0.217 EUR/kWh, not in the night at 0.209 (a night block
        counted 1.38 kWh), and the afternoon's sun would have covered it. With the credit
        a later block's overshoot costs at most its price above the cheapest.
        """
        r = self.r
        grid = r.import_eur_per_kwh
        if r.grid_premium_eur_per_kwh is not None:
            grid = grid + r.grid_premium_eur_per_kwh
        cheapest = float(grid.min()) if grid.size else 0.0
        return max(cheapest - OVER_CREDIT_MARGIN_EUR_PER_KWH, 0.0)

    def _add_tie_breaks(self, c: FloatArray) -> None:
        """Among equal costs: the sun as early as possible, the grid as late as possible.

        Sun now is sure, the forecast's later sun is not; grid later leaves room for sun
        the pessimistic forecast did not count on. `_TIE_EUR_PER_WH` per slot of delay
        (sun) or advance (grid): 96 slots add 0.001 EUR/kWh, below any price step.
        """
        t = np.arange(self.n, dtype=np.float64)
        sun_later = _TIE_EUR_PER_WH * t * self.h  # per W of car power in slot t
        c[self.idx["q"]] += sun_later
        np.add.at(c, self.idx["P"][self.block], sun_later)
        # g is grid instead of sun: remove the sun's tie cost, add the grid's
        c[self.idx["g"]] += _TIE_EUR_PER_WH * (self.n - 2.0 * t)

    def milp(self) -> Milp:
        """The whole model for HiGHS, the objective in milli-EUR (`_OBJECTIVE_SCALE`)."""
        lower, upper = self.bounds()
        matrix, row_lower, row_upper = self.constraints()
        return Milp(
            cost=self.objective() * _OBJECTIVE_SCALE,
            lower=lower,
            upper=upper,
            integer=self.integrality(),
            matrix=matrix,
            row_lower=row_lower,
            row_upper=row_upper,
        )

    def integrality(self) -> npt.NDArray[np.bool_]:
        """Which variables are whole numbers (the binaries `y`, `fix`, `sol`, `chg`)."""
        integer = np.zeros(self.n_vars, dtype=bool)
        for name in ("y", "fix", "sol", "chg"):
            integer[self.idx[name]] = True
        return integer

    def bounds(self) -> tuple[FloatArray, FloatArray]:
        """Each variable's lower and upper bound."""
        lo, hi = np.zeros(self.n_vars), np.full(self.n_vars, np.inf)
        hi[self.idx["q"]] = self.follow_cap
        hi[self.idx["g"]] = self.grid_cap
        hi[self.idx["y"]] = self.takes_all_sun
        hi[self.idx["fix"]] = self.block_cap > 0.0
        sunny = np.zeros(self.nb)
        np.maximum.at(sunny, self.block, self.follow_cap)
        hi[self.idx["sol"]] = sunny > 0.0
        hi[self.idx["P"]] = self.block_cap
        hi[self.idx["chg"]] = 1.0
        hi[self.short] = self.r.energy_wanted_wh
        hi[self.over] = self.min_w * float(np.bincount(self.block).max()) * self.h
        return lo, hi

    def constraints(self) -> tuple[sparse.csr_array, FloatArray, FloatArray]:
        """The rows: matrix (CSR) and each row's lower and upper bound."""
        rows = SparseRows(self.n_vars)
        self._mode_rows(rows)
        self._grid_rows(rows)
        self._energy_rows(rows)
        self._command_rows(rows)
        self._taper_rows(rows)
        self._sun_bound_rows(rows)
        return rows.csr()

    def _sun_bound_rows(self, rows: SparseRows) -> None:
        """Rows that change no optimum but tighten HiGHS's LP relaxation of a plan with
        sun to follow (none without: a night's plan keeps its model bit for bit).

        * `sum_t h q_t <= wanted`: the sun the PV mode draws never needs to exceed the
          energy wanted (any schedule drawing more has one as cheap drawing less: fewer
          `q` and as much less `over`, which costs at least what the sun earns);
        * per block with sun, `sum_{t in b} h q_t <= min(S_b, wanted) sol_b` (`S_b`:
          the block's followable sun, Wh): with the row above, what a whole `sol_b`
          allows anyway. Without it the relaxation followed a sunny day at `sol_b` of a
          few hundredths, paying as little of a start and a stop, far below the optimum
          of a plan the sun covers (its cost is its commands): HiGHS then spent its
          time at the root, 0.3-0.6 s on the slowest plans of a year;
        * with the car not charging now, `sum_b sw_b + short / wanted >= 1`: any energy
          at all needs a start (valid for every schedule, the idle one included), and
          the stop each night forces (`_stop_rows`).
        """
        q, sol = self.idx["q"], self.idx["sol"]
        sun_wh = np.bincount(self.block, weights=self.follow_cap * self.h, minlength=self.nb)
        sunny = np.flatnonzero(sun_wh > 0.0)
        wanted = self.r.energy_wanted_wh
        if sunny.size == 0 or wanted <= 0.0:
            return
        rows.add_row(q, np.full(self.n, self.h), -np.inf, wanted)
        row_of = np.full(self.nb, -1)
        row_of[sunny] = np.arange(sunny.size)
        t = np.flatnonzero(self.follow_cap > 0.0)
        matrix = sparse.csr_array(
            (
                np.concatenate([np.full(t.size, self.h), -np.minimum(sun_wh[sunny], wanted)]),
                (np.concatenate([row_of[self.block[t]], np.arange(sunny.size)]),
                 np.concatenate([q[t], sol[sunny]])),
            ),
            shape=(sunny.size, self.n_vars),
        )  # fmt: skip
        rows.add_matrix(matrix, -np.inf, 0.0)
        if not self.r.now.charging:
            sw = self.idx["sw"]
            cols = np.append(sw, self.short)
            rows.add_row(cols, np.append(np.ones(sw.size), 1.0 / wanted), 1.0, np.inf)
            self._stop_rows(rows, sun_wh > 0.0)

    def _stop_rows(self, rows: SparseRows, sunny: npt.NDArray[np.bool_]) -> None:
        """With the car off now, per block z without followable sun after a block with
        (`sol_z` is 0 there): `sum_{b<=z} sw_b + fix_z + 2 (E^z + short) / wanted >= 2`,
        `E^z` the energy from block z on (Wh), and the same row over `cmd_b`.

        Valid for every schedule: energy before z needs a start before z, and then a stop
        by z unless a fixed power runs on in z (`sum sw >= 2 - fix_z`; each of them a
        command too); without energy before z, `E^z + short >= wanted` (the energy row),
        so the last term alone is 2. The start row above is met by a start anywhere, and
        the relaxation followed a home office's sunny week at `sol_b` of a few
        hundredths, paying almost nothing of the stop each night forces: the root bound
        of the year's slowest plan (a start and a stop, 24 milli-EUR) was 12.2, and HiGHS
        restarted its root twice to close it; with these rows the root LP is the optimum.
        (Written with the energy before z and `over` instead, the rows were as valid but
        solved a replayed year 5 % slower.)
        """
        z_blocks = np.flatnonzero(~sunny[1:] & sunny[:-1]) + 1
        if z_blocks.size == 0:
            return
        fix, power, q = (self.idx[k] for k in ("fix", "P", "q"))
        scale = 2.0 / self.r.energy_wanted_wh
        per_block = np.bincount(self.block, minlength=self.nb).astype(np.float64) * self.h
        first_slot = np.searchsorted(self.block, z_blocks)
        followed = self.follow_cap > 0.0
        for z, t0 in zip(z_blocks.tolist(), first_slot.tolist(), strict=True):
            t = t0 + np.flatnonzero(followed[t0:])
            rest = np.concatenate([[fix[z]], power[z:], q[t], [self.short]])
            vals = np.concatenate(
                [np.ones(z + 2), scale * per_block[z:], np.full(t.size, scale * self.h), [scale]]
            )
            keep = vals != 0.0
            for count in (self.idx["sw"], self.idx["cmd"]):  # a start and a stop, two commands
                cols = np.concatenate([count[: z + 1], rest])
                rows.add_row(cols[keep], vals[keep], 2.0, np.inf)

    def _mode_rows(self, rows: SparseRows) -> None:
        fix, sol, power, q = (self.idx[k] for k in ("fix", "sol", "P", "q"))
        rows.add([(power, 1.0), (fix, -self.block_cap)], -np.inf, 0.0)  # P <= cap fix
        rows.add([(power, 1.0), (fix, -self.min_w)], 0.0, np.inf)  # P >= min fix
        rows.add([(fix, 1.0), (sol, 1.0)], -np.inf, 1.0)  # one mode per block
        rows.add([(q, 1.0), (sol[self.block], -self.follow_cap)], -np.inf, 0.0)  # q only in PV mode

    def _grid_rows(self, rows: SparseRows) -> None:
        power, g, y = self.idx["P"][self.block], self.idx["g"], self.idx["y"]
        fix = self.idx["fix"][self.block]
        # g >= h P - S fix: the sun a fixed block takes is at most S per unit of `fix`
        # (the same as g >= h P - S for a whole `fix`; far tighter for HiGHS's LP
        # relaxation, which would otherwise take winter sun below the minimum power
        # for free at a fractional `fix`)
        rows.add([(power, self.h), (g, -1.0), (fix, -self.solar)], -np.inf, 0.0)
        rows.add([(g, 1.0), (power, -self.h)], -np.inf, 0.0)  # g <= h P
        t = np.flatnonzero(self.takes_all_sun)
        rows.add([(g[t], 1.0), (y[t], -self.grid_cap[t])], -np.inf, 0.0)  # grid needs y
        rows.add([(power[t], self.h), (g[t], -1.0), (y[t], -self.solar[t])], 0.0, np.inf)

    def _slot_power(self) -> sparse.csr_array:
        """Matrix (n x vars) of the car's power per slot: `P_b(t) + q_t` (W)."""
        rows = np.concatenate([np.arange(self.n), np.arange(self.n)])
        cols = np.concatenate([self.idx["P"][self.block], self.idx["q"]])
        return sparse.csr_array((np.ones(2 * self.n), (rows, cols)), shape=(self.n, self.n_vars))

    def _energy_rows(self, rows: SparseRows) -> None:
        """`delivered - over <= wanted <= delivered - over + short`.

        `over` lets the last block overshoot by less than a block at the minimum power
        (the car stops at the target: the energy is never drawn), so a small remainder
        is still delivered; it is at most the grid bought, credited at the plan's
        cheapest grid price (`_over_credit`), so it is never worth drawing for.
        """
        # per W: h per slot of a block's fixed power, h per slot followed (built as
        # one row directly: a sparse sum over the slot-power matrix was half the build)
        per_block = np.bincount(self.block, minlength=self.nb).astype(np.float64) * self.h
        cols = np.concatenate([self.idx["P"], self.idx["q"], [self.over]])
        vals = np.concatenate([per_block, np.full(self.n, self.h), [-1.0]])
        keep = vals != 0.0
        cols, vals = cols[keep], vals[keep]
        wanted = self.r.energy_wanted_wh
        rows.add_row(cols, vals, -np.inf, wanted)
        rows.add_row(np.append(cols, self.short), np.append(vals, 1.0), wanted, np.inf)
        # over <= the grid bought: only grid is credited for it (`_over_credit`)
        g = self.idx["g"]
        rows.add_row(np.append(g, self.over), np.append(np.full(g.size, -1.0), 1.0), -np.inf, 0.0)

    def _command_rows(self, rows: SparseRows) -> None:
        fix, sol, cmd, sw = (self.idx[k] for k in ("fix", "sol", "cmd", "sw"))
        now = self.r.now
        following = float(now.charging and now.following_sun)
        fixed = float(now.charging and not now.following_sun)
        _at_least_the_change(rows, cmd, [fix], fixed)
        _at_least_the_change(rows, cmd, [sol], following)
        _at_least_the_change(rows, sw, [fix, sol], fixed + following)
        self._power_change_rows(rows, fixed * now.power_w)

    def _power_change_rows(self, rows: SparseRows, power_before_w: float) -> None:
        """A new fixed power between two fixed blocks is a command: `cmd_b >= chg_b` with
        `|P_b - P_{b-1}| <= M (chg_b + 2 - fix_b - fix_{b-1})`."""
        fix, power, cmd, chg = (self.idx[k] for k in ("fix", "P", "cmd", "chg"))
        m = float(max(self.block_cap.max(), power_before_w))
        rows.add([(cmd, 1.0), (chg, -1.0)], 0.0, np.inf)
        was_fixed = float(power_before_w > 0.0)
        first, rest, prev = slice(0, 1), slice(1, None), slice(None, -1)
        for sign in (1.0, -1.0):
            head = [(power[first], sign), (chg[first], -m), (fix[first], m)]
            rows.add(head, -np.inf, sign * power_before_w + m * (2.0 - was_fixed))
            tail = [(power[rest], sign), (power[prev], -sign), (chg[rest], -m)]
            rows.add([*tail, (fix[rest], m), (fix[prev], m)], -np.inf, 2.0 * m)

    def _taper_rows(self, rows: SparseRows) -> None:
        """`p_t + w h sum_{u<t} p_u <= P` per line (lower-triangular in the slot powers).

        Nothing to build without lines: the dense n x n triangle was made before the loop,
        three quarters of the model's build for a week-long plan of 1000 slots."""
        if not self.r.taper:
            return
        power = self._slot_power()
        earlier = sparse.csr_array(np.tril(np.ones((self.n, self.n)), k=-1))
        for line in self.r.taper:
            matrix = power + (line.w_per_wh * self.h) * (earlier @ power)
            rows.add_matrix(sparse.csr_array(matrix), -np.inf, line.power_w)


def _at_least_the_change(
    rows: SparseRows, count: IntArray, states: list[IntArray], before: float
) -> None:
    """Rows `count_b >= |s_b - s_{b-1}|` where `s` is the sum of `states`, `s_{-1} = before`."""
    first, rest, prev = slice(0, 1), slice(1, None), slice(None, -1)
    for sign in (1.0, -1.0):
        rows.add(
            [(count[first], 1.0), *((s[first], -sign) for s in states)], -sign * before, np.inf
        )
        now_terms = [(s[rest], -sign) for s in states]
        prev_terms = [(s[prev], sign) for s in states]
        rows.add([(count[rest], 1.0), *now_terms, *prev_terms], 0.0, np.inf)


def _plan(
    model: _Model, x: FloatArray, objective: float, status: str, solve_s: float
) -> ChargePlan:
    """The solution vector as a `ChargePlan`, with commands counted and a reason per slot."""
    r, h = model.r, model.h
    fixed_on = x[model.idx["fix"]][model.block] > 0.5
    following = x[model.idx["sol"]][model.block] > 0.5
    fixed_w = np.where(fixed_on, np.maximum(x[model.idx["P"]][model.block], 0.0), 0.0)
    follow_w = np.where(following, np.maximum(x[model.idx["q"]], 0.0), 0.0)
    power = fixed_w + follow_w
    grid = np.maximum(fixed_w * h - model.solar, 0.0)  # the sun first, as the meter sees it
    # A fixed block the sun covers entirely is left to the charger's PV mode: it takes
    # at least the planned power (all the surplus) and needs no command to follow it.
    block_grid = np.zeros(model.nb)
    np.add.at(block_grid, model.block, grid)
    following |= fixed_on & (block_grid[model.block] <= 1e-6)
    fixed_on &= ~following
    modes = [_mode(bool(f), bool(s)) for f, s in zip(fixed_on, following, strict=True)]
    fixed_w = np.where(fixed_on, fixed_w, 0.0)
    grid = np.where(following, 0.0, grid)  # rounding dust of the blocks handed over
    solar = power * h - grid
    commands, switches = _commands(r, modes, fixed_w)
    delivered = np.cumsum(power * h)
    step = timedelta(seconds=r.step_s)
    cost = (grid * r.import_eur_per_kwh + solar * r.export_eur_per_kwh) / 1000.0
    columns = zip(
        modes,
        power.tolist(),
        (power / r.limits.watts_per_amp).tolist(),
        grid.tolist(),
        solar.tolist(),
        r.import_eur_per_kwh.tolist(),
        r.export_eur_per_kwh.tolist(),
        cost.tolist(),
        commands,
        switches,
        delivered.tolist(),
        strict=True,
    )  # Python floats, one conversion per column: a plan can have hundreds of slots
    slots = tuple(
        PlannedSlot(
            start=r.start + i * step,
            mode=mode,
            power_w=power_w,
            current_a=current_a,
            from_grid_wh=grid_wh,
            from_solar_wh=solar_wh,
            import_eur_per_kwh=buy,
            export_eur_per_kwh=sell,
            cost_eur=cost_eur,
            command=command,
            switch=switch,
            reason=_reason(r.energy_wanted_wh, mode, buy, sell, grid_wh, solar_wh, done_wh),
        )
        for i, (
            mode, power_w, current_a, grid_wh, solar_wh, buy, sell, cost_eur, command, switch,
            done_wh,
        ) in enumerate(columns)
    )  # fmt: skip
    total = float(delivered[-1]) if model.n else 0.0
    shortfall = r.energy_wanted_wh - total
    return ChargePlan(
        start=r.start,
        step_s=r.step_s,
        slots=slots,
        energy_wanted_wh=r.energy_wanted_wh,
        shortfall_wh=shortfall if shortfall > 1e-3 else 0.0,
        objective_eur=objective,
        status=status,
        solve_s=solve_s,
    )


def _mode(fixed: bool, following: bool) -> SlotMode:
    if fixed:
        return SlotMode.FIXED
    return SlotMode.SOLAR if following else SlotMode.OFF


def _commands(
    request: PlanRequest, modes: list[SlotMode], fixed_w: FloatArray
) -> tuple[list[bool], list[bool]]:
    """Per slot: does it start with a command (a new mode or fixed current), a start or stop?"""
    now = request.now
    if not now.charging:
        mode, power = SlotMode.OFF, 0.0
    elif now.following_sun:
        mode, power = SlotMode.SOLAR, 0.0
    else:
        mode, power = SlotMode.FIXED, now.power_w
    commands, switches = [], []
    tolerance_w = 0.1 * request.limits.watts_per_amp  # 0.1 A
    for new_mode, new_power in zip(modes, fixed_w.tolist(), strict=True):
        moved = new_mode is SlotMode.FIXED and abs(new_power - power) > tolerance_w
        commands.append(new_mode is not mode or moved)
        switches.append((new_mode is SlotMode.OFF) != (mode is SlotMode.OFF))
        mode, power = new_mode, new_power
    return commands, switches


_IDLE_REASONS = {
    (mode, planned): f"{mode.value}: "
    + ("the energy wanted is planned" if planned else "cheaper slots before departure")
    for mode in SlotMode
    for planned in (True, False)
}
"""The reason of a slot without energy, by mode and whether the energy wanted is planned
(formatted once: a week-long plan has hundreds of such slots)."""


def _reason(
    wanted_wh: float,
    mode: SlotMode,
    buy: float,
    sell: float,
    grid_wh: float,
    solar_wh: float,
    delivered_wh: float,
) -> str:
    """One line: why the slot does what it does (prices in EUR/kWh, energies in Wh)."""
    if mode is SlotMode.OFF or grid_wh + solar_wh <= 1e-6:
        return _IDLE_REASONS[mode, delivered_wh >= wanted_wh - 1e-3]
    parts = [f"{mode.value}:"]
    if solar_wh > 1e-6:
        parts.append(f"sun {solar_wh:.0f} Wh (export would earn {sell:.3f} EUR/kWh)")
    if grid_wh > 1e-6:
        note = ", negative price" if buy < 0.0 else ""
        parts.append(f"grid {grid_wh:.0f} Wh at {buy:.3f} EUR/kWh{note}")
    return " ".join(parts)

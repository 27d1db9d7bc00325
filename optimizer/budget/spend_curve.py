"""The rest of the day's read spend as a function of the water level, solved per cycle.

`allocation.allocate_rates` spreads the read budget over every (device, cell) of
the rest of the day. The controller asks for only one number each cycle: the
rate of one device in the *current* cell. Everything but that cell (the future
cells of every device) changes only when the grid moves to the next cell, a
plug state changes or the PV profile is updated, while the current cell
shrinks with `now` and the budget drops with every call.

So the future cells' spend

    S(lam) = sum over future cells of d * clip(lam * w, min_rate, max_rate)

is built once (`SpendCurve`, piecewise linear in `lam`, evaluated at its
breakpoints with cumulative sums exactly as `allocation._water_level` does) and
`current_rates` adds the few current cells and solves for `lam` in O(log cells)
plain-Python steps: the same water level as `allocate_rates` over all cells
(equal up to float rounding, see tests/test_perf_caches.py), at a few
microseconds instead of a millisecond of numpy calls on small arrays.

Rates in reads per second, durations in seconds, weights as in `allocation`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np

from optimizer.budget.allocation import FloatArray


class SpendCurve:
    """Reads spent by a fixed set of cells as a function of the water level `lam`.

    On [breaks[k], breaks[k + 1]) the spend is `const[k] + lam * slope[k]`;
    below `breaks[0]` every cell is at the floor (`floor_spend`). `ceiling_spend`
    is the spend with every positive-weight cell at `max_rate` and the rest at
    `min_rate`; `duration_s` the cells' summed duration (device-seconds).

    The breakpoints are sorted only when first needed (`piece`): most cycles
    end on a cheap special case (no sun or no car ahead, a budget below the
    floor or above the ceiling) and never solve for `lam`.
    """

    __slots__ = (
        "_cap",
        "_cells",
        "_cum_d",
        "_cum_dw",
        "_d",
        "_d_pos",
        "_leave",
        "_solved",
        "_w",
        "_zero_spend",
        "breaks",
        "ceiling_spend",
        "duration_s",
        "floor_spend",
        "max_rate",
        "min_rate",
        "positive",
        "rows",
    )

    _w: FloatArray | None
    _d: FloatArray | None
    _cells: tuple[FloatArray, FloatArray]
    """What `of_whole_seconds` was given: the weights and durations, picked out when solved."""

    def __init__(
        self, weights: FloatArray, durations_s: FloatArray, *, min_rate: float, max_rate: float
    ) -> None:
        """The curve of cells with `weights` (devices, cells) and `durations_s` (cells,)."""
        w_all, d_all = self._flat(weights, durations_s)
        pos = w_all > 0
        self.min_rate, self.max_rate = min_rate, max_rate
        self.duration_s = float(d_all.sum())
        self._w, self._d = w_all[pos], d_all[pos]
        self._d_pos = float(self._d.sum())
        self.positive = bool(self._w.size)
        self._start()

    @classmethod
    def of_whole_seconds(
        cls,
        weights: FloatArray,
        durations_s: FloatArray,
        *,
        duration_s: float,
        positive_s: float,
        min_rate: float,
        max_rate: float,
    ) -> SpendCurve:
        """The constructor's curve, given the cells' summed duration and the summed duration
        of the positive-weight cells (device-seconds) by a caller that knows them.

        For durations that are whole seconds (every partial sum an integer below 2**53),
        so that any order of summing gives the same float: then `duration_s` and
        `positive_s` are what the constructor's sums give, to the bit. Every duration
        must be > 0 (a positive cell then adds to `positive_s`). The positive cells are
        picked out only when the curve is solved: most curves of the budget planner's
        grid end on the floor or the ceiling and are never solved, and the planner
        builds one every time its grid moves on a 5-minute cell.
        """
        new = object.__new__(cls)
        new.rows = np.shape(weights)[0]
        new.min_rate, new.max_rate = min_rate, max_rate
        new.duration_s, new._d_pos, new.positive = duration_s, positive_s, positive_s > 0
        new._w, new._d = None, None
        new._cells = (weights, durations_s)
        new._start()
        return new

    def _flat(self, weights: FloatArray, durations_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Every cell's weight and duration, one device after the other (sets `rows`)."""
        w_all = np.asarray(weights, dtype=np.float64)
        d_row = np.asarray(durations_s, dtype=np.float64)
        if w_all.ndim != 2 or d_row.ndim != 1 or w_all.shape[1] != d_row.shape[0]:
            raise ValueError(f"weights {w_all.shape} do not match durations {d_row.shape}")
        # One device (the usual home): its row and the durations as they are, no copies.
        self.rows = w_all.shape[0]
        d_all = d_row if self.rows == 1 else np.broadcast_to(d_row, w_all.shape).ravel()
        return w_all.ravel(), d_all

    def _start(self) -> None:
        """The spans and the still unsorted pieces (see `solve`)."""
        self._set_spans()
        self.breaks: list[float] = []
        self._leave: list[float] = []
        self._cap: list[float] = []
        self._cum_d: list[float] = [0.0]
        self._cum_dw: list[float] = [0.0]
        self._zero_spend = 0.0
        self._solved = not self.positive

    def _positive_cells(self) -> tuple[FloatArray, FloatArray]:
        """The positive-weight cells' weights and durations (picked out once)."""
        if self._w is None or self._d is None:
            w_all, d_all = self._flat(*self._cells)
            pos = w_all > 0
            self._w, self._d = w_all[pos], d_all[pos]
        return self._w, self._d

    def _set_spans(self) -> None:
        """The floor and ceiling spends of `duration_s` (device-seconds)."""
        min_rate, d_pos = self.min_rate, self._d_pos
        self.floor_spend = min_rate * self.duration_s
        self.ceiling_spend = self.max_rate * d_pos + min_rate * (self.duration_s - d_pos)

    def among(self, durations_s: FloatArray) -> SpendCurve:
        """This curve's positive-weight cells among other cells, all of weight 0 (one
        row of `durations_s` per device, as the constructor takes them).

        What the constructor gives for those cells, to the bit: the positive cells,
        and so the sorted breakpoints and cumulative sums, are this curve's (shared,
        not rebuilt); the total duration, floor and ceiling are summed again as the
        constructor sums them. The budget planner's night before the sun: the grid
        moves on a cell, the cell it leaves had no sun, nothing else changes.
        """
        d_row = np.asarray(durations_s, dtype=np.float64)
        rows = self.rows
        d_all = d_row if rows == 1 else np.broadcast_to(d_row, (rows, d_row.shape[0])).ravel()
        new = object.__new__(SpendCurve)
        new.min_rate, new.max_rate, new.rows = self.min_rate, self.max_rate, rows
        new._w, new._d = self._positive_cells()
        new._d_pos, new.positive = self._d_pos, self.positive
        new.duration_s = float(d_all.sum())
        new._set_spans()
        new.breaks, new._leave, new._cap = self.breaks, self._leave, self._cap
        new._cum_d, new._cum_dw, new._solved = self._cum_d, self._cum_dw, self._solved
        new._zero_spend = 0.0
        if self._solved and self.positive:
            new._zero_spend = self.min_rate * (new.duration_s - new._cum_d[-1])
        return new

    def solve(self) -> None:
        """Sort the breakpoints and find each piece (once; `piece` calls it)."""
        if not self._solved:
            self._solve_pieces()
            self._solved = True

    @classmethod
    def build(
        cls, weights: FloatArray, durations_s: FloatArray, *, min_rate: float, max_rate: float
    ) -> SpendCurve:
        """Same as the constructor (named for readability at call sites)."""
        return cls(weights, durations_s, min_rate=min_rate, max_rate=max_rate)

    def _solve_pieces(self) -> None:
        """Breakpoints and the cumulative sums each linear piece is made of, as
        `allocation._water_level` does.

        A cell leaves the floor at lam = min_rate / w and reaches the ceiling at
        max_rate / w: both orders are the order of decreasing weight, so one sort
        and one pair of cumulative sums serve both. The piece after a breakpoint is
        assembled from them only when asked (`piece`): a water level asks ~10 of the
        ~2 x cells, so building every piece's constant and slope up front (two
        searchsorted, a sort and array arithmetic) cost more than the search itself.
        """
        min_rate, max_rate = self.min_rate, self.max_rate
        w_pos, d_pos = self._positive_cells()
        order = np.argsort(-w_pos, kind="stable")
        w, d = w_pos[order], d_pos[order]
        cum_d = np.zeros(w.size + 1)
        cum_dw = np.zeros(w.size + 1)
        np.cumsum(d, out=cum_d[1:])
        np.cumsum(d * w, out=cum_dw[1:])
        self._leave = (min_rate / w).tolist()  # ascending, as w descends
        self._cap = (max_rate / w).tolist()
        self._cum_d, self._cum_dw = cum_d.tolist(), cum_dw.tolist()
        self._zero_spend = min_rate * (self.duration_s - self._cum_d[-1])
        self.breaks = sorted(self._leave + self._cap)  # a merge of two sorted runs

    def piece(self, lam: float) -> tuple[float, float]:
        """(const, slope) of the linear piece that starts at or before `lam`.

        Cells with lam >= leave are off the floor (the first i in weight order),
        those with lam >= cap at the ceiling (the first j): the same float
        operations, in the same order, as a whole-array evaluation at the breakpoint.
        """
        self.solve()
        if not self.breaks or lam < self.breaks[0]:
            return self.floor_spend, 0.0
        i = bisect.bisect_right(self._leave, lam)
        j = bisect.bisect_right(self._cap, lam)
        cum_d, cum_dw = self._cum_d, self._cum_dw
        const = self._zero_spend + self.min_rate * (cum_d[-1] - cum_d[i]) + self.max_rate * cum_d[j]
        return const, cum_dw[i] - cum_dw[j]

    def spend(self, lam: float) -> float:
        """Reads these cells spend at water level `lam`."""
        const, slope = self.piece(lam)
        return const + lam * slope


def current_rates(
    future: SpendCurve,
    weights_now: Sequence[float],
    duration_now_s: float,
    budget: float,
    *,
    min_rate: float,
    max_rate: float,
    totals: dict[float, float] | None = None,
) -> list[float]:
    """Each device's rate (1/s) in the current cell, given the future cells' curve.

    `weights_now[r]` is device r's weight in the current cell, which lasts
    `duration_now_s` for every device. The result is what `allocate_rates` gives
    for column 0 of the whole rest-of-day grid (current cell + `future`), with
    the same special cases: no budget (0), less than the floor everywhere
    (an even spread), more than the ceiling (the ceiling).

    `totals`, when given, keeps the cells' spend at each water level tried, for the
    next call with the same curve, current weights and duration (any budget): the
    spend at a level does not depend on the budget, so a second solve with a budget
    one read lower walks the same levels without adding them up again, and ends
    where a solve from scratch ends (the same floats, compared the same way).
    """
    m = len(weights_now)
    device_time = future.duration_s + duration_now_s * m
    if budget <= 0 or device_time <= 0:
        return [0.0] * m
    if budget <= min_rate * device_time:
        return [budget / device_time] * m
    ceiling_now = [max_rate if w > 0 else min_rate for w in weights_now]
    ceiling = future.ceiling_spend + duration_now_s * sum(ceiling_now)
    if not (future.positive or any(w > 0 for w in weights_now)) or budget >= ceiling:
        return ceiling_now
    lam = _water_level(future, weights_now, duration_now_s, budget, min_rate, max_rate, totals)
    return [min(max(lam * w, min_rate), max_rate) for w in weights_now]


def _water_level(
    future: SpendCurve,
    weights_now: Sequence[float],
    d0: float,
    budget: float,
    min_rate: float,
    max_rate: float,
    totals: dict[float, float] | None = None,
) -> float:
    """The `lam` at which future + current cells spend `budget` (see `allocation`);
    `totals` the spends at levels already tried (see `current_rates`).

    The breakpoints are the future curve's and the current cells' own; the total
    spend is nondecreasing in `lam`, so binary-search the future breakpoints,
    then place the current cells' few breakpoints, then solve the linear piece.
    A level's total spend is kept per moment (`_Cells.total`): this runs at every read cycle.
    """
    cells = _Cells(future, weights_now, d0, min_rate, max_rate, {} if totals is None else totals)
    total = cells.total
    breaks = future.breaks
    lo_i, hi_i = 0, len(breaks)  # find the last future break with total <= budget
    while lo_i < hi_i:
        mid = (lo_i + hi_i) // 2
        if total(breaks[mid]) <= budget:
            lo_i = mid + 1
        else:
            hi_i = mid
    k = lo_i - 1
    lo = breaks[k] if k >= 0 else -math.inf
    hi = breaks[k + 1] if k + 1 < len(breaks) else math.inf
    for b in cells.breaks():
        if b <= lo:
            continue
        if b >= hi:
            break
        if total(b) <= budget:
            lo = b
        else:
            hi = b
            break
    if lo == -math.inf:  # the budget is below the spend at every breakpoint
        first = [*breaks[:1], *(leave for leave, _, _ in cells.now)]
        return min(first)
    const, slope = cells.piece(lo)
    if slope <= 0:
        return lo
    if hi == math.inf:
        hi = lo  # past the last breakpoint: as `allocation`, never beyond it
    return min((budget - const) / slope, hi)


class _Cells:
    """The future curve's cells (solved) and the current cells, as `_water_level` sees them.

    `now`: (leave, cap, weight) of each current cell with a positive weight, the others
    at the floor (`floor_now`, reads).
    """

    __slots__ = ("_d0", "_floor_now", "_future", "_max_rate", "_min_rate", "memo", "now")

    def __init__(
        self,
        future: SpendCurve,
        weights_now: Sequence[float],
        d0: float,
        min_rate: float,
        max_rate: float,
        memo: dict[float, float],
    ) -> None:
        future.solve()
        self.now = [(min_rate / w, max_rate / w, w) for w in weights_now if w > 0]
        self._floor_now = d0 * min_rate * (len(weights_now) - len(self.now))
        self._future, self._d0 = future, d0
        self._min_rate, self._max_rate = min_rate, max_rate
        self.memo = memo

    def breaks(self) -> list[float]:
        """The current cells' breakpoints, ascending (one cell's are: leave <= cap)."""
        now = self.now
        if len(now) == 1:
            return [now[0][0], now[0][1]]
        return sorted(x for leave, cap, _ in now for x in (leave, cap))

    def piece(self, lam: float) -> tuple[float, float]:
        """(const, slope) of the total spend's piece at `lam`: `SpendCurve.piece` of the
        future cells plus each current cell, the same float operations in the same order."""
        const, slope = self._future.piece(lam)
        const += self._floor_now
        d0 = self._d0
        for leave, cap, w in self.now:
            if lam >= cap:
                const += d0 * self._max_rate
            elif lam >= leave:
                slope += d0 * w
            else:
                const += d0 * self._min_rate
        return const, slope

    def total(self, lam: float) -> float:
        """The total spend (reads) at water level `lam`, kept in `memo` (the moment's
        `totals`: valid for its cells whatever the budget)."""
        value = self.memo.get(lam)
        if value is None:
            const, slope = self.piece(lam)
            value = self.memo[lam] = const + lam * slope
        return value

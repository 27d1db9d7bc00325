"""The budget planner: the one place that decides when a read happens.

Every call it is asked about, it re-derives the read interval from scratch:
the reads left today (limit - reserve - spent, where spent follows the
server's `RateLimit-Remaining` when that is higher than our own ledger),
spread over the rest of the quota day in proportion to each charger's read
weight (see `allocation`). So a header saying fewer calls remain than we
thought stretches the interval at once, and a car plugged in or a broken sky
pulls reads towards now.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from optimizer.budget.allocation import (
    FloatArray,
    allocate_rates,
    plug_factor,
    read_weights,
    weigh,
)
from optimizer.budget.config import BudgetConfig
from optimizer.budget.epoch import US, from_us, to_us
from optimizer.budget.ledger import DAY, CallLedger, require_utc
from optimizer.budget.plan import BudgetPlan, PlannedRead
from optimizer.budget.scheduler import LedgeredScheduler, ReadContext
from optimizer.budget.spend_curve import SpendCurve, current_rates
from optimizer.interfaces import ApiCall, Quota

GRID_STEP_S = 300.0
"""Time resolution of the rest-of-day allocation (s)."""

_STEP_US = 300 * US
"""`GRID_STEP_S` in microseconds (the planner's clock, `optimizer.budget.epoch`)."""

DUE_SLACK = 0.05
"""A read is due once 95 % of its interval has passed: the interval is re-derived at
every cycle and drifts a little, and a controller waking at `next_read_at` must not
find the read not-quite-due and spin."""

PV_PROFILE_CACHE = 4096

PvProfile = Callable[[datetime], float]
"""Expected PV power (W) at a time: a clear-sky-shaped hint for the rest of the day."""


@dataclass(slots=True)
class _Moment:
    """What every rate asked at `now` shares, whatever the budget (see `_moment_at`).

    `now` and `end` (the quota day's) in microseconds since the epoch
    (`optimizer.budget.epoch`); `ids`: the allocation's devices; `curve`: their future
    cells' spend curve; `weights_now`: each one's weight in the current cell, which
    lasts `d0` s; `seconds`: `d0` plus the future cells' length (s, per device); `totals`: the
    water level's spend at the levels it tried (`current_rates`), valid for this
    moment's cells whatever the budget.
    """

    now: int
    end: int
    contexts_version: int
    ids: list[str]
    curve: SpendCurve
    weights_now: list[float]
    d0: float
    seconds: float
    totals: dict[float, float] = field(default_factory=dict)


def _rate_inputs(ctx: ReadContext) -> tuple[object, ...]:
    """What of a context the rates depend on."""
    return (ctx.device_id, ctx.plugged_in, ctx.pv_expected_w, ctx.variability)


@dataclass(frozen=True, slots=True)
class _Grid:
    """The rest of the quota day cut into cells, with each device's weight and read rate."""

    edges: list[datetime]
    device_ids: list[str]
    plugged: list[bool | None]
    pv_w: FloatArray
    variability: FloatArray
    weights: FloatArray
    rates: FloatArray
    budget: float

    def cell(self, t: datetime) -> int:
        return max(0, min(bisect.bisect_right(self.edges, t) - 1, len(self.edges) - 2))


class BudgetPlanner(LedgeredScheduler):
    """Shares the account's daily calls among reads and commands (a `LedgeredScheduler`).

    `devices` is the number of chargers on the account (chargers not yet seen in
    a `ReadContext` are assumed plugged in, so they get their share).
    `pv_profile` gives the expected PV power (W) at any time: the shape of the
    rest of the day the reads are spread over (the site's clear sky in every world,
    `optimizer.composition.planner_pv_profile`).
    """

    def __init__(self, config: BudgetConfig, *, pv_profile: PvProfile, devices: int = 1) -> None:
        if devices < 1:
            raise ValueError(f"devices must be at least 1, got {devices}")
        self._config = config
        self._rate_bounds = (config.min_rate, config.max_rate)
        """The floor and ceiling rates (1/s), asked at every read interval."""
        self._devices = devices
        self._ledger = CallLedger(config.daily_limit, config.day_start_utc_hour)
        self._contexts: dict[str, ReadContext] = {}
        self._pv_profile = pv_profile
        self._pv_cache: dict[datetime, float] = {}
        self._grid_cache: tuple[tuple[object, ...], _Grid] | None = None
        self._future_cache: tuple[tuple[object, ...], tuple[FloatArray, FloatArray]] | None = None
        self._day_pv_cache: tuple[int, int, FloatArray] | None = None
        self._day_weights_cache: tuple[tuple[object, ...], FloatArray] | None = None
        self._curve_cache: tuple[tuple[object, ...], tuple[SpendCurve, float]] | None = None
        self._day_curve: tuple[FloatArray, int, float, SpendCurve] | None = None
        self._day_lit: tuple[FloatArray, int, int] | None = None
        """The day's weights, their first and last column with a positive weight."""
        """The last curve built from the day's weights: those weights, its first column,
        its last cell's duration (s), the curve (see `_after_dark_cells`)."""
        self._positive_from: tuple[object, list[int]] | None = None
        """For the day's weights (the cache entry): per column, how many weights are
        positive from that column to the day's end, all devices (one more entry, 0)."""
        self._day_durations: FloatArray | None = None
        """The day's cell durations (s, read-only), sliced from the end (`_durations`)."""
        self._rate_cache: tuple[tuple[object, ...], float] | None = None
        self._remaining_cache: tuple[tuple[int, int], int] | None = None
        self._clock: tuple[datetime, int] | None = None
        """The last moment asked about, and it in microseconds (`_us`)."""
        self._contexts_version = 0
        """Bumped whenever a device's context changes in what the rates use (`_rate_inputs`)."""
        self._moment: _Moment | None = None

    @property
    def ledger(self) -> CallLedger:
        """The call ledger (read-only use: windows, server count, calls of the day)."""
        return self._ledger

    # ---- what the controller tells us -----------------------------------
    def record_call(self, call: ApiCall) -> None:
        """Count one attempted call (a `CallListener`); failed calls count too."""
        self._ledger.record(call)

    def observe_quota(self, quota: Quota, at: datetime) -> None:
        """Follow the server's `RateLimit-*` headers (after recording their call)."""
        self._ledger.observe(quota, at)

    def restore(self, calls: Iterable[ApiCall], now: datetime) -> None:
        """Rebuild the ledger after a restart from the stored calls (ideally the last 48 h).

        Calls carrying their `quota` also restore the server's count and the
        learned day boundary.
        """
        require_utc(now, "now")
        self._ledger.clear()
        for call in sorted(calls, key=lambda c: require_utc(c.time, "ApiCall.time")):
            self._ledger.record(call)

    # ---- counts ----------------------------------------------------------
    def spent(self, now: datetime) -> int:
        """Calls spent in the quota day of `now` (ours, or the server's if higher)."""
        return self._ledger.spent(now)

    def remaining(self, now: datetime) -> int:
        """Calls left in the quota day; 0 while a 429 / remaining=0 blocks us.

        Kept for the last (now, ledger version): a cycle asks several times at one
        moment (read due, next read, hand-over) and only a recorded call changes it.
        """
        key = (self._us(now), self._ledger.version)
        cached = self._remaining_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        left = 0 if self._ledger.blocked_until(now) is not None else self._ledger.left(now)
        self._remaining_cache = (key, left)
        return left

    def reads_left(self, now: datetime) -> int:
        """Calls reads may still use today: remaining minus the reserve."""
        return max(0, self.remaining(now) - self._config.reserve)

    def can_write(self, now: datetime, n: int = 1) -> bool:
        """Whether `n` commands fit in today's quota; they may use the reserve, never call 1001."""
        if n < 1:
            raise ValueError(f"can_write needs n >= 1, got {n}")
        return self.remaining(now) >= n

    def nearly_out(self, now: datetime) -> bool:
        """Reads left have dipped under `handover_remaining` (or we are blocked)."""
        if self._ledger.blocked_until(now) is not None:
            return True
        cfg = self._config
        return max(0, self.remaining(now) - cfg.reserve) < cfg.handover_remaining

    # ---- when to read ----------------------------------------------------
    def read_interval_s(self, now: datetime, ctx: ReadContext) -> float | None:
        """The planned gap between reads of this charger now (s); None: no read left today."""
        now_us = self._us(now)
        self._remember(ctx)
        reads_left = self.remaining(now) - self._config.reserve  # `reads_left`, once an ask
        if reads_left < 1:
            return None
        rate = self._rate_now(now, now_us, ctx.device_id, reads_left)
        return 1.0 / rate if rate > 0 else None

    def read_due(self, now: datetime, ctx: ReadContext) -> bool:
        """Whether to read this charger now; never past the read budget or while blocked."""
        interval = self.read_interval_s(now, ctx)
        if interval is None:
            return False
        if ctx.last_read is None:
            return True
        elapsed = (now - require_utc(ctx.last_read, "last_read")).total_seconds()
        return elapsed >= self._due_gap_s(interval)

    def next_read_at(self, now: datetime, ctx: ReadContext) -> datetime:
        """When the next read of this charger is due: now or later, at most the day's end."""
        now = require_utc(now, "now")
        blocked, end = self._ledger.read_bounds(now)
        if blocked is not None:
            return blocked
        interval = self.read_interval_s(now, ctx)
        if interval is None:
            return end
        if ctx.last_read is None:
            return now
        due = require_utc(ctx.last_read, "last_read") + timedelta(seconds=self._due_gap_s(interval))
        return min(max(now, due), end)

    def steady_until(self, now: datetime, ctx: ReadContext, dark_until: datetime) -> datetime:
        """Until when this charger's read plan cannot move (see `ReadScheduler.steady_until`).

        A charger whose read weight is 0 (no car with `no_car_weight` 0, or no sun
        expected: `dark_until`) reads at the floor rate, `1 / max_read_interval_s`,
        whatever the rest of the day holds, as long as the budget pays the floor
        (else the even spread drifts with the clock). So without calls, nothing
        changes until the weight may rise or the quota day ends. `now`: no promise.
        """
        now = require_utc(now, "now")
        if self._ledger.blocked_until(now) is not None or ctx.last_read is None:
            return now
        _, end = self._ledger.window(now)
        reads_left = self.reads_left(now)
        if reads_left < 1:
            return end  # no read before the reset, whatever happens
        cfg = self._config
        if plug_factor(ctx.plugged_in, cfg.no_car_weight) == 0.0:
            until = end
        elif ctx.pv_expected_w > 0.0:
            return now
        else:
            until = min(max(dark_until, now), end)
        devices = max(len(self._row_ids(self._contexts)), self._devices)
        seconds = (end - now).total_seconds()
        budget = cfg.spendable(reads_left, seconds, devices)
        return until if budget > cfg.floor_need(seconds, devices) else now

    def check_ins_shared(self) -> bool:
        """Whether the account has several chargers (`devices`, or the contexts seen): the
        current cell's rates weigh every charger by its last context (expected PV,
        variability, plug state), so one charger's check-ins move the others' reads."""
        return max(len(self._contexts), self._devices) > 1

    def _due_gap_s(self, interval_s: float) -> float:
        """Seconds after the last read at which the next is due (the interval less the slack)."""
        return max(self._config.min_read_interval_s, interval_s * (1 - DUE_SLACK))

    # ---- the explainable plan --------------------------------------------
    def day_plan(self, now: datetime) -> BudgetPlan:
        """The rest of the quota day of `now`, for the contexts the controllers last showed."""
        return self.plan(self._ledger.window(now)[0].date(), now=now)

    def plan(
        self,
        day: date,
        contexts: Mapping[str, ReadContext] | None = None,
        *,
        now: datetime | None = None,
    ) -> BudgetPlan:
        """The quota day starting on `day`: spend so far and the reads planned from `now` on.

        `contexts` default to the last ones the controller showed; `now` to the
        wall clock. A past day has no planned reads; a future day is planned
        from its start with the whole budget.
        """
        now = require_utc(now, "now") if now is not None else datetime.now(UTC)
        start = datetime.combine(day, time(0), UTC) + timedelta(
            seconds=self._ledger.day_start_offset_s
        )
        end = start + DAY
        as_of = min(max(now, start), end)
        probe = min(as_of, end - timedelta(microseconds=1))
        ctxs = dict(contexts) if contexts is not None else dict(self._contexts)
        reads_left = self.reads_left(probe) if as_of < end else 0
        slots: tuple[PlannedRead, ...] = ()
        if reads_left >= 1 and as_of < end:
            slots = self._slots(self._grid(as_of, ctxs), as_of, ctxs, reads_left)
        server = self._ledger.server_remaining(probe)
        return BudgetPlan(
            window_start=start,
            window_end=end,
            as_of=as_of,
            boundary_source=(
                "RateLimit-Reset" if self._ledger.boundary_learned else "config day_start_utc_hour"
            ),
            limit=self._ledger.limit(probe),
            reserve=self._config.reserve,
            spent=self._ledger.spent(probe),
            spent_by_endpoint=dict(Counter(c.endpoint for c in self._ledger.calls(probe))),
            reads_left=reads_left,
            server_remaining=None if server is None else server[1],
            server_remaining_at=None if server is None else server[0],
            blocked_until=self._ledger.blocked_until(probe),
            nearly_out=self.nearly_out(probe),
            slots=slots,
        )

    # ---- internals ---------------------------------------------------------
    def _us(self, now: datetime) -> int:
        """`now` (tz-aware) in microseconds since the epoch, the planner's clock inside
        (`optimizer.budget.epoch`); converted once per moment: a cycle asks several
        times with the same datetime."""
        clock = self._clock
        if clock is not None and clock[0] is now:
            return clock[1]
        us = to_us(require_utc(now, "now"))
        self._clock = (now, us)
        return us

    def _remember(self, ctx: ReadContext) -> None:
        if not math.isfinite(ctx.pv_expected_w) or not math.isfinite(ctx.variability):
            raise ValueError(
                f"ReadContext for {ctx.device_id!r}: pv_expected_w and variability must be "
                f"finite, got {ctx.pv_expected_w}, {ctx.variability}"
            )
        before = self._contexts.get(ctx.device_id)
        if (  # `_rate_inputs` changed (the device is the key), field by field: every ask
            before is None
            or before.pv_expected_w != ctx.pv_expected_w
            or before.plugged_in != ctx.plugged_in
            or before.variability != ctx.variability
        ):
            self._contexts_version += 1
        self._contexts[ctx.device_id] = ctx

    def _pv_at(self, t: datetime) -> float:
        """The profile's expected PV power at `t` (W), cached per time."""
        value = self._pv_cache.get(t)
        if value is None:
            if len(self._pv_cache) >= PV_PROFILE_CACHE:
                self._pv_cache.clear()
            value = float(self._pv_profile(t))
            if not math.isfinite(value):
                raise ValueError(f"pv_profile({t.isoformat()}) is not finite: {value}")
            self._pv_cache[t] = value
        return value

    def _grid(self, now: datetime, contexts: Mapping[str, ReadContext]) -> _Grid:
        """The allocation for the rest of the day, cached while nothing it depends on changed."""
        key = (now, self._ledger.version, self._context_key(contexts))
        if self._grid_cache is not None and self._grid_cache[0] == key:
            return self._grid_cache[1]
        grid = self._allocate(now, contexts)
        self._grid_cache = (key, grid)
        return grid

    def _rate_now(self, now: datetime, now_us: int, device_id: str, reads_left: int) -> float:
        """`_grid(now, contexts).rates[device, 0]` without building the grid.

        The future cells' spend curve is cached per cell (it changes when the grid
        moves on or a plug state changes); the current cell
        and the budget, which change with every cycle and every call, are solved
        against it in microseconds (`spend_curve.current_rates`). What does not
        depend on the budget is kept per moment (`_Moment`): a read cycle asks
        before its read and again after it, when only the budget has moved.
        """
        # The device too: chargers of one account asking at the same moment with the
        # same contexts share everything but the row whose rate they want.
        version = self._ledger.version
        key = (now_us, device_id, version, self._contexts_version)
        if self._rate_cache is not None and self._rate_cache[0] == key:
            return self._rate_cache[1]
        moment = self._moment_at(now, now_us)
        budget = self._config.spendable(reads_left, moment.seconds, len(moment.ids))
        min_rate, max_rate = self._rate_bounds
        rates = current_rates(
            moment.curve,
            moment.weights_now,
            moment.d0,
            budget,
            min_rate=min_rate,
            max_rate=max_rate,
            totals=moment.totals,
        )
        rate = rates[moment.ids.index(device_id)]
        self._rate_cache = (key, rate)
        return rate

    def _moment_at(self, now: datetime, now_us: int) -> _Moment:
        """What every rate asked at `now` (`now_us`) shares whatever the budget: the
        devices, the future cells' curve, each device's weight in the current cell; kept
        while the moment, the quota day's end and the contexts stay (a call moves none of
        them unless it teaches the day's boundary). On the integer clock throughout."""
        end = self._ledger.window_us(now_us)[1]
        moment = self._moment
        if (
            moment is not None
            and moment.now == now_us
            and moment.end == end
            and moment.contexts_version == self._contexts_version
        ):
            return moment
        cfg = self._config
        first = (now_us // _STEP_US + 1) * _STEP_US  # the first grid edge after now
        tail0 = first if first < end else end
        ids = self._row_ids(self._contexts)
        plugs: list[float] = []
        weights_now: list[float] = []
        for device in ids:  # one pass: this runs at every read cycle
            ctx = self._contexts.get(device)
            if ctx is None:  # a charger not seen yet: plugged in, the profile's sun
                p = plug_factor(None, cfg.no_car_weight)
                pv, var = self._pv_at(now), cfg.typical_variability
            else:
                p = plug_factor(ctx.plugged_in, cfg.no_car_weight)
                pv, var = ctx.pv_expected_w, ctx.variability
            plugs.append(p)
            weights_now.append(weigh(p, pv, var, variability_gain=cfg.variability_gain))
        curve, future_s = self._future_curve(tail0, end, tuple(plugs))
        d0 = (tail0 - now_us) / US
        moment = _Moment(
            now_us, end, self._contexts_version, ids, curve, weights_now, d0, d0 + future_s
        )
        self._moment = moment
        return moment

    def _future_curve(
        self, tail0: int, end: int, plug: tuple[float, ...]
    ) -> tuple[SpendCurve, float]:
        """The spend curve of every device's cells after the current one (from `tail0` to
        `end`, microseconds since the epoch), and their length (s, per device); cached
        per cell and plug factors.

        With no device worth reading ahead (every plug factor 0: no car, and
        `no_car_weight` 0) every future cell sits at the floor whatever the sun
        does, and the curve needs no PV at all.
        """
        cfg = self._config
        min_rate, max_rate = cfg.min_rate, cfg.max_rate
        if not any(plug):
            key: tuple[object, ...] = (tail0, end, plug)
            if self._curve_cache is not None and self._curve_cache[0] == key:
                return self._curve_cache[1]
            future_s = (end - tail0) / US
            weights = np.zeros((len(plug), 1))
            curve = SpendCurve(weights, np.array([future_s]), min_rate=min_rate, max_rate=max_rate)
            self._curve_cache = (key, (curve, future_s))
            return curve, future_s
        key = (tail0, end, plug)
        if self._curve_cache is not None and self._curve_cache[0] == key:
            return self._curve_cache[1]
        weights, durations = self._future_weights(tail0, end, plug)
        day = self._day_weights_cache[1] if self._day_weights_cache is not None else weights
        first = day.shape[1] - durations.shape[0]
        reused = self._after_dark_cells(day, first, durations)
        curve = reused if reused is not None else self._suffix_curve(weights, durations, first)
        last_s = float(durations[-1]) if durations.shape[0] else math.nan
        self._day_curve = (day, first, last_s, curve)
        value = (curve, _summed_s(durations))
        self._curve_cache = (key, value)
        return value

    def _suffix_curve(self, weights: FloatArray, durations: FloatArray, first: int) -> SpendCurve:
        """The curve of the day's cells from column `first` on (`weights`, `durations`):
        without summing them again (`SpendCurve.of_whole_seconds`) when the durations are
        whole seconds, which they are on the grid of a quota day that starts on a whole
        second (the day's per-column counts of positive weights, `_positive_from`)."""
        cfg = self._config
        min_rate, max_rate = cfg.min_rate, cfg.max_rate
        count = durations.shape[0]
        last = float(durations[-1]) if count else 0.0
        counts = self._positive_from
        day_counted = counts is not None and counts[0] is self._day_weights_cache
        if not count or not last.is_integer() or counts is None or not day_counted:
            return SpendCurve(weights, durations, min_rate=min_rate, max_rate=max_rate)
        from_first, in_last = counts[1][first], counts[1][-2]
        rows = weights.shape[0]
        step_s = (count - 1) * GRID_STEP_S
        return SpendCurve.of_whole_seconds(
            weights,
            durations,
            duration_s=rows * (step_s + last),
            positive_s=(from_first - in_last) * GRID_STEP_S + in_last * last,
            min_rate=min_rate,
            max_rate=max_rate,
        )

    def _after_dark_cells(
        self, day: FloatArray, first: int, durations: FloatArray
    ) -> SpendCurve | None:
        """The last curve of the same day's weights moved on to column `first`, when the
        cells it moves past all weigh 0 and the last cell lasts as long (`SpendCurve.among`:
        the same curve to the bit, without sorting the day again); None otherwise.

        The night before the sun, with a car: the grid moves on a cell every 5 minutes and
        `target` cycles as often, so this is most of a winter night's curves.
        """
        last = self._day_curve
        if last is None or last[0] is not day or last[1] > first or durations.shape[0] == 0:
            return None
        if float(durations[-1]) != last[2] or not self._all_dark(day, last[1], first):
            return None
        return last[3].among(durations)

    def _all_dark(self, day: FloatArray, start: int, stop: int) -> bool:
        """Whether columns [start, stop) of the day's weights all weigh 0 for every device:
        before the day's first positive column or after its last (found once per day)."""
        lit = self._day_lit
        if lit is None or lit[0] is not day:
            columns = np.flatnonzero((day > 0).any(axis=0))
            first, last = (
                (int(columns[0]), int(columns[-1])) if columns.size else (day.shape[1], -1)
            )
            lit = self._day_lit = (day, first, last)
        return stop <= lit[1] or start > lit[2]

    def _future_weights(
        self, tail0: int, end: int, plug: tuple[float, ...]
    ) -> tuple[FloatArray, FloatArray]:
        """Weights (devices, cells) and durations (s) of the cells in [tail0, end) (us
        since the epoch) at the
        typical variability: the day's weights, computed once per quota day and plug
        factors, sliced from the end (the weights are elementwise, so a slice is what
        the cells alone would give); likewise the durations, 300 s but the last."""
        cfg = self._config
        count = max(0, -((tail0 - end) // _STEP_US))  # aligned edges in [tail0, end)
        cached = self._day_weights_cache
        if cached is None or cached[0] != (end, plug) or cached[1].shape[1] < count:
            day_pv = self._day_pv(tail0, end)
            weights = read_weights(
                np.array(plug),
                day_pv[None, :],
                np.array(cfg.typical_variability),
                variability_gain=cfg.variability_gain,
            )
            cached = ((end, plug), weights)
            self._day_weights_cache = cached
            positive = (weights > 0).sum(axis=0)
            from_column = np.concatenate((np.cumsum(positive[::-1])[::-1], [0]))
            self._positive_from = (cached, from_column.tolist())
        weights = cached[1][:, cached[1].shape[1] - count :]
        return weights, self._durations(count, end, tail0)

    def _durations(self, count: int, end: int, tail0: int) -> FloatArray:
        """The `count` cells' durations (s, read-only): 300 but the last, which ends at
        `end` (us since the epoch), as np.diff of the edges' offsets gives it; the day's
        last array sliced while its last cell lasts as long."""
        last = (end - tail0) / US - (count - 1) * GRID_STEP_S if count else 0.0
        day = self._day_durations
        if day is None or day.shape[0] < count or (count and day[-1] != last):
            day = np.full(max(count, 1), GRID_STEP_S)
            day[-1] = last
            day.setflags(write=False)
            self._day_durations = day
        return day[day.shape[0] - count :]

    def _row_ids(self, contexts: Mapping[str, ReadContext]) -> list[str]:
        """Devices of the allocation: those seen, then placeholders up to `devices`."""
        ids = list(contexts)
        ids += [f"(charger {i + 1})" for i in range(len(ids), self._devices)]
        return ids

    @staticmethod
    def _context_key(contexts: Mapping[str, ReadContext]) -> tuple[object, ...]:
        return tuple(_rate_inputs(c) for c in contexts.values())

    def _allocate(self, now: datetime, contexts: Mapping[str, ReadContext]) -> _Grid:
        cfg = self._config
        _, end = self._ledger.window(now)
        tail = _cell_edges(now, end)[1:]
        tail_offsets_s, future_pv = self._future_cells(tail[0], end)
        edges = [now, *tail]
        durations = np.diff(
            np.concatenate(([0.0], tail_offsets_s + (tail[0] - now).total_seconds()))
        )
        ids = self._row_ids(contexts)
        n = len(edges) - 1
        pv = np.zeros((len(ids), n))
        var = np.full((len(ids), n), cfg.typical_variability)
        plugged: list[bool | None] = []
        for row, device in enumerate(ids):
            ctx = contexts.get(device)
            plugged.append(None if ctx is None else ctx.plugged_in)
            pv[row, 1:] = future_pv
            pv[row, 0] = ctx.pv_expected_w if ctx is not None else self._pv_at(now)
            var[row, 0] = ctx.variability if ctx is not None else cfg.typical_variability
        plug = np.array([plug_factor(p, cfg.no_car_weight) for p in plugged])
        weights = read_weights(plug, pv, var, variability_gain=cfg.variability_gain)
        budget = cfg.spendable(self.reads_left(now), float(durations.sum()), len(ids))
        rates = allocate_rates(
            weights, durations, budget, min_rate=cfg.min_rate, max_rate=cfg.max_rate
        )
        return _Grid(edges, ids, plugged, pv, var, weights, rates, budget)

    def _future_cells(self, tail0: datetime, end: datetime) -> tuple[FloatArray, FloatArray]:
        """Offsets (s) of the grid-aligned cell edges from `tail0` (the first edge after
        now, or `end`) up to `end`, and the expected PV power in each of those cells (W);
        cached per cell.

        Plain arithmetic on the 300 s grid (no list of datetimes): the edges are
        `tail0 + i * GRID_STEP_S` and `end`.
        """
        key = (tail0, end)
        if self._future_cache is not None and self._future_cache[0] == key:
            return self._future_cache[1]
        count = max(0, -((tail0 - end) // _STEP))  # aligned edges in [tail0, end)
        offsets = np.append(np.arange(count) * GRID_STEP_S, (end - tail0).total_seconds())
        day_pv = self._day_pv(to_us(tail0), to_us(end))
        value = (offsets, day_pv[-count:] if count else np.zeros(0))
        self._future_cache = (key, value)
        return value

    def _day_pv(self, tail0: int, end: int) -> FloatArray:
        """The profile's PV (W) at every aligned edge in [tail0, end) (us since the
        epoch), kept per quota day.

        The grid moves on a cell every 5 minutes and each move needs the rest of the
        day's cells: evaluated once per day (from the first `tail0` asked) and sliced
        from the end, instead of the whole rest of the day again at every move.
        """
        cached = self._day_pv_cache
        if cached is None or cached[1] != end or cached[0] > tail0:
            count = max(0, -((tail0 - end) // _STEP_US))
            values = np.array(
                [self._pv_at(from_us(tail0 + i * _STEP_US)) for i in range(count)],
                dtype=np.float64,
            )
            cached = (tail0, end, values)
            self._day_pv_cache = cached
        return cached[2]

    def _slots(
        self,
        grid: _Grid,
        as_of: datetime,
        contexts: Mapping[str, ReadContext],
        reads_left: int,
    ) -> tuple[PlannedRead, ...]:
        end = grid.edges[-1]
        slots: list[PlannedRead] = []
        for row, device in enumerate(grid.device_ids):
            ctx = contexts.get(device)
            t = as_of
            if ctx is not None and ctx.last_read is not None and grid.rates[row, 0] > 0:
                t = max(as_of, ctx.last_read + timedelta(seconds=1 / grid.rates[row, 0]))
            while t < end:
                i = grid.cell(t)
                rate = float(grid.rates[row, i])
                if rate <= 0:
                    break
                slots.append(
                    PlannedRead(
                        time=t,
                        device_id=device,
                        interval_s=1 / rate,
                        weight=float(grid.weights[row, i]),
                        reason=self._reason(grid, row, i),
                    )
                )
                t += timedelta(seconds=1 / rate)
        slots.sort(key=lambda s: s.time)
        return tuple(slots[:reads_left])

    def _reason(self, grid: _Grid, row: int, cell: int) -> str:
        cfg = self._config
        rate = float(grid.rates[row, cell])
        every = _duration(1 / rate)
        if rate < (1 - 1e-9) / cfg.max_read_interval_s:
            return f"budget low: reads spread evenly to the reset, every {every}"
        plugged = grid.plugged[row]
        if plugged is False and cfg.no_car_weight == 0:
            return f"no car: floor read every {every} to notice one arriving"
        if grid.weights[row, cell] <= 0:
            return f"sun down: floor read every {every}"
        car = {True: "car plugged", None: "car unknown", False: "no car"}[plugged]
        pv_kw = grid.pv_w[row, cell] / 1000
        fastest = " (fastest allowed)" if rate >= (1 - 1e-9) / cfg.min_read_interval_s else ""
        return (
            f"{car}, PV {pv_kw:.1f} kW, variability {grid.variability[row, cell]:.2f}: "
            f"every {every}{fastest}"
        )


def _summed_s(durations: FloatArray) -> float:
    """`float(durations.sum())` of the grid's cells (300 s but the last): the same float
    from Python arithmetic when the last is whole seconds (every partial sum exact)."""
    count = durations.shape[0]
    last = float(durations[-1]) if count else 0.0
    if not last.is_integer():
        return float(durations.sum())
    return (count - 1) * GRID_STEP_S + last if count else 0.0


def _first_edge_after(now: datetime) -> datetime:
    """The first grid-aligned time strictly after `now`."""
    return _EPOCH + _STEP * ((now - _EPOCH) // _STEP + 1)


def _cell_edges(now: datetime, end: datetime) -> list[datetime]:
    """`now`, the grid-aligned times strictly between, and `end`."""
    step = _STEP
    first = _first_edge_after(now)
    count = max(0, -((first - end) // step))  # aligned times in [first, end)
    return [now, *(first + i * step for i in range(count)), end]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STEP = timedelta(seconds=GRID_STEP_S)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"

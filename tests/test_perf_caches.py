"""The budget's fast paths give what recomputing from scratch gives.

The backtest asks the planner for a read interval about twice per cycle, a
simulated year holds ~10^5 cycles, so the hot paths keep state between calls:

* `CallLedger` keeps a running count of the current quota window (and caches the
  window), instead of recounting its calls at every query;
* `BudgetPlanner.read_interval_s` solves only the current cell against a cached
  spend curve of the future cells (`spend_curve`), instead of re-allocating the
  whole rest-of-day grid; the quota day's PV and weights of its 5-min cells are
  computed once per day and sliced as the grid moves on.

Each is checked against the from-scratch computation on random sequences of
events (calls, server counts that disagree with ours, learned day boundaries,
day rolls, restarts, plug changes, a moving sky).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.budget import BudgetConfig, BudgetPlanner, CallLedger, ReadContext
from optimizer.budget.allocation import allocate_rates
from optimizer.budget.epoch import to_us
from optimizer.budget.spend_curve import SpendCurve, _water_level, current_rates
from optimizer.interfaces import ApiCall, Quota

T0 = datetime(2026, 6, 1, 21, 0, tzinfo=UTC)
MIN_RATE, MAX_RATE = 1 / 1800, 1 / 30


# ---- the ledger's running count -------------------------------------------------------


def _window_from_scratch(ledger: CallLedger, t: datetime) -> tuple[datetime, datetime]:
    midnight = t.replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight + timedelta(seconds=ledger.day_start_offset_s)
    if start > t:
        start -= timedelta(days=1)
    return start, start + timedelta(days=1)


def _spent_from_scratch(ledger: CallLedger, now: datetime) -> int:
    """The ledger's definition of spent, recounted over every call it keeps.

    A call counts in the day its answer's reset names (`quota_day_anchor`), as does
    the server's count.
    """
    start, end = _window_from_scratch(ledger, now)
    kept = [(seq, c.quota_day_anchor) for seq, _, c in ledger._calls]
    ours = sum(1 for _, t in kept if start <= t < end)
    server = ledger._server
    if server is None or not start <= server.anchor < end:
        return ours
    since = sum(1 for seq, t in kept if seq >= server.seq and start <= t < end)
    return max(ours, server.spent + since)


def _limit_from_scratch(ledger: CallLedger, now: datetime) -> int:
    """Ours, or the server's lower limit when it counted the quota day of `now`."""
    start, end = _window_from_scratch(ledger, now)
    server = ledger._server
    if server is None or not start <= server.anchor < end:
        return 1000
    return min(1000, server.limit)


ledger_event = st.tuples(
    st.sampled_from(["call", "call", "call", "call+quota", "quota", "query", "clear"]),
    st.one_of(st.floats(-600, 120), st.floats(0, 12 * 3600)),  # time step (s), may go back
    st.integers(0, 1000),  # remaining
    st.one_of(st.none(), st.floats(1, 86400)),  # reset_s
)


@settings(max_examples=150, deadline=None)
@given(events=st.lists(ledger_event, max_size=120), hour=st.integers(0, 23))
def test_ledger_running_count_equals_a_recount(
    events: list[tuple[str, float, int, float | None]], hour: int
) -> None:
    ledger = CallLedger(1000, hour)
    t = T0
    for kind, step_s, remaining, reset_s in events:
        t += timedelta(seconds=step_s)
        quota = Quota(900 if remaining % 3 == 0 else 1000, remaining, reset_s)
        if kind == "call":
            ledger.record(ApiCall(t, "D1", "currentstatecharge", 200, 0.1))
        elif kind == "call+quota":
            ledger.record(ApiCall(t, "D1", "intensity", 200, 0.1, quota))
        elif kind == "quota":
            ledger.observe(quota, t)
        elif kind == "clear":
            ledger.clear()
        for probe in (t, t - timedelta(hours=20), t + timedelta(hours=3)):
            assert ledger.window(probe) == _window_from_scratch(ledger, probe)
            assert ledger.spent(probe) == _spent_from_scratch(ledger, probe)
            limit = _limit_from_scratch(ledger, probe)
            assert ledger.left(probe) == max(0, limit - _spent_from_scratch(ledger, probe))
        if kind in ("call+quota", "quota") and ledger._server is not None:
            assert ledger._server.anchor == quota.day_anchor(t)  # the count's day


# ---- the current cell against a cached future curve -------------------------------


@settings(max_examples=300, deadline=None)
@given(
    devices=st.integers(1, 3),
    cells=st.integers(0, 40),
    d0=st.floats(1e-3, 300.0),
    budget=st.floats(0.0, 3000.0),
    data=st.data(),
)
def test_current_rates_equal_allocating_the_whole_grid(
    devices: int, cells: int, d0: float, budget: float, data: st.DataObject
) -> None:
    weight = st.one_of(st.just(0.0), st.floats(1e-4, 20.0))
    weights = np.array(
        data.draw(st.lists(weight, min_size=devices * (cells + 1), max_size=devices * (cells + 1)))
    ).reshape(devices, cells + 1)
    future_d = np.array(data.draw(st.lists(st.floats(1.0, 300.0), min_size=cells, max_size=cells)))
    durations = np.concatenate(([d0], future_d))
    expected = allocate_rates(weights, durations, budget, min_rate=MIN_RATE, max_rate=MAX_RATE)
    curve = SpendCurve.build(weights[:, 1:], future_d, min_rate=MIN_RATE, max_rate=MAX_RATE)
    got = current_rates(
        curve, weights[:, 0].tolist(), d0, budget, min_rate=MIN_RATE, max_rate=MAX_RATE
    )
    for row in range(devices):
        assert math.isclose(got[row], expected[row, 0], rel_tol=1e-9, abs_tol=1e-15), (row, got)


def _water_level_by_pieces(
    future: SpendCurve,
    weights_now: list[float],
    d0: float,
    budget: float,
    totals: dict[float, float],
) -> float:
    """`spend_curve._water_level` as first written (closures over `SpendCurve.piece`),
    kept as the reference the one-call-per-level version must equal to the bit."""
    now_cells = [(MIN_RATE / w, MAX_RATE / w, w) for w in weights_now if w > 0]
    floor_now = d0 * MIN_RATE * (len(weights_now) - len(now_cells))

    def piece(lam: float) -> tuple[float, float]:
        const, slope = future.piece(lam)
        const += floor_now
        for leave, cap, w in now_cells:
            if lam >= cap:
                const += d0 * MAX_RATE
            elif lam >= leave:
                slope += d0 * w
            else:
                const += d0 * MIN_RATE
        return const, slope

    def total(lam: float) -> float:
        value = totals.get(lam)
        if value is None:
            const, slope = piece(lam)
            value = totals[lam] = const + lam * slope
        return value

    future.solve()
    breaks = future.breaks
    lo_i, hi_i = 0, len(breaks)
    while lo_i < hi_i:
        mid = (lo_i + hi_i) // 2
        if total(breaks[mid]) <= budget:
            lo_i = mid + 1
        else:
            hi_i = mid
    k = lo_i - 1
    lo = breaks[k] if k >= 0 else -math.inf
    hi = breaks[k + 1] if k + 1 < len(breaks) else math.inf
    for b in sorted(x for leave, cap, _ in now_cells for x in (leave, cap)):
        if b <= lo:
            continue
        if b >= hi:
            break
        if total(b) <= budget:
            lo = b
        else:
            hi = b
            break
    if lo == -math.inf:
        return min([*breaks[:1], *(leave for leave, _, _ in now_cells)])
    const, slope = piece(lo)
    if slope <= 0:
        return lo
    if hi == math.inf:
        hi = lo
    return min((budget - const) / slope, hi)


@settings(max_examples=300, deadline=None)
@given(
    devices=st.integers(1, 3),
    cells=st.integers(0, 40),
    d0=st.floats(1e-3, 300.0),
    shares=st.lists(
        st.floats(0.0, 1.0, exclude_min=True, exclude_max=True), min_size=1, max_size=3
    ),
    data=st.data(),
)
def test_the_water_level_is_the_first_formulation_to_the_bit(
    devices: int, cells: int, d0: float, shares: list[float], data: st.DataObject
) -> None:
    """The level `current_rates` solves, and the spends it memoizes for the next ask at
    the same moment, are the closures-over-pieces formulation's, with `==` (several
    budgets in turn share one memo, as a read cycle's two asks do). Budgets between the
    floor and the ceiling (`shares` of the way), where `current_rates` solves a level."""
    weight = st.one_of(st.just(0.0), st.floats(1e-4, 20.0))
    weights = np.array(
        data.draw(st.lists(weight, min_size=devices * cells, max_size=devices * cells))
    ).reshape(devices, cells)
    future_d = np.array(data.draw(st.lists(st.floats(1.0, 300.0), min_size=cells, max_size=cells)))
    now = data.draw(st.lists(weight, min_size=devices, max_size=devices))
    curve = SpendCurve(weights, future_d, min_rate=MIN_RATE, max_rate=MAX_RATE)
    memo: dict[float, float] = {}
    memo_before: dict[float, float] = {}
    floor = MIN_RATE * (curve.duration_s + d0 * devices)
    ceiling = curve.ceiling_spend + d0 * sum(MAX_RATE if w > 0 else MIN_RATE for w in now)
    positive = curve.positive or any(w > 0 for w in now)
    for share in shares:
        budget = floor + share * (ceiling - floor)
        if not positive or not floor < budget < ceiling:
            continue  # `current_rates` answers these without a water level
        got = _water_level(curve, now, d0, budget, MIN_RATE, MAX_RATE, memo)
        assert got == _water_level_by_pieces(curve, now, d0, budget, memo_before)
        assert memo == memo_before
        assert _water_level(curve, now, d0, budget, MIN_RATE, MAX_RATE) == got


def test_spend_curve_is_the_spend_of_its_cells() -> None:
    rng = np.random.default_rng(7)
    weights = np.where(rng.random((2, 50)) < 0.3, 0.0, rng.random((2, 50)) * 8)
    durations = rng.uniform(10, 300, 50)
    curve = SpendCurve.build(weights, durations, min_rate=MIN_RATE, max_rate=MAX_RATE)
    for lam in [0.0, *np.geomspace(1e-6, 10, 40)]:
        direct = float((np.clip(lam * weights, MIN_RATE, MAX_RATE) * durations).sum())
        assert math.isclose(curve.spend(float(lam)), direct, rel_tol=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    devices=st.integers(1, 3),
    dark=st.integers(0, 12),
    dropped=st.integers(0, 12),
    cells=st.integers(0, 30),
    solved_first=st.booleans(),
    data=st.data(),
)
def test_curve_among_dark_cells_is_the_curve_built_again(
    devices: int, dark: int, dropped: int, cells: int, solved_first: bool, data: st.DataObject
) -> None:
    """Moving a curve past cells that all weigh 0 (`SpendCurve.among`) gives what building
    it from the remaining cells gives, to the bit: the same pieces and the same rates
    (the budget planner's night; the backtest's traces rely on it)."""
    dropped = min(dropped, dark)
    weight = st.one_of(st.just(0.0), st.floats(1e-4, 20.0))
    lit = np.array(
        data.draw(st.lists(weight, min_size=devices * cells, max_size=devices * cells))
    ).reshape(devices, cells)
    weights = np.concatenate((np.zeros((devices, dark)), lit), axis=1)
    durations = np.full(dark + cells, 300.0)
    if dark + cells:
        durations[-1] = data.draw(st.floats(1.0, 300.0))
    before = SpendCurve(weights, durations, min_rate=MIN_RATE, max_rate=MAX_RATE)
    if solved_first:
        before.solve()
    moved = before.among(durations[dropped:])
    built = SpendCurve(
        weights[:, dropped:], durations[dropped:], min_rate=MIN_RATE, max_rate=MAX_RATE
    )
    for curve in (moved, built):
        curve.solve()
    fields = ("duration_s", "floor_spend", "ceiling_spend", "breaks", "positive", "rows")
    assert [getattr(moved, f) for f in fields] == [getattr(built, f) for f in fields]
    for lam in (0.0, *(b for b in built.breaks), 1e-3, 1.0):
        assert moved.piece(lam) == built.piece(lam)
    now = data.draw(st.lists(weight, min_size=devices, max_size=devices))
    budget = data.draw(st.floats(0.0, 3000.0))
    rates = [
        current_rates(c, now, 120.0, budget, min_rate=MIN_RATE, max_rate=MAX_RATE)
        for c in (moved, built)
    ]
    assert rates[0] == rates[1]


# ---- the planner's interval against the full grid ----------------------------------


def _interval_from_scratch(planner: BudgetPlanner, now: datetime, device: str) -> float | None:
    """`read_interval_s` as the whole rest-of-day allocation gives it."""
    if planner.reads_left(now) < 1:
        return None
    grid = planner._allocate(now, planner._contexts)
    rate = float(grid.rates[grid.device_ids.index(device), 0])
    return 1.0 / rate if rate > 0 else None


planner_event = st.tuples(
    st.sampled_from(["ask", "ask", "ask", "call", "call", "header", "plug", "sky"]),
    st.one_of(st.floats(0, 120), st.floats(120, 3 * 3600)),  # time step (s)
    st.integers(0, 2),  # device
    st.integers(0, 1000),  # header remaining / plug state / sky
)


def _pv(t: datetime) -> float:
    """A clear-sky-shaped PV profile (W), sun from 4:00 to 20:00 UTC."""
    hours = t.hour + t.minute / 60 + t.second / 3600
    return max(0.0, 7000.0 * math.sin(math.pi * (hours - 4) / 16))


@settings(max_examples=120, deadline=None)
@given(
    events=st.lists(planner_event, min_size=1, max_size=80),
    devices=st.integers(1, 3),
    no_car_weight=st.sampled_from([0.0, 0.2]),
    limit=st.sampled_from([60, 1000]),
)
def test_planner_interval_equals_the_full_allocation(
    events: list[tuple[str, float, int, int]],
    devices: int,
    no_car_weight: float,
    limit: int,
) -> None:
    config = BudgetConfig(daily_limit=limit, reserve=10, no_car_weight=no_car_weight)
    planner = BudgetPlanner(config, devices=devices, pv_profile=_pv)
    ids = [f"D{i}" for i in range(devices)]
    plugged: dict[str, bool | None] = dict.fromkeys(ids)
    sky = 0.3
    t = T0
    for kind, step_s, which, value in events:
        t += timedelta(seconds=step_s)
        device = ids[which % devices]
        if kind == "call":
            planner.record_call(ApiCall(t, device, "currentstatecharge", 200, 0.1))
        elif kind == "header":  # the server's count, often not ours: re-plan at once
            planner.observe_quota(Quota(limit, min(value, limit), None), t)
        elif kind == "plug":
            plugged[device] = [True, False, None][value % 3]
        elif kind == "sky":
            sky = value / 1000
        ctx = ReadContext(device, plugged[device], False, _pv(t) * (1 - sky / 2), sky, None)
        got = planner.read_interval_s(t, ctx)
        expected = _interval_from_scratch(planner, t, device)
        if expected is None:
            assert got is None
        else:
            assert got is not None and math.isclose(got, expected, rel_tol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    events=st.lists(planner_event, min_size=1, max_size=40),
    devices=st.integers(1, 2),
    limit=st.sampled_from([60, 1000]),
)
def test_planner_day_caches_give_what_a_fresh_planner_gives(
    events: list[tuple[str, float, int, int]],
    devices: int,
    limit: int,
) -> None:
    """The quota day's PV and weights, kept across cells and cycles, are exactly what a
    planner that never saw an earlier moment computes (the backtest's traces rely on it):
    the same interval to the last bit, across cells, plug changes and day rolls."""
    config = BudgetConfig(daily_limit=limit, reserve=10, no_car_weight=0.2)
    planner = BudgetPlanner(config, devices=devices, pv_profile=_pv)
    ids = [f"D{i}" for i in range(devices)]
    plugged: dict[str, bool | None] = dict.fromkeys(ids)
    history: list[tuple[str, object, datetime]] = []
    t = T0
    for kind, step_s, which, value in events:
        t += timedelta(seconds=step_s)
        device = ids[which % devices]
        if kind == "call":
            call = ApiCall(t, device, "currentstatecharge", 200, 0.1)
            planner.record_call(call)
            history.append(("call", call, t))
        elif kind == "header":
            quota = Quota(limit, min(value, limit), None)
            planner.observe_quota(quota, t)
            history.append(("header", quota, t))
        elif kind == "plug":
            plugged[device] = [True, False, None][value % 3]
        ctx = ReadContext(device, plugged[device], False, _pv(t) * 0.8, 0.3, None)
        got = planner.read_interval_s(t, ctx)
        fresh = BudgetPlanner(config, devices=devices, pv_profile=_pv)
        for what, item, at in history:
            if what == "call":
                assert isinstance(item, ApiCall)
                fresh.record_call(item)
            else:
                assert isinstance(item, Quota)
                fresh.observe_quota(item, at)
        for seen in planner._contexts.values():  # every device's last context, in order
            fresh.read_interval_s(t, seen)
        assert fresh.read_interval_s(t, ctx) == got


def test_two_chargers_asking_at_the_same_moment_get_their_own_interval() -> None:
    """The planner's per-moment cache is per device: the second charger's answer is not
    handed back to the first when both ask at the same moment with the same contexts."""
    config = BudgetConfig(daily_limit=1000, reserve=10, no_car_weight=0.2)
    planner = BudgetPlanner(config, devices=2, pv_profile=_pv)
    t = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
    sunny = ReadContext("D0", True, False, 5000.0, 0.8, None)
    dark = ReadContext("D1", False, False, 0.0, 0.0, None)
    planner.read_interval_s(t, sunny)
    d1 = planner.read_interval_s(t, dark)
    d0 = planner.read_interval_s(t, sunny)  # the contexts are the same as at D1's ask
    assert d0 == _interval_from_scratch(planner, t, "D0")
    assert d1 == _interval_from_scratch(planner, t, "D1")
    assert d0 != d1


@settings(max_examples=80, deadline=None)
@given(
    calls=st.lists(st.integers(0, 3), min_size=1, max_size=6),
    hour=st.floats(0.0, 23.9),
    plugged=st.sampled_from([True, False, None]),
    sky=st.floats(0.0, 1.0),
    limit=st.sampled_from([40, 200, 1000]),
    devices=st.integers(1, 2),
)
def test_asking_again_at_the_same_moment_after_calls_equals_a_fresh_planner(
    calls: list[int],
    hour: float,
    plugged: bool | None,
    sky: float,
    limit: int,
    devices: int,
) -> None:
    """A read cycle asks before its read and again after it at the same moment: the
    second answer reuses the moment's curve, weights and the spends its water level
    tried, and must still be, to the bit, what a planner asked only then gives."""
    config = BudgetConfig(daily_limit=limit, reserve=10, no_car_weight=0.2)
    planner = BudgetPlanner(config, devices=devices, pv_profile=_pv)
    t = T0.replace(hour=0) + timedelta(days=1, hours=hour)
    ctx = ReadContext("D0", plugged, False, _pv(t) * (1 - sky / 2), sky, None)
    history: list[ApiCall] = []
    planner.read_interval_s(t, ctx)
    for n in calls:
        for _ in range(n * 7):
            call = ApiCall(t, "D0", "currentstatecharge", 200, 0.1)
            planner.record_call(call)
            history.append(call)
        got = planner.read_interval_s(t, ctx)
        fresh = BudgetPlanner(config, devices=devices, pv_profile=_pv)
        for call in history:
            fresh.record_call(call)
        assert fresh.read_interval_s(t, ctx) == got


# ---- the planner's future curves from the day's counts --------------------------------

CURVE_FIELDS = ("duration_s", "floor_spend", "ceiling_spend", "positive", "rows")


@settings(max_examples=200, deadline=None)
@given(
    devices=st.integers(1, 3),
    cells=st.integers(1, 40),
    last=st.integers(1, 300),
    solved=st.booleans(),
    data=st.data(),
)
def test_a_curve_of_whole_seconds_is_the_constructed_curve(
    devices: int, cells: int, last: int, solved: bool, data: st.DataObject
) -> None:
    """`SpendCurve.of_whole_seconds` with the sums counted in integers is, to the bit,
    the curve the constructor sums itself (spans, breakpoints, pieces, a move past dark
    cells), whether or not it was solved first."""
    weight = st.one_of(st.just(0.0), st.floats(1e-4, 20.0))
    weights = np.array(
        data.draw(st.lists(weight, min_size=devices * cells, max_size=devices * cells))
    ).reshape(devices, cells)
    durations = np.full(cells, 300.0)
    durations[-1] = last
    whole = [300] * (cells - 1) + [last]
    positive_s = sum(d for row in weights for w, d in zip(row, whole, strict=True) if w > 0)
    built = SpendCurve(weights, durations, min_rate=MIN_RATE, max_rate=MAX_RATE)
    counted = SpendCurve.of_whole_seconds(
        weights,
        durations,
        duration_s=float(devices * sum(whole)),
        positive_s=float(positive_s),
        min_rate=MIN_RATE,
        max_rate=MAX_RATE,
    )
    assert _fields(counted) == _fields(built)
    if solved:
        counted.solve()
    dark = int(np.flatnonzero((weights > 0).any(axis=0))[0]) if counted.positive else cells
    moved, moved_built = counted.among(durations[dark:]), built.among(durations[dark:])
    for a, b in ((counted, built), (moved, moved_built)):
        a.solve()
        b.solve()
        assert [getattr(a, f) for f in (*CURVE_FIELDS, "breaks")] == [
            getattr(b, f) for f in (*CURVE_FIELDS, "breaks")
        ]
        for lam in (0.0, *b.breaks, 1e-3, 1.0):
            assert a.piece(lam) == b.piece(lam)


@pytest.mark.parametrize("hour", [0.0, 5.5, 13.25])
@pytest.mark.parametrize("plugged", [True, False])
def test_the_planners_future_curves_are_the_constructed_ones(hour: float, plugged: bool) -> None:
    """Through a quota day of moments the planner's curve of the future cells (built from
    the day's counts of positive weights, never summing the cells) equals the curve the
    constructor builds from the same cells, field by field and piece by piece."""
    config = BudgetConfig(daily_limit=1000, reserve=10, no_car_weight=0.2)
    planner = BudgetPlanner(config, pv_profile=_pv)
    t = T0.replace(hour=0) + timedelta(days=1, hours=hour)
    for _ in range(60):
        ctx = ReadContext("D0", plugged, False, _pv(t), 0.3, None)
        planner.read_interval_s(t, ctx)
        moment = planner._moment
        assert moment is not None
        tail0 = min(to_us(_first_edge(t)), moment.end)
        plug = (1.0 if plugged else 0.2,)
        weights, durations = planner._future_weights(tail0, moment.end, plug)
        built = SpendCurve(weights, durations, min_rate=config.min_rate, max_rate=config.max_rate)
        curve = moment.curve
        assert [getattr(curve, f) for f in CURVE_FIELDS] == [
            getattr(built, f) for f in CURVE_FIELDS
        ]
        assert moment.seconds - moment.d0 == float(durations.sum())
        curve.solve()
        built.solve()
        assert curve.breaks == built.breaks
        assert [curve.piece(b) for b in built.breaks] == [built.piece(b) for b in built.breaks]
        t += timedelta(minutes=7, seconds=13)


def test_a_day_of_moments_sums_no_future_cells_again() -> None:
    """The planner builds each new cell's curve from the day's counts: the constructor,
    which sums the cells, runs for none of them (it did for every cell before)."""
    config = BudgetConfig(daily_limit=1000, reserve=10)
    planner = BudgetPlanner(config, pv_profile=_pv)
    built: list[int] = []
    original = SpendCurve.__init__

    def counting(self: SpendCurve, *args: object, **kwargs: object) -> None:
        built.append(1)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    t = T0.replace(hour=0) + timedelta(days=1, hours=6)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SpendCurve, "__init__", counting)
        for _ in range(40):
            planner.read_interval_s(t, ReadContext("D0", True, False, _pv(t), 0.3, None))
            t += timedelta(minutes=5)
    assert built == []


def _fields(curve: SpendCurve) -> list[object]:
    return [getattr(curve, f) for f in CURVE_FIELDS]


def _first_edge(t: datetime) -> datetime:
    """The first 300 s grid edge after `t` (UTC epoch grid)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + timedelta(seconds=300) * ((t - epoch) // timedelta(seconds=300) + 1)

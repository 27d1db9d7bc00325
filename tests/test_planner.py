"""The call-budget planner: allocation, reserve, server headers, day roll, baselines."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from optimizer.budget import (
    BudgetConfig,
    BudgetConfigError,
    BudgetPlanner,
    FixedIntervalSchedule,
    ReadContext,
    ReadScheduler,
    allocate_rates,
)
from optimizer.interfaces import ApiCall, Quota
from tests.conftest import sunny_pv

DAY0 = datetime(2026, 6, 21, tzinfo=UTC)
NOON = DAY0 + timedelta(hours=12)
NIGHT = DAY0 + timedelta(hours=2)


def ctx(
    t: datetime,
    *,
    device: str = "A",
    plugged: bool | None = True,
    variability: float = 0.3,
    last_read: datetime | None = None,
) -> ReadContext:
    return ReadContext(device, plugged, bool(plugged), sunny_pv(t), variability, last_read)


def read(at: datetime, device: str | None = "A", status: int | None = 200) -> ApiCall:
    return ApiCall(at, device, "currentstatecharge", status, 0.1)


def spend(planner: BudgetPlanner, at: datetime, n: int, endpoint: str = "intensity") -> None:
    for _ in range(n):
        planner.record_call(ApiCall(at, "A", endpoint, 200, 0.1))


def run_day(
    planner: ReadScheduler,
    start: datetime,
    contexts: dict[str, tuple[bool | None, float]],
    hours: float = 24.0,
    cycle_s: float = 10.0,
) -> Counter[tuple[str, int]]:
    """A controller loop: wake at the earliest next_read_at (cycles of >= cycle_s), read when due.

    `contexts` maps device -> (plugged, variability). Returns reads per (device, hour).
    """
    now, end = start, start + timedelta(hours=hours)
    last: dict[str, datetime | None] = dict.fromkeys(contexts)
    reads: Counter[tuple[str, int]] = Counter()
    while now < end:
        wake = end
        for device, (plugged, var) in contexts.items():
            c = ReadContext(device, plugged, bool(plugged), sunny_pv(now), var, last[device])
            if planner.read_due(now, c):
                planner.record_call(read(now, device))
                last[device] = now
                reads[device, now.hour] += 1
                c = ReadContext(device, plugged, bool(plugged), sunny_pv(now), var, now)
            wake = min(wake, planner.next_read_at(now, c))
        now = max(wake, now + timedelta(seconds=cycle_s))
    return reads


# ---- config -----------------------------------------------------------------


def test_config_errors_are_one_line_and_name_the_key() -> None:
    with pytest.raises(BudgetConfigError, match=r"^budget\.reserve: .*greater than or equal to 0"):
        BudgetConfig.parse({"reserve": -1})
    with pytest.raises(BudgetConfigError, match=r"^budget\.colour: Extra inputs"):
        BudgetConfig.parse({"colour": "red"})
    with pytest.raises(BudgetConfigError, match=r"reserve \(1000\) must be less than daily_limit"):
        BudgetConfig.parse({"reserve": 1000})
    with pytest.raises(BudgetConfigError) as err:
        BudgetConfig.parse({"min_read_interval_s": 60, "max_read_interval_s": 30})
    assert "\n" not in str(err.value)
    assert BudgetConfig.parse({"daily_limit": 500}).read_budget == 400


# ---- allocation -----------------------------------------------------------------


def test_allocation_spends_the_budget_in_proportion_to_weight() -> None:
    weights = np.array([[0.0, 1.0, 2.0, 4.0]])
    durations = np.full(4, 3600.0)
    rates = allocate_rates(weights, durations, 40.0, min_rate=1 / 1800, max_rate=1 / 30)
    assert float((rates * durations).sum()) == pytest.approx(40.0, rel=1e-6)
    assert rates[0, 0] == pytest.approx(1 / 1800)  # floor where nothing is worth reading
    assert rates[0, 3] / rates[0, 2] == pytest.approx(2.0)  # proportional where not clipped
    poor = allocate_rates(weights, durations, 1.0, min_rate=1 / 1800, max_rate=1 / 30)
    assert np.allclose(poor, 1.0 / (4 * 3600))  # below the floor: spread evenly, never more
    rich = allocate_rates(weights, durations, 1e6, min_rate=1 / 1800, max_rate=1 / 30)
    assert rich[0, 3] == pytest.approx(1 / 30) and rich[0, 0] == pytest.approx(1 / 1800)


def test_more_reads_with_car_sun_and_broken_clouds_than_at_night_without_car() -> None:
    planner = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    spend(planner, NOON, 600, "currentstatecharge")  # so the 30 s ceiling does not bind
    busy = planner.read_interval_s(NOON, ctx(NOON, variability=0.9))
    steady = planner.read_interval_s(NOON, ctx(NOON, variability=0.0))
    idle = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    night = idle.read_interval_s(NIGHT, ctx(NIGHT, plugged=False))
    no_car_noon = idle.read_interval_s(NOON, ctx(NOON, plugged=False))
    assert busy is not None and steady is not None and night is not None
    assert busy < steady < night
    assert night == pytest.approx(1800.0)
    assert no_car_noon == pytest.approx(1800.0)
    assert busy >= 30.0


def test_full_sunny_day_with_a_car_spends_most_of_the_read_budget_and_never_more() -> None:
    cfg = BudgetConfig()
    planner = BudgetPlanner(cfg, pv_profile=sunny_pv)
    reads = run_day(planner, DAY0, {"A": (True, 0.3)})
    total = sum(reads.values())
    assert 0.6 * cfg.read_budget <= total <= cfg.read_budget
    assert planner.spent(DAY0 + timedelta(hours=23)) == total
    assert reads["A", 12] > 10 * reads["A", 3]
    assert reads["A", 3] == 2  # night: at max_read_interval_s (every 30 min)
    assert not planner.nearly_out(DAY0 + timedelta(hours=23, minutes=59))


def test_devices_share_the_account_budget_by_weight() -> None:
    cfg = BudgetConfig()
    planner = BudgetPlanner(cfg, devices=2, pv_profile=sunny_pv)
    reads = run_day(planner, DAY0, {"A": (True, 0.5), "B": (False, 0.5)})
    a = sum(n for (d, _), n in reads.items() if d == "A")
    b = sum(n for (d, _), n in reads.items() if d == "B")
    assert a + b <= cfg.read_budget
    assert 48 <= b <= 51  # no car: every 30 min all day (less the 5 % due slack)
    assert a > 10 * b


# ---- reserve, headers, exhaustion ------------------------------------------------


def test_reads_alone_never_dip_into_the_reserve() -> None:
    cfg = BudgetConfig(daily_limit=200, reserve=50, min_read_interval_s=1, handover_remaining=0)
    planner = BudgetPlanner(cfg, devices=3, pv_profile=sunny_pv)
    # Three cars, all day: far more worth reading than the budget pays for.
    reads = run_day(planner, DAY0, {d: (True, 1.0) for d in "ABC"}, cycle_s=1)
    end = DAY0 + timedelta(hours=23, minutes=59, seconds=59)
    assert cfg.read_budget - 3 <= sum(reads.values()) <= cfg.read_budget
    assert planner.remaining(end) >= cfg.reserve
    spend(planner, end, cfg.read_budget - sum(reads.values()), "currentstatecharge")
    assert not planner.read_due(end, ctx(end, last_read=DAY0))
    assert planner.can_write(end, cfg.reserve) and not planner.can_write(end, cfg.reserve + 1)


def test_header_saying_fewer_remain_stretches_the_interval_at_once() -> None:
    planner = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    spend(planner, NOON, 100, "currentstatecharge")
    before = planner.read_interval_s(NOON, ctx(NOON))
    # The user's app spent 500 calls we did not see: the server says 400 remain, not 900.
    planner.observe_quota(Quota(limit=1000, remaining=400, reset_s=None), NOON)
    after = planner.read_interval_s(NOON, ctx(NOON))
    assert before is not None and after is not None
    assert planner.spent(NOON) == 600
    assert after > 1.5 * before
    # Reads we make afterwards add to the server's count.
    spend(planner, NOON, 10, "currentstatecharge")
    assert planner.spent(NOON) == 610
    # The latest header is followed, but never below our own ledger (110 calls).
    planner.observe_quota(Quota(limit=1000, remaining=990), NOON)
    assert planner.spent(NOON) == 110


def test_quota_inside_the_call_counts_that_call_once() -> None:
    planner = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    for i in range(5):
        q = Quota(1000, 1000 - 3 - (i + 1))  # 3 calls from elsewhere
        planner.record_call(ApiCall(NOON, "A", "currentstatecharge", 200, 0.1, q))
    assert planner.spent(NOON) == 8


def test_failed_calls_count_as_spent() -> None:
    planner = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    for status in (200, 503, None, 500):
        planner.record_call(read(NOON, status=status))
    assert planner.spent(NOON) == 4


def test_never_call_1001() -> None:
    planner = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    spend(planner, NOON, 999)
    assert planner.can_write(NOON) and not planner.can_write(NOON, 2)
    spend(planner, NOON, 1)
    assert not planner.can_write(NOON)
    assert not planner.read_due(NOON, ctx(NOON))
    assert planner.remaining(NOON) == 0


def test_429_blocks_every_call_until_the_reset() -> None:
    planner = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    planner.record_call(ApiCall(NOON, "A", "intensity", 429, 0.1, Quota(1000, 0, 3600)))
    later = NOON + timedelta(minutes=30)
    assert not planner.can_write(later) and not planner.read_due(later, ctx(later))
    assert planner.next_read_at(later, ctx(later)) == NOON + timedelta(hours=1)
    assert planner.nearly_out(later)
    after = NOON + timedelta(hours=1, seconds=1)
    assert planner.can_write(after) and planner.read_due(after, ctx(after))


def test_remaining_zero_without_reset_blocks_until_the_day_ends() -> None:
    planner = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    planner.observe_quota(Quota(1000, 0), NOON)
    assert planner.remaining(NOON + timedelta(hours=11)) == 0
    assert planner.can_write(DAY0 + timedelta(days=1, seconds=1))


def test_nearly_out_hands_over_when_reads_eat_into_the_margin() -> None:
    cfg = BudgetConfig(handover_remaining=20)
    planner = BudgetPlanner(cfg, pv_profile=sunny_pv)
    spend(planner, NOON, cfg.read_budget - 20)
    assert not planner.nearly_out(NOON)
    spend(planner, NOON, 1)
    assert planner.nearly_out(NOON)
    # The margin still pays floor reads to notice changes, and the reserve pays the handover.
    interval = planner.read_interval_s(NOON, ctx(NOON))
    assert interval is not None and interval >= cfg.max_read_interval_s
    assert planner.can_write(NOON, cfg.reserve)


# ---- days and restarts --------------------------------------------------------


def test_day_roll_resets_the_ledger() -> None:
    planner = BudgetPlanner(BudgetConfig(day_start_utc_hour=2), pv_profile=sunny_pv)
    late = DAY0 + timedelta(hours=25, minutes=59)  # 01:59 next day: still the old quota day
    spend(planner, DAY0 + timedelta(hours=20), 1000)
    assert planner.remaining(late) == 0
    rolled = DAY0 + timedelta(hours=26)
    assert planner.spent(rolled) == 0 and planner.remaining(rolled) == 1000
    assert planner.read_due(rolled, ctx(rolled, last_read=DAY0 + timedelta(hours=20)))
    assert planner.next_read_at(late, ctx(late, last_read=late)) == rolled


def test_boundary_is_learned_from_ratelimit_reset() -> None:
    planner = BudgetPlanner(BudgetConfig(day_start_utc_hour=0), pv_profile=sunny_pv)
    spend(planner, NOON, 10)
    planner.record_call(ApiCall(NOON, "A", "intensity", 200, 0.1, Quota(1000, 900, 5 * 3600)))
    assert planner.ledger.window(NOON)[0] == DAY0 + timedelta(hours=-7)
    assert planner.spent(DAY0 + timedelta(hours=16, minutes=59)) == 100
    assert planner.spent(DAY0 + timedelta(hours=17)) == 0
    plan = planner.plan(NOON.date(), now=NOON)
    assert "RateLimit-Reset" in plan.summary()


def test_restore_rebuilds_the_ledger_after_a_restart() -> None:
    calls = [read(NOON - timedelta(minutes=i + 1)) for i in range(30)]
    calls.append(ApiCall(NOON, "A", "intensity", 200, 0.1, Quota(1000, 900)))
    calls.append(read(DAY0 - timedelta(hours=3)))  # yesterday: not in today's quota day
    planner = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    planner.restore(reversed(calls), NOON)
    assert planner.spent(NOON) == 100  # the server's count beats our 31
    fresh = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    fresh.restore([c for c in calls if c.quota is None], NOON)
    assert fresh.spent(NOON) == 30


def answered(our_time: datetime, server_time: datetime, remaining: int = 900) -> ApiCall:
    """A read stamped `our_time` whose answer came from a server whose clock read `server_time`.

    The server's day ends at its next UTC midnight: `RateLimit-Reset` counts down to it.
    """
    server_midnight = datetime.combine(server_time.date(), datetime.min.time(), UTC)
    reset_s = (server_midnight + timedelta(days=1) - server_time).total_seconds()
    return ApiCall(our_time, "A", "currentstatecharge", 200, 0.1, Quota(1000, remaining, reset_s))


@pytest.mark.parametrize("skew", [timedelta(seconds=20), timedelta(seconds=-150)])
def test_a_call_counts_in_the_servers_day_not_in_the_day_our_clock_says(
    skew: timedelta,
) -> None:
    """Our clock `skew` off the server's: each call lands in the day the server counted it in."""
    planner = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    day1 = DAY0 + timedelta(days=1)
    server_times = [day1 + timedelta(seconds=s) for s in range(-300, 300, 10)]
    before = sum(t < day1 for t in server_times)
    for n, server_time in enumerate(server_times):
        counted = n + 1 if n < before else n + 1 - before  # the server's count of its day
        planner.record_call(answered(server_time + skew, server_time, remaining=1000 - counted))
    ledger = planner.ledger
    assert len(ledger.calls(NOON)) == before
    assert len(ledger.calls(NOON + timedelta(days=1))) == len(server_times) - before
    first_day = ledger.window(NOON)[0].date()  # the day the first window starts on
    assert planner.plan(first_day, {}, now=day1 + timedelta(hours=1)).spent == before
    assert planner.spent(day1 + timedelta(hours=1)) == len(server_times) - before


def test_a_call_without_an_answer_counts_in_the_learned_window() -> None:
    planner = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    skew = timedelta(minutes=-3)  # our clock behind: the server's day starts at our 23:57
    day1 = DAY0 + timedelta(days=1)
    planner.record_call(answered(NOON + skew, NOON))
    assert planner.ledger.window(NOON)[1] == day1 + skew
    lost = read(day1 + skew + timedelta(seconds=30), status=None)  # a timeout at our 23:57:30
    planner.record_call(lost)
    assert planner.ledger.window_of(lost) == (day1 + skew, day1 + skew + timedelta(days=1))
    assert planner.spent(day1) == 1


def test_naive_times_are_rejected_with_a_clear_message() -> None:
    planner = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    with pytest.raises(ValueError, match="timezone-aware"):
        planner.record_call(read(datetime(2026, 6, 21, 12)))


# ---- the explainable plan ----------------------------------------------------


def test_plan_lists_todays_reads_with_reasons_and_the_spend() -> None:
    planner = BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv)
    spend(planner, DAY0 + timedelta(hours=7), 40, "currentstatecharge")
    at = DAY0 + timedelta(hours=8)
    planner.read_due(at, ctx(at, device="A", last_read=at))
    planner.read_due(at, ctx(at, device="B", plugged=False, last_read=at))
    plan = planner.plan(at.date(), now=at)
    assert plan.spent == 40 and plan.reads_left == 860
    assert 0.6 * 860 <= plan.planned_reads <= 860
    times = [s.time for s in plan.slots]
    assert times == sorted(times) and times[0] >= at and times[-1] < plan.window_end
    noon_a = [s for s in plan.slots if s.device_id == "A" and s.time.hour == 12]
    assert noon_a and all("car plugged" in s.reason for s in noon_a)
    assert all("no car" in s.reason for s in plan.slots if s.device_id == "B")
    text = plan.summary()
    assert "Spent 40 of 1000" in text and "currentstatecharge 40" in text
    assert "12:00" in text
    past = planner.plan((DAY0 - timedelta(days=1)).date(), now=at)
    assert past.planned_reads == 0 and past.spent == 0
    future = planner.plan((DAY0 + timedelta(days=1)).date(), now=at)
    assert future.spent == 0 and future.as_of == future.window_start


# ---- baselines ---------------------------------------------------------------


def test_fixed_interval_reads_blindly_unless_held_to_a_limit() -> None:
    evcc = FixedIntervalSchedule(30)
    reads = run_day(evcc, DAY0, {"A": (True, 0.3)}, hours=24, cycle_s=1)
    assert sum(reads.values()) == 2880
    held = FixedIntervalSchedule(60, daily_limit=1000)
    reads = run_day(held, DAY0, {"A": (True, 0.3)}, hours=24, cycle_s=1)
    assert sum(reads.values()) == 1000
    assert held.nearly_out(DAY0 + timedelta(hours=23)) and not held.can_write(DAY0)
    assert held.can_write(DAY0 + timedelta(days=1))
    never = FixedIntervalSchedule.never()
    assert not never.read_due(NOON, ctx(NOON))
    assert never.next_read_at(NOON, ctx(NOON)) == DAY0 + timedelta(days=1)
    assert isinstance(never, ReadScheduler) and isinstance(
        BudgetPlanner(BudgetConfig(), pv_profile=sunny_pv), ReadScheduler
    )


def test_fixed_interval_stops_after_429() -> None:
    schedule = FixedIntervalSchedule(30)
    schedule.record_call(ApiCall(NOON, "A", "currentstatecharge", 429, 0.1))
    assert not schedule.read_due(NOON + timedelta(hours=1), ctx(NOON, last_read=NOON))
    assert schedule.next_read_at(NOON, ctx(NOON)) == DAY0 + timedelta(days=1)

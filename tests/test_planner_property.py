"""Property: under any sequence of events the planner never spends past the daily limit.

A simulated controller loop drives the planner honestly (a call is made only
when `read_due` / `can_write` said yes) against a simulated cloud that counts
per its own quota day, answers with RateLimit headers, 429s past the limit, and
is also used by the user's own app. Days roll, calls fail, the daemon restarts
and rebuilds its ledger from the stored calls, and stray quota observations
disagree with our count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.budget import BudgetConfig, BudgetPlanner, ReadContext
from optimizer.interfaces import ApiCall, Quota
from tests.conftest import sunny_pv

T0 = datetime(2026, 3, 28, 21, 30, tzinfo=UTC)


@dataclass
class Cloud:
    """The V2C cloud's quota counter, with its own day boundary."""

    limit: int
    boundary_hour: int
    send_reset: bool
    count: Counter[datetime] = field(default_factory=Counter)

    def window(self, t: datetime) -> datetime:
        start = t.replace(hour=self.boundary_hour, minute=0, second=0, microsecond=0)
        return start if start <= t else start - timedelta(days=1)

    def quota(self, t: datetime) -> Quota:
        reset = (self.window(t) + timedelta(days=1) - t).total_seconds()
        remaining = max(0, self.limit - self.count[self.window(t)])
        return Quota(self.limit, remaining, reset if self.send_reset else None)

    def answer(self, t: datetime, outcome: int) -> tuple[int | None, Quota | None]:
        """Status and headers for one of our calls; `outcome` picks ok / 503 / timeout."""
        if self.count[self.window(t)] >= self.limit:
            return 429, (self.quota(t) if self.send_reset else None)
        status = [200, 200, 503, None][outcome % 4]
        if status == 200 or outcome % 8 >= 4:  # failures are sometimes counted too
            self.count[self.window(t)] += 1
        return status, (self.quota(t) if status == 200 else None)


event = st.tuples(
    st.sampled_from(["cycle", "cycle", "cycle", "writes", "external", "restart", "quota"]),
    st.one_of(st.floats(0, 90), st.floats(90, 4 * 3600)),
    st.integers(0, 10_000),
)


@settings(max_examples=int(__import__("os").environ.get("BUDGET_EXAMPLES", "150")), deadline=None)
@given(
    limit=st.integers(3, 60),
    reserve_frac=st.floats(0, 0.9),
    boundary_hour=st.integers(0, 23),
    config_knows_boundary=st.booleans(),
    min_interval=st.floats(1, 900),
    spread=st.floats(1, 20),
    handover=st.integers(0, 10),
    devices=st.integers(1, 3),
    events=st.lists(event, min_size=1, max_size=250),
)
def test_never_more_calls_than_the_daily_limit(
    limit: int,
    reserve_frac: float,
    boundary_hour: int,
    config_knows_boundary: bool,
    min_interval: float,
    spread: float,
    handover: int,
    devices: int,
    events: list[tuple[str, float, int]],
) -> None:
    reserve = min(limit - 1, int(limit * reserve_frac))
    config = BudgetConfig(
        daily_limit=limit,
        reserve=reserve,
        day_start_utc_hour=boundary_hour if config_knows_boundary else (boundary_hour + 7) % 24,
        min_read_interval_s=min_interval,
        max_read_interval_s=min_interval * spread,
        handover_remaining=handover,
    )
    # When our config has the boundary wrong, the cloud's RateLimit-Reset must teach it.
    cloud = Cloud(limit, boundary_hour, send_reset=not config_knows_boundary)
    planner = BudgetPlanner(config, devices=devices, pv_profile=sunny_pv)
    stored: list[ApiCall] = []
    ours: Counter[datetime] = Counter()
    reads: Counter[datetime] = Counter()
    exhausted: set[datetime] = set()  # cloud windows in which we were told: no more
    told_standalone: set[datetime] = set()  # same, by a lone header (forgotten on restart)
    last_read: dict[str, datetime] = {}
    now = T0

    def call(device: str | None, endpoint: str, outcome: int) -> None:
        window = cloud.window(now)
        assert window not in exhausted, f"call at {now} after the cloud said no more"
        assert window not in told_standalone, f"call at {now} after remaining=0"
        ours[window] += 1
        assert ours[window] <= limit, f"call {ours[window]} in the quota day of {window}"
        status, quota = cloud.answer(now, outcome)
        record = ApiCall(now, device, endpoint, status, 0.2, quota)
        planner.record_call(record)
        stored.append(
            record
            if not config_knows_boundary or outcome % 3
            else ApiCall(now, device, endpoint, status, 0.2)
        )  # store may drop headers
        if status == 429 or (quota is not None and quota.remaining == 0):
            exhausted.add(window)

    if planner.can_write(now):
        call(None, "version", 0)  # the daemon's first answer teaches the boundary
    for kind, dt, p in events:
        now += timedelta(seconds=dt)
        if kind == "cycle":
            for d in range(devices):
                device = f"D{d}"
                ctx = ReadContext(
                    device_id=device,
                    plugged_in=[True, False, None][(p + d) % 3],
                    charging=p % 2 == 0,
                    pv_expected_w=float((p * 37 + d) % 6000) * (now.hour % 24 in range(6, 20)),
                    variability=(p % 11) / 10,
                    last_read=last_read.get(device),
                )
                if planner.read_due(now, ctx):
                    assert planner.next_read_at(now, ctx) <= now + timedelta(seconds=1e-3)
                    call(device, "currentstatecharge", p + d)
                    reads[cloud.window(now)] += 1
                    assert reads[cloud.window(now)] <= limit - reserve, "reads ate the reserve"
                    last_read[device] = now
                assert planner.next_read_at(now, ctx) >= now
        elif kind == "writes":
            n = 1 + p % 3
            if planner.can_write(now, n):
                for i in range(n):
                    if cloud.window(now) in exhausted:
                        break  # the controller stops on ChargerRateLimited
                    call("D0", "intensity", p + i)
        elif kind == "external":
            window = cloud.window(now)
            cloud.count[window] = min(limit, cloud.count[window] + p % (limit + 1))
        elif kind == "restart":
            planner = BudgetPlanner(config, devices=devices, pv_profile=sunny_pv)
            planner.restore(stored, now)
            told_standalone.clear()
            # After a restart the planner knows only what the store kept: a "no more"
            # whose headers the store dropped is forgotten (a 429 status never is).
            exhausted = {
                cloud.window(c.time)
                for c in stored
                if c.status == 429 or (c.quota is not None and c.quota.remaining == 0)
            }
        elif kind == "quota":
            honest = cloud.quota(now)
            stray = Quota(limit, p % (limit + 1), honest.reset_s)
            planner.observe_quota(stray, now)
            if stray.remaining == 0:
                told_standalone.add(cloud.window(now))
        assert 0 <= planner.remaining(now) <= limit

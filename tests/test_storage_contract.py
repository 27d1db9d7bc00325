"""The `Store` contract, run against both `MemoryStore` and `SqlStore`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters.storage import MemoryStore, QueryableStore, SqlStore
from optimizer.interfaces import ApiCall, Quota
from optimizer.planning.plan import SlotMode
from optimizer.planning.record import PLANS_KEPT
from tests.conftest import STORE_T0 as T0
from tests.conftest import (
    make_call,
    make_command,
    make_decision,
    make_plan,
    make_reading,
    make_session,
)


@pytest.fixture(params=["memory", "sql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QueryableStore]:
    if request.param == "memory":
        yield MemoryStore()
    else:
        with SqlStore(f"sqlite:///{tmp_path / 'c.db'}") as sql:
            yield sql


def test_calls_between_is_half_open_and_ordered(store: QueryableStore) -> None:
    for minute in (30, 10, 20, 40):
        store.record_call(make_call(minute))
    store.commit()
    got = store.calls_between(T0 + timedelta(minutes=10), T0 + timedelta(minutes=40))
    assert [c.time for c in got] == [T0 + timedelta(minutes=m) for m in (10, 20, 30)]
    assert got[0] == make_call(10)


def test_pending_records_are_visible_before_commit(store: QueryableStore) -> None:
    store.record_call(make_call(1))
    store.commit()
    store.record_call(make_call(2))
    store.record_observation(make_reading(2))
    assert len(store.calls_between(T0, T0 + timedelta(hours=1))) == 2
    assert store.latest_observation("dev-1") == make_reading(2)
    assert store.row_counts()["api_calls"] == 2


def test_session_upsert_by_device_and_start(store: QueryableStore) -> None:
    store.record_session(make_session(end=None, energy_wh=100.0, cost=None, target_met=None))
    store.commit()
    final = make_session()
    store.record_session(final)
    store.record_session(make_session(device_id="dev-2"))
    store.commit()
    assert store.sessions(device_id="dev-1") == [final]
    assert store.row_counts()["sessions"] == 2


def test_open_session_is_the_latest_session_of_the_device_without_an_end(
    store: QueryableStore,
) -> None:
    assert store.open_session("dev-1") is None
    store.record_session(make_session("dev-1", 0))
    store.commit()
    assert store.open_session("dev-1") is None  # finished
    still_open = make_session("dev-1", 24, end=None, cost=None, target_met=None)
    store.record_session(still_open)  # pending: seen before the commit too
    assert store.open_session("dev-1") == still_open
    assert store.open_session("dev-2") is None


def test_commands_since_are_the_devices_own_from_then_on_pending_included(
    store: QueryableStore,
) -> None:
    limit = replace(make_command(20), kind="limit_energy", value=20_000)
    failed = replace(make_command(30), ok=False, error="timeout")
    for command in (make_command(10), limit, replace(limit, device_id="dev-2")):
        store.record_command(command)
    store.commit()
    store.record_command(failed)  # pending: a restart reads what the process wrote
    assert store.commands_since("dev-1", T0 + timedelta(minutes=20)) == [limit, failed]
    assert store.commands_since("dev-1", T0 + timedelta(minutes=31)) == []
    assert store.commands_since("dev-3", T0) == []


def test_session_upsert_matches_same_instant_in_another_zone(store: QueryableStore) -> None:
    store.record_session(make_session(energy_wh=1.0))
    store.commit()
    cest = timezone(timedelta(hours=2))
    store.record_session(make_session(start=T0.astimezone(cest), energy_wh=2.0))
    store.commit()
    (only,) = store.sessions()
    assert only.energy_wh == 2.0


def test_sessions_filter_by_device_and_since_sorted(store: QueryableStore) -> None:
    for device, hour in (("dev-1", 48), ("dev-2", 24), ("dev-1", 0), ("dev-1", 24)):
        store.record_session(make_session(device, hour))
    store.commit()
    got = store.sessions(device_id="dev-1", since=T0 + timedelta(hours=1))
    assert [s.start for s in got] == [T0 + timedelta(hours=24), T0 + timedelta(hours=48)]
    assert [s.device_id for s in store.sessions()] == ["dev-1", "dev-1", "dev-2", "dev-1"]


def test_calls_per_day_counts_utc_days_including_empty_ones(store: QueryableStore) -> None:
    day = timedelta(days=1)
    for minute in (0, 60, 24 * 60 + 5, 3 * 24 * 60):
        store.record_call(make_call(minute))
    store.commit()
    midnight = datetime(2024, 6, 1, tzinfo=UTC)
    got = store.calls_per_day(midnight, midnight + 3 * day)
    assert got == {date(2024, 6, 1): 2, date(2024, 6, 2): 1, date(2024, 6, 3): 0}


def test_calls_per_day_counts_each_call_in_the_servers_quota_day(store: QueryableStore) -> None:
    """Our clock minutes off the server's: the answer's `RateLimit-Reset` names the day."""
    midnight = datetime(2024, 6, 2, tzinfo=UTC)

    def call(our_time: datetime, reset_s: float | None) -> ApiCall:
        quota = None if reset_s is None else Quota(1000, 990, reset_s)
        return ApiCall(our_time, "dev-1", "device/currentstatecharge", 200, 0.1, quota)

    # At our 23:59 the server's clock already read 00:02: it counted the call on June 2.
    store.record_call(call(midnight - timedelta(minutes=1), 86400.0 - 120))
    # At our 00:01 the server's clock still read 23:58: it counted the call on June 1.
    store.record_call(call(midnight + timedelta(minutes=1), 120.0))
    # No reset (or a timeout, no answer at all): the call's own UTC date.
    store.record_call(call(midnight - timedelta(minutes=2), None))
    store.commit()
    assert store.calls_per_day(midnight - timedelta(days=1), midnight + timedelta(days=1)) == {
        date(2024, 6, 1): 2,
        date(2024, 6, 2): 1,
    }
    # The window selects by our time; a day the server counted in is a key even beyond it.
    assert store.calls_per_day(midnight - timedelta(hours=1), midnight) == {
        date(2024, 6, 1): 1,
        date(2024, 6, 2): 1,
    }


def test_latest_observation_is_per_device_and_by_time(store: QueryableStore) -> None:
    assert store.latest_observation("dev-1") is None
    store.record_observation(make_reading(50, pv_w=1.0))
    store.record_observation(make_reading(10, pv_w=2.0))
    store.record_observation(make_reading(60, device_id="dev-2"))
    store.commit()
    assert store.latest_observation("dev-1") == make_reading(50, pv_w=1.0)


def test_row_counts_cover_every_table(store: QueryableStore) -> None:
    for minute in range(3):
        store.record_call(make_call(minute))
        store.record_observation(make_reading(minute))
        store.record_decision(make_decision(minute))
    store.record_command(make_command(1))
    store.record_session(make_session())
    store.commit()
    assert store.row_counts() == {
        "api_calls": 3,
        "observations": 3,
        "decisions": 3,
        "commands": 1,
        "sessions": 1,
    }


def test_a_setting_is_kept_replaced_and_visible_before_commit(store: QueryableStore) -> None:
    assert store.setting("policy") is None
    store.record_setting("policy", "target")
    assert store.setting("policy") == "target"  # pending
    store.commit()
    store.record_setting("policy", "fast")
    store.commit()
    assert store.setting("policy") == "fast"
    assert store.setting("other") is None


def test_no_plan_before_the_first(store: QueryableStore) -> None:
    assert store.latest_plan("dev-1") is None


def test_the_latest_plan_comes_back_whole_per_device_pending_or_committed(
    store: QueryableStore,
) -> None:
    first, second = make_plan(0), make_plan(15, modes=("solar", "fixed"), reason="new prices")
    other = make_plan(30, device_id="dev-2", modes=("fixed",))
    store.record_plan(first)
    store.commit()
    assert store.latest_plan("dev-1") == first
    store.record_plan(second)
    store.record_plan(other)
    assert store.latest_plan("dev-1") == second  # pending
    store.commit()
    assert store.latest_plan("dev-1") == second
    assert store.latest_plan("dev-2") == other
    plan = second.plan
    assert plan.slots[1].mode is SlotMode.FIXED and plan.grid_wh == 920.0


def test_only_the_last_plans_are_kept_whole(store: QueryableStore) -> None:
    for minute in range(PLANS_KEPT + 5):
        store.record_plan(make_plan(minute))
        if minute % 50 == 0:
            store.commit()
    store.commit()
    assert store.latest_plan("dev-1") == make_plan(PLANS_KEPT + 4)
    assert _plans_with_slots(store) == PLANS_KEPT


def _plans_with_slots(store: QueryableStore) -> int:
    """Plans of dev-1 whose slots are still kept, by each store's own means."""
    if isinstance(store, MemoryStore):
        return len(store.plans["dev-1"])
    assert isinstance(store, SqlStore)
    with store._engine.connect() as conn:
        count = conn.execute(text("SELECT COUNT(DISTINCT plan_id) FROM plan_slots"))
        return int(count.scalar_one())

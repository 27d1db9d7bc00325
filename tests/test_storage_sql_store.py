"""`SqlStore`: durability, time zones, validation, errors, and the secret-free contract."""

from __future__ import annotations

import dataclasses
import math
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.storage import SqlStore, StoreError, StoreNotFoundError, StoreUrlError
from adapters.storage.engine import redact_url
from adapters.storage.schema import DecisionRow
from adapters.storage.sql_store import _decision_from_row
from optimizer.interfaces import ApiCall, Quota
from tests.conftest import STORE_T0 as T0
from tests.conftest import (
    make_call,
    make_command,
    make_decision,
    make_reading,
    make_session,
)


def sqlite_url(tmp_path: Path, name: str = "v.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def test_sqlite_runs_in_wal_mode_with_normal_sync(tmp_path: Path) -> None:
    with SqlStore(sqlite_url(tmp_path)) as store, store._engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert mode == "wal"
    assert sync == 1  # NORMAL


def test_nothing_is_written_before_commit(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    with SqlStore(url) as writer:
        writer.record_call(make_call(1))
        writer.commit()
        writer.record_call(make_call(2))
        with SqlStore(url) as reader:
            assert reader.row_counts()["api_calls"] == 1
        writer.commit()
        with SqlStore(url) as reader:
            assert reader.row_counts()["api_calls"] == 2


def test_restart_restores_the_budget_ledger(tmp_path: Path) -> None:
    """The planner rebuilds its day from `calls_between(day_start, now)` after a restart."""
    url = sqlite_url(tmp_path)
    day_start = datetime(2024, 6, 1, tzinfo=UTC)
    now = T0 + timedelta(hours=6)
    before = [make_call(-24 * 60 + 5, n=0)]  # yesterday: not in today's ledger
    today = [make_call(m, n=i) for i, m in enumerate(range(0, 300, 7))]
    today.append(ApiCall(T0 + timedelta(minutes=301), "dev-1", "device/intensity", None, 10.0))
    with SqlStore(url) as first:
        for call in before + today:
            first.record_call(call)
        first.commit()
        ledger = first.calls_between(day_start, now)
    with SqlStore(url) as restarted:
        restored = restarted.calls_between(day_start, now)
    assert restored == ledger == today
    assert all(c.time.tzinfo is UTC for c in restored)


def test_every_record_type_round_trips(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    with SqlStore(url) as store:
        store.record_observation(make_reading(3))
        store.record_decision(make_decision(3))
        store.record_command(make_command(3))
        store.record_session(make_session(end=None, cost=None, target_wh=None, target_met=None))
        store.commit()
    with SqlStore(url) as store:
        assert store.latest_observation("dev-1") == make_reading(3)
        assert store.sessions() == [
            make_session(end=None, cost=None, target_wh=None, target_met=None)
        ]
        with store._engine.connect() as conn:
            (row,) = conn.execute(select(DecisionRow)).all()
        assert _decision_from_row(row) == make_decision(3)


aware_times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7))]),
)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
calls = st.builds(
    ApiCall,
    time=aware_times,
    device_id=st.none() | st.text("abcXYZ0123-", min_size=1, max_size=20),
    endpoint=st.sampled_from(["currentstatecharge", "device/intensity", "/stadistic/device"]),
    status=st.none() | st.integers(100, 599),
    latency_s=finite,
    quota=st.none() | st.builds(Quota, st.integers(0, 10**6), st.integers(-10, 10**6), finite),
)


@settings(max_examples=40, deadline=None)
@given(batch=st.lists(calls, max_size=8))
def test_any_call_round_trips_as_utc(batch: list[ApiCall]) -> None:
    with SqlStore("sqlite://") as store:
        for call in batch:
            store.record_call(call)
        store.commit()
        got = store.calls_between(
            datetime(1999, 1, 1, tzinfo=UTC), datetime(2101, 1, 1, tzinfo=UTC)
        )
    assert sorted(got, key=lambda c: c.time) == sorted(batch, key=lambda c: c.time)
    assert all(c.time.tzinfo is UTC for c in got)


def test_naive_times_are_refused_with_the_field_name(tmp_path: Path) -> None:
    with SqlStore(sqlite_url(tmp_path)) as store:
        naive = make_call(0).time.replace(tzinfo=None)
        with pytest.raises(ValueError, match=r"^ApiCall\.time is a naive datetime"):
            store.record_call(ApiCall(naive, "d", "currentstatecharge", 200, 0.1))
        with pytest.raises(ValueError, match="start is a naive datetime"):
            store.calls_between(naive, T0)


def test_non_finite_numbers_are_refused_before_they_poison_a_commit(tmp_path: Path) -> None:
    with SqlStore(sqlite_url(tmp_path)) as store:
        reading = make_reading(0)
        bad = dataclasses.replace(reading, pv_power_w=math.nan)
        with pytest.raises(ValueError, match=r"ChargerReading\.pv_power_w is nan"):
            store.record_observation(bad)
        store.record_observation(reading)
        store.commit()
        assert store.row_counts()["observations"] == 1


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://v2c.cloud/kong/v2c_service/device/intensity?deviceId=X&value=16",
        "device/intensity?apikey=SECRET",
        "device intensity",
        "",
    ],
)
def test_endpoint_must_be_a_name_and_is_not_echoed(tmp_path: Path, endpoint: str) -> None:
    with (
        SqlStore(sqlite_url(tmp_path)) as store,
        pytest.raises(ValueError, match="endpoint name") as info,
    ):
        store.record_call(ApiCall(T0, "d", endpoint, 200, 0.1))
    if endpoint:
        assert endpoint not in str(info.value)


def test_a_full_round_of_records_holds_no_secret(tmp_path: Path) -> None:
    """The key reaches the adapter only as a header; nothing recorded can carry it."""
    secret = "k3y-SECRET-0123456789abcdef"
    path = tmp_path / "s.db"
    with SqlStore(f"sqlite:///{path}") as store:
        for minute in range(5):
            store.record_call(make_call(minute, endpoint="device/currentstatecharge"))
            store.record_call(make_call(minute, endpoint="device/intensity"))
            store.record_observation(make_reading(minute))
            store.record_decision(make_decision(minute))
            store.record_command(make_command(minute))
        store.record_session(make_session())
        store.commit()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secret.encode() not in raw
    dump = "\n".join(sqlite3.connect(path).iterdump())
    assert "apikey" not in dump.lower() and "?" not in _cell_text(path)
    assert "device/intensity" in dump  # the dump does see recorded text


def _cell_text(path: Path) -> str:
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT endpoint FROM api_calls").fetchall()
    return " ".join(r[0] for r in rows)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("not a url", "'not a url'"),
        ("postgresql://alice:hunter2@db:notaport/v2c", "postgresql://alice:***@db:notaport/v2c"),
        ("nosuchdb://alice:hunter2@host/x", "nosuchdb://alice:***@host/x"),
    ],
)
def test_bad_url_is_one_line_naming_it_without_password(url: str, shown: str) -> None:
    with pytest.raises(StoreUrlError) as info:
        SqlStore(url)
    message = str(info.value)
    assert shown in message
    assert "hunter2" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgresql+psycopg://u:p%40ss@host:5432/db", "postgresql+psycopg://u:***@host:5432/db"),
        ("mysql://u:a@b@host/db", "mysql://u:***@host/db"),
        ("postgresql://u@host/db", "postgresql://u@host/db"),
        ("sqlite:///a:b@c.db", "sqlite:///a:b@c.db"),
    ],
)
def test_redact_url_hides_only_the_password(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_sqlite_url_with_a_password_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(StoreUrlError, match=r"alice:\*\*\*@") as info:
        SqlStore(f"sqlite://alice:hunter2@/{tmp_path / 'r.db'}")
    assert "hunter2" not in str(info.value)


def test_repr_names_the_url(tmp_path: Path) -> None:
    with SqlStore(sqlite_url(tmp_path)) as store:
        assert repr(store) == f"SqlStore('{sqlite_url(tmp_path)}')"


def test_read_only_open_never_creates_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(StoreNotFoundError, match="database file not found"):
        SqlStore(f"sqlite:///{missing}", create_if_missing=False)
    assert not missing.exists()


def test_read_only_open_refuses_a_foreign_or_corrupt_file(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="not a v2c-solar database"):
        SqlStore(f"sqlite:///{foreign}", create_if_missing=False)
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="file is not a database") as info:
        SqlStore(f"sqlite:///{corrupt}", create_if_missing=False)
    assert "\n" not in str(info.value)


def test_in_memory_sqlite_keeps_its_data_across_operations() -> None:
    with SqlStore("sqlite://") as store:
        store.record_call(make_call(0))
        store.commit()
        assert store.row_counts()["api_calls"] == 1


def test_failed_commit_on_a_locked_database_keeps_the_cycle(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    with SqlStore(url) as store:
        store._engine.dispose()
        blocker = sqlite3.connect(tmp_path / "v.db", timeout=0)
        blocker.execute("BEGIN EXCLUSIVE")
        store.record_call(make_call(0))
        from sqlalchemy import event

        @event.listens_for(store._engine, "connect")
        def _no_wait(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.execute("PRAGMA busy_timeout=0")

        with pytest.raises(StoreError, match="kept for retry"):
            store.commit()
        blocker.rollback()
        blocker.close()
        store.commit()
        assert store.row_counts()["api_calls"] == 1


def test_the_home_battery_power_is_not_stored(tmp_path: Path) -> None:
    """The schema has no column for it: a reading comes back with battery_w 0."""
    reading = dataclasses.replace(make_reading(0), battery_w=1250.0)
    with SqlStore(sqlite_url(tmp_path)) as store:
        store.record_observation(reading)
        store.commit()
        assert store.latest_observation(reading.device_id) == dataclasses.replace(
            reading, battery_w=0.0
        )


def test_a_setting_survives_reopening_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'settings.db'}"
    with SqlStore(url) as store:
        store.record_setting("policy", "target")
        store.commit()
        store.record_setting("policy", "fast")  # never committed: lost with the process
    with SqlStore(url) as store:
        assert store.setting("policy") == "target"


def test_a_read_only_store_reads_and_never_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ro.db'}"
    with SqlStore(url) as writer:
        writer.record_session(make_session())
        writer.commit()
    with SqlStore(url, create_if_missing=False, read_only=True) as reader:
        assert reader.sessions() == [make_session()]
        reader.record_setting("policy", "fast")
        with pytest.raises(StoreError, match="readonly"):
            reader.commit()
    with SqlStore(url) as again:
        assert again.setting("policy") is None


def test_a_read_only_store_refuses_to_upgrade_an_old_schema(tmp_path: Path) -> None:
    from adapters.storage.migrations import STEPS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    SqlStore(url, steps=STEPS[:1]).close()
    with pytest.raises(StoreError, match="readonly"):
        SqlStore(url, create_if_missing=False, read_only=True)


def test_the_account_stores_of_one_database_commit_in_turn(tmp_path: Path) -> None:
    """A fleet's account threads commit into one SQLite file: they queue in the process, so
    none waits in SQLite's busy handler (here no wait at all: `timeout=0`) and fails."""
    root = SqlStore(f"{sqlite_url(tmp_path)}?timeout=0")
    stores = [root.for_account(f"acct-{i}") for i in range(8)]
    errors: list[StoreError] = []

    def work(store: SqlStore) -> None:
        for minute in range(40):
            store.record_decision(make_decision(minute))
            store.record_call(make_call(minute))
            try:
                store.commit()
            except StoreError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert root.row_counts()["decisions"] == 8 * 40
    root.close()

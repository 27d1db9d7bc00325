"""Schema versioning: ordered upgrade steps, refusal of newer schemas, drift against the models."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, inspect, select, text

from adapters.storage import SchemaTooNewError, SqlStore
from adapters.storage.engine import open_engine
from adapters.storage.migrations import (
    STEPS,
    MigrationStep,
    schema_version,
    upgrade,
    v1_tables,
)
from adapters.storage.schema import Base, DecisionRow
from adapters.storage.sql_store import _decision_from_row, _decision_row
from optimizer.interfaces import Command, Decision, PvMode
from optimizer.planning import PlanRecord
from tests.conftest import make_call, make_decision, make_plan


def _add_notes_column(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE api_calls ADD COLUMN note VARCHAR(40)"))
    conn.execute(text("UPDATE api_calls SET note = 'migrated'"))


T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)

NEXT = len(STEPS) + 1
"""The version a step after this v2c-solar's last one would have."""

FAKE_NEXT = MigrationStep(NEXT, "add api_calls.note", _add_notes_column)


def _columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_fresh_database_is_at_the_last_step(tmp_path: Path) -> None:
    with SqlStore(f"sqlite:///{tmp_path / 'a.db'}") as store:
        assert store.schema_version == len(STEPS) == 8


def test_a_database_is_upgraded_in_order_and_keeps_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    with SqlStore(url) as current:
        current.record_call(make_call(0))
        current.commit()
    assert "note" not in _columns(url, "api_calls")
    with SqlStore(url, steps=(*STEPS, FAKE_NEXT)) as upgraded:
        assert upgraded.schema_version == NEXT
        assert upgraded.calls_between(make_call(0).time, make_call(1).time) == [make_call(0)]
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT note FROM api_calls")).scalar_one() == "migrated"
        assert schema_version(conn) == NEXT
        history = conn.execute(text("SELECT version, description FROM schema_version")).all()
    engine.dispose()
    steps = (*STEPS, FAKE_NEXT)
    assert [tuple(r) for r in history] == [(s.version, s.description) for s in steps]


V1_CALL = (
    "INSERT INTO api_calls (time, device_id, endpoint, status, latency_s, quota_limit, "
    "quota_remaining, quota_reset_s) VALUES (:time, :device_id, :endpoint, :status, "
    ":latency_s, :quota_limit, :quota_remaining, :quota_reset_s)"
)
"""A call as a version 1 (to 4) database holds it: no account column."""


def _old_database(url: str, version: int) -> None:
    """A database at `version` (< 5) holding `make_call(0)`, written as that version would."""
    with SqlStore(url, steps=STEPS[:version]) as old:
        assert old.schema_version == version
    call = make_call(0)
    engine = create_engine(url)
    with engine.begin() as conn:
        row = {
            "time": f"{call.time:%Y-%m-%d %H:%M:%S.%f}",  # as SQLAlchemy writes it
            "device_id": call.device_id,
            "endpoint": call.endpoint,
            "status": call.status,
            "latency_s": call.latency_s,
            "quota_limit": call.quota.limit if call.quota else None,
            "quota_remaining": call.quota.remaining if call.quota else None,
            "quota_reset_s": call.quota.reset_s if call.quota else None,
        }
        conn.execute(text(V1_CALL), row)
    engine.dispose()


def test_a_v1_database_gets_the_settings_table_and_keeps_its_calls(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v1.db'}"
    _old_database(url, 1)
    with SqlStore(url) as v2:
        assert v2.schema_version == len(STEPS)
        assert v2.calls_between(make_call(0).time, make_call(1).time) == [make_call(0)]
        assert v2.setting("policy") is None
        v2.record_setting("policy", "target")
        v2.commit()
    with SqlStore(url) as again:
        assert again.setting("policy") == "target"


def test_a_v2_database_gets_the_decision_price_and_keeps_its_decisions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v2.db'}"
    old = Decision(T0, "D1", "solar_only", True, 16, PvMode.MAX_POWER, "sun", 2500.0, {"a": 1.0})
    SqlStore(url, steps=STEPS[:2]).close()
    engine = create_engine(url)
    with engine.begin() as conn:  # a row as v2 wrote it
        row = {k: v for k, v in _decision_row(old).items() if k != "import_eur_per_kwh"}
        conn.execute(v1_tables().tables["decisions"].insert(), [row])
    engine.dispose()
    assert "import_eur_per_kwh" not in _columns(url, "decisions")
    priced = replace(old, time=T0 + timedelta(minutes=1), import_eur_per_kwh=-0.012)
    with SqlStore(url) as v3:
        assert v3.schema_version == len(STEPS)
        v3.record_decision(priced)
        v3.commit()
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(DecisionRow).order_by(DecisionRow.time)).all()
    engine.dispose()
    assert [_decision_from_row(r) for r in rows] == [old, priced]  # the old row: NULL price


def test_a_v3_database_gets_the_plan_tables_and_keeps_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v3.db'}"
    _old_database(url, 3)
    with SqlStore(url, steps=STEPS[:3]) as v3:
        v3.record_setting("policy", "target")
        v3.commit()
    assert not inspect(create_engine(url)).has_table("plans")
    with SqlStore(url) as v4:
        assert v4.schema_version == len(STEPS)
        assert v4.calls_between(make_call(0).time, make_call(1).time) == [make_call(0)]
        assert v4.setting("policy") == "target"
        assert v4.latest_plan("dev-1") is None
        v4.record_plan(make_plan(0))
        v4.commit()
    with SqlStore(url, read_only=True, create_if_missing=False) as reader:
        assert reader.latest_plan("dev-1") == make_plan(0)


def test_steps_already_applied_are_not_run_again(tmp_path: Path) -> None:
    runs: list[int] = []
    counting = MigrationStep(NEXT, "count", lambda _conn: runs.append(NEXT))
    url = f"sqlite:///{tmp_path / 'r.db'}"
    for _ in range(3):
        SqlStore(url, steps=(*STEPS, counting)).close()
    assert runs == [NEXT]


def test_a_failing_step_leaves_the_previous_version(tmp_path: Path) -> None:
    def boom(conn: Connection) -> None:
        conn.execute(text("CREATE TABLE half_done (x INTEGER)"))
        raise RuntimeError("step failed")

    engine = open_engine(f"sqlite:///{tmp_path / 'f.db'}", create_if_missing=True)
    with pytest.raises(RuntimeError):
        upgrade(engine, (*STEPS, MigrationStep(NEXT, "boom", boom)))
    with engine.connect() as conn:
        assert schema_version(conn) == len(STEPS)
        assert not inspect(conn).has_table("half_done")
    engine.dispose()


def test_newer_schema_is_a_one_line_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    SqlStore(url, steps=(*STEPS, FAKE_NEXT)).close()
    with pytest.raises(SchemaTooNewError) as info:
        SqlStore(url)
    message = str(info.value)
    assert f"version {NEXT}" in message and f"up to version {len(STEPS)}" in message
    assert "\n" not in message


@pytest.mark.parametrize("versions", [(2,), (1, 3), (1, 1)])
def test_steps_must_be_numbered_without_gaps(tmp_path: Path, versions: tuple[int, ...]) -> None:
    steps = [MigrationStep(v, f"v{v}", lambda _conn: None) for v in versions]
    with pytest.raises(ValueError, match="numbered"):
        upgrade(create_engine(f"sqlite:///{tmp_path / 'x.db'}"), steps)


def test_steps_build_exactly_the_models_schema(tmp_path: Path) -> None:
    """Catches a model change shipped without its upgrade step (or a v1 that drifted)."""
    migrated = f"sqlite:///{tmp_path / 'migrated.db'}"
    SqlStore(migrated).close()
    reference = create_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    Base.metadata.create_all(reference)
    reference.dispose()
    for table in Base.metadata.tables:
        assert _columns(migrated, table) == _columns(str(reference.url), table), table


def test_step_5_labels_the_old_rows_default_and_accounts_see_only_theirs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v4.db'}"
    _old_database(url, 4)
    assert "account" not in _columns(url, "api_calls")
    window = (make_call(0).time, make_call(2).time)
    with SqlStore(url) as store:
        assert store.schema_version == len(STEPS)
        acme = store.for_account("acme")
        acme.record_call(make_call(1))
        acme.commit()
        assert store.calls_between(*window) == [make_call(0), make_call(1)]
        assert store.for_account("default").calls_between(*window) == [make_call(0)]
        assert acme.calls_between(*window) == [make_call(1)]
        acme.record_setting("policy", "fast")
        acme.commit()
        assert acme.setting("policy") == "fast" and store.setting("policy") is None
    for table in ("api_calls", "observations", "decisions", "commands", "sessions"):
        assert "account" in _columns(url, table), table
    engine = create_engine(url)
    with engine.connect() as conn:
        labels = conn.execute(text("SELECT account FROM api_calls ORDER BY id")).scalars().all()
    engine.dispose()
    assert labels == ["default", "acme"]


def test_step_6_labels_the_old_plans_default_and_accounts_see_only_theirs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v5.db'}"
    _old_database(url, 5)
    _copy_plans(_a_stored_plan(tmp_path, make_plan(0)), url, drop="account")  # as v5 wrote it
    assert "account" not in _columns(url, "plans")
    with SqlStore(url) as store:
        assert store.schema_version == len(STEPS)
        acme = store.for_account("acme")
        assert acme.latest_plan("dev-1") is None  # the old plan is the single home's
        assert store.for_account("default").latest_plan("dev-1") == make_plan(0)
        acme.record_plan(make_plan(1))
        acme.commit()
        assert acme.latest_plan("dev-1") == make_plan(1)
        assert store.for_account("default").latest_plan("dev-1") == make_plan(0)
    engine = create_engine(url)
    with engine.connect() as conn:
        labels = conn.execute(text("SELECT account FROM plans ORDER BY id")).scalars().all()
    engine.dispose()
    assert labels == ["default", "acme"]


def _a_stored_plan(tmp_path: Path, plan: PlanRecord) -> str:
    """A scratch database at the current version holding `plan`; its URL."""
    url = f"sqlite:///{tmp_path / 'scratch.db'}"
    with SqlStore(url) as store:
        store.record_plan(plan)
        store.commit()
    return url


def _copy_plans(source: str, target: str, *, drop: str) -> None:
    """Copy the plans and plan_slots rows of `source` into `target`, less column `drop`."""
    rows: dict[str, list[dict[str, object]]] = {}
    engine = create_engine(source)
    with engine.connect() as conn:
        for table in ("plans", "plan_slots"):
            found = conn.execute(text(f"SELECT * FROM {table}")).mappings().all()
            rows[table] = [{k: v for k, v in r.items() if k != drop} for r in found]
    engine.dispose()
    engine = create_engine(target)
    with engine.begin() as conn:
        for table, table_rows in rows.items():
            names = list(table_rows[0])
            statement = f"INSERT INTO {table} ({', '.join(names)}) VALUES "
            statement += f"({', '.join(':' + n for n in names)})"
            conn.execute(text(statement), table_rows)
    engine.dispose()


def test_step_7_adds_the_decision_energy_cap_and_keeps_the_old_decisions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v6.db'}"
    _old_database(url, 6)
    assert "energy_cap_wh" not in _columns(url, "decisions")
    with SqlStore(url) as store:
        assert store.schema_version == len(STEPS)
        store.record_decision(make_decision(1))
        store.commit()
    assert "energy_cap_wh" in _columns(url, "decisions")
    engine = create_engine(url)
    with engine.connect() as conn:
        caps = conn.execute(text("SELECT energy_cap_wh FROM decisions")).scalars().all()
    engine.dispose()
    assert caps == [3000]


def test_step_8_adds_commands_unanswered_false_for_the_old_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v7.db'}"
    _old_database(url, 7)
    engine = create_engine(url)
    with engine.begin() as conn:  # a command as version 7 wrote it: after its answer
        conn.execute(
            text(
                "INSERT INTO commands (time, device_id, kind, value, ok, error) "
                "VALUES ('2026-06-01 10:00:00.000000', 'dev-1', 'limit_energy', 20000, 1, NULL)"
            )
        )
    engine.dispose()
    assert "unanswered" not in _columns(url, "commands")
    with SqlStore(url, exclusive=True) as store:
        assert store.schema_version == len(STEPS)
        assert store.settled_commands == 0  # an old row is answered, never settled
        assert store.commands_since("dev-1", T0) == [
            Command(T0, "dev-1", "limit_energy", 20_000, ok=True)
        ]

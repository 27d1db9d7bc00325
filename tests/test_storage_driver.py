"""`DriverInsert` writes exactly the values SQLAlchemy's own INSERT writes, `DriverSelect`
reads the rows SQLAlchemy's SELECT reads, and a driver error stays the SQLAlchemy
exception `SqlStore` sorts by (a commit kept for retry or not, a one-line read error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, bindparam, create_engine, insert, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from adapters.storage.driver import DriverInsert, DriverSelect
from adapters.storage.engine import query_only
from adapters.storage.schema import (
    ApiCallRow,
    Base,
    CommandRow,
    DecisionRow,
    ObservationRow,
    SettingRow,
)
from adapters.storage.sql_store import _call_row, _command_row, _decision_row, _reading_row
from tests.conftest import make_call, make_command, make_decision, make_reading


def _rows() -> dict[type[Base], list[dict[str, Any]]]:
    """Two rows per table, as `SqlStore` builds them (times, enums, JSON, booleans, NULLs)."""
    label = {"account": "acct-1"}
    return {
        ApiCallRow: [_call_row(make_call(m)) | label for m in (1, 2)],
        ObservationRow: [_reading_row(make_reading(m)) | label for m in (1, 2)],
        DecisionRow: [_decision_row(make_decision(m)) | label for m in (1, 2)],
        CommandRow: [_command_row(make_command(m)) | label for m in (1, 2)],
    }


def _table(model: type[Base]) -> Table:
    return model.metadata.tables[model.__tablename__]


def _stored(url: str, table: Table) -> list[tuple[Any, ...]]:
    """The table's raw rows as the database holds them (no type processing), id aside."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM {table.name} ORDER BY id")).all()
    engine.dispose()
    return [tuple(row)[1:] for row in rows]


@pytest.mark.parametrize("model", [ApiCallRow, ObservationRow, DecisionRow, CommandRow])
def test_the_stored_values_are_sqlalchemys(tmp_path: Path, model: type[Base]) -> None:
    table = _table(model)
    rows = _rows()[model]
    stored = {}
    for how in ("sqlalchemy", "driver"):
        url = f"sqlite:///{tmp_path / f'{how}.db'}"
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        with engine.begin() as conn:
            if how == "driver":
                DriverInsert(table).execute(conn, rows)
            else:
                conn.execute(insert(table), rows)
        engine.dispose()
        stored[how] = _stored(url, table)
    assert len(stored["driver"]) == 2
    assert stored["driver"] == stored["sqlalchemy"]


def test_a_refused_write_is_sqlalchemys_operational_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ro.db'}"
    Base.metadata.create_all(create_engine(url))
    engine = create_engine(url)
    query_only(engine)
    with pytest.raises(OperationalError), engine.begin() as conn:
        DriverInsert(_table(DecisionRow)).execute(conn, _rows()[DecisionRow])
    engine.dispose()


def test_a_select_reads_what_sqlalchemy_reads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    table = _table(SettingRow)
    keys = ["a_1:x", "aX1:x", "a_1:y", "b:x"]
    with engine.begin() as conn:
        conn.execute(insert(table), [{"key": k, "value": k.upper()} for k in keys])
    query = (
        select(table.c.key, table.c.value)
        .where(table.c.key.like(bindparam("pattern"), escape="/"))
        .order_by(table.c.key)
    )
    with engine.connect() as conn:
        expected = [tuple(r) for r in conn.execute(query, {"pattern": "a/_1:%"}).all()]
    got = DriverSelect(query).rows(engine, {"pattern": "a/_1:%"})
    assert got == expected == [("a_1:x", "A_1:X"), ("a_1:y", "A_1:Y")]
    engine.dispose()


def test_a_failed_select_is_sqlalchemys_dbapi_error(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables
    table = _table(SettingRow)
    with pytest.raises(DBAPIError, match="no such table"):
        DriverSelect(select(table.c.value)).rows(engine, {})
    engine.dispose()

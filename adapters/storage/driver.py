"""The fleet's hottest statements straight through the driver, prepared once per dialect.

Why: a fleet commits a round per account and clock minute, a few rows into each of
three or four tables, and reads the account's settings rows once per round (the
target polls). SQLAlchemy's work around each statement (its execution context, the
per-row parameter processing, the result set-up, a BEGIN and a ROLLBACK around a
read) cost several times the statement itself: ~70 microseconds an insert, ~80 a
settings read (BENCHMARKS.md, "Fleet CPU, second round").

- `DriverInsert`: the INSERT is compiled once per dialect and each column's bind
  processor looked up once; a row is then a tuple of processed values (times to naive
  UTC in the dialect's format, JSON dumped, booleans as the dialect takes them: the
  very values SQLAlchemy would bind). It runs on the transaction's connection through
  `exec_driver_sql`, so a driver error is the same SQLAlchemy exception as before (a
  locked or full disk stays an `OperationalError`, kept for retry by `SqlStore.commit`).
- `DriverSelect`: a SELECT of plain columns (strings, numbers: no result processing)
  run on a pooled connection's cursor, outside any transaction (one statement reads
  a consistent snapshot); a driver error is wrapped as SQLAlchemy's `DBAPIError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, Select, Table, insert
from sqlalchemy.exc import DBAPIError

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    keys: tuple[str, ...]
    """The columns in the order the driver takes them."""
    processors: tuple[Processor, ...]
    positional: bool


class DriverInsert:
    """Inserts rows (mappings of every column but the generated primary key) into `table`."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.columns = tuple(
            c.name for c in table.columns if not (c.primary_key and c.autoincrement)
        )
        self._prepared: dict[str, _Prepared] = {}

    def execute(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert `rows` in the connection's transaction (one driver `executemany`)."""
        if not rows:
            return
        prepared = self._prepared.get(conn.dialect.name) or self._prepare(conn.dialect)
        pairs = tuple(zip(prepared.keys, prepared.processors, strict=True))
        values = [tuple(row[k] if p is None else p(row[k]) for k, p in pairs) for row in rows]
        if prepared.positional:
            conn.exec_driver_sql(prepared.sql, values)
        else:
            conn.exec_driver_sql(
                prepared.sql, [dict(zip(prepared.keys, v, strict=True)) for v in values]
            )

    def _prepare(self, dialect: Dialect) -> _Prepared:
        compiled = insert(self.table).compile(dialect=dialect, column_keys=list(self.columns))
        keys = tuple(compiled.positiontup or ()) if compiled.positional else self.columns
        types = (self.table.c[k].type.dialect_impl(dialect) for k in keys)
        processors = tuple(t.bind_processor(dialect) for t in types)
        prepared = _Prepared(compiled.string, keys, processors, compiled.positional)
        self._prepared[dialect.name] = prepared
        return prepared


class DriverSelect:
    """Rows of `statement` (plain columns and parameters only, see the module doc)."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._prepared: dict[str, tuple[str, tuple[str, ...] | None]] = {}

    def rows(self, engine: Engine, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows, as tuples; a driver error is raised as SQLAlchemy's `DBAPIError`."""
        sql, order = self._prepared.get(engine.dialect.name) or self._prepare(engine.dialect)
        args: Any = dict(parameters) if order is None else tuple(parameters[k] for k in order)
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(sql, args)
                return [tuple(row) for row in cursor.fetchall()]
            finally:
                cursor.close()
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(sql, args, exc, engine.dialect.loaded_dbapi.Error) from exc
        finally:
            raw.close()

    def _prepare(self, dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
        compiled = self.statement.compile(dialect=dialect)
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        self._prepared[dialect.name] = (compiled.string, order)
        return compiled.string, order

"""Turning a database URL into a ready SQLAlchemy engine, with one-line errors.

SQLite (the default) is put in WAL mode with `synchronous=NORMAL` on every
connection: a commit is then durable against a killed process (kill -9), and
readers such as `v2c-solar sessions` never block the daemon's writes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import StaticPool

from adapters.storage.errors import StoreNotFoundError, StoreUrlError

_PASSWORD_IN_URL = re.compile(r"(://[^/:@]*:).*@")


def redact_url(url: str) -> str:
    """`url` with any password replaced by `***`, safe for messages and logs.

    Works on malformed URLs too (a regex, not the URL parser), since those are
    exactly the ones that end up in error messages.
    """
    return _PASSWORD_IN_URL.sub(r"\1***@", url)


def scrub(message: str, url: str) -> str:
    """First line of `message` with the URL's password (if any) removed."""
    line = message.strip().splitlines()[0] if message.strip() else message
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        password = None
    if password:
        line = line.replace(str(password), "***")
    return line


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        raise StoreUrlError(
            f"malformed database URL {redact_url(url)!r} (expected e.g. sqlite:///v2c-solar.db)"
        ) from None


def sqlite_file(url: str) -> str | None:
    """Path of the SQLite database file `url` names; None otherwise (see `_sqlite_file`)."""
    return _sqlite_file(_parse(url))


def absolute_sqlite_url(url: str) -> str:
    """`url` with its SQLite database file's path made absolute (from the working
    directory), so the URL names the same file from anywhere; any other URL unchanged."""
    parsed = _parse(url)
    database = _sqlite_file(parsed)
    if database is None or Path(database).is_absolute():
        return url
    return parsed.set(database=str(Path(database).resolve())).render_as_string()


def _sqlite_file(parsed: URL) -> str | None:
    """Path of an SQLite database file; None for another backend or an in-memory SQLite."""
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


SQLITE_POOL_SIZE = 16
"""Connections to an SQLite file kept open for reuse. SQLAlchemy's default keeps 5: a
fleet's hundred account threads then opened (and set up) a fresh connection for most
queries and closed it after; an idle connection is a file handle and a page cache."""


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL: commits survive kill -9 and readers do not block the writer.

    Also takes transaction control away from the sqlite3 module, which would
    otherwise run DDL outside any transaction (a failed upgrade step would
    leave half its tables behind); `_begin` emits BEGIN instead.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def query_only(engine: Engine) -> None:
    """Make every SQLite connection of `engine` refuse writes (`PRAGMA query_only`): a
    reader next to the daemon (the web API's sessions) cannot change the database.
    Call before the engine's first connection; other backends are left as they are."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _set_query_only)


def _set_query_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _begin(conn: Connection) -> None:
    """Start every SQLAlchemy transaction explicitly, DDL included (see above)."""
    conn.exec_driver_sql("BEGIN")


def open_engine(url: str, *, create_if_missing: bool) -> Engine:
    """An engine for `url`; raises `StoreUrlError` or `StoreNotFoundError` with one line.

    With `create_if_missing=False` an SQLite file that does not exist is an
    error instead of being created empty (readers must not litter the disk).
    """
    parsed = _parse(url)
    shown = redact_url(url)
    path = _sqlite_file(parsed)
    if path is not None and not create_if_missing and not Path(path).is_file():
        raise StoreNotFoundError(f"database file not found: {path} (from {shown})")
    kwargs: dict[str, Any] = {}
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and path is None:
        # One shared connection, or every checkout would see a fresh empty memory DB.
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    elif is_sqlite:
        kwargs = {"pool_size": SQLITE_POOL_SIZE}
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise StoreUrlError(f"cannot use database URL {shown!r}: {scrub(str(exc), url)}") from None
    if is_sqlite:
        event.listen(engine, "connect", _set_sqlite_pragmas)
        event.listen(engine, "begin", _begin)
    return engine


def describe_db_error(exc: DBAPIError, url: str) -> str:
    """One line for a driver error: the driver's own first line, password removed."""
    return scrub(str(exc.orig) if exc.orig is not None else str(exc), url)

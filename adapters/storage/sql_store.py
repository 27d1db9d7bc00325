"""`SqlStore`: the `Store` port on SQLAlchemy, SQLite by default, any SQLAlchemy URL.

Writes are buffered in memory and written in one transaction by `commit()`;
the controller commits once per cycle, so a kill -9 loses at most the cycle in
flight (SQLite runs in WAL mode, see `engine`), less its commands: each is written
before its call (`begin_command`), so what a charger may have applied is never lost.
Queries see committed rows and the pending buffer alike, so the process reads its own
writes.

Not for concurrent use from several threads: the daemon runs one cycle at a
time. Connections are taken per operation, so the thread may change between
calls (APScheduler's workers).
"""

from __future__ import annotations

import copy
import logging
import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine, Row, Table, bindparam, delete, func, insert, select, true, update
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from adapters.closing import Closing
from adapters.storage.driver import DriverInsert, DriverSelect
from adapters.storage.engine import (
    describe_db_error,
    open_engine,
    query_only,
    redact_url,
    sqlite_file,
)
from adapters.storage.errors import StoreError
from adapters.storage.ledger import calls_per_day, open_session, select_sessions
from adapters.storage.lock import DatabaseLock
from adapters.storage.migrations import STEPS, MigrationStep, schema_version, upgrade
from adapters.storage.schema import (
    DEFAULT_ACCOUNT,
    ApiCallRow,
    Base,
    CommandRow,
    DecisionRow,
    ObservationRow,
    PlanRow,
    PlanSlotRow,
    SessionRow,
    SettingRow,
)
from adapters.storage.url import DEFAULT_URL
from adapters.storage.utc import as_utc
from optimizer.interfaces import (
    ApiCall,
    ChargerReading,
    ChargeState,
    Command,
    Decision,
    PvMode,
    Quota,
    SessionRecord,
)
from optimizer.planning.plan import ChargePlan, PlannedSlot, SlotMode
from optimizer.planning.record import PLANS_KEPT, PlanRecord, ReplanReason

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Record = TypeVar("_Record", bound="DataclassInstance")

_ENDPOINT_NAME = re.compile(r"/?[A-Za-z0-9_]+(/[A-Za-z0-9_]+)*")

_READING_FLOATS = (
    "car_power_w",
    "pv_power_w",
    "house_power_w",
    "current_setpoint_a",
    "voltage_v",
    "session_energy_wh",
    "session_seconds",
)

SessionKey = tuple[str, datetime]
CommandKey = tuple[str, datetime, str, int | None]
"""A command's device, time, kind and value: what `record_command` finds its begun row by."""

PROCESS_ENDED = "outcome unknown: the process ended during the call"
"""The error of a command whose process ended before its outcome was recorded."""

UNANSWERED_ENDPOINT = "unanswered"
"""The ledger's endpoint prefix (`unanswered/limit_energy`) of a call counted for such a
command: its own row went with the process (a call the charger may have answered counts)."""

log = logging.getLogger(__name__)


def _require_finite(value: float | None, what: str) -> None:
    """NaN would become NULL in SQLite and fail the whole cycle's commit: refuse it here."""
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{what} is {value}: only finite numbers are stored")


def _describe(exc: SQLAlchemyError, url: str) -> str:
    """One line on a database error, the URL's password redacted."""
    if isinstance(exc, DBAPIError):
        return describe_db_error(exc, url)
    return str(exc).splitlines()[0]


def _check_endpoint(endpoint: str) -> None:
    """Endpoint names only; a URL could carry a query string with a secret in it."""
    if not _ENDPOINT_NAME.fullmatch(endpoint):
        # The value is not echoed: it may be exactly the thing that must not leak.
        raise ValueError(
            "ApiCall.endpoint must be an endpoint name such as 'device/currentstatecharge', "
            "not a URL or a query string"
        )


class SqlStore(Closing):
    """Records calls, observations, decisions, commands and sessions in a SQL database.

    Times must be tz-aware (a naive time is a `ValueError` at `record_*`) and
    come back in UTC, from the database and the pending buffer alike.

    `url` is any SQLAlchemy URL (`sqlite:///path.db`, `postgresql://...`);
    the schema is created or upgraded on open (see `migrations`). With
    `create_if_missing=False` (read-only commands) a missing SQLite file or a
    database without a v2c-solar schema is a `StoreError`, never created.
    `exclusive=True` (the daemon) takes the database's lock first
    (`adapters.storage.lock`): a second daemon on the same file gets a
    `StoreLockedError` naming the holder's pid; it then settles the commands an
    earlier process ended during (`settle_unanswered`). `read_only=True` (a reader next
    to the daemon) never writes: an SQLite connection refuses writes, and a schema
    older than this v2c-solar's is a `StoreError` instead of an upgrade.
    Every error is a `StoreError` subclass with a one-line message in which
    the URL's password is redacted.

    `account` labels every row it writes (`optimizer.accounts`: a fleet's daemon
    has one store per account, made by `for_account` over one engine) and limits
    what it reads to that account's rows; None (the single home, the readers)
    writes `default` and reads every account's rows.

    The API key has no column anywhere. `ApiCall.endpoint` must be the name of
    the endpoint (`device/intensity`, `currentstatecharge`), not the URL: URLs
    carry query strings, and query strings are where secrets leak from.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        create_if_missing: bool = True,
        steps: Sequence[MigrationStep] = STEPS,
        exclusive: bool = False,
        read_only: bool = False,
        account: str | None = None,
    ) -> None:
        self.account = account
        self._owns_engine = True
        self._raw_url = url
        self.url = redact_url(url)
        database = sqlite_file(url) if exclusive else None
        self._lock = None if database is None else DatabaseLock(Path(database), self.url)
        self._writing = threading.Lock()
        """Held while committing, shared with the `for_account` siblings: a fleet's account
        threads queue for the database's one writer here instead of in SQLite's busy
        handler, whose sleep-and-retry let a commit lose the lock for 5 s (`database is
        locked`) with a hundred accounts writing (BENCHMARKS.md, "Fleet CPU, second round")."""
        try:
            self._engine: Engine = open_engine(url, create_if_missing=create_if_missing)
        except StoreError:
            self._release_lock()
            raise
        if read_only:
            query_only(self._engine)
        try:
            if not create_if_missing:
                self._require_schema()
            self.schema_version = upgrade(self._engine, steps)
            self.settled_commands = self.settle_unanswered() if exclusive else 0
        except DBAPIError as exc:
            self._engine.dispose()
            self._release_lock()
            raise StoreError(
                f"cannot open database {self.url}: {describe_db_error(exc, url)}"
            ) from None
        except StoreError:
            self._engine.dispose()
            self._release_lock()
            raise
        self._begun: dict[CommandKey, int] = {}
        """Commands written before their call (`begin_command`) by their row's id."""
        self._clear_pending()

    def for_account(self, account: str) -> SqlStore:
        """A store of `account`'s rows over this one's engine (and lock), with its own
        buffer; closing it leaves the engine to this store. Not to be shared between
        threads either: a fleet gives each account's worker its own."""
        sibling = copy.copy(self)
        sibling.account = account
        sibling._owns_engine = False
        sibling._begun = {}
        sibling._clear_pending()
        return sibling

    @property
    def _label(self) -> str:
        return DEFAULT_ACCOUNT if self.account is None else self.account

    def _mine(self, model: Any) -> Any:
        """The WHERE clause keeping this store's account's rows (true without an account)."""
        return true() if self.account is None else model.account == self.account

    def _require_schema(self) -> None:
        with self._engine.connect() as conn:
            if schema_version(conn) is None:
                raise StoreError(
                    f"{self.url} is not a v2c-solar database (no schema_version table)"
                )

    def __repr__(self) -> str:
        account = "" if self.account is None else f", account={self.account!r}"
        return f"SqlStore({self.url!r}{account})"

    def close(self) -> None:
        """Release the connections and the lock; pending (uncommitted) records are dropped."""
        if not self._owns_engine:
            return
        self._engine.dispose()
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()

    # -- writes ---------------------------------------------------------------------

    def record_call(self, call: ApiCall) -> None:
        """Buffer one API call for the ledger (see the class docstring on `endpoint`)."""
        time = as_utc(call.time, "ApiCall.time")
        _check_endpoint(call.endpoint)
        _require_finite(call.latency_s, "ApiCall.latency_s")
        if call.quota is not None:
            _require_finite(call.quota.reset_s, "ApiCall.quota.reset_s")
        self._calls.append(call if call.time.tzinfo is UTC else replace(call, time=time))

    def record_observation(self, reading: ChargerReading) -> None:
        """Buffer one charger reading."""
        time = as_utc(reading.time, "ChargerReading.time")
        for name in _READING_FLOATS:
            _require_finite(getattr(reading, name), f"ChargerReading.{name}")
        self._observations.append(
            reading if reading.time.tzinfo is UTC else replace(reading, time=time)
        )

    def record_decision(self, decision: Decision) -> None:
        """Buffer one policy decision with its reason."""
        time = as_utc(decision.time, "Decision.time")
        _require_finite(decision.surplus_w, "Decision.surplus_w")
        _require_finite(decision.import_eur_per_kwh, "Decision.import_eur_per_kwh")
        self._decisions.append(
            decision if decision.time.tzinfo is UTC else replace(decision, time=time)
        )

    def record_command(self, command: Command) -> None:
        """Buffer one command sent to a charger: the outcome of its row written by
        `begin_command` if it has one, else a row of its own."""
        time = as_utc(command.time, "Command.time")
        command = command if command.time.tzinfo is UTC else replace(command, time=time)
        row_id = self._begun.pop(_command_key(command), None)
        if row_id is None:
            self._commands.append(command)
        else:
            self._answers[row_id] = command

    def begin_command(self, command: Command) -> None:
        """Write `command` (unanswered) now, in a transaction of its own, before its call
        is made (`Store.begin_command`): the cycle's commit comes after the charger's
        answer, and a kill -9 in between lost the command. Its outcome (`record_command`)
        completes the row with the next commit. One more transaction per command: a few a
        day per charger.

        A database error is a `StoreError` and nothing is begun: the outcome is then
        buffered as a row of its own, as without this."""
        time = as_utc(command.time, "Command.time")
        command = command if command.time.tzinfo is UTC else replace(command, time=time)
        row = _command_row(command) | {"account": self._label}
        try:
            with self._writing, self._engine.begin() as conn:
                key = conn.execute(_INSERT_COMMAND, row).inserted_primary_key
        except SQLAlchemyError as exc:
            raise StoreError(
                f"writing a command to {self.url} failed: {_describe(exc, self._raw_url)}"
            ) from None
        assert key is not None  # an INSERT of one row has its primary key
        self._begun[_command_key(command)] = int(key[0])

    def settle_unanswered(self) -> int:
        """Mark the commands a process ended during (unanswered, no error yet) with
        `PROCESS_ENDED`, and count each as an API call in the ledger (`unanswered/KIND`;
        its call's own row was in the lost cycle's buffer): a restarted daemon's budget
        then never undercounts. Only for the process that owns the database (`exclusive`):
        another one's commands may be in flight. Returns how many were marked."""
        columns = _table(CommandRow).c
        with self._writing, self._engine.begin() as conn:
            rows = conn.execute(
                select(columns.id, columns.account, columns.time, columns.device_id, columns.kind)
                .where(columns.unanswered, columns.error.is_(None))
                .order_by(columns.id)
            ).all()
            if not rows:
                return 0
            ids = [row.id for row in rows]
            conn.execute(
                update(CommandRow).where(CommandRow.id.in_(ids)).values(error=PROCESS_ENDED)
            )
            calls = [
                _call_row(
                    ApiCall(row.time, row.device_id, f"{UNANSWERED_ENDPOINT}/{row.kind}", None, 0.0)
                )
                | {"account": row.account}
                for row in rows
            ]
            _INSERT_CALLS.execute(conn, calls)
        log.warning(
            "%d command(s) an earlier run of the daemon sent went unanswered (it ended during "
            "the call): kept as unknown, each counted as a call",
            len(rows),
        )
        return len(rows)

    def record_session(self, session: SessionRecord) -> None:
        """Buffer an insert-or-update of the session with this device and start."""
        start = as_utc(session.start, "SessionRecord.start")
        end = None if session.end is None else as_utc(session.end, "SessionRecord.end")
        for name in ("energy_wh", "solar_wh", "grid_wh", "cost", "target_wh"):
            _require_finite(getattr(session, name), f"SessionRecord.{name}")
        self._sessions[(session.device_id, start)] = replace(session, start=start, end=end)

    def record_setting(self, key: str, value: str) -> None:
        """Buffer keeping `value` under `key` (written, replacing the old one, on commit)."""
        if not 0 < len(key) <= 64:
            raise ValueError(f"setting key must be 1..64 characters, got {key!r}")
        self._settings[self._setting_key(key)] = value

    def _setting_key(self, key: str) -> str:
        """An account's settings are kept apart: `account:key` (the single home: `key`)."""
        return key if self.account is None else f"{self.account}:{key}"

    def setting(self, key: str) -> str | None:
        """The value kept under `key`: the pending one, else the committed one, else None."""
        key = self._setting_key(key)
        if key in self._settings:
            return self._settings[key]
        rows = self._driver_rows(_SETTING, {"key": key})
        return None if not rows else str(rows[0][0])

    def pending_setting(self, key: str) -> str | None:
        """The value buffered under `key` since the last commit; None if none is."""
        return self._settings.get(self._setting_key(key))

    def committed_settings(self) -> dict[str, str]:
        """Every committed setting of this store's account (all rows for the single
        home), by the key `setting` takes: one query where `setting` costs one per key."""
        prefix = self._setting_key("")
        if prefix:
            rows = self._driver_rows(_SETTINGS_LIKE, _starting_with(prefix))
        else:
            rows = self._driver_rows(_ALL_SETTINGS_ROWS, {})
        return {str(key)[len(prefix) :]: str(value) for key, value in rows}

    def record_plan(self, plan: PlanRecord) -> None:
        """Buffer a new plan; on commit its row, its slots, and the slots of the device's
        plans beyond the last `PLANS_KEPT` dropped (their totals stay)."""
        as_utc(plan.created_at, "PlanRecord.created_at")
        for slot in plan.plan.slots:
            for name in _SLOT_FLOATS:
                _require_finite(getattr(slot, name), f"PlannedSlot.{name}")
        self._plans.append(plan)

    def commit(self) -> None:
        """Write everything buffered since the last commit in one transaction.

        On a transient database error (locked, disk I/O) the buffer is kept
        for the next commit; on any other error it is dropped, so one bad row
        cannot block every later cycle. Either way a `StoreError` is raised.
        """
        if not self._has_pending():
            return
        try:
            with self._writing, self._engine.begin() as conn:
                self._write_pending(conn)
        except OperationalError as exc:
            detail = describe_db_error(exc, self._raw_url)
            raise StoreError(f"commit to {self.url} failed, kept for retry: {detail}") from None
        except SQLAlchemyError as exc:
            self._clear_pending()
            detail = _describe(exc, self._raw_url)
            raise StoreError(f"commit to {self.url} failed, cycle dropped: {detail}") from None
        self._clear_pending()

    def _has_pending(self) -> bool:
        return bool(
            self._calls
            or self._observations
            or self._decisions
            or self._commands
            or self._answers
            or self._sessions
            or self._settings
            or self._plans
        )

    def _clear_pending(self) -> None:
        self._calls: list[ApiCall] = []
        self._observations: list[ChargerReading] = []
        self._decisions: list[Decision] = []
        self._commands: list[Command] = []
        self._answers: dict[int, Command] = {}
        """Outcomes of commands begun (`begin_command`), by their row's id."""
        self._sessions: dict[SessionKey, SessionRecord] = {}
        self._settings: dict[str, str] = {}
        self._plans: list[PlanRecord] = []

    def _write_pending(self, conn: Any) -> None:
        label = {"account": self._label}
        if self._calls:
            _INSERT_CALLS.execute(conn, [_call_row(c) | label for c in self._calls])
        if self._observations:
            rows = [_reading_row(r) | label for r in self._observations]
            _INSERT_OBSERVATIONS.execute(conn, rows)
        if self._decisions:
            rows = [_decision_row(d) | label for d in self._decisions]
            _INSERT_DECISIONS.execute(conn, rows)
        if self._commands:
            _INSERT_COMMANDS.execute(conn, [_command_row(c) | label for c in self._commands])
        if self._answers:
            answers = [_answer_row(row_id, c) for row_id, c in self._answers.items()]
            conn.execute(_ANSWER_COMMAND, answers)
        if self._sessions:
            _write_sessions(conn, [_session_row(s) | label for s in self._sessions.values()])
        for key, value in self._settings.items():
            changed = conn.execute(_UPDATE_SETTING, {"b_key": key, "value": value})
            if changed.rowcount == 0:
                conn.execute(_INSERT_SETTING, {"key": key, "value": value})
        for plan in self._plans:
            _write_plan(conn, plan, self._label)

    # -- queries --------------------------------------------------------------------

    def _rows(self, statement: Any, parameters: dict[str, Any] | None = None) -> Sequence[Row[Any]]:
        try:
            with self._engine.connect() as conn:
                return conn.execute(statement, parameters).all()
        except DBAPIError as exc:
            raise StoreError(
                f"cannot read {self.url}: {describe_db_error(exc, self._raw_url)}"
            ) from None

    def _driver_rows(
        self, query: DriverSelect, parameters: dict[str, Any]
    ) -> list[tuple[Any, ...]]:
        """`query`'s rows straight from the driver (the settings: plain strings)."""
        try:
            return query.rows(self._engine, parameters)
        except DBAPIError as exc:
            raise StoreError(
                f"cannot read {self.url}: {describe_db_error(exc, self._raw_url)}"
            ) from None

    def calls_between(self, start: datetime, end: datetime) -> list[ApiCall]:
        """Calls with `start <= time < end`, oldest first, committed or pending.

        The budget planner rebuilds its day from this after a restart.
        """
        start, end = as_utc(start, "start"), as_utc(end, "end")
        rows = self._rows(
            select(ApiCallRow)
            .where(self._mine(ApiCallRow), ApiCallRow.time >= start, ApiCallRow.time < end)
            .order_by(ApiCallRow.time, ApiCallRow.id)
        )
        calls = [_call_from_row(row) for row in rows]
        calls += [c for c in self._calls if start <= c.time < end]
        calls.sort(key=lambda c: c.time)
        return calls

    def calls_per_day(self, start: datetime, end: datetime) -> dict[date, int]:
        """API calls made on [start, end) per quota day (see `ledger.calls_per_day`)."""
        return calls_per_day(self.calls_between(start, end), start, end)

    def commands_since(self, device_id: str, since: datetime) -> list[Command]:
        """The device's commands at or after `since`, oldest first, committed or pending
        (a restarted daemon's actuator takes the session energy limit it wrote from them)."""
        since = as_utc(since, "since")
        rows = self._rows(
            select(CommandRow)
            .where(self._mine(CommandRow), CommandRow.device_id == device_id)
            .where(CommandRow.time >= since)
            .order_by(CommandRow.time, CommandRow.id)
        )
        answers = self._answers
        commands = [answers.get(row.id) or _command_from_row(row) for row in rows]
        commands += [c for c in self._commands if c.device_id == device_id and c.time >= since]
        return commands

    def latest_observation(self, device_id: str) -> ChargerReading | None:
        """The most recent reading of a device, None when it was never read."""
        rows = self._rows(
            select(ObservationRow)
            .where(self._mine(ObservationRow), ObservationRow.device_id == device_id)
            .order_by(ObservationRow.time.desc(), ObservationRow.id.desc())
            .limit(1)
        )
        candidates = [_reading_from_row(row) for row in rows]
        candidates += [r for r in self._observations if r.device_id == device_id]
        return max(candidates, key=lambda r: r.time, default=None)

    def sessions(
        self, device_id: str | None = None, since: datetime | None = None
    ) -> list[SessionRecord]:
        """Sessions (of one device, started at or after `since`), ordered by start."""
        statement = select(SessionRow).where(self._mine(SessionRow))
        if device_id is not None:
            statement = statement.where(SessionRow.device_id == device_id)
        if since is not None:
            statement = statement.where(SessionRow.start >= as_utc(since, "since"))
        merged = {
            (s.device_id, s.start): s
            for s in (_session_from_row(row) for row in self._rows(statement))
        }
        merged.update(self._sessions)
        return select_sessions(merged.values(), device_id, since)

    def open_session(self, device_id: str) -> SessionRecord | None:
        """The device's latest session if it has no end yet, pending records included."""
        return open_session(self.sessions(device_id), device_id)

    def latest_plan(self, device_id: str) -> PlanRecord | None:
        """The device's newest plan (by creation time), pending ones included."""
        pending = [p for p in self._plans if p.device_id == device_id]
        if pending:
            return max(pending, key=lambda p: p.created_at)
        rows = self._rows(
            select(PlanRow)
            .where(self._mine(PlanRow), PlanRow.device_id == device_id)
            .order_by(PlanRow.created_at.desc(), PlanRow.id.desc())
            .limit(1)
        )
        if not rows:
            return None
        slots = self._rows(
            select(PlanSlotRow).where(PlanSlotRow.plan_id == rows[0].id).order_by(PlanSlotRow.slot)
        )
        return _plan_from_rows(rows[0], slots)

    def row_counts(self) -> dict[str, int]:
        """Rows per table, counting the pending buffer as if committed."""
        counts = {}
        for model, pending in (
            (ApiCallRow, len(self._calls)),
            (ObservationRow, len(self._observations)),
            (DecisionRow, len(self._decisions)),
            (CommandRow, len(self._commands)),
        ):
            counts[model.__tablename__] = self._count(model) + pending
        stored = {(s.device_id, s.start) for s in self.sessions()}
        counts[SessionRow.__tablename__] = len(stored)
        return counts

    def _count(self, model: Any) -> int:
        return int(
            self._rows(select(func.count()).select_from(model).where(self._mine(model)))[0][0]
        )


# -- prebuilt statements ------------------------------------------------------------------
# Built once on the tables, not per commit on the ORM classes: a fleet commits a round per
# account and clock minute when busy, and building, ORM-annotating and hashing a
# fresh statement each time was most of a commit's CPU (BENCHMARKS.md, "Fleet CPU, second
# round"). The records' inserts go straight to the driver (`DriverInsert`), one
# executemany each.


def _table(model: type[Base]) -> Table:
    """The Core table of a model."""
    return model.metadata.tables[model.__tablename__]


_INSERT_CALLS = DriverInsert(_table(ApiCallRow))
_INSERT_OBSERVATIONS = DriverInsert(_table(ObservationRow))
_INSERT_DECISIONS = DriverInsert(_table(DecisionRow))
_INSERT_COMMANDS = DriverInsert(_table(CommandRow))
_INSERT_COMMAND = insert(_table(CommandRow))
_COMMANDS = _table(CommandRow).c
_ANSWER_COMMAND = (
    update(_table(CommandRow))
    .where(_COMMANDS.id == bindparam("b_id"))
    .values(ok=bindparam("ok"), error=bindparam("error"), unanswered=bindparam("unanswered"))
)
_INSERT_SESSION = insert(_table(SessionRow))
_SESSIONS = _table(SessionRow).c
_UPDATE_SESSION = update(_table(SessionRow)).where(
    _SESSIONS.account == bindparam("b_account"),
    _SESSIONS.device_id == bindparam("b_device_id"),
    _SESSIONS.start == bindparam("b_start"),
)
_SETTINGS = _table(SettingRow).c
_UPDATE_SETTING = (
    update(_table(SettingRow))
    .where(_SETTINGS.key == bindparam("b_key"))
    .values(value=bindparam("value"))
)
_INSERT_SETTING = insert(_table(SettingRow))
_SETTING = DriverSelect(select(_SETTINGS.value).where(_SETTINGS.key == bindparam("key")))
_ALL_SETTINGS = select(_SETTINGS.key, _SETTINGS.value)
_SETTINGS_LIKE = DriverSelect(
    _ALL_SETTINGS.where(_SETTINGS.key.like(bindparam("pattern"), escape="/"))
)
_ALL_SETTINGS_ROWS = DriverSelect(_ALL_SETTINGS)


def _write_sessions(conn: Any, rows: list[dict[str, Any]]) -> None:
    """Update each session's row, or insert it when it has none yet (by account, device
    and start)."""
    for row in rows:
        where = {
            "b_account": row["account"],
            "b_device_id": row["device_id"],
            "b_start": row["start"],
        }
        if conn.execute(_UPDATE_SESSION, row | where).rowcount == 0:
            conn.execute(_INSERT_SESSION, [row])


def _starting_with(prefix: str) -> dict[str, str]:
    """The LIKE pattern of the keys that start with `prefix`, its wildcards escaped."""
    escaped = prefix.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return {"pattern": f"{escaped}%"}


# -- value objects <-> rows -------------------------------------------------------------


def _call_row(call: ApiCall) -> dict[str, Any]:
    quota = call.quota
    return {
        "time": call.time,
        "device_id": call.device_id,
        "endpoint": call.endpoint,
        "status": call.status,
        "latency_s": call.latency_s,
        "quota_limit": None if quota is None else quota.limit,
        "quota_remaining": None if quota is None else quota.remaining,
        "quota_reset_s": None if quota is None else quota.reset_s,
    }


def _call_from_row(row: Row[Any]) -> ApiCall:
    quota = None
    if row.quota_limit is not None and row.quota_remaining is not None:
        quota = Quota(row.quota_limit, row.quota_remaining, row.quota_reset_s)
    return ApiCall(row.time, row.device_id, row.endpoint, row.status, row.latency_s, quota)


def _as_row(record: DataclassInstance, **to_column: Callable[[Any], Any]) -> dict[str, Any]:
    """A value object as a row of its table: its fields are the columns; `to_column`
    converts the fields stored differently (an enum as its int, details as a plain dict)."""
    row = {f.name: getattr(record, f.name) for f in fields(record)}
    for name, convert in to_column.items():
        row[name] = convert(row[name])
    return row


def _from_row(
    cls: type[_Record],
    row: Row[Any],
    unstored: tuple[str, ...] = (),
    **to_field: Callable[[Any], Any],
) -> _Record:
    """The value object `cls` of a row: the inverse of `_as_row` (`to_field` undoes `to_column`);
    the fields in `unstored` have no column and keep their defaults."""
    values = {f.name: getattr(row, f.name) for f in fields(cls) if f.name not in unstored}
    for name, convert in to_field.items():
        values[name] = convert(values[name])
    return cls(**values)


_UNSTORED_READING_FIELDS = ("battery_w",)
"""`ChargerReading` fields the observations table has no column for (schema version 1): a
reading read back has their defaults (the home battery's power: 0 until the next read)."""


def _reading_row(reading: ChargerReading) -> dict[str, Any]:
    row = _as_row(reading, charge_state=int)
    for name in _UNSTORED_READING_FIELDS:
        del row[name]
    return row


def _reading_from_row(row: Row[Any]) -> ChargerReading:
    return _from_row(ChargerReading, row, _UNSTORED_READING_FIELDS, charge_state=ChargeState)


def _decision_row(decision: Decision) -> dict[str, Any]:
    return _as_row(decision, pv_mode=int, details=dict)


def _decision_from_row(row: Row[Any]) -> Decision:
    return _from_row(Decision, row, pv_mode=PvMode, details=dict)


def _command_row(command: Command) -> dict[str, Any]:
    return _as_row(command)


def _command_key(command: Command) -> CommandKey:
    return (command.device_id, command.time, command.kind, command.value)


def _answer_row(row_id: int, command: Command) -> dict[str, Any]:
    """The parameters of `_ANSWER_COMMAND` completing row `row_id` with `command`'s outcome."""
    return {
        "b_id": row_id,
        "ok": command.ok,
        "error": command.error,
        "unanswered": command.unanswered,
    }


def _command_from_row(row: Row[Any]) -> Command:
    return _from_row(Command, row)


def _session_row(session: SessionRecord) -> dict[str, Any]:
    return _as_row(session)


def _session_from_row(row: Row[Any]) -> SessionRecord:
    return _from_row(SessionRecord, row)


_SLOT_FLOATS = (
    "power_w",
    "current_a",
    "from_grid_wh",
    "from_solar_wh",
    "import_eur_per_kwh",
    "export_eur_per_kwh",
    "cost_eur",
)


def _write_plan(conn: Any, record: PlanRecord, account: str) -> None:
    """Insert one plan of `account` and its slots; drop the slots of the device's older
    plans beyond the last `PLANS_KEPT` (a bounded table: about 2 MB of slots per charger)."""
    plan = record.plan
    header = {
        "account": account,
        "device_id": record.device_id,
        "created_at": record.created_at,
        "reason": record.reason.value,
        "departure": record.departure,
        "start": plan.start,
        "step_s": plan.step_s,
        "energy_wanted_wh": plan.energy_wanted_wh,
        "shortfall_wh": plan.shortfall_wh,
        "objective_eur": plan.objective_eur,
        "status": plan.status,
        "solve_s": plan.solve_s,
        "energy_wh": plan.energy_wh,
        "solar_wh": plan.solar_wh,
        "grid_wh": plan.grid_wh,
        "cost_eur": plan.cost_eur,
        "commands": plan.commands,
    }
    plan_id = conn.execute(insert(PlanRow).values(header)).inserted_primary_key[0]
    if plan.slots:
        rows = [
            {"plan_id": plan_id, "slot": i, **_as_row(slot, mode=str)}
            for i, slot in enumerate(plan.slots)
        ]
        conn.execute(insert(PlanSlotRow), rows)
    older = (
        select(PlanRow.id)
        .where(PlanRow.account == account, PlanRow.device_id == record.device_id)
        .order_by(PlanRow.id.desc())
        .offset(PLANS_KEPT)
    )
    conn.execute(delete(PlanSlotRow).where(PlanSlotRow.plan_id.in_(older.scalar_subquery())))


def _plan_from_rows(row: Row[Any], slots: Sequence[Row[Any]]) -> PlanRecord:
    plan = ChargePlan(
        start=row.start,
        step_s=row.step_s,
        slots=tuple(_from_row(PlannedSlot, s, mode=SlotMode) for s in slots),
        energy_wanted_wh=row.energy_wanted_wh,
        shortfall_wh=row.shortfall_wh,
        objective_eur=row.objective_eur,
        status=row.status,
        solve_s=row.solve_s,
    )
    return PlanRecord(row.device_id, row.created_at, ReplanReason(row.reason), row.departure, plan)

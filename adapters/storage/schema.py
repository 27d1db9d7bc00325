"""The database tables, as SQLAlchemy 2.x declarative models.

Times are stored as naive UTC in a timezone-less column on every backend (the
one representation SQLite, PostgreSQL and MySQL all compare correctly) and come
back tz-aware UTC through `UtcDateTime`. Energies are Wh, powers W, currents A,
durations seconds. There is deliberately no column that could hold the API
key: endpoints are stored as names (see `SqlStore.record_call`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DEFAULT_ACCOUNT = "default"
ACCOUNT_TIME_INDEX = "ix_api_calls_account_time"
"""The ledger's index: a fleet reads each account's calls of the last two days."""
"""The account of a single-home daemon's rows (and of every row written before schema 5)."""


def _account() -> Mapped[str]:
    """The `account` column every record table has (schema version 5): the V2C Cloud
    account the row belongs to (`optimizer.accounts`), `default` for a single home."""
    return mapped_column(String(32), default=DEFAULT_ACCOUNT, server_default=DEFAULT_ACCOUNT)


class UtcDateTime(TypeDecorator[datetime]):
    """A datetime column that accepts only tz-aware values and returns them in UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC and drop tzinfo (SQLite would drop it silently, unconverted)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: v2c-solar stores tz-aware UTC times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Restore the UTC tzinfo the column does not keep."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of all v2c-solar tables."""


class SchemaVersionRow(Base):
    """One row per upgrade step applied; the schema's version is the highest."""

    __tablename__ = "schema_version"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    description: Mapped[str] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiCallRow(Base):
    """One HTTP attempt against the daily quota: the ledger the budget trusts across restarts."""

    __tablename__ = "api_calls"
    __table_args__ = (Index(ACCOUNT_TIME_INDEX, "account", "time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = _account()
    time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    device_id: Mapped[str | None] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None]
    latency_s: Mapped[float]
    quota_limit: Mapped[int | None]
    quota_remaining: Mapped[int | None]
    quota_reset_s: Mapped[float | None]


class ObservationRow(Base):
    """One `currentstatecharge` reading (all `ChargerReading` fields, SI units)."""

    __tablename__ = "observations"
    __table_args__ = (Index("ix_observations_device_time", "device_id", "time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = _account()
    time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    charge_state: Mapped[int]
    charge_state_code: Mapped[int]
    car_power_w: Mapped[float]
    pv_power_w: Mapped[float]
    house_power_w: Mapped[float]
    current_setpoint_a: Mapped[float]
    phases: Mapped[int]
    voltage_v: Mapped[float]
    session_energy_wh: Mapped[float]
    session_seconds: Mapped[float]
    error_code: Mapped[int]
    pv_regulation_on: Mapped[bool | None]


class DecisionRow(Base):
    """What a policy decided, and the human reason it gave."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = _account()
    time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(32))
    charging: Mapped[bool]
    current_a: Mapped[int]
    pv_mode: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    surplus_w: Mapped[float | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    import_eur_per_kwh: Mapped[float | None]
    """The import price the decision was made at (EUR/kWh); NULL: none known (schema 3)."""
    energy_cap_wh: Mapped[int | None]
    """The session energy (Wh) the charger was asked to stop at; NULL: none (schema 7)."""


class CommandRow(Base):
    """One write sent (or attempted) to a charger."""

    __tablename__ = "commands"

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = _account()
    time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[int | None]
    ok: Mapped[bool]
    error: Mapped[str | None] = mapped_column(Text)
    unanswered: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Written before its call, no outcome recorded yet (`ok` false): in flight while
    `error` is NULL, else the process ended during the call (schema 8)."""


class SessionRow(Base):
    """One plug-in session; unique per (device, start) so reconciliation upserts."""

    __tablename__ = "sessions"
    __table_args__ = (UniqueConstraint("device_id", "start", name="uq_sessions_device_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = _account()
    device_id: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    end: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    energy_wh: Mapped[float]
    solar_wh: Mapped[float]
    grid_wh: Mapped[float]
    cost: Mapped[float | None]
    target_wh: Mapped[float | None]
    target_met: Mapped[bool | None]


class SettingRow(Base):
    """A value the daemon keeps across restarts, by key (the policy chosen from home)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class PlanRow(Base):
    """One least-cost plan of a charger: when and why it was made, its totals.

    Kept for every plan (a few hundred bytes); its slots only for the last
    `optimizer.planning.PLANS_KEPT` plans of the charger.
    """

    __tablename__ = "plans"
    __table_args__ = (Index("ix_plans_device_created", "device_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = _account()
    device_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(String(32))
    departure: Mapped[datetime] = mapped_column(UtcDateTime)
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    step_s: Mapped[float]
    energy_wanted_wh: Mapped[float]
    shortfall_wh: Mapped[float]
    objective_eur: Mapped[float]
    status: Mapped[str] = mapped_column(String(32))
    solve_s: Mapped[float]
    energy_wh: Mapped[float]
    solar_wh: Mapped[float]
    grid_wh: Mapped[float]
    cost_eur: Mapped[float]
    commands: Mapped[int]


class PlanSlotRow(Base):
    """One slot of a plan (`optimizer.planning.PlannedSlot`), `slot` its index from 0."""

    __tablename__ = "plan_slots"

    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    mode: Mapped[str] = mapped_column(String(16))
    power_w: Mapped[float]
    current_a: Mapped[float]
    from_grid_wh: Mapped[float]
    from_solar_wh: Mapped[float]
    import_eur_per_kwh: Mapped[float]
    export_eur_per_kwh: Mapped[float]
    cost_eur: Mapped[float]
    command: Mapped[bool]
    switch: Mapped[bool]
    reason: Mapped[str] = mapped_column(Text)


PLAN_TABLES = (PlanRow, PlanSlotRow)
"""The least-cost plans' tables (schema version 4; `plans.account` since version 6)."""

RECORD_TABLES = (ApiCallRow, ObservationRow, DecisionRow, CommandRow, SessionRow)
"""The tables the stores record into (everything except `schema_version`)."""

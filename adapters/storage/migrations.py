"""Schema versioning: a `schema_version` table and ordered upgrade steps.

Opening a store applies, in order and each in its own transaction, every step
whose version is above the database's. Step N must turn a version N-1 database
into version N, and nothing else. Version 1 builds the tables from `schema`'s
models as they stand; the day a later step alters a table, freeze version 1's
DDL first (copy its CREATE statements into `_create_v1`), because a fresh
database runs every step from 1 on. `test_storage_migrations` catches a fresh
database whose steps do not end up at the models' schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    inspect,
    select,
    text,
)

from adapters.storage.errors import SchemaTooNewError
from adapters.storage.schema import (
    ACCOUNT_TIME_INDEX,
    DEFAULT_ACCOUNT,
    RECORD_TABLES,
    Base,
    CommandRow,
    DecisionRow,
    PlanRow,
    SchemaVersionRow,
    SettingRow,
)


@dataclass(frozen=True, slots=True)
class MigrationStep:
    """One upgrade: `apply` runs inside the transaction that records `version`."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def v1_tables() -> MetaData:
    """The record tables as version 1 created them (frozen: step 5 altered them since)."""
    v1 = MetaData()

    def table(name: str, *columns: Column[object] | Index | UniqueConstraint) -> None:
        Table(name, v1, Column("id", Integer, primary_key=True), *columns)

    def at() -> Column[object]:
        return Column("time", DateTime(timezone=False), nullable=False, index=True)

    def device(nullable: bool = False) -> Column[object]:
        return Column("device_id", String(64), nullable=nullable)

    table(
        "api_calls", at(), device(nullable=True),
        Column("endpoint", String(64), nullable=False), Column("status", Integer),
        Column("latency_s", Float, nullable=False), Column("quota_limit", Integer),
        Column("quota_remaining", Integer), Column("quota_reset_s", Float),
    )  # fmt: skip
    floats = ("car_power_w", "pv_power_w", "house_power_w", "current_setpoint_a")
    table(
        "observations", at(), device(),
        Column("charge_state", Integer, nullable=False),
        Column("charge_state_code", Integer, nullable=False),
        *(Column(name, Float, nullable=False) for name in floats),
        Column("phases", Integer, nullable=False), Column("voltage_v", Float, nullable=False),
        Column("session_energy_wh", Float, nullable=False),
        Column("session_seconds", Float, nullable=False),
        Column("error_code", Integer, nullable=False), Column("pv_regulation_on", Boolean),
        Index("ix_observations_device_time", "device_id", "time"),
    )  # fmt: skip
    table(
        "decisions", at(), device(), Column("policy", String(32), nullable=False),
        Column("charging", Boolean, nullable=False), Column("current_a", Integer, nullable=False),
        Column("pv_mode", Integer, nullable=False), Column("reason", Text, nullable=False),
        Column("surplus_w", Float), Column("details", JSON, nullable=False),
    )  # fmt: skip
    table(
        "commands", at(), device(), Column("kind", String(32), nullable=False),
        Column("value", Integer), Column("ok", Boolean, nullable=False), Column("error", Text),
    )  # fmt: skip
    table(
        "sessions", device(), Column("start", DateTime(timezone=False), nullable=False, index=True),
        Column("end", DateTime(timezone=False), index=True),
        Column("energy_wh", Float, nullable=False), Column("solar_wh", Float, nullable=False),
        Column("grid_wh", Float, nullable=False), Column("cost", Float),
        Column("target_wh", Float), Column("target_met", Boolean),
        UniqueConstraint("device_id", "start", name="uq_sessions_device_start"),
    )  # fmt: skip
    return v1


def _create_v1(conn: Connection) -> None:
    """Create api_calls, observations, decisions, commands and sessions with their indexes."""
    v1_tables().create_all(conn)


def _create_settings(conn: Connection) -> None:
    """Create settings (key, value): what a user chose while the daemon ran."""
    Base.metadata.tables[SettingRow.__tablename__].create(conn)


def _add_decision_price(conn: Connection) -> None:
    """Add decisions.import_eur_per_kwh (the import price a decision saw; NULL for old rows)."""
    column = DecisionRow.__table__.c.import_eur_per_kwh
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE decisions ADD COLUMN import_eur_per_kwh {kind}"))


def _add_decision_energy_cap(conn: Connection) -> None:
    """Add decisions.energy_cap_wh (the session energy limit a decision asked for; NULL
    for old rows and decisions without one)."""
    column = DecisionRow.__table__.c.energy_cap_wh
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE decisions ADD COLUMN energy_cap_wh {kind}"))


def _add_command_unanswered(conn: Connection) -> None:
    """Add commands.unanswered (written before its call, no outcome yet; false for old rows,
    which were all written after their answer)."""
    column = CommandRow.__table__.c.unanswered
    kind = column.type.compile(dialect=conn.dialect)
    default = column.server_default.arg.compile(dialect=conn.dialect)
    conn.execute(
        text(f"ALTER TABLE commands ADD COLUMN unanswered {kind} NOT NULL DEFAULT {default}")
    )


def v4_plan_tables() -> MetaData:
    """plans and plan_slots as version 4 created them (frozen: step 6 labelled plans)."""
    v4 = MetaData()
    at = DateTime(timezone=False)
    floats = ("energy_wanted_wh", "shortfall_wh", "objective_eur", "solve_s", "energy_wh")
    Table(
        "plans", v4, Column("id", Integer, primary_key=True),
        Column("device_id", String(64), nullable=False),
        Column("created_at", at, nullable=False), Column("reason", String(32), nullable=False),
        Column("departure", at, nullable=False), Column("start", at, nullable=False),
        Column("step_s", Float, nullable=False),
        *(Column(name, Float, nullable=False) for name in floats[:3]),
        Column("status", String(32), nullable=False),
        *(Column(name, Float, nullable=False) for name in (*floats[3:], "solar_wh", "grid_wh")),
        Column("cost_eur", Float, nullable=False), Column("commands", Integer, nullable=False),
        Index("ix_plans_device_created", "device_id", "created_at"),
    )  # fmt: skip
    slot_floats = ("power_w", "current_a", "from_grid_wh", "from_solar_wh")
    prices = ("import_eur_per_kwh", "export_eur_per_kwh", "cost_eur")
    Table(
        "plan_slots", v4,
        Column("plan_id", Integer, ForeignKey("plans.id"), primary_key=True),
        Column("slot", Integer, primary_key=True, autoincrement=False),
        Column("start", at, nullable=False), Column("mode", String(16), nullable=False),
        *(Column(name, Float, nullable=False) for name in (*slot_floats, *prices)),
        Column("command", Boolean, nullable=False), Column("switch", Boolean, nullable=False),
        Column("reason", Text, nullable=False),
    )  # fmt: skip
    return v4


def _create_plans(conn: Connection) -> None:
    """Create plans and plan_slots: the least-cost plans `v2c-solar plan` shows."""
    v4_plan_tables().create_all(conn)


def _label_accounts(conn: Connection) -> None:
    """Every record table gets `account` (the V2C Cloud account of the row); rows written
    before are the single home's, `default`. The ledger is read per account and time."""
    for model in RECORD_TABLES:
        conn.execute(
            text(
                f"ALTER TABLE {model.__tablename__} ADD COLUMN account VARCHAR(32) "
                f"NOT NULL DEFAULT '{DEFAULT_ACCOUNT}'"
            )
        )
    conn.execute(text(f"CREATE INDEX {ACCOUNT_TIME_INDEX} ON api_calls (account, time)"))


def _label_plans(conn: Connection) -> None:
    """plans gets `account` as the record tables did in step 5 (old plans: `default`), so
    a fleet's plans are kept and read per account like everything else it records."""
    conn.execute(
        text(
            f"ALTER TABLE {PlanRow.__tablename__} ADD COLUMN account VARCHAR(32) "
            f"NOT NULL DEFAULT '{DEFAULT_ACCOUNT}'"
        )
    )


STEPS: tuple[MigrationStep, ...] = (
    MigrationStep(1, "create api_calls, observations, decisions, commands, sessions", _create_v1),
    MigrationStep(2, "create settings", _create_settings),
    MigrationStep(3, "add decisions.import_eur_per_kwh", _add_decision_price),
    MigrationStep(4, "create plans, plan_slots", _create_plans),
    MigrationStep(5, "label every record with its account", _label_accounts),
    MigrationStep(6, "label every plan with its account", _label_plans),
    MigrationStep(7, "add decisions.energy_cap_wh", _add_decision_energy_cap),
    MigrationStep(8, "add commands.unanswered", _add_command_unanswered),
)
"""Every upgrade step this version of v2c-solar knows, in order."""


def schema_version(conn: Connection) -> int | None:
    """The database's schema version; None when it has no `schema_version` table at all."""
    if not inspect(conn).has_table(SchemaVersionRow.__tablename__):
        return None
    return int(
        conn.execute(select(func.coalesce(func.max(SchemaVersionRow.version), 0))).scalar_one()
    )


def _check_steps(steps: Sequence[MigrationStep]) -> None:
    """Steps must be numbered 1, 2, 3... without gaps, or upgrades would skip one."""
    versions = [step.version for step in steps]
    if versions != list(range(1, len(steps) + 1)):
        raise ValueError(
            f"migration steps must be numbered 1..{len(steps)} in order, got {versions}"
        )


def upgrade(engine: Engine, steps: Sequence[MigrationStep] = STEPS) -> int:
    """Bring the database up to the last of `steps`; return the version it is at.

    Raises `SchemaTooNewError` when the database is at a version beyond the
    last step (written by a newer v2c-solar: reading it could misread columns).
    """
    _check_steps(steps)
    latest = len(steps)
    with engine.begin() as conn:
        Base.metadata.tables[SchemaVersionRow.__tablename__].create(conn, checkfirst=True)
        current = schema_version(conn) or 0
    if current > latest:
        raise SchemaTooNewError(
            f"database schema is version {current} but this v2c-solar knows only up to "
            f"version {latest}: upgrade v2c-solar"
        )
    for step in steps[current:]:
        with engine.begin() as conn:
            step.apply(conn)
            conn.execute(
                insert(SchemaVersionRow).values(
                    version=step.version, description=step.description, applied_at=datetime.now(UTC)
                )
            )
    return latest

"""`v2c-solar sessions`: the charging sessions recorded in the database.

Read-only: a missing or foreign database is a one-line error with exit code 1,
never an empty database created as a side effect. A malformed `--db` URL, a
directory or a file in a directory that does not exist is a usage error (exit 2),
as in `budget`, `run` and `demo` (`optimizer.cli.database`).
"""

from __future__ import annotations

import csv
import sys
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from adapters.storage.url import DEFAULT_URL, URL_ENV_VAR
from optimizer.cli.database import AccountOption, check_account, database_path_problem

if TYPE_CHECKING:
    from optimizer.interfaces import SessionRecord

CSV_COLUMNS = (
    "device_id",
    "start",
    "end",
    "duration_s",
    "energy_kwh",
    "solar_kwh",
    "grid_kwh",
    "solar_share",
    "cost",
    "target_kwh",
    "target_met",
)
"""Header of `--csv`: ISO 8601 UTC times, energies in kWh, solar share as a 0..1 fraction."""


def parse_since(text: str) -> datetime:
    """`YYYY-MM-DD` (midnight UTC) or an ISO 8601 datetime (naive means UTC), as UTC.

    Raises `ValueError` with a one-line message naming the option.
    """
    try:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since {text!r} is not a date (expected YYYY-MM-DD or an ISO 8601 time)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _duration_s(session: SessionRecord) -> float | None:
    return None if session.end is None else (session.end - session.start).total_seconds()


def _solar_share(session: SessionRecord) -> float | None:
    """Fraction of the session's energy that came from the sun; None with no energy."""
    return session.solar_wh / session.energy_wh if session.energy_wh > 0 else None


def _format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}"


def _kwh(wh: float | None) -> str:
    return "" if wh is None else f"{wh / 1000:.2f}"


def _met(met: bool | None) -> str:
    return "" if met is None else ("yes" if met else "no")


def _minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def render_table(sessions: list[SessionRecord], console: Console) -> None:
    """Print the sessions as a rich table (times in UTC, energies in kWh)."""
    table = Table(title=f"{len(sessions)} charging session(s), times UTC")
    for name in ("device", "start", "end", "duration", "kWh", "solar kWh", "grid kWh"):
        table.add_column(name, justify="right" if "kWh" in name else "left", no_wrap=True)
    for name in ("solar share", "cost", "target kWh", "met"):
        table.add_column(name, justify="right", no_wrap=True)
    for s in sessions:
        share = _solar_share(s)
        table.add_row(
            s.device_id,
            _minute(s.start),
            "open" if s.end is None else _minute(s.end),
            _format_duration(_duration_s(s)),
            _kwh(s.energy_wh),
            _kwh(s.solar_wh),
            _kwh(s.grid_wh),
            "" if share is None else f"{share:.0%}",
            "" if s.cost is None else f"{s.cost:.2f}",
            _kwh(s.target_wh),
            _met(s.target_met),
        )
    console.print(table)


def write_csv(sessions: list[SessionRecord]) -> None:
    """Write the sessions as CSV to stdout (`CSV_COLUMNS`; empty cell = unknown)."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in sessions:
        duration = _duration_s(s)
        share = _solar_share(s)
        writer.writerow(
            [
                s.device_id,
                s.start.isoformat(),
                "" if s.end is None else s.end.isoformat(),
                "" if duration is None else f"{duration:.0f}",
                f"{s.energy_wh / 1000:.3f}",
                f"{s.solar_wh / 1000:.3f}",
                f"{s.grid_wh / 1000:.3f}",
                "" if share is None else f"{share:.4f}",
                "" if s.cost is None else f"{s.cost:.2f}",
                "" if s.target_wh is None else f"{s.target_wh / 1000:.3f}",
                "" if s.target_met is None else str(s.target_met).lower(),
            ]
        )


def sessions_command(
    db: Annotated[
        str,
        typer.Option(
            "--db", envvar=URL_ENV_VAR, help="SQLAlchemy URL of the database.", show_envvar=True
        ),
    ] = DEFAULT_URL,
    device: Annotated[str | None, typer.Option("--device", help="Only this charger.")] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only sessions started on/after this UTC date or time."),
    ] = None,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="CSV to stdout instead of a table.")
    ] = False,
    account: AccountOption = None,
) -> None:
    """List the recorded charging sessions: energy, solar share, cost, target."""
    from adapters.storage import SqlStore, StoreError, StoreUrlError

    try:
        since_utc = None if since is None else parse_since(since)
        account_name = check_account(account)
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    problem = database_path_problem(db, create=False)
    if problem is not None:
        raise _fail(problem, 2)
    try:
        with SqlStore(db, create_if_missing=False, account=account_name) as store:
            sessions = store.sessions(device_id=device, since=since_utc)
    except StoreUrlError as exc:
        raise _fail(str(exc), 2) from None
    except StoreError as exc:
        raise _fail(str(exc), 1) from None
    if as_csv:
        write_csv(sessions)
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    render_table(sessions, console)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("sessions")(sessions_command)

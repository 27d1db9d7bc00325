"""`v2c-solar target`: "20 kWh by 07:30" for a charger's session, without editing the config.

The target is parsed in the site's zone and checked by the same rules as the web API
and MQTT (`optimizer.status.target`): `--by 07:30` is the next 07:30 (tomorrow when it
has passed today, and the output says so), `--by "tomorrow 07:30"`, or an ISO date and
time. It is kept in the database's settings; the running daemon finds it at its next
targets poll (within a minute) and a restarted one at start, and `v2c-solar plan` shows
it. A bad option is one line naming it, exit code 2. Times are checked against this
machine's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from optimizer.cli.daemon import ConfigOption, DbOption
from optimizer.cli.database import AccountOption

if TYPE_CHECKING:
    from optimizer.config import AppConfig
    from optimizer.status.target import SessionTarget

EXIT_USAGE = 2
EXIT_FATAL = 1

OPTION_OF = {"device_id": "--device-id", "energy_wh": "--kwh", "departure": "--by"}
"""The shared rules' field names as this command's options."""


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def target_command(
    device_id: Annotated[str, typer.Option("--device-id", help="The charger (its device id).")],
    kwh: Annotated[
        float | None, typer.Option("--kwh", help="Energy wanted in the car by --by (kWh).")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by", help='Departure: HH:MM, "tomorrow HH:MM" or an ISO date and time (local).'
        ),
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Forget the target: the policy's default applies.")
    ] = False,
    config: ConfigOption = Path("config/home.toml"),
    db: DbOption = None,
    account: AccountOption = None,
) -> None:
    """State a session's target (energy by a departure) for the running daemon.

    With a fleet file (`\\[\\[accounts]]`) the charger is looked up in `--account NAME`, or
    in the account holding it; the target is kept with that account, where the fleet
    daemon polls it.
    """
    options = TargetOptions(device_id, kwh, by, clear, account)
    for line in target_in_config(config, db, options, datetime.now(UTC)):
        typer.echo(line)


@dataclass(frozen=True, slots=True)
class TargetOptions:
    """What `v2c-solar target` was told: the charger, the energy (kWh), the departure
    text, whether to clear it, and the `--account`."""

    device_id: str
    kwh: float | None
    by: str | None
    clear: bool = False
    account: str | None = None


def target_in_config(
    config: Path, db: str | None, options: TargetOptions, now: datetime
) -> list[str]:
    """`target` on the config file `config` at `now`: the account chosen (a fleet's by
    `--account` or the charger, `optimizer.cli.account_choice`), the target kept with its
    settings in `db` (default: the config's database); the lines to print."""
    from optimizer.cli.account_choice import choose_account
    from optimizer.cli.database import check_account

    try:
        chosen = choose_account(config, check_account(options.account), options.device_id)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    return state_target(
        chosen.site_of(options.device_id),
        db or chosen.url,
        options.device_id,
        options.kwh,
        options.by,
        options.clear,
        now,
        account=chosen.account,
    )


def state_target(
    app_config: AppConfig,
    url: str,
    device_id: str,
    kwh: float | None,
    by: str | None,
    clear: bool,
    now: datetime,
    *,
    account: str | None = None,
) -> list[str]:
    """Check the options against the site `app_config` at `now`, keep the target in the
    database at `url` with `account`'s settings (None: a single home's; a fleet's account
    name, as its daemon's store reads them) and say what was kept; a bad option raises
    `typer.Exit(2)` after one line."""
    from optimizer.status.refusal import ControlError
    from optimizer.status.target import (
        MAX_TARGET_WH,
        check_device,
        check_target,
        cleared_target,
        parse_departure,
    )

    tz = app_config.site.tz
    devices = [c.device_id for c in app_config.chargers]
    note = None
    try:
        if clear:
            if kwh is not None or by is not None:
                raise _fail("--clear: takes neither --kwh nor --by")
            check_device(device_id, devices)
            target = cleared_target(device_id, now)
        else:
            if kwh is None or by is None:
                raise _fail(f"{'--kwh' if kwh is None else '--by'}: missing (or use --clear)")
            departure = parse_departure(by, now, tz)
            note = departure.note
            target = check_target(device_id, kwh * 1000.0, departure.at, devices=devices, now=now)
    except ControlError as exc:
        option = OPTION_OF.get(exc.field, exc.field)
        detail = str(exc).partition(": ")[2]
        if exc.field == "energy_wh":
            detail = f"must be > 0 and <= {MAX_TARGET_WH / 1000:g} kWh (got {kwh:g})"
        raise _fail(f"{option}: {detail}") from None
    _save(url, target, account)
    if target.energy_wh is None or target.departure is None:
        return [f"{device_id}: target cleared; the policy's default applies"]
    when = target.departure.astimezone(tz)
    said = f"{device_id}: {target.energy_wh / 1000:g} kWh by {when:%a %d %b %H:%M} ({tz})"
    return [
        said + (f"; {note}" if note else ""),
        "the running daemon applies it within a minute; `v2c-solar plan` shows it",
    ]


def _save(url: str, target: SessionTarget, account: str | None) -> None:
    """Keep `target` in the database at `url` (created if missing, as `run` would), in
    `account`'s settings."""
    from adapters.storage import SqlStore, StoreError, StoreUrlError
    from optimizer.cli.database import database_path_problem
    from optimizer.status.target import save_target

    problem = database_path_problem(url, create=True)
    if problem is not None:
        raise _fail(problem)
    try:
        with SqlStore(url, account=account) as store:
            save_target(store, target)
            store.commit()
    except StoreUrlError as exc:
        raise _fail(str(exc)) from None
    except StoreError as exc:
        raise _fail(str(exc), EXIT_FATAL) from None


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("target")(target_command)


__all__ = ["TargetOptions", "register", "state_target", "target_command", "target_in_config"]

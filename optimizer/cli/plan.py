"""`v2c-solar plan`: the least-cost plans the daemon recorded, as a table, a plot or JSON.

Reads the database through a read-only connection (as `sessions` and the web's
`/api/sessions` do), so it runs beside the daemon. Per charger: the latest plan's
slots (start in the site's zone, mode, current, expected solar and grid kWh, import
price, cost), its totals, why and how long ago it was made, and the session target
stated for the charger (`v2c-solar target`, the web, MQTT). A charger without a plan
is one line (`no plan yet ...`), exit code 0: no plan is a normal state (no car, or a
policy that plans by window), not a failure; `--json` lists it with `"plan": null`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from optimizer.cli.daemon import ConfigOption, DbOption
from optimizer.cli.database import AccountOption
from optimizer.planning.plan import PlannedSlot, SlotMode

if TYPE_CHECKING:
    from optimizer.planning.record import PlanRecord
    from optimizer.policies.registry import PolicyConfig
    from optimizer.status.target import SessionTarget

EXIT_USAGE = 2
EXIT_FATAL = 1

NO_PLAN = "no plan yet (target with planner = least_cost plans once a car is plugged in)"


def no_plan_text(policy: PolicyConfig) -> str:
    """Why a charger has no plan yet, by the config's `[policy]` (the daemon may run another
    one: `--policy`, or one chosen from home)."""
    if policy.name == "target" and policy.target.planner == "least_cost":
        return NO_PLAN
    planner = " with the window planner" if policy.name == "target" else ""
    return (
        f"no plan yet (the config's policy is {policy.name}{planner}: only target with "
        "planner = least_cost plans)"
    )


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def age_text(then: datetime, now: datetime) -> str:
    """How long ago `then` was, rounded: "40 s", "12 min", "3 h 05 min", "164 days" (from
    two days on: a demo's database holds plans of its simulated day)."""
    seconds = max((now - then).total_seconds(), 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 2 * 24 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // (24 * 60)} days"


def target_text(target: SessionTarget | None, is_ended: bool, tz: tzinfo, now: datetime) -> str:
    """One line on the target stated for a charger."""
    if target is None:
        return "target: none stated (the policy's default)"
    said = f"set {age_text(target.set_at, now)} ago"
    if target.cleared or target.energy_wh is None or target.departure is None:
        return f"target: cleared ({said}; the policy's default)"
    state = "; ended with its session" if is_ended else ""
    return (
        f"target: {target.energy_wh / 1000:.1f} kWh by "
        f"{target.departure.astimezone(tz):%a %d %b %H:%M} ({said}{state})"
    )


def render_plan(
    record: PlanRecord, tz: tzinfo, now: datetime, console: Console, *, all_slots: bool = False
) -> None:
    """The plan as a table: one row per slot (local times), a run of "off" slots folded
    into one row unless `all_slots` (an idle plan to a morning departure was ~60 rows of
    nothing), then the totals."""
    plan = record.plan
    made = record.created_at.astimezone(tz)
    day = "" if made.date() == now.astimezone(tz).date() else "%a %d %b "
    title = (
        f"{record.device_id}: plan made {age_text(record.created_at, now)} ago "
        f"({made.strftime(f'{day}%H:%M')}), reason: {record.reason.value}; "
        f"departure {record.departure.astimezone(tz):%a %H:%M}, "
        f"{plan.energy_wanted_wh / 1000:.1f} kWh wanted"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("slot", no_wrap=True)
    table.add_column("mode")
    for name in ("A", "solar kWh", "grid kWh", "EUR/kWh", "cost EUR"):
        table.add_column(name, justify="right", no_wrap=True)
    runs = [[s] for s in plan.slots] if all_slots else _off_runs(plan.slots)
    for run in runs:
        table.add_row(*_run_cells(run, plan.step_s, tz, now))
    table.add_section()
    table.add_row(
        "total",
        f"{plan.commands} cmd",
        "",
        f"{plan.solar_wh / 1000:.2f}",
        f"{plan.grid_wh / 1000:.2f}",
        "",
        f"{plan.cost_eur:.2f}",
    )
    console.print(table)
    if plan.shortfall_wh > 0:
        console.print(f"short by {plan.shortfall_wh / 1000:.2f} kWh: out of reach by departure")


def _off_runs(slots: Sequence[PlannedSlot]) -> list[list[PlannedSlot]]:
    """`slots` in rows: each run of consecutive "off" slots one row, every other slot its own."""
    runs: list[list[PlannedSlot]] = []
    for s in slots:
        if runs and s.mode is SlotMode.OFF and runs[-1][-1].mode is SlotMode.OFF:
            runs[-1].append(s)
        else:
            runs.append([s])
    return runs


def _run_cells(run: list[PlannedSlot], step_s: float, tz: tzinfo, now: datetime) -> tuple[str, ...]:
    """A table row of one slot, or of a run of off slots: "22:15-13:00", "off (61 slots)",
    their kWh and cost summed, their import prices as a range where they differ."""
    first = run[0]
    when = _local(first.start, tz, now)
    mode = first.mode.value
    if len(run) > 1:
        when += "-" + _local(run[-1].start + timedelta(seconds=step_s), tz, now)
        mode += f" ({len(run)} slots)"
    prices = [s.import_eur_per_kwh for s in run]
    price = f"{min(prices):.3f}"
    if max(prices) > min(prices):
        price += f"-{max(prices):.3f}"
    return (
        when,
        mode,
        "" if first.mode is SlotMode.OFF else f"{first.current_a:.1f}",
        f"{sum(s.from_solar_wh for s in run) / 1000:.2f}",
        f"{sum(s.from_grid_wh for s in run) / 1000:.2f}",
        price,
        f"{sum(s.cost_eur for s in run):.3f}",
    )


def _local(time: datetime, tz: tzinfo, now: datetime) -> str:
    """`time` in the site's zone, "%H:%M", with the weekday when not today."""
    day = "" if time.astimezone(tz).date() == now.astimezone(tz).date() else "%a "
    return time.astimezone(tz).strftime(f"{day}%H:%M")


def plot_plans(records: list[PlanRecord], tz: tzinfo, path: Path) -> None:
    """Each plan's solar and grid kWh per slot (stacked bars) and the import price (line)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(records), 1, figsize=(10, 3.2 * len(records)), squeeze=False)
    for ax, record in zip(axes[:, 0], records, strict=True):
        slots = record.plan.slots
        starts = [s.start.astimezone(tz).replace(tzinfo=None) for s in slots]
        width = record.plan.step_s / 86400 * 0.9
        solar = [s.from_solar_wh / 1000 for s in slots]
        grid = [s.from_grid_wh / 1000 for s in slots]
        ax.bar(starts, solar, width=width, align="edge", color="#f2b600", label="solar kWh")
        ax.bar(starts, grid, width=width, align="edge", bottom=solar, color="#5b6b7f", label="grid")
        ax.set_ylabel("kWh per slot")
        price = ax.twinx()
        price.step(starts, [s.import_eur_per_kwh for s in slots], where="post", color="#c0392b")
        price.set_ylabel("EUR/kWh")
        ax.set_title(
            f"{record.device_id}: {record.reason.value}, {record.plan.cost_eur:.2f} EUR, "
            f"grid {record.plan.grid_wh / 1000:.1f} kWh, sun {record.plan.solar_wh / 1000:.1f} kWh"
        )
        ax.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plan_command(
    config: ConfigOption = Path("config/home.toml"),
    db: DbOption = None,
    device_id: Annotated[
        str | None, typer.Option("--device-id", help="Only this charger (default: every one).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Also draw the plans into this PNG file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON to stdout.")] = False,
    account: AccountOption = None,
    all_slots: Annotated[
        bool,
        typer.Option(
            "--all-slots", help="One row per slot (by default a run of off slots is one row)."
        ),
    ] = False,
) -> None:
    """The latest least-cost plan of each charger: slots, totals, reason and age.

    With a fleet file (`\\[\\[accounts]]`) the chargers are one account's: `--account NAME`,
    or the one holding `--device-id` (needed when the file has several accounts).
    """
    from adapters.storage import SqlStore, StoreError, StoreNotFoundError, StoreUrlError
    from optimizer.cli.account_choice import choose_account
    from optimizer.cli.database import check_account, database_path_problem

    try:
        chosen = choose_account(config, check_account(account), device_id)
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    url = db or chosen.url
    problem = database_path_problem(url, create=False)
    if problem is not None:
        raise _fail(problem, EXIT_USAGE)
    wanted = chosen.devices if device_id is None else [device_id]
    try:
        with SqlStore(
            url, create_if_missing=False, read_only=True, account=chosen.account
        ) as store:
            found = [_stored(store, device) for device in wanted]
    except StoreNotFoundError:
        found = [(device, None, None, False) for device in wanted]
    except StoreUrlError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    except StoreError as exc:
        raise _fail(str(exc), EXIT_FATAL) from None
    zones = {device: chosen.site_of(device).site.tz for device in wanted}
    why = {device: no_plan_text(chosen.site_of(device).policy) for device in wanted}
    _show(found, zones, why, datetime.now(UTC), output, as_json=as_json, all_slots=all_slots)


Found = tuple[str, "PlanRecord | None", "SessionTarget | None", bool]
"""(device id, latest plan, target stated, whether that target ended)."""


def _stored(store: Any, device: str) -> Found:
    from optimizer.status.target import ended, load_target

    try:
        target = load_target(store, device)
    except ValueError:
        target = None
    is_ended = target is not None and ended(store, target)
    return device, store.latest_plan(device), target, is_ended


def _show(
    found: list[Found],
    zones: Mapping[str, tzinfo],
    no_plan: Mapping[str, str],
    now: datetime,
    output: Path | None,
    *,
    as_json: bool,
    all_slots: bool = False,
) -> None:
    """Print (or `--json`) each charger's plan and target, times in its site's zone;
    `no_plan` says per charger why it may have none; `all_slots`: see `render_plan`."""
    records = [record for _, record, _, _ in found if record is not None]
    if output is not None and records:
        plot_plans(records, zones[records[0].device_id], output)
    if as_json:
        typer.echo(json.dumps({"plans": [_json(f, now) for f in found]}, indent=2))
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)
    for device, record, target, is_ended in found:
        if record is None:
            console.print(f"{device}: {no_plan[device]}")
        else:
            render_plan(record, zones[device], now, console, all_slots=all_slots)
        console.print(target_text(target, is_ended, zones[device], now))
    if output is not None:
        console.print(f"plot: {output}" if records else "no plan to plot")


def _json(found: Found, now: datetime) -> dict[str, Any]:
    from optimizer.status.plan import stored_plan_json

    device, record, target, is_ended = found
    plan = None
    if record is not None:
        plan = stored_plan_json(record) | {"age_s": (now - record.created_at).total_seconds()}
    stated = None
    if target is not None:
        stated = json.loads(target.to_setting()) | {"ended": is_ended}
    return {"device_id": device, "plan": plan, "target": stated}


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("plan")(plan_command)


__all__ = ["age_text", "plan_command", "plot_plans", "register", "render_plan", "target_text"]

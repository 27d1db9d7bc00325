"""What the daemon's commands show: the live status line, the demo's and the budget's tables.

Rendering only (rich, imported when used); the numbers come from the daemon,
`adapters.simulator.demo_summary` and the composition root's `budget_plan`.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.simulator.demo_summary import DemoSummary
    from optimizer.budget import BudgetPlan
    from optimizer.daemon import Daemon


class StatusLine:
    """One line, refreshed from the main thread: time, PV, house, car, current, mode, calls left."""

    def __init__(self, daemon: Daemon, enabled: bool) -> None:
        from rich.console import Console
        from rich.live import Live

        self.daemon = daemon
        self.console = Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self._live = Live("", console=self.console, transient=True, auto_refresh=False)

    def __enter__(self) -> StatusLine:
        if self.enabled:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._live.stop()

    def text(self) -> str:
        """The status as plain text (also what the tests check)."""
        d = self.daemon
        now = d.clock.now()
        local = now.astimezone(next(iter(d.controllers.values())).timezone)
        parts = [f"{local:%Y-%m-%d %H:%M}"]
        for device, controller in d.controllers.items():
            r = controller.last_reading
            mode = controller.commanded.pv_mode
            current = controller.commanded.current_a
            if r is None:
                parts.append(f"{device}: no reading yet")
                continue
            parts.append(
                f"{device}: PV {r.pv_power_w / 1000:.1f} kW, house {r.household_w / 1000:.1f} kW, "
                f"car {r.car_power_w / 1000:.1f} kW, {current if current is not None else '-'} A, "
                f"{mode.name if mode is not None else '-'}"
            )
        parts.append(f"calls left {d.planner.remaining(now)}")
        return " | ".join(parts)

    def refresh(self) -> None:
        if self.enabled:
            self._live.update(self.text(), refresh=True)


def _short(iso: str) -> str:
    """`2026-06-21T08:00+02:00` -> `06-21 08:00` (local time, for the table)."""
    return iso[5:16].replace("T", " ")


def print_summary(summary: DemoSummary) -> None:
    """The session table and the call counts, for humans."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Demo: {summary.hours:g} simulated h at {summary.speed:g}x")
    for column in ("device", "start", "end", "EV kWh", "solar kWh", "grid kWh", "solar %"):
        table.add_column(column, justify="right" if "kWh" in column or "%" in column else "left")
    for s in summary.sessions:
        share = f"{100 * s['solar_kwh'] / s['ev_kwh']:.0f}" if s["ev_kwh"] > 0 else "-"
        table.add_row(
            s["device_id"],
            _short(s["start"]),
            _short(s["end"]) if s["end"] else "(plugged in)",
            f"{s['ev_kwh']:.2f}",
            f"{s['solar_kwh']:.2f}",
            f"{s['grid_kwh']:.2f}",
            share,
        )
    share = f"{100 * summary.solar_kwh / summary.ev_kwh:.0f}" if summary.ev_kwh > 0 else "-"
    table.add_row(
        "total",
        "",
        "",
        f"{summary.ev_kwh:.2f}",
        f"{summary.solar_kwh:.2f}",
        f"{summary.grid_kwh:.2f}",
        share,
        style="bold",
    )
    console = Console()
    console.print(table)
    truth = summary.ground_truth
    console.print(
        f"Simulator ground truth: EV {truth['ev_kwh']:.2f} kWh, solar {truth['solar_kwh']:.2f} "
        f"kWh, grid {truth['grid_kwh']:.2f} kWh"
    )
    if truth["after_revocation_kwh"]:
        console.print(
            f"  (until the key revocation, {truth['until']}; the cars took "
            f"{truth['after_revocation_kwh']:.2f} kWh more before the daemon stopped, "
            "which no client could read)"
        )
    if summary.faults:
        console.print(f"Faults injected: {summary.faults}")
    console.print(
        f"API calls: {summary.calls_used} used (policy {summary.policy}); per day (ledger) "
        f"{summary.calls_per_day}, max {summary.calls_per_day_max} of 1000; simulator counted "
        f"{summary.simulator_calls_per_day}"
    )
    left = (
        f"Chargers NOT left in exclusive-PV mode: {', '.join(summary.not_safe)}"
        if summary.not_safe
        else f"Chargers left in exclusive-PV mode ({summary.safe_mode_commands} command(s))"
    )
    console.print(f"{left}; wall time {summary.wall_s:.1f} s; database {summary.db}")
    if summary.config is not None:
        console.print("What it recorded (the demo's config beside its database):")
        for command in demo_follow_ups(summary):
            console.print(f"  {command}", soft_wrap=True, highlight=False)


def demo_follow_ups(summary: DemoSummary) -> list[str]:
    """The commands that show what a demo recorded, with its config and database."""
    import shlex

    assert summary.config is not None
    config, db = shlex.quote(summary.config), shlex.quote(summary.db)
    return [f"v2c-solar plan --config {config}", f"v2c-solar sessions --db {db}"]


def budget_table(plan: BudgetPlan, tz: tzinfo) -> Any:
    """Planned reads per local hour: count, devices and the main reason."""
    from collections import Counter

    from rich.table import Table

    table = Table(title="Planned reads (rest of the quota day)")
    for column in ("hour", "reads", "devices", "why"):
        table.add_column(column, justify="right" if column == "reads" else "left")
    for hour, slots in plan.reads_by_hour().items():
        per_device = Counter(s.device_id for s in slots)
        reason = Counter(s.reason for s in slots).most_common(1)[0][0]
        table.add_row(
            f"{hour.astimezone(tz):%H:%M}",
            str(len(slots)),
            ", ".join(f"{d} {n}" for d, n in sorted(per_device.items())),
            reason,
        )
    return table


def print_budget(plan: BudgetPlan, tz: tzinfo) -> None:
    """The quota day, the spend so far and the planned reads, for humans."""
    from rich.console import Console

    console = Console()
    console.print(
        f"Quota day {plan.window_start.astimezone(tz):%Y-%m-%d %H:%M} -> "
        f"{plan.window_end.astimezone(tz):%Y-%m-%d %H:%M} ({tz}), as of "
        f"{plan.as_of.astimezone(tz):%H:%M}; boundary from {plan.boundary_source}"
    )
    console.print(
        f"Spent {plan.spent} of {plan.limit} calls; reserve {plan.reserve} kept for commands; "
        f"{plan.reads_left} reads left, {plan.planned_reads} planned"
    )
    if plan.spent_by_endpoint:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(plan.spent_by_endpoint.items()))
        console.print(f"  by endpoint: {parts}")
    if plan.server_remaining is not None:
        console.print(f"Server's last RateLimit-Remaining: {plan.server_remaining}")
    if plan.blocked_until is not None:
        console.print(f"BLOCKED (429) until {plan.blocked_until.astimezone(tz):%H:%M}")
    if plan.slots:
        console.print(budget_table(plan, tz))


__all__ = ["StatusLine", "budget_table", "demo_follow_ups", "print_budget", "print_summary"]
